"""Facts from the model, turned into columns.

Model code states facts -- "pod X went Pending -> Scheduled at t", "an event
with this reason", "the node's committed memory is now y" -- and the recorder
keeps them as compact columns, one :class:`~hpsim.observe.columns.Table` per
table (see :mod:`hpsim.observe.columns`: 8 bytes a number or a string).
*Levels* (time-weighted node state: CPU allocated, memory committed, disk) go
to ``series`` as one row per change; rows at the same instant are coalesced to
the last, and a row keeps only the columns that moved. *Tallies* (per-pod
latencies) are derived from the pod records at the end. The facts' shapes are
defined in ``hpsim.facts``; the model never reads a recorder.

With a *sink* (``hpsim run --stream``) every table but the images is handed
on in chunks of ``chunk_rows`` rows as it fills, and forgotten: what the
recorder holds stays bounded by the chunk size (pod records are chunks of
records as they come; the pods table, one row per pod with a later record
replacing an earlier one, is made from them at the end).
"""

from __future__ import annotations

from typing import Any, get_type_hints

import numpy as np

from hpsim.facts import ContainerRecord, GCRecord, PodRecord, PullRecord, WriteRecord
from hpsim.observe.columns import INTERNED, NUMBER, TEXT, Chunk, Levels, Sink, Table

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

EVENT_COLUMNS = ("time_s", "kind", "object", "type", "reason", "message")
TRANSITION_COLUMNS = ("time_s", "pod", "from", "to", "status", "ready")

# Strings the model builds afresh for each fact (an f-string per event): interned. The
# others are the model's own objects (a pod's name, a literal reason), kept by reference.
# (An event's message is interned as it comes, in event(), while it is in the CPU's cache:
# 5 ms less a month-long run than when its table packs it.)
_INTERNED = {("pods", "message"), ("pulls", "error")}


def _fields(table: str, record: type[tuple[Any, ...]]) -> list[tuple[str, str]]:
    """A record's columns: its ``str`` fields as text, the others (numbers, bools,
    optional numbers) as numbers."""
    hints = get_type_hints(record)
    return [(n, _text(table, n) if hints[n] is str else NUMBER) for n in hints]


def _text(table: str, name: str) -> str:
    return INTERNED if (table, name) in _INTERNED else TEXT


#: Each table the recorder keeps as rows: its columns, in the order of the tuples it
#: stages (a record's fields, an event's time, kind, name, type, reason, message).
ROW_TABLES: dict[str, list[tuple[str, str]]] = {
    "events": [("time_s", NUMBER), *((c, _text("events", c)) for c in EVENT_COLUMNS[1:])],
    "transitions": [
        ("time_s", NUMBER),
        *((c, TEXT) for c in TRANSITION_COLUMNS[1:5]),
        ("ready", NUMBER),
    ],
    "pods": _fields("pods", PodRecord),
    "containers": _fields("containers", ContainerRecord),
    "pulls": _fields("pulls", PullRecord),
    "gc": _fields("gc", GCRecord),
    "writes": _fields("writes", WriteRecord),
}

#: The tables a sink receives, in chunks as they fill: all but the images (a row per image).
STREAMED = ("series", *ROW_TABLES)


