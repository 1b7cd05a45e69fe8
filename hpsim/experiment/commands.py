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
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpsim.errors import HpsimError, excerpt
from hpsim.experiment.options import check_scenario_file, check_whole
from hpsim.experiment.run import check_count, check_seed, run, run_streamed
from hpsim.experiment.stopping import MAX_REPLICATIONS
from hpsim.observe.compare import Difference, differences, format_table
from hpsim.observe.output import (
    check_finished,
    check_output,
    os_reason,
    print_summary,
    print_warnings,
    read_results,
    shown_path,
    summary_json,
    write_failure,
    write_results,
)
from hpsim.observe.results import Results
from hpsim.observe.stream import CHUNK_ROWS
from hpsim.scenario.load import LoadedScenario, load
from hpsim.words import INTERVAL_METHOD, duration_words

if TYPE_CHECKING:
    from hpsim.experiment.sweep import SweepResults

# The most worker processes -j may start. Our choice, not an upstream rule: more than
# any one machine has cores, and each worker is a Python process holding a scenario;
# a larger number is a typo that would start thousands of processes.
JOBS_LIMIT = 1024


def load_scenario(path: str | Path, allow_outside: bool = False) -> LoadedScenario:
    """The scenario file of a command, checked to be one first; ``allow_outside``
    (``--allow-outside-files``): its manifests and traces may lie outside its folder."""
    check_scenario_file(path)
    return load(path, allow_outside=allow_outside)


def check_jobs(jobs: int | None) -> None:
    """``-j``: 1 to JOBS_LIMIT worker processes."""
    check_whole(jobs, "--jobs", 1, JOBS_LIMIT)


def check_stream(args: argparse.Namespace, loaded: LoadedScenario) -> int:
    """``--stream``'s options: one replication in this process; returns the chunk rows."""
    if not args.stream:
        if args.chunk_rows is not None:
            raise HpsimError("needs --stream", field="--chunk-rows")
        return CHUNK_ROWS
    check_whole(args.chunk_rows, "--chunk-rows", 1)
    for flag, given in (("--until", args.until), ("--scheduler", args.scheduler)):
        if given is not None:
            raise HpsimError(f"--stream runs one replication in this process: drop {flag}")
    n = args.replications if args.replications is not None else loaded.scenario.replications
    if n != 1:
        where = "" if args.replications is not None else " (the scenario's)"
        raise HpsimError(
            f"--stream runs one replication, not {n}{where}: give -r 1",
            field="--replications",
        )
    return CHUNK_ROWS if args.chunk_rows is None else args.chunk_rows


