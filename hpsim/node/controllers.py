"""Workload controllers: who creates and deletes pods, and when.

- Bare Pods: one pod at ``start``, or one per arrival (fixed times, Poisson,
  or a CSV trace of create/delete times).
- Deployment / ReplicaSet / StatefulSet: keep ``spec.replicas`` pods; a pod
  that is deleted (its lifetime ended) is replaced at once. Scale events
  change the count (scale-down removes pending, then not-ready, then newest
  pods first, as ReplicaSet's ``getPodsToDelete`` ranks them). A rollout
  replaces pods surge-first: maxSurge 25% new pods, then the old ones they
  replace once the new are ready (Deployment RollingUpdate defaults; a
  DaemonSet rolls one pod at a time, maxUnavailable 1).
- DaemonSet: one pod on every node that should run it (``NodeShouldRunDaemonPod``:
  its node affinity, and taints with the tolerations the controller adds), pinned
  to that node; a node that joins, or turns Ready, gets its pod.
- Job: each arrival creates a Job run: pods at ``parallelism`` until
  ``completions`` succeed. restartPolicy OnFailure restarts in place and
  each restart counts toward ``backoffLimit`` (6); Never fails the pod and
  the controller creates a new one after its back-off (10 s doubling, 6 min
  cap: k/k pkg/controller/job DefaultJobPodFailureBackOff, MaxJobPodFailureBackOff).
  Past backoffLimit the Job fails (BackoffLimitExceeded) and its pods go.
- CronJob (k/k pkg/controller/cronjob/cronjob_controllerv2.go ``syncCronJob``):
  a Job from its jobTemplate at each time of its schedule, synced 100 ms after
  it (``nextScheduleDelta``) and whenever one of its Jobs finishes: the most
  recent unmet schedule time since the last (utils.go ``mostRecentScheduleTime``;
  with startingDeadlineSeconds, none older than that); suspended, none;
  concurrencyPolicy Forbid skips a time while a Job is active (JobAlreadyActive)
  and starts it late if that Job finishes within the deadline, Replace deletes the
  active Jobs first; Jobs named ``<cronjob>-<scheduled minutes since the epoch>``;
  finished Jobs beyond successfulJobsHistoryLimit (3) / failedJobsHistoryLimit (1)
  are deleted oldest first (``cleanupFinishedJobs``), and their pods with them.

Lifetimes are drawn per pod from the workload's ``lifetime`` and counted
from the pod's creation.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import simpy
from simpy.events import Process, Timeout

from hpsim.facts import Emitter
from hpsim.node.backoff import Backoff
from hpsim.node.draws import Streams
from hpsim.node.pod import ContainerState, Pod
from hpsim.scenario.cronjobs import NEVER_FIRES, Schedule
from hpsim.scenario.load import WorkloadPlan
from hpsim.scenario.schema import Lifetime

JOB_BACKOFF_INITIAL_S = 10.0
JOB_BACKOFF_MAX_S = 360.0
DS_BACKOFF_INITIAL_S = 1.0
DS_BACKOFF_MAX_S = 900.0
DEFAULT_MAX_SURGE = 0.25  # Deployment RollingUpdate maxSurge / maxUnavailable defaults: 25%
# Pods one sync creates at most; the rest wait for the next sync, which comes as soon as
# the creations are observed (modelled: at the same instant). kubernetes/kubernetes
# pkg/controller/replicaset/replica_set.go BurstReplicas and pkg/controller/job/
# job_controller.go MaxPodCreateDeletePerSync.
BURST_REPLICAS = 500
MAX_POD_CREATE_PER_SYNC = 500
# The CronJob controller syncs this long after a schedule time (cronjob_controllerv2.go
# nextScheduleDelta), so its Jobs are created then.
NEXT_SCHEDULE_DELTA_S = 0.1

Proc = Generator[simpy.Event, Any, Any]


def sample_lifetime(lt: Lifetime, rng: Any) -> float:
    if lt.fixed is not None:
        return lt.fixed
    if lt.exponential is not None:
        return float(rng.exponential(lt.exponential.mean))
    if lt.lognormal is not None:
        return float(lt.lognormal.median * math.exp(lt.lognormal.sigma * rng.standard_normal()))
    assert lt.uniform is not None
    return float(rng.uniform(lt.uniform.min, lt.uniform.max))


class PodAPI(Protocol):
    """What a controller asks of the API server: create a pod, delete one."""

    def new_pod(
        self,
        plan: WorkloadPlan,
        name: str,
        owner: str,
        revision: int = 0,
        images: dict[str, str] | None = None,
        node: str | None = None,
    ) -> Pod: ...

    def delete_pod(self, pod: Pod, reason: str = "Deleted") -> simpy.Process | None: ...

    def daemon_nodes(self, plan: WorkloadPlan) -> list[str]:
        """The nodes that should run a pod of the DaemonSet ``plan``."""
        ...


class Controller:
    """Base: creates pods from one workload plan and hears what happens to them."""

    def __init__(
        self,
        env: simpy.Environment,
        emit: Emitter,
        api: PodAPI,
        streams: Streams,
        plan: WorkloadPlan,
        start: datetime,
    ) -> None:
        self.env = env
        self.start_time = start  # the wall-clock time at t = 0 (a CronJob's schedule reads it)
        self.emit = emit
        self.api = api
        self.streams = streams
        self.plan = plan
        self.name = plan.name
        # The workload's live pods by uid, in creation order: neither ended nor being
        # deleted. The API side tells the controller when one leaves (``pod_leaving``), so
        # counting them costs nothing however many are pending.
        self.pods: dict[int, Pod] = {}
        self.seq = 0
        self.revision = 0
        self.images: dict[str, str] = {}
        self.setup()

    def setup(self) -> None:
        """A kind's own state, set up at the end of ``__init__``."""

    def start(self) -> None:
        Process(self.env, self._begin())

    def _begin(self) -> Proc:
        yield Timeout(self.env, self.plan.spec.start)
        self.begin()

    def begin(self) -> None:  # pragma: no cover - each controller overrides
        raise NotImplementedError

    def create(
        self, name: str | None = None, delete_at: float | None = None, node: str | None = None
    ) -> Pod:
        self.seq += 1
        pod = self.api.new_pod(
            self.plan,
            name or f"{self.name}-{self.seq}",
            self.name,
            self.revision,
            self.images,
            node=node,
        )
        if not pod.ended:
            self.pods[pod.uid] = pod
        lt = self.plan.spec.lifetime
        if delete_at is None and lt is not None and not pod.ended:
            rng = self.streams.get("lifetimes", self.plan.index)
            delete_at = self.env.now + sample_lifetime(lt, rng)
        if delete_at is not None and not pod.ended:
            # A timer, not a process: one per pod with a lifetime.
            timer = Timeout(self.env, max(0.0, delete_at - self.env.now))

            def expire(_t: simpy.Event) -> None:
                self.api.delete_pod(pod, "LifetimeEnded")

            timer.callbacks.append(expire)
        return pod

    def live(self) -> list[Pod]:
        """The workload's pods that have not ended and are not being deleted."""
        return list(self.pods.values())

    def pod_leaving(self, pod: Pod) -> None:
        """The pod ended, or its deletion began: it no longer counts as live."""
        self.pods.pop(pod.uid, None)

    def arrive(self, delete_at: float | None) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def arrivals(self) -> Proc:
        """The workload's arrival process: fixed times, a CSV trace, or Poisson."""
        arr = self.plan.spec.arrivals
        assert arr is not None
        t0 = self.env.now
        if arr.at is not None:
            for t in sorted(arr.at):
                yield Timeout(self.env, max(0.0, t0 + t - self.env.now))
                self.arrive(None)
        elif arr.trace is not None:
            for row in self.plan.trace:
                yield Timeout(self.env, max(0.0, t0 + row.create_s - self.env.now))
                self.arrive(t0 + row.delete_s if row.delete_s is not None else None)
        else:
            p = arr.poisson
            assert p is not None  # exactly one of at, trace, poisson
            rate, start, stop, limit = (
                (p, 0.0, None, None) if isinstance(p, float) else (p.rate, p.start, p.stop, p.limit)
            )
            rng = self.streams.get("arrivals", self.plan.index)
            yield Timeout(self.env, start)
            n = 0
            while rate > 0 and (limit is None or n < limit):
                yield Timeout(self.env, float(rng.exponential(1.0 / rate)))
                if stop is not None and self.env.now - t0 > stop:
                    return
                self.arrive(None)
                n += 1

    # Hooks; controllers override what they care about.
    def pod_finished(self, pod: Pod) -> None: ...
    def pod_deleted(self, pod: Pod) -> None: ...
    def container_exited(self, pod: Pod, c: ContainerState, code: int) -> None: ...
    def container_restarted(self, pod: Pod, c: ContainerState) -> None: ...

    def may_restart(self, pod: Pod) -> bool:
        return True

    def scale(self, replicas: int) -> None:
        raise NotImplementedError

    def rollout(self, image: str, container: str | None) -> None:
        raise NotImplementedError


