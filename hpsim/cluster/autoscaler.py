"""The Cluster Autoscaler's decisions, one loop at a time, with no simulation engine.

Mirrors ``StaticAutoscaler.RunOnce`` of kubernetes/autoscaler, branch
cluster-autoscaler-release-1.31 (commit 2b0c076; paths below are under
cluster-autoscaler/), with the defaults of CA 1.31's flags (main.go, config/const.go).
Reference: /work/shared/reference/pool-facts.md §3. One ``scan`` is one loop:

1. cluster state (clusterstate/clusterstate.go ``UpdateNodes``): readiness of each
   group's nodes (Ready / NotStarted / Unready / Unregistered / LongUnregistered,
   ``updateReadinessStats``), scale-up requests completed or timed out
   (``updateScaleRequests``; a time-out backs the group off, utils/backoff/
   exponential_backoff.go);
2. instances unregistered for longer than max-node-provision-time are deleted, down
   to the group's min size (core/static_autoscaler.go ``removeOldUnregisteredNodes``);
3. an unhealthy cluster stops the loop (``IsClusterHealthy``);
4. scale-up for the pending pods that neither existing nor upcoming nodes absorb
   (core/podlistprocessor, core/scaleup/orchestrator/orchestrator.go ``ScaleUp``);
   a successful scale-up ends the loop;
5. scale-down (core/scaledown/planner/planner.go, unneeded/nodes.go,
   actuation/actuator.go, budgets/budgets.go).

The runtime that owns the nodes calls ``scan`` and carries out the returned actions;
every action carries the events CA records for it, with CA's reasons and messages.

Not modelled: balance-similar-node-groups, resource limits (cores/memory totals),
GPUs, ZeroOrMaxNodeScaling groups, node-group auto-provisioning, fixNodeGroupSize,
instance creation errors, PDBs, the currently-drained-nodes pod list processor,
pods waiting for preemption (nominatedNodeName), startup taints,
scale-down-delay-type-local, the soft-taint (DeletionCandidateOfClusterAutoscaler).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from hpsim.cluster.caparts import (
    EXPANDERS,
    DrainOptions,
    MovablePod,
    Option,
    Room,
    Utilization,
    choose,
    estimate,
    go_duration,
    min_limit,
    pods_to_move,
    utilization,
)

__all__ = [
    "Autoscaler",
    "AutoscalerSettings",
    "ClusterUnhealthy",
    "DeleteNodes",
    "DeleteUnregistered",
    "Event",
    "MaxNodesTotalReached",
    "MovablePod",
    "NoScaleUp",
    "NodeGroup",
    "NodeState",
    "PendingPod",
    "ScaleUp",
    "ScaleUpTimedOut",
    "View",
    "deletion_finished_events",
]

MIN = 60.0
HOUR = 3600.0

# core/static_autoscaler.go ``unschedulablePodTimeBuffer``: when every pending pod is
# younger than this, the loop waits one more iteration for more pods to arrive.
UNSCHEDULABLE_POD_TIME_BUFFER_S = 2.0
# clusterstate/clusterstate.go ``MaxNodeStartupTime`` (a constant in 1.31; a flag
# from 1.35).
MAX_NODE_STARTUP_TIME_S = 15 * MIN
STATUS_CONFIGMAP = "configmap/kube-system/cluster-autoscaler-status"


@dataclass(frozen=True)
class AutoscalerSettings:
    """CA flags by their names (snake_case), defaults of CA 1.31 (main.go unless noted)."""

    scan_interval_s: float = 10.0  # config/const.go DefaultScanInterval
    max_node_provision_time_s: float = 15 * MIN  # main.go maxNodeProvisionTime
    max_node_startup_time_s: float = MAX_NODE_STARTUP_TIME_S  # clusterstate.go constant
    scale_down_enabled: bool = True  # main.go scaleDownEnabled
    scale_down_unneeded_time_s: float = 10 * MIN  # const.go DefaultScaleDownUnneededTime
    scale_down_unready_time_s: float = 20 * MIN  # const.go DefaultScaleDownUnreadyTime
    scale_down_delay_after_add_s: float = 10 * MIN  # main.go scaleDownDelayAfterAdd
    # 0: the next loop (static_autoscaler.go isScaleDownInCooldown, ``After``).
    scale_down_delay_after_delete_s: float = 0.0
    scale_down_delay_after_failure_s: float = 3 * MIN  # const.go DefaultScaleDownDelayAfterFailure
    scale_down_utilization_threshold: float = 0.5  # const.go DefaultScaleDownUtilizationThreshold
    # main.go expanderFlag: expander.RandomExpanderName; a comma list chains them.
    expander: str = "random"
    max_nodes_total: int = 0  # main.go maxNodesTotal (0: no limit)
    max_nodes_per_scaleup: int = 1000  # main.go maxNodesPerScaleUp
    new_pod_scale_up_delay_s: float = 0.0  # main.go newPodScaleUpDelay
    initial_node_group_backoff_s: float = 5 * MIN  # main.go initialNodeGroupBackoffDuration
    max_node_group_backoff_s: float = 30 * MIN  # main.go maxNodeGroupBackoffDuration
    node_group_backoff_reset_s: float = 3 * HOUR  # main.go nodeGroupBackoffResetTimeout
    skip_nodes_with_system_pods: bool = True  # main.go skipNodesWithSystemPods
    skip_nodes_with_local_storage: bool = True  # main.go skipNodesWithLocalStorage
    skip_nodes_with_custom_controller_pods: bool = True  # main.go
    # main.go: max-empty-bulk-delete 10 only feeds max-scale-down-parallelism when that
    # is unset; with --parallel-drain (default true) the actuator's budgets read
    # max-scale-down-parallelism (core/scaledown/budgets/budgets.go ``CropNodes``).
    max_empty_bulk_delete: int = 10
    max_scale_down_parallelism: int = 10
    max_drain_parallelism: int = 1
    ignore_daemonsets_utilization: bool = False  # main.go ignoreDaemonSetsUtilization
    expendable_pods_priority_cutoff: int = -10  # main.go expendablePodsPriorityCutoff
    max_total_unready_percentage: float = 45.0  # main.go maxTotalUnreadyPercentage
    ok_total_unready_count: int = 3  # main.go okTotalUnreadyCount
    unremovable_node_recheck_timeout_s: float = 5 * MIN  # main.go
    # Priority expander: ConfigMap cluster-autoscaler-priority-expander, key
    # ``priorities``: integer priority -> regexes of node group names.
    priorities: Mapping[int, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        chain = self.expander_chain
        for i, name in enumerate(chain):
            if name not in EXPANDERS:
                raise ValueError(f"Expander {name} not supported")
            if chain.index(name) != i:
                raise ValueError(f"Expander {name} was specified multiple times")
            if name == "random" and i != len(chain) - 1:
                raise ValueError(f"Expander {chain[i + 1]} came after an expander random")
        if self.scan_interval_s <= 0:
            raise ValueError("scan_interval_s must be positive")

    @property
    def expander_chain(self) -> tuple[str, ...]:
        return tuple(n.strip() for n in self.expander.split(",") if n.strip())


# ---------------------------------------------------------------------------------------------
# What the runtime shows the autoscaler at a loop


@dataclass(frozen=True)
class PendingPod:
    """A pod with PodScheduled=False, reason Unschedulable (utils/kubernetes/listers.go
    ``isUnschedulable``). Pods of one workload share ``equivalence`` (one sample pod
    per group is checked against a template, orchestrator.go ``SchedulablePodGroups``).
    ``created`` is the pod's creationTimestamp: the new-pod delay counts from it
    (static_autoscaler.go ``filterOutYoungPods``)."""

    key: str
    equivalence: str
    cpu_m: int
    memory: int
    created: float
    unschedulable_since: float
    priority: int = 0


@dataclass(frozen=True)
class NodeGroup:
    """A node group and its template node (allocatable, capacity, DaemonSet pods)."""

    name: str
    min_size: int
    max_size: int
    target: int  # cloud provider TargetSize: instances requested, incl. upcoming
    alloc_cpu_m: int
    alloc_memory: int
    alloc_pods: int
    capacity_cpu_m: int
    capacity_memory: int
    daemonset_cpu_m: int = 0
    daemonset_memory: int = 0
    daemonset_pods: int = 0

    @property
    def headroom(self) -> Room:
        """A fresh template node's free room: allocatable less its DaemonSet pods."""
        return Room(
            self.alloc_cpu_m - self.daemonset_cpu_m,
            self.alloc_memory - self.daemonset_memory,
            self.alloc_pods - self.daemonset_pods,
        )


