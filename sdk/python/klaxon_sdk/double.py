"""The in-memory host that `klaxon_sdk.host` calls outside the component
(pytest): clock, KV with TTL, prices, interned names, logs, panics, scopes,
and the watchlists `klaxon_sdk.watchlist` reads."""

from typing import Dict, Iterable, List, Optional, Tuple, Union


def _normalize(entry: str) -> str:
    """The host's rule: `0x…` entries in lowercase, others as written."""
    return entry.lower() if len(entry) > 2 and entry[:2].lower() == "0x" else entry


class _Watchlists:
    """Lists set with `klaxon_sdk.testing.set_watchlist`. A list never set
    is one the template did not declare: asking for it raises, as the host
    fails the call."""

    def __init__(self, names: List[str]):
        self.lists: Dict[str, Dict[str, Optional[str]]] = {}
        self._names = names

    def set(self, name: str, entries: Union[Dict[str, Optional[str]], Iterable]) -> None:
        pairs = entries.items() if isinstance(entries, dict) else (
            (e, None) if isinstance(e, str) else e for e in entries)
        self.lists[name] = {_normalize(e.strip()): (v or None) for e, v in pairs}

    def _list(self, name: str) -> Dict[str, Optional[str]]:
        if name not in self.lists:
            raise KeyError(f"testing: watchlist `{name}` is not declared (the host fails the "
                           "call); set it with testing.set_watchlist")
        return self.lists[name]

    def _name(self, id_: int) -> Optional[str]:
        return self._names[id_ - 1] if 0 < id_ <= len(self._names) else None

    def contains(self, name, entry):
        return _normalize(entry) in self._list(name)

    def value(self, name, entry):
        return self._list(name).get(_normalize(entry))

    # By id the name must equal the stored entry, as in the host.
    def contains_id(self, name, id_):
        entry = self._name(id_)
        return entry is not None and entry in self._list(name)

    def contains_ids(self, name, ids):
        return bytes(int(self.contains_id(name, i)) for i in ids)

    def value_id(self, name, id_):
        entry = self._name(id_)
        lst = self._list(name)
        return None if entry is None else lst.get(entry)


class _Double:
    """The host double every `klaxon_sdk.host` call reaches off-wasm."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.clock_ms = 1_700_000_000_000
        self.kv: Dict[str, Tuple[str, Optional[int]]] = {}
        self.prices: Dict[str, float] = {}
        self.names: List[str] = []
        # Kept across resets: `klaxon_sdk.watchlist` holds on to it.
        if not hasattr(self, "watchlists"):
            self.watchlists = _Watchlists(self.names)
        self.watchlists.lists.clear()
        self.watchlists._names = self.names
        self.logs: List[Tuple[str, str]] = []
        self.panics: List[str] = []
        self.scopes: List[int] = []

    def intern(self, name: Optional[str]) -> int:
        if not name:
            return 0
        if name not in self.names:
            self.names.append(name)
        return self.names.index(name) + 1

    def scope(self, index):
        self.scopes.append(index)

    def log(self, level, message):
        self.logs.append((level, message))

    def report_panic(self, message):
        self.panics.append(message)

    def now_ms(self):
        return self.clock_ms

    def kv_get(self, key):
        entry = self.kv.get(key)
        if entry is None or (entry[1] is not None and entry[1] <= self.clock_ms):
            return None
        return entry[0]

    def kv_set(self, key, value, ttl_ms):
        self.kv[key] = (value, None if ttl_ms is None else self.clock_ms + ttl_ms)

    def kv_delete(self, key):
        self.kv.pop(key, None)

    def price(self, symbol):
        return self.prices.get(symbol)

    def name(self, id_):
        return self.names[id_ - 1] if 0 < id_ <= len(self.names) else None


double = _Double()
