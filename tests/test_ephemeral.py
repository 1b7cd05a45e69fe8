"""Ephemeral storage: requests against allocatable (scheduler and kubelet admission), and
limits enforced by kubelet's eviction manager every 10 s with its words.

Timings from the test node (simhelp.node: sandbox 2 s, container 1 s, so a first
container writes from t = 3 s); checks fall on multiples of 10 s.
"""

from __future__ import annotations

import pytest
from simhelp import NO_VICTIMS, node, pod, run, scenario

from hpsim.node.eviction import quantity_text

EMPTY = [{"name": "test/app:1", "layers": [{"size": 0}]}]


def _evicted(res):
    ev = res.events[res.events["reason"] == "Evicted"]
    return list(zip(ev["time_s"], ev["object"], ev["message"], strict=True))


def test_requests_are_scheduled_against_allocatable_ephemeral_storage():
    """disk 100Gi less nodefs.available<10% (10 GiB): 90 GiB allocatable. Two pods asking
    50Gi: the first binds, the second stays Pending; one asking 95Gi with a nodeName fails
    kubelet admission (OutOfephemeral-storage)."""
    a = pod("a", requests={"ephemeral-storage": "50Gi"})
    b = pod("b", requests={"ephemeral-storage": "50Gi"})
    c = pod("c", requests={"ephemeral-storage": "95Gi"})
    c["spec"]["nodeName"] = "win-node-0"
    wls = [{"manifest": a}, {"manifest": b, "start": "1s"}, {"manifest": c}]
    res = run(scenario(wls, EMPTY, duration="10m", node=node(disk="100Gi")))
    pods = res.pods.set_index("pod")
    assert pods.loc["a", "phase"] == "Running"
    assert pods.loc["b", "phase"] == "Pending"
    ev = res.events
    assert ev[(ev["object"] == "b") & (ev["reason"] == "FailedScheduling")]["message"].tolist() == [
        "0/1 nodes are available: 1 Insufficient ephemeral-storage." + NO_VICTIMS
    ]
    assert (pods.loc["c", "phase"], pods.loc["c", "reason"]) == (
        "Failed",
        "OutOfephemeral-storage",
    )


@pytest.mark.parametrize("kubernetes", ["1.31", "1.29"])
def test_a_pod_past_its_limit_is_evicted_with_kubelets_message(kubernetes):
    """Limit 1Gi, 10 MiB/s into its scratch from 3 s: past 1,024 MiB after 102.4 s, at
    105.4 s; the check at 110 s evicts it. Limits are enforced before 1.31 too (only the
    node's thresholds are not)."""
    m = pod("w", limits={"ephemeral-storage": "1Gi"})
    wl = {"manifest": m, "profile": {"rootfsWrites": "10Mi/s"}}
    res = run(scenario([wl], EMPTY, duration="5m", node=node(kubernetes=kubernetes)))
    assert _evicted(res) == [
        (
            110.0,
            "w",
            "Pod ephemeral local storage usage exceeds the total limit of containers 1Gi. ",
        )
    ]
    row = res.pods.iloc[0]
    assert (row["phase"], row["reason"]) == ("Failed", "Evicted")


def test_a_container_past_its_own_limit_is_evicted_with_kubelets_message():
    """Containers a (limit 100Mi) and b (1Gi): the pod's limit is 1,124 MiB. a writes
    1 MiB/s from 3 s and passes 100 MiB at 103 s; the pod holds 107 MiB at the check at
    110 s, under its limit, but a is past its own."""
    m = pod("p", limits={"ephemeral-storage": "100Mi"})
    m["spec"]["containers"][0]["name"] = "a"
    m["spec"]["containers"].append(
        {"name": "b", "image": "test/app:1", "resources": {"limits": {"ephemeral-storage": "1Gi"}}}
    )
    wl = {"manifest": m, "containers": {"a": {"rootfsWrites": "1Mi/s"}}}
    res = run(scenario([wl], EMPTY, duration="5m"))
    assert _evicted(res) == [
        (110.0, "p", 'Container a exceeded its local ephemeral storage limit "100Mi". ')
    ]


def test_a_dead_instances_logs_count_against_the_limit_but_not_its_scratch():
    """Limit 150Mi; each instance runs 100 s writing 1 MiB/s to its scratch and 0.4 MiB/s
    to its log (under the 50 MiB the log rotation keeps), then exits 1. Instance 0
    (3-103 s) ends at 100 + 40 = 140 MiB. Instance 1 runs from 104 s: kubelet counts
    instance 0's log (40 MiB) and instance 1's scratch and log, 40 + 1.4 x MiB after x s,
    past 150 MiB at x = 78.6 s, 182.6 s: evicted at 190 s. Counting instance 0's scratch
    too would have evicted at 120 s (100 + 40 + 1.4 x > 150 at x = 7.1 s, 111.1 s)."""
    m = pod("p", limits={"ephemeral-storage": "150Mi"})
    profile = {"runFor": "100s", "exitCode": 1, "rootfsWrites": "1Mi/s", "logRate": "0.4Mi/s"}
    res = run(scenario([{"manifest": m, "profile": profile}], EMPTY, duration="10m"))
    assert [t for t, _p, _m in _evicted(res)] == [190.0]


@pytest.mark.parametrize(
    ("n", "text"),
    [(2**30, "1Gi"), (1536 * 2**20, "1536Mi"), (2 * 10**9, "2G"), (1000, "1k"), (1500, "1500")],
)
def test_quantities_print_as_kubernetes_canonical_form(n, text):
    assert quantity_text(n) == text
