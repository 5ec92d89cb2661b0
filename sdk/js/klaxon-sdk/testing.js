// Offline tests, as the Rust SDK's `klaxon_sdk::testing`: the in-memory
// host double and harnesses that run a plugin class through the same glue
// as the component's exports, so `node --test` exercises what the host calls.

import * as rules from './rules.js';
import { Cols } from './views.js';
import { double } from './double.js';
import { Pass } from './model.js';

export { double };

const KIND = { trade: 0, swap: 1, 'perp-fill': 2, liquidation: 3, 'book-top': 4 };
const SIDE = { buy: 0, sell: 1, unknown: 2 };
const DIRECTION = { none: 0, 'open-long': 1, 'close-long': 2, 'open-short': 3, 'close-short': 4 };

/**
 * Sets watchlist `name` for every template, replacing any earlier version
 * (as an edit of its file would between calls): an object of entry → value,
 * or an array of entries or [entry, value] pairs. Asking for a list never
 * set throws, as the host fails a call for an undeclared list.
 */
export function setWatchlist(name, entries) { double.watchlists.set(name, entries); }

/** One event, names as strings (the double interns them). */
export function eventRecord(fields = {}) {
  return {
    symbol: 'BTCUSDT', price: 0, size: 0, notionalUsd: undefined, kind: 'trade',
    venue: 'binance-spot', account: undefined, side: 'unknown', direction: 'none',
    closedPnl: undefined, exchangeTimeMs: 1_700_000_000_000, id: '', txHash: undefined, ...fields,
  };
}

export const trade = (symbol, price, size, fields = {}) =>
  eventRecord({ symbol, price, size, notionalUsd: price * size, ...fields });

export function marketRecord(fields = {}) {
  return {
    lastPrice: 0, changePct: [0, 0, 0], volumeUsd: [0, 0, 0], trades: [0, 0, 0], bestBid: 0,
    bestAsk: 0, missing: 0, ...fields,
  };
}

/** The host's column batch for `[event, market]` rows (every column filled). */
export function batchOf(rows) {
  const col = (f) => rows.map(([e, m]) => f(e, m));
  return {
    len: rows.length, kinds: col((e) => KIND[e.kind]), venueIds: col((e) => double.intern(e.venue)),
    symbolIds: col((e) => double.intern(e.symbol)), accountIds: col((e) => double.intern(e.account)),
    prices: col((e) => e.price), sizes: col((e) => e.size),
    notionalUsd: col((e) => e.notionalUsd ?? NaN), sides: col((e) => SIDE[e.side]),
    directions: col((e) => DIRECTION[e.direction]), closedPnl: col((e) => e.closedPnl ?? NaN),
    exchangeTimeMs: col((e) => BigInt(e.exchangeTimeMs)), eventIds: col((e) => e.id),
    txHashes: col((e) => e.txHash ?? ''), lastPrice: col((e, m) => m.lastPrice),
    change1m: col((e, m) => m.changePct[0]), change5m: col((e, m) => m.changePct[1]),
    change1h: col((e, m) => m.changePct[2]), volume1m: col((e, m) => m.volumeUsd[0]),
    volume5m: col((e, m) => m.volumeUsd[1]), volume1h: col((e, m) => m.volumeUsd[2]),
    trades1m: col((e, m) => m.trades[0]), trades5m: col((e, m) => m.trades[1]),
    trades1h: col((e, m) => m.trades[2]), bestBid: col((e, m) => m.bestBid),
    bestAsk: col((e, m) => m.bestAsk), missing: col((e, m) => m.missing),
  };
}

/** `FilterHarness.configure(BigTrade, { min_notional_usd: 1000 })`. */
export class FilterHarness {
  constructor(rule) {
    this.rule = rule;
    this.cols = rules.declared(rule);
  }

  static configure(cls, params) {
    rules.exportFilter(cls);
    return new FilterHarness(rules.build('filter', JSON.stringify(params)));
  }

  evaluate(event, market = marketRecord()) {
    return rules.evaluateOne(this.rule, new Cols(batchOf([[event, market]]), this.cols));
  }

  /** `[row, pass]` for the rows that pass. */
  evaluateBatch(rows) {
    const batch = batchOf(rows.map(([e, m]) => [e, m ?? marketRecord()]));
    return rules.evaluateBatch(batch, [[this.rule, this.cols, undefined]])
      .map(([, row, p]) => [row, p]);
  }
}

/** A configured cooldown policy or formatter (`kind`: 'cooldown' | 'formatter'). */
export function configure(kind, cls, params) {
  (kind === 'cooldown' ? rules.exportCooldown : rules.exportFormatter)(cls);
  return rules.build(kind, JSON.stringify(params));
}

export function alert({ title = 'Big trade', value = 1, key = 'BTCUSDT', severity = 'info', template = 'test' } = {}) {
  return {
    template, alertKey: key, severity, value, title, fields: [],
    event: {
      id: 'binance:BTCUSDT:a:1', kind: 'trade', venue: 'binance-spot', symbol: key, price: 1,
      size: value, notionalUsd: value, side: 'buy', account: undefined, txHash: undefined,
      exchangeTimeMs: double.clockMs, direction: 'none', closedPnl: undefined,
    },
  };
}

export function history(fields = {}) {
  return { lastFiredMs: undefined, lastValue: undefined, lastSeverity: undefined, fires: 0, suppressedSinceFire: 0, ...fields };
}

export { Pass };
