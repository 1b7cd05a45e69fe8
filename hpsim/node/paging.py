"""Paging: when the memory processes touch exceeds RAM, their work slows down.

Windows backs commit with RAM and the pagefile; a process runs at full speed only while
the pages it touches are resident. hpsim tracks commit, not working sets, so the share of
commit that processes actually touch is a named parameter, ``NodeSpec.resident_share``
(a guess: no source gives it). Touched memory is ``resident_share * node commit``.

The slowdown form is the model's own: no source gives one. While touched memory exceeds
RAM, work proceeds at the share of its touched pages that fit in RAM,
``speed = RAM / touched`` (1 when touched <= RAM), the same for every running container:
its CPU-seconds progress at ``speed`` times its allocated rate (the rest of the time it
waits on hard page faults). ``paging_slowdown`` in the series is ``1 - speed``.

The node's commit is piecewise linear (the ledger's slope), so the speed changes
continuously while commit grows or shrinks. The speed is held constant between updates:
it is re-evaluated at every change of the ledger and, while commit moves, at the next
instant touched memory crosses RAM or, past it, changes by ``SPEED_TOLERANCE`` of itself.
Nothing is scheduled while commit is constant.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import simpy
from simpy.events import Timeout

# Relative change of touched memory (and so of the speed) between re-evaluations while
# paging. Our choice: the speed held is at most this far from the exact one, and a
# doubling of commit while paging costs ln 2 / ln 1.001 ~ 700 wake-ups.
SPEED_TOLERANCE = 1e-3


def paging_speed(ram: float, resident_share: float, committed: float) -> float:
    """The share of full speed work proceeds at: RAM / touched when touched exceeds RAM."""
    touched = resident_share * committed
    if touched <= ram:
        return 1.0
    return ram / touched


class Paging:
    """The node's paging speed, following its commit; tells ``on_speed`` of each change."""

    def __init__(
        self,
        env: simpy.Environment,
        ram: float,
        resident_share: float,
        commit: Callable[[], tuple[float, float]],
        on_speed: Callable[[float], None],
    ) -> None:
        self.env = env
        self.ram = float(ram)
        self.resident_share = float(resident_share)
        self._commit = commit  # the node's (commit, slope) now
        self._on_speed = on_speed
        self.speed = 1.0
        # The wake-up set, if any: (instant, generation). A change that needs none sooner
        # keeps it (waking early only re-evaluates), so a ledger busy with changes far
        # from RAM does not fill the event queue with wake-ups that go stale.
        self._pending: float | None = None
        self._generation = 0

    def commit_changed(self, committed: float, slope: float) -> None:
        """The ledger changed: re-evaluate the speed now and set the next wake-up."""
        speed = paging_speed(self.ram, self.resident_share, committed)
        if speed != self.speed:
            self.speed = speed
            self._on_speed(speed)
        dt = self._next_update(committed, slope)
        if dt == math.inf:
            if self._pending is not None:
                self._generation += 1  # commit is constant: the wake-up set goes stale
                self._pending = None
            return
        at = self.env.now + dt
        if self._pending is not None and self._pending <= at:
            return
        self._generation += 1
        gen = self._generation
        self._pending = at
        Timeout(self.env, dt).callbacks.append(lambda _e: self._wake(gen))

    def _wake(self, gen: int) -> None:
        if gen == self._generation:
            self._pending = None
            self.commit_changed(*self._commit())

    def _next_update(self, committed: float, slope: float) -> float:
        """Seconds until the speed should be re-evaluated; inf while commit is constant."""
        if slope == 0 or self.resident_share == 0:
            return math.inf
        now = self.env.now
        at_ram = self.ram / self.resident_share  # the commit at which paging starts
        # A step of the tolerance, and never one too small to move the clock.
        step = max(abs(committed) * SPEED_TOLERANCE / abs(slope), 2 * math.ulp(now))
        if committed < at_ram:
            if slope < 0:
                return math.inf  # shrinking below RAM: paging cannot start
            cross = (at_ram - committed) / slope
            # A crossing so close it would not move the clock is taken as reached.
            return cross if now + cross > now else step
        if slope < 0:
            # Past RAM and shrinking: a step, or the instant paging stops if sooner.
            cross = (committed - at_ram) / -slope
            if now + cross > now:
                return min(step, cross)
        return step
