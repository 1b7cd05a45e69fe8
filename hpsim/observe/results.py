"""Results: tidy pandas tables from one or more runs, and their headline numbers.

Tables (units in column names):

- ``pods``: one row per pod: created/scheduled/started/ready/finished/deleted
  times (s), phase, reason, restarts, allocation failures, pending_s, pull_s,
  start_latency_s (ready - created).
- ``events``: time_s, kind, object, type, reason, message (kubectl's words).
- ``series``: node state at each change (piecewise constant, except committed
  memory, which grows linearly at ``memory_commit_slope_bytes_per_s`` until
  the next row).
- ``images``: per image pulled: OS version, compressed and unpacked bytes,
  pulled and last used times, and ``new_bytes``: the compressed + unpacked bytes
  of the layers it was the first image in the run to bring.
- ``transitions``: every pod state change (time_s, pod, from, to).
- ``gc``: every image kubelet deleted: what it believed it freed (the compressed
  size) and what the volume got back (blobs and snapshots no other image shares).
- ``containers``: one row per container instance (each restart is a new one):
  started_s, ended_s (empty while it still runs at the end), exit_code (empty
  when it was killed), kubelet's reason (Completed, Error, Killed, Running) and
  memory_cap (it exited because its job object refused an allocation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hpsim.node.imagegc import IMAGE_GC_PERIOD_S
from hpsim.node.node import WindowsNode
from hpsim.node.scheduler import allocatable, default_eviction_hard, threshold_bytes
from hpsim.observe.recorder import SERIES_COLUMNS
from hpsim.observe.stats import combine
from hpsim.scenario.schema import NodeSpec, version_tuple

if TYPE_CHECKING:
    from hpsim.observe.plots import Plots
    from hpsim.scenario.load import LoadedScenario

POD_COLUMNS = (
    "pod",
    "workload",
    "kind",
    "namespace",
    "host_process",
    "revision",
    "created_s",
    "scheduled_s",
    "pull_started_s",
    "started_s",
    "ready_s",
    "finished_s",
    "deleted_s",
    "phase",
    "reason",
    "message",
    "restarts",
    "alloc_failures",
    "pending_s",
    "pull_s",
    "start_latency_s",
)


def _pods(node: WindowsNode) -> pd.DataFrame:
    rows = []
    for p in node.pods:
        pending = (p.scheduled - p.created) if p.scheduled is not None else np.nan
        rows.append(
            (
                p.name,
                p.workload,
                p.template.kind,
                p.template.namespace,
                p.host_process,
                p.revision,
                p.created,
                p.scheduled,
                p.pull_started,
                p.started,
                p.ready,
                p.finished,
                p.deleted,
                p.state,
                p.reason,
                p.message,
                p.restarts,
                p.alloc_failures,
                pending,
                p.pull_s,
                (p.ready - p.created) if p.ready is not None else np.nan,
            )
        )
    df = pd.DataFrame(rows, columns=list(POD_COLUMNS))
    for col in df.columns:
        if col.endswith("_s"):
            df[col] = df[col].astype("float64")
    return df


CONTAINER_COLUMNS = (
    "pod",
    "workload",
    "container",
    "init",
    "instance",
    "started_s",
    "ended_s",
    "exit_code",
    "reason",
    "memory_cap",
)


def _containers(node: WindowsNode) -> pd.DataFrame:
    workload = {p.name: p.workload for p in node.pods}
    rows = [
        (pod, workload[pod], name, init, instance, started, ended, code, _reason(code), capped)
        for pod, name, init, instance, started, ended, code, capped in node.rec.containers
    ]
    # Instances still running when the run ends.
    for p in node.pods:
        for c in p.containers:
            if c.running:
                running = (p.name, p.workload, c.spec.name, c.init, c.restarts, c.started_at)
                rows.append((*running, None, None, "Running", False))
    df = pd.DataFrame(rows, columns=list(CONTAINER_COLUMNS))
    df["ended_s"] = df["ended_s"].astype("float64")
    df["exit_code"] = df["exit_code"].astype("Int64")
    return df.sort_values(["started_s", "pod", "container"], kind="stable", ignore_index=True)


def _reason(code: int | None) -> str:
    """kubelet's terminated reason: Completed for exit 0, Error otherwise; Killed when stopped."""
    if code is None:
        return "Killed"
    return "Completed" if code == 0 else "Error"


