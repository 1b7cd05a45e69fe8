"""Writing a run's results folder, atomically.

Everything is written into a temporary sibling folder and renamed into place
at the end, so a killed run never leaves a folder that looks whole. Tables are
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
from hpsim.errors import HpsimError
from hpsim.observe.results import Results

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


def write_results(
    res: Results,
    out_dir: Path,
    fmt: str = "parquet",
    scenario_file: str | None = None,
    *,
    report: bool = False,
    arrow: dict[str, Any] | None = None,
) -> Path:
    """Write tables, summary.json and run.json into ``out_dir`` (atomically).

    With ``report`` the capacity-planning report (report.html, report.md,
    figures/) is written too, before the folder takes its name. Parquet tables
    go through :func:`arrow_tables` (the bytes ``DataFrame.to_parquet`` writes);
    ``arrow`` passes them already converted.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise HpsimError(f"results folder {out_dir} exists and is not empty")
    # empty_only: a folder something wrote into meanwhile is an error, never overwritten.
    with atomic.replacing_dir(out_dir, empty_only=True) as tmp:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            for name, table in (arrow or arrow_tables(res.tables)).items():
                pq.write_table(table, tmp / f"{name}.parquet")
        else:
            for name in TABLES:
                res.tables[name].to_csv(tmp / f"{name}.csv", index=False)
        (tmp / "summary.json").write_text(summary_json(res.summary()))
        if len(res.summaries) > 1:
            # One summary per replication, in order: what a paired compare of two folders needs.
            (tmp / "summaries.json").write_text(
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
            "versions": _versions(),
        }
        (tmp / "run.json").write_text(json.dumps(run_info, indent=2, sort_keys=True) + "\n")
        if report:
            from hpsim.observe.report import write_report

            write_report(tmp)
    return out_dir


def read_results(folder: str | Path) -> Results:
    """A results folder written by ``hpsim run`` (or one run of a sweep), read back."""
    folder = Path(folder)
    run_file = folder / "run.json"
    if not run_file.is_file():
        raise HpsimError(f"{folder}: not a results folder (no run.json)")
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
        for k in ("replications", "description", "node", "workloads", "scenario_file")
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


def _is_interval(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"mean", "half_width", "n"}


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if _is_interval(value):
        if value["half_width"] is None:
            return _fmt(value["mean"])
        return f"{_fmt(value['mean'])} ± {_fmt(value['half_width'])} (n={value['n']})"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def print_summary(summary: dict[str, Any], file: Any = None) -> None:
    """A short two-column table of the headline numbers (mean ± 95% half-width over runs)."""
    file = sys.stdout if file is None else file
    rows = [(k, v) for k, v in summary.items() if not isinstance(v, dict) or _is_interval(v)]
    if not rows:
        return
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {_fmt(v)}", file=file)
