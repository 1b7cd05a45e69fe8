"""hpsim.cluster.placement: where the scheduler puts a pod when a node changed since the
last pod of the same workload. Each node keeps what its filters and scores gave each pod
shape (NodeMemo); these pin that a change of taint, image or requests is seen at the next
pod, and that over a whole run the memo answers as a scheduler that keeps nothing."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from simhelp import node, pod, pure_python_only, scenario

from hpsim.cluster import cluster as cluster_module
from hpsim.cluster import plugins
from hpsim.cluster.cluster import Cluster
from hpsim.cluster.placement import AskKey, NodeMemo, Placement, Scheduler
from hpsim.node.pod import Pod
from hpsim.node.scheduler import Usage
from hpsim.observe.recorder import Recorder
from hpsim.scenario.load import load_data

BIG = "test/big:1"


def _img(name: str, size: str = "0") -> dict[str, Any]:
    return {"name": name, "layers": [{"size": size, "unpacked": size}]}


@pytest.fixture(autouse=True)
def _checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cluster here schedules with :class:`_Checked`: each answer the memo gives is
    held to the plugins run afresh."""
    monkeypatch.setattr(cluster_module, "Scheduler", _Checked)
    _Checked.checks = 0


def _cluster(node_pools: list[dict[str, Any]], requests: dict[str, str]) -> Cluster:
    """A cluster of ``node_pools`` (not run: pods are made and bound by hand) with one
    workload, "w", whose pods ask ``requests`` and run the 2,000 MiB image BIG."""
    data = scenario([{"manifest": pod("w", BIG, requests=requests)}], [_img(BIG, "2000Mi")])
    del data["node"]
    data["nodePools"] = node_pools
    c = Cluster(load_data(data), seed=0, emit=Recorder())
    c.start()
    return c


def _pool(name: str, count: int, images: list[str] | None = None) -> dict[str, Any]:
    pre = ["test/pause:1", *(images or [])]
    return {"name": name, "count": count, "node": node(prePulledImages=pre)}


def _new_pod(c: Cluster, name: str) -> Pod:
    """A pod of workload "w", created as the API server would: the scheduler tries it at
    once, and binds it if a node fits."""
    return c.new_pod(c.loaded.workloads[0], name, owner="test")


def test_a_node_tainted_between_two_pods_of_a_workload_turns_the_second_away():
    """a-0 holds the pod's image: ImageLocality gives it 100 x (2000 x 1/3 - 23) /
    (1000 - 23) = 65 and the bare b nodes 0, so the first pod goes there. Then a-0 is
    tainted NoSchedule: the second pod's TaintToleration filter rejects it (what a-0
    gave the first pod no longer holds), and it goes to a b node."""
    c = _cluster([_pool("a", 1, [BIG]), _pool("b", 2)], {"cpu": "100m"})
    first = _new_pod(c, "w-1")
    assert first.node == "a-0"
    c.nodes["a-0"].spec_taints.append(("dedicated", "gpu", "NoSchedule"))
    second = _new_pod(c, "w-2")
    assert second.bound and second.node in ("b-0", "b-1")


def test_an_image_pulled_between_two_pods_of_a_workload_draws_the_second():
    """A 16-core node and a 4-core one, neither holding the image: the first 1-core pod
    goes to the larger (LeastAllocated: 94 against 75 for cpu), which still scores higher
    for a second (88). Then the image lands on the smaller, untouched since: ImageLocality
    gives it 100 x (2000 x 1/2 - 23) / (1000 - 23) = 100 and draws the second pod."""
    big = {"name": "a", "count": 1, "node": node(cpu=16, prePulledImages=["test/pause:1"])}
    c = _cluster([big, _pool("b", 1)], {"cpu": "1"})
    assert _new_pod(c, "w-1").node == "a-0"
    small = c.nodes["b-0"]
    small.containerd.preload(c.images_for(small.spec)[BIG])
    assert _new_pod(c, "w-2").node == "b-0"


