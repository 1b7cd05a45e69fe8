"""kube-scheduler v1.31's default profile across nodes, as pure functions.

Mirrors kubernetes/kubernetes at v1.31.13 (read in the copy vendored by
kubernetes/autoscaler branch cluster-autoscaler-release-1.31, whose go.mod pins it);
paths below are k/k paths.

- Filters, in the default profile's order, stopping at the first that fails
  (pkg/scheduler/framework/runtime/framework.go ``RunFilterPlugins``): NodeUnschedulable,
  NodeName, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit. The volume
  filters have nothing to check here (no PVCs), nor has PodTopologySpread (no
  DoNotSchedule constraints) or InterPodAffinity (no pod affinity).
- The FailedScheduling message (pkg/scheduler/framework/types.go ``FitError.Error``) and
  DefaultPreemption's PostFilter message, victims and node choice, without PDBs
  (pkg/scheduler/framework/preemption/preemption.go, plugins/defaultpreemption).
- Scores, with Go's integer arithmetic and float conversions: NodeResourcesFit
  (LeastAllocated or MostAllocated), NodeResourcesBalancedAllocation, ImageLocality,
  TaintToleration, NodeAffinity, PodTopologySpread's system default constraints.
  InterPodAffinity scores 0 on every node: hpsim models no pod (anti-)affinity, and with
  none the plugin's PreScore returns Skip.
- ``selectHost``'s reservoir choice among the top scores, on Go's container/heap pop
  order, with a numpy Generator in place of math/rand (pkg/scheduler/schedule_one.go).

Everything here reads a snapshot (``NodeView``) and a pod (``PodAsk``); no simpy.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np

from hpsim.node.scheduler import (
    Usage,
    host_ports,
    insufficient_for,
    matches_node,
    pod_request,
    term_matches,
    tolerates,
    untolerated_taint,
)
from hpsim.scenario.derived import Allocatable
from hpsim.scenario.manifests import Container, PodSpec, Toleration
from hpsim.scenario.schema import SCORE_PLUGINS

__all__ = [
    "DEFAULT_WEIGHTS",
    "NOT_EVALUATED",
    "SUCCESS",
    "UNSCHEDULABLE",
    "UNSCHEDULABLE_AND_UNRESOLVABLE",
    "BoundPod",
    "FilterStatus",
    "Filtered",
    "NodeScores",
    "NodeView",
    "PodAsk",
    "Preemption",
    "balanced_score",
    "choose",
    "evaluated",
    "filter_node",
    "filter_status",
    "find_feasible",
    "fit_error_message",
    "fit_score",
    "image_locality_score",
    "node_filter_status",
    "node_scores",
    "nodes_with_image",
    "nonzero_request",
    "normalized_image_name",
    "normalized_scores",
    "num_candidates",
    "num_feasible_nodes_to_find",
    "pick_node_for_preemption",
    "plugin_scores",
    "pod_ask",
    "pods_filter_status",
    "preempt",
    "preemption_message",
    "preferred_affinity",
    "request_scores",
    "required_match",
    "score_nodes",
    "select_host",
    "select_victims",
    "spec_scores",
    "spread_scores",
    "total_scores",
    "truncate_event_message",
    "untolerated_preferred",
    "weighted_totals",
]

# --- constants, each with its source -------------------------------------------------

# pkg/scheduler/framework/interface.go
MAX_NODE_SCORE = 100
# pkg/scheduler/apis/config/v1/default_plugins.go getDefaultPlugins: the score weights
# (the scenario schema's SCORE_PLUGINS, which a scenario's weights override).
DEFAULT_WEIGHTS: Mapping[str, int] = SCORE_PLUGINS
# pkg/scheduler/apis/config/v1/defaults.go defaultResourceSpec: NodeResourcesFit's
# resources (and BalancedAllocation's, unweighted).
FIT_RESOURCE_WEIGHTS: Mapping[str, int] = {"cpu": 1, "memory": 1}
# pkg/scheduler/util/pod_resources.go DefaultMilliCPURequest, DefaultMemoryRequest.
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
# pkg/scheduler/framework/plugins/imagelocality/image_locality.go
MB = 1024 * 1024
IMAGE_MIN_THRESHOLD = 23 * MB
IMAGE_MAX_CONTAINER_THRESHOLD = 1000 * MB
# pkg/scheduler/schedule_one.go
MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
# pkg/scheduler/apis/config/v1/defaults.go: DefaultPreemption's args.
MIN_CANDIDATE_NODES_PERCENTAGE = 10
MIN_CANDIDATE_NODES_ABSOLUTE = 100
# pkg/apis/core/validation/events.go NoteLengthLimit; schedule_one.go truncateMessage.
NOTE_LENGTH_LIMIT = 1024
TRUNCATION_SUFFIX = " ..."
# pkg/scheduler/framework/types.go NoNodeAvailableMsg; scheduler.go ErrNoNodesAvailable.
NO_NODE_AVAILABLE_MSG = "0/{} nodes are available"
NO_NODES_AVAILABLE = "no nodes available to schedule pods"
# k8s.io/api core/v1 well_known_labels.go, well_known_taints.go
LABEL_HOSTNAME = "kubernetes.io/hostname"
LABEL_ZONE = "topology.kubernetes.io/zone"
TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
# pkg/scheduler/framework/plugins/podtopologyspread/plugin.go systemDefaultConstraints:
# (topology key, maxSkew), both ScheduleAnyway, in this order.
SYSTEM_DEFAULT_SPREAD = ((LABEL_HOSTNAME, 3), (LABEL_ZONE, 5))
# The kinds whose pods a system-default spreading selector finds: helper.DefaultSelector
# reads Services, ReplicationControllers, ReplicaSets and StatefulSets (a Deployment's
# pods belong to its ReplicaSet). hpsim models no Services.
SPREAD_KINDS = frozenset({"Deployment", "ReplicaSet", "StatefulSet"})
# pkg/controller/daemon/util/daemonset_util.go AddOrUpdateDaemonPodTolerations.
DAEMONSET_TOLERATIONS = (
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    (TAINT_UNSCHEDULABLE, "NoSchedule"),
)
DAEMONSET_HOST_NETWORK_TOLERATION = ("node.kubernetes.io/network-unavailable", "NoSchedule")

# Filter reasons: the plugins' ErrReason constants (pkg/scheduler/framework/plugins/...).
REASON_UNSCHEDULABLE = "node(s) were unschedulable"  # nodeunschedulable ErrReasonUnschedulable
REASON_NODE_NAME = "node(s) didn't match the requested node name"  # nodename ErrReason
REASON_TAINT = "node(s) had untolerated taint {}"  # tainttoleration Filter
REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector"  # nodeaffinity ErrReasonPod
REASON_PORTS = "node(s) didn't have free ports for the requested pod ports"  # nodeports ErrReason
# preemption.go nodesWherePreemptionMightHelp; default_preemption.go SelectVictimsOnNode,
# PodEligibleToPreemptOthers; PostFilter's prefix.
REASON_NOT_HELPFUL = "Preemption is not helpful for scheduling"
REASON_NO_VICTIMS = "No preemption victims found for incoming pod"
REASON_PREEMPT_NEVER = "not eligible due to preemptionPolicy=Never."
PREEMPTION_PREFIX = "preemption: "

# Status codes (pkg/scheduler/framework/interface.go Code). NOT_EVALUATED is hpsim's: a
# node outside NodeAffinity's PreFilterResult, absent from the Diagnosis' NodeToStatusMap.
SUCCESS = "Success"
UNSCHEDULABLE = "Unschedulable"
UNSCHEDULABLE_AND_UNRESOLVABLE = "UnschedulableAndUnresolvable"
ERROR = "Error"
NOT_EVALUATED = "NotEvaluated"


# --- what the plugins read --------------------------------------------------------------


@dataclass(slots=True)
class NodeView:
    """What the scheduler's cache knows of one node."""

    name: str
    alloc: Allocatable
    labels: dict[str, str]  # includes kubernetes.io/hostname = name (the caller sets it)
    taints: list[tuple[str, str, str]]  # (key, value, effect), condition taints included
    unschedulable: bool  # spec.unschedulable (cordoned)
    usage: Usage  # actual requests of bound, non-terminal pods
    nonzero_cpu_m: int  # NodeInfo.NonZeroRequested: 100m per container without a cpu request
    nonzero_memory: int  # ... and 200 MiB per container without a memory request
    images: dict[str, int] = field(default_factory=dict)  # node.status.images name -> sizeBytes
    host_ports: set[tuple[str, int]] = field(default_factory=set)  # (protocol, hostPort) in use
    workload_pods: dict[str, int] = field(default_factory=dict)  # live bound pods per spread key


