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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hpsim.facts import PodRecord
from hpsim.observe import pool as pl
from hpsim.observe.columns import Chunk, number_array
from hpsim.observe.findings import Finding, findings
from hpsim.observe.recorder import (
    EVENT_COLUMNS,
    ROW_TABLES,
    SERIES_COLUMNS,
    TRANSITION_COLUMNS,
    Recorder,
)
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
    "node",
)


def _frame(records: list[Any], columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=list(columns))


def frame_from_columns(
    arrays: Chunk, classes: dict[str, set[type]], columns: tuple[str, ...]
) -> pd.DataFrame:
    """The frame ``pd.DataFrame(rows, columns=columns)`` builds from the rows' tuples,
    from the columns the recorder keeps instead (same values, same dtypes).

    ``classes`` holds, for each number column, the classes of its values; for a
    string column it may say whether it holds a string (``str``): then its dtype
    is ``str`` even where ``arrays`` holds only some rows, all None. Strings come
    as object arrays, or as Arrow string arrays (read back from a file: no
    Python string is made of them).
    """
    if not len(arrays[columns[0]]):
        return _frame([], columns)
    data: dict[str, Any] = {}
    for name in columns:
        values = arrays[name]
        if isinstance(values, np.ndarray) and values.dtype != object:
            data[name] = number_array(values, classes[name], name)
        elif str in classes.get(name, ()):
            # Some rows of a column with strings: the dtype the whole column gets.
            data[name] = pd.array(values, dtype="str")
        elif isinstance(values, np.ndarray):
            # Strings come as object arrays, and pandas infers their dtype as from the tuples.
            data[name] = values
        else:
            data[name] = values.to_numpy(zero_copy_only=False)
    return pd.DataFrame(data)


def _take(values: Any, rows: np.ndarray) -> Any:
    """Rows of a column: a numpy array, or strings as an Arrow array (read from a file)."""
    return values[rows] if isinstance(values, np.ndarray) else values.take(rows)


def _pods(arrays: Chunk, classes: dict[str, set[type]]) -> pd.DataFrame:
    """The latest record of every pod, in creation (uid) order."""
    uid = arrays["uid"]
    if len(uid):
        order = np.argsort(uid, kind="stable")
        ordered = uid[order]
        latest = order[np.append(ordered[1:] != ordered[:-1], True)]
        arrays = {k: _take(v, latest) for k, v in arrays.items()}
        arrays["pending_s"] = arrays["scheduled_s"] - arrays["created_s"]  # NaN: not scheduled
        arrays["start_latency_s"] = arrays["ready_s"] - arrays["created_s"]
        classes = {**classes, "pending_s": {float}, "start_latency_s": {float}}
    df = frame_from_columns(arrays, classes, POD_COLUMNS)
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
    "node",
)


def _containers(arrays: Chunk, classes: dict[str, set[type]]) -> pd.DataFrame:
    arrays = {**arrays, "reason": _reasons(arrays["ended_s"], arrays["exit_code"])}
    df = frame_from_columns(arrays, classes, CONTAINER_COLUMNS)
    df["ended_s"] = df["ended_s"].astype("float64")
    df["exit_code"] = df["exit_code"].astype("Int64")
    return df.sort_values(["started_s", "pod", "container"], kind="stable", ignore_index=True)


def _reasons(ended_s: np.ndarray, exit_code: np.ndarray) -> np.ndarray:
    """kubelet's terminated reason: Completed for exit 0, Error otherwise; Killed when
    stopped (no exit code); Running for an instance still running at the end (no end)."""
    reason = np.where(exit_code == 0, "Completed", "Error").astype(object)
    reason[np.isnan(exit_code)] = "Killed"
    reason[np.isnan(ended_s)] = "Running"
    return reason


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
    "node",
)

#: Each table's columns, as the recorder's columns make them.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "events": EVENT_COLUMNS,
    "transitions": TRANSITION_COLUMNS,
    "series": ("time_s", *SERIES_COLUMNS, "node"),
    **{name: tuple(n for n, _ in ROW_TABLES[name]) for name in ("pulls", "gc", "writes", "nodes")},
}


