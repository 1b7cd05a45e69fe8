"""The pure pieces of the Cluster Autoscaler's decisions: binpacking, expanders,
drainability, utilization, and Go's way of printing numbers in event messages.

Each function mirrors one file of kubernetes/autoscaler, branch
cluster-autoscaler-release-1.31 (commit 2b0c076), paths under cluster-autoscaler/.
``hpsim.cluster.autoscaler`` holds the state and the loop; this module holds no state.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

# ---------------------------------------------------------------------------------------------
# Pods as the estimator and the drain simulation see them


@dataclass(frozen=True)
class MovablePod:
    """A pod on a node, with what the drainability rules read.

    ``controller_kind`` is the kind of the pod's controller ownerReference (a
    Deployment's pods are owned by a ``ReplicaSet``; None: a bare pod).
    ``safe_to_evict`` is the value of the annotation
    ``cluster-autoscaler.kubernetes.io/safe-to-evict`` (None: absent).
    ``local_volumes`` names the pod's hostPath volumes and emptyDir volumes whose
    medium is not ``Memory``; ``safe_to_evict_local_volumes`` the names listed in
    ``cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes``
    (utils/drain/drain.go ``isLocalVolume``, ``getNonBlockingVolumes``).
    DaemonSet pods may be listed (``controller_kind="DaemonSet"``): they never block
    and are never moved.
    """

    key: str
    namespace: str
    cpu_m: int
    memory: int
    controller_kind: str | None = "ReplicaSet"
    safe_to_evict: str | None = None
    local_volumes: tuple[str, ...] = ()
    safe_to_evict_local_volumes: tuple[str, ...] = ()
    mirror: bool = False
    has_pdb: bool = False

    @property
    def daemonset(self) -> bool:
        return self.controller_kind == "DaemonSet"


# simulator/drainability/rules/replicated/rule.go ``replicatedKind`` (with
# --skip-nodes-with-custom-controller-pods, default true).
REPLICATED_KINDS = frozenset({"ReplicationController", "Job", "ReplicaSet", "StatefulSet"})

# drain.BlockingPodReason names (utils/drain/drain.go), for reports.
NOT_REPLICATED = "NotReplicated"
UNMOVABLE_KUBE_SYSTEM_POD = "UnmovableKubeSystemPod"
NOT_SAFE_TO_EVICT = "NotSafeToEvictAnnotation"
LOCAL_STORAGE_REQUESTED = "LocalStorageRequested"


@dataclass(frozen=True)
class DrainOptions:
    skip_nodes_with_system_pods: bool = True
    skip_nodes_with_local_storage: bool = True
    skip_nodes_with_custom_controller_pods: bool = True


def drain_outcome(pod: MovablePod, opts: DrainOptions) -> str | None:
    """``"skip"``, ``"ok"`` (move it, or it is a DaemonSet pod), or a blocking reason.

    The rule order of simulator/drainability/rules/rules.go ``Default``: mirror
    (skip), [long-terminating, replica count: need listers, not modelled],
    DaemonSet (drainable), safe-to-evict "true" (drainable), [terminal], then the
    blocking ones: not replicated, kube-system without a PDB, safe-to-evict
    "false", local storage; [PDB budget: no PDBs modelled]. The first rule with an
    outcome decides, so a DaemonSet pod with a hostPath volume never blocks.
    """
    if pod.mirror:
        return "skip"  # rules/mirror: NewSkipStatus
    if pod.daemonset:
        return "ok"  # rules/daemonset
    if pod.safe_to_evict == "true":
        return "ok"  # rules/safetoevict: drain.HasSafeToEvictAnnotation
    replicated = pod.controller_kind is not None
    if opts.skip_nodes_with_custom_controller_pods:
        replicated = replicated and pod.controller_kind in REPLICATED_KINDS
    if not replicated:
        return NOT_REPLICATED  # rules/replicated: "%s/%s is not replicated"
    if opts.skip_nodes_with_system_pods and pod.namespace == "kube-system" and not pod.has_pdb:
        return UNMOVABLE_KUBE_SYSTEM_POD  # rules/system
    if pod.safe_to_evict == "false":
        return NOT_SAFE_TO_EVICT  # rules/notsafetoevict
    if opts.skip_nodes_with_local_storage:
        allowed = set(pod.safe_to_evict_local_volumes)
        if any(v not in allowed for v in pod.local_volumes):
            return LOCAL_STORAGE_REQUESTED  # rules/localstorage: drain.HasBlockingLocalStorage
    return "ok"


def pods_to_move(
    pods: Sequence[MovablePod], opts: DrainOptions
) -> tuple[list[MovablePod], tuple[MovablePod, str] | None]:
    """simulator/drain.go ``GetPodsToMove``: the pods to reschedule (DaemonSet and
    mirror pods excluded), or the first blocking pod and its reason."""
    moving: list[MovablePod] = []
    for pod in pods:
        outcome = drain_outcome(pod, opts)
        if outcome == "skip":
            continue
        if outcome == "ok":
            if not pod.daemonset:
                moving.append(pod)
            continue
        assert outcome is not None
        return [], (pod, outcome)
    return moving, None


# ---------------------------------------------------------------------------------------------
# Utilization


@dataclass(frozen=True)
class Utilization:
    """simulator/utilization/info.go ``Info``."""

    cpu: float
    mem: float
    resource: str  # "cpu" or "memory": the larger (ties: memory)
    value: float

    def go(self) -> str:
        """The struct as Go's ``%v`` prints it in the ScaleDown event."""
        cpu, mem, value = go_float(self.cpu), go_float(self.mem), go_float(self.value)
        return f"{{{cpu} {mem} 0 {self.resource} {value}}}"


