"""The sweep report: ``hpsim report SWEEP_DIR`` writes ``report.html`` and ``report.md`` there.

Read from the sweep folder's own files (``sweep.json``, ``summary``, ``runs``, the
combined ``events`` and ``series`` tables, each point's ``run.json``), never from a
model. Contents, in order:

1. the sweep: scenario, factors, points, replications, seed;
2. with an objective (``--objective "pending_s_p95<=300"``): each point's value and
   verdict, and the cheapest point that meets it;
3. what binds first at each point, with each resource's peak use against its limit;
4. each headline metric against each factor: a figure (mean and 95% interval, a line
   per combination of the other factors) and a table;
5. the runs that failed.

**What binds first.** In each run, the first instant each resource stopped the node:

- CPU, memory, pods: the first ``FailedScheduling`` naming ``Insufficient cpu``,
  ``Insufficient memory`` or ``Too many pods``; memory also when a pod is refused for
  the memory-pressure taint, evicted for memory, or refused an allocation by the
  node's commit limit;
- disk: the first ``NodeHasDiskPressure``, ``DiskFull``, eviction for
  ephemeral-storage or pod refused for the disk-pressure taint.

The earliest of them binds the run; a point's answer is the resource that bound most
of its runs. Where nothing bound, the resource closest to its limit is named: peak CPU
and memory requests against allocatable, peak commit against the commit limit, peak
pods bound against max pods, the volume's peak against where eviction starts (its size
where kubelet does not evict).

**Cheapest.** The smallest node: its CPUs times its memory in GiB (each point's
``run.json``; one node per run today), then the smaller disk, then the grid's order.
A point meets an objective when its whole 95% interval does (for ``<=``, mean plus
half-width at most the bound); with one replication, its mean.

Every string from the scenario or the command line (its name, factor paths and
values, workload names in metric names, error messages) is text: ``md_literal`` in
the Markdown, ``html.escape`` in the HTML, as in the single-run report.
"""

from __future__ import annotations

import base64
import datetime as dt
import difflib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from hpsim import atomic
from hpsim.errors import HpsimError, excerpt
from hpsim.observe.figstyle import LITERAL, figure_png
from hpsim.observe.report import _CSS, _esc, md_literal
from hpsim.words import bytes_words, duration_words, unit_words, with_interval

GIB = 2**30
SWEEP_FILE = "sweep.json"

# The headline metrics, as the single-run report words them: (key, title, kind).
HEADLINE: tuple[tuple[str, str, str], ...] = (
    ("pending_s_p95", "Pending (created to bound, or to deletion or the end), p95", "duration"),
    ("pending_s_mean", "Pending (created to bound, or to deletion or the end), mean", "duration"),
    ("pods_pending_at_end", "Pods still Pending at the end", "count"),
    ("start_latency_s_p50", "Start latency (created to ready), p50", "duration"),
    ("start_latency_s_p95", "Start latency (created to ready), p95", "duration"),
    ("fresh_node_all_running_s", "Fresh node: time until every initial pod runs", "duration"),
    ("pods_per_node_max", "Most pods bound to the node at once", "count"),
    ("cpu_allocated_millicores_mean", "CPU in use, time-weighted mean", "cores"),
    ("memory_committed_bytes_peak", "Committed memory, peak", "bytes"),
    ("restarts_total", "Restarts", "count"),
    ("alloc_failures_total", "Allocations refused by job objects", "count"),
    ("disk_actual_bytes_peak", "Disk: peak on the volume", "bytes"),
    ("disk_gap_bytes_end", "Disk the kubelet does not see, at the end", "bytes"),
    ("disk_full_s", "Time to a full disk", "duration"),
    ("first_eviction_s", "Time to the first eviction", "duration"),
    ("evictions", "Evictions", "count"),
    ("image_gc_failures", "Image GC that could not free enough (FreeDiskSpaceFailed)", "count"),
)
_TITLES = {k: t for k, t, _ in HEADLINE}
_KINDS = {k: kind for k, _, kind in HEADLINE}
RESOURCES = ("cpu", "memory", "pods", "disk")
RESOURCE_WORDS = {"cpu": "CPU", "memory": "memory", "pods": "pods", "disk": "disk"}


# -- the objective ------------------------------------------------------------------------------

_OBJECTIVE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*(<=|>=|<|>)\s*(\S+)\s*")
#: An objective's comparisons (hpsim sweep's report, hpsim size).
OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
}


