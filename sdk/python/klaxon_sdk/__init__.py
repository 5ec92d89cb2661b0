"""Write Klaxon plugins in Python (WIT package `klaxon:plugin@0.2.0`), with
the model of the Rust SDK: rules as classes built from typed params, a
`columns()` declaration enforced on every read, row-wise
`evaluate(event, market)` over the column batch, and the host API in
`klaxon_sdk.host` (watchlists in `klaxon_sdk.watchlist`). Build with `klaxon plugin build DIR`; test with pytest."""

API_VERSION = "0.2.0"

from . import fmt, host, watchlist  # noqa: E402
from .model import (  # noqa: E402
    Alert, AlertEvent, Columns, Decision, Direction, EventKind, Field, Fire, History, Markup,
    Message, Pass, Reject, Severity, Side, Suppress, Verdict, Window,
)
from .params import ParamsError, parse_params  # noqa: E402
from .rules import (  # noqa: E402
    CooldownPolicy, Filter, Formatter, export_cooldown, export_filter, export_formatter,
)
from .views import ColumnNotDeclared, Event, Market  # noqa: E402

__all__ = [
    "API_VERSION", "Alert", "AlertEvent", "ColumnNotDeclared", "Columns", "CooldownPolicy",
    "Decision", "Direction", "Event", "EventKind", "Field", "Filter", "Fire", "Formatter",
    "History", "Market", "Markup", "Message", "ParamsError", "Pass", "Reject", "Severity",
    "Side", "Suppress", "Verdict", "Window", "export_cooldown", "export_filter",
    "export_formatter", "fmt", "host", "parse_params", "watchlist",
]
