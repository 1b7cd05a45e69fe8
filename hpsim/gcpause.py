"""Python's cyclic garbage collector, paused while a large structure is built.

Reading a scenario builds tens of thousands of objects that all stay alive (a
YAML node tree with two marks per node, then the data and its line maps). Each
automatic pass of the collector walks what is alive and finds nothing to free,
and there are more passes the larger the document, so a scenario of 1,500
workloads spent a quarter of its YAML time in the collector: 20 times the
workloads took 28 times as long to read (benchmarks/bench_load.py; 1.27 s
instead of 1.85 s with the pause, 19.8 times the 75-workload time).

The same pause as :mod:`hpsim.node.gcpause` gives a run, for the layers below
the model (which may not import it). Pauses on several threads at once share
one count: the last to finish re-enables the collector, and a collector the
caller had turned off stays off. The two modules' pauses nest safely (each
restores only what it found), but one module would do: hpsim.node.gcpause can
become ``from hpsim.gcpause import paused_gc``.
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
