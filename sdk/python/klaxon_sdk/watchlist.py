"""Watchlists, as in the Rust SDK's `klaxon_sdk::watchlist`: named lists of
addresses, symbols or tokens that ops keep in the host's config or files
(`[watchlists.<name>]`) and edit while plugins run, each entry with an
optional value.

A rule reads only the lists its template declares (`watchlists =
["whales"]`); asking for another fails the call. One call sees one version
of every list, so ask the host rather than caching answers across calls.
`0x…` entries are stored in lowercase and, by name, compare in lowercase;
others match exactly. On the hot path use the `_id` functions with an
event's ids (`event.account().id()`): no string crosses the boundary. By id, the
name must equal the stored entry (Hyperliquid reports addresses in
lowercase).

Inside the component these call the `klaxon:plugin/watchlists` imports;
under pytest the double (`klaxon_sdk.testing.set_watchlist`)."""

from typing import Any, List, Optional, Sequence

try:  # Present only inside the component that componentize-py builds.
    from wit_world.imports import watchlists as _wit

    backend: Any = _wit
except ImportError:
    from .double import double as _double

    backend = _double.watchlists


def contains(name: str, entry: str) -> bool:
    """Whether `entry` is on watchlist `name`."""
    return bool(backend.contains(name, entry))


def value(name: str, entry: str) -> Optional[str]:
    """The value ops gave `entry`; None when not listed or without one."""
    return backend.value(name, entry)


def contains_id(name: str, id_: int) -> bool:
    """Whether the name behind interned `id_` is on the list; False for 0."""
    return bool(backend.contains_id(name, id_))


def contains_ids(name: str, ids: Sequence[int]) -> List[bool]:
    """`contains_id` for many ids in one host call (a batch's account ids)."""
    return [b != 0 for b in backend.contains_ids(name, list(ids))]


def value_id(name: str, id_: int) -> Optional[str]:
    """`value` for the name behind interned `id_`."""
    return backend.value_id(name, id_)
