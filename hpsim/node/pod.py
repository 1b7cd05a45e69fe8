"""A pod as the node sees it: its template, its state and its timestamps.

States follow what ``kubectl get pods`` shows a user, in an order that never
jumps (checked by the tests): Pending (not yet bound) -> Scheduled ->
ContainerCreating -> Running -> Terminating -> Deleted, with Succeeded and
Failed as ends of their own and Refused for a pod admission never let exist.

Beside its state a pod has what kubectl prints as STATUS (hpsim.node.printer:
ContainerCreating, CrashLoopBackOff, ImagePullBackOff, Error, Completed, ...),
worked out from its phase and its containers' states as kubelet reports them,
and its Ready condition: every app container running (no readiness probes are
modelled: k/k pkg/kubelet/prober/prober_manager.go ``UpdatePodStatus`` reports
a running container without one ready; pkg/kubelet/status/generate.go
``GeneratePodReadyCondition`` needs every container ready). Every change of
either is a transition too, with from = to when the state stayed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import simpy
from simpy.events import Event

from hpsim.facts import ContainerRecord, Emitter, PodRecord
from hpsim.node.printer import NOT_REPORTED, RUNNING, Shown, pod_status
from hpsim.scenario.admission import ContainerSettings
from hpsim.scenario.load import WorkloadPlan
from hpsim.scenario.manifests import Container, PodTemplate
from hpsim.scenario.schema import Profile

# Allowed state changes: the only edges a pod may take.
TRANSITIONS: dict[str, frozenset[str]] = {
    "": frozenset({"Pending", "Refused"}),
    "Pending": frozenset({"Scheduled", "Deleted", "Failed"}),
    "Scheduled": frozenset({"ContainerCreating", "Failed", "Terminating"}),
    "ContainerCreating": frozenset({"Running", "Terminating", "Failed", "Succeeded"}),
    "Running": frozenset({"Terminating", "Succeeded", "Failed"}),
    "Terminating": frozenset({"Deleted"}),
    "Succeeded": frozenset({"Deleted"}),
    "Failed": frozenset({"Deleted"}),
    "Refused": frozenset(),
    "Deleted": frozenset(),
}
ENDED = frozenset({"Succeeded", "Failed", "Deleted", "Refused"})


@dataclass(slots=True)
class ContainerState:
    """One container of a pod, across its restarts."""

    spec: Container
    settings: ContainerSettings
    profile: Profile
    init: bool
    image: str
    pull_policy: str  # imagePullPolicy, with the API server's default
    base_commit: float  # sampled once per pod: restarts start from the same commit
    restarts: int = 0
    alloc_failures: int = 0
    running: bool = False
    finished: bool = False  # exited and will not restart
    exit_code: int | None = None
    capped: bool = False  # the last instance exited on a job-object allocation refusal
    started_at: float | None = None
    last_finished_at: float | None = None
    stop: simpy.Event | None = None  # triggered to kill the running instance
    # Instances (restart counts) whose scratch and log files are on the volume, oldest first.
    on_disk: list[int] = field(default_factory=list)
    shown: Shown = NOT_REPORTED  # its state in the pod's status, as kubelet reports it


@dataclass(slots=True)
class Pod:
    """One pod: created by a controller, bound to the node, run by the kubelet."""

    uid: int
    name: str
    plan: WorkloadPlan
    created: float
    cpu_request: int
    memory_request: int
    ephemeral_request: int
    priority: int
    host_process: bool
    containers: list[ContainerState]
    owner: str  # the controller's name ("" for a bare pod)
    revision: int = 0
    state: str = ""
    reason: str = ""
    message: str = ""
    scheduled: float | None = None
    pull_started: float | None = None
    started: float | None = None  # first app container running
    ready: float | None = None  # every app container running
    finished: float | None = None
    deleted: float | None = None
    delete_requested: float | None = None
    pull_s: float = 0.0
    # ephemeral-storage limits: the pod's (PodLimits; None: none set) and its app containers'
    ephemeral_limit: int | None = None
    container_ephemeral_limits: dict[str, int] = field(default_factory=dict)
    status_reason: str = ""  # the pod's status.reason: Evicted, OutOfcpu, ...
    status: str = ""  # what kubectl prints as STATUS, as last shown
    is_ready: bool = False  # the Ready condition
    ready_since: float = 0.0
    ready_total: float = 0.0  # seconds Ready before ready_since
    bound: bool = False
    # Requests as scoring counts them (NonZeroRequested: 100m cpu, 200 MiB memory for a
    # container that sets none).
    nonzero_cpu_m: int = 0
    nonzero_memory: int = 0
    # The node the pod is bound to ("" until it is), and the one its DaemonSet controller
    # made it for (its required node affinity matchFields metadata.name, k/k
    # pkg/controller/daemon/util/daemonset_util.go ReplaceDaemonSetPodNodeNameNodeAffinity)
    # or its spec.nodeName: None for any node.
    node: str = ""
    pin: str | None = None
    # The node a preemption freed room on for it (status.nominatedNodeName), until bound
    nominated: str | None = None
    # When the scheduler first found no node for it (PodScheduled=False, Unschedulable):
    # what the Cluster Autoscaler looks for. None while it has not failed, or once bound.
    unschedulable_since: float | None = None
    # Where its facts go: the cluster's emitter until it is bound, then its node's.
    emit: Emitter | None = field(default=None, repr=False)
    delete_event: simpy.Event | None = None
    _ready_waiters: list[simpy.Event] = field(default_factory=list, repr=False)
    images: frozenset[str] = field(init=False, repr=False)  # the containers' images

    def __post_init__(self) -> None:
        self.images = frozenset(c.image for c in self.containers)

    def ready_or_ended(self, env: simpy.Environment) -> simpy.Event:
        """An event that fires once the pod is ready or has ended."""
        ev = Event(env)
        if self.ready is not None or self.ended:
            ev.succeed()
        else:
            self._ready_waiters.append(ev)
        return ev

    def mark_ready(self, now: float) -> None:
        self.ready = now
        self._wake()

    def _wake(self) -> None:
        waiters, self._ready_waiters = self._ready_waiters, []
        for ev in waiters:
            ev.succeed()

    @property
    def template(self) -> PodTemplate:
        return self.plan.template

    @property
    def workload(self) -> str:
        return self.plan.name

    @property
    def restarts(self) -> int:
        return sum(c.restarts for c in self.containers)

    @property
    def alloc_failures(self) -> int:
        return sum(c.alloc_failures for c in self.containers)

    @property
    def ended(self) -> bool:
        return self.state in ENDED

    def api_phase(self) -> str:
        """The API's status.phase for the model's state."""
        state = self.state
        if state in ("Running", "Succeeded", "Failed"):
            return state
        if state == "Terminating":
            return "Running" if self.started is not None else "Pending"
        return "Pending"

    def shown(self) -> tuple[str, bool]:
        """(STATUS as kubectl prints it, the Ready condition) now; "" for a pod that does
        not exist (Deleted) or never did (Refused)."""
        if self.state in ("", "Deleted", "Refused"):
            return "", False
        app = [c for c in self.containers if not c.init]
        ended = self.state in ("Succeeded", "Failed")
        ready = not ended and bool(app) and all(c.shown.kind == RUNNING for c in app)
        status = pod_status(
            self.api_phase(),
            self.status_reason,
            self.state == "Terminating",
            ready,
            [c.shown for c in self.containers if c.init],
            [c.shown for c in app],
        )
        return status, ready

    def ready_duration(self, now: float) -> float:
        """Seconds the pod has been Ready in all, up to ``now``."""
        return self.ready_total + (now - self.ready_since if self.is_ready else 0.0)

    def set_state(self, state: str, now: float, states: PodStates) -> None:
        """Move to ``state``; an edge outside TRANSITIONS is a model bug."""
        if state == self.state:
            return
        if state not in TRANSITIONS[self.state]:
            raise RuntimeError(f"pod {self.name}: illegal state change {self.state} -> {state}")
        old, self.state = self.state, state
        states.moved(self, now, old, state)
        if state in ENDED:
            self._wake()

    def record(self, now: float) -> PodRecord:
        """The pod as it stands at ``now``, as a fact for the recorder."""
        t = self.plan.template
        return PodRecord(
            self.uid,
            self.name,
            self.plan.name,
            t.kind,
            t.namespace,
            self.host_process,
            self.revision,
            self.created,
            self.scheduled,
            self.pull_started,
            self.started,
            self.ready,
            self.finished,
            self.deleted,
            self.state,
            self.reason,
            self.message,
            self.restarts,
            self.alloc_failures,
            self.pull_s,
            self.ready_duration(now),
            self.status,
        )

    def running_containers(self) -> list[ContainerRecord]:
        """Records of the container instances running now (the run's closing snapshot)."""
        return [
            ContainerRecord(
                self.name,
                self.plan.name,
                c.spec.name,
                c.init,
                c.restarts,
                c.started_at,
                None,
                None,
                False,
            )
            for c in self.containers
            if c.running and c.started_at is not None
        ]


class PodStates:
    """How many pods are in each state now (the model's own count), and the facts of it.

    Every state change is emitted as a transition; a pod's record is emitted when
    it ends (Succeeded, Failed, Deleted, Refused), and a later one replaces it.
    """

    def __init__(
        self,
        emit: Emitter,
        on_live: Callable[[Pod], None] | None = None,
        on_running: Callable[[Pod], None] | None = None,
    ) -> None:
        """``on_live`` is told of a pod that is created or ends (the pods that exist change);
        ``on_running`` when one goes Running."""
        self._emit = emit
        self._on_live = on_live
        self._on_running = on_running
        self.counts: dict[str, int] = {}
        self.running_on: dict[str, int] = {}  # pods Running, by node
        # Nodes whose count of Running pods moved since the cluster last looked (it takes
        # and clears them: hpsim.cluster.cluster.Cluster._level).
        self.running_moved: set[str] = set()

    def moved(self, pod: Pod, now: float, old: str, new: str) -> None:
        self._show(pod, now)
        emit = pod.emit or self._emit
        emit.transition(now, pod.name, old, new, pod.status, pod.is_ready)
        counts = self.counts
        if old:
            counts[old] -= 1
        counts[new] = counts.get(new, 0) + 1
        if old == "Running" or new == "Running":
            on = self.running_on
            on[pod.node] = on.get(pod.node, 0) + (1 if new == "Running" else -1)
            self.running_moved.add(pod.node)
        if new in ENDED:
            emit.pod(pod.record(now))
        if new == "Running" and self._on_running is not None:
            self._on_running(pod)
        if self._on_live is not None and (not old or (new in ENDED and old not in ENDED)):
            self._on_live(pod)

    def refresh(self, pod: Pod, now: float) -> None:
        """A container's state changed: a transition (from = to) if what kubectl shows
        or the Ready condition did."""
        if self._show(pod, now):
            emit = pod.emit or self._emit
            emit.transition(now, pod.name, pod.state, pod.state, pod.status, pod.is_ready)
            if pod.state in ENDED:
                emit.pod(pod.record(now))  # the ended pod's record, as it now reads

    @staticmethod
    def _show(pod: Pod, now: float) -> bool:
        """Work out the pod's STATUS and Ready condition; True if either changed."""
        status, ready = pod.shown()
        if status == pod.status and ready == pod.is_ready:
            return False
        if ready != pod.is_ready:
            if ready:
                pod.ready_since = now
            else:
                pod.ready_total += now - pod.ready_since
            pod.is_ready = ready
        pod.status = status
        return True

    @property
    def running(self) -> int:
        return self.counts.get("Running", 0)
