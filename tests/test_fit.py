"""``hpsim fit``: replicas that fit, and what stops the next one -- worked out by hand."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from simhelp import node, pod, scenario

from hpsim.cli import main
from hpsim.cluster import fit as ft
from hpsim.cluster import plugins
from hpsim.node.containerd import Image, Layer
from hpsim.scenario.load import load_data
from hpsim.scenario.manifests import PodSpec

GiB = 2**30
SANDBOX = ["test/pause:1"]


def _img(name: str, size: str = "0", unpacked: str | None = None) -> dict[str, Any]:
    return {"name": name, "layers": [{"size": size, "unpacked": unpacked or size}]}


def pools(workloads: list[dict], images: list[dict], node_pools: list[dict]) -> dict:
    data = scenario(workloads, images)
    del data["node"]
    data["nodePools"] = node_pools
    return data


def pool(name: str, count: int = 1, **spec: Any) -> dict[str, Any]:
    return {"name": name, "count": count, "node": node(**spec)}


# 4 cores, systemReserved 500m: allocatable cpu 4000 - 500 = 3500 m.
RESERVED = {"systemReserved": {"cpu": "500m"}}
# A DaemonSet pod needs a workload; this one runs on no node (its selector matches none).
IDLE = {
    "manifest": {
        **pod("idle", kind="DaemonSet"),
    }
}
IDLE["manifest"]["spec"]["template"]["spec"]["nodeSelector"] = {"none": "none"}


def ask(
    tmp_path: Path,
    data: dict,
    manifest: dict | str,
    *args: str,
    json_out: bool = True,
    capsys: Any = None,
) -> tuple[int, Any, str]:
    """Write the scenario and the pod manifest, run ``hpsim fit``; (status, output, stderr)."""
    sc = tmp_path / "s.yaml"
    sc.write_text(yaml.safe_dump(data, sort_keys=False))
    mf = tmp_path / "pod.yaml"
    mf.write_text(manifest if isinstance(manifest, str) else yaml.safe_dump(manifest))
    argv = ["fit", str(sc), "--pod", str(mf), *args]
    if json_out:
        argv += ["-o", "json"]
    status = main(argv)
    out, err = capsys.readouterr()
    return status, (json.loads(out) if json_out and status == 0 else out), err


def _by_node(answer: dict) -> dict[str, tuple[int, list[str]]]:
    return {n["node"]: (n["replicas"], n["stop"]["reasons"]) for n in answer["nodes"]}


def test_two_nodes_of_3_5_cores_take_three_1_core_pods_each(tmp_path, capsys):
    """allocatable 3500 m; 1-core copies: 3 fit (3000 m), a 4th would need 4000 > 3500."""
    data = pools([IDLE], [_img("test/app:1")], [pool("win", 2, kubelet=RESERVED)])
    code, out, _ = ask(
        tmp_path, data, pod("web", requests={"cpu": "1", "memory": "1Gi"}), capsys=capsys
    )
    assert code == 0
    assert out["replicas"] == 6
    assert _by_node(out) == {
        "win-0": (3, ["Insufficient cpu"]),
        "win-1": (3, ["Insufficient cpu"]),
    }
    assert out["message"] == "0/2 nodes are available: 2 Insufficient cpu."
    assert out["nodes"][0]["free_after"]["cpu_millicores"] == 500


def test_json_shape(tmp_path, capsys):
    data = pools([IDLE], [_img("test/app:1")], [pool("win", 1, kubelet=RESERVED)])
    _, out, _ = ask(tmp_path, data, pod("web", requests={"cpu": "1"}), capsys=capsys)
    assert set(out) == {
        "scenario", "seed", "at_s", "fresh", "pod", "replicas", "message", "pending_pods", "nodes"
    }  # fmt: skip
    assert out["at_s"] == 3600.0 and out["fresh"] is None  # the end of the 1 h run
    assert out["pod"] == {
        "kind": "Pod",
        "name": "web",
        "namespace": "default",
        "requests": {"cpu_millicores": 1000, "memory_bytes": 0, "ephemeral_storage_bytes": 0},
    }
    n = out["nodes"][0]
    assert set(n) == {
        "node", "pool", "replicas", "stop", "allocatable", "free_after", "disk", "image_pull"
    }  # fmt: skip
    assert n["stop"] == {
        "source": "kube-scheduler",
        "plugin": "NodeResourcesFit",
        "reasons": ["Insufficient cpu"],
    }
    assert n["allocatable"]["cpu_millicores"] == 3500


def test_max_pods_stops_before_cpu_and_daemonset_pods_count(tmp_path, capsys):
    """maxPods 3; a DaemonSet pod bound on each node at t = 0; 100m copies: 2 more each."""
    ds = pod("agent", kind="DaemonSet", requests={"cpu": "100m"})
    data = pools(
        [{"manifest": ds}],
        [_img("test/app:1")],
        [pool("win", 2, kubelet={"maxPods": 3})],
    )
    _, out, _ = ask(
        tmp_path, data, pod("web", requests={"cpu": "100m"}), "--at", "0s", capsys=capsys
    )
    assert _by_node(out) == {"win-0": (2, ["Too many pods"]), "win-1": (2, ["Too many pods"])}
    assert out["message"] == "0/2 nodes are available: 2 Too many pods."


def test_at_counts_the_pods_bound_by_then_and_the_events_at_that_instant(tmp_path, capsys):
    """One 3.5-core node; a 2-core bare pod arrives at 100 s. At 50 s three 1-core copies
    fit; at 100 s (its arrival and binding included) one."""
    wl = [{"manifest": pod("big", requests={"cpu": "2"}), "arrivals": {"at": ["100s"]}}]
    data = pools(wl, [_img("test/app:1")], [pool("win", 1, kubelet=RESERVED)])
    web = pod("web", requests={"cpu": "1"})
    _, before, _ = ask(tmp_path, data, web, "--at", "50s", capsys=capsys)
    _, after, _ = ask(tmp_path, data, web, "--at", "100s", capsys=capsys)
    assert (before["replicas"], after["replicas"]) == (3, 1)
    assert after["at_s"] == 100.0


def test_fresh_node_counts_its_daemonset_pods(tmp_path, capsys):
    """A fresh node of 3500 m runs the 1-core DaemonSet pod (the other DaemonSet selects
    no node): 2500 m left, two 1-core copies."""
    ds = pod("agent", kind="DaemonSet", requests={"cpu": "1"})
    data = pools([{"manifest": ds}, IDLE], [_img("test/app:1")], [pool("win", 0, kubelet=RESERVED)])
    _, out, _ = ask(
        tmp_path, data, pod("web", requests={"cpu": "1"}), "--fresh", "win", capsys=capsys
    )
    assert out["fresh"] == "win" and out["at_s"] is None
    assert _by_node(out) == {"template-node-for-win": (2, ["Insufficient cpu"])}
    assert out["nodes"][0]["free_after"]["pods"] == 110 - 1 - 2


# A 40 GiB volume, 20 GiB of it the OS; Kubernetes 1.31 enforces nodefs.available<10%:
# 4 GiB (int(40 GiB x 0.1) = 4,294,967,296 bytes) must stay free.
SMALL_DISK = {"disk": "40Gi", "osDiskUsage": "20Gi", "kubernetes": "1.31", "kubelet": RESERVED}


def test_a_large_image_on_a_small_disk_stops_at_the_eviction_threshold(tmp_path, capsys):
    """The node holds the 0-byte pause image: 20 GiB free. test/big:1 adds 6 GiB of blobs
    and 12 GiB unpacked: 2 GiB would be left, below 4 GiB. No copy fits."""
    data = pools([IDLE], [_img("test/big:1", "6Gi", "12Gi")], [pool("win", 1, **SMALL_DISK)])
    _, out, _ = ask(tmp_path, data, pod("web", "test/big:1", requests={"cpu": "1"}), capsys=capsys)
    n = out["nodes"][0]
    assert n["replicas"] == 0
    assert n["stop"] == {
        "source": "hpsim",
        "plugin": "hpsim/NodeDisk",
        "reasons": ["hpsim: image disk"],
        "detail": "hpsim: image disk: pulling test/big:1 (18.0 GiB: 6.0 GiB compressed + "
        "12.0 GiB unpacked) would leave 2.0 GiB of 40.0 GiB free, below "
        "nodefs.available<10% (4.0 GiB): kubelet would reclaim images and evict pods",
        "needed_bytes": 18.0 * GiB,
        "left_bytes": 2.0 * GiB,
        "threshold": "nodefs.available<10%",
        "threshold_bytes": 4 * GiB,
    }
    assert n["image_pull"] == {
        "images": ["test/big:1"],
        "compressed_bytes": 6 * GiB,
        "unpacked_bytes": 12 * GiB,
    }
    assert out["message"] == "0/1 nodes are available: 1 hpsim: image disk."


def test_the_image_is_paid_once_then_ephemeral_requests_fill_the_disk(tmp_path, capsys):
    """A 15 GiB image (5 + 10) and 1 GiB of ephemeral-storage per copy: 20 - 15 - 1 = 4 GiB
    left after the first (not below 4 GiB), 3 GiB after a second: one fits."""
    data = pools([IDLE], [_img("test/big:1", "5Gi", "10Gi")], [pool("win", 1, **SMALL_DISK)])
    web = pod("web", "test/big:1", requests={"cpu": "100m", "ephemeral-storage": "1Gi"})
    code, text, _ = ask(tmp_path, data, web, json_out=False, capsys=capsys)
    assert code == 0
    lines = text.splitlines()
    assert lines[0] == 'Pod "web": t, seed 0, the cluster at 60.0 min (the end of the run)'
    assert lines[1].split() == [
        "NODE", "POOL", "FIT", "CPU", "FREE", "MEMORY", "FREE", "PODS", "FREE", "DISK", "FREE"
    ]  # fmt: skip
    assert lines[2].split() == [
        "win-0",
        "win",
        "1",
        "3.4",
        "cores",
        "15.5",
        "GiB",
        "109",
        "4.0",
        "GiB",
    ]
    assert lines[3:] == [
        "total: 1 more replica fit",
        "what stops the next one:",
        "  win-0: hpsim: disk: test/big:1 pulled (15.0 GiB) and 2 replicas' ephemeral-storage "
        "requests (2.0 GiB) would leave 3.0 GiB of 40.0 GiB free, below nodefs.available<10% "
        "(4.0 GiB): kubelet would reclaim images and evict pods",
        "  0/1 nodes are available: 1 hpsim: disk.",
    ]


def test_no_threshold_before_1_31_means_the_disk_itself(tmp_path, capsys):
    """Kubernetes 1.30: the Windows kubelet enforces no eviction; 18 GiB fit in 20 GiB."""
    spec = {**SMALL_DISK, "kubernetes": "1.30"}
    data = pools([IDLE], [_img("test/big:1", "10Gi", "12Gi")], [pool("win", 1, **spec)])
    _, out, _ = ask(tmp_path, data, pod("web", "test/big:1", requests={"cpu": "1"}), capsys=capsys)
    assert out["nodes"][0]["stop"]["detail"] == (
        "hpsim: image disk: pulling test/big:1 (22.0 GiB: 10.0 GiB compressed + 12.0 GiB "
        "unpacked) would not fit in the 20.0 GiB free (no nodefs.available threshold "
        "enforced before Kubernetes 1.31): There is not enough space on the disk."
    )


def test_a_host_port_takes_one_copy_per_node(tmp_path, capsys):
    web = pod("web", requests={"cpu": "100m"})
    web["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 8080}]
    data = pools([IDLE], [_img("test/app:1")], [pool("win", 2)])
    _, out, _ = ask(tmp_path, data, web, capsys=capsys)
    reason = "node(s) didn't have free ports for the requested pod ports"
    assert _by_node(out) == {"win-0": (1, [reason]), "win-1": (1, [reason])}


def test_a_deployment_uses_its_template_and_a_tainted_pool_rejects_it(tmp_path, capsys):
    taint = [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
    data = pools(
        [IDLE],
        [_img("test/app:1")],
        [pool("win", 1, kubelet=RESERVED), pool("gpu", 1, taints=taint)],
    )
    web = pod("web", kind="Deployment", requests={"cpu": "1"})
    _, out, _ = ask(tmp_path, data, web, capsys=capsys)
    assert out["pod"]["kind"] == "Deployment"
    assert _by_node(out) == {
        "win-0": (3, ["Insufficient cpu"]),
        "gpu-0": (0, ["node(s) had untolerated taint {dedicated: gpu}"]),
    }


# --- bad input: one line, file:line: field, exit 2 ------------------------------------------


def _error(tmp_path: Path, capsys: Any, manifest: dict | str, *args: str) -> str:
    data = pools([IDLE], [_img("test/app:1")], [pool("win", 1)])
    code, _, err = ask(tmp_path, data, manifest, *args, json_out=False, capsys=capsys)
    assert code == 2
    return err.strip().replace(str(tmp_path) + "/", "")


def test_an_unknown_image_names_its_line_and_field(tmp_path, capsys):
    err = _error(tmp_path, capsys, pod("web", "contoso/nope:1"))
    assert err == (
        'hpsim: error: pod.yaml:7: spec.containers[0].image: image "contoso/nope:1" is '
        "neither in the scenario's images nor in the catalogue (`hpsim catalog`): no node "
        "could pull it"
    )


def test_bad_manifests_get_the_scenarios_words(tmp_path, capsys):
    bad = pod("web", kind="Deployment")
    bad["spec"]["replicas"] = -1
    assert _error(tmp_path, capsys, bad).endswith(
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0"
    )
    assert _error(tmp_path, capsys, pod("web", kind="DaemonSet")) == (
        "hpsim: error: pod.yaml:2: kind: a DaemonSet runs one pod on each node it selects: "
        "hpsim fit counts replicas of a Pod, Deployment, ReplicaSet, StatefulSet, Job or CronJob"
    )
    assert _error(tmp_path, capsys, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n") == (
        "hpsim: error: pod.yaml: no Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job "
        "or CronJob found"
    )


def test_bad_options(tmp_path, capsys):
    web = pod("web")
    assert _error(tmp_path, capsys, web, "--fresh", "linux") == (
        'hpsim: error: --fresh: no pool named "linux" (pools: win)'
    )
    assert _error(tmp_path, capsys, web, "--at", "2h") == (
        "hpsim: error: --at: 2.0 h is after the end of the scenario (60.0 min)"
    )
    assert _error(tmp_path, capsys, web, "--at", "soon").startswith(
        'hpsim: error: --at: invalid duration "soon"'
    )


# --- the computation alone ----------------------------------------------------------------


def test_pull_cost_counts_shared_layers_once_and_skips_what_the_store_holds():
    base = Layer("sha256:base", 1000, 2500)
    a = Image("a", (base, Layer("sha256:a", 10, 30)))
    b = Image("b", (base, Layer("sha256:b", 20, 50)))
    # empty store: base once, both tops
    assert ft.pull_cost([a, b], set(), set()) == ft.ImagePull(("a", "b"), 1030, 2580)
    # the base unpacked (its chain ID is its digest) and its blob kept: the tops only
    got = ft.pull_cost([a, b], {"sha256:base"}, {"sha256:base"})
    assert got == ft.ImagePull(("a", "b"), 30, 80)
    # discard_unpacked_layers: no blobs kept
    assert ft.pull_cost([a], set(), set(), discard=True) == ft.ImagePull(("a",), 0, 2530)
    # a whole image held: nothing
    assert ft.pull_cost([a], {"sha256:base", "sha256:a"}, set(a.chain_ids)) == ft.ImagePull()


def _spec(cpu: str) -> PodSpec:
    c = {"name": "c", "image": "test/app:1", "resources": {"requests": {"cpu": cpu}}}
    return PodSpec.model_validate({"containers": [c]})


def test_asking_changes_nothing_in_the_model():
    """The views fit reads are copies: the cluster's usage and the scheduler's stream are
    as they were, and asking twice gives the same answer."""
    data = pools([IDLE], [_img("test/app:1")], [pool("win", 3)])
    loaded = load_data(copy.deepcopy(data))
    cluster = ft.cluster_at(loaded, np.random.SeedSequence(1), 0.0)
    a = plugins.pod_ask(_spec("1"), "Deployment", "web")
    before = [(n.name, n.usage.copy()) for n in cluster.nodes.values()]
    state = cluster.scheduler.rng.bit_generator.state
    nodes = ft.live_nodes(cluster, a, ["test/app:1"])
    first = ft.fit(a, nodes, np.random.default_rng(5))
    again = ft.fit(a, nodes, np.random.default_rng(5))
    assert first == again and first.total == 12
    assert [(n.name, n.usage) for n in cluster.nodes.values()] == before
    assert cluster.scheduler.rng.bit_generator.state == state


@pytest.mark.parametrize("seed", [1, 2])
def test_equal_nodes_tie_and_the_seed_decides(seed):
    """Three equal empty nodes of 4000 m allocatable and 1.5-core copies: every choice
    between equal nodes is a tie drawn from the fit's stream, and each node ends with
    two whatever the draws."""
    data = pools([IDLE], [_img("test/app:1")], [pool("win", 3)])
    loaded = load_data(copy.deepcopy(data))
    cluster = ft.cluster_at(loaded, np.random.SeedSequence(seed), 0.0)
    a = plugins.pod_ask(_spec("1500m"), "Pod", "web")
    nodes = ft.live_nodes(cluster, a, ["test/app:1"])
    got = ft.fit(a, nodes, cluster.streams.rng("fit"))
    assert [n.replicas for n in got.nodes] == [2, 2, 2]
