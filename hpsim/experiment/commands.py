"""The commands that load and run scenarios: ``hpsim run``, ``hpsim compare``, ``hpsim sweep``.

Kept apart from :mod:`hpsim.cli` so the parser there stays a list of
subcommands, and out of :mod:`hpsim.observe`, which only reads records and
results folders (it never loads or runs a scenario). Exit status of ``hpsim
sweep``: 0 every run finished, 1 some runs failed (each recorded in its folder
and in ``failed``), 2 bad input.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hpsim.errors import HpsimError
from hpsim.experiment.executors import EXECUTORS
from hpsim.experiment.run import run
from hpsim.experiment.stopping import MAX_REPLICATIONS
from hpsim.observe.compare import Difference, differences, format_table
from hpsim.observe.output import print_summary, read_results, write_results
from hpsim.observe.results import Results
from hpsim.scenario.load import load

#: Headline metrics ``hpsim sweep`` prints per point (all are in summary.parquet).
SHOWN = (
    "start_latency_s_p95",
    "fresh_node_all_running_s",
    "restarts_total",
    "memory_committed_bytes_peak",
    "disk_actual_bytes_peak",
)


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {n})")
    return n


def add_executor_options(p: argparse.ArgumentParser) -> None:
    """``-j``, ``--executor``, ``--scheduler``."""
    p.add_argument(
        "-j",
        "--jobs",
        type=_positive,
        default=None,
        metavar="N",
        help="worker processes (default: the machine's CPUs; -j 1 runs in this process)",
    )
    p.add_argument(
        "--executor",
        choices=EXECUTORS,
        default=None,
        help="where runs execute (default: pool; dask starts a LocalCluster of -j workers)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="a running Dask scheduler (e.g. tcp://10.0.0.5:8786); implies --executor dask",
    )


def add_run_options(p: argparse.ArgumentParser) -> None:
    """``hpsim run``'s replication options."""
    p.add_argument(
        "-r",
        "--replications",
        type=_positive,
        default=None,
        metavar="N",
        help="replications (default: the scenario's; with --until, the minimum, default 3)",
    )
    p.add_argument(
        "--until",
        metavar="METRIC:±TARGET",
        default=None,
        help='replicate until the 95%% half-width of METRIC is at most TARGET: "p95_start_s:±5%%" '
        '(of the mean) or "start_latency_s_p95:±2" (in its unit)',
    )
    p.add_argument(
        "--max-replications",
        type=_positive,
        default=MAX_REPLICATIONS,
        metavar="N",
        help=f"stop --until here even if the target is not met (default {MAX_REPLICATIONS})",
    )
    add_executor_options(p)


def _executor(args: argparse.Namespace) -> str | None:
    if args.scheduler is not None:
        return "dask"
    return args.executor or "pool"


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of :func:`hpsim.run` from ``hpsim run``'s options."""
    if args.until is None and args.max_replications != MAX_REPLICATIONS:
        raise HpsimError("--max-replications needs --until", field="--max-replications")
    return {
        "replications": args.replications,
        "until": args.until,
        "max_replications": args.max_replications,
        "executor": _executor(args),
        "jobs": args.jobs,
        "scheduler": args.scheduler,
        "progress": None if not args.quiet else False,
    }


def until_note(meta: dict[str, Any]) -> str | None:
    """A line on how --until ended, for ``hpsim run``'s output."""
    until = meta.get("until")
    if not until:
        return None
    n = meta.get("replications")
    if until["met"]:
        return f"--until: {until['rule']} met after {n} replications"
    return (
        f"--until: {until['rule']} NOT met after {n} replications "
        f"(--max-replications {until['max_replications']})"
    )


def add_sweep_parser(sub: Any) -> None:
    """The ``hpsim sweep`` subcommand."""
    s = sub.add_parser(
        "sweep",
        help="run a factorial grid of scenario variants, each replicated",
        description="Run every combination of --set values, each --replications times. "
        "Paths address the scenario YAML: node.memory, node.kubelet.maxPods, "
        "workloads.<name>.replicas (the workload's object by metadata.name; "
        "replicas/parallelism/completions are its manifest's spec), "
        "workloads.<name>.profile.cpu, images[<name>].layers.0.size.",
    )
    s.add_argument("scenario", metavar="SCENARIO")
    s.add_argument(
        "--set",
        dest="factors",
        action="append",
        default=[],
        metavar="PATH=V1,V2,...",
        help="a factor and its values (YAML flow values; repeat for more factors)",
    )
    s.add_argument("-r", "--replications", type=_positive, default=1, metavar="N")
    s.add_argument("--seed", type=int, default=None, help="seed (default: the scenario's)")
    s.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        default=None,
        help="sweep folder (default results/<scenario>/sweep-<hash of the sweep>/); "
        "the same command again resumes it",
    )
    s.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    s.add_argument("--no-align", action="store_true", help="skip the aligned-bases twin runs")
    s.add_argument("--quiet", "-q", action="store_true", help="no progress bar, no summary")
    add_executor_options(s)
    s.set_defaults(func=sweep_command)


def _cell(mean: Any, hw: Any) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    text = f"{mean:,.1f}"
    if hw is not None and not (isinstance(hw, float) and math.isnan(hw)):
        text += f" ± {hw:,.1f}"
    return text


