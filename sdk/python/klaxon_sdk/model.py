"""The data model, as in the Rust SDK (`klaxon_sdk::{Columns, Event, Market, Pass, ...}`):
the same names and meaning, in Python spelling. Codes follow `wit/types.wit`."""

from dataclasses import dataclass, field as _field
from enum import Enum, IntFlag
from typing import List, Optional


class Columns(IntFlag):
    """What a filter rule reads (`columns()`); bits in `flags columns` order."""

    NONE = 0
    KIND = 1 << 0
    VENUE = 1 << 1
    SYMBOL = 1 << 2
    ACCOUNT = 1 << 3
    PRICE = 1 << 4
    SIZE = 1 << 5
    NOTIONAL_USD = 1 << 6
    SIDE = 1 << 7
    DIRECTION = 1 << 8
    CLOSED_PNL = 1 << 9
    EXCHANGE_TIME = 1 << 10
    EVENT_ID = 1 << 11
    TX_HASH = 1 << 12
    LAST_PRICE = 1 << 13
    CHANGE_1M = 1 << 14
    CHANGE_5M = 1 << 15
    CHANGE_1H = 1 << 16
    VOLUME_1M = 1 << 17
    VOLUME_5M = 1 << 18
    VOLUME_1H = 1 << 19
    TRADES_1M = 1 << 20
    TRADES_5M = 1 << 21
    TRADES_1H = 1 << 22
    BEST_BID = 1 << 23
    BEST_ASK = 1 << 24
    MISSING = 1 << 25

    def wit_name(self) -> str:
        """The column's WIT name (`notional-usd`), as errors show it."""
        return (self.name or "").lower().replace("_", "-")


EVENT_COLUMNS = Columns((1 << 13) - 1)
MARKET_COLUMNS = Columns(((1 << 26) - 1) & ~((1 << 13) - 1))


class EventKind(Enum):
    TRADE = 0
    SWAP = 1
    PERP_FILL = 2
    LIQUIDATION = 3
    BOOK_TOP = 4

    def as_str(self) -> str:
        return self.name.lower().replace("_", "-")


class Side(Enum):
    BUY = 0
    SELL = 1
    UNKNOWN = 2

    def as_str(self) -> str:
        return self.name.lower()


class Direction(Enum):
    NONE = 0
    OPEN_LONG = 1
    CLOSE_LONG = 2
    OPEN_SHORT = 3
    CLOSE_SHORT = 4


class Severity(Enum):
    """Params spell it `"info"`, `"warning"`, `"critical"`."""

    INFO = 0
    WARNING = 1
    CRITICAL = 2

    def as_str(self) -> str:
        return self.name.lower()

    def raised(self) -> "Severity":
        return Severity(min(self.value + 1, 2))


class Markup(Enum):
    PLAIN = 0
    MARKDOWN_V2 = 1
    MARKDOWN = 2
    HTML = 3


class Window(Enum):
    """The three rolling windows; the value indexes `change`/`volume`/`trades`."""

    M1 = 0
    M5 = 1
    H1 = 2


MISSING_LAST_PRICE, MISSING_BEST_BID, MISSING_BEST_ASK = 1, 16, 32


def missing_window(window: Window) -> int:
    return 2 << window.value


@dataclass
class Field:
    name: str
    value: str


@dataclass
class Pass:
    """A filter's yes. `value` is what cooldowns compare (notional, % move)."""

    alert_key: str
    title: str
    severity: Severity = Severity.INFO
    value: float = 0.0
    fields: List[Field] = _field(default_factory=list)

    def with_field(self, name: str, value: str) -> "Pass":
        self.fields.append(Field(name, str(value)))
        return self

    def field(self, name: str) -> Optional[str]:
        return next((f.value for f in self.fields if f.name == name), None)


@dataclass
class Reject:
    reason: str


class Verdict:
    """`Verdict.reject("why")` or a `Pass`; `evaluate` returns either."""

    @staticmethod
    def reject(reason: str) -> Reject:
        return Reject(reason)


@dataclass
class AlertEvent:
    id: str
    kind: EventKind
    venue: str
    symbol: str
    price: float
    size: float
    notional_usd: Optional[float]
    side: Side
    account: Optional[str]
    tx_hash: Optional[str]
    exchange_time_ms: int
    direction: Direction
    closed_pnl: Optional[float]


@dataclass
class Alert:
    template: str
    alert_key: str
    severity: Severity
    value: float
    title: str
    fields: List[Field]
    event: AlertEvent

    def field(self, name: str) -> Optional[str]:
        return next((f.value for f in self.fields if f.name == name), None)


@dataclass
class History:
    last_fired_ms: Optional[int] = None
    last_value: Optional[float] = None
    last_severity: Optional[Severity] = None
    fires: int = 0
    suppressed_since_fire: int = 0

    def since_last_fire_ms(self, now_ms: int) -> Optional[int]:
        return None if self.last_fired_ms is None else max(0, now_ms - self.last_fired_ms)


@dataclass
class Fire:
    severity: Severity


@dataclass
class Suppress:
    reason: str


class Decision:
    """`Decision.fire(severity)` or `Decision.suppress("cooldown 10m")`."""

    @staticmethod
    def fire(severity: Severity) -> Fire:
        return Fire(severity)

    @staticmethod
    def suppress(reason: str) -> Suppress:
        return Suppress(reason)


@dataclass
class Message:
    title: str
    body: str
    markup: Markup = Markup.PLAIN

    @staticmethod
    def plain(title: str, body: str) -> "Message":
        return Message(title, body, Markup.PLAIN)