@pure_python_only
def test_a_second_node_reporting_an_image_moves_the_first_ones_score():
    """ImageLocality scales an image's size by the share of nodes that report it: a-0's
    score for the same pod changes when the tainted c-0 (never a candidate, still
    counted) pulls the image, although nothing on a-0 moved. The same question asked
    twice gets the fresh answer (the checked scheduler holds each to the plugins)."""
    tainted = {
        "name": "c",
        "count": 1,
        "node": node(
            taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}],
            prePulledImages=["test/pause:1"],
        ),
    }
    c = _cluster([_pool("a", 1, [BIG]), _pool("b", 1), tainted], {"cpu": "1"})
    probe = _new_pod(c, "w-1")
    assert probe.node == "a-0"
    placement = Placement({name: n.usage for name, n in c.nodes.items()}, {})
    before = _Checked.checks
    c.scheduler.choose(probe, placement)
    gpu = c.nodes["c-0"]
    gpu.containerd.preload(c.images_for(gpu.spec)[BIG])
    c.scheduler.choose(probe, placement)
    assert _Checked.checks >= before + 8  # both asks: a filter and a score check per node


def test_requests_bound_between_two_pods_of_a_workload_keep_the_second_off_a_full_node():
    """Two 4-core nodes, a-0 holding the image: the first 3-core pod goes to a-0
    (ImageLocality); the second no longer fits there (NodeResourcesFit: 3 + 3 > 4
    cores) and goes to b-0, although a-0 scored higher for the first."""
    c = _cluster([_pool("a", 1, [BIG]), _pool("b", 1)], {"cpu": "3"})
    assert _new_pod(c, "w-1").node == "a-0"
    assert _new_pod(c, "w-2").node == "b-0"
    third = _new_pod(c, "w-3")
    assert not third.bound
    assert third.message.startswith("0/2 nodes are available: 2 Insufficient cpu.")


class _Checked(Scheduler):
    """The scheduler, checking each answer its memo gives against the plugins run afresh
    on the node as it stands, and each pass's verdict and choice of node against a
    scheduler that keeps nothing (a fresh one, on a copy of the random stream)."""

    checks = 0

    def _status(
        self,
        memo: NodeMemo,
        shape: AskKey,
        ask: plugins.PodAsk,
        usage: Usage,
        taints: tuple[tuple[str, str, str], ...],
    ) -> plugins.FilterStatus:
        got = super()._status(memo, shape, ask, usage, taints)
        assert taints == tuple(memo.node.taints)
        assert got == plugins.filter_status(ask, self.view(memo.node, usage))
        type(self).checks += 1
        return got

    def _scores(
        self,
        memo: NodeMemo,
        shape: AskKey,
        ask: plugins.PodAsk,
        usage: Usage,
        taints: tuple[tuple[str, str, str], ...],
        held: tuple[int | None, ...],
        spread: tuple[tuple[int, ...], int],
    ) -> plugins.NodeScores:
        got = super()._scores(memo, shape, ask, usage, taints, held, spread)
        node = memo.node
        everyone = [self.view(n, n.usage, images=True) for n in self.cluster.nodes.values()]
        want = plugins.node_scores(
            ask,
            self.view(node, usage, images=True),
            len(everyone),
            plugins.nodes_with_image(everyone),
            self.strategy,
        )
        assert got == want
        type(self).checks += 1
        return got

    def _fresh(self) -> Scheduler:
        settings = self.cluster.scenario.cluster.scheduler
        fresh = Scheduler(self.cluster, settings, copy.deepcopy(self.rng))
        fresh.nominated = self.nominated
        return fresh

    def failure(self, pod: Pod, placement: Placement) -> str | None:
        want = self._fresh().failure(pod, placement)
        got = super().failure(pod, placement)
        assert got == want
        return got

    def choose(self, pod: Pod, placement: Placement) -> str:
        want = self._fresh().choose(pod, placement)
        got = super().choose(pod, placement)
        assert got == want
        return got


