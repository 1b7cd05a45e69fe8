"""The model's run loop: simpy's ``Environment.run(until)``, watching for a stuck clock.

A zero-time loop (a controller that replaces, at the same instant, pods that
live 0 s) processes events forever without simulated time passing: simpy's
own ``run`` never returns and memory grows. This loop is simpy 4.1's
``Environment.run`` for a number ``until`` (a stop event at ``until`` that
comes first at its instant, so events at ``until`` itself are left
unprocessed, as simpy does), except that it looks at the clock once every ``CHECK_EVERY``
events and hands over to ``stuck`` once more than ``limit`` events have gone
by at one instant.

Looking once per batch costs nothing measurable: the inner loop is a ``for``
over a range, no dearer than simpy's own ``while True: self.step()``
(bench_core.py's cost_per_pod is the same within its noise, see the commit
that introduced this module).

The loop processes each event itself, as simpy 4.1's ``Environment.step``
(simpy/core.py) does, line for line, rather than calling ``env.step`` once an
event. Compiled (hpsim.native), that call was 2.5% of the instructions of
benchmarks/month.yaml's first 3 days (callgrind: 1,155M -> 1,126M); in pure
Python the two are the same. An environment whose class replaces ``step`` (one
that counts the events, in the tests) gets its own ``step`` called instead.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop
from typing import Any

import simpy
from simpy.core import EmptySchedule, StopSimulation
from simpy.events import Event, EventPriority

from hpsim.node.clock import STOP_PRIORITY

# Events between two looks at the clock: a zero-time loop is caught within
# ``limit + CHECK_EVERY`` events. Our choice: small against any useful limit, large
# enough that one comparison per batch is lost in the cost of the batch.
CHECK_EVERY = 10_000


def run_watched(
    env: simpy.Environment,
    until: float,
    *,
    limit: int,
    stuck: Callable[[float, int], None],
    every: int = CHECK_EVERY,
) -> int:
    """Process events until simulated time reaches ``until``; call ``stuck(now, events)``
    (which is expected to raise) once more than ``limit`` events were processed without
    simulated time passing. Returns how many events were processed (the stop at
    ``until`` included)."""
    if until <= env.now:
        raise ValueError(f"until ({until}) must be greater than the current simulation time")
    # As simpy's Environment.run builds its stop event (simpy/core.py): already ok; first at
    # its instant, before kubelet's ticks too (hpsim.node.clock).
    stop = Event(env)
    stop._ok = True
    stop._value = None
    env.schedule(stop, STOP_PRIORITY, until - env.now)
    # Not simpy's StopSimulation: simpy catches that one and schedules the stop event again
    # (Environment.step), which would leave an empty event at ``until`` after every slice,
    # and a caller advancing in slices could not see past it to the next real event.
    stop.callbacks.append(_stop)
    batch = range(every)
    instant, seen, processed = env.now, 0, 0
    queue: list[Any] = env._queue  # (time, priority, id, event), a heap
    own_step = type(env).step is _SIMPY_STEP
    i = -1  # the events of the batch under way processed, less one
    try:
        while True:
            if own_step:
                for i in batch:  # noqa: B007 (read when the stop comes mid-batch)
                    # simpy 4.1's Environment.step (simpy/core.py), line for line.
                    try:
                        entry = heappop(queue)
                    except IndexError:
                        raise EmptySchedule from None
                    env._now = entry[0]
                    event: Any = entry[3]
                    callbacks = event.callbacks
                    event.callbacks = None  # processed: no callback can be added any more
                    try:
                        for callback in callbacks:
                            callback(event)
                    except StopSimulation:
                        # As simpy: the callbacks left run when the simulation resumes.
                        event.callbacks = callbacks[callbacks.index(callback) + 1 :]
                        env.schedule(event, EventPriority(-1))
                        raise
                    if not event._ok and not hasattr(event, "_defused"):
                        # A failed event nobody defused: the run crashes with a copy of its
                        # error.
                        exc = type(event._value)(*event._value.args)
                        exc.__cause__ = event._value
                        raise exc
            else:
                step = env.step
                for i in batch:  # noqa: B007 (read when the stop comes mid-batch)
                    step()
            processed += every
            i = -1
            if env.now != instant:
                instant, seen = env.now, 0
                continue
            seen += every
            if seen > limit:
                stuck(instant, seen)
    except _Stopped:
        return processed + i + 1


_SIMPY_STEP = simpy.Environment.step


class _Stopped(Exception):
    """The run reached ``until``."""


def _stop(_event: Event) -> None:
    raise _Stopped
