"""Stock `amount-threshold`'s single-event path (`min_notional_usd`) in
Python: the same params, verdicts, alert keys, titles and fields, so the
equivalence test can demand identical alerts."""

from dataclasses import dataclass, field
from typing import List

from klaxon_sdk import Columns, EventKind, Filter, Pass, Severity, Side, Verdict, export_filter
from klaxon_sdk.fmt import number, price, usd

NOUNS = {EventKind.SWAP: "swap", EventKind.PERP_FILL: "fill",
         EventKind.LIQUIDATION: "liquidation", EventKind.BOOK_TOP: "book update"}
SIDES = {Side.BUY: "buy", Side.SELL: "sell", Side.UNKNOWN: "trade"}


@dataclass
class Params:
    min_notional_usd: float
    kinds: List[EventKind] = field(
        default_factory=lambda: [EventKind.TRADE, EventKind.SWAP, EventKind.PERP_FILL,
                                 EventKind.LIQUIDATION])
    key_by: str = "symbol"
    severity: Severity = Severity.WARNING


class AmountThreshold(Filter):
    Params = Params

    def __init__(self, p: Params):
        if not p.min_notional_usd >= 0:
            raise ValueError(f"min_notional_usd: must be 0 or more, got {p.min_notional_usd}")
        if p.key_by not in ("symbol", "account"):
            raise ValueError(f"key_by: unknown variant `{p.key_by}`")
        self.p = p

    def columns(self):
        return (Columns.KIND | Columns.NOTIONAL_USD | Columns.SYMBOL | Columns.ACCOUNT
                | Columns.SIDE | Columns.PRICE | Columns.SIZE)

    def evaluate(self, event, market):
        kind = event.kind()
        if kind not in self.p.kinds:
            return Verdict.reject("kind not selected")
        notional = event.notional_usd()
        if notional is None:
            return Verdict.reject("no notional")
        if notional < self.p.min_notional_usd:
            return Verdict.reject("below threshold")
        symbol = event.symbol().name()
        account = event.account().name()
        key = symbol if self.p.key_by == "symbol" else account
        if key is None:
            return Verdict.reject("no account")
        noun = SIDES[event.side()] if kind == EventKind.TRADE else NOUNS[kind]
        passed = (Pass(key, f"{usd(notional)} {noun} on {symbol}", self.p.severity, notional)
                  .with_field("notional", usd(notional))
                  .with_field("price", price(event.price()))
                  .with_field("size", number(event.size())))
        if event.side() != Side.UNKNOWN:
            passed.with_field("side", event.side().as_str())
        if account is not None:
            passed.with_field("account", account)
        return passed


export_filter(AmountThreshold)
