"""Replications, sequential stopping and executors: same seeds, same tables, wherever they run."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas.testing as pdt
import pytest
from simhelp import pod, scenario

import hpsim
from hpsim.errors import HpsimError
from hpsim.experiment.executors import Dask, Pool
from hpsim.experiment.stopping import METRICS, metric_key, parse_until
from hpsim.observe.stats import interval
from hpsim.scenario.load import load_data


def _batch(duration: str = "1h") -> hpsim.LoadedScenario:
    """Poisson arrivals of short pods: the pod count and latencies vary by seed."""
    data = scenario(
        [
            {
                "manifest": pod("b", restart="Never"),
                "arrivals": {"poisson": "20/h"},
                "lifetime": {"exponential": {"mean": "5m"}},
                "profile": {"cpu": "100m", "memory": {"normal": {"mean": "200Mi", "sd": "50Mi"}}},
            }
        ],
        [{"name": "test/app:1", "layers": [{"size": "20Mi"}]}],
        duration=duration,
    )
    return load_data(data)


def _assert_same(a, b) -> None:
    assert a.tables.keys() == b.tables.keys()
    for name in a.tables:
        pdt.assert_frame_equal(a.tables[name], b.tables[name])
    assert a.summary() == b.summary()


def test_spawned_child_i_does_not_depend_on_how_many_were_spawned():
    for i in range(4):
        a = np.random.SeedSequence(11).spawn(4)[i].generate_state(4)
        b = np.random.SeedSequence(11).spawn(50)[i].generate_state(4)
        c = np.random.SeedSequence(11, spawn_key=(i,)).generate_state(4)
        assert (a == b).all() and (a == c).all()


def test_replication_i_is_the_same_run_in_a_batch_of_3_or_5():
    sc = _batch()
    three = hpsim.run(sc, seed=4, replications=3)
    five = hpsim.run(sc, seed=4, replications=5)
    pdt.assert_frame_equal(three.pods, five.pods[five.pods["replication"] < 3])
    assert five.summaries[:3] == three.summaries
    assert len(set(five.pods.groupby("replication").size())) > 1  # replications differ
    assert three.summary()["pods_created"]["n"] == 3


def test_one_replication_uses_the_seed_itself():
    sc = _batch()
    one = hpsim.run(sc, seed=4)
    assert "replication" not in one.pods.columns
    from hpsim.experiment.run import simulate

    tables, summary = simulate(sc, np.random.SeedSequence(4))
    pdt.assert_frame_equal(one.pods, tables["pods"])
    assert one.summary() == {**summary, "warnings": []}


def test_same_seeds_same_tables_in_process_pool_and_dask_local_cluster():
    sc = _batch()
    ref = hpsim.run(sc, seed=9, replications=4)
    _assert_same(ref, hpsim.run(sc, seed=9, replications=4, executor=Pool(2)))
    _assert_same(ref, hpsim.run(sc, seed=9, replications=4, executor=Dask(2, processes=False)))


def test_metric_names_friendly_and_exact():
    assert metric_key("p95_start_s") == "start_latency_s_p95"
    assert metric_key("p50_start_s") == "start_latency_s_p50"
    assert metric_key("start_latency_s_p95") == "start_latency_s_p95"
    assert metric_key("peak_memory_committed_bytes") == "memory_committed_bytes_peak"
    assert metric_key("restarts_total") == "restarts_total"
    with pytest.raises(HpsimError, match=r'unknown metric "p95_strt_s".*did you mean'):
        metric_key("p95_strt_s")


def test_every_stopping_metric_is_in_a_run_summary():
    summary = hpsim.run(_batch("10m"), seed=1).summary()
    assert set(METRICS) <= set(summary)


@pytest.mark.parametrize(
    ("text", "metric", "target", "relative"),
    [
        ("p95_start_s:±5%", "start_latency_s_p95", 0.05, True),
        ("p95_start_s:+-5%", "start_latency_s_p95", 0.05, True),
        ("start_latency_s_p95:±2", "start_latency_s_p95", 2.0, False),
        ("pods_created: 0.5", "pods_created", 0.5, False),
    ],
)
def test_parse_until(text, metric, target, relative):
    u = parse_until(text)
    assert (u.metric, u.relative) == (metric, relative)
    assert u.target == pytest.approx(target)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p95_start_s", "expected METRIC:±TARGET"),
        ("p95_start_s:±x%", "not a number"),
        ("p95_start_s:±0%", "must be above 0"),
        ("nope:±5%", 'unknown metric "nope"'),
    ],
)
def test_parse_until_errors(text, message):
    with pytest.raises(HpsimError, match=message) as exc:
        parse_until(text)
    assert exc.value.field == "--until"


def test_until_stops_at_the_first_n_meeting_the_target_and_equals_an_ordinary_run():
    sc = _batch()
    # Predict N from an ordinary run of 20: the smallest n >= 3 whose first n
    # replications give a half-width within 15% of the mean pod count.
    full = hpsim.run(sc, seed=2, replications=20)
    counts = [s["pods_created"] for s in full.summaries]
    expected = next(
        n
        for n in range(3, 21)
        if interval(counts[:n])["half_width"] <= 0.15 * interval(counts[:n])["mean"]
    )
    assert 3 < expected < 20  # the case is not trivial
    res = hpsim.run(sc, seed=2, until="pods_created:±15%", max_replications=20)
    assert res.meta["replications"] == expected
    assert res.meta["until"]["met"] is True
    _assert_same(res, hpsim.run(sc, seed=2, replications=expected))
    # Batches of two workers run ahead; the surplus is dropped, the answer is the same.
    pooled = hpsim.run(sc, seed=2, until="pods_created:±15%", max_replications=20, executor=Pool(2))
    _assert_same(res, pooled)


def test_until_a_constant_metric_stops_at_the_minimum_and_a_tiny_target_at_the_maximum():
    sc = _batch()
    res = hpsim.run(sc, seed=2, until="images_pulled:±0.5", max_replications=10)
    assert res.meta["replications"] == 3
    res = hpsim.run(sc, seed=2, replications=4, until="images_pulled:±0.5", max_replications=10)
    assert res.meta["replications"] == 4  # -r is the minimum
    res = hpsim.run(sc, seed=2, until="pods_created:±0.001%", max_replications=5)
    assert res.meta["replications"] == 5
    assert res.meta["until"]["met"] is False


def test_cli_run_replications_and_until(tmp_path, capsys):
    from hpsim.cli import main

    f = tmp_path / "s.yaml"
    import yaml

    f.write_text(yaml.safe_dump(_batch().data))
    assert (
        main(["run", str(f), "-d", str(tmp_path / "a"), "-r", "3", "-j", "2", "--seed", "5"]) == 0
    )
    import pandas as pd

    pods = pd.read_parquet(tmp_path / "a" / "pods.parquet")
    assert sorted(pods["replication"].unique()) == [0, 1, 2]
    capsys.readouterr()
    assert main(["run", str(f), "-d", str(tmp_path / "b"), "--until", "pods_created:±50%"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"--until: pods_created half-width <= 50% met after \d+ replications", out)
    assert main(["run", str(f), "-d", str(tmp_path / "c"), "--until", "p95_strt:±5%"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hpsim: error: --until: unknown metric")
    assert len(err.strip().splitlines()) == 1


@pytest.fixture
def running_dask_scheduler(tmp_path):
    """A Dask scheduler and one worker started apart from this process, as on a cluster."""
    import subprocess
    import sys
    import time

    file = tmp_path / "scheduler.json"
    common = ["--no-dashboard"]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--scheduler-file",
                str(file),
                *common,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_worker",
                    "--scheduler-file",
                    str(file),
                    "--nthreads",
                    "1",
                    "--nworkers",
                    "1",
                    *common,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        yield json.loads(file.read_text())["address"]
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


def test_same_tables_on_a_running_dask_scheduler(running_dask_scheduler, tmp_path):
    sc = _batch()
    ref = hpsim.run(sc, seed=9, replications=3)
    remote = hpsim.run(
        sc, seed=9, replications=3, executor="dask", scheduler=running_dask_scheduler
    )
    _assert_same(ref, remote)
    # A sweep through it: the workers send their tables back and this process writes
    # every run's folder (a remote worker need not see this machine's files).
    factors = {"workloads.b.profile.cpu": ["100m", "200m"]}
    local = hpsim.sweep(sc, factors, replications=2, seed=3)
    out = tmp_path / "sweep"
    swept = hpsim.sweep(
        sc, factors, replications=2, seed=3, scheduler=running_dask_scheduler, output=out
    )
    assert sorted(p.relative_to(out).as_posix() for p in out.glob("points/*/rep-*/run.json")) == [
        f"points/p00{i}/rep-{r}/run.json" for i in range(2) for r in range(2)
    ]
    pdt.assert_frame_equal(local.pods, swept.pods)
    # Each run.json describes its point's scenario, as a folder a local worker writes does.
    here = tmp_path / "here"
    hpsim.sweep(sc, factors, replications=2, seed=3, output=here)
    for run_json in out.glob("points/*/rep-*/run.json"):
        theirs = json.loads((here / run_json.relative_to(out)).read_text())
        ours = json.loads(run_json.read_text())
        assert ours["scenario_sha256"] == theirs["scenario_sha256"], run_json
    digests = {
        json.loads(f.read_text())["scenario_sha256"] for f in out.glob("points/*/rep-0/run.json")
    }
    assert len(digests) == 2  # the two points differ


# -- what start latency rests on: the unpack rate ---------------------------------------------


def _one_pull(size: str) -> hpsim.LoadedScenario:
    """One pod whose image is one layer of ``size``; simhelp's node: 100 MiB/s, 20 MiB/s."""
    data = scenario(
        [{"manifest": pod("p")}],
        [{"name": "test/app:1", "layers": [{"size": size}]}],
    )
    return load_data(data)


