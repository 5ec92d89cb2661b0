"""Broken on purpose, in Python: reads a file in `evaluate`. The sandbox
test builds it with componentize-py *without* `--stub-wasi`, so the
component imports WASI (filesystem, sockets, clocks, …); the host links
none, so loading it must fail naming the imports."""

from dataclasses import dataclass

from klaxon_sdk import Columns, Filter, Pass, Verdict, export_filter


@dataclass
class Params:
    path: str = "/etc/hostname"


class WasiFs(Filter):
    Params = Params

    def __init__(self, p: Params):
        self.path = p.path

    def columns(self):
        return Columns.SYMBOL

    def evaluate(self, event, market):
        try:
            with open(self.path) as f:
                text = f.read()
        except OSError as e:
            return Verdict.reject(f"cannot read {self.path}: {e}")
        return Pass(event.symbol().name(), f"read {len(text)} bytes")


export_filter(WasiFs)
