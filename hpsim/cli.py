"""The `hpsim` command line.

Exit status: 0 success; 1 when `hpsim validate` finds a well-formed spec
invalid or refused (or some runs failed); 2 for bad input (a malformed file,
an unknown key, an impossible quantity), always as one line naming file,
line and field, never a traceback.

Building the parser imports argparse and the options (:mod:`hpsim.experiment.options`)
only: each command imports what it needs when it runs, so ``hpsim --help`` and a
mistyped option answer without loading pandas, simpy or the model
(``tests/test_startup.py``, ``benchmarks/bench_startup.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from hpsim import __version__
from hpsim.calibrate.command import add_calibrate_parser
from hpsim.errors import HpsimError
from hpsim.experiment.options import (
    add_allow_outside,
    add_fit_parser,
    add_fitcheck_parser,
    add_import_parser,
    add_output_options,
    add_run_options,
    add_size_parser,
    add_stream_options,
    add_sweep_parser,
    check_scenario_file,
    check_whole,
    whole_number,
)


def _cmd_validate(args: argparse.Namespace) -> int:
    from hpsim.scenario.verdicts import bare_manifest_node, validate_path

    # The words a scenario's node.cpu gets (schema NodeSpec.cpu: ge=1).
    check_whole(args.cpus, "--cpus", 1)
    for path in args.files:
        check_scenario_file(path)
    rows: list[dict] = []
    lines: list[str] = []
    ok = True
    for path in args.files:
        node = bare_manifest_node(args.cpus, args.kubernetes, args.containerd)
        verdicts, loaded = validate_path(path, node, allow_outside=args.allow_outside_files)
        blocked: dict[str, list[tuple[str, str]]] = {}
        names: list[str | None] = [None] * len(verdicts)
        if loaded is not None:
            # What is knowable before running: pods that could never run (the run's words).
            from hpsim.node.preflight import obstacles

            blocked = {
                w: [(o.kind, o.message) for o in found] for w, found in obstacles(loaded).items()
            }
            names = [w.name for w in loaded.workloads]
        for name, v in zip(names, verdicts, strict=True):
            obs = blocked.get(name, []) if name is not None else None
            ok = ok and v.admitted and not obs
            rows.append(v.to_json(path, obs))
            lines.extend(v.human(path, obs))
    if args.output == "json":
        print(json.dumps(rows, indent=2))
    else:
        print("\n".join(lines))
    return 0 if ok else 1


def _cmd_schema(args: argparse.Namespace) -> int:
    from hpsim.scenario.schema import Scenario

    print(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from hpsim.experiment.commands import run_command

    return run_command(args)


def _cmd_init(args: argparse.Namespace) -> int:
    from hpsim.experiment.commands import init_command

    return init_command(args)


def _cmd_report(args: argparse.Namespace) -> int:
    from hpsim.observe.output import check_finished, os_reason, shown_path
    from hpsim.observe.report import write_report
    from hpsim.observe.sizereport import is_size, write_size_report
    from hpsim.observe.sweepreport import is_sweep, parse_objective, write_sweep_report

    if is_size(args.results):
        if args.objective is not None:
            raise HpsimError(
                "a size folder's objective is its search's: run hpsim size again to change it",
                field="--objective",
            )
        try:
            paths = write_size_report(args.results)
        except OSError as exc:
            raise HpsimError(
                f"could not write the report to {shown_path(args.results)}: {os_reason(exc)}"
            ) from None
        return _print_paths(paths, args.output)
    objective = parse_objective(args.objective) if args.objective is not None else None
    sweep = is_sweep(args.results)
    if not sweep:
        if objective is not None:
            raise HpsimError("applies to a sweep folder (one with sweep.json)", field="--objective")
        check_finished(args.results)
    try:
        paths = write_sweep_report(args.results, objective) if sweep else write_report(args.results)
    except OSError as exc:
        raise HpsimError(
            f"could not write the report to {shown_path(args.results)}: {os_reason(exc)}"
        ) from None
    return _print_paths(paths, args.output)


def _print_paths(paths: Sequence[Path], output: str) -> int:
    """The report's two files, one a line or as JSON."""
    if output == "json":
        names = ("report_html", "report_md")
        print(json.dumps(dict(zip(names, map(str, paths[:2]), strict=True)), indent=2))
    else:
        print("\n".join(str(p) for p in paths[:2]))
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    """``hpsim import``, then with --calibrate each pool's rates fitted (the calibrate
    package sits above the importer: the command joins them here)."""
    from hpsim.importer.write import import_command

    status = import_command(args)
    if status != 0 or not args.calibrate:
        return status
    from hpsim.calibrate.onimport import calibrate_import

    for r in calibrate_import(args.results):
        if args.quiet:
            continue
        if r.written is not None:
            print(f"  pool {r.pool}: {r.written.removeprefix('# ')}")
        else:
            print(f"  pool {r.pool}: rates not written: {r.why_not}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from hpsim.experiment.commands import compare_command

    return compare_command(args)


def _cmd_catalog(args: argparse.Namespace) -> int:
    from hpsim.scenario import catalog

    ratio = catalog.UNPACKED_RATIO if args.unpacked_ratio is None else args.unpacked_ratio
    rows = catalog.entries(unpacked_ratio=ratio)
    if args.output == "json":
        print(json.dumps([image.to_json() for image in rows], indent=2, ensure_ascii=False))
    else:
        print(catalog.format_table(rows))
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hpsim",
        description="Simulate a Windows Kubernetes node running HostProcess containers.",
    )
    p.add_argument("--version", action="version", version=f"hpsim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    v = sub.add_parser("validate", help="check scenario files and Kubernetes manifests")
    v.add_argument("files", nargs="+", metavar="FILE")
    v.add_argument("--output", "-o", choices=("text", "json"), default="text")
    v.add_argument(
        "--cpus",
        type=int,
        default=4,
        help="node CPUs for bare manifests (job CPU rates), default 4",
    )
    v.add_argument(
        "--kubernetes",
        metavar="VERSION",
        help="Kubernetes version for bare manifests (default 1.31)",
    )
    v.add_argument(
        "--containerd",
        metavar="VERSION",
        help="containerd version for bare manifests (default 1.7.22)",
    )
    add_allow_outside(v)
    v.set_defaults(func=_cmd_validate)

    s = sub.add_parser("schema", help="print the scenario file's JSON Schema")
    s.set_defaults(func=_cmd_schema)

    r = sub.add_parser("run", help="run a scenario and write its results")
    r.add_argument("scenario", metavar="SCENARIO")
    add_output_options(
        r,
        printed="the summary as text, or as JSON (summary.json's content) on stdout",
        folder="results folder (default results/<scenario name>/<timestamp>/)",
    )
    r.add_argument("--seed", type=whole_number, default=None, help="seed (default: the scenario's)")
    r.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    r.add_argument("--quiet", "-q", action="store_true", help="print no summary")
    r.add_argument(
        "--report",
        action="store_true",
        help="also write report.html and report.md (the capacity-planning report)",
    )
    r.add_argument(
        "--fail-on-warning",
        action="store_true",
        help="exit 1 when the run has a warning (a workload never Ready, a crash loop, ...)",
    )
    add_run_options(r)
    add_stream_options(r)
    add_allow_outside(r)
    r.set_defaults(func=_cmd_run)
    add_sweep_parser(sub)
    add_fit_parser(sub)
    add_size_parser(sub)
    add_import_parser(sub).set_defaults(func=_cmd_import)
    add_calibrate_parser(sub)
    add_fitcheck_parser(sub)

    ini = sub.add_parser("init", help="write a starter scenario folder that runs as it is")
    ini.add_argument(
        "folder", metavar="FOLDER", help="the new folder (its name is the scenario's name)"
    )
    ini.add_argument("--quiet", "-q", action="store_true", help="print nothing")
    ini.set_defaults(func=_cmd_init)

    rep = sub.add_parser(
        "report", help="write report.html and report.md for a results, sweep or size folder"
    )
    rep.add_argument(
        "results",
        metavar="RESULTS_DIR",
        help="a folder written by hpsim run, hpsim sweep or hpsim size",
    )
    rep.add_argument(
        "--objective",
        metavar="METRIC<=NUMBER",
        default=None,
        help='a sweep: the cheapest point meeting it, e.g. "pending_s_p95<=300" '
        "(<=, <, >=, >; the metric's own unit)",
    )
    rep.add_argument(
        "--output",
        "-o",
        choices=("text", "json"),
        default="text",
        help="the files written, one a line, or as JSON",
    )
    rep.set_defaults(func=_cmd_report)

    cmp = sub.add_parser(
        "compare",
        help="two scenarios (run on common random numbers) or two results folders, side by side",
    )
    cmp.add_argument("a", metavar="A", help="a scenario file or a results folder")
    cmp.add_argument("b", metavar="B", help="a scenario file or a results folder")
    cmp.add_argument("--output", "-o", choices=("text", "json"), default="text")
    cmp.add_argument(
        "--seed", type=whole_number, default=None, help="seed for scenarios (default: A's)"
    )
    cmp.add_argument(
        "-r", "--replications", type=whole_number, default=None, help="replications for scenarios"
    )
    add_allow_outside(cmp)
    cmp.set_defaults(func=_cmd_compare)

    c = sub.add_parser("catalog", help="list the built-in images with sizes and sources")
    c.add_argument("--output", "-o", choices=("text", "json"), default="text")
    c.add_argument(
        "--unpacked-ratio",
        type=float,
        default=None,
        metavar="RATIO",
        help="unpacked/compressed size ratio (default 2.5, a guess within the observed 2-3x)",
    )
    c.set_defaults(func=_cmd_catalog)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `hpsim` console script."""
    args = _parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except HpsimError as exc:
        print(f"hpsim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hpsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
