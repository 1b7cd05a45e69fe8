"""`hpsim --help` starts without pandas, simpy, matplotlib or the model, and `hpsim validate`
on a bare manifest without the scenario's models either.

The command line's parser is built from :mod:`hpsim.experiment.options`; each command
imports what it needs when it runs. The option defaults shown in the help are copies
of their owners' values, checked here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hpsim.experiment import options

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "scenarios" / "manifests" / "iis-app.yaml"

HEAVY = ("pandas", "numpy", "simpy", "matplotlib", "pyarrow", "dask", "pydantic", "scipy")


def _modules_after(statement: str) -> set[str]:
    code = f"{statement}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_importing_the_cli_loads_no_heavy_package_and_no_model() -> None:
    loaded = _modules_after("import hpsim.cli")
    assert "hpsim.cli" in loaded
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    model = sorted(
        m for m in loaded if m.startswith(("hpsim.node", "hpsim.cluster", "hpsim.observe"))
    )
    assert heavy == [] and model == []


def test_help_lists_every_command_without_loading_them() -> None:
    code = (
        "import contextlib, io, sys\nfrom hpsim.cli import main\nbuf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\nprint(buf.getvalue())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code + "\nprint('\\n'.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for command in (
        "validate",
        "schema",
        "run",
        "sweep",
        "size",
        "init",
        "report",
        "compare",
        "catalog",
        "import",
        "calibrate",
        "fit-check",
    ):
        assert f"    {command} " in out or f"    {command}\n" in out  # a long name wraps
    assert not any(line.split(".")[0] in ("pandas", "simpy") for line in out.split())


def test_validating_a_manifest_imports_only_the_node_and_manifest_models() -> None:
    # A bare manifest is checked on a node (hpsim.scenario.nodespec): the scenario's other
    # models (hpsim.scenario.schema), its loader and the image catalogue stay unimported.
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "hpsim", "validate", str(MANIFEST)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0
    assert done.stdout.startswith(f"{MANIFEST}: Deployment apps/iis-app: valid")
    # -X importtime writes "import time: self | cumulative | module" for each import.
    loaded = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert {"hpsim.scenario.manifests", "hpsim.scenario.nodespec"} <= loaded
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY and m.split(".")[0] != "pydantic")
    model = sorted(
        m for m in loaded if m.startswith(("hpsim.node", "hpsim.cluster", "hpsim.observe"))
    )
    scenario = sorted(
        loaded & {"hpsim.scenario.schema", "hpsim.scenario.load", "hpsim.scenario.catalog"}
    )
    assert heavy == []
    assert model == []
    assert scenario == []


def test_the_help_defaults_are_their_owners_values() -> None:
    from hpsim.experiment.executors import EXECUTORS
    from hpsim.experiment.stopping import MAX_REPLICATIONS
    from hpsim.observe.stream import CHUNK_ROWS
    from hpsim.scenario.schema import REPLICATIONS_LIMIT

    assert options.EXECUTORS == EXECUTORS
    assert options.MAX_REPLICATIONS == MAX_REPLICATIONS
    assert options.CHUNK_ROWS == CHUNK_ROWS
    assert options.REPLICATIONS_LIMIT == REPLICATIONS_LIMIT
    from hpsim.experiment.stopping import MIN_REPLICATIONS

    assert options.MIN_REPLICATIONS == MIN_REPLICATIONS