def tables_from_node(node: WindowsNode) -> dict[str, pd.DataFrame]:
    """The run's tables, built once the simulation has ended."""
    rec = node.rec
    events = pd.DataFrame(
        rec.events, columns=["time_s", "kind", "object", "type", "reason", "message"]
    )
    series = pd.DataFrame(rec.series_rows, columns=["time_s", *SERIES_COLUMNS])
    images = pd.DataFrame(list(rec.images.values()))
    if images.empty:
        images = pd.DataFrame(
            columns=[
                "image",
                "os_version",
                "size_bytes",
                "unpacked_bytes",
                "layers",
                "pulled_s",
                "pinned",
                "last_used_s",
                "new_bytes",
            ]
        )
    transitions = pd.DataFrame(rec.transitions, columns=["time_s", "pod", "from", "to"])
    gc = pd.DataFrame(
        rec.gc,
        columns=[
            "time_s",
            "image",
            "reason",
            "believed_freed_bytes",
            "content_freed_bytes",
            "snapshot_freed_bytes",
        ],
    )
    return {
        "pods": _pods(node),
        "events": events,
        "series": series,
        "images": images,
        "transitions": transitions,
        "gc": gc,
        "containers": _containers(node),
    }


def _time_weighted_mean(series: pd.DataFrame, col: str, end: float) -> float:
    if series.empty:
        return 0.0
    t = series["time_s"].to_numpy()
    v = series[col].to_numpy()
    dt = np.diff(np.append(t, end))
    return float((v * dt).sum() / end) if end > 0 else 0.0


def _peak_commit(series: pd.DataFrame, end: float) -> float:
    if series.empty:
        return 0.0
    t = series["time_s"].to_numpy()
    c = series["memory_committed_bytes"].to_numpy()
    s = series["memory_commit_slope_bytes_per_s"].to_numpy()
    dt = np.diff(np.append(t, end))
    return float(np.max(np.maximum(c, c + s * dt)))


def _last(series: pd.DataFrame, col: str) -> float:
    return float(series[col].iloc[-1]) if len(series) else 0.0


def _at_interval_end(series: pd.DataFrame, col: str, slope: str, end: float) -> pd.Series:
    """Each row's value at the end of its interval (values grow linearly until the next row)."""
    dt = series["time_s"].shift(-1).fillna(end) - series["time_s"]
    return series[col] + series[slope] * dt


def _disk(tables: dict[str, pd.DataFrame], duration: float) -> dict[str, Any]:
    """Disk: actual versus accounted and their gap, image bytes by OS version, GC, evictions."""
    s, events, images = tables["series"], tables["events"], tables["images"]
    if s.empty:
        return {}
    actual_end = _at_interval_end(s, "disk_actual_bytes", "disk_actual_slope_bytes_per_s", duration)
    accounted_end = _at_interval_end(
        s, "disk_accounted_bytes", "disk_accounted_slope_bytes_per_s", duration
    )
    actual = pd.concat([s["disk_actual_bytes"], actual_end])
    accounted = pd.concat([s["disk_accounted_bytes"], accounted_end])
    gap = pd.concat(
        [s["disk_actual_bytes"] - s["disk_accounted_bytes"], actual_end - accounted_end]
    )
    full = events[events["reason"] == "DiskFull"]["time_s"]
    evicted = events[events["reason"] == "Evicted"]["time_s"]
    by_version: dict[str, float] = {}
    for row in images.itertuples(index=False):
        # No OS version: the HostProcess base image and images built on no Windows base.
        key = row.os_version if isinstance(row.os_version, str) and row.os_version else "none"
        # A layer shared by digest counts once, for the first image that brought it.
        by_version[key] = by_version.get(key, 0.0) + float(row.new_bytes)
    return {
        "disk_actual_bytes_peak": float(actual.max()),
        "disk_accounted_bytes_peak": float(accounted.max()),
        "disk_gap_bytes_peak": float(gap.max()),
        "disk_gap_bytes_end": float(actual_end.iloc[-1] - accounted_end.iloc[-1]),
        "disk_host_writes_bytes_end": _last(s, "disk_host_writes_bytes"),
        # What the volume holds that kubelet does not count, by owner, at the end.
        "disk_gap_by_owner_bytes_end": {
            "os": _last(s, "disk_os_bytes"),
            "content_store": _last(s, "disk_content_store_bytes"),
            "host_writes": _last(s, "disk_host_writes_bytes"),
        },
        "image_bytes_by_os_version": by_version,
        "disk_full_s": float(full.iloc[0]) if len(full) else None,
        "first_eviction_s": float(evicted.iloc[0]) if len(evicted) else None,
        "evictions": len(evicted),
        # kubelet runs GC every 5 min from its start; a pass due exactly at the end is not run.
        "image_gc_runs": max(0, math.ceil(duration / IMAGE_GC_PERIOD_S) - 1),
        "image_gc_deleted": len(tables["gc"]),
        "image_gc_believed_freed_bytes": float(tables["gc"]["believed_freed_bytes"].sum()),
        "image_gc_actual_freed_bytes": float(
            tables["gc"]["content_freed_bytes"].sum() + tables["gc"]["snapshot_freed_bytes"].sum()
        ),
        "image_gc_failures": int((events["reason"] == "FreeDiskSpaceFailed").sum()),
    }


