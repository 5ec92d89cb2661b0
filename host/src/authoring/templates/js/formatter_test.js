// Offline tests: `node --test`. The SDK's host double stands in for Klaxon.

import assert from 'node:assert/strict';
import test from 'node:test';
import { alert, configure } from './klaxon-sdk/testing.js';
import { Plugin } from './plugin.js';

test('renders title, fields and instrument', () => {
  const formatter = configure('formatter', Plugin, { prefix: '[test] ' });
  const a = alert({ title: 'Big trade' });
  a.fields.push({ name: 'notional', value: '$86.0K' });
  const message = formatter.format(a);
  assert.equal(message.title, '[test] Big trade');
  assert.ok(message.body.startsWith('[INFO] [test] Big trade\nnotional: $86.0K\n'), message.body);
});
