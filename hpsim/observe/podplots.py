"""The pod-level figures: pods by state per workload, pending pods by the scheduler's reason,
each capped container's memory against its limit, and each image pull.

Each shows one replication (the first unless asked) and is drawn from what
:mod:`hpsim.observe.timelines` derives from the records. ``res.plot.timeline()``
and the others call these with the run's :class:`~hpsim.observe.plots.Plots`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from hpsim.observe import timelines as tl
from hpsim.observe.figstyle import (
    FIT_HEADROOM,
    GIB,
    LITERAL,
    MARK_COLOURS,
    MIB,
    REASON_COLOURS,
    STATE_COLOURS,
    STATE_LABELS,
    hours_axis,
    legend_below,
    short,
)

if TYPE_CHECKING:
    from hpsim.observe.plots import Plots

TIMELINE_MAX_LANES = 10  # workloads with a lane of their own; the rest share one
PENDING_MAX_REASONS = 6  # scheduler reasons with a colour of their own; the rest are "other"
MEMORY_MAX_PANELS = 6  # capped containers drawn, those with the most refusals first
PULLS_MAX_ROWS = 30  # pulls drawn one by one; past it, the slowest pull of each image


def timeline(p: Plots, replication: int = 0) -> Figure:
    """How many pods of each workload are in each state over time, and what the node did.

    One lane per workload (the ``TIMELINE_MAX_LANES`` with the most pods; the rest
    share a lane): a stack of its pods pending, creating, pulling, running, in
    back-off and terminating, and on a right axis those failed or evicted and not
    yet deleted. Rollouts and scalings are marked in their workload's lane. Above,
    the node's row: evictions, image GC deletions, FreeDiskSpaceFailed and the
    spans under disk pressure.
    """
    blank = p.blank_figure("timeline", replication)
    if blank is not None:
        return blank
    res = p.res
    states = p.derive("states", replication)
    events = tl.one_replication(res, "events", replication)
    pods = tl.one_replication(res, "pods", replication)
    pods = pods[pods["phase"] != "Refused"] if not pods.empty else pods
    lanes = _lanes(states, pods)
    marks = _node_marks(events, tl.one_replication(res, "gc", replication))
    end = res.duration
    heights = ([0.22 * len(marks) + 0.3] if marks else []) + [1.0] * len(lanes)
    fig = Figure(figsize=(10, 1.9 + sum(heights) * 1.15), layout="constrained")
    grid = fig.subplots(len(heights), 1, sharex=True, height_ratios=heights, squeeze=False)
    axes = list(grid[:, 0])
    if marks:
        _draw_marks(axes.pop(0), marks, end)
    live = [s for s in tl.STATES if s != "failed"]
    scaled = workload_events(events)
    for ax, (label, names) in zip(axes, lanes, strict=True):
        segs = states[states["workload"].isin(names)]
        counts = tl.counts_over_time(segs, "state", tl.STATES)
        x = np.append(counts.index.to_numpy(float), end)
        stack = [np.append(counts[s].to_numpy(float), 0.0) for s in live]
        ax.stackplot(
            x,
            np.vstack(stack),
            colors=[STATE_COLOURS[s] for s in live],
            labels=[STATE_LABELS[s] for s in live],
            step="post",
            lw=0,
        )
        top = max(1.0, float(np.vstack(stack).sum(axis=0).max()))
        ax.set_ylim(0, top * 1.1)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))
        ax.set_ylabel("pods")
        failed = counts["failed"].to_numpy(float)
        if failed.any():
            right = ax.twinx()
            right.step(
                x,
                np.append(failed, failed[-1]),
                where="post",
                color=STATE_COLOURS["failed"],
                lw=1.2,
            )
            right.set_ylim(0, failed.max() * 1.1)
            right.set_ylabel("failed", color=STATE_COLOURS["failed"], fontsize=8)
            right.tick_params(axis="y", labelsize=7, colors=STATE_COLOURS["failed"])
        for t, what in scaled.get(label, []):
            ax.axvline(t, color=MARK_COLOURS["rollout, scale"], lw=1.2, ls="--")
            ax.text(
                t,
                top * 1.08,
                f" {what}",
                fontsize=7,
                va="top",
                color=MARK_COLOURS["rollout, scale"],
            )
        n = int(segs["pod"].nunique())
        evicted = _count_evicted(events, set(segs["pod"]))
        extra = f", {evicted:,} evicted" if evicted else ""
        ax.set_title(f"{label}: {count(n, 'pod')}{extra}", loc="left", fontsize=9, **LITERAL)
    hours_axis(axes[-1], end)
    from matplotlib.patches import Patch

    handles = [Patch(color=STATE_COLOURS[s], label=STATE_LABELS[s]) for s in tl.STATES]
    fig.legend(handles=handles, loc="outside lower center", fontsize=8, ncols=4)
    fig.suptitle(p.one_title("pods by state, per workload", replication), **LITERAL)
    return fig


def pending(p: Plots, replication: int = 0) -> Figure:
    """Pods waiting for the scheduler over time, by its latest FailedScheduling reason."""
    blank = p.blank_figure("pending", replication)
    if blank is not None:
        return blank
    segs = p.derive("pending", replication)
    length = (segs["end_s"] - segs["start_s"]).groupby(segs["reason"]).sum()
    order = list(length.sort_values(ascending=False, kind="stable").index)
    if len(order) > PENDING_MAX_REASONS:
        keep = order[: PENDING_MAX_REASONS - 1]
        segs = segs.assign(reason=segs["reason"].where(segs["reason"].isin(keep), "other"))
        order = [*keep, "other"]
    counts = tl.counts_over_time(segs, "reason", order)
    end = p.res.duration
    x = np.append(counts.index.to_numpy(float), end)
    fig = Figure(figsize=(10, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.stackplot(
        x,
        np.vstack([np.append(counts[r].to_numpy(float), 0.0) for r in order]),
        colors=[REASON_COLOURS[k % len(REASON_COLOURS)] for k in range(len(order))],
        labels=[short(r, 90) for r in order],
        step="post",
        lw=0,
    )
    ax.set_ylim(0, max(1.0, float(counts.sum(axis=1).max())) * FIT_HEADROOM)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("pods pending")
    hours_axis(ax, end)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        fontsize=8,
        ncols=2,
        title="the scheduler's latest reason (FailedScheduling)",
        title_fontsize=8,
        prop={"size": 8},
    )
    for text in fig.legends[0].get_texts():
        text.set(**LITERAL)
    ax.set_title(p.one_title("pods pending, by the scheduler's reason", replication), **LITERAL)
    return fig


def container_memory(p: Plots, replication: int = 0) -> Figure:
    """Each capped container's committed memory over time against its job memory limit.

    Per container (those with the most refusals first): one line per instance from
    its start to its end, held at the limit once it gets there (a degrading
    container carries on at its cap); a cross at every allocation its job object
    refused (a triangle where the node's commit limit refused it), at the commit
    kubelet's event states. The records hold no per-container memory over time:
    an instance's start commit and growth are read off the node's memory series
    where it started alone at its instant (see :func:`timelines.container_memory`);
    the others are counted in the panel's title, not drawn. Spikes are not drawn.
    """
    blank = p.blank_figure("container_memory", replication)
    if blank is not None:
        return blank
    from matplotlib.collections import LineCollection

    res = p.res
    inst = p.derive("instances", replication)
    refused = p.derive("refusals", replication)
    limits = tl.memory_limits(res)
    workload = tl.workload_of(res, replication)
    refused = refused.assign(workload=refused["pod"].map(lambda pod: workload.get(pod, pod)))
    keys = list(dict.fromkeys(zip(inst["workload"], inst["container"], strict=True)))
    n_refused = _refused_counts(res, replication, keys, refused)
    keys.sort(key=lambda k: (-n_refused[k], k))
    shown = keys[:MEMORY_MAX_PANELS]
    end = res.duration
    fig = Figure(figsize=(10, 1.3 + 2.3 * len(shown)), layout="constrained")
    axes = fig.subplots(len(shown), 1, sharex=True, squeeze=False)[:, 0]
    for ax, key in zip(axes, shown, strict=True):
        rows = inst[(inst["workload"] == key[0]) & (inst["container"] == key[1])]
        limit = limits.get(key)
        known = rows[rows["start_bytes"].notna()]
        paths = [
            tl.instance_path(
                r.started_s,
                r.start_bytes,
                r.growth_bytes_per_s,
                r.ended_s if tl.finite(r.ended_s) else end,
                limit,
            )
            for r in known.itertuples(index=False)
        ]
        hits = refused[(refused["workload"] == key[0]) & (refused["container"] == key[1])]
        peak = max([limit or 0.0, *(v for p in paths for _, v in p), *hits["bytes"].tolist(), 1.0])
        unit, div = ("MiB", MIB) if peak < 1000 * MIB else ("GiB", GIB)
        if paths:
            ax.add_collection(
                LineCollection(
                    [[(t, v / div) for t, v in p] for p in paths],
                    colors="C0",
                    linewidths=1,
                    alpha=0.7,
                    label="committed by an instance",
                )
            )
        for by, marker, label in (
            ("job", "x", "allocation refused by the job object"),
            ("node", "^", "allocation refused by the node's commit limit"),
        ):
            h = hits[hits["by"] == by]
            if len(h):
                ax.scatter(
                    h["time_s"],
                    h["bytes"] / div,
                    marker=marker,
                    color="C3",
                    s=18,
                    lw=1,
                    label=label,
                    zorder=3,
                )
        if limit:
            ax.axhline(
                limit / div,
                color="C3",
                ls="--",
                lw=1,
                label=f"job memory limit ({limit / div:,.0f} {unit})",
            )
        ax.set_xlim(0, end)
        ax.set_ylim(0, peak / div * 1.12)
        ax.set_ylabel(f"committed ({unit})")
        at_start = int(rows["refused_at_start"].sum())
        missing = len(rows) - len(known) - at_start
        parts = [count(len(rows), "instance")]
        if at_start:
            parts[0] += f" ({at_start:,} refused at their start)"
        parts.append(count(n_refused[key], "refused allocation"))
        notes = []
        if missing:
            notes.append(f"{count(missing, 'instance')} not attributable, not drawn")
        below = hits[(hits["by"] == "job") & (hits["bytes"] < 0.99 * (limit or 0.0))]
        if len(below):
            notes.append("a cross under the limit: a refused spike (spikes are in no record)")
        title = f"{key[0]} / {key[1]}: " + ", ".join(parts)
        if notes:
            title += "\n" + "; ".join(notes)
        ax.set_title(title, loc="left", fontsize=9, **LITERAL)
    hours_axis(axes[-1], end)
    handles: dict[str, Any] = {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label if "job memory limit" not in label else "limit", h)
    from matplotlib.lines import Line2D

    if "limit" in handles:
        handles["limit"] = Line2D([], [], color="C3", ls="--", lw=1)
    labels = [("job memory limit" if k == "limit" else k) for k in handles]
    fig.legend(list(handles.values()), labels, loc="outside lower center", fontsize=8, ncols=2)
    more = len(keys) - len(shown)
    extra = f" ({len(shown)} of {len(keys)} capped containers)" if more else ""
    fig.suptitle(p.one_title(f"container memory against its limit{extra}", replication), **LITERAL)
    return fig


def pulls(p: Plots, replication: int = 0) -> Figure:
    """Each image pull from kubelet's request: waiting for the puller, downloading, unpacking.

    A row per pull (past ``PULLS_MAX_ROWS`` pulls, a row per image with the mean
    of its pulls): grey from kubelet's request to the puller letting it through,
    then in the upper half the download (to the last layer in the content store)
    and in the lower half the time spent applying layers, ending when the pull
    does. The two overlap: a layer is unpacked while later ones download.
    """
    blank = p.blank_figure("pulls", replication)
    if blank is not None:
        return blank
    pulls = tl.one_replication(p.res, "pulls", replication).copy()
    base = pulls["queued_s"].to_numpy(float)
    started = pulls["started_s"].to_numpy(float)
    failed_first = np.isnan(started)
    started = np.where(failed_first, pulls["finished_s"].to_numpy(float), started)
    pulls["wait"] = started - base
    pulls["download"] = np.where(failed_first, 0.0, pulls["download_s"].to_numpy(float))
    pulls["total"] = pulls["finished_s"].to_numpy(float) - base
    pulls["unpack"] = np.where(failed_first, 0.0, pulls["unpack_s"].to_numpy(float))
    pulls["failed"] = pulls["error"].astype(str) != ""
    if len(pulls) <= PULLS_MAX_ROWS:
        rows = pulls.sort_values("queued_s", kind="stable")
        labels = [
            short(r.image) + f" at {when(r.queued_s, p.res.duration)}"
            for r in rows.itertuples(index=False)
        ]
    else:
        # One row per image: its slowest pull (the one a pod waited longest for).
        size = pulls.groupby("image", sort=True).size()
        rows = pulls.sort_values(["total", "queued_s"], ascending=[False, True], kind="stable")
        rows = rows.drop_duplicates("image").head(PULLS_MAX_ROWS)
        labels = [
            f"{short(r.image)} (slowest of {size[r.image]:,})"
            if size[r.image] > 1
            else f"{short(r.image)} at {when(r.queued_s, p.res.duration)}"
            for r in rows.itertuples(index=False)
        ]
    longest = float(rows["total"].max()) if len(rows) else 0.0
    unit, div = ("s", 1.0) if longest < 120 else ("min", 60.0)
    y = np.arange(len(rows))
    fig = Figure(figsize=(10, 1.8 + 0.32 * len(rows)), layout="constrained")
    ax = fig.add_subplot()
    wait = rows["wait"].to_numpy(float) / div
    down = rows["download"].to_numpy(float) / div
    unpack = rows["unpack"].to_numpy(float) / div
    total = rows["total"].to_numpy(float) / div
    ax.barh(y, wait, 0.8, color="0.8", label="waiting for the puller")
    ax.barh(y - 0.2, down, 0.4, left=wait, color="#3182bd", label="downloading layers")
    ax.barh(
        y + 0.2,
        unpack,
        0.4,
        left=total - unpack,
        color="#fd8d3c",
        label="unpacking layers (overlaps the download)",
    )
    bad = rows["failed"].to_numpy(bool)
    if bad.any():
        ax.barh(
            y[bad],
            total[bad],
            0.8,
            fill=False,
            hatch="///",
            edgecolor="C3",
            lw=0,
            label="failed",
        )
    ax.set_yticks(y, labels=labels, fontsize=7, **LITERAL)
    ax.invert_yaxis()
    ax.set_xlim(0, max(longest / div, 1e-9) * 1.05)
    ax.set_xlabel(f"time from kubelet's request ({unit})")
    legend_below(fig, ax, ncols=4)
    n = len(pulls)
    what = "image pulls" if n <= PULLS_MAX_ROWS else f"{n:,} image pulls, the slowest per image"
    ax.set_title(p.one_title(what, replication), **LITERAL)
    return fig


def count(n: int, noun: str) -> str:
    """'1 pod', '1,347 pods'."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _refused_counts(
    res: Any, replication: int, keys: list[tuple[str, str]], refused: pd.DataFrame
) -> dict[tuple[str, str], int]:
    """Allocations refused per capped container: the pods' ``alloc_failures`` where the
    workload has one capped container (a degrading container's refusals are in no event),
    else the ``Failed`` events that name the container."""
    pods = tl.one_replication(res, "pods", replication)
    by_workload = pods.groupby("workload")["alloc_failures"].sum() if not pods.empty else {}
    per_workload: dict[str, int] = {}
    for w, _c in keys:
        per_workload[w] = per_workload.get(w, 0) + 1
    out = {}
    for k in keys:
        if per_workload[k[0]] == 1:
            out[k] = int(by_workload.get(k[0], 0))
        else:
            out[k] = int(((refused["workload"] == k[0]) & (refused["container"] == k[1])).sum())
    return out


