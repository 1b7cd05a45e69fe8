"""Disk: the volume ledger, what kubelet counts, image GC and mixed base images."""

from __future__ import annotations

import math

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st
from simhelp import node, pod, run, scenario

from hpsim.node.storage import ACCOUNTED, OWNERS, Volume
from hpsim.scenario import catalog

GIB = 2**30
MIB = 2**20
FAST = {"network": "1000TB/s", "unpackRate": "1000TB/s"}


def test_hostprocess_host_writes_grow_actual_but_not_accounted():
    # 1 GiB/h to a host path for 10 h: +10 GiB on the volume, +0 in kubelet's view.
    wl = {"manifest": pod("shipper", host_process=True), "profile": {"hostWrites": "1Gi/h"}}
    data = scenario(
        [wl],
        [{"name": "test/app:1", "layers": [{"size": 0}]}],
        duration="10h",
        node=node(disk="200Gi", **FAST),
    )
    res = run(data)
    s = res.series
    # HostProcess start-up: 0.5 s sandbox + 0.5 s container; it writes from t = 1 s to 10 h.
    assert res.pods["started_s"].tolist() == [1.0]
    start = s[s["time_s"] <= 1].iloc[-1]
    end_actual = res.summary()["disk_actual_bytes_peak"]
    expected = GIB / 3600 * (36000 - 1)
    assert end_actual - start["disk_actual_bytes"] == pytest.approx(expected, rel=1e-9)
    assert s["disk_accounted_bytes"].max() == start["disk_accounted_bytes"]
    assert res.summary()["disk_host_writes_bytes_end"] == pytest.approx(expected, rel=1e-9)


def _gc_scenario():
    # 100 GiB volume, 60 GiB of OS. Images A (3 GiB compressed + 1 GiB unpacked), B (4 + 1),
    # C (5 + 1): 75 GiB used. Their pods go at 400, 700 and 1000 s. A HostProcess pod writes
    # 8 GiB per 1000 s to a host path from t = 0.5 s.
    images = [
        {"name": f"test/{n}:1", "layers": [{"size": f"{c}Gi", "unpacked": "1Gi"}]}
        for n, c in (("a", 3), ("b", 4), ("c", 5))
    ]
    images.append({"name": "test/hp:1", "layers": [{"size": 0}]})
    wls = [
        {
            "manifest": pod(n, f"test/{n}:1"),
            "lifetime": {"fixed": f"{t}s"},
            "profile": {"stopTime": "0s"},
        }
        for n, t in (("a", 400), ("b", 700), ("c", 1000))
    ]
    wls.append(
        {
            "manifest": pod("writer", "test/hp:1", host_process=True),
            "profile": {"hostWrites": f"{8 * GIB / 1000}/s"},
        }
    )
    costs = {"sandbox": 0, "container": 0, "hostProcessSandbox": 0, "hostProcessContainer": 0}
    return scenario(
        wls,
        images,
        duration="1250s",
        node=node(disk="100Gi", osDiskUsage="60Gi", startup=costs, **FAST),
    )


def test_image_gc_frees_least_recently_used_until_kubelet_believes_it_is_enough():
    # GC passes at 300, 600, 900, 1200 s. At 900: 75 + 7.2 = 82.2 GiB used, usage 83% < 85%.
    # At 1200: 84.6 GiB used, available 15.4 GiB, usage = 100 - 15 = 85%: GC must free
    # 20 GiB - 15.4 GiB = 4.6 GiB. Last used: A 300, B 600, C 900 (LRU order A, B, C).
    # Deleting A (kubelet counts 3 GiB, compressed) is not enough; B (4 GiB) makes 7 GiB.
    res = run(_gc_scenario())
    gc = res.tables["gc"]
    assert gc["image"].tolist() == ["test/a:1", "test/b:1"]
    assert gc["time_s"].tolist() == [1200, 1200]
    assert gc["believed_freed_bytes"].sum() == 7 * GIB
    assert (gc["content_freed_bytes"] + gc["snapshot_freed_bytes"]).sum() == 9 * GIB
    s = res.summary()
    assert s["image_gc_believed_freed_bytes"] == 7 * GIB
    assert s["image_gc_actual_freed_bytes"] == 9 * GIB
    assert s["image_gc_failures"] == 0
    assert s["image_gc_runs"] == 4  # at 300, 600, 900 and 1200 s of 1250 s


