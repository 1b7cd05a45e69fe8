"""Run a scenario: one or more replications, each on its own random streams.

Replication i of seed S draws from ``SeedSequence(S).spawn(N)[i]`` (one
stream per purpose below that), so a run is bit-for-bit repeatable and two
scenarios run with the same seed share their random numbers. The i-th child
of a spawn does not depend on N (it is ``SeedSequence(S, spawn_key=(i,))``),
so replication i is the same run in a batch of 5 or of 100; one replication
uses the seed itself.

Replications run as :class:`~hpsim.experiment.executors.RunSpec` units on an
executor (in this process by default); with ``until`` they run in batches
until a metric's confidence interval is narrow enough
(:mod:`hpsim.experiment.stopping`).
"""

from __future__ import annotations

import gc
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hpsim import atomic
from hpsim.cluster.cluster import Cluster
from hpsim.errors import HpsimError
from hpsim.experiment.align import align_bases
from hpsim.experiment.executors import Executor, RunOutcome, RunSpec, execute, make_executor
from hpsim.experiment.executors import remember as _remember
from hpsim.experiment.options import check_whole
from hpsim.experiment.progress import Progress, wanted
from hpsim.experiment.stopping import MAX_REPLICATIONS, MIN_REPLICATIONS, Until, parse_until
from hpsim.gcpause import paused_gc
from hpsim.observe.output import write_info
from hpsim.observe.recorder import Recorder, SeriesRecorder
from hpsim.observe.results import (
    Results,
    SeriesStats,
    scenario_meta,
    summarize,
    tables_from_records,
)
from hpsim.observe.stream import CHUNK_ROWS, ChunkFiles, write_tables
from hpsim.scenario.load import LoadedScenario, load
from hpsim.scenario.schema import REPLICATIONS_LIMIT, NodeSpec, Scenario


class RunFailed(RuntimeError):
    """A replication raised; ``record`` holds its error type, message and traceback."""

    def __init__(self, record: dict[str, str]) -> None:
        self.record = record
        super().__init__(
            f"replication {record['replication']} failed: {record['type']}: {record['message']}"
        )


def check_seed(seed: int | None, field: str = "seed") -> None:
    """A seed: what the scenario's ``seed`` takes (a whole number, at least 0)."""
    check_whole(seed, field, 0)


def check_count(n: int | None, field: str = "replications") -> None:
    """A number of replications: 1 to REPLICATIONS_LIMIT, as the scenario's ``replications``."""
    check_whole(n, field, 1, REPLICATIONS_LIMIT)


def disk_bytes_by_pool(sc: Scenario) -> dict[str, float]:
    """Each pool's volume size, as :func:`hpsim.observe.results.summarize` holds each node
    to its own."""
    return {p.name: float(p.node.disk) for p in sc.pools}


def image_bytes_peak(series: pd.DataFrame) -> float:
    """Peak bytes of images on disk: content store + snapshots."""
    return SeriesStats.of(series, 0.0).peak("images")


def spawn_key(replication: int, replications: int) -> tuple[int, ...]:
    """The spawn key of replication i (one replication: the root seed itself)."""
    return () if replications == 1 else (replication,)


def _replay(
    loaded: LoadedScenario, ss: np.random.SeedSequence
) -> tuple[dict[str, pd.DataFrame], int]:
    """Build the model, let it emit into a fresh recorder, and make the tables of what it
    recorded (and the GC passes it counted): the model hands over nothing else."""
    rec = Recorder()
    run_bounded(Cluster(loaded, ss, rec), float(loaded.scenario.duration))
    return tables_from_records(rec, release=True), rec.gc_runs


def twin_image_bytes_peak(twin: LoadedScenario, ss: np.random.SeedSequence) -> float:
    """The aligned-bases twin's peak image bytes: the twin runs on the same streams, and
    only its series is kept (in chunks, as it streams: the figure needs no more)."""
    stats = SeriesStats(float(twin.scenario.duration))

    def take(_name: str, chunk: dict[str, np.ndarray]) -> None:
        # float64 columns: the peak is the same whichever dtype the table would get.
        stats.add(pd.DataFrame(chunk))

    rec = SeriesRecorder(sink=take)
    run_bounded(Cluster(twin, ss, rec), float(twin.scenario.duration))
    rec.close()
    return stats.finish().peak("images")


#: Simulated time between two looks at the model's garbage.
SLICE_S = 3600.0