def test_where_pulls_dominate_the_run_is_replayed_at_half_and_twice_the_unpack_rate():
    """One pod, one 100 MiB layer. Ready = 2 s sandbox + 1 s download + 5 s unpack (100 MiB
    at 20 MiB/s) + 1 s container = 9 s, of which the pull is 6 s: a share of 2/3, over
    the 1/2 that makes pulls dominate. At 10 MiB/s the unpack takes 10 s: ready at 14 s;
    at 40 MiB/s, 2.5 s: ready at 6.5 s."""
    s = hpsim.run(_one_pull("100Mi")).summary()
    assert s["pull_share_of_start_latency"] == pytest.approx(6 / 9)
    want = {"half": 14.0, "as_run": 9.0, "twice": 6.5}
    assert s["start_latency_s_p50_by_unpack_rate"] == pytest.approx(want)
    assert s["start_latency_s_p95_by_unpack_rate"] == pytest.approx(want)


def test_where_pulls_do_not_dominate_nothing_is_replayed():
    """A 0-byte image pulls in no time: the share is 0 and no replay is made."""
    s = hpsim.run(_one_pull("0")).summary()
    assert s["pull_share_of_start_latency"] == 0.0
    assert s["start_latency_s_p50_by_unpack_rate"] == {}
    assert s["start_latency_s_p95_by_unpack_rate"] == {}


