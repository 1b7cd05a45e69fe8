"""Benchmark: what a pod of ``month.yaml`` costs with no model at all.

Run: ``python benchmarks/bench_floor.py``. It answers "how low can cost per pod
lifecycle go while the run stays what it is?" by timing, in the same process and
interleaved with the bare simpy loop that is the yardstick (as ``bench_core.py``):

- ``dispatch``: the run's own events, processed by simpy with no model behind
  them (a bare timeout loop processing as many events as the run did);
- ``record``: every fact the run emitted, replayed into a fresh recorder (the
  tables are the same; no model computes them);
- ``model``: the whole run, as ``bench_core.py`` times it.

Each figure is in bare-simpy-event equivalents per pod, so ``dispatch`` is the
run's events per pod. ``dispatch + record`` is a floor for any model that keeps
these events and facts: only fewer events or fewer facts go below it.

The last line is one JSON object: pods, events, facts (emitter calls),
dispatch_per_pod, record_per_pod, model_per_pod.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import simpy
from bench_core import SCENARIO, Bare, timed_run

from hpsim.cluster.cluster import Cluster
from hpsim.gcpause import paused_gc
from hpsim.observe.recorder import Recorder
from hpsim.scenario.load import load

Call = tuple[str, str, tuple[Any, ...], dict[str, Any]]  # (node, method, args, kwargs)


class Tape:
    """An emitter that forwards every call to a recorder and keeps it for a replay."""

    def __init__(self, rec: Any, calls: list[Call], node: str = "") -> None:
        self._rec, self._calls, self._node = rec, calls, node

    def for_node(self, node: str) -> Tape:
        return Tape(self._rec.for_node(node), self._calls, node)

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._rec, name)
        if not callable(target):
            return target
        calls, node = self._calls, self._node

        def call(*args: Any, **kwargs: Any) -> Any:
            calls.append((node, name, args, kwargs))
            return target(*args, **kwargs)

        return call


def replay(calls: list[Call]) -> float:
    """Seconds a fresh recorder takes to hear ``calls`` and build its tables."""
    rec = Recorder()
    channels: dict[str, Any] = {}
    bound = []
    for node, name, args, kwargs in calls:
        ch = channels.get(node)
        if ch is None:
            ch = channels[node] = rec.for_node(node) if node else rec
        bound.append((getattr(ch, name), args, kwargs))
    t0 = time.perf_counter()
    with paused_gc():
        for method, args, kwargs in bound:
            method(*args, **kwargs)
        rec.close()
    return time.perf_counter() - t0


def main() -> None:
    loaded = load(SCENARIO)
    calls: list[Call] = []
    rec = Recorder()
    cluster = Cluster(loaded, seed=1, emit=Tape(rec, calls), env=simpy.Environment())  # type: ignore[arg-type]
    # The tape's forwarding costs too: this run is only for the events and the facts.
    timed_run(cluster, float(loaded.scenario.duration))
    pods = rec.pod_count
    events = cluster.events_processed

    model = Recorder()
    wall, bare_model = timed_run(
        Cluster(load(SCENARIO), seed=1, emit=model, env=simpy.Environment()),
        float(loaded.scenario.duration),
    )
    rate = bare_model.events / bare_model.seconds

    # Recording alone, then as many bare events as the run processed (interleaved, 3 rounds).
    record_s, bare_s, bare_n = [], [], []
    for _ in range(3):
        record_s.append(replay(calls))
        b = Bare()
        b.run(events)
        bare_s.append(b.seconds)
        bare_n.append(b.events)
    bare_rate = sum(bare_n) / sum(bare_s)
    out = {
        "pods": pods,
        "events": events,
        "facts": len(calls),
        "dispatch_per_pod": round(events / pods, 1),
        "record_per_pod": round(min(record_s) / pods * bare_rate, 1),
        "model_per_pod": round(wall / pods * rate, 1),
    }
    print(
        f"{pods} pods: {events / pods:.1f} events and {len(calls) / pods:.1f} facts a pod; "
        f"recording alone {min(record_s):.2f} s, the whole run {wall:.2f} s"
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
