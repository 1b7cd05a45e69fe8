"""Figures of a run, for notebooks and reports: ``res.plot.<name>()`` returns a Figure.

Figures are built on :class:`matplotlib.figure.Figure` directly, never through
pyplot's global state, so they are safe in worker processes and in the report
writer, and two runs' figures never share axes. In IPython the accessor
registers a PNG formatter for Figures, so ``res.plot.disk()`` as the last line
of a cell shows the figure.

With several replications the node-level figures (memory, CPU, disk, start
latency) draw the mean over replications and a 95% t-band, evaluated on a
common time grid; bar figures carry 95% error bars. The pod timeline shows one
replication (the first, unless asked).

Text that comes from the scenario or the records (the scenario's name in titles, pod and
workload names, Windows versions on axes) is drawn as written: with mathtext and TeX off
(``LITERAL``), so a ``$`` in a name neither raises nor typesets mathematics.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MultipleLocator

from hpsim.observe.stats import t975

if TYPE_CHECKING:
    from hpsim.observe.results import Results

GIB = 2**30
GRID_POINTS = 600  # time grid for mean and band over replications
TIMELINE_MAX_PODS = 60  # more rows than this is unreadable: the first pods created are shown
# Text properties for every text holding a scenario's or a record's string: matplotlib parses
# "$...$" as mathtext (Text.set_parse_math) and hands all text to LaTeX when the rcParam
# text.usetex is on (Text.set_usetex); both off, the string is shown character for character.
LITERAL: dict[str, Any] = {"parse_math": False, "usetex": False}

# Colours by meaning, kept the same across figures.
STATE_COLOURS = {
    "pending": "#c7c7c7",
    "creating": "#9ecae1",
    "pulling": "#3182bd",
    "running": "#31a354",
    "back-off": "#e6550d",
    "terminating": "#756bb1",
}
OWNER_COLOURS = {
    "os": "#bdbdbd",
    "content_store": "#6baed6",
    "snapshots": "#2171b5",
    "scratch": "#74c476",
    "logs": "#fd8d3c",
    "empty_dir": "#fdd0a2",
    "host_writes": "#de2d26",
}
OWNER_LABELS = {
    "os": "Windows (OS)",
    "content_store": "containerd content store",
    "snapshots": "unpacked snapshots",
    "scratch": "container scratch (sandbox.vhdx)",
    "logs": "container logs",
    "empty_dir": "emptyDir volumes",
    "host_writes": "HostProcess host-path writes",
}


def _register_ipython_png() -> None:
    """Let IPython show a bare Figure as PNG (pyplot's inline backend is not involved)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["image/png"]
    formatter.for_type(Figure, lambda fig: figure_png(fig))


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    # Constrained layout already fits the labels and outside legends: no "tight" second pass.
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _hours_axis(ax: Any, duration: float) -> str:
    """Time axis in the unit that reads best for the run's length; returns the unit."""
    if duration <= 2 * 3600:
        unit, div = "min", 60.0
    elif duration <= 3 * 86400:
        unit, div = "h", 3600.0
    else:
        unit, div = "days", 86400.0
    ax.xaxis.set_major_locator(MultipleLocator(_nice_step(duration / div) * div))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x / div:g}"))
    ax.set_xlabel(f"time ({unit})")
    ax.set_xlim(0, duration)
    return unit