@dataclass(frozen=True)
class Objective:
    """``metric op value``: what a point must achieve, e.g. ``pending_s_p95 <= 300``."""

    metric: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"

    def verdict(self, mean: float | None, half: float | None) -> str:
        """ "meets" (the whole 95% interval does; with no interval, the mean), "may meet"
        (the mean does, the interval crosses the bound), "fails", or "no value"."""
        if mean is None or not math.isfinite(mean):
            return "no value"
        test = OPS[self.op]
        if not test(mean, self.value):
            return "fails"
        h = half if half is not None and math.isfinite(half) else 0.0
        # The interval's end on the wrong side: the upper end for <, <=; the lower for >, >=.
        edge = mean + h if self.op in ("<", "<=") else mean - h
        return "meets" if test(edge, self.value) else "may meet"


def split_objective(text: str) -> tuple[str, str, str]:
    """``"pending_s_p95<=300"`` -> (metric, op, bound as written); bad input is an
    :class:`HpsimError` naming ``--objective``."""
    m = _OBJECTIVE.fullmatch(text)
    if m is None:
        raise HpsimError(
            f'expected METRIC<=NUMBER (or <, >=, >), e.g. "pending_s_p95<=300"; '
            f'got "{excerpt(text)}"',
            field="--objective",
        )
    metric, op, number = m.groups()
    return metric, op, number


def parse_objective(text: str) -> Objective:
    """``"pending_s_p95<=300"``: a metric, one of ``<=``, ``<``, ``>=``, ``>``, a number.

    The metric is checked against the sweep's summary when the report is written
    (:func:`check_metric`). Bad input is an :class:`HpsimError` naming ``--objective``.
    """
    metric, op, number = split_objective(text)
    try:
        value = float(number)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise HpsimError(
            f'"{excerpt(number)}" is not a number (the bound of {excerpt(metric)} {op} ...)',
            field="--objective",
        )
    return Objective(metric, op, value)


def check_metric(objective: Objective, sweep: Sweep) -> None:
    """Refuse an objective on a metric the sweep's summary does not hold."""
    metrics = sweep.metrics
    if objective.metric in metrics:
        return
    near = difflib.get_close_matches(objective.metric, metrics, 1, 0.6)
    hint = f' (did you mean "{excerpt(near[0])}"?)' if near else ""
    shown = ", ".join(k for k, _, _ in HEADLINE if k in metrics)
    raise HpsimError(
        f'unknown metric "{excerpt(objective.metric)}"{hint}; headline metrics: {shown} '
        "(or any column of the sweep's summary table, without _mean)",
        field="--objective",
    )


# -- the sweep folder ---------------------------------------------------------------------------


def is_sweep(folder: str | Path) -> bool:
    return (Path(folder) / SWEEP_FILE).is_file()


@dataclass
class Sweep:
    """What a sweep folder holds, as the report reads it."""

    folder: Path
    info: dict[str, Any]
    summary: pd.DataFrame
    runs: pd.DataFrame
    failed: pd.DataFrame
    nodes: dict[str, dict[str, Any]]  # point -> its node facts (run.json)
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def factors(self) -> dict[str, list[Any]]:
        return dict(self.info.get("factors") or {})

    @property
    def fmt(self) -> str:
        return "csv" if self.info.get("format") == "csv" else "parquet"

    @property
    def metrics(self) -> list[str]:
        return [c[: -len("_mean")] for c in self.summary.columns if c.endswith("_mean")]

    def mean(self, point: str, metric: str) -> tuple[float | None, float | None]:
        row = self.summary[self.summary["point"] == point]
        if row.empty or f"{metric}_mean" not in row:
            return None, None
        return _num(row.iloc[0][f"{metric}_mean"]), _num(row.iloc[0].get(f"{metric}_half_width"))

    def table(
        self, name: str, columns: list[str], reasons: tuple[str, ...] | None = None
    ) -> pd.DataFrame:
        """One of the combined tables, only ``columns`` (empty if the folder has none);
        with ``reasons``, only the rows whose ``reason`` is one of them."""
        path = self.folder / f"{name}.{self.fmt}"
        if not path.is_file():
            return pd.DataFrame(columns=columns)
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            have = set(pq.read_schema(path).names)
            # Filtered as it is read: a long sweep's events run to millions of rows.
            where = [("reason", "in", list(reasons))] if reasons and "reason" in have else None
            return pd.read_parquet(path, columns=[c for c in columns if c in have], filters=where)
        table = pd.read_csv(path, usecols=lambda c: c in columns)
        return table[table["reason"].isin(reasons)] if reasons and "reason" in table else table


