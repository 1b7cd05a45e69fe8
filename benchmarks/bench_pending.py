"""Benchmark: bursts of 1,000 to 8,000 pending pods on a small node.

Run: ``python benchmarks/bench_pending.py [--sizes 1000,2000,4000,8000]``. For
each size a Job of that many pods, each asking for 1 CPU, is created at once
on a 4-CPU node: all but a few stay Pending. As running pods finish their 30 s
of work the scheduler admits the next, so each pass of the scheduler sees
thousands of pending pods. A queue that re-sorts and
re-tries every pending pod on each change costs O(n^2) here (1k/2k/4k/8k took
4.1/9.9/37.3/144.1 s before the queue was kept in order); one that tries only
the head of each workload's line grows as n.

Prints one line per size and, last, one JSON object: per size the wall
seconds, ``cost_per_pod`` (wall time per pod times the event rate of a bare
simpy loop timed in the same process, as bench_core.py measures it), the
scheduler's fit checks and the events processed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_core import Bare, CountingEnvironment

from hpsim.cluster.cluster import Cluster
from hpsim.gcpause import paused_gc
from hpsim.observe.recorder import Recorder
from hpsim.scenario.load import load_data

PAUSE = {"name": "test/pause:1", "layers": [{"size": 0, "unpacked": 0}]}


def scenario(pods: int) -> dict:
    """A 4-CPU node and a Job of ``pods`` pods at once, each asking for 1 CPU and working
    30 s: 3 run at a time (allocatable leaves 3 CPUs), the rest wait."""
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "burst"},
        "spec": {
            "completions": pods,
            "parallelism": pods,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "c",
                            "image": "test/app:1",
                            "resources": {"requests": {"cpu": "1", "memory": "1Gi"}},
                        }
                    ],
                }
            },
        },
    }
    return {
        "name": f"burst-{pods}",
        "duration": "10m",
        "node": {
            "cpu": 4,
            "memory": "16Gi",
            "pagefile": "0",
            "network": "100MiB/s",
            "unpackRate": "20MiB/s",
            "containerd": {"version": "1.7.22", "sandboxImage": "test/pause:1"},
        },
        "images": [PAUSE, {"name": "test/app:1", "layers": [{"size": 0, "unpacked": 0}]}],
        "workloads": [{"manifest": job, "profile": {"cpu": "1", "work": "30s"}}],
    }


def measure(replicas: int, bare: Bare) -> dict:
    loaded = load_data(scenario(replicas))
    env = CountingEnvironment()
    rec = Recorder()
    node = Cluster(loaded, seed=1, emit=rec, env=env)
    t0 = time.perf_counter()
    with paused_gc():
        node.start()
        env.run(until=float(loaded.scenario.duration))
        node.finish()
    wall = time.perf_counter() - t0
    bare.run(env.processed)
    rate = bare.events / bare.seconds
    checks = getattr(node.pending, "fit_checks", None)  # absent before the ordered queue
    return {
        "pods": replicas,
        "wall_s": round(wall, 3),
        "cost_per_pod": round(wall / replicas * rate, 1),
        "fit_checks": checks,
        "events": env.processed,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,2000,4000,8000")
    args = ap.parse_args()
    bare = Bare()
    out = []
    for n in (int(s) for s in args.sizes.split(",")):
        r = measure(n, bare)
        out.append(r)
        print(
            f"{n} pending pods: {r['wall_s']:.2f} s, cost per pod {r['cost_per_pod']}, "
            f"fit checks {r['fit_checks']}, events {r['events']}",
            flush=True,
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