def running_fraction(tables: dict[str, pd.DataFrame], duration: float) -> dict[str, float]:
    """Per workload: the fraction of its pods' lives its app containers spent running.

    A pod's life runs from its creation to its end (finished, deleted or the end
    of the run); pending, pulls, back-off and restarts all count as not running.
    """
    pods = tables["pods"]
    pods = pods[pods["phase"] != "Refused"]
    if pods.empty:
        return {}
    end = pods["finished_s"].fillna(pods["deleted_s"]).fillna(duration).clip(upper=duration)
    life = (end - pods["created_s"]).clip(lower=0.0)
    c = tables["containers"]
    app = c[~c["init"].astype(bool)]
    up = (app["ended_s"].fillna(duration).clip(upper=duration) - app["started_s"]).clip(lower=0.0)
    up_by_wl = up.groupby(app["workload"]).sum()
    # Each app container of a pod is exposed for the pod's whole life.
    n_app = app.groupby("pod")["container"].nunique()
    exposure = (life * pods["pod"].map(n_app).fillna(1.0)).groupby(pods["workload"]).sum()
    return {
        str(wl): float(up_by_wl.get(wl, 0.0) / total) if total > 0 else 0.0
        for wl, total in exposure.sort_index().items()
    }


def _q(values: pd.Series, q: float) -> float | None:
    values = values.dropna()
    return float(values.quantile(q)) if len(values) else None


def summarize(tables: dict[str, pd.DataFrame], duration: float) -> dict[str, Any]:
    """Headline numbers of one run (units in the names)."""
    pods, series = tables["pods"], tables["series"]
    refused = pods["phase"] == "Refused"
    initial = pods[(pods["created_s"] <= 0) & ~refused]
    fresh = None
    if len(initial) and initial["ready_s"].notna().all():
        fresh = float(initial["ready_s"].max())
    by_wl = pods.groupby("workload", sort=True)
    return {
        "duration_s": duration,
        "pods_created": len(pods),
        "pods_refused": int(refused.sum()),
        "pods_started": int(pods["started_s"].notna().sum()),
        "pods_per_node_max": int(series["pods_bound"].max()) if len(series) else 0,
        "pods_pending_at_end": int((pods["phase"] == "Pending").sum()),
        "pending_s_mean": float(pods["pending_s"].mean())
        if pods["pending_s"].notna().any()
        else None,
        "pending_s_p95": _q(pods["pending_s"], 0.95),
        "start_latency_s_p50": _q(pods["start_latency_s"], 0.50),
        "start_latency_s_p95": _q(pods["start_latency_s"], 0.95),
        "fresh_node_all_running_s": fresh,
        "restarts_total": int(pods["restarts"].sum()),
        "alloc_failures_total": int(pods["alloc_failures"].sum()),
        "restarts_by_workload": {str(k): int(v) for k, v in by_wl["restarts"].sum().items()},
        "alloc_failures_by_workload": {
            str(k): int(v) for k, v in by_wl["alloc_failures"].sum().items()
        },
        "running_fraction_by_workload": running_fraction(tables, duration),
        "images_pulled": len(tables["images"]),
        "image_content_bytes_end": _last(series, "disk_content_store_bytes"),
        "image_snapshot_bytes_end": _last(series, "disk_snapshots_bytes"),
        **_disk(tables, duration),
        "cpu_allocated_millicores_mean": _time_weighted_mean(
            series, "cpu_allocated_millicores", duration
        ),
        "memory_committed_bytes_peak": _peak_commit(series, duration),
    }


