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

import argparse
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hpsim.errors import HpsimError
from hpsim.observe.output import read_results
from hpsim.observe.results import Results
from hpsim.observe.stats import interval


@dataclass
class Difference:
    metric: str
    a: float | None
    b: float | None
    diff: float | None
    half_width: float | None  # 95%, of the difference
    paired: bool


def _scalar_metrics(summary: dict[str, Any]) -> list[str]:
    """Headline metrics that are numbers (or intervals of numbers), maps flattened."""
    names = []
    for key, value in summary.items():
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


def differences(a: Results, b: Results) -> list[Difference]:
    """B - A for every metric both have; paired when both carry per-replication summaries."""
    sa, sb = a.summary(), b.summary()
    paired = (
        a.combined is None
        and b.combined is None
        and len(a.summaries) == len(b.summaries)
        and len(a.summaries) > 1
    )
    out = []
    for metric in _scalar_metrics(sa):
        va, vb = _num(_lookup(sa, metric)), _num(_lookup(sb, metric))
        if va is None and vb is None:
            continue
        diff = vb - va if va is not None and vb is not None else None
        half = None
        if diff is not None and paired:
            pairs = [
                (_num(_lookup(x, metric)), _num(_lookup(y, metric)))
                for x, y in zip(a.summaries, b.summaries, strict=True)
            ]
            deltas = [y - x for x, y in pairs if x is not None and y is not None]
            half = interval(deltas)["half_width"]  # type: ignore[assignment]
        elif diff is not None:
            ha, hb = _half(_lookup(sa, metric)), _half(_lookup(sb, metric))
            if ha is not None and hb is not None:
                half = math.hypot(ha, hb)
        out.append(Difference(metric, va, vb, diff, half, paired))
    return out


def _half(value: Any) -> float | None:
    return value.get("half_width") if isinstance(value, dict) else None


def _results(path: str, seed: int | None, replications: int | None) -> Results:
    from hpsim.experiment.run import run
    from hpsim.scenario.load import load

    p = Path(path)
    if p.is_dir():
        return read_results(p)
    if not p.exists():
        raise HpsimError(f"{path}: no such scenario file or results folder")
    return run(load(p), seed=seed, replications=replications)


def compare(
    a: str | Path, b: str | Path, *, seed: int | None = None, replications: int | None = None
) -> tuple[Results, Results, list[Difference]]:
    """Load or run A and B (scenarios on A's seed unless given) and their differences."""
    from hpsim.scenario.load import load

    if seed is None and not Path(a).is_dir() and Path(a).exists():
        seed = load(a).scenario.seed
    if replications is None and not Path(a).is_dir() and Path(a).exists():
        replications = load(a).scenario.replications
    ra = _results(str(a), seed, replications)
    rb = _results(str(b), seed, replications)
    return ra, rb, differences(ra, rb)


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if float(v).is_integer() and abs(v) < 1e15:
        return f"{v:,.0f}"
    return f"{v:,.1f}" if abs(v) >= 10 else f"{v:,.3g}"


def format_table(a: Results, b: Results, diffs: list[Difference]) -> str:
    head = ("metric", f"A: {a.scenario}", f"B: {b.scenario}", "B - A", "± 95%")
    rows = [
        (
            d.metric,
            _fmt(d.a),
            _fmt(d.b),
            _fmt(d.diff),
            _fmt(d.half_width) if d.half_width is not None else "",
        )
        for d in diffs
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        "  ".join(
            c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)
        ).rstrip()
        for r in [head, *rows]
    ]
    paired = any(d.paired for d in diffs)
    reps = int(a.meta.get("replications", 1))
    note = (
        f"paired over {reps} replications on common random numbers"
        if paired
        else "unpaired (results folders): sqrt(hA² + hB²)"
        if any(d.half_width for d in diffs)
        else "one replication each: no intervals"
    )
    return "\n".join([*lines, "", f"intervals: {note}"])


def compare_command(args: argparse.Namespace) -> int:
    a, b, diffs = compare(args.a, args.b, seed=args.seed, replications=args.replications)
    if args.output == "json":
        print(
            json.dumps(
                {
                    "a": {"scenario": a.scenario, "seed": a.seed},
                    "b": {"scenario": b.scenario, "seed": b.seed},
                    "metrics": [asdict(d) for d in diffs],
                },
                indent=2,
            )
        )
    else:
        print(format_table(a, b, diffs))
    return 0
