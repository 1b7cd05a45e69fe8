"""kubelet's periodic loops: the grid, the order at one instant, and skipping exactly.

Eviction checks (every 10 s), image GC passes (every 5 min) and container GC
passes (every minute) are taken only when they can act (hpsim.node.clock). The
contract: a run gives the same tables, bit for bit, as one that takes every
tick; and a run costs what happens in it, not how much simulated time it covers.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import simpy
from hypothesis import example, given, settings
from hypothesis import strategies as st
from simhelp import CountingEnvironment, node, pod, pure_python_only, scenario

import hpsim
from hpsim.cluster.cluster import Cluster
from hpsim.experiment.examples import shipped_scenarios
from hpsim.node.clock import (
    CONTAINER_GC_TICK_PRIORITY,
    EVICTION_TICK_PRIORITY,
    GC_TICK_PRIORITY,
    Grid,
    Tick,
)
from hpsim.node.containergc import ContainerGC
from hpsim.node.eviction import EvictionManager
from hpsim.node.imagegc import ImageGC
from hpsim.node.runloop import run_watched
from hpsim.observe.recorder import Recorder
from hpsim.observe.results import tables_from_records
from hpsim.scenario.load import load, load_data

APP = {"name": "test/app:1", "layers": [{"size": 0, "unpacked": 0}]}


def _take_every_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference: every eviction check and every GC pass taken, none skipped."""
    monkeypatch.setattr(EvictionManager, "_threshold_time", lambda self, now: now)
    monkeypatch.setattr(ImageGC, "_next_pass", lambda self, k: k + 1)
    monkeypatch.setattr(ContainerGC, "_next_pass", lambda self, k: k + 1)


def _tables(loaded: Any, env: simpy.Environment | None = None) -> dict[str, pd.DataFrame]:
    rec = Recorder()
    Cluster(loaded, loaded.scenario.seed, rec, env=env).run()
    tables = tables_from_records(rec)
    tables["gc_runs"] = pd.DataFrame({"runs": [rec.gc_runs]})
    return tables


# -- the grid ----------------------------------------------------------------------------------


def test_grid_indexes_hand_checked() -> None:
    g = Grid(0.0, 10.0)
    assert (g.after(0.0), g.after(9.99), g.after(10.0), g.after(10.01)) == (1, 1, 2, 2)
    assert (g.from_(0.0), g.from_(10.0), g.from_(10.01)) == (1, 1, 2)
    assert (g.last_before(10.0), g.last_before(10.5), g.last_before(3.0)) == (0, 1, 0)
    shifted = Grid(0.1, 10.0)
    assert shifted.at(3) == 30.1
    assert (shifted.after(30.1), shifted.from_(30.1), shifted.last_before(30.1)) == (4, 3, 2)


@settings(max_examples=200, deadline=None)
@given(
    origin=st.floats(0, 1e6, allow_nan=False),
    period=st.sampled_from([10.0, 300.0, 0.7]),
    t=st.floats(0, 1e9, allow_nan=False),
)
def test_grid_after_is_the_first_tick_past_t(origin: float, period: float, t: float) -> None:
    g = Grid(origin, period)
    k = g.after(t)
    assert g.at(k) > t
    assert k == 1 or g.at(k - 1) <= t
    f = g.from_(t)
    assert g.at(f) >= t and (f == 1 or g.at(f - 1) < t)


@settings(max_examples=300, deadline=None)
@given(a=st.floats(0, 1e12, allow_nan=False), b=st.floats(0, 1e12, allow_nan=False))
@example(a=0.51, b=2.9)  # 0.51 + (2.9 - 0.51) == 2.8999999999999995: the tick hops
def test_a_tick_fires_at_its_instant_exactly(a: float, b: float) -> None:
    now, at = sorted((a, b))
    env = simpy.Environment(initial_time=now)
    fired: list[float] = []
    Tick(env, at, EVICTION_TICK_PRIORITY).callbacks.append(lambda _e: fired.append(env.now))
    env.run()
    assert fired == [at]


def test_order_at_one_instant_stop_then_gc_then_eviction_then_the_rest() -> None:
    """Scheduled in the opposite order (a plain timeout first, image GC's tick last), the
    events at t=10 still run image GC, eviction, container GC, then the timeout and a
    process started at 10 by the timeout; a run until 10 runs none of them."""
    env = simpy.Environment()
    seen: list[str] = []

    def started() -> Any:
        seen.append("process")
        yield env.timeout(0)

    def normal(_e: Any) -> None:
        seen.append("normal")
        env.process(started())

    env.timeout(10).callbacks.append(normal)
    env.run(until=1)
    Tick(env, 10.0, CONTAINER_GC_TICK_PRIORITY).callbacks.append(
        lambda _e: seen.append("container-gc")
    )
    Tick(env, 10.0, EVICTION_TICK_PRIORITY).callbacks.append(lambda _e: seen.append("eviction"))
    env.run(until=2)
    Tick(env, 10.0, GC_TICK_PRIORITY).callbacks.append(lambda _e: seen.append("gc"))
    run_watched(env, 10.0, limit=1000, stuck=lambda *_: None)
    assert seen == []
    run_watched(env, 11.0, limit=1000, stuck=lambda *_: None)
    assert seen == ["gc", "eviction", "container-gc", "normal", "process"]


