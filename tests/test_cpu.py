"""Processor sharing under job CPU rate caps: hand-computed cases and properties."""

from __future__ import annotations

import itertools

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from hpsim.node.cpu import DONE_EPS, ProcessorSharing, job_rate_to_millicores, water_fill

# --- job rate -> millicores ---------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "cpus", "millicores"),
    [(1250, 4, 500.0), (2500, 8, 2000.0), (10000, 2, 2000.0), (1, 4, 0.4)],
)
def test_job_rate_to_millicores(rate, cpus, millicores):
    # 500m on 4 CPUs -> rate 10000*500/4/1000 = 1250 -> back to 500m.
    assert job_rate_to_millicores(rate, cpus) == pytest.approx(millicores)


# --- water_fill -----------------------------------------------------------------


def test_water_fill_caps_the_small_and_splits_the_rest():
    # 1000 fits under the fair share 4000/3; the other two split 3000.
    assert water_fill(4000, [1000, 3000, 3000]) == [1000, 1500, 1500]


def test_water_fill_gives_bounds_when_capacity_is_larger():
    assert water_fill(10000, [1000, 3000, 500]) == [1000, 3000, 500]


def test_water_fill_equal_bounds_share_equally():
    assert water_fill(3000, [2000, 2000, 2000]) == [1000, 1000, 1000]


def test_water_fill_empty_and_zeros():
    assert water_fill(4000, []) == []
    assert water_fill(4000, [0, 0]) == [0, 0]
    assert water_fill(0, [1000, 2000]) == [0, 0]
    assert water_fill(1000, [0, 5000]) == [0, 1000]


# Millicores are never subnormal; one ulp of capacity cannot be split in two.
bounds_st = st.lists(st.floats(0, 1e5, allow_subnormal=False), max_size=12)


@given(capacity=st.floats(0, 1e5, allow_subnormal=False), bounds=bounds_st, data=st.data())
def test_water_fill_is_max_min_fair(capacity, bounds, data):
    shares = water_fill(capacity, bounds)
    assert sum(shares) <= capacity * (1 + 1e-12) + 1e-9
    assert all(0 <= s <= b for s, b in zip(shares, bounds, strict=True))
    if sum(shares) < capacity * (1 - 1e-9):
        assert shares == bounds  # spare capacity: nobody is held back
    held = [s for s, b in zip(shares, bounds, strict=True) if s < b]
    assert all(s == max(shares) for s in held)  # the held back sit at the one level
    perm = data.draw(st.permutations(range(len(bounds))))
    assert water_fill(capacity, [bounds[i] for i in perm]) == [shares[i] for i in perm]


# --- ProcessorSharing: hand-computed ------------------------------------------


def _record(ev: simpy.Event, done: dict, name: str) -> None:
    ev.callbacks.append(lambda e: done.__setitem__(name, e.value))


def test_capped_and_uncapped_share_equally_when_cap_does_not_bind():
    # 2000m. A cap 1500m, B uncapped, both CPU-bound: fair share 1000m each, so
    # A's cap never binds and 30 CPU-s takes 30 s for both.
    env = simpy.Environment()
    changes: list[float] = []
    ps = ProcessorSharing(env, 2000, on_change=changes.append)
    a = ps.add("a", 0, cap_m=1500, work_cpu_s=30)
    b = ps.add("b", 0, work_cpu_s=30)
    assert ps.allocation("a") == ps.allocation("b") == 1000
    env.run()
    assert a.value == b.value == 30
    # add, add, then both finishing at t=30 in one reallocation: no ticking.
    assert changes == [1500, 2000, 0]
    assert ps.running == 0


def test_capped_job_finishes_first_then_the_other_speeds_up():
    # 2000m. A cap 500m, work 5 CPU-s: 500m -> done at t=10.
    # B uncapped, work 30 CPU-s: 1500m until t=10 -> 15 CPU-s; 15 left at 2000m
    # -> 7.5 s more -> t=17.5.
    env = simpy.Environment()
    ps = ProcessorSharing(env, 2000)
    a = ps.add("a", 0, cap_m=500, work_cpu_s=5)
    b = ps.add("b", 0, work_cpu_s=30)
    assert (ps.allocation("a"), ps.allocation("b")) == (500, 1500)
    env.run(until=10.5)
    assert a.value == 10
    assert ps.allocation("b") == 2000
    assert ps.consumed("b") == pytest.approx(16.0)  # 15 + 2 * 0.5
    env.run()
    assert b.value == pytest.approx(17.5)