def utilization(
    requested_cpu_m: int,
    requested_memory: int,
    daemonset_cpu_m: int,
    daemonset_memory: int,
    alloc_cpu_m: int,
    alloc_memory: int,
    ignore_daemonsets: bool,
) -> Utilization:
    """utilization.go ``Calculate`` / ``CalculateUtilizationOfResource``: requests over
    allocatable; with --ignore-daemonsets-utilization the DaemonSet requests leave
    both the sum and the allocatable."""
    cpu_req, mem_req, cpu_alloc, mem_alloc = (
        requested_cpu_m,
        requested_memory,
        alloc_cpu_m,
        alloc_memory,
    )
    if ignore_daemonsets:
        cpu_req -= daemonset_cpu_m
        mem_req -= daemonset_memory
        cpu_alloc -= daemonset_cpu_m
        mem_alloc -= daemonset_memory
    cpu = cpu_req / cpu_alloc if cpu_alloc > 0 else 0.0
    mem = mem_req / mem_alloc if mem_alloc > 0 else 0.0
    if cpu > mem:
        return Utilization(cpu, mem, "cpu", cpu)
    return Utilization(cpu, mem, "memory", mem)


# ---------------------------------------------------------------------------------------------
# Binpacking estimator


@dataclass
class Room:
    """Free cpu, memory and pod slots on one (real or simulated) node."""

    cpu_m: int
    memory: int
    pods: int

    def fits(self, cpu_m: int, memory: int) -> bool:
        return cpu_m <= self.cpu_m and memory <= self.memory and self.pods >= 1

    def take(self, cpu_m: int, memory: int) -> None:
        self.cpu_m -= cpu_m
        self.memory -= memory
        self.pods -= 1


class PodLike(Protocol):
    """What the estimator reads from a pod (PendingPod and MovablePod both have it)."""

    @property
    def key(self) -> str: ...
    @property
    def cpu_m(self) -> int: ...
    @property
    def memory(self) -> int: ...


def min_limit(base: int, target: int) -> int:
    """estimator/threshold_based_limiter.go ``getMinLimit``: -1 wins, 0 is no limit."""
    if base < 0 or target < 0:
        return -1
    if (base == 0 or base > target) and target > 0:
        return target
    return base


def pod_score(cpu_m: int, memory: int, alloc_cpu_m: int, alloc_memory: int) -> float:
    """estimator/decreasing_pod_orderer.go ``calculatePodScore``."""
    score = 0.0
    if alloc_cpu_m > 0:
        score += cpu_m / alloc_cpu_m
    if alloc_memory > 0:
        score += memory / alloc_memory
    return score


def estimate(
    groups: Sequence[Sequence[PodLike]],
    headroom: Room,
    alloc_cpu_m: int,
    alloc_memory: int,
    max_new_nodes: int,
) -> tuple[int, list[PodLike]]:
    """estimator/binpacking_estimator.go ``Estimate``: node count and pods placed.

    Equivalence groups are ordered by the exemplar's score, largest first
    (``DecreasingPodOrderer``; a stable sort here, Go's sort.Slice is not). For each
    group the pods first go to the new nodes opened so far, then to the last
    opened node, then to a fresh template copy; a pod that does not fit a fresh
    copy ends the group. ``max_new_nodes`` is the threshold limiter's cap (0: none,
    -1: not one node). Placement on the opened nodes is first-fit; upstream's
    ``FitsAnyNodeMatching`` starts its scan where the last success was (round robin).
    Only cpu, memory and pod slots are checked: every other Filter plugin answers the
    same on every copy, and the caller already asked that once per group.
    """
    ordered = sorted(
        groups,
        key=lambda g: -pod_score(g[0].cpu_m, g[0].memory, alloc_cpu_m, alloc_memory),
    )
    nodes: list[Room] = []
    with_pods: set[int] = set()
    placed: list[PodLike] = []
    added = 0

    def permission() -> bool:
        nonlocal added
        if max_new_nodes < 0 or (max_new_nodes > 0 and added >= max_new_nodes):
            return False
        added += 1
        return True

    for group in ordered:
        index = 0
        while index < len(group):
            pod = group[index]
            slot = next((i for i, r in enumerate(nodes) if r.fits(pod.cpu_m, pod.memory)), None)
            if slot is None:
                break
            nodes[slot].take(pod.cpu_m, pod.memory)
            with_pods.add(slot)
            placed.append(pod)
            index += 1
        for pod in group[index:]:
            last = len(nodes) - 1
            if last >= 0 and nodes[last].fits(pod.cpu_m, pod.memory):
                nodes[last].take(pod.cpu_m, pod.memory)
                with_pods.add(last)
                placed.append(pod)
                continue
            if last >= 0 and last not in with_pods:
                break
            if not permission():
                break
            nodes.append(Room(headroom.cpu_m, headroom.memory, headroom.pods))
            last = len(nodes) - 1
            if not nodes[last].fits(pod.cpu_m, pod.memory):
                break
            nodes[last].take(pod.cpu_m, pod.memory)
            with_pods.add(last)
            placed.append(pod)
    return len(with_pods), placed


