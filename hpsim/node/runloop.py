"""The model's run loop: simpy's ``Environment.run(until)``, watching for a stuck clock.

A zero-time loop (a controller that replaces, at the same instant, pods that
live 0 s) processes events forever without simulated time passing: simpy's
own ``run`` never returns and memory grows. This loop is simpy 4.1's
``Environment.run`` for a number ``until`` (a stop event at ``until`` that
comes first at its instant, so events at ``until`` itself are left
unprocessed, as simpy does), except that it looks at the clock once every ``CHECK_EVERY``
events and hands over to ``stuck`` once more than ``limit`` events have gone
by at one instant.

Looking once per batch costs nothing measurable: the inner loop is a local
``step`` call in a ``for`` over a range, no dearer than simpy's own ``while
True: self.step()`` (bench_core.py's cost_per_pod is the same within its
noise, see the commit that introduced this module). The loop counts the events
it processes (benchmarks read them: ``Cluster.events_processed``).

simpy's ``step`` is called, not copied into the loop: a copy showed no gain in
instructions beyond callgrind's run-to-run spread here (about 2% on
benchmarks/month.yaml's first 3 days), in pure Python or compiled.
"""

from __future__ import annotations

from collections.abc import Callable

import simpy
from simpy.events import Event

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
    step = env.step
    batch = range(every)
    instant, seen, processed = env.now, 0, 0
    i = -1  # the events of the batch under way processed, less one
    try:
        while True:
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


class _Stopped(Exception):
    """The run reached ``until``."""


def _stop(_event: Event) -> None:
    raise _Stopped
