// Offline tests: `node --test`. The SDK's host double stands in for Klaxon.

import assert from 'node:assert/strict';
import test from 'node:test';
import { ParamsError, Reject } from './klaxon-sdk/index.js';
import { FilterHarness, trade } from './klaxon-sdk/testing.js';
import { Plugin } from './plugin.js';

test('a big buy passes and a small one does not', () => {
  const rule = FilterHarness.configure(Plugin, { min_notional_usd: 50000 });
  const big = trade('BTCUSDT', 57310, 1.5, { side: 'buy' });
  assert.equal(rule.evaluate(big).title, '$86.0K buy on BTCUSDT');
  const small = trade('BTCUSDT', 57300, 0.2);
  assert.deepEqual(rule.evaluate(small), new Reject('below threshold'));
  // The batch path gives the same passes as the single-event path.
  assert.deepEqual(rule.evaluateBatch([[big], [small]]).map(([row]) => row), [0]);
});

test('a misspelt param is named', () => {
  assert.throws(() => FilterHarness.configure(Plugin, { min_notinal_usd: 1 }),
    (e) => e instanceof ParamsError && e.message.startsWith('min_notinal_usd: unknown field'));
});