@dataclass(frozen=True)
class NodeState:
    """One instance of a group. ``registered`` is None while there is no Node object
    (the instance exists in the cloud only), else the Node's creationTimestamp.
    ``ready_since`` is None unless the Ready condition is True. ``unschedulable`` is
    spec.unschedulable (cordoned); ``deleting`` means the ToBeDeleted taint is on
    (the runtime sets it when it carries out a DeleteNodes). Requests include
    DaemonSet pods; ``pods`` lists at least every non-DaemonSet pod."""

    name: str
    group: str
    created: float
    registered: float | None
    ready_since: float | None
    alloc_cpu_m: int
    alloc_memory: int
    alloc_pods: int = 110
    requested_cpu_m: int = 0
    requested_memory: int = 0
    pod_count: int = 0
    daemonset_cpu_m: int = 0
    daemonset_memory: int = 0
    unschedulable: bool = False
    deleting: bool = False
    pods: Sequence[MovablePod] = ()

    @property
    def ready(self) -> bool:
        return self.ready_since is not None

    def room(self) -> Room:
        return Room(
            self.alloc_cpu_m - self.requested_cpu_m,
            self.alloc_memory - self.requested_memory,
            self.alloc_pods - self.pod_count,
        )


# fits_template(group, pod): the scheduler's PreFilter+Filter for the pod on an empty
# template node of the group carrying its DaemonSet pods. True or an empty sequence:
# fits. False or the Filter's failure reasons (e.g. ("Insufficient cpu",)): it does not.
TemplateFit = Callable[[str, PendingPod], bool | Sequence[str]]
# accepts(pod_key, node_name): the Filter plugins other than NodeResourcesFit (taints,
# node selector, affinity) for a pod on an existing node; the autoscaler checks cpu,
# memory and pod slots itself. None: every node accepts every pod.
NodeAccepts = Callable[[str, str], bool]


@dataclass(frozen=True)
class View:
    groups: tuple[NodeGroup, ...]
    nodes: tuple[NodeState, ...]
    pending: tuple[PendingPod, ...]
    fits_template: TemplateFit
    accepts: NodeAccepts | None = None


# ---------------------------------------------------------------------------------------------
# Actions and their events


@dataclass(frozen=True)
class Event:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str
    object: str  # "pod/<key>", "node/<name>" or the status config map


@dataclass(frozen=True)
class ScaleUp:
    """Set the group's target to ``new_size``; create ``delta`` instances now."""

    group: str
    current_size: int
    new_size: int
    max_size: int
    pods: tuple[str, ...]  # the pods the option helps (PodsTriggeredScaleUp)
    wanted: int  # nodes the estimator would open without the limiter's caps

    @property
    def delta(self) -> int:
        return self.new_size - self.current_size

    @property
    def info(self) -> str:
        # processors/nodegroupset/nodegroup_set_processor.go ``ScaleUpInfo.String``
        return f"{{{self.group} {self.current_size}->{self.new_size} (max: {self.max_size})}}"

    @property
    def events(self) -> tuple[Event, ...]:
        # core/scaleup/orchestrator/executor.go ``executeScaleUp``; processors/status/
        # eventing_scale_up_processor.go ``Process`` (TriggeredScaleUp, "%v" of a slice).
        g, new, cur, mx = self.group, self.new_size, self.current_size, self.max_size
        setting = f"Scale-up: setting group {g} size to {new} instead of {cur} (max: {mx})"
        done = f"Scale-up: group {g} size set to {new} instead of {cur} (max: {mx})"
        out = [
            Event("Normal", "ScaledUpGroup", setting, STATUS_CONFIGMAP),
            Event("Normal", "ScaledUpGroup", done, STATUS_CONFIGMAP),
        ]
        msg = f"pod triggered scale-up: [{self.info}]"
        out += [Event("Normal", "TriggeredScaleUp", msg, f"pod/{k}") for k in self.pods]
        return tuple(out)


