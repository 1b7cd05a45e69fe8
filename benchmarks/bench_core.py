"""Benchmark: a 30-day scenario with about 10,000 pod lifecycles.

Run: ``python benchmarks/bench_core.py``. Prints, as its last line, one JSON
object: ``events`` (simpy events processed), ``events_per_s``,
``bare_simpy_events_per_s`` (a plain loop of simpy timeouts timed in the same
process, the baseline on a shared, noisy machine), ``ratio`` and
``peak_rss_mib``. Target: ratio >= 0.5.
"""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

import simpy

from hpsim.node.node import WindowsNode
from hpsim.scenario.load import load

SCENARIO = Path(__file__).with_name("month.yaml")


class CountingEnvironment(simpy.Environment):
    """simpy's Environment, counting the events it processes."""

    def __init__(self) -> None:
        super().__init__()
        self.processed = 0

    def step(self) -> None:
        self.processed += 1
        super().step()


def bare_simpy(n: int) -> float:
    """Events per second of a plain simpy loop of timeouts."""
    env = CountingEnvironment()

    def proc(env: simpy.Environment):
        for _ in range(n // 10):
            yield env.timeout(1.0)

    for _ in range(10):
        env.process(proc(env))
    t0 = time.perf_counter()
    env.run()
    return env.processed / (time.perf_counter() - t0)


def main() -> None:
    loaded = load(SCENARIO)
    env = CountingEnvironment()
    node = WindowsNode(loaded, seed=1, env=env)
    t0 = time.perf_counter()
    node.run()
    elapsed = time.perf_counter() - t0
    pods = len(node.pods)
    baseline = bare_simpy(max(env.processed, 100_000))
    rate = env.processed / elapsed
    print(f"{pods} pods, {env.processed} events in {elapsed:.2f} s")
    print(
        json.dumps(
            {
                "events": env.processed,
                "pods": pods,
                "events_per_s": round(rate),
                "bare_simpy_events_per_s": round(baseline),
                "ratio": round(rate / baseline, 3),
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
