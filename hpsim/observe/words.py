"""Numbers in the words people read: GiB and MiB, s/min/h/days, counts with their noun.

One place for how a number is shown to a person (the report, warnings, compare);
tables and JSON keep raw units.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

GIB = 2**30
MIB = 2**20
DAY = 86400.0

Quote = Callable[[Any], str]  # how a scenario's or a record's string enters the text


# -- numbers in words --------------------------------------------------------------------------


def mean_of(value: Any) -> float | None:
    if isinstance(value, dict):
        value = value.get("mean")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def half_of(value: Any) -> float | None:
    return value.get("half_width") if isinstance(value, dict) else None


def duration_words(seconds: float | None) -> str:
    """120 -> '2.0 min'; 2_249_870 -> '26.0 days'; -7200 -> '-2.0 h'."""
    if seconds is None:
        return "-"
    size = abs(seconds)
    if size < 120:
        return f"{seconds:.1f} s"
    if size < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    if size < 2 * DAY:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / DAY:.1f} days"


def bytes_words(n: float | None) -> str:
    """2**30 -> '1.0 GiB'; 1_000 MiB and up in GiB (never '1024 MiB'); 5 * 2**20 -> '5 MiB'."""
    if n is None:
        return "-"
    if abs(n) >= 1000 * MIB:
        return f"{n / GIB:.1f} GiB"
    if abs(n) >= MIB:
        return f"{n / MIB:.0f} MiB"
    return f"{n:,.0f} B"


def number_words(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"


def with_interval(value: Any, words: Any = None) -> str:
    """'219.8 s' or '219.8 s ± 3.1 s' (95% half-width) in the metric's own words."""
    fmt = words or number_words
    mean = mean_of(value)
    if mean is None:
        return "-"
    text = fmt(mean)
    half = half_of(value)
    if half:
        text += f" ± {fmt(half)}"
    return text


def count_words(n: float, noun: str) -> str:
    """'1 allocation', '147 allocations', '0.4 allocations' (a mean over replications)."""
    text = f"{n:,.0f}" if n >= 10 or float(n).is_integer() else f"{n:,.1f}"
    return f"{text} {noun}" + ("" if text == "1" else "s")
