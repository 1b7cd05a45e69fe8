"""Committed memory under job-object limits and the node's commit limit.

Windows caps a container's *committed* memory with its job object
(``JobMemoryLimit``, set by hcsshim ``specToLimits`` from the Kubernetes
memory limit floored to whole MiB; hcsshim internal/jobcontainers/oci.go,
internal/jobobject/limits.go). An allocation that would pass the cap fails:
there is no OOM killer (kubernetes/website windows-resource-management.md).
The node as a whole cannot commit more than its commit limit, RAM + pagefile;
past it every allocation fails, whatever process makes it and whether or not its
job has a limit ("Windows nodes do not overcommit memory for processes running in
containers", kubernetes/website content/en/docs/concepts/configuration/
windows-resource-management.md): when the node's commit reaches the limit, every
container that is allocating at that instant (every grower) is refused at once,
each counted against itself, and each follows its own onMemoryCap.

The node's commit also holds what no job accounts for: Windows, kubelet and
containerd before any pod (``system_commit``), and a per-container ``overhead``
committed outside the container's job statistics (the silo's own system processes
of a process-isolated container: microsoft/Windows-Containers#180 reports
200-300 MB per container unaccounted for). Both count against the node's commit
limit (and so against ``memory.available``), never against a job's own limit.

Each container's commit is piecewise linear: a base (sampled per pod), a
linear growth (a leak) and temporary spikes. The ledger computes, from the
current slopes, the next instant any job cap or the node limit is met and
waits for exactly that instant; it recomputes only when a container starts,
stops, spikes or reaches a cap. Time is never stepped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import simpy
from simpy.events import Event, Timeout

EPS_BYTES = 1e-3
# A next refusal recomputed within this of the wake-up already set is that wake-up (float
# rounding of the same instant computed at another time), not a new one.
HIT_SLACK_S = 1e-6


@dataclass(frozen=True)
class CapHit:
    """An allocation refused: by the container's job object or by the node."""

    key: Hashable
    time: float
    by: str  # "job" or "node"
    committed: float  # the container's commit when it was refused


@dataclass(slots=True)
class _Commit:
    base: float
    growth: float
    limit: float | None
    degrade: bool
    since: float  # time `base` was measured
    spike: float = 0.0
    overhead: float = 0.0  # committed for the container outside its job (node only)
    at_cap: bool = False
    failed: simpy.Event | None = field(default=None, repr=False)

    def value(self, now: float) -> float:
        """What the job object accounts (its statistics, its limit): overhead excluded."""
        return self.base + self.growth * (now - self.since) + self.spike

    def rebase(self, now: float) -> None:
        self.base += self.growth * (now - self.since)
        self.since = now