def print_sweep(res: Any, file: Any = sys.stdout) -> None:
    """One line per point: its factors, runs and the headline metrics as mean ± half-width."""
    table = res.summary()
    cols = ["point", *res.factors, "runs", "failed"]
    shown = [m for m in SHOWN if f"{m}_mean" in table.columns]
    rows = [[*cols, *shown]]
    for _, r in table.iterrows():
        rows.append(
            [str(r[c]) for c in cols] + [_cell(r[f"{m}_mean"], r[f"{m}_half_width"]) for m in shown]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)), file=file)


def sweep_command(args: argparse.Namespace) -> int:
    """``hpsim sweep``: check every point, run what is not done, combine, print."""
    from hpsim.experiment.paths import parse_set
    from hpsim.experiment.sweep import default_output, plan, sweep

    factors: dict[str, list[Any]] = {}
    for text in args.factors:
        path, values = parse_set(text)
        if path in factors:
            raise HpsimError(f"{path} is set twice", field="--set")
        factors[path] = values
    align = not args.no_align
    loaded, points, _, identity = plan(
        args.scenario,
        factors,
        replications=args.replications,
        seed=args.seed,
        align=align,
        fmt=args.format,
    )
    out = Path(args.output) if args.output else default_output(identity, loaded.name)
    total = len(points) * args.replications
    if not args.quiet:
        print(
            f"{loaded.name}: {len(points)} points x {args.replications} replications "
            f"= {total} runs -> {out}",
            file=sys.stderr,
        )
    res = sweep(
        loaded,
        factors,
        replications=args.replications,
        seed=args.seed,
        align=align,
        executor=_executor(args),
        jobs=args.jobs,
        scheduler=args.scheduler,
        output=out,
        fmt=args.format,
        progress=None if not args.quiet else False,
    )
    failed = len(res.failed)
    if not args.quiet:
        resumed = res.meta.get("resumed", 0)
        note = f", {resumed} already done" if resumed else ""
        print(
            f"{loaded.name}: {total - failed} of {total} runs finished{note}, "
            f"{failed} failed -> {out}"
        )
        print_sweep(res)
    if failed:
        for row in res.failed.head(5).itertuples(index=False):
            print(
                f"hpsim: run {row.point} rep-{row.replication} failed: "
                f"{row.error_type}: {row.message}",
                file=sys.stderr,
            )
        if failed > 5:
            print(f"hpsim: ... and {failed - 5} more (see {out}/failed.*)", file=sys.stderr)
        return 1
    return 0


def run_command(args: argparse.Namespace) -> int:
    """``hpsim run``: load, simulate, write, print."""
    loaded = load(args.scenario)
    res = run(loaded, seed=args.seed, **run_options(args))
    if args.output:
        out = Path(args.output)
    else:
        stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
        out = Path("results") / loaded.name / stamp
    write_results(res, out, args.format, scenario_file=args.scenario, report=args.report)
    if not args.quiet:
        print(f"{loaded.name}: seed {res.seed}, {res.duration:,.0f} s simulated -> {out}")
        if args.report:
            print(f"report: {out / 'report.html'} and {out / 'report.md'}")
        if note := until_note(res.meta):
            print(note)
        print_summary(res.summary())
    return 0


# -- compare ---------------------------------------------------------------------------------


def _is_scenario(path: str | Path) -> bool:
    return Path(path).is_file()


def _results(path: str, seed: int | None, replications: int | None) -> Results:
    p = Path(path)
    if p.is_dir():
        return read_results(p)
    if not p.exists():
        raise HpsimError(f"{path}: no such scenario file or results folder")
    return run(load(p), seed=seed, replications=replications)


def compare(
    a: str | Path, b: str | Path, *, seed: int | None = None, replications: int | None = None
) -> tuple[Results, Results, list[Difference]]:
    """Load or run A and B and their differences.

    Scenarios run on one seed and replication count: those given, else A's (a
    scenario's own, or those a results folder A was run with), so B's
    replication i shares A's random numbers.
    """
    ra = None
    if _is_scenario(a):
        sc = load(a).scenario
        seed = sc.seed if seed is None else seed
        replications = sc.replications if replications is None else replications
    else:
        ra = _results(str(a), seed, replications)
        seed = ra.seed if seed is None else seed
        replications = int(ra.meta.get("replications", 1)) if replications is None else replications
    if ra is None:
        ra = _results(str(a), seed, replications)
    rb = _results(str(b), seed, replications)
    return ra, rb, differences(ra, rb)


def compare_command(args: argparse.Namespace) -> int:
    """``hpsim compare A B``: print the table, or JSON with ``--output json``."""
    a, b, diffs = compare(args.a, args.b, seed=args.seed, replications=args.replications)
    if args.output == "json":
        print(
            json.dumps(
                {
                    "a": {"scenario": a.scenario, "seed": a.seed, "replications": _replications(a)},
                    "b": {"scenario": b.scenario, "seed": b.seed, "replications": _replications(b)},
                    "metrics": [asdict(d) for d in diffs],
                },
                indent=2,
            )
        )
    else:
        print(format_table(a, b, diffs))
    return 0


def _replications(res: Results) -> int:
    return int(res.meta.get("replications", 1))
