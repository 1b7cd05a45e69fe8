"""The collector is paused during a run and restored after, nested or not."""

from __future__ import annotations

import gc

import hpsim
from hpsim.gcpause import paused_gc


def test_nested_pauses_restore_the_collector_once() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer run is still going
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off() -> None:
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_run_leaves_the_collector_on() -> None:
    hpsim.run(hpsim.load("scenarios/node-bootstrap.yaml"), seed=1, replications=1)
    assert gc.isenabled()
