"""Simulation core: cases whose numbers can be worked out by hand or by queueing theory."""

from __future__ import annotations

import numpy as np
import pytest
from simhelp import node, pod, run, scenario

import hpsim
from hpsim.scenario.load import load_data

GIB = 2**30
MIB = 2**20


def _one(res, name):
    rows = res.pods[res.pods["pod"] == name]
    assert len(rows) == 1, res.pods["pod"].tolist()
    return rows.iloc[0]


def test_pulls_table_splits_download_from_unpack():
    # Two layers, 50 MiB then 100 MiB, share 100 MiB/s: the first is fetched at 1.0 s
    # and applied (at 20 MiB/s of compressed input) from 1.0 to 3.5 s while the second
    # downloads, alone from 1.0 s, until 1.5 s; the second is applied from 3.5 to 8.5 s.
    # The pull starts after the 2 s sandbox start-up (the node image holds the sandbox image).
    wl = [{"manifest": pod("p", "contoso/app:1")}]
    layers = [{"size": "50Mi", "unpacked": "80Mi"}, {"size": "100Mi", "unpacked": "160Mi"}]
    res = run(scenario(wl, [{"name": "contoso/app:1", "layers": layers}]))
    pulls = res.pulls.set_index("image")
    assert list(res.pulls.columns) == [
        "pod", "image", "queued_s", "started_s", "downloaded_s", "finished_s",
        "bytes_downloaded", "bytes_unpacked", "download_s", "unpack_s", "error", "node",
    ]  # fmt: skip
    app = pulls.loc["contoso/app:1"]
    assert (app["pod"], app["error"]) == ("p", "")
    assert (app["queued_s"], app["started_s"]) == (2.0, 2.0)
    assert app["download_s"] == pytest.approx(1.5, rel=1e-12)
    assert app["downloaded_s"] == pytest.approx(3.5, rel=1e-12)
    assert app["unpack_s"] == pytest.approx(2.5 + 5.0, rel=1e-12)
    assert app["finished_s"] == pytest.approx(2 + 8.5, rel=1e-12)
    assert (app["bytes_downloaded"], app["bytes_unpacked"]) == (150 * MIB, 240 * MIB)
    assert _one(res, "p")["ready_s"] == pytest.approx(2 + 8.5 + 1, rel=1e-12)
    # The sandbox image is the node image's: never pulled.
    assert "test/pause:1" not in pulls.index


def test_one_pod_one_layer_ready_at_costs_plus_download_plus_unpack():
    # 1 GiB at 100 MiB/s downloads in 10.24 s, unpacks at 20 MiB/s in 51.2 s;
    # sandbox (2 s) and container (1 s) start-up costs come on top.
    data = scenario(
        [{"manifest": pod("p")}],
        [{"name": "test/app:1", "layers": [{"size": "1Gi", "unpacked": "2Gi"}]}],
    )
    p = _one(run(data), "p")
    assert p["ready_s"] == pytest.approx(2 + 10.24 + 51.2 + 1, rel=1e-12)
    assert p["pull_s"] == pytest.approx(10.24 + 51.2, rel=1e-12)
    assert p["phase"] == "Running"


def _three_images():
    images = [{"name": f"test/img{i}:1", "layers": [{"size": "100Mi"}]} for i in range(3)]
    pods = [{"manifest": pod(f"p{i}", f"test/img{i}:1")} for i in range(3)]
    return pods, images


def test_serialized_pulls_are_cumulative():
    # Each pull: 100 MiB at 100 MiB/s (1 s) + unpack at 100 MiB/s (1 s) = 2 s, one at a time.
    # All three pods ask at t=2 (after the sandbox): pulls end at 4, 6, 8; ready 1 s later.
    pods, images = _three_images()
    data = scenario(pods, images, node=node(unpackRate="100MiB/s"))
    res = run(data)
    assert [_one(res, f"p{i}")["ready_s"] for i in range(3)] == pytest.approx([5, 7, 9])
    # kubelet's event: each pull took 2 s; the later ones waited for the serial puller.
    pulled = res.events[
        (res.events["reason"] == "Pulled") & res.events["message"].str.contains("img")
    ]
    size = 100 * MIB
    assert pulled["message"].tolist() == [
        f'Successfully pulled image "test/img{i}:1" in 2s ({w} including waiting). '
        f"Image size: {size} bytes."
        for i, w in ((0, "2s"), (1, "4s"), (2, "6s"))
    ]