# ---------------------------------------------------------------------------------------------
# Expanders (expander/...; the chain in expander/factory/chain.go)

EXPANDERS = ("random", "most-pods", "least-waste", "least-nodes", "priority")


@dataclass(frozen=True)
class Option:
    """expander.Option: a group, its node count and the pods it would help."""

    group: str
    node_count: int
    pods: tuple[PodLike, ...]
    capacity_cpu_m: int
    capacity_memory: int


def most_pods(options: Sequence[Option]) -> list[Option]:
    """expander/mostpods/mostpods.go ``BestOptions``."""
    best: list[Option] = []
    top = 0
    for o in options:
        if len(o.pods) == top:
            best.append(o)
        elif len(o.pods) > top:
            top = len(o.pods)
            best = [o]
    return best


def least_waste(options: Sequence[Option]) -> list[Option]:
    """expander/waste/waste.go ``BestOptions``: least ``(cap-req)/cap`` summed over cpu
    and memory, capacity = the template's Status.Capacity times the node count."""
    best: list[Option] = []
    least = 0.0
    for o in options:
        cpu = sum(p.cpu_m for p in o.pods)
        mem = sum(p.memory for p in o.pods)
        avail_cpu = o.capacity_cpu_m * o.node_count
        avail_mem = o.capacity_memory * o.node_count
        score = (avail_cpu - cpu) / avail_cpu + (avail_mem - mem) / avail_mem
        if score == least:
            best.append(o)
        if not best or score < least:
            least = score
            best = [o]
    return best


def least_nodes(options: Sequence[Option]) -> list[Option]:
    """expander/leastnodes/leastnodes.go ``BestOptions``."""
    best: list[Option] = []
    least = math.inf
    for o in options:
        if o.node_count == 0:
            continue
        if o.node_count == least:
            best.append(o)
        elif o.node_count < least:
            least = float(o.node_count)  # (a float throughout: math.inf, compiled or not)
            best = [o]
    return best


def by_priority(options: Sequence[Option], priorities: Mapping[int, Sequence[str]]) -> list[Option]:
    """expander/priority/priority.go ``BestOptions``: the options whose group id matches
    (unanchored, ``FindStringIndex``) a regex of the highest priority; priorities
    below -1 never win (``maxPrio := -1``); no match at all keeps every option."""
    if not options:
        return []
    if not priorities:
        return list(options)  # config map missing or empty: every option
    best: list[Option] = []
    top = -1
    for o in options:
        for prio, regexes in priorities.items():
            if not any(re.search(rx, o.group) for rx in regexes):
                continue
            if prio < top:
                continue
            if prio > top:
                top = prio
                best = []
            best.append(o)
    return best or list(options)


def choose(
    options: Sequence[Option],
    chain: Sequence[str],
    priorities: Mapping[int, Sequence[str]],
    rng: np.random.Generator,
) -> Option | None:
    """expander/factory/chain.go ``chainStrategy.BestOption``: filters in turn until one
    option is left; random (expander/random/random.go) breaks what remains."""
    filters: dict[str, Callable[[Sequence[Option]], list[Option]]] = {
        "most-pods": most_pods,
        "least-waste": least_waste,
        "least-nodes": least_nodes,
        "priority": lambda opts: by_priority(opts, priorities),
    }
    remaining = list(options)
    for name in chain:
        if name == "random":
            break
        remaining = filters[name](remaining)
        if len(remaining) == 1:
            return remaining[0]
    if not remaining:
        return None
    return remaining[int(rng.integers(len(remaining)))]


# ---------------------------------------------------------------------------------------------
# Go formatting for event messages


def go_float(x: float) -> str:
    """A float64 as Go's ``%v`` prints it (shortest repr, no trailing ``.0``)."""
    if x == int(x) and abs(x) < 1e21:
        return str(int(x))
    text = repr(x)
    if "e" in text:
        mant, exp = text.split("e")
        sign = "-" if exp.startswith("-") else "+"
        return f"{mant}e{sign}{abs(int(exp)):02d}"
    return text


def go_duration(seconds: float) -> str:
    """time.Duration's ``String``: ``15m10s``, ``1h0m0s``, ``1.5s``, ``0s``."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size:
                return sign + _trim(ns / size) + unit
    hours, rest = divmod(ns, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    secs = _trim(rest / 1e9)
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{sign}{minutes}m{secs}s"
    return f"{sign}{secs}s"


def _trim(x: float) -> str:
    text = f"{x:.9f}".rstrip("0").rstrip(".")
    return text or "0"
