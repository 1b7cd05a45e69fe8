"""The recorder's compact columns give the tables the rows' tuples gave, value for value,
dtype for dtype; and what the recorder keeps per pod stays small.

The reference is the recorder as it was (every row a Python tuple, tables made
with ``pd.DataFrame(rows)``), kept here in a few lines: hand-made facts and
random sequences of facts must give the same frames either way, kept whole or
handed on in chunks.
"""

from __future__ import annotations

import gc
import math
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpsim.cluster.cluster import Cluster
from hpsim.facts import ContainerRecord, GCRecord, PodRecord, PullRecord, WriteRecord
from hpsim.observe import columns
from hpsim.observe.columns import number_array
from hpsim.observe.recorder import (
    EVENT_COLUMNS,
    ROW_TABLES,
    SERIES_COLUMNS,
    STREAMED,
    TRANSITION_COLUMNS,
    Recorder,
)
from hpsim.observe.results import (
    CONTAINER_COLUMNS,
    POD_COLUMNS,
    table_from_columns,
    tables_from_records,
)
from hpsim.scenario.load import load_data

MONTH = Path(__file__).parents[1] / "benchmarks" / "month.yaml"

# -- the reference: rows as tuples, tables as pd.DataFrame(rows) -------------------------------


class ListRecorder:
    """The recorder as it was: a list of tuples per table."""

    def __init__(self) -> None:
        self.rows: dict[str, list[Any]] = {name: [] for name in ROW_TABLES}
        self.pods: dict[int, PodRecord] = {}
        self.series: list[tuple[Any, ...]] = []
        self._row_time: Any = None
        self._level: dict[str, Any] = dict.fromkeys(SERIES_COLUMNS, 0.0)

    def event(self, time, kind, name, reason, message, type_="Normal", causes="") -> None:  # type: ignore[no-untyped-def]
        self.rows["events"].append((time, kind, name, type_, reason, message, causes, ""))

    def transition(self, time, pod, old, new, status, ready) -> None:  # type: ignore[no-untyped-def]
        self.rows["transitions"].append((time, pod, old, new, status, ready, ""))

    def pod(self, record: PodRecord) -> None:
        self.pods[record.uid] = record

    def record(self, name: str, record: tuple[Any, ...]) -> None:
        self.rows[name].append(record)

    def level(self, time, **values) -> None:  # type: ignore[no-untyped-def]
        level = self._level
        if time != self._row_time:
            if values.items() <= level.items():
                return
            if self._row_time is not None:
                self.series.append((self._row_time, *level.values()))
            self._row_time = time
        for k, v in values.items():
            if level[k] != v:
                level[k] = v

    def tables(self) -> dict[str, pd.DataFrame]:
        def frame(rows: list[Any], cols: tuple[str, ...]) -> pd.DataFrame:
            return pd.DataFrame(rows, columns=list(cols))

        pods = frame(
            [
                (
                    *r[1 : PodRecord._fields.index("pull_s")],
                    (r.scheduled_s - r.created_s) if r.scheduled_s is not None else np.nan,
                    r.pull_s,
                    (r.ready_s - r.created_s) if r.ready_s is not None else np.nan,
                    r.ready_duration_s,
                    r.status,
                    "",
                )
                for r in sorted(self.pods.values(), key=lambda r: r.uid)
            ],
            POD_COLUMNS,
        )
        for col in pods.columns:
            if col.endswith("_s"):
                pods[col] = pods[col].astype("float64")

        def reason(r: ContainerRecord) -> str:
            if r.ended_s is None:
                return "Running"
            if r.exit_code is None:
                return "Killed"
            return "Completed" if r.exit_code == 0 else "Error"

        rows = [(*r[:-1], reason(r), r.memory_cap, "") for r in self.rows["containers"]]
        containers = frame(rows, CONTAINER_COLUMNS)
        containers["ended_s"] = containers["ended_s"].astype("float64")
        containers["exit_code"] = containers["exit_code"].astype("Int64")
        containers = containers.sort_values(
            ["started_s", "pod", "container"], kind="stable", ignore_index=True
        )
        series = list(self.series)
        if self._row_time is not None:
            series.append((self._row_time, *self._level.values()))
        series = [(*row, "") for row in series]

        def records(name: str, fields: tuple[str, ...]) -> pd.DataFrame:
            return frame([(*r, "") for r in self.rows[name]], (*fields, "node"))

        pulls = records("pulls", PullRecord._fields)
        for col in ("started_s", "downloaded_s"):
            pulls[col] = pulls[col].astype("float64")
        writes = records("writes", WriteRecord._fields)
        writes["instance"] = writes["instance"].astype("Int64")
        return {
            "pods": pods,
            "events": frame(self.rows["events"], EVENT_COLUMNS),
            "series": frame(series, ("time_s", *SERIES_COLUMNS, "node")),
            "transitions": frame(self.rows["transitions"], TRANSITION_COLUMNS),
            "gc": records("gc", GCRecord._fields),
            "containers": containers,
            "pulls": pulls,
            "writes": writes,
        }


