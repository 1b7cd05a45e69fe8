"""``hpsim size`` (hpsim/experiment/size.py): answers worked out by hand, common random
numbers, the folder, the errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from simhelp import node, pod, scenario

import hpsim
from hpsim.cli import main
from hpsim.errors import HpsimError
from hpsim.experiment.size import parse_goal, size
from hpsim.observe.sizereport import answer_lines
from hpsim.scenario.load import load_data

APP = {"name": "test/app:1", "layers": [{"size": 0, "unpacked": 0}]}


def _pool(pools: list[dict[str, Any]], workloads: list[dict[str, Any]], **top: Any) -> dict:
    data = scenario(workloads, [APP], **top)
    del data["node"]
    data["nodePools"] = pools
    return data


def _render(**pool: Any) -> dict[str, Any]:
    """Six render pods at t = 0 (a Job, parallelism 6), each asking 1 CPU and running 600
    CPU-seconds at 1 core once started, on 2-CPU nodes (allocatable 2 CPUs: two pods a
    node). Sandbox 2 s + container 1 s: a pod bound at t ends at t + 603 s.

    When two pods end at one instant, the first one's deletion lets one waiting pod
    bind and the other fail again; the second deletion finds that one backing off
    (kube-scheduler's back-off, hpsim/node/schedqueue.py), and it binds at the next
    whole second after it:

    - 1 node: bound at 0, 0, 603, 603, 1206, 1216 (the last pod failed for the 5th
      time at 1206 s: 0 s, the leftover flush at 330 s, 603 s, the flush at 930 s,
      1206 s; a 10 s back-off) -> pending p95 1213.5 s (numpy's linear p95 of six:
      0.75 of the way from the 5th value to the 6th), mean 604.7 s;
    - 2 nodes: 0 x 4, 603, 607 (3rd failure at 603 s: a 4 s back-off) -> p95 606 s,
      mean 201.7 s;
    - 3 nodes: all bound at 0.
    Nothing is random: every replication is the same, and the t-interval has width 0.
    """
    job = pod("render", requests={"cpu": "1"}, kind="Job", restart="Never")
    job["spec"].update(parallelism=6, completions=6)
    spec = {"name": "w", "node": node(cpu=2, prePulledImages=["test/pause:1"]), **pool}
    return _pool([spec], [{"manifest": job, "profile": {"cpu": "1", "work": "600s"}}])


def _loaded(data: dict[str, Any], tmp_path: Path) -> Any:
    return load_data(data, file=str(tmp_path / "s.yaml"), base_dir=tmp_path)


def _write(data: dict[str, Any], tmp_path: Path) -> str:
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def _candidates(res: Any) -> dict[int, dict[str, Any]]:
    return {c["nodes"]: c for c in res.record["candidates"]}


def test_six_one_cpu_pods_on_two_cpu_nodes_need_three_nodes_to_wait_not_at_all(tmp_path):
    res = size(_loaded(_render(count=1), tmp_path), ["pending_s_p95<=0"], replications=2)
    assert res.nodes == 3
    c = _candidates(res)
    # From the scenario's 1: 1 fails, 2 fails, 4 meets (galloping), then 3 (bisection).
    assert sorted(c) == [1, 2, 3, 4]
    assert [n for n, _ in sorted(c.items(), key=lambda kv: kv[1]["order"])] == [1, 2, 4, 3]
    assert {n: c[n]["verdict"] for n in c} == {1: "fails", 2: "fails", 3: "meets", 4: "meets"}
    assert c[1]["objectives"][0]["values"] == [1213.5, 1213.5]
    assert c[2]["objectives"][0]["values"] == [606.0, 606.0]
    assert c[3]["objectives"][0]["values"] == [0.0, 0.0]
    # Identical replications: decided at the minimum, an interval of width 0.
    assert all(x["replications"] == 2 for x in c.values())
    assert res.record["answer"] == {
        "nodes": 3,
        "status": "found",
        "neighbour": 2,
        "paired": [
            {
                "metric": "pending_s_p95",
                "n": 2,
                "mean": -606.0,
                "half_width": 0.0,
                "low": -606.0,
                "high": -606.0,
                "differences": [-606.0, -606.0],
            }
        ],
    }
    assert res.lines()[:2] == [
        "pool w: count 3 meets pending_s_p95<=0 (0.0 s): mean 0.0 s (all 2 the same, "
        "2 replications); count 2 does not: mean 10.1 min (all 2 the same, 2 replications)",
        "from 2 to 3 nodes, pending_s_p95 changes by -10.1 min (all 2 paired replications "
        "the same, common random numbers)",
    ]


@pytest.mark.parametrize(
    ("objective", "nodes", "neighbour"),
    [
        ("pending_s_mean<=300", 2, 1),  # 201.7 s at 2 nodes, 604.7 s at 1
        ("p95_pending<=10m", 3, 2),  # 606 s at 2 nodes is just over 600
        ("pending_s_p95<=700", 2, 1),
        ("pending_s_p95<=2000", 1, None),  # the low end meets it
    ],
)
def test_the_answer_moves_with_the_bound(tmp_path, objective, nodes, neighbour):
    res = size(_loaded(_render(count=2), tmp_path), [objective], replications=2)
    assert (res.nodes, res.record["answer"]["neighbour"]) == (nodes, neighbour)
    if neighbour is None:
        assert res.record["answer"]["status"] == "low end"


def test_every_objective_must_hold(tmp_path):
    """p95 <= 700 holds from 2 nodes, p95 <= 0 from 3: both, from 3."""
    res = size(
        _loaded(_render(count=1), tmp_path),
        ["pending_s_p95<=700", "pending_s_p95<=0"],
        replications=2,
    )
    assert res.nodes == 3
    assert [g["verdict"] for g in _candidates(res)[2]["objectives"]] == ["meets", "fails"]


def test_an_autoscaled_pool_searches_its_max(tmp_path):
    """Autoscaled from 1 node, provisioning 60 s: with max 2 the second node takes pods 3
    and 4 after about a minute, and pods 5 and 6 still wait 603 s for a slot; from max 3
    every pod waits only for a new node."""
    data = _render(min=1, max=1, provisioning={"fixed": "60s"})
    res = size(_loaded(data, tmp_path), ["pending_s_p95<=600"], replications=2)
    assert res.record["knob"] == "max" and res.nodes == 3
    assert res.record["range"] == [1, 8]
    assert res.lines()[0].startswith("pool w: max 3 meets pending_s_p95<=600 (10.0 min)")
    assert "the most nodes the Cluster Autoscaler may run" in res.lines()[2]


def _noisy() -> dict[str, Any]:
    """Pods arriving at random (Poisson, 20 an hour), each 1 CPU for about 10 minutes."""
    app = pod("app", requests={"cpu": "1"})
    spec = {"name": "w", "count": 1, "node": node(cpu=2, prePulledImages=["test/pause:1"])}
    wl = {
        "manifest": app,
        "arrivals": {"poisson": "20/h"},
        "lifetime": {"exponential": {"mean": "10m"}},
    }
    return _pool([spec], [wl], duration="2h")


def test_candidates_share_their_random_numbers(tmp_path):
    """Replication i of every candidate draws the same arrivals: the same pods are created,
    whatever the node count; and it is replication i of an ordinary run of that count."""
    loaded = _loaded(_noisy(), tmp_path)
    res = size(loaded, ["pending_s_p95<=60", "pods_created>=0"], replications=3, nodes="1..6")
    created = {n: c["objectives"][1]["values"] for n, c in _candidates(res).items()}
    first = next(iter(created.values()))
    assert len(created) > 1 and all(v[:3] == first[:3] for v in created.values())
    assert len(set(first)) > 1  # and the replications differ from each other
    n = res.nodes
    assert n is not None
    data = copy.deepcopy(loaded.data)
    data["nodePools"][0]["count"] = n
    got = _candidates(res)[n]["objectives"][0]["values"]
    again = hpsim.run(load_data(data, file=loaded.file, base_dir=tmp_path), replications=len(got))
    assert got == [s["pending_s_p95"] for s in again.summaries]


def test_nothing_in_range_meets_it_exits_1_and_says_so(tmp_path, capsys):
    path = _write(_render(count=1), tmp_path)
    out = tmp_path / "out"
    args = ["size", path, "--objective", "pending_s_p95<0", "--nodes", "1..3", "-r", "2"]
    assert main([*args, "-d", str(out), "-j", "1", "-q"]) == 1
    assert main([*args, "-d", str(out), "-j", "1"]) == 1
    text = capsys.readouterr().out
    assert text.startswith(
        "pool w: no count from 1 to 3 meets pending_s_p95<0 (0.0 s); count 3 does not: "
        "mean 0.0 s (all 2 the same, 2 replications) (give a larger range with --nodes 1..6)"
    )


def test_json_output_and_the_folder(tmp_path, capsys):
    path = _write(_render(count=1), tmp_path)
    out = tmp_path / "out"
    args = ["size", path, "--objective", "pending_s_p95<=0", "-r", "2", "-d", str(out), "-j", "1"]
    assert main([*args, "-o", "json", "-q"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert {
        "scenario",
        "seed",
        "pool",
        "knob",
        "range",
        "objectives",
        "confidence",
        "candidates",
        "answer",
        "common_random_numbers",
        "results",
    } <= set(record)
    assert record["objectives"] == [
        {"text": "pending_s_p95<=0", "metric": "pending_s_p95", "op": "<=", "value": 0.0}
    ]
    c = record["candidates"][0]
    assert set(c) == {"nodes", "order", "verdict", "replications", "objectives", "context"}
    assert set(c["objectives"][0]) == {
        "metric",
        "objective",
        "values",
        "n",
        "mean",
        "half_width",
        "low",
        "high",
        "verdict",
    }
    assert record["answer"]["nodes"] == 3 and record["runs"] == {"ran": 8, "reused": 0}
    assert json.loads((out / "answer.json").read_text()) == record
    assert (out / "size.json").is_file() and (out / "candidates/n0003/rep-1.json").is_file()
    assert (out / "report.html").is_file() and (out / "figures/size.png").is_file()
    assert "count 3 meets" in (out / "report.md").read_text()
    # The same command again runs nothing.
    assert main([*args, "-o", "json", "-q"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["runs"] == {"ran": 0, "reused": 8} and again["answer"] == record["answer"]
    # hpsim report rewrites its report.
    (out / "report.md").unlink()
    assert main(["report", str(out)]) == 0
    assert "count 3 meets" in (out / "report.md").read_text()


def test_another_scenario_in_the_same_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    size(_loaded(_render(count=1), tmp_path), ["pending_s_p95<=0"], replications=2, output=out)
    with pytest.raises(HpsimError, match="holds the runs of another search"):
        size(
            _loaded(_render(count=1), tmp_path),
            ["pending_s_p95<=0"],
            replications=2,
            output=out,
            seed=5,
        )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--objective", "pending_p95x<=3"],
            'hpsim: error: --objective: unknown metric "pending_p95x" (did you mean '
            '"pending_s_p95"?); metrics: pods_created, ',
        ),
        (
            ["--objective", "pending_s_p95=3"],
            "hpsim: error: --objective: expected METRIC<=NUMBER (or <, >=, >), e.g. "
            '"pending_s_p95<=300"; got "pending_s_p95=3"',
        ),
        (
            ["--objective", "pending_s_p95<=soon"],
            'hpsim: error: --objective: "soon" is not a number (the bound of pending_s_p95 <= ...)',
        ),
        (
            [],
            "hpsim: error: --objective: give at least one objective, e.g. --objective "
            '"pending_s_p95<=300"',
        ),
        (
            ["--objective", "pending_s_p95<=0", "--pool", "wn"],
            'S.YAML: --pool: no node pool named "wn" (did you mean "w"?); pools: w',
        ),
        (
            ["--objective", "pending_s_p95<=0", "--nodes", "5..2"],
            "hpsim: error: --nodes: 5..2: the low end is above the high end",
        ),
        (
            ["--objective", "pending_s_p95<=0", "--confidence", "1"],
            "hpsim: error: --confidence: a confidence level from 0.5 up to (not including) 1",
        ),
        (
            ["--objective", "pending_s_p95<=0", "-r", "1"],
            "hpsim: error: --replications: Input should be greater than or equal to 2 (got 1)",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, extra, message):
    path = _write(_render(count=1), tmp_path)
    out = tmp_path / "out"
    assert main(["size", path, *extra, "-d", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message.replace("S.YAML", f"hpsim: error: {path}"))
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()
    assert not (tmp_path / "results").exists()


def test_report_refuses_a_size_folder_whose_search_never_finished(tmp_path, capsys):
    (tmp_path / "size.json").write_text("{}")
    assert main(["report", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"hpsim: error: {tmp_path}: not a finished size search (no answer.json): run the "
        "same hpsim size command again to finish it\n"
    )


def test_a_single_node_scenario_is_refused_with_its_file(tmp_path, capsys):
    data = scenario([{"manifest": pod("p")}], [APP])
    path = _write(data, tmp_path)
    assert main(["size", path, "--objective", "pending_s_p95<=0", "-q"]) == 2
    assert capsys.readouterr().err.startswith(
        f"hpsim: error: {path}: node: hpsim size searches a node pool's size, and this "
        "scenario has one node (node:)"
    )


def test_an_autoscaled_pools_max_is_not_searched_below_its_min(tmp_path):
    data = _render(min=2, max=4)
    with pytest.raises(HpsimError, match=r"--nodes: pool w autoscales from min 2: its max is"):
        size(_loaded(data, tmp_path), ["pending_s_p95<=0"], nodes="1..4")


def test_bounds_take_the_metrics_units():
    assert parse_goal("p95_pending<=5m").value == 300
    disk = parse_goal("disk_actual_bytes_peak < 100Gi")
    assert disk.text == "disk_actual_bytes_peak<107374182400"
    assert parse_goal("pending_s_mean>=2.5").text == "pending_s_mean>=2.5"


def test_an_undecided_neighbour_is_named_as_such():
    record = {
        "scenario": "s",
        "pool": "w",
        "knob": "count",
        "range": [1, 8],
        "confidence": 0.95,
        "objectives": [{"text": "pending_s_p95<=300", "metric": "pending_s_p95", "op": "<="}],
        "candidates": [
            {
                "nodes": n,
                "verdict": v,
                "replications": r,
                "objectives": [
                    {
                        "metric": "pending_s_p95",
                        "mean": m,
                        "half_width": h,
                        "low": m - h,
                        "high": m + h,
                        "n": r,
                    }
                ],
                "context": {"pods_pending_at_end": 2.0 if n == 3 else 0.0},
            }
            for n, v, r, m, h in [(2, "undecided", 100, 290.0, 30.0), (3, "meets", 5, 60.0, 30.0)]
        ],
        "answer": {"nodes": 3, "status": "found", "neighbour": 2, "paired": []},
    }
    record["objectives"][0]["value"] = 300.0
    lines = answer_lines(record)
    assert lines[0] == (
        "pool w: count 3 meets pending_s_p95<=300 (5.0 min): mean 60.0 s (95% CI 30.0 to "
        "90.0 s, 5 replications); count 2 is undecided: mean 4.8 min (95% CI 4.3 to 5.3 min, "
        "100 replications) (more replications, --max-replications, may tell)"
    )
    assert lines[-1] == (
        "note: at 3: 2 pods still pending at the end (mean per run); pending_s_* counts bound "
        "pods only, so it understates their wait"
    )
