"""Python's cyclic garbage collector, paused while large structures live and grow.

Both a scenario's reading and a run keep many objects alive that the collector
walks again and again and cannot free: reading builds tens of thousands of
objects that all stay (a YAML node tree with two marks per node, then the data
and its line maps), so a scenario of 1,500 workloads spent a quarter of its YAML
time in the collector (20 times the workloads took 28 times as long to read,
19.8 times with the pause: benchmarks/bench_load.py); a month-long run keeps
hundreds of thousands of live objects (pods, their containers, recorded rows)
and allocates a few per event, and the collector's passes took a fifth of its
time while finding almost nothing (the model's reference cycles are few, and
reference counting frees everything else at once). Pausing it gives the same
results faster; the few cycles are collected once the collector runs again.

Pauses on several threads at once (a Dask worker's threads) share one count:
the last to finish re-enables the collector, and a collector the caller had
turned off stays off.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause automatic cyclic garbage collection for the duration of the block."""
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
