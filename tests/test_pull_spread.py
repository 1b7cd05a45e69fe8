"""A node's pull spread (NodeSpec.pull_spread): each pull draws a lognormal factor on its
download and extraction work, from the node's own stream; 0 draws nothing."""

from __future__ import annotations

import math

import numpy as np
from simhelp import node, pod, run, scenario

from hpsim.calibrate.fit import calibrate
from hpsim.calibrate.kubelet import ObservedPull
from hpsim.scenario.load import load_data

N = 40
MIB = 2**20
# One 100 MiB layer: alone on the node, download then extraction,
# 100 MiB / 100 MiB/s + 100 MiB / 20 MiB/s = 1 s + 5 s.
BASE_S = 6.0


def _data(spread: float) -> dict:
    images = [{"name": f"test/img-{i}:1", "layers": [{"size": "100Mi"}]} for i in range(N)]
    workloads = [
        {
            "manifest": pod(f"p{i}", f"test/img-{i}:1", restart="Never"),
            "arrivals": {"at": [f"{i * 60}s"]},  # a minute apart: one pull at a time
            "lifetime": {"fixed": "30s"},
        }
        for i in range(N)
    ]
    data = scenario(workloads, images, duration=f"{N + 1}m")
    data["node"] = node(network="100MiB/s", unpackRate="20MiB/s", pullSpread=spread)
    return data


def _durations(data: dict, seed: int = 0) -> np.ndarray:
    pulls = run(data, seed=seed).pulls
    pulls = pulls[pulls["image"].str.startswith("test/img-")]
    assert len(pulls) == N
    return (pulls["finished_s"] - pulls["started_s"]).to_numpy()


def test_no_spread_every_pull_at_the_node_rates():
    assert np.allclose(_durations(_data(0.0)), BASE_S)


def test_each_pull_draws_its_factor_and_a_seed_repeats_them():
    data = _data(0.5)
    d = _durations(data)
    logs = np.log(d / BASE_S)
    # 40 draws of N(0, 0.5): the sample sd is within 0.5 +- 30% with near certainty
    assert 0.35 < logs.std(ddof=1) < 0.65
    assert abs(logs.mean()) < 0.3
    assert np.array_equal(d, _durations(data))  # the same seed, the same pulls
    assert not np.array_equal(d, _durations(data, seed=1))


def test_calibration_reads_the_spread_back():
    """The pulls of a node with pullSpread 0.5 (network held at its true rate): the
    fitted extraction is the node's, and the spread comes back near 0.5."""
    data = _data(0.5)
    pulls = run(data).pulls
    pulls = pulls[pulls["image"].str.startswith("test/img-")]
    observed = [
        ObservedPull(
            image=r.image,
            pull_s=round(float(r.finished_s - r.started_s), 3),
            node="win-node-0",
            bytes=100 * MIB,
            including_waiting_s=round(float(r.finished_s - r.started_s), 3),
            time_s=float(r.finished_s),
        )
        for r in pulls.itertuples()
    ]
    cal = calibrate(observed, load_data(data).scenario, fix_network=100 * MIB)
    assert cal.unpack_rate.value is not None
    assert math.isclose(cal.unpack_rate.value, 20 * MIB, rel_tol=0.25)
    assert 0.3 < cal.sigma < 0.7
