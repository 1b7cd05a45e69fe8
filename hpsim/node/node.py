"""WindowsNode: one simulated Windows node, wired from a loaded scenario.

The node owns its parts and hands each what it needs: containerd (pulls),
processor sharing (CPU under job rate caps), the commit ledger (job memory
caps and the node's commit limit), the kubelet (pod workers) and the
scheduler's filters. The workload controllers (controllers.py) create and
delete pods; the recorder hears facts. A run is build -> run -> collect.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy
from simpy.events import Event, Process

from hpsim.node.containerd import Containerd
from hpsim.node.cpu import ProcessorSharing
from hpsim.node.draws import Draws
from hpsim.node.eviction import EvictionManager
from hpsim.node.gcpause import paused_gc
from hpsim.node.imagegc import ImageGC
from hpsim.node.images import resolve_images
from hpsim.node.jobobject import CapHit, CommitLedger
from hpsim.node.kubelet import Kubelet
from hpsim.node.pod import ContainerState, Pod
from hpsim.node.scheduler import (
    Usage,
    allocatable,
    insufficient,
    matches_node,
    untolerated_taint,
)
from hpsim.node.spikes import SpikeTrain
from hpsim.node.storage import OWNERS, Volume
from hpsim.observe.recorder import Recorder
from hpsim.scenario.admission import ContainerSettings
from hpsim.scenario.load import LoadedScenario, WorkloadPlan
from hpsim.scenario.manifests import Container
from hpsim.scenario.schema import MemoryDist, Profile
from hpsim.scenario.verdicts import TemplateVerdict, scenario_verdicts

# A pod's own storage, deleted with it (its host-path writes stay).
_POD_STORAGE = ("scratch", "logs", "empty_dir")
# One random stream per purpose (DESIGN.md: common random numbers).
STREAMS = ("arrivals", "lifetimes", "demand", "spikes")


class Streams:
    """Random streams keyed by (purpose, workload index), below one SeedSequence.

    Keying by workload index (not creation order) keeps a workload's numbers
    the same when another workload is added: common random numbers.
    """

    def __init__(self, root: np.random.SeedSequence) -> None:
        self.root = root
        self._cache: dict[tuple[str, int], Draws] = {}

    def get(self, purpose: str, index: int) -> Draws:
        key = (purpose, index)
        draws = self._cache.get(key)
        if draws is None:
            ss = np.random.SeedSequence(
                self.root.entropy,
                spawn_key=(*self.root.spawn_key, STREAMS.index(purpose), index),
            )
            draws = self._cache[key] = Draws(np.random.default_rng(ss))
        return draws


# The built-in PriorityClasses (k/k pkg/apis/scheduling/types.go): the Priority admission
# plugin fills spec.priority from priorityClassName.
_PRIORITY_CLASSES = {
    "system-node-critical": 2_000_001_000,
    "system-cluster-critical": 2_000_000_000,
}


def _priority(spec: Any) -> int:
    if spec.priority is not None:
        return spec.priority
    return _PRIORITY_CLASSES.get(spec.priority_class_name or "", 0)


@dataclass(frozen=True)
class _Blueprint:
    """What every pod of one workload shares (its template's verdict, requests, priority)."""

    # (init, spec, settings, profile, imagePullPolicy) per container, init containers first
    containers: tuple[tuple[bool, Container, ContainerSettings, Profile, str], ...]
    cpu_request: int
    memory_request: int
    ephemeral_request: int
    priority: int
    host_process: bool
    refusal: tuple[str, str] | None


class WindowsNode:
    """The simulated machine and its kubelet."""

    def __init__(
        self,
        loaded: LoadedScenario,
        seed: int | np.random.SeedSequence,
        rec: Recorder | None = None,
        env: simpy.Environment | None = None,
    ) -> None:
        self.loaded = loaded
        self.scenario = loaded.scenario
        self.spec = loaded.scenario.node
        self.env = env or simpy.Environment()
        self.rec = rec or Recorder()
        root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self.streams = Streams(root)
        self.images = resolve_images(self.scenario)
        self._layers_seen: set[str] = set()  # layer digests pulled so far in the run
        self.alloc = allocatable(self.spec)
        self.labels = self.spec.all_labels
        self.taints = [(t.key, t.value, t.effect) for t in self.spec.taints]
        self.unschedulable = False
        self.containerd = Containerd(
            self.env,
            network_Bps=self.spec.network,
            unpack_Bps=self.spec.unpack_rate,
            max_concurrent_downloads=self.spec.containerd.max_concurrent_downloads,
            discard_unpacked_layers=self.spec.containerd.discard_unpacked_layers,
            on_fact=self._containerd_fact,
        )
        self.cpu = ProcessorSharing(
            self.env,
            self.spec.cpu * 1000.0,
            on_change=lambda total: self.rec.level(self.env.now, cpu_allocated_millicores=total),
        )
        self.ledger = CommitLedger(
            self.env,
            commit_limit=float(self.spec.memory + self.spec.pagefile),
            on_change=lambda c, s: self.rec.level(
                self.env.now, memory_committed_bytes=c, memory_commit_slope_bytes_per_s=s
            ),
            on_failure=self._cap_hit,
        )
        self.volume = Volume(
            self.env,
            capacity=self.spec.disk,
            os_bytes=self.spec.os_disk_usage,
            images=lambda: (self.containerd.content_bytes, self.containerd.snapshot_bytes),
            on_change=self._disk_level,
            on_full=self._disk_full,
        )
        self.kubelet = Kubelet(self)
        self.imagegc = ImageGC(self)
        self.eviction = EvictionManager(self)
        self.usage = Usage()
        self.pending: list[Pod] = []
        self.pods: list[Pod] = []
        self.owner_of: dict[Any, tuple[Pod, ContainerState]] = {}
        self.verdicts: dict[str, TemplateVerdict] = {
            w.name: v for w, v in zip(loaded.workloads, scenario_verdicts(loaded), strict=True)
        }
        self._uid = 0
        self._blueprints: dict[str, _Blueprint] = {}
        self._live: dict[int, Pod] = {}
        # Imported here: controllers need the node's API, the node builds them.
        from hpsim.node.controllers import build_controllers

        self.controllers = build_controllers(self)

    # -- running ---------------------------------------------------------------------------------

    def run(self) -> None:
        """Replay the scenario to its end."""
        with paused_gc():
            self.start()
            self.env.run(until=self.scenario.duration)
            self.finish()

    def start(self) -> None:
        """Start the node's loops and the workload controllers (``run`` without the running:
        a caller may then advance ``env`` in slices, as the benchmark does)."""
        self.imagegc.start()
        self.eviction.start()
        self._disk_level(self.volume)
        for c in self.controllers.values():
            c.start()
        from hpsim.node.controllers import schedule_events

        schedule_events(self)

    def finish(self) -> None:
        """A closing row: every level as it stands at the end (linear growths included)."""
        self._disk_level(self.volume)
        self.ledger.touch()

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

            # Effective pod requests: max(init) vs sum(app), as the scheduler computes them.
            def req(name: str) -> int:
                app = sum(c.resources.request(name) for c in spec.containers)
                init = max((c.resources.request(name) for c in spec.init_containers), default=0)
                return max(app, init)

            bp = _Blueprint(
                containers=containers,
                cpu_request=req("cpu"),
                memory_request=req("memory"),
                ephemeral_request=req("ephemeral-storage"),
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
            priority=bp.priority,
            host_process=bp.host_process,
            containers=containers,
            owner=owner,
            revision=revision,
        )
        pod.delete_event = Event(self.env)
        self.pods.append(pod)
        self._live[pod.uid] = pod
        refusal = bp.refusal
        if refusal is not None:
            pod.reason, pod.message = refusal
            pod.set_state("Refused", self.env.now, self.rec)
            self.rec.event(
                self.env.now, plan.template.kind, plan.name, refusal[0], refusal[1], "Warning"
            )
            return pod
        pod.set_state("Pending", self.env.now, self.rec)
        if plan.template.spec.node_name is not None:
            self._kubelet_admit(pod)
            self._level()
        else:
            self.pending.append(pod)
            self.schedule()  # it reports the levels that follow
        return pod

    def _level(self) -> None:
        running = self.rec.state_counts.get("Running", 0)
        self.rec.level(
            self.env.now,
            pods_bound=self.usage.pods,
            pods_running=running,
            pods_pending=len(self.pending),
            requests_cpu_millicores=self.usage.cpu_m,
            requests_memory_bytes=self.usage.memory,
        )

    def _kubelet_admit(self, pod: Pod) -> None:
        """A pod with spec.nodeName skips the scheduler: kubelet admission checks the fit."""
        short = insufficient(pod, self.usage, self.alloc)
        if short:
            res = short[0]
            pod.reason = f"OutOf{res}"
            pod.message = f"Pod Node didn't have enough resource: {res}"
            pod.set_state("Failed", self.env.now, self.rec)
            self.rec.event(self.env.now, "Pod", pod.name, pod.reason, pod.message, "Warning")
            return
        self._bind(pod)

    def _fit_failure(self, pod: Pod) -> str | None:
        ds = pod.template.kind == "DaemonSet"
        if self.unschedulable and not ds:
            return "1 node(s) were unschedulable"
        if not matches_node(pod.template.spec, self.labels):
            return "1 node(s) didn't match Pod's node affinity/selector"
        # Condition taints (disk-pressure, memory-pressure) are tolerated by DaemonSet pods:
        # the DaemonSet controller adds those tolerations (pkg/controller/daemon/util).
        taints = self.taints if ds else self.taints + self.eviction.condition_taints()
        taint = untolerated_taint(pod.template.spec, taints)
        if taint:
            return f"1 node(s) had untolerated taint {taint}"
        short = insufficient(pod, self.usage, self.alloc)
        if short:
            return ", ".join(
                f"1 Insufficient {r}" if r != "pods" else "1 Too many pods" for r in short
            )
        return None

    def schedule(self) -> None:
        """Try every pending pod in queue order (priority, then creation)."""
        if not self.pending:
            self._level()
            return
        queue = sorted(self.pending, key=lambda p: (-p.priority, p.created, p.uid))
        for pod in queue:
            why = self._fit_failure(pod)
            if why is None:
                self.pending.remove(pod)
                self._bind(pod)
            elif pod.message != why:
                pod.message = why
                self.rec.event(
                    self.env.now,
                    "Pod",
                    pod.name,
                    "FailedScheduling",
                    f"0/1 nodes are available: {why}.",
                    "Warning",
                )
        self._level()

    def _bind(self, pod: Pod) -> None:
        pod.bound = True
        pod.scheduled = self.env.now
        pod.message = ""
        self.usage.add(pod)
        pod.set_state("Scheduled", self.env.now, self.rec)
        self.rec.event(
            self.env.now,
            "Pod",
            pod.name,
            "Scheduled",
            f"Successfully assigned {pod.template.namespace}/{pod.name} to {self.spec.name}",
        )
        self.kubelet.start_pod(pod)

    def _release(self, pod: Pod) -> None:
        if pod.bound:
            pod.bound = False
            self.usage.add(pod, -1)
            self.schedule()

    def pod_terminal(self, pod: Pod) -> None:
        """A pod reached Succeeded or Failed: it no longer holds requests."""
        self._release(pod)
        self._level()
        ctl = self.controllers.get(pod.owner)
        if ctl is not None:
            ctl.pod_finished(pod)

    def delete_pod(self, pod: Pod, reason: str = "Deleted") -> simpy.Process | None:
        """Graceful deletion; the owner is told once the pod is gone."""
        if pod.ended or pod.delete_requested is not None:
            if pod.state in ("Succeeded", "Failed"):
                pod.deleted = self.env.now
                pod.set_state("Deleted", self.env.now, self.rec)
            return None
        pod.delete_requested = self.env.now
        return Process(self.env, self._delete(pod, reason))

    def _delete(self, pod: Pod, reason: str) -> Generator[simpy.Event, Any, None]:
        assert pod.delete_event is not None
        if not pod.bound:
            if pod in self.pending:
                self.pending.remove(pod)
            pod.delete_event.succeed()
        else:
            pod.set_state("Terminating", self.env.now, self.rec)
            pod.delete_event.succeed()
            yield from self.kubelet.kill_pod(pod)
            self._release(pod)
        self.free_pod_storage(pod)
        pod.deleted = self.env.now
        pod.finished = pod.finished if pod.finished is not None else self.env.now
        pod.reason = pod.reason or reason
        pod.set_state("Deleted", self.env.now, self.rec)
        self._level()
        ctl = self.controllers.get(pod.owner)
        if ctl is not None:
            ctl.pod_deleted(pod)

    # -- facts from the parts ------------------------------------------------------------------

    def container_exited(self, pod: Pod, c: ContainerState, code: int, reason: str) -> None:
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

    def _cap_hit(self, hit: CapHit) -> None:
        owner = self.owner_of.get(hit.key)
        if owner is None:
            return
        _pod, c = owner
        c.alloc_failures += 1

    def spikes(self, pod: Pod, c: ContainerState, key: Any) -> SpikeTrain | None:
        """Poisson spikes of extra commit while the instance runs; None if it has none."""
        sp = c.profile.spikes
        if sp is None or sp.rate <= 0:
            return None
        rng = self.streams.get("spikes", pod.plan.index)
        return SpikeTrain(self.env, self.ledger, key, sp.rate, float(sp.size), sp.duration, rng)

    def _containerd_fact(self, kind: str, fields: dict[str, Any]) -> None:
        self.volume.images_changed()

    def _disk_level(self, vol: Volume) -> None:
        owners = vol.by_owner()
        actual_slope, accounted_slope = vol.slopes()
        self.rec.level(
            self.env.now,
            disk_actual_bytes=sum(owners.values()),
            disk_accounted_bytes=owners["snapshots"]
            + owners["scratch"]
            + owners["logs"]
            + owners["empty_dir"],
            disk_actual_slope_bytes_per_s=actual_slope,
            disk_accounted_slope_bytes_per_s=accounted_slope,
            **{f"disk_{o}_bytes": owners[o] for o in OWNERS},
        )

    def _disk_full(self) -> None:
        self.rec.event(
            self.env.now,
            "Node",
            self.spec.name,
            "DiskFull",
            'The C: volume is full: writes fail with "There is not enough space on the disk."',
            "Warning",
        )

    def image_removed(self, ref: str) -> None:
        self.rec.image(ref, removed_s=self.env.now)
        self.rec.event(self.env.now, "Node", self.spec.name, "ImageGCDeleted", f"deleted {ref}")
        self.volume.images_changed()

    def live_pods(self) -> list[Pod]:
        """Pods that have not ended (pruned as they end: cheap however long the run)."""
        live = self._live
        for uid in [u for u, p in live.items() if p.ended]:
            del live[uid]
        return list(live.values())

    def keys_of(self, pod: Pod) -> list[Any]:
        return [k for k, (p, _c) in self.owner_of.items() if p is pod]

    def free_pod_storage(self, pod: Pod) -> None:
        """The pod is gone: its writable layers, logs and emptyDirs go; host writes stay."""
        if not any(c.profile.writes for c in pod.containers):
            return  # it never wrote: nothing of it is on the volume
        uid = pod.uid
        self.volume.release(
            [(uid, c.spec.name, what) for c in pod.containers for what in _POD_STORAGE],
            [(uid, c.spec.name, "host_writes") for c in pod.containers],
        )

    def evict(self, pod: Pod, message: str) -> None:
        """Hard eviction: kill now (no grace), phase Failed, reason Evicted."""
        assert pod.delete_event is not None
        pod.reason, pod.message = "Evicted", message
        self.rec.event(self.env.now, "Pod", pod.name, "Evicted", message, "Warning")
        if not pod.delete_event.triggered:
            pod.delete_event.succeed()
        for c in pod.containers:
            if c.running and c.stop is not None and not c.stop.triggered:
                c.stop.succeed()
        pod.finished = self.env.now
        pod.set_state("Failed", self.env.now, self.rec)
        self.free_pod_storage(pod)
        self.pod_terminal(pod)

    def image_pulled(self, ref: str) -> None:
        img = self.images[ref]
        first_pull = ref not in self.rec.images
        self.rec.image(
            ref,
            os_version=img.os_version,
            size_bytes=img.size,
            unpacked_bytes=sum(lay.unpacked for lay in img.layers),
            layers=len(img.layers),
            pulled_s=self.env.now,
            pinned=ref in self.kubelet.pinned,
        )
        if first_pull:
            # Bytes this image was the first to bring (layers are shared by digest), so
            # that image bytes by base version count a shared base layer once.
            new = [lay for lay in img.layers if lay.digest not in self._layers_seen]
            self._layers_seen.update(lay.digest for lay in new)
            self.rec.image(ref, new_bytes=sum(lay.size + lay.unpacked for lay in new))
        self.rec.event(self.env.now, "Node", self.spec.name, "ImagePulled", f"pulled {ref}")

    def image_used(self, ref: str) -> None:
        info = self.rec.images.get(ref)
        if info is not None:
            info["last_used_s"] = self.env.now
