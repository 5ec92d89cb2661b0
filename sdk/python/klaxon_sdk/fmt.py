"""Number formatting identical to the Rust SDK's `klaxon_sdk::fmt`, so that
equivalent plugins in the three languages render the same alerts."""

import math
from decimal import Decimal


def _fixed(value: float, decimals: int) -> str:
    factor = 10 ** decimals
    scaled = _round_half_away(value * factor)
    if math.isnan(scaled) or scaled >= 1e18:
        return f"{value:.{decimals}f}"
    scaled = int(scaled)
    whole = str(scaled // factor)
    return whole + (f".{scaled % factor:0{decimals}d}" if decimals else "")


def _round_half_away(x: float) -> float:
    # Rust's f64::round rounds half away from zero; Python's round() is banker's.
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def usd(value: float) -> str:
    """`$1.23M`, `$950K`, `$12`."""
    if not math.isfinite(value):
        return "$?"
    out = ("-" if value < 0 else "") + "$"
    v = abs(value)
    units = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")]
    for i, (size, unit) in enumerate(units):
        scaled = v / size
        if scaled >= 0.9995 or (i == len(units) - 1 and v >= 999.5):
            decimals = 0 if scaled >= 99.95 else 1 if scaled >= 9.995 else 2
            return out + _fixed(scaled, decimals) + unit
    return out + _fixed(v, 0 if v >= 1.0 or v == 0.0 else 2)


def pct(value: float) -> str:
    return ("-" if value < 0 else "+") + _fixed(abs(value), 2) + "%"


def price(value: float) -> str:
    v = abs(value)
    if v >= 1000.0:
        decimals = 2
    elif v >= 1.0:
        decimals = 4
    elif v == 0.0:
        decimals = 0
    else:
        decimals = min(max(4 - math.floor(math.log10(v)) - 1, 4), 12)
    out = ("-" if value < 0 else "") + _fixed(v, decimals)
    if "." in out:
        out = out.rstrip("0").rstrip(".")
    return out


def number(value: float) -> str:
    """Rust's `{}` for an f64: shortest round-trip digits, never an exponent."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = format(Decimal(repr(value)), "f")
    return text[:-2] if text.endswith(".0") else text
