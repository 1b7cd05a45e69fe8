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

from hpsim.facts import (
    SERIES_LEVELS,
    ContainerRecord,
    GCRecord,
    NodeRecord,
    PodRecord,
    PullRecord,
    WriteRecord,
)
from hpsim.observe.columns import INTERNED, NUMBER, RUNS, TEXT, Chunk, Levels, Sink, Table

SERIES_COLUMNS = SERIES_LEVELS

# ``causes``: a FailedScheduling event's filter reasons, distinct and without their node
# counts ("Insufficient cpu; node(s) had untolerated taint {...}"); "" for other events.
EVENT_COLUMNS = ("time_s", "kind", "object", "type", "reason", "message", "causes", "node")
TRANSITION_COLUMNS = ("time_s", "pod", "from", "to", "status", "ready", "node")
#: The node a row is about: the name of the node whose parts emitted it, "" for the
#: cluster (the API server, the scheduler, the controllers, the autoscaler).
CLUSTER = ""

# Strings the model builds afresh for each fact (an f-string per event): interned. The
# others are the model's own objects (a pod's name, a literal reason), kept by reference.
# (An event's message is interned as it comes, in event(), while it is in the CPU's cache:
# 5 ms less a month-long run than when its table packs it.)
_INTERNED = {("pods", "message"), ("pulls", "error")}


def _fields(table: str, record: type[tuple[Any, ...]]) -> list[tuple[str, str]]:
    """A record's columns: its ``str`` fields as text, the others (numbers, bools,
    optional numbers) as numbers."""
    hints = get_type_hints(record)
    return [(n, _text(table, n) if hints[n] is str else NUMBER) for n in hints] + [("node", RUNS)]


def _text(table: str, name: str) -> str:
    return INTERNED if (table, name) in _INTERNED else TEXT


#: Each table the recorder keeps as rows: its columns, in the order of the tuples it
#: stages (a record's fields, an event's time, kind, name, type, reason, message).
ROW_TABLES: dict[str, list[tuple[str, str]]] = {
    "events": [
        ("time_s", NUMBER),
        *((c, _text("events", c)) for c in EVENT_COLUMNS[1:-2]),
        # Empty but on the scheduler's failures: kept as runs, like the node.
        ("causes", RUNS),
        ("node", RUNS),
    ],
    "transitions": [
        ("time_s", NUMBER),
        *((c, TEXT) for c in TRANSITION_COLUMNS[1:5]),
        ("ready", NUMBER),
        ("node", RUNS),
    ],
    "pods": _fields("pods", PodRecord),
    "containers": _fields("containers", ContainerRecord),
    "pulls": _fields("pulls", PullRecord),
    "gc": _fields("gc", GCRecord),
    "writes": _fields("writes", WriteRecord),
    "nodes": _fields("nodes", NodeRecord),
}

#: The tables a sink receives, in chunks as they fill: all but the images (a row per image).
STREAMED = ("series", *ROW_TABLES)


class _SeriesOf:
    """One node's series (or the cluster's): its levels as they stand and its rows."""

    __slots__ = ("changed", "level", "levels", "row_time", "rows", "stage")

    def __init__(self, node: str, chunk_rows: int, sink: Sink | None) -> None:
        self.level: dict[str, float] = dict.fromkeys(SERIES_COLUMNS, 0.0)
        self.changed: dict[str, Any] = {}  # columns moved since the last series row
        self.row_time: float | None = None  # the instant whose row is written once time moves on
        tagged = None
        if sink is not None:

            def tagged(name: str, chunk: Chunk) -> None:
                n = len(chunk["time_s"])
                sink(name, {**chunk, "node": np.full(n, node, dtype=object)})

        self.levels = Levels("series", self.level, chunk_rows=chunk_rows, sink=tagged)
        self.rows, self.stage = self.levels.staged, self.levels.stage_rows

    def close_row(self) -> None:
        """Stage the open row (the last instant's), if any."""
        if self.row_time is not None:
            self.rows.append((self.row_time, self.changed))
            self.changed = {}
            self.row_time = None