@dataclass(frozen=True)
class NoScaleUp:
    """No scale-up could help these pods (eventing_scale_up_processor.go)."""

    pods: tuple[str, ...]
    reasons: str  # ``ReasonsMessage``: "1 Insufficient cpu, 1 max node group size reached"

    @property
    def events(self) -> tuple[Event, ...]:
        msg = f"pod didn't trigger scale-up: {self.reasons}"
        return tuple(Event("Normal", "NotTriggerScaleUp", msg, f"pod/{k}") for k in self.pods)


@dataclass(frozen=True)
class MaxNodesTotalReached:
    """orchestrator.go ``GetCappedNewNodeCount``. The estimator's cluster-capacity
    threshold already caps binpacking at max-nodes-total, so without similar node
    groups this never fires in 1.31; kept for fidelity."""

    limit: int

    @property
    def events(self) -> tuple[Event, ...]:
        msg = f"Max total nodes in cluster reached: {self.limit}"
        return (Event("Warning", "MaxNodesTotalReached", msg, STATUS_CONFIGMAP),)


@dataclass(frozen=True)
class ScaleUpTimedOut:
    """clusterstate.go ``updateScaleRequests``: the group is backed off until
    ``backoff_until``. The target is not changed."""

    group: str
    after_s: float
    backoff_until: float

    @property
    def events(self) -> tuple[Event, ...]:
        within = go_duration(self.after_s)
        msg = f"Nodes added to group {self.group} failed to register within {within}"
        return (Event("Warning", "ScaleUpTimedOut", msg, STATUS_CONFIGMAP),)


@dataclass(frozen=True)
class DeleteUnregistered:
    """Delete these never-registered instances; the group's target drops by their
    number (static_autoscaler.go ``removeOldUnregisteredNodes``)."""

    group: str
    names: tuple[str, ...]

    @property
    def events(self) -> tuple[Event, ...]:
        return tuple(
            Event(
                "Normal", "DeleteUnregistered", f"Removed unregistered node {n}", STATUS_CONFIGMAP
            )
            for n in self.names
        )


@dataclass(frozen=True)
class DeleteNodes:
    """Scale down: taint the nodes ToBeDeleted now (set ``deleting``), evict the pods
    of drained nodes, then delete the instances and lower the target by one each
    (core/scaledown/actuation/actuator.go ``StartDeletion``). When a node is gone,
    emit ``deletion_finished_events`` and drop it from the view."""

    group: str
    names: tuple[str, ...]
    empty: bool
    pods_to_reschedule: tuple[tuple[str, ...], ...] = ()  # per node, for a drain
    utilization: tuple[Utilization, ...] = ()

    @property
    def events(self) -> tuple[Event, ...]:
        out: list[Event] = []
        for i, n in enumerate(self.names):
            if self.empty:
                msg = f'Scale-down: removing empty node "{n}"'
                out.append(Event("Normal", "ScaleDownEmpty", msg, STATUS_CONFIGMAP))
            else:
                pods = ",".join(p.split("/")[-1] for p in self.pods_to_reschedule[i])
                util = self.utilization[i].go()
                msg = (
                    f"Scale-down: removing node {n}, utilization: {util}, "
                    f"pods to reschedule: {pods}"
                )
                out.append(Event("Normal", "ScaleDown", msg, STATUS_CONFIGMAP))
            # actuator.go ``taintNode``
            msg = "marked the node as toBeDeleted/unschedulable"
            out.append(Event("Normal", "ScaleDown", msg, f"node/{n}"))
            if not self.empty:
                # actuation/drain.go ``evictPod``
                out += [
                    Event("Normal", "ScaleDown", "deleting pod for node scale down", f"pod/{p}")
                    for p in self.pods_to_reschedule[i]
                ]
        return tuple(out)


def deletion_finished_events(name: str, drained: bool) -> tuple[Event, ...]:
    """actuation/delete_in_batch.go ``RegisterAndRecordSuccessfulScaleDownEvent``."""
    log = (
        Event(
            "Normal", "ScaleDown", f"Scale-down: node {name} removed with drain", STATUS_CONFIGMAP
        )
        if drained
        else Event(
            "Normal", "ScaleDownEmpty", f"Scale-down: empty node {name} removed", STATUS_CONFIGMAP
        )
    )
    return (
        Event("Normal", "ScaleDown", "nodes removed by cluster autoscaler", f"node/{name}"),
        log,
    )


@dataclass(frozen=True)
class ClusterUnhealthy:
    """static_autoscaler.go: the loop stops. CA records this event at every unhealthy
    loop (the API server folds repeats into a count); this is emitted once per
    unhealthy spell."""

    unready: int
    nodes: int

    @property
    def events(self) -> tuple[Event, ...]:
        return (Event("Warning", "ClusterUnhealthy", "Cluster is unhealthy", STATUS_CONFIGMAP),)


Action = (
    ScaleUp
    | NoScaleUp
    | MaxNodesTotalReached
    | ScaleUpTimedOut
    | DeleteUnregistered
    | DeleteNodes
    | ClusterUnhealthy
)


# ---------------------------------------------------------------------------------------------
# State


@dataclass
class _Request:
    """clusterstate.go ``ScaleUpRequest``."""

    time: float
    expected_add_time: float
    increase: int


@dataclass
class _Backoff:
    """exponential_backoff.go ``exponentialBackoffInfo``."""

    duration: float
    until: float
    last_failed: float


@dataclass
class _Readiness:
    """clusterstate.go ``Readiness`` (counts and the names that matter here)."""

    ready: int = 0
    unready: int = 0
    not_started: list[str] = field(default_factory=list)
    registered: int = 0
    long_unregistered: list[str] = field(default_factory=list)
    unregistered: int = 0
    seen: bool = False


@dataclass(frozen=True)
class Unremovable:
    """simulator.UnremovableNode: why a node cannot be scaled down (for reports)."""

    node: str
    reason: str
    blocking_pod: str | None = None


# simulator/nodes.go UnremovableReason names.
NOT_UNDERUTILIZED = "NotUnderutilized"
BLOCKED_BY_POD = "BlockedByPod"
NO_PLACE_TO_MOVE_PODS = "NoPlaceToMovePods"
RECENTLY_UNREMOVABLE = "RecentlyUnremovable"
NOT_UNNEEDED_LONG_ENOUGH = "NotUnneededLongEnough"
NOT_UNREADY_LONG_ENOUGH = "NotUnreadyLongEnough"
NODE_GROUP_MIN_SIZE_REACHED = "NodeGroupMinSizeReached"


