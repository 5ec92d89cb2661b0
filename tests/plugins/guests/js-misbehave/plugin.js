// Broken on purpose, in JavaScript: `loop-forever`, `alloc-forever` and
// `trap` in one plugin, picked per template by `mode`. Events priced at
// most `above_price` (default 10, so the host's smoke run at price 1
// passes) are rejected; above it, `evaluate` loops forever, allocates 1 MiB
// after 1 MiB forever, or throws. Set `above_price = 0` to misbehave in the
// smoke run.

import { Columns, Filter, Verdict, exportFilter, p } from './klaxon-sdk/index.js';

export class Misbehave extends Filter {
  static params = { mode: p.oneOf(['loop', 'alloc', 'throw']), above_price: p.number(10) };

  constructor(params) {
    super();
    this.p = params;
  }

  columns() {
    return Columns.PRICE;
  }

  evaluate(event) {
    const price = event.price();
    if (price <= this.p.above_price) return Verdict.reject('below trigger price');
    if (this.p.mode === 'loop') for (;;) { /* forever */ }
    if (this.p.mode === 'alloc') {
      const hoard = [];
      for (;;) hoard.push(new Uint8Array(1 << 20).fill(0xa5));
    }
    return fail(price, this.p.above_price);
  }
}

function fail(price, above) {
  throw new Error(`js-misbehave: price ${price} > ${above}`);
}

exportFilter(Misbehave);
