"""``hpsim init``: a starter scenario folder that validates and runs as it is."""

from __future__ import annotations

import json
from pathlib import Path

import hpsim
from hpsim.cli import main
from hpsim.experiment.examples import IMPORTED, SCENARIOS, SHIPPED, shipped_scenarios


def test_init_writes_a_folder_that_validates_and_runs(tmp_path, capsys) -> None:
    folder = tmp_path / "edge-pool"
    assert main(["init", str(folder)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"wrote {folder}/: scenario.yaml, manifests/, README.md",
        f"next: hpsim run {folder / 'scenario.yaml'} --report",
    ]
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == [
        "README.md",
        "manifests",
        "manifests/log-agent.yaml",
        "manifests/web.yaml",
        "scenario.yaml",
    ]
    assert main(["validate", str(folder / "scenario.yaml"), "-o", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["hostProcess"], r["canRun"]) for r in rows] == [
        ("log-agent", True, True),
        ("web", False, True),
    ]
    res = hpsim.run(folder / "scenario.yaml")
    assert res.scenario == "edge-pool"
    s = res.summary()
    assert s["pods_started"] >= 4  # the agent and three web replicas, at least
    assert [w["kind"] for w in s["warnings"]] == ["host-writes"]
    assert "# edge-pool" in (folder / "README.md").read_text()


def test_init_refuses_an_existing_folder_and_a_name_no_scenario_may_have(tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.mkdir()
    assert main(["init", str(taken)]) == 2
    assert capsys.readouterr().err == f"hpsim: error: {taken} already exists: give a new folder\n"
    bad = tmp_path / "bad name"
    assert main(["init", str(bad)]) == 2
    assert capsys.readouterr().err == (
        f"hpsim: error: {bad}: the folder's name names the scenario: invalid name 'bad name': "
        "use letters, digits, '.', '_' and '-' (it names the results folder)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # nothing half-written


def test_the_golden_scenarios_are_the_listed_ones_not_every_file(tmp_path) -> None:
    def names(paths: list[Path]) -> list[str]:
        # A shipped import is a folder's scenario.yaml: named by its folder.
        return [p.parent.name if p.name == "scenario.yaml" else p.stem for p in paths]

    assert names(shipped_scenarios()) == [*SHIPPED, *IMPORTED]
    assert all(p.is_file() for p in shipped_scenarios())
    (tmp_path / "mine.yaml").write_text("name: mine\n")
    assert names(shipped_scenarios(tmp_path)) == [*SHIPPED, *IMPORTED]
    assert SCENARIOS.is_dir()