def test_parallel_pulls_share_bandwidth_and_unpack():
    # Three downloads share 100 MiB/s: 33.3 MiB/s each, all done at 2 + 3 = 5 s.
    # The three unpacks then share the node's 100 MiB/s, 33.3 MiB/s each: 100 MiB
    # each, all done at 5 + 3 = 8 s (alone each would take 1 s); ready at 9.
    pods, images = _three_images()
    kubelet = {"serializeImagePulls": False}
    data = scenario(pods, images, node=node(unpackRate="100MiB/s", kubelet=kubelet))
    res = run(data)
    assert [_one(res, f"p{i}")["ready_s"] for i in range(3)] == pytest.approx([9, 9, 9])
    assert res.pulls.set_index("image").loc[
        [f"test/img{i}:1" for i in range(3)], "unpack_s"
    ].tolist() == pytest.approx([3, 3, 3])


def _leaky(growth: str, on_cap: str = "crash", duration: str = "2h"):
    return scenario(
        [
            {
                "manifest": pod("leak", limits={"memory": "200Mi"}),
                "profile": {"memory": "100Mi", "memoryGrowth": growth},
                "onMemoryCap": on_cap,
            }
        ],
        [{"name": "test/app:1", "layers": [{"size": 0}]}],
        duration=duration,
    )


def _starts(res, container_cost=1.0):
    ev = res.events
    return ev[(ev["object"] == "leak") & (ev["reason"] == "Started")]["time_s"].to_numpy()


def test_leak_meets_job_cap_at_exactly_ten_minutes():
    # 100 MiB growing 10 MiB/min meets the 200 MiB commit cap after exactly 600 s.
    res = run(_leaky("10Mi/min", duration="605s"))
    p = _one(res, "leak")
    assert p["started_s"] == 3.0
    fails = res.events[(res.events["reason"] == "Failed") & (res.events["object"] == "leak")]
    assert fails["time_s"].tolist() == [603.0]
    assert p["alloc_failures"] == 1


def test_crash_loop_backoff_sequence():
    # 100 MiB/min from 100 MiB hits the cap 60 s after each start. kubelet's doBackOff
    # (client-go Backoff): the first restart is immediate, then each waits 10, 20, 40,
    # 80, 160, 300, 300 s from the crash; a restart also pays the 1 s container cost.
    res = run(_leaky("100Mi/min", duration="3h"))
    starts = _starts(res)
    crashes = starts[:-1] + 60
    gaps = starts[1:] - crashes - 1.0
    assert gaps[:8].tolist() == pytest.approx([0, 10, 20, 40, 80, 160, 300, 300])
    assert _one(res, "leak")["restarts"] == len(starts) - 1


def test_crash_loop_resets_after_ten_minutes_of_running():
    # A container that crashes only after 600 s has run past 2 x max (600 s) since the
    # back-off was last updated: the entry has expired and every restart is immediate.
    res = run(_leaky("10Mi/min", duration="2h"))
    starts = _starts(res)
    gaps = starts[1:] - (starts[:-1] + 600) - 1.0
    assert gaps.tolist() == pytest.approx([0.0] * len(gaps))


def test_containers_table_has_one_row_per_instance_and_the_running_fraction():
    # The 600 s leak with immediate restarts over 2 h: the pod is created at 0, its
    # first instance starts at 3 s (2 s sandbox + 1 s container), each instance runs
    # 600 s and the next starts 1 s (container start) after it exits.
    res = run(_leaky("10Mi/min", duration="2h"))
    c = res.tables["containers"]
    assert c["instance"].tolist() == list(range(len(c)))
    ended = c[c["reason"] == "Error"]
    assert ended["started_s"].tolist() == pytest.approx([3 + 601 * i for i in range(len(ended))])
    assert (ended["ended_s"] - ended["started_s"]).tolist() == pytest.approx([600] * len(ended))
    assert ended["memory_cap"].all() and (ended["exit_code"] == 1).all()
    last = c.iloc[-1]
    assert last["reason"] == "Running" and np.isnan(last["ended_s"])
    assert len(ended) == 11  # 3 + 601 * 11 = 6614 s < 7200 s: the 12th is still running
    # Running: 11 x 600 s + (7200 - 6614) s of the pod's 7200 s life.
    up = 11 * 600 + (7200 - 6614)
    frac = res.summary()["running_fraction_by_workload"]["leak"]
    assert frac == pytest.approx(up / 7200)
    assert _one(res, "leak")["alloc_failures"] == 11


