"""Results: tidy pandas tables from one or more runs, and their headline numbers.

Built from a recorder's records alone (``tables_from_records``): nothing here
imports the model or reads it after a run; settings the answers need (the
node's allocatable, eviction thresholds) come from ``hpsim.scenario.derived``,
the same functions the model calls.

Tables (units in column names):

- ``pods``: one row per pod: created/scheduled/started/ready/finished/deleted
  times (s), phase, reason, restarts, allocation failures, pending_s, pull_s,
  start_latency_s (first ready - created), ready_duration_s (time its Ready
  condition was true) and status: what ``kubectl get pods`` prints as STATUS at
  the end ("" once Deleted, or Refused).
- ``events``: time_s, kind, object, type, reason, message (kubectl's words).
- ``series``: node state at each change (piecewise constant, except committed
  memory, which grows linearly at ``memory_commit_slope_bytes_per_s`` until
  the next row).
- ``images``: per image pulled: OS version, compressed and unpacked bytes,
  pulled and last used times, and ``new_bytes``: the compressed + unpacked bytes
  of the layers it was the first image in the run to bring.
- ``transitions``: every pod state change (time_s, pod, from, to) and every change
  of what kubectl shows for it (from = to): its STATUS from then on (status) and
  its Ready condition (ready).
- ``gc``: every image kubelet deleted: what it believed it freed (the compressed
  size) and what the volume got back (blobs and snapshots no other image shares).
- ``containers``: one row per container instance (each restart is a new one):
  started_s, ended_s (empty while it still runs at the end), exit_code (empty
  when it was killed), kubelet's reason (Completed, Error, Killed, Running) and
  memory_cap (it exited because its job object refused an allocation).
- ``pulls``: one row per pull kubelet asked containerd for: queued, started,
  downloaded and finished times, bytes downloaded and unpacked by this pull,
  seconds downloading and applying layers (the two overlap), error.
- ``writes``: one row per writer: a container instance's scratch and logs (``instance``:
  its restart count; each start has new ones), a container's emptyDir and host-path
  writes: first write, when its bytes were deleted or left behind (released_s), bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hpsim.facts import ContainerRecord, GCRecord, PodRecord, PullRecord, WriteRecord
from hpsim.observe.findings import Finding, findings
from hpsim.observe.recorder import SERIES_COLUMNS, Recorder
from hpsim.observe.stats import combine
from hpsim.scenario.admission import effective_containers
from hpsim.scenario.derived import (
    allocatable,
    commit_limit,
    eviction_enforced,
    eviction_thresholds,
    unpack_throughput,
)
from hpsim.scenario.schema import NodeSpec
from hpsim.words import Quote

if TYPE_CHECKING:
    from hpsim.observe.plots import Plots
    from hpsim.scenario.load import LoadedScenario

# The pods table: a pod's record (less its uid) and three figures derived from it.
POD_COLUMNS = (
    *PodRecord._fields[1 : PodRecord._fields.index("pull_s")],
    "pending_s",
    "pull_s",
    "start_latency_s",
    "ready_duration_s",
    "status",
)


def _frame(records: list[Any], columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=list(columns))


def _pods(rec: Recorder) -> pd.DataFrame:
    last = PodRecord._fields.index("pull_s")
    rows = [
        (
            *r[1:last],
            (r.scheduled_s - r.created_s) if r.scheduled_s is not None else np.nan,
            r.pull_s,
            (r.ready_s - r.created_s) if r.ready_s is not None else np.nan,
            r.ready_duration_s,
            r.status,
        )
        for r in rec.pods
    ]
    df = _frame(rows, POD_COLUMNS)
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


def _containers(rec: Recorder) -> pd.DataFrame:
    rows = [(*r[:-1], _reason(r), r.memory_cap) for r in rec.containers]
    df = _frame(rows, CONTAINER_COLUMNS)
    df["ended_s"] = df["ended_s"].astype("float64")
    df["exit_code"] = df["exit_code"].astype("Int64")
    return df.sort_values(["started_s", "pod", "container"], kind="stable", ignore_index=True)


def _reason(r: ContainerRecord) -> str:
    """kubelet's terminated reason: Completed for exit 0, Error otherwise; Killed when
    stopped; Running for an instance still running at the end."""
    if r.ended_s is None:
        return "Running"
    if r.exit_code is None:
        return "Killed"
    return "Completed" if r.exit_code == 0 else "Error"


IMAGE_COLUMNS = (
    "image",
    "os_version",
    "size_bytes",
    "unpacked_bytes",
    "layers",
    "pulled_s",
    "pinned",
    "last_used_s",
    "new_bytes",
)


def tables_from_records(rec: Recorder) -> dict[str, pd.DataFrame]:
    """The run's tables, from what the model emitted."""
    events = pd.DataFrame(
        rec.events, columns=["time_s", "kind", "object", "type", "reason", "message"]
    )
    series = pd.DataFrame(rec.series_rows, columns=["time_s", *SERIES_COLUMNS])
    images = pd.DataFrame(list(rec.images.values()))
    if images.empty:
        images = pd.DataFrame(columns=list(IMAGE_COLUMNS))
    transitions = pd.DataFrame(
        rec.transitions, columns=["time_s", "pod", "from", "to", "status", "ready"]
    )
    pulls = _frame(rec.pulls, PullRecord._fields)
    for col in ("started_s", "downloaded_s"):
        pulls[col] = pulls[col].astype("float64")
    return {
        "pods": _pods(rec),
        "events": events,
        "series": series,
        "images": images,
        "transitions": transitions,
        "gc": _frame(rec.gcs, GCRecord._fields),
        "containers": _containers(rec),
        "pulls": pulls,
        "writes": _writes(rec),
    }


