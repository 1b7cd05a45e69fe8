"""Benchmark: the memory a run keeps per pod, and the peak of a whole ``hpsim run``.

Run: ``python benchmarks/bench_memory.py [--days 365] [--rss] [--stream]``. On
``month.yaml`` (its duration set to ``--days`` if given) it measures:

- ``retained_bytes_per_pod``: what the recorder holds at the end of the
  simulation, before any table is built, per pod. Measured with tracemalloc:
  the bytes still allocated once the model is dropped and only the recorder
  is left, less those allocated before the model was built. ``by_part`` splits
  it by the recorder's attributes (each dropped in turn: what dropping it frees).
- with ``--retained-stream``: the same for a recorder that streams (its sink
  here drops the chunks): what it holds does not grow with the run.
- with ``--rss``: the peak resident memory of ``python -m hpsim run`` on the
  same scenario in a child process (simulation, tables, summary and Parquet
  files), in MiB; with ``--stream`` too, of ``hpsim run --stream``.

Prints one JSON object as its last line. Memory only: no timing.

Measured on a shared 2-CPU machine (the tuples of before -> compact columns, the
model's garbage collected as the run goes; hpsim run without -> with --stream):

    month.yaml, 12,610 pods:     4,274 -> 1,256 bytes a pod; peak 284 -> 230 MiB (235)
    --days 365, 151,229 pods:    4,145 -> 1,200 bytes a pod; peak 1,817 -> 852 MiB (385)

A streaming recorder holds 6 MB (month) and 12 MB (a year) at the end: its chunks.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

from hpsim.cluster.cluster import Cluster
from hpsim.observe.recorder import Recorder
from hpsim.scenario.load import load

SCENARIO = Path(__file__).with_name("month.yaml")


def scenario_file(days: int | None, folder: Path) -> Path:
    """month.yaml, or a copy of it that runs ``days`` days."""
    if days is None:
        return SCENARIO
    text = SCENARIO.read_text().replace("duration: 30d", f"duration: {days}d")
    path = folder / f"month-{days}d.yaml"
    path.write_text(text)
    return path


def _drop(_name: str, _chunk: Any) -> None:
    pass


def retained(path: Path, stream: bool = False) -> dict[str, Any]:
    """Bytes the recorder holds at the end of the run, in all and per attribute; with
    ``stream``, a recorder that hands its chunks to a sink (which drops them)."""
    loaded = load(path)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    rec = Recorder(sink=_drop) if stream else Recorder()
    node = Cluster(loaded, seed=1, emit=rec)
    node.run()
    del node
    gc.collect()
    total = tracemalloc.get_traced_memory()[0] - base
    pods = rec.rows("pods") if stream else rec.pod_count
    parts: dict[str, int] = {}
    for name in list(vars(rec)):
        before = tracemalloc.get_traced_memory()[0]
        setattr(rec, name, None)
        gc.collect()
        freed = before - tracemalloc.get_traced_memory()[0]
        if freed > 1024:
            parts[name] = freed
    tracemalloc.stop()
    key = "stream_" if stream else ""
    return {
        "pods": pods,
        f"{key}retained_bytes": total,
        f"{key}retained_bytes_per_pod": round(total / pods),
        f"{key}by_part_bytes_per_pod": {k: round(v / pods) for k, v in parts.items()},
    }


def peak_rss(path: Path, out: Path, *extra: str) -> float:
    """Peak RSS (MiB) of ``python -m hpsim run`` on ``path`` in a child process."""
    args = ["hpsim", "run", str(path), "-o", str(out), "-q", *extra]
    code = (
        "import resource, runpy, sys; sys.argv = sys.argv[1:];"
        "rc = 0\n"
        "try:\n runpy.run_module('hpsim', run_name='__main__')\n"
        "except SystemExit as e:\n rc = e.code or 0\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )
    if proc.returncode:
        raise SystemExit(f"hpsim run failed: {proc.stderr[-2000:]}")
    return round(int(proc.stderr.strip().splitlines()[-1]) / 1024, 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=None, help="run month.yaml this many days")
    p.add_argument("--rss", action="store_true", help="also the peak RSS of hpsim run")
    p.add_argument("--stream", action="store_true", help="and of hpsim run --stream")
    p.add_argument("--no-retained", action="store_true", help="skip the tracemalloc part")
    p.add_argument(
        "--retained-stream", action="store_true", help="also a streaming recorder's retained bytes"
    )
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = scenario_file(args.days, Path(tmp))
        out: dict[str, Any] = {"scenario": path.name}
        # The children first: a child's ru_maxrss starts from its parent's peak (Linux
        # keeps the peak across fork and exec), so it is measured while this one is small.
        if args.rss:
            out["peak_rss_mib"] = peak_rss(path, Path(tmp) / "run")
        if args.stream:
            out["peak_rss_mib_stream"] = peak_rss(path, Path(tmp) / "run-stream", "--stream")
        out["parent_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        if not args.no_retained:
            out.update(retained(path))
        if args.retained_stream:
            out.update(retained(path, stream=True))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