def table_from_columns(name: str, arrays: Chunk, classes: dict[str, set[type]]) -> pd.DataFrame:
    """A table from the recorder's columns (:meth:`Recorder.columns`).

    For the tables a recorder streams (``events``, ``transitions``, ``series``,
    ``pulls``, ``gc``, ``writes``) ``arrays`` may be a chunk of the rows, in order,
    and ``classes`` the whole table's: the chunks' frames then make the table
    end to end. ``pods`` and ``containers`` are built whole (deduplicated, sorted).
    """
    if name == "pods":
        return _pods(arrays, classes)
    if name == "containers":
        return _containers(arrays, classes)
    df = frame_from_columns(arrays, classes, TABLE_COLUMNS[name])
    if name == "pulls":
        for col in ("started_s", "downloaded_s"):
            df[col] = df[col].astype("float64")
    if name == "writes":
        df["instance"] = df["instance"].astype("Int64")  # empty for emptyDir and host writes
    return df


def images_table(rec: Recorder) -> pd.DataFrame:
    images = pd.DataFrame([{**row, "node": node} for (node, _), row in rec.images.items()])
    if images.empty:
        images = pd.DataFrame(columns=list(IMAGE_COLUMNS))
    return images


def tables_from_records(rec: Recorder, *, release: bool = False) -> dict[str, pd.DataFrame]:
    """The run's tables, from what the model emitted. ``release``: the recorder forgets
    each table's rows once it is built (the rows and the tables are never all in
    memory at once; the recorder takes no more facts)."""

    def build(name: str) -> pd.DataFrame:
        df = table_from_columns(name, *rec.columns(name))
        if release:
            rec.release(name)
        return df

    return {
        "pods": build("pods"),
        "events": build("events"),
        "series": build("series"),
        "images": images_table(rec),
        "transitions": build("transitions"),
        "gc": build("gc"),
        "containers": build("containers"),
        "pulls": build("pulls"),
        "writes": build("writes"),
        "nodes": build("nodes"),
    }


