"""first_of and all_done fire at the instants, and in the order, simpy's AnyOf and AllOf do."""

from __future__ import annotations

import simpy

from hpsim.node.waits import all_done, first_of


def _log_resumes(use_simpy: bool) -> list[tuple[float, str]]:
    env = simpy.Environment()
    log: list[tuple[float, str]] = []
    stop = env.event()

    def waiter(name: str, delay: float):
        t = env.timeout(delay)
        yield env.any_of([t, stop]) if use_simpy else first_of(env, (t, stop))
        log.append((env.now, f"{name} {'timeout' if t.processed else 'stop'}"))

    def group():
        ts = [env.timeout(d) for d in (1.0, 3.0, 2.0)]
        yield env.all_of(ts) if use_simpy else all_done(env, ts)
        log.append((env.now, "all"))

    def stopper():
        yield env.timeout(2.5)
        stop.succeed()

    for name, delay in (("a", 1.0), ("b", 5.0), ("c", 2.5), ("d", 1.0)):
        env.process(waiter(name, delay))
    env.process(group())
    env.process(stopper())
    env.run()
    return log


def test_same_instants_and_order_as_anyof_and_allof() -> None:
    expected = [
        (1.0, "a timeout"),
        (1.0, "d timeout"),
        (2.5, "c timeout"),  # its timeout was set at 0, before the stop at 2.5
        (2.5, "b stop"),
        (3.0, "all"),
    ]
    assert _log_resumes(use_simpy=True) == expected
    assert _log_resumes(use_simpy=False) == expected


def test_already_processed_events_decide_at_once() -> None:
    env = simpy.Environment()
    done = env.timeout(0)
    env.run()
    pending = env.event()
    assert first_of(env, (done, pending)).triggered
    assert pending.callbacks == []  # decided already: nothing hooked on the pending one
    assert all_done(env, (done,)).triggered
    assert all_done(env, ()).triggered


def test_a_failing_event_fails_the_wait() -> None:
    env = simpy.Environment()
    bad = env.event()
    caught = []

    def waiter():
        try:
            yield first_of(env, (bad, env.event()))
        except ValueError as exc:
            caught.append(str(exc))

    env.process(waiter())
    bad.fail(ValueError("refused"))
    env.run()
    assert caught == ["refused"]


def test_a_decided_wait_unhooks_from_the_events_still_pending() -> None:
    # A pod's delete event outlives every wait of every restart: it must not gather them.
    env = simpy.Environment()
    delete = env.event()

    def worker():
        for _ in range(100):
            yield first_of(env, (env.timeout(1.0), delete))

    env.process(worker())
    env.run()
    assert delete.callbacks == []
