// `{{name}}`: a filter. One trade whose USD notional reaches
// `min_notional_usd` raises an alert keyed by its symbol.

import { Columns, Filter, Pass, Verdict, exportFilter, p } from './klaxon-sdk/index.js';
import { price, usd } from './klaxon-sdk/fmt.js';

export class Plugin extends Filter {
  /** Params, as written in the template. A typo is an error naming the field. */
  static params = { min_notional_usd: p.number(), severity: p.severity('warning') };

  constructor(params) {
    super();
    if (!(params.min_notional_usd >= 0)) {
      throw new RangeError(`min_notional_usd: must be 0 or more, got ${params.min_notional_usd}`);
    }
    this.min = params.min_notional_usd;
    this.severity = params.severity;
  }

  /** Exactly what `evaluate` reads; the host sends nothing else. */
  columns() {
    return Columns.KIND | Columns.NOTIONAL_USD | Columns.SYMBOL | Columns.SIDE | Columns.PRICE;
  }

  evaluate(event, _market) {
    if (event.kind() !== 'trade') return Verdict.reject('not a trade');
    const notional = event.notionalUsd();
    if (notional === undefined) return Verdict.reject('no notional');
    if (notional < this.min) return Verdict.reject('below threshold');
    const symbol = event.symbol().name();
    const side = { buy: 'buy', sell: 'sell' }[event.side()] ?? 'trade';
    return new Pass(symbol, `${usd(notional)} ${side} on ${symbol}`, { severity: this.severity, value: notional })
      .withField('notional', usd(notional))
      .withField('price', price(event.price()));
  }
}

exportFilter(Plugin);
