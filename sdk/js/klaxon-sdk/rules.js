// The author-facing classes and the glue that serves them, free of the WIT
// bindings so that `testing.js` runs the very same code offline. As in
// Rust, one instance holds many rules (one per template): `create` parses
// the params against the class's `static params` schema and builds the
// rule; the batch path scopes host calls to each rule, then walks its rows
// into `evaluate` through views narrowed to the rule's `columns()`.

import { raw } from './host.js';
import { MARKET_COLUMNS, Columns, Message, Pass, Reject } from './model.js';
import { ParamsError, parseParams } from './params.js';
import { Cols, Event, Market } from './views.js';

/** `static params`, `constructor(params)`, `columns()`, `evaluate(event, market)`. */
export class Filter {
  columns() { throw new Error('columns() is not implemented'); }
}

/** `decide(alert, history)` returns `Decision.fire(sev)` or `Decision.suppress(why)`. */
export class CooldownPolicy {}

/** `format(alert)`; `formatDigest` joins the bodies under `N alerts` (as in Rust). */
export class Formatter {
  formatDigest(alerts) {
    let markup = 'plain';
    const bodies = alerts.map((a) => {
      const m = this.format(a);
      markup = m.markup;
      return m.body;
    });
    return new Message(`${alerts.length} alerts`, bodies.join('\n\n'), markup);
  }
}

const exported = {};
export const exportFilter = (cls) => { exported.filter = cls; return cls; };
export const exportCooldown = (cls) => { exported.cooldown = cls; return cls; };
export const exportFormatter = (cls) => { exported.formatter = cls; return cls; };

/** The Rust SDK's panic hook: message and the guest's stack reach the host, then it traps. */
export function report(err) {
  const text = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
  raw().reportPanic(text);
}

export function reportAndRethrow(err) {
  report(err);
  throw err;
}

/** The configured value, or `ParamsError` naming the field (the template is rejected). */
export function build(kind, paramsJson) {
  const cls = exported[kind];
  if (!cls) throw new Error(`klaxon-sdk: no export${kind[0].toUpperCase()}${kind.slice(1)}(...) in the plugin`);
  const params = cls.params ? parseParams(cls.params, paramsJson) : undefined;
  try {
    return new cls(params);
  } catch (e) {
    // A constructor rejects a template by throwing a RangeError/TypeError
    // whose message names the field, like Rust's `new` returning Err.
    if (e instanceof RangeError || e instanceof ParamsError) throw new ParamsError(e.message);
    throw e;
  }
}

/** `columns()`, plus `missing` whenever a market column is read. */
export function declared(rule) {
  let cols = rule.columns();
  if (cols & MARKET_COLUMNS) cols |= Columns.MISSING;
  return cols;
}

export function evaluateOne(rule, cols, row = 0) {
  const verdict = rule.evaluate(new Event(cols, row), new Market(cols, row));
  if (!(verdict instanceof Pass) && !(verdict instanceof Reject)) {
    throw new TypeError(`evaluate returned ${JSON.stringify(verdict)}, expected a Pass or Verdict.reject(...)`);
  }
  return verdict;
}

/** `evaluate-batch`: `[rule index, row, pass]`, ordered by rule, then row. */
export function evaluateBatch(batch, specs) {
  const out = [];
  specs.forEach(([rule, cols, rows], index) => {
    raw().scope(index);
    const view = new Cols(batch, cols);
    const n = rows === undefined ? batch.len : rows.length;
    for (let i = 0; i < n; i++) {
      const row = rows === undefined ? i : rows[i];
      const verdict = evaluateOne(rule, view, row);
      if (verdict instanceof Pass) out.push([index, row, verdict]);
    }
  });
  return out;
}
