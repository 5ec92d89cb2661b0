"""The watchlist double under pytest: set, query, edit."""

import pytest

from klaxon_sdk import Reject, watchlist
from klaxon_sdk.testing import EventRecord, FilterHarness, set_watchlist
from plugin import OnList


def test_listed_accounts_pass_and_an_edit_applies_to_the_next_call():
    set_watchlist("whales", {"0xAAA": "fund A"})
    rule = FilterHarness.configure(OnList, {"watchlist": "whales"})
    listed = EventRecord(symbol="ETH", account="0xaaa")
    other = EventRecord(symbol="ETH", account="0xbbb")
    assert rule.evaluate(listed).title == "fund A on ETH"
    assert rule.evaluate(other) == Reject("not listed")
    set_watchlist("whales", ["0xbbb"])
    assert rule.evaluate(other).title == "0xbbb on ETH"
    assert [row for row, _ in rule.evaluate_batch([(listed, None), (other, None)])] == [1]


def test_an_unset_list_is_refused_as_the_host_refuses_an_undeclared_one():
    set_watchlist("whales", [])
    with pytest.raises(KeyError, match="watchlist `vip` is not declared"):
        watchlist.contains("vip", "0xaaa")