#: Objects made since the last collection (``gc.get_count()[0]``) past which a run
#: collects the model's reference cycles: about 10 MB of them. Our choice.
YOUNG_OBJECTS = 100_000


def run_bounded(node: Cluster, duration: float) -> None:
    """``node.run()``, with the garbage the model leaves collected as the run goes.

    A run pauses Python's cyclic collector (:mod:`hpsim.gcpause`), and the
    model's reference cycles (simpy events and the closures their callbacks
    hold) wait for the end: about 4 KB a pod, 472,000 objects in 30 days of
    ``benchmarks/month.yaml``. Here the run advances an hour of simulated time
    at a time and, between two hours, collects once more than
    :data:`YOUNG_OBJECTS` objects were made since the last collection. The
    simulation is the same (the events of an instant keep their order across
    a slice's end: tests/test_experiment.py holds it to ``node.run()``); the
    memory stays flat, and the run as a whole is no slower: collecting as it
    goes costs less than collecting a month's cycles at the end (60 days of
    month.yaml: 5.3 s against 6.3 s, the final collection included).
    """
    with paused_gc():
        node.start()
        until = 0.0
        while until < duration:
            # An hour at a time, but straight to the next event over a stretch with none:
            # a run costs what happens in it, not how long it lasts (hpsim.node.clock).
            until = min(duration, max(until + SLICE_S, node.env.peek()))
            node.advance(until)
            if gc.get_count()[0] > YOUNG_OBJECTS:
                gc.collect()
        node.finish()


# Start latency rests on the unpack rate, the least certain default (hpsim.scenario.nodespec
# UNPACK_RATE and Antivirus): where pulls are at least this share of it, the first
# replication is replayed at these multiples of the node's unpack throughput, on the same
# streams. One replication, not all: each replay costs a whole run, and the figure says
# what the answer rests on, not a second answer needing its own interval.
PULLS_DOMINATE = 0.5
UNPACK_SENSITIVITY = {"half": 0.5, "twice": 2.0}


def with_unpack_rate_scaled(loaded: LoadedScenario, factor: float) -> LoadedScenario:
    """The same scenario on a node whose layers extract ``factor`` times as fast."""
    sc = loaded.scenario

    def scaled(node: NodeSpec) -> NodeSpec:
        return node.model_copy(update={"unpack_rate": node.unpack_rate * factor})

    if sc.node is not None:
        return replace(loaded, scenario=sc.model_copy(update={"node": scaled(sc.node)}))
    pools = [p.model_copy(update={"node": scaled(p.node)}) for p in sc.node_pools]
    return replace(loaded, scenario=sc.model_copy(update={"node_pools": pools}))


def _unpack_sensitivity(
    loaded: LoadedScenario, ss: np.random.SeedSequence, summary: dict[str, Any], wanted: bool
) -> None:
    """Start latency p50 and p95 at half and twice the unpack throughput (and as run, for
    comparison), when ``wanted`` and pulls dominate it; empty otherwise (two more runs
    would tell little and cost as much as the run)."""
    p50: dict[str, float | None] = {}
    p95: dict[str, float | None] = {}
    share = summary.get("pull_share_of_start_latency")
    if wanted and share is not None and share >= PULLS_DOMINATE:
        p50["as_run"] = summary["start_latency_s_p50"]
        p95["as_run"] = summary["start_latency_s_p95"]
        sc = loaded.scenario
        for name, factor in UNPACK_SENSITIVITY.items():
            tables, gc_runs = _replay(with_unpack_rate_scaled(loaded, factor), ss)
            other = summarize(
                tables,
                sc.duration,
                disk_bytes_by_pool=disk_bytes_by_pool(sc),
                image_gc_runs=gc_runs,
            )
            p50[name] = other["start_latency_s_p50"]
            p95[name] = other["start_latency_s_p95"]
    summary["start_latency_s_p50_by_unpack_rate"] = p50
    summary["start_latency_s_p95_by_unpack_rate"] = p95