def _busy_pool() -> dict[str, Any]:
    """Three pools (zones, a PreferNoSchedule taint, a NoSchedule one, images held on some
    nodes) under the autoscaler, with preferred affinity, host ports, preemption, a
    cordon and a scale-up: the nodes' taints, images and requests keep moving."""
    zone = "topology.kubernetes.io/zone"
    gold = {
        "name": "a",
        "min": 1,
        "max": 4,
        "count": 2,
        "node": node(
            labels={zone: "z1", "tier": "gold"},
            taints=[{"key": "soft", "value": "x", "effect": "PreferNoSchedule"}],
            prePulledImages=["test/pause:1", BIG],
        ),
    }
    plain = {
        "name": "b",
        "min": 1,
        "max": 4,
        "count": 2,
        "node": node(labels={zone: "z2"}, cpu=8, prePulledImages=["test/pause:1"]),
    }
    gpu = {
        "name": "c",
        "count": 1,
        "node": node(
            taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}],
            prePulledImages=["test/pause:1", BIG],
        ),
    }
    prefer = {
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 10,
                    "preference": {
                        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["gold"]}]
                    },
                }
            ]
        }
    }
    web = pod("web", BIG, kind="Deployment", requests={"cpu": "500m"}, affinity=prefer)
    web["spec"]["replicas"] = 10
    tolerant = pod(
        "tolerant",
        kind="Deployment",
        requests={"cpu": "1"},
        tolerations=[{"key": "dedicated", "operator": "Exists"}],
    )
    tolerant["spec"]["replicas"] = 3
    ports = pod("ports", kind="Deployment", requests={"cpu": "100m"})
    ports["spec"]["template"]["spec"]["containers"][0]["ports"] = [
        {"containerPort": 80, "hostPort": 8080}
    ]
    ports["spec"]["replicas"] = 4
    batch = pod("batch", "test/small:1", kind="Job", restart="OnFailure", requests={"cpu": "1500m"})
    urgent = pod("urgent", kind="Job", restart="OnFailure", requests={"cpu": "3"}, priority=1000)
    agent = pod("agent", "test/small:1", kind="DaemonSet", host_process=True)
    work = {"memory": "100Mi", "work": "600s"}
    wl = [
        {"manifest": web, "lifetime": {"exponential": {"mean": "20m"}}},
        {"manifest": tolerant, "lifetime": {"exponential": {"mean": "30m"}}},
        {"manifest": ports, "lifetime": {"exponential": {"mean": "15m"}}},
        {"manifest": batch, "arrivals": {"poisson": "30/h"}, "profile": work},
        {"manifest": urgent, "arrivals": {"poisson": "3/h"}, "profile": work},
        {"manifest": agent},
    ]
    images = [_img("test/app:1", "50Mi"), _img(BIG, "900Mi"), _img("test/small:1", "30Mi")]
    data = scenario(wl, images, duration="4h")
    del data["node"]
    data["nodePools"] = [gold, plain, gpu]
    data["events"] = [
        {"at": "1h", "cordon": True},
        {"at": "1h30m", "cordon": False},
        {"at": "2h", "scale": {"workload": "web", "replicas": 30}},
    ]
    return data


@pure_python_only
def test_the_memo_answers_as_a_scheduler_that_keeps_nothing():
    """Over four busy hours (nodes added and removed, cordoned, images pulled, pods
    preempted), every answer the memo gives equals the plugins' afresh, and every pass's
    verdict and choice of node a fresh scheduler's, random tie-breaks included."""
    c = Cluster(load_data(_busy_pool()), seed=3, emit=Recorder())
    c.run()
    assert _Checked.checks > 1500
    assert len(c.life.instances) > 5  # the autoscaler added nodes
    # several nodes took pods, and some pods found none
    bound = {p.node for p in c._live.values() if p.bound}
    assert len(bound) > 3
