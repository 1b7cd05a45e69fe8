"""Figures of a run, for notebooks and reports: ``res.plot.<name>()`` returns a Figure.

Figures are built on :class:`matplotlib.figure.Figure` directly, never through
pyplot's global state, so they are safe in worker processes and in the report
writer, and two runs' figures never share axes. In IPython the accessor
registers a PNG formatter for Figures, so ``res.plot.disk()`` as the last line
of a cell shows the figure.

With several replications the node-level figures (memory, CPU, disk, start
latency) draw the mean over replications and a 95% t-band, evaluated on a
common time grid; bar figures carry 95% error bars. The pod-level figures (the
timeline, pending pods, container memory, pulls) show one replication (the
first, unless asked).

Axes are fitted to the data: a node's limit (allocatable, RAM, the volume's size,
GC and eviction thresholds) is drawn when it lies within ``FIT_REACH`` times the
data's peak, and otherwise named in the legend as above the axis, with its value,
so that a node using 4 GiB of 32 does not squash its data into the bottom tenth.
Legends sit outside the axes. A figure with nothing to show (no restarts, no pod
ever pending) is a sentence: :meth:`Plots.blank` gives it, the report prints it in
the figure's place, and the figure itself shows it.

Text that comes from the scenario or the records (the scenario's name in titles, pod and
workload names, Windows versions on axes) is drawn as written: with mathtext and TeX off
(``LITERAL``), so a ``$`` in a name neither raises nor typesets mathematics.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MultipleLocator

from hpsim.observe import podplots, poolplots
from hpsim.observe import timelines as tl
from hpsim.observe.figstyle import (
    GIB,
    LITERAL,
    OWNER_COLOURS,
    OWNER_LABELS,
    STATE_COLOURS,
    Limit,
    figure_png,
    fit,
    gib_axis,
    gib_words,
    hours_axis,
    legend_below,
    nice_step,
    register_ipython_png,
    sentence_figure,
)
from hpsim.observe.pool import is_pool, node_startup, pool_series
from hpsim.observe.stats import t975

if TYPE_CHECKING:
    from hpsim.observe.results import Results

__all__ = ["FIGURE_TITLES", "LITERAL", "OWNER_LABELS", "STATE_COLOURS", "Plots", "figure_png"]

GRID_POINTS = 600  # time grid for mean and band over replications


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

    NAMES = (
        "timeline",
        "pending",
        "memory",
        "container_memory",
        "cpu",
        "disk",
        "pulls",
        "images",
        "start_latency",
        "restarts",
    )
    #: A pool run's figures besides (:func:`hpsim.observe.pool.is_pool`): poolplots.py.
    POOL_NAMES = ("nodes", "node_startup", "node_disk", "node_bases")
    #: Every figure in the report's order.
    ORDER = (
        "timeline",
        "nodes",
        "pending",
        "node_startup",
        "memory",
        "container_memory",
        "cpu",
        "disk",
        "node_disk",
        "pulls",
        "images",
        "node_bases",
        "start_latency",
        "restarts",
    )

    def __init__(self, res: Results) -> None:
        self.res = res
        self._derived: dict[tuple[str, int], pd.DataFrame] = {}
        self._pool_series: pd.DataFrame | None = None
        register_ipython_png()

    @property
    def pool(self) -> bool:
        """A pool run: more than one node, or one the autoscaler sizes (the pool figures)."""
        return is_pool(self.res, self.res.meta)

    def names(self) -> list[str]:
        """The run's figures, in the report's order: a pool run's add :data:`POOL_NAMES`."""
        shown = set(self.NAMES) | (set(self.POOL_NAMES) if self.pool else set())
        return [n for n in self.ORDER if n in shown]

    # -- helpers ---------------------------------------------------------------------------------

    @property
    def _node(self) -> dict[str, Any]:
        """The node's sizes and limits; none for a pool run, whose node-level figures draw
        the pool's totals (a node's limit is not the pool's)."""
        return {} if self.pool else self.res.meta.get("node", {})

    @property
    def _series(self) -> pd.DataFrame:
        """The levels the node-level figures draw: the node's series, or a pool run's
        totals over its nodes (:func:`hpsim.observe.pool.pool_series`)."""
        if self._pool_series is None:
            self._pool_series = pool_series(self.res) if self.pool else self.res.series
        return self._pool_series

    def _what(self, what: str) -> str:
        """A node-level figure's subject: the node's, or the pool's summed over its nodes."""
        return f"pool {what}, summed over its nodes" if self.pool else f"node {what}"

    @property
    def n(self) -> int:
        return int(self.res.meta.get("replications", 1))

    def _grid(self) -> np.ndarray:
        return np.linspace(0.0, self.res.duration, GRID_POINTS)

    def _title(self, what: str, band: str | None = "band") -> str:
        shown = f"mean and 95% {band}" if band else "mean"
        reps = f"\n{shown} over {self.n} replications" if self.n > 1 else ""
        return f"{self.res.scenario}: {what}{reps}"

    def one_title(self, what: str, replication: int) -> str:
        rep = f", replication {replication}" if self.n > 1 else ""
        return f"{self.res.scenario}: {what}{rep}"

    def derive(self, what: str, replication: int) -> pd.DataFrame:
        """A derived table of one replication (pod states, pending reasons...), made once."""
        key = (what, replication)
        if key not in self._derived:
            make = {
                "states": tl.pod_states,
                "pending": tl.pending_reasons,
                "instances": tl.container_memory,
                "refusals": tl.refusals,
            }[what]
            self._derived[key] = make(self.res, replication)
        return self._derived[key]

    def _levels(
        self,
        ax: Any,
        columns: list[tuple[str, str | None, str, str]],
        scale: Callable[[np.ndarray], np.ndarray] = lambda v: v,
    ) -> None:
        """Draw each (column, slope, label, colour) over time: one run's steps, or a band."""
        series = self._series
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

    # -- nothing to show -------------------------------------------------------------------------

    def blank(self, name: str, replication: int = 0) -> str | None:
        """The sentence that replaces figure ``name`` when it has nothing to show, else None."""
        res = self.res
        if name in ("memory", "cpu", "disk"):
            return "The run recorded no node state." if self._series.empty else None
        if name == "timeline":
            if self.derive("states", replication).empty:
                return "No pod was created, or every workload was refused at admission."
            return None
        if name == "pending":
            if self.derive("pending", replication).empty:
                return "No pod waited for the scheduler: each was bound when it was created."
            return None
        if name == "container_memory":
            if self.derive("instances", replication).empty:
                return (
                    "No container ran with a memory limit (resources.limits.memory), so no "
                    "job object capped its commit."
                )
            return None
        if name == "pulls":
            if tl.one_replication(res, "pulls", replication).empty:
                return "No image was pulled: every image the pods needed was on the node."
            return None
        if name == "images":
            return "No image was pulled." if res.images.empty else None
        if name == "start_latency":
            pods = res.pods
            if pods.empty or pods["start_latency_s"].dropna().empty:
                return "No pod became ready."
            return None
        if name == "restarts":
            pods = res.pods
            if pods.empty or not (pods["restarts"].sum() or pods["alloc_failures"].sum()):
                return "No container restarted and no job object refused an allocation."
            return None
        if name == "nodes":
            if tl.one_replication(res, "nodes", replication).empty:
                return "The run recorded no node's life."
            return None
        if name == "node_startup":
            if node_startup(res).empty:
                return "The autoscaler added no node."
            return None
        if name == "node_disk":
            return "The run recorded no node state." if res.series.empty else None
        if name == "node_bases":
            if tl.one_replication(res, "images", replication).empty:
                return "No image was pulled."
            return None
        raise KeyError(name)

    def blank_figure(self, name: str, replication: int = 0) -> Figure | None:
        sentence = self.blank(name, replication)
        if sentence is None:
            return None
        return sentence_figure(sentence, f"{self.res.scenario}: {FIGURE_WHAT[name]}")

    # -- figures ---------------------------------------------------------------------------------

    # -- the pod-level figures (podplots.py) -------------------------------------------------------

    def timeline(self, replication: int = 0) -> Figure:
        """Pods of each workload by state over time, and what the node did (evictions, image GC,
        FreeDiskSpaceFailed, disk pressure, rollouts): :func:`podplots.timeline`."""
        return podplots.timeline(self, replication)

    def pending(self, replication: int = 0) -> Figure:
        """Pods pending over time by the scheduler's latest reason: :func:`podplots.pending`."""
        return podplots.pending(self, replication)

    def container_memory(self, replication: int = 0) -> Figure:
        """Each capped container's commit against its job memory limit:
        :func:`podplots.container_memory`."""
        return podplots.container_memory(self, replication)

    def pulls(self, replication: int = 0) -> Figure:
        """Each image pull: waiting, downloading, unpacking: :func:`podplots.pulls`."""
        return podplots.pulls(self, replication)

    # -- a pool's figures (poolplots.py) -----------------------------------------------------------

    def nodes(self, replication: int = 0) -> Figure:
        """Nodes per pool over time, Ready among them, scale-ups and scale-downs marked, and
        the pods pending: :func:`poolplots.nodes`."""
        return self.blank_figure("nodes", replication) or poolplots.nodes(self, replication)

    def node_startup(self, replication: int = 0) -> Figure:
        """Each added node's time to its first app pod running, by part:
        :func:`poolplots.node_startup`."""
        return self.blank_figure("node_startup", replication) or poolplots.node_startup(
            self, replication
        )

    def node_disk(self, replication: int = 0) -> Figure:
        """Every node's disk over time, on the volume and accounted: :func:`poolplots.node_disk`."""
        return self.blank_figure("node_disk", replication) or poolplots.node_disk(self, replication)

    def node_bases(self, replication: int = 0) -> Figure:
        """The image bytes each node pulled, by Windows base version:
        :func:`poolplots.node_bases`."""
        return self.blank_figure("node_bases", replication) or poolplots.node_bases(
            self, replication
        )

    def memory(self) -> Figure:
        """Committed memory and working set against requests, allocatable, RAM and the commit limit.

        The model tracks commit, not pages touched: the working set drawn is
        the committed bytes RAM can hold (every committed page taken as
        touched), and commit past RAM is what the pagefile must back.
        """
        blank = self.blank_figure("memory")
        if blank is not None:
            return blank
        fig = Figure(figsize=(10, 4.5), layout="constrained")
        ax = fig.add_subplot()
        node = self._node
        ram = float(node.get("memory_bytes") or 0.0)
        reps = _replications(self._series)
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
        fit(
            ax,
            [
                (node.get("allocatable_memory_bytes"), "allocatable", "C2", "--"),
                (node.get("memory_bytes"), "RAM", "0.3", ":"),
                (node.get("commit_limit_bytes"), "commit limit (RAM + pagefile)", "C3", "--"),
            ],
            gib_words,
        )
        gib_axis(ax, "memory")
        hours_axis(ax, self.res.duration)
        legend_below(fig, ax)
        ax.set_title(self._title(self._what("memory")), **LITERAL)
        return fig

    def cpu(self) -> Figure:
        """CPU in use (processor sharing under job caps) against requests and allocatable."""
        blank = self.blank_figure("cpu")
        if blank is not None:
            return blank
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
        fit(
            ax,
            [
                (alloc / 1000.0 if alloc else None, "allocatable", "C2", "--"),
                (cap / 1000.0 if cap else None, "capacity", "0.3", ":"),
            ],
            lambda v: f"{v:g} CPUs",
        )
        ax.set_ylabel("CPUs")
        hours_axis(ax, self.res.duration)
        legend_below(fig, ax, ncols=4)
        ax.set_title(self._title(self._what("CPU")), **LITERAL)
        return fig

    def disk(self) -> Figure:
        """The C: volume stacked by owner, what kubelet accounts, and the GC and eviction lines."""
        blank = self.blank_figure("disk")
        if blank is not None:
            return blank
        fig = Figure(figsize=(10, 5.5), layout="constrained")
        ax = fig.add_subplot()
        reps = _replications(self._series)
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
        limits: list[Limit] = []
        if capacity:
            high = node.get("image_gc_high_percent")
            low = node.get("image_gc_low_percent")
            limits.append((capacity, "volume size", "0.2", "-"))
            if high is not None:
                limits.append((capacity * high / 100, f"image GC high ({high}%)", "C1", "--"))
            if low is not None:
                limits.append((capacity * low / 100, f"image GC low ({low}%)", "C1", ":"))
            evict = node.get("eviction_nodefs_bytes")
            if evict and node.get("eviction_enforced"):
                limits.append((capacity - evict, "eviction (nodefs.available)", "C3", "--"))
        fit(ax, limits, gib_words)
        gib_axis(ax, "disk")
        hours_axis(ax, self.res.duration)
        legend_below(fig, ax, ncols=3, fontsize=7)
        ax.set_title(
            self._title(
                "disk: actual versus accounted"
                + (", summed over the pool's nodes" if self.pool else "")
            ),
            **LITERAL,
        )
        return fig

    def images(self) -> Figure:
        """Image bytes by Windows base version: on disk (a shared layer once) and as listed.

        The bar is what the images of each version brought to the volume,
        compressed blobs plus unpacked snapshots, a layer shared by digest
        counted once (the summary's ``image_bytes_by_os_version``); the outline
        is the sum of the images' own sizes, which counts a shared layer in
        every image that has it.
        """
        blank = self.blank_figure("images")
        if blank is not None:
            return blank
        images = self.res.images.copy()
        fig = Figure(figsize=(9, 4), layout="constrained")
        ax = fig.add_subplot()
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
        ax.xaxis.set_major_locator(MultipleLocator(nice_step(top / GIB, 6) * GIB))
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
        blank = self.blank_figure("start_latency")
        if blank is not None:
            return blank
        pods = self.res.pods
        fig = Figure(figsize=(8, 4.5), layout="constrained")
        ax = fig.add_subplot()
        reps = _replications(pods)
        values = [r["start_latency_s"].dropna().to_numpy() for r in reps]
        everything = np.concatenate(values)
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
        legend_below(fig, ax)
        ax.set_title(self._title("start latency"), **LITERAL)
        return fig

    def restarts(self) -> Figure:
        """Restarts and refused allocations per workload (95% error bars over replications)."""
        blank = self.blank_figure("restarts")
        if blank is not None:
            return blank
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
        legend_below(fig, ax, ncols=2)
        ax.set_title(
            self._title("restarts and memory-cap failures per workload", "interval"), **LITERAL
        )
        return fig

    def all(self) -> dict[str, Figure]:
        """Every figure, by name (a figure with nothing to show is its sentence)."""
        return {name: getattr(self, name)() for name in self.names()}


# What each figure shows, for titles and the report's headings.


FIGURE_TITLES = {
    "timeline": "Pods by state, per workload",
    "pending": "Pending pods by the scheduler's reason",
    "memory": "Node memory",
    "container_memory": "Container memory against its limit",
    "cpu": "Node CPU",
    "disk": "Disk: actual versus accounted",
    "pulls": "Image pulls: download and unpack",
    "images": "Image bytes by base version",
    "start_latency": "Start latency",
    "restarts": "Restarts and memory-cap failures",
    "nodes": "Nodes over time, scale-ups and scale-downs",
    "node_startup": "Time to a useful node",
    "node_disk": "Disk per node",
    "node_bases": "Image bytes per node, by base version",
}
FIGURE_WHAT = {name: title[0].lower() + title[1:] for name, title in FIGURE_TITLES.items()}