def simulate(
    loaded: LoadedScenario,
    ss: np.random.SeedSequence,
    twin: LoadedScenario | None = None,
    *,
    unpack_sensitivity: bool = False,
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """One run on the streams of ``ss``: its tables and summary.

    ``twin`` is the scenario with aligned bases: it runs on the same streams
    and the difference in image bytes is what aligning would save. With
    ``unpack_sensitivity``, where pulls dominate start latency, the run is also
    replayed on the same streams at half and twice the unpack throughput
    (``start_latency_s_p50_by_unpack_rate``, ``..._p95_...``; empty otherwise).
    """
    tables, gc_runs = _replay(loaded, ss)
    sc = loaded.scenario
    stats = SeriesStats.of(tables["series"], sc.duration)
    summary = summarize(
        tables,
        sc.duration,
        disk_bytes_by_pool=disk_bytes_by_pool(sc),
        image_gc_runs=gc_runs,
        series=stats,
    )
    add_image_peaks(summary, stats, twin, ss)
    _unpack_sensitivity(loaded, ss, summary, unpack_sensitivity)
    return tables, summary


def add_image_peaks(
    summary: dict[str, Any],
    stats: SeriesStats,
    twin: LoadedScenario | None,
    ss: np.random.SeedSequence,
) -> None:
    """The run's peak image bytes and what aligning the bases would save (0 without a
    twin). Same seed, same streams: the difference is the base mix, not the dice."""
    summary["image_bytes_peak"] = stats.peak("images")
    summary["aligned_bases_saving_bytes"] = 0.0
    if twin is not None:
        summary["aligned_bases_saving_bytes"] = summary["image_bytes_peak"] - (
            twin_image_bytes_peak(twin, ss)
        )


def run_streamed(
    scenario: LoadedScenario | str | Path,
    out_dir: str | Path,
    *,
    seed: int | None = None,
    fmt: str = "parquet",
    align: bool = True,
    report: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    scenario_file: str | None = None,
) -> Results:
    """One replication written to ``out_dir`` as it runs (``hpsim run --stream``).

    The recorder hands its tables to chunk files in the results' temporary
    folder every ``chunk_rows`` rows and keeps none of them: memory stays
    bounded however long the run (:mod:`hpsim.observe.stream`). At the end the
    chunk files become the table files, with the same content and dtypes a run
    in memory writes, and the summary is made from them; then the folder takes
    its name. An interrupted run leaves no results folder. Returns the summary
    (``tables`` is empty: they are in ``out_dir``).
    """
    check_seed(seed)
    check_whole(chunk_rows, "chunk_rows", 1)
    loaded = scenario if isinstance(scenario, LoadedScenario) else load(scenario)
    sc = loaded.scenario
    seed = sc.seed if seed is None else seed
    twin = align_bases(loaded) if align else None
    ss = np.random.SeedSequence(seed, spawn_key=spawn_key(0, 1))
    meta: dict[str, Any] = {"replications": 1, **scenario_meta(loaded)}
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise HpsimError(f"results folder {out_dir} exists and is not empty")
    with atomic.replacing_dir(out_dir, empty_only=True, clean=True) as tmp:
        chunks = ChunkFiles(tmp / ".chunks", keepalive=tmp)
        rec = Recorder(sink=chunks, chunk_rows=chunk_rows)
        run_bounded(Cluster(loaded, ss, rec), float(sc.duration))
        rec.close()
        chunks.close()
        tables, stats = write_tables(rec, chunks, tmp, fmt, sc.duration)
        gc_runs = rec.gc_runs
        del rec
        chunks.remove()
        summary = summarize(
            tables,
            sc.duration,
            disk_bytes_by_pool=disk_bytes_by_pool(sc),
            image_gc_runs=gc_runs,
            series=stats,
        )
        add_image_peaks(summary, stats, twin, ss)
        _unpack_sensitivity(loaded, ss, summary, True)
        res = Results(
            scenario=sc.name,
            seed=seed,
            duration=sc.duration,
            tables=tables,
            summaries=[summary],
            meta=meta,
        )
        # The warnings read the pods, containers and the pods' warning events, which
        # ``tables`` holds (observe.results.summary_rows); then the tables are let go.
        res = replace(res, tables={}, combined=res.summary())
        del tables
        write_info(tmp, res, fmt, scenario_file)
        if report:
            from hpsim.observe.report import write_report

            write_report(tmp)
    return res


def _spec(
    loaded: LoadedScenario, seed: int, i: int, n: int, align: bool, sensitivity: bool
) -> RunSpec:
    return RunSpec(
        key=("", i),
        data=loaded.data,
        file=loaded.file,
        base_dir=str(loaded.base_dir),
        entropy=seed,
        spawn_key=spawn_key(i, n),
        align=align,
        unpack_sensitivity=sensitivity and i == 0,
        allow_outside=loaded.allow_outside,
    )


def _run_batch(
    ex: Executor, specs: list[RunSpec], out: dict[int, RunOutcome], bar: Progress
) -> None:
    for outcome in ex.map(execute, specs):
        bar.update(outcome.ok)
        if not outcome.ok:
            assert outcome.error is not None
            if outcome.error.get("input_error"):
                raise HpsimError(outcome.error["message"])
            raise RunFailed(outcome.error)
        out[outcome.key[1]] = outcome


def run(
    scenario: LoadedScenario | str | Path,
    *,
    seed: int | None = None,
    replications: int | None = None,
    align: bool = True,
    unpack_sensitivity: bool = True,
    until: str | Until | None = None,
    max_replications: int = MAX_REPLICATIONS,
    executor: str | Executor | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    progress: bool | None = False,
) -> Results:
    """Replay a scenario; returns its tables and summary.

    With ``align`` (the default) a scenario whose images sit on Windows bases
    other than the host's LTSC also runs its aligned twin, to report what
    aligning the bases would save. With ``unpack_sensitivity`` (the default),
    where image pulls are at least half of start latency, the first replication
    is replayed with the same seed at half and twice the unpack throughput
    (``start_latency_s_p50_by_unpack_rate``): two more runs.

    ``until`` (e.g. ``"p95_start_s:±5%"``) replicates until that metric's 95%
    half-width meets the target: at least ``replications`` (default 3) and at
    most ``max_replications`` runs. ``executor`` is ``"inprocess"`` (the
    default), ``"pool"`` (``jobs`` processes) or ``"dask"`` (a LocalCluster,
    or the cluster at ``scheduler``); every executor gives the same tables.
    A replication that raises stops the run with :class:`RunFailed`.
    """
    check_seed(seed)
    check_count(replications)
    check_count(max_replications, "max_replications")
    loaded = scenario if isinstance(scenario, LoadedScenario) else load(scenario)
    sc = loaded.scenario
    seed = sc.seed if seed is None else seed
    rule = parse_until(until) if isinstance(until, str) else until
    if rule is None:
        n = sc.replications if replications is None else replications
        minimum = n
    else:
        minimum = max(2, MIN_REPLICATIONS if replications is None else replications)
        n = max(minimum, max_replications)
    check_count(n)
    if align:
        align_bases(loaded)  # a bad twin fails here, not in every worker
    if n == 1 and rule is None and isinstance(executor, str) and scheduler is None:
        executor = "inprocess"  # one run: no workers to start
    ex = make_executor(executor, jobs=jobs, scheduler=scheduler)
    _remember(loaded)
    outcomes: dict[int, RunOutcome] = {}
    final = n
    stop: int | None = None
    with ex, Progress(minimum, show=wanted(progress) and n > 1, desc=loaded.name) as bar:
        if rule is None:
            specs = [_spec(loaded, seed, i, n, align, unpack_sensitivity) for i in range(n)]
            _run_batch(ex, specs, outcomes, bar)
        else:
            # Spawn keys (i,) whatever the final count: replication i is the same run.
            batch = max(minimum, ex.jobs)
            while stop is None and len(outcomes) < n:
                start = len(outcomes)
                end = min(n, start + (batch if start == 0 else max(ex.jobs, 1)))
                if start:
                    bar.grow(end - start)
                elif end > minimum:
                    bar.grow(end - minimum)
                specs = [
                    _spec(loaded, seed, i, n, align, unpack_sensitivity) for i in range(start, end)
                ]
                _run_batch(ex, specs, outcomes, bar)
                values = [outcomes[i].summary[rule.metric] for i in range(end)]  # type: ignore[index]
                stop = rule.stop_at(values, minimum)
            final = stop if stop is not None else n
    per_run = [outcomes[i] for i in range(final)]
    tables: dict[str, pd.DataFrame] = {}
    for name in per_run[0].tables or {}:
        if final == 1:
            tables[name] = per_run[0].tables[name]  # type: ignore[index]
            continue
        parts = []
        for i, o in enumerate(per_run):
            df = o.tables[name].copy()  # type: ignore[index]
            df.insert(0, "replication", i)
            parts.append(df)
        tables[name] = pd.concat(parts, ignore_index=True)
    meta: dict[str, Any] = {"replications": final, **scenario_meta(loaded)}
    if rule is not None:
        meta["until"] = {
            "rule": rule.describe(),
            "met": stop is not None,
            "max_replications": n,
        }
    return Results(
        scenario=sc.name,
        seed=seed,
        duration=sc.duration,
        tables=tables,
        summaries=[o.summary for o in per_run],  # type: ignore[misc]
        meta=meta,
    )
