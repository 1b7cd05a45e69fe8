"""Node pools: where kube-scheduler puts pods, what it says when it cannot, preemption,
and a node's life under the Cluster Autoscaler -- each worked out by hand."""

from __future__ import annotations

import copy
from typing import Any

from simhelp import node, pod, run, scenario

SANDBOX = ["test/pause:1"]


def pools(workloads: list[dict], images: list[dict], node_pools: list[dict], **top: Any) -> dict:
    data = scenario(workloads, images, **top)
    del data["node"]
    data["nodePools"] = node_pools
    return data


def pool(name: str, **over: Any) -> dict[str, Any]:
    spec = node(**over.pop("node", {}))
    return {"name": name, "node": spec, **over}


def _img(name: str, size: str = "0") -> dict[str, Any]:
    return {"name": name, "layers": [{"size": size, "unpacked": size}]}


def _events(res: Any, obj: str, reason: str) -> Any:
    e = res.events
    return e[(e["object"] == obj) & (e["reason"] == reason)]


def test_a_pod_goes_to_the_node_that_holds_its_image():
    """Three empty nodes, one holding the pod's 2,000 MiB image. LeastAllocated and
    BalancedAllocation score them alike; ImageLocality gives the holder
    100 x (2000 x 1/3 - 23) / (1000 - 23) = 65 and the others 0 (image_locality.go)."""
    held = pool("a", count=1, node={"prePulledImages": [*SANDBOX, "test/big:1"]})
    bare = pool("b", count=2, node={"prePulledImages": SANDBOX})
    res = run(
        pools([{"manifest": pod("p", "test/big:1")}], [_img("test/big:1", "2000Mi")], [held, bare])
    )
    assert res.pods.set_index("pod").loc["p", "node"] == "a-0"
    assert _events(res, "p", "Scheduled")["message"].tolist() == [
        "Successfully assigned default/p to a-0"
    ]


def test_equal_nodes_tie_and_the_seed_decides_the_same_way_each_time():
    """Four empty, equal nodes: every score ties, and selectHost picks one at random
    from the scheduler's stream: the same node for the same seed."""
    data = pools(
        [{"manifest": pod(f"p{i}")} for i in range(6)],
        [_img("test/app:1")],
        [pool("w", count=4)],
    )
    first = run(copy.deepcopy(data), seed=3).pods[["pod", "node"]].to_dict("records")
    again = run(copy.deepcopy(data), seed=3).pods[["pod", "node"]].to_dict("records")
    assert first == again
    assert {r["node"] for r in first} <= {"w-0", "w-1", "w-2", "w-3"}


