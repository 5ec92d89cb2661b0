// The data model, as in the Rust SDK (`Columns`, `Pass`, `Verdict`,
// `Decision`, `Message`): the same names and meaning, in JS spelling.
// Enum values are the WIT case names (`'perp-fill'`, `'warning'`).

/** Column bits, in `flags columns` order (wit/types.wit). */
export const Columns = Object.freeze({
  NONE: 0, KIND: 1 << 0, VENUE: 1 << 1, SYMBOL: 1 << 2, ACCOUNT: 1 << 3, PRICE: 1 << 4,
  SIZE: 1 << 5, NOTIONAL_USD: 1 << 6, SIDE: 1 << 7, DIRECTION: 1 << 8, CLOSED_PNL: 1 << 9,
  EXCHANGE_TIME: 1 << 10, EVENT_ID: 1 << 11, TX_HASH: 1 << 12, LAST_PRICE: 1 << 13,
  CHANGE_1M: 1 << 14, CHANGE_5M: 1 << 15, CHANGE_1H: 1 << 16, VOLUME_1M: 1 << 17,
  VOLUME_5M: 1 << 18, VOLUME_1H: 1 << 19, TRADES_1M: 1 << 20, TRADES_5M: 1 << 21,
  TRADES_1H: 1 << 22, BEST_BID: 1 << 23, BEST_ASK: 1 << 24, MISSING: 1 << 25,
});

/** WIT flag names (camelCase, as jco spells them) in bit order. */
export const COLUMN_FLAGS = [
  'kind', 'venue', 'symbol', 'account', 'price', 'size', 'notionalUsd', 'side', 'direction',
  'closedPnl', 'exchangeTime', 'eventId', 'txHash', 'lastPrice', 'change1m', 'change5m',
  'change1h', 'volume1m', 'volume5m', 'volume1h', 'trades1m', 'trades5m', 'trades1h', 'bestBid',
  'bestAsk', 'missing',
];

export const MARKET_COLUMNS = ((1 << 26) - 1) & ~((1 << 13) - 1);

/** `notional-usd`: the column's WIT name, as errors show it. */
export function columnName(bit) {
  const flag = COLUMN_FLAGS[Math.log2(bit)];
  return flag.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()).replace(/(\d)([mh])$/, '$1$2')
    .replace(/([a-z])(\d)/, '$1-$2');
}

export const EventKind = Object.freeze(['trade', 'swap', 'perp-fill', 'liquidation', 'book-top']);
export const Side = Object.freeze(['buy', 'sell', 'unknown']);
export const Direction = Object.freeze(['none', 'open-long', 'close-long', 'open-short', 'close-short']);
export const Severity = Object.freeze(['info', 'warning', 'critical']);
export const Markup = Object.freeze(['plain', 'markdown-v2', 'markdown', 'html']);
/** The rolling windows: `Window.M1`, `Window.M5`, `Window.H1`. */
export const Window = Object.freeze({ M1: 0, M5: 1, H1: 2 });

/** A filter's yes. `value` is what cooldowns compare (notional, % move). */
export class Pass {
  constructor(alertKey, title, { severity = 'info', value = 0, fields = [] } = {}) {
    this.alertKey = String(alertKey);
    this.title = String(title);
    this.severity = severity;
    this.value = value;
    this.fields = fields;
  }

  withField(name, value) {
    this.fields.push({ name: String(name), value: String(value) });
    return this;
  }

  field(name) {
    return this.fields.find((f) => f.name === name)?.value;
  }
}

export class Reject {
  constructor(reason) {
    this.reason = String(reason);
  }
}

export const Verdict = Object.freeze({ reject: (reason) => new Reject(reason) });

export class Fire {
  constructor(severity) {
    this.severity = severity;
  }
}

export class Suppress {
  constructor(reason) {
    this.reason = String(reason);
  }
}

/** `Decision.fire('critical')` or `Decision.suppress('cooldown 10m')`. */
export const Decision = Object.freeze({
  fire: (severity) => new Fire(severity),
  suppress: (reason) => new Suppress(reason),
});

export class Message {
  constructor(title, body, markup = 'plain') {
    this.title = String(title);
    this.body = String(body);
    this.markup = markup;
  }

  static plain(title, body) {
    return new Message(title, body, 'plain');
  }
}

/** `history.sinceLastFireMs(now)`; cooldown policies get this shape. */
export function sinceLastFireMs(history, nowMs) {
  return history.lastFiredMs === undefined ? undefined : Math.max(0, nowMs - history.lastFiredMs);
}
