"""The pool's figures: nodes over time with the autoscaler's scale-ups and scale-downs, the
time each added node took to be useful, every node's disk, and the image bytes each node
pulled by Windows base version.

Drawn only for a pool run (:func:`hpsim.observe.pool.is_pool`) from what
:mod:`hpsim.observe.pool` derives from the records; ``res.plot.nodes()`` and the others
call these with the run's :class:`~hpsim.observe.plots.Plots`. Each shows one
replication (the first unless asked), but the time-to-useful figure's mean bar, which
is over every replication's added nodes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from hpsim.observe import pool as pl
from hpsim.observe import timelines as tl
from hpsim.observe.figstyle import GIB, LITERAL, hours_axis, legend_below
from hpsim.observe.podplots import when

if TYPE_CHECKING:
    from hpsim.observe.plots import Plots

STARTUP_MAX_ROWS = 40  # added nodes drawn one by one (the first, by creation)
HEATMAP_COLUMNS = 600  # time steps of the per-node disk heatmaps
BASES_ANNOTATED = 16  # nodes up to which each cell of the bases figure is written in GiB
POOL_COLOURS = ("#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363")
SCALE_UP, SCALE_DOWN = "#31a354", "#de2d26"
# The parts of a node's way to useful, in order, with their colours and words.
STARTUP_STYLE = {
    "provisioning_s": ("#9ecae1", "provisioning (VM created to kubelet registered)"),
    "cni_s": ("#756bb1", "CNI (registered to Ready)"),
    "waiting_s": ("#d9d9d9", "no pod for it yet (Ready to a pod bound there)"),
    "pulls_s": ("#3182bd", "image pulls of its first app pod"),
    "start_s": ("#31a354", "sandbox and container start"),
}


def nodes(p: Plots, replication: int = 0) -> Figure:
    """Nodes per pool over time: VMs (created, not yet deleted) and those Ready, with a
    mark at each scale-up decision and each node deleted; below, the pods pending."""
    res = p.res
    counts = pl.nodes_over_time(res, replication)
    table = tl.one_replication(res, "nodes", replication)
    end = res.duration
    fig = Figure(figsize=(10, 5.5), layout="constrained")
    top, low = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    pools = sorted({pool for pool, _ in counts.columns})
    x = np.append(counts.index.to_numpy(float), end)
    for k, pool in enumerate(pools):
        colour = POOL_COLOURS[k % len(POOL_COLOURS)]
        name = f"{pool}: " if len(pools) > 1 else ""
        for what, style, words in (("total", "-", "nodes (VMs)"), ("ready", "--", "Ready")):
            y = counts[(pool, what)].to_numpy(float)
            top.step(
                x, np.append(y, y[-1]), where="post", color=colour, ls=style, label=name + words
            )
        mine = table[table["pool"] == pool]
        total = counts[(pool, "total")]
        for col, marker, colour_, words in (
            ("scale_up_s", "^", SCALE_UP, "scale-up decision"),
            ("deleted_s", "v", SCALE_DOWN, "node deleted"),
        ):
            times = np.unique(mine[col].dropna().to_numpy(float))
            if len(times):
                at = np.clip(
                    np.searchsorted(total.index.to_numpy(float), times, "right") - 1, 0, None
                )
                label = words if k == 0 else None
                top.scatter(
                    times,
                    total.to_numpy(float)[at],
                    marker=marker,
                    color=colour_,
                    s=22,
                    zorder=3,
                    label=label,
                )
    peak = float(counts.xs("total", axis=1, level=1).to_numpy().max()) if len(counts) else 1.0
    top.set_ylim(0, max(1.0, peak) * 1.15)
    top.yaxis.set_major_locator(MaxNLocator(integer=True))
    top.set_ylabel("nodes")
    series = tl.one_replication(res, "series", replication)
    cluster = series[series["node"] == ""] if not series.empty else series
    if not cluster.empty:
        t = np.append(cluster["time_s"].to_numpy(float), end)
        v = cluster["pods_pending"].to_numpy(float)
        low.step(t, np.append(v, v[-1]), where="post", color="0.4", label="pods pending")
        low.set_ylim(0, max(1.0, float(v.max())) * 1.15)
    low.yaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))
    low.set_ylabel("pods pending")
    hours_axis(low, end)
    handles, labels = top.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", fontsize=8, ncols=4)
    for text in fig.legends[0].get_texts():
        text.set(**LITERAL)
    fig.suptitle(p.one_title("nodes over time, scale-ups and scale-downs", replication), **LITERAL)
    return fig


def _time_unit(longest: float) -> tuple[str, float]:
    return ("s", 1.0) if longest < 180 else ("min", 60.0)


def node_startup(p: Plots, replication: int = 0) -> Figure:
    """Each node the autoscaler added: from its VM's creation to its first app pod
    running, cut into provisioning, CNI, waiting for a pod, image pulls and start; the
    top bar is the mean of every added node that got there (all replications)."""
    every = pl.node_startup(p.res)
    useful = every[every["useful_s"].notna()]
    rows = every[every["replication"] == replication].sort_values("created_s", kind="stable")
    n_rows = len(rows)
    rows = rows.head(STARTUP_MAX_ROWS)
    parts = list(STARTUP_STYLE)
    mean = useful[parts].mean() if len(useful) else pd.Series(0.0, index=parts)
    table = pd.concat([mean.to_frame().T, rows[parts]], ignore_index=True).fillna(0.0)
    labels = [f"mean of {len(useful):,} nodes"] + [
        f"{r.node} at {when(r.created_s, p.res.duration)}" for r in rows.itertuples(index=False)
    ]
    longest = float(table.sum(axis=1).max()) if len(table) else 0.0
    unit, div = _time_unit(longest)
    fig = Figure(figsize=(10, 2.0 + 0.24 * len(table)), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(table), dtype=float)
    y[1:] += 0.6  # the mean stands apart
    left = np.zeros(len(table))
    for part in parts:
        colour, words = STARTUP_STYLE[part]
        width = table[part].to_numpy(float) / div
        ax.barh(y, width, 0.8, left=left, color=colour, label=words)
        left += width
    never = np.r_[False, rows["useful_s"].isna().to_numpy()]
    for yy, xx in zip(y[never], left[never], strict=True):
        ax.text(xx, yy, "  no app pod ran on it", va="center", fontsize=7, color="0.3")
    ax.set_yticks(y, labels=labels, fontsize=7, **LITERAL)
    ax.set_ylim(y[-1] + 0.6, -0.6)
    ax.set_xlim(0, max(longest / div, 1e-9) * 1.12)
    ax.set_xlabel(f"time from the VM's creation ({unit})")
    legend_below(fig, ax, ncols=3)
    shown = f", the first {len(rows)} of {n_rows}" if n_rows > len(rows) else ""
    ax.set_title(p.one_title(f"time to a useful node: nodes added{shown}", replication), **LITERAL)
    return fig


def _heatmap_rows(
    res: Any, column: str, slope: str, grid: np.ndarray, replication: int
) -> tuple[list[str], np.ndarray]:
    """Each node's level (grown at its slope between rows) at the grid times, NaN while
    it does not exist; nodes in creation order."""
    series = tl.one_replication(res, "series", replication)
    table = tl.one_replication(res, "nodes", replication)
    names = [str(n) for n in table["node"]] if not table.empty else []
    gone = table["deleted_s"].astype(float).fillna(np.inf) if names else []
    deleted = dict(zip(names, gone, strict=True))
    names += sorted(set(series["node"].astype(str)) - set(names) - {""})
    out = np.full((len(names), len(grid)), np.nan)
    for k, node in enumerate(names):
        rows = series[series["node"] == node]
        if rows.empty:
            continue
        t = rows["time_s"].to_numpy(float)
        at = np.searchsorted(t, grid, side="right") - 1
        live = (at >= 0) & (grid < deleted.get(node, np.inf))
        at = np.clip(at, 0, None)
        v = rows[column].to_numpy(float)
        s = rows[slope].to_numpy(float)
        since = pl.pair_since(t, v, s)
        out[k] = np.where(live, v[at] + s[at] * (grid - since[at]), np.nan)
    return names, out


def node_disk(p: Plots, replication: int = 0) -> Figure:
    """Every node's C: volume over time: what is on it and what kubelet accounts, a row
    per node in creation order (blank while the node does not exist), in GiB."""
    res = p.res
    end = res.duration
    edges = np.linspace(0.0, end, HEATMAP_COLUMNS + 1)
    grid = (edges[:-1] + edges[1:]) / 2
    names, actual = _heatmap_rows(
        res, "disk_actual_bytes", "disk_actual_slope_bytes_per_s", grid, replication
    )
    _, accounted = _heatmap_rows(
        res, "disk_accounted_bytes", "disk_accounted_slope_bytes_per_s", grid, replication
    )
    fig = Figure(figsize=(10, 2.2 + 2 * max(1.2, 0.09 * len(names))), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    for ax, values, what in (
        (axes[0], actual, "on the volume"),
        (axes[1], accounted, "what kubelet accounts"),
    ):
        # Each panel's colours span its own range: the nodes' differences, not the OS's
        # share every node has, are what a reader looks for.
        gib = values / GIB
        seen = gib[np.isfinite(gib)]
        lo, hi = (float(seen.min()), float(seen.max())) if len(seen) else (0.0, 1.0)
        mesh = ax.pcolormesh(
            edges,
            np.arange(len(names) + 1),
            gib,
            vmin=lo,
            vmax=max(hi, lo + 1e-3),
            cmap="viridis",
            shading="flat",
        )
        bar = fig.colorbar(mesh, ax=ax, shrink=0.9)
        bar.set_label("GiB")
        step = max(1, int(np.ceil(len(names) / 16)))
        ticks = np.arange(0, len(names), step)
        ax.set_yticks(ticks + 0.5, labels=[names[i] for i in ticks], fontsize=7, **LITERAL)
        ax.set_ylim(len(names), 0)
        ax.set_title(what, loc="left", fontsize=9)
        ax.set_ylabel("node")
    hours_axis(axes[1], end)
    fig.suptitle(
        p.one_title("disk per node (blank: the node does not exist)", replication), **LITERAL
    )
    return fig


def node_bases(p: Plots, replication: int = 0) -> Figure:
    """The image bytes each node's pulls brought, by Windows base version (a layer shared
    by digest once; images in the node image are not counted: they have no record)."""
    table = pl.node_bases(p.res, replication)
    values = table.to_numpy(float).T / GIB  # versions x nodes
    nodes_, versions = list(table.index), list(table.columns)
    fig = Figure(figsize=(10, 2.4 + 0.45 * len(versions)), layout="constrained")
    ax = fig.add_subplot()
    shown = np.where(values > 0, values, np.nan)
    mesh = ax.pcolormesh(
        np.arange(len(nodes_) + 1),
        np.arange(len(versions) + 1),
        shown,
        vmin=0.0,
        vmax=max(float(np.nanmax(shown)) if np.isfinite(shown).any() else 1.0, 1e-9),
        cmap="Blues",
        shading="flat",
        edgecolors="white",
        linewidth=0.5,
    )
    if len(nodes_) <= BASES_ANNOTATED:
        for i in range(len(versions)):
            for j in range(len(nodes_)):
                if values[i, j] > 0:
                    ax.text(
                        j + 0.5,
                        i + 0.5,
                        f"{values[i, j]:.1f}",
                        ha="center",
                        va="center",
                        fontsize=7,
                    )
    ax.set_xticks(np.arange(len(nodes_)) + 0.5, labels=nodes_, fontsize=6, rotation=90, **LITERAL)
    ax.set_yticks(np.arange(len(versions)) + 0.5, labels=versions, fontsize=8, **LITERAL)
    ax.set_ylim(len(versions), 0)
    ax.set_xlabel("node (in creation order)")
    ax.set_ylabel("Windows base version")
    bar = fig.colorbar(mesh, ax=ax, shrink=0.9)
    bar.set_label("GiB pulled (blank: none)")
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    bar.ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.set_title(
        p.one_title("image bytes each node's pulls brought, by base version", replication),
        **LITERAL,
    )
    return fig