def _num(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def read_sweep(folder: str | Path) -> Sweep:
    """A finished sweep folder; an unfinished or unreadable one is an HpsimError."""
    folder = Path(folder)
    try:
        info = json.loads((folder / SWEEP_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise HpsimError(f"unreadable sweep record: {exc}", file=str(folder / SWEEP_FILE)) from None
    if not isinstance(info, dict):
        raise HpsimError("unreadable sweep record", file=str(folder / SWEEP_FILE))
    fmt = "csv" if info.get("format") == "csv" else "parquet"

    def read(name: str) -> pd.DataFrame:
        path = folder / f"{name}.{fmt}"
        return pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path)

    if not (folder / f"summary.{fmt}").is_file():
        raise HpsimError(
            f"not a finished sweep (no summary.{fmt}): run the same hpsim sweep command "
            "again to finish it",
            file=str(folder),
        )
    try:
        summary = read("summary")
        runs = read("runs") if (folder / f"runs.{fmt}").is_file() else pd.DataFrame()
        failed = read("failed") if (folder / f"failed.{fmt}").is_file() else pd.DataFrame()
    except (OSError, ValueError) as exc:
        raise HpsimError(f"unreadable sweep tables: {exc}", file=str(folder)) from None
    summary["point"] = summary["point"].astype(str)
    nodes: dict[str, dict[str, Any]] = {}
    versions: dict[str, str] = {}
    for p in info.get("points") or []:
        pid = str(p.get("id"))
        for run in sorted((folder / "points" / pid).glob("rep-*/run.json")):
            try:
                run_info = json.loads(run.read_text())
            except (OSError, ValueError):
                continue
            nodes[pid] = run_info.get("node") or {}
            versions = versions or run_info.get("versions") or {}
            break
    return Sweep(folder, info, summary, runs, failed, nodes, versions)


# -- what binds first ---------------------------------------------------------------------------

_SIGNALS = ("FailedScheduling", "Evicted", "Failed", "NodeHasDiskPressure", "DiskFull")


def _bound(reason: str, message: str) -> list[str]:
    """The resources an event says stopped the node."""
    text = str(message)
    if reason == "FailedScheduling":
        out = [r for r in ("cpu", "memory") if f"Insufficient {r}" in text]
        out += ["pods"] if "Too many pods" in text else []
        out += ["memory"] if "memory-pressure" in text and "memory" not in out else []
        out += ["disk"] if "disk-pressure" in text else []
        return out
    if reason == "Evicted":
        if "ephemeral-storage" in text:
            return ["disk"]
        return ["memory"] if "resource: memory" in text else []
    if reason == "Failed":
        return ["memory"] if "by the node commit limit" in text else []
    return ["disk"]  # NodeHasDiskPressure, DiskFull


def binding(sweep: Sweep) -> pd.DataFrame:
    """Per point: the resource that bound first (and in how many runs), when it first
    bound (mean over those runs), and each resource's peak use against its limit."""
    columns = ["point", "replication", "time_s", "reason", "message"]
    events = sweep.table("events", columns, _SIGNALS)
    first: dict[tuple[str, int], dict[str, float]] = {}
    for point, rep, t, reason, message in zip(
        events.get("point", []),
        events.get("replication", []),
        events.get("time_s", []),
        events.get("reason", []),
        events.get("message", []),
        strict=True,
    ):
        seen = first.setdefault((str(point), int(rep)), {})
        for r in _bound(str(reason), str(message)):
            seen[r] = min(seen.get(r, math.inf), float(t))
    use = _peak_use(sweep)
    rows = []
    runs = sweep.runs
    for point in sweep.summary["point"]:
        reps = (
            sorted(int(r) for r in runs.loc[runs["point"].astype(str) == point, "replication"])
            if not runs.empty
            else []
        )
        winners: list[tuple[str, float]] = []
        for rep in reps:
            seen = first.get((point, rep), {})
            if seen:
                t = min(seen.values())
                who = " and ".join(r for r in RESOURCES if seen.get(r) == t)
                winners.append((who, t))
        row: dict[str, Any] = {"point": point, "runs": len(reps)}
        if winners:
            counts: dict[str, int] = {}
            for who, _ in winners:
                counts[who] = counts.get(who, 0) + 1
            best = max(counts, key=lambda w: (counts[w], -min(t for x, t in winners if x == w)))
            row.update(
                binds=best,
                bound_runs=counts[best],
                first_s=float(np.mean([t for x, t in winners if x == best])),
            )
        else:
            row.update(binds=None, bound_runs=0, first_s=None)
        row.update({f"use_{k}": v for k, v in use.get(point, {}).items()})
        rows.append(row)
    return pd.DataFrame(rows)


USE_WORDS = {
    "cpu": "CPU requests / allocatable",
    "memory": "memory requests / allocatable",
    "commit": "commit / commit limit",
    "pods": "pods bound / max pods",
    "disk": "volume / eviction level",
}


def _peak_use(sweep: Sweep) -> dict[str, dict[str, float]]:
    """Per point: each resource's peak use as a fraction of its limit (mean over runs)."""
    cols = ["point", "replication", "requests_cpu_millicores", "requests_memory_bytes"]
    cols += ["pods_bound", "disk_actual_bytes"]
    series = sweep.table("series", cols)
    out: dict[str, dict[str, float]] = {}
    peaks = (
        series.groupby(["point", "replication"]).max().groupby("point").mean()
        if not series.empty and set(cols) <= set(series.columns)
        else pd.DataFrame()
    )
    runs = sweep.runs
    commit = (
        runs.groupby(runs["point"].astype(str))["memory_committed_bytes_peak"].mean()
        if not runs.empty and "memory_committed_bytes_peak" in runs
        else pd.Series(dtype=float)
    )
    for point, node in sweep.nodes.items():
        use: dict[str, float] = {}
        if point in peaks.index:
            p = peaks.loc[point]
            disk = float(node.get("disk_bytes") or 0)
            if node.get("eviction_enforced") and node.get("eviction_nodefs_bytes"):
                disk -= float(node["eviction_nodefs_bytes"])
            for key, value, limit in (
                ("cpu", p["requests_cpu_millicores"], node.get("allocatable_cpu_millicores")),
                ("memory", p["requests_memory_bytes"], node.get("allocatable_memory_bytes")),
                ("pods", p["pods_bound"], node.get("max_pods")),
                ("disk", p["disk_actual_bytes"], disk),
            ):
                if limit:
                    use[key] = float(value) / float(limit)
        if point in commit.index and node.get("commit_limit_bytes"):
            use["commit"] = float(commit[point]) / float(node["commit_limit_bytes"])
        out[point] = use
    return out


def binding_words(row: Any) -> str:
    """'CPU (3 of 3 runs, first after 4.2 h)' or 'none (closest: memory requests 62%)'."""
    if isinstance(row.get("binds"), str) and row["binds"]:
        who = " and ".join(RESOURCE_WORDS[r] for r in row["binds"].split(" and "))
        return (
            f"{who} ({row['bound_runs']} of {row['runs']} runs, first after "
            f"{duration_words(row['first_s'])})"
        )
    use = {k: row.get(f"use_{k}") for k in USE_WORDS}
    known = {k: v for k, v in use.items() if v is not None and not pd.isna(v)}
    if not known:
        return "none"
    k = max(known, key=lambda x: known[x])
    return f"none (closest: {USE_WORDS[k]} at {100 * known[k]:.0f}%)"


# -- cheapest -----------------------------------------------------------------------------------


def node_cost(node: dict[str, Any]) -> tuple[float, float]:
    """(CPUs x memory GiB, disk bytes): what makes one point's node cheaper than another's."""
    cpus = float(node.get("cpu_millicores") or 0) / 1000
    return cpus * float(node.get("memory_bytes") or 0) / GIB, float(node.get("disk_bytes") or 0)


def node_words(node: dict[str, Any]) -> str:
    if not node:
        return "-"
    cpus = float(node.get("cpu_millicores") or 0) / 1000
    return (
        f"{cpus:g} CPUs, {bytes_words(node.get('memory_bytes'))}, "
        f"{bytes_words(node.get('disk_bytes'))} disk"
    )


@dataclass
class Judged:
    """Each point's verdict on an objective, and the cheapest point that meets it."""

    objective: Objective
    rows: list[dict[str, Any]]  # point, mean, half, verdict, cost
    cheapest: str | None
    maybe: str | None  # the cheapest point whose mean meets it, when none surely does


def judge(sweep: Sweep, objective: Objective) -> Judged:
    rows = []
    order = list(sweep.summary["point"])
    for point in order:
        mean, half = sweep.mean(point, objective.metric)
        rows.append(
            {
                "point": point,
                "mean": mean,
                "half": half,
                "verdict": objective.verdict(mean, half),
                "cost": node_cost(sweep.nodes.get(point, {})),
            }
        )

    def cheapest(verdicts: tuple[str, ...]) -> str | None:
        fits = [r for r in rows if r["verdict"] in verdicts and sweep.nodes.get(r["point"])]
        if not fits:
            return None
        return min(fits, key=lambda r: (*r["cost"], order.index(r["point"])))["point"]

    sure = cheapest(("meets",))
    return Judged(objective, rows, sure, None if sure else cheapest(("meets", "may meet")))


# -- numbers in words ---------------------------------------------------------------------------


def metric_kind(metric: str) -> str:
    if metric in _KINDS:
        return _KINDS[metric]
    if "_bytes" in metric:
        return "bytes"
    if "millicores" in metric:
        return "cores"
    if "fraction" in metric:
        return "fraction"
    if metric.endswith("_s") or "_s_" in metric or metric.startswith("time_"):
        return "duration"
    return "count"


def _value(sweep: Sweep, point: str, metric: str) -> str:
    mean, half = sweep.mean(point, metric)
    return with_interval({"mean": mean, "half_width": half, "n": None}, unit_words(metric))


def _axis_scale(metric: str, top: float) -> tuple[float, str]:
    """(divisor, unit) that shows a metric's values in units people read."""
    kind = metric_kind(metric)
    if kind == "duration":
        if top < 2 * 3600:
            return 60.0, "min"
        if top < 3 * 86400:
            return 3600.0, "h"
        return 86400.0, "days"
    if kind == "bytes":
        return (GIB, "GiB") if top >= 1000 * 2**20 else (2**20, "MiB")
    if kind == "cores":
        return 1000.0, "CPUs"
    if kind == "fraction":
        return 0.01, "%"
    return 1.0, ""


# -- figures ------------------------------------------------------------------------------------


def shown_metrics(sweep: Sweep) -> tuple[list[str], dict[str, str]]:
    """The headline metrics with something to show, and a sentence for each of the others."""
    shown, sentences = [], {}
    for metric, title, _ in HEADLINE:
        col = f"{metric}_mean"
        if col not in sweep.summary:
            continue
        values = pd.to_numeric(sweep.summary[col], errors="coerce")
        finite = values[np.isfinite(values)]
        if finite.empty:
            sentences[metric] = f"{title}: no value at any point (it never happened in a run)."
        elif len(finite) == len(values) and finite.nunique() == 1:
            words = unit_words(metric)(float(finite.iloc[0]))
            sentences[metric] = f"{title}: {words} at every point."
        else:
            shown.append(metric)
    return shown, sentences


def metric_figure(sweep: Sweep, metric: str) -> Figure:
    """The metric's mean and 95% interval against each factor (a panel per factor), a
    line per combination of the other factors' values."""
    factors = sweep.factors
    names = list(factors)
    table = sweep.summary
    mean = pd.to_numeric(table[f"{metric}_mean"], errors="coerce").to_numpy(float)
    half_col = f"{metric}_half_width"
    half = (
        pd.to_numeric(table[half_col], errors="coerce").fillna(0.0).to_numpy(float)
        if half_col in table
        else np.zeros(len(table))
    )
    top = float(np.nanmax(mean + half)) if np.isfinite(mean).any() else 1.0
    div, unit = _axis_scale(metric, top)
    values = _point_values(sweep)
    fig = Figure(figsize=(4.6 * len(names) + 1.0, 3.6), layout="constrained")
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names, strict=True):
        levels = [_key(v) for v in factors[name]]
        others = [n for n in names if n != name]
        groups: dict[tuple[str, ...], list[int]] = {}
        for k, point in enumerate(table["point"]):
            pv = values.get(point, {})
            groups.setdefault(tuple(_key(pv.get(o)) for o in others), []).append(k)
        for g, (combo, idx) in enumerate(groups.items()):
            xs = [levels.index(_key(values[table["point"].iloc[k]][name])) for k in idx]
            order = np.argsort(xs, kind="stable")
            # Lines side by side, a little apart, so that equal ones do not hide each other.
            x = np.array(xs, dtype=float)[order] + 0.06 * (g - (len(groups) - 1) / 2)
            y = mean[idx][order] / div
            e = half[idx][order] / div
            label = ", ".join(f"{o}={c}" for o, c in zip(others, combo, strict=True)) or None
            ax.errorbar(x, y, yerr=e, marker="o", capsize=3, color=f"C{g % 10}", label=label)
        ax.set_xticks(range(len(levels)), labels=levels, **LITERAL)
        ax.set_xlim(-0.5, len(levels) - 0.5)
        ax.set_xlabel(name, **LITERAL)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(f"{_TITLES.get(metric, metric)}" + (f" ({unit})" if unit else ""), fontsize=8)
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            # Under its own panel, outside the data: each panel's lines are other factors.
            legend = ax.legend(
                handles,
                labels,
                loc="upper center",
                bbox_to_anchor=(0.5, -0.2),
                fontsize=8,
                ncols=min(3, len(handles)),
                frameon=False,
            )
            for text in legend.get_texts():
                text.set(**LITERAL)
    reps = int(sweep.info.get("replications") or 1)
    band = ", mean and 95% interval" if reps > 1 else ""
    fig.suptitle(
        f"{sweep.info.get('scenario', '')}: {_TITLES.get(metric, metric)}{band}", **LITERAL
    )
    return fig


def _key(value: Any) -> str:
    """A factor value as the report shows it (and compares it)."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _point_values(sweep: Sweep) -> dict[str, dict[str, Any]]:
    return {str(p.get("id")): dict(p.get("values") or {}) for p in sweep.info.get("points") or []}


# -- writing ------------------------------------------------------------------------------------


def _factor_line(sweep: Sweep, quote: Callable[[Any], str]) -> str:
    parts = [
        f"{quote(name)} = {', '.join(quote(_key(v)) for v in values)}"
        for name, values in sweep.factors.items()
    ]
    return "; ".join(parts)


def _head(sweep: Sweep, written: str | None, quote: Callable[[Any], str]) -> str:
    info = sweep.info
    n = len(sweep.summary)
    reps = int(info.get("replications") or 1)
    failed = len(sweep.failed)
    text = (
        f"{n} points x {reps} replication{'s' if reps != 1 else ''}, seed "
        f"{quote(info.get('seed'))}, {failed} failed run{'s' if failed != 1 else ''}; "
        f"hpsim {quote(sweep.versions.get('hpsim', ''))}"
    )
    return text + (f"; written {written}" if written else "")


def _points_rows(sweep: Sweep) -> list[tuple[str, list[Any], str, str]]:
    values = _point_values(sweep)
    rows = []
    for point in sweep.summary["point"]:
        runs = sweep.summary.loc[sweep.summary["point"] == point, "runs"].iloc[0]
        node = sweep.nodes.get(point, {})
        cost = node_cost(node)[0] if node else None
        rows.append(
            (
                point,
                [_key(values.get(point, {}).get(f)) for f in sweep.factors],
                f"{int(runs)}",
                f"{node_words(node)}" + (f" ({cost:g} CPU x GiB)" if cost is not None else ""),
            )
        )
    return rows


BINDING_HOW = (
    "In each run, the first instant a resource stopped the node: a FailedScheduling naming "
    "Insufficient cpu, Insufficient memory or Too many pods (memory also: the memory-pressure "
    "taint, an eviction for memory, an allocation refused by the node's commit limit); disk: "
    "disk pressure, a full disk or an eviction for ephemeral-storage. The earliest binds the "
    "run, and a point's answer is what bound most of its runs. Where nothing bound, the "
    "resource closest to its limit is named. The peaks are means over the point's runs: "
    "requests against allocatable, commit against the commit limit, pods against max pods, "
    "the volume against the level where eviction starts (its size where kubelet does not evict)."
)
CHEAPEST_HOW = (
    "Cheapest: the smallest node, its CPUs times its memory in GiB (one node per run), then the "
    "smaller disk, then the first in the grid. A point meets the objective when its whole 95% "
    "interval does; with one replication, when its mean does."
)


def _objective_sentence(sweep: Sweep, judged: Judged, quote: Callable[[Any], str]) -> str:
    o = judged.objective
    values = _point_values(sweep)

    def named(point: str) -> str:
        shown = ", ".join(
            f"{quote(f)}={quote(_key(values.get(point, {}).get(f)))}" for f in sweep.factors
        )
        node = node_words(sweep.nodes.get(point, {}))
        return (
            f"{quote(point)} ({shown}; {node}): {quote(o.metric)} = "
            f"{_value(sweep, point, o.metric)}"
        )

    if judged.cheapest:
        return f"The cheapest point that meets it is {named(judged.cheapest)}."
    if judged.maybe:
        return (
            f"No point meets it with 95% confidence. The cheapest whose mean meets it is "
            f"{named(judged.maybe)}, but its interval crosses the bound: run more "
            "replications (-r) to tell."
        )
    return "No point meets it."


def _bound_words(o: Objective, quote: Callable[[Any], str]) -> str:
    words = unit_words(o.metric)(o.value)
    return f"{quote(o.metric)} {o.op} {o.value:g}" + (
        f" ({words})" if words != f"{o.value:g}" else ""
    )


def render_markdown(
    sweep: Sweep,
    figures: dict[str, str],
    sentences: dict[str, str],
    judged: Judged | None,
    written: str | None,
) -> str:
    q = md_literal
    name = sweep.info.get("scenario", "")
    lines = [f"# {q(name)}: sweep", "", f"_{_head(sweep, written, q)}_", ""]
    lines += [f"Factors: {_factor_line(sweep, q)}.", ""]
    factors = list(sweep.factors)
    lines += ["| point | " + " | ".join(q(f) for f in factors) + " | runs | node |"]
    lines += ["|---" * (len(factors) + 3) + "|"]
    for point, vals, runs, node in _points_rows(sweep):
        lines.append(f"| {q(point)} | " + " | ".join(q(v) for v in vals) + f" | {runs} | {node} |")
    if judged is not None:
        lines += ["", "## Objective", "", f"Objective: {_bound_words(judged.objective, q)}.", ""]
        lines += [_objective_sentence(sweep, judged, q), "", CHEAPEST_HOW, ""]
        lines += [f"| point | {q(judged.objective.metric)} | verdict |", "|---|---|---|"]
        for r in judged.rows:
            value = _value(sweep, r["point"], judged.objective.metric)
            lines.append(f"| {q(r['point'])} | {value} | {r['verdict']} |")
    lines += ["", "## What binds first", "", BINDING_HOW, ""]
    heads = [USE_WORDS[k] for k in USE_WORDS]
    lines += ["| point | binds first | " + " | ".join(heads) + " |"]
    lines += ["|---" * (len(heads) + 2) + "|"]
    for row in binding(sweep).to_dict("records"):
        use = [_percent(row.get(f"use_{k}")) for k in USE_WORDS]
        lines.append(f"| {q(row['point'])} | {binding_words(row)} | " + " | ".join(use) + " |")
    lines += ["", "## Answers by factor", ""]
    if int(sweep.info.get("replications") or 1) > 1:
        lines += ["Mean ± half-width of the 95% t-interval over each point's runs.", ""]
    for metric, title, _ in HEADLINE:
        if metric in sentences:
            continue
        if metric not in figures:
            continue
        lines += [f"### {title}", "", f"![{title}]({figures[metric]})", ""]
        lines += _metric_table(sweep, metric, q)
    quiet = [sentences[m] for m, _, _ in HEADLINE if m in sentences]
    if quiet:
        lines += ["### Nothing to show", ""] + [f"- {s}" for s in quiet] + [""]
    if len(sweep.failed):
        lines += ["## Failed runs", "", "| point | replication | error |", "|---|---|---|"]
        for r in sweep.failed.to_dict("records"):
            err = f"{r.get('error_type', '')}: {excerpt(r.get('message', ''), 300)}"
            lines.append(f"| {q(r.get('point'))} | {q(r.get('replication'))} | {q(err)} |")
    return "\n".join(lines).rstrip() + "\n"


def _percent(value: Any) -> str:
    return "-" if value is None or pd.isna(value) else f"{100 * float(value):.0f}%"


def _metric_rows(sweep: Sweep, metric: str) -> tuple[list[str], list[list[str]]]:
    """The metric's table as plain text: a header and a row per point."""
    factors = list(sweep.factors)
    values = _point_values(sweep)
    rows = [
        [
            point,
            *(_key(values.get(point, {}).get(f)) for f in factors),
            _value(sweep, point, metric),
        ]
        for point in sweep.summary["point"]
    ]
    return ["point", *factors, "value"], rows


def _metric_table(sweep: Sweep, metric: str, q: Callable[[Any], str]) -> list[str]:
    head, rows = _metric_rows(sweep, metric)
    lines = ["| " + " | ".join(q(h) for h in head) + " |", "|---" * len(head) + "|"]
    # The value is hpsim's own words; the point and the factor values are quoted.
    lines += ["| " + " | ".join([*map(q, r[:-1]), r[-1]]) + " |" for r in rows]
    return [*lines, ""]


def render_html(
    sweep: Sweep,
    figures: dict[str, bytes],
    sentences: dict[str, str],
    judged: Judged | None,
    written: str | None,
) -> str:
    e = _esc
    name = sweep.info.get("scenario", "")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>hpsim sweep report: {e(name)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(name)}: sweep</h1>",
        f'<p class="muted">{e(_head(sweep, written, str))}</p>',
        f"<p>Factors: {e(_factor_line(sweep, str))}.</p>",
    ]
    factors = list(sweep.factors)
    parts.append(
        "<table><tr><th>point</th>"
        + "".join(f"<th>{e(f)}</th>" for f in factors)
        + "<th>runs</th><th>node</th></tr>"
    )
    for point, vals, runs, node in _points_rows(sweep):
        cells = "".join(f"<td>{e(v)}</td>" for v in vals)
        parts.append(f"<tr><td>{e(point)}</td>{cells}<td>{e(runs)}</td><td>{e(node)}</td></tr>")
    parts.append("</table>")
    if judged is not None:
        parts.append("<h2>Objective</h2>")
        parts.append(f"<p>Objective: {e(_bound_words(judged.objective, str))}.</p>")
        parts.append(f'<p id="objective-answer">{e(_objective_sentence(sweep, judged, str))}</p>')
        parts.append(f'<p class="muted">{e(CHEAPEST_HOW)}</p>')
        parts.append(
            f"<table><tr><th>point</th><th>{e(judged.objective.metric)}</th><th>verdict</th></tr>"
        )
        for r in judged.rows:
            value = _value(sweep, r["point"], judged.objective.metric)
            parts.append(
                f"<tr><td>{e(r['point'])}</td><td>{e(value)}</td><td>{e(r['verdict'])}</td></tr>"
            )
        parts.append("</table>")
    parts += ["<h2>What binds first</h2>", f'<p class="muted">{e(BINDING_HOW)}</p>']
    parts.append(
        "<table><tr><th>point</th><th>binds first</th>"
        + "".join(f"<th>{e(w)}</th>" for w in USE_WORDS.values())
        + "</tr>"
    )
    for row in binding(sweep).to_dict("records"):
        use = "".join(f"<td>{e(_percent(row.get(f'use_{k}')))}</td>" for k in USE_WORDS)
        parts.append(f"<tr><td>{e(row['point'])}</td><td>{e(binding_words(row))}</td>{use}</tr>")
    parts.append("</table>")
    parts.append("<h2>Answers by factor</h2>")
    if int(sweep.info.get("replications") or 1) > 1:
        parts.append(
            '<p class="muted">Mean ± half-width of the 95% t-interval over each point\'s runs.</p>'
        )
    for metric, title, _ in HEADLINE:
        if metric not in figures:
            continue
        data = base64.b64encode(figures[metric]).decode("ascii")
        parts.append(
            f'<figure id="fig-{e(metric)}"><img alt="{e(title)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{e(title)}</figcaption></figure>'
        )
        parts.append(_html_table(sweep, metric))
    quiet = [sentences[m] for m, _, _ in HEADLINE if m in sentences]
    if quiet:
        parts.append('<ul class="blank">' + "".join(f"<li>{e(s)}</li>" for s in quiet) + "</ul>")
    if len(sweep.failed):
        parts.append("<h2>Failed runs</h2><table><tr><th>point</th><th>replication</th>")
        parts.append("<th>error</th></tr>")
        for r in sweep.failed.to_dict("records"):
            err = f"{r.get('error_type', '')}: {excerpt(r.get('message', ''), 300)}"
            parts.append(
                f"<tr><td>{e(r.get('point'))}</td><td>{e(r.get('replication'))}</td>"
                f"<td>{e(err)}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _html_table(sweep: Sweep, metric: str) -> str:
    head, rows = _metric_rows(sweep, metric)
    out = ["<table><tr>" + "".join(f"<th>{_esc(h)}</th>" for h in head) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in r) + "</tr>" for r in rows]
    return "".join([*out, "</table>"])


