"""Confidence intervals over replications: the interval people read, and the t half-width.

A headline number over replications is a record ``{mean, half_width, n, low, high}``:

- ``low`` to ``high`` is the 95% interval shown everywhere (:func:`bounds`): a bootstrap
  percentile interval of the mean, expanded for small samples. It adapts to skewed
  samples, where a few replications hold most of the value (restarts that happen in one
  run of three), and stays within the values the replications gave, so a count or a
  duration never gets an interval below 0.
- ``half_width`` is the half-width of the Student-t interval (:func:`interval`): a
  precision measure, what ``--until`` stops on (Law's sequential procedure is stated with
  it) and what ``hpsim compare`` combines for two unpaired summaries.
- ``n`` is how many replications gave the metric a value (a run without a full disk has
  no ``disk_full_s``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

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


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b), by its continued fraction
    (Press et al., *Numerical Recipes*, 3rd ed., §6.4, ``betacf`` with Lentz's method)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - _incomplete_beta(b, a, 1.0 - x)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for num in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return front * h / a


def t_cdf(t: float, df: int) -> float:
    """Student's t distribution function: 1 - I_x(df/2, 1/2) / 2 at x = df / (df + t^2)
    for t >= 0 (Abramowitz and Stegun 26.7.1 and 26.5.27), by symmetry below 0."""
    tail = 0.5 * _incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(confidence: float, df: int) -> float:
    """The two-sided ``confidence`` quantile of Student's t: t such that P(|T| <= t) is
    ``confidence`` (1 - (1 - confidence) / 2 of the distribution function). At 0.95 it is
    the table :func:`t975` (so every 95% interval hpsim prints agrees); otherwise the
    distribution function inverted by bisection, to 1e-10."""
    if df < 1:
        return math.nan
    if confidence == 0.95:
        return t975(df)
    p = 1.0 - (1.0 - confidence) / 2.0
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2.0
    while hi - lo > 1e-10 * max(1.0, hi):
        mid = (lo + hi) / 2.0
        lo, hi = (mid, hi) if t_cdf(mid, df) < p else (lo, mid)
    return (lo + hi) / 2.0


def _values(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and not math.isnan(float(v))]


def interval(
    values: Sequence[float | None], confidence: float = 0.95
) -> dict[str, float | int | None]:
    """Mean, t-interval half-width (95%, or ``confidence``) and n of a sample (None values
    dropped)."""
    xs = _values(values)
    n = len(xs)
    if n == 0:
        return {"mean": None, "half_width": None, "n": 0}
    mean = sum(xs) / n
    if n == 1:
        return {"mean": mean, "half_width": None, "n": 1}
    var = sum((x - mean) ** 2 for x in xs) / (n - 1)
    return {"mean": mean, "half_width": t_quantile(confidence, n - 1) * math.sqrt(var / n), "n": n}


# The bootstrap: this many resamples, from this seed (fixed: the same values give the same
# interval, so the same seed gives the same summary.json, byte for byte). Up to
# _EXACT_UP_TO values every one of the n**n resamples is taken instead (3,125 for 5).
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 20261201
_EXACT_UP_TO = 5
# Index matrices up to this many cells are kept for the next metric (n up to 400).
_CACHED_CELLS = 4_000_000


def _phi(z: float) -> float:
    """The standard normal distribution function."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def expanded_tail(n: int) -> float:
    """The tail probability the expanded percentile interval cuts off on each side.

    Hesterberg, "What Teachers Should Know About the Bootstrap: Resampling in the
    Undergraduate Statistics Curriculum" (The American Statistician 69(4), 2015;
    arXiv:1411.5279), the "expanded percentile interval"; the R package resample's
    ``ExpandProbs`` and ``CI.percentile(expand = TRUE)`` implement it. The plain percentile
    interval is too narrow in small samples: the bootstrap's spread is the sample's, short
    by sqrt((n-1)/n), and its quantiles are normal ones, not t. Expanded, it cuts off
    Phi(-sqrt(n/(n-1)) t_{0.975,n-1}) on each side instead of 2.5%: 6.8e-8 for n = 3 (the
    extreme resamples), 0.096% for 5, 1.9% for 30, and 2.5% as n grows.
    """
    return _phi(-math.sqrt(n / (n - 1)) * t975(n - 1))


