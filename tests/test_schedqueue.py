"""When kube-scheduler tries a pending pod again: its back-off and the queue's flushes.

kube-scheduler 1.31 (k/k pkg/scheduler/internal/queue/scheduling_queue.go): a pod
that failed waits until a cluster event moves it, then goes to activeQ if its
back-off (1, 2, 4, 8, 10 s by attempt) ran out, else to backoffQ, which is flushed
to activeQ every whole second. A pod left unmoved for more than 5 minutes is
tried again by the 30 s leftover flush. Every case below is worked by hand: the
holder pod's deletion (its lifetime, then the 30 s grace period it takes to
stop) is the event that frees the room.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from simhelp import pod, run, scenario

from hpsim.errors import HpsimError
from hpsim.node.schedqueue import backoff_s
from hpsim.scenario.load import load_data

APP = {"name": "test/app:1", "layers": [{"size": 0, "unpacked": 0}]}
GRACE_S = 30.0  # terminationGracePeriodSeconds' default: the holder stops 30 s after Killing


def _holder(name: str, cpu: str, released_at: float) -> dict[str, Any]:
    """A pod bound at 0 that gives its ``cpu`` back at ``released_at``."""
    manifest = pod(name, requests={"cpu": cpu}, restart="Never")
    return {"manifest": manifest, "lifetime": {"fixed": f"{released_at - GRACE_S}s"}}


def _waiters(*at: float, cpu: str = "3") -> dict[str, Any]:
    manifest = pod("waiter", requests={"cpu": cpu}, restart="Never")
    return {
        "manifest": manifest,
        "arrivals": {"at": [f"{t}s" for t in at]},
        "lifetime": {"fixed": "1h"},
    }


def _scheduled(workloads: list[dict[str, Any]], **top: Any) -> dict[str, float]:
    res = run(scenario(workloads, [APP], duration="20m", **top))
    pods = res.pods
    return dict(zip(pods["pod"], pods["scheduled_s"], strict=True))


def test_backoff_doubles_to_its_cap():
    assert [backoff_s(n) for n in range(1, 8)] == [1, 2, 4, 8, 10, 10, 10]
    assert [backoff_s(n, 2, 5) for n in range(1, 4)] == [2, 4, 5]


def test_room_freed_during_the_back_off_is_taken_at_the_next_whole_second():
    """The waiter fails at 100 s (1 attempt: 1 s back-off). The holder frees the node at
    100.5 s: the waiter goes to backoffQ, to activeQ at the flush of 101 s, and binds."""
    got = _scheduled([_holder("holder", "3", 100.5), _waiters(100.0)])
    assert got["waiter-1"] == 101.0


def test_room_freed_after_the_back_off_is_taken_at_once():
    got = _scheduled([_holder("holder", "3", 101.25), _waiters(100.0)])
    assert got["waiter-1"] == 101.25


def test_each_failed_attempt_doubles_the_back_off():
    """A small pod leaving at 101.5 s moves the waiter (its 1 s back-off is over): tried,
    it fails again (2 attempts, stamp 101.5 s). The holder leaves at 102.5 s: the 2 s
    back-off runs to 103.5 s, and the flush of 104 s lets it bind."""
    got = _scheduled(
        [_holder("holder", "3", 102.5), _holder("small", "100m", 101.5), _waiters(100.0)]
    )
    assert got["waiter-1"] == 104.0


def test_the_leftover_flush_counts_as_an_attempt():
    """The waiter fails at 0.2 s. Nothing moves it until the leftover flush at 330 s (the
    first 30 s tick more than 5 minutes later) tries it again: 2 attempts, stamp 330 s.
    The holder leaving at 331.5 s finds it backing off until 332 s."""
    got = _scheduled([_holder("holder", "3", 331.5), _waiters(0.2)])
    assert got["waiter-1"] == 332.0
    # 13 s later the leftover try's 2 s back-off is long over: bound when the room comes
    got = _scheduled([_holder("holder", "3", 343.0), _waiters(0.2)])
    assert got["waiter-1"] == 343.0


def test_a_new_pod_is_tried_at_once_and_may_pass_its_backing_off_elders():
    """waiter-1 fails at 100 s; the room freed at 100.5 s is its at 101 s. waiter-2, made at
    100.7 s, goes straight to activeQ and takes it; waiter-1 fails again at 101 s."""
    got = _scheduled([_holder("holder", "3", 100.5), _waiters(100.0, 100.7)])
    assert got["waiter-2"] == 100.7
    assert math.isnan(got["waiter-1"])  # never bound


def test_the_back_off_is_a_scheduler_setting():
    """podInitialBackoffSeconds 4: the waiter that failed at 100 s waits to 104 s."""
    cluster = {"scheduler": {"podInitialBackoffSeconds": 4, "podMaxBackoffSeconds": 20}}
    got = _scheduled([_holder("holder", "3", 100.5), _waiters(100.0)], cluster=cluster)
    assert got["waiter-1"] == 104.0


def test_a_max_back_off_below_the_initial_is_refused():
    data = scenario([_waiters(1.0)], [APP])
    data["cluster"] = {"scheduler": {"podInitialBackoffSeconds": 4, "podMaxBackoffSeconds": 2}}
    with pytest.raises(HpsimError) as err:
        load_data(data)
    assert "podMaxBackoffSeconds (2) is less than podInitialBackoffSeconds (4)" in str(err.value)
