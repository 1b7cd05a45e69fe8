"""hpsim fit-check: a run of an imported scenario held against the cluster's tables.

The synthetic case where the model is the truth: the "cluster" is a run of the shipped
imported example (seed 1), its tables written as hpsim import's observed/ CSVs; a second
run (seed 2) must fit it. Then the same with the cluster's pulls three times slower.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hpsim
from hpsim.cli import main
from hpsim.experiment.examples import RESULTS, ROOT
from hpsim.importer.write import PODS_COLUMNS, PULLS_COLUMNS
from hpsim.observe.fitcheck import FITS, ROUGH, ks_statistic, verdict
from hpsim.observe.fitcheckreport import fit_check, render_markdown
from hpsim.observe.output import read_results, write_results

EXAMPLE = ROOT / "scenarios" / "imported-example"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("fitcheck")
    loaded = hpsim.load(EXAMPLE / "scenario.yaml")
    out = {}
    for seed in (1, 2):
        folder = base / f"seed{seed}"
        write_results(hpsim.run(loaded, seed=seed), folder)
        out[f"seed{seed}"] = folder
    out["base"] = base
    return out


def _write_csv(path: Path, rows: list[dict[str, object]], columns: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: "" if pd.isna(r.get(k)) else r.get(k) for k in columns})


def observed_from_run(results: Path, folder: Path, pull_factor: float = 1.0) -> Path:
    """A run's tables written as hpsim import writes a cluster's observed/ tables."""
    res = read_results(results)
    pods = res.pods
    _write_csv(
        folder / "observed" / "pods.csv",
        [
            {
                **r,
                "cluster_node": r["node"],
                "evicted": r["reason"] == "Evicted",
            }
            for r in pods.to_dict("records")
        ],
        list(PODS_COLUMNS),
    )
    sizes = dict(zip(res.images["image"], res.images["size_bytes"], strict=False))
    pulls = res.pulls[res.pulls["error"] == ""]
    _write_csv(
        folder / "observed" / "pulls.csv",
        [
            {
                "node": r["node"],
                "pod": r["pod"],
                "image": r["image"],
                "bytes": sizes.get(r["image"]),
                "pull_s": pull_factor * (r["finished_s"] - r["started_s"]),
                "including_waiting_s": r["finished_s"] - r["queued_s"],
                "time_s": r["finished_s"],
                "pool": r["node"].rsplit("-", 1)[0],
            }
            for r in pulls.to_dict("records")
        ],
        list(PULLS_COLUMNS),
    )
    return folder


def test_the_model_fits_itself(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    obs = observed_from_run(runs["seed1"], runs["base"] / "truth")
    assert main(["fit-check", str(runs["seed2"]), "--observed", str(obs)]) == 0
    out = capsys.readouterr().out
    pull = next(line for line in out.splitlines() if line.startswith("  pull durations"))
    assert "  fits  " in pull and "(+0%)" in pull
    record = json.loads((runs["seed2"] / "fitcheck" / "fitcheck.json").read_text())
    head = {r["metric"]: r for r in record["rows"] if r["scope"] == "all"}
    assert abs(head["pull_s"]["error"]) < 0.05 and head["pull_s"]["verdict"] == "fits"
    assert head["pull_s"]["ks_d"] < 0.2
    for metric in ("start_latency_s", "pending_s", "image_bytes"):
        assert head[metric]["verdict"] == "fits", metric
    assert all(
        r["verdict"] in ("fits", "cannot tell") for r in record["rows"] if r["metric"] == "pull_s"
    )
    folder = runs["seed2"] / "fitcheck"
    assert {p.name for p in folder.iterdir()} == {
        "fitcheck.md",
        "fitcheck.html",
        "fitcheck.json",
        "figures",
    }
    assert sorted(p.name for p in (folder / "figures").iterdir()) == [
        "qq-pending_s.png",
        "qq-pull_s.png",
        "qq-start_latency_s.png",
    ]
    md = (folder / "fitcheck.md").read_text()
    assert "| pull durations | fits |" in md and "hpsim's choice" in md


def test_pulls_three_times_slower_do_not_fit(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    obs = observed_from_run(runs["seed1"], runs["base"] / "slow", pull_factor=3.0)
    out_dir = runs["base"] / "slow-check"
    code = main(["fit-check", str(runs["seed2"]), "--observed", str(obs), "-d", str(out_dir)])
    assert code == 0
    pull = next(
        line for line in capsys.readouterr().out.splitlines() if line.startswith("  pull durations")
    )
    assert "does not fit" in pull and "(-67%)" in pull
    md = (out_dir / "fitcheck.md").read_text()
    assert "| pull durations | does not fit |" in md and "| -67% |" in md


def test_json_shape(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = runs["base"] / "json-check"
    args = ["fit-check", str(runs["seed1"]), "--observed", str(EXAMPLE), "-d", str(out_dir)]
    assert main([*args, "-o", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert set(got) == {
        "scenario",
        "seed",
        "replications",
        "thresholds",
        "rows",
        "images_only_observed",
        "images_only_simulated",
        "notes",
        "results_folder",
        "observed_folder",
        "written",
    }
    assert got["thresholds"]["fits"] == FITS and got["thresholds"]["roughly_fits"] == ROUGH
    row = got["rows"][0]
    assert set(row) == {
        "metric",
        "scope",
        "key",
        "n_observed",
        "n_simulated",
        "observed",
        "simulated",
        "centre",
        "error",
        "ks_d",
        "ks_p",
        "verdict",
        "why",
    }
    assert set(row["observed"]) == {"median", "p90", "mean"}
    assert (row["metric"], row["scope"]) == ("pull_s", "all")
    # Raw units: seconds, bytes.
    assert row["observed"]["median"] == 68.0
    # The run's sandbox image is the pause image the nodes held (pre-pulled): every
    # image it pulls was pulled in the cluster too.
    assert got["images_only_simulated"] == {}
    # Again into the same folder: replaced.
    assert main(args) == 0


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err.strip()


def test_bad_inputs(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = str(runs["seed1"])
    assert main(["fit-check", str(tmp_path / "none"), "--observed", str(EXAMPLE)]) == 2
    assert _err(capsys) == f"hpsim: error: {tmp_path / 'none'}: not a results folder (no run.json)"
    assert main(["fit-check", str(EXAMPLE), "--observed", str(EXAMPLE)]) == 2
    assert _err(capsys) == (
        f"hpsim: error: {EXAMPLE}: is an import folder, not a results folder: run it first "
        "(hpsim run FOLDER/scenario.yaml -d RESULTS) and give RESULTS, then --observed FOLDER"
    )
    assert main(["fit-check", run, "--observed", str(tmp_path)]) == 2
    assert _err(capsys) == (
        f"hpsim: error: {tmp_path}: not an import folder (no observed/pods.csv): give the "
        "folder hpsim import wrote"
    )
    bad = tmp_path / "bad"
    shutil.copytree(EXAMPLE / "observed", bad / "observed")
    pulls = bad / "observed" / "pulls.csv"
    pulls.write_text("node,pod,image\nn,p,i\n")
    assert main(["fit-check", run, "--observed", str(bad)]) == 2
    assert _err(capsys) == (
        f"hpsim: error: {pulls}:1: no column pull_s (is this hpsim import's observed table?)"
    )
    pods = bad / "observed" / "pods.csv"
    shutil.copyfile(EXAMPLE / "observed" / "pulls.csv", pulls)
    text = pods.read_text().splitlines()
    text[2] = text[2].replace(",0.0,67.0,", ",0.0,soon,", 1).replace(",1.0,75.0,", ",1.0,soon,", 1)
    pods.write_text("\n".join(text) + "\n")
    assert main(["fit-check", run, "--observed", str(bad)]) == 2
    assert _err(capsys) == f"hpsim: error: {pods}:3: started_s: not a number: 'soon'"
    pods.write_text(text[0] + "\n" + "p" * 131_073 + "\n")  # past csv's field limit
    assert main(["fit-check", run, "--observed", str(bad)]) == 2
    assert _err(capsys) == (
        f"hpsim: error: {pods}:2: malformed CSV: field larger than field limit (131072)"
    )
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "mine.txt").write_text("keep")
    assert main(["fit-check", run, "--observed", str(EXAMPLE), "-d", str(taken)]) == 2
    assert _err(capsys) == (
        f"hpsim: error: {taken}: exists and is not a fit-check folder (no fitcheck.json): "
        "give a new folder"
    )
    assert (taken / "mine.txt").read_text() == "keep"


def test_ks_statistic_and_verdicts() -> None:
    a = np.array([1.0, 2.0, 3.0, 4.0])
    assert ks_statistic(a, a) == (0.0, 1.0)
    d, p = ks_statistic(a, a + 10)
    assert d == 1.0 and p < 0.05
    assert ks_statistic(np.array([1.0, 2.0]), np.array([1.5]))[0] == 0.5
    assert verdict("pull_s", 100.0, 115.0) == ("fits", pytest.approx(0.15))
    assert verdict("pull_s", 100.0, 140.0) == ("roughly fits", pytest.approx(0.4))
    assert verdict("pull_s", 100.0, 33.0) == ("does not fit", pytest.approx(-0.67))
    assert verdict("pending_s", 0.0, 1.5) == ("fits", None)  # within the timestamps' second
    assert verdict("pending_s", 0.0, 30.0) == ("does not fit", None)
    assert verdict("restarts", None, 0.0) == ("cannot tell", None)


def test_the_committed_fit_report_is_the_example_s(tmp_path: Path) -> None:
    """tests/golden/imported-example/fitcheck/ is what python -m hpsim.experiment.examples makes."""
    loaded = hpsim.load(EXAMPLE / "scenario.yaml")
    write_results(hpsim.run(loaded), tmp_path / "run")
    record = fit_check(
        tmp_path / "run",
        EXAMPLE,
        results_label="hpsim run scenarios/imported-example/scenario.yaml",
        observed_label="scenarios/imported-example",
    )
    files = {f"qq-{m}": f"figures/qq-{m}.png" for m in ("pull_s", "start_latency_s", "pending_s")}
    committed = RESULTS / "imported-example" / "fitcheck"
    assert render_markdown(record, files) == (committed / "fitcheck.md").read_text()
    for path in files.values():
        assert (committed / path).is_file()


def test_the_model_fits_itself_when_its_pulls_vary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same with pullSpread 0.3 on both pools: each pull of each run draws its own
    factor, so seed 2's pulls differ from seed 1's (a nonzero error), and still fit."""
    import yaml

    from hpsim.scenario.load import load_data

    data = yaml.safe_load((EXAMPLE / "scenario.yaml").read_text())
    for pool in data["nodePools"]:
        pool["node"]["pullSpread"] = 0.3
    loaded = load_data(data, file=str(EXAMPLE / "scenario.yaml"), base_dir=EXAMPLE)
    folders = {}
    for seed in (1, 2):
        folders[seed] = tmp_path / f"seed{seed}"
        write_results(hpsim.run(loaded, seed=seed), folders[seed])
    obs = observed_from_run(folders[1], tmp_path / "truth")
    assert main(["fit-check", str(folders[2]), "--observed", str(obs), "-o", "json"]) == 0
    record = json.loads(capsys.readouterr().out)
    head = {r["metric"]: r for r in record["rows"] if r["scope"] == "all"}
    pull = head["pull_s"]
    assert pull["error"] != 0.0  # -2.4% for these seeds
    assert abs(pull["error"]) < FITS and pull["verdict"] == "fits"


def test_a_few_restarts_against_none_cannot_tell():
    """1 restart in 15 pods against none: no evidence about the rate ("cannot tell", not
    "fits"); 6 against none is evidence, and does not fit."""
    from hpsim.observe.fitcheck import Row

    none = np.zeros(14)
    one = np.array([1.0] + [0.0] * 14)
    row = Row("restarts", "all", "", one, none).to_json()
    assert row["verdict"] == "cannot tell"
    assert (
        row["why"]
        == "1 observed, 0 in the run: fewer than 5 on each side tell nothing about the rate"
    )
    six = np.array([1.0] * 6 + [0.0] * 9)
    assert Row("restarts", "all", "", six, none).to_json()["verdict"] == "does not fit"
    assert Row("restarts", "all", "", np.zeros(3), none).to_json()["verdict"] == "fits"
