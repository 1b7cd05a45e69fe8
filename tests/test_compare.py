"""``hpsim compare`` (observe/compare.py): B - A, paired intervals on common random numbers."""

from __future__ import annotations

import json
import math
import shutil

import pytest
import yaml
from reporthelp import small
from simhelp import pod

import hpsim
from hpsim.cli import main
from hpsim.observe.compare import differences, format_table
from hpsim.observe.output import read_results, write_results
from hpsim.observe.stats import interval
from hpsim.scenario.load import load_data

GIB = 2**30


def _by(diffs):
    return {d.metric: d for d in diffs}


@pytest.fixture(scope="module")
def three_runs():
    return hpsim.run(load_data(small()), replications=3)


def test_compare_a_scenario_with_itself_gives_zero_differences(three_runs):
    diffs = differences(three_runs, three_runs)
    assert diffs and all(d.diff in (0, None) for d in diffs)
    assert all(d.half_width in (0, None) for d in diffs)
    assert _by(diffs)["restarts_total"].paired


def test_compare_on_common_random_numbers_is_paired_and_exact(tmp_path, capsys):
    # B's app has a limit ten times as high: it never meets its cap within the hour.
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text(yaml.safe_dump({**small(name="a"), "replications": 3}))
    data_b = small(name="b")
    data_b["workloads"][1]["manifest"] = pod("app", "contoso/app:1", limits={"memory": "2Gi"})
    b.write_text(yaml.safe_dump({**data_b, "replications": 3}))
    assert main(["compare", str(a), str(b), "-o", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["a"] == {"scenario": "a", "seed": out["b"]["seed"], "replications": 3}
    by = {m["metric"]: m for m in out["metrics"]}
    restarts = by["restarts_total"]
    # 100 MiB + 10 MiB/min meets 200 MiB after 600 s: A restarts, B never does.
    assert restarts["b"] == 0 and restarts["a"] > 0 and restarts["diff"] == -restarts["a"]
    assert restarts["paired"] is True
    assert restarts["b_half_width"] == 0
    # A's and B's own 95% intervals (bootstrap): within the replications' values, never below 0.
    assert 0 <= restarts["a_low"] <= restarts["a"] <= restarts["a_high"]
    assert restarts["b_low"] == restarts["b_high"] == 0
    # Same seeds, same streams: the agent's numbers do not move at all.
    assert by["disk_host_writes_bytes_end"]["diff"] == 0
    assert by["disk_host_writes_bytes_end"]["half_width"] == 0


def test_a_known_change_gives_the_expected_difference():
    # B's agent writes twice as fast: B - A of its bytes at the end is A's bytes again.
    a = hpsim.run(load_data(small()), seed=5, replications=2)
    data_b = small()
    data_b["workloads"][0]["profile"]["hostWrites"] = "2Gi/h"
    b = hpsim.run(load_data(data_b), seed=5, replications=2)
    d = _by(differences(a, b))["disk_host_writes_bytes_end"]
    assert d.paired
    assert d.diff == pytest.approx(d.a, rel=1e-9)
    assert d.b == pytest.approx(2 * d.a, rel=1e-9)


def test_paired_interval_is_the_t_interval_of_the_per_replication_differences():
    a = hpsim.run(load_data(small()), seed=3, replications=4)
    data_b = small()
    data_b["workloads"][1]["profile"]["memoryGrowth"] = "20Mi/min"
    b = hpsim.run(load_data(data_b), seed=3, replications=4)
    d = _by(differences(a, b))["restarts_total"]
    deltas = [
        y["restarts_total"] - x["restarts_total"]
        for x, y in zip(a.summaries, b.summaries, strict=True)
    ]
    expected = interval(deltas)
    assert d.paired and d.diff == expected["mean"] and d.half_width == expected["half_width"]


def test_different_seeds_are_not_paired():
    a = hpsim.run(load_data(small()), seed=1, replications=3)
    b = hpsim.run(load_data(small()), seed=2, replications=3)
    for d in differences(a, b):
        assert not d.paired
        if d.a_half_width is not None and d.b_half_width is not None and d.diff is not None:
            assert d.half_width == pytest.approx(math.hypot(d.a_half_width, d.b_half_width))


def test_two_result_folders_of_replications_compare_paired(tmp_path, three_runs, capsys):
    a = write_results(three_runs, tmp_path / "a")
    assert (a / "summaries.json").is_file()
    assert read_results(a).summaries == json.loads(json.dumps(three_runs.summaries))
    shutil.copytree(a, tmp_path / "b")
    assert main(["compare", str(a), str(tmp_path / "b")]) == 0
    text = capsys.readouterr().out
    assert (
        "intervals of B - A: paired t-interval over 3 replications on common random numbers" in text
    )


def test_compare_two_result_folders_text(tmp_path, capsys):
    one = hpsim.run(load_data(small()))
    a = write_results(one, tmp_path / "a")
    shutil.copytree(a, tmp_path / "b")
    assert main(["compare", str(a), str(tmp_path / "b")]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split() == [
        "metric",
        "A:",
        "small",
        "B:",
        "small",
        "B",
        "-",
        "A",
        "±",
        "95%",
    ]
    assert "intervals of B - A: one replication each: no intervals" in text
    assert read_results(a).summary() == one.summary() | {}


def test_text_table_reads_in_units_with_each_sides_interval(three_runs):
    text = format_table(three_runs, three_runs, differences(three_runs, three_runs))
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines()[1:] if line}
    # An exact number has no ±; B - A and its interval are 0 against itself.
    assert rows["pods_created"] == ["2", "2", "0", "0"]
    assert rows["duration_s"] == ["60.0", "min", "60.0", "min", "0.0", "s", "0.0", "s"]
    # Bytes in GiB: 1 GiB/h of host writes over (most of) the hour.
    gib = three_runs.summary()["disk_host_writes_bytes_end"]["mean"] / GIB
    assert 0.98 < gib <= 1.0
    assert rows["disk_host_writes_bytes_end"][:2] == [f"{gib:.1f}", "GiB"]
    a = three_runs.summary()["start_latency_s_p95"]
    if a["half_width"] and a["half_width"] >= 0.05:
        assert "±" in rows["start_latency_s_p95"]


def test_compare_of_a_missing_path_is_one_line_exit_2(tmp_path, capsys):
    assert main(["compare", str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")]) == 2
    assert capsys.readouterr().err == (
        f"hpsim: error: {tmp_path / 'a.yaml'}: no such scenario file or results folder\n"
    )
