"""Facts from the model, turned into columns.

Model code states facts -- "pod X went Pending -> Scheduled at t", "an event
with this reason", "the node's committed memory is now y" -- and the recorder
keeps them in plain lists, one per table. *Levels* (time-weighted node state:
CPU allocated, memory committed, disk) go to ``series`` as one row per
change; rows at the same instant are coalesced to the last. *Tallies*
(per-pod latencies) are derived from the pod records at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
)


@dataclass
class Recorder:
    """Column buffers for one run."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    transitions: list[tuple[Any, ...]] = field(default_factory=list)
    _rows: list[tuple[Any, ...]] = field(default_factory=list)  # series rows, but the last
    _row_time: float | None = None  # the instant whose row is written once time moves on
    images: dict[str, dict[str, Any]] = field(default_factory=dict)
    gc: list[tuple[Any, ...]] = field(default_factory=list)  # image deletions by kubelet
    containers: list[tuple[Any, ...]] = field(default_factory=list)  # ended container instances
    _level: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SERIES_COLUMNS, 0.0))
    state_counts: dict[str, int] = field(default_factory=dict)  # pods in each state now

    def event(
        self, time: float, kind: str, name: str, reason: str, message: str, type_: str = "Normal"
    ) -> None:
        """What ``kubectl get events`` would show."""
        self.events.append((time, kind, name, type_, reason, message))

    def container(
        self,
        pod: str,
        container: str,
        init: bool,
        instance: int,
        started: float,
        ended: float,
        exit_code: int | None,
        memory_cap: bool,
    ) -> None:
        """A container instance ended: exited with ``exit_code``, or killed (None)."""
        self.containers.append(
            (pod, container, init, instance, started, ended, exit_code, memory_cap)
        )

    def transition(self, time: float, pod: str, old: str, new: str) -> None:
        self.transitions.append((time, pod, old, new))
        counts = self.state_counts
        if old:
            counts[old] -= 1
        counts[new] = counts.get(new, 0) + 1

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

    def current(self, name: str) -> float:
        return self._level[name]

    def image(self, ref: str, **fields: Any) -> None:
        self.images.setdefault(ref, {"image": ref}).update(fields)
