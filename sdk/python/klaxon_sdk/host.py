"""What the host offers a plugin, as in the Rust SDK's `klaxon_sdk::host`:
log, the host clock, the template's KV store, last prices and names.

Inside the component these call the `klaxon:plugin/host` imports; anywhere
else (pytest) they call the in-memory double in `klaxon_sdk.testing`, so a
plugin's tests need no host."""

import json
from typing import Any, Dict, Optional

try:  # Present only inside the component that componentize-py builds.
    from wit_world.imports import host as _wit

    def _level(name: str):
        return getattr(_wit.LogLevel, name.upper())

    class _Backend:
        scope = staticmethod(_wit.scope)
        report_panic = staticmethod(_wit.report_panic)
        now_ms = staticmethod(_wit.now_ms)
        kv_get = staticmethod(_wit.kv_get)
        kv_set = staticmethod(_wit.kv_set)
        kv_delete = staticmethod(_wit.kv_delete)
        price = staticmethod(_wit.price)
        name = staticmethod(_wit.name)

        @staticmethod
        def log(level: str, message: str) -> None:
            _wit.log(_level(level), message)

    backend: Any = _Backend
except ImportError:
    from .double import double as backend

# Names never change for an id, so each reaches the host once per instance.
_names: Dict[int, Optional[str]] = {}


def log(level: str, message: str) -> None:
    """`level` is "debug", "info", "warn" or "error"."""
    backend.log(level, message)


def debug(message: str) -> None:
    log("debug", message)


def info(message: str) -> None:
    log("info", message)


def warn(message: str) -> None:
    log("warn", message)


def error(message: str) -> None:
    log("error", message)


def now_ms() -> int:
    """The host clock in unix ms; simulated (event) time during replay."""
    return backend.now_ms()


def kv_get(key: str) -> Optional[str]:
    return backend.kv_get(key)


def kv_set(key: str, value: str, ttl_ms: Optional[int] = None) -> None:
    """With `ttl_ms` the value expires that long after now (host clock)."""
    backend.kv_set(key, value, ttl_ms)


def kv_delete(key: str) -> None:
    backend.kv_delete(key)


def kv_get_json(key: str) -> Any:
    """A value that no longer parses reads as None (as in Rust)."""
    text = kv_get(key)
    try:
        return None if text is None else json.loads(text)
    except ValueError:
        return None


def kv_set_json(key: str, value: Any, ttl_ms: Optional[int] = None) -> None:
    kv_set(key, json.dumps(value), ttl_ms)


def price(symbol: str) -> Optional[float]:
    return backend.price(symbol)


def name(id_: int) -> Optional[str]:
    """Name of an interned venue, symbol or account id; None for 0."""
    if id_ == 0:
        return None
    if id_ not in _names:
        _names[id_] = backend.name(id_)
    return _names[id_]
