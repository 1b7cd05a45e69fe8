"""INTERIM: replaced by the plugins module of branch plugins15."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from hpsim.node.scheduler import Usage, insufficient_for, matches_node, untolerated_taint
from hpsim.scenario.derived import Allocatable
from hpsim.scenario.manifests import PodSpec


@dataclass(slots=True)
class NodeView:
    name: str
    alloc: Allocatable
    labels: dict[str, str]
    taints: list[tuple[str, str, str]]
    unschedulable: bool
    usage: Usage
    images: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PodAsk:
    spec: PodSpec
    kind: str
    cpu_m: int
    memory: int
    ephemeral: int
    node_name: str | None


@dataclass(frozen=True, slots=True)
class Verdict:
    reasons: tuple[str, ...]


def pod_ask(
    spec: PodSpec, kind: str, workload: str, node_name: str | None = None, priority: int = 0
) -> PodAsk:
    from hpsim.node.scheduler import pod_request

    return PodAsk(
        spec,
        kind,
        pod_request(spec, "cpu"),
        pod_request(spec, "memory"),
        pod_request(spec, "ephemeral-storage"),
        node_name,
    )


_DS_TOLERATED = {
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
}


def _taints(ask: PodAsk, node: NodeView) -> list[tuple[str, str, str]]:
    if ask.kind != "DaemonSet":
        return node.taints
    return [t for t in node.taints if (t[0], t[2]) not in _DS_TOLERATED]


def filter_node(ask: PodAsk, node: NodeView) -> Verdict:
    if node.unschedulable and ask.kind != "DaemonSet":
        return Verdict(("node(s) were unschedulable",))
    if ask.node_name is not None and ask.node_name != node.name:
        return Verdict(("node(s) didn't match the requested node name",))
    taint = untolerated_taint(ask.spec, _taints(ask, node))
    if taint:
        return Verdict((f"node(s) had untolerated taint {taint}",))
    if not matches_node(ask.spec, node.labels):
        return Verdict(("node(s) didn't match Pod's node affinity/selector",))
    short = insufficient_for(ask.cpu_m, ask.memory, node.usage, node.alloc, ask.ephemeral)
    return Verdict(tuple(f"Insufficient {r}" if r != "pods" else "Too many pods" for r in short))


def daemon_should_run(ask: PodAsk, node: NodeView) -> bool:
    taint = untolerated_taint(ask.spec, _taints(ask, node))
    return taint is None and matches_node(ask.spec, node.labels)


def reasons_histogram(
    total: int, rejected: Sequence[tuple[str, ...]], pinned: str | None = None
) -> str:
    counts = Counter(r for reasons in rejected for r in reasons)
    return ", ".join(sorted(f"{n} {r}" for r, n in counts.items()))


def fit_error_text(total: int, why: str) -> str:
    return f"0/{total} nodes are available: {why}."


def nodes_with_images(held: Iterable[Iterable[str]]) -> dict[str, int]:
    return dict(Counter(ref for refs in held for ref in refs))


def choose(
    ask: PodAsk,
    feasible: Sequence[NodeView],
    *,
    total_nodes: int,
    nodes_with_image: Mapping[str, int],
    weights: Mapping[str, int],
    strategy: str,
    rng: np.random.Generator,
) -> int:
    scores = [
        ((n.alloc.cpu_m - n.usage.cpu_m - ask.cpu_m) * 100 // max(n.alloc.cpu_m, 1))
        for n in feasible
    ]
    top = max(scores)
    best = [i for i, s in enumerate(scores) if s == top]
    return best[int(rng.integers(len(best)))]