@lru_cache(maxsize=4)
def _indices(n: int) -> np.ndarray:
    """Which values each resample takes: all n**n orderings when few, else drawn."""
    if n <= _EXACT_UP_TO:
        return np.array(list(itertools.product(range(n), repeat=n)), dtype=np.intp)
    return np.random.default_rng(BOOTSTRAP_SEED).integers(0, n, size=(BOOTSTRAP_RESAMPLES, n))


def _resample_means(xs: np.ndarray) -> np.ndarray:
    n = len(xs)
    if n <= _EXACT_UP_TO or n * BOOTSTRAP_RESAMPLES <= _CACHED_CELLS:
        return xs[_indices(n)].mean(axis=1)
    # Many replications: the same draws, a block of resamples at a time.
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    rows = max(1, _CACHED_CELLS // n)
    parts = []
    for start in range(0, BOOTSTRAP_RESAMPLES, rows):
        k = min(rows, BOOTSTRAP_RESAMPLES - start)
        parts.append(xs[rng.integers(0, n, size=(k, n))].mean(axis=1))
    return np.concatenate(parts)


def bounds(values: Sequence[float | None]) -> tuple[float | None, float | None]:
    """The 95% interval of the mean, (low, high): the expanded bootstrap percentile interval.

    Resample the n values with replacement, take each resample's mean, and cut
    :func:`expanded_tail` off each end of those means (the smallest mean whose share of
    resamples at or below it reaches the tail, numpy's ``inverted_cdf``). The interval
    lies within the smallest and largest value, so it never leaves a metric's range.
    None for fewer than two values; (x, x) when every value is x.

    By hand, values [0, 0, 32] (restarts in one replication of three): the 27 resamples
    give a mean of 0 (no 32 drawn) 8 times, 32/3 12 times, 64/3 6 times and 32 once. The
    tail for n = 3 is Phi(-sqrt(3/2) * 4.303) = 6.8e-8, so the interval runs from the
    smallest mean, 0, to the largest, 32: (0, 32), where the t-interval is 10.7 ± 45.9,
    -35.2 to 56.6.
    """
    xs = _values(values)
    if len(xs) < 2:
        return None, None
    lo, hi = min(xs), max(xs)
    if lo == hi:
        return lo, hi
    tail = expanded_tail(len(xs))
    # Sorted: the interval depends on the values, not on the order the replications came in.
    means = _resample_means(np.sort(np.asarray(xs, dtype=float)))
    q = np.quantile(means, [tail, 1.0 - tail], method="inverted_cdf")
    # The means lie within [lo, hi]; clip what float rounding might put a hair outside.
    return max(lo, float(q[0])), min(hi, float(q[1]))


def record(values: Sequence[float | None]) -> dict[str, float | int | None]:
    """A headline number over replications: mean, t half-width, n, and the 95% interval."""
    low, high = bounds(values)
    return {**interval(values), "low": low, "high": high}


def combine(summaries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per-metric records (:func:`record`) over the replications' summaries."""
    out: dict[str, Any] = {}
    for key in summaries[0]:
        # Values are Any: every replication's summary has the shape of the first.
        vals: list[Any] = [s.get(key) for s in summaries]
        if isinstance(vals[0], dict):
            names = sorted({k for v in vals for k in v})
            out[key] = {k: record([v.get(k) for v in vals]) for k in names}
        elif all(v is None or isinstance(v, int | float) for v in vals):
            out[key] = record(vals)
        else:
            out[key] = vals[0]
    return out
