"""The kubelet's pod workers: pull, create, start, restart and stop containers.

What it mirrors (k/k pkg/kubelet):

- ``SyncPod`` order: the sandbox, then init containers one at a time, each run
  to completion, then app containers started one after another; each start first
  ensures its image (``EnsureImageExists``: imagePullPolicy Always / IfNotPresent /
  Never).
- The sandbox image (pause, pinned) is containerd's business: RunPodSandbox pulls it
  when it is missing (containerd pkg/cri/server/sandbox_run.go ``ensureImageExists``;
  2.3+ internal/cri/server/sandbox_run.go ``ensurePauseImageExists``), outside
  kubelet's puller and pull limit and with no Pulling/Pulled event on the pod. A
  failed pull fails RunPodSandbox: a FailedCreatePodSandBox event (k/k
  pkg/kubelet/kuberuntime/kuberuntime_manager.go ``SyncPod``), and the pod worker tries
  again after its back-off. Node images ship it already (NodeSpec.pre_pulled_images).
- Image pulls go through one node-wide puller: serialized by default
  (serializeImagePulls), else at most maxParallelImagePulls at once; a pull leaving
  the queue needs a token of the registryPullQPS/registryBurst bucket
  (hpsim.node.tokenbucket). A failed pull is ErrImagePull, then ImagePullBackOff:
  10 s doubling to 300 s (``IsInBackOffSinceUpdate``).
- Restarts follow restartPolicy; ``doBackOff`` keys a client-go Backoff on
  the container: the first restart is immediate, later ones wait 10 s
  doubling to 300 s from the container's finish, and the delay resets once
  the container has run for 10 minutes (2 x max without an update).
- A HostProcess container is a job object with the memory commit cap and CPU
  rate from admission; it needs no host/image build match. A process-isolated
  container needs the build compatibility of containerd/platforms
  platform_windows_compat.go or fails to start with HCS's reason.
- Deletion: containers get their stop signal; a HostProcess container has
  hcsshim's 5 s (CTRL_SHUTDOWN_EVENT then TerminateJobObject, hcsshim
  internal/jobcontainers/jobcontainer.go ``Shutdown``), a process-isolated one
  the pod's terminationGracePeriodSeconds.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Generator, Hashable, Sequence
from typing import Any, Protocol, cast

import simpy
from simpy.events import Event, Process, Timeout

from hpsim import units
from hpsim.facts import ContainerRecord, Emitter, PullRecord, WriteRecord
from hpsim.node.backoff import Backoff
from hpsim.node.containerd import Containerd, Image, PullError
from hpsim.node.cpu import ProcessorSharing, job_rate_to_millicores
from hpsim.node.draws import Streams
from hpsim.node.images import process_isolation_compatible
from hpsim.node.jobobject import CapHit, CommitLedger
from hpsim.node.pod import ContainerState, Pod, PodStates
from hpsim.node.printer import RUNNING, TERMINATED, WAITING, Shown
from hpsim.node.registry import sandbox_error
from hpsim.node.spikes import SpikeTrain
from hpsim.node.storage import Volume, WriterKey
from hpsim.node.tokenbucket import PULL_QPS_EXCEEDED, TokenBucket
from hpsim.node.waits import all_done, callbacks_of, first_of
from hpsim.scenario.schema import NodeSpec

HOSTPROCESS_SHUTDOWN_S = 5.0  # hcsshim jobcontainers Shutdown: context.WithTimeout(5 s)
# k/k pkg/kubelet/kubelet.go: backOffPeriod 10 s, MaxContainerBackOff / MaxImageBackOff 300 s.
BACKOFF_INITIAL_S = 10.0
BACKOFF_MAX_S = 300.0
# After a failed sync (RunPodSandbox failed) the pod worker requeues the pod after
# wait.Jitter(backOffPeriod, 0.5): 10-15 s (k/k pkg/kubelet/pod_workers.go completeWork,
# workerBackOffPeriodJitterFactor). hpsim takes the lower end, 10 s: no random draw.
POD_WORKER_BACKOFF_S = BACKOFF_INITIAL_S
# An image event -> the waiting reason of the container it is for (first word of the message).
_IMAGE_WAITING = {
    ("Failed", "Error:"): "ErrImagePull",
    ("BackOff", "Back-off"): "ImagePullBackOff",
    ("ErrImageNeverPull", "Container"): "ErrImageNeverPull",
}
OS_MISMATCH = (
    "Error: failed to create containerd task: failed to create shim task: "
    "hcs::CreateComputeSystem {id}: The container operating system does not match the host "
    "operating system.: unknown"
)

Proc = Generator[simpy.Event, Any, Any]
# What each container instance writes to, new at every start: a fresh scratch sandbox.vhdx
# ("a new volume is created on the host upon starting the container", Kubernetes docs
# "Create a Windows HostProcess Pod"; containerd plugins/snapshots/windows/windows.go
# createScratchLayer makes one per container snapshot, and a restart is a new container,
# k/k pkg/kubelet/kuberuntime/kuberuntime_container.go startContainer) and a new log file
# (<restartCount>.log, kuberuntime_container.go BuildContainerLogsDirectory/logPath).
INSTANCE_WRITERS = ("scratch", "logs")
# What lives as long as the pod: its emptyDirs and what it writes to host paths.
POD_WRITERS = ("empty_dir", "host_writes")


def writer_key(uid: int, container: str, owner: str, instance: int | None = None) -> WriterKey:
    """The volume's key of one writer: ``instance`` is the restart count for an
    instance's own files (scratch, logs), None for the pod's (emptyDir, host paths)."""
    return (uid, container, owner, instance)


class PodHooks(Protocol):
    """What the kubelet tells the pod's owner (the API side: controllers, the scheduler)."""

    def pod_terminal(self, pod: Pod) -> None: ...
    def container_exited(self, pod: Pod, c: ContainerState, code: int) -> None: ...
    def container_restarted(self, pod: Pod, c: ContainerState) -> None: ...
    def may_restart(self, pod: Pod) -> bool: ...


