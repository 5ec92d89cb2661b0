"""`{{name}}`: a filter. One trade whose USD notional reaches
`min_notional_usd` raises an alert keyed by its symbol."""

from dataclasses import dataclass

from klaxon_sdk import Columns, EventKind, Filter, Pass, Severity, Side, Verdict, export_filter
from klaxon_sdk.fmt import price, usd


@dataclass
class Params:
    """Params, as written in the template. A typo is an error naming the field."""

    min_notional_usd: float  # smallest trade worth an alert, in USD
    severity: Severity = Severity.WARNING


class Plugin(Filter):
    Params = Params

    def __init__(self, p: Params):
        if not p.min_notional_usd >= 0:
            raise ValueError(f"min_notional_usd: must be 0 or more, got {p.min_notional_usd}")
        self.min = p.min_notional_usd
        self.severity = p.severity

    def columns(self):
        """Exactly what `evaluate` reads; the host sends nothing else."""
        return Columns.KIND | Columns.NOTIONAL_USD | Columns.SYMBOL | Columns.SIDE | Columns.PRICE

    def evaluate(self, event, market):
        if event.kind() != EventKind.TRADE:
            return Verdict.reject("not a trade")
        notional = event.notional_usd()
        if notional is None:
            return Verdict.reject("no notional")
        if notional < self.min:
            return Verdict.reject("below threshold")
        symbol = event.symbol().name()
        side = {Side.BUY: "buy", Side.SELL: "sell"}.get(event.side(), "trade")
        return (
            Pass(symbol, f"{usd(notional)} {side} on {symbol}", self.severity, notional)
            .with_field("notional", usd(notional))
            .with_field("price", price(event.price()))
        )


export_filter(Plugin)