def test_late_arrival_slows_the_first():
    # 2000m. A uncapped, 20 CPU-s, alone at 2000m: 10 CPU-s by t=5.
    # B uncapped, 5 CPU-s, arrives at t=5: 1000m each, B done at t=10 while A
    # does 5 more (5 left); A alone again at 2000m -> 2.5 s -> t=12.5.
    env = simpy.Environment()
    ps = ProcessorSharing(env, 2000)
    done: dict[str, float] = {}
    _record(ps.add("a", 0, work_cpu_s=20), done, "a")

    def arrive():
        yield env.timeout(5)
        _record(ps.add("b", 0, work_cpu_s=5), done, "b")

    env.process(arrive())
    env.run()
    assert done == {"b": pytest.approx(10.0), "a": pytest.approx(12.5)}


def test_late_arrival_under_a_cap():
    # 2000m. A cap 1500m, 15 CPU-s: 7.5 CPU-s by t=5. B uncapped, 5 CPU-s from
    # t=5: 1000m each; B done at t=10, A has 2.5 left at 1500m -> t=10 + 5/3.
    env = simpy.Environment()
    ps = ProcessorSharing(env, 2000)
    a = ps.add("a", 0, cap_m=1500, work_cpu_s=15)
    env.run(until=5)
    b = ps.add("b", 0, work_cpu_s=5)
    env.run()
    assert b.value == pytest.approx(10.0)
    assert a.value == pytest.approx(10 + 5 / 3)


def test_remove_midway_returns_consumed_and_event_never_fires():
    # 2000m. A CPU-bound, 30 CPU-s; C a steady 1000m service. Both get 1000m;
    # killing A at t=4 returns 4 CPU-s. C keeps 1000m (its demand) afterwards.
    env = simpy.Environment()
    ps = ProcessorSharing(env, 2000)
    a = ps.add("a", 0, work_cpu_s=30)
    assert ps.add("c", 1000) is None
    env.run(until=4)
    assert ps.remove("a") == pytest.approx(4.0)
    assert ps.allocation("c") == 1000
    env.run(until=100)
    assert not a.triggered
    assert ps.consumed("c") == pytest.approx(100.0)
    assert ps.remove("c") == pytest.approx(100.0)
    assert ps.total_allocated == 0 and ps.running == 0


def test_demand_is_bounded_by_cap_and_zero_demand_without_work_gets_nothing():
    env = simpy.Environment()
    ps = ProcessorSharing(env, 4000)
    ps.add("svc", 3000, cap_m=800)
    ps.add("idle", 0)
    assert ps.allocation("svc") == 800
    assert ps.allocation("idle") == 0
    assert ps.total_allocated == 800


def test_work_with_stated_demand_runs_at_that_demand():
    # Demand 250m on an idle 4000m node: 1 CPU-s takes 4 s.
    env = simpy.Environment()
    ps = ProcessorSharing(env, 4000)
    ev = ps.add("a", 250, work_cpu_s=1)
    env.run()
    assert ev.value == pytest.approx(4.0)


def test_zero_work_completes_at_once():
    env = simpy.Environment(initial_time=7)
    ps = ProcessorSharing(env, 1000)
    ev = ps.add("a", 0, work_cpu_s=0)
    assert ev.triggered and ev.value == 7
    assert "a" not in ps


def test_errors():
    env = simpy.Environment()
    ps = ProcessorSharing(env, 1000)
    ps.add("a", 100)
    with pytest.raises(ValueError):
        ps.add("a", 100)
    with pytest.raises(ValueError):
        ps.add("b", 100, work_cpu_s=-1)
    with pytest.raises(KeyError):
        ps.remove("nope")
    with pytest.raises(KeyError):
        ps.allocation("nope")


def test_simultaneous_completions_in_insertion_order_before_on_change():
    # 3000m, three CPU-bound jobs of 10 CPU-s each at 1000m: all done at t=10,
    # completed in insertion order, each event triggered before on_change.
    env = simpy.Environment()
    order: list[str] = []
    events: dict[str, simpy.Event] = {}
    seen: list[bool] = []
    ps = ProcessorSharing(
        env, 3000, on_change=lambda _t: seen.append(all(e.triggered for e in events.values()))
    )
    for name in ["z", "a", "m"]:
        events[name] = ev = ps.add(name, 0, work_cpu_s=10)
        ev.callbacks.append(lambda e, n=name: order.append(n))
    env.run()
    assert order == ["z", "a", "m"]
    assert [e.value for e in events.values()] == [10, 10, 10]
    assert seen[-1] is True and len(seen) == 4