class Channel:
    """The :class:`hpsim.facts.Emitter` of one node: every row it emits names the node.

    The recorder itself is the cluster's channel (rows with ``node`` ""); a node
    is handed ``recorder.for_node(name)``. Channels share the recorder's tables.
    """

    def __init__(self, rec: Recorder, node: str) -> None:
        self.rec = rec
        self.node_name = node
        self._series = rec._series_of(node)

    def for_node(self, node: str) -> Channel:
        return self.rec.for_node(node)

    def event(
        self,
        time: float,
        kind: str,
        name: str,
        reason: str,
        message: str,
        type_: str = "Normal",
        causes: str = "",
    ) -> None:
        """What ``kubectl get events`` would show (and a FailedScheduling's ``causes``)."""
        rec = self.rec
        rows = rec._events
        rows.append(
            (time, kind, name, type_, reason, rec._messages[message], causes, self.node_name)
        )
        if len(rows) >= rec._stage_events:
            rec._tables["events"].pack()

    def transition(
        self, time: float, pod: str, old: str, new: str, status: str, ready: bool
    ) -> None:
        rec = self.rec
        rows = rec._transitions
        rows.append((time, pod, old, new, status, ready, self.node_name))
        if len(rows) >= rec._stage_transitions:
            rec._tables["transitions"].pack()

    def pod(self, record: PodRecord) -> None:
        """A pod's record; a later one of the same pod (uid) replaces it."""
        self.rec._add("pods", (*record, self.node_name))

    def container(self, record: ContainerRecord) -> None:
        self.rec._add("containers", (*record, self.node_name))

    def pull(self, record: PullRecord) -> None:
        self.rec._add("pulls", (*record, self.node_name))

    def write(self, record: WriteRecord) -> None:
        self.rec._add("writes", (*record, self.node_name))

    def gc(self, record: GCRecord) -> None:
        self.rec._add("gc", (*record, self.node_name))

    def node(self, record: NodeRecord) -> None:
        self.rec._add("nodes", (*record, self.node_name))

    def gc_run(self, time: float, passes: int) -> None:
        self.rec.gc_runs += passes

    def level(self, time: float, **values: float) -> None:
        """Node state changed: one series row per instant with a change, as it stands last.

        The row of an instant is written when a change comes at a later one (or the
        rows are read): parts report at one instant one after another, and a row
        built for each would be overwritten at once. A row keeps the columns that
        moved since the row before (:class:`~hpsim.observe.columns.Levels`).
        """
        series = self._series
        level = series.level
        if time != series.row_time:
            if values.items() <= level.items():
                return  # nothing changed (a C-level comparison of the pairs)
            if series.row_time is not None:
                # Stage the row: its time and the columns changed since the row before.
                rows = series.rows
                rows.append((series.row_time, series.changed))
                series.changed = {}
                if len(rows) >= series.stage:
                    series.levels.pack(level)
            series.row_time = time
        changed = series.changed
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
        """An image was pulled; ``new_bytes`` (its first pull on the node only) is what
        its layers were the first on the node to bring."""
        row = self.rec.images.setdefault((self.node_name, ref), {"image": ref})
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
        row = self.rec.images.get((self.node_name, ref))
        if row is not None:  # images present before any pull of the run have no row
            row["last_used_s"] = time

    def image_removed(self, time: float, ref: str) -> None:
        self.rec.images.setdefault((self.node_name, ref), {"image": ref})["removed_s"] = time


