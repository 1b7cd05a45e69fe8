"""first_of and all_done fire at the instants, and in the order, simpy's AnyOf and AllOf do."""

from __future__ import annotations

import gc
import weakref

import simpy
from simhelp import pod, scenario

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


def test_a_wait_is_freed_by_reference_counting_alone() -> None:
    # The run pauses the cyclic collector: a wait in a reference cycle would stay until
    # the run ended (a closure that unhooked itself did, 800,000 objects in a long pool run).
    env = simpy.Environment()
    a, b = env.timeout(1), env.timeout(2)
    done = first_of(env, (a, b))
    watched = weakref.ref(done)
    gc.disable()
    try:
        env.run()
        del done, a, b
        assert watched() is None
    finally:
        gc.enable()


def test_a_run_leaves_no_cyclic_garbage_however_many_pods() -> None:
    # What the cyclic collector finds unreachable while a run is under way (the model
    # alive) does not grow with the pods: no wait, pod or container is kept by a cycle.
    from hpsim.cluster.cluster import Cluster
    from hpsim.observe.recorder import Recorder
    from hpsim.scenario.load import load_data

    def garbage(replicas: int) -> int:
        manifest = pod("web", kind="Deployment", requests={"cpu": "100m"})
        manifest["spec"]["replicas"] = replicas
        data = scenario(
            [{"manifest": manifest, "lifetime": {"exponential": {"mean": "10m"}}}],
            [{"name": "test/app:1", "layers": [{"size": "10Mi"}]}],
            duration="6h",
        )
        cluster = Cluster(load_data(data), seed=1, emit=Recorder())
        gc.collect()
        gc.disable()  # as the run pauses it (hpsim.gcpause)
        try:
            cluster.start()
            cluster.advance(6 * 3600.0)
            return gc.collect()
        finally:
            gc.enable()

    few, many = garbage(2), garbage(8)
    assert few == many
