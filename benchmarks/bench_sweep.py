"""Benchmark: a sweep of 200 short runs on 1 worker, a 2-process pool and a 2-worker Dask cluster.

Run: ``python benchmarks/bench_sweep.py [--runs 200] [--output]``. The same
sweep (4 points x 50 replications of a 4-hour node with Poisson batch pods)
runs in this process, on a local pool of 2 processes and on a Dask
LocalCluster of 2 single-threaded worker processes. Workers are started and
warmed before the clock starts (their start-up is reported apart). With
``--output`` every run also writes its folder and the combined tables are
read back from them, as ``hpsim sweep`` does. The three answers are checked
equal. Prints, as its last line, one JSON object: seconds per executor,
``speedup_pool_2`` and ``speedup_dask_2`` (1 worker's time over 2's; target
>= 1.8 on 2 cores), start-up seconds, CPU count and the load average before
and after (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
    args = ap.parse_args()
    load_before = os.getloadavg()
    _, one, ref = timed(InProcess(), args.runs, args.output, None)
    with Pool(2) as pool:
        pool_start, two, res_pool = timed(pool, args.runs, args.output, _warm)
    with Dask(2) as dask:
        dask_start, dask_two, res_dask = timed(dask, args.runs, args.output, _warm)
    for other in (res_pool, res_dask):
        for name in ref.tables:  # type: ignore[attr-defined]
            pdt.assert_frame_equal(ref.tables[name], other.tables[name])  # type: ignore[attr-defined]
    print(f"1 worker (in process): {one:.2f} s")
    print(f"pool of 2 processes:   {two:.2f} s (start-up {pool_start:.2f} s)")
    print(f"Dask LocalCluster x2:  {dask_two:.2f} s (start-up {dask_start:.2f} s)")
    print(
        json.dumps(
            {
                "runs": len(ref.runs),  # type: ignore[attr-defined]
                "write_folders": args.output,
                "one_worker_s": round(one, 3),
                "pool_2_s": round(two, 3),
                "dask_2_s": round(dask_two, 3),
                "speedup_pool_2": round(one / two, 3),
                "speedup_dask_2": round(one / dask_two, 3),
                "pool_startup_s": round(pool_start, 3),
                "dask_startup_s": round(dask_start, 3),
                "cpus": os.cpu_count(),
                "loadavg_before": [round(x, 2) for x in load_before],
                "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            }
        )
    )


if __name__ == "__main__":
    main()
