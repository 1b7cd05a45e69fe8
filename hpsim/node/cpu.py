"""CPU: processor sharing among running containers, each under its job's rate cap.

On Windows each container is a job object. Kubelet turns a Kubernetes CPU limit
into ``cpuMaximum = 10000 * limit.MilliValue() / numCPU / 1000`` (integer
division, clamped to [1, 10000]) in 1/100 of a percent of the whole host
(k/k pkg/kubelet/kuberuntime/kuberuntime_container_windows.go), and hcsshim
sets it as ``JOB_OBJECT_CPU_RATE_CONTROL_ENABLE | JOB_OBJECT_CPU_RATE_CONTROL_HARD_CAP``
(hcsshim internal/jobobject/limits.go). A hard cap throttles; it is not a share.
Kubelet sets no CPU weight, so below their caps containers share the machine
equally: max-min fair (water-filling) allocation of the node's capacity, each
container bounded by min(demand, cap).

Rates change only when the set of running containers changes (add, remove, a
work item finishing). Paging (hpsim.node.paging) sets a speed that every job's progress
is multiplied by: its CPU-seconds accrue at ``rate * speed``; the allocation (the rates,
``cpu_allocated_millicores``) stays as water-filling gives it. Each change schedules the
next completion as a single timeout; a generation counter makes the timeouts of earlier
changes no-ops.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field

import simpy
from simpy.events import Event, Timeout

DONE_EPS = 1e-9  # CPU-seconds: less than this left counts as finished (float drift)
# Bounds adding up to at most this fraction of the capacity all fit, float rounding and all:
# water-filling would hand every job its bound.
UNCONTENDED = 1 - 1e-9


def job_rate_to_millicores(rate: int, node_cpus: int) -> float:
    """A job CPU rate (1/100 % of the whole host) as millicores."""
    return rate / 10000 * node_cpus * 1000


def water_fill(capacity: float, bounds: Sequence[float]) -> list[float]:
    """Max-min fair shares of ``capacity``, each at most its bound.

    Every share is ``min(bound, level)`` for one water level, so shares depend on
    the set of bounds only, not on their order; equal bounds get equal shares.
    """
    clean = [max(0.0, float(b)) for b in bounds]
    left = max(0.0, float(capacity))
    level = math.inf  # nobody is held back when the bounds fit
    ordered = sorted(clean)
    for pos, b in enumerate(ordered):
        fair = left / (len(ordered) - pos)
        if b > fair:
            level = fair
            break
        left -= b
    return [min(b, level) for b in clean]


@dataclass(slots=True)
class _Job:
    bound: float  # millicores: min(demand, cap)
    since: float  # when ``consumed`` was last booked
    rate: float = 0.0  # millicores allocated since the last change
    consumed: float = 0.0  # CPU-seconds, booked up to ``since``


@dataclass(slots=True)
class _WorkJob(_Job):
    """A work-bound job: ``done`` succeeds once ``left`` is used up."""

    left: float = field(kw_only=True)  # CPU-seconds of work still to do
    done: simpy.Event = field(kw_only=True)


def _book(job: _Job, now: float, speed: float) -> None:
    """Book what ``job`` consumed at its rate, times the paging speed, since it was last
    booked."""
    dt = now - job.since
    if dt > 0:
        used = job.rate / 1000 * speed * dt
        job.consumed += used
        if isinstance(job, _WorkJob):
            job.left -= used
    job.since = now


class ProcessorSharing:
    """The node's CPU shared among running containers."""

    def __init__(
        self,
        env: simpy.Environment,
        capacity_millicores: float,
        on_change: Callable[[float], None] | None = None,
    ) -> None:
        self.env = env
        self.capacity = float(capacity_millicores)
        self._on_change = on_change
        self._jobs: dict[Hashable, _Job] = {}
        self._work: dict[Hashable, _WorkJob] = {}  # the work-bound ones, in the same order
        # Each job's bound, in the order of ``_jobs``: summed in C on every change.
        self._bounds: dict[Hashable, float] = {}
        # Every job runs at its bound (the last change found no contention): while it
        # holds, only a job just added needs its rate set.
        self._at_bounds = True
        self._generation = 0
        self._total = 0.0
        self._speed = 1.0  # paging: the share of full speed every job progresses at

    def __contains__(self, key: Hashable) -> bool:
        return key in self._jobs

    @property
    def running(self) -> int:
        return len(self._jobs)

    @property
    def total_allocated(self) -> float:
        return self._total

    def allocation(self, key: Hashable) -> float:
        """Millicores allocated to ``key`` now."""
        return self._jobs[key].rate

    def consumed(self, key: Hashable) -> float:
        """CPU-seconds ``key`` has consumed up to now."""
        job = self._jobs[key]
        _book(job, self.env.now, self._speed)
        return job.consumed

    def add(
        self,
        key: Hashable,
        demand_m: float,
        cap_m: float | None = None,
        work_cpu_s: float | None = None,
    ) -> simpy.Event | None:
        """A container starts wanting ``demand_m`` millicores, throttled at ``cap_m``.

        With ``work_cpu_s`` it returns an event that succeeds with the completion
        time once that many CPU-seconds are consumed; otherwise None.
        """
        if key in self._jobs:
            raise ValueError(f"{key!r} is already running")
        if work_cpu_s is not None and not work_cpu_s >= 0:
            raise ValueError(f"work_cpu_s must be >= 0, got {work_cpu_s!r}")
        if work_cpu_s is not None and demand_m <= 0:
            # A CPU-bound job with no stated demand uses all it is allowed.
            demand_m = cap_m if cap_m is not None else self.capacity
        bound = demand_m if cap_m is None else min(demand_m, cap_m)
        self._advance()
        bound = max(0.0, float(bound))
        job: _Job
        done: simpy.Event | None = None
        if work_cpu_s is None:
            job = _Job(bound=bound, since=self.env.now)
        else:
            done = Event(self.env)
            job = self._work[key] = _WorkJob(
                bound=bound, since=self.env.now, left=work_cpu_s, done=done
            )
        self._jobs[key] = job
        self._bounds[key] = job.bound
        self._reallocate(added=job)
        return done

    def remove(self, key: Hashable) -> float:
        """The container stops (killed or exited); returns the CPU-seconds it consumed."""
        if key not in self._jobs:
            raise KeyError(key)
        self._advance()
        job = self._jobs.pop(key)
        del self._bounds[key]
        self._work.pop(key, None)
        _book(job, self.env.now, self._speed)
        self._reallocate()
        return job.consumed

    @property
    def speed(self) -> float:
        return self._speed

    def set_speed(self, speed: float) -> None:
        """Paging changed the share of full speed every job progresses at (0 < speed <= 1).

        Everything consumed so far is booked at the old speed; completions are rescheduled
        as for a change of rates."""
        if not 0 < speed <= 1:
            raise ValueError(f"speed must be in (0, 1], got {speed!r}")
        if speed == self._speed:
            return
        now = self.env.now
        for job in self._jobs.values():
            _book(job, now, self._speed)
        self._speed = speed
        self._reallocate()

    def _advance(self) -> None:
        """Book the work-bound jobs up to now: their completions are computed from it.
        The others are booked when their rate changes or they leave."""
        now = self.env.now
        for job in self._work.values():
            _book(job, now, self._speed)

    def _reallocate(self, added: _Job | None = None) -> None:
        now = self.env.now
        work = self._work
        if work:
            # Finished jobs leave first, in insertion order, so that their events are
            # triggered before on_change reports the sharing that follows.
            for key in [k for k, j in work.items() if j.left <= DONE_EPS]:
                del self._jobs[key]
                del self._bounds[key]
                work.pop(key).done.succeed(now)
        jobs = self._jobs.values()
        bounded = sum(self._bounds.values())
        if bounded <= self.capacity * UNCONTENDED:
            # Every bound fits: water-filling gives each job its bound. If every job had
            # its bound already, only the one just added needs its own.
            if not self._at_bounds:
                unset: Iterable[_Job] = jobs
            else:
                unset = () if added is None else (added,)
            for job in unset:
                if job.rate != job.bound:
                    _book(job, now, self._speed)
                    job.rate = job.bound
            self._at_bounds = True
            self._total = bounded  # the same rates, summed in the same order
        else:
            for job, share in zip(
                jobs, water_fill(self.capacity, list(self._bounds.values())), strict=True
            ):
                if job.rate != share:
                    _book(job, now, self._speed)
                    job.rate = share
            self._at_bounds = False
            self._total = sum(j.rate for j in jobs)
        self._generation += 1
        generation = self._generation
        if self._on_change is not None:
            self._on_change(self._total)
        if not work:
            return
        speed = self._speed
        pending = [(j.left / (j.rate / 1000 * speed), k) for k, j in work.items() if j.rate > 0]
        if not pending:
            return
        next_dt = min(dt for dt, _k in pending)
        # The jobs due first are finished when the timeout fires, whatever float
        # residue is left; otherwise a residue could schedule timeouts so small
        # that they never move the clock.
        due = [k for dt, k in pending if dt == next_dt]
        timeout = Timeout(self.env, max(0.0, next_dt))
        timeout.callbacks.append(lambda _e: self._complete(generation, due))

    def _complete(self, generation: int, due: list[Hashable]) -> None:
        if generation != self._generation:
            return  # the set of jobs changed since this timeout was scheduled
        self._advance()
        for key in due:
            job = self._work[key]
            job.consumed += max(0.0, job.left)
            job.left = 0.0
        self._reallocate()