def test_unpack_sensitivity_can_be_turned_off():
    s = hpsim.run(_one_pull("100Mi"), unpack_sensitivity=False).summary()
    assert s["pull_share_of_start_latency"] == pytest.approx(6 / 9)
    assert s["start_latency_s_p50_by_unpack_rate"] == {}


def test_only_the_first_replication_is_replayed():
    """Over 3 replications the replays are of replication 0 alone: n = 1, the same numbers."""
    s = hpsim.run(_one_pull("100Mi"), replications=3).summary()
    half = s["start_latency_s_p50_by_unpack_rate"]["half"]
    assert (half["mean"], half["n"]) == (pytest.approx(14.0), 1)
    assert s["pull_share_of_start_latency"]["n"] == 3


def test_a_run_collecting_its_garbage_as_it_goes_is_the_run_node_run_makes(monkeypatch):
    """run_bounded (an hour of simulated time at a time, the model's reference cycles
    collected between two) against WindowsNode.run: the same tables, and the cycles
    are collected (a threshold of 1,000 objects: a collection nearly every hour)."""
    import gc

    import hpsim.experiment.run as run_module
    from hpsim.cluster.cluster import Cluster
    from hpsim.observe.recorder import Recorder
    from hpsim.observe.results import tables_from_records

    sc = _batch("2d")
    whole, sliced = Recorder(), Recorder()
    Cluster(sc, np.random.SeedSequence(3), whole).run()
    collections = []
    collect = gc.collect
    monkeypatch.setattr(run_module, "YOUNG_OBJECTS", 1_000)
    monkeypatch.setattr(gc, "collect", lambda *a: collections.append(a) or collect(*a))
    run_module.run_bounded(Cluster(sc, np.random.SeedSequence(3), sliced), 2 * 86_400.0)
    monkeypatch.undo()
    assert len(collections) > 10
    a, b = tables_from_records(whole), tables_from_records(sliced)
    for name in a:
        pdt.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)
