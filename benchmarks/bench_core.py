"""Benchmark: a 30-day scenario with about 10,000 pod lifecycles.

Run: ``python benchmarks/bench_core.py``. Prints, as its last line, one JSON
object: ``events`` (simpy events processed), ``pods``, ``events_per_s``,
``bare_simpy_events_per_s`` (a plain loop of simpy timeouts timed in the same
process: the baseline), ``ratio``, ``wall_s``, ``cost_per_pod`` (wall time per
simulated pod times the baseline's event rate: how many bare simpy events one
pod's whole life costs), ``peak_rss_mib`` and ``model`` ("compiled" when a fresh
build of ``python -m hpsim.nativebuild build`` ran, else "python").

The machine is shared and its load moves within seconds, so the two are timed
interleaved: the model runs one simulated day at a time, and after each day the
baseline processes as many events as the model just did. Both rates are then
taken over the same stretch of wall time, and a burst of load elsewhere slows
both alike instead of skewing the ratio. (Each slice adds its stop event to the
count: 30 of about 220,000.)

The model runs on a plain ``simpy.Environment`` (its run loop counts the events
it processes: ``Cluster.events_processed``). The baseline counts its events in
an environment whose ``step`` adds one to a counter: that call makes the
baseline about 1.4 times slower than simpy's own loop, and it is kept as it
is so that figures stay comparable with every earlier one (an earlier model ran
on the same counting environment and paid for its count too).
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Generator
from pathlib import Path

import simpy

from hpsim import native
from hpsim.cluster.cluster import Cluster
from hpsim.gcpause import paused_gc
from hpsim.observe.recorder import Recorder
from hpsim.scenario.load import load

SCENARIO = Path(__file__).with_name("month.yaml")
SLICE_S = 86_400.0  # simulated time between switches to the baseline
BARE_PROCESSES = 10  # the baseline: this many processes, each yielding timeout(1.0) forever


class CountingEnvironment(simpy.Environment):
    """simpy's Environment, counting the events it processes."""

    def __init__(self) -> None:
        super().__init__()
        self.processed = 0

    def step(self) -> None:
        self.processed += 1
        super().step()


def _ticker(env: simpy.Environment) -> Generator[simpy.Event, None, None]:
    while True:
        yield env.timeout(1.0)


class Bare:
    """The baseline: a plain simpy loop of timeouts, run in slices of a given event count."""

    def __init__(self) -> None:
        self.env = CountingEnvironment()
        for _ in range(BARE_PROCESSES):
            self.env.process(_ticker(self.env))
        self.env.run(until=1.0)  # past the Initialize events: only timeouts from here
        self.seconds = 0.0
        self.events = 0

    def run(self, events: int) -> None:
        """Process about ``events`` more events (whole rounds of BARE_PROCESSES)."""
        rounds = max(1, round(events / BARE_PROCESSES))
        before = self.env.processed
        t0 = time.perf_counter()
        self.env.run(until=self.env.now + rounds)
        self.seconds += time.perf_counter() - t0
        self.events += self.env.processed - before


def timed_run(cluster: Cluster, end: float) -> tuple[float, Bare]:
    """Run ``cluster`` to ``end`` a slice of simulated time at a time, each slice followed
    by as many bare simpy events: the run's wall seconds, and the bare loop's timing."""
    bare = Bare()
    elapsed = 0.0
    t0 = time.perf_counter()
    cluster.start()
    elapsed += time.perf_counter() - t0
    until = 0.0
    while until < end:
        until = min(end, until + SLICE_S)
        before = cluster.events_processed
        t0 = time.perf_counter()
        with paused_gc():  # as Cluster.run runs it
            cluster.advance(until)
        elapsed += time.perf_counter() - t0
        bare.run(cluster.events_processed - before)
    t0 = time.perf_counter()
    cluster.finish()
    elapsed += time.perf_counter() - t0
    return elapsed, bare


def main() -> None:
    loaded = load(SCENARIO)
    rec = Recorder()
    node = Cluster(loaded, seed=1, emit=rec, env=simpy.Environment())
    elapsed, bare = timed_run(node, float(loaded.scenario.duration))
    pods = rec.pod_count
    events = node.events_processed
    rate = events / elapsed
    baseline = bare.events / bare.seconds
    print(f"{pods} pods, {events} events in {elapsed:.2f} s (baseline: {bare.seconds:.2f} s)")
    print(
        json.dumps(
            {
                "events": events,
                "pods": pods,
                "events_per_s": round(rate),
                "bare_simpy_events_per_s": round(baseline),
                "ratio": round(rate / baseline, 3),
                "wall_s": round(elapsed, 3),
                # Bare-simpy-event equivalents one pod's whole life costs (machine-independent).
                "cost_per_pod": round(elapsed / pods * baseline, 1),
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "model": "compiled" if native.active() else "python",
            }
        )
    )


if __name__ == "__main__":
    main()
