"""The author-facing classes and the glue that serves them, free of the WIT
bindings so that `testing` runs the very same code offline.

As in Rust, one instance holds many rules (one per template): `create`
parses the params into the class's `Params` dataclass and builds the rule;
the batch path scopes host calls to each rule, then walks its rows into
`evaluate` through views narrowed to the rule's `columns()`."""

from typing import Any, Iterable, List, Optional, Tuple

from . import host
from .model import EVENT_COLUMNS, MARKET_COLUMNS, Columns, Pass, Reject
from .params import ParamsError, parse_params
from .views import Cols, Event, Market


class Filter:
    """Subclass with `Params` (a dataclass), `__init__(self, params)`,
    `columns(self) -> Columns` and `evaluate(self, event, market)`, which
    returns a `Pass` or `Verdict.reject(reason)`. Raise `ValueError` in
    `__init__` to reject the template; start the message with the field."""

    Params: Any = None

    def columns(self) -> Columns:
        raise NotImplementedError

    def evaluate(self, event: Event, market: Market):
        raise NotImplementedError


class CooldownPolicy:
    """`decide(self, alert, history)` returns `Decision.fire(sev)` or
    `Decision.suppress(reason)`."""

    Params: Any = None

    def decide(self, alert, history):
        raise NotImplementedError


class Formatter:
    """`format(self, alert) -> Message`; `format_digest` defaults to the
    bodies joined by blank lines under `N alerts` (as in Rust)."""

    Params: Any = None

    def format(self, alert):
        raise NotImplementedError

    def format_digest(self, alerts):
        from .model import Markup, Message
        markup, bodies = Markup.PLAIN, []
        for alert in alerts:
            message = self.format(alert)
            markup = message.markup
            bodies.append(message.body)
        return Message(f"{len(alerts)} alerts", "\n\n".join(bodies), markup)


# The one class each world serves, set by the `export_*` call.
exported = {}


def export_filter(cls):
    exported["filter"] = cls
    return cls


def export_cooldown(cls):
    exported["cooldown"] = cls
    return cls


def export_formatter(cls):
    exported["formatter"] = cls
    return cls


def registered(kind: str):
    if kind not in exported:
        raise RuntimeError(f"klaxon-sdk: no export_{kind}(...) call in the plugin module")
    return exported[kind]


def report_and_reraise(err: BaseException) -> None:
    """The Rust SDK's panic hook: the host's error names the message and the
    guest's own stack before the instance traps."""
    try:
        host.backend.report_panic(f"{type(err).__name__}: {err}\n{_traceback(err)}")
    finally:
        raise err


def _traceback(err: BaseException) -> str:
    """`Traceback (most recent call last):` and one `File …, line …, in …`
    per frame, innermost last, as Python prints it but without the source
    lines: `traceback` reads them from files (`os.stat`), and in a component
    built with `--stub-wasi` any file access traps, so the report itself
    would trap before reaching the host."""
    lines = ["Traceback (most recent call last):"]
    tb = err.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        lines.append(f'  File "{code.co_filename}", line {tb.tb_lineno}, in {code.co_name}')
        tb = tb.tb_next
    return "\n".join(lines)


def build(kind: str, params_json: str):
    """The configured value of the exported class, or `ParamsError` whose
    message names the field (the host rejects the template with it)."""
    cls = registered(kind)
    try:
        params = parse_params(cls.Params, params_json) if cls.Params is not None else None
        return cls(params) if cls.Params is not None else cls()
    except ParamsError:
        raise
    except ValueError as e:
        raise ParamsError(str(e)) from None


def declared(rule: Filter) -> Columns:
    """`columns()`, plus `missing` whenever a market column is read (the
    views need it to tell a missing field from a 0)."""
    cols = Columns(rule.columns())
    if cols & MARKET_COLUMNS:
        cols |= Columns.MISSING
    return cols


def evaluate_one(rule: Filter, cols: Cols, row: int = 0):
    """The single-event path: row `row`'s verdict (a `Pass` or `Reject`)."""
    verdict = rule.evaluate(Event(cols, row), Market(cols, row))
    if not isinstance(verdict, (Pass, Reject)):
        raise TypeError(f"evaluate returned {verdict!r}, expected a Pass or Verdict.reject(...)")
    return verdict


def evaluate_rows(rule: Filter, cols: Cols, rows: Iterable[int]) -> List[Tuple[int, Pass]]:
    """Passes of `rule` over `rows`, in row order."""
    out = []
    for row in rows:
        verdict = evaluate_one(rule, cols, row)
        if isinstance(verdict, Pass):
            out.append((row, verdict))
    return out


def evaluate_batch(batch, rules: List[Tuple[Filter, Columns, Optional[List[int]]]]):
    """`evaluate-batch`: `(rule index, row, pass)`, ordered by rule, then row."""
    out = []
    for index, (rule, cols, rows) in enumerate(rules):
        host.backend.scope(index)
        view = Cols(batch, cols)
        for row, passed in evaluate_rows(rule, view, range(batch.len) if rows is None else rows):
            out.append((index, row, passed))
    return out


__all__ = ["EVENT_COLUMNS", "Filter", "CooldownPolicy", "Formatter"]