class PodArrivals(Controller):
    """Bare pods: created at ``start`` or one per arrival; never replaced."""

    def begin(self) -> None:
        if self.plan.spec.arrivals is None:
            self.create(self.name)
        else:
            Process(self.env, self.arrivals())

    def arrive(self, delete_at: float | None) -> None:
        self.create(delete_at=delete_at)


class ReplicaController(Controller):
    """Deployment, ReplicaSet, StatefulSet and DaemonSet: keep N pods."""

    def setup(self) -> None:
        kind = self.plan.template.kind
        self.replicas = 1 if kind == "DaemonSet" else self.plan.template.replicas
        self._rolling = False
        self.begun = False
        self.failed_backoff = Backoff(DS_BACKOFF_INITIAL_S, DS_BACKOFF_MAX_S)

    def _name(self) -> str:
        if self.plan.template.kind == "StatefulSet":
            used = {p.name for p in self.live()}
            ordinal = next(i for i in range(len(used) + 1) if f"{self.name}-{i}" not in used)
            return f"{self.name}-{ordinal}"
        return f"{self.name}-r{self.revision}-{self.seq + 1}"

    def begin(self) -> None:
        self.begun = True
        self.reconcile()

    def nodes_changed(self) -> None:
        """A node joined, left or changed: a DaemonSet's pods follow the nodes."""
        if self.begun:
            self.reconcile()

    def reconcile(self) -> None:
        if self._rolling:
            return
        if self.plan.template.kind == "DaemonSet":
            self._reconcile_daemons()
            return
        count = len(self.pods)
        missing = self.replicas - count
        for _ in range(min(missing, BURST_REPLICAS)):
            pod = self.create(self._name())
            if pod.ended:  # refused by admission: the controller would only fail again
                return
        if missing > BURST_REPLICAS:
            # The rest in the next sync, which follows at once once these are observed.
            Timeout(self.env, 0).callbacks.append(lambda _t: self.reconcile())
        if count > self.replicas:
            live = self.live()
            for pod in self._deletion_order(live)[: count - self.replicas]:
                self.api.delete_pod(pod, "ScaledDown")

    def _reconcile_daemons(self) -> None:
        """A pod for every node that should run one and has none (daemon_controller.go
        ``syncNodes``); a pod whose node left goes with the node."""
        have = {p.pin for p in self.pods.values()}
        for node in self.api.daemon_nodes(self.plan):
            if node not in have:
                pod = self.create(self._name(), node=node)
                if pod.ended:  # refused by admission: the controller would only fail again
                    return

    @staticmethod
    def _deletion_order(pods: list[Pod]) -> list[Pod]:
        # ReplicaSet getPodsToDelete: unassigned < assigned, not ready < ready, newer first.
        return sorted(pods, key=lambda p: (p.bound, p.ready is not None, -p.created, -p.uid))

    def pod_deleted(self, pod: Pod) -> None:
        self.reconcile()

    def pod_finished(self, pod: Pod) -> None:
        if self.plan.template.kind == "DaemonSet" and pod.state == "Failed":
            # The DaemonSet controller recreates a failed daemon pod after a back-off
            # (failedPodsBackoff: 1 s doubling to 15 min, pkg/controller/daemon) [UNCONFIRMED].
            now = self.env.now
            self.failed_backoff.next(self.name, now, now)
            delay = self.failed_backoff.get(self.name)
            Process(self.env, self._reconcile_after(delay))
            return
        self.reconcile()

    def _reconcile_after(self, delay: float) -> Proc:
        yield Timeout(self.env, delay)
        self.reconcile()

    def scale(self, replicas: int) -> None:
        self.replicas = replicas
        self.reconcile()

    def rollout(self, image: str, container: str | None) -> None:
        target = container or self.plan.template.spec.containers[0].name
        self.images = {**self.images, target: image}
        self.revision += 1
        Process(self.env, self._roll())

    def _roll(self) -> Proc:
        self._rolling = True
        daemon = self.plan.template.kind in ("DaemonSet", "StatefulSet")
        surge = 0 if daemon else max(1, math.ceil(self.replicas * DEFAULT_MAX_SURGE))
        while True:
            old = [p for p in self.live() if p.revision < self.revision]
            if not old:
                break
            batch = old[: max(1, surge)]
            if daemon:
                # maxUnavailable 1, maxSurge 0: the old pod goes before the new one comes.
                for pod in batch:
                    proc = self.api.delete_pod(pod, "RollingUpdate")
                    if proc is not None:
                        yield proc
            new = [self.create(self._name(), node=pod.pin) for pod in batch]
            for pod in new:
                yield pod.ready_or_ended(self.env)
            if not daemon:
                for pod in batch:
                    self.api.delete_pod(pod, "RollingUpdate")
        self._rolling = False
        self.reconcile()


