"""CPU: processor sharing among running containers, each under its job's rate cap.

A Kubernetes CPU limit becomes a job object CPU rate *hard cap*: rate =
10000 * limit.MilliValue() / numCPU / 1000, clamped to [1, 10000], in 1/100 of
a percent of the whole host (k/k pkg/kubelet/kuberuntime/
kuberuntime_container_windows.go; hcsshim internal/jobobject/limits.go
JOB_OBJECT_CPU_RATE_CONTROL_HARD_CAP, ref §1.4). Kubelet sets no weight, so
below their caps containers share the machine equally: max-min fair
(water-filling) allocation of the node's capacity, each container bounded by
min(demand, cap).

Rates are recomputed only when the set of running containers changes; the
next work completion is then one timeout, guarded by a generation counter.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import simpy

DONE_EPS = 1e-9  # CPU-seconds: less than this left counts as finished


def job_rate_to_millicores(rate: int, node_cpus: int) -> float:
    """A job CPU rate (1/100 % of the host) as millicores."""
    return rate / 10000 * node_cpus * 1000


def water_fill(capacity: float, bounds: Sequence[float]) -> list[float]:
    """Max-min fair shares of ``capacity`` with each share at most its bound."""
    shares = [0.0] * len(bounds)
    left = capacity
    order = sorted(range(len(bounds)), key=lambda i: bounds[i])
    for pos, i in enumerate(order):
        fair = left / (len(order) - pos)
        shares[i] = min(bounds[i], fair)
        left -= shares[i]
    return shares


@dataclass
class _Item:
    bound: float
    work: float | None  # CPU-seconds left, None when not work-bound
    done: simpy.Event | None
    rate: float = 0.0
    consumed: float = 0.0


class ProcessorSharing:
    """The node's CPU shared among running containers."""

    def __init__(
        self,
        env: simpy.Environment,
        capacity_millicores: float,
        on_change: Callable[[float], None] | None = None,
    ) -> None:
        self.env = env
        self.capacity = capacity_millicores
        self._on_change = on_change
        self._items: dict[Hashable, _Item] = {}
        self._since = env.now
        self._generation = 0

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    @property
    def running(self) -> int:
        return len(self._items)

    @property
    def total_allocated(self) -> float:
        return sum(i.rate for i in self._items.values())

    def allocation(self, key: Hashable) -> float:
        return self._items[key].rate

    def consumed(self, key: Hashable) -> float:
        self._advance()
        return self._items[key].consumed

    def add(
        self,
        key: Hashable,
        demand_m: float,
        cap_m: float | None = None,
        work_cpu_s: float | None = None,
    ) -> simpy.Event | None:
        """A container starts wanting ``demand_m``; the event fires when its work is done."""
        if key in self._items:
            raise ValueError(f"{key!r} is already running")
        self._advance()
        if demand_m <= 0 and work_cpu_s is not None:
            demand_m = self.capacity  # a CPU-bound job takes what it can get
        bound = min(demand_m, cap_m) if cap_m is not None else demand_m
        done = self.env.event() if work_cpu_s is not None else None
        self._items[key] = _Item(bound=max(0.0, bound), work=work_cpu_s, done=done)
        self._reallocate()
        return done

    def remove(self, key: Hashable) -> float:
        """The container stops; returns the CPU-seconds it consumed."""
        self._advance()
        item = self._items.pop(key)
        self._reallocate()
        return item.consumed

    def _advance(self) -> None:
        dt = self.env.now - self._since
        if dt > 0:
            for item in self._items.values():
                used = item.rate / 1000 * dt
                item.consumed += used
                if item.work is not None:
                    item.work -= used
        self._since = self.env.now

    def _reallocate(self) -> None:
        # Finish every item whose work is done, in insertion order, before sharing again.
        finished = [k for k, i in self._items.items() if i.work is not None and i.work <= DONE_EPS]
        for k in finished:
            item = self._items.pop(k)
            assert item.done is not None
            item.done.succeed(self.env.now)
        keys = list(self._items)
        shares = water_fill(self.capacity, [self._items[k].bound for k in keys])
        for k, share in zip(keys, shares, strict=True):
            self._items[k].rate = share
        self._generation += 1
        if self._on_change:
            self._on_change(self.total_allocated)
        pending = [
            (i.work / (i.rate / 1000), k)
            for k, i in self._items.items()
            if i.work is not None and i.rate > 0
        ]
        if pending:
            next_dt = min(dt for dt, _k in pending)
            # Items due first are finished when the timeout fires, whatever float
            # rounding left: a residue would schedule timeouts that never move the clock.
            due = [k for dt, k in pending if dt == next_dt]
            gen = self._generation
            self.env.timeout(max(0.0, next_dt)).callbacks.append(lambda _e: self._tick(gen, due))

    def _tick(self, generation: int, due: list[Hashable]) -> None:
        if generation != self._generation:
            return
        self._advance()
        for k in due:
            item = self._items[k]
            item.consumed += max(0.0, item.work or 0.0)
            item.work = 0.0
        self._reallocate()
