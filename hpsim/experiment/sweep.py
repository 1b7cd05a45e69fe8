"""Sweeps: a factorial grid of scenario variants, each replicated, in one set of tables.

``sweep(sc, {"node.memory": ["16Gi", "32Gi"], "workloads.app.replicas": [4, 8]},
replications=30)`` runs 4 points x 30 replications. Factors are dotted paths
into the scenario (:mod:`hpsim.experiment.paths`); every point goes through
the ordinary loader before any run starts, so a bad value fails at once with
the factor named. Replication i of every point runs on the same streams
(``SeedSequence(seed).spawn`` child i): points differ by their factors, not by
their dice (common random numbers).

With an output folder each run writes its own folder, atomically::

    DIR/sweep.json                      the factors, grid, seed: what this folder holds
    DIR/points/p000/point.json          the point's factor values
    DIR/points/p000/rep-0/              pods.parquet ... summary.json, run.json
    DIR/points/p000/rep-1/error.json    a run that raised: its error and traceback
    DIR/pods.parquet ...                every run's table, with point, factor and
                                        replication columns (written at the end)
    DIR/summary.parquet                 one row per point: metric mean, interval and n
    DIR/runs.parquet, DIR/failed.parquet one row per run / per failed run

Started again with the same sweep, it skips runs whose folder is whole and
reruns the failed ones; a different sweep into the same folder is refused.
A run whose folder cannot be written (a full disk) is a failed run like one
that raised; if the combined tables cannot be written at the end, the results
say so in ``meta["write_error"]``.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from hpsim import atomic
from hpsim.errors import HpsimError, excerpt
from hpsim.experiment.executors import (
    Executor,
    InProcess,
    RunOutcome,
    RunSpec,
    _write_error,
    execute,
    make_executor,
    remember,
    write_error_record,
    write_run,
)
from hpsim.experiment.paths import Resolver, Token
from hpsim.experiment.progress import Progress, wanted
from hpsim.experiment.run import check_count, check_seed, spawn_key
from hpsim.observe.output import TABLES, os_reason, shown_path, without_metadata, write_failure
from hpsim.observe.results import TableViews
from hpsim.observe.stats import record
from hpsim.scenario.load import LoadedScenario, load, load_data
from hpsim.scenario.yamlsrc import Source, iter_documents, join_path, read_text
from hpsim.words import missing_words, unit_words, with_interval

SWEEP_FILE = "sweep.json"

# The most runs (points x replications) one sweep may hold. Our choice, not an upstream
# rule: every run is planned before the first starts (a spec, a row, a folder each), and
# 100,000 runs of even the smallest scenario take hours on one machine; a grid past it
# is a typo (1000 x 1000 values) or wants splitting into sweeps.
SWEEP_RUNS_LIMIT = 100_000
# The most points: each is a copy of the scenario loaded and checked before any run
# (about 15 KB and 1.5 ms for the smallest scenario, many times that for a real one).
# Our choice, for the same reason.
SWEEP_POINTS_LIMIT = 10_000
_IDENTITY = ("scenario_sha256", "factors", "replications", "seed", "align", "format")


# -- the grid -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One cell of the grid: an id, its factor values and its scenario data."""

    id: str
    values: dict[str, Any]
    data: dict[str, Any]