@dataclass(frozen=True, slots=True)
class PodAsk:
    """What the plugins read of a pod (the same for every pod of one workload)."""

    spec: PodSpec  # as the scheduler sees it: DaemonSet tolerations already added
    cpu_m: int
    memory: int
    ephemeral: int
    nonzero_cpu_m: int
    nonzero_memory: int
    images: tuple[str, ...]  # normalized names, init containers first
    containers: int  # init + app containers
    host_ports: tuple[tuple[str, int], ...]
    spread_key: str | None  # workload name when system default spreading applies
    node_name: str | None  # the one node the pod may go to (DaemonSet pin, or spec.nodeName)
    priority: int
    preemption_policy: str = "PreemptLowerPriority"


def normalized_image_name(ref: str) -> str:
    """ImageLocality's name for an image reference: ``:latest`` appended when the last
    ``:`` is not after the last ``/`` -- no tag; a digest keeps its ``:`` after the last
    ``/``, a registry port sits before it (imagelocality/image_locality.go
    ``normalizedImageName``)."""
    if ref.rfind(":") <= ref.rfind("/"):
        return ref + ":latest"
    return ref


def _has_request(c: Container, resource: str) -> bool:
    return resource in c.resources.requests or resource in c.resources.limits


def nonzero_request(spec: PodSpec, resource: str) -> int:
    """The pod's request with 100m cpu / 200 MiB memory for each container that sets none:
    app containers summed, against the largest init container (framework/types.go
    ``calculateResource`` for the node's NonZeroRequested; noderesources/resource_allocation.go
    ``calculatePodResourceRequest`` with NonMissingContainerRequests for the pod; the same
    sum through pkg/api/v1/resource ``PodRequests``). A request the API server defaulted
    from the limit counts as set."""
    default = DEFAULT_MILLI_CPU_REQUEST if resource == "cpu" else DEFAULT_MEMORY_REQUEST

    def one(c: Container) -> int:
        return c.resources.request(resource) if _has_request(c, resource) else default

    app = sum(one(c) for c in spec.containers)
    init = max((one(c) for c in spec.init_containers), default=0)
    return max(app, init)


def _daemonset_tolerations(spec: PodSpec) -> list[Toleration]:
    wanted = list(DAEMONSET_TOLERATIONS)
    if spec.host_network:
        wanted.append(DAEMONSET_HOST_NETWORK_TOLERATION)
    out = list(spec.tolerations)
    for key, effect in wanted:
        t = Toleration.model_validate({"key": key, "operator": "Exists", "effect": effect})
        # AddOrUpdateTolerationInPodSpec keeps an equal toleration, else adds this one.
        if t not in out:
            out.append(t)
    return out