def _writes(rec: Recorder) -> pd.DataFrame:
    df = _frame(rec.writes, WriteRecord._fields)
    df["instance"] = df["instance"].astype("Int64")  # empty for emptyDir and host writes
    return df


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


# Below this the volume is not growing (a slope left by float rounding, 86 bytes a day).
_GROWING_BYTES_PER_S = 1e-3


def host_writes_rates(writes: pd.DataFrame, duration: float) -> dict[str, float]:
    """Per workload: what its containers wrote to host paths, per second it had writers.

    Measured from the writers' records: the bytes all its pods' containers wrote,
    over the union of its writers' lives (first write to the pod's release, or the
    end of the run). Three replicas writing 1 GiB/day each at once come out at
    3 GiB/day; a pod evicted and replaced by another is counted once, and the gap
    between them not at all. A writer held back by a full volume wrote less than
    its profile asks, and so does the figure.
    """
    host = writes[(writes["owner"] == "host_writes") & (writes["bytes"] > 0)]
    out: dict[str, float] = {}
    for wl, rows in host.groupby("workload", sort=True):
        ends = rows["released_s"].fillna(duration).clip(upper=duration).to_numpy(float)
        span = _union_length(rows["first_write_s"].to_numpy(float), ends)
        if span > 0:
            out[str(wl)] = float(rows["bytes"].sum()) / span
    return out


def _union_length(starts: np.ndarray, ends: np.ndarray) -> float:
    """The length of the union of the intervals [starts[i], ends[i]]."""
    total, reach = 0.0, -math.inf
    for start, end in sorted(zip(starts.tolist(), ends.tolist(), strict=True)):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return total


def _disk(
    tables: dict[str, pd.DataFrame], duration: float, gc_runs: int, capacity: float
) -> dict[str, Any]:
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
    # At the end's growth (every writer and the node's own), when the volume would be full.
    slope_end = float(s["disk_actual_slope_bytes_per_s"].iloc[-1])
    free_end = capacity - float(actual_end.iloc[-1]) if capacity else 0.0
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
        "host_writes_bytes_per_s_by_workload": host_writes_rates(tables["writes"], duration),
        "disk_full_in_s_after_end": (
            max(0.0, free_end) / slope_end if slope_end > _GROWING_BYTES_PER_S else None
        ),
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
        "image_gc_runs": gc_runs,
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


def ready_fraction(tables: dict[str, pd.DataFrame], duration: float) -> dict[str, float]:
    """Per workload: the share of its pods' lives (creation to end, as for
    ``running_fraction``) their Ready condition was true: its availability. A pod in
    CrashLoopBackOff, pulling or waiting for the scheduler is not Ready."""
    pods = tables["pods"]
    pods = pods[pods["phase"] != "Refused"]
    if pods.empty:
        return {}
    end = pods["finished_s"].fillna(pods["deleted_s"]).fillna(duration).clip(upper=duration)
    life = (end - pods["created_s"]).clip(lower=0.0).groupby(pods["workload"]).sum()
    ready = pods["ready_duration_s"].groupby(pods["workload"]).sum()
    return {
        str(wl): float(ready.get(wl, 0.0) / total) if total > 0 else 0.0
        for wl, total in life.sort_index().items()
    }


def _q(values: pd.Series, q: float) -> float | None:
    values = values.dropna()
    return float(values.quantile(q)) if len(values) else None


def pull_share(pods: pd.DataFrame) -> float | None:
    """The share of start latency (created to ready) that image pulls took, over the pods
    that became ready: their pull time (waits in kubelet's puller included) over their
    start latency, both summed. None when no pod became ready or none waited at all."""
    ready = pods[pods["start_latency_s"].notna()]
    total = float(ready["start_latency_s"].sum())
    return float(ready["pull_s"].sum()) / total if total > 0 else None