def node_facts(spec: NodeSpec) -> dict[str, Any]:
    """The node's sizes and thresholds, as the figures and the report draw them."""
    alloc = allocatable(spec)
    k = spec.kubelet
    hard = k.eviction_hard
    if hard is None:
        hard = default_eviction_hard(spec.kubernetes)
    nodefs = hard.get("nodefs.available")
    return {
        "os_build": spec.os_build,
        "kubernetes": spec.kubernetes,
        "containerd": spec.containerd.version,
        "cpu_millicores": spec.cpu * 1000,
        "allocatable_cpu_millicores": alloc.cpu_m,
        "memory_bytes": spec.memory,
        "pagefile_bytes": spec.pagefile,
        "commit_limit_bytes": spec.memory + spec.pagefile,
        "allocatable_memory_bytes": alloc.memory,
        "max_pods": alloc.pods,
        "disk_bytes": spec.disk,
        "image_gc_high_percent": k.image_gc_high_threshold_percent,
        "image_gc_low_percent": k.image_gc_low_threshold_percent,
        "eviction_nodefs_bytes": threshold_bytes(nodefs, spec.disk) if nodefs else None,
        # The Windows kubelet enforces hard eviction from 1.31 (ref §4.5).
        "eviction_enforced": version_tuple(spec.kubernetes) >= (1, 31, 0),
    }


def scenario_meta(loaded: LoadedScenario) -> dict[str, Any]:
    """What a report needs of the scenario besides the tables: description, node, workloads."""
    workloads = []
    for plan in loaded.workloads:
        spec = plan.spec
        host_writes = float(spec.profile.host_writes) + sum(
            float(p.host_writes) - float(spec.profile.host_writes) for p in spec.containers.values()
        )
        workloads.append(
            {
                "name": plan.name,
                "kind": plan.template.kind,
                "namespace": plan.template.namespace,
                "host_process": bool(plan.template.host_process),
                "host_writes_bytes_per_s": max(0.0, host_writes),
                "on_memory_cap": spec.on_memory_cap,
            }
        )
    return {
        "digest": loaded.digest,
        "description": loaded.scenario.description,
        "node": node_facts(loaded.scenario.node),
        "workloads": workloads,
    }


class TableViews:
    """Each table as an attribute: ``res.pods``, ``res.events``, ... (``tables`` by name)."""

    tables: dict[str, pd.DataFrame]

    @property
    def pods(self) -> pd.DataFrame:
        return self.tables["pods"]

    @property
    def events(self) -> pd.DataFrame:
        return self.tables["events"]

    @property
    def series(self) -> pd.DataFrame:
        return self.tables["series"]

    @property
    def images(self) -> pd.DataFrame:
        return self.tables["images"]

    @property
    def transitions(self) -> pd.DataFrame:
        return self.tables["transitions"]

    @property
    def containers(self) -> pd.DataFrame:
        return self.tables["containers"]


@dataclass
class Results(TableViews):
    """What ``hpsim.run`` returns: tables and a summary, per replication."""

    scenario: str
    seed: int
    duration: float
    tables: dict[str, pd.DataFrame]
    summaries: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    # The summary as read back from a results folder (summary.json), when the
    # per-replication summaries are not at hand.
    combined: dict[str, Any] | None = None

    @property
    def plot(self) -> Plots:
        """The run's figures: ``res.plot.disk()``, ``res.plot.timeline()``, ... (see plots.py)."""
        from hpsim.observe.plots import Plots

        return Plots(self)

    def summary(self) -> dict[str, Any]:
        """Headline numbers; over replications each number is mean, 95% half-width and n."""
        if self.combined is not None:
            return dict(self.combined)
        if len(self.summaries) == 1:
            return dict(self.summaries[0])
        return combine(self.summaries)
