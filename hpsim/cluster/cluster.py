"""Cluster: the API server's pods, kube-scheduler across the nodes, the workload
controllers and the nodes' lives, wired from a loaded scenario.

The cluster plays the control plane. It creates pods from the controllers'
requests (as the API server would), keeps the pending ones in kube-scheduler's
queue, filters and scores the nodes for each (:mod:`hpsim.cluster.placement`),
binds it to one, and hands it to that node's kubelet. A node
(:class:`hpsim.node.node.WindowsNode`) is one machine; it tells the cluster
when a pod it runs ends. Nodes join from the scenario's pools at the start;
the Cluster Autoscaler adds and removes more (:mod:`hpsim.cluster.nodelife`).
Every part emits facts through one :class:`hpsim.facts.Emitter` (a node's
through its own channel) and reads none back. A run is build -> start -> run
-> finish (a closing snapshot of what is still live).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy
from simpy.events import Event, Process, Timeout

from hpsim.cluster.nodelife import NodeLife
from hpsim.cluster.placement import Placement, Scheduler
from hpsim.cluster.plugins import nonzero_request
from hpsim.errors import HpsimError, excerpt
from hpsim.facts import Emitter
from hpsim.gcpause import paused_gc
from hpsim.node.controllers import Controller, ReplicaController, build_controllers
from hpsim.node.draws import Draws, Streams
from hpsim.node.images import Image, resolve_images
from hpsim.node.node import WindowsNode
from hpsim.node.pod import ContainerState, Pod, PodStates
from hpsim.node.registry import Registry
from hpsim.node.runloop import run_watched
from hpsim.node.schedqueue import SchedulingQueue
from hpsim.node.scheduler import insufficient, pod_limit, pod_request
from hpsim.scenario.admission import ContainerSettings
from hpsim.scenario.load import LoadedScenario, WorkloadPlan
from hpsim.scenario.manifests import Container
from hpsim.scenario.schema import Event as ScenarioEvent
from hpsim.scenario.schema import MemoryDist, NodePool, NodeSpec, Profile
from hpsim.scenario.verdicts import TemplateVerdict, scenario_verdicts

# The built-in PriorityClasses (k/k pkg/apis/scheduling/types.go): the Priority admission
# plugin fills spec.priority from priorityClassName.
_PRIORITY_CLASSES = {
    "system-node-critical": 2_000_001_000,
    "system-cluster-critical": 2_000_000_000,
}


# Events one simulated instant may take before the run is stopped as a zero-time loop.
# Our choice, no upstream source: a loop that never lets time pass (pods living 0 s that
# their controller replaces at once) would otherwise run forever, ~100,000 events and
# ~3 MiB a second. The busiest legitimate instants measured: 119 events (the shipped
# scenarios), 80 (benchmarks/month.yaml), about 8 per pod for a burst of single-container
# pods (4,000 pods drained at once: 32,000). One million leaves room for 100,000 pods, or
# 10,000 pods of ten containers, at one instant; a zero-time loop reaches it in ~10 s.
INSTANT_EVENTS_LIMIT = 1_000_000
# Pods waiting to be scheduled at once before the run is stopped. Our choice, no upstream
# source: every pending pod is held in memory (4.4 KB a pod with its records, measured on
# benchmarks/month.yaml), and a scenario that asks for more (replicas: 2147483647, a burst
# of arrivals that never fit) would otherwise grow until the machine runs out of memory.
# 200,000 pending pods is 2,000 times a node's default maxPods (110).
PENDING_PODS_LIMIT = 200_000
# Events watched after the limit, to see which workloads create pods at that instant.
_WATCH_EVENTS = 10_000


def pod_priority(spec: Any) -> int:
    """spec.priority, else the built-in PriorityClass its priorityClassName names, else 0."""
    if spec.priority is not None:
        return int(spec.priority)
    return _PRIORITY_CLASSES.get(spec.priority_class_name or "", 0)


def _lifetime_can_be_zero(plan: WorkloadPlan) -> bool:
    """Whether the workload's lifetime can draw 0 s (its pods then go as they come)."""
    lt = plan.spec.lifetime
    if lt is None:
        return False
    if lt.fixed is not None:
        return lt.fixed <= 0
    if lt.exponential is not None:
        return lt.exponential.mean <= 0
    if lt.lognormal is not None:
        return lt.lognormal.median <= 0
    return lt.uniform is not None and lt.uniform.max <= 0


