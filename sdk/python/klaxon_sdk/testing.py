"""Offline tests, as the Rust SDK's `klaxon_sdk::testing`: an in-memory host
double (clock, KV with TTL, prices, interned names, logs, reported panics)
and harnesses that run a plugin class through the same glue as the
component's exports, so `pytest` exercises what the host will call."""

import json
import math
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Dict, List, Optional, Tuple

from . import rules
from .model import (
    Alert, AlertEvent, Direction, EventKind, History, Pass, Severity, Side,
)
from .views import Cols
from .double import double




@dataclass
class EventRecord:
    """One event, names as strings (the double interns them)."""

    symbol: str = "BTCUSDT"
    price: float = 0.0
    size: float = 0.0
    notional_usd: Optional[float] = None
    kind: EventKind = EventKind.TRADE
    venue: str = "binance-spot"
    account: Optional[str] = None
    side: Side = Side.UNKNOWN
    direction: Direction = Direction.NONE
    closed_pnl: Optional[float] = None
    exchange_time_ms: int = 1_700_000_000_000
    id: str = ""
    tx_hash: Optional[str] = None

    @staticmethod
    def trade(symbol: str, price: float, size: float) -> "EventRecord":
        return EventRecord(symbol, price, size, price * size)


@dataclass
class MarketRecord:
    last_price: float = 0.0
    change_pct: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    volume_usd: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    trades: Tuple[int, int, int] = (0, 0, 0)
    best_bid: float = 0.0
    best_ask: float = 0.0
    missing: int = 0


def set_watchlist(name: str, entries) -> None:
    """Sets watchlist `name` for every template, replacing any earlier version
    (as an edit of its file would between calls): a dict of entry → value,
    or a list of entries or (entry, value) pairs. Asking for a list never
    set raises, as the host fails a call for an undeclared list."""
    double.watchlists.set(name, entries)


def batch_of(rows: List[Tuple[EventRecord, MarketRecord]]):
    """The host's column batch for `rows` (every column filled)."""
    nan = math.nan
    col = lambda f: [f(e, m) for e, m in rows]  # noqa: E731
    return SimpleNamespace(
        len=len(rows), kinds=col(lambda e, m: e.kind.value),
        venue_ids=col(lambda e, m: double.intern(e.venue)),
        symbol_ids=col(lambda e, m: double.intern(e.symbol)),
        account_ids=col(lambda e, m: double.intern(e.account)),
        prices=col(lambda e, m: e.price), sizes=col(lambda e, m: e.size),
        notional_usd=col(lambda e, m: nan if e.notional_usd is None else e.notional_usd),
        sides=col(lambda e, m: e.side.value), directions=col(lambda e, m: e.direction.value),
        closed_pnl=col(lambda e, m: nan if e.closed_pnl is None else e.closed_pnl),
        exchange_time_ms=col(lambda e, m: e.exchange_time_ms), event_ids=col(lambda e, m: e.id),
        tx_hashes=col(lambda e, m: e.tx_hash or ""), last_price=col(lambda e, m: m.last_price),
        change_1m=col(lambda e, m: m.change_pct[0]), change_5m=col(lambda e, m: m.change_pct[1]),
        change_1h=col(lambda e, m: m.change_pct[2]), volume_1m=col(lambda e, m: m.volume_usd[0]),
        volume_5m=col(lambda e, m: m.volume_usd[1]), volume_1h=col(lambda e, m: m.volume_usd[2]),
        trades_1m=col(lambda e, m: m.trades[0]), trades_5m=col(lambda e, m: m.trades[1]),
        trades_1h=col(lambda e, m: m.trades[2]), best_bid=col(lambda e, m: m.best_bid),
        best_ask=col(lambda e, m: m.best_ask), missing=col(lambda e, m: m.missing),
    )


class FilterHarness:
    """`FilterHarness.configure(BigTrade, {"min_notional_usd": 1000})`."""

    def __init__(self, rule):
        self.rule = rule
        self.cols = rules.declared(rule)

    @staticmethod
    def configure(cls, params: dict) -> "FilterHarness":
        rules.export_filter(cls)
        return FilterHarness(rules.build("filter", json.dumps(params)))

    def evaluate(self, event: EventRecord, market: Optional[MarketRecord] = None):
        batch = batch_of([(event, market or MarketRecord())])
        return rules.evaluate_one(self.rule, Cols(batch, self.cols))

    def evaluate_batch(self, rows) -> List[Tuple[int, Pass]]:
        batch = batch_of([(e, m or MarketRecord()) for e, m in rows])
        return [(row, p) for _, row, p in rules.evaluate_batch(batch, [(self.rule, self.cols, None)])]


def configure(kind: str, cls, params: dict):
    """A configured cooldown policy or formatter (`kind`: "cooldown", "formatter")."""
    getattr(rules, f"export_{kind}")(cls)
    return rules.build(kind, json.dumps(params))


def alert(title: str = "Big trade", value: float = 1.0, key: str = "BTCUSDT",
          severity: Severity = Severity.INFO, template: str = "test") -> Alert:
    event = AlertEvent("binance:BTCUSDT:a:1", EventKind.TRADE, "binance-spot", key, 1.0, value,
                       value, Side.BUY, None, None, double.clock_ms, Direction.NONE, None)
    return Alert(template, key, severity, value, title, [], event)


def history(**kw) -> History:
    return History(**kw)
