// Broken on purpose, in JavaScript: reads the clock and random numbers in
// `evaluate`. The sandbox test builds it with componentize-js *without*
// disabling its features, so the component imports WASI (stdio, random,
// clocks, http); the host links none, so loading it must fail naming them.

import { Columns, Filter, Pass, exportFilter } from './klaxon-sdk/index.js';

export class WasiClock extends Filter {
  columns() {
    return Columns.SYMBOL;
  }

  evaluate(event) {
    return new Pass(event.symbol().name(), `at ${Date.now()} (${Math.random()})`);
  }
}

exportFilter(WasiClock);