def _lanes(states: pd.DataFrame, pods: pd.DataFrame) -> list[tuple[str, list[str]]]:
    """(lane label, workloads) in order of first creation: the ``TIMELINE_MAX_LANES``
    workloads with the most pods have a lane each, the rest share the last."""
    order = list(dict.fromkeys(pods["workload"].astype(str))) if not pods.empty else []
    order += [w for w in dict.fromkeys(states["workload"].astype(str)) if w not in order]
    order = [w for w in order if w in set(states["workload"])]
    if len(order) <= TIMELINE_MAX_LANES:
        return [(w, [w]) for w in order]
    size = states.groupby("workload")["pod"].nunique()
    ranked = sorted(order, key=lambda w: (-int(size.get(w, 0)), order.index(w)))
    own = set(ranked[: TIMELINE_MAX_LANES - 1])
    rest = [w for w in order if w not in own]
    return [(w, [w]) for w in order if w in own] + [(f"{len(rest)} other workloads", rest)]


def _node_marks(events: pd.DataFrame, gc: pd.DataFrame) -> dict[str, list[tuple[float, float]]]:
    """What the node did, as (start, length) spans per row (instants get length 0)."""
    marks: dict[str, list[tuple[float, float]]] = {}
    if events.empty:
        return marks
    reason, kind = events["reason"], events["kind"]
    times = events["time_s"].astype(float)

    def instants(mask: pd.Series) -> list[tuple[float, float]]:
        return [(t, 0.0) for t in times[mask]]

    evicted = instants((reason == "Evicted") & (kind == "Pod"))
    collected = [(float(t), 0.0) for t in gc["time_s"]] if not gc.empty else []
    failed = instants(reason == "FreeDiskSpaceFailed")
    pressure: list[tuple[float, float]] = []
    since: float | None = None
    for t, r in zip(times, reason, strict=True):
        if r == "NodeHasDiskPressure" and since is None:
            since = t
        elif r == "NodeHasNoDiskPressure" and since is not None:
            pressure.append((since, t - since))
            since = None
    if since is not None:
        pressure.append((since, float(times.max()) - since if len(times) else 0.0))
        pressure[-1] = (since, max(pressure[-1][1], 0.0))
    changed = instants((kind == "Workload") & reason.isin(("Rollout", "Scaled")))
    for name, spans in (
        ("evicted", evicted),
        ("image GC", collected),
        ("FreeDiskSpaceFailed", failed),
        ("disk pressure", pressure),
        ("rollout, scale", changed),
    ):
        if spans:
            marks[name] = spans
    return marks


