"""WindowsNode: one simulated Windows node, wired from a loaded scenario.

The node is wiring. It builds its parts and hands each the collaborators it
needs, never itself: containerd (pulls), processor sharing (CPU under job
rate caps), the commit ledger (job memory caps and the node's commit limit),
the volume, the kubelet (pod workers), image GC, eviction and the workload
controllers. It also plays the API server and kube-scheduler for its pods
(create, bind, delete). Every part emits facts through one
:class:`hpsim.facts.Emitter` and reads none back. A run is build -> start ->
run -> finish (a closing snapshot of what is still live).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import numpy as np
import simpy
from simpy.events import Event, Process, Timeout

from hpsim.errors import HpsimError, excerpt
from hpsim.facts import Emitter, WriteRecord
from hpsim.gcpause import paused_gc
from hpsim.node.containerd import Containerd
from hpsim.node.containergc import ContainerGC
from hpsim.node.controllers import Controller, build_controllers
from hpsim.node.cpu import ProcessorSharing
from hpsim.node.draws import Draws, Streams
from hpsim.node.eviction import EvictionManager
from hpsim.node.imagegc import ImageGC
from hpsim.node.images import resolve_images
from hpsim.node.jobobject import CommitLedger
from hpsim.node.kubelet import Kubelet
from hpsim.node.paging import Paging
from hpsim.node.platforms import entry_matches
from hpsim.node.pod import ContainerState, Pod, PodStates
from hpsim.node.printer import RUNNING, TERMINATED, Shown
from hpsim.node.registry import Registry
from hpsim.node.runloop import run_watched
from hpsim.node.schedqueue import SchedulingQueue
from hpsim.node.scheduler import (
    Usage,
    insufficient,
    insufficient_words,
    placement_failure,
    pod_limit,
    pod_request,
    unavailable,
)
from hpsim.node.storage import ACCOUNTED, OWNERS, Volume, WriterKey, Written
from hpsim.scenario.admission import ContainerSettings
from hpsim.scenario.derived import (
    allocatable,
    commit_limit,
    eviction_enforced,
    eviction_thresholds,
    progress_timeout,
    unpack_throughput,
)
from hpsim.scenario.load import LoadedScenario, WorkloadPlan
from hpsim.scenario.manifests import Container
from hpsim.scenario.schema import Event as ScenarioEvent
from hpsim.scenario.schema import MemoryDist, Profile
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


def _priority(spec: Any) -> int:
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


class WindowsNode:
    """The simulated machine, its kubelet, and the API side of its pods."""

    def __init__(
        self,
        loaded: LoadedScenario,
        seed: int | np.random.SeedSequence,
        emit: Emitter,
        env: simpy.Environment | None = None,
    ) -> None:
        self.loaded = loaded
        self.scenario = loaded.scenario
        self.spec = spec = loaded.scenario.node
        self.env = env = env or simpy.Environment()
        self.emit = emit
        root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self.streams = Streams(root)
        self.alloc = allocatable(spec)
        self.labels = spec.all_labels
        self.taints = [(t.key, t.value, t.effect) for t in spec.taints]
        self.unschedulable = False
        self.states = PodStates(emit, on_live=lambda: self.imagegc.changed())
        self.registry = Registry(on_change=lambda: self.containerd.registry_changed())
        self.containerd = Containerd(
            env,
            network_Bps=spec.network,
            unpack_Bps=unpack_throughput(spec),
            max_concurrent_downloads=spec.containerd.max_concurrent_downloads,
            discard_unpacked_layers=spec.containerd.discard_unpacked_layers,
            on_fact=lambda _kind, _fields: self.volume.images_changed(),
            version=spec.containerd.version,
            platform=partial(entry_matches, spec.os_build, spec.containerd.version),
            progress_timeout_s=progress_timeout(spec),
            room=lambda size: self.volume.has_room(size),
            registry=self.registry,
        )
        self.cpu = ProcessorSharing(
            env,
            spec.cpu * 1000.0,
            on_change=lambda total: emit.level(env.now, cpu_allocated_millicores=total),
        )
        self.paging = Paging(
            env,
            ram=float(spec.memory),
            resident_share=spec.resident_share,
            commit=lambda: (self.ledger.committed(), self.ledger.slope()),
            on_speed=self._speed_changed,
        )
        self.ledger = CommitLedger(
            env,
            commit_limit=float(commit_limit(spec)),
            system_commit=float(spec.system_commit),
            on_change=self._commit_changed,
            on_failure=lambda hit: self.kubelet.cap_hit(hit),
        )
        # The node image's images are in the store before the volume first reads it. A
        # sandbox image nobody defines is in no node image: RunPodSandbox fails to pull it.
        images = resolve_images(self.scenario)
        for ref in spec.pre_pulled:
            if ref in images:
                self.containerd.preload(images[ref])
        self.volume = Volume(
            env,
            capacity=spec.disk,
            os_bytes=spec.os_disk_usage,
            images=lambda: (self.containerd.content_bytes, self.containerd.snapshot_bytes),
            on_change=self._volume_changed,
            on_full=self._disk_full,
        )
        self.kubelet = Kubelet(
            env,
            emit,
            spec,
            images=images,
            containerd=self.containerd,
            volume=self.volume,
            ledger=self.ledger,
            cpu=self.cpu,
            streams=self.streams,
            states=self.states,
            hooks=self,
        )
        self.imagegc = ImageGC(
            env,
            emit,
            spec.name,
            spec.kubelet,
            containerd=self.containerd,
            volume=self.volume,
            in_use=lambda: [p.images for p in self.live_pods()],
            pinned=self.kubelet.pinned,
        )
        self.containergc = ContainerGC(env, remove=self.kubelet.remove_containers)
        self.eviction = EvictionManager(
            env,
            emit,
            spec.name,
            eviction_thresholds(spec),
            enforced=eviction_enforced(spec),
            volume=self.volume,
            ledger=self.ledger,
            reclaim_disk=self._reclaim_disk,
            candidates=self.live_pods,
            memory_usage=self._committed_by,
            storage=self.kubelet.storage_usage,
            limited=lambda: list(self._limited.values()),
            evict=self.evict,
            conditions_cleared=self.schedule,
        )
        self.usage = Usage()
        self.pending = SchedulingQueue()
        self.verdicts: dict[str, TemplateVerdict] = {
            w.name: v for w, v in zip(loaded.workloads, scenario_verdicts(loaded), strict=True)
        }
        self._uid = 0
        self._blueprints: dict[str, _Blueprint] = {}
        self._live: dict[int, Pod] = {}  # pods that have not ended, by uid
        # Bound pods with an ephemeral-storage limit that have not ended: what kubelet's
        # local storage eviction looks at.
        self._limited: dict[int, Pod] = {}
        # Pods that ended (Succeeded, Failed) and are not deleted, whose dead containers
        # are still on the volume.
        self._ended: dict[int, Pod] = {}
        self._names: dict[int, tuple[str, str]] = {}  # every pod's (name, workload) by uid
        self.controllers: dict[str, Controller] = build_controllers(
            env, emit, self, self.streams, loaded.workloads, start=self.scenario.start_time
        )

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
        run_watched(self.env, until, limit=INSTANT_EVENTS_LIMIT, stuck=self._stuck)

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
        """Start the node's loops and the workload controllers (``run`` without the running:
        a caller may then advance ``env`` in slices, as the benchmark does)."""
        self.imagegc.start()
        self.eviction.start()
        self.containergc.start()
        self._disk_level(self.volume)
        for c in self.controllers.values():
            c.start()
        for ev in self.scenario.events:
            Process(self.env, self._scenario_event(ev))

    def finish(self) -> None:
        """The closing snapshot: every level as it stands at the end (linear growths
        included), and the records of the pods, containers and writers still live."""
        self._disk_level(self.volume)
        self.ledger.touch()
        self.imagegc.close()
        emit = self.emit
        live = self.live_pods()
        for pod in live:
            emit.pod(pod.record(self.env.now))
            for record in pod.running_containers():
                emit.container(record)
        self._emit_writes(self.volume.written(), None)

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
                priority=_priority(spec),
                host_process=verdict.host_process,
                refusal=verdict.refusal(),
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
    ) -> Pod:
        """Create a pod object from a workload's template (as the API server would)."""
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
        )
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
        self.emit.level(
            self.env.now,
            pods_bound=self.usage.pods,
            pods_running=self.states.running,
            pods_pending=len(self.pending),
            requests_cpu_millicores=self.usage.cpu_m,
            requests_memory_bytes=self.usage.memory,
        )

    def _kubelet_admit(self, pod: Pod) -> None:
        """A pod with spec.nodeName skips the scheduler: kubelet admission checks the fit."""
        short = insufficient(pod, self.usage, self.alloc)
        if short:
            res = short[0]
            pod.reason = pod.status_reason = f"OutOf{res}"
            pod.message = f"Pod Node didn't have enough resource: {res}"
            pod.set_state("Failed", self.env.now, self.states)
            self.emit.event(self.env.now, "Pod", pod.name, pod.reason, pod.message, "Warning")
            return
        self._bind(pod)

    def _fit_failure(self, pod: Pod, usage: Usage) -> str | None:
        ds = pod.template.kind == "DaemonSet"
        if self.unschedulable and not ds:
            return "1 node(s) were unschedulable"
        # Condition taints (disk-pressure, memory-pressure) are tolerated by DaemonSet pods:
        # the DaemonSet controller adds those tolerations (pkg/controller/daemon/util).
        taints = self.taints if ds else self.taints + self.eviction.condition_taints()
        misplaced = placement_failure(pod.template.spec, self.labels, taints)
        if misplaced:
            return misplaced
        short = insufficient(pod, usage, self.alloc)
        return insufficient_words(short) if short else None

    def schedule(self) -> None:
        """Try every pending pod in queue order (priority, then creation): the queue
        works out which bind and whose FailedScheduling message changes."""
        if not self.pending:
            self._level()
            return
        for pod, why in self.pending.cycle(self.usage, self._fit_failure):
            if why is None:
                self._bind(pod)
            else:
                pod.message = why
                self.emit.event(
                    self.env.now,
                    "Pod",
                    pod.name,
                    "FailedScheduling",
                    unavailable(why),
                    "Warning",
                )
        self._level()

    def _bind(self, pod: Pod) -> None:
        pod.bound = True
        if pod.ephemeral_limit is not None:
            self._limited[pod.uid] = pod
        pod.scheduled = self.env.now
        pod.message = ""
        self.usage.add(pod)
        pod.set_state("Scheduled", self.env.now, self.states)
        self.emit.event(
            self.env.now,
            "Pod",
            pod.name,
            "Scheduled",
            f"Successfully assigned {pod.template.namespace}/{pod.name} to {self.spec.name}",
        )
        self.kubelet.start_pod(pod)

    def _release(self, pod: Pod) -> None:
        self._limited.pop(pod.uid, None)
        if pod.bound:
            pod.bound = False
            self.usage.add(pod, -1)
            self.schedule()

    def pod_terminal(self, pod: Pod) -> None:
        """A pod reached Succeeded or Failed: it no longer holds requests."""
        if pod.reason != "Evicted" and any(c.on_disk for c in pod.containers):
            self._ended[pod.uid] = pod
        ctl = self.controllers.get(pod.owner)
        if ctl is not None:
            ctl.pod_leaving(pod)
        self._release(pod)
        self._level()
        if ctl is not None:
            ctl.pod_finished(pod)

    def delete_pod(self, pod: Pod, reason: str = "Deleted") -> simpy.Process | None:
        """Graceful deletion; the owner is told once the pod is gone."""
        if pod.ended or pod.delete_requested is not None:
            if pod.state in ("Succeeded", "Failed"):
                pod.deleted = self.env.now
                pod.set_state("Deleted", self.env.now, self.states)
                if pod.reason != "Evicted":  # an evicted pod's storage went at its eviction
                    self.kubelet.release_pod_volumes(pod)
                    if self._ended.pop(pod.uid, None) is not None:
                        self.containergc.pod_deleted(pod)
            return None
        pod.delete_requested = self.env.now
        ctl = self.controllers.get(pod.owner)
        if ctl is not None:
            ctl.pod_leaving(pod)
        return Process(self.env, self._delete(pod, reason))

    def _delete(self, pod: Pod, reason: str) -> Generator[simpy.Event, Any, None]:
        assert pod.delete_event is not None
        if not pod.bound:
            self.pending.discard(pod)
            pod.delete_event.succeed()
        else:
            pod.set_state("Terminating", self.env.now, self.states)
            pod.delete_event.succeed()
            yield from self.kubelet.kill_pod(pod)
            self._release(pod)
        self.free_pod_storage(pod)
        pod.deleted = self.env.now
        pod.finished = pod.finished if pod.finished is not None else self.env.now
        pod.reason = pod.reason or reason
        pod.set_state("Deleted", self.env.now, self.states)
        self._level()
        ctl = self.controllers.get(pod.owner)
        if ctl is not None:
            ctl.pod_deleted(pod)

    # -- what the kubelet tells the pod's owner (kubelet.PodHooks) ----------------------------

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

    # -- the node's state ----------------------------------------------------------------------

    def _committed_by(self, pod: Pod) -> float:
        """Memory the pod's running containers have committed."""
        ledger = self.ledger
        return sum(ledger.committed(k) for k in self.kubelet.commit_keys(pod) if k in ledger)

    def _commit_changed(self, committed: float, slope: float) -> None:
        self.emit.level(
            self.env.now, memory_committed_bytes=committed, memory_commit_slope_bytes_per_s=slope
        )
        self.eviction.signals_changed()
        self.paging.commit_changed(committed, slope)

    def _speed_changed(self, speed: float) -> None:
        """Paging changed how fast work proceeds: every running container's CPU progress."""
        self.emit.level(self.env.now, paging_slowdown=1.0 - speed)
        self.cpu.set_speed(speed)

    def _volume_changed(self, vol: Volume) -> None:
        self._disk_level(vol)
        self.eviction.signals_changed()
        self.imagegc.changed()

    def _disk_level(self, vol: Volume) -> None:
        owners = vol.by_owner()
        actual_slope, accounted_slope = vol.slopes()
        self.emit.level(
            self.env.now,
            disk_actual_bytes=sum(owners.values()),
            disk_accounted_bytes=sum(owners[o] for o in ACCOUNTED),
            disk_actual_slope_bytes_per_s=actual_slope,
            disk_accounted_slope_bytes_per_s=accounted_slope,
            **{f"disk_{o}_bytes": owners[o] for o in OWNERS},
        )

    def _disk_full(self) -> None:
        self.emit.event(
            self.env.now,
            "Node",
            self.spec.name,
            "DiskFull",
            'The C: volume is full: writes fail with "There is not enough space on the disk."',
            "Warning",
        )

    def live_pods(self) -> list[Pod]:
        """Pods that have not ended (pruned as they end: cheap however long the run)."""
        live = self._live
        for uid in [u for u, p in live.items() if p.ended]:
            del live[uid]
        return list(live.values())

    def free_pod_storage(self, pod: Pod) -> None:
        """The pod is gone, deleted while it ran or evicted: its containers go as they die
        (the container deletor with ``removeAll``, hpsim.node.containergc), and with them
        their scratch and logs; its emptyDirs go; its host writes stay."""
        if not any(c.profile.writes for c in pod.containers):
            return  # it never wrote: nothing of it is on the volume
        self.kubelet.remove_containers(pod)
        self.kubelet.release_pod_volumes(pod)

    def _reclaim_disk(self) -> None:
        """The eviction manager's node-level reclaim for nodefs on a node without a
        separate image filesystem (k/k pkg/kubelet/eviction/helpers.go
        buildSignalToNodeReclaimFuncs): ``DeleteAllUnusedContainers`` -- every container
        of a terminated pod, and beyond one dead instance per container, which the
        deletor already keeps to -- then ``DeleteUnusedImages``."""
        self.containergc.remove_all()
        ended, self._ended = self._ended, {}
        for pod in ended.values():
            self.kubelet.remove_containers(pod)
        self.imagegc.delete_unused()

    def _emit_writes(self, written: list[Written], released: float | None) -> None:
        """What each writer wrote, as records (``released``: when its bytes went)."""
        for w in written:
            uid, container, _owner, instance = cast(WriterKey, w.key)  # the node's writer keys
            name, workload = self._names[uid]
            self.emit.write(
                WriteRecord(
                    name, workload, container, w.owner, w.first, released, w.bytes, instance
                )
            )

    def evict(self, pod: Pod, message: str) -> None:
        """Hard eviction: kill now (no grace), phase Failed, reason Evicted."""
        assert pod.delete_event is not None
        pod.reason, pod.message = "Evicted", message
        self.emit.event(self.env.now, "Pod", pod.name, "Evicted", message, "Warning")
        if not pod.delete_event.triggered:
            pod.delete_event.succeed()
        for c in pod.containers:
            if c.running and c.stop is not None and not c.stop.triggered:
                c.stop.succeed()
        pod.finished = self.env.now
        pod.status_reason = "Evicted"
        pod.set_state("Failed", self.env.now, self.states)
        # Then kubelet reports the containers: a killed one exited with an error, one that
        # was not running "could not be located" (k/k pkg/kubelet/status/status_manager.go
        # TerminatePod). kubectl then shows that, not Evicted (k/k issue #105467).
        for c in pod.containers:
            if c.shown.kind == RUNNING:
                c.shown = Shown(
                    TERMINATED, "Error", 1
                )  # a non-zero exit; printPod reads the reason
            elif c.shown.kind != TERMINATED:
                c.shown = Shown(TERMINATED, "ContainerStatusUnknown", 137)
        self.states.refresh(pod, self.env.now)
        self.free_pod_storage(pod)
        self.pod_terminal(pod)

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
            self.unschedulable = bool(ev.cordon)
            reason = "NodeNotSchedulable" if ev.cordon else "NodeSchedulable"
            emit.event(now, "Node", self.spec.name, reason, "")
            self.schedule()
        elif ev.drain is not None:
            self.unschedulable = True
            emit.event(now, "Node", self.spec.name, "NodeNotSchedulable", "drain")
            for pod in self.live_pods():
                if pod.template.kind != "DaemonSet":
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
