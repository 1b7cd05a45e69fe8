"""Golden summaries: each shipped scenario's headline numbers, pinned.

A fresh run of every ``scenarios/*.yaml`` (its own seed and replications) must
give the numbers committed in ``tests/golden/<scenario>/summary.json``. Runs are
deterministic bit for bit, so the tolerance only absorbs floating-point noise
across platforms and library builds: counts must match exactly, other numbers
to a relative 1e-9 (and 1e-6 absolute, for values that should be zero). A model
change that moves a number fails here; regenerate with
``python -m hpsim.experiment.examples`` and explain the move in the commit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import hpsim
from hpsim.experiment.examples import RESULTS, shipped_scenarios
from hpsim.observe.output import summary_json

REL_TOL = 1e-9
ABS_TOL = 1e-6
SCENARIOS = shipped_scenarios()


def _diffs(path: str, want: Any, got: Any) -> list[str]:
    if isinstance(want, dict) and isinstance(got, dict):
        out = []
        for k in sorted(set(want) | set(got)):
            if k not in got:
                out.append(f"{path}.{k}: missing from the fresh run")
            elif k not in want:
                out.append(f"{path}.{k}: new in the fresh run ({got[k]!r})")
            else:
                out.extend(_diffs(f"{path}.{k}", want[k], got[k]))
        return out
    if isinstance(want, bool) or (isinstance(want, int) and isinstance(got, int)):
        return [] if want == got else [f"{path}: {want!r} -> {got!r}"]
    if isinstance(want, int | float) and isinstance(got, int | float):
        if math.isclose(want, got, rel_tol=REL_TOL, abs_tol=ABS_TOL):
            return []
        return [f"{path}: {want!r} -> {got!r}"]
    return [] if want == got else [f"{path}: {want!r} -> {got!r}"]


def test_every_shipped_scenario_has_a_committed_summary() -> None:
    names = {hpsim.load(p).name for p in SCENARIOS}
    assert len(SCENARIOS) >= 6
    missing = sorted(n for n in names if not (RESULTS / n / "summary.json").exists())
    assert not missing, f"regenerate with python -m hpsim.experiment.examples: {missing}"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: Path(p).stem)
def test_summary_matches_the_committed_one(scenario: Path) -> None:
    loaded = hpsim.load(scenario)
    committed = json.loads((RESULTS / loaded.name / "summary.json").read_text())
    fresh = json.loads(summary_json(hpsim.run(loaded).summary()))
    diffs = _diffs(loaded.name, committed, fresh)
    assert not diffs, "headline numbers moved:\n" + "\n".join(diffs)


def test_a_moved_number_is_reported_by_its_path() -> None:
    want = {"a": 1, "b": {"mean": 2.0, "n": 3}, "c": None}
    got = {"a": 2, "b": {"mean": 2.0 * (1 + 1e-6), "n": 3}, "c": None, "d": 1}
    assert _diffs("s", want, got) == [
        "s.a: 1 -> 2",
        "s.b.mean: 2.0 -> 2.000002",
        "s.d: new in the fresh run (1)",
    ]
    assert _diffs("s", {"x": 1e12}, {"x": 1e12 + 1e2}) == []
