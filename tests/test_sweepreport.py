"""The sweep report (hpsim/observe/sweepreport.py): ``hpsim report SWEEP_DIR``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from reporthelp import cpu_bound_sweep
from simhelp import pod, scenario

import hpsim
from hpsim.cli import main
from hpsim.errors import HpsimError
from hpsim.observe.sweepreport import (
    Objective,
    binding,
    binding_words,
    judge,
    parse_objective,
    read_sweep,
    write_sweep_report,
)
from hpsim.scenario.load import load_data

GIB = 2**30


def _made_sweep(folder: Path, rows: list[dict], *, scenario_name: str = "plan") -> Path:
    """A sweep folder written by hand: sweep.json, summary and runs tables, and each point's
    run.json with its node (no events or series: nothing bound)."""
    factors: dict[str, list] = {}
    for r in rows:
        for k, v in r["values"].items():
            factors.setdefault(k, [])
            if v not in factors[k]:
                factors[k].append(v)
    points = [{"id": r["id"], "values": r["values"]} for r in rows]
    info = {
        "hpsim_sweep": 1,
        "scenario": scenario_name,
        "factors": factors,
        "points": points,
        "replications": 3,
        "seed": 1,
        "format": "parquet",
    }
    folder.mkdir(parents=True)
    (folder / "sweep.json").write_text(json.dumps(info))
    summary, runs = [], []
    for r in rows:
        head = {"point": r["id"], **r["values"]}
        summary.append({**head, "runs": 3, "failed": 0, **r["metrics"]})
        for i in range(3):
            runs.append({**head, "replication": i})
        run = folder / "points" / r["id"] / "rep-0"
        run.mkdir(parents=True)
        cpu, mem, disk = r["node"]
        node_facts = {
            "cpu_millicores": cpu * 1000,
            "allocatable_cpu_millicores": cpu * 1000,
            "memory_bytes": mem * GIB,
            "allocatable_memory_bytes": mem * GIB,
            "commit_limit_bytes": mem * GIB,
            "max_pods": 110,
            "disk_bytes": disk * GIB,
        }
        (run / "run.json").write_text(json.dumps({"node": node_facts, "versions": {"hpsim": "x"}}))
    pd.DataFrame(summary).to_parquet(folder / "summary.parquet")
    pd.DataFrame(runs).to_parquet(folder / "runs.parquet")
    return folder


def _pending(mean: float, half: float) -> dict:
    return {"pending_s_p95_mean": mean, "pending_s_p95_half_width": half}


def _plan(folder: Path) -> Path:
    """Six nodes: 2, 4, 8 CPUs x 16, 32 GiB; pending p95 mean ± half-width per point."""
    grid = [
        ("p000", 2, 16, _pending(900, 50)),  # 32 CPU x GiB: fails
        ("p001", 2, 32, _pending(280, 60)),  # 64: its mean meets 300, its interval crosses
        ("p002", 4, 16, _pending(400, 20)),  # 64: fails
        ("p003", 4, 32, _pending(120, 30)),  # 128: meets: the cheapest that surely does
        ("p004", 8, 16, _pending(100, 10)),  # 128: meets, as cheap, later in the grid
        ("p005", 8, 32, _pending(10, 5)),  # 256: meets
    ]
    rows = [
        {
            "id": pid,
            "values": {"node.cpu": cpu, "node.memory": f"{mem}Gi"},
            "node": (cpu, mem, 128),
            "metrics": metrics,
        }
        for pid, cpu, mem, metrics in grid
    ]
    return _made_sweep(folder, rows)


def test_the_cheapest_point_that_meets_an_objective(tmp_path):
    sweep = read_sweep(_plan(tmp_path / "plan"))
    judged = judge(sweep, parse_objective("pending_s_p95<=300"))
    verdicts = {r["point"]: r["verdict"] for r in judged.rows}
    assert verdicts == {
        "p000": "fails",
        "p001": "may meet",
        "p002": "fails",
        "p003": "meets",
        "p004": "meets",
        "p005": "meets",
    }
    assert judged.cheapest == "p003"
    # Asked the other way round: at least 5 minutes pending, surely (600 ± 50 and 400 ± 20).
    judged = judge(sweep, parse_objective("pending_s_p95 >= 300"))
    assert judged.cheapest == "p000"
    # Nothing surely under 100 s but the 8 x 32 node; under 1 s, nothing at all.
    assert judge(sweep, parse_objective("pending_s_p95<100")).cheapest == "p005"
    none = judge(sweep, parse_objective("pending_s_p95<1"))
    assert (none.cheapest, none.maybe) == (None, None)


def test_a_point_whose_interval_crosses_the_bound_is_named_but_not_chosen(tmp_path):
    sweep = read_sweep(_plan(tmp_path / "plan"))
    judged = judge(sweep, parse_objective("pending_s_p95<=290"))
    # p001's 280 ± 60 may meet 290; p003 (120 ± 30) surely does and is the answer.
    assert judged.cheapest == "p003"
    judged = judge(sweep, parse_objective("pending_s_p95<=12"))
    assert judged.cheapest is None and judged.maybe == "p005"  # 10 ± 5 reaches up to 15


def test_the_sweep_report_states_the_answer_and_how_it_was_chosen(tmp_path, capsys):
    folder = _plan(tmp_path / "plan")
    assert main(["report", str(folder), "--objective", "pending_s_p95<=300"]) == 0
    assert capsys.readouterr().out == f"{folder / 'report.html'}\n{folder / 'report.md'}\n"
    md = (folder / "report.md").read_text()
    assert "Objective: pending\\_s\\_p95 <= 300 (5.0 min)." in md
    assert (
        "The cheapest point that meets it is p003 (node.cpu=4, node.memory=32Gi; 4 CPUs, "
        "32.0 GiB, 128.0 GiB disk): pending\\_s\\_p95 = 2.0 min ± 30.0 s." in md
    )
    assert "Cheapest: the smallest node, its CPUs times its memory in GiB" in md
    assert "| p001 | 4.7 min ± 60.0 s | may meet |" in md
    # The metric against each factor: a figure and a table.
    label = "Pending (created to bound, or to deletion or the end), p95"
    assert f"![{label}](figures/pending_s_p95.png)" in md
    assert (folder / "figures" / "pending_s_p95.png").stat().st_size > 1000
    assert "| p005 | 8 | 32Gi | 10.0 s ± 5.0 s |" in md
    html = (folder / "report.html").read_text()
    assert 'id="objective-answer">The cheapest point that meets it is p003 (' in html


@pytest.fixture(scope="module")
def cpu_sweep(tmp_path_factory):
    return cpu_bound_sweep(tmp_path_factory.mktemp("sweep") / "cpu")


def test_cpu_binds_where_the_scheduler_refuses_for_insufficient_cpu(cpu_sweep):
    rows = binding(read_sweep(cpu_sweep)).set_index("point")
    # 4 CPUs: the second pod is refused at once (Insufficient cpu). 8 CPUs: both fit, with
    # 6 of 8 CPUs requested, the resource closest to its limit.
    assert rows.loc["p000", "binds"] == "cpu"
    assert rows.loc["p000", "first_s"] == 0.0
    assert binding_words(rows.loc["p000"]) == "CPU (1 of 1 runs, first after 0.0 s)"
    assert pd.isna(rows.loc["p001", "binds"])
    assert rows.loc["p001", "use_cpu"] == pytest.approx(6 / 8)
    assert binding_words(rows.loc["p001"]) == "none (closest: CPU requests / allocatable at 75%)"


def test_a_real_sweeps_report(cpu_sweep):
    paths = write_sweep_report(cpu_sweep, parse_objective("pending_s_mean<=60"), stamp=False)
    md = (cpu_sweep / "report.md").read_text()
    assert paths[:2] == [cpu_sweep / "report.html", cpu_sweep / "report.md"]
    assert "| p000 | CPU (1 of 1 runs, first after 0.0 s) |" in md
    assert "The cheapest point that meets it is p001 (node.cpu=8;" in md
    assert "_2 points x 1 replication, seed 0, 0 failed runs; hpsim" in md
    # Metrics equal at both points are a sentence, not a flat chart.
    assert "- Restarts: 0 at every point." in md
    # The same folder gives the same report, byte for byte.
    again = write_sweep_report(cpu_sweep, parse_objective("pending_s_mean<=60"), stamp=False)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "pending_s_p95=300",
            'expected METRIC<=NUMBER (or <, >=, >), e.g. "pending_s_p95<=300"; '
            'got "pending_s_p95=300"',
        ),
        ("pending_s_p95 <= 5min", '"5min" is not a number (the bound of pending_s_p95 <= ...)'),
        ("pending_s_p95<=nan", '"nan" is not a number (the bound of pending_s_p95 <= ...)'),
        ("pending_s_p95<=inf", '"inf" is not a number (the bound of pending_s_p95 <= ...)'),
        ("<=300", 'expected METRIC<=NUMBER (or <, >=, >), e.g. "pending_s_p95<=300"; got "<=300"'),
        (
            "pending\x1b[2J<=1",
            'expected METRIC<=NUMBER (or <, >=, >), e.g. "pending_s_p95<=300"; '
            'got "pending\\x1b[2J<=1"',
        ),
    ],
)
def test_a_bad_objective_is_one_line_naming_the_flag(tmp_path, capsys, text, message):
    folder = _plan(tmp_path / "plan")
    assert main(["report", str(folder), "--objective", text]) == 2
    assert capsys.readouterr().err == f"hpsim: error: --objective: {message}\n"
    assert not (folder / "report.md").exists()


def test_an_objective_on_an_unknown_metric(tmp_path, capsys):
    folder = _plan(tmp_path / "plan")
    assert main(["report", str(folder), "--objective", "pendng_s_p95<=300"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        'hpsim: error: --objective: unknown metric "pendng_s_p95" (did you mean "pending_s_p95"?)'
    )
    assert err.count("\n") == 1


def test_an_objective_needs_a_sweep_folder(tmp_path, capsys):
    run = hpsim.run(load_data(scenario([{"manifest": pod("p", "test/pause:1")}], duration="1m")))
    from hpsim.observe.output import write_results

    out = write_results(run, tmp_path / "run")
    assert main(["report", str(out), "--objective", "pending_s_p95<=300"]) == 2
    assert capsys.readouterr().err == (
        "hpsim: error: --objective: applies to a sweep folder (one with sweep.json)\n"
    )


def test_an_unfinished_sweep_is_refused(tmp_path, capsys):
    folder = _plan(tmp_path / "plan")
    (folder / "summary.parquet").unlink()
    assert main(["report", str(folder)]) == 2
    assert capsys.readouterr().err == (
        f"hpsim: error: {folder}: not a finished sweep (no summary.parquet): run the same "
        "hpsim sweep command again to finish it\n"
    )


def test_objective_verdicts():
    o = Objective("m", "<=", 10.0)
    assert [o.verdict(8, 1), o.verdict(8, 3), o.verdict(11, 0), o.verdict(None, None)] == [
        "meets",
        "may meet",
        "fails",
        "no value",
    ]
    assert o.verdict(10, math.nan) == "meets"  # one replication: the mean decides
    assert Objective("m", ">", 10.0).verdict(12, 1) == "meets"
    assert Objective("m", ">", 10.0).verdict(10, 0) == "fails"
    with pytest.raises(HpsimError):
        parse_objective("m<=")


def test_sweep_strings_are_text_in_both_files(tmp_path):
    hostile = "<script>alert(1)</script>|*x*"
    rows = [
        {
            "id": f"p00{k}",
            "values": {"workloads.a.metadata.annotations.x": value},
            "node": (4, 16, 128),
            "metrics": _pending(100.0 * (k + 1), 1.0),
        }
        for k, value in enumerate([hostile, "[link](javascript:x)"])
    ]
    folder = _made_sweep(tmp_path / "s", rows, scenario_name="<b>plan</b> & co")
    write_sweep_report(folder, parse_objective("pending_s_p95<=150"), stamp=False)
    html = (folder / "report.html").read_text()
    assert "<script" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;|*x*" in html
    assert "<title>hpsim sweep report: &lt;b&gt;plan&lt;/b&gt; &amp; co</title>" in html
    md = (folder / "report.md").read_text()
    assert md.startswith("# \\<b\\>plan\\</b\\> \\& co: sweep\n")
    assert "\\<script\\>alert(1)\\</script\\>\\|\\*x\\*" in md
    assert "\\[link\\](javascript:x)" in md  # no link: "[" and "]" escaped
