"""The committed example results: every shipped scenario's summary and report.

``tests/golden/<scenario>/summary.json`` and ``tests/golden/<scenario>/report.md`` are in
git so that a reader sees hpsim's answers without running anything, and the
golden-summary test (tests/test_golden.py) compares fresh runs against them:
a model change that moves a headline number shows up there and is explained
in its commit. Regenerate them all with::

    python -m hpsim.experiment.examples

Each scenario runs with its own seed and replications, as ``hpsim run`` would. An
imported example (``scenarios/<name>/scenario.yaml`` beside its ``observed/`` tables) also
gets its fit check, ``tests/golden/<name>/fitcheck/`` (``fitcheck.md``, ``fitcheck.json`` and
the quantile-quantile figures), as ``hpsim fit-check`` writes it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from hpsim import atomic
from hpsim.experiment.run import run
from hpsim.observe.output import write_results
from hpsim.scenario.load import load

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
# The committed example results (pinned by tests/test_golden.py); results/ is the user's.
RESULTS = ROOT / "tests" / "golden"
KEPT = ("summary.json", "report.md")
FITCHECK_KEPT = ("fitcheck.md", "fitcheck.json")


# The scenarios hpsim ships, whose summaries are committed and pinned by the golden test. A
# scenario of your own in scenarios/ is not one of them: it is neither regenerated nor checked.
SHIPPED = (
    "capacity-plan",
    "disk-accounting-gap",
    "memory-capping",
    "mixed-base-images",
    "node-bootstrap",
    "pool-autoscale",
    "trace-replay",
)
# Shipped scenario folders written by hpsim import (scenario.yaml and observed/).
IMPORTED = ("imported-example",)


def shipped_scenarios(folder: Path = SCENARIOS) -> list[Path]:
    """The shipped scenario files (SHIPPED) in ``folder``."""
    return [folder / f"{name}.yaml" for name in SHIPPED] + [
        folder / name / "scenario.yaml" for name in IMPORTED
    ]


def _rel(path: Path) -> str:
    return os.path.relpath(path, ROOT) if path.is_relative_to(ROOT) else str(path)


def _write_fit_check(scenario: Path, run_folder: Path, dest: Path) -> None:
    """The fit check of an imported example's run against its observed tables, kept
    without the HTML (it repeats the figures inline)."""
    from hpsim.observe.fitcheckreport import fit_check, write_fit_check

    record = fit_check(
        run_folder,
        scenario.parent,
        results_label=f"hpsim run {_rel(scenario)}",
        observed_label=_rel(scenario.parent),
    )
    made = run_folder / "fitcheck"
    write_fit_check(record, made)
    with atomic.replacing_dir(dest) as tmp:
        for name in FITCHECK_KEPT:
            shutil.copyfile(made / name, tmp / name)
        shutil.copytree(made / "figures", tmp / "figures")


def _write_report(folder: Path) -> None:
    try:
        from hpsim.observe.report import write_report
    except ImportError:  # the report module is optional for the summaries
        return
    # Kept in git: no timestamp (a regeneration that changes nothing changes no file)
    # and no figure files (report.html next to a fresh run has them).
    write_report(folder, figures=False, stamp=False)


def regenerate(scenario: Path, results: Path = RESULTS) -> Path:
    """Run one scenario and replace its committed ``summary.json`` and ``report.md`` (and an
    imported example's fit check)."""
    loaded = load(scenario)
    res = run(loaded)
    dest = results / loaded.name
    dest.mkdir(parents=True, exist_ok=True)
    with atomic.scratch_dir(dest) as tmp:
        out = tmp / "run"
        write_results(res, out, scenario_file=_rel(scenario))
        _write_report(out)
        for name in KEPT:
            if (out / name).exists():
                with atomic.replacing_file(dest / name) as new:
                    shutil.copyfile(out / name, new)
        if (scenario.parent / "observed" / "pods.csv").is_file():
            _write_fit_check(scenario, out, dest / "fitcheck")
    return dest


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m hpsim.experiment.examples",
        description="Regenerate tests/golden/<scenario>/summary.json and report.md.",
    )
    p.add_argument("scenarios", nargs="*", type=Path, help="default: every shipped scenario")
    args = p.parse_args(argv)
    for path in args.scenarios or shipped_scenarios():
        dest = regenerate(path.resolve())
        print(f"{path} -> {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