def test_stale_timeouts_are_ignored():
    # A's first timeout (t=10 alone at 2000m on 20 CPU-s) is superseded when B
    # arrives at t=1; only the changes themselves reach on_change.
    env = simpy.Environment()
    changes: list[float] = []
    ps = ProcessorSharing(env, 2000, on_change=changes.append)
    a = ps.add("a", 0, work_cpu_s=20)
    env.run(until=1)
    ps.add("b", 500)
    env.run(until=1000)
    # A: 2 CPU-s by t=1, then 1500m: 18 / 1.5 = 12 s -> t=13.
    assert a.value == pytest.approx(13.0)
    assert changes == [2000, 2000, 500]


@pytest.mark.parametrize(
    ("start", "capacity", "work", "jobs"),
    [(30 * 86400 + 0.1, 64000 / 7, 0.1, 1), (1e9 / 3, 3000.0, 1e6 / 7, 3)],
)
def test_float_residue_late_in_a_long_run_finishes_in_one_step(start, capacity, work, jobs):
    # Late in a long run the timeout for a float residue is below the clock's
    # resolution: unless due jobs are finished outright, the clock never moves.
    env = simpy.Environment(initial_time=start)
    changes: list[float] = []

    def on_change(total: float) -> None:
        changes.append(total)
        assert len(changes) <= jobs + 1, "reallocating without the set of jobs changing"

    ps = ProcessorSharing(env, capacity, on_change=on_change)
    events = [ps.add(i, 0, work_cpu_s=work) for i in range(jobs)]
    env.run()
    assert all(e.value == pytest.approx(start + work * jobs / (capacity / 1000)) for e in events)
    assert len(changes) == jobs + 1


# --- ProcessorSharing: properties ---------------------------------------------

job_st = st.tuples(
    st.one_of(st.just(0.0), st.floats(10, 5000)),  # demand
    st.one_of(st.none(), st.floats(10, 5000)),  # cap
    st.one_of(st.none(), st.floats(0, 50)),  # work
    st.floats(0, 20),  # start
    st.one_of(st.none(), st.floats(0, 60)),  # run time before a kill
)


@settings(max_examples=150, deadline=None)
@given(capacity=st.floats(500, 8000), jobs=st.lists(job_st, min_size=1, max_size=10))
def test_sharing_properties(capacity, jobs):
    env = simpy.Environment()
    bounds: dict[int, float] = {}
    snapshots: list[tuple[float, dict[int, float]]] = []
    ps: ProcessorSharing

    def on_change(total: float) -> None:
        alloc = {k: ps.allocation(k) for k in bounds if k in ps}
        assert total <= capacity * (1 + 1e-12)
        assert total == pytest.approx(sum(alloc.values()))
        for k, a in alloc.items():
            assert 0 <= a <= bounds[k] * (1 + 1e-12)
        # Max-min fair at every change, whatever came before (contention that ended
        # included): the shares are water-filling's over the jobs running now.
        fair = water_fill(capacity, [bounds[k] for k in alloc])
        assert list(alloc.values()) == pytest.approx(fair, rel=1e-9, abs=1e-9)
        snapshots.append((env.now, alloc))

    ps = ProcessorSharing(env, capacity, on_change=on_change)
    finished: dict[int, float] = {}
    killed: dict[int, float] = {}

    def life(k, demand, cap, work, start, kill_after):
        yield env.timeout(start)
        if work is not None and demand == 0:
            demand = cap if cap is not None else capacity
        bounds[k] = demand if cap is None else min(demand, cap)
        ev = ps.add(k, demand, cap, work)
        if kill_after is None and ev is None:
            kill_after = 30.0  # a service runs until it is stopped
        waits = [e for e in (ev, env.timeout(kill_after) if kill_after is not None else None) if e]
        yield env.any_of(waits)
        if ev is not None and ev.triggered:
            finished[k] = ev.value
        else:
            killed[k] = ps.remove(k)

    for k, job in enumerate(jobs):
        env.process(life(k, *job))
    env.run()
    assert ps.running == 0

    # CPU-seconds per job from the allocations reported at each change.
    used = dict.fromkeys(bounds, 0.0)
    for (t0, alloc), (t1, _next) in itertools.pairwise(snapshots):
        for k, a in alloc.items():
            used[k] += a / 1000 * (t1 - t0)

    for k, (_demand, _cap, work, start, _kill) in enumerate(jobs):
        if k in finished:
            assert used[k] == pytest.approx(work, abs=1e-6)
            fastest = min(bounds[k], capacity) / 1000
            # Less than DONE_EPS CPU-seconds left counts as done: no earlier than that.
            assert finished[k] >= start + (work - DONE_EPS) / fastest - 1e-9
        else:
            assert killed[k] == pytest.approx(used[k], abs=1e-6)
