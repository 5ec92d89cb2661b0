// Stock `amount-threshold`'s single-event path (`min_notional_usd`) in JS:
// the same params, verdicts, alert keys, titles and fields, so the
// equivalence test can demand identical alerts.

import { Columns, EventKind, Filter, Pass, Verdict, exportFilter, p } from './klaxon-sdk/index.js';
import { number, price, usd } from './klaxon-sdk/fmt.js';

const NOUNS = { swap: 'swap', 'perp-fill': 'fill', liquidation: 'liquidation', 'book-top': 'book update' };
const SIDES = { buy: 'buy', sell: 'sell', unknown: 'trade' };

export class AmountThreshold extends Filter {
  static params = {
    min_notional_usd: p.number(),
    kinds: p.list(p.oneOf([...EventKind]), ['trade', 'swap', 'perp-fill', 'liquidation']),
    key_by: p.oneOf(['symbol', 'account'], 'symbol'),
    severity: p.severity('warning'),
  };

  constructor(params) {
    super();
    if (!(params.min_notional_usd >= 0)) {
      throw new RangeError(`min_notional_usd: must be 0 or more, got ${params.min_notional_usd}`);
    }
    this.p = params;
  }

  columns() {
    return Columns.KIND | Columns.NOTIONAL_USD | Columns.SYMBOL | Columns.ACCOUNT | Columns.SIDE
      | Columns.PRICE | Columns.SIZE;
  }

  evaluate(event) {
    const kind = event.kind();
    if (!this.p.kinds.includes(kind)) return Verdict.reject('kind not selected');
    const notional = event.notionalUsd();
    if (notional === undefined) return Verdict.reject('no notional');
    if (notional < this.p.min_notional_usd) return Verdict.reject('below threshold');
    const symbol = event.symbol().name();
    const account = event.account().name();
    const key = this.p.key_by === 'symbol' ? symbol : account;
    if (key === undefined) return Verdict.reject('no account');
    const noun = kind === 'trade' ? SIDES[event.side()] : NOUNS[kind];
    const pass = new Pass(key, `${usd(notional)} ${noun} on ${symbol}`, { severity: this.p.severity, value: notional })
      .withField('notional', usd(notional))
      .withField('price', price(event.price()))
      .withField('size', number(event.size()));
    if (event.side() !== 'unknown') pass.withField('side', event.side());
    if (account !== undefined) pass.withField('account', account);
    return pass;
  }
}

exportFilter(AmountThreshold);
