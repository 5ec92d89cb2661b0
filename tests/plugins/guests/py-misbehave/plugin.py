"""Broken on purpose, in Python: `loop-forever`, `alloc-forever` and `trap`
in one plugin, picked per template by `mode`. Events priced at most
`above_price` (default 10, so the host's smoke run at price 1 passes) are
rejected; above it, `evaluate` loops forever, allocates 1 MiB after 1 MiB
forever, or raises. Set `above_price = 0` to misbehave in the smoke run."""

from dataclasses import dataclass

from klaxon_sdk import Columns, Filter, Verdict, export_filter

MODES = ("loop", "alloc", "raise")


@dataclass
class Params:
    mode: str
    above_price: float = 10.0


class Misbehave(Filter):
    Params = Params

    def __init__(self, p: Params):
        if p.mode not in MODES:
            raise ValueError(f"mode: unknown variant `{p.mode}`, expected one of {MODES}")
        self.p = p

    def columns(self):
        return Columns.PRICE

    def evaluate(self, event, market):
        price = event.price()
        if price <= self.p.above_price:
            return Verdict.reject("below trigger price")
        if self.p.mode == "loop":
            while True:
                pass
        if self.p.mode == "alloc":
            hoard = []
            while True:
                hoard.append(bytearray(b"\xa5" * (1 << 20)))
        return self.fail(price)

    def fail(self, price):
        raise RuntimeError(f"py-misbehave: price {price} > {self.p.above_price}")


export_filter(Misbehave)
