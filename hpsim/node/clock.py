"""kubelet's periodic loops, on a grid of instants, taken only when they can act.

kubelet runs its housekeeping on Go tickers: the eviction manager every 10 s,
image GC every 5 min, container GC every minute. A tick that finds nothing to do
changes nothing, so the model takes a tick only when it can act and leaves out
the others, which makes
a run cost what happens in it rather than the length of simulated time. For
that to be exact -- the same results as taking every tick -- a tick must see
the same state whether or not the ticks before it were taken, which needs one
fixed rule for where a tick falls among the events of its instant:

- Ticks fire on the grid ``origin + k * period`` (k = 1, 2, ...), at exactly
  those instants, whenever they were scheduled (:class:`Tick`).
- A tick fires *before* the ordinary events of its instant (simpy orders the
  events of one instant by priority first): image GC at ``GC_TICK_PRIORITY``,
  then eviction at ``EVICTION_TICK_PRIORITY``, then container GC at
  ``CONTAINER_GC_TICK_PRIORITY``. So whatever happens at an instant by any other
  event happens after that instant's ticks, and a loop told of a change at ``t``
  knows every tick at or before ``t`` has been taken. Container GC comes last of
  the three because it is the one that changes the volume at its tick (image GC
  and eviction, told of that change, must already have taken theirs); it is at
  simpy's URGENT, which still comes before every event scheduled at its instant
  (an URGENT event is only ever scheduled for the instant it is scheduled at,
  after the tick was).
- The run's stop (``runloop``) comes before both: events at ``until`` stay
  unprocessed, ticks included, as simpy's own ``run`` leaves them.

The real kubelet's loops are goroutines with no order between them or against
pod workers at one instant; the order here is the model's choice, fixed so that
skipping ticks is exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import simpy
from simpy.events import URGENT, Event, EventPriority

STOP_PRIORITY = EventPriority(-3)  # the run's end, before anything else at its instant
GC_TICK_PRIORITY = EventPriority(-2)  # image GC, before eviction and every ordinary event
EVICTION_TICK_PRIORITY = EventPriority(-1)  # eviction, before container GC
# Ours: how far ahead of a threshold a loop that skips ticks takes one, against the rounding
# of the volume's and the ledger's sums (micro-bytes on a 1e11-byte volume). Taking a tick
# early is always exact: a tick that finds nothing to do changes nothing.
SLACK_BYTES = 2.0**20
CONTAINER_GC_TICK_PRIORITY = URGENT  # container GC; still before processes started at its instant


class Tick(Event):
    """A timer that fires at exactly the instant ``at``, with ``priority`` (simpy's Timeout,
    at an absolute instant and with a priority of its own).

    simpy schedules at ``now + delay``, and ``now + (at - now)`` can round off ``at``
    (0.51 + (2.9 - 0.51) is 2.8999999999999995). Then the timer first lands on a float
    just below ``at``, from where the rest of the way is exact (Sterbenz: ``at - below`` is
    exact, and so is ``below + (at - below)``). The hop comes before ``at`` and reads
    nothing, so the tick's place among the events of ``at`` is its priority's.
    """

    def __init__(self, env: simpy.Environment, at: float, priority: EventPriority) -> None:
        # As simpy's Timeout.__init__ (simpy/events.py): already ok, scheduled at once.
        self.env = env
        self.callbacks = []
        self._value = None
        self._ok = True
        now = env.now
        if at < now:
            raise ValueError(f"{at} is in the past (now {now})")
        delay = at - now
        if now + delay == at:
            env.schedule(self, priority, delay)
            return
        while now + delay >= at:
            delay = math.nextafter(delay, -math.inf)
        hop = Event(env)
        hop._ok = True
        hop._value = None
        hop.callbacks.append(lambda _e: env.schedule(self, priority, at - env.now))
        env.schedule(hop, priority, delay)


@dataclass(frozen=True)
class Grid:
    """The instants ``origin + k * period``, k = 1, 2, ...: one loop's ticks."""

    origin: float
    period: float

    def at(self, k: int) -> float:
        return self.origin + k * self.period

    def after(self, t: float) -> int:
        """The first tick strictly after ``t``."""
        k = max(1, math.floor((t - self.origin) / self.period))
        while k > 1 and self.at(k - 1) > t:
            k -= 1
        while self.at(k) <= t:
            k += 1
        return k

    def from_(self, t: float) -> int:
        """The first tick at or after ``t``."""
        k = self.after(t)
        return k - 1 if k > 1 and self.at(k - 1) == t else k

    def last_before(self, t: float) -> int:
        """The last tick strictly before ``t`` (0: none)."""
        return self.from_(t) - 1
