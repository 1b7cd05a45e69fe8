"""Node life and the Cluster Autoscaler's loop: nodes that join and leave during a run.

A node the autoscaler asks for is provisioned (VM create to kubelet registered:
the pool's ``provisioning`` time), registers NotReady (the node lifecycle
controller's ``node.kubernetes.io/not-ready`` taint keeps ordinary pods off), and
turns Ready once its network is: at once when the node image's bootstrap wrote
the CNI configuration (AKS, EKS), or when the pool's CNI DaemonSet pod runs on it
(self-managed clusters), seen at the kubelet's next runtime status check
(k/k pkg/kubelet/kubelet.go ``updateRuntimeUp``, every 5 s). A node the
autoscaler removes is tainted, drained (its pods deleted and recreated by their
controllers elsewhere) and deleted.

The autoscaler's decisions are :class:`hpsim.cluster.autoscaler.Autoscaler`'s;
this module builds what it reads (the pools as node groups, the nodes, the
unschedulable pods) and carries out what it decides. Its loop runs on the
scan-interval grid, but only at ticks where something changed or a timer of the
autoscaler's falls due (``next_wakeup``): an idle cluster costs no scans.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
import simpy
from simpy.events import Process, Timeout

from hpsim.cluster import plugins
from hpsim.cluster.autoscaler import (
    Autoscaler,
    AutoscalerSettings,
    DeleteNodes,
    DeleteUnregistered,
    NodeGroup,
    NodeState,
    PendingPod,
    ScaleUp,
    View,
    deletion_finished_events,
)
from hpsim.cluster.caparts import MovablePod
from hpsim.facts import NodeRecord
from hpsim.node.controllers import sample_lifetime
from hpsim.node.pod import Pod
from hpsim.node.scheduler import Usage, matches_node, untolerated_taint
from hpsim.scenario.derived import allocatable
from hpsim.scenario.schema import AutoscalerFlags, NodePool

if TYPE_CHECKING:
    from hpsim.cluster.cluster import Cluster
    from hpsim.node.node import WindowsNode

# How often the kubelet checks the runtime's status, network included (k/k
# pkg/kubelet/kubelet.go Run: go wait.Until(kl.updateRuntimeUp, 5*time.Second, ...)).
RUNTIME_STATUS_PERIOD_S = 5.0
# The taint the autoscaler puts on a node it deletes (cluster-autoscaler
# utils/taints/taints.go ToBeDeletedTaint).
TO_BE_DELETED: tuple[str, str, Literal["NoSchedule"]] = (
    "ToBeDeletedByClusterAutoscaler",
    "",
    "NoSchedule",
)


def settings_of(flags: AutoscalerFlags) -> AutoscalerSettings:
    """The autoscaler's settings from the scenario's flags."""
    return AutoscalerSettings(
        scan_interval_s=flags.scan_interval,
        max_node_provision_time_s=flags.max_node_provision_time,
        max_node_startup_time_s=flags.max_node_startup_time,
        scale_down_enabled=flags.scale_down_enabled,
        scale_down_unneeded_time_s=flags.scale_down_unneeded_time,
        scale_down_unready_time_s=flags.scale_down_unready_time,
        scale_down_delay_after_add_s=flags.scale_down_delay_after_add,
        scale_down_delay_after_delete_s=flags.scale_down_delay_after_delete,
        scale_down_delay_after_failure_s=flags.scale_down_delay_after_failure,
        scale_down_utilization_threshold=flags.scale_down_utilization_threshold,
        expander=flags.expander,
        max_nodes_total=flags.max_nodes_total,
        new_pod_scale_up_delay_s=flags.new_pod_scale_up_delay,
        initial_node_group_backoff_s=flags.initial_node_group_backoff_duration,
        max_node_group_backoff_s=flags.max_node_group_backoff_duration,
        node_group_backoff_reset_s=flags.node_group_backoff_reset_timeout,
        skip_nodes_with_system_pods=flags.skip_nodes_with_system_pods,
        skip_nodes_with_local_storage=flags.skip_nodes_with_local_storage,
        max_empty_bulk_delete=flags.max_empty_bulk_delete,
        max_drain_parallelism=flags.max_drain_parallelism,
        ignore_daemonsets_utilization=flags.ignore_daemonsets_utilization,
        expendable_pods_priority_cutoff=flags.expendable_pods_priority_cutoff,
        max_total_unready_percentage=flags.max_total_unready_percentage,
        ok_total_unready_count=flags.ok_total_unready_count,
    )


@dataclass
class Instance:
    """One VM of a pool, from its creation to its deletion."""

    name: str
    pool: NodePool
    created: float
    registered: float | None = None
    ready: float | None = None
    cordoned: float | None = None
    deleted: float | None = None
    reason: str = ""
    scale_up_at: float | None = None  # the autoscaler's decision that asked for it
    process: simpy.Process | None = None

    def record(self) -> NodeRecord:
        return NodeRecord(
            self.pool.name,
            self.created,
            self.registered,
            self.ready,
            self.cordoned,
            self.deleted,
            self.reason,
            self.scale_up_at,
        )


class _Movables(Sequence[MovablePod]):
    """A node's bound pods as drainability reads them (NodeState.pods), made when first
    read: a scan reads them only for a node under the utilization threshold, and a
    node's state is read again after each bind or release there. The pods are the ones
    bound when the state was read; what drainability reads of a pod never changes."""

    __slots__ = ("_made", "_of", "_pods")

    def __init__(self, pods: list[Pod], of: Callable[[Pod], MovablePod]) -> None:
        self._pods = pods
        self._of = of
        self._made: tuple[MovablePod, ...] | None = None

    def _all(self) -> tuple[MovablePod, ...]:
        if self._made is None:
            self._made = tuple(self._of(p) for p in self._pods)
        return self._made

    @overload
    def __getitem__(self, i: int) -> MovablePod: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[MovablePod]: ...
    def __getitem__(self, i: int | slice) -> MovablePod | Sequence[MovablePod]:
        return self._all()[i]

    def __len__(self) -> int:
        return len(self._pods)


class NodeLife:
    """Every node's life, and the autoscaler's loop over the autoscaled pools."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.env = cluster.env
        sc = cluster.scenario
        self.pools = {p.name: p for p in sc.pools}
        self.autoscaled = [p for p in sc.pools if p.autoscaled]
        self.instances: dict[str, Instance] = {}
        self.targets = {p.name: p.initial for p in sc.pools}
        self.settings = settings_of(sc.cluster.autoscaler)
        self.autoscaler = Autoscaler(self.settings, cluster.streams.rng("autoscaler"))
        self._provisioning: dict[str, np.random.Generator] = {}
        self._pending: dict[str, Pod] = {}
        # What a scan reads that follows from settings alone: per pool, its allocatable
        # and the DaemonSet pods a fresh node of it runs; per pod, what drainability reads.
        self._alloc = {p.name: allocatable(p.node) for p in sc.pools}
        self._daemons: dict[str, tuple[int, int, int]] = {}
        self._groups: dict[str, NodeGroup] = {}
        self._daemon_plans = {
            w.name for w in cluster.loaded.workloads if w.template.kind == "DaemonSet"
        }
        self._movables: dict[int, MovablePod] = {}
        # Each node as the autoscaler last read it, with what it was read at (_node_state)
        self._states: dict[str, tuple[tuple[Any, ...], NodeState]] = {}
        self._next: float | None = None  # the scan tick asked for
        self._gen = 0

    # -- nodes joining ---------------------------------------------------------------------

    def initial(self, pool: NodePool, name: str) -> None:
        """A node present, Ready, when the run starts."""
        self.instances[name] = Instance(name, pool, 0.0, 0.0, 0.0)

    def provision(self, pool: NodePool, at: float) -> None:
        """A new VM of ``pool``: it registers after its provisioning time."""
        name = self.cluster.node_name(pool)
        inst = self.instances[name] = Instance(name, pool, self.env.now, scale_up_at=at)
        inst.process = Process(self.env, self._boot(inst))

    def _boot(self, inst: Instance) -> Generator[simpy.Event, Any, None]:
        rng = self._provisioning.get(inst.pool.name)
        if rng is None:
            index = list(self.pools).index(inst.pool.name)
            rng = self._provisioning[inst.pool.name] = self.cluster.streams.rng(
                "provisioning", index
            )
        delay = sample_lifetime(inst.pool.provisioning, rng)
        try:
            yield Timeout(self.env, delay)
        except simpy.Interrupt:
            return
        now = self.env.now
        inst.registered = now
        node = self.cluster.add_node(inst.pool, ready=False, name=inst.name)
        node.emit.event(
            now,
            "Node",
            inst.name,
            "RegisteredNode",
            f"Node {inst.name} event: Registered Node {inst.name} in Controller",
        )
        node.start()
        if inst.pool.cni_daemon_set is None:
            self._network_ready(inst)
        self.cluster.nodes_changed()

    def pod_running(self, pod: Pod) -> None:
        """A pod went Running: the CNI DaemonSet's pod on a NotReady node makes its network."""
        inst = self.instances.get(pod.node)
        if (
            inst is not None
            and inst.ready is None
            and inst.registered is not None
            and pod.plan.name == inst.pool.cni_daemon_set
        ):
            self._network_ready(inst)

    def _network_ready(self, inst: Instance) -> None:
        """The CNI configuration is written: Ready at the kubelet's next runtime check,
        counted from its start (registration)."""
        assert inst.registered is not None
        now = self.env.now
        period = RUNTIME_STATUS_PERIOD_S
        k = math.ceil((now - inst.registered) / period - 1e-9)
        at = inst.registered + max(k, 0) * period
        Timeout(self.env, at - now).callbacks.append(lambda _e: self._ready(inst))

    def _ready(self, inst: Instance) -> None:
        node = self.cluster.nodes.get(inst.name)
        if node is None or inst.ready is not None:
            return
        inst.ready = self.env.now
        node.ready = True
        node.emit.event(
            self.env.now,
            "Node",
            inst.name,
            "NodeReady",
            f"Node {inst.name} status is now: NodeReady",
        )
        self.cluster.nodes_changed()

    # -- the autoscaler's loop ----------------------------------------------------------------

    def changed(self) -> None:
        """Something the autoscaler reads changed: scan at the next grid tick."""
        if not self.autoscaled:
            return
        self._ask(self._tick_after(self.env.now))

    def _tick_after(self, t: float) -> float:
        step = self.settings.scan_interval_s
        return math.floor(t / step + 1e-9) * step + step

    def _ask(self, at: float) -> None:
        if self._next is not None and self._next <= at:
            return
        self._next = at
        self._gen += 1
        gen = self._gen
        Timeout(self.env, at - self.env.now).callbacks.append(lambda _e: self._scan(gen))

    def _scan(self, gen: int) -> None:
        if gen != self._gen:
            return
        self._next = None
        now = self.env.now
        view = self._view()
        actions = self.autoscaler.scan(now, view)
        for action in actions:
            self._act(action, now)
        if any(isinstance(a, (ScaleUp, DeleteUnregistered, DeleteNodes)) for a in actions):
            view = self._view()  # instances were added or go: the view is read again
        wake = self.autoscaler.next_wakeup(now, view)
        if wake is not None and wake > now:
            self._ask(wake)

    def _act(self, action: Any, now: float) -> None:
        emit = self.cluster.emit
        for ev in action.events:
            kind, _, name = ev.object.partition("/")
            kind = {"pod": "Pod", "node": "Node"}.get(kind, "ConfigMap")
            emit.event(now, kind, name or ev.object, ev.reason, ev.message, ev.type)
        if isinstance(action, ScaleUp):
            pool = self.pools[action.group]
            self.targets[pool.name] = action.new_size
            for _ in range(action.delta):
                self.provision(pool, now)
        elif isinstance(action, DeleteUnregistered):
            for name in action.names:
                inst = self.instances[name]
                if inst.process is not None and inst.process.is_alive:
                    inst.process.interrupt()
                inst.deleted, inst.reason = now, "Unregistered"
                self.targets[action.group] -= 1
        elif isinstance(action, DeleteNodes):
            for name in action.names:
                Process(self.env, self._remove(name, action.group, not action.empty))

    def _remove(self, name: str, group: str, drain: bool) -> Generator[simpy.Event, Any, None]:
        cluster = self.cluster
        node = cluster.nodes[name]
        inst = self.instances[name]
        inst.cordoned = self.env.now
        node.spec_taints = [*node.spec_taints, TO_BE_DELETED]
        node.unschedulable = True
        node.deleting = True
        gone = [
            p
            for p in cluster.live_pods()
            if p.node == name and p.bound and p.template.kind != "DaemonSet"
        ]
        procs = [cluster.delete_pod(p, "ScaleDown") for p in gone]
        for proc in procs:
            if proc is not None:
                yield proc
        yield from cluster.remove_node(name)
        inst.deleted, inst.reason = self.env.now, "ScaleDown"
        self.targets[group] -= 1
        for ev in deletion_finished_events(name, drain):
            kind, _, obj = ev.object.partition("/")
            kind = {"pod": "Pod", "node": "Node"}.get(kind, "ConfigMap")
            cluster.emit.event(self.env.now, kind, obj or ev.object, ev.reason, ev.message, ev.type)
        cluster.nodes_changed()

    # -- what the autoscaler reads ------------------------------------------------------------

    def _view(self) -> View:
        cluster = self.cluster
        groups = tuple(self._group(p) for p in self.autoscaled)
        names = {p.name for p in self.autoscaled}
        nodes = tuple(
            self._node_state(inst)
            for inst in self.instances.values()
            if inst.pool.name in names and inst.deleted is None
        )
        pending: list[PendingPod] = []
        self._pending = {}
        if len(self._movables) > 2 * cluster.live_count + 64:
            live = {p.uid for p in cluster.live_pods()}
            self._movables = {u: m for u, m in self._movables.items() if u in live}
            self._states = {n: s for n, s in self._states.items() if n in cluster.nodes}
        for pod in cluster.pending.pods():  # by uid: the order pods were created in
            if pod.bound or pod.state != "Pending" or pod.unschedulable_since is None:
                continue
            key = f"{pod.template.namespace}/{pod.name}"
            self._pending[key] = pod
            pending.append(
                PendingPod(
                    key,
                    pod.plan.name,
                    pod.cpu_request,
                    pod.memory_request,
                    pod.created,
                    pod.unschedulable_since,
                    pod.priority,
                )
            )
        return View(groups, nodes, tuple(pending), self._fits_template)

    def _daemon_requests(self, pool: NodePool) -> tuple[int, int, int]:
        """The DaemonSet pods a fresh node of the pool runs: cpu, memory, count."""
        known = self._daemons.get(pool.name)
        if known is not None:
            return known
        cpu = memory = count = 0
        view = self._template(pool)
        for plan in self.cluster.loaded.workloads:
            t = plan.template
            if t.kind != "DaemonSet":
                continue
            ask = plugins.pod_ask(t.spec, t.kind, plan.name, node_name=view.name)
            # daemon.NodeShouldRunDaemonPod on the template (utils/daemonset/daemonset.go
            # GetDaemonSetPodsForNode)
            if untolerated_taint(ask.spec, view.taints) is None and matches_node(
                ask.spec, view.labels
            ):
                cpu, memory, count = cpu + ask.cpu_m, memory + ask.memory, count + 1
        known = self._daemons[pool.name] = (cpu, memory, count)
        return known

    def _template(self, pool: NodePool, usage: Usage | None = None) -> plugins.NodeView:
        """A sanitized template node of the pool (no condition taints), ``usage`` on it."""
        spec = pool.node
        name = f"template-node-for-{pool.name}"
        usage = usage or Usage()
        return plugins.NodeView(
            name=name,
            alloc=self._alloc[pool.name],
            labels={**spec.all_labels, "kubernetes.io/hostname": name},
            taints=[(t.key, t.value, t.effect) for t in spec.taints],
            unschedulable=False,
            usage=usage,
            nonzero_cpu_m=usage.nonzero_cpu_m,
            nonzero_memory=usage.nonzero_memory,
        )

    def _group(self, pool: NodePool) -> NodeGroup:
        """The pool as a node group: the same object while its target stays."""
        known = self._groups.get(pool.name)
        if known is None or known.target != self.targets[pool.name]:
            known = self._groups[pool.name] = self._make_group(pool)
        return known

    def _make_group(self, pool: NodePool) -> NodeGroup:
        alloc = self._alloc[pool.name]
        lo, hi = pool.bounds
        ds_cpu, ds_mem, ds_pods = self._daemon_requests(pool)
        return NodeGroup(
            pool.name,
            lo,
            hi,
            self.targets[pool.name],
            alloc.cpu_m,
            alloc.memory,
            alloc.pods,
            pool.node.cpu * 1000,
            pool.node.memory,
            ds_cpu,
            ds_mem,
            ds_pods,
        )

    def _node_state(self, inst: Instance) -> NodeState:
        """The node as the autoscaler reads it; kept while its pods and state stay."""
        node = self.cluster.nodes.get(inst.name)
        if node is None:
            return self._read_node(inst, None)
        known = self._states.get(inst.name)
        if known is None or known[0] != self._state_key(inst, node):
            state = self._read_node(inst, node)
            # the key as the node stands after the read, which prunes the pods that ended
            # (a version more): the next look finds it unchanged
            known = self._states[inst.name] = (self._state_key(inst, node), state)
        return known[1]

    @staticmethod
    def _state_key(inst: Instance, node: WindowsNode) -> tuple[Any, ...]:
        return (node.version, node.unschedulable, inst.cordoned, inst.registered, inst.ready)

    def _read_node(self, inst: Instance, node: WindowsNode | None) -> NodeState:
        alloc = self._alloc[inst.pool.name]
        if node is None:
            return NodeState(
                inst.name,
                inst.pool.name,
                inst.created,
                None,
                None,
                alloc.cpu_m,
                alloc.memory,
                alloc.pods,
            )
        bound = [p for p in node.live_pods() if p.bound]
        ds = [p for p in bound if p.plan.name in self._daemon_plans]
        return NodeState(
            inst.name,
            inst.pool.name,
            inst.created,
            inst.registered,
            inst.ready,
            alloc.cpu_m,
            alloc.memory,
            alloc.pods,
            node.usage.cpu_m,
            node.usage.memory,
            node.usage.pods,
            sum(p.cpu_request for p in ds),
            sum(p.memory_request for p in ds),
            node.unschedulable and inst.cordoned is None,
            inst.cordoned is not None,
            _Movables(bound, self._movable_of),
        )

    def _movable_of(self, pod: Pod) -> MovablePod:
        return self._movables.get(pod.uid) or self._movable(pod)

    def _movable(self, pod: Pod) -> MovablePod:
        """What drainability reads of a bound pod (kept until the pod ends)."""
        out = self._movables[pod.uid] = self._drainable(pod)
        return out

    @staticmethod
    def _drainable(pod: Pod) -> MovablePod:
        t = pod.template
        kind = {"Deployment": "ReplicaSet", "Pod": None}.get(t.kind, t.kind)
        local = tuple(
            v.name
            for v in t.spec.volumes
            if v.host_path is not None
            or (v.empty_dir is not None and v.empty_dir.medium != "Memory")
        )
        ann = t.raw_metadata.get("annotations") or {}
        return MovablePod(
            f"{t.namespace}/{pod.name}",
            t.namespace,
            pod.cpu_request,
            pod.memory_request,
            kind,
            ann.get("cluster-autoscaler.kubernetes.io/safe-to-evict"),
            local,
            tuple(
                s.strip()
                for s in str(
                    ann.get("cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes", "")
                ).split(",")
                if s.strip()
            ),
        )

    def _fits_template(self, group: str, pending: PendingPod) -> bool | tuple[str, ...]:
        pod = self._pending[pending.key]
        pool = self.pools[group]
        ds_cpu, ds_mem, ds_pods = self._daemon_requests(pool)
        usage = Usage(ds_cpu, ds_mem, ds_pods, 0, ds_cpu, ds_mem)
        t = pod.template
        ask = plugins.pod_ask(t.spec, t.kind, pod.plan.name, priority=pod.priority)
        reasons = plugins.filter_node(ask, self._template(pool, usage))
        return reasons if reasons else True

    def finish(self) -> None:
        """The nodes' records, as they stand at the end."""
        emit = self.cluster.emit
        for inst in self.instances.values():
            emit.for_node(inst.name).node(inst.record())