class _NodeStats:
    """What summaries read of one node's rows of the series table, gathered chunk by chunk.

    Chunks come in time order (a whole table is one chunk). Each row's interval
    ends at the next row's time, or at ``end``: the last row of a chunk waits for
    the next. The numbers are those of the whole table, bit for bit: maxima and
    last values are taken per chunk and then over the chunks, and the products a
    time-weighted mean adds up are kept (8 bytes a row) and summed once, as one
    array (numpy's pairwise sum depends on the array, not only on its values).
    """

    def __init__(self, end: float) -> None:
        self.end = end
        self.rows = 0
        self._held: pd.DataFrame | None = None  # the last row, until its interval ends
        self._cpu: list[np.ndarray] = []  # cpu_allocated_millicores * interval, per row
        self._peaks: dict[str, list[Any]] = {
            k: [] for k in ("pods", "commit", "actual", "accounted", "gap", "images")
        }
        self._last: pd.DataFrame | None = None
        self._actual_end = self._accounted_end = 0.0
        # Per linear level: the last row's value, slope and when that pair was set.
        self._set: dict[str, tuple[float, float, float]] = {}

    def add(self, chunk: pd.DataFrame) -> None:
        """The next rows of the table."""
        if not len(chunk):
            return
        self.rows += len(chunk)
        if self._held is not None:
            chunk = pd.concat([self._held, chunk], ignore_index=True)
        self._held = chunk.iloc[-1:]
        if len(chunk) > 1:
            self._take(chunk.iloc[:-1], chunk["time_s"].iloc[1:].to_numpy(dtype=np.float64))

    def finish(self) -> _NodeStats:
        """The last row's interval ends with the run."""
        if self._held is not None:
            self._take(self._held, np.array([self.end], dtype=np.float64))
            self._held = None
        return self

    def _since(self, name: str, times: np.ndarray, v: np.ndarray, s: np.ndarray) -> np.ndarray:
        """When each row's (value, slope) pair of ``name`` was set: a row made by another
        column's change repeats the pair, which then still holds from its own time."""
        prev_v, prev_s, prev_t = self._set.get(name, (np.nan, np.nan, np.nan))
        changed = (v != np.append(prev_v, v[:-1])) | (s != np.append(prev_s, s[:-1]))
        since = pd.Series(np.where(changed, times, np.nan)).ffill().fillna(prev_t).to_numpy()
        self._set[name] = (v[-1], s[-1], since[-1])
        return since

    def _linear(
        self, rows: pd.DataFrame, name: str, slope: str, following: np.ndarray
    ) -> tuple[pd.Series, pd.Series]:
        """A linearly growing level at each row's time and at the end of its interval."""
        times = rows["time_s"].to_numpy(dtype=np.float64)
        v = rows[name].to_numpy(dtype=np.float64)
        s = rows[slope].to_numpy(dtype=np.float64)
        since = self._since(name, times, v, s)
        return (
            pd.Series(v + s * (times - since), index=rows.index),
            pd.Series(v + s * (following - since), index=rows.index),
        )

    def _take(self, rows: pd.DataFrame, following: np.ndarray) -> None:
        dt = following - rows["time_s"].to_numpy(dtype=np.float64)
        col = {k: rows[k].to_numpy() for k in rows.columns}
        self._cpu.append(col["cpu_allocated_millicores"] * dt)
        c, c_end = self._linear(
            rows, "memory_committed_bytes", "memory_commit_slope_bytes_per_s", following
        )
        peaks = self._peaks
        peaks["pods"].append(rows["pods_bound"].max())
        peaks["commit"].append(np.max(np.maximum(c.to_numpy(), c_end.to_numpy())))
        actual, actual_end = self._linear(
            rows, "disk_actual_bytes", "disk_actual_slope_bytes_per_s", following
        )
        accounted, accounted_end = self._linear(
            rows, "disk_accounted_bytes", "disk_accounted_slope_bytes_per_s", following
        )
        peaks["actual"].append(pd.concat([actual, actual_end]).max())
        peaks["accounted"].append(pd.concat([accounted, accounted_end]).max())
        peaks["gap"].append(pd.concat([actual - accounted, actual_end - accounted_end]).max())
        peaks["images"].append(
            (rows["disk_content_store_bytes"] + rows["disk_snapshots_bytes"]).max()
        )
        self._last = rows.iloc[-1:]
        self._actual_end = float(actual_end.iloc[-1])
        self._accounted_end = float(accounted_end.iloc[-1])

    def last(self, col: str) -> float:
        """The column's value in the last row (0.0 without rows)."""
        return float(self._last[col].iloc[-1]) if self._last is not None else 0.0

    def time_weighted_mean(self) -> float:
        """CPU allocated over the run, weighted by how long each value held."""
        if not self._cpu or self.end <= 0:
            return 0.0
        return float(np.concatenate(self._cpu).sum() / self.end)

    def peak(self, name: str) -> float:
        """Over the run: ``pods`` bound, ``commit`` (memory committed, growths included),
        ``actual`` and ``accounted`` disk bytes and their ``gap`` (at each row and at
        the end of its interval), ``images`` (content store + snapshots)."""
        values = self._peaks[name]
        if not values:
            return 0.0
        if name == "commit":
            return float(np.max(values))
        return float(pd.Series(values).max())

    @property
    def disk_end(self) -> tuple[float, float]:
        """Actual and accounted disk bytes at the end of the run."""
        return self._actual_end, self._accounted_end


class SeriesStats:
    """What summaries read of the series table, gathered chunk by chunk, node by node.

    Each node's rows are taken apart (:class:`_NodeStats`; the cluster's own rows,
    node "", carry no node state). Over the nodes: peaks are the worst node's (the
    most pods on one node, the fullest volume), CPU allocated and the end's values
    are the pool's sums. With one node these are that node's figures.
    """

    def __init__(self, end: float) -> None:
        self.end = end
        self.rows = 0
        self._nodes: dict[str, _NodeStats] = {}

    @classmethod
    def of(cls, series: pd.DataFrame, end: float) -> SeriesStats:
        """The figures of a whole series table."""
        stats = cls(end)
        stats.add(series)
        return stats.finish()

    def add(self, chunk: pd.DataFrame) -> None:
        """The next rows of the table (each node's in time order)."""
        if not len(chunk):
            return
        nodes = chunk["node"].to_numpy()
        for node in dict.fromkeys(nodes.tolist()):
            if node == "":
                continue
            rows = chunk if (nodes == node).all() else chunk[nodes == node]
            stats = self._nodes.get(node)
            if stats is None:
                stats = self._nodes[node] = _NodeStats(self.end)
            stats.add(rows)
            self.rows += len(rows)

    def finish(self) -> SeriesStats:
        for stats in self._nodes.values():
            stats.finish()
        return self

    def last(self, col: str) -> float:
        """The column's value in each node's last row, summed over the nodes."""
        return float(sum(s.last(col) for s in self._nodes.values()))

    def time_weighted_mean(self) -> float:
        """CPU allocated on all nodes over the run, weighted by how long each value held."""
        return float(sum(s.time_weighted_mean() for s in self._nodes.values()))

    def disk_ends(self) -> dict[str, tuple[float, float]]:
        """Each node's actual disk bytes at the end of the run and their growth then
        (bytes per second, the last row's slope)."""
        return {
            node: (s.disk_end[0], s.last("disk_actual_slope_bytes_per_s"))
            for node, s in self._nodes.items()
        }

    def peak(self, name: str) -> float:
        """The worst node's peak (see :meth:`_NodeStats.peak`)."""
        return max((s.peak(name) for s in self._nodes.values()), default=0.0)

    @property
    def disk_end(self) -> tuple[float, float]:
        """Actual and accounted disk bytes at the end of the run, summed over the nodes."""
        ends = [s.disk_end for s in self._nodes.values()]
        return float(sum(a for a, _ in ends)), float(sum(b for _, b in ends))