def _tell(facts: list[tuple[str, Any]], *recorders: Any) -> None:
    for kind, fact in facts:
        for rec in recorders:
            if kind == "level":
                rec.level(fact[0], **fact[1])
            elif kind in ("event", "transition"):
                getattr(rec, kind)(*fact)
            elif kind == "pods":
                rec.pod(fact)
            elif isinstance(rec, ListRecorder):
                rec.record(kind, fact)
            else:
                getattr(
                    rec,
                    {"containers": "container", "pulls": "pull", "writes": "write"}.get(kind, kind),
                )(fact)


def _assert_same(got: dict[str, pd.DataFrame], want: dict[str, pd.DataFrame]) -> None:
    for name, df in want.items():
        pdt.assert_frame_equal(got[name], df, check_exact=True, obj=name)
        assert list(got[name].dtypes) == list(df.dtypes), name


def _chunked_tables(facts: list[tuple[str, Any]], chunk_rows: int) -> dict[str, pd.DataFrame]:
    """The tables a streaming recorder's chunks make, chunk by chunk (in memory, as
    hpsim.observe.stream makes them from its files)."""
    chunks: dict[str, list[dict[str, np.ndarray]]] = {name: [] for name in STREAMED}
    rec = Recorder(sink=lambda name, chunk: chunks[name].append(chunk), chunk_rows=chunk_rows)
    _tell(facts, rec)
    rec.close()
    out = {}
    for name in STREAMED:
        parts = chunks[name]
        classes = rec.classes(name)
        for col, values in (parts[0] if parts else {}).items():
            if values.dtype == object:  # what a chunk file's null counts tell
                seen = [v for p in parts for v in p[col]]
                classes[col] = {type(v) for v in seen} & {str, type(None)}
        if not parts:
            out[name] = table_from_columns(name, rec.columns(name)[0], classes)
        elif name in ("pods", "containers"):
            whole = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
            out[name] = table_from_columns(name, whole, classes)
        else:
            frames = [table_from_columns(name, p, classes) for p in parts]
            out[name] = pd.concat(frames, ignore_index=True)
    return out


# -- hand-made facts -----------------------------------------------------------------------------


def _pod(uid: int, **over: Any) -> PodRecord:
    base = {
        "uid": uid,
        "pod": f"p{uid}",
        "workload": "w",
        "kind": "Deployment",
        "namespace": "default",
        "host_process": False,
        "revision": 0,
        "created_s": 0.0,
        "scheduled_s": None,
        "pull_started_s": None,
        "started_s": None,
        "ready_s": None,
        "finished_s": None,
        "deleted_s": None,
        "phase": "Pending",
        "reason": "",
        "message": "",
        "restarts": 0,
        "alloc_failures": 0,
        "pull_s": 0.0,
        "ready_duration_s": 0.0,
        "status": "Pending",
    }
    base.update(over)
    return PodRecord(**base)


HAND_MADE: list[tuple[str, Any]] = [
    ("level", (0, {"pods_bound": 1, "cpu_allocated_millicores": 250})),
    ("level", (0, {"pods_bound": 2})),  # the same instant: one row, as it stands last
    ("event", (0, "Pod", "p1", "Scheduled", "Successfully assigned default/p1 to n")),
    ("transition", (0, "p1", "", "Pending", "Pending", False)),
    ("level", (1.5, {"memory_committed_bytes": 1e9, "memory_commit_slope_bytes_per_s": 0})),
    ("event", (2.0, "Pod", "p1", "Started", "Started container c")),
    ("level", (3, {"pods_bound": 1, "memory_committed_bytes": 5e8})),
    ("pods", _pod(1, scheduled_s=0.0, ready_s=2, phase="Running")),
    ("pods", _pod(2, created_s=1, phase="Refused", reason="OutOfcpu", message="no room")),
    ("pods", _pod(1, scheduled_s=0.0, ready_s=2, finished_s=9.5, phase="Succeeded")),
    ("containers", ContainerRecord("p1", "w", "c", False, 0, 2.0, None, None, False)),
    ("containers", ContainerRecord("p1", "w", "i", True, 0, 1.0, 1.9, 0, False)),
    ("containers", ContainerRecord("p1", "w", "c", False, 1, 0.5, 0.75, None, True)),
    ("containers", ContainerRecord("p1", "w", "c", False, 2, 3.0, 4.0, 137, False)),
    ("writes", WriteRecord("p1", "w", "c", "logs", 2.0, None, 100.0, 0)),
    ("gc", GCRecord(7.0, "img:1", "space", 10, 20, 30)),
]


