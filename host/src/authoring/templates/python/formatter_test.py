"""Offline tests: `pytest`. The SDK's host double stands in for Klaxon."""

from klaxon_sdk import Field
from klaxon_sdk.testing import alert, configure
from plugin import Plugin


def test_renders_title_fields_and_instrument():
    formatter = configure("formatter", Plugin, {"prefix": "[test] "})
    a = alert(title="Big trade")
    a.fields.append(Field("notional", "$86.0K"))
    message = formatter.format(a)
    assert message.title == "[test] Big trade"
    assert message.body.startswith("[INFO] [test] Big trade\nnotional: $86.0K\n")
