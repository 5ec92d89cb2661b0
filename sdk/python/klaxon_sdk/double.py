"""The in-memory host that `klaxon_sdk.host` calls outside the component
(pytest): clock, KV with TTL, prices, interned names, logs, panics, scopes."""

from typing import Dict, List, Optional, Tuple


class _Double:
    """The host double every `klaxon_sdk.host` call reaches off-wasm."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.clock_ms = 1_700_000_000_000
        self.kv: Dict[str, Tuple[str, Optional[int]]] = {}
        self.prices: Dict[str, float] = {}
        self.names: List[str] = []
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