def test_a_start_past_the_cap_is_a_counted_refusal():
    # 300 MiB at start under a 200 MiB limit: every instance fails its first allocation.
    data = scenario(
        [
            {
                "manifest": pod("big", limits={"memory": "200Mi"}),
                "profile": {"memory": "300Mi"},
            }
        ],
        [{"name": "test/app:1", "layers": [{"size": 0}]}],
        duration="100s",
    )
    res = run(data)
    c = res.tables["containers"]
    # Starts at 3 s, then restarts after 0, 10, 20 s of back-off (+1 s start each).
    assert c["started_s"].tolist() == pytest.approx([3, 4, 15, 36, 77])
    assert (c["ended_s"] == c["started_s"]).all() and c["memory_cap"].all()
    assert _one(res, "big")["alloc_failures"] == 5
    assert res.summary()["running_fraction_by_workload"]["big"] == 0.0


def test_a_start_past_the_cap_with_a_leak_is_refused_once_per_instance():
    # The leak would meet the cap again "at once"; the exiting process allocates no more.
    data = scenario(
        [
            {
                "manifest": pod("big", limits={"memory": "200Mi"}),
                "profile": {"memory": "300Mi", "memoryGrowth": "10Mi/min"},
            }
        ],
        [{"name": "test/app:1", "layers": [{"size": 0}]}],
        duration="100s",
    )
    res = run(data)
    assert len(res.tables["containers"]) == 5
    assert _one(res, "big")["alloc_failures"] == 5
    assert _one(res, "big")["restarts"] == 4


def test_degrade_stays_at_cap_and_counts_failed_allocations():
    res = run(_leaky("10Mi/min", on_cap="degrade", duration="1h"))
    p = _one(res, "leak")
    assert p["restarts"] == 0 and p["phase"] == "Running"
    assert p["alloc_failures"] == 1
    assert res.series["memory_committed_bytes"].max() == 200 * MIB


def test_work_bound_containers_share_cpu_under_caps():
    # 2 CPUs. A: limit 500m -> job rate 2500 -> 500m, 5 CPU-s of work -> 10 s.
    # B: uncapped, 30 CPU-s: 1500m for 10 s (15 CPU-s), then 2000m for 7.5 s.
    # Both start at t=3 (2 s sandbox + 1 s container).
    work = [
        {"manifest": pod("a", limits={"cpu": "500m"}, restart="Never"), "profile": {"work": "5s"}},
        {"manifest": pod("b", restart="Never"), "profile": {"work": "30s"}},
    ]
    data = scenario(work, [{"name": "test/app:1", "layers": [{"size": 0}]}], node=node(cpu=2))
    res = run(data)
    assert _one(res, "a")["finished_s"] == pytest.approx(13.0)
    assert _one(res, "b")["finished_s"] == pytest.approx(20.5)
    assert _one(res, "a")["phase"] == "Succeeded"


def test_serialized_pull_queue_matches_mm1():
    # Poisson arrivals (1/min) of pods, each with its own image of exponential size
    # (mean 30 s of download at the node rate, unpack instant): the serialized puller
    # is an M/M/1 queue with rho = 0.5, so the mean wait Wq = rho / (mu - lambda) = 30 s.
    lam, mean_s, n, reps = 1 / 60, 30.0, 250, 16
    rate = 100 * MIB
    means = []
    for r in range(reps):
        rng = np.random.default_rng(1000 + r)
        arrivals = np.cumsum(rng.exponential(1 / lam, n))
        sizes = (rng.exponential(mean_s, n) * rate).astype(int)
        images = [
            {"name": f"q/i{k}:1", "layers": [{"size": int(s), "unpacked": 0}]}
            for k, s in enumerate(sizes)
        ]
        work = [
            {"manifest": pod(f"p{k}", f"q/i{k}:1"), "arrivals": {"at": [float(t)]}}
            for k, t in enumerate(arrivals)
        ]
        costs = {"sandbox": 0, "container": 0, "hostProcessSandbox": 0, "hostProcessContainer": 0}
        data = scenario(
            work,
            images,
            duration=f"{int(arrivals[-1] + 3600)}s",
            node=node(unpackRate="1000TB/s", startup=costs, kubelet={"maxPods": 1000}, disk="1Pi"),
        )
        # Pulls are all of start latency here: skip the replays at other unpack rates.
        res = hpsim.run(load_data(data), seed=0, unpack_sensitivity=False)
        service = sizes / rate
        pods = res.pods.sort_values("created_s")
        waits = pods["pull_s"].to_numpy() - service
        means.append(waits.mean())
    means = np.array(means)
    half = 2.131 * means.std(ddof=1) / np.sqrt(reps)  # t(0.975, 15)
    assert abs(means.mean() - 30.0) < half, (means.mean(), half)
