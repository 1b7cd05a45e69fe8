"""Python's cyclic garbage collector, paused while a run executes.

A month-long run keeps hundreds of thousands of live objects (pods, their
containers, recorded rows) and allocates a few per event, so the collector's
automatic passes -- every pass of the oldest generation walks every live object
-- took a fifth of the run's time, while finding almost nothing: the model's
reference cycles are few (about a thousand objects in the month benchmark)
and reference counting frees everything else at once. Pausing it for the run
and re-enabling it after gives the same results faster; the few cycles are
collected once the collector runs again.

Runs on several threads at once (a Dask worker's threads) share one pause: the
last run to finish re-enables the collector, and a collector the caller had
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