# -- skipping is exact ----------------------------------------------------------------------------


def _gc_and_pressure() -> dict[str, Any]:
    """Images aging out (imageMaximumGCAge 20m) and a disk that fills: GC passes that act,
    GC that sleeps, eviction checks that find nodefs.available met."""
    images = [
        APP,
        {"name": "test/a:1", "layers": [{"size": "1Gi", "unpacked": "2Gi"}]},
        {"name": "test/b:1", "layers": [{"size": "1Gi", "unpacked": "2Gi"}]},
    ]
    short = pod("short", "test/a:1", restart="Never")
    writer = pod("writer", "test/b:1", host_process=True, kind="DaemonSet")
    return scenario(
        [
            {"manifest": short, "profile": {"work": "7m"}},
            {"manifest": writer, "profile": {"hostWrites": "20Gi/h", "memory": "1Gi"}},
            {
                "manifest": pod("churn", kind="Deployment", replicas=2),
                "lifetime": {"exponential": {"mean": "13m"}},
                "profile": {"memory": {"normal": {"mean": "2Gi", "sd": "1Gi"}}},
            },
        ],
        images,
        duration="8h",
        node=node(disk="128Gi", kubelet={"imageMaximumGCAge": "20m"}),
        namespaces={"default": "privileged"},
    )


def _dead_containers() -> dict[str, Any]:
    """Pods that run to completion and are deleted later (container GC removes their
    containers at the next minute), beside a crash-looping writer (the deletor) and a
    disk that fills (eviction's reclaim removes dead containers)."""
    done = pod("done", restart="Never")
    crash = pod("crash", kind="Deployment", replicas=2)
    return scenario(
        [
            {
                "manifest": done,
                "arrivals": {"poisson": "40/h"},
                "lifetime": {"exponential": {"mean": "3m"}},
                "profile": {"runFor": "50s", "rootfsWrites": "20Mi/s", "logRate": "1Mi/s"},
            },
            {
                "manifest": crash,
                "profile": {"runFor": "90s", "exitCode": 1, "rootfsWrites": "60Mi/s"},
            },
        ],
        [APP],
        duration="6h",
        node=node(disk="40Gi", osDiskUsage="20Gi"),
    )


def _storage_limits() -> dict[str, Any]:
    """Pods with ephemeral-storage limits that some pass (evicted at the check after) and
    some do not, on a version that enforces no node threshold (1.29): the checks are taken
    for the limits alone."""
    web = pod("web", kind="Deployment", replicas=3, limits={"ephemeral-storage": "2Gi"})
    loop = pod("loop", kind="Deployment", replicas=1, limits={"ephemeral-storage": "150Mi"})
    return scenario(
        [
            {
                "manifest": web,
                "lifetime": {"exponential": {"mean": "20m"}},
                "profile": {"rootfsWrites": "2Mi/s", "logRate": "100Ki/s"},
            },
            {
                "manifest": loop,
                "profile": {
                    "runFor": "70s",
                    "exitCode": 1,
                    "rootfsWrites": "1Mi/s",
                    "logRate": "1Mi/s",
                },
            },
        ],
        [APP],
        duration="8h",
        node=node(kubernetes="1.29"),
    )


CASES = [*shipped_scenarios(), "gc-and-pressure", "dead-containers", "storage-limits"]
_BUILT = {
    "gc-and-pressure": _gc_and_pressure,
    "dead-containers": _dead_containers,
    "storage-limits": _storage_limits,
}


@pytest.mark.parametrize("case", CASES, ids=lambda c: Path(c).stem)
def test_skipping_ticks_gives_the_tables_of_taking_every_tick(case: Any, monkeypatch) -> None:
    loaded = load_data(_BUILT[case]()) if case in _BUILT else load(case)
    skipped = _tables(loaded)
    _take_every_tick(monkeypatch)
    every = _tables(loaded)
    assert skipped.keys() == every.keys()
    for name in every:
        pd.testing.assert_frame_equal(skipped[name], every[name], check_exact=True, obj=name)


