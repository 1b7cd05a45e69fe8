"""Compact columns: how the recorder keeps a table's rows until the tables are built.

Kept as Python tuples, a recorded row costs about 200 bytes (the tuple, a
float object per number, often a fresh string per message): 4.3 KB a pod on
``benchmarks/month.yaml``. Here a table is columns instead: numbers in an
``array('d')`` (8 bytes a value, no float object), strings as references to
the model's own string objects (a pod's name, a literal reason: 8 bytes, the
string shared), and the strings the model builds afresh for each fact (an
event's message) interned in a :class:`Pool`, so that each distinct one is
kept once. Rows still arrive as the tuples the model hands over; a
:class:`Table` stages a thousand and packs them in C-level loops (``zip``,
``array``, ``map``), so the emitting call costs what it did. Packing adds a
few hundred nanoseconds a row (700 for a pod's 20-field record): 5 to 7 µs a
pod on month.yaml, 2% of the simulation (an A/B of the recorders alone on the
run's recorded calls); bench_core's cost_per_pod does not see it.

Pandas infers a column's dtype from its values: Python ints make ``int64``,
ints mixed with floats ``float64``, ``None`` among numbers ``NaN`` (a column of
``None`` alone stays ``object``), bools ``bool``. A number column therefore
remembers the classes of the values it was given, and :func:`number_array`
turns the float64 column back into the array pandas would have built from the
original objects. Integers are exact below 2**53 (8 PiB); a larger one in an
all-integer column is refused rather than rounded. Once a column has held a
float its dtype is float64 whatever else comes, and the classes of its later
values are not looked at (a bool there would count as 0 or 1).

A table built with a *sink* hands its rows on in chunks (``{column: array}``,
numbers as float64 with ``NaN`` for ``None``, strings as object arrays) and
forgets them: its memory stays bounded by the chunk size. The classes it saw
are kept for the whole run, since the final dtypes depend on every row.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from itertools import groupby
from typing import Any

import numpy as np

NUMBER = "number"  # floats, ints, bools, None: an array('d') and the values' classes
TEXT = "text"  # strings the model keeps (names, literal reasons): references
INTERNED = "interned"  # strings the model builds for each fact: interned, then references
# Strings that stay the same over long runs of rows (the node a row is about): each run
# kept once, as its first row and its value (a node's facts come in bursts, and a
# reference per row would cost 8 bytes a row, 330 a pod on benchmarks/month.yaml).
RUNS = "runs"

#: Rows staged as tuples before they are packed into columns.
STAGE_ROWS = 1024

#: Largest integer a float64 column holds exactly (integers from here on are refused).
EXACT_INT = 2**53

Chunk = dict[str, np.ndarray]
Sink = Callable[[str, Chunk], None]


class Pool(dict[Any, Any]):
    """Each distinct string once: ``pool[s]`` is the first string equal to ``s`` seen."""

    __slots__ = ()

    def __missing__(self, key: Any) -> Any:
        self[key] = key
        return key


def _kind(cls: type) -> str:
    if issubclass(cls, bool | np.bool_):
        return "bool"
    if issubclass(cls, int | np.integer):
        return "int"
    if issubclass(cls, float | np.floating):
        return "float"
    if cls is type(None):
        return "none"
    return cls.__name__


def number_array(values: np.ndarray, classes: Iterable[type], name: str = "") -> np.ndarray:
    """The column ``pd.DataFrame`` would infer from the original values.

    ``values`` is the float64 column (``NaN`` where a value was ``None``),
    ``classes`` the classes of the values it was made from.
    """
    kinds = {_kind(c) for c in classes}
    if kinds == {"int"}:
        if len(values) and float(np.abs(values).max()) >= EXACT_INT:
            raise ValueError(f"{name}: an integer of 2**53 or more cannot be recorded exactly")
        return values.astype(np.int64)
    if kinds == {"bool"}:
        return values.astype(bool)
    if kinds == {"none"}:
        return np.full(len(values), None, dtype=object)
    if kinds <= {"int", "float", "none"}:
        return values
    raise TypeError(f"{name}: cannot record values of types {sorted(kinds)} as numbers")


def object_array(values: Sequence[Any]) -> np.ndarray:
    """A 1-D object array of ``values`` (never split into more dimensions)."""
    return np.fromiter(values, dtype=object, count=len(values))


class Table:
    """One table's rows: staged as tuples, packed into columns.

    ``fields`` names each column and its kind (:data:`NUMBER`, :data:`TEXT` or
    :data:`INTERNED`). The owner appends tuples to :attr:`staged` and calls
    :meth:`pack` when it holds :attr:`stage_rows` of them (the list object
    stays the same). Without a sink every row is kept; with one, each
    ``chunk_rows`` rows are handed to ``sink(name, chunk)`` and dropped.
    """

    def __init__(
        self,
        name: str,
        fields: Sequence[tuple[str, str]],
        *,
        chunk_rows: int | None = None,
        sink: Sink | None = None,
    ) -> None:
        self.name = name
        self.names = tuple(n for n, _ in fields)
        self.kinds = tuple(k for _, k in fields)
        self.sink = sink
        self.chunk_rows = chunk_rows if sink is not None else None
        self.stage_rows = min(STAGE_ROWS, self.chunk_rows or STAGE_ROWS)
        self.pool = Pool()
        self.staged: list[Any] = []
        # The classes of each number column's values over the whole run (the dtypes
        # depend on all), and whether a float or a None is among them.
        self.classes: list[set[type]] = [set() for _ in fields]
        self._float = [False] * len(fields)
        self._none = [False] * len(fields)
        self.rows = 0  # rows packed, over the whole run
        self._new_columns()

    def _new_columns(self) -> None:
        self.columns: list[Any] = [
            array("d") if k == NUMBER else (array("I"), []) if k == RUNS else [] for k in self.kinds
        ]
        self.kept = 0  # rows in self.columns

    def pack(self, hand_on: bool = True) -> None:
        """Move the staged rows into the columns; with a sink (and ``hand_on``), hand on
        a full chunk."""
        rows = self.staged
        if rows:
            pool = self.pool
            for i, (kind, column, values) in enumerate(
                zip(self.kinds, self.columns, zip(*rows, strict=True), strict=True)
            ):
                if kind == TEXT:
                    column.extend(values)
                elif kind == INTERNED:
                    column.extend(map(pool.__getitem__, values))
                elif kind == RUNS:
                    starts, run_values = column
                    n = self.kept
                    for value, run in groupby(values):
                        if not run_values or run_values[-1] != value:
                            starts.append(n)
                            run_values.append(value)
                        n += sum(1 for _ in run)
                else:
                    self._numbers(i, column, values)
            self.kept += len(rows)
            self.rows += len(rows)
            rows.clear()
        if hand_on and self.chunk_rows is not None and self.kept >= self.chunk_rows:
            self.flush()

    def _numbers(self, i: int, column: array[float], values: tuple[Any, ...]) -> None:
        if self._float[i]:
            # The dtype is float64 whatever comes: only a new kind of value needs a look.
            try:
                if self._none[i]:
                    column.frombytes(np.array(values, dtype=np.float64).tobytes())
                else:
                    column.extend(array("d", values))
                return
            except (TypeError, ValueError):
                pass
        seen = set(map(type, values))
        self.classes[i] |= seen
        kinds = {_kind(c) for c in seen}
        self._float[i] = self._float[i] or "float" in kinds
        self._none[i] = self._none[i] or "none" in kinds
        try:
            column.frombytes(np.array(values, dtype=np.float64).tobytes())
        except (TypeError, ValueError):
            raise TypeError(
                f"{self.name}.{self.names[i]}: cannot record values of types "
                f"{sorted(c.__name__ for c in seen)} as numbers"
            ) from None

    def flush(self) -> None:
        """Hand every row kept to the sink and forget them."""
        assert self.sink is not None
        chunk = self.arrays()
        if self.kept:
            self.clear()
            self.sink(self.name, chunk)

    def clear(self) -> None:
        """Forget every row kept or staged (the classes seen stay)."""
        self.staged.clear()
        self.pool.clear()
        self._new_columns()

    def arrays(self) -> Chunk:
        """The rows kept (staged ones packed first), column by column: numbers as
        float64 (``NaN`` for ``None``), strings as object arrays. Copies."""
        self.pack(hand_on=False)
        out: Chunk = {}
        for name, kind, column in zip(self.names, self.kinds, self.columns, strict=True):
            if kind == NUMBER:
                out[name] = np.array(column, dtype=np.float64)
            elif kind == RUNS:
                starts, run_values = column
                at = np.frombuffer(starts, dtype=np.uint32).astype(np.intp)
                counts = np.diff(np.append(at, self.kept))
                out[name] = np.repeat(object_array(run_values), counts)
            else:
                out[name] = object_array(column)
        return out

    def column_classes(self) -> dict[str, set[type]]:
        """The classes of each number column's values, over the whole run so far."""
        return {
            n: set(c)
            for n, k, c in zip(self.names, self.kinds, self.classes, strict=True)
            if k == NUMBER
        }