def _json_value(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _scenario_lines(loaded: LoadedScenario) -> Source | None:
    """The scenario file's line map (for messages), when it is a file."""
    try:
        path = Path(loaded.file)
        if not path.is_file():
            return None
        return next(iter(iter_documents(read_text(path), loaded.file)), None)
    except (HpsimError, OSError):
        return None


def _check(
    loaded: LoadedScenario,
    data: dict[str, Any],
    values: dict[str, Any],
    where: dict[str, list[Token]],
    lines: Source | None,
) -> LoadedScenario:
    """Load a point's scenario; an error names the factors and values that made it."""
    try:
        return load_data(
            data, file=loaded.file, base_dir=loaded.base_dir, allow_outside=loaded.allow_outside
        )
    except HpsimError as exc:
        shown = ", ".join(
            f"{excerpt(k)}={excerpt(json.dumps(v, default=str))}" for k, v in values.items()
        )
        culprit = next(iter(where.values()))
        for w in where.values():
            # The factor whose place holds the error's field (or inside which it is).
            at = join_path(tuple(w))
            if exc.field and (exc.field.startswith(at) or at.startswith(exc.field)):
                culprit = w
                break
        # The point's data has no line map: the line is where the factor sits in the file.
        line = lines.line(tuple(culprit)) if lines is not None else None
        raise HpsimError(
            f"{exc.detail} (with --set {shown})",
            file=loaded.file,
            line=line,
            field=exc.field,
        ) from None


def grid(
    loaded: LoadedScenario, factors: Mapping[str, Sequence[Any]]
) -> tuple[list[Point], list[LoadedScenario]]:
    """Every point of the factorial grid, each checked by the loader (first factor slowest)."""
    if not factors:
        raise HpsimError("a sweep needs at least one factor (--set PATH=V1,V2)", field="--set")
    resolver = Resolver(loaded.data, file=loaded.file, base_dir=loaded.base_dir)
    lines = _scenario_lines(loaded)
    names = list(factors)
    for name in names:
        vals = list(factors[name])
        if not vals:
            raise HpsimError(f"no values for {name}", field="--set")
        if len({json.dumps(v, sort_keys=True, default=str) for v in vals}) != len(vals):
            raise HpsimError(f"a value of {name} is given twice", field=f"--set {name}")
    # One factor at a time first: a bad value is reported with its factor alone.
    for name in names:
        for value in factors[name]:
            data = copy_data(loaded.data)
            where = {name: resolver.apply(data, name, value)}
            _check(loaded, data, {name: value}, where, lines)
    combos = list(itertools.product(*(list(factors[n]) for n in names)))
    width = max(3, len(str(len(combos) - 1)))
    points: list[Point] = []
    checked: list[LoadedScenario] = []
    for k, combo in enumerate(combos):
        values = dict(zip(names, combo, strict=True))
        data = copy_data(loaded.data)
        where = {n: resolver.apply(data, n, v) for n, v in values.items()}
        checked.append(_check(loaded, data, values, where, lines))
        points.append(Point(f"p{k:0{width}d}", values, data))
    return points, checked


def copy_data(data: dict[str, Any]) -> dict[str, Any]:
    import copy

    return copy.deepcopy(data)


# -- the folder ---------------------------------------------------------------------------------


def _atomic_table(df: pd.DataFrame, path: Path, fmt: str) -> None:
    with atomic.replacing_file(path) as tmp:
        if fmt == "parquet":
            df.to_parquet(tmp, index=False, engine="pyarrow")
        else:
            df.to_csv(tmp, index=False)


def sweep_identity(
    loaded: LoadedScenario,
    factors: Mapping[str, Sequence[Any]],
    *,
    replications: int,
    seed: int,
    align: bool,
    fmt: str,
) -> dict[str, Any]:
    """What makes two sweeps the same: scenario content, factors, replications, seed."""
    return {
        "scenario_sha256": loaded.digest,
        "factors": _json_value({k: list(v) for k, v in factors.items()}),
        "replications": replications,
        "seed": seed,
        "align": align,
        "format": fmt,
    }


def default_output(identity: dict[str, Any], name: str) -> Path:
    """``results/<scenario>/sweep-<hash>``: the same sweep always lands in the same folder."""
    text = json.dumps(identity, sort_keys=True)
    return Path("results") / name / f"sweep-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def _claim(out: Path, manifest: dict[str, Any]) -> None:
    """Start or resume the sweep in ``out``; refuse a folder that holds something else."""
    claim_folder(
        out, SWEEP_FILE, manifest, _IDENTITY, record="sweep record", other="a different sweep"
    )


def claim_folder(
    out: Path,
    file: str,
    manifest: dict[str, Any],
    identity: Sequence[str],
    *,
    record: str,
    other: str,
    shown: str | None = None,
) -> None:
    """A results folder of many runs (a sweep's, a search's), started or resumed: its
    record ``file`` holds ``manifest``; a folder whose record differs in an ``identity``
    key, or that holds files and no record, is refused (nothing is written there)."""
    info = out / file
    if info.exists():
        try:
            old = json.loads(info.read_text())
        except (OSError, ValueError) as exc:
            raise HpsimError(f"unreadable {record}: {exc}", file=str(info)) from None
        diff = [k for k in identity if old.get(k) != manifest[k]]
        if diff:
            what = [
                "the scenario or its manifests changed"
                if k == "scenario_sha256"
                else f"{k} {json.dumps(old.get(k))} there, {json.dumps(manifest[k])} now"
                for k in diff
            ]
            raise HpsimError(
                f"this folder holds {other} ({'; '.join(what)}); "
                "choose another -d DIR or delete it",
                file=str(info),
            )
        return
    if out.exists() and any(out.iterdir()):
        raise HpsimError(
            f"results folder {shown or out} exists, is not empty and holds no {file}; "
            "choose another -d DIR"
        )
    out.mkdir(parents=True, exist_ok=True)
    atomic.write_text(info, json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def _run_dir(out: Path, key: tuple[str, int]) -> Path:
    return out / "points" / key[0] / f"rep-{key[1]}"


def _finished(run_dir: Path) -> bool:
    return (run_dir / "summary.json").is_file()


def _clean_stale(out: Path) -> None:
    """Temporary folders a killed sweep left: never renamed, so never counted as done
    (those of a writer still running are left to it)."""
    points = out / "points"
    if points.is_dir():
        for pdir in points.iterdir():
            if pdir.is_dir():
                atomic.clean_leftovers(pdir)
    atomic.clean_leftovers(out)


def _read_run(run_dir: Path, fmt: str) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    tables = {}
    for name in TABLES:
        path = run_dir / f"{name}.{fmt}"
        tables[name] = pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path)
    return tables, json.loads((run_dir / "summary.json").read_text())


# -- results ------------------------------------------------------------------------------------


#: The headline metrics ``hpsim sweep`` prints per point (summary.parquet has them all): what
#: sizes a node (pods per node, pending), then start-up, restarts, memory and disk.
SHOWN = (
    "pods_per_node_max",
    "pending_s_mean",
    "pending_s_p95",
    "start_latency_s_p95",
    "fresh_node_all_running_s",
    "restarts_total",
    "memory_committed_bytes_peak",
    "disk_actual_bytes_peak",
)


def _present(value: Any) -> float | None:
    """A summary table cell: None for a missing or NaN one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _cell(metric: str, row: Any) -> str:
    """One point's metric: mean and 95% interval in its units, n if some runs had none."""
    rec = {k: _present(row.get(f"{metric}_{k}")) for k in ("mean", "half_width", "low", "high")}
    n = _present(row.get(f"{metric}_n"))
    text = with_interval({**rec, "n": n}, unit_words(metric))
    if n is not None and n < int(row["runs"]):
        text += f", n={n:.0f}"
    return text


@dataclass
class SweepResults(TableViews):
    """What ``hpsim.sweep`` returns: every run's tables with point, factor and replication
    columns; ``runs`` (one row per run, its headline numbers), ``failed`` and
    ``summary()`` (one row per point: each metric's mean, 95% interval and n)."""

    scenario: str
    seed: int
    replications: int
    factors: dict[str, list[Any]]
    points: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    runs: pd.DataFrame
    failed: pd.DataFrame
    summary_table: pd.DataFrame
    output: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """One row per point: factors, runs, failed and, per metric, ``<metric>_mean``,
        ``<metric>_low`` and ``<metric>_high`` (its 95% interval), ``<metric>_half_width``
        (the t half-width) and ``<metric>_n`` (runs that gave it a value)."""
        return self.summary_table

    def summary_words(self, metrics: Sequence[str] = SHOWN) -> pd.DataFrame:
        """The summary as people read it: one row per point, its factors, runs and failed,
        and each metric as text in its units: '20.6 min (14.5 to 26.4 min)', the mean and its
        95% interval, with n where some runs gave the metric no value ('3.8 min, n=2')."""
        table = self.summary_table
        rows = []
        for _, r in table.iterrows():
            row = {c: r[c] for c in ["point", *self.factors, "runs", "failed"]}
            for m in metrics:
                row[m] = _cell(m, r) if f"{m}_mean" in table.columns else "-"
            rows.append(row)
        return pd.DataFrame(rows, columns=["point", *self.factors, "runs", "failed", *metrics])

    def missing_notes(self, metrics: Sequence[str] = SHOWN) -> list[str]:
        """Why a point's metric has fewer values than runs: 'fresh_node_all_running_s at
        p001: 1 of 3 replications had no fresh-node start: ...'."""
        notes = []
        for _, r in self.summary_table.iterrows():
            for m in metrics:
                n, runs = _present(r.get(f"{m}_n")), int(r["runs"])
                if n is not None and n < runs:
                    notes.append(f"{m} at {r['point']}: {missing_words(m, runs - int(n), runs)}")
        return notes


def _flat(summary: dict[str, Any]) -> dict[str, float]:
    """The numeric headline numbers, maps flattened: ``restarts_by_workload.app``."""
    out: dict[str, float] = {}
    for k, v in summary.items():
        if isinstance(v, dict):
            for kk, vv in v.items():
                if isinstance(vv, int | float) and not isinstance(vv, bool):
                    out[f"{k}.{kk}"] = float(vv)
        elif v is None:
            out[k] = float("nan")
        elif isinstance(v, int | float) and not isinstance(v, bool):
            out[k] = float(v)
    return out


def _factor_column(values: list[Any]) -> list[Any]:
    """Factor values as a column: plain scalars as they are, anything else as JSON text."""
    scalar = all(isinstance(v, str | int | float | bool) for v in values)
    kinds = {type(v) for v in values}
    if scalar and (len(kinds) == 1 or kinds <= {int, float}):
        return values
    return [v if isinstance(v, str) else json.dumps(v, sort_keys=True) for v in values]


def _concat_frames(
    points: list[Point],
    factors: list[str],
    fvalue: dict[str, dict[str, Any]],
    frames: dict[tuple[str, int], dict[str, pd.DataFrame]],
) -> dict[str, pd.DataFrame]:
    """Every run's tables in memory, one per name, led by point, factor and replication."""
    import numpy as np

    keys = [k for p in points for k in sorted(x for x in frames if x[0] == p.id)]
    tables: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        parts = [frames[k][name] for k in keys]
        nonempty = [d for d in parts if len(d)] or parts[:1]
        if not nonempty:
            tables[name] = pd.DataFrame(columns=["point", *factors, "replication"])
            continue
        df = pd.concat(nonempty, ignore_index=True)
        sizes = [len(frames[k][name]) for k in keys]
        head = {
            "point": np.repeat([k[0] for k in keys], sizes),
            **{f: np.repeat(np.array([fvalue[k[0]][f] for k in keys]), sizes) for f in factors},
            "replication": np.repeat([k[1] for k in keys], sizes).astype("int64"),
        }
        # From the arrays themselves (a list of every row's value costs seconds in a big
        # sweep): the same dtypes, str columns included.
        lead = pd.DataFrame({c: v if len(v) else [] for c, v in head.items()})
        if len(df) == 0:
            lead = lead.iloc[:0]
        tables[name] = pd.concat([lead, df.reset_index(drop=True)], axis=1)
    return tables


def _concat_files(
    points: list[Point],
    factors: list[str],
    fvalue: dict[str, dict[str, Any]],
    keys: list[tuple[str, int]],
    out: Path,
    read_back: dict[tuple[str, int], dict[str, Any]],
) -> dict[str, Any]:
    """Every run's Parquet tables read and joined as Arrow (no pandas round trip per run).

    ``read_back`` holds the runs already read (as they finished).
    """
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    import pyarrow as pa

    # Arrow reads without the GIL: threads use the cores the workers have left.
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        missing = [k for k in keys if k not in read_back]
        read_back.update(
            zip(missing, pool.map(lambda k: _read_arrow(out, k), missing), strict=True)
        )
    tables: dict[str, Any] = {}
    for name in TABLES:
        parts = [read_back[key][name] for key in keys]
        if not parts:
            tables[name] = pa.table({c: pa.array([], pa.string()) for c in ["point", *factors]})
            continue
        t = pa.concat_tables(parts, promote_options="permissive")
        sizes = [p.num_rows for p in parts]
        lead = {
            "point": [k[0] for k in keys],
            **{f: [fvalue[k[0]][f] for k in keys] for f in factors},
            "replication": [k[1] for k in keys],
        }
        for j, (col, per_run) in enumerate(lead.items()):
            values = pa.array(per_run)
            # Run r's value repeated over its rows: take() by run index.
            index = pa.array(np.repeat(np.arange(len(keys)), sizes))
            t = t.add_column(j, col, values.take(index))
        tables[name] = t
    return tables


def _read_arrow(out: Path, key: tuple[str, int]) -> dict[str, Any]:
    """A run folder's Parquet tables as Arrow, without pandas' metadata."""
    import pyarrow.parquet as pq

    folder = _run_dir(out, key)
    # ParquetFile.read: a few times faster than read_table's dataset layer on small files.
    return without_metadata({n: pq.ParquetFile(folder / f"{n}.parquet").read() for n in TABLES})


def _derived(
    points: list[Point],
    factors: list[str],
    fvalue: dict[str, dict[str, Any]],
    replications: int,
    summaries: dict[tuple[str, int], dict[str, Any]],
    errors: dict[tuple[str, int], dict[str, Any]],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(runs, failed, summary, points): one row per run, failed run, point, point."""
    point_rows = [{"point": p.id, **fvalue[p.id]} for p in points]
    run_rows, fail_rows, summary_rows = [], [], []
    for p in points:
        flats = []
        for i in range(replications):
            key = (p.id, i)
            head = {"point": p.id, **fvalue[p.id], "replication": i}
            if key in summaries:
                flats.append(_flat(summaries[key]))
                run_rows.append({**head, **flats[-1]})
            elif key in errors:
                e = errors[key]
                fail_rows.append({**head, "error_type": e["type"], "message": e["message"]})
        row: dict[str, Any] = {"point": p.id, **fvalue[p.id], "runs": len(flats)}
        row["failed"] = replications - len(flats)
        metrics = list(dict.fromkeys(k for f in flats for k in f))
        for m in metrics:
            iv = record([f.get(m) for f in flats])
            for stat in ("mean", "half_width", "low", "high", "n"):
                row[f"{m}_{stat}"] = iv[stat]
        summary_rows.append(row)
    head_cols = ["point", *factors, "replication"]
    runs = pd.DataFrame(run_rows) if run_rows else pd.DataFrame(columns=head_cols)
    failed = (
        pd.DataFrame(fail_rows)
        if fail_rows
        else pd.DataFrame(columns=[*head_cols, "error_type", "message"])
    )
    return runs, failed, pd.DataFrame(summary_rows), pd.DataFrame(point_rows)


# -- the sweep ----------------------------------------------------------------------------------


def plan(
    scenario: LoadedScenario | str | Path,
    factors: Mapping[str, Sequence[Any]],
    *,
    replications: int = 1,
    seed: int | None = None,
    align: bool = True,
    fmt: str = "parquet",
) -> tuple[LoadedScenario, list[Point], list[LoadedScenario], dict[str, Any]]:
    """Load and check a sweep without running it: the scenario, points and identity."""
    check_count(replications, "--replications")
    check_seed(seed, "--seed")
    loaded = scenario if isinstance(scenario, LoadedScenario) else load(scenario)
    seed = loaded.scenario.seed if seed is None else seed
    check_size(factors, replications)
    points, checked = grid(loaded, factors)
    identity = sweep_identity(
        loaded, factors, replications=replications, seed=seed, align=align, fmt=fmt
    )
    return loaded, points, checked, identity


def check_size(factors: Mapping[str, Sequence[Any]], replications: int) -> None:
    """Refuse, before any point is built, a grid past SWEEP_POINTS_LIMIT points or
    SWEEP_RUNS_LIMIT runs; the message gives the count."""
    sizes = [len(v) for v in factors.values()]
    if not sizes:
        return  # grid() words a sweep without factors
    npoints = math.prod(sizes)
    shape = " x ".join(f"{n:,}" for n in sizes)
    runs = npoints * replications
    if runs > SWEEP_RUNS_LIMIT:
        raise HpsimError(
            f"{shape} points x {replications:,} replications = {runs:,} runs, more than "
            f"a sweep may hold ({SWEEP_RUNS_LIMIT:,}): split it into smaller sweeps",
            field="--set",
        )
    if npoints > SWEEP_POINTS_LIMIT:
        raise HpsimError(
            f"{shape} = {npoints:,} points, more than a sweep may hold "
            f"({SWEEP_POINTS_LIMIT:,}): split it into smaller sweeps",
            field="--set",
        )


def _prepare(
    out: Path,
    loaded: LoadedScenario,
    identity: dict[str, Any],
    points: list[Point],
    replications: int,
) -> set[tuple[str, int]]:
    """Claim ``out``, clean what killed runs left, write the points; the runs already done.

    A folder that cannot be written is refused here, before any run.
    """
    manifest = {
        "hpsim_sweep": 1,
        "scenario": loaded.name,
        "scenario_file": loaded.file,
        **identity,
        "points": [{"id": p.id, "values": _json_value(p.values)} for p in points],
    }
    done: set[tuple[str, int]] = set()
    try:
        _claim(out, manifest)
        _clean_stale(out)
        for p in points:
            pdir = out / "points" / p.id
            pdir.mkdir(parents=True, exist_ok=True)
            if not (pdir / "point.json").exists():
                text = json.dumps({"id": p.id, "values": _json_value(p.values)}, indent=2)
                atomic.write_text(pdir / "point.json", text + "\n")
            for i in range(replications):
                rdir = _run_dir(out, (p.id, i))
                if _finished(rdir):
                    done.add((p.id, i))
                elif rdir.exists():
                    shutil.rmtree(rdir)  # a failed run: try it again
    except OSError as exc:
        raise HpsimError(f"cannot write results to {shown_path(out)}: {os_reason(exc)}") from None
    return done


def sweep(
    scenario: LoadedScenario | str | Path,
    factors: Mapping[str, Sequence[Any]],
    *,
    replications: int = 1,
    seed: int | None = None,
    align: bool = True,
    executor: str | Executor | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    output: str | Path | None = None,
    fmt: str = "parquet",
    progress: bool | None = None,
) -> SweepResults:
    """Run every point of the factorial grid ``factors`` ``replications`` times.

    ``factors`` maps dotted scenario paths to the values to try. ``executor``
    is ``"inprocess"`` (default), ``"pool"`` or ``"dask"`` (see
    :func:`hpsim.experiment.executors.make_executor`). With ``output`` each run
    writes its folder there and a sweep started again resumes; without it
    everything stays in memory. A run that raises is recorded in ``failed``
    and the sweep goes on.
    """
    loaded, points, checked, identity = plan(
        scenario, factors, replications=replications, seed=seed, align=align, fmt=fmt
    )
    seed = identity["seed"]
    names = list(factors)
    out = Path(output) if output is not None else None
    results: dict[tuple[str, int], tuple[dict[str, pd.DataFrame], dict[str, Any]]] = {}
    errors: dict[tuple[str, int], dict[str, Any]] = {}
    done: set[tuple[str, int]] = set()
    ex = make_executor(executor, jobs=jobs, scheduler=scheduler)
    try:
        # Connect first: an unreachable scheduler fails before any folder is made.
        ex.start()
        if out is not None:
            done = _prepare(out, loaded, identity, points, replications)
    except BaseException:
        ex.close()
        raise
    if isinstance(ex, InProcess):
        for c in checked:
            remember(c)
    worker_writes = out is not None and ex.shares_files
    specs = [
        RunSpec(
            key=(p.id, i),
            data=p.data,
            file=loaded.file,
            base_dir=str(loaded.base_dir),
            entropy=seed,
            spawn_key=spawn_key(i, replications),
            align=align,
            out_dir=str(_run_dir(out, (p.id, i))) if worker_writes else None,  # type: ignore[arg-type]
            fmt=fmt,
            allow_outside=loaded.allow_outside,
        )
        for p in points
        for i in range(replications)
        if (p.id, i) not in done
    ]
    total = len(points) * replications
    read_back: dict[tuple[str, int], dict[str, Any]] = {}
    scenario_of = {p.id: c for p, c in zip(points, checked, strict=True)}  # factors applied
    with ex, Progress(total, show=wanted(progress), done=len(done), desc=loaded.name) as bar:
        for outcome in ex.map(execute, specs):
            outcome = _keep(outcome, out, scenario_of[outcome.key[0]], seed, fmt, results, errors)
            bar.update(outcome.ok)
            if out is not None and fmt == "parquet" and outcome.ok:
                # The tables the worker wrote, as it sent them, or read back now while
                # the workers run (the end has less left to do alone).
                read_back[outcome.key] = (
                    outcome.arrow if outcome.arrow is not None else _read_arrow(out, outcome.key)
                )
    fcols = {f: _factor_column([p.values[f] for p in points]) for f in names}
    fvalue = {p.id: {f: fcols[f][k] for f in names} for k, p in enumerate(points)}
    summaries = {k: v[1] for k, v in results.items()}
    if out is not None:
        for p in points:
            for i in range(replications):
                rdir = _run_dir(out, (p.id, i))
                if _finished(rdir):
                    summaries[(p.id, i)] = json.loads((rdir / "summary.json").read_text())
                elif (rdir / "error.json").is_file():
                    errors[(p.id, i)] = json.loads((rdir / "error.json").read_text())
    keys = [(p.id, i) for p in points for i in range(replications) if (p.id, i) in summaries]
    runs, failed, summary, point_df = _derived(
        points, names, fvalue, replications, summaries, errors
    )
    meta: dict[str, Any] = {
        "digest": loaded.digest,
        "executor": ex.describe(),
        "resumed": len(done),
    }
    if out is not None and fmt == "parquet":
        import pyarrow.parquet as pq

        arrow = _concat_files(points, names, fvalue, keys, out, read_back)
        tables = {name: t.to_pandas() for name, t in arrow.items()}
    else:
        if out is not None:
            results = {k: _read_run(_run_dir(out, k), fmt) for k in keys}
        tables = _concat_frames(points, names, fvalue, {k: results[k][0] for k in keys})
    if out is not None:
        # The runs are done: a table that cannot be written (a full disk) leaves no
        # half-written file, and the results say so instead of being lost.
        try:
            if fmt == "parquet":
                for name, t in arrow.items():
                    with atomic.replacing_file(out / f"{name}.parquet") as tmp:
                        pq.write_table(t, tmp)
            else:
                for name, df in tables.items():
                    _atomic_table(df, out / f"{name}.{fmt}", fmt)
            for name, df in {"runs": runs, "failed": failed, "summary": summary}.items():
                _atomic_table(df, out / f"{name}.{fmt}", fmt)
        except OSError as exc:
            meta["write_error"] = write_failure(out, exc)
    return SweepResults(
        scenario=loaded.name,
        seed=seed,
        replications=replications,
        factors={k: list(v) for k, v in factors.items()},
        points=point_df,
        tables=tables,
        runs=runs,
        failed=failed,
        summary_table=summary,
        output=out,
        meta=meta,
    )


def _keep(
    outcome: RunOutcome,
    out: Path | None,
    loaded: LoadedScenario,
    seed: int,
    fmt: str,
    results: dict[tuple[str, int], tuple[dict[str, pd.DataFrame], dict[str, Any]]],
    errors: dict[tuple[str, int], dict[str, Any]],
) -> RunOutcome:
    """An outcome into memory, or (workers that cannot see our files) into its folder, which
    describes ``loaded``: the scenario of the run's point. Returns the outcome: a failed
    one if its folder could not be written.

    A folder written here as Parquet leaves the Arrow tables it holds in ``outcome.arrow``,
    as a worker that writes its own folder sends them.
    """
    key = outcome.key
    if outcome.ok and outcome.tables is not None and out is not None:
        assert outcome.summary is not None
        try:
            outcome.arrow = write_run(
                loaded, seed, outcome.tables, outcome.summary, _run_dir(out, key), fmt
            )
        except OSError as exc:
            outcome = RunOutcome(
                key, error=write_error_record(key, exc, _run_dir(out, key)), meta=outcome.meta
            )
    if not outcome.ok:
        errors[key] = outcome.error  # type: ignore[assignment]
        if out is not None and not (_run_dir(out, key) / "error.json").exists():
            # A full disk: the run is failed in memory, and runs again on resume.
            with contextlib.suppress(OSError):
                _write_error(_run_dir(out, key), outcome.error)  # type: ignore[arg-type]
        return outcome
    if outcome.tables is not None and out is None:
        results[key] = (outcome.tables, outcome.summary)  # type: ignore[assignment]
    return outcome