def _draw_marks(ax: Any, marks: dict[str, list[tuple[float, float]]], end: float) -> None:
    """The node's row: ticks at instants, bars over spans, a row per kind, counted."""
    names = list(marks)
    for row, name in enumerate(names):
        spans = marks[name]
        colour = MARK_COLOURS[name]
        if name == "disk pressure":
            # A span shorter than a pixel still shows: at least 1/500 of the run.
            ax.broken_barh(
                [(a, max(w, end / 500)) for a, w in spans], (row - 0.35, 0.7), facecolors=colour
            )
        else:
            ax.vlines([a for a, _ in spans], row - 0.35, row + 0.35, colors=colour, lw=0.8)
    labels = [f"{n} ({len(marks[n]):,}{' spans' if n == 'disk pressure' else ''})" for n in names]
    ax.set_yticks(range(len(names)), labels=labels, fontsize=7)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlim(0, end)
    ax.tick_params(axis="y", length=0)
    ax.set_title("the node", loc="left", fontsize=9)


def workload_events(events: pd.DataFrame) -> dict[str, list[tuple[float, str]]]:
    """Per workload: (time, "rollout" or "scaled to N") of the scenario's events on it."""
    out: dict[str, list[tuple[float, str]]] = {}
    if events.empty:
        return out
    rows = events[(events["kind"] == "Workload") & events["reason"].isin(("Rollout", "Scaled"))]
    for t, wl, reason, message in zip(
        rows["time_s"], rows["object"], rows["reason"], rows["message"], strict=True
    ):
        what = "rollout" if reason == "Rollout" else str(message).replace("replicas ", "scaled to ")
        out.setdefault(str(wl), []).append((float(t), what))
    return out


def _count_evicted(events: pd.DataFrame, pods: set[str]) -> int:
    if events.empty:
        return 0
    evicted = events[(events["reason"] == "Evicted") & (events["kind"] == "Pod")]
    return int(evicted["object"].isin(pods).sum())


def when(seconds: float, duration: float) -> str:
    """An instant in the run's time unit (as the time axes show it)."""
    if duration <= 2 * 3600:
        return f"{seconds / 60:.1f} min"
    if duration <= 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"day {seconds / 86400:.1f}"
