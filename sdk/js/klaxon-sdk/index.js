// Write Klaxon plugins in JavaScript (WIT package `klaxon:plugin@0.2.0`),
// with the model of the Rust SDK: rules as classes built from typed params
// (`static params`), a `columns()` declaration enforced on every read,
// row-wise `evaluate(event, market)` over the column batch, and the host
// API in `host` (watchlists in `watchlist`). Build with `klaxon plugin build DIR`; test with `node --test`.

export const API_VERSION = '0.2.0';
export * as host from './host.js';
export * as watchlist from './watchlist.js';
export * as fmt from './fmt.js';
export {
  Columns, Decision, Direction, EventKind, Fire, Markup, Message, Pass, Reject, Severity, Side,
  Suppress, Verdict, Window, sinceLastFireMs,
} from './model.js';
export { ParamsError, p, parseParams } from './params.js';
export {
  CooldownPolicy, Filter, Formatter, exportCooldown, exportFilter, exportFormatter,
} from './rules.js';
export { ColumnNotDeclared, Event, Market } from './views.js';