def executor_choice(args: argparse.Namespace) -> str | None:
    """The executor the options name: dask when a scheduler is given, else --executor
    (the process pool by default)."""
    if args.scheduler is not None:
        return "dask"
    return args.executor or "pool"


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of :func:`hpsim.run` from ``hpsim run``'s options."""
    check_count(args.replications, "--replications")
    check_count(args.max_replications, "--max-replications")
    check_jobs(args.jobs)
    if args.until is None and args.max_replications != MAX_REPLICATIONS:
        raise HpsimError("needs --until", field="--max-replications")
    return {
        "replications": args.replications,
        "until": args.until,
        "max_replications": args.max_replications,
        "executor": executor_choice(args),
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


OUTPUTS = ("text", "json")


def deprecated_output(value: str) -> str:
    """The warning for ``-o DIR``, the results folder's old spelling."""
    return (
        f"hpsim: warning: -o {excerpt(value, 200)}: a results folder given with -o is "
        f"deprecated and will not be accepted in the next release; use -d {excerpt(value, 200)} "
        "(or --results); -o takes text or json"
    )


def output_choice(args: argparse.Namespace) -> tuple[str, Path | None]:
    """(what to print, the results folder given) from ``-o`` and ``-d``; ``-o DIR`` still
    names the folder, with a warning on stderr."""
    if args.output in OUTPUTS:
        return args.output, Path(args.results) if args.results is not None else None
    if args.results is not None:
        raise HpsimError(
            f"-o takes text or json (got {excerpt(args.output, 200)}); "
            "the results folder is -d, given once",
            field="-o",
        )
    print(deprecated_output(args.output), file=sys.stderr)
    return "text", Path(args.output)


def print_sweep(res: SweepResults, file: Any = None) -> None:
    """One line per point: its factors, runs and the headline metrics (:data:`SHOWN`) in their
    units, each the mean and its 95% interval; below, why a point has fewer values than runs."""
    file = sys.stdout if file is None else file
    table = res.summary_words()
    rows = [list(map(str, table.columns))]
    rows += [[str(v) for v in row] for row in table.itertuples(index=False)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(f"each point: mean of its runs and 95% interval ({INTERVAL_METHOD})", file=file)
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=file)
    for note in res.missing_notes():
        print(note, file=file)


def sweep_json(res: SweepResults, total: int) -> str:
    """``hpsim sweep -o json``: the runs and one record per point (summary.parquet's row)."""
    table = res.summary()
    points = table.astype(object).where(table.notna(), None).to_dict("records")
    return json.dumps(
        {
            "scenario": res.scenario,
            "seed": res.seed,
            "results": str(res.output) if res.output is not None else None,
            "runs": total,
            "failed": len(res.failed),
            "points": points,
        },
        indent=2,
        default=_json_default,
    )


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


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
    output, folder = output_choice(args)
    check_seed(args.seed, "--seed")
    check_count(args.replications, "--replications")
    check_jobs(args.jobs)
    loaded, points, _, identity = plan(
        load_scenario(args.scenario, args.allow_outside_files),
        factors,
        replications=args.replications,
        seed=args.seed,
        align=align,
        fmt=args.format,
    )
    out = folder or default_output(identity, loaded.name)
    if not out.is_dir() or not any(out.iterdir()):
        check_output(out)  # a new sweep: its folder must be writable (else sweep() words it)
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
        executor=executor_choice(args),
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
            f"{failed} failed -> {out}",
            file=sys.stderr if output == "json" else sys.stdout,
        )
        if output == "json":
            print(sweep_json(res, total))
        else:
            print_sweep(res)
    if failed:
        for row in res.failed.head(5).itertuples(index=False):
            print(
                f"hpsim: run {row.point} rep-{row.replication} failed: "
                f"{row.error_type}: {excerpt(row.message, 300)}",
                file=sys.stderr,
            )
        if failed > 5:
            print(f"hpsim: ... and {failed - 5} more (see {out}/failed.*)", file=sys.stderr)
    if res.meta.get("write_error"):
        # The runs are done and printed; their combined tables could not be written.
        raise HpsimError(res.meta["write_error"])
    return 1 if failed else 0


def run_command(args: argparse.Namespace) -> int:
    """``hpsim run``: load, check the options and the results folder, simulate, write, print.

    Results that cannot be written once computed (a full disk) are still printed;
    nothing half-written is left, and the command ends with the error (exit 2). With
    ``-o json`` stdout holds only the summary's JSON; the lines about the run go to stderr.
    """
    output, folder = output_choice(args)
    check_seed(args.seed, "--seed")
    options = run_options(args)
    loaded = load_scenario(args.scenario, args.allow_outside_files)
    if folder is not None:
        out = folder
    else:
        stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
        out = Path("results") / loaded.name / stamp
    chunk_rows = check_stream(args, loaded)
    check_output(out)
    info = sys.stderr if output == "json" else sys.stdout
    seed = loaded.scenario.seed if args.seed is None else args.seed
    head = f"{loaded.name}: seed {seed}, {duration_words(loaded.scenario.duration)} simulated"
    if args.stream:
        try:
            res = run_streamed(
                loaded,
                out,
                seed=args.seed,
                fmt=args.format,
                report=args.report,
                chunk_rows=chunk_rows,
                scenario_file=args.scenario,
            )
        except OSError as exc:
            raise HpsimError(write_failure(out, exc)) from None
        summary = res.summary()
    else:
        res = run(loaded, seed=args.seed, **options)
        summary = res.summary()
        try:
            write_results(res, out, args.format, scenario_file=args.scenario, report=args.report)
        except OSError as exc:
            if not args.quiet:
                print(f"{head} (not written)", file=info)
                _print_summary(summary, output)
            raise HpsimError(write_failure(out, exc)) from None
    if not args.quiet:
        print(f"{head} -> {out}", file=info)
        if args.report:
            print(f"report: {out / 'report.html'} and {out / 'report.md'}", file=info)
        if note := until_note(res.meta):
            print(note, file=info)
        _print_summary(summary, output)
    return 1 if args.fail_on_warning and summary.get("warnings") else 0