class Kubelet:
    """Runs bound pods on the node, with the node's parts it is handed."""

    def __init__(
        self,
        env: simpy.Environment,
        emit: Emitter,
        spec: NodeSpec,
        *,
        images: dict[str, Image],
        containerd: Containerd,
        volume: Volume,
        ledger: CommitLedger,
        cpu: ProcessorSharing,
        streams: Streams,
        states: PodStates,
        hooks: PodHooks,
    ) -> None:
        self.env = env
        self.emit = emit
        self.spec = spec
        self.images = images
        self.containerd = containerd
        self.volume = volume
        self.ledger = ledger
        self.cpu = cpu
        self.streams = streams
        self.states = states
        self.hooks = hooks
        k = spec.kubelet
        parallel = 1 if k.pulls_serialized else (k.max_parallel_image_pulls or 10**9)
        self.pull_slots = simpy.Resource(self.env, capacity=parallel)
        self.crash_backoff = Backoff(BACKOFF_INITIAL_S, BACKOFF_MAX_S)
        self.pull_backoff = Backoff(BACKOFF_INITIAL_S, BACKOFF_MAX_S)
        self._pulls: dict[str, simpy.Event] = {}  # in-flight pull per image ref
        self._sandbox_pulls: dict[str, simpy.Event] = {}  # RunPodSandbox's pulls in flight
        qps = k.registry_pull_qps
        self.pull_limit = TokenBucket(qps, k.registry_burst, env.now) if qps > 0 else None
        self._pulled_in: dict[str, float] = {}  # ref -> seconds its last pull took
        self.pinned = {spec.containerd.sandbox_image}
        self._build = spec.build
        self._isolation_ok: dict[str, bool] = {}  # image ref -> runs process-isolated here
        self._pulls_active = 0
        self._pulled: set[str] = set()  # images pulled at least once in the run
        # Layer digests on the node so far in the run (the node image's from the start).
        self._layers_seen: set[str] = {
            lay.digest for ref in spec.pre_pulled if ref in images for lay in images[ref].layers
        }
        # Job objects' commit keys -> their container (a refusal counts against it).
        self._owner_of: dict[Hashable, tuple[Pod, ContainerState]] = {}
        self._pulling: dict[int, ContainerState] = {}  # pod uid -> container ensuring its image

    # -- helpers --------------------------------------------------------------------------------

    def _event(self, pod: Pod, reason: str, message: str, type_: str = "Normal") -> None:
        self.emit.event(self.env.now, "Pod", pod.name, reason, message, type_)
        c = self._pulling.get(pod.uid)
        if c is not None:
            # The container whose image is being ensured waits with the pull's error as
            # its reason (k/k pkg/kubelet/images: ErrImagePull, ImagePullBackOff,
            # ErrImageNeverPull), the same words as the event kubelet records for it.
            waiting = _IMAGE_WAITING.get((reason, message.split(" ", 1)[0]))
            if waiting is not None:
                self._show(pod, c, Shown(WAITING, waiting))

    def _show(self, pod: Pod, c: ContainerState, shown: Shown) -> None:
        """The container's state in the pod's status changed (what kubectl shows may)."""
        c.shown = shown
        self.states.refresh(pod, self.env.now)

    def _wait(self, pod: Pod, event: simpy.Event) -> Proc:
        """Wait for ``event`` unless the pod is deleted first; True if it fired."""
        assert pod.delete_event is not None
        if pod.delete_event.triggered:
            return False
        deleted = pod.delete_event
        if callbacks_of(event) is None:  # already processed: decided at once, resumed next
            yield first_of(self.env, (event, deleted))
            return not deleted.triggered
        # The worker waits on both: the first processed resumes it, which unhooks it from
        # the other (as simpy's AnyOf, without the condition event in between).
        proc = self.env.active_process
        assert proc is not None
        resume = proc._resume
        deleted.callbacks.append(resume)
        try:
            yield event
        finally:
            for other in (event, deleted):
                hooked = callbacks_of(other)
                if hooked:
                    with contextlib.suppress(ValueError):
                        hooked.remove(resume)
        return event.triggered and not deleted.triggered

    def _runs_process_isolated(self, ref: str) -> bool:
        """Whether a process-isolated container of ``ref`` runs on this host's build."""
        ok = self._isolation_ok.get(ref)
        if ok is None:
            image = self.images.get(ref)
            ok = image is None or process_isolation_compatible(self._build, image.os_version)
            self._isolation_ok[ref] = ok
        return ok

    def cap_hit(self, hit: CapHit) -> None:
        """The commit ledger refused an allocation: it counts against the container."""
        owner = self._owner_of.get(hit.key)
        if owner is not None:
            owner[1].alloc_failures += 1

    def commit_keys(self, pod: Pod) -> list[Hashable]:
        """The commit ledger's keys of the pod's running containers."""
        return [k for k, (p, _c) in self._owner_of.items() if p is pod]

    def _spikes(self, pod: Pod, c: ContainerState, key: Hashable) -> SpikeTrain | None:
        """Poisson spikes of extra commit while the instance runs; None if it has none."""
        sp = c.profile.spikes
        if sp is None or sp.rate <= 0:
            return None
        rng = self.streams.get("spikes", pod.plan.index)
        return SpikeTrain(self.env, self.ledger, key, sp.rate, float(sp.size), sp.duration, rng)

    # -- images --------------------------------------------------------------------------------

    def _pull(self, ref: str, pod: Pod) -> Proc:
        """One pull through the node's puller; returns an error text, or None with the
        pull's own duration (after any wait for the serial puller) in ``_pulled_in``."""
        queued = self.env.now
        with self.pull_slots.request() as slot:
            yield slot
            started = self.env.now
            if self.pull_limit is not None and not self.pull_limit.try_accept(started):
                self._refused(pod, ref, queued, PULL_QPS_EXCEEDED)
                return PULL_QPS_EXCEEDED
            if self.containerd.has_image(ref):
                # Present (pulled while this request queued, or imagePullPolicy Always):
                # containerd resolves the reference and finds every layer in its store.
                refusal = self.containerd.check(self.images[ref])
                if refusal is not None:
                    self._refused(pod, ref, queued, refusal.rpc())
                    return refusal.rpc()
                self._pulled_in[ref] = 0.0
                return None
            error = yield from self._runtime_pull(ref, pod, queued)
            if error is not None:
                return error.rpc()
            self._pulled_in[ref] = self.env.now - started
        return None

    def _refused(self, pod: Pod, ref: str, queued: float, error: str) -> None:
        """A pull that failed before any byte moved."""
        now = self.env.now
        self.emit.pull(PullRecord(pod.name, ref, queued, now, None, now, 0, 0, 0.0, 0.0, error))

    def _runtime_pull(self, ref: str, pod: Pod, queued: float) -> Proc:
        """The CRI's PullImage of an image not in the store, recorded in the pulls table:
        None, or containerd's PullError."""
        image = self.images.get(ref)
        refusal: PullError | None
        if image is None:
            refusal = self.containerd.resolve_error(ref)
        else:
            refusal = self.containerd.check(image)
        if refusal is not None:
            self._refused(pod, ref, queued, refusal.rpc())
            return refusal
        assert image is not None
        started = self.env.now
        self._pulls_active += 1
        self.emit.level(started, pulls_active=float(self._pulls_active))
        result = yield self.containerd.pull(image)
        now = self.env.now
        self._pulls_active -= 1
        self.emit.level(now, pulls_active=float(self._pulls_active))
        error = result.error
        self.emit.pull(
            PullRecord(
                pod.name,
                ref,
                queued,
                started,
                result.downloaded if error is None else None,
                now,
                result.bytes_downloaded,
                result.bytes_unpacked,
                (result.downloaded if error is None else now) - started,
                result.unpack_s,
                error.rpc() if error is not None else "",
            )
        )
        if error is None:
            self._image_pulled(image)
        return error

    def _image_pulled(self, img: Image) -> None:
        now, ref = self.env.now, img.ref
        new_bytes = None
        if ref not in self._pulled:
            self._pulled.add(ref)
            # Bytes this image was the first to bring (layers are shared by digest), so
            # that image bytes by base version count a shared base layer once.
            new = [lay for lay in img.layers if lay.digest not in self._layers_seen]
            self._layers_seen.update(lay.digest for lay in new)
            new_bytes = sum(lay.size + lay.unpacked for lay in new)
        self.emit.image_pulled(
            now,
            ref,
            img.os_version,
            img.size,
            sum(lay.unpacked for lay in img.layers),
            len(img.layers),
            ref in self.pinned,
            new_bytes,
        )
        self.emit.event(now, "Node", self.spec.name, "ImagePulled", f"pulled {ref}")

    def ensure_image(self, pod: Pod, ref: str, policy: str) -> Proc:
        """``EnsureImageExists``: True when the image is present, False if the pod went away."""
        present = self.containerd.has_image(ref)
        if policy == "Never" and not present:
            self._event(
                pod,
                "ErrImageNeverPull",
                f'Container image "{ref}" is not present with pull policy of Never',
                "Warning",
            )
            yield from self._wait(pod, Event(self.env))  # stuck until deleted
            return False
        if present and policy != "Always":
            self._event(pod, "Pulled", f'Container image "{ref}" already present on machine')
            self.emit.image_used(self.env.now, ref)
            return True
        key = (pod.uid, ref)
        while True:
            wait = self.pull_backoff.in_backoff_since_update(key, self.env.now)
            if wait > 0:
                self._event(pod, "BackOff", f'Back-off pulling image "{ref}"', "Normal")
                if not (yield from self._wait(pod, Timeout(self.env, wait))):
                    return False
            if pod.pull_started is None:
                pod.pull_started = self.env.now
            self._event(pod, "Pulling", f'Pulling image "{ref}"')
            t0 = self.env.now
            # Concurrent requests for one image share the pull in flight (one CRI pull per ref).
            inflight = self._pulls.get(ref)
            if inflight is None:
                inflight = Process(self.env, self._pull(ref, pod))
                self._pulls[ref] = inflight

                def forget(_e: simpy.Event) -> None:
                    self._pulls.pop(ref, None)

                inflight.callbacks.append(forget)
            if not (yield from self._wait(pod, inflight)):
                return False
            error = inflight.value
            if error is None:
                pod.pull_s += self.env.now - t0
                # k/k pkg/kubelet/images/image_manager.go: the pull itself, then the time
                # since "Pulling" (the serial puller's queue included), as Go prints them.
                pulled_in = units.go_duration(self._pulled_in.get(ref, 0.0))
                waited = units.go_duration(self.env.now - t0)
                size = self.images[ref].size
                self._event(
                    pod,
                    "Pulled",
                    f'Successfully pulled image "{ref}" in {pulled_in} '
                    f"({waited} including waiting). Image size: {size} bytes.",
                )
                self.emit.image_used(self.env.now, ref)
                return True
            self._event(pod, "Failed", f'Failed to pull image "{ref}": {error}', "Warning")
            self._event(pod, "Failed", "Error: ErrImagePull", "Warning")
            self.pull_backoff.next(key, self.env.now, self.env.now)

    # -- pod worker ----------------------------------------------------------------------------

    def start_pod(self, pod: Pod) -> None:
        Process(self.env, self._sync_pod(pod))

    def _sandbox_image(self, pod: Pod) -> Proc:
        """RunPodSandbox's check of the sandbox image; True once it is there, False if the
        pod went away. containerd pulls a missing one itself (module docstring); each
        failure is a FailedCreatePodSandBox and a retry after the pod worker's back-off."""
        ref = self.spec.containerd.sandbox_image
        while not self.containerd.has_image(ref):
            inflight = self._sandbox_pulls.get(ref)
            if inflight is None:
                # Pods starting together share one pull: containerd's blob and chain locks
                # make the later RunPodSandbox wait for the first one's work.
                inflight = Process(self.env, self._sandbox_pull(ref, pod))
                self._sandbox_pulls[ref] = inflight

                def forget(_e: simpy.Event) -> None:
                    self._sandbox_pulls.pop(ref, None)

                inflight.callbacks.append(forget)
            if pod.pull_started is None:
                pod.pull_started = self.env.now
            t0 = self.env.now
            if not (yield from self._wait(pod, inflight)):
                return False
            error = inflight.value
            if error is None:
                # Pull time all the same, though no kubelet event says so.
                pod.pull_s += self.env.now - t0
                continue
            self._event(
                pod, "FailedCreatePodSandBox", f"Failed to create pod sandbox: {error}", "Warning"
            )
            if not (yield from self._wait(pod, Timeout(self.env, POD_WORKER_BACKOFF_S))):
                return False
        return True

    def _sandbox_pull(self, ref: str, pod: Pod) -> Proc:
        """containerd's own pull of the sandbox image; None, or RunPodSandbox's error."""
        error = yield from self._runtime_pull(ref, pod, self.env.now)
        if error is None:
            return None
        message = sandbox_error(ref, self.spec.containerd.version, error.message)
        return PullError(error.code, message).rpc()

    def _sync_pod(self, pod: Pod) -> Proc:
        # kubelet's first status of the pod: every container waiting, ContainerCreating, or
        # PodInitializing when the pod has init containers (k/k pkg/kubelet/kubelet_pods.go
        # convertToAPIContainerStatuses, defaultWaitingState).
        has_init = any(c.init for c in pod.containers)
        waiting = Shown(WAITING, "PodInitializing" if has_init else "ContainerCreating")
        for c in pod.containers:
            c.shown = waiting
        pod.set_state("ContainerCreating", self.env.now, self.states)
        if not (yield from self._sandbox_image(pod)):
            return
        costs = self.spec.startup
        cost = costs.host_process_sandbox if pod.host_process else costs.sandbox
        if not (yield from self._wait(pod, Timeout(self.env, cost))):
            return
        for c in pod.containers:
            if not c.init:
                continue
            while True:
                code = yield from self._run_once(pod, c)
                if code is None:
                    return
                if code == 0:
                    c.finished = True
                    break
                if pod.template.spec.restart_policy == "Never":
                    self._finish(pod, "Failed", "Init:Error")
                    return
                if not (yield from self._crash_backoff(pod, c)):
                    return
        app = [c for c in pod.containers if not c.init]
        if len(app) == 1:
            # One app container (the usual pod): its supervisor runs in this worker, saving
            # a process, its start and end events and the wait for them (5% of a month's
            # events); the pod is Ready as soon as the container runs.
            only = app[0]

            def ready() -> None:
                if only.running:
                    pod.mark_ready(self.env.now)

            yield from self._supervise(pod, only, ready)
        else:
            supervisors = []
            for c in app:
                started = Event(self.env)
                supervisors.append(Process(self.env, self._supervise(pod, c, started.succeed)))
                if not (yield from self._wait(pod, started)):
                    return
            if all(c.running for c in app):
                pod.mark_ready(self.env.now)
            yield all_done(self.env, supervisors)
        assert pod.delete_event is not None
        if pod.delete_event.triggered:
            return
        failed = any(c.exit_code not in (0, None) for c in pod.containers if not c.init)
        self._finish(pod, "Failed" if failed else "Succeeded", "Error" if failed else "Completed")

    def _finish(self, pod: Pod, phase: str, reason: str) -> None:
        pod.finished = self.env.now
        pod.reason = reason
        pod.set_state(phase, self.env.now, self.states)
        self.hooks.pod_terminal(pod)

    def _crash_backoff(self, pod: Pod, c: ContainerState) -> Proc:
        """kubelet ``doBackOff`` before a restart; False if the pod went away."""
        key = (pod.uid, c.spec.name)
        finished = c.last_finished_at if c.last_finished_at is not None else self.env.now
        wait = self.crash_backoff.in_backoff_since(key, finished, self.env.now)
        if wait > 0:
            self._event(
                pod,
                "BackOff",
                f"Back-off restarting failed container {c.spec.name} in pod {pod.name}",
                "Warning",
            )
            self._show(pod, c, Shown(WAITING, "CrashLoopBackOff"))
            if not (yield from self._wait(pod, Timeout(self.env, wait))):
                return False
        self.crash_backoff.next(key, finished, self.env.now)
        c.restarts += 1
        self.hooks.container_restarted(pod, c)
        assert pod.delete_event is not None
        return not pod.delete_event.triggered

    def _supervise(self, pod: Pod, c: ContainerState, started: Callable[[], object]) -> Proc:
        """Run the container, restarting it as the policy says; ``started`` is called once,
        when its first instance starts, fails to, or the pod goes away first."""
        told = False

        def tell() -> None:
            nonlocal told
            if not told:
                told = True
                started()

        policy = pod.template.spec.restart_policy
        first = True
        while True:
            code = yield from self._run_once(pod, c, tell if first else None)
            first = False
            if code is None:
                tell()
                return
            restart = policy == "Always" or (policy == "OnFailure" and code != 0)
            if not restart or not self.hooks.may_restart(pod):
                c.finished = True
                tell()
                return
            if not (yield from self._crash_backoff(pod, c)):
                return

    def _run_once(
        self, pod: Pod, c: ContainerState, started: Callable[[], None] | None = None
    ) -> Proc:
        """Create, start and run one instance; its exit code, or None if the pod went away."""
        self._pulling[pod.uid] = c
        try:
            present = yield from self.ensure_image(pod, c.image, c.pull_policy)
        finally:
            self._pulling.pop(pod.uid, None)
        if not present:
            return None
        costs = self.spec.startup
        cost = costs.host_process_container if c.settings.host_process else costs.container
        if not (yield from self._wait(pod, Timeout(self.env, cost))):
            return None
        if not c.settings.host_process and not self._runs_process_isolated(c.image):
            self._event(
                pod, "Failed", OS_MISMATCH.format(id=f"{pod.name}-{c.spec.name}"), "Warning"
            )
            c.exit_code = 128
            c.last_finished_at = self.env.now
            # containerd's reason and code for a container that failed to start
            # (internal/cri/server/helpers.go errorStartReason, errorStartExitCode).
            self._show(pod, c, Shown(TERMINATED, "StartError", 128))
            if started is not None:
                started()
            return 128
        self._event(pod, "Created", f"Created container {c.spec.name}")
        self._event(pod, "Started", f"Started container {c.spec.name}")
        c.running = True
        c.started_at = self.env.now
        c.stop = Event(self.env)
        c.shown = Shown(RUNNING)
        if not c.init and pod.started is None:
            pod.started = self.env.now
            pod.set_state("Running", self.env.now, self.states)
        self.states.refresh(pod, self.env.now)
        if started is not None:
            started()
        code = yield from self._live(pod, c)
        self.emit.container(
            ContainerRecord(
                pod.name,
                pod.plan.name,
                c.spec.name,
                c.init,
                c.restarts,
                c.started_at,
                self.env.now,
                code,
                c.capped,
            )
        )
        c.running = False
        c.exit_code = code
        c.last_finished_at = self.env.now
        if code is None:
            return None
        # containerd's reasons: Completed for 0, Error otherwise
        # (internal/cri/server/container_status.go toCRIContainerStatus).
        self._show(pod, c, Shown(TERMINATED, "Completed" if code == 0 else "Error", code))
        self._container_died(pod, c)
        self.hooks.container_exited(pod, c, code)
        return code

    def _live(self, pod: Pod, c: ContainerState) -> Proc:
        """A running instance: CPU, committed memory, spikes; its exit code or None (killed)."""
        assert c.stop is not None  # set by _run_once
        key = (pod.uid, c.spec.name, c.restarts)
        p = c.profile
        cap_m = (
            job_rate_to_millicores(c.settings.job_cpu_rate, self.spec.cpu)
            if c.settings.job_cpu_rate is not None
            else None
        )
        work_done = self.cpu.add(key, float(p.cpu), cap_m, p.work)
        limit = c.settings.job_memory_limit_bytes
        # Known before the commit is placed: a start past the cap is a refusal to count.
        self._owner_of[key] = (pod, c)
        failed = self.ledger.add(
            key,
            c.base_commit,
            p.memory_growth,
            float(limit) if limit else None,
            degrade=pod.plan.spec.on_memory_cap == "degrade",
            # A process-isolated container's silo commits outside its job
            # (microsoft/Windows-Containers#180); a HostProcess container is a bare job
            # object on the host's own processes, with no silo of its own.
            overhead=0.0 if c.settings.host_process else float(self.spec.isolated_container_commit),
        )
        writes = p.writes
        if writes:
            self._start_writers(pod, c)
        waits: list[simpy.Event] = [c.stop, failed]
        if work_done is not None:
            waits.append(work_done)
        run_for = Timeout(self.env, p.run_for) if p.run_for is not None else None
        if run_for is not None:
            waits.append(run_for)
        spikes = self._spikes(pod, c, key)
        yield first_of(self.env, waits)
        if spikes is not None:
            spikes.stop()
        if writes:
            self.volume.stop_many(self._instance_keys(pod, c, c.restarts))
        if key in self.cpu:
            self.cpu.remove(key)
        self.ledger.remove(key)
        self._owner_of.pop(key, None)
        c.capped = failed.triggered
        if failed.triggered:
            hit = cast(CapHit, failed.value)
            self._event(
                pod,
                "Failed",
                f"container {c.spec.name}: memory allocation refused "
                f"by the {hit.by} commit limit at {hit.committed:.0f} bytes "
                "(no OOM killer on Windows: the process exits)",
                "Warning",
            )
            return 1
        if c.stop.triggered:
            return None
        if work_done is not None and work_done.triggered:
            return 0
        return p.exit_code

    def _start_writers(self, pod: Pod, c: ContainerState) -> None:
        """A running instance writes: its own scratch VHDX and log file, and the pod's
        emptyDir and host paths."""
        vol, p = self.volume, c.profile
        k = self.spec.kubelet
        uid, name, n = pod.uid, c.spec.name, c.restarts
        # Each instance's scratch is a new sandbox.vhdx of the scratch size.
        scratch = float(self.spec.containerd.scratch_size)
        # Rotation keeps at most containerLogMaxFiles files of containerLogMaxSize, per
        # instance (k/k pkg/kubelet/logs/container_log_manager.go rotates each log path).
        logs = float(k.container_log_max_size * k.container_log_max_files)
        if p.rootfs_writes or p.log_rate:
            c.on_disk.append(n)
        vol.write_many(
            (
                (writer_key(uid, name, "scratch", n), "scratch", uid, p.rootfs_writes, scratch),
                (writer_key(uid, name, "logs", n), "logs", uid, p.log_rate, logs),
                (
                    writer_key(uid, name, "empty_dir"),
                    "empty_dir",
                    uid,
                    p.empty_dir_writes,
                    math.inf,
                ),
                (writer_key(uid, name, "host_writes"), "host_writes", uid, p.host_writes, math.inf),
            )
        )

    @staticmethod
    def _instance_keys(pod: Pod, c: ContainerState, n: int) -> list[WriterKey]:
        """The writers instance ``n`` of ``c`` writes to (its own and the pod's)."""
        uid, name = pod.uid, c.spec.name
        return [writer_key(uid, name, o, n) for o in INSTANCE_WRITERS] + [
            writer_key(uid, name, o) for o in POD_WRITERS
        ]

    def storage_usage(self, pod: Pod) -> tuple[float, float, dict[str, tuple[float, float]]]:
        """The pod's ephemeral storage as kubelet's stats count it, and how fast it grows:
        (bytes, bytes/s, per container (bytes, bytes/s)).

        k/k pkg/kubelet/stats/cri_stats_provider.go: only running containers' writable
        layers count (``removeTerminatedContainers``), each container's logs are its log
        directory, every instance's files in it (``getContainerLogStats``), and the pod's
        are those plus its volumes (``calcEphemeralStorage``). A container's own usage,
        for its limit, is its rootfs and its logs (pkg/kubelet/eviction/eviction_manager.go
        ``containerEphemeralStorageLimitEviction``). Host-path writes are in neither.
        """
        vol, uid = self.volume, pod.uid
        total = growth = 0.0
        per: dict[str, tuple[float, float]] = {}
        for c in pod.containers:
            name = c.spec.name
            keys = [writer_key(uid, name, "logs", n) for n in c.on_disk]
            if c.running:
                keys.append(writer_key(uid, name, "scratch", c.restarts))
            used = sum(vol.value(k) for k in keys)
            rate = sum(vol.rate(k) for k in keys)
            per[name] = (used, rate)
            empty_dir = writer_key(uid, name, "empty_dir")
            total += used + vol.value(empty_dir)
            growth += rate + vol.rate(empty_dir)
        return total, growth, per

    # -- dead containers -------------------------------------------------------------------------

    def _container_died(self, pod: Pod, c: ContainerState) -> None:
        """ContainerDied: the pod container deletor keeps the newest dead instance of the
        container and removes the others (hpsim.node.containergc)."""
        if len(c.on_disk) > 1:
            newest = c.on_disk[-1]
            old = c.on_disk[:-1]
            c.on_disk = [newest]
            self._release(
                pod, [writer_key(pod.uid, c.spec.name, o, n) for n in old for o in INSTANCE_WRITERS]
            )

    def remove_containers(self, pod: Pod) -> None:
        """Every dead container of the pod is removed: its scratch and log files go."""
        keys = [
            writer_key(pod.uid, c.spec.name, o, n)
            for c in pod.containers
            for n in c.on_disk
            for o in INSTANCE_WRITERS
        ]
        for c in pod.containers:
            c.on_disk = []
        self._release(pod, keys)

    def release_pod_volumes(self, pod: Pod) -> None:
        """The pod is gone: its emptyDirs are deleted, its host-path writes stay."""
        names = [c.spec.name for c in pod.containers]
        self._release(
            pod,
            [writer_key(pod.uid, n, "empty_dir") for n in names],
            [writer_key(pod.uid, n, "host_writes") for n in names],
        )

    def _release(
        self, pod: Pod, free: Sequence[WriterKey], retire: Sequence[WriterKey] = ()
    ) -> None:
        """Writers go (``free``: their bytes deleted, ``retire``: their bytes stay): a
        record of what each wrote."""
        now = self.env.now
        for w in self.volume.release(free, retire):
            _uid, container, owner, instance = cast(WriterKey, w.key)
            self.emit.write(
                WriteRecord(
                    pod.name, pod.plan.name, container, owner, w.first, now, w.bytes, instance
                )
            )

    # -- deletion ------------------------------------------------------------------------------

    def stop_time(self, pod: Pod, c: ContainerState) -> float:
        """How long a running container takes to go once told to stop."""
        grace = float(pod.template.spec.termination_grace_period_seconds)
        wants = c.profile.stop_time if c.profile.stop_time is not None else math.inf
        if c.settings.host_process:
            return min(wants, HOSTPROCESS_SHUTDOWN_S, grace)
        return min(wants, grace)

    def kill_pod(self, pod: Pod) -> Proc:
        """Stop every running container of a pod being deleted."""
        running = [c for c in pod.containers if c.running]
        for c in running:
            self._event(pod, "Killing", f"Stopping container {c.spec.name}")
        if running:
            yield Timeout(self.env, max(self.stop_time(pod, c) for c in running))
        for c in running:
            if c.stop is not None and not c.stop.triggered:
                c.stop.succeed()
        # A step before the pod's release, at this instant. The instances unwind (release
        # their CPU and commit) when their waits resume, an event after this one: the
        # scheduler sees the pod's requests freed a step before the node's commit drops,
        # with no time between. Moving it would reorder rows of one instant.
        yield Timeout(self.env, 0)
