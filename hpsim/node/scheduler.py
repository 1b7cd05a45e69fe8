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
from hpsim.scenario.manifests import NodeSelectorTerm, PodSpec, Toleration


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
    return any(term_matches(term, labels) for term in req.node_selector_terms)


def term_matches(term: NodeSelectorTerm, labels: dict[str, str]) -> bool:
    """One node selector term: its expressions ANDed; an empty term matches no node
    (k8s.io/component-helpers scheduling/corev1/nodeaffinity nodeSelectorRequirementsAsSelector
    returns labels.Nothing() for no requirements)."""
    return bool(term.match_expressions) and all(
        _match_expression(labels, e.operator, e.key, e.values) for e in term.match_expressions
    )


def untolerated_taint(spec: PodSpec, taints: Sequence[tuple[str, str, str]]) -> str | None:
    """The first NoSchedule/NoExecute taint no toleration covers, as the scheduler prints it."""
    for key, value, effect in taints:
        if effect == "PreferNoSchedule":
            continue
        if not tolerates(spec.tolerations, key, value, effect):
            return f"{{{key}: {value}}}"
    return None


def tolerates(tolerations: Sequence[Toleration], key: str, value: str, effect: str) -> bool:
    """Whether any toleration covers the taint: k8s.io/api core/v1 toleration.go
    ``ToleratesTaint`` (an empty effect or key matches any; Exists ignores the value)."""
    for t in tolerations:
        if t.effect and t.effect != effect:
            continue
        if t.key and t.key != key:
            continue
        if t.operator == "Exists" or (t.value or "") == value:
            return True
    return False


@dataclass(slots=True)
class Usage:
    """Requests of the pods bound to the node and not yet terminal."""

    cpu_m: int = 0
    memory: int = 0
    pods: int = 0
    ephemeral: int = 0  # ephemeral-storage
    # NodeInfo.NonZeroRequested: what scoring counts (100m / 200 MiB for a container
    # without a request; k/k pkg/scheduler/util/pod_resources.go)
    nonzero_cpu_m: int = 0
    nonzero_memory: int = 0

    def add(self, pod: Pod, sign: int = 1) -> None:
        self.cpu_m += sign * pod.cpu_request
        self.memory += sign * pod.memory_request
        self.pods += sign
        self.ephemeral += sign * pod.ephemeral_request
        self.nonzero_cpu_m += sign * pod.nonzero_cpu_m
        self.nonzero_memory += sign * pod.nonzero_memory

    def copy(self) -> Usage:
        return Usage(
            self.cpu_m,
            self.memory,
            self.pods,
            self.ephemeral,
            self.nonzero_cpu_m,
            self.nonzero_memory,
        )


def host_ports(spec: PodSpec) -> tuple[tuple[str, int], ...]:
    """The (protocol, hostPort) pairs a pod takes on its node (NodePorts): its app
    containers' ports with a hostPort (nodeports/node_ports.go getContainerPorts). A
    hostNetwork pod's hostPort defaults to its containerPort (pkg/apis/core/v1/defaults.go
    SetDefaults_Pod defaultHostNetworkPorts). Protocol: TCP, the default (hpsim's
    ContainerPort carries no protocol)."""
    out = []
    for c in spec.containers:
        for p in c.ports:
            port = p.host_port or (p.container_port if spec.host_network else 0)
            if port > 0:
                out.append(("TCP", port))
    return tuple(out)


def pod_request(spec: PodSpec, resource: str) -> int:
    """The pod's effective request: the larger of its app containers' sum and its largest
    init container's (k/k pkg/api/v1/resource PodRequests, no overhead on Windows here)."""
    app = sum(c.resources.request(resource) for c in spec.containers)
    init = max((c.resources.request(resource) for c in spec.init_containers), default=0)
    return max(app, init)


def placement_failure(
    spec: PodSpec, labels: dict[str, str], taints: Sequence[tuple[str, str, str]]
) -> str | None:
    """NodeAffinity's or TaintToleration's reason this node is not for the pod, or None."""
    if not matches_node(spec, labels):
        return "1 node(s) didn't match Pod's node affinity/selector"
    taint = untolerated_taint(spec, taints)
    if taint:
        return f"1 node(s) had untolerated taint {taint}"
    return None


def insufficient(pod: Pod, used: Usage, alloc: Allocatable) -> list[str]:
    """Resources the pod does not fit in (NodeResourcesFit), in the plugin's order."""
    return insufficient_for(pod.cpu_request, pod.memory_request, used, alloc, pod.ephemeral_request)


def insufficient_for(
    cpu_m: int, memory: int, used: Usage, alloc: Allocatable, ephemeral: int = 0
) -> list[str]:
    """Resources requests of ``cpu_m`` millicores, ``memory`` and ``ephemeral`` bytes of
    ephemeral-storage do not fit in: k/k pkg/scheduler/framework/plugins/noderesources/
    fit.go ``fitsRequest``, in its order (pods, cpu, memory, ephemeral-storage), which
    kubelet's admission runs too (pkg/kubelet/lifecycle/predicate.go). Ephemeral storage
    counts on Windows as elsewhere: the Windows kubelet reports its capacity and
    allocatable (LocalStorageCapacityIsolation, GA and always on since 1.25)."""
    out = []
    if used.pods + 1 > alloc.pods:
        out.append("pods")
    if cpu_m and used.cpu_m + cpu_m > alloc.cpu_m:
        out.append("cpu")
    if memory and used.memory + memory > alloc.memory:
        out.append("memory")
    if ephemeral and used.ephemeral + ephemeral > alloc.ephemeral_storage:
        out.append("ephemeral-storage")
    return out


def pod_limit(spec: PodSpec, resource: str) -> int | None:
    """The pod's limit of ``resource`` (k/k pkg/api/v1/resource PodLimits): its app
    containers' limits summed, or its largest init container's if larger; None when no
    container sets one."""
    app = [
        int(c.resources.limits[resource]) for c in spec.containers if resource in c.resources.limits
    ]
    init = [
        int(c.resources.limits[resource])
        for c in spec.init_containers
        if resource in c.resources.limits
    ]
    if not app and not init:
        return None
    return max(sum(app), max(init, default=0))


def insufficient_words(short: list[str]) -> str:
    """NodeResourcesFit's reasons as the scheduler words them: ``1 Insufficient cpu``."""
    return ", ".join(f"1 Insufficient {r}" if r != "pods" else "1 Too many pods" for r in short)


def unavailable(why: str) -> str:
    """The FailedScheduling message for one node that does not fit, for ``why``."""
    return f"0/1 nodes are available: {why}."