def _print_summary(summary: dict[str, Any], output: str) -> None:
    """The summary as text (:func:`print_summary`) or as summary.json's JSON."""
    if output == "json":
        print(summary_json(summary), end="")
    else:
        print_summary(summary)
        print_warnings(summary)


# -- compare ---------------------------------------------------------------------------------


def _is_scenario(path: str | Path) -> bool:
    return Path(path).is_file()


def _results(
    path: str, seed: int | None, replications: int | None, allow_outside: bool = False
) -> Results:
    p = Path(path)
    if p.is_dir():
        check_finished(p)
        return read_results(p)
    if not p.exists():
        raise HpsimError(f"{shown_path(path)}: no such scenario file or results folder")
    return run(load_scenario(p, allow_outside), seed=seed, replications=replications)


def compare(
    a: str | Path,
    b: str | Path,
    *,
    seed: int | None = None,
    replications: int | None = None,
    allow_outside: bool = False,
) -> tuple[Results, Results, list[Difference]]:
    """Load or run A and B and their differences.

    Scenarios run on one seed and replication count: those given, else A's (a
    scenario's own, or those a results folder A was run with), so B's
    replication i shares A's random numbers.
    """
    check_seed(seed, "--seed")
    check_count(replications, "--replications")
    for path in (a, b):
        if not Path(path).is_dir():
            check_scenario_file(path)
    ra = None
    if _is_scenario(a):
        sc = load(a, allow_outside=allow_outside).scenario
        seed = sc.seed if seed is None else seed
        replications = sc.replications if replications is None else replications
    else:
        ra = _results(str(a), seed, replications, allow_outside)
        seed = ra.seed if seed is None else seed
        replications = int(ra.meta.get("replications", 1)) if replications is None else replications
    if ra is None:
        ra = _results(str(a), seed, replications, allow_outside)
    rb = _results(str(b), seed, replications, allow_outside)
    return ra, rb, differences(ra, rb)


def compare_command(args: argparse.Namespace) -> int:
    """``hpsim compare A B``: print the table, or JSON with ``--output json``."""
    a, b, diffs = compare(
        args.a,
        args.b,
        seed=args.seed,
        replications=args.replications,
        allow_outside=args.allow_outside_files,
    )
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


# -- init ---------------------------------------------------------------------------------------

# The starter scenario's files (hpsim/data/init-*) and where each goes in the new folder.
STARTER = {
    "init-scenario.yaml": "scenario.yaml",
    "init-log-agent.yaml": "manifests/log-agent.yaml",
    "init-web.yaml": "manifests/web.yaml",
    "init-README.md": "README.md",
}


def init_command(args: argparse.Namespace) -> int:
    """``hpsim init FOLDER``: a starter scenario folder that runs as it is.

    The folder's name is the scenario's name. The files are written to a temporary
    folder, the scenario is loaded from there (so what is written is known to load), and
    the folder is renamed into place: an interrupted init leaves nothing half-written.
    """
    from importlib import resources

    from hpsim import atomic

    target = Path(args.folder)
    name = target.resolve().name
    if target.exists() or target.is_symlink():
        raise HpsimError(f"{shown_path(target)} already exists: give a new folder")
    data = resources.files("hpsim") / "data"
    try:
        with atomic.replacing_dir(target) as tmp:
            for src, dest in STARTER.items():
                path = tmp / dest
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text((data / src).read_text().replace("{name}", name))
            try:
                load(tmp / "scenario.yaml")
            except HpsimError as exc:
                # The template is ours and loads; only the folder's name can be refused.
                raise HpsimError(
                    f"{shown_path(target)}: the folder's name names the scenario: {exc.detail}"
                ) from None
    except OSError as exc:
        raise HpsimError(f"{shown_path(target)}: {os_reason(exc)}") from None
    if not args.quiet:
        print(f"wrote {shown_path(target)}/: scenario.yaml, manifests/, README.md")
        print(f"next: hpsim run {shown_path(target / 'scenario.yaml')} --report")
    return 0