def write_sweep_report(
    folder: str | Path, objective: Objective | None = None, *, stamp: bool = True
) -> list[Path]:
    """Write ``report.html``, ``report.md`` and ``figures/*.png`` into a sweep folder."""
    folder = Path(folder)
    sweep = read_sweep(folder)
    if objective is not None:
        check_metric(objective, sweep)
    judged = judge(sweep, objective) if objective is not None else None
    shown, sentences = shown_metrics(sweep)
    pngs = {m: figure_png(metric_figure(sweep, m)) for m in shown}
    written = dt.datetime.now().strftime("%Y-%m-%d %H:%M") if stamp else None
    (folder / "figures").mkdir(exist_ok=True)
    paths = []
    files = {}
    for metric, png in pngs.items():
        path = folder / "figures" / f"{metric}.png"
        atomic.write_bytes(path, png)
        files[metric] = f"figures/{metric}.png"
        paths.append(path)
    html_path = folder / "report.html"
    md_path = folder / "report.md"
    atomic.write_bytes(
        html_path, render_html(sweep, pngs, sentences, judged, written).encode("utf-8")
    )
    atomic.write_bytes(
        md_path, render_markdown(sweep, files, sentences, judged, written).encode("utf-8")
    )
    return [html_path, md_path, *paths]


__all__ = [
    "Objective",
    "Sweep",
    "binding",
    "is_sweep",
    "judge",
    "parse_objective",
    "read_sweep",
    "write_sweep_report",
]