class Autoscaler:
    """The Cluster Autoscaler's memory between loops and the loop itself.

    ``start`` anchors the scan grid (ticks at ``start + k * scan_interval_s``);
    ``rng`` breaks expander ties (random expander), so one seed gives one history.
    """

    def __init__(
        self,
        settings: AutoscalerSettings,
        rng: np.random.Generator,
        start: float = 0.0,
    ) -> None:
        self.settings = settings
        self.rng = rng
        self.start = start
        self._drain = DrainOptions(
            settings.skip_nodes_with_system_pods,
            settings.skip_nodes_with_local_storage,
            settings.skip_nodes_with_custom_controller_pods,
        )
        # static_autoscaler.go NewStaticAutoscaler: "initial scale times less than the
        # start time so as to not start in cooldown mode" (now - 1 h).
        self.last_scale_up = start - HOUR
        self.last_scale_down_delete = start - HOUR
        self.last_scale_down_fail = start - HOUR
        self.requests: dict[str, _Request] = {}
        self._backoff: dict[str, _Backoff] = {}
        self._unregistered_since: dict[str, float] = {}
        self.unneeded_since: dict[str, float] = {}
        self._unneeded_empty: dict[str, bool] = {}
        self._unneeded_pods: dict[str, tuple[str, ...]] = {}
        self._unneeded_util: dict[str, Utilization] = {}
        self._unremovable_ttl: dict[str, float] = {}
        self.unremovable: dict[str, Unremovable] = {}
        self._unremovable_before: dict[str, Unremovable] = {}  # the last scan's
        self._deleting: dict[str, bool] = {}  # name -> drained (NodeDeletionTracker)
        self._latest_update: float | None = None
        self._min_update_interval = settings.scale_down_unneeded_time_s or 1e-9
        self._unhealthy = False
        self._last_pending: tuple[PendingPod, ...] = ()
        self._last_readiness: dict[str, _Readiness] = {}
        self._last_nodes: tuple[NodeState, ...] = ()
        self._utilizations: dict[str, tuple[NodeState, Utilization]] = {}
        self._moves: dict[
            str, tuple[NodeState, tuple[list[MovablePod], tuple[MovablePod, str] | None]]
        ] = {}

    # -- public helpers ------------------------------------------------------------------

    def backoff_until(self, group: str) -> float | None:
        b = self._backoff.get(group)
        return b.until if b else None

    def backed_off(self, group: str, now: float) -> bool:
        """exponential_backoff.go ``BackoffStatus``: ``backoffUntil.Before(now)`` ends it."""
        b = self._backoff.get(group)
        return b is not None and not (b.until < now)

    def scale_down_failed(self, now: float) -> None:
        """A scale-down could not start (tainting failed): scale-down-delay-after-failure."""
        self.last_scale_down_fail = now

    def tick_at_or_after(self, t: float) -> float:
        k = math.ceil((t - self.start) / self.settings.scan_interval_s - 1e-9)
        return self.start + max(k, 0) * self.settings.scan_interval_s

    def tick_after(self, t: float) -> float:
        k = math.floor((t - self.start) / self.settings.scan_interval_s + 1e-9) + 1
        return self.start + max(k, 0) * self.settings.scan_interval_s

    # -- the loop ------------------------------------------------------------------------

    def scan(self, now: float, view: View) -> list[Action]:
        """One ``RunOnce`` at ``now`` (a tick of the scan grid)."""
        s = self.settings
        actions: list[Action] = []
        groups = {g.name: g for g in view.groups}
        self._last_nodes = view.nodes
        self._last_pending = view.pending
        self._forget_gone(view)

        readiness = self._update_readiness(now, view, groups)
        self._last_readiness = readiness
        actions += self._update_scale_requests(now, groups, readiness)
        actions += self._remove_old_unregistered(now, groups, readiness)

        if not self._cluster_healthy(view, readiness):
            self.unneeded_since.clear()  # planner.CleanUpUnneededNodes
            if not self._unhealthy:
                total = sum(1 for n in view.nodes if n.registered is not None)
                unready = sum(r.unready for r in readiness.values())
                actions.append(ClusterUnhealthy(unready, total))
            self._unhealthy = True
            return actions
        self._unhealthy = False

        upcoming = {
            g.name: max(
                0,
                g.target
                - (
                    readiness[g.name].ready
                    + readiness[g.name].unready
                    + len(readiness[g.name].long_unregistered)
                ),
            )
            for g in view.groups
        }
        not_started = {n for r in readiness.values() for n in r.not_started}
        # allNodes after subtractNodesByName(allNodes, registeredUpcoming)
        all_nodes = [
            n for n in view.nodes if n.registered is not None and n.name not in not_started
        ]
        ready_nodes = [
            n for n in view.nodes if n.registered is not None and n.ready and not n.unschedulable
        ]

        helped = self._pods_to_help(now, view, groups, all_nodes, upcoming)
        disable_scale_down = False
        scaled_up = False
        if not helped:
            pass  # ScaleUpNotNeeded
        elif s.max_nodes_total > 0 and len(ready_nodes) >= s.max_nodes_total:
            pass  # "Max total nodes in cluster reached" (log only)
        elif min(p.created for p in helped) + UNSCHEDULABLE_POD_TIME_BUFFER_S > now:
            disable_scale_down = True  # allPodsAreNew: wait one iteration for more
        else:
            up = self._scale_up(
                now, view, groups, readiness, helped, len(ready_nodes) + sum(upcoming.values())
            )
            actions += up
            scaled_up = any(isinstance(a, ScaleUp) for a in up)
        if scaled_up:
            return actions  # postScaleUp: no scale-down in this iteration

        if s.scale_down_enabled:
            actions += self._scale_down(now, groups, all_nodes, view, disable_scale_down)
        return actions

    # -- cluster state -------------------------------------------------------------------

    def _forget_gone(self, view: View) -> None:
        present = {n.name for n in view.nodes}
        for d in (
            self._deleting,
            self._unregistered_since,
            self._unremovable_ttl,
            self._utilizations,
            self._moves,
        ):
            for name in [k for k in d if k not in present]:
                del d[name]

    def _update_readiness(
        self, now: float, view: View, groups: Mapping[str, NodeGroup]
    ) -> dict[str, _Readiness]:
        """clusterstate.go ``updateReadinessStats`` (and ``getNotRegisteredNodes``: an
        instance is unregistered since the first loop that saw it without a Node)."""
        s = self.settings
        out = {g: _Readiness() for g in groups}
        for n in view.nodes:
            r = out.get(n.group)
            if r is None:
                continue
            r.seen = True
            if n.registered is None:
                if n.deleting:
                    continue  # InstanceDeleting: not expected to register
                since = self._unregistered_since.setdefault(n.name, now)
                if since + s.max_node_provision_time_s < now:
                    r.long_unregistered.append(n.name)
                else:
                    r.unregistered += 1
                continue
            self._unregistered_since.pop(n.name, None)
            r.registered += 1
            if n.ready:
                r.ready += 1
            elif n.registered + s.max_node_startup_time_s > now:
                r.not_started.append(n.name)
            else:
                r.unready += 1
        return out

    def _update_scale_requests(
        self, now: float, groups: Mapping[str, NodeGroup], readiness: Mapping[str, _Readiness]
    ) -> list[Action]:
        """clusterstate.go ``updateScaleRequests``."""
        s = self.settings
        # exponential_backoff.go ``RemoveStaleBackoffData``
        for g in [
            g
            for g, b in self._backoff.items()
            if b.last_failed + s.node_group_backoff_reset_s < now
        ]:
            del self._backoff[g]
        out: list[Action] = []
        for name in sorted(self.requests):
            req = self.requests[name]
            group = groups.get(name)
            r = readiness.get(name)
            if group is None or r is None:
                del self.requests[name]
                continue
            provisioned = r.registered - len(r.not_started)
            if not group.target > provisioned:
                del self.requests[name]  # finished successfully
                continue
            if req.expected_add_time < now:
                until = self._backoff_group(name, now)
                out.append(ScaleUpTimedOut(name, now - req.time, until))
                del self.requests[name]
        return out

    def _backoff_group(self, group: str, now: float) -> float:
        """exponential_backoff.go ``Backoff``: concurrent failures keep the duration;
        a failure after the back-off ended doubles it, up to the maximum."""
        s = self.settings
        duration = s.initial_node_group_backoff_s
        b = self._backoff.get(group)
        if b is not None:
            duration = b.duration
            if b.until < now:
                duration = min(2 * b.duration, s.max_node_group_backoff_s)
        self._backoff[group] = _Backoff(duration, now + duration, now)
        return now + duration

    def _remove_old_unregistered(
        self, now: float, groups: Mapping[str, NodeGroup], readiness: Mapping[str, _Readiness]
    ) -> list[Action]:
        """static_autoscaler.go ``removeOldUnregisteredNodes``."""
        out: list[Action] = []
        for name, r in readiness.items():
            if not r.long_unregistered:
                continue
            g = groups[name]
            possible = g.target - g.min_size
            if possible <= 0:
                continue  # "min size reached, skipping removal"
            names = tuple(sorted(r.long_unregistered)[:possible])
            out.append(DeleteUnregistered(name, names))
        return out

    def _cluster_healthy(self, view: View, readiness: Mapping[str, _Readiness]) -> bool:
        """clusterstate.go ``IsClusterHealthy``."""
        s = self.settings
        unready = sum(r.unready for r in readiness.values())
        total = sum(1 for n in view.nodes if n.registered is not None)
        return not (
            unready > s.ok_total_unready_count
            and unready > s.max_total_unready_percentage / 100.0 * total
        )

    def _group_healthy(self, g: NodeGroup, r: _Readiness) -> bool:
        """clusterstate.go ``IsNodeGroupHealthy`` with ``updateAcceptableRanges``."""
        s = self.settings
        req = self.requests.get(g.name)
        min_nodes = g.target - len(r.long_unregistered) - (req.increase if req else 0)
        if not r.seen:
            return g.target == 0 or (min_nodes == 0 and g.target > 0)
        unjustified = max(0, min_nodes - r.ready)
        return not (
            unjustified > s.ok_total_unready_count
            and unjustified
            > s.max_total_unready_percentage / 100.0 * (r.ready + r.unready + len(r.not_started))
        )

    # -- scale-up ------------------------------------------------------------------------

    def _pods_to_help(
        self,
        now: float,
        view: View,
        groups: Mapping[str, NodeGroup],
        all_nodes: Sequence[NodeState],
        upcoming: Mapping[str, int],
    ) -> list[PendingPod]:
        """The pod list processors (core/podlistprocessor/pod_list_processor.go
        ``NewDefaultPodListProcessor``), then ``filterOutYoungPods``."""
        s = self.settings
        # filter_out_expendable.go: priority below the cutoff never triggers scale-up
        pods = [p for p in view.pending if p.priority >= s.expendable_pods_priority_cutoff]
        if not pods:
            return []  # nothing to pack (and the snapshot's rooms need not be built)
        # filter_out_schedulable.go ``filterOutSchedulableByPacking``: higher priority
        # first; each pod onto the first snapshot node it fits. The snapshot holds the
        # registered nodes except NotStarted ones, plus one template copy per upcoming
        # node (static_autoscaler.go ``addUpcomingNodesToClusterSnapshot``). A NotReady
        # or ToBeDeleted node fails its taint filter; a cordoned one is skipped.
        pods.sort(key=lambda p: -p.priority)
        real = [n for n in all_nodes if n.ready and not n.unschedulable and not n.deleting]
        rooms: list[tuple[str | None, str, Room]] = [(n.name, n.group, n.room()) for n in real]
        for g in view.groups:
            rooms += [(None, g.name, g.headroom) for _ in range(upcoming.get(g.name, 0))]
        template_fit: dict[tuple[str, str], bool] = {}
        remaining: list[PendingPod] = []
        for p in pods:
            placed = False
            for node_name, group, room in rooms:
                if not room.fits(p.cpu_m, p.memory):
                    continue
                if node_name is None:
                    key = (group, p.equivalence)
                    if key not in template_fit:
                        template_fit[key] = not _reasons(view.fits_template(group, p))
                    if not template_fit[key]:
                        continue
                elif view.accepts is not None and not view.accepts(p.key, node_name):
                    continue
                room.take(p.cpu_m, p.memory)
                placed = True
                break
            if not placed:
                remaining.append(p)
        # filterOutYoungPods: podAge > delay (strict)
        return [p for p in remaining if now - p.created > s.new_pod_scale_up_delay_s]

    def _scale_up(
        self,
        now: float,
        view: View,
        groups: Mapping[str, NodeGroup],
        readiness: Mapping[str, _Readiness],
        pods: Sequence[PendingPod],
        current_node_count: int,
    ) -> list[Action]:
        """orchestrator.go ``ScaleUp``."""
        s = self.settings
        eq: dict[str, list[PendingPod]] = {}
        for p in pods:
            eq.setdefault(p.equivalence, []).append(p)
        skipped: dict[str, str] = {}
        valid: list[NodeGroup] = []
        for g in view.groups:  # filterValidScaleUpNodeGroups
            if not self._group_healthy(g, readiness[g.name]):
                skipped[g.name] = "not ready for scale-up"
            elif self.backed_off(g.name, now):
                skipped[g.name] = "in backoff after failed scale-up"
            elif g.target >= g.max_size:
                skipped[g.name] = "max node group size reached"
            else:
                valid.append(g)
        rejected: dict[str, dict[str, tuple[str, ...]]] = {k: {} for k in eq}
        schedulable: dict[str, bool] = dict.fromkeys(eq, False)
        options: list[Option] = []
        wanted: dict[str, int] = {}
        for g in valid:
            fitting: list[list[PendingPod]] = []
            for k, members in eq.items():  # SchedulablePodGroups
                reasons = _reasons(view.fits_template(g.name, members[0]))
                if reasons:
                    rejected[k][g.name] = reasons
                else:
                    schedulable[k] = True
                    fitting.append(members)
            if not fitting:
                continue
            # core/autoscaler.go estimator thresholds: static (max-nodes-per-scaleup),
            # sng_capacity_threshold.go (max - target), cluster_capacity_threshold.go.
            limit = min_limit(0, s.max_nodes_per_scaleup)
            limit = min_limit(limit, g.max_size - g.target if g.max_size > g.target else -1)
            if s.max_nodes_total:
                room = s.max_nodes_total - current_node_count
                limit = min_limit(limit, room if room > 0 else -1)
            count, placed = estimate(fitting, g.headroom, g.alloc_cpu_m, g.alloc_memory, limit)
            wanted[g.name] = estimate(fitting, g.headroom, g.alloc_cpu_m, g.alloc_memory, 0)[0]
            if placed and count:
                options.append(
                    Option(g.name, count, tuple(placed), g.capacity_cpu_m, g.capacity_memory)
                )
        if not options:
            return self._no_scale_up(eq, schedulable, rejected, skipped)
        best = choose(options, s.expander_chain, s.priorities, self.rng)
        if best is None or best.node_count <= 0:
            return self._no_scale_up(eq, schedulable, rejected, skipped)
        out: list[Action] = []
        new_nodes = best.node_count
        # GetCappedNewNodeCount
        if s.max_nodes_total > 0 and new_nodes + current_node_count > s.max_nodes_total:
            new_nodes = s.max_nodes_total - current_node_count
            out.append(MaxNodesTotalReached(s.max_nodes_total))
            if new_nodes < 1:
                return out
        g = groups[best.group]
        # BalanceScaleUpBetweenGroups with one group caps at its max size.
        new_size = min(g.target + new_nodes, g.max_size)
        up = ScaleUp(
            g.name, g.target, new_size, g.max_size, tuple(p.key for p in best.pods), wanted[g.name]
        )
        out.append(up)
        self._register_scale_up(g.name, up.delta, now)
        self.last_scale_up = now
        return out

    def _no_scale_up(
        self,
        eq: Mapping[str, list[PendingPod]],
        schedulable: Mapping[str, bool],
        rejected: Mapping[str, Mapping[str, tuple[str, ...]]],
        skipped: Mapping[str, str],
    ) -> list[Action]:
        """``GetRemainingPods`` and eventing_scale_up_processor.go ``ReasonsMessage``
        (Go iterates a map; the reasons are sorted here)."""
        out: list[Action] = []
        for k, members in eq.items():
            if schedulable[k]:
                continue  # schedulable somewhere, just not now: no event
            counts: dict[str, int] = {}
            for reasons in rejected[k].values():
                for r in reasons:
                    if r:
                        counts[r] = counts.get(r, 0) + 1
            for r in skipped.values():
                counts[r] = counts.get(r, 0) + 1
            msg = ", ".join(f"{n} {r}" for r, n in sorted(counts.items()))
            out.append(NoScaleUp(tuple(p.key for p in members), msg))
        return out

    def _register_scale_up(self, group: str, delta: int, now: float) -> None:
        """clusterstate.go ``registerOrUpdateScaleUpNoLock``."""
        req = self.requests.get(group)
        expected = now + self.settings.max_node_provision_time_s
        if req is None:
            if delta > 0:
                self.requests[group] = _Request(now, expected, delta)
            return
        if req.increase + delta <= 0:
            del self.requests[group]
            return
        req.increase += delta
        if delta > 0:
            req.time = now
            req.expected_add_time = expected

    # -- scale-down ----------------------------------------------------------------------

    def _scale_down(
        self,
        now: float,
        groups: Mapping[str, NodeGroup],
        all_nodes: Sequence[NodeState],
        view: View,
        disabled_for_loop: bool,
    ) -> list[Action]:
        s = self.settings
        # planner.go ``UpdateClusterState``
        if self._latest_update is not None:
            self._min_update_interval = min(self._min_update_interval, now - self._latest_update)
        self._latest_update = now
        in_progress = {n.name for n in all_nodes if n.name in self._deleting or n.deleting}
        candidates = sorted(
            (n for n in all_nodes if n.name not in in_progress and n.group in groups),
            key=lambda n: n.name,
        )
        self._categorize(now, candidates, view)

        # isScaleDownInCooldown
        if (
            disabled_for_loop
            or self.last_scale_up + s.scale_down_delay_after_add_s > now
            or self.last_scale_down_fail + s.scale_down_delay_after_failure_s > now
            or self.last_scale_down_delete + s.scale_down_delay_after_delete_s > now
        ):
            return []
        empty, drain = self._removable_at(now, groups, {n.name: n for n in candidates})
        return self._start_deletion(now, empty, drain, {n.name: n for n in candidates})

    def _categorize(self, now: float, candidates: Sequence[NodeState], view: View) -> None:
        """planner.go ``categorizeNodes``: eligibility (eligibility.go
        ``FilterOutUnremovable``), then ``SimulateNodeRemoval`` in order; successful
        simulations persist (the moved pods stay on their new nodes, the removed node
        is no destination), and a node that fails is not re-checked for
        unremovable-node-recheck-timeout (``AddTimeout``)."""
        s = self.settings
        # unremovable/nodes.go ``Update``: keep TTLs still in the future
        self._unremovable_ttl = {k: t for k, t in self._unremovable_ttl.items() if t > now}
        self._unremovable_before, self.unremovable = self.unremovable, {}
        under: list[tuple[NodeState, Utilization]] = []
        for n in candidates:
            if n.name in self._unremovable_ttl:
                self._mark(n.name, RECENTLY_UNREMOVABLE)
                continue
            u = self._utilization(n)
            if u.value >= s.scale_down_utilization_threshold:  # isNodeBelowUtilizationThreshold
                self._mark(n.name, NOT_UNDERUTILIZED)
                continue
            under.append((n, u))
        limit = self._unneeded_limit()
        timeout = now + s.unremovable_node_recheck_timeout_s
        removable: dict[str, tuple[tuple[str, ...], Utilization]] = {}
        # Destinations: registered, started nodes not being deleted; the Filter then
        # rejects NotReady (taint) and cordoned nodes. (Only a node to remove needs them.)
        dest_rooms = (
            {n.name: n.room() for n in candidates if n.ready and not n.unschedulable}
            if under
            else {}
        )
        for n, u in under:
            if len(removable) >= limit:
                break
            moving, blocking = self._pods_to_move(n)
            if blocking is not None:
                pod, reason = blocking
                self.unremovable[n.name] = Unremovable(
                    n.name, BLOCKED_BY_POD, f"{pod.key}: {reason}"
                )
                self._unremovable_ttl[n.name] = timeout
                continue
            plan = self._find_place_for(n.name, moving, dest_rooms, view)
            if plan is None:
                self._mark(n.name, NO_PLACE_TO_MOVE_PODS)
                self._unremovable_ttl[n.name] = timeout
                continue
            for dest, pod in plan:
                dest_rooms[dest].take(pod.cpu_m, pod.memory)
            dest_rooms.pop(n.name, None)
            removable[n.name] = (tuple(p.key for p in moving), u)
        # unneeded/nodes.go ``Update``: a node that stays keeps its first timestamp
        self.unneeded_since = {k: self.unneeded_since.get(k, now) for k in removable}
        self._unneeded_pods = {k: v[0] for k, v in removable.items()}
        self._unneeded_util = {k: v[1] for k, v in removable.items()}

    def _mark(self, name: str, reason: str) -> None:
        """The node is unremovable for ``reason`` (no blocking pod): the last scan's
        record when it said the same."""
        before = self._unremovable_before.get(name)
        if before is None or before.reason != reason or before.blocking_pod is not None:
            before = Unremovable(name, reason)
        self.unremovable[name] = before

    def _pods_to_move(self, n: NodeState) -> tuple[list[MovablePod], tuple[MovablePod, str] | None]:
        """``pods_to_move`` of the node's pods, worked out again only for a new NodeState
        (its pods and the drain options are all it reads)."""
        known = self._moves.get(n.name)
        if known is None or known[0] is not n:
            known = self._moves[n.name] = (n, pods_to_move(n.pods, self._drain))
        return known[1]

    def _utilization(self, n: NodeState) -> Utilization:
        """The node's utilization, worked out again only for a new NodeState (a runtime
        that shows an unchanged node as the same object is not asked twice)."""
        known = self._utilizations.get(n.name)
        if known is None or known[0] is not n:
            u = utilization(
                n.requested_cpu_m,
                n.requested_memory,
                n.daemonset_cpu_m,
                n.daemonset_memory,
                n.alloc_cpu_m,
                n.alloc_memory,
                self.settings.ignore_daemonsets_utilization,
            )
            known = self._utilizations[n.name] = (n, u)
        return known[1]

    def _unneeded_limit(self) -> int:
        """planner.go ``unneededNodesLimit``."""
        s = self.settings
        n = s.max_scale_down_parallelism
        limit = len(self.unneeded_since) + 2 * n
        u = max(s.scale_down_unneeded_time_s, self._min_update_interval)
        upper = n * int(u // max(self._min_update_interval, 1e-9)) + n
        return min(upper, limit)

    def _find_place_for(
        self, removed: str, pods: Sequence[MovablePod], rooms: Mapping[str, Room], view: View
    ) -> list[tuple[str, MovablePod]] | None:
        """simulator/cluster.go ``findPlaceFor``: every pod onto some other destination
        (first fit by node name; upstream's hinting simulator starts where the
        last placement succeeded), or None.

        With no per-pod filter (``view.accepts`` None) a destination that could not
        take a pod cannot take a later pod of the same requests either (the trial
        rooms only shrink), so the scan for those requests resumes where it last
        stopped: the same destinations, found in fewer steps (a pool of 20 fixed
        nodes, 1 day of benchmarks/bench_pool.py's workloads, cProfile: the scale-down
        simulation 15.2 -> 7.7 s of a 27.8 -> 18.3 s run)."""
        names = [k for k in rooms if k != removed]
        trial = [Room(rooms[k].cpu_m, rooms[k].memory, rooms[k].pods) for k in names]
        accepts = view.accepts
        resume: dict[tuple[int, int], int] = {}
        plan: list[tuple[str, MovablePod]] = []
        for pod in pods:
            cpu_m, memory = pod.cpu_m, pod.memory
            i = resume.get((cpu_m, memory), 0) if accepts is None else 0
            while i < len(trial) and not (
                trial[i].fits(cpu_m, memory) and (accepts is None or accepts(pod.key, names[i]))
            ):
                i += 1
            if i == len(trial):
                return None
            if accepts is None:
                resume[cpu_m, memory] = i
            trial[i].take(cpu_m, memory)
            plan.append((names[i], pod))
        return plan

    def _removable_at(
        self, now: float, groups: Mapping[str, NodeGroup], nodes: Mapping[str, NodeState]
    ) -> tuple[list[str], list[str]]:
        """unneeded/nodes.go ``RemovableAt``: empty nodes first, then the ones to drain
        (sorted by name; Go iterates a map)."""
        s = self.settings
        size = {g: groups[g].target for g in groups}
        deleting_in_group: dict[str, int] = {}
        for name in self._deleting:
            n = next((x for x in self._last_nodes if x.name == name), None)
            if n is not None:
                deleting_in_group[n.group] = deleting_in_group.get(n.group, 0) + 1
        empty: list[str] = []
        drain: list[str] = []
        names = sorted(self.unneeded_since)
        ordered = [k for k in names if not self._unneeded_pods[k]] + [
            k for k in names if self._unneeded_pods[k]
        ]
        for name in ordered:
            n = nodes.get(name)
            if n is None:
                continue
            since = self.unneeded_since[name]
            wait = s.scale_down_unneeded_time_s if n.ready else s.scale_down_unready_time_s
            if not since + wait < now:
                reason = NOT_UNNEEDED_LONG_ENOUGH if n.ready else NOT_UNREADY_LONG_ENOUGH
                self._mark(name, reason)
                continue
            g = groups[n.group]
            if size[g.name] - deleting_in_group.get(g.name, 0) <= g.min_size:  # verifyMinSize
                self._mark(name, NODE_GROUP_MIN_SIZE_REACHED)
                continue
            size[g.name] -= 1
            (drain if self._unneeded_pods[name] else empty).append(name)
        return empty, drain

    def _start_deletion(
        self, now: float, empty: Sequence[str], drain: Sequence[str], nodes: Mapping[str, NodeState]
    ) -> list[Action]:
        """actuator.go ``StartDeletion`` with budgets.go ``CropNodes``."""
        s = self.settings
        drain_in_progress = sum(1 for d in self._deleting.values() if d)
        parallelism = s.max_scale_down_parallelism - len(self._deleting)
        drain_budget = s.max_drain_parallelism - drain_in_progress
        empty_take = _crop_by_group(empty, nodes, parallelism)
        parallelism -= sum(len(v) for v in empty_take.values())
        drain_take = _crop_by_group(drain, nodes, min(parallelism, drain_budget))
        out: list[Action] = []
        for group, names in empty_take.items():
            out.append(DeleteNodes(group, tuple(names), True))
            self._deleting.update(dict.fromkeys(names, False))
        for group, names in drain_take.items():
            out.append(
                DeleteNodes(
                    group,
                    tuple(names),
                    False,
                    tuple(self._unneeded_pods[n] for n in names),
                    tuple(self._unneeded_util[n] for n in names),
                )
            )
            self._deleting.update(dict.fromkeys(names, True))
        if out:
            self.last_scale_down_delete = now
            for a in out:
                assert isinstance(a, DeleteNodes)
                for n in a.names:
                    self.unneeded_since.pop(n, None)
        return out

    # -- when to call again --------------------------------------------------------------

    def next_wakeup(self, now: float, view: View | None = None) -> float | None:
        """The first scan tick after ``now`` at which ``scan`` could decide differently
        although nothing else changed; None if only a change can matter.

        Counts: a pending pod growing past new-pod-scale-up-delay or the 2 s
        all-pods-new buffer; a scale-up request's ExpectedAddTime passing; a registered
        node leaving NotStarted (registration + max-node-startup-time); an
        unregistered instance becoming LongUnregistered; a group's back-off ending
        while pods wait; an unneeded node's timer expiring; the scale-down cooldowns
        ending while a node is unneeded; an unremovable node's re-check time.
        ``view`` is the state the runtime shows now (the last scan's when omitted).
        """
        s = self.settings
        times: list[float] = []
        nodes = view.nodes if view is not None else self._last_nodes
        pending = view.pending if view is not None else self._last_pending
        for p in pending:
            times.append(self.tick_after(p.created + s.new_pod_scale_up_delay_s))
            times.append(self.tick_at_or_after(p.created + UNSCHEDULABLE_POD_TIME_BUFFER_S))
            for b in self._backoff.values():
                times.append(self.tick_after(b.until))
        for req in self.requests.values():
            times.append(self.tick_after(req.expected_add_time))
        for n in nodes:
            if n.registered is not None and not n.ready:
                times.append(self.tick_at_or_after(n.registered + s.max_node_startup_time_s))
            if n.registered is None and not n.deleting:
                since = self._unregistered_since.get(n.name, self.tick_after(now))
                times.append(self.tick_after(since + s.max_node_provision_time_s))
        ready = {n.name: n.ready for n in nodes}
        for name, since in self.unneeded_since.items():
            wait = (
                s.scale_down_unneeded_time_s
                if ready.get(name, True)
                else s.scale_down_unready_time_s
            )
            times.append(self.tick_after(since + wait))
        if self.unneeded_since:
            times.append(self.tick_at_or_after(self.last_scale_up + s.scale_down_delay_after_add_s))
            times.append(
                self.tick_at_or_after(
                    self.last_scale_down_fail + s.scale_down_delay_after_failure_s
                )
            )
            times.append(
                self.tick_at_or_after(
                    self.last_scale_down_delete + s.scale_down_delay_after_delete_s
                )
            )
        times += [self.tick_at_or_after(t) for t in self._unremovable_ttl.values()]
        future = [t for t in times if t > now + 1e-9]
        return min(future) if future else None


def _reasons(fit: bool | Sequence[str]) -> tuple[str, ...]:
    if fit is True:
        return ()
    if fit is False:
        return ("",)
    return tuple(fit)


def _crop_by_group(
    names: Sequence[str], nodes: Mapping[str, NodeState], budget: int
) -> dict[str, list[str]]:
    """budgets.go ``group`` then ``cropIndividualNodes``: buckets per node group in
    order of first appearance, taken whole until the budget is short."""
    buckets: dict[str, list[str]] = {}
    for name in names:
        buckets.setdefault(nodes[name].group, []).append(name)
    out: dict[str, list[str]] = {}
    left = budget
    for group, members in buckets.items():
        if left < 1:
            break
        taken = members[:left]
        out[group] = taken
        left -= len(taken)
    return out
