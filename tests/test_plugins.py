"""hpsim.cluster.plugins: kube-scheduler 1.31's filters, scores and messages, by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hpsim.cluster import plugins as pl
from hpsim.node.scheduler import Usage
from hpsim.scenario.derived import Allocatable
from hpsim.scenario.manifests import PodSpec

GiB = 1024**3
MiB = 1024**2
SERVERCORE = "mcr.microsoft.com/windows/servercore:ltsc2022"
SERVERCORE_BYTES = 2_183_997_398
NANOSERVER = "mcr.microsoft.com/windows/nanoserver:ltsc2022"
NANOSERVER_BYTES = 124_257_916
WINDOWS = {"kubernetes.io/os": "windows"}


def spec(cpu: str | None = "500m", memory: str | None = "1Gi", **extra: Any) -> PodSpec:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    container = {"name": "app", "image": SERVERCORE, "resources": {"requests": requests}}
    return PodSpec.model_validate({"containers": [container], **extra})


def node(
    name: str,
    labels: dict[str, str] | None = None,
    cpu_used: int = 0,
    mem_used: int = 0,
    pods: int = 0,
    **extra: Any,
) -> pl.NodeView:
    return pl.NodeView(
        name=name,
        alloc=Allocatable(cpu_m=4000, memory=16 * GiB, ephemeral_storage=100 * GiB, pods=30),
        labels={"kubernetes.io/hostname": name, **(labels or {})},
        taints=extra.pop("taints", []),
        unschedulable=extra.pop("unschedulable", False),
        usage=Usage(cpu_m=cpu_used, memory=mem_used, pods=pods),
        nonzero_cpu_m=cpu_used,
        nonzero_memory=mem_used,
        **extra,
    )


# --- ImageLocality --------------------------------------------------------------------

# one container: maxThreshold = 1000 MiB = 1_048_576_000; minThreshold = 23 MiB =
# 24_117_248; score = 100 * (sum - 24_117_248) // 1_024_458_752 after clamping.


def locality(size: int, on: int, total: int = 10, containers: int = 1) -> int:
    return pl.image_locality_score(
        [SERVERCORE], containers, {SERVERCORE: size}, {SERVERCORE: on}, total
    )


def test_image_locality_servercore_by_spread():
    # 10/10: 2_183_997_398 > max -> 100; 5/10: 1_091_998_699 > max -> 100
    # 4/10: int(873_598_959.2) = 873_598_959; 100 * 849_481_711 // 1_024_458_752 = 82
    # 2/10: 436_799_479; 100 * 412_682_231 // 1_024_458_752 = 40
    # 1/10: 218_399_739; 100 * 194_282_491 // 1_024_458_752 = 18
    got = [locality(SERVERCORE_BYTES, on) for on in (10, 5, 4, 2, 1)]
    assert got == [100, 100, 82, 40, 18]


def test_image_locality_nanoserver_and_two_containers():
    # 10/10: 100 * 100_140_668 // 1_024_458_752 = 9; 5/10: 62_128_958 -> 100 * 38_011_710
    # // ... = 3; 1/10: 12_425_791 < 23 MiB -> clamped -> 0
    got = [locality(NANOSERVER_BYTES, on) for on in (10, 5, 1)]
    assert got == [9, 3, 0]
    # two containers: maxThreshold 2_097_152_000; 100 * 849_481_711 // 2_073_034_752 = 40
    assert locality(SERVERCORE_BYTES, 4, containers=2) == 40


def test_normalized_image_name():
    assert pl.normalized_image_name("nginx") == "nginx:latest"
    assert pl.normalized_image_name("localhost:5000/app") == "localhost:5000/app:latest"
    assert pl.normalized_image_name("repo/app@sha256:ab12") == "repo/app@sha256:ab12"
    assert pl.normalized_image_name(SERVERCORE) == SERVERCORE


# --- NodeResourcesFit and BalancedAllocation ----------------------------------------------


def test_least_most_allocated_and_balanced_on_a_4_core_16_gib_node():
    ask = pl.pod_ask(spec("500m", "1Gi"), "Deployment", "web")
    n = node("w1", WINDOWS, cpu_used=1000, mem_used=4 * GiB)
    # cpu: requested 1500 of 4000 -> (2500 * 100) // 4000 = 62
    # memory: 5 GiB of 16 GiB -> (11 * 100) // 16 = 68; (62 + 68) // 2 = 65
    assert pl.fit_score(ask, n) == 65
    # MostAllocated: 1500 * 100 // 4000 = 37; 5 * 100 // 16 = 31; (37 + 31) // 2 = 34
    assert pl.fit_score(ask, n, "MostAllocated") == 34
    # fractions 0.375 and 0.3125: std = 0.03125; int((1 - 0.03125) * 100) = int(96.875) = 96
    assert pl.balanced_score(ask, n) == 96


def test_least_allocated_counts_100m_and_200mib_for_a_container_without_requests():
    ask = pl.pod_ask(spec(None, None), "Deployment", "web")
    assert (ask.cpu_m, ask.memory, ask.nonzero_cpu_m, ask.nonzero_memory) == (0, 0, 100, 200 * MiB)
    n = node("w1", WINDOWS)
    # cpu: (4000 - 100) * 100 // 4000 = 97; memory: (16384 - 200) MiB * 100 // 16384 MiB = 98
    assert pl.fit_score(ask, n) == (97 + 98) // 2
    # Balanced uses the actual requests: 0 and 0 -> std 0 -> 100
    assert pl.balanced_score(ask, n) == 100


# --- the totals, and the choice -------------------------------------------------------------


def test_the_node_holding_the_base_image_scores_highest():
    ask = pl.pod_ask(spec("500m", "1Gi"), "Deployment", "web")
    nodes = [node(f"w{i}", WINDOWS) for i in range(3)]
    nodes[0].images = {SERVERCORE: SERVERCORE_BYTES}
    with_image = pl.nodes_with_image(nodes)
    per = pl.plugin_scores(ask, nodes, 3, with_image)
    # TaintToleration 100 (no taints); NodeAffinity 0; PodTopologySpread: raw 0 * log(5) + 2
    # on every node (no zone label: no zone term) -> max == min -> 100; InterPodAffinity 0
    # Fit: cpu 3500 * 100 // 4000 = 87, memory 15 * 100 // 16 = 93 -> 90
    # Balanced: 0.125 vs 0.0625 -> std 0.03125 -> 96
    # ImageLocality on w0: int(2_183_997_398 / 3) = 727_999_132; 100 * 703_881_884 //
    # 1_024_458_752 = 68; elsewhere 0
    assert per["ImageLocality"] == [68, 0, 0]
    assert per["NodeResourcesFit"] == [90, 90, 90]
    assert per["NodeResourcesBalancedAllocation"] == [96, 96, 96]
    assert per["PodTopologySpread"] == [100, 100, 100]
    # 100*3 + 0*2 + 100*2 + 0*2 + 90 + 96 + 68 = 754; without the image 686
    totals = pl.score_nodes(ask, nodes, 3, with_image)
    assert totals == [754, 686, 686]
    rng = np.random.default_rng(1)
    assert pl.choose(ask, nodes, 3, with_image, rng) == 0


class CountingRng:
    def __init__(self) -> None:
        self.draws = 0
        self.inner = np.random.default_rng(0)

    def integers(self, n: int) -> int:
        self.draws += 1
        return int(self.inner.integers(n))


def test_select_host_draws_once_per_extra_top_node():
    rng = CountingRng()
    pl.select_host([5, 9, 9, 1, 9], rng)  # type: ignore[arg-type]
    assert rng.draws == 2  # three nodes share the top score
    rng = CountingRng()
    assert pl.select_host([3, 7, 1], rng) == 1  # type: ignore[arg-type]
    assert rng.draws == 0


def test_ties_are_reproducible_and_uniform():
    ask = pl.pod_ask(spec(), "Deployment", "web")
    nodes = [node(f"w{i}", WINDOWS) for i in range(3)]
    totals = pl.score_nodes(ask, nodes, 3, {})
    assert len(set(totals)) == 1
    first = [pl.select_host(totals, rng) for rng in [np.random.default_rng(7)] for _ in range(50)]
    again = [pl.select_host(totals, rng) for rng in [np.random.default_rng(7)] for _ in range(50)]
    assert first == again
    rng = np.random.default_rng(2024)
    picks = np.bincount([pl.select_host(totals, rng) for _ in range(3000)], minlength=3)
    assert all(0.25 * 3000 <= c <= 0.42 * 3000 for c in picks)


def test_one_feasible_node_is_taken_without_drawing():
    rng = CountingRng()
    ask = pl.pod_ask(spec(), "Deployment", "web")
    assert pl.choose(ask, [node("w0", WINDOWS)], 5, {}, rng) == 0  # type: ignore[arg-type]
    assert rng.draws == 0


# --- the other score plugins -----------------------------------------------------------------


def test_taint_toleration_and_node_affinity_scores():
    prefer = "PreferNoSchedule"
    nodes = [
        node("a", {"zone": "a", **WINDOWS}, taints=[("x", "1", prefer), ("y", "", prefer)]),
        node("b", WINDOWS, taints=[("x", "1", prefer)]),
        node("c"),
    ]
    affinity = {
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "preference": {"matchExpressions": [
                    {"key": "zone", "operator": "In", "values": ["a"]}]}},
                {"weight": 30, "preference": {"matchExpressions": [
                    {"key": "kubernetes.io/os", "operator": "Exists"}]}},
            ]
        }
    }  # fmt: skip
    ask = pl.pod_ask(spec(affinity=affinity), "Job", "batch")
    per = pl.plugin_scores(ask, nodes, 3, {})
    # untolerated PreferNoSchedule taints 2, 1, 0 -> 100 - 100*c//2 = 0, 50, 100
    assert per["TaintToleration"] == [0, 50, 100]
    # matching weights 40, 30, 0 -> 100*s//40 = 100, 75, 0
    assert per["NodeAffinity"] == [100, 75, 0]
    # a Job's pods get no system default spreading: PreScore Skip -> 0
    assert per["PodTopologySpread"] == [0, 0, 0]


def test_pod_topology_spread_system_default_with_zones():
    zone = "topology.kubernetes.io/zone"
    ask = pl.pod_ask(spec(), "Deployment", "web")
    nodes = [
        node("n1", {zone: "a"}, workload_pods={"web": 2}),
        node("n2", {zone: "a"}),
        node("n3", {zone: "b"}),
    ]
    # hostname weight log(3 + 2) = 1.6094; zones {a, b}: log(2 + 2) = 1.3863; zone a has 2
    # n1: 2*1.6094 + 2 + 2*1.3863 + 4 = 11.99 -> 12; n2: 0 + 2 + 2.77 + 4 = 8.77 -> 9;
    # n3: 2 + 0 + 4 = 6. Normalised 100*(12 + 6 - s)//12: 50, 75, 100
    assert pl.plugin_scores(ask, nodes, 3, {})["PodTopologySpread"] == [50, 75, 100]
    # a node without the zone label gets no zone term: zones {a, ""}, log(4)
    # n1: 2 + 0 + 4 = 6; bare: 2 -> 100*(8 - 6)//6 = 33 and 100*(8 - 2)//6 = 100
    two = [node("n1", {zone: "a"}), node("bare")]
    assert pl.plugin_scores(ask, two, 2, {})["PodTopologySpread"] == [33, 100]


# --- filters and messages ---------------------------------------------------------------------


def pool(not_ready: bool = False, linux: int = 3) -> list[pl.NodeView]:
    nodes = [node(f"l{i}", {"kubernetes.io/os": "linux"}) for i in range(linux)]
    nodes += [node(f"w{i}", WINDOWS, cpu_used=4000, pods=4) for i in range(2)]
    if not_ready:
        nodes.append(
            node("w9", WINDOWS, taints=[("node.kubernetes.io/not-ready", "", "NoSchedule")])
        )
    return nodes


def full_windows_pods() -> list[pl.BoundPod]:
    return [pl.BoundPod(0, 1000, 0, 0, float(i), f"old-{i}") for i in range(4)]


def failed_scheduling(nodes: list[pl.NodeView], ask: pl.PodAsk) -> str:
    found = pl.find_feasible(ask, nodes)
    assert found.feasible == []
    pods = [full_windows_pods() if n.name.startswith("w") else [] for n in nodes]
    outcome = pl.preempt(ask, found.statuses, nodes, pods)
    assert outcome.node is None
    reasons = [s.reasons for s in found.rejected.values()]
    return pl.fit_error_message(len(nodes), reasons, outcome.message)


def test_fit_error_for_windows_pod_on_a_mixed_pool():
    ask = pl.pod_ask(spec("1", nodeSelector=WINDOWS), "Deployment", "web")
    assert failed_scheduling(pool(), ask) == (
        "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) didn't match Pod's node "
        "affinity/selector. preemption: 0/5 nodes are available: 2 No preemption victims "
        "found for incoming pod, 3 Preemption is not helpful for scheduling."
    )
    assert failed_scheduling(pool(not_ready=True), ask) == (
        "0/6 nodes are available: 1 node(s) had untolerated taint "
        "{node.kubernetes.io/not-ready: }, 2 Insufficient cpu, 3 node(s) didn't match Pod's "
        "node affinity/selector. preemption: 0/6 nodes are available: 2 No preemption "
        "victims found for incoming pod, 4 Preemption is not helpful for scheduling."
    )


def test_fit_error_sorts_counts_as_strings():
    ask = pl.pod_ask(spec("1", nodeSelector=WINDOWS), "Deployment", "web")
    nodes = pool(linux=10)
    reasons = [pl.filter_node(ask, n) for n in nodes]
    assert pl.fit_error_message(12, reasons) == (
        "0/12 nodes are available: 10 node(s) didn't match Pod's node affinity/selector, "
        "2 Insufficient cpu."
    )
    assert pl.fit_error_message(0, []) == "no nodes available to schedule pods"


def test_preemption_policy_never():
    never = spec("1", nodeSelector=WINDOWS, preemptionPolicy="Never")
    ask = pl.pod_ask(never, "Deployment", "web", priority=100)
    assert failed_scheduling(pool(), ask).endswith(
        "selector. preemption: not eligible due to preemptionPolicy=Never."
    )


def test_daemonset_pod_is_filtered_on_its_node_only():
    ds = pl.pod_ask(spec("1"), "DaemonSet", "agent", node_name="w0")
    nodes = pool()
    nodes[0].unschedulable = True  # would be tolerated anyway: DaemonSet toleration
    found = pl.find_feasible(ds, nodes)
    assert list(found.rejected) == [3]
    assert sum(s.code == pl.NOT_EVALUATED for s in found.statuses) == 4
    # FitError counts every node but reports the one it filtered; preemption calls the
    # nodes absent from the NodeToStatusMap "not helpful" (preemption.go
    # nodesWherePreemptionMightHelp)
    assert failed_scheduling(nodes, ds) == (
        "0/5 nodes are available: 1 Insufficient cpu. preemption: 0/5 nodes are available: "
        "1 No preemption victims found for incoming pod, 4 Preemption is not helpful for "
        "scheduling."
    )


def test_filter_order_and_codes():
    ask = pl.pod_ask(spec("1", nodeSelector=WINDOWS), "Deployment", "web")
    cordoned = node("c", WINDOWS, unschedulable=True, cpu_used=4000)
    assert pl.filter_status(ask, cordoned) == pl.FilterStatus(
        pl.UNSCHEDULABLE_AND_UNRESOLVABLE, ("node(s) were unschedulable",), "NodeUnschedulable"
    )
    toleration = {"key": "node.kubernetes.io/unschedulable", "operator": "Exists"}
    tolerant = spec("1", tolerations=[{**toleration, "effect": "NoSchedule"}])
    assert pl.filter_node(pl.pod_ask(tolerant, "Pod", "p"), cordoned) == ("Insufficient cpu",)
    ports = PodSpec.model_validate(
        {"hostNetwork": True, "containers": [{"name": "a", "ports": [{"containerPort": 80}]}]}
    )
    busy = node("b", host_ports={("TCP", 80)})
    status = pl.filter_status(pl.pod_ask(ports, "Pod", "p"), busy)
    assert (status.code, status.reasons) == (
        pl.UNSCHEDULABLE,
        ("node(s) didn't have free ports for the requested pod ports",),
    )
    packed = node("p", pods=30, cpu_used=4000, mem_used=16 * GiB)
    assert pl.filter_node(pl.pod_ask(spec("1", "1Gi"), "Pod", "p"), packed) == (
        "Too many pods",
        "Insufficient cpu",
        "Insufficient memory",
    )


def test_truncate_event_message():
    assert pl.truncate_event_message("x" * 1024) == "x" * 1024
    cut = pl.truncate_event_message("x" * 1100)
    assert len(cut) == 1024 and cut.endswith("x ...")


# --- preemption ------------------------------------------------------------------------------


def test_select_victims_reprieves_the_most_important_first():
    ask = pl.pod_ask(spec("2"), "Deployment", "web", priority=20)
    n = node("w", cpu_used=4000, pods=4)
    on_node = [
        (10, 1000, 0, 0, 1.0, "a"),
        (5, 1000, 0, 0, 2.0, "b"),
        (5, 1000, 0, 0, 3.0, "c"),
        (1, 1000, 0, 0, 4.0, "d"),
    ]
    # all four removed; reprieve a (1000 + 2000 fits), b (2000 + 2000 = 4000 fits),
    # c (3000 + 2000 > 4000: victim), d (victim)
    victims = pl.select_victims(ask, n, on_node)
    assert isinstance(victims, tuple)
    assert [v.key for v in victims] == ["c", "d"]


def test_victims_that_would_not_make_room():
    ask = pl.pod_ask(spec("1"), "Deployment", "web", priority=100)
    n = node("w", cpu_used=4000, pods=2)
    on_node = [pl.BoundPod(0, 500, 0, 0, 1.0, "low"), pl.BoundPod(1000, 3500, 0, 0, 2.0, "high")]
    # without "low": 3500 used, 1000 > 500 free
    got = pl.select_victims(ask, n, on_node)
    assert got == pl.FilterStatus(pl.UNSCHEDULABLE, ("Insufficient cpu",), "NodeResourcesFit")
    status = pl.FilterStatus(pl.UNSCHEDULABLE, ("Insufficient cpu",))
    outcome = pl.preempt(ask, [status], [n], [on_node])
    assert outcome.message == "preemption: 0/1 nodes are available: 1 Insufficient cpu."


def test_preempt_nominates_and_pick_node_order():
    ask = pl.pod_ask(spec("1", nodeSelector=WINDOWS), "Deployment", "web", priority=10)
    nodes = pool()
    found = pl.find_feasible(ask, nodes)
    pods = [full_windows_pods() if n.name.startswith("w") else [] for n in nodes]
    outcome = pl.preempt(ask, found.statuses, nodes, pods)
    # both Windows nodes free 1000m by evicting their latest-started pod (start 3.0);
    # every criterion ties, so the first candidate (w0, index 3) wins
    assert (outcome.node, [v.key for v in outcome.victims], outcome.message) == (3, ["old-3"], "")

    def bp(priority: int, start: float) -> pl.BoundPod:
        return pl.BoundPod(priority, 0, 0, 0, start, "")

    # lowest highest-victim priority: candidates 1 and 2 (priority 1); smaller priority
    # sum: candidate 2 (1 + 2^31 < 2 * (1 + 2^31))
    assert pl.pick_node_for_preemption([[bp(5, 0)], [bp(1, 0), bp(1, 0)], [bp(1, 0)]]) == 2
    # all else equal: the latest start of the highest-priority victims
    assert pl.pick_node_for_preemption([[bp(1, 5.0)], [bp(1, 9.0)]]) == 1


def test_num_feasible_nodes_to_find():
    # below 100 all; 500: 50 - 4 = 46% -> 230; 1000: 42% -> 420; 5000: 10% -> 500;
    # 6000: 50 - 48 = 2 -> 5% -> 300; 150: 49% -> 73 -> at least 100
    got = [pl.num_feasible_nodes_to_find(n) for n in (50, 500, 1000, 5000, 6000, 150)]
    assert got == [50, 230, 420, 500, 300, 100]
    assert pl.num_feasible_nodes_to_find(1000, 10) == 100


# --- property ---------------------------------------------------------------------------------

node_strategy = st.builds(
    lambda cpu, mem, cpu_used, mem_used, has_image, prefer, zone, mine: pl.NodeView(
        name="n",
        alloc=Allocatable(cpu_m=cpu, memory=mem, ephemeral_storage=GiB, pods=30),
        labels={"kubernetes.io/hostname": "n", **({pl.LABEL_ZONE: zone} if zone else {})},
        taints=[("t", "", "PreferNoSchedule")] * prefer,
        unschedulable=False,
        usage=Usage(cpu_m=cpu_used, memory=mem_used),
        nonzero_cpu_m=cpu_used,
        nonzero_memory=mem_used,
        images={SERVERCORE: SERVERCORE_BYTES} if has_image else {},
        workload_pods={"web": mine},
    ),
    st.integers(0, 64_000),
    st.integers(0, 256 * GiB),
    st.integers(0, 80_000),
    st.integers(0, 300 * GiB),
    st.booleans(),
    st.integers(0, 3),
    st.sampled_from(["", "a", "b"]),
    st.integers(0, 40),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    st.lists(node_strategy, min_size=2, max_size=8),
    st.sampled_from(["LeastAllocated", "MostAllocated"]),
)
def test_every_score_is_within_0_and_100(nodes: list[pl.NodeView], strategy: str) -> None:
    ask = pl.pod_ask(spec(), "Deployment", "web")
    total = len(nodes) + 2
    per = pl.plugin_scores(ask, nodes, total, pl.nodes_with_image(nodes), strategy)
    assert all(0 <= s <= 100 for scores in per.values() for s in scores)
    totals = pl.score_nodes(ask, nodes, total, pl.nodes_with_image(nodes), strategy=strategy)
    assert all(0 <= t <= 100 * sum(pl.DEFAULT_WEIGHTS.values()) for t in totals)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(node_strategy, min_size=2, max_size=8),
    st.sampled_from(["LeastAllocated", "MostAllocated"]),
    st.lists(st.integers(0, 5), min_size=7, max_size=7),
)
def test_total_scores_is_the_weighted_sum_of_the_normalised_scores(
    nodes: list[pl.NodeView], strategy: str, weights: list[int]
) -> None:
    """The one-pass total (what the scheduler adds up) equals Σ weight × score over
    plugin_scores' lists, whatever the weights; and request_scores/spec_scores are
    node_scores' parts."""
    ask = pl.pod_ask(spec(), "Deployment", "web")
    w = dict(zip(pl.DEFAULT_WEIGHTS, weights, strict=True))
    total, with_image = len(nodes) + 2, pl.nodes_with_image(nodes)
    per = pl.plugin_scores(ask, nodes, total, with_image, strategy)
    raw = [pl.node_scores(ask, n, total, with_image, strategy) for n in nodes]
    spread = per["PodTopologySpread"]
    assert pl.total_scores(raw, spread, w) == pl.weighted_totals(per, len(nodes), w)
    for n, r in zip(nodes, raw, strict=True):
        usage = Usage(
            cpu_m=n.usage.cpu_m,
            memory=n.usage.memory,
            nonzero_cpu_m=n.nonzero_cpu_m,
            nonzero_memory=n.nonzero_memory,
        )
        assert pl.request_scores(ask, n.alloc, usage, strategy) == (r.fit, r.balanced)
        assert pl.spec_scores(ask, n, total, with_image) == (r.taint, r.affinity, r.image)