def test_a_pod_too_big_for_every_node_gets_the_schedulers_words():
    """Two 4-core nodes and a tainted one; a pod asking 8 cores. TaintToleration stops at
    the tainted node (UnschedulableAndUnresolvable: preemption would not help), Fit at
    the two others (Unschedulable, but no pod of lower priority to preempt). Reasons are
    counted and sorted as Go's sort.Strings sorts them (k/k framework/types.go
    FitError.Error)."""
    tainted = pool(
        "gpu",
        count=1,
        node={"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]},
    )
    wl = [{"manifest": pod("big", requests={"cpu": "8"})}]
    res = run(pools(wl, [_img("test/app:1")], [pool("small", count=2), tainted]))
    assert _events(res, "big", "FailedScheduling")["message"].tolist() == [
        "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, "
        "2 Insufficient cpu. preemption: 0/3 nodes are available: "
        "1 Preemption is not helpful for scheduling, "
        "2 No preemption victims found for incoming pod."
    ]


def test_a_higher_priority_pod_preempts_a_lower_one():
    """One node of 4 allocatable cores runs a 3-core pod of priority 0. At 100 s a 3-core
    pod of priority 1000 fails Fit; the dry run finds the low pod a victim, so the
    FailedScheduling message has no preemption part and the low pod is deleted, told
    "Preempted by pod 2 on node win-node-0". The high pod binds when it is gone; the
    low pod's replacement then fails, with no victim of lower priority to take."""
    low = pod("low", requests={"cpu": "3"}, kind="Deployment")
    high = pod("high", requests={"cpu": "3"}, priority=1000)
    wl = [{"manifest": low}, {"manifest": high, "arrivals": {"at": ["100s"]}}]
    res = run(scenario(wl, [_img("test/app:1")]))
    pods = res.pods.set_index("pod")
    victim = pods.index[pods["workload"] == "low"][0]
    assert _events(res, victim, "Preempted")[["time_s", "message"]].values.tolist() == [
        [100.0, "Preempted by pod 2 on node win-node-0"]
    ]
    highs = pods[pods["workload"] == "high"]
    assert _events(res, highs.index[0], "FailedScheduling")["message"].tolist() == [
        "0/1 nodes are available: 1 Insufficient cpu."
    ]
    assert highs["scheduled_s"].iloc[0] == pods.loc[victim, "deleted_s"]
    replacement = pods[(pods["workload"] == "low") & (pods.index != victim)]
    assert replacement["message"].tolist() == [
        "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: "
        "1 No preemption victims found for incoming pod."
    ]


def test_a_new_node_is_ready_once_its_cni_pod_runs_and_goes_when_unneeded():
    """A pool of 0 to 2 nodes, 480 s to provision, its network from the "cni" DaemonSet
    (HostProcess, tolerating every taint, its image in the node image). An app pod
    (1 core, 1000 s lifetime) comes at t = 0 to no node.

    - The autoscaler scans at 10 s (the first tick after the change): scale-up to 1.
    - The VM registers at 10 + 480 = 490 s, NotReady; the DaemonSet's pod goes there at
      once and runs at 490 + 0.5 (sandbox) + 0.5 (container) = 491 s; the kubelet's
      runtime check, every 5 s from 490, sees the network at 495 s: Ready.
    - The app pod binds at 495 s and is ready at 495 + 2 + 1 = 498 s.
    - Scans follow the changes: at 500 s the bare app pod blocks removal (CA's drain
      rule "not replicated"), and the node is not looked at again for 300 s
      (unremovable-node-recheck-timeout): 800 s, still blocked, then 1100 s.
    - The app pod is deleted at 1000 s and gone at 1030 s (it ignores the stop, and the
      30 s grace period ends); the scan at 1040 s still skips the node (its recheck is
      at 1100 s). At 1100 s it is unneeded, removable at the first tick past
      1100 + 600 s: 1710 s.
    """
    cni = pod("cni", "test/cni:1", kind="DaemonSet", host_process=True)
    cni["spec"]["template"]["spec"]["tolerations"] = [{"operator": "Exists"}]
    app = pod("app", requests={"cpu": "1"})
    pre = [*SANDBOX, "test/cni:1", "test/app:1"]
    win = pool(
        "win",
        min=0,
        max=2,
        provisioning={"fixed": "480s"},
        cniDaemonSet="cni",
        node={"prePulledImages": pre},
    )
    wl = [{"manifest": cni}, {"manifest": app, "lifetime": {"fixed": "1000s"}}]
    res = run(pools(wl, [_img("test/cni:1"), _img("test/app:1")], [win], duration="1h"))
    nodes = res.tables["nodes"].set_index("node")
    row = nodes.loc["win-0"]
    assert (row["created_s"], row["registered_s"], row["ready_s"], row["scale_up_s"]) == (
        10.0,
        490.0,
        495.0,
        10.0,
    )
    assert row["cordoned_s"] == 1710.0 and row["reason"] == "ScaleDown"
    app_pod = res.pods[res.pods["workload"] == "app"].iloc[0]
    assert (app_pod["scheduled_s"], app_pod["ready_s"], app_pod["node"]) == (495.0, 498.0, "win-0")
    assert _events(res, app_pod["pod"], "FailedScheduling")["message"].tolist()[0] == (
        "no nodes available to schedule pods"
    )
    s = res.summary()
    assert (s["nodes_max"], s["nodes_added"], s["nodes_removed"]) == (1, 1, 1)
    assert s["scale_up_to_ready_s_mean"] == 485.0


def test_validate_weighs_every_pool_a_pod_may_go_to():
    """Two pools, ltsc2022 and ltsc2019: an ltsc2019 image runs on the second (no
    obstacle), unless the pod's nodeName is the first pool's node; a pod asking 8 CPUs
    fits neither, and each pool's reason is named."""
    from hpsim.node.preflight import obstacles
    from hpsim.scenario.load import load_data

    old = "mcr.microsoft.com/windows/servercore:ltsc2019"
    pools = [
        {"name": "new", "count": 1, "node": node(osBuild="10.0.20348.2762")},
        {"name": "old", "count": 1, "node": node(osBuild="10.0.17763.6414")},
    ]
    data = scenario(
        [
            {"manifest": pod("legacy", old)},
            {"manifest": pod("pinned", old, nodeName="new-0")},
            {"manifest": pod("huge", old, requests={"cpu": "8"})},
        ]
    )
    del data["node"]
    data["nodePools"] = pools
    found = obstacles(load_data(data))
    assert set(found) == {"pinned", "huge"}
    assert [o.kind for o in found["pinned"]] == ["platform-mismatch"]
    assert found["pinned"][0].message.startswith('pool new: container "c": image "' + old)
    assert [(o.kind, o.message[:60]) for o in found["huge"]] == [
        ("never-fits", "pool new: 0/1 nodes are available: 1 Insufficient cpu."),
        ("platform-mismatch", 'pool new: container "c": image "mcr.microsoft.com/windows/se'),
        ("never-fits", "pool old: 0/1 nodes are available: 1 Insufficient cpu."),
    ]