class CommitLedger:
    """Every running container's committed bytes, with job caps and the node limit."""

    def __init__(
        self,
        env: simpy.Environment,
        commit_limit: float,
        system_commit: float = 0.0,
        on_change: Callable[[float, float], None] | None = None,
        on_failure: Callable[[CapHit], None] | None = None,
    ) -> None:
        self.env = env
        self.commit_limit = commit_limit
        self.system_commit = system_commit
        self._on_change = on_change
        self._on_failure = on_failure
        self._items: dict[Hashable, _Commit] = {}
        # The containers whose commit grows (few: leaks), in the order of ``_items``: only
        # they can meet a cap, so only they are looked at when the next hit is computed.
        self._growers: dict[Hashable, _Commit] = {}
        self._slope = 0.0  # sum of the growers' growth, summed afresh when they change
        # The wake-up set for the next refusal: (time, whose, "job" or "node"; whose is
        # None for the node: every grower is refused). A change
        # that leaves the next refusal where it was keeps it instead of setting another.
        self._pending: tuple[float, Hashable, str] | None = None
        self._generation = 0
        # The node's commit is system + _a + _g * now: kept as sums so that a change
        # costs O(1), not a pass over every container.
        self._a = 0.0
        self._g = 0.0

    def _set_base(self, c: _Commit, base: float) -> None:
        self._enter(c, -1)
        c.base = base
        c.since = self.env.now
        self._enter(c, 1)

    def _enter(self, c: _Commit, sign: float) -> None:
        self._a += sign * (c.base - c.growth * c.since + c.spike + c.overhead)
        self._g += sign * c.growth

    # -- queries -------------------------------------------------------------------------------

    def committed(self, key: Hashable | None = None) -> float:
        """Bytes committed now: one container's as its job accounts it, or the node's
        (system commit and containers' overheads included)."""
        now = self.env.now
        if key is not None:
            return self._items[key].value(now)
        if not self._items:
            self._a = self._g = 0.0  # drop rounding residue whenever the node is empty
        return self.system_commit + self._a + self._g * now

    def slope(self) -> float:
        """Bytes per second the node's commit grows by right now (summed exactly, no residue)."""
        return self._slope

    def _growers_changed(self) -> None:
        growers = self._growers
        self._slope = sum(c.growth for c in growers.values())

    def _stop_growing(self, key: Hashable) -> None:
        if self._growers.pop(key, None) is not None:
            self._growers_changed()

    def touch(self) -> None:
        """Report the current commit to the observer (e.g. at the end of a run)."""
        if self._on_change:
            self._on_change(self.committed(), self.slope())

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    # -- changes -------------------------------------------------------------------------------

    def add(
        self,
        key: Hashable,
        base: float,
        growth: float = 0.0,
        limit: float | None = None,
        *,
        degrade: bool = False,
        overhead: float = 0.0,
    ) -> simpy.Event:
        """A container starts with ``base`` committed in its job and ``overhead`` committed
        for it outside the job; the event fires on a crash-mode refusal."""
        if key in self._items:
            raise ValueError(f"{key!r} already committed")
        c = _Commit(
            base=float(base),
            growth=float(growth),
            limit=limit,
            degrade=degrade,
            since=self.env.now,
            overhead=float(overhead),
            failed=Event(self.env),
        )
        self._items[key] = c
        if c.growth > 0:
            self._growers[key] = c
            self._growers_changed()
        self._enter(c, 1)
        # A start past a cap fails that allocation: the process holds what it got.
        now = self.env.now
        if limit is not None and c.value(now) > limit + EPS_BYTES:
            self._set_base(c, limit - c.spike)
            self._refuse(key, "job")
        elif self.committed() > self.commit_limit + EPS_BYTES:
            refused = self.committed() - self.commit_limit
            self._set_base(c, max(0.0, c.base - refused))
            self._refuse(key, "node")
        self._reschedule()
        return c.failed  # type: ignore[return-value]

    def spike(self, key: Hashable, size: float) -> bool:
        """Try to commit ``size`` more bytes at once; False when refused."""
        c = self._items[key]
        now = self.env.now
        over_job = c.limit is not None and c.value(now) + size > c.limit + EPS_BYTES
        over_node = self.committed() + size > self.commit_limit + EPS_BYTES
        if over_job or over_node:
            self._refuse(key, "job" if over_job else "node")
            self._reschedule()
            return False
        self._enter(c, -1)
        c.spike += size
        self._enter(c, 1)
        self._reschedule()
        return True

    def unspike(self, key: Hashable, size: float) -> None:
        c = self._items.get(key)
        if c is not None:
            self._enter(c, -1)
            c.spike = max(0.0, c.spike - size)
            self._enter(c, 1)
            self._reschedule()

    def remove(self, key: Hashable) -> None:
        """The container's processes are gone: its commit is released."""
        c = self._items.pop(key, None)
        if c is not None:
            self._enter(c, -1)
            self._stop_growing(key)
        self._reschedule()

    # -- the next cap ----------------------------------------------------------------------------

    def _refuse(self, key: Hashable, by: str) -> None:
        c = self._items[key]
        now = self.env.now
        hit = CapHit(key=key, time=now, by=by, committed=c.value(now))
        if self._on_failure:
            self._on_failure(hit)
        if c.degrade:
            # The process carries on at what it has; its growth is refused from now on.
            self._enter(c, -1)
            c.rebase(now)
            if by == "job" and c.limit is not None:
                c.base = min(c.base, c.limit - c.spike)
            c.growth = 0.0
            c.at_cap = True
            self._enter(c, 1)
            self._stop_growing(key)
        else:
            # The process exits on the refusal: it allocates no more while it goes, so no
            # second refusal can be scheduled for it (a start past the cap with a leak).
            self._enter(c, -1)
            c.rebase(now)
            c.growth = 0.0
            self._enter(c, 1)
            self._stop_growing(key)
            if c.failed is not None and not c.failed.triggered:
                c.failed.succeed(hit)

    def _next_hit(self, committed: float, slope: float) -> tuple[float, Hashable | None, str]:
        """(seconds until, whose, "job" or "node") of the next refusal; (inf, None, "") if none."""
        now = self.env.now
        best: tuple[float, Hashable | None, str] = (math.inf, None, "")
        for key, c in self._growers.items():
            if c.limit is not None and not c.at_cap:
                dt = max(0.0, (c.limit - c.value(now)) / c.growth)
                if dt < best[0]:
                    best = (dt, key, "job")
        if slope > 0:
            dt = max(0.0, (self.commit_limit - committed) / slope)
            if dt < best[0]:
                best = (dt, None, "node")  # every grower is refused
        return best

    def _reschedule(self) -> None:
        """Set the wake-up for the next refusal (the node's is keyed None: every grower)."""
        committed = self.committed()
        slope = self._slope
        if self._on_change:
            self._on_change(committed, slope)
        if not self._growers:
            self._cancel()  # nothing grows: no cap can be met
            return
        dt, key, by = self._next_hit(committed, slope)
        if not by:
            self._cancel()
            return
        at = self.env.now + dt
        pending = self._pending
        if (
            pending is not None
            and pending[1] == key
            and pending[2] == by
            and abs(pending[0] - at) <= HIT_SLACK_S
        ):
            return  # the wake-up already set is still the next refusal
        self._generation += 1
        gen = self._generation
        self._pending = (at, key, by)
        Timeout(self.env, dt).callbacks.append(lambda _e: self._fire(gen, key, by))

    def _cancel(self) -> None:
        """No refusal ahead: the wake-up set, if any, goes stale."""
        if self._pending is not None:
            self._generation += 1
            self._pending = None

    def _fire(self, gen: int, key: Hashable | None, by: str) -> None:
        if gen != self._generation or (key is not None and key not in self._items):
            return
        self._pending = None
        if key is None:
            # The node's commit limit is met: every process allocating now is refused, in
            # the order the containers started (each counted against itself).
            for k in list(self._growers):
                c = self._items[k]
                self._enter(c, -1)
                c.rebase(self.env.now)
                self._enter(c, 1)
                self._refuse(k, "node")
            self._reschedule()
            return
        c = self._items[key]
        self._enter(c, -1)
        c.rebase(self.env.now)
        if by == "job" and c.limit is not None:
            c.base = c.limit - c.spike  # exact: no drift past the cap
        self._enter(c, 1)
        self._refuse(key, by)
        self._reschedule()