def _two_images(base_agent: str, base_app: str):
    images = [
        {"name": "contoso/agent:1", "base": base_agent, "layers": [{"size": "10Mi"}]},
        {"name": "contoso/app:1", "base": base_app, "layers": [{"size": "20Mi"}]},
    ]
    wls = [
        {"manifest": pod("agent", "contoso/agent:1", host_process=True)},
        {"manifest": pod("app", "contoso/app:1")},
    ]
    return scenario(wls, images, duration="1h", node=node(disk="200Gi", **FAST))


def test_mixed_bases_cost_exactly_the_unshared_base_layers():
    core = "mcr.microsoft.com/windows/servercore"
    mixed = run(_two_images(f"{core}:ltsc2019", f"{core}:ltsc2022"))
    aligned = run(_two_images(f"{core}:ltsc2022", f"{core}:ltsc2022"))
    base_2019 = catalog.lookup(f"{core}:ltsc2019")
    extra = sum(lay.size + lay.unpacked for lay in base_2019.layers)
    assert mixed.summary()["image_bytes_peak"] - aligned.summary()["image_bytes_peak"] == extra
    # The run reports the same saving from its own aligned twin (same seed).
    assert mixed.summary()["aligned_bases_saving_bytes"] == extra
    assert aligned.summary()["aligned_bases_saving_bytes"] == 0
    # By OS version: the 1809 base with the agent's layer, 20348 with the app's (the
    # sandbox image is the node image's, never pulled, so in no version).
    by_version = mixed.summary()["image_bytes_by_os_version"]
    assert sorted(by_version) == ["10.0.17763.3887", "10.0.20348.5622"]
    assert by_version["10.0.17763.3887"] == extra + 10 * MIB * (1 + 2.5)
    # Shared layers count once: with nothing deleted, the versions add up to the images' peak.
    assert sum(by_version.values()) == mixed.summary()["image_bytes_peak"]


def test_volume_full_fails_pulls_with_the_real_reason():
    images = [{"name": "test/big:1", "layers": [{"size": "30Gi", "unpacked": "30Gi"}]}]
    data = scenario(
        [{"manifest": pod("p", "test/big:1")}],
        images,
        duration="60s",
        node=node(disk="60Gi", osDiskUsage="10Gi", **FAST),
    )
    res = run(data)
    msg = res.events[(res.events["object"] == "p") & (res.events["reason"] == "Failed")]
    assert msg["message"].iloc[0].endswith("There is not enough space on the disk.")


ops = st.lists(
    st.tuples(
        st.sampled_from(["write", "stop", "free", "wait"]),
        st.integers(0, 5),
        st.sampled_from(list(OWNERS[3:])),
        st.floats(0, 1e6),
        st.floats(0, 100),
    ),
    max_size=40,
)


@settings(max_examples=80, deadline=None)
@given(ops, st.floats(1e6, 1e9))
def test_owners_sum_to_actual_none_negative_accounted_excludes_host_writes(actions, capacity):
    env = simpy.Environment()
    vol = Volume(env, capacity=capacity, os_bytes=capacity / 10, images=lambda: (0.0, 0.0))
    host_freed = []

    def check():
        owners = vol.by_owner()
        assert all(v >= 0 for v in owners.values())
        assert math.isclose(sum(owners.values()), vol.actual(), rel_tol=1e-12)
        assert math.isclose(vol.accounted(), sum(owners[o] for o in ACCOUNTED), rel_tol=1e-12)
        assert "host_writes" not in ACCOUNTED
        assert vol.actual() <= capacity * (1 + 1e-9) + 1e-3

    def driver():
        for op, k, owner, rate, dt in actions:
            key = (k, owner)
            if op == "write":
                vol.write_many([(key, owner, k, rate, 1e8)])
            elif op == "stop":
                vol.stop(key)
            elif op == "free" and owner != "host_writes":
                host_freed.extend(w.bytes for w in vol.release([key], []))
            else:
                yield env.timeout(dt)
            check()
        yield env.timeout(0)

    env.process(driver())
    env.run(until=10_000)
    check()
