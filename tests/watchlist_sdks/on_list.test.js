// The watchlist double under `node --test`: set, query, edit.

import assert from 'node:assert/strict';
import test from 'node:test';
import { Reject, watchlist } from './klaxon-sdk/index.js';
import { FilterHarness, eventRecord, setWatchlist } from './klaxon-sdk/testing.js';
import { OnList } from './plugin.js';

test('listed accounts pass and an edit applies to the next call', () => {
  setWatchlist('whales', { '0xAAA': 'fund A' });
  const rule = FilterHarness.configure(OnList, { watchlist: 'whales' });
  const listed = eventRecord({ symbol: 'ETH', account: '0xaaa' });
  const other = eventRecord({ symbol: 'ETH', account: '0xbbb' });
  assert.equal(rule.evaluate(listed).title, 'fund A on ETH');
  assert.deepEqual(rule.evaluate(other), new Reject('not listed'));
  setWatchlist('whales', ['0xbbb']);
  assert.equal(rule.evaluate(other).title, '0xbbb on ETH');
  assert.deepEqual(rule.evaluateBatch([[listed], [other]]).map(([row]) => row), [1]);
});

test('an unset list is refused as the host refuses an undeclared one', () => {
  setWatchlist('whales', []);
  assert.throws(() => watchlist.contains('vip', '0xaaa'), /watchlist `vip` is not declared/);
});
