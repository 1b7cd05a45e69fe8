"""Numbers as people read them: bytes in KiB/MiB/GiB, durations in s/min/h/days, CPU in
cores, fractions in per cent, with their units.

The one formatter of hpsim's human-facing output: ``hpsim run``'s summary, ``hpsim sweep``'s
table, ``hpsim compare``, the report, the catalogue, the loader's messages that quote
durations, and the notebooks.
Tables and JSON keep raw units (bytes, seconds, millicores); this module only writes text.

A metric's unit follows from its name, as the summary and the tables spell them:
``*_bytes_per_s*`` a data rate, ``*_bytes*`` bytes, ``*_millicores*`` CPU, ``*fraction*`` and
``*_share_*`` a share, ``*_s`` and ``*_s_*`` seconds, anything else a count. A map's entries
(``restarts_by_workload.app``) take the unit of the map.

Over replications a summary number is a record ``{mean, half_width, n, low, high}``
(:func:`hpsim.observe.stats.combine`): it reads as the mean and its 95% interval
``low`` to ``high``, with n when some replication had no value, and why
(:data:`NO_VALUE`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "INTERVAL_METHOD",
    "NO_VALUE",
    "Quote",
    "bytes_words",
    "cores_words",
    "count_words",
    "duration_words",
    "interval_words",
    "is_record",
    "mean_count_words",
    "mean_of",
    "metric_words",
    "missing_words",
    "noun_words",
    "percent_words",
    "range_words",
    "rate_words",
    "summary_lines",
    "unit_words",
    "with_interval",
]

Words = Callable[[float | None], str]
Quote = Callable[[Any], str]  # how a scenario's or a record's string enters a text

KIB = 2**10
MIB = 2**20
GIB = 2**30
TIB = 2**40
MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0

#: How the 95% interval of a mean over replications is computed, in one line (printed under
#: the summary and in the report; hpsim.observe.stats.bounds has the details).
INTERVAL_METHOD = (
    "bootstrap percentile interval of the mean, expanded for small samples, "
    "within the values the replications gave"
)

#: Why a summary number can have no value in a run (hpsim.observe.results.summarize leaves it
#: None then); keyed by the metric, or by the map for its entries.
NO_VALUE = {
    "fresh_node_all_running_s": (
        "no fresh-node start: a pod there at t = 0 never became ready, or none was there"
    ),
    "start_latency_s_p50": "no pod that became ready",
    "start_latency_s_p95": "no pod that became ready",
    "pending_s_mean": "no pod bound to the node",
    "pending_s_p95": "no pod bound to the node",
    "disk_full_s": "no full disk",
    "first_eviction_s": "no eviction",
    "disk_full_in_s_after_end": "no disk growth at the end",
    "restarts_by_workload": "no pod of this workload",
    "alloc_failures_by_workload": "no pod of this workload",
    "running_fraction_by_workload": "no pod of this workload",
    "host_writes_bytes_per_s_by_workload": "no host-path writes from this workload",
    "image_bytes_by_os_version": "no image on this Windows build",
}


def _digits(v: float) -> str:
    """One decimal, thousands separated: 28.8, 1,347.0; never '-0.0'."""
    text = f"{v:,.1f}"
    return "0.0" if text == "-0.0" else text


# From 1,000 of a unit on, the next: never "1,023 MiB". MiB are whole (574 MiB), the others
# carry one decimal (8.0 KiB, 28.8 GiB).
_BYTE_STEPS = (
    ("TiB", TIB, 1000 * GIB, 1),
    ("GiB", GIB, 1000 * MIB, 1),
    ("MiB", MIB, 1000 * KIB, 0),
    ("KiB", KIB, 1000, 1),
)
# Twice a unit before the next: 90 s stays seconds, 90 min minutes.
_TIME_STEPS = (("days", DAY, 2 * DAY), ("h", HOUR, 2 * HOUR), ("min", MINUTE, 2 * MINUTE))


def bytes_words(n: float | None) -> str:
    """512 -> '512 B'; 8192 -> '8.0 KiB'; 574 MiB -> '574 MiB'; 2**30 -> '1.0 GiB'."""
    if n is None:
        return "-"
    for name, size, start, decimals in _BYTE_STEPS:
        if abs(n) >= start:
            text = f"{n / size:,.{decimals}f}"
            return f"{'0' if text == '-0' else text} {name}"
    return f"{n:,.0f} B"


def duration_words(seconds: float | None) -> str:
    """21.8 -> '21.8 s'; 219.8 -> '3.7 min'; 7200 -> '2.0 h'; 2_249_870 -> '26.0 days'."""
    if seconds is None:
        return "-"
    for name, size, start in _TIME_STEPS:
        if abs(seconds) >= start:
            return f"{_digits(seconds / size)} {name}"
    return f"{_digits(seconds)} s"


def cores_words(millicores: float | None) -> str:
    """1348.4 -> '1.35 cores'; 250 -> '0.25 cores'; 1000 -> '1 core'; 8000 -> '8 cores'."""
    if millicores is None:
        return "-"
    text = f"{millicores / 1000:,.2f}".rstrip("0").rstrip(".")
    return f"{'0' if text == '-0' else text} core" + ("" if text == "1" else "s")


def percent_words(fraction: float | None) -> str:
    """0.96 -> '96.0%'; 0.9996 -> '100.0%' (a share of 1)."""
    if fraction is None:
        return "-"
    return f"{_digits(100 * fraction)}%"


def rate_words(bytes_per_s: float | None) -> str:
    """A data rate per second, day or hour, whichever reads as whole units:
    60 MiB/s -> '60.0 MiB/s'; 1 GiB/h -> '1.0 GiB/h'; 3 GiB/day -> '3.0 GiB/day'."""
    if bytes_per_s is None:
        return "-"
    if abs(bytes_per_s) >= MIB:
        return f"{bytes_words(bytes_per_s)}/s"
    if abs(bytes_per_s) * HOUR >= GIB:
        return f"{bytes_words(bytes_per_s * HOUR)}/h"
    return f"{bytes_words(bytes_per_s * DAY)}/day"


def count_words(n: float | None) -> str:
    """A count, or a mean of counts: 5 -> '5'; 1347 -> '1,347'; 10.67 -> '10.7'."""
    if n is None:
        return "-"
    if float(n).is_integer():
        return f"{n:,.0f}"
    return _digits(float(n))


def unit_words(metric: str) -> Words:
    """How a metric's numbers read, from its name (see the module's docstring)."""
    stem = metric.partition(".")[0]
    if "_bytes_per_s" in stem:
        return rate_words
    if "_bytes" in stem:
        return bytes_words
    if "_millicores" in stem:
        return cores_words
    if "fraction" in stem or "_share_" in stem:
        return percent_words
    if stem.endswith("_s") or "_s_" in stem:
        return duration_words
    return count_words


def range_words(words: Words, low: float, high: float) -> str:
    """'0.3 to 5.2 min' (one unit, written once) or '3.0 s to 8.6 min'; counts '37.0 to
    40.7', both with a decimal when either needs one."""
    if words is count_words and not (float(low).is_integer() and float(high).is_integer()):
        return f"{_digits(low)} to {_digits(high)}"
    lo, hi = words(low), words(high)
    lo_num, _, lo_unit = lo.partition(" ")
    hi_unit = hi.partition(" ")[2]
    if lo_unit and lo_unit == hi_unit:
        return f"{lo_num} to {hi}"
    return f"{lo} to {hi}"


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


