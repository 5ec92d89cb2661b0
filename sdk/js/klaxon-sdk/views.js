// Row views over the column batch, as in the Rust SDK's `Event`/`Market`:
// accessor methods reading row `row` of one column, throwing
// `ColumnNotDeclared` (naming the column) when the rule's `columns()` did
// not declare it, on the single-event and the batch path alike.

import * as host from './host.js';
import { Columns, Direction, EventKind, Side, columnName } from './model.js';

/** Batch attribute of each column (jco's names of `record event-batch`). */
const ATTRS = [
  'kinds', 'venueIds', 'symbolIds', 'accountIds', 'prices', 'sizes', 'notionalUsd', 'sides',
  'directions', 'closedPnl', 'exchangeTimeMs', 'eventIds', 'txHashes', 'lastPrice', 'change1m',
  'change5m', 'change1h', 'volume1m', 'volume5m', 'volume1h', 'trades1m', 'trades5m', 'trades1h',
  'bestBid', 'bestAsk', 'missing',
];
const KEYS = Object.keys(Columns).filter((k) => k !== 'NONE');

export class ColumnNotDeclared extends Error {}

/** The columns one rule may read: `source` narrowed to `declared`. */
export class Cols {
  constructor(source, declared) {
    this.source = source;
    this.declared = declared;
  }

  get(bit, row) {
    if (!(this.declared & bit)) {
      const key = KEYS[Math.log2(bit)];
      throw new ColumnNotDeclared(
        `klaxon-sdk: read of column \`${columnName(bit)}\`, which this rule's columns() does not declare (add Columns.${key})`);
    }
    return this.source[ATTRS[Math.log2(bit)]][row];
  }
}

/** An interned venue, symbol or account id; `name()` asks the host once. */
export class Named {
  constructor(id) { this._id = id; }
  id() { return this._id; }
  isSome() { return this._id !== 0; }
  name() { return host.name(this._id); }
}

const orNone = (v) => (Number.isNaN(v) ? undefined : v);

export class Event {
  constructor(cols, row) { this.c = cols; this.r = row; }
  row() { return this.r; }
  kind() { return EventKind[this.c.get(Columns.KIND, this.r)]; }
  venue() { return new Named(this.c.get(Columns.VENUE, this.r)); }
  symbol() { return new Named(this.c.get(Columns.SYMBOL, this.r)); }
  account() { return new Named(this.c.get(Columns.ACCOUNT, this.r)); }
  price() { return this.c.get(Columns.PRICE, this.r); }
  size() { return this.c.get(Columns.SIZE, this.r); }
  notionalUsd() { return orNone(this.c.get(Columns.NOTIONAL_USD, this.r)); }
  side() { return Side[this.c.get(Columns.SIDE, this.r)]; }
  direction() { return Direction[this.c.get(Columns.DIRECTION, this.r)]; }
  closedPnl() { return orNone(this.c.get(Columns.CLOSED_PNL, this.r)); }
  exchangeTimeMs() { return Number(this.c.get(Columns.EXCHANGE_TIME, this.r)); }
  id() { return this.c.get(Columns.EVENT_ID, this.r) || undefined; }
  txHash() { return this.c.get(Columns.TX_HASH, this.r) || undefined; }
}

const CHANGE = [Columns.CHANGE_1M, Columns.CHANGE_5M, Columns.CHANGE_1H];
const VOLUME = [Columns.VOLUME_1M, Columns.VOLUME_5M, Columns.VOLUME_1H];
const TRADES = [Columns.TRADES_1M, Columns.TRADES_5M, Columns.TRADES_1H];

/** The instrument's market context; a field the host could not fill is undefined. */
export class Market {
  constructor(cols, row) { this.c = cols; this.r = row; }
  missing() { return this.c.get(Columns.MISSING, this.r); }
  unless(bit, column) {
    const value = this.c.get(column, this.r);
    return this.missing() & bit ? undefined : value;
  }
  lastPrice() { return this.unless(1, Columns.LAST_PRICE); }
  changePct(w) { return this.unless(2 << w, CHANGE[w]); }
  volumeUsd(w) { return this.unless(2 << w, VOLUME[w]); }
  trades(w) { return this.unless(2 << w, TRADES[w]); }
  bestBid() { return this.unless(16, Columns.BEST_BID); }
  bestAsk() { return this.unless(32, Columns.BEST_ASK); }
}