def test_hand_made_facts_make_the_tables_the_tuples_made():
    ref, rec = ListRecorder(), Recorder()
    _tell(HAND_MADE, ref, rec)
    want = ref.tables()
    _assert_same(tables_from_records(rec), want)
    _assert_same(_chunked_tables(HAND_MADE, 2), want)


def test_hand_made_tables_hold_exactly_these_values():
    rec = Recorder()
    _tell(HAND_MADE, rec)
    t = tables_from_records(rec)
    s = t["series"]
    assert s["time_s"].tolist() == [0.0, 1.5, 3.0] and s["time_s"].dtype == "float64"
    assert s["pods_bound"].tolist() == [2, 2, 1] and s["pods_bound"].dtype == "int64"
    # 0.0 before the first change: floats and ints mixed make float64.
    assert s["memory_committed_bytes"].tolist() == [0.0, 1e9, 5e8]
    assert s["memory_commit_slope_bytes_per_s"].dtype == "float64"
    assert s["cpu_allocated_millicores"].dtype == "int64"  # an int at every row
    ev = t["events"]
    assert ev["time_s"].tolist() == [0, 2] and ev["time_s"].dtype == "float64"
    assert ev["message"].tolist() == [
        "Successfully assigned default/p1 to n",
        "Started container c",
    ]
    assert t["transitions"]["time_s"].dtype == "int64"  # one row, at the int 0
    pods = t["pods"]
    assert pods["pod"].tolist() == ["p1", "p2"]  # by uid, the latest record of each
    assert pods["phase"].tolist() == ["Succeeded", "Refused"]
    assert pods["start_latency_s"].tolist()[0] == 2.0 and math.isnan(pods["pending_s"].iloc[1])
    c = t["containers"]
    assert c["reason"].tolist() == ["Killed", "Completed", "Running", "Error"]  # by start
    assert c["exit_code"].tolist() == [pd.NA, 0, pd.NA, 137]
    assert str(c["exit_code"].dtype) == "Int64"
    w = t["writes"]
    assert w["released_s"].dtype == object and w["released_s"].tolist() == [None]
    assert t["gc"].dtypes.tolist()[3:6] == [np.dtype("int64")] * 3


def test_no_facts_make_the_empty_tables_of_before():
    ref, rec = ListRecorder(), Recorder()
    _assert_same(tables_from_records(rec), ref.tables())


@pytest.mark.parametrize(
    ("values", "classes", "dtype"),
    [
        ([1.0, 2.0], {int}, "int64"),
        ([1.0, 2.5], {int, float}, "float64"),
        ([1.0, math.nan], {int, type(None)}, "float64"),
        ([math.nan, math.nan], {type(None)}, "object"),
        ([1.0, 0.0], {bool}, "bool"),
        ([1.0, 2.0], {np.int64, float}, "float64"),
    ],
)
def test_a_number_column_gets_the_dtype_its_values_would_give(values, classes, dtype):
    assert str(number_array(np.array(values), classes).dtype) == dtype


def test_an_integer_too_large_for_a_float_is_refused_not_rounded():
    with pytest.raises(ValueError, match="2\\*\\*53"):
        number_array(np.array([float(2**53)]), {int})
    rec = Recorder()
    rec.transition(0, "p", "", "Pending", "Pending", False)
    rec.transition("soon", "p", "Pending", "Running", "Running", True)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"transitions\.time_s"):
        tables_from_records(rec)


# -- random facts --------------------------------------------------------------------------------

_times = st.sampled_from([0, 1, 1.5, 2, 2.0, 7.25, 10])
_numbers = st.one_of(st.integers(-(10**12), 10**12), st.floats(-1e12, 1e12, allow_nan=False))
_opt = st.one_of(st.none(), st.integers(0, 10**6), st.floats(0, 1e6, allow_nan=False))
_words = st.sampled_from(["", "a", "Pod", "web-0", "Ünïcode ✓", "x" * 40])
_ints = st.integers(0, 10**6)


def _record(cls: type, **strategies: Any) -> st.SearchStrategy[Any]:
    return st.builds(cls, **strategies)