def mean_of(value: Any) -> float | None:
    """A number, or a record's mean; None for no value (None, NaN)."""
    if isinstance(value, Mapping):
        value = value.get("mean")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def mean_count_words(n: float) -> str:
    """A count, or a mean of counts over replications: '1', '147', '0.4'."""
    return f"{n:,.0f}" if n >= 10 or float(n).is_integer() else f"{n:,.1f}"


def noun_words(n: float, noun: str) -> str:
    """'1 allocation', '147 allocations', '0.4 allocations' (a mean over replications)."""
    text = mean_count_words(n)
    return f"{text} {noun}" + ("" if text == "1" else "s")


def is_record(value: Any) -> bool:
    """A number over replications: ``{mean, half_width, n}`` (and ``low``, ``high`` since
    the bootstrap interval; a summary.json written before has none)."""
    return isinstance(value, Mapping) and {"mean", "half_width", "n"} <= set(value)


def with_interval(value: Any, words: Words = count_words) -> str:
    """A number, or a record as its mean and 95% interval: '219.8 s'; '3.8 min (3.0 s to
    8.6 min)'; '28.8 GiB' when every replication gave the same. A record without bounds (an
    older summary.json) reads 'mean ± half-width'."""
    if not is_record(value):
        number = _number(value)
        return "-" if number is None else words(number)
    mean = _number(value["mean"])
    if mean is None:
        return "-"
    text = words(mean)
    low, high = _number(value.get("low")), _number(value.get("high"))
    if low is not None and high is not None:
        # Not where it rounds to nothing: '28.8 GiB', not '28.8 GiB (28.8 to 28.8 GiB)'.
        if words(low) != words(high):
            text += f" ({range_words(words, low, high)})"
    elif _number(value.get("half_width")):
        text += f" ± {words(value['half_width'])}"
    return text