def summarize(
    tables: dict[str, pd.DataFrame], duration: float, *, disk_bytes: float, image_gc_runs: int
) -> dict[str, Any]:
    """Headline numbers of one run (units in the names).

    ``disk_bytes`` is the volume's size, ``image_gc_runs`` the GC passes kubelet ran
    (recorded facts, not tables).
    """
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
        "pull_share_of_start_latency": pull_share(pods),
        "fresh_node_all_running_s": fresh,
        "restarts_total": int(pods["restarts"].sum()),
        "alloc_failures_total": int(pods["alloc_failures"].sum()),
        "restarts_by_workload": {str(k): int(v) for k, v in by_wl["restarts"].sum().items()},
        "alloc_failures_by_workload": {
            str(k): int(v) for k, v in by_wl["alloc_failures"].sum().items()
        },
        "running_fraction_by_workload": running_fraction(tables, duration),
        "ready_fraction_by_workload": ready_fraction(tables, duration),
        "images_pulled": len(tables["images"]),
        "image_content_bytes_end": _last(series, "disk_content_store_bytes"),
        "image_snapshot_bytes_end": _last(series, "disk_snapshots_bytes"),
        **_disk(tables, duration, image_gc_runs, disk_bytes),
        "cpu_allocated_millicores_mean": _time_weighted_mean(
            series, "cpu_allocated_millicores", duration
        ),
        "memory_committed_bytes_peak": _peak_commit(series, duration),
    }


def node_facts(spec: NodeSpec) -> dict[str, Any]:
    """The node's sizes and thresholds, as the figures and the report draw them."""
    alloc = allocatable(spec)
    k = spec.kubelet
    return {
        "os_build": spec.os_build,
        "kubernetes": spec.kubernetes,
        "containerd": spec.containerd.version,
        "cpu_millicores": spec.cpu * 1000,
        "allocatable_cpu_millicores": alloc.cpu_m,
        "memory_bytes": spec.memory,
        "pagefile_bytes": spec.pagefile,
        "commit_limit_bytes": commit_limit(spec),
        "allocatable_memory_bytes": alloc.memory,
        "max_pods": alloc.pods,
        "disk_bytes": spec.disk,
        "image_gc_high_percent": k.image_gc_high_threshold_percent,
        "image_gc_low_percent": k.image_gc_low_threshold_percent,
        "eviction_nodefs_bytes": eviction_thresholds(spec).nodefs_available,
        "eviction_enforced": eviction_enforced(spec),
        "network_bytes_per_s": spec.network,
        "unpack_bytes_per_s": spec.unpack_rate,
        "antivirus_scanning": spec.antivirus.real_time_scanning,
        "antivirus_unpack_slowdown": spec.antivirus.unpack_slowdown,
        "unpack_throughput_bytes_per_s": unpack_throughput(spec),
    }


def scenario_meta(loaded: LoadedScenario) -> dict[str, Any]:
    """What a report needs of the scenario besides the tables: description, node, workloads."""
    workloads = [
        {
            "name": plan.name,
            "kind": plan.template.kind,
            "namespace": plan.template.namespace,
            "host_process": bool(plan.template.host_process),
            "on_memory_cap": plan.spec.on_memory_cap,
            # The job memory limit of each container that has one, as the model applies it.
            "memory_limits_bytes": {
                c.name: c.job_memory_limit_bytes
                for c in effective_containers(plan.template.raw_spec, loaded.scenario.node.cpu)
                if c.job_memory_limit_bytes is not None
            },
        }
        for plan in loaded.workloads
    ]
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

    @property
    def gc(self) -> pd.DataFrame:
        return self.tables["gc"]

    @property
    def pulls(self) -> pd.DataFrame:
        return self.tables["pulls"]

    @property
    def writes(self) -> pd.DataFrame:
        return self.tables["writes"]


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
        """Headline numbers (over replications each is a record: mean, its 95% interval
        (low, high), n and the t half-width, :mod:`hpsim.observe.stats`), and under
        ``warnings`` what went wrong (:mod:`hpsim.observe.findings`)."""
        if self.combined is not None:
            return dict(self.combined)
        numbers = dict(self.summaries[0]) if len(self.summaries) == 1 else combine(self.summaries)
        return {**numbers, "warnings": [f.as_dict() for f in self.findings(numbers)]}

    def findings(self, numbers: dict[str, Any] | None = None, quote: Quote = str) -> list[Finding]:
        """The warnings of this run, with names passed through ``quote`` (the report's escaping)."""
        if numbers is None:
            numbers = {k: v for k, v in self.summary().items() if k != "warnings"}
        return findings(self.tables, numbers, self.meta, self.duration, quote)
