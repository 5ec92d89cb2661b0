// The componentize-js side: the export objects `klaxon plugin build` names
// (`filterRules`, `cooldownPolicies`, `formatters`), turning WIT values
// (jco's spelling: camelCase, enums as strings, u64 as BigInt) into the
// SDK's model and back. Everything it calls is in rules.js, which tests
// run offline.

import * as rules from './rules.js';
import { COLUMN_FLAGS, Fire, Pass, Suppress } from './model.js';
import { ParamsError } from './params.js';
import { Cols } from './views.js';
import { raw } from './host.js';

function create(kind, paramsJson) {
  try {
    return rules.build(kind, paramsJson);
  } catch (e) {
    // A thrown string becomes the `err` of `create`'s result: the template
    // is rejected with it. Anything but a params error is a plugin bug, so
    // it is also reported like a panic.
    if (e instanceof ParamsError) throw e.message;
    rules.report(e);
    throw `${e?.name ?? 'Error'}: ${e?.message ?? e}`;
  }
}

function guard(call) {
  try { return call(); } catch (e) { return rules.reportAndRethrow(e); }
}

const witPass = (p) => ({
  alertKey: p.alertKey, severity: p.severity, value: Number(p.value), title: p.title,
  fields: p.fields.map((f) => ({ name: f.name, value: f.value })),
});

function flags(bits) {
  const out = {};
  COLUMN_FLAGS.forEach((name, i) => { out[name] = Boolean(bits & (1 << i)); });
  return out;
}

const KINDS = { trade: 0, swap: 1, 'perp-fill': 2, liquidation: 3, 'book-top': 4 };
const SIDES = { buy: 0, sell: 1, unknown: 2 };
const DIRS = { none: 0, 'open-long': 1, 'close-long': 2, 'open-short': 3, 'close-short': 4 };
const MISSING = ['lastPrice', 'window1m', 'window5m', 'window1h', 'bestBid', 'bestAsk'];

/** The single-event record as a one-row batch: both paths share the views. */
function oneRow(e, m) {
  const w = [m.window1m, m.window5m, m.window1h];
  const missing = MISSING.reduce((bits, name, i) => bits | (m.missing?.[name] ? 1 << i : 0), 0);
  return {
    len: 1, kinds: [KINDS[e.kind]], venueIds: [e.venueId], symbolIds: [e.symbolId],
    accountIds: [e.accountId], prices: [e.price], sizes: [e.size],
    notionalUsd: [e.notionalUsd ?? NaN], sides: [SIDES[e.side]], directions: [DIRS[e.direction]],
    closedPnl: [e.closedPnl ?? NaN], exchangeTimeMs: [e.exchangeTimeMs], eventIds: [e.id],
    txHashes: [e.txHash ?? ''], lastPrice: [m.lastPrice], change1m: [w[0].changePct],
    change5m: [w[1].changePct], change1h: [w[2].changePct], volume1m: [w[0].volumeUsd],
    volume5m: [w[1].volumeUsd], volume1h: [w[2].volumeUsd], trades1m: [w[0].trades],
    trades5m: [w[1].trades], trades1h: [w[2].trades], bestBid: [m.bestBid], bestAsk: [m.bestAsk],
    missing: [missing],
  };
}

class Rule {
  static create(paramsJson) {
    const self = new Rule();
    self.inner = create('filter', paramsJson);
    self.cols = guard(() => rules.declared(self.inner));
    return self;
  }

  columns() { return flags(this.cols); }

  evaluate(event, market) {
    return guard(() => {
      const v = rules.evaluateOne(this.inner, new Cols(oneRow(event, market), this.cols));
      return v instanceof Pass ? { tag: 'pass', val: witPass(v) } : { tag: 'reject', val: v.reason };
    });
  }
}

export const filterRules = {
  Rule,
  evaluateBatch(batch, ruleRows) {
    return guard(() => {
      const specs = ruleRows.map((rr) => [rr.rule.inner, rr.rule.cols, rr.rows ?? undefined]);
      return rules.evaluateBatch(batch, specs).map(([rule, row, p]) => ({ rule, row, pass: witPass(p) }));
    });
  },
};

const opt = (v) => (v === undefined || v === null ? undefined : Number(v));
const alertOf = (a) => ({ ...a, event: { ...a.event, exchangeTimeMs: Number(a.event.exchangeTimeMs) } });
const historyOf = (h) => ({ ...h, lastFiredMs: opt(h.lastFiredMs) });

class Policy {
  static create(paramsJson) {
    const self = new Policy();
    self.inner = create('cooldown', paramsJson);
    return self;
  }
}

export const cooldownPolicies = {
  Policy,
  decideBatch(items) {
    return guard(() => items.map((item, i) => {
      raw().scope(i);
      const d = item.policy.inner.decide(alertOf(item.alert), historyOf(item.history));
      if (d instanceof Fire) return { tag: 'fire', val: d.severity };
      if (d instanceof Suppress) return { tag: 'suppress', val: d.reason };
      throw new TypeError(`decide returned ${JSON.stringify(d)}, expected Decision.fire/suppress`);
    }));
  },
};

const witMessage = (m) => ({ title: m.title, body: m.body, markup: m.markup });

class Formatter {
  static create(paramsJson) {
    const self = new Formatter();
    self.inner = create('formatter', paramsJson);
    return self;
  }

  format(alert) { return guard(() => witMessage(this.inner.format(alertOf(alert)))); }

  formatDigest(alerts) { return guard(() => witMessage(this.inner.formatDigest(alerts.map(alertOf)))); }
}

export const formatters = { Formatter };
