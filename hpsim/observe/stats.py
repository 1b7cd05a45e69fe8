"""Confidence intervals over replications (Student's t, two-sided 95%)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

# t_{0.975, df} for df = 1..30 (standard tables, e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2).
_T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)
_T975_TAIL = ((40, 2.021), (60, 2.000), (120, 1.980))


def t975(df: int) -> float:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        return math.nan
    if df <= 30:
        return _T975[df - 1]
    prev_df, prev_t = 30, _T975[-1]
    for d, t in _T975_TAIL:
        if df <= d:
            # Linear in 1/df, as table interpolation is usually done.
            w = (1 / prev_df - 1 / df) / (1 / prev_df - 1 / d)
            return prev_t + w * (t - prev_t)
        prev_df, prev_t = d, t
    return 1.960 + (prev_t - 1.960) * (120 / df)


def interval(values: Sequence[float | None]) -> dict[str, float | int | None]:
    """Mean, 95% t-interval half-width and n of a sample (None values dropped)."""
    xs = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    n = len(xs)
    if n == 0:
        return {"mean": None, "half_width": None, "n": 0}
    mean = sum(xs) / n
    if n == 1:
        return {"mean": mean, "half_width": None, "n": 1}
    var = sum((x - mean) ** 2 for x in xs) / (n - 1)
    return {"mean": mean, "half_width": t975(n - 1) * math.sqrt(var / n), "n": n}


def combine(summaries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per-metric intervals over the replications' summaries."""
    out: dict[str, Any] = {}
    for key in summaries[0]:
        # Values are Any: every replication's summary has the shape of the first.
        vals: list[Any] = [s.get(key) for s in summaries]
        if isinstance(vals[0], dict):
            names = sorted({k for v in vals for k in v})
            out[key] = {k: interval([v.get(k) for v in vals]) for k in names}
        elif all(v is None or isinstance(v, int | float) for v in vals):
            out[key] = interval(vals)
        else:
            out[key] = vals[0]
    return out
