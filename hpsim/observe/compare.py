"""``hpsim compare A B``: two scenarios or two results folders, headline metrics side by side.

Given scenario files, both run with the same seed and replication count, so
replication i of A and of B draw the same random numbers (common random
numbers): the difference B - A is the scenarios' difference, not the dice's,
and its 95% interval is the paired t-interval over replications (Law, Simulation
Modeling and Analysis, §10.2.2). Given results folders, only their summaries
are at hand: the difference of the means with the unpaired interval
sqrt(hA² + hB²), which is wider.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hpsim.errors import excerpt
from hpsim.observe.results import Results
from hpsim.observe.stats import interval
from hpsim.words import INTERVAL_METHOD, unit_words, with_interval


@dataclass
class Difference:
    """A headline metric of A and B and B - A. A and B have their t half-widths and 95%
    intervals (low, high) over replications, the difference its t half-width (None: none)."""

    metric: str
    a: float | None
    b: float | None
    diff: float | None
    half_width: float | None  # 95%, of the difference
    paired: bool
    a_half_width: float | None = None
    b_half_width: float | None = None
    a_low: float | None = None
    a_high: float | None = None
    b_low: float | None = None
    b_high: float | None = None


def _scalar_metrics(summary: dict[str, Any]) -> list[str]:
    """Headline metrics that are numbers (or intervals of numbers), maps flattened."""
    names = []
    for key, value in summary.items():
        if isinstance(value, list):
            continue  # the warnings: sentences, not numbers
        if isinstance(value, dict) and not {"mean", "half_width", "n"} <= set(value):
            names += [f"{key}.{k}" for k in sorted(value)]
        else:
            names.append(key)
    return names


def _lookup(summary: dict[str, Any], metric: str) -> Any:
    if metric in summary:
        return summary[metric]
    key, _, sub = metric.partition(".")
    inner = summary.get(key)
    return inner.get(sub) if isinstance(inner, dict) else None


def _num(value: Any) -> float | None:
    if isinstance(value, dict):
        value = value.get("mean")
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


def pairable(a: Results, b: Results) -> bool:
    """Replication i of A and of B drew the same random numbers: same seed, same count, > 1.

    ``hpsim.run`` derives replication i's streams from the seed alone, so two
    runs (or two results folders that keep ``summaries.json``) with the same
    seed and replication count are on common random numbers.
    """
    n = len(a.summaries)
    return n > 1 and n == len(b.summaries) and a.seed == b.seed


def differences(a: Results, b: Results) -> list[Difference]:
    """B - A for every metric either has; paired over replications when :func:`pairable`.

    Paired, the interval is the t-interval of the per-replication differences
    (a metric missing in some replication falls back to unpaired); unpaired, it
    is sqrt(hA² + hB²) from the two summaries' half-widths.
    """
    sa, sb = a.summary(), b.summary()
    paired = pairable(a, b)
    out = []
    names = _scalar_metrics(sa)
    for metric in names + [m for m in _scalar_metrics(sb) if m not in set(names)]:
        va, vb = _num(_lookup(sa, metric)), _num(_lookup(sb, metric))
        if va is None and vb is None:
            continue
        ha, hb = _half(_lookup(sa, metric)), _half(_lookup(sb, metric))
        diff = vb - va if va is not None and vb is not None else None
        half = None
        is_paired = False
        if diff is not None and paired:
            pairs = [
                (_num(_lookup(x, metric)), _num(_lookup(y, metric)))
                for x, y in zip(a.summaries, b.summaries, strict=True)
            ]
            if all(x is not None and y is not None for x, y in pairs):
                d = interval([y - x for x, y in pairs])  # type: ignore[operator]
                diff, half, is_paired = d["mean"], d["half_width"], True
        if diff is not None and not is_paired and ha is not None and hb is not None:
            half = math.hypot(ha, hb)
        la, lb = _lookup(sa, metric), _lookup(sb, metric)
        out.append(
            Difference(
                metric,
                *(va, vb, diff, half, is_paired, ha, hb),
                *(_stat(la, "low"), _stat(la, "high"), _stat(lb, "low"), _stat(lb, "high")),
            )
        )
    return out


def _stat(value: Any, name: str) -> float | None:
    return value.get(name) if isinstance(value, dict) else None


def _half(value: Any) -> float | None:
    return _stat(value, "half_width")


def _side(metric: str, v: float | None, low: float | None, high: float | None, h: Any) -> str:
    """A or B over replications: '4.3 GiB (4.2 to 4.4 GiB)', its mean and 95% interval."""
    record = {"mean": v, "half_width": h, "n": 0, "low": low, "high": high}
    if low is None or high is None:
        del record["low"], record["high"]  # a summary.json from before the intervals
    return with_interval(record, unit_words(metric))


def format_table(a: Results, b: Results, diffs: list[Difference]) -> str:
    """The metrics side by side in readable units: A and B (with their 95% intervals over
    replications), B - A and the 95% half-width of the difference."""
    # A results folder's run.json is only a file: its scenario name is shown escaped.
    head = ("metric", f"A: {excerpt(a.scenario)}", f"B: {excerpt(b.scenario)}", "B - A", "± 95%")
    rows = []
    for d in diffs:
        words = unit_words(d.metric)
        rows.append(
            (
                d.metric,
                _side(d.metric, d.a, d.a_low, d.a_high, d.a_half_width),
                _side(d.metric, d.b, d.b_low, d.b_high, d.b_half_width),
                words(d.diff),
                words(d.half_width) if d.half_width is not None else "",
            )
        )
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        "  ".join(
            c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)
        ).rstrip()
        for r in [head, *rows]
    ]
    reps = len(a.summaries)
    if any(d.paired for d in diffs):
        note = (
            f"paired t-interval over {reps} replications on common random numbers (seed {a.seed})"
        )
    elif any(d.half_width for d in diffs):
        note = "unpaired: sqrt(hA² + hB²) from the two summaries"
    else:
        note = "one replication each: no intervals"
    sides = []
    if any(d.a_low is not None or d.b_low is not None for d in diffs):
        sides = [f"A, B: mean and 95% interval ({INTERVAL_METHOD})"]
    return "\n".join([*lines, "", *sides, f"intervals of B - A: {note}"])