@dataclass(frozen=True)
class _Blueprint:
    """What every pod of one workload shares (its template's verdict, requests, priority)."""

    # (init, spec, settings, profile, imagePullPolicy) per container, init containers first
    containers: tuple[tuple[bool, Container, ContainerSettings, Profile, str], ...]
    cpu_request: int
    memory_request: int
    ephemeral_request: int
    ephemeral_limit: int | None
    container_ephemeral_limits: dict[str, int]
    priority: int
    host_process: bool
    refusal: tuple[str, str] | None
    nonzero_cpu_m: int
    nonzero_memory: int


class Cluster:
    """The control plane and its nodes."""

    def __init__(
        self,
        loaded: LoadedScenario,
        seed: int | np.random.SeedSequence,
        emit: Emitter,
        env: simpy.Environment | None = None,
    ) -> None:
        self.loaded = loaded
        self.scenario = sc = loaded.scenario
        self.env = env = env or simpy.Environment()
        self.emit = emit
        root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self.streams = Streams(root)
        self.states = PodStates(emit, on_live=self._pods_changed, on_running=self._pod_running)
        self.registry = Registry(on_change=self._registry_changed)
        self.nodes: dict[str, WindowsNode] = {}  # registered nodes, in the order they joined
        self._images: dict[tuple[str, float], dict[str, Image]] = {}
        self.scheduler = Scheduler(self, sc.cluster.scheduler, self.streams.rng("scheduler"))
        settings = sc.cluster.scheduler
        self.pending = SchedulingQueue(
            settings.pod_initial_backoff_seconds, settings.pod_max_backoff_seconds
        )
        self._flushes: set[float] = set()  # backoffQ flushes already waited for
        self.verdicts: dict[str, TemplateVerdict] = {
            w.name: v for w, v in zip(loaded.workloads, scenario_verdicts(loaded), strict=True)
        }
        self._uid = 0
        self._blueprints: dict[str, _Blueprint] = {}
        self._live: dict[int, Pod] = {}  # pods that have not ended, by uid
        self._names: dict[int, tuple[str, str]] = {}  # every pod's (name, workload) by uid
        self.controllers: dict[str, Controller] = build_controllers(
            env, emit, self, self.streams, loaded.workloads, start=sc.start_time
        )
        self._daemons = [
            c
            for c in self.controllers.values()
            if isinstance(c, ReplicaController) and c.plan.template.kind == "DaemonSet"
        ]
        # The nodes whose requests moved since _level last asked them, and the Running
        # pods by node it saw then.
        self._levels_moved: set[str] = set()
        self._levels_said: tuple[int, int, int] | None = None  # the cluster's, as last emitted
        self.events_processed = 0  # simpy events :meth:`advance` processed (for benchmarks)
        self.pool_sizes: dict[str, int] = {}
        self._node_seq: dict[str, int] = {}
        self._nodes_made = 0  # nodes added so far: the next one's stream index
        self.life = NodeLife(self)
        for pool in sc.pools:
            self.pool_sizes[pool.name] = 0
            for _ in range(pool.initial):
                node = self.add_node(pool, ready=True)
                self.life.initial(pool, node.name)

    # -- nodes ---------------------------------------------------------------------------------

    @property
    def pods_created(self) -> int:
        """Pods the API server has created so far (uids are given in order from 1)."""
        return self._uid

    def images_for(self, spec: NodeSpec) -> dict[str, Image]:
        """Every pullable image as a node of this build and layer ratio sees it."""
        key = (spec.os_build, spec.unpacked_ratio)
        images = self._images.get(key)
        if images is None:
            images = self._images[key] = resolve_images(self.scenario, spec)
        return images

    def node_name(self, pool: NodePool) -> str:
        """The next node's name: ``node:``'s own name, or ``<pool>-<n>``."""
        if self.scenario.node is not None:
            return self.scenario.node.name
        n = self._node_seq.get(pool.name, 0)
        self._node_seq[pool.name] = n + 1
        return f"{pool.name}-{n}"

    def add_node(self, pool: NodePool, *, ready: bool, name: str | None = None) -> WindowsNode:
        """A node of ``pool`` registers with the API server (Ready at once if ``ready``)."""
        name = name or self.node_name(pool)
        spec = pool.node if pool.node.name == name else pool.node.model_copy(update={"name": name})
        node = WindowsNode(
            self.env,
            spec,
            self.emit.for_node(name),
            pool=pool.name,
            images=self.images_for(spec),
            registry=self.registry,
            streams=self.streams,
            states=self.states,
            api=self,
            ready=ready,
            index=self._nodes_made,
        )
        self._nodes_made += 1
        self.nodes[name] = node
        self._levels_moved.add(name)
        self.pool_sizes[pool.name] = self.pool_sizes.get(pool.name, 0) + 1
        return node

    def remove_node(self, name: str) -> Generator[simpy.Event, Any, None]:
        """The node is deleted: what still runs there goes with it (the pod GC deletes
        pods bound to a node that no longer exists, k/k pkg/controller/podgc
        gcOrphaned), and its closing snapshot is taken."""
        node = self.nodes[name]
        # Pods still bound there, and DaemonSet pods made for it and not yet bound (the
        # DaemonSet controller deletes a pod whose node is gone, daemon_controller.go
        # podsShouldBeOnNode).
        procs = [
            self.delete_pod(pod, "NodeDeleted")
            for pod in self.live_pods()
            if (pod.node == name and pod.bound) or (not pod.bound and pod.pin == name)
        ]
        for proc in procs:
            if proc is not None:
                yield proc
        node.finish()
        node.retire()
        del self.nodes[name]
        self.scheduler.node_gone(name)
        self.pool_sizes[node.pool] -= 1

    def nodes_changed(self) -> None:
        """A node joined, turned Ready or left: the DaemonSets follow, the scheduler
        tries again (a Node add or update moves unschedulable pods, scheduling_queue.go
        ``MoveAllToActiveOrBackoffQueue``), the autoscaler looks."""
        for ctl in self._daemons:
            ctl.nodes_changed()
        self.schedule(moved=True)

    def node_updated(self) -> None:
        """A node's condition and its taint went (kubelet's eviction manager): a Node
        update, which moves the pods waiting for room (``MoveAllToActiveOrBackoffQueue``)."""
        self.schedule(moved=True)

    def _pod_running(self, pod: Pod) -> None:
        self.life.pod_running(pod)

    def _registry_changed(self) -> None:
        for node in self.nodes.values():
            node.containerd.registry_changed()

    def _pods_changed(self, pod: Pod) -> None:
        """A pod was created or ended: an ended one leaves the live pods, and the nodes'
        image GC looks again (the images in use may have changed)."""
        if pod.ended:
            self._live.pop(pod.uid, None)
        for node in self.nodes.values():
            node.imagegc.changed()

    # -- running ---------------------------------------------------------------------------------

    def run(self) -> None:
        """Replay the scenario to its end."""
        with paused_gc():
            self.start()
            self.advance(self.scenario.duration)
            self.finish()

    def advance(self, until: float) -> None:
        """Run the model until simulated time ``until`` (``env.run(until=...)``), stopping
        with an HpsimError if the clock stops: more than INSTANT_EVENTS_LIMIT events at
        one instant."""
        self.events_processed += run_watched(
            self.env, until, limit=INSTANT_EVENTS_LIMIT, stuck=self._stuck
        )

    def _stuck(self, now: float, _events: int) -> None:
        """Simulated time stopped: name the workloads that create pods at this instant."""
        env, first = self.env, self._uid
        for _ in range(_WATCH_EVENTS):
            if env.peek() != now:
                break
            env.step()
        created = {self._names[uid][1] for uid in range(first + 1, self._uid + 1)}
        plans = [w for w in self.loaded.workloads if w.name in created]
        zero = [w for w in plans if _lifetime_can_be_zero(w)]
        when = (
            f"more than {INSTANT_EVENTS_LIMIT:,} events at t={now:g} s "
            "without simulated time passing"
        )
        if not plans:
            raise HpsimError(
                f"{when} (no pod was created at that instant: a loop in the model)",
                file=self.loaded.file,
            )
        names = ", ".join(f'"{excerpt(w.name)}"' for w in plans)
        who = f"workload{'s' if len(plans) > 1 else ''} {names}"
        if zero:
            raise HpsimError(
                f"{who}: {when} (a pod lifetime of 0 s makes its controller replace pods "
                "at the same instant forever)",
                file=self.loaded.file,
                field=f"workloads[{zero[0].index}].lifetime",
            )
        raise HpsimError(
            f"{who}: {when} (its controller creates pods at that instant over and over)",
            file=self.loaded.file,
        )

    def start(self) -> None:
        """Start the nodes' loops and the workload controllers (``run`` without the running:
        a caller may then advance ``env`` in slices, as the benchmark does)."""
        for node in self.nodes.values():
            node.start()
        self._level()
        for c in self.controllers.values():
            c.start()
        for ev in self.scenario.events:
            Process(self.env, self._scenario_event(ev))

    def finish(self) -> None:
        """The closing snapshot: every level as it stands at the end (linear growths
        included), and the records of the pods, containers and writers still live."""
        for node in self.nodes.values():
            node.finish()
        for pod in self.live_pods():
            if not pod.bound:
                self.emit.pod(pod.record(self.env.now))
        self.life.finish()

    # -- pods --------------------------------------------------------------------------------------

    def _sample_commit(self, dist: MemoryDist, rng: Draws) -> float:
        if dist.constant is not None:
            return float(dist.constant)
        if dist.normal is not None:
            return max(0.0, rng.normal(dist.normal.mean, dist.normal.sd))
        assert dist.lognormal is not None
        return dist.lognormal.median * math.exp(dist.lognormal.sigma * rng.standard_normal())

    def _blueprint(self, plan: WorkloadPlan) -> _Blueprint:
        """What every pod of a workload shares, worked out once per workload."""
        bp = self._blueprints.get(plan.name)
        if bp is None:
            verdict = self.verdicts[plan.name]
            settings = {s.name: s for s in verdict.containers}
            spec = plan.template.spec
            containers = tuple(
                (
                    init,
                    c,
                    settings[c.name],
                    plan.spec.containers.get(c.name, plan.spec.profile),
                    c.pull_policy,
                )
                for init, cs in ((True, spec.init_containers), (False, spec.containers))
                for c in cs
            )

            bp = _Blueprint(
                containers=containers,
                cpu_request=pod_request(spec, "cpu"),
                memory_request=pod_request(spec, "memory"),
                ephemeral_request=pod_request(spec, "ephemeral-storage"),
                ephemeral_limit=pod_limit(spec, "ephemeral-storage"),
                container_ephemeral_limits={
                    c.name: int(c.resources.limits["ephemeral-storage"])
                    for c in spec.containers
                    if c.resources.limits.get("ephemeral-storage")
                },
                priority=pod_priority(spec),
                host_process=verdict.host_process,
                refusal=verdict.refusal(),
                nonzero_cpu_m=nonzero_request(spec, "cpu"),
                nonzero_memory=nonzero_request(spec, "memory"),
            )
            self._blueprints[plan.name] = bp
        return bp

    def new_pod(
        self,
        plan: WorkloadPlan,
        name: str,
        owner: str,
        revision: int = 0,
        images: dict[str, str] | None = None,
        node: str | None = None,
    ) -> Pod:
        """Create a pod object from a workload's template (as the API server would);
        ``node``: the one node it is for (a DaemonSet's pod)."""
        self._uid += 1
        bp = self._blueprint(plan)
        rng = self.streams.get("demand", plan.index)
        images = images or {}
        containers = [
            ContainerState(
                spec=c,
                settings=settings,
                profile=profile,
                init=init,
                image=images.get(c.name, c.image or ""),
                pull_policy=policy,
                base_commit=self._sample_commit(profile.memory, rng),
            )
            for init, c, settings, profile, policy in bp.containers
        ]
        pod = Pod(
            uid=self._uid,
            name=name,
            plan=plan,
            created=self.env.now,
            cpu_request=bp.cpu_request,
            memory_request=bp.memory_request,
            ephemeral_request=bp.ephemeral_request,
            ephemeral_limit=bp.ephemeral_limit,
            container_ephemeral_limits=bp.container_ephemeral_limits,
            priority=bp.priority,
            host_process=bp.host_process,
            containers=containers,
            owner=owner,
            revision=revision,
            nonzero_cpu_m=bp.nonzero_cpu_m,
            nonzero_memory=bp.nonzero_memory,
        )
        pod.pin = node if node is not None else plan.template.spec.node_name
        pod.delete_event = Event(self.env)
        self._live[pod.uid] = pod
        self._names[pod.uid] = (name, plan.name)
        refusal = bp.refusal
        if refusal is not None:
            pod.reason, pod.message = refusal
            pod.set_state("Refused", self.env.now, self.states)
            self.emit.event(
                self.env.now, plan.template.kind, plan.name, refusal[0], refusal[1], "Warning"
            )
            return pod
        pod.set_state("Pending", self.env.now, self.states)
        if plan.template.spec.node_name is not None:
            self._kubelet_admit(pod)
            self._level()
        else:
            if len(self.pending) >= PENDING_PODS_LIMIT:
                raise HpsimError(
                    f'workload "{excerpt(plan.name)}": more than {PENDING_PODS_LIMIT:,} pods '
                    f"pending at once at t={self.env.now:g} s: hpsim holds every pending pod "
                    "in memory; ask for fewer replicas or arrivals",
                    file=self.loaded.file,
                    field=f"workloads[{plan.index}]",
                )
            self.pending.add(pod)
            self.schedule()  # it reports the levels that follow
        return pod

    def _level(self) -> None:
        levels = (
            len(self.pending),
            len(self.nodes),
            sum(1 for n in self.nodes.values() if n.ready),
        )
        # Said only when one moved: on a busy node 99.9% of the calls repeat the last
        # (the recorder would drop them; the call and its keywords cost 4% of a run).
        if levels != self._levels_said:
            self._levels_said = levels
            pending, total, ready = levels
            self.emit.level(
                self.env.now, pods_pending=pending, nodes_total=total, nodes_ready=ready
            )
        # A node's levels (hpsim.node.node.WindowsNode.level) move only with its requests
        # (a bind, a release, the node added) or its Running pods: only the nodes where
        # either moved since the last look are asked, in the nodes' order. The Running
        # counts that moved come from PodStates (no copy and compare of every node's count
        # per call), and the usual single node is asked without a pass over every node.
        moved = self._levels_moved
        running = self.states.running_moved
        if running:
            moved |= running
            running.clear()
        if len(moved) == 1:
            node = self.nodes.get(next(iter(moved)))
            if node is not None:
                node.level()
        elif moved:
            for node in self.nodes.values():
                if node.name in moved:
                    node.level()
        moved.clear()

    def _kubelet_admit(self, pod: Pod) -> None:
        """A pod with spec.nodeName skips the scheduler: that node's kubelet admission
        checks the fit (k/k pkg/kubelet/lifecycle/predicate.go). With one node, the pod
        goes to it whatever the name."""
        node = self.nodes.get(pod.pin or "")
        if node is None and len(self.nodes) == 1:
            node = next(iter(self.nodes.values()))
        if node is None:
            return  # no such node: the pod waits, Pending, as it does in a cluster
        short = insufficient(pod, node.usage, node.alloc)
        if short:
            res = short[0]
            pod.reason = pod.status_reason = f"OutOf{res}"
            pod.message = f"Pod Node didn't have enough resource: {res}"
            pod.set_state("Failed", self.env.now, self.states)
            node.emit.event(self.env.now, "Pod", pod.name, pod.reason, pod.message, "Warning")
            return
        self._bind(pod, node)

    def schedule(self, moved: bool = False) -> None:
        """Try the pods in activeQ in queue order (priority, then creation): the queue
        works out which bind and whose FailedScheduling message changes. ``moved``: a
        cluster event that may admit waiting pods happened (a pod released its node's
        resources, a node joined or changed), and the queue moves them to activeQ or
        backoffQ (hpsim.node.schedqueue)."""
        pending = self.pending
        if not pending:
            self._level()
            self.life.changed()
            return
        if moved:
            self._flush_at(pending.move_all(self.env.now))
        placement = Placement({name: n.usage for name, n in self.nodes.items()}, {})
        scheduler = self.scheduler
        scheduler.forget_causes()
        failed = []
        tried = pending.cycle(placement, scheduler.failure, self.env.now)
        for pod, why in tried:
            if why is None:
                self._bind(pod, self.nodes[placement.chosen.pop(pod.uid)])
            else:
                if pod.unschedulable_since is None:
                    pod.unschedulable_since = self.env.now
                pod.message = why
                self.emit.event(
                    self.env.now,
                    "Pod",
                    pod.name,
                    "FailedScheduling",
                    scheduler.event_message(why),
                    "Warning",
                    scheduler.causes.get(why, ""),
                )
                failed.append(pod)
        for pod in failed:
            self._preempt_for(pod)
        self._level()
        self.life.changed()

    def _flush_at(self, due: float | None) -> None:
        """Wake at the backoffQ flush that moves a backing-off line to activeQ."""
        if due is not None and due not in self._flushes:
            self._flushes.add(due)
            Process(self.env, self._flush(due))

    def _flush(self, due: float) -> Generator[simpy.Event, Any, None]:
        yield Timeout(self.env, due - self.env.now)
        self._flushes.discard(due)
        if self.pending.flush_backoff(self.env.now):
            self.schedule()
        self._flush_at(self.pending.next_due())

    def _preempt_for(self, pod: Pod) -> None:
        """DefaultPreemption after the pod's failed attempt: the dry run's victims are
        deleted (gracefully), each told "Preempted by pod <uid> on node <node>" (k/k
        pkg/scheduler/framework/preemption/preemption.go ``prepareCandidate``); the pod
        is tried again when they are gone, nominated to their node (the room they free
        is held for it). Not modelled: PodDisruptionBudgets."""
        if pod.ended or pod.bound or pod not in self.pending:
            return
        found = self.scheduler.victims(pod)
        if found is None:
            return
        node, victims = found
        self.scheduler.nominate(pod, node.name)
        for victim in victims:
            if victim.delete_requested is None:
                node.emit.event(
                    self.env.now,
                    "Pod",
                    victim.name,
                    "Preempted",
                    f"Preempted by pod {pod.uid} on node {node.name}",
                )
                self.delete_pod(victim, "Preempted")

    def _bind(self, pod: Pod, node: WindowsNode) -> None:
        pod.bound = True
        pod.node = node.name
        pod.emit = node.emit
        pod.scheduled = self.env.now
        pod.message = ""
        pod.unschedulable_since = None
        self.scheduler.forget(pod)
        node.bind(pod)
        self._levels_moved.add(node.name)

    def pod_terminal(self, pod: Pod) -> None:
        """A pod reached Succeeded or Failed: it no longer holds requests."""
        ctl = self.controllers.get(pod.owner)
        if ctl is not None:
            ctl.pod_leaving(pod)
        self._release(pod)
        self._level()
        if ctl is not None:
            ctl.pod_finished(pod)

    def _release(self, pod: Pod) -> None:
        node = self.nodes.get(pod.node)
        if node is not None and node.release(pod):
            self._levels_moved.add(node.name)
            self.schedule(moved=True)  # an assigned pod deleted (EventsToRegister)

    def delete_pod(self, pod: Pod, reason: str = "Deleted") -> simpy.Process | None:
        """Graceful deletion; the owner is told once the pod is gone."""
        if pod.ended or pod.delete_requested is not None:
            if pod.state in ("Succeeded", "Failed"):
                pod.deleted = self.env.now
                pod.set_state("Deleted", self.env.now, self.states)
                node = self.nodes.get(pod.node)
                if node is not None:
                    node.pod_deleted(pod)
            return None
        pod.delete_requested = self.env.now
        ctl = self.controllers.get(pod.owner)
        if ctl is not None:
            ctl.pod_leaving(pod)
        return Process(self.env, self._delete(pod, reason))

    def _delete(self, pod: Pod, reason: str) -> Generator[simpy.Event, Any, None]:
        assert pod.delete_event is not None
        node = self.nodes.get(pod.node) if pod.bound else None
        if node is None:
            # not bound (a bound pod's node stays until its pods are gone)
            self.pending.discard(pod)
            self.scheduler.forget(pod)
            pod.delete_event.succeed()
        else:
            pod.set_state("Terminating", self.env.now, self.states)
            pod.delete_event.succeed()
            yield from node.kubelet.kill_pod(pod)
            self._release(pod)
            node.free_pod_storage(pod)
        pod.deleted = self.env.now
        pod.finished = pod.finished if pod.finished is not None else self.env.now
        pod.reason = pod.reason or reason
        pod.set_state("Deleted", self.env.now, self.states)
        self._level()
        ctl = self.controllers.get(pod.owner)
        if ctl is not None:
            ctl.pod_deleted(pod)

    # -- what a node's kubelet tells the pod's owner -------------------------------------------

    def container_exited(self, pod: Pod, c: ContainerState, code: int) -> None:
        ctl = self.controllers.get(pod.owner)
        if ctl is not None:
            ctl.container_exited(pod, c, code)

    def container_restarted(self, pod: Pod, c: ContainerState) -> None:
        ctl = self.controllers.get(pod.owner)
        if ctl is not None:
            ctl.container_restarted(pod, c)

    def may_restart(self, pod: Pod) -> bool:
        ctl = self.controllers.get(pod.owner)
        return ctl.may_restart(pod) if ctl is not None else True

    # -- what the DaemonSet controller asks ------------------------------------------------------

    def daemon_nodes(self, plan: WorkloadPlan) -> list[str]:
        """The nodes that should run a pod of the DaemonSet ``plan``."""
        return self.scheduler.daemon_nodes(plan)

    def live_pods(self) -> list[Pod]:
        """Pods that have not ended (they leave as they end: cheap however long the run)."""
        return list(self._live.values())

    @property
    def live_count(self) -> int:
        """How many pods have not ended (:meth:`live_pods` without the list)."""
        return len(self._live)

    def pod_names(self, uid: int) -> tuple[str, str]:
        """A pod's (name, workload)."""
        return self._names[uid]

    # -- scenario events: rollout, scale, cordon, drain, registry trouble ----------------------

    def _scenario_event(self, ev: ScenarioEvent) -> Generator[simpy.Event, Any, None]:
        yield Timeout(self.env, ev.at)
        now, emit = self.env.now, self.emit
        if ev.rollout is not None:
            emit.event(now, "Workload", ev.rollout.workload, "Rollout", f"image {ev.rollout.image}")
            self.controllers[ev.rollout.workload].rollout(ev.rollout.image, ev.rollout.container)
        elif ev.scale is not None:
            emit.event(
                now, "Workload", ev.scale.workload, "Scaled", f"replicas {ev.scale.replicas}"
            )
            self.controllers[ev.scale.workload].scale(ev.scale.replicas)
        elif ev.cordon is not None:
            for node in self.nodes.values():
                node.unschedulable = bool(ev.cordon)
                reason = "NodeNotSchedulable" if ev.cordon else "NodeSchedulable"
                node.emit.event(now, "Node", node.name, reason, "")
            self.schedule(moved=True)
        elif ev.drain is not None:
            for node in self.nodes.values():
                node.unschedulable = True
                node.emit.event(now, "Node", node.name, "NodeNotSchedulable", "drain")
            for pod in self.live_pods():
                if pod.bound and pod.template.kind != "DaemonSet":
                    self.delete_pod(pod, "Drained")
        elif ev.registry is not None:
            yield from self._registry_trouble(ev)

    def _registry_trouble(self, ev: ScenarioEvent) -> Generator[simpy.Event, Any, None]:
        """An outage or a throttle of the registry, for its window (hpsim.node.registry)."""
        assert ev.registry is not None
        emit, name = self.emit, "registry"
        outage, throttle = ev.registry.outage, ev.registry.throttle
        if outage is not None:
            emit.event(self.env.now, "Registry", name, "RegistryOutage", f"for {outage:g} s")
            self.registry.outage(begins=True)
            yield Timeout(self.env, outage)
            self.registry.outage(begins=False)
            emit.event(self.env.now, "Registry", name, "RegistryRestored", "")
        elif throttle is not None:
            rate, span = throttle.rate, throttle.for_
            emit.event(
                self.env.now,
                "Registry",
                name,
                "RegistryThrottled",
                f"{rate:g} bytes/s for {span:g} s",
            )
            self.registry.throttle(rate, begins=True)
            yield Timeout(self.env, span)
            self.registry.throttle(rate, begins=False)
            emit.event(self.env.now, "Registry", name, "RegistryUnthrottled", "")