def _nice_step(span: float, ticks: int = 8) -> float:
    """A tick step of 1, 2 or 5 times a power of ten giving about ``ticks`` ticks."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _gib_axis(ax: Any, label: str) -> None:
    """Bytes shown in GiB at round GiB ticks (call once the data is drawn)."""
    ax.set_ylim(bottom=0)
    top = ax.get_ylim()[1]
    ax.yaxis.set_major_locator(MultipleLocator(_nice_step(top / GIB, 6) * GIB))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: f"{y / GIB:g}"))
    ax.set_ylabel(f"{label} (GiB)")


def _replications(table: pd.DataFrame) -> list[pd.DataFrame]:
    if "replication" not in table.columns:
        return [table]
    return [g for _, g in table.groupby("replication", sort=True)]


def _at(series: pd.DataFrame, col: str, slope: str | None, grid: np.ndarray) -> np.ndarray:
    """The column's value at each grid time: a step, or a line at ``slope`` until the next row."""
    if series.empty:
        return np.zeros_like(grid)
    t = series["time_s"].to_numpy()
    idx = np.clip(np.searchsorted(t, grid, side="right") - 1, 0, len(t) - 1)
    values = series[col].to_numpy()[idx].astype(float)
    if slope is not None:
        values = values + series[slope].to_numpy()[idx] * np.maximum(grid - t[idx], 0.0)
    values[grid < t[0]] = 0.0
    return values


def _owner_levels(series: pd.DataFrame, grid: np.ndarray) -> dict[str, np.ndarray]:
    """Each disk owner's bytes at the grid times, growing between rows as the volume does.

    The series records each owner's bytes at a row and only the volume's total
    slopes, actual and accounted. Their difference is exactly the slope of the
    host-path writes (the only writer kubelet does not count); the accounted
    slope is shared among scratch, logs and emptyDir in proportion to what each
    gained by the next row (or to their size when none gained). The stack then
    meets the volume's line at every time.
    """
    out = {o: _at(series, f"disk_{o}_bytes", None, grid) for o in OWNER_COLOURS}
    if series.empty:
        return out
    t = series["time_s"].to_numpy()
    idx = np.clip(np.searchsorted(t, grid, side="right") - 1, 0, len(t) - 1)
    dt = np.where(grid >= t[0], np.maximum(grid - t[idx], 0.0), 0.0)
    actual = series["disk_actual_slope_bytes_per_s"].to_numpy(dtype=float)
    accounted = series["disk_accounted_slope_bytes_per_s"].to_numpy(dtype=float)
    out["host_writes"] = out["host_writes"] + np.maximum(actual - accounted, 0.0)[idx] * dt
    writers = ("scratch", "logs", "empty_dir")
    values = np.vstack([series[f"disk_{o}_bytes"].to_numpy(dtype=float) for o in writers])
    weights = np.maximum(np.diff(values, axis=1, append=values[:, -1:]), 0.0)
    none = weights.sum(axis=0) <= 0
    weights[:, none] = values[:, none]
    weights[0, weights.sum(axis=0) <= 0] = 1.0
    share = weights / weights.sum(axis=0)
    for k, owner in enumerate(writers):
        out[owner] = out[owner] + (accounted * share[k])[idx] * dt
    return out


