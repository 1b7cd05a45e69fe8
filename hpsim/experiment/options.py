"""The command line's options: argparse only, so that `hpsim --help` loads no model.

:mod:`hpsim.cli` builds its parser from these before any command runs; each command
imports what it needs (pydantic's scenario schema, pandas, simpy, the model) when it
runs (:mod:`hpsim.experiment.commands`). The defaults and bounds shown in the help
are the values their own modules hold (``tests/test_startup.py`` checks they agree):
importing those modules to read one number each would load pandas and the model.
"""

from __future__ import annotations

import argparse
import numbers
from pathlib import Path
from typing import Any

from hpsim.errors import HpsimError

# hpsim.experiment.executors.EXECUTORS
EXECUTORS = ("inprocess", "pool", "dask")
# hpsim.experiment.stopping.MAX_REPLICATIONS
MAX_REPLICATIONS = 100
# hpsim.experiment.stopping.MIN_REPLICATIONS
MIN_REPLICATIONS = 3
# hpsim.observe.stream.CHUNK_ROWS
CHUNK_ROWS = 65_536
# hpsim.scenario.schema.REPLICATIONS_LIMIT
REPLICATIONS_LIMIT = 10_000


def check_whole(value: object, field: str, low: int, high: int | None = None) -> None:
    """A whole number given to a command or to :func:`hpsim.run`, from ``low`` to ``high``,
    refused in the words (pydantic's) a scenario file gets for the same mistake.

    ``numbers.Integral`` takes numpy's integers too (numpy registers them), without
    importing numpy.
    """
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise HpsimError(f"Input should be a valid integer (got {value!r:.60})", field=field)
    number = int(value)
    if number < low:
        raise HpsimError(
            f"Input should be greater than or equal to {low} (got {value})", field=field
        )
    if high is not None and number > high:
        raise HpsimError(f"Input should be less than or equal to {high} (got {value})", field=field)


