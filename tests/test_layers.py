"""The one-way data flow, as a reader of results sees it: Observe loads no model."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``statement``."""
    code = f"{statement}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_reading_results_loads_neither_the_model_nor_simpy():
    loaded = _modules_after("import hpsim.observe.report, hpsim.observe.compare")
    assert "hpsim.observe.report" in loaded
    heavy = sorted(
        m
        for m in loaded
        if m == "simpy" or m.startswith(("simpy.", "hpsim.node", "hpsim.experiment"))
    )
    assert heavy == []


def test_the_package_api_still_reaches_run_load_and_sweep():
    loaded = _modules_after("import hpsim\nhpsim.run, hpsim.load, hpsim.sweep")
    assert {"simpy", "hpsim.node.node", "hpsim.experiment.run", "hpsim.scenario.load"} <= loaded
