"""WindowsNode: one simulated Windows machine and its kubelet.

The node is wiring. It builds its parts and hands each the collaborators it
needs, never itself: containerd (pulls), processor sharing (CPU under job
rate caps), the commit ledger (job memory caps and the node's commit limit),
the volume, the kubelet (pod workers), image GC, container GC and eviction.
The cluster (:mod:`hpsim.cluster.cluster`) binds pods to it and hears from it
when one ends. Every part emits facts through the node's own
:class:`hpsim.facts.Emitter` channel and reads none back.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Protocol, cast

import simpy

from hpsim.facts import NODE_LEVELS, Emitter, WriteRecord
from hpsim.node.containerd import Containerd
from hpsim.node.containergc import ContainerGC
from hpsim.node.cpu import ProcessorSharing
from hpsim.node.draws import Streams
from hpsim.node.eviction import EvictionManager
from hpsim.node.imagegc import ImageGC
from hpsim.node.images import Image
from hpsim.node.jobobject import CommitLedger
from hpsim.node.kubelet import Kubelet
from hpsim.node.paging import Paging
from hpsim.node.platforms import entry_matches
from hpsim.node.pod import ContainerState, Pod, PodStates
from hpsim.node.printer import RUNNING, TERMINATED, Shown
from hpsim.node.registry import Registry
from hpsim.node.scheduler import Usage, host_ports
from hpsim.node.storage import ACCOUNTED, OWNERS, Volume, WriterKey, Written
from hpsim.scenario.derived import (
    allocatable,
    commit_limit,
    eviction_enforced,
    eviction_thresholds,
    progress_timeout,
    unpack_throughput,
)
from hpsim.scenario.schema import NodeSpec

# The taint the node lifecycle controller puts on a node whose Ready condition is not
# True (k/k pkg/controller/nodelifecycle/node_lifecycle_controller.go
# nodeConditionToTaintKeyStatusMap; the kubelet registers a node with Ready=False,
# pkg/kubelet/kubelet_node_status.go initialNode).
NOT_READY_TAINTS = (
    ("node.kubernetes.io/not-ready", "", "NoSchedule"),
    ("node.kubernetes.io/not-ready", "", "NoExecute"),
)


def bound_pod(p: Pod, now: float) -> tuple[int, int, int, int, float, str]:
    """A bound pod as preemption weighs it: (priority, cpu, memory, ephemeral-storage,
    start time -- now for one not started --, name)."""
    start = p.started if p.started is not None else now
    return (p.priority, p.cpu_request, p.memory_request, p.ephemeral_request, start, p.name)


def _count_down(counts: dict[Any, int], key: Any) -> None:
    left = counts[key] - 1
    if left:
        counts[key] = left
    else:
        del counts[key]


class PodAPI(Protocol):
    """What a node tells the control plane about the pods it runs (the API side)."""

    def pod_terminal(self, pod: Pod) -> None: ...
    def container_exited(self, pod: Pod, c: ContainerState, code: int) -> None: ...
    def container_restarted(self, pod: Pod, c: ContainerState) -> None: ...
    def may_restart(self, pod: Pod) -> bool: ...
    def schedule(self) -> None: ...
    def node_updated(self) -> None: ...
    def pod_names(self, uid: int) -> tuple[str, str]: ...


class WindowsNode:
    """The simulated machine and its kubelet."""

    def __init__(
        self,
        env: simpy.Environment,
        spec: NodeSpec,
        emit: Emitter,
        *,
        pool: str,
        images: dict[str, Image],
        registry: Registry,
        streams: Streams,
        states: PodStates,
        api: PodAPI,
        ready: bool = True,
        index: int = 0,
    ) -> None:
        self.env = env
        self.spec = spec
        self.name = spec.name
        self.pool = pool
        self.emit = emit
        self.api = api
        self.states = states
        self.alloc = allocatable(spec)
        self.labels = {**spec.all_labels, "kubernetes.io/hostname": spec.name}
        self.spec_taints = [(t.key, t.value, t.effect) for t in spec.taints]
        self.unschedulable = False
        self.deleting = False  # its deletion has begun: no new pods of any kind
        self.ready = ready
        self.registry = registry
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
            registry=registry,
            spread=spec.pull_spread,
            # the node's own stream (by the order nodes were made): drawn only with a spread
            spread_rng=streams.rng("pulls", index) if spec.pull_spread > 0 else None,
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
            streams=streams,
            states=states,
            hooks=self,
        )
        self.imagegc = ImageGC(
            env,
            emit,
            spec.name,
            spec.kubelet,
            containerd=self.containerd,
            volume=self.volume,
            # Images in use are those of the containers the runtime has on this node (k/k
            # pkg/kubelet/images/image_gc_manager.go detectImages: runtime.GetPods(true)):
            # the pods bound here. A pod pending in the scheduler's queue protects none.
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
            conditions_cleared=api.node_updated,
        )
        self.usage = Usage()
        self._live: dict[int, Pod] = {}  # pods bound here that have not ended, by uid
        self._by_workload: dict[str, int] = {}  # the same pods, counted by workload
        # Counts binds and releases: what is read of the pods bound here is the same while
        # it is (the autoscaler's view of the node is kept by it).
        self.version = 0
        self._levelled: tuple[int, int, int, int] | None = None  # what level() last told
        # Bound pods with an ephemeral-storage limit that have not ended: what kubelet's
        # local storage eviction looks at.
        self._limited: dict[int, Pod] = {}
        # Pods that ended (Succeeded, Failed) and are not deleted, whose dead containers
        # are still on the volume.
        self._ended: dict[int, Pod] = {}
        # (protocol, hostPort) in use, and the priorities of the bound pods: how many
        # bound pods have each
        self._ports: dict[tuple[str, int], int] = {}
        self._priorities: dict[int, int] = {}

    # -- running ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the node's loops."""
        self.imagegc.start()
        self.eviction.start()
        self.containergc.start()
        self._disk_level(self.volume)

    def finish(self) -> None:
        """The closing snapshot: every level as it stands at the end (linear growths
        included), and the records of the pods, containers and writers still live."""
        self._disk_level(self.volume)
        self.ledger.touch()
        self.imagegc.close()
        emit = self.emit
        for pod in self.live_pods():
            emit.pod(pod.record(self.env.now))
            for record in pod.running_containers():
                emit.container(record)
        self._emit_writes(self.volume.written(), None)

    def retire(self) -> None:
        """The node is deleted: its loops stop acting (image GC counts no more passes)."""
        self.imagegc.retire()
        self.eviction.retire()
        # Its levels end: a deleted node holds no pods, memory or disk.
        zero = dict.fromkeys(NODE_LEVELS, 0.0)
        self.emit.level(self.env.now, **zero)

    # -- what the scheduler reads -------------------------------------------------------------

    @property
    def taints(self) -> list[tuple[str, str, str]]:
        """The node's taints now: its own, not-ready while it is not Ready, and the
        conditions' (disk-pressure, memory-pressure) while they hold."""
        taints = self.spec_taints + self.eviction.condition_taints()
        if not self.ready:
            taints = taints + list(NOT_READY_TAINTS)
        return taints

    def images_held(self) -> dict[str, int]:
        """The images in containerd's store and their sizes, as node.status.images lists
        them (the compressed size on containerd)."""
        return self.containerd.image_sizes()

    def host_ports(self) -> set[tuple[str, int]]:
        """(protocol, hostPort) in use by the pods bound here (NodePorts)."""
        return set(self._ports)

    def lower_priority_than(self, priority: int) -> bool:
        """Whether a pod bound here has a lower priority (a preemption victim could)."""
        return any(p < priority for p in self._priorities)

    def terminating_below(self, priority: int) -> bool:
        """Whether a pod of lower priority is being deleted here."""
        return any(
            p.bound and p.priority < priority and p.delete_requested is not None
            for p in self._live.values()
        )

    def bound_pod(self, name: str) -> Pod | None:
        """The pod bound here by that name."""
        return next((p for p in self._live.values() if p.bound and p.name == name), None)

    def workload_pods(self) -> dict[str, int]:
        """Live pods bound here, by workload (PodTopologySpread's counts); read only."""
        return self._by_workload

    def bound_pods(self, now: float) -> list[tuple[int, int, int, int, float, str]]:
        """The pods bound here as preemption weighs them (:func:`bound_pod`)."""
        return [bound_pod(p, now) for p in self._live.values() if not p.ended and p.bound]

    # -- pods ----------------------------------------------------------------------------------

    def level(self) -> None:
        """The node's pod counts and requests, to the series when one moved (the cluster
        asks every node after each change anywhere in the pool)."""
        usage = self.usage
        now = (usage.pods, self.states.running_on.get(self.name, 0), usage.cpu_m, usage.memory)
        if now == self._levelled:
            return
        self._levelled = now
        self.emit.level(
            self.env.now,
            pods_bound=now[0],
            pods_running=now[1],
            requests_cpu_millicores=now[2],
            requests_memory_bytes=now[3],
        )

    def bind(self, pod: Pod) -> None:
        """The scheduler bound the pod here: the kubelet starts it."""
        for port in host_ports(pod.template.spec):
            self._ports[port] = self._ports.get(port, 0) + 1
        self._priorities[pod.priority] = self._priorities.get(pod.priority, 0) + 1
        if pod.ephemeral_limit is not None:
            self._limited[pod.uid] = pod
        self._live[pod.uid] = pod
        self._by_workload[pod.plan.name] = self._by_workload.get(pod.plan.name, 0) + 1
        self.version += 1
        self.usage.add(pod)
        pod.set_state("Scheduled", self.env.now, self.states)
        self.emit.event(
            self.env.now,
            "Pod",
            pod.name,
            "Scheduled",
            f"Successfully assigned {pod.template.namespace}/{pod.name} to {self.name}",
        )
        self.kubelet.start_pod(pod)

    def release(self, pod: Pod) -> bool:
        """The pod no longer holds requests here; True if it did until now."""
        self._limited.pop(pod.uid, None)
        if self._live.pop(pod.uid, None) is not None:
            _count_down(self._by_workload, pod.plan.name)
            self.version += 1
        if pod.bound:
            for port in host_ports(pod.template.spec):
                _count_down(self._ports, port)
            _count_down(self._priorities, pod.priority)
            pod.bound = False
            self.usage.add(pod, -1)
            return True
        return False

    def pod_terminal(self, pod: Pod) -> None:
        """A pod reached Succeeded or Failed (kubelet.PodHooks): the cluster hears it."""
        if pod.reason != "Evicted" and any(c.on_disk for c in pod.containers):
            self._ended[pod.uid] = pod
        self.api.pod_terminal(pod)

    def pod_deleted(self, pod: Pod) -> None:
        """An ended pod was deleted: its volumes go, and its dead containers with it."""
        if pod.reason != "Evicted":  # an evicted pod's storage went at its eviction
            self.kubelet.release_pod_volumes(pod)
            if self._ended.pop(pod.uid, None) is not None:
                self.containergc.pod_deleted(pod)

    def container_exited(self, pod: Pod, c: ContainerState, code: int) -> None:
        self.api.container_exited(pod, c, code)

    def container_restarted(self, pod: Pod, c: ContainerState) -> None:
        self.api.container_restarted(pod, c)

    def may_restart(self, pod: Pod) -> bool:
        return self.api.may_restart(pod)

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
            self.name,
            "DiskFull",
            'The C: volume is full: writes fail with "There is not enough space on the disk."',
            "Warning",
        )

    def live_pods(self) -> list[Pod]:
        """Pods that have not ended (pruned as they end: cheap however long the run)."""
        live = self._live
        for uid in [u for u, p in live.items() if p.ended]:
            _count_down(self._by_workload, live.pop(uid).plan.name)
            self.version += 1
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
            name, workload = self.api.pod_names(uid)
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