def whole_number(text: str) -> int:
    """A whole number; its range is checked with the scenario's wording (:func:`check_count`)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def check_scenario_file(path: str | Path) -> None:
    """Refuse, before reading it, a scenario that is not a regular file: a results folder,
    a FIFO (reading it would wait forever), a device. A missing file or a plain folder
    is left to the loader, which words those."""
    p = Path(path)
    try:
        if p.is_dir():
            if (p / "run.json").is_file() or (p / "sweep.json").is_file():
                raise HpsimError(
                    "is a results folder, not a scenario file "
                    "(hpsim report and hpsim compare read results folders)",
                    file=str(path),
                )
            return
        if p.exists() and not p.is_file():
            raise HpsimError(
                "not a regular file (a FIFO, socket or device): give a scenario file",
                file=str(path),
            )
    except OSError as exc:
        raise HpsimError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None


def add_allow_outside(p: argparse.ArgumentParser) -> None:
    """``--allow-outside-files``: a scenario may name files outside its own folder."""
    p.add_argument(
        "--allow-outside-files",
        action="store_true",
        help="let a scenario read manifests and traces outside its own folder "
        "(absolute paths, '..', symlinks out); off by default",
    )


def add_executor_options(p: argparse.ArgumentParser) -> None:
    """``-j``, ``--executor``, ``--scheduler``."""
    p.add_argument(
        "-j",
        "--jobs",
        type=whole_number,
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
        type=whole_number,
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
        type=whole_number,
        default=MAX_REPLICATIONS,
        metavar="N",
        help=f"stop --until here even if the target is not met (default {MAX_REPLICATIONS})",
    )
    add_executor_options(p)


def add_stream_options(p: argparse.ArgumentParser) -> None:
    """``--stream`` and ``--chunk-rows``: write the tables as the run makes them."""
    p.add_argument(
        "--stream",
        action="store_true",
        help="write the tables to disk as the run makes them, in chunks, instead of keeping "
        "them in memory (for very long runs: memory stays bounded; the files are the same). "
        "One replication, run in this process",
    )
    p.add_argument(
        "--chunk-rows",
        type=whole_number,
        default=None,
        metavar="N",
        help=f"with --stream, rows a table keeps before writing them (default {CHUNK_ROWS:,})",
    )


def add_output_options(p: argparse.ArgumentParser, *, printed: str, folder: str) -> None:
    """``-o/--output text|json`` (what is printed, as in every command) and ``-d/--results
    DIR`` (where the results go) for ``hpsim run`` and ``hpsim sweep``.

    ``-o DIR`` used to name the results folder; for one release any ``-o`` value other than
    text or json is still taken as the folder, with a warning (:func:`output_choice`).
    """
    p.add_argument(
        "-o",
        "--output",
        metavar="{text,json}",
        default="text",
        help=f"what is printed: {printed} (default text)",
    )
    p.add_argument("-d", "--results", metavar="DIR", default=None, help=folder)


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
    s.add_argument(
        "-r",
        "--replications",
        type=whole_number,
        default=1,
        metavar="N",
        help=f"replications of every point (at most {REPLICATIONS_LIMIT:,})",
    )
    s.add_argument("--seed", type=whole_number, default=None, help="seed (default: the scenario's)")
    add_output_options(
        s,
        printed="one line per point, or the points as JSON on stdout",
        folder="sweep folder (default results/<scenario>/sweep-<hash of the sweep>/); "
        "the same command again resumes it",
    )
    s.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    s.add_argument("--no-align", action="store_true", help="skip the aligned-bases twin runs")
    s.add_argument("--quiet", "-q", action="store_true", help="no progress bar, no summary")
    add_executor_options(s)
    add_allow_outside(s)
    s.set_defaults(func=_sweep_command)


def _sweep_command(args: argparse.Namespace) -> int:
    from hpsim.experiment.commands import sweep_command

    return sweep_command(args)


def add_fit_parser(sub: Any) -> None:
    """The ``hpsim fit`` subcommand."""
    f = sub.add_parser(
        "fit",
        help="how many more replicas of a pod fit on the pool, and what stops the next one",
        description="Place copies of the pod one at a time with hpsim's kube-scheduler "
        "(filters, scores, seeded tie-breaks) until none fits, as cluster-capacity does, "
        "counting what Windows adds: the image's disk and ephemeral-storage against "
        "nodefs.available. Asked of the cluster at --at TIME of the scenario's run "
        "(default: its end), or of one fresh node of a pool (--fresh POOL).",
    )
    f.add_argument("scenario", metavar="SCENARIO")
    f.add_argument(
        "--pod",
        required=True,
        metavar="MANIFEST",
        help="a Pod or workload manifest (its pod template is used)",
    )
    where = f.add_mutually_exclusive_group()
    where.add_argument(
        "--at",
        metavar="TIME",
        default=None,
        help="simulated time of the run to ask at, e.g. 6h (default: the end of the run)",
    )
    where.add_argument(
        "--fresh", metavar="POOL", default=None, help="ask about one new node of this pool"
    )
    f.add_argument(
        "--seed",
        type=whole_number,
        default=None,
        help="seed (default: the scenario's; its first replication's streams)",
    )
    f.add_argument("--output", "-o", choices=("text", "json"), default="text")
    add_allow_outside(f)
    f.set_defaults(func=_fit_command)


def _fit_command(args: argparse.Namespace) -> int:
    from hpsim.experiment.fitcmd import fit_command

    return fit_command(args)


def add_size_parser(sub: Any) -> None:
    """The ``hpsim size`` subcommand."""
    s = sub.add_parser(
        "size",
        help="the smallest node count (or pool max) that meets an objective",
        description="Search a node pool's size (a fixed pool's count, an autoscaled pool's "
        "max) for the smallest that meets every --objective, each candidate replicated on "
        "common random numbers until its confidence interval is on one side of the bound. "
        'Example: hpsim size scenarios/capacity-plan.yaml --objective "pending_s_p95<=300". '
        "Exit status: 0 a count meets it, 1 none in the range does (or a run failed), 2 bad "
        "input.",
    )
    s.add_argument("scenario", metavar="SCENARIO")
    s.add_argument(
        "--objective",
        dest="objectives",
        action="append",
        default=[],
        metavar="METRIC<=NUMBER",
        help='what the pool must achieve, e.g. "pending_s_p95<=300" (<=, <, >=, >; the '
        "metric's own unit; metric names as --until takes them); repeat: all must hold",
    )
    s.add_argument(
        "--pool", metavar="NAME", default=None, help="the pool to size (default: the only one)"
    )
    s.add_argument(
        "--nodes",
        metavar="LO..HI",
        default=None,
        help="the node counts searched (default: from 1, or an autoscaled pool's min, to 4 x "
        "the scenario's value, at least 8)",
    )
    s.add_argument(
        "--confidence",
        type=float,
        default=0.95,
        metavar="LEVEL",
        help="of the Student-t interval each verdict rests on (default 0.95)",
    )
    s.add_argument(
        "-r",
        "--replications",
        type=whole_number,
        default=None,
        metavar="N",
        help=f"the fewest replications a candidate gets (default {MIN_REPLICATIONS})",
    )
    s.add_argument(
        "--max-replications",
        type=whole_number,
        default=MAX_REPLICATIONS,
        metavar="N",
        help="the most; a candidate still undecided then counts as not meeting "
        f"(default {MAX_REPLICATIONS})",
    )
    s.add_argument("--seed", type=whole_number, default=None, help="seed (default: the scenario's)")
    s.add_argument(
        "-o", "--output", choices=("text", "json"), default="text", help="what is printed"
    )
    s.add_argument(
        "-d",
        "--results",
        metavar="DIR",
        default=None,
        help="size folder (default results/<scenario>/size-<hash of scenario, pool, seed>/); "
        "the same search again reuses its runs",
    )
    s.add_argument("--quiet", "-q", action="store_true", help="no progress bar, no answer")
    add_executor_options(s)
    add_allow_outside(s)
    s.set_defaults(func=_size_command)


def _size_command(args: argparse.Namespace) -> int:
    from hpsim.experiment.size import size_command

    return size_command(args)


def add_import_parser(sub: Any) -> argparse.ArgumentParser:
    """The ``hpsim import`` subcommand."""
    i = sub.add_parser(
        "import",
        help="write a scenario folder from kubectl's JSON of a real cluster",
        description="Read `kubectl get nodes -o json`, `kubectl get pods -A -o json` (or "
        "a --watch -o json stream), optionally `kubectl get events -A -o json` and `kubectl "
        "get deploy,ds,sts,job,cronjob -A -o json`, and write a scenario folder: node pools "
        "from the Windows nodes, workloads by owner, traces, observed/ tables and "
        "import-summary.md. FOLDER may hold them as nodes.json, pods.json, events.json, "
        "workloads.json; the options name files and take precedence.",
    )
    i.add_argument("folder", nargs="?", default=None, metavar="FOLDER")
    i.add_argument("--nodes", metavar="FILE", default=None, help="kubectl get nodes -o json")
    i.add_argument(
        "--pods",
        metavar="FILE",
        action="append",
        default=None,
        help="kubectl get pods -A -o json, or a --watch -o json stream; repeat to merge "
        "(the last state of each pod wins)",
    )
    i.add_argument("--events", metavar="FILE", default=None, help="kubectl get events -A -o json")
    i.add_argument(
        "--workloads",
        metavar="FILE",
        default=None,
        help="kubectl get deploy,ds,sts,job,cronjob -A -o json: manifests from the owners",
    )
    i.add_argument(
        "-d", "--results", metavar="OUTDIR", required=True, help="the scenario folder to write"
    )
    i.add_argument("--name", default=None, help="the scenario's name (default: OUTDIR's name)")
    i.add_argument("--force", action="store_true", help="replace a non-empty OUTDIR")
    i.add_argument("--quiet", "-q", action="store_true", help="print nothing")
    i.add_argument(
        "--calibrate",
        action="store_true",
        help="then fit each pool's network and unpackRate to its own observed pulls (hpsim "
        "calibrate --pool): rates the pulls identify are written into scenario.yaml, the "
        "others named in import-summary.md",
    )
    i.set_defaults(func=_import_command)
    return i


def _import_command(args: argparse.Namespace) -> int:
    from hpsim.importer.write import import_command

    return import_command(args)


def add_fitcheck_parser(sub: Any) -> None:
    """The ``hpsim fit-check`` subcommand."""
    f = sub.add_parser(
        "fit-check",
        help="hold a run of an imported scenario against what the cluster did",
        description="Compare a run of an imported scenario with the cluster it was imported "
        "from: pull durations, start latency, pending time, restarts, evictions and image "
        "bytes, overall, per workload and per node: medians, 90th percentiles, the error of "
        "the median, a two-sample KS statistic and a verdict (within 20%%: fits; hpsim's "
        "threshold). Writes fitcheck.md, fitcheck.html, fitcheck.json and quantile-quantile "
        "figures. Read from the results tables and IMPORT_DIR/observed/*.csv only.",
    )
    f.add_argument(
        "results", metavar="RESULTS_DIR", help="what hpsim run wrote for the imported scenario"
    )
    f.add_argument(
        "--observed",
        required=True,
        metavar="IMPORT_DIR",
        help="the folder hpsim import wrote (its observed/pods.csv and observed/pulls.csv)",
    )
    f.add_argument(
        "-d",
        "--dir",
        metavar="OUT",
        default=None,
        help="where the report goes (default RESULTS_DIR/fitcheck/; replaced whole)",
    )
    f.add_argument(
        "-o",
        "--output",
        choices=("text", "json"),
        default="text",
        help="what is printed: a summary in people's units, or the raw numbers as JSON",
    )
    f.set_defaults(func=_fitcheck_command)


def _fitcheck_command(args: argparse.Namespace) -> int:
    from hpsim.observe.fitcheckreport import fitcheck_command

    return fitcheck_command(args)