@dataclass
class JobRun:
    """One Job object's progress (each arrival of a Job workload is a new run)."""

    id: int
    completions: int | None  # None: a work queue (parallelism set alone)
    parallelism: int
    name: str = ""  # the Job object's name
    created: float = 0.0
    succeeded: int = 0
    failures: int = 0
    active: int = 0
    done: bool = False
    condition: str = ""  # Complete or Failed once done (not set when deleted)
    pods: list[Pod] = field(default_factory=list)


class JobController(Controller):
    """A Job: each arrival is a run with its own completions, parallelism and backoffLimit.

    A run that is done and whose pods have all ended is let go: nothing deletes a plain
    Job here (no ttlSecondsAfterFinished), so nothing would read it again, and a month
    of arrivals kept every Pod object of every run (a CronJob keeps its runs: its
    history limits delete the oldest Jobs and their pods)."""

    keeps_finished = False

    def setup(self) -> None:
        self.runs: list[JobRun] = []
        self.run_of: dict[int, JobRun] = {}
        self._made = 0  # runs made so far: the next run's id

    def begin(self) -> None:
        if self.plan.spec.arrivals is None:
            self._new_run()
        else:
            Process(self.env, self.arrivals())

    def arrive(self, delete_at: float | None) -> None:
        self._new_run()

    def _new_run(self, name: str | None = None) -> JobRun:
        t = self.plan.template
        self._made += 1
        run = JobRun(
            id=self._made,
            completions=t.completions,
            parallelism=t.parallelism,
            name=name or self.name,
            created=self.env.now,
        )
        self.runs.append(run)
        # completions unset (a work queue): parallelism pods (batch/v1 SetDefaults_Job).
        first_wave = t.parallelism if t.completions is None else min(t.parallelism, t.completions)
        self._fill(run, first_wave)
        return run

    def _pod_name(self, run: JobRun) -> str:
        return f"{self.name}-{run.id}-{self.seq + 1}"

    def run_finished(self, run: JobRun) -> None:
        """The run's Job finished (Complete or Failed)."""

    def _fill(self, run: JobRun, pods: int) -> None:
        """Create ``pods`` pods for ``run``, at most MAX_POD_CREATE_PER_SYNC per sync."""
        for _ in range(min(pods, MAX_POD_CREATE_PER_SYNC)):
            self._spawn(run)
        if pods > MAX_POD_CREATE_PER_SYNC and not run.done:
            left = pods - MAX_POD_CREATE_PER_SYNC
            Timeout(self.env, 0).callbacks.append(lambda _t: self._fill(run, left))

    def _spawn(self, run: JobRun) -> None:
        run.active += 1
        pod = self.create(self._pod_name(run))
        self.run_of[pod.uid] = run
        run.pods.append(pod)
        if pod.ended:  # refused by admission
            run.active -= 1
            run.done = True

    def may_restart(self, pod: Pod) -> bool:
        run = self.run_of.get(pod.uid)
        return run is not None and not run.done

    def container_restarted(self, pod: Pod, c: ContainerState) -> None:
        run = self.run_of.get(pod.uid)
        if run is None or run.done:
            return
        run.failures += 1  # restartPolicy OnFailure: restarts count toward backoffLimit
        self._check_backoff_limit(run)

    def _check_backoff_limit(self, run: JobRun) -> None:
        if run.failures > self.plan.template.backoff_limit and not run.done:
            run.done = True
            run.condition = "Failed"
            self.emit.event(
                self.env.now,
                "Job",
                run.name,
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
                "Warning",
            )
            for p in self.live():
                if self.run_of.get(p.uid) is run:
                    self.api.delete_pod(p, "BackoffLimitExceeded")
            self.run_finished(run)

    def pod_finished(self, pod: Pod) -> None:
        run = self.run_of.get(pod.uid)
        if run is None:
            return
        self._finished(run, pod)
        if run.done and not self.keeps_finished and all(p.ended for p in run.pods):
            for p in run.pods:
                del self.run_of[p.uid]
            run.pods = []
            self.runs.remove(run)

    def _finished(self, run: JobRun, pod: Pod) -> None:
        run.active -= 1
        completions = run.completions  # None: a work queue
        if pod.state == "Succeeded":
            run.succeeded += 1
            # A work queue is done once one pod succeeded and none is active
            # (job_controller.go); otherwise when `completions` pods succeeded.
            if run.active == 0 if completions is None else run.succeeded >= completions:
                run.done = True
                run.condition = "Complete"
                self.emit.event(self.env.now, "Job", run.name, "Completed", "Job completed")
                self.run_finished(run)
                return
        else:
            run.failures += 1
            self._check_backoff_limit(run)
        if run.done:
            return
        if completions is None:
            remaining = 1 if run.succeeded == 0 else 0  # no new pods once one succeeded
        else:
            remaining = completions - run.succeeded - run.active
        if remaining > 0 and run.active < run.parallelism:
            delay = 0.0
            if pod.state == "Failed":
                delay = min(JOB_BACKOFF_MAX_S, JOB_BACKOFF_INITIAL_S * 2 ** (run.failures - 1))
            Process(self.env, self._respawn(run, delay))

    def _respawn(self, run: JobRun, delay: float) -> Proc:
        run.active += 1  # reserved while waiting
        yield Timeout(self.env, delay)
        run.active -= 1
        if not run.done:
            self._spawn(run)


