"""kube-scheduler's filters for one node, and kubelet's own admission re-check.

Filters mirror the default plugins (k/k pkg/scheduler/framework/plugins):
NodeUnschedulable, NodeAffinity (nodeSelector and required node affinity),
TaintToleration (NoSchedule / NoExecute), NodeResourcesFit (cpu, memory,
ephemeral-storage requests against allocatable, and the pod count against
maxPods). A pod that does not fit stays Pending and is retried when a pod
leaves or the node changes -- never by polling. The messages are the
scheduler's: ``0/1 nodes are available: 1 Insufficient cpu.``

Allocatable, what the filters compare against, is a derived setting
(``hpsim.scenario.derived.allocatable``), shared with the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hpsim.node.pod import Pod
from hpsim.scenario.derived import Allocatable
from hpsim.scenario.manifests import PodSpec


def _match_expression(labels: dict[str, str], op: str, key: str, values: list[str]) -> bool:
    present = key in labels
    if op == "In":
        return present and labels[key] in values
    if op == "NotIn":
        return not present or labels[key] not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    try:
        label, bound = int(labels.get(key, "")), int(values[0])
    except (ValueError, IndexError):
        return False
    return label > bound if op == "Gt" else label < bound


def matches_node(spec: PodSpec, labels: dict[str, str]) -> bool:
    """nodeSelector and requiredDuringScheduling node affinity (terms ORed, expressions ANDed)."""
    if any(labels.get(k) != v for k, v in spec.node_selector.items()):
        return False
    na = spec.affinity.node_affinity if spec.affinity else None
    req = na.required_during_scheduling_ignored_during_execution if na else None
    if req is None or not req.node_selector_terms:
        return True
    return any(
        all(_match_expression(labels, e.operator, e.key, e.values) for e in term.match_expressions)
        for term in req.node_selector_terms
    )


def untolerated_taint(spec: PodSpec, taints: Sequence[tuple[str, str, str]]) -> str | None:
    """The first NoSchedule/NoExecute taint no toleration covers, as the scheduler prints it."""
    for key, value, effect in taints:
        if effect == "PreferNoSchedule":
            continue
        for t in spec.tolerations:
            if t.effect not in (None, effect):
                continue
            if t.key is None and t.operator == "Exists":
                break
            if t.key == key and (t.operator == "Exists" or (t.value or "") == value):
                break
        else:
            return f"{{{key}: {value}}}" if value else f"{{{key}: }}"
    return None


@dataclass(slots=True)
class Usage:
    """Requests of the pods bound to the node and not yet terminal."""

    cpu_m: int = 0
    memory: int = 0
    pods: int = 0

    def add(self, pod: Pod, sign: int = 1) -> None:
        self.cpu_m += sign * pod.cpu_request
        self.memory += sign * pod.memory_request
        self.pods += sign


def insufficient(pod: Pod, used: Usage, alloc: Allocatable) -> list[str]:
    """Resources the pod does not fit in (NodeResourcesFit), in the plugin's order."""
    out = []
    if used.pods + 1 > alloc.pods:
        out.append("pods")
    if pod.cpu_request and used.cpu_m + pod.cpu_request > alloc.cpu_m:
        out.append("cpu")
    if pod.memory_request and used.memory + pod.memory_request > alloc.memory:
        out.append("memory")
    return out
