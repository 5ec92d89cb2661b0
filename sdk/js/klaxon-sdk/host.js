// What the host offers a plugin, as in the Rust SDK's `klaxon_sdk::host`:
// log, the host clock, the template's KV store, last prices and names.
// The backend is the `klaxon:plugin/host` import inside the component (the
// entry `klaxon plugin build` writes calls `setBackend`), and the in-memory
// double everywhere else, so tests need no host.

import { double } from './double.js';

let backend = double;
// Names never change for an id, so each reaches the host once per instance.
const names = new Map();

export function setBackend(b) {
  backend = b;
  names.clear();
}

export function raw() {
  return backend;
}

/** `level`: 'debug', 'info', 'warn' or 'error'. */
export function log(level, message) { backend.log(level, String(message)); }
export const debug = (m) => log('debug', m);
export const info = (m) => log('info', m);
export const warn = (m) => log('warn', m);
export const error = (m) => log('error', m);

/** The host clock in unix ms; simulated (event) time during replay. */
export function nowMs() { return Number(backend.nowMs()); }

export function kvGet(key) { return backend.kvGet(key); }

/** With `ttlMs` the value expires that long after now (host clock). */
export function kvSet(key, value, ttlMs) {
  backend.kvSet(key, String(value), ttlMs === undefined ? undefined : BigInt(ttlMs));
}

export function kvDelete(key) { backend.kvDelete(key); }

/** A value that no longer parses reads as undefined (as in Rust). */
export function kvGetJson(key) {
  const text = kvGet(key);
  if (text === undefined) return undefined;
  try { return JSON.parse(text); } catch { return undefined; }
}

export function kvSetJson(key, value, ttlMs) { kvSet(key, JSON.stringify(value), ttlMs); }

export function price(symbol) { return backend.price(symbol); }

/** Name of an interned venue, symbol or account id; undefined for 0. */
export function name(id) {
  if (id === 0) return undefined;
  if (!names.has(id)) names.set(id, backend.name(id));
  return names.get(id);
}
