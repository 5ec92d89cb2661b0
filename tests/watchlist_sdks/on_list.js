// A filter on a watchlist, in JS: a listed account's event passes, titled
// with the entry's value (or the account); others are rejected. The same
// rule as `on_list.py` and stock `whale-fill`'s watchlist path.

import { Columns, Filter, Pass, Verdict, exportFilter, p, watchlist } from './klaxon-sdk/index.js';

export class OnList extends Filter {
  static params = { watchlist: p.string() };

  constructor(params) {
    super();
    this.list = params.watchlist;
  }

  columns() { return Columns.ACCOUNT | Columns.SYMBOL; }

  evaluate(event) {
    const id = event.account().id();
    if (id === 0 || !watchlist.containsId(this.list, id)) return Verdict.reject('not listed');
    const account = event.account().name();
    const label = watchlist.valueId(this.list, id) ?? account;
    if (watchlist.value(this.list, account) !== watchlist.valueId(this.list, id)) {
      throw new Error('by name and by id disagree');
    }
    return new Pass(account, `${label} on ${event.symbol().name()}`, { severity: 'info', value: 1 });
  }
}

exportFilter(OnList);