_fact = st.one_of(
    st.tuples(st.just("event"), st.tuples(_times, _words, _words, _words, _words, _words)),
    st.tuples(
        st.just("transition"),
        st.tuples(_times, _words, _words, _words, _words, st.booleans()),
    ),
    st.tuples(
        st.just("level"),
        st.tuples(_times, st.dictionaries(st.sampled_from(SERIES_COLUMNS[:6]), _numbers)),
    ),
    st.tuples(
        st.just("pods"),
        _record(
            PodRecord,
            uid=st.integers(0, 6),
            pod=_words,
            workload=_words,
            kind=_words,
            namespace=_words,
            host_process=st.booleans(),
            revision=_ints,
            created_s=_times,
            scheduled_s=_opt,
            pull_started_s=_opt,
            started_s=_opt,
            ready_s=_opt,
            finished_s=_opt,
            deleted_s=_opt,
            phase=_words,
            reason=_words,
            message=_words,
            restarts=_ints,
            alloc_failures=_ints,
            pull_s=_times,
            ready_duration_s=_times,
            status=_words,
        ),
    ),
    st.tuples(
        st.just("containers"),
        _record(
            ContainerRecord,
            pod=_words,
            workload=_words,
            container=_words,
            init=st.booleans(),
            instance=_ints,
            started_s=_times,
            ended_s=st.one_of(st.none(), _times),
            exit_code=st.one_of(st.none(), st.integers(-(2**31), 2**31)),
            memory_cap=st.booleans(),
        ),
    ),
    st.tuples(
        st.just("pulls"),
        _record(
            PullRecord,
            pod=_words,
            image=_words,
            queued_s=_times,
            started_s=_opt,
            downloaded_s=_opt,
            finished_s=_times,
            bytes_downloaded=_ints,
            bytes_unpacked=_ints,
            download_s=_times,
            unpack_s=_times,
            error=_words,
        ),
    ),
    st.tuples(
        st.just("writes"),
        _record(
            WriteRecord,
            pod=_words,
            workload=_words,
            container=_words,
            owner=_words,
            first_write_s=_times,
            released_s=st.one_of(st.none(), _times),
            bytes=_numbers,
            instance=st.one_of(st.none(), _ints),
        ),
    ),
    st.tuples(
        st.just("gc"),
        _record(
            GCRecord,
            time_s=_times,
            image=_words,
            reason=_words,
            believed_freed_bytes=_ints,
            content_freed_bytes=_ints,
            snapshot_freed_bytes=_ints,
        ),
    ),
)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(facts=st.lists(_fact, max_size=40), chunk_rows=st.integers(1, 6))
def test_random_facts_make_the_same_tables_whole_or_in_chunks(monkeypatch, facts, chunk_rows):
    monkeypatch.setattr(columns, "STAGE_ROWS", 3)  # pack often: every path of Table.pack
    ref, rec = ListRecorder(), Recorder()
    _tell(facts, ref, rec)
    want = ref.tables()
    _assert_same(tables_from_records(rec), want)
    _assert_same(_chunked_tables(facts, chunk_rows), want)


# -- memory --------------------------------------------------------------------------------------


def _month(days: int) -> Any:
    data = yaml.safe_load(MONTH.read_text())
    data["duration"] = f"{days}d"
    return load_data(data, file=str(MONTH), base_dir=str(MONTH.parent))


def _retained(days: int, **recorder: Any) -> tuple[int, int]:
    """Bytes the recorder holds at the end of a run of month.yaml (tracemalloc), and pods."""
    loaded = _month(days)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        rec = Recorder(**recorder)
        node = Cluster(loaded, 1, rec)
        node.run()
        del node
        rec.pack()  # the staging lists (a few thousand rows at most) into the columns
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    return held, rec.rows("pods")


def test_the_recorder_keeps_about_1_3_kb_a_pod():
    """What the recorder holds at the end of a run, its staging lists packed, per pod:
    1,288 bytes measured for one day of month.yaml (429 pods), 1,232 for two, 1,256 for
    its 30 days (12,610 pods, benchmarks/bench_memory.py). The rows as tuples took
    4,274 bytes a pod."""
    held, pods = _retained(1)
    assert pods > 350
    assert held / pods < 1_600, f"{held / pods:,.0f} bytes a pod"


def test_a_streaming_recorder_keeps_what_a_chunk_holds_however_long_the_run():
    """With chunks of 500 rows a streaming recorder holds about as much after 1 day as
    after 2 (measured: 229 KB and 175 KB, the chunks being filled): nothing grows with
    the run."""
    drop = lambda _name, _chunk: None  # noqa: E731
    short, short_pods = _retained(1, sink=drop, chunk_rows=500)
    long, long_pods = _retained(2, sink=drop, chunk_rows=500)
    assert long_pods > 1.8 * short_pods
    assert long < 1.3 * short + 100_000, (short, long)
    assert long < 500_000
