"""``hpsim calibrate``: the command line of :mod:`hpsim.calibrate`.

Building the parser imports argparse only; the command imports the fit when it runs
(``hpsim --help`` loads neither numpy nor the model: tests/test_startup.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hpsim.errors import HpsimError, excerpt

PULLS_CSV = Path("observed") / "pulls.csv"
SCENARIO_NAMES = ("scenario.yaml", "scenario.yml")
BOOTSTRAP = 400  # hpsim.calibrate.fit.BOOTSTRAP (tests/test_calibrate.py checks)


def add_calibrate_parser(sub: Any) -> None:
    """The ``hpsim calibrate`` subcommand."""
    c = sub.add_parser(
        "calibrate",
        help="fit a pool's network and unpackRate to the pulls kubelet reported",
        description="Fit a node pool's pull rates (network, unpackRate) to observed pulls: "
        "kubelet's 'Successfully pulled image ... in X (Y including waiting). Image size: N "
        "bytes.' events, or the observed/pulls.csv table hpsim import writes. Least absolute "
        "deviations on log durations of hpsim's own pull model; a seeded bootstrap gives the "
        "95% interval.",
    )
    c.add_argument(
        "scenario",
        metavar="SCENARIO",
        help="a scenario file, or a folder holding scenario.yaml (and observed/pulls.csv)",
    )
    src = c.add_mutually_exclusive_group()
    src.add_argument(
        "--pulls",
        metavar="CSV",
        help="pulls table: node,pod,image,bytes,pull_s,including_waiting_s,time_s "
        "(default: the folder's observed/pulls.csv)",
    )
    src.add_argument(
        "--events",
        metavar="JSON",
        help="kubectl get events -A -o json (a List or a --watch stream)",
    )
    c.add_argument("--pool", metavar="NAME", default=None, help="the pool (default: the only one)")
    c.add_argument(
        "--fix",
        metavar="RATE=VALUE",
        default=None,
        help="hold one rate, fit the other: network=23MB/s or unpackRate=14MB/s",
    )
    c.add_argument(
        "--write",
        action="store_true",
        help="write the fitted rates into the scenario file (comments kept)",
    )
    c.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    c.add_argument(
        "--bootstrap",
        type=int,
        default=BOOTSTRAP,
        metavar="N",
        help=f"bootstrap resamples (default {BOOTSTRAP})",
    )
    c.add_argument("--output", "-o", choices=("text", "json"), default="text")
    c.set_defaults(func=calibrate_command)


def _scenario_file(arg: str) -> tuple[Path, Path | None]:
    """(scenario file, its folder when a folder was given)."""
    path = Path(arg)
    if path.is_dir():
        for name in SCENARIO_NAMES:
            if (path / name).is_file():
                return path / name, path
        yamls = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
        if len(yamls) == 1:
            return yamls[0], path
        raise HpsimError("a folder needs scenario.yaml (or a single .yaml file)", file=str(path))
    if not path.is_file():
        raise HpsimError("no such file or folder", file=str(path))
    return path, None


def _fix(text: str | None) -> tuple[float | None, float | None]:
    if text is None:
        return None, None
    from hpsim.units import QuantityError, parse_data_rate

    key, sep, value = text.partition("=")
    if not sep or key.strip() not in ("network", "unpackRate"):
        raise HpsimError(
            f"expected network=RATE or unpackRate=RATE, found '{excerpt(text)}'", field="--fix"
        )
    try:
        rate = parse_data_rate(value.strip())
    except QuantityError as exc:
        raise HpsimError(str(exc), field="--fix") from None
    if rate <= 0:
        raise HpsimError("the rate must be greater than zero", field="--fix")
    return (rate, None) if key.strip() == "network" else (None, rate)


def calibrate_command(args: argparse.Namespace) -> int:
    from hpsim.calibrate.fit import calibrate
    from hpsim.calibrate.kubelet import read_events, read_pulls_csv
    from hpsim.calibrate.write import write_into
    from hpsim.scenario.load import load

    if args.bootstrap < 1 or args.bootstrap > 100_000:
        raise HpsimError("between 1 and 100000", field="--bootstrap")
    if args.seed < 0:
        raise HpsimError("must be 0 or more", field="--seed")
    fix_network, fix_unpack = _fix(args.fix)
    file, folder = _scenario_file(args.scenario)
    loaded = load(file)
    figures = None
    if args.events is not None:
        read = read_events(args.events)
        pulls, figures = read.pulls, read.figures
        for problem in read.problems:  # a file cut short: what was read still is
            print(f"hpsim: warning: {problem}", file=sys.stderr)
        if not pulls:
            raise HpsimError(
                f"no 'Successfully pulled image ... in ...' event among {read.events} events",
                file=args.events,
            )
    else:
        csv = Path(args.pulls) if args.pulls is not None else None
        if csv is None:
            if folder is None or not (folder / PULLS_CSV).is_file():
                raise HpsimError("give --pulls CSV or --events JSON (no observed/pulls.csv)")
            csv = folder / PULLS_CSV
        pulls = read_pulls_csv(csv)
    cal = calibrate(
        pulls,
        loaded.scenario,
        args.pool,
        fix_network=fix_network,
        fix_unpack_rate=fix_unpack,
        seed=args.seed,
        bootstrap=args.bootstrap,
    )
    if figures is not None:
        from dataclasses import replace

        cal = replace(cal, figures=figures)
    written = write_into(file, args.pool, cal) if args.write else None
    if args.output == "json":
        out = cal.to_json()
        out["written"] = {"file": str(file), "comment": written} if written else None
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(cal.text())
        if written:
            print(f"wrote into {file}: {written}")
    return 0