class CronJobController(JobController):
    """A CronJob: Jobs from its job template on its schedule (see the module's docstring)."""

    keeps_finished = True

    def setup(self) -> None:
        super().setup()
        cron = self.plan.template.cron
        assert cron is not None  # a CronJob template carries its settings
        self.cron = cron
        self.schedule = Schedule(cron, self.start_time)
        self.created = 0.0
        self.last_schedule: float | None = None  # status.lastScheduleTime
        self._generation = 0

    def begin(self) -> None:
        self.created = self.env.now
        self.sync()

    def _pod_name(self, run: JobRun) -> str:
        return f"{run.name}-{self.seq + 1}"

    def _active(self) -> list[JobRun]:
        return [r for r in self.runs if not r.done]

    def _most_recent(self, now: float, deadline: bool) -> tuple[float, float | None]:
        """``mostRecentScheduleTime``: (the earliest time considered, the most recent
        schedule time after it and at or before ``now``, or None)."""
        earliest = self.last_schedule if self.last_schedule is not None else self.created
        limit = self.cron.starting_deadline_seconds
        if deadline and limit is not None:
            earliest = max(earliest, now - limit)
        t = self.schedule.next_after(earliest)
        if t > now:
            return earliest, None
        while True:
            nxt = self.schedule.next_after(t)
            if nxt > now:
                return earliest, t
            t = nxt

    def sync(self) -> None:
        """``syncCronJob``, then ``cleanupFinishedJobs``."""
        if self.cron.suspend:
            return  # nothing starts, and nothing is requeued
        now = self.env.now
        earliest = self.last_schedule if self.last_schedule is not None else self.created
        if math.isinf(self.schedule.next_after(earliest)):
            # robfig's Next finds no time: mostRecentScheduleTime errors, syncCronJob
            # records it and does not requeue (hpsim.scenario.cronjobs NEVER_FIRES).
            self._event(
                "InvalidSchedule",
                f"invalid schedule: {self.cron.schedule} : {NEVER_FIRES}",
                "Warning",
            )
            return
        _earliest, scheduled = self._most_recent(now, deadline=True)
        if scheduled is not None:
            self._start(scheduled, now)
        self._requeue(now)
        self._cleanup()

    def _start(self, scheduled: float, now: float) -> None:
        limit = self.cron.starting_deadline_seconds
        if limit is not None and scheduled + limit < now:
            self._event(
                "MissSchedule",
                "Missed scheduled time to start a job: " + self.schedule.rfc1123z(scheduled),
                "Warning",
            )
            return
        name = f"{self.name}-{self.schedule.minutes(scheduled)}"
        if self.last_schedule == scheduled or any(r.name == name for r in self._active()):
            return  # already processed
        active = self._active()
        if self.cron.concurrency_policy == "Forbid" and active:
            self._event(
                "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency "
                "policy is Forbid",
            )
            return
        if self.cron.concurrency_policy == "Replace":
            for run in active:
                self._delete_job(run)
        self._new_run(name)
        self._event("SuccessfulCreate", f"Created job {name}")
        self.last_schedule = scheduled

    def _requeue(self, now: float) -> None:
        """Sync again ``nextScheduleDelta`` (100 ms) after the next schedule time
        (``nextScheduleTimeDuration``)."""
        earliest, recent = self._most_recent(now, deadline=False)
        at = self.schedule.next_after(recent if recent is not None else earliest)
        self._generation += 1
        gen = self._generation

        def wake(_e: simpy.Event) -> None:
            if gen == self._generation:
                self.sync()

        Timeout(self.env, max(0.0, at + NEXT_SCHEDULE_DELTA_S - now)).callbacks.append(wake)

    def run_finished(self, run: JobRun) -> None:
        """A Job finished: the controller sees it (SawCompletedJob) and syncs."""
        self._event("SawCompletedJob", f"Saw completed job: {run.name}, condition: {run.condition}")
        if not self.cron.suspend:
            self._start_unmet()
        self._cleanup()

    def _start_unmet(self) -> None:
        now = self.env.now
        _earliest, scheduled = self._most_recent(now, deadline=True)
        if scheduled is not None:
            self._start(scheduled, now)

    def _cleanup(self) -> None:
        """``cleanupFinishedJobs``: the oldest finished Jobs past the history limits go."""
        for condition, keep in (
            ("Complete", self.cron.successful_jobs_history_limit),
            ("Failed", self.cron.failed_jobs_history_limit),
        ):
            finished = [r for r in self.runs if r.condition == condition]
            oldest_first = sorted(finished, key=lambda r: (r.created, r.name))
            for run in oldest_first[: max(0, len(finished) - keep)]:
                self._delete_job(run)

    def _delete_job(self, run: JobRun) -> None:
        """``deleteJob``: the Job goes, and the garbage collector deletes its pods."""
        run.done = True
        run.condition = "Deleted"
        self._event("SuccessfulDelete", f"Deleted job {run.name}")
        for pod in run.pods:
            self.api.delete_pod(pod, "JobDeleted")
        run.pods = []

    def _event(self, reason: str, message: str, type_: str = "Normal") -> None:
        self.emit.event(self.env.now, "CronJob", self.name, reason, message, type_)


def build_controllers(
    env: simpy.Environment,
    emit: Emitter,
    api: PodAPI,
    streams: Streams,
    workloads: Sequence[WorkloadPlan],
    start: datetime,
) -> dict[str, Controller]:
    """One controller per workload plan; ``start`` is the wall-clock time at t = 0."""
    kinds: dict[str, type[Controller]] = {
        "Pod": PodArrivals,
        "Job": JobController,
        "CronJob": CronJobController,
    }
    out: dict[str, Controller] = {}
    for plan in workloads:
        cls = kinds.get(plan.template.kind, ReplicaController)
        out[plan.name] = cls(env, emit, api, streams, plan, start)
    return out