class Recorder:
    """Column buffers for one run: implements :class:`hpsim.facts.Emitter`.

    It only keeps what it hears; it answers no question the model could act on.
    ``sink``: hand the :data:`STREAMED` tables on in chunks of ``chunk_rows``
    rows (see :meth:`close`) instead of keeping them.
    """

    def __init__(self, *, sink: Sink | None = None, chunk_rows: int = 65_536) -> None:
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        self.sink = sink
        self._tables = {
            name: Table(name, fields, chunk_rows=chunk_rows, sink=sink)
            for name, fields in ROW_TABLES.items()
        }
        t = self._tables
        # The emitting methods append to these lists (the tables' staging lists).
        self._events, self._transitions = t["events"].staged, t["transitions"].staged
        self._pods, self._containers = t["pods"].staged, t["containers"].staged
        self._pulls, self._gcs, self._writes = t["pulls"].staged, t["gc"].staged, t["writes"].staged
        self._messages = t["events"].pool  # cleared, never replaced, when a chunk is handed on
        self._stage = {name: table.stage_rows for name, table in t.items()}
        self._stage_events = self._stage["events"]
        self._stage_transitions = self._stage["transitions"]
        self._level: dict[str, float] = dict.fromkeys(SERIES_COLUMNS, 0.0)
        self._changed: dict[str, Any] = {}  # columns moved since the last series row
        self._row_time: float | None = None  # the instant whose row is written once time moves on
        self._series = Levels("series", self._level, chunk_rows=chunk_rows, sink=sink)
        self._series_rows, self._stage_series = self._series.staged, self._series.stage_rows
        self.images: dict[str, dict[str, Any]] = {}
        self.gc_runs = 0  # image GC passes kubelet ran
        self.closed = False

    # -- the Emitter ------------------------------------------------------------------------

    def event(
        self, time: float, kind: str, name: str, reason: str, message: str, type_: str = "Normal"
    ) -> None:
        """What ``kubectl get events`` would show."""
        rows = self._events
        rows.append((time, kind, name, type_, reason, self._messages[message]))
        if len(rows) >= self._stage_events:
            self._tables["events"].pack()

    def transition(
        self, time: float, pod: str, old: str, new: str, status: str, ready: bool
    ) -> None:
        rows = self._transitions
        rows.append((time, pod, old, new, status, ready))
        if len(rows) >= self._stage_transitions:
            self._tables["transitions"].pack()

    def pod(self, record: PodRecord) -> None:
        """A pod's record; a later one of the same pod (uid) replaces it."""
        self._add("pods", self._pods, record)

    def container(self, record: ContainerRecord) -> None:
        self._add("containers", self._containers, record)

    def pull(self, record: PullRecord) -> None:
        self._add("pulls", self._pulls, record)

    def write(self, record: WriteRecord) -> None:
        self._add("writes", self._writes, record)

    def gc(self, record: GCRecord) -> None:
        self._add("gc", self._gcs, record)

    def _add(self, name: str, rows: list[Any], record: tuple[Any, ...]) -> None:
        rows.append(record)
        if len(rows) >= self._stage[name]:
            self._tables[name].pack()

    def gc_run(self, time: float, passes: int) -> None:
        self.gc_runs += passes

    def level(self, time: float, **values: float) -> None:
        """Node state changed: one series row per instant with a change, as it stands last.

        The row of an instant is written when a change comes at a later one (or the
        rows are read): parts report at one instant one after another, and a row
        built for each would be overwritten at once. A row keeps the columns that
        moved since the row before (:class:`~hpsim.observe.columns.Levels`).
        """
        level = self._level
        if time != self._row_time:
            if values.items() <= level.items():
                return  # nothing changed (a C-level comparison of the pairs)
            if self._row_time is not None:
                # Stage the row: its time and the columns changed since the row before.
                rows = self._series_rows
                rows.append((self._row_time, self._changed))
                self._changed = {}
                if len(rows) >= self._stage_series:
                    self._series.pack(level)
            self._row_time = time
        changed = self._changed
        for k, v in values.items():
            if level[k] != v:
                level[k] = v  # an equal value (0 for 0.0) keeps the column's type
                changed[k] = v

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

    # -- reading ------------------------------------------------------------------------------

    def close(self) -> None:
        """The run is over: with a sink, hand on the last rows of every streamed table
        (the series' last row included). Nothing may be emitted afterwards."""
        if self.closed:
            return
        self.closed = True
        if self.sink is None:
            return
        if self._row_time is not None:
            self._series.staged.append((self._row_time, self._changed))
            self._changed = {}
            self._row_time = None
        self._series.pack(self._level)
        self._series.flush(self._level)
        for name in STREAMED:
            if name != "series":
                self._tables[name].flush()

    def columns(self, name: str) -> tuple[Chunk, dict[str, set[type]]]:
        """A table's rows kept, column by column (numbers as float64 with ``NaN`` for
        ``None``, strings as object arrays), and the classes of each column's values:
        what :func:`hpsim.observe.results.table_from_columns` builds a table from.

        Reading changes nothing: the emitting may go on.
        """
        if name == "series":
            self._series.pack(None)
            pending = None
            if self._row_time is not None:
                pending = (self._row_time, self._level, self._changed)
            return self._series.arrays(pending)
        table = self._tables[name]
        return table.arrays(), table.column_classes()

    def classes(self, name: str) -> dict[str, set[type]]:
        """The classes of each column's values over the whole run (a streamed table's
        dtypes, once :meth:`close` has handed on its last rows)."""
        if name == "series":
            return {k: set(v) for k, v in self._series.classes.items()}
        return self._tables[name].column_classes()

    def rows(self, name: str) -> int:
        """Rows recorded in a table so far (every pod record, a replaced one included)."""
        if name == "series":
            series = self._series
            kept = len(series.times) + len(series.staged)
            return series.rows + kept + (self._row_time is not None)
        table = self._tables[name]
        return table.rows + len(table.staged)

    def pack(self) -> None:
        """Pack every staged row into its table's columns (what stays is what grows)."""
        self._series.pack(None)
        for table in self._tables.values():
            table.pack(hand_on=False)

    def release(self, name: str) -> None:
        """Forget a table's rows (its table is built): nothing may be emitted afterwards."""
        self.closed = True
        if name == "series":
            self._series = Levels("series", self._level)
            self._row_time = None
        elif name == "images":
            self.images = {}
        else:
            self._tables[name].clear()

    @property
    def pod_count(self) -> int:
        """How many pods have a record (kept: not with a sink, see :meth:`rows`)."""
        uids = self._tables["pods"].arrays()["uid"]
        return len(np.unique(uids))


class SeriesRecorder(Recorder):
    """A recorder that keeps the series alone: what the aligned-bases twin of a run is
    asked for (its image bytes). Every other fact is dropped as it comes."""

    def event(
        self, time: float, kind: str, name: str, reason: str, message: str, type_: str = "Normal"
    ) -> None:
        pass

    def transition(
        self, time: float, pod: str, old: str, new: str, status: str, ready: bool
    ) -> None:
        pass

    def _add(self, name: str, rows: list[Any], record: tuple[Any, ...]) -> None:
        pass

    def image_pulled(self, *args: Any, **kwargs: Any) -> None:
        pass

    def image_used(self, time: float, ref: str) -> None:
        pass

    def image_removed(self, time: float, ref: str) -> None:
        pass
