"""Offline tests: `pytest`. The SDK's host double stands in for Klaxon."""

from klaxon_sdk import Fire, Severity, Suppress
from klaxon_sdk.testing import alert, configure, double, history
from plugin import Plugin


def test_quiet_inside_the_window_then_fires_again():
    policy = configure("cooldown", Plugin, {"window_secs": 300})
    double.clock_ms = 1_000_000
    recent = history(last_fired_ms=1_000_000 - 60_000, fires=1)
    assert policy.decide(alert(), recent) == Suppress("quiet 300s")
    old = history(last_fired_ms=1_000_000 - 301_000, fires=1)
    assert policy.decide(alert(), old) == Fire(Severity.INFO)
