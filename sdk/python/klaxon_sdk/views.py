"""Row views over the column batch, as in the Rust SDK's `Event`/`Market`:
accessor methods that read row `row` of one column, and raise
`ColumnNotDeclared` (naming the column) when the rule's `columns()` did not
declare it, on the single-event and the batch path alike."""

import math
from typing import Optional

from . import host
from .model import (
    MISSING_BEST_ASK, MISSING_BEST_BID, MISSING_LAST_PRICE, Columns, Direction,
    EventKind, Side, Window, missing_window,
)

# Batch attribute of each column (the names of `record event-batch`).
COLUMN_ATTRS = {
    Columns.KIND: "kinds", Columns.VENUE: "venue_ids", Columns.SYMBOL: "symbol_ids",
    Columns.ACCOUNT: "account_ids", Columns.PRICE: "prices", Columns.SIZE: "sizes",
    Columns.NOTIONAL_USD: "notional_usd", Columns.SIDE: "sides",
    Columns.DIRECTION: "directions", Columns.CLOSED_PNL: "closed_pnl",
    Columns.EXCHANGE_TIME: "exchange_time_ms", Columns.EVENT_ID: "event_ids",
    Columns.TX_HASH: "tx_hashes", Columns.LAST_PRICE: "last_price",
    Columns.CHANGE_1M: "change_1m", Columns.CHANGE_5M: "change_5m",
    Columns.CHANGE_1H: "change_1h", Columns.VOLUME_1M: "volume_1m",
    Columns.VOLUME_5M: "volume_5m", Columns.VOLUME_1H: "volume_1h",
    Columns.TRADES_1M: "trades_1m", Columns.TRADES_5M: "trades_5m",
    Columns.TRADES_1H: "trades_1h", Columns.BEST_BID: "best_bid",
    Columns.BEST_ASK: "best_ask", Columns.MISSING: "missing",
}
_CHANGE = (Columns.CHANGE_1M, Columns.CHANGE_5M, Columns.CHANGE_1H)
_VOLUME = (Columns.VOLUME_1M, Columns.VOLUME_5M, Columns.VOLUME_1H)
_TRADES = (Columns.TRADES_1M, Columns.TRADES_5M, Columns.TRADES_1H)


class ColumnNotDeclared(Exception):
    """A read of a column the rule's `columns()` does not declare."""


class Cols:
    """The columns one rule may read: `source` (a WIT `event-batch` or the
    same attributes as plain lists) narrowed to `declared`."""

    __slots__ = ("source", "declared")

    def __init__(self, source, declared: Columns):
        self.source = source
        self.declared = declared

    def get(self, column: Columns, row: int):
        if not self.declared & column:
            raise ColumnNotDeclared(
                f"klaxon-sdk: read of column `{column.wit_name()}`, which this rule's "
                f"columns() does not declare (add Columns.{column.name})"
            )
        return getattr(self.source, COLUMN_ATTRS[column])[row]


class Named:
    """An interned venue, symbol or account id; `name()` asks the host once."""

    __slots__ = ("_id",)

    def __init__(self, id_: int):
        self._id = id_

    def id(self) -> int:
        return self._id

    def is_some(self) -> bool:
        return self._id != 0

    def name(self) -> Optional[str]:
        return host.name(self._id)


class Event:
    """Row `row` of the batch, as an event."""

    __slots__ = ("_c", "_r")

    def __init__(self, cols: Cols, row: int):
        self._c, self._r = cols, row

    def row(self) -> int:
        return self._r

    def kind(self) -> EventKind:
        return EventKind(self._c.get(Columns.KIND, self._r))

    def venue(self) -> Named:
        return Named(self._c.get(Columns.VENUE, self._r))

    def symbol(self) -> Named:
        return Named(self._c.get(Columns.SYMBOL, self._r))

    def account(self) -> Named:
        return Named(self._c.get(Columns.ACCOUNT, self._r))

    def price(self) -> float:
        return self._c.get(Columns.PRICE, self._r)

    def size(self) -> float:
        return self._c.get(Columns.SIZE, self._r)

    def notional_usd(self) -> Optional[float]:
        v = self._c.get(Columns.NOTIONAL_USD, self._r)
        return None if math.isnan(v) else v

    def side(self) -> Side:
        return Side(self._c.get(Columns.SIDE, self._r))

    def direction(self) -> Direction:
        return Direction(self._c.get(Columns.DIRECTION, self._r))

    def closed_pnl(self) -> Optional[float]:
        v = self._c.get(Columns.CLOSED_PNL, self._r)
        return None if math.isnan(v) else v

    def exchange_time_ms(self) -> int:
        return self._c.get(Columns.EXCHANGE_TIME, self._r)

    def id(self) -> Optional[str]:
        return self._c.get(Columns.EVENT_ID, self._r) or None

    def tx_hash(self) -> Optional[str]:
        return self._c.get(Columns.TX_HASH, self._r) or None


class Market:
    """Row `row` of the batch, as the instrument's market context. A field
    the host could not fill reads as `None`."""

    __slots__ = ("_c", "_r")

    def __init__(self, cols: Cols, row: int):
        self._c, self._r = cols, row

    def missing(self) -> int:
        return self._c.get(Columns.MISSING, self._r)

    def _unless(self, bit: int, column: Columns):
        value = self._c.get(column, self._r)
        return None if self.missing() & bit else value

    def last_price(self) -> Optional[float]:
        return self._unless(MISSING_LAST_PRICE, Columns.LAST_PRICE)

    def change_pct(self, window: Window) -> Optional[float]:
        return self._unless(missing_window(window), _CHANGE[window.value])

    def volume_usd(self, window: Window) -> Optional[float]:
        return self._unless(missing_window(window), _VOLUME[window.value])

    def trades(self, window: Window) -> Optional[int]:
        return self._unless(missing_window(window), _TRADES[window.value])

    def best_bid(self) -> Optional[float]:
        return self._unless(MISSING_BEST_BID, Columns.BEST_BID)

    def best_ask(self) -> Optional[float]:
        return self._unless(MISSING_BEST_ASK, Columns.BEST_ASK)
