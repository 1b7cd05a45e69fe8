"""A new scratch volume per container start, and kubelet's removal of dead containers.

Timings are worked by hand from the test node's start-up costs (simhelp.node: sandbox
2 s, container 1 s) and kubelet's CrashLoopBackOff (the first restart at once, then
10 s doubling from the instance's finish).
"""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from simhelp import node, pod, run, scenario

MIB = 2**20
EMPTY = [{"name": "test/app:1", "layers": [{"size": 0}]}]
CONTAINERD = {"version": "1.7.22", "sandboxImage": "test/pause:1"}


def _crashing(duration: str, **containerd: str):
    wl = {
        "manifest": pod("p"),
        "profile": {"runFor": "100s", "exitCode": 1, "rootfsWrites": "1Mi/s", "logRate": "1Ki/s"},
    }
    return scenario(
        [wl], EMPTY, duration=duration, node=node(containerd={**CONTAINERD, **containerd})
    )


def _scratch(res) -> pd.DataFrame:
    w = res.tables["writes"]
    return w[w["owner"] == "scratch"].reset_index(drop=True)


def test_each_restart_writes_a_new_scratch_and_the_deletor_keeps_one_dead_instance():
    """Instances run 100 s writing 1 MiB/s into their scratch, then exit 1.

    Instance 0: 3 s (sandbox 2 + create 1) to 103 s. Instance 1: restarted at once,
    104 to 204 s. Instance 2: back-off 10 s from 204, created 214 + 1 = 215, to 315 s.
    Instance 3: back-off 20 s from 315, 335 + 1 = 336 s, running at the end (400 s).
    The deletor keeps the newest dead instance: instance 0's scratch goes when
    instance 1 dies (204 s), instance 1's when instance 2 dies (315 s). Each scratch
    holds 100 MiB. The most on the volume is just before 204 s: instance 0 (100 MiB)
    and instance 1 (100 MiB), with 100 KiB of logs each; at the end instance 2
    (100 MiB) and instance 3 (400 - 336 = 64 MiB): 164 MiB, where one reused, growing
    scratch held 3 x 100 + 64 = 364 MiB.
    """
    res = run(_crashing("400s"))
    s = _scratch(res)
    assert s["instance"].tolist() == [0, 1, 2, 3]
    assert s["first_write_s"].tolist() == [3.0, 104.0, 215.0, 336.0]
    assert s["released_s"].iloc[:2].tolist() == [204.0, 315.0]
    assert s["released_s"].iloc[2:].isna().all()
    assert s["bytes"].tolist() == [100 * MIB, 100 * MIB, 100 * MIB, 64 * MIB]
    base = res.node_series()["disk_actual_bytes"].iloc[0]
    assert res.summary()["disk_actual_bytes_peak"] - base == 200 * MIB + 200 * 1024
    end = res.node_series().iloc[-1]
    assert (end["time_s"], end["disk_scratch_bytes"]) == (400.0, 164 * MIB)  # the closing row
    logs = res.tables["writes"][res.tables["writes"]["owner"] == "logs"]
    assert logs["bytes"].tolist() == [100 * 1024] * 3 + [64 * 1024]


def test_the_scratch_size_caps_each_instance_not_the_container_across_restarts():
    """scratchSize 80Mi: each instance's 100 s at 1 MiB/s stops at 80 MiB. Shared across
    restarts, instance 1 would have found its scratch full."""
    res = run(_crashing("250s", scratchSize="80Mi"))
    assert _scratch(res)["bytes"].tolist() == [80 * MIB, 80 * MIB, 35 * MIB]


def test_a_completed_pods_containers_go_at_the_first_container_gc_pass_after_its_deletion():
    """restartPolicy Never, runFor 30 s: the container runs 3 to 33 s and the pod
    Succeeds; its lifetime (100 s) deletes it at 100 s. Its emptyDir goes at once with
    the pod; its dead container (scratch 30 MiB, logs 30 KiB) stays until container GC,
    whose passes run every 60 s from kubelet's start: the first after 100 s is at 120 s.
    Its host-path bytes (30 KiB) stay on the volume."""
    wl = {
        "manifest": pod("p", restart="Never"),
        "lifetime": {"fixed": "100s"},
        "profile": {
            "runFor": "30s",
            "rootfsWrites": "1Mi/s",
            "logRate": "1Ki/s",
            "emptyDirWrites": "2Mi/s",
            "hostWrites": "1Ki/s",
        },
    }
    res = run(scenario([wl], EMPTY, duration="400s"))
    w = res.tables["writes"].set_index("owner")
    assert w.loc["scratch", "released_s"] == 120.0
    assert w.loc["logs", "released_s"] == 120.0
    assert w.loc["empty_dir", "released_s"] == 100.0
    assert (w.loc["scratch", "bytes"], w.loc["logs", "bytes"]) == (30 * MIB, 30 * 1024)
    end = res.node_series().iloc[-1]
    assert end["time_s"] == 120.0
    assert (end["disk_scratch_bytes"], end["disk_logs_bytes"]) == (0.0, 0.0)
    assert end["disk_host_writes_bytes"] == 30 * 1024


@settings(max_examples=15, deadline=None)
@given(
    run_for=st.integers(5, 200),
    rate=st.integers(1, 50),
    duration=st.integers(300, 3000),
)
def test_at_most_the_running_and_one_dead_instance_are_on_the_volume(run_for, rate, duration):
    """However a crash loop goes, the scratch on the volume never exceeds two instances'
    worth (the dead one kept and the running one), each at most run_for x rate."""
    wl = {
        "manifest": pod("p"),
        "profile": {"runFor": f"{run_for}s", "exitCode": 2, "rootfsWrites": f"{rate}Ki/s"},
    }
    res = run(scenario([wl], EMPTY, duration=f"{duration}s"))
    one = run_for * rate * 1024
    assert res.series["disk_scratch_bytes"].max() <= 2 * one * (1 + 1e-12)
    s = _scratch(res)
    assert (s["bytes"] <= one * (1 + 1e-12)).all()
    on_volume = s[s["released_s"].isna()]
    assert len(on_volume) <= 2
