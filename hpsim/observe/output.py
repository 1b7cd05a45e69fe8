"""Writing a run's results folder, atomically.

Everything is written into a temporary sibling folder and renamed into place
at the end, so a killed run never leaves a folder that looks whole (and the
next write into the same parent removes what it left; readers refuse a
temporary folder). :func:`check_output` tries the location before a run
starts, so a bad ``-o`` fails at once, not after the simulation. Tables are
Parquet (pyarrow) or CSV; ``summary.json`` holds the headline numbers (over
replications, ``summaries.json`` each replication's), and
``run.json`` the scenario's hash, the seed and the versions that made it.
"""

from __future__ import annotations

import json
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from hpsim import atomic
from hpsim.errors import HpsimError, excerpt
from hpsim.observe.results import Results
from hpsim.words import INTERVAL_METHOD, is_record, summary_lines

TABLES = (
    "pods",
    "events",
    "series",
    "images",
    "transitions",
    "gc",
    "containers",
    "pulls",
    "writes",
    "nodes",
)
_PACKAGES = ("hpsim", "simpy", "numpy", "pandas", "pyarrow", "pydantic", "pyyaml")


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def summary_json(summary: dict[str, Any]) -> str:
    """``summary.json``'s text: sorted keys, numpy scalars as plain numbers."""
    return json.dumps(summary, indent=2, sort_keys=True, default=_json_default) + "\n"


