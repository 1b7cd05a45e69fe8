"""Paging: work slows down by RAM / touched once touched memory passes RAM."""

from __future__ import annotations

import math

import pytest
import simpy
from simhelp import node, pod, run, scenario

from hpsim.node.cpu import ProcessorSharing
from hpsim.node.jobobject import CommitLedger
from hpsim.node.paging import SPEED_TOLERANCE, Paging, paging_speed

GIB = 2**30
APP = {"name": "test/app:1", "layers": [{"size": 0}]}


def test_paging_speed_is_ram_over_touched_past_ram():
    assert paging_speed(1000, 1.0, 800) == 1.0
    assert paging_speed(1000, 1.0, 1000) == 1.0
    assert paging_speed(1000, 1.0, 2000) == 0.5
    assert paging_speed(1000, 0.5, 2000) == 1.0  # half of 2000 touched: fits
    assert paging_speed(1000, 0.5, 4000) == 0.5


def _paging_job(resident_share: float):
    # RAM 1 GiB, one container committing 2 GiB (constant), 60 CPU-s of work on 1 CPU.
    # It starts at t = 3 (2 s sandbox + 1 s container).
    data = scenario(
        [
            {
                "manifest": pod("a", restart="Never"),
                "profile": {"memory": "2Gi", "work": "60s"},
            }
        ],
        [APP],
        node=node(cpu=1, memory="1Gi", pagefile="4Gi", residentShare=resident_share),
        duration="10m",
    )
    res = run(data)
    return res.pods.iloc[0], res.series


def test_a_job_pages_at_half_speed_when_it_touches_twice_ram():
    # residentShare 1.0: touched = 2 GiB > RAM 1 GiB -> speed 1/2 = 0.5: the 60 CPU-s
    # take 120 s at 1 core, so the container finishes at 3 + 120 = 123 s (not 63 s).
    row, series = _paging_job(1.0)
    assert row["phase"] == "Succeeded"
    assert row["finished_s"] == pytest.approx(123.0)
    at = series.set_index("time_s")["paging_slowdown"]
    assert at.loc[3.0] == pytest.approx(0.5)  # 1 - 0.5 while it runs
    assert at.iloc[-1] == 0.0  # its commit is released when it exits: no paging
    assert (at[at.index >= 123.0] == 0.0).all()


def test_a_job_that_touches_less_than_ram_runs_at_full_speed():
    # residentShare 0.4: touched = 0.8 GiB <= 1 GiB: no paging, done at 3 + 60 = 63 s.
    row, series = _paging_job(0.4)
    assert row["finished_s"] == pytest.approx(63.0)
    assert (series["paging_slowdown"] == 0.0).all()


def test_growing_commit_slows_work_continuously():
    # RAM 1000 B, commit 1000 + 10 t: speed 1000 / (1000 + 10 t) from t = 0, so the work
    # done by t at 1 core is the integral 100 ln(1 + t / 100). Work 100 ln 2 CPU-s then
    # finishes at t = 100 s. The speed is held for steps of SPEED_TOLERANCE of commit,
    # at its value at the start of each (the higher one): the finish is early by less than
    # that share; ln 2 / ln(1 + 1e-3) ~ 693 wake-ups.
    env = simpy.Environment()
    cpu = ProcessorSharing(env, 1000.0)
    speeds: list[float] = []

    def on_speed(s: float) -> None:
        speeds.append(s)
        cpu.set_speed(s)

    paging = Paging(
        env, 1000.0, 1.0, commit=lambda: (ledger.committed(), ledger.slope()), on_speed=on_speed
    )
    ledger = CommitLedger(
        env, commit_limit=1e12, on_change=lambda c, s: paging.commit_changed(c, s)
    )
    ledger.add("x", base=1000.0, growth=10.0)
    done = cpu.add("job", 0, work_cpu_s=100 * math.log(2))
    env.run(until=done)
    assert done.value == pytest.approx(100.0, rel=SPEED_TOLERANCE)
    assert done.value <= 100.0
    assert 650 <= len(speeds) <= 720
    assert speeds[-1] == pytest.approx(0.5, rel=2 * SPEED_TOLERANCE)


def test_constant_commit_below_ram_schedules_nothing_and_a_crossing_is_met():
    # RAM 1000 B, commit 500 + 10 t: paging starts at t = 50, not before; nothing is
    # scheduled while commit is constant.
    env = simpy.Environment()
    cpu = ProcessorSharing(env, 1000.0)
    paging = Paging(
        env,
        1000.0,
        1.0,
        commit=lambda: (ledger.committed(), ledger.slope()),
        on_speed=cpu.set_speed,
    )
    ledger = CommitLedger(
        env, commit_limit=1e12, on_change=lambda c, s: paging.commit_changed(c, s)
    )
    ledger.add("still", base=400.0)
    assert env.peek() == math.inf  # constant commit: no wake-up
    ledger.add("leak", base=100.0, growth=10.0)
    env.run(until=50.0)
    assert cpu.speed == 1.0
    env.run(until=51.0)
    assert cpu.speed == pytest.approx(1000 / 1010, rel=2 * SPEED_TOLERANCE)  # 500 + 510 B
    ledger.remove("leak")  # back to 400 B: full speed at once
    assert cpu.speed == 1.0


def test_set_speed_books_consumption_at_the_old_speed():
    # 1 core, 10 CPU-s of work: 4 s at full speed (4 CPU-s), then speed 0.5: the other
    # 6 CPU-s take 12 s -> done at 16 s; consumed() follows.
    env = simpy.Environment()
    cpu = ProcessorSharing(env, 1000.0)
    done = cpu.add("a", 0, work_cpu_s=10)
    env.run(until=4)
    cpu.set_speed(0.5)
    env.run(until=6)
    assert cpu.consumed("a") == pytest.approx(5.0)
    env.run(until=done)
    assert done.value == pytest.approx(16.0)
    with pytest.raises(ValueError):
        cpu.set_speed(0.0)


def test_changes_far_from_ram_keep_one_wake_up():
    # RAM 1000 B, slope 10 B/s: from 500 B the crossing is at t = 50. Later changes that
    # move it later keep the wake-up set (it fires early and re-evaluates); one that
    # moves it sooner replaces it; constant commit drops it.
    env = simpy.Environment()
    state = [500.0, 10.0]
    paging = Paging(env, 1000.0, 1.0, commit=lambda: (state[0], state[1]), on_speed=lambda s: None)
    paging.commit_changed(500.0, 10.0)
    paging.commit_changed(400.0, 10.0)
    paging.commit_changed(300.0, 10.0)
    assert len(env._queue) == 1 and env.peek() == 50.0
    paging.commit_changed(900.0, 10.0)
    assert env.peek() == 10.0  # sooner: a new one (the old one goes stale)
    paging.commit_changed(900.0, 0.0)
    env.run()
    assert env.now == 50.0 and paging.speed == 1.0