def never_bound(pods: pd.DataFrame) -> pd.Series:
    """Pods the scheduler never bound: still Pending at the end, or deleted while they
    waited (a bare pod's lifetime ran out, a controller scaled down, the node they were
    made for went). Refused pods never reached the scheduler, and a pod a kubelet
    rejected (OutOfcpu: its spec named the node) did not wait for it."""
    return pods["scheduled_s"].isna() & pods["phase"].isin(("Pending", "Deleted"))


def pending_waits(pods: pd.DataFrame, duration: float) -> pd.Series:
    """Each pod's time from creation to its binding; for a pod never bound, the time it
    waited: to its deletion, or to the end of the run. NaN for the others (refused,
    rejected). A never-bound pod's wait is a lower bound on what it would have waited,
    but leaving it out would hide the worst waits: a pool too small for its pods would
    look better the more pods never fit."""
    never = never_bound(pods)
    left = pods["deleted_s"].fillna(duration).clip(upper=duration)
    return pods["pending_s"].where(~never, left - pods["created_s"])


def _pool(tables: dict[str, pd.DataFrame], duration: float) -> dict[str, Any]:
    """The pool's figures, from the nodes table: nodes over time, node-hours per pool,
    time from the autoscaler's decision to a Ready node, and the pods never bound."""
    nodes = tables.get("nodes")
    pods = tables["pods"]
    never = never_bound(pods)
    out: dict[str, Any] = {
        "pods_never_bound": int(never.sum()),
        "pods_never_bound_wait_s_max": float(pending_waits(pods, duration)[never].max())
        if never.any()
        else None,
    }
    if nodes is None or not len(nodes):
        return out
    end = nodes["deleted_s"].fillna(duration).clip(upper=duration)
    start = nodes["registered_s"]
    alive = (end - start).clip(lower=0).fillna(0.0)
    # Node-hours bill from the VM's creation: a provisioning VM costs as much as a Ready one.
    billed = (end - nodes["created_s"]).clip(lower=0)
    by_pool = billed.groupby(nodes["pool"], sort=True).sum() / 3600.0
    # Nodes over time: registered and not deleted, step-weighted over the run.
    times = np.sort(np.unique(np.concatenate([[0.0], start.dropna(), end[start.notna()]])))
    counts = [int(((start <= t) & (end > t)).sum()) for t in times]
    spans = np.diff(np.append(times, duration))
    mean = float(np.dot(counts, spans) / duration) if duration > 0 else 0.0
    added = nodes[nodes["scale_up_s"].notna()]
    to_ready = (added["ready_s"] - added["scale_up_s"]).dropna()
    out.update(
        {
            "nodes_max": max(counts),
            "nodes_mean": mean,
            "node_hours_by_pool": {str(k): float(v) for k, v in by_pool.items()},
            "nodes_added": len(added),
            "nodes_removed": int(nodes["deleted_s"].notna().sum()),
            "scale_up_to_ready_s_mean": float(to_ready.mean()) if len(to_ready) else None,
            "scale_up_to_ready_s_max": float(to_ready.max()) if len(to_ready) else None,
            "node_seconds_registered": float(alive.sum()),
        }
    )
    return out


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


#: The events a summary reads (:func:`_disk`); :func:`summary_rows` keeps only these.
SUMMARY_EVENT_REASONS = ("DiskFull", "Evicted", "FreeDiskSpaceFailed")


