"""Benchmark: a sweep of 200 short runs on 1 worker, a 2-process pool and a 2-worker Dask cluster.

Run: ``python benchmarks/bench_sweep.py [--runs 200] [--output] [--rounds 3]``. The same
sweep (4 points x 50 replications of a 4-hour node with Poisson batch pods)
runs in this process, on a local pool of 2 processes and on a Dask
LocalCluster of 2 single-threaded worker processes. Workers are started and
warmed before the clock starts (their start-up is reported apart). With
``--output`` every run also writes its folder and the combined tables are
read back from them, as ``hpsim sweep`` does. The three take turns for
``--rounds`` rounds (in a rotated order each round), and every answer is checked
equal to the first. Prints, as its last line, one JSON object: seconds per
executor and round, the median over rounds of ``speedup_pool_2`` and
``speedup_dask_2`` (1 worker's time over 2's in the same round; target >= 1.8
on 2 cores) and of ``dask_over_pool`` (target <= 1.1), start-up seconds, CPU
count and the load average before and after (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pandas.testing as pdt

from hpsim.experiment.executors import Dask, InProcess, Pool
from hpsim.experiment.sweep import sweep
from hpsim.scenario.load import load_data

PAUSE = {"name": "test/pause:1", "layers": [{"size": 0, "unpacked": 0}]}


def scenario() -> dict:
    """A small node: one Deployment, Poisson batch pods, memory drawn per pod."""
    app = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "app"},
        "spec": {
            "replicas": 2,
            "template": {
                "metadata": {"labels": {"app": "app"}},
                "spec": {"containers": [{"name": "c", "image": "bench/app:1"}]},
            },
        },
    }
    batch = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "batch"},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "bench/app:1"}]},
    }
    return {
        "name": "bench-sweep",
        "duration": "4h",
        "seed": 1,
        "node": {
            "cpu": 4,
            "memory": "16Gi",
            "pagefile": "0",
            "network": "100MiB/s",
            "unpackRate": "20MiB/s",
            "containerd": {"version": "1.7.22", "sandboxImage": "test/pause:1"},
        },
        "images": [PAUSE, {"name": "bench/app:1", "layers": [{"size": "50Mi"}]}],
        "workloads": [
            {
                "manifest": app,
                "lifetime": {"exponential": {"mean": "20m"}},
                "profile": {"cpu": "200m", "memory": {"normal": {"mean": "400Mi", "sd": "80Mi"}}},
            },
            {
                "manifest": batch,
                "arrivals": {"poisson": "40/h"},
                "lifetime": {"exponential": {"mean": "5m"}},
                "profile": {"cpu": "100m", "memory": "200Mi"},
            },
        ],
    }


def timed(executor, runs: int, output: bool, warm) -> tuple[float, float, object]:
    """(start-up seconds, sweep seconds, results) of one executor."""
    loaded = load_data(scenario())
    factors = {"node.memory": ["8Gi", "16Gi"], "workloads.app.replicas": [2, 4]}
    reps = max(1, runs // 4)
    t0 = time.perf_counter()
    if warm:
        warm(executor)
    startup = time.perf_counter() - t0
    out = Path(tempfile.mkdtemp(prefix="bench-sweep-")) / "out" if output else None
    t0 = time.perf_counter()
    res = sweep(loaded, factors, replications=reps, executor=executor, output=out, progress=False)
    elapsed = time.perf_counter() - t0
    if out is not None:
        shutil.rmtree(out.parent, ignore_errors=True)
    return startup, elapsed, res


def _warm(executor) -> None:
    """Start the workers and import hpsim in each before timing."""
    from hpsim.experiment.executors import execute

    list(executor.map(execute, []))
    if isinstance(executor, Pool):
        pool = executor._start()
        for f in [pool.submit(os.getpid) for _ in range(executor.jobs * 2)]:
            f.result()
    elif isinstance(executor, Dask):
        client = executor._start()
        client.run(lambda: __import__("hpsim.experiment.run"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--output", action="store_true", help="write every run's folder")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the three executors")
    args = ap.parse_args()
    load_before = os.getloadavg()
    times: dict[str, list[float]] = {"one": [], "pool": [], "dask": []}
    with Pool(2) as pool, Dask(2) as dask:
        executors = {"one": InProcess(), "pool": pool, "dask": dask}
        starts = {"pool": _started(pool), "dask": _started(dask)}
        ref = None
        for r in range(args.rounds):
            # The executors take turns, each round in a rotated order: a busy spell on the
            # shared machine slows one round of all three, and the ratios are per round.
            order = list(executors)
            order = order[r % 3 :] + order[: r % 3]
            for name in order:
                _, seconds, res = timed(executors[name], args.runs, args.output, None)
                times[name].append(seconds)
                if ref is None:
                    ref = res
                else:
                    for t in ref.tables:  # type: ignore[attr-defined]
                        pdt.assert_frame_equal(ref.tables[t], res.tables[t])  # type: ignore[attr-defined]
    pool_up = [o / t for o, t in zip(times["one"], times["pool"], strict=True)]
    dask_up = [o / t for o, t in zip(times["one"], times["dask"], strict=True)]
    dask_vs_pool = [d / p for d, p in zip(times["dask"], times["pool"], strict=True)]
    for name, label in (
        ("one", "1 worker (in process)"),
        ("pool", "pool of 2 processes"),
        ("dask", "Dask LocalCluster x2"),
    ):
        print(f"{label:>22}: " + ", ".join(f"{t:.2f}" for t in times[name]) + " s")
    print("speed-up, pool: " + ", ".join(f"{x:.2f}" for x in pool_up))
    print("speed-up, Dask: " + ", ".join(f"{x:.2f}" for x in dask_up))
    print(
        json.dumps(
            {
                "runs": len(ref.runs),  # type: ignore[union-attr]
                "write_folders": args.output,
                "rounds": args.rounds,
                "one_worker_s": [round(x, 3) for x in times["one"]],
                "pool_2_s": [round(x, 3) for x in times["pool"]],
                "dask_2_s": [round(x, 3) for x in times["dask"]],
                "speedup_pool_2": round(statistics.median(pool_up), 3),
                "speedup_dask_2": round(statistics.median(dask_up), 3),
                "dask_over_pool": round(statistics.median(dask_vs_pool), 3),
                "pool_startup_s": round(starts["pool"], 3),
                "dask_startup_s": round(starts["dask"], 3),
                "cpus": os.cpu_count(),
                "loadavg_before": [round(x, 2) for x in load_before],
                "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            }
        )
    )


def _started(executor) -> float:
    """Seconds to start and warm ``executor``'s workers."""
    t0 = time.perf_counter()
    _warm(executor)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
