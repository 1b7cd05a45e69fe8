"""Waiting on several events: simpy's AnyOf and AllOf without their bookkeeping.

A pod worker waits on "this event, unless the pod is deleted first" several
times per container start; simpy's Condition builds a ConditionValue and
unhooks its callbacks each time, which costs more than the event itself. These
fire at the same instants and in the same order (the result is scheduled when
the deciding event is processed, as Condition does) but carry no value beyond
the event that decided.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import cast

import simpy
from simpy.events import Event


def callbacks_of(event: simpy.Event) -> list[Callable[[simpy.Event], None]] | None:
    """``event``'s callbacks, or None once it is processed.

    simpy annotates ``Event.callbacks`` as a list and sets it to None when the event is
    processed (simpy/core.py ``Environment.step``); read through ``getattr`` so that code
    compiled with mypyc (hpsim.native), which checks an attribute against its annotation
    as it reads it, sees the None.
    """
    return getattr(event, "callbacks")  # noqa: B009 (untyped read, see the docstring)


def first_of(env: simpy.Environment, events: Sequence[simpy.Event]) -> simpy.Event:
    """An event that succeeds with the first of ``events`` to be processed (fails if it failed)."""
    done = Event(env)
    fire = _FirstOf(done, events)
    for event in events:
        callbacks = callbacks_of(event)
        if callbacks is None:  # already processed: decides at once
            fire(event)
            break
        callbacks.append(fire)
    return done


class _FirstOf:
    """:func:`first_of`'s callback on each of its events.

    An object rather than a closure: a closure that unhooks itself refers to itself
    (through its own cell), a reference cycle that only the cyclic collector frees, and
    the run pauses that collector (hpsim.gcpause). Every wait of a run then stayed, with
    its events, until the run ended: on a 20-node pool's first 12 days
    (benchmarks/bench_pool.py) 800,000 objects and 80 MiB, and the cost per pod grew by a
    fifth over the run (208 at day 4, 252 at day 12; 218 at day 12 without the cycle).
    """

    __slots__ = ("done", "events")

    def __init__(self, done: simpy.Event, events: Sequence[simpy.Event]) -> None:
        self.done = done
        self.events = events

    def __call__(self, event: simpy.Event) -> None:
        done = self.done
        if done.triggered:
            return
        if event.ok:
            done.succeed(event)
        else:
            event.defused = True
            done.fail(cast(Exception, event.value))  # a failed event's value is its exception
        # Unhook from the events still pending, as Condition does: a pod's delete event
        # would otherwise gather one callback per wait of every restart.
        for other in self.events:
            hooked = callbacks_of(other)
            if hooked:
                with contextlib.suppress(ValueError):  # not hooked: decided before it
                    hooked.remove(self)


def all_done(env: simpy.Environment, events: Sequence[simpy.Event]) -> simpy.Event:
    """An event that succeeds once every one of ``events`` is processed (fails with the first
    that fails)."""
    done = Event(env)
    left = len(events)

    def fire(event: simpy.Event) -> None:
        nonlocal left
        if done.triggered:
            return
        if not event.ok:
            event.defused = True
            done.fail(cast(Exception, event.value))  # a failed event's value is its exception
            return
        left -= 1
        if left == 0:
            done.succeed()

    if not events:
        done.succeed()
    for event in events:
        callbacks = callbacks_of(event)
        if callbacks is None:
            fire(event)
        else:
            callbacks.append(fire)
    return done
