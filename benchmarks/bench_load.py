"""Benchmark: loading a scenario grows linearly with its workloads and its trace rows.

Run: ``python benchmarks/bench_load.py [--sizes 75,1500] [--rows 100000]``. For each
size it writes a scenario folder with that many workloads (half an inline Pod, half a
Deployment in its own manifest file, each with its own image, namespace and, for the
Deployments, a scale event) and times :func:`hpsim.scenario.load.load` on it; then one
workload replaying a trace of ``--rows`` rows. Each time is the best of ``--repeat``
loads (the sizes taking turns) after one warm-up load each, in one process.

Prints one line per measurement and, last, one JSON object:
``{"load_75_s", "load_1500_s", "ratio", "trace_100k_s"}`` (keys follow the sizes and
rows asked for). Loading is linear when ``ratio`` stays below the ratio of the sizes
(20): fixed costs (the node, the catalogue) are paid once.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from hpsim.scenario.load import load

HEAD = """\
name: bench-load-{n}
duration: 30d
seed: 1
node:
  osBuild: 10.0.20348.2227
  cpu: 64
  memory: 256Gi
  pagefile: 64Gi
  disk: 2Ti
  kubernetes: "1.31"
  containerd: "1.7.22"
namespaces:
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-{i}
  namespace: ns-{ns}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: web-{i}}}
  template:
    metadata:
      labels: {{app: web-{i}}}
    spec:
      nodeSelector:
        kubernetes.io/os: windows
      containers:
        - name: web
          image: contoso/app-{i}:1.0
          resources:
            requests: {{cpu: 10m, memory: 64Mi}}
            limits: {{cpu: 100m, memory: 64Mi}}
"""

INLINE_POD = """\
  - manifest:
      apiVersion: v1
      kind: Pod
      metadata: {{name: job-{i}, namespace: ns-{ns}}}
      spec:
        nodeSelector: {{kubernetes.io/os: windows}}
        restartPolicy: Never
        containers:
          - name: app
            image: contoso/app-{i}:1.0
            resources:
              requests: {{cpu: 10m, memory: 64Mi}}
              limits: {{cpu: 100m, memory: 64Mi}}
    arrivals: {{poisson: 1/h}}
    profile: {{memory: 32Mi, cpu: 5m, runFor: 10m}}
"""

FILE_WORKLOAD = """\
  - manifest: manifests/web-{i}.yaml
    lifetime: {{exponential: {{mean: 6h}}}}
    profile: {{memory: {{normal: {{mean: 48Mi, sd: 4Mi}}}}, cpu: 5m}}
"""

TRACE_SCENARIO = """\
name: bench-trace
duration: 30d
seed: 1
node:
  osBuild: 10.0.20348.2227
  cpu: 8
  memory: 32Gi
  disk: 128Gi
images:
  - name: contoso/ci-runner:ltsc2022
    base: mcr.microsoft.com/windows/servercore:ltsc2022
    layers: [{size: 400Mi}]
workloads:
  - manifest: manifests/agent.yaml
    arrivals: {trace: traces/arrivals.csv}
    profile: {memory: 1Gi, cpu: 500m}
"""

AGENT = """\
apiVersion: v1
kind: Pod
metadata: {name: agent}
spec:
  nodeSelector: {kubernetes.io/os: windows}
  restartPolicy: Never
  containers:
    - name: runner
      image: contoso/ci-runner:ltsc2022
      resources:
        requests: {cpu: 500m, memory: 1Gi}
        limits: {cpu: "1", memory: 2Gi}
"""

NAMESPACES = 10


def write_scenario(folder: Path, n: int) -> Path:
    """A scenario of ``n`` workloads in ``folder``; returns the scenario file."""
    (folder / "manifests").mkdir(parents=True, exist_ok=True)
    parts = [HEAD.format(n=n)]
    parts += [f"  ns-{k}: baseline\n" for k in range(NAMESPACES)]
    parts.append("images:\n")
    parts += [
        f"  - name: contoso/app-{i}:1.0\n"
        "    base: mcr.microsoft.com/windows/servercore:ltsc2022\n"
        "    layers: [{size: 20Mi}]\n"
        for i in range(n)
    ]
    parts.append("workloads:\n")
    events = []
    for i in range(n):
        ns = i % NAMESPACES
        if i % 2:
            (folder / "manifests" / f"web-{i}.yaml").write_text(DEPLOYMENT.format(i=i, ns=ns))
            parts.append(FILE_WORKLOAD.format(i=i))
            events.append(f"  - {{at: {i + 1}m, scale: {{workload: web-{i}, replicas: 2}}}}\n")
        else:
            parts.append(INLINE_POD.format(i=i, ns=ns))
    parts.append("events:\n" if events else "events: []\n")
    parts += events
    path = folder / "scenario.yaml"
    path.write_text("".join(parts))
    return path


def write_trace_scenario(folder: Path, rows: int, seed: int = 1) -> Path:
    """One Pod workload replaying ``rows`` arrivals over 30 days; returns the scenario file."""
    (folder / "manifests").mkdir(parents=True, exist_ok=True)
    (folder / "traces").mkdir(exist_ok=True)
    (folder / "manifests" / "agent.yaml").write_text(AGENT)
    rng = random.Random(seed)
    lines = ["create_s,delete_s\n"]
    for _ in range(rows):
        create = rng.uniform(0, 30 * 86400)
        lines.append(f"{create:.1f},{create + rng.uniform(60, 3600):.1f}\n")
    (folder / "traces" / "arrivals.csv").write_text("".join(lines))
    path = folder / "scenario.yaml"
    path.write_text(TRACE_SCENARIO)
    return path


def best_load_s(paths: list[Path], repeat: int) -> list[float]:
    """The best of ``repeat`` loads of each path, after one warm-up load of each.

    The paths take turns, so that a busy spell on a shared machine slows them alike.
    """
    for path in paths:
        load(path)  # warm-up: imports, the catalogue
    best = [float("inf")] * len(paths)
    for _ in range(repeat):
        for i, path in enumerate(paths):
            start = time.perf_counter()
            load(path)
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def _rows_key(rows: int) -> str:
    return f"trace_{rows // 1000}k_s" if rows % 1000 == 0 else f"trace_{rows}_s"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="75,1500", help="two workload counts, small,large")
    ap.add_argument("--rows", type=int, default=100_000, help="trace rows")
    ap.add_argument("--repeat", type=int, default=5, help="loads timed per case (best kept)")
    args = ap.parse_args(argv)
    small, large = (int(s) for s in args.sizes.split(","))
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        paths = [write_scenario(Path(tmp) / f"n{n}", n) for n in (small, large)]
        for n, seconds in zip((small, large), best_load_s(paths, args.repeat), strict=True):
            out[f"load_{n}_s"] = round(seconds, 4)
            print(f"{n:>6} workloads: {seconds:.3f} s")
        out["ratio"] = round(out[f"load_{large}_s"] / out[f"load_{small}_s"], 2)
        print(f"ratio {out['ratio']} for {large / small:g} times the workloads")
        key = _rows_key(args.rows)
        [out[key]] = (
            round(s, 4)
            for s in best_load_s(
                [write_trace_scenario(Path(tmp) / "trace", args.rows)], args.repeat
            )
        )
        print(f"trace of {args.rows:,} rows: {out[key]:.3f} s")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