def test_the_pressure_case_exercises_what_it_claims() -> None:
    tables = _tables(load_data(_gc_and_pressure()))
    reasons = set(tables["events"]["reason"])
    assert {"EvictionThresholdMet", "ImageGCDeleted"} <= reasons
    assert "age" in set(tables["gc"]["reason"])


def test_the_storage_limits_case_exercises_what_it_claims() -> None:
    tables = _tables(load_data(_storage_limits()))
    evicted = tables["events"][tables["events"]["reason"] == "Evicted"]
    assert set(evicted["message"].str[:9]) == {"Pod ephem"}
    assert {"web", "loop"} <= set(evicted["object"].str.split("-").str[0])
    assert len(evicted) > 10


def test_the_dead_containers_case_exercises_what_it_claims() -> None:
    """Dead containers removed at a container GC pass (a whole minute), by the deletor
    (when a crash-looping instance dies) and at an eviction's reclaim."""
    tables = _tables(load_data(_dead_containers()))
    w = tables["writes"]
    scratch = w[(w["owner"] == "scratch") & w["released_s"].notna()]
    done = scratch[scratch["workload"] == "done"]
    assert (done["released_s"] % 60 == 0).sum() > 10
    assert len(scratch[scratch["workload"] == "crash"]) > 10
    assert "EvictionThresholdMet" in set(tables["events"]["reason"])


# -- a run costs what happens in it -----------------------------------------------------------


def _idle(duration: str, **profile: Any) -> dict[str, Any]:
    """One HostProcess DaemonSet pod, running for the whole run, and nothing else."""
    ds = pod("agent", host_process=True, kind="DaemonSet")
    return scenario(
        [{"manifest": ds, "profile": {"memory": "100Mi", **profile}}],
        [APP],
        duration=duration,
        namespaces={"default": "privileged"},
    )


def test_a_million_idle_days_cost_what_one_does() -> None:
    """1,000,000 days of one pod that changes nothing: the events processed are those of
    its start, not 8.6 billion eviction checks and 288 million GC passes, and the GC passes
    are all counted: one every 300 s before the end, 86,400 * 10**6 / 300 - 1 of them."""
    env = CountingEnvironment()
    rec = Recorder()
    Cluster(load_data(_idle("1000000d")), 0, rec, env=env).run()
    assert rec.gc_runs == 86_400 * 10**6 // 300 - 1 == 287_999_999
    assert env.processed < 100
    short_env = CountingEnvironment()
    Cluster(load_data(_idle("1d")), 0, Recorder(), env=short_env).run()
    assert env.processed == short_env.processed


@pure_python_only
def test_a_steady_host_write_meets_eviction_at_the_first_check_past_the_crossing() -> None:
    """Disk 100Gi, osDiskUsage 20Gi, 0-byte images; nodefs.available<10% is met once the
    host writes pass 70Gi (available < 10Gi). The HostProcess pod starts writing 1Gi/h at
    t = 0.5 s (sandbox) + 0.5 s (container) = 1 s, so the threshold is met just after
    t = 1 + 70 h = 252,001 s; the first check after it is at 252,010 s. Checks taken before
    it: a look halfway each time, about log2(252,000 / 10) = 15, not 25,200."""
    data = _idle("3d", hostWrites="1Gi/h")
    data["node"] = node(disk="100Gi", osDiskUsage="20Gi")
    env = CountingEnvironment()
    rec = Recorder()
    checks: list[float] = []
    wn = Cluster(load_data(data), 0, rec, env=env)
    eviction = next(iter(wn.nodes.values())).eviction
    tick = eviction._tick

    def counted(generation: int) -> None:
        checks.append(env.now)
        tick(generation)

    eviction._tick = counted  # type: ignore[method-assign]
    wn.run()
    events = tables_from_records(rec)["events"]
    met = events[events["reason"] == "EvictionThresholdMet"]["time_s"]
    assert met.iloc[0] == 252_010.0
    before = [t for t in checks if t < 252_010.0]
    assert 10 <= len(before) <= 20
    assert math.isclose(max(before), 252_000.0) or max(before) < 252_010.0


def test_a_million_idle_days_take_few_slices_through_hpsim_run(monkeypatch) -> None:
    """hpsim.run advances the model an hour at a time to collect its garbage as it goes
    (experiment.run.run_bounded), but straight to the next event over a stretch with none:
    the idle million days take a few dozen slices, not 24 million (each of the run and its
    two unpack-sensitivity replays)."""
    slices: list[float] = []
    advance = Cluster.advance

    def counted(self: Cluster, until: float) -> None:
        slices.append(until)
        advance(self, until)

    monkeypatch.setattr(Cluster, "advance", counted)
    res = hpsim.run(load_data(_idle("1000000d")))
    assert res.summary()["image_gc_runs"] == 287_999_999
    assert 0 < len(slices) < 100