def _disk(
    tables: dict[str, pd.DataFrame],
    s: SeriesStats,
    duration: float,
    gc_runs: int,
    capacity_by_pool: Mapping[str, float],
) -> dict[str, Any]:
    """Disk: actual versus accounted and their gap, image bytes by OS version, GC, evictions."""
    events, images = tables["events"], tables["images"]
    if not s.rows:
        return {}
    actual_end, accounted_end = s.disk_end
    full = events[events["reason"] == "DiskFull"]["time_s"]
    evicted = events[events["reason"] == "Evicted"]["time_s"]
    by_version: dict[str, float] = {}
    for row in images.itertuples(index=False):
        # No OS version: the HostProcess base image and images built on no Windows base.
        key = row.os_version if isinstance(row.os_version, str) and row.os_version else "none"
        # A layer shared by digest counts once, for the first image that brought it.
        by_version[key] = by_version.get(key, 0.0) + float(row.new_bytes)
    return {
        "disk_actual_bytes_peak": s.peak("actual"),
        "disk_accounted_bytes_peak": s.peak("accounted"),
        "disk_gap_bytes_peak": s.peak("gap"),
        "disk_gap_bytes_end": actual_end - accounted_end,
        "disk_host_writes_bytes_end": s.last("disk_host_writes_bytes"),
        "host_writes_bytes_per_s_by_workload": host_writes_rates(tables["writes"], duration),
        "disk_full_in_s_after_end": _disk_full_in(tables["nodes"], s, capacity_by_pool),
        # What the volume holds that kubelet does not count, by owner, at the end.
        "disk_gap_by_owner_bytes_end": {
            "os": s.last("disk_os_bytes"),
            "content_store": s.last("disk_content_store_bytes"),
            "host_writes": s.last("disk_host_writes_bytes"),
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


def summary_rows(name: str, chunk: pd.DataFrame) -> pd.DataFrame | None:
    """What :func:`summarize` reads of some rows of a table (None: nothing, or, for the
    series, what :class:`SeriesStats` gathers). The rows kept of each chunk, put end
    to end, give the summary the whole table gives; a run that streams its tables
    keeps only these."""
    if name == "events":
        # And the pods' warnings (and back-off), which the warnings read (observe.findings).
        told = chunk["reason"].isin(SUMMARY_EVENT_REASONS) | (
            (chunk["kind"] == "Pod")
            & ((chunk["type"] == "Warning") | (chunk["reason"] == "BackOff"))
        )
        return chunk.loc[told]
    if name == "writes":
        return chunk[(chunk["owner"] == "host_writes") & (chunk["bytes"] > 0)]
    if name == "gc":
        return chunk
    return None


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


def _disk_full_in(
    nodes: pd.DataFrame, s: SeriesStats, capacity_by_pool: Mapping[str, float]
) -> float | None:
    """How long after the end the first volume would be full, at the growth of the run's
    last moment (every writer and the node's own); None if no node's volume is growing.
    Each node living at the end is held to its own pool's volume."""
    living = nodes[nodes["deleted_s"].isna()]
    pool_of: dict[str, str] = dict(zip(living["node"], living["pool"], strict=True))
    soonest: float | None = None
    for node, (actual_end, slope_end) in s.disk_ends().items():
        pool = pool_of.get(node)
        if pool is None or slope_end <= _GROWING_BYTES_PER_S:
            continue
        capacity = capacity_by_pool.get(pool)
        if not capacity:
            continue
        seconds = max(0.0, capacity - actual_end) / slope_end
        soonest = seconds if soonest is None else min(soonest, seconds)
    return soonest


def summarize(
    tables: dict[str, pd.DataFrame],
    duration: float,
    *,
    disk_bytes_by_pool: Mapping[str, float],
    image_gc_runs: int,
    series: SeriesStats | None = None,
) -> dict[str, Any]:
    """Headline numbers of one run (units in the names).

    ``disk_bytes_by_pool`` is each pool's volume size (the node of a one-node scenario
    is pool "node": :attr:`hpsim.scenario.schema.Scenario.pools`), ``image_gc_runs``
    the GC passes kubelet ran
    (recorded facts, not tables). ``series``: the series table's figures, gathered
    as it streamed (else taken from ``tables["series"]``); then ``tables`` need
    hold only the rows :func:`summary_rows` keeps of events, writes and gc.
    """
    pods = tables["pods"]
    if series is None:
        series = SeriesStats.of(tables["series"], duration)
    refused = pods["phase"] == "Refused"
    initial = pods[(pods["created_s"] <= 0) & ~refused]
    fresh = None
    if len(initial) and initial["ready_s"].notna().all():
        fresh = float(initial["ready_s"].max())
    by_wl = pods.groupby("workload", sort=True)
    waits = pending_waits(pods, duration)
    return {
        "duration_s": duration,
        "pods_created": len(pods),
        "pods_refused": int(refused.sum()),
        "pods_started": int(pods["started_s"].notna().sum()),
        "pods_per_node_max": int(series.peak("pods")) if series.rows else 0,
        "pods_pending_at_end": int((pods["phase"] == "Pending").sum()),
        "pending_s_mean": float(waits.mean()) if waits.notna().any() else None,
        "pending_s_p95": _q(waits, 0.95),
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
        **_pool(tables, duration),
        "running_fraction_by_workload": running_fraction(tables, duration),
        "ready_fraction_by_workload": ready_fraction(tables, duration),
        "images_pulled": len(tables["images"]),
        "image_content_bytes_end": series.last("disk_content_store_bytes"),
        "image_snapshot_bytes_end": series.last("disk_snapshots_bytes"),
        **_disk(tables, series, duration, image_gc_runs, disk_bytes_by_pool),
        "cpu_allocated_millicores_mean": series.time_weighted_mean(),
        "memory_committed_bytes_peak": series.peak("commit"),
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
                for c in effective_containers(
                    plan.template.raw_spec, loaded.scenario.first_node.cpu
                )
                if c.job_memory_limit_bytes is not None
            },
        }
        for plan in loaded.workloads
    ]
    return {
        "digest": loaded.digest,
        "description": loaded.scenario.description,
        "node": node_facts(loaded.scenario.first_node),
        "workloads": workloads,
        "pools": [
            {
                "name": p.name,
                "initial": p.initial,
                "min": p.bounds[0],
                "max": p.bounds[1],
                "autoscaled": p.autoscaled,
                "cni_daemon_set": p.cni_daemon_set,
                "node": node_facts(p.node),
            }
            for p in loaded.scenario.pools
        ],
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
        """Every level over time: each node's rows (``node`` names it) and the
        cluster's (``node`` "": pods pending, nodes registered and Ready)."""
        return self.tables["series"]

    def node_series(self, node: str | None = None) -> pd.DataFrame:
        """The nodes' rows of the series (one node's, with ``node``), without the
        cluster's."""
        s = self.tables["series"]
        return s[s["node"] == node] if node is not None else s[s["node"] != ""]

    def pool_series(self, pool: str | None = None) -> pd.DataFrame:
        """A pool's totals over time (``pool`` None: every node's): each additive level
        summed over its nodes, a node counting 0 before its first row and from its
        deletion on, and ``nodes``, how many count (see :func:`hpsim.observe.pool.pool_series`)."""
        return pl.pool_series(self, pool)

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
        numbers = self._numbers()
        return {**numbers, "warnings": [f.as_dict() for f in self.findings(numbers)]}

    def _numbers(self) -> dict[str, Any]:
        """The headline numbers alone (no warnings)."""
        if self.combined is not None:
            return {k: v for k, v in self.combined.items() if k != "warnings"}
        return dict(self.summaries[0]) if len(self.summaries) == 1 else combine(self.summaries)

    def node_startup(self) -> pd.DataFrame:
        """Each node the autoscaler added: its time from VM creation to its first app pod
        running, by part (:func:`hpsim.observe.pool.node_startup`)."""
        return pl.node_startup(self)

    def pending_by_reason(self) -> pd.DataFrame:
        """Pod-hours and pods pending per scheduler reason, per run
        (:func:`hpsim.observe.pool.pending_by_reason`)."""
        return pl.pending_by_reason(self)

    def node_bases(self, replication: int = 0) -> pd.DataFrame:
        """Per node and Windows base version, the image bytes its pulls brought
        (:func:`hpsim.observe.pool.node_bases`)."""
        return pl.node_bases(self, replication)

    def findings(self, numbers: dict[str, Any] | None = None, quote: Quote = str) -> list[Finding]:
        """The warnings of this run, with names passed through ``quote`` (the report's escaping)."""
        if numbers is None:
            numbers = self._numbers()
        return findings(self.tables, numbers, self.meta, self.duration, quote)
