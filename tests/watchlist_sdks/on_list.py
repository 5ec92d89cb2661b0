"""A filter on a watchlist, in Python: a listed account's event passes,
titled with the entry's value (or the account); others are rejected. The
same rule as `on_list.js` and stock `whale-fill`'s watchlist path."""

from dataclasses import dataclass

from klaxon_sdk import Columns, Filter, Pass, Severity, Verdict, export_filter, watchlist


@dataclass
class Params:
    watchlist: str


class OnList(Filter):
    Params = Params

    def __init__(self, p: Params):
        self.list = p.watchlist

    def columns(self):
        return Columns.ACCOUNT | Columns.SYMBOL

    def evaluate(self, event, market):
        id_ = event.account().id()
        if id_ == 0 or not watchlist.contains_id(self.list, id_):
            return Verdict.reject("not listed")
        account = event.account().name()
        label = watchlist.value_id(self.list, id_) or account
        if watchlist.value(self.list, account) != watchlist.value_id(self.list, id_):
            raise RuntimeError("by name and by id disagree")
        return Pass(account, f"{label} on {event.symbol().name()}", Severity.INFO, 1.0)


export_filter(OnList)