class Levels:
    """The series table kept as changes: per column, the rows at which its value changed
    and the new values (a column that moves in one row of ten costs a tenth).

    The owner stages each row it closes in :attr:`staged`, as its time and a dict
    of the columns changed since the row before and their values, and calls
    :meth:`pack` when :attr:`stage_rows` are staged. :meth:`arrays` rebuilds the
    dense columns. With a sink, each ``chunk_rows`` rows are handed to
    ``sink(name, chunk)`` and dropped.
    """

    def __init__(
        self,
        name: str,
        start: dict[str, Any],
        *,
        chunk_rows: int | None = None,
        sink: Sink | None = None,
    ) -> None:
        self.name = name
        self.names = tuple(start)
        self.sink = sink
        self.chunk_rows = chunk_rows if sink is not None else None
        self.stage_rows = min(STAGE_ROWS, self.chunk_rows or STAGE_ROWS)
        self.staged: list[tuple[Any, dict[str, Any]]] = []
        self.start = dict(start)  # each column's value before the kept rows
        # The classes of each column's values in the rows handed on (streaming).
        self.classes: dict[str, set[type]] = {"time_s": set(), **{k: set() for k in start}}
        self.rows = 0  # rows handed on
        self._new_logs()

    def _new_logs(self) -> None:
        self.times: array[float] = array("d")
        self.time_classes: set[type] = set()  # of the times that are not floats, and how many
        self.time_odd = 0
        # Row numbers (among the kept rows) and values of each column's changes.
        self.logs: dict[str, tuple[array[int], array[float]]] = {
            k: (array("I"), array("d")) for k in self.names
        }
        # Per column: the classes of the values logged that are not floats, and how many.
        self.odd_classes: dict[str, set[type]] = {k: set() for k in self.names}
        self.odd_count: dict[str, int] = dict.fromkeys(self.names, 0)

    def pack(self, level: dict[str, Any] | None) -> None:
        """Log the staged rows; with a sink, hand on a full chunk. ``level`` is the state
        after the last row staged (None: only reading, hand nothing on)."""
        rows = self.staged
        if rows:
            n = len(self.times)
            times = [t for t, _ in rows]
            if set(map(type, times)) != {float}:
                for t in times:
                    if t.__class__ is not float:
                        self.time_classes.add(t.__class__)
                        self.time_odd += 1
            self.times.extend(array("d", times))
            logs, odd_classes, odd_count = self.logs, self.odd_classes, self.odd_count
            for _, changed in rows:
                for k, v in changed.items():
                    at, values = logs[k]
                    at.append(n)
                    values.append(v)
                    if v.__class__ is not float:
                        odd_classes[k].add(v.__class__)
                        odd_count[k] += 1
                n += 1
            rows.clear()
        if level is not None and self.chunk_rows is not None and len(self.times) >= self.chunk_rows:
            self.flush(level)

    def flush(self, level: dict[str, Any]) -> None:
        """Hand the kept rows to the sink; ``level`` is the state after the last of them."""
        assert self.sink is not None
        if self.staged:
            self.pack(None)
        if len(self.times):
            chunk, classes = self.arrays()
            for k, seen in classes.items():
                self.classes[k] |= seen
            self.rows += len(self.times)
            self.start = {k: level[k] for k in self.names}
            self._new_logs()
            self.sink(self.name, chunk)

    def arrays(
        self, pending: tuple[float, dict[str, Any], Iterable[str]] | None = None
    ) -> tuple[Chunk, dict[str, set[type]]]:
        """The dense columns of the kept rows, ``time_s`` first, and the classes of their
        values; ``pending`` (time, level, changed) adds a row not closed yet."""
        times = np.array(self.times, dtype=np.float64)
        time_classes = set(self.time_classes)
        if len(self.times) > self.time_odd:
            time_classes.add(float)
        extra: dict[str, Any] = {}
        if pending is not None:
            time, level, changed = pending
            times = np.append(times, float(time))
            time_classes.add(time.__class__)
            extra = {k: level[k] for k in changed}
        n = len(times)
        out: Chunk = {"time_s": times}
        classes: dict[str, set[type]] = {"time_s": time_classes if n else set()}
        for k in self.names:
            at_log, value_log = self.logs[k]
            at = np.frombuffer(at_log, dtype=np.uint32).astype(np.intp)
            values = np.array(value_log, dtype=np.float64)
            seen = set(self.odd_classes[k])
            if len(value_log) > self.odd_count[k]:
                seen.add(float)
            if k in extra:
                at = np.append(at, n - 1)
                values = np.append(values, float(extra[k]))
                seen.add(extra[k].__class__)
            if n and (not len(at) or at[0] > 0):
                # The value from before the kept rows holds until the first change.
                first = self.start[k]
                at = np.concatenate(([0], at))
                values = np.concatenate(([float(first)], values))
                seen.add(first.__class__)
            out[k] = np.repeat(values, np.diff(np.append(at, n)))
            classes[k] = seen
        return out, classes