def _band(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and 95% t-band over the rows of ``samples`` (replications x grid)."""
    mean = samples.mean(axis=0)
    n = samples.shape[0]
    if n < 2:
        return mean, mean, mean
    half = t975(n - 1) * samples.std(axis=0, ddof=1) / math.sqrt(n)
    return mean, mean - half, mean + half


class Plots:
    """The figures of one :class:`~hpsim.observe.results.Results`."""

    def __init__(self, res: Results) -> None:
        self.res = res
        _register_ipython_png()

    # -- helpers ---------------------------------------------------------------------------------

    @property
    def _node(self) -> dict[str, Any]:
        return self.res.meta.get("node", {})

    @property
    def _n(self) -> int:
        return int(self.res.meta.get("replications", 1))

    def _grid(self) -> np.ndarray:
        return np.linspace(0.0, self.res.duration, GRID_POINTS)

    def _title(self, what: str, band: str | None = "band") -> str:
        shown = f"mean and 95% {band}" if band else "mean"
        reps = f"\n{shown} over {self._n} replications" if self._n > 1 else ""
        return f"{self.res.scenario}: {what}{reps}"

    def _levels(
        self,
        ax: Any,
        columns: list[tuple[str, str | None, str, str]],
        scale: Callable[[np.ndarray], np.ndarray] = lambda v: v,
    ) -> None:
        """Draw each (column, slope, label, colour) over time: one run's steps, or a band."""
        series = self.res.series
        reps = _replications(series)
        for col, slope, label, colour in columns:
            if len(reps) == 1:
                s = reps[0]
                t = np.append(s["time_s"].to_numpy(), self.res.duration)
                if slope is None:
                    v = s[col].to_numpy()
                    ax.step(t, scale(np.append(v, v[-1:])), where="post", label=label, color=colour)
                else:
                    grid = np.union1d(self._grid(), t)
                    ax.plot(grid, scale(_at(s, col, slope, grid)), label=label, color=colour)
            else:
                grid = self._grid()
                samples = np.vstack([_at(s, col, slope, grid) for s in reps])
                mean, lo, hi = _band(samples)
                ax.plot(grid, scale(mean), label=label, color=colour)
                ax.fill_between(grid, scale(lo), scale(hi), color=colour, alpha=0.25, lw=0)

    @staticmethod
    def _hline(ax: Any, y: float | None, label: str, colour: str, style: str = "--") -> None:
        if y is not None and y > 0:
            ax.axhline(y, color=colour, linestyle=style, linewidth=1, label=label)

    # -- figures ---------------------------------------------------------------------------------

    def timeline(self, replication: int = 0, max_pods: int = TIMELINE_MAX_PODS) -> Figure:
        """Per pod: pending, creating, pulling, running, back-off and terminating."""
        pods = self.res.pods
        containers = self.res.tables.get("containers", pd.DataFrame())
        if "replication" in pods.columns:
            pods = pods[pods["replication"] == replication]
            if "replication" in containers.columns:
                containers = containers[containers["replication"] == replication]
        pods = pods[pods["phase"] != "Refused"].sort_values("created_s", kind="stable")
        shown = pods.head(max_pods)
        end = self.res.duration
        fig = Figure(figsize=(10, max(2.5, 0.28 * len(shown) + 1.5)), layout="constrained")
        ax = fig.add_subplot()
        app = containers[~containers["init"].astype(bool)] if len(containers) else containers
        by_pod = {name: g for name, g in app.groupby("pod")} if len(app) else {}
        for row, p in enumerate(shown.itertuples(index=False)):
            stop = min(end, _first(p.finished_s, p.deleted_s, end))
            bars: list[tuple[str, float, float]] = []
            scheduled = _first(p.scheduled_s, stop)
            bars.append(("pending", p.created_s, scheduled))
            started = _first(p.started_s, stop)
            bars.append(("creating", scheduled, started))
            if not _missing(p.pull_started_s) and p.pull_s > 0:
                bars.append(("pulling", p.pull_started_s, p.pull_started_s + p.pull_s))
            instances = by_pod.get(p.pod)
            if instances is not None:
                last_end = None
                for inst in instances.sort_values("started_s").itertuples(index=False):
                    if last_end is not None:
                        bars.append(("back-off", last_end, inst.started_s))
                    inst_end = _first(inst.ended_s, stop)
                    bars.append(("running", inst.started_s, inst_end))
                    last_end = inst_end
                if p.phase in ("Terminating", "Deleted") and not _missing(p.deleted_s):
                    bars.append(("terminating", min(last_end or stop, p.deleted_s), p.deleted_s))
            for state, a, b in bars:
                if b > a:
                    ax.broken_barh(
                        [(a, b - a)], (row - 0.4, 0.8), facecolors=STATE_COLOURS[state], lw=0
                    )
        ax.set_yticks(range(len(shown)), labels=list(map(str, shown["pod"])), fontsize=7, **LITERAL)
        ax.invert_yaxis()
        _hours_axis(ax, end)
        from matplotlib.patches import Patch

        fig.legend(
            handles=[Patch(color=c, label=s) for s, c in STATE_COLOURS.items()],
            loc="outside lower center",
            fontsize=8,
            ncols=len(STATE_COLOURS),
        )
        more = f" (first {max_pods} of {len(pods)} pods)" if len(pods) > max_pods else ""
        rep = f", replication {replication}" if self._n > 1 else ""
        ax.set_title(f"{self.res.scenario}: pod timeline{rep}{more}", **LITERAL)
        return fig

    def memory(self) -> Figure:
        """Committed memory and working set against requests, allocatable, RAM and the commit limit.

        The model tracks commit, not pages touched: the working set drawn is
        the committed bytes RAM can hold (every committed page taken as
        touched), and commit past RAM is what the pagefile must back.
        """
        fig = Figure(figsize=(10, 4.5), layout="constrained")
        ax = fig.add_subplot()
        node = self._node
        ram = float(node.get("memory_bytes") or 0.0)
        reps = _replications(self.res.series)
        grid = self._grid()
        if len(reps) == 1:
            grid = np.union1d(grid, reps[0]["time_s"].to_numpy())
        committed = np.vstack(
            [
                _at(s, "memory_committed_bytes", "memory_commit_slope_bytes_per_s", grid)
                for s in reps
            ]
        ).mean(axis=0)
        resident = np.minimum(committed, ram) if ram > 0 else committed
        ax.fill_between(
            grid, 0, resident, color="C0", alpha=0.18, lw=0, label="working set (resident in RAM)"
        )
        if ram > 0 and (committed > ram).any():
            ax.fill_between(
                grid,
                ram,
                np.maximum(committed, ram),
                color="C3",
                alpha=0.25,
                lw=0,
                label="committed past RAM (backed by the pagefile)",
            )
        self._levels(
            ax,
            [
                ("memory_committed_bytes", "memory_commit_slope_bytes_per_s", "committed", "C0"),
                ("requests_memory_bytes", None, "requested by bound pods", "C1"),
            ],
        )
        self._hline(ax, node.get("allocatable_memory_bytes"), "allocatable", "C2")
        self._hline(ax, node.get("memory_bytes"), "RAM", "0.3", ":")
        self._hline(ax, node.get("commit_limit_bytes"), "commit limit (RAM + pagefile)", "C3")
        _gib_axis(ax, "memory")
        _hours_axis(ax, self.res.duration)
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left", fontsize=8)
        ax.set_title(self._title("node memory"), **LITERAL)
        return fig

    def cpu(self) -> Figure:
        """CPU in use (processor sharing under job caps) against requests and allocatable."""
        fig = Figure(figsize=(10, 4.5), layout="constrained")
        ax = fig.add_subplot()
        self._levels(
            ax,
            [
                ("cpu_allocated_millicores", None, "in use", "C0"),
                ("requests_cpu_millicores", None, "requested by bound pods", "C1"),
            ],
            scale=lambda v: v / 1000.0,
        )
        node = self._node
        alloc = node.get("allocatable_cpu_millicores")
        cap = node.get("cpu_millicores")
        self._hline(ax, alloc / 1000.0 if alloc else None, "allocatable", "C2")
        self._hline(ax, cap / 1000.0 if cap else None, "capacity", "0.3", ":")
        ax.set_ylabel("CPUs")
        _hours_axis(ax, self.res.duration)
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left", fontsize=8)
        ax.set_title(self._title("node CPU"), **LITERAL)
        return fig

    def disk(self) -> Figure:
        """The C: volume stacked by owner, what kubelet accounts, and the GC and eviction lines."""
        fig = Figure(figsize=(10, 5), layout="constrained")
        ax = fig.add_subplot()
        reps = _replications(self.res.series)
        grid = np.union1d(self._grid(), reps[0]["time_s"].to_numpy()) if len(reps) == 1 else None
        grid = self._grid() if grid is None else grid
        levels = [_owner_levels(s, grid) for s in reps]
        stacks = [np.vstack([lv[o] for lv in levels]).mean(axis=0) for o in OWNER_COLOURS]
        ax.stackplot(
            grid,
            np.vstack(stacks),
            labels=[OWNER_LABELS[o] for o in OWNER_COLOURS],
            colors=list(OWNER_COLOURS.values()),
            alpha=0.85,
            step="post",
        )
        self._levels(
            ax,
            [
                ("disk_actual_bytes", "disk_actual_slope_bytes_per_s", "on the volume", "k"),
                (
                    "disk_accounted_bytes",
                    "disk_accounted_slope_bytes_per_s",
                    "what kubelet accounts",
                    "m",
                ),
            ],
        )
        node = self._node
        capacity = node.get("disk_bytes")
        if capacity:
            high = node.get("image_gc_high_percent")
            low = node.get("image_gc_low_percent")
            self._hline(ax, capacity, "volume size", "0.2", "-")
            if high is not None:
                self._hline(ax, capacity * high / 100, f"image GC high ({high}%)", "C1")
            if low is not None:
                self._hline(ax, capacity * low / 100, f"image GC low ({low}%)", "C1", ":")
            evict = node.get("eviction_nodefs_bytes")
            if evict and node.get("eviction_enforced"):
                self._hline(ax, capacity - evict, "eviction (nodefs.available)", "C3")
        _gib_axis(ax, "disk")
        _hours_axis(ax, self.res.duration)
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left", fontsize=7, ncols=2)
        ax.set_title(self._title("disk: actual versus accounted"), **LITERAL)
        return fig

    def images(self) -> Figure:
        """Image bytes by Windows base version: on disk (a shared layer once) and as listed.

        The bar is what the images of each version brought to the volume,
        compressed blobs plus unpacked snapshots, a layer shared by digest
        counted once (the summary's ``image_bytes_by_os_version``); the outline
        is the sum of the images' own sizes, which counts a shared layer in
        every image that has it.
        """
        images = self.res.images.copy()
        fig = Figure(figsize=(9, 4), layout="constrained")
        ax = fig.add_subplot()
        if images.empty:
            ax.text(0.5, 0.5, "no images pulled", ha="center", va="center")
            ax.set_axis_off()
            return fig
        images["version"] = images["os_version"].where(
            images["os_version"].map(lambda v: isinstance(v, str) and bool(v)), "none"
        )
        images["listed_bytes"] = images["size_bytes"] + images["unpacked_bytes"]
        if "new_bytes" not in images.columns:  # folders written before new_bytes
            images["new_bytes"] = images["listed_bytes"]
        keys = (["replication"] if "replication" in images.columns else []) + ["version"]
        per_rep = images.groupby(keys)[["new_bytes", "listed_bytes"]].sum()
        if "replication" in images.columns:
            # A version absent from a replication counts 0 there.
            per_rep = per_rep.unstack("version", fill_value=0.0).stack("version", future_stack=True)
            table = per_rep.groupby("version").mean()
        else:
            table = per_rep
        table = table.sort_index()
        y = np.arange(len(table))
        ax.barh(y, table["new_bytes"], color="#2171b5", label="on disk (a shared layer once)")
        ax.barh(
            y,
            table["listed_bytes"],
            fill=False,
            edgecolor="0.3",
            linestyle="--",
            label="sum of image sizes (shared layers in each image)",
        )
        ax.set_yticks(y, labels=list(map(str, table.index)), **LITERAL)
        ax.invert_yaxis()
        top = float(table[["new_bytes", "listed_bytes"]].to_numpy().max())
        ax.xaxis.set_major_locator(MultipleLocator(_nice_step(top / GIB, 6) * GIB))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x / GIB:g}"))
        ax.set_xlabel("GiB: compressed blobs + unpacked snapshots")
        ax.set_ylabel("Windows build")
        fig.legend(loc="outside lower center", fontsize=8, ncols=2)
        saving = self.res.summary().get("aligned_bases_saving_bytes")
        if isinstance(saving, dict):
            saving = saving.get("mean")
        extra = f"\naligned on the host's base: {saving / GIB:.1f} GiB less" if saving else ""
        ax.set_title(self._title(f"image bytes by base version{extra}", None), **LITERAL)
        return fig

    def start_latency(self) -> Figure:
        """ECDF of pod start latency (created to ready)."""
        pods = self.res.pods
        fig = Figure(figsize=(8, 4.5), layout="constrained")
        ax = fig.add_subplot()
        reps = _replications(pods)
        values = [r["start_latency_s"].dropna().to_numpy() for r in reps]
        everything = np.concatenate(values) if values else np.array([])
        if everything.size == 0:
            ax.text(0.5, 0.5, "no pod became ready", ha="center", va="center")
            ax.set_axis_off()
            return fig
        if len(reps) == 1:
            x = np.sort(everything)
            ax.step(x, np.arange(1, x.size + 1) / x.size, where="post", color="C0", label="pods")
        else:
            grid = np.linspace(0.0, everything.max() * 1.02, GRID_POINTS)
            samples = np.vstack(
                [np.searchsorted(np.sort(v), grid, side="right") / max(v.size, 1) for v in values]
            )
            mean, lo, hi = _band(samples)
            ax.plot(grid, mean, color="C0", label="mean ECDF")
            ax.fill_between(grid, np.clip(lo, 0, 1), np.clip(hi, 0, 1), color="C0", alpha=0.25)
        for q, style in ((0.5, ":"), (0.95, "--")):
            ax.axvline(np.quantile(everything, q), color="0.3", linestyle=style, lw=1)
            ax.text(np.quantile(everything, q), 0.02, f" p{int(q * 100)}", fontsize=8)
        ax.set_xlabel("start latency: created to ready (s)")
        ax.set_ylabel("fraction of pods")
        ax.set_ylim(0, 1.02)
        ax.legend(loc="lower right", fontsize=8)
        ax.set_title(self._title("start latency"), **LITERAL)
        return fig

    def restarts(self) -> Figure:
        """Restarts and refused allocations per workload (95% error bars over replications)."""
        pods = self.res.pods
        fig = Figure(figsize=(9, 4.5), layout="constrained")
        ax = fig.add_subplot()
        keys = (["replication"] if "replication" in pods.columns else []) + ["workload"]
        per = pods.groupby(keys)[["restarts", "alloc_failures"]].sum()
        if "replication" in pods.columns:
            grouped = per.groupby("workload")
            mean = grouped.mean()
            n = grouped.size()
            half = grouped.std(ddof=1).mul([t975(int(k) - 1) if k > 1 else 0 for k in n], axis=0)
            half = half.div(np.sqrt(n), axis=0).fillna(0.0)
        else:
            mean, half = per, per * 0
        y = np.arange(len(mean))
        for offset, col, colour, label in (
            (-0.2, "restarts", "#e6550d", "restarts"),
            (0.2, "alloc_failures", "#756bb1", "allocations refused by the job object"),
        ):
            # Counts are never negative: the lower whisker stops at zero.
            err = np.vstack([np.minimum(half[col], mean[col]), half[col]])
            ax.barh(y + offset, mean[col], 0.4, xerr=err, color=colour, label=label, capsize=3)
        ax.set_xlim(left=0)
        ax.set_yticks(y, labels=list(map(str, mean.index)), **LITERAL)
        ax.invert_yaxis()
        ax.set_xlabel("count per run")
        ax.legend(loc="lower right", fontsize=8)
        ax.set_title(
            self._title("restarts and memory-cap failures per workload", "interval"), **LITERAL
        )
        return fig

    NAMES = ("timeline", "memory", "cpu", "disk", "images", "start_latency", "restarts")

    def all(self) -> dict[str, Figure]:
        """Every figure, by name (what the report embeds)."""
        return {name: getattr(self, name)() for name in self.NAMES}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value)


def _first(*values: Any) -> float:
    """The first value that is not missing."""
    for v in values:
        if not _missing(v):
            return float(v)
    raise ValueError("no value")