def pod_ask(
    spec: PodSpec,
    kind: str,
    workload: str,
    node_name: str | None = None,
    priority: int = 0,
) -> PodAsk:
    """The scheduler's view of a pod of ``workload`` (a ``kind``). A DaemonSet's pod gets
    the controller's tolerations and ``node_name``, the node it is pinned to."""
    if kind == "DaemonSet":
        spec = spec.model_copy(update={"tolerations": _daemonset_tolerations(spec)})
    images = tuple(
        normalized_image_name(c.image)
        for c in [*spec.init_containers, *spec.containers]
        if c.image is not None
    )
    return PodAsk(
        spec=spec,
        cpu_m=pod_request(spec, "cpu"),
        memory=pod_request(spec, "memory"),
        ephemeral=pod_request(spec, "ephemeral-storage"),
        nonzero_cpu_m=nonzero_request(spec, "cpu"),
        nonzero_memory=nonzero_request(spec, "memory"),
        images=images,
        containers=len(spec.init_containers) + len(spec.containers),
        host_ports=host_ports(spec),
        spread_key=workload if kind in SPREAD_KINDS else None,
        node_name=node_name or spec.node_name,
        priority=priority,
        preemption_policy=spec.preemption_policy or "PreemptLowerPriority",
    )


# --- filters ----------------------------------------------------------------------------


class FilterStatus(NamedTuple):
    """One node's filter outcome: the first failing plugin's code and reasons."""

    code: str
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    @property
    def ok(self) -> bool:
        return self.code == SUCCESS


_PASS = FilterStatus(SUCCESS)


def evaluated(ask: PodAsk, node: NodeView) -> bool:
    """Whether the filters run on ``node`` at all: NodeAffinity's PreFilter turns a
    DaemonSet pod's ``matchFields metadata.name In [node]`` into a PreFilterResult of that
    one node, and findNodesThatFitPod filters only those (nodeaffinity/node_affinity.go
    ``PreFilter``; schedule_one.go ``findNodesThatFitPod``)."""
    return ask.node_name is None or ask.node_name == node.name


def required_match(ask: PodAsk, node: NodeView) -> bool:
    """Whether the node matches the pod's required node affinity (component-helpers
    nodeaffinity GetRequiredNodeAffinity: nodeSelector, required terms, and the pin's
    matchFields metadata.name): it reads the node's name and labels alone."""
    pinned = ask.node_name is None or ask.node_name == node.name
    return pinned and matches_node(ask.spec, node.labels)


def filter_status(ask: PodAsk, node: NodeView) -> FilterStatus:
    """The default profile's filters on one node, stopping at the first that fails."""
    status = node_filter_status(ask, node)
    if not status.ok:
        return status
    return pods_filter_status(ask, node.host_ports, node.usage, node.alloc)


def node_filter_status(ask: PodAsk, node: NodeView) -> FilterStatus:
    """The filters that read the Node object alone (its spec.unschedulable, name, taints
    and labels), in the profile's order: NodeUnschedulable, NodeName, TaintToleration,
    NodeAffinity. They come first in the profile, so the first of them that fails is the
    node's status; when none does, the filters that read its pods decide
    (:func:`pods_filter_status`)."""
    spec = ask.spec
    # nodeunschedulable/node_unschedulable.go Filter: a toleration of the unschedulable
    # taint (NoSchedule) also tolerates spec.unschedulable.
    if node.unschedulable and not tolerates(
        spec.tolerations, TAINT_UNSCHEDULABLE, "", "NoSchedule"
    ):
        return FilterStatus(
            UNSCHEDULABLE_AND_UNRESOLVABLE, (REASON_UNSCHEDULABLE,), "NodeUnschedulable"
        )
    # nodename/node_name.go Fits: spec.nodeName (a pod carrying one never reaches the
    # scheduler; kept for completeness).
    if spec.node_name and spec.node_name != node.name:
        return FilterStatus(UNSCHEDULABLE_AND_UNRESOLVABLE, (REASON_NODE_NAME,), "NodeName")
    # tainttoleration/taint_toleration.go Filter: the first untolerated NoSchedule or
    # NoExecute taint (component-helpers FindMatchingUntoleratedTaint).
    taint = untolerated_taint(spec, node.taints)
    if taint:
        return FilterStatus(
            UNSCHEDULABLE_AND_UNRESOLVABLE, (REASON_TAINT.format(taint),), "TaintToleration"
        )
    # nodeaffinity/node_affinity.go Filter: ErrReasonPod.
    if not required_match(ask, node):
        return FilterStatus(UNSCHEDULABLE_AND_UNRESOLVABLE, (REASON_AFFINITY,), "NodeAffinity")
    return _PASS


def pods_filter_status(
    ask: PodAsk, host_ports: Collection[tuple[str, int]], usage: Usage, alloc: Allocatable
) -> FilterStatus:
    """The filters that read what the pods on a node take -- the host ports in use, the
    requests -- against its allocatable, in the profile's order: NodePorts,
    NodeResourcesFit. They follow :func:`node_filter_status`'s."""
    # nodeports/node_ports.go fitsPorts (every host IP is 0.0.0.0 here).
    if ask.host_ports and any(p in host_ports for p in ask.host_ports):
        return FilterStatus(UNSCHEDULABLE, (REASON_PORTS,), "NodePorts")
    # noderesources/fit.go fitsRequest: actual requests, several reasons at once.
    short = insufficient_for(ask.cpu_m, ask.memory, usage, alloc, ask.ephemeral)
    if short:
        reasons = tuple("Too many pods" if r == "pods" else f"Insufficient {r}" for r in short)
        return FilterStatus(UNSCHEDULABLE, reasons, "NodeResourcesFit")
    return _PASS


def filter_node(ask: PodAsk, node: NodeView) -> tuple[str, ...]:
    """The first failing filter's reasons on ``node``; empty when it passes. Does not
    apply the DaemonSet pre-filter (see ``evaluated`` and ``find_feasible``)."""
    return filter_status(ask, node).reasons


