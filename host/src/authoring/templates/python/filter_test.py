"""Offline tests: `pytest`. The SDK's host double stands in for Klaxon."""

import pytest

from klaxon_sdk import ParamsError, Reject, Side
from klaxon_sdk.testing import EventRecord, FilterHarness
from plugin import Plugin


def test_a_big_buy_passes_and_a_small_one_does_not():
    rule = FilterHarness.configure(Plugin, {"min_notional_usd": 50000})
    big = EventRecord.trade("BTCUSDT", 57310.0, 1.5)
    big.side = Side.BUY
    assert rule.evaluate(big).title == "$86.0K buy on BTCUSDT"
    small = EventRecord.trade("BTCUSDT", 57300.0, 0.2)
    assert rule.evaluate(small) == Reject("below threshold")
    # The batch path gives the same passes as the single-event path.
    assert [row for row, _ in rule.evaluate_batch([(big, None), (small, None)])] == [0]


def test_a_misspelt_param_is_named():
    with pytest.raises(ParamsError, match="^min_notinal_usd: unknown field"):
        FilterHarness.configure(Plugin, {"min_notinal_usd": 1})
