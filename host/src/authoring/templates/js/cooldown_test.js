// Offline tests: `node --test`. The SDK's host double stands in for Klaxon.

import assert from 'node:assert/strict';
import test from 'node:test';
import { Fire, Suppress } from './klaxon-sdk/index.js';
import { alert, configure, double, history } from './klaxon-sdk/testing.js';
import { Plugin } from './plugin.js';

test('quiet inside the window, then fires again', () => {
  const policy = configure('cooldown', Plugin, { window_secs: 300 });
  double.clockMs = 1_000_000;
  const recent = history({ lastFiredMs: 1_000_000 - 60_000, fires: 1 });
  assert.deepEqual(policy.decide(alert(), recent), new Suppress('quiet 300s'));
  const old = history({ lastFiredMs: 1_000_000 - 301_000, fires: 1 });
  assert.deepEqual(policy.decide(alert(), old), new Fire('info'));
});
