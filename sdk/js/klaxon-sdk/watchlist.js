// Watchlists, as in the Rust SDK's `klaxon_sdk::watchlist`: named lists of
// addresses, symbols or tokens that ops keep in the host's config or files
// (`[watchlists.<name>]`) and edit while plugins run, each entry with an
// optional value.
//
// A rule reads only the lists its template declares (`watchlists =
// ["whales"]`); asking for another fails the call. One call sees one
// version of every list, so ask the host rather than caching answers across
// calls. `0x…` entries are stored in lowercase and, by name, compare in
// lowercase; others match exactly. On the hot path use the `…Id` functions
// with an event's ids (`event.account().id()`): no string crosses the boundary.
// By id, the name must equal the stored entry (Hyperliquid reports
// addresses in lowercase).
//
// The backend is the `klaxon:plugin/watchlists` import inside the component
// (the entry `klaxon plugin build` writes calls `setBackend`) and the
// double (`testing.setWatchlist`) everywhere else.

import { double } from './double.js';

let backend;

export function setBackend(b) {
  backend = b;
}

const api = () => backend ?? double.watchlists;

/** Whether `entry` is on watchlist `name`. */
export function contains(name, entry) { return Boolean(api().contains(name, String(entry))); }

/** The value ops gave `entry`; undefined when not listed or without one. */
export function value(name, entry) { return api().value(name, String(entry)) ?? undefined; }

/** Whether the name behind interned `id` is on the list; false for 0. */
export function containsId(name, id) { return Boolean(api().containsId(name, id)); }

/** `containsId` for many ids in one host call (a batch's account ids). */
export function containsIds(name, ids) {
  return Array.from(api().containsIds(name, Uint32Array.from(ids)), (b) => b !== 0);
}

/** `value` for the name behind interned `id`. */
export function valueId(name, id) { return api().valueId(name, id) ?? undefined; }