def missing_words(metric: str, missing: int, replications: int) -> str:
    """'1 of 30 replications had no fresh-node start: a pod there at t = 0 never became
    ready, or none was there': why ``missing`` replications gave a metric no value."""
    reason = NO_VALUE.get(metric) or NO_VALUE.get(metric.partition(".")[0]) or "no value"
    if missing == replications:
        every = "the run" if replications == 1 else f"each of {replications} replications"
        return f"{every} had {reason}"
    return f"{missing} of {replications} replications had {reason}"


def interval_words(metric: str, record: Mapping[str, Any], replications: int | None = None) -> str:
    """A record in the metric's units with its 95% interval and n, and why a replication has
    no value: '10.7 (95% interval 0 to 32, n=3)'; '3.8 min (all 29 the same; 1 of 30
    replications had no fresh-node start: ...)'."""
    words = unit_words(metric)
    n = int(record.get("n") or 0)
    reps = max(replications or n, n)
    mean = _number(record.get("mean"))
    if mean is None or n == 0:
        return f"- ({missing_words(metric, reps, reps)})"
    low, high = _number(record.get("low")), _number(record.get("high"))
    half = _number(record.get("half_width"))
    if n == 1:
        detail = "one replication"
    elif low is not None and high is not None:
        if low == high:
            detail = f"all {n} the same"
        elif words(low) == words(high):
            detail = f"95% interval rounds to {words(low)}, n={n}"
        else:
            detail = f"95% interval {range_words(words, low, high)}, n={n}"
    elif half is not None:
        detail = f"all {n} the same" if half == 0 else f"± {words(half)}, n={n}"
    else:
        detail = f"n={n}"
    if n < reps:
        detail += f"; {missing_words(metric, reps - n, reps)}"
    return f"{words(mean)} ({detail})"


def metric_words(metric: str, value: Any, replications: int | None = None) -> str:
    """Any summary number as text in its units: a plain number, a record over replications
    (:func:`interval_words`), or no value, with the reason ('- (the run had no eviction)')."""
    if is_record(value):
        return interval_words(metric, value, replications)
    number = _number(value)
    if number is None:
        return f"- ({missing_words(metric, 1, 1)})" if value is None else str(value)
    return unit_words(metric)(number)


def summary_lines(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(metric, text) for every number of a summary that is not a map, in its units.

    Replications are counted from the records (the largest n): a metric with a smaller n
    says how many replications had no value, and why.
    """
    records = [v for v in summary.values() if is_record(v)]
    reps = max((int(v.get("n") or 0) for v in records), default=None)
    return [
        (k, metric_words(k, v, reps))
        for k, v in summary.items()
        if not isinstance(v, Mapping | list) or is_record(v)  # a list: the warnings
    ]