class Recorder(Channel):
    """Column buffers for one run: implements :class:`hpsim.facts.Emitter` (as the
    cluster's channel; :meth:`for_node` gives each node its own).

    It only keeps what it hears; it answers no question the model could act on.
    ``sink``: hand the :data:`STREAMED` tables on in chunks of ``chunk_rows``
    rows (see :meth:`close`) instead of keeping them.
    """

    def __init__(self, *, sink: Sink | None = None, chunk_rows: int = 65_536) -> None:
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        self.sink = sink
        self.chunk_rows = chunk_rows
        self._tables = {
            name: Table(name, fields, chunk_rows=chunk_rows, sink=sink)
            for name, fields in ROW_TABLES.items()
        }
        t = self._tables
        # The emitting methods append to these lists (the tables' staging lists).
        self._events, self._transitions = t["events"].staged, t["transitions"].staged
        self._staged = {name: table.staged for name, table in t.items()}
        self._messages = t["events"].pool  # cleared, never replaced, when a chunk is handed on
        self._stage = {name: table.stage_rows for name, table in t.items()}
        self._stage_events = self._stage["events"]
        self._stage_transitions = self._stage["transitions"]
        # Each node's series (and the cluster's), in the order they first emitted.
        self._serieses: dict[str, _SeriesOf] = {}
        self._channels: dict[str, Channel] = {}
        # Image rows by (node, image)
        self.images: dict[tuple[str, str], dict[str, Any]] = {}
        self.gc_runs = 0  # image GC passes kubelet ran, on every node
        self.closed = False
        super().__init__(self, CLUSTER)

    def for_node(self, node: str) -> Channel:
        """The channel for the parts of node ``node`` (one per name)."""
        if node == CLUSTER:
            return self
        channel = self._channels.get(node)
        if channel is None:
            channel = self._channels[node] = Channel(self, node)
        return channel

    def series_nodes(self) -> list[str]:
        """The nodes (and "" for the cluster) with series rows, in the series table's order."""
        return list(self._serieses)

    def _series_of(self, node: str) -> _SeriesOf:
        series = self._serieses.get(node)
        if series is None:
            series = self._serieses[node] = _SeriesOf(node, self.chunk_rows, self.sink)
        return series

    def _add(self, name: str, record: tuple[Any, ...]) -> None:
        rows = self._staged[name]
        rows.append(record)
        if len(rows) >= self._stage[name]:
            self._tables[name].pack()

    # -- reading ------------------------------------------------------------------------------

    def close(self) -> None:
        """The run is over: with a sink, hand on the last rows of every streamed table
        (the series' last rows included). Nothing may be emitted afterwards."""
        if self.closed:
            return
        self.closed = True
        if self.sink is None:
            return
        for series in self._serieses.values():
            series.close_row()
            series.levels.pack(series.level)
            series.levels.flush(series.level)
        for name in STREAMED:
            if name != "series":
                self._tables[name].flush()

    def columns(self, name: str) -> tuple[Chunk, dict[str, set[type]]]:
        """A table's rows kept, column by column (numbers as float64 with ``NaN`` for
        ``None``, strings as object arrays), and the classes of each column's values:
        what :func:`hpsim.observe.results.table_from_columns` builds a table from.
        The series are each node's rows in time order, node after node (the cluster's
        and the nodes' in the order they first reported).

        Reading changes nothing: the emitting may go on.
        """
        if name == "series":
            parts: list[Chunk] = []
            classes: dict[str, set[type]] = {}
            for node, series in self._serieses.items():
                series.levels.pack(None)
                pending = None
                if series.row_time is not None:
                    pending = (series.row_time, series.level, series.changed)
                chunk, seen = series.levels.arrays(pending)
                n = len(chunk["time_s"])
                parts.append({**chunk, "node": np.full(n, node, dtype=object)})
                for k, v in seen.items():
                    classes.setdefault(k, set()).update(v)
            if not parts:
                empty = Levels("series", dict.fromkeys(SERIES_COLUMNS, 0.0))
                chunk, classes = empty.arrays()
                return {**chunk, "node": np.array([], dtype=object)}, classes
            out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
            return out, classes
        table = self._tables[name]
        return table.arrays(), table.column_classes()

    def classes(self, name: str) -> dict[str, set[type]]:
        """The classes of each column's values over the whole run (a streamed table's
        dtypes, once :meth:`close` has handed on its last rows)."""
        if name == "series":
            out: dict[str, set[type]] = {}
            for series in self._serieses.values():
                for k, v in series.levels.classes.items():
                    out.setdefault(k, set()).update(v)
            return out
        return self._tables[name].column_classes()

    def rows(self, name: str) -> int:
        """Rows recorded in a table so far (every pod record, a replaced one included)."""
        if name == "series":
            total = 0
            for series in self._serieses.values():
                levels = series.levels
                kept = len(levels.times) + len(levels.staged)
                total += levels.rows + kept + (series.row_time is not None)
            return total
        table = self._tables[name]
        return table.rows + len(table.staged)

    def pack(self) -> None:
        """Pack every staged row into its table's columns (what stays is what grows)."""
        for series in self._serieses.values():
            series.levels.pack(None)
        for table in self._tables.values():
            table.pack(hand_on=False)

    def release(self, name: str) -> None:
        """Forget a table's rows (its table is built): nothing may be emitted afterwards."""
        self.closed = True
        if name == "series":
            self._serieses = {}
        elif name == "images":
            self.images = {}
        else:
            self._tables[name].clear()

    @property
    def pod_count(self) -> int:
        """How many pods have a record (kept: not with a sink, see :meth:`rows`)."""
        uids = self._tables["pods"].arrays()["uid"]
        return len(np.unique(uids))


class _SeriesOnly:
    """Drops every fact but the levels."""

    def event(
        self,
        time: float,
        kind: str,
        name: str,
        reason: str,
        message: str,
        type_: str = "Normal",
        causes: str = "",
    ) -> None:
        pass

    def transition(
        self, time: float, pod: str, old: str, new: str, status: str, ready: bool
    ) -> None:
        pass

    def pod(self, record: PodRecord) -> None:
        pass

    def container(self, record: ContainerRecord) -> None:
        pass

    def pull(self, record: PullRecord) -> None:
        pass

    def write(self, record: WriteRecord) -> None:
        pass

    def gc(self, record: GCRecord) -> None:
        pass

    def node(self, record: NodeRecord) -> None:
        pass

    def image_pulled(self, *args: Any, **kwargs: Any) -> None:
        pass

    def image_used(self, time: float, ref: str) -> None:
        pass

    def image_removed(self, time: float, ref: str) -> None:
        pass


class _SeriesOnlyChannel(_SeriesOnly, Channel):
    pass


class SeriesRecorder(_SeriesOnly, Recorder):
    """A recorder that keeps the series alone: what the aligned-bases twin of a run is
    asked for (its image bytes). Every other fact is dropped as it comes."""

    def for_node(self, node: str) -> Channel:
        if node == CLUSTER:
            return self
        channel = self._channels.get(node)
        if channel is None:
            channel = self._channels[node] = _SeriesOnlyChannel(self, node)
        return channel