def num_feasible_nodes_to_find(n_nodes: int, percentage: int = 0) -> int:
    """How many feasible nodes the filter loop looks for (schedule_one.go
    ``numFeasibleNodesToFind``): all below 100 nodes; else ``percentage`` of them, or
    50 - n/125 percent (at least 5) when it is 0; never fewer than 100."""
    if n_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return n_nodes
    if percentage == 0:
        percentage = max(50 - n_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    return max(n_nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


@dataclass(frozen=True, slots=True)
class Filtered:
    """One filtering pass: feasible node indices, the NodeToStatusMap of rejected evaluated
    nodes (index -> status), every node's status (NOT_EVALUATED outside the pre-filter),
    and the next start index."""

    feasible: list[int]
    rejected: dict[int, FilterStatus]
    statuses: list[FilterStatus]
    next_start: int


def find_feasible(ask: PodAsk, nodes: Sequence[NodeView], next_start: int = 0) -> Filtered:
    """schedule_one.go ``findNodesThatFitPod`` / ``findNodesThatPassFilters``, run in
    order instead of in parallel: from ``next_start``, stop after
    ``num_feasible_nodes_to_find`` feasible nodes; the start moves on by the nodes
    processed, modulo all nodes. Only the pinned node is filtered for a DaemonSet pod."""
    statuses = [FilterStatus(NOT_EVALUATED)] * len(nodes)
    if not nodes:
        return Filtered([], {}, statuses, 0)
    chosen = [i for i, n in enumerate(nodes) if evaluated(ask, n)]
    want = num_feasible_nodes_to_find(len(chosen))
    feasible: list[int] = []
    rejected: dict[int, FilterStatus] = {}
    for k in range(len(chosen)):
        if len(feasible) >= want:
            break
        i = chosen[(next_start + k) % len(chosen)]
        st = filter_status(ask, nodes[i])
        statuses[i] = st
        if st.ok:
            feasible.append(i)
        else:
            rejected[i] = st
    return Filtered(
        feasible, rejected, statuses, (next_start + len(feasible) + len(rejected)) % len(nodes)
    )


# --- messages ---------------------------------------------------------------------------


def fit_error_message(
    total_nodes: int, node_reasons: Sequence[Sequence[str]], postfilter: str | None = None
) -> str:
    """framework/types.go ``FitError.Error``: "0/N nodes are available: " and the reason
    histogram ("<count> <reason>", sorted as Go's sort.Strings sorts bytes, so "10 x"
    comes before "2 y"), ". ", then the PostFilter message. ``node_reasons`` holds the
    rejected nodes' reasons (the NodeToStatusMap); nodes never evaluated are left out.
    No nodes at all: scheduler.go ``ErrNoNodesAvailable``."""
    if total_nodes == 0:
        return NO_NODES_AVAILABLE
    counts = Counter(r for reasons in node_reasons for r in reasons)
    # Python orders str by code point, which is UTF-8's byte order: sort.Strings' order.
    histogram = sorted(f"{n} {reason}" for reason, n in counts.items())
    msg = NO_NODE_AVAILABLE_MSG.format(total_nodes) + ":"
    if histogram:
        msg += " " + ", ".join(histogram) + "."
    if postfilter:
        msg += " " + postfilter
    return msg


def fit_error_causes(node_reasons: Sequence[Sequence[str]]) -> str:
    """The reasons :func:`fit_error_message` counts, each once, sorted, joined by "; ":
    what the pod waits for whatever the node count ("Insufficient cpu; node(s) had
    untolerated taint {node.kubernetes.io/not-ready: }"). Not an upstream string: the
    NodeToStatusMap's reasons (framework/types.go ``Diagnosis``) kept as a record, so
    the results need not parse the message's wording."""
    return "; ".join(sorted({r for reasons in node_reasons for r in reasons}))


def truncate_event_message(message: str) -> str:
    """schedule_one.go ``truncateMessage``: over NoteLengthLimit (1024) bytes, the first
    1020 bytes and " ...". Go slices bytes; a character cut in two becomes U+FFFD when
    the event is serialised. The pod condition keeps the whole message."""
    raw = message.encode()
    if len(raw) <= NOTE_LENGTH_LIMIT:
        return message
    cut = raw[: NOTE_LENGTH_LIMIT - len(TRUNCATION_SUFFIX)]
    return cut.decode(errors="replace") + TRUNCATION_SUFFIX


# --- preemption (DefaultPreemption, no PDBs) ----------------------------------------------


class BoundPod(NamedTuple):
    """A pod bound to a node, as preemption weighs it."""

    priority: int
    cpu_m: int
    memory: int
    ephemeral: int
    start_time: float  # status.startTime; the caller passes now for a pod not started
    key: str
    host_ports: tuple[tuple[str, int], ...] = ()


def _without(node: NodeView, pods: Sequence[BoundPod]) -> NodeView:
    usage = node.usage.copy()
    ports = set(node.host_ports)
    for p in pods:
        usage.cpu_m -= p.cpu_m
        usage.memory -= p.memory
        usage.ephemeral -= p.ephemeral
        usage.pods -= 1
        ports.difference_update(p.host_ports)
    return replace(node, usage=usage, host_ports=ports)


def select_victims(
    ask: PodAsk, node: NodeView, pods_on_node: Sequence[tuple[Any, ...]]
) -> tuple[BoundPod, ...] | FilterStatus:
    """default_preemption.go ``SelectVictimsOnNode`` without PDBs: remove every
    lower-priority pod; none: "No preemption victims found for incoming pod"
    (UnschedulableAndUnresolvable); the pod still does not fit: that filter status
    (e.g. "Insufficient cpu"); else reprieve pods from the most important down
    (util.MoreImportantPod: higher priority, then earlier start) and return those that
    do not fit back, most important first. ``pods_on_node``: BoundPod or plain tuples
    in its field order."""
    pods = [p if isinstance(p, BoundPod) else BoundPod(*p) for p in pods_on_node]
    lower = [p for p in pods if p.priority < ask.priority]
    if not lower:
        return FilterStatus(
            UNSCHEDULABLE_AND_UNRESOLVABLE, (REASON_NO_VICTIMS,), "DefaultPreemption"
        )
    status = filter_status(ask, _without(node, lower))
    if not status.ok:
        return status
    # sort.Slice is not stable: hpsim's stable sort fixes the order of exact ties.
    lower.sort(key=lambda p: (-p.priority, p.start_time))
    removed = list(lower)
    victims = []
    for p in lower:
        removed.remove(p)
        if not filter_status(ask, _without(node, removed)).ok:
            removed.append(p)
            victims.append(p)
    if not victims:
        # DryRunPreemption: success without victims is an error for that node.
        return FilterStatus(ERROR, (f'expected at least one victim pod on node "{node.name}"',))
    return tuple(victims)


def num_candidates(n_potential: int) -> int:
    """default_preemption.go ``calculateNumCandidates``: 10% of the potential nodes, at
    least 100, at most all of them."""
    n = n_potential * MIN_CANDIDATE_NODES_PERCENTAGE // 100
    return min(max(n, MIN_CANDIDATE_NODES_ABSOLUTE), n_potential)


def pick_node_for_preemption(candidates: Sequence[Sequence[BoundPod]]) -> int:
    """preemption.go ``pickOneNodeForPreemption`` without PDBs, over each candidate's
    victims (most important first): the lowest highest-victim priority, then the smallest
    sum of priorities (each + 2^31), the fewest victims, the latest earliest-start among
    the highest-priority victims, then the first. Go takes "first" in map order (random);
    here it is the first in ``candidates``."""
    if not candidates:
        raise ValueError("no preemption candidates")

    def earliest_top(v: Sequence[BoundPod]) -> float:
        top = max(p.priority for p in v)
        return min(p.start_time for p in v if p.priority == top)

    funcs: list[Callable[[Sequence[BoundPod]], float]] = [
        lambda v: -v[0].priority,
        lambda v: -sum(p.priority + 2**31 for p in v),
        lambda v: -len(v),
        earliest_top,
    ]
    alive = list(range(len(candidates)))
    for f in funcs:
        scores = [f(candidates[i]) for i in alive]
        best = max(scores)
        alive = [i for i, s in zip(alive, scores, strict=True) if s == best]
        if len(alive) == 1:
            break
    return alive[0]


def preemption_message(
    statuses: Sequence[FilterStatus], preemption_policy: str | None = None
) -> str:
    """The PostFilter message when no node can be made to fit, from every node's status
    after the dry run (``preempt`` builds them): "preemption: " + a FitError over all of
    them (preemption.go ``Preempt``: NumAllNodes is the map's size). With
    preemptionPolicy Never: "preemption: not eligible due to preemptionPolicy=Never."."""
    if preemption_policy == "Never":
        return PREEMPTION_PREFIX + REASON_PREEMPT_NEVER
    return PREEMPTION_PREFIX + fit_error_message(len(statuses), [s.reasons for s in statuses])


@dataclass(frozen=True, slots=True)
class Preemption:
    """DefaultPreemption's outcome: the nominated node (an index) and its victims, or
    None and the PostFilter message for the FitError."""

    node: int | None
    victims: tuple[BoundPod, ...]
    message: str


def preempt(
    ask: PodAsk,
    statuses: Sequence[FilterStatus],
    nodes: Sequence[NodeView],
    pods_on_nodes: Sequence[Sequence[BoundPod]],
) -> Preemption:
    """preemption.go ``Preempt`` after a FitError: only nodes whose filter status is
    Unschedulable are tried; UnschedulableAndUnresolvable ones, and nodes absent from the
    NodeToStatusMap (outside the DaemonSet pre-filter), are "Preemption is not helpful for
    scheduling" (``nodesWherePreemptionMightHelp``). The dry run stops once
    ``num_candidates`` nodes have victims (its random offset is 0 here). Not modelled:
    PDBs, a terminating victim on the nominated node, extenders."""
    if ask.preemption_policy == "Never":
        return Preemption(None, (), preemption_message(statuses, "Never"))
    not_helpful = FilterStatus(UNSCHEDULABLE_AND_UNRESOLVABLE, (REASON_NOT_HELPFUL,))
    potential = [i for i, s in enumerate(statuses) if s.code == UNSCHEDULABLE]
    after = [s if s.code == UNSCHEDULABLE else not_helpful for s in statuses]
    want = num_candidates(len(potential))
    found: list[tuple[int, tuple[BoundPod, ...]]] = []
    for i in potential:
        if len(found) >= want:
            break
        got = select_victims(ask, nodes[i], pods_on_nodes[i])
        if isinstance(got, FilterStatus):
            after[i] = got
        else:
            found.append((i, got))
    if not found:
        return Preemption(None, (), preemption_message(after))
    best = pick_node_for_preemption([v for _, v in found])
    return Preemption(found[best][0], found[best][1], "")


# --- scores -------------------------------------------------------------------------------


def _default_normalize(scores: list[int], reverse: bool) -> list[int]:
    # plugins/helper/normalize_score.go DefaultNormalizeScore.
    top = max(scores, default=0)
    if top == 0:
        return [MAX_NODE_SCORE if reverse else 0 for _ in scores]
    out = [MAX_NODE_SCORE * s // top for s in scores]
    return [MAX_NODE_SCORE - s for s in out] if reverse else out


def _least_requested(requested: int, capacity: int) -> int:
    # noderesources/least_allocated.go leastRequestedScore
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def _most_requested(requested: int, capacity: int) -> int:
    # noderesources/most_allocated.go mostRequestedScore
    if capacity == 0:
        return 0
    return min(requested, capacity) * MAX_NODE_SCORE // capacity


_FIT_SCORERS = {"LeastAllocated": _least_requested, "MostAllocated": _most_requested}
_CPU_WEIGHT, _MEMORY_WEIGHT = FIT_RESOURCE_WEIGHTS["cpu"], FIT_RESOURCE_WEIGHTS["memory"]


def fit_score(ask: PodAsk, node: NodeView, strategy: str = "LeastAllocated") -> int:
    """NodeResourcesFit's score, cpu and memory weighted 1:1 (apis/config/v1/defaults.go
    defaultResourceSpec): the node's NonZeroRequested plus the pod's non-zero request
    (resource_allocation.go ``calculateResourceAllocatableRequest``, useRequested false),
    scored per resource, weighted mean in integers (least_allocated.go
    ``leastResourceScorer``, most_allocated.go ``mostResourceScorer``)."""
    return _fit(ask, node.alloc, node.nonzero_cpu_m, node.nonzero_memory, strategy)


def _fit(
    ask: PodAsk, alloc: Allocatable, nonzero_cpu_m: int, nonzero_memory: int, strategy: str
) -> int:
    one = _FIT_SCORERS[strategy]
    cpu_alloc, memory_alloc = alloc.cpu_m, alloc.memory
    total = weight_sum = 0
    if cpu_alloc:
        total += one(nonzero_cpu_m + ask.nonzero_cpu_m, cpu_alloc) * _CPU_WEIGHT
        weight_sum += _CPU_WEIGHT
    if memory_alloc:
        total += one(nonzero_memory + ask.nonzero_memory, memory_alloc) * _MEMORY_WEIGHT
        weight_sum += _MEMORY_WEIGHT
    return total // weight_sum if weight_sum else 0


def balanced_score(ask: PodAsk, node: NodeView) -> int:
    """NodeResourcesBalancedAllocation (balanced_allocation.go ``balancedResourceScorer``):
    actual requests including the pod's (useRequested true), fraction min(f, 1) per
    resource, std |f_cpu - f_mem| / 2, score int64((1 - std) * 100), Go's float64 steps."""
    return _balanced(ask, node.alloc, node.usage.cpu_m, node.usage.memory)


def _balanced(ask: PodAsk, alloc: Allocatable, cpu_m: int, memory: int) -> int:
    fractions = []
    for requested, allocatable in (
        (cpu_m + ask.cpu_m, alloc.cpu_m),
        (memory + ask.memory, alloc.memory),
    ):
        if allocatable == 0:
            continue
        fractions.append(min(float(requested) / float(allocatable), 1.0))
    std = abs((fractions[0] - fractions[1]) / 2) if len(fractions) == 2 else 0.0
    return int((1 - std) * float(MAX_NODE_SCORE))


def request_scores(
    ask: PodAsk, alloc: Allocatable, usage: Usage, strategy: str = "LeastAllocated"
) -> tuple[int, int]:
    """The scores that read the node's requests and allocatable alone -- NodeResourcesFit's
    (from ``usage``'s non-zero requests) and BalancedAllocation's (from its requests) --
    as :func:`fit_score` and :func:`balanced_score` give them on a view with ``usage``."""
    return (
        _fit(ask, alloc, usage.nonzero_cpu_m, usage.nonzero_memory, strategy),
        _balanced(ask, alloc, usage.cpu_m, usage.memory),
    )


def image_locality_score(
    images: Sequence[str],
    containers: int,
    node_images: Mapping[str, int],
    nodes_with: Mapping[str, int],
    total_nodes: int,
) -> int:
    """ImageLocality (imagelocality/image_locality.go): ``sumImageScores`` adds, for each
    container whose image the node reports, int64(size * float64(numNodes)/float64(total))
    (``scaledImageScore``); ``calculatePriority`` clamps the sum to [23 MiB, 1000 MiB x
    containers] and maps it to 0..100. Sizes are the node's own (the cache keeps the first
    reporter's; hpsim's nodes agree)."""
    total = 0
    for name in images:
        size = node_images.get(name)
        if size is not None:
            spread = float(nodes_with.get(name, 1)) / float(total_nodes)
            total += int(float(size) * spread)
    top = IMAGE_MAX_CONTAINER_THRESHOLD * containers
    total = min(max(total, IMAGE_MIN_THRESHOLD), top)
    return MAX_NODE_SCORE * (total - IMAGE_MIN_THRESHOLD) // (top - IMAGE_MIN_THRESHOLD)


def untolerated_preferred(ask: PodAsk, taints: Sequence[tuple[str, str, str]]) -> int:
    """TaintToleration's Score on one node: its PreferNoSchedule taints the pod does not
    tolerate (tainttoleration/taint_toleration.go ``countIntolerableTaintsPreferNoSchedule``)."""
    return sum(
        1
        for key, value, effect in taints
        if effect == "PreferNoSchedule" and not tolerates(ask.spec.tolerations, key, value, effect)
    )


def preferred_affinity(ask: PodAsk, labels: dict[str, str]) -> int:
    """NodeAffinity's Score on one node: the weights of the preferred terms its labels
    match (nodeaffinity/node_affinity.go ``Score``; a zero weight or an empty term is
    dropped: NewPreferredSchedulingTerms)."""
    na = ask.spec.affinity.node_affinity if ask.spec.affinity else None
    terms = na.preferred_during_scheduling_ignored_during_execution if na else []
    return sum(t.weight for t in terms if t.weight and term_matches(t.preference, labels))


def _taint_scores(ask: PodAsk, nodes: Sequence[NodeView]) -> list[int]:
    # tainttoleration/taint_toleration.go Score, NormalizeScore reversed.
    raw = [untolerated_preferred(ask, n.taints) for n in nodes]
    return _default_normalize(raw, reverse=True)


def _affinity_scores(ask: PodAsk, nodes: Sequence[NodeView]) -> list[int]:
    # nodeaffinity/node_affinity.go Score, NormalizeScore.
    raw = [preferred_affinity(ask, n.labels) for n in nodes]
    return _default_normalize(raw, reverse=False)


def _go_round(x: float) -> int:
    # Go math.Round: half away from zero (Python's round() goes to even). x >= 0 here.
    r = math.floor(x)
    return int(r + 1 if x - r >= 0.5 else r)


def spread_scores(
    ask: PodAsk,
    feasible: Sequence[tuple[Mapping[str, str], int]],
    matching: Iterable[tuple[Mapping[str, str], int]],
) -> list[int]:
    """PodTopologySpread with the system default constraints (podtopologyspread/
    scoring.go), from each feasible node's labels and count of the workload's pods, and
    the same of every node that matches the pod's required node affinity (``matching``:
    the nodes ``PreScore`` counts in, NodeAffinityPolicy Honor, NodeTaintsPolicy Ignore:
    common.go). ``initPreScoreState``: a zone domain per distinct zone value among the
    feasible nodes -- a node without the label adds the domain "" -- and weights
    log(size + 2), the hostname size being the number of feasible nodes. ``PreScore``
    counts the workload's pods per zone. ``Score``: Σ cnt × weight + (maxSkew − 1) over
    the constraints whose label the node has (so a node without a zone label gets no zone
    term), rounded as Go's math.Round. ``NormalizeScore``: 100 × (max + min − s) / max,
    all 100 when max is 0."""
    if ask.spread_key is None:  # no selector: PreScore returns Skip
        return [0] * len(feasible)
    zones = {labels.get(LABEL_ZONE, "") for labels, _ in feasible}
    weights = {
        LABEL_HOSTNAME: math.log(float(len(feasible) + 2)),
        LABEL_ZONE: math.log(float(len(zones) + 2)),
    }
    zone_pods = dict.fromkeys(zones, 0)
    for labels, count in matching:
        zone = labels.get(LABEL_ZONE, "")
        if zone in zone_pods:
            zone_pods[zone] += count
    raw = []
    for labels, count in feasible:
        score = 0.0
        for topology_key, max_skew in SYSTEM_DEFAULT_SPREAD:
            if topology_key not in labels:
                continue
            cnt = count if topology_key == LABEL_HOSTNAME else zone_pods[labels[topology_key]]
            score += float(cnt) * weights[topology_key] + float(max_skew - 1)
        raw.append(_go_round(score))
    top, low = max(raw), min(raw)
    if top == 0:
        return [MAX_NODE_SCORE] * len(raw)
    return [MAX_NODE_SCORE * (top + low - s) // top for s in raw]


def _spread_scores(
    ask: PodAsk, feasible: Sequence[NodeView], all_nodes: Sequence[NodeView]
) -> list[int]:
    """:func:`spread_scores` over node views: ``all_nodes`` is the snapshot the pods are
    counted in."""
    key = ask.spread_key
    if key is None:
        return [0] * len(feasible)
    counted = (
        (n.labels, count)
        for n in all_nodes
        # a node without the workload's pods adds nothing (the affinity match costs more)
        if (count := n.workload_pods.get(key, 0)) and required_match(ask, n)
    )
    return spread_scores(ask, [(n.labels, n.workload_pods.get(key, 0)) for n in feasible], counted)


def nodes_with_image(nodes: Sequence[NodeView]) -> dict[str, int]:
    """How many nodes report each image name (internal/cache/snapshot.go
    ``createImageExistenceMap``)."""
    return dict(Counter(name for n in nodes for name in n.images))


class NodeScores(NamedTuple):
    """The score plugins' Score on one node, before NormalizeScore: what each works out
    from that node and the pod alone (PodTopologySpread's needs every node's pods: see
    :func:`spread_scores`; InterPodAffinity scores 0)."""

    taint: int  # TaintToleration (normalised reversed)
    affinity: int  # NodeAffinity (normalised)
    fit: int  # NodeResourcesFit (not normalised)
    balanced: int  # NodeResourcesBalancedAllocation (not normalised)
    image: int  # ImageLocality (not normalised; its scaling reads nodes_with and the total)


def node_scores(
    ask: PodAsk,
    node: NodeView,
    total_nodes: int,
    nodes_with: Mapping[str, int],
    strategy: str = "LeastAllocated",
) -> NodeScores:
    """One node's :class:`NodeScores` for the pod."""
    return NodeScores(
        untolerated_preferred(ask, node.taints),
        preferred_affinity(ask, node.labels),
        fit_score(ask, node, strategy),
        balanced_score(ask, node),
        image_locality_score(ask.images, ask.containers, node.images, nodes_with, total_nodes),
    )


def spec_scores(
    ask: PodAsk, node: NodeView, total_nodes: int, nodes_with: Mapping[str, int]
) -> tuple[int, int, int]:
    """The scores that do not read the node's requests: TaintToleration's,
    NodeAffinity's and ImageLocality's, as :func:`node_scores` gives them."""
    return (
        untolerated_preferred(ask, node.taints),
        preferred_affinity(ask, node.labels),
        image_locality_score(ask.images, ask.containers, node.images, nodes_with, total_nodes),
    )


def normalized_scores(raw: Sequence[NodeScores], spread: Sequence[int]) -> dict[str, list[int]]:
    """Each score plugin's scores (0..100) over the feasible nodes after NormalizeScore
    (runtime/framework.go ``RunScorePlugins``), before weights, from each node's
    :class:`NodeScores` and PodTopologySpread's normalised scores."""
    return {
        "TaintToleration": _default_normalize([r.taint for r in raw], reverse=True),
        "NodeAffinity": _default_normalize([r.affinity for r in raw], reverse=False),
        "PodTopologySpread": list(spread),
        "InterPodAffinity": [0] * len(raw),
        "NodeResourcesFit": [r.fit for r in raw],
        "NodeResourcesBalancedAllocation": [r.balanced for r in raw],
        "ImageLocality": [r.image for r in raw],
    }


def plugin_scores(
    ask: PodAsk,
    feasible: Sequence[NodeView],
    total_nodes: int,
    nodes_with: Mapping[str, int],
    strategy: str = "LeastAllocated",
    all_nodes: Sequence[NodeView] | None = None,
) -> dict[str, list[int]]:
    """Each score plugin's normalised scores (0..100) over the feasible nodes, before
    weights. ``all_nodes`` (default: ``feasible``) is the snapshot PodTopologySpread
    counts zone pods in."""
    every = feasible if all_nodes is None else all_nodes
    raw = [node_scores(ask, n, total_nodes, nodes_with, strategy) for n in feasible]
    return normalized_scores(raw, _spread_scores(ask, feasible, every))


def weighted_totals(
    per: Mapping[str, Sequence[int]], n_nodes: int, weights: Mapping[str, int] | None = None
) -> list[int]:
    """Each feasible node's TotalScore: Σ score × weight (runtime/framework.go
    ``RunScorePlugins``)."""
    w = DEFAULT_WEIGHTS if weights is None else weights
    totals = [0] * n_nodes
    for plugin, scores in per.items():
        weight = w.get(plugin, 0)
        if weight:
            totals = [t + s * weight for t, s in zip(totals, scores, strict=True)]
    return totals


def total_scores(
    raw: Sequence[NodeScores], spread: Sequence[int], weights: Mapping[str, int] | None = None
) -> list[int]:
    """Each feasible node's TotalScore from its :class:`NodeScores` and PodTopologySpread's
    normalised scores: :func:`weighted_totals` over :func:`normalized_scores`, in one pass
    over the nodes (InterPodAffinity's 0 adds nothing)."""
    w = DEFAULT_WEIGHTS if weights is None else weights
    taint = _default_normalize([r.taint for r in raw], reverse=True)
    affinity = _default_normalize([r.affinity for r in raw], reverse=False)
    w_taint, w_affinity, w_spread = (
        w.get("TaintToleration", 0),
        w.get("NodeAffinity", 0),
        w.get("PodTopologySpread", 0),
    )
    w_fit, w_balanced, w_image = (
        w.get("NodeResourcesFit", 0),
        w.get("NodeResourcesBalancedAllocation", 0),
        w.get("ImageLocality", 0),
    )
    return [
        t * w_taint
        + a * w_affinity
        + s * w_spread
        + r.fit * w_fit
        + r.balanced * w_balanced
        + r.image * w_image
        for t, a, s, r in zip(taint, affinity, spread, raw, strict=True)
    ]


def score_nodes(
    ask: PodAsk,
    feasible: Sequence[NodeView],
    total_nodes: int,
    nodes_with: Mapping[str, int],
    weights: Mapping[str, int] | None = None,
    strategy: str = "LeastAllocated",
    all_nodes: Sequence[NodeView] | None = None,
) -> list[int]:
    """Each feasible node's TotalScore: Σ score × weight (runtime/framework.go
    ``RunScorePlugins``)."""
    every = feasible if all_nodes is None else all_nodes
    raw = [node_scores(ask, n, total_nodes, nodes_with, strategy) for n in feasible]
    return total_scores(raw, _spread_scores(ask, feasible, every), weights)


# --- choice -------------------------------------------------------------------------------


def _go_heap_down(h: list[tuple[int, int]], i: int, n: int) -> None:
    # Go container/heap down(), with nodeScoreHeap.Less: higher TotalScore first.
    while True:
        j = 2 * i + 1
        if j >= n:
            return
        if j + 1 < n and h[j + 1][0] > h[j][0]:
            j += 1
        if not h[j][0] > h[i][0]:
            return
        h[i], h[j] = h[j], h[i]
        i = j


def select_host(totals: Sequence[int], rng: np.random.Generator) -> int:
    """schedule_one.go ``selectHost``: pop a max-heap of the scores (Go container/heap
    Init and Pop on the list in the feasible nodes' order) and keep, among the nodes with
    the top score, the k-th popped with probability 1/k (``rand.Intn(cntOfMaxScore) ==
    0``). Draws exactly (number of top-scored nodes − 1) integers from ``rng``, none for
    a single node. Returns an index into ``totals``."""
    if not totals:
        raise ValueError("empty priority list")
    top = max(totals)
    if totals.count(top) == 1:
        return totals.index(top)  # popped first, and no other top score: no draw
    h = [(s, i) for i, s in enumerate(totals)]
    n = len(h)
    for i in range(n // 2 - 1, -1, -1):
        _go_heap_down(h, i, n)
    popped = []
    while n:
        n -= 1
        h[0], h[n] = h[n], h[0]
        _go_heap_down(h, 0, n)
        popped.append(h.pop())
        if popped[-1][0] != popped[0][0]:
            break
    top = popped[0][0]
    selected = popped[0][1]
    count = 1
    for score, index in popped[1:]:
        if score != top:
            break
        count += 1
        if int(rng.integers(count)) == 0:
            selected = index
    return selected


def choose(
    ask: PodAsk,
    feasible: Sequence[NodeView],
    total_nodes: int,
    nodes_with: Mapping[str, int],
    rng: np.random.Generator,
    weights: Mapping[str, int] | None = None,
    strategy: str = "LeastAllocated",
    all_nodes: Sequence[NodeView] | None = None,
) -> int:
    """The index of the feasible node the pod goes to. One feasible node is taken without
    scoring or drawing (schedule_one.go ``schedulePod``: "When only one node after
    predicate, just use it")."""
    if not feasible:
        raise ValueError("no feasible node")
    if len(feasible) == 1:
        return 0
    totals = score_nodes(ask, feasible, total_nodes, nodes_with, weights, strategy, all_nodes)
    return select_host(totals, rng)