def arrow_tables(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The tables as the Arrow tables ``to_parquet`` writes (pandas' metadata included)."""
    import pyarrow as pa

    return {name: pa.Table.from_pandas(tables[name], preserve_index=False) for name in TABLES}


def without_metadata(arrow: dict[str, Any]) -> dict[str, Any]:
    """Arrow tables without pandas' schema metadata, as a sweep combines them."""
    return {name: t.replace_schema_metadata(None) for name, t in arrow.items()}


def shown_path(path: str | Path) -> str:
    """A path for a message: escaped and cut as a file name in an error is."""
    return excerpt(str(path), 200)


def os_reason(exc: OSError) -> str:
    """``[Errno 28] No space left on device``: the OS's reason without the file it names."""
    if exc.errno is not None and exc.strerror:
        return f"[Errno {exc.errno}] {exc.strerror}"
    return excerpt(str(exc), 200)


def write_failure(out_dir: str | Path, exc: OSError) -> str:
    """The message for results that were computed but could not be written."""
    return f"could not write results to {shown_path(out_dir)}: {os_reason(exc)}"


def check_output(out_dir: str | Path) -> None:
    """Refuse, before anything runs, a results folder that cannot be written.

    ``out_dir`` must not be a file nor a non-empty folder, and its parents and the
    temporary sibling it is written through must be creatable and writable there
    (see :func:`hpsim.atomic.probe_dir`; everything the check creates is removed).
    """
    out_dir = Path(out_dir)
    try:
        if out_dir.is_dir() and any(out_dir.iterdir()):
            raise HpsimError(f"results folder {shown_path(out_dir)} exists and is not empty")
        atomic.probe_dir(out_dir)
    except OSError as exc:
        reason = os_reason(exc)
        what = Path(exc.filename) if isinstance(exc, NotADirectoryError) and exc.filename else None
        if what is not None and what.exists() and not what.is_dir():
            reason = ("it" if what == out_dir else shown_path(what)) + " is a file, not a folder"
        raise HpsimError(f"cannot write results to {shown_path(out_dir)}: {reason}") from None


def write_results(
    res: Results,
    out_dir: Path,
    fmt: str = "parquet",
    scenario_file: str | None = None,
    *,
    report: bool = False,
    arrow: dict[str, Any] | None = None,
    clean: bool = True,
) -> Path:
    """Write tables, summary.json and run.json into ``out_dir`` (atomically).

    An ``OSError`` while writing (a full disk, a folder made read-only meanwhile)
    leaves nothing behind and is raised as it is (:func:`write_failure` words it).
    ``clean`` removes the stale temporary folders of killed writers beside
    ``out_dir`` first (a sweep cleans its folder once, at its start).

    With ``report`` the capacity-planning report (report.html, report.md,
    figures/) is written too, before the folder takes its name. Parquet tables
    go through :func:`arrow_tables` (the bytes ``DataFrame.to_parquet`` writes);
    ``arrow`` passes them already converted.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise HpsimError(f"results folder {out_dir} exists and is not empty")
    # empty_only: a folder something wrote into meanwhile is an error, never overwritten.
    with atomic.replacing_dir(out_dir, empty_only=True, clean=clean) as tmp:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            for name, table in (arrow or arrow_tables(res.tables)).items():
                pq.write_table(table, tmp / f"{name}.parquet")
        else:
            for name in TABLES:
                res.tables[name].to_csv(tmp / f"{name}.csv", index=False)
        write_info(tmp, res, fmt, scenario_file)
        if report:
            from hpsim.observe.report import write_report

            write_report(tmp)
    return out_dir


def write_info(
    folder: Path, res: Results, fmt: str = "parquet", scenario_file: str | None = None
) -> None:
    """summary.json (and summaries.json over replications) and run.json, into ``folder``."""
    (folder / "summary.json").write_text(summary_json(res.summary()))
    if len(res.summaries) > 1:
        # One summary per replication, in order: what a paired compare of two folders needs.
        (folder / "summaries.json").write_text(
            json.dumps(res.summaries, indent=1, sort_keys=True, default=_json_default) + "\n"
        )
    run_info = {
        "scenario": res.scenario,
        "scenario_file": scenario_file,
        "scenario_sha256": res.meta.get("digest"),
        "seed": res.seed,
        "replications": res.meta.get("replications", 1),
        "format": fmt,
        "duration_s": res.duration,
        "description": res.meta.get("description", ""),
        "node": res.meta.get("node", {}),
        "workloads": res.meta.get("workloads", []),
        "pools": res.meta.get("pools", []),
        "versions": _versions(),
    }
    (folder / "run.json").write_text(json.dumps(run_info, indent=2, sort_keys=True) + "\n")


def read_results(folder: str | Path) -> Results:
    """A results folder written by ``hpsim run`` (or one run of a sweep), read back."""
    folder = Path(folder)
    _check_run_json(folder)
    run_file = folder / "run.json"
    try:
        info = json.loads(run_file.read_text())
        summary = json.loads((folder / "summary.json").read_text())
        per_rep = folder / "summaries.json"
        summaries = json.loads(per_rep.read_text()) if per_rep.is_file() else []
    except (OSError, json.JSONDecodeError) as exc:
        raise HpsimError(f"{folder}: unreadable results: {exc}") from None
    fmt = info.get("format", "parquet")
    tables: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        path = folder / f"{name}.{'parquet' if fmt == 'parquet' else 'csv'}"
        if not path.exists():
            tables[name] = pd.DataFrame()
        elif fmt == "parquet":
            tables[name] = pd.read_parquet(path)
        else:
            tables[name] = pd.read_csv(path)
    meta = {
        k: info[k]
        for k in ("replications", "description", "node", "workloads", "pools", "scenario_file")
        if k in info
    }
    meta["digest"] = info.get("scenario_sha256")
    return Results(
        scenario=info["scenario"],
        seed=info.get("seed", 0),
        duration=float(info.get("duration_s", 0.0)),
        tables=tables,
        summaries=summaries,
        meta=meta,
        combined=summary,
    )


def check_finished(folder: str | Path) -> None:
    """Refuse what is not a finished results folder: a missing folder, one without
    run.json, or the temporary folder of a write that never finished (an interrupted
    run leaves one that may look whole)."""
    folder = Path(folder)
    if folder.is_dir() and atomic.is_leftover(folder.resolve()):
        raise HpsimError(
            "not a finished results folder (a temporary folder, never renamed): "
            "the run writing it was interrupted or is still writing; run the scenario again",
            file=str(folder),
        )
    _check_run_json(folder)


def _check_run_json(folder: Path) -> None:
    name = str(folder)
    if not folder.is_dir():
        raise HpsimError("not a results folder (no run.json)", file=name)
    if not (folder / "run.json").is_file():
        if (folder / "sweep.json").is_file():
            hint = "a sweep's folder: give one of its runs, points/<point>/rep-<i>"
        else:
            hint = "give a folder hpsim run wrote"
        raise HpsimError("not a finished results folder (no run.json): " + hint, file=name)


def print_summary(summary: dict[str, Any], file: Any = None) -> None:
    """The headline numbers in their units, two columns; over replications each is the mean
    with its 95% interval and n (:func:`hpsim.words.summary_lines`), under a line saying so."""
    file = sys.stdout if file is None else file
    rows = summary_lines(summary)
    if not rows:
        return
    # Keys name workloads (from the scenario, or from a results folder's summary.json).
    rows = [(excerpt(k, 120), v) for k, v in rows]
    records = [v for v in summary.values() if is_record(v)]
    reps = max((v.get("n") or 0 for v in records), default=0)
    if reps > 1:
        # A summary.json written before the bootstrap intervals has t half-widths only.
        bootstrap = any("low" in v for v in records)
        method = f"95% interval: {INTERVAL_METHOD}" if bootstrap else "± the t half-width"
        print(f"mean of {reps} replications; {method}", file=file)
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}", file=file)


def print_warnings(summary: dict[str, Any], file: Any = None) -> None:
    """The run's warnings (``summary["warnings"]``), one per line, after the numbers."""
    file = sys.stdout if file is None else file
    found = summary.get("warnings") or []
    if not found:
        return
    print(f"\nWarnings ({len(found)}):", file=file)
    for w in found:
        # A hand-edited summary.json could carry terminal escapes: shown escaped.
        text = w.get("text", "") if isinstance(w, dict) else w
        print(f"- {excerpt(str(text), len(str(text)))}", file=file)
