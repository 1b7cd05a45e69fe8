"""Benchmark: a pool of Windows nodes for 30 days under the Cluster Autoscaler.

``benchmarks/month.yaml``'s workloads, scaled to ``--nodes`` nodes at the same pods
per node (web replicas and batch arrivals times the node count), on a pool the
autoscaler sizes between half the nodes and all of them. As ``bench_core.py``,
it reports cost per pod lifecycle: the run's wall time per pod times the event
rate of a bare simpy loop timed in the same process, so that the figure does not
move with the machine's load. ``--nodes 10,20`` runs each size and prints how the
time grows with the node count.

    python benchmarks/bench_pool.py [--nodes 20] [--days 30] [--stream]

Each size runs in a process of its own, so that ``peak_rss_mib`` is that run's
peak (the simulation and its recorder; no tables are built). ``--stream`` gives
the recorder a chunk sink in a temporary folder, as ``hpsim run --stream`` does:
the recorder then holds a chunk per table however long the run.

The last line is one JSON object (of the last size run): pods, wall_s,
bare_events_per_s, cost_per_pod, peak_rss_mib, nodes_mean, model ("compiled" or
"python": hpsim/native.py), and, with several sizes, time_ratio (the largest's wall
time over the smallest's), work_ratio (the same in bare-event units, cost per pod
times pods: what time_ratio would be with the machine's load held still), nodes_ratio
and cost_ratio (the largest's cost per pod over the smallest's: with ``--nodes 1,20``,
the 20-node pool against one node run the same way, autoscaler and all).
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).parent))

import simpy
from bench_core import timed_run

from hpsim import native
from hpsim.cluster.cluster import Cluster
from hpsim.observe.recorder import Recorder
from hpsim.observe.stream import CHUNK_ROWS, ChunkFiles
from hpsim.scenario.load import load_data

MONTH = Path(__file__).with_name("month.yaml")


def pool_scenario(nodes: int, days: int) -> dict[str, Any]:
    """month.yaml on ``nodes`` nodes: the same pods per node, autoscaled from nodes/2."""
    data = yaml.safe_load(MONTH.read_text())
    data["name"] = f"pool-{nodes}"
    data["duration"] = f"{days}d"
    template = data.pop("node")
    data["nodePools"] = [
        {"name": "win", "min": max(1, nodes // 2), "max": nodes, "count": nodes, "node": template}
    ]
    for w in data["workloads"]:
        m = w["manifest"]
        if m["kind"] == "Deployment":
            m["spec"]["replicas"] *= nodes
        if "arrivals" in w:
            rate = w["arrivals"]["poisson"]
            number, per = rate.split("/")
            w["arrivals"] = {"poisson": f"{float(number) * nodes:g}/{per}"}
    return copy.deepcopy(data)


def measure(nodes: int, days: int, stream: Path | None = None) -> dict[str, Any]:
    loaded = load_data(pool_scenario(nodes, days), file=str(MONTH), base_dir=str(MONTH.parent))
    if stream is None:
        rec = Recorder()
    else:
        rec = Recorder(sink=ChunkFiles(stream / ".chunks"), chunk_rows=CHUNK_ROWS)
    cluster = Cluster(loaded, seed=1, emit=rec, env=simpy.Environment())
    end = float(loaded.scenario.duration)
    elapsed, bare = timed_run(cluster, end)
    pods = cluster.pods_created  # (the recorder keeps only a chunk of them with --stream)
    baseline = bare.events / bare.seconds
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # registered node-seconds, from the model's own record of its VMs (no table built)
    alive = sum(
        max(0.0, min(end, i.deleted if i.deleted is not None else end) - i.registered)
        for i in cluster.life.instances.values()
        if i.registered is not None
    )
    out = {
        "nodes": nodes,
        "events": cluster.events_processed,
        "pods": pods,
        "wall_s": round(elapsed, 3),
        "bare_events_per_s": round(baseline),
        "cost_per_pod": round(elapsed / pods * baseline, 1),
        "peak_rss_mib": round(peak, 1),
        "nodes_mean": round(alive / end, 2),
        "model": "compiled" if native.active() else "python",  # hpsim/native.py
    }
    print(
        f"{nodes} nodes: {pods} pods, {cluster.events_processed} events in {elapsed:.2f} s, "
        f"cost per pod {out['cost_per_pod']}, {out['nodes_mean']} nodes on average",
        file=sys.stderr,
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", default="20", help="node counts, comma-separated")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--stream", action="store_true", help="stream the tables to chunks")
    args = parser.parse_args()
    sizes = [int(n) for n in args.nodes.split(",")]
    if len(sizes) == 1:
        with tempfile.TemporaryDirectory() as tmp:
            out = measure(sizes[0], args.days, Path(tmp) if args.stream else None)
        print(json.dumps(out))
        return
    runs = []
    for n in sizes:  # a process each: its own peak memory
        cmd = [sys.executable, __file__, "--nodes", str(n), "--days", str(args.days)]
        done = subprocess.run(
            cmd + (["--stream"] if args.stream else []),
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    last = dict(runs[-1])
    if len(runs) > 1:
        last["time_ratio"] = round(runs[-1]["wall_s"] / runs[0]["wall_s"], 2)
        last["nodes_ratio"] = round(runs[-1]["nodes"] / runs[0]["nodes"], 2)
        last["cost_ratio"] = round(runs[-1]["cost_per_pod"] / runs[0]["cost_per_pod"], 2)
        # time_ratio in bare-event units (cost per pod x pods): each size's wall time
        # against its own run's yardstick, so a busy spell during one size does not skew it.
        first, end = runs[0], runs[-1]
        work = end["cost_per_pod"] * end["pods"] / (first["cost_per_pod"] * first["pods"])
        last["work_ratio"] = round(work, 2)
    print(json.dumps(last))


if __name__ == "__main__":
    main()
