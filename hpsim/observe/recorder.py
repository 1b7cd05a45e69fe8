"""Facts from the model, turned into columns.

Model code states facts -- "pod X went Pending -> Scheduled at t", "an event
with this reason", "the node's committed memory is now y" -- and the recorder
keeps them in plain lists, one per table. *Levels* (time-weighted node state:
CPU allocated, memory committed, disk) go to ``series`` as one row per
change; rows at the same instant are coalesced to the last. *Tallies*
(per-pod latencies) are derived from the pod records at the end. The facts'
shapes are defined in ``hpsim.facts``; the model never reads a recorder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hpsim.facts import ContainerRecord, GCRecord, PodRecord, PullRecord, WriteRecord

SERIES_COLUMNS = (
    "cpu_allocated_millicores",
    "memory_committed_bytes",
    "memory_commit_slope_bytes_per_s",
    "pods_bound",
    "pods_running",
    "pods_pending",
    "requests_cpu_millicores",
    "requests_memory_bytes",
    "pulls_active",
    "disk_actual_bytes",
    "disk_accounted_bytes",
    "disk_actual_slope_bytes_per_s",
    "disk_accounted_slope_bytes_per_s",
    "disk_os_bytes",
    "disk_content_store_bytes",
    "disk_snapshots_bytes",
    "disk_scratch_bytes",
    "disk_logs_bytes",
    "disk_empty_dir_bytes",
    "disk_host_writes_bytes",
    "paging_slowdown",
)


@dataclass
class Recorder:
    """Column buffers for one run: implements :class:`hpsim.facts.Emitter`.

    It only keeps what it hears; it answers no question the model could act on.
    """

    events: list[tuple[Any, ...]] = field(default_factory=list)
    transitions: list[tuple[Any, ...]] = field(default_factory=list)
    _rows: list[tuple[Any, ...]] = field(default_factory=list)  # series rows, but the last
    _row_time: float | None = None  # the instant whose row is written once time moves on
    images: dict[str, dict[str, Any]] = field(default_factory=dict)
    gcs: list[GCRecord] = field(default_factory=list)  # image deletions by kubelet
    gc_runs: int = 0  # image GC passes kubelet ran
    containers: list[ContainerRecord] = field(default_factory=list)
    pulls: list[PullRecord] = field(default_factory=list)
    writes: list[WriteRecord] = field(default_factory=list)
    _pods: dict[int, PodRecord] = field(default_factory=dict)  # the latest record per uid
    _level: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SERIES_COLUMNS, 0.0))

    def event(
        self, time: float, kind: str, name: str, reason: str, message: str, type_: str = "Normal"
    ) -> None:
        """What ``kubectl get events`` would show."""
        self.events.append((time, kind, name, type_, reason, message))

    def transition(
        self, time: float, pod: str, old: str, new: str, status: str, ready: bool
    ) -> None:
        self.transitions.append((time, pod, old, new, status, ready))

    def pod(self, record: PodRecord) -> None:
        """A pod's record; a later one of the same pod replaces it."""
        self._pods[record.uid] = record

    @property
    def pods(self) -> list[PodRecord]:
        """The latest record of every pod, in creation order."""
        return sorted(self._pods.values(), key=lambda r: r.uid)

    def container(self, record: ContainerRecord) -> None:
        self.containers.append(record)

    def pull(self, record: PullRecord) -> None:
        self.pulls.append(record)

    def write(self, record: WriteRecord) -> None:
        self.writes.append(record)

    def gc(self, record: GCRecord) -> None:
        self.gcs.append(record)

    def gc_run(self, time: float, passes: int) -> None:
        self.gc_runs += passes

    def level(self, time: float, **values: float) -> None:
        """Node state changed: one series row per instant with a change, as it stands last.

        The row of an instant is written when a change comes at a later one (or the
        rows are read): parts report at one instant one after another, and a row
        built for each would be overwritten at once.
        """
        level = self._level
        if time != self._row_time:
            if values.items() <= level.items():
                return  # nothing changed (a C-level comparison of the pairs)
            if self._row_time is not None:
                # ``_level`` holds SERIES_COLUMNS in order (dict.fromkeys keeps it).
                self._rows.append((self._row_time, *level.values()))
            self._row_time = time
        for k, v in values.items():
            if level[k] != v:
                level[k] = v  # an equal value (0 for 0.0) keeps the column's type

    @property
    def series_rows(self) -> list[tuple[Any, ...]]:
        """The series rows: one per instant at which a level changed."""
        if self._row_time is None:
            return list(self._rows)
        return [*self._rows, (self._row_time, *self._level.values())]

    def image_pulled(
        self,
        time: float,
        ref: str,
        os_version: str | None,
        size_bytes: int,
        unpacked_bytes: int,
        layers: int,
        pinned: bool,
        new_bytes: int | None,
    ) -> None:
        """An image was pulled; ``new_bytes`` (its first pull only) is what its layers
        were the first in the run to bring."""
        row = self.images.setdefault(ref, {"image": ref})
        row.update(
            os_version=os_version,
            size_bytes=size_bytes,
            unpacked_bytes=unpacked_bytes,
            layers=layers,
            pulled_s=time,
            pinned=pinned,
        )
        if new_bytes is not None:
            row["new_bytes"] = new_bytes

    def image_used(self, time: float, ref: str) -> None:
        row = self.images.get(ref)
        if row is not None:  # images present before any pull of the run have no row
            row["last_used_s"] = time

    def image_removed(self, time: float, ref: str) -> None:
        self.images.setdefault(ref, {"image": ref})["removed_s"] = time
