"""Loading is linear in the workloads and the trace rows, counted, not timed.

The work counter is the number of lines of hpsim's own code executed (a trace
function counts them): deterministic on any machine, and it sees a loop over all
workloads hidden inside a per-workload step (as when Source.sub copied every line
entry of the document for each workload: the growth below was 10, not 4), which
wall-clock time on a shared runner would not show reliably.
benchmarks/bench_load.py gives the times.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import hpsim
from hpsim.scenario.load import load

HPSIM_DIR = str(Path(hpsim.__file__).parent)

HEAD = """\
name: scaling
duration: 1d
node:
  cpu: 8
  memory: 32Gi
namespaces:
  apps: baseline
images:
"""

IMAGE = """\
  - name: contoso/app-{i}:1.0
    base: mcr.microsoft.com/windows/servercore:ltsc2022
    layers: [{{size: 20Mi}}]
"""

INLINE = """\
  - manifest:
      apiVersion: v1
      kind: Pod
      metadata: {{name: pod-{i}, namespace: apps}}
      spec:
        restartPolicy: Never
        containers:
          - name: app
            image: contoso/app-{i}:1.0
            resources: {{limits: {{cpu: 100m, memory: 64Mi}}}}
    arrivals: {{poisson: 1/h}}
    profile: {{memory: 32Mi, cpu: 5m, runFor: 10m}}
"""

FILE_WORKLOAD = """\
  - manifest: web-{i}.yaml
    profile: {{memory: 32Mi, cpu: 5m}}
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web-{i}, namespace: apps}}
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: web
          image: contoso/app-{i}:1.0
          resources: {{limits: {{cpu: 100m, memory: 64Mi}}}}
"""


def _scenario(folder: Path, n: int) -> Path:
    """``n`` workloads (inline Pods and Deployments in files), each with its image and
    the Deployments with a scale event."""
    folder.mkdir()
    parts = [HEAD, *(IMAGE.format(i=i) for i in range(n)), "workloads:\n"]
    events = []
    for i in range(n):
        if i % 2:
            (folder / f"web-{i}.yaml").write_text(DEPLOYMENT.format(i=i))
            parts.append(FILE_WORKLOAD.format(i=i))
            events.append(f"  - {{at: {i + 1}m, scale: {{workload: web-{i}, replicas: 2}}}}\n")
        else:
            parts.append(INLINE.format(i=i))
    parts += ["events:\n", *events]
    path = folder / "scenario.yaml"
    path.write_text("".join(parts))
    return path


def _trace_scenario(folder: Path, rows: int) -> Path:
    folder.mkdir()
    (folder / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: agent}\nspec:\n  restartPolicy: Never\n"
        "  containers: [{name: runner, image: contoso/app:1.0}]\n"
    )
    lines = ["create_s,delete_s\n"]
    lines += [f"{(i * 7919) % 86400}.5,{(i * 7919) % 86400 + 60}.5\n" for i in range(rows)]
    (folder / "trace.csv").write_text("".join(lines))
    path = folder / "scenario.yaml"
    path.write_text(
        HEAD.removesuffix("images:\n")
        + "workloads:\n  - manifest: pod.yaml\n    arrivals: {trace: trace.csv}\n"
    )
    return path


def _hpsim_lines(fn: Callable[[], Any]) -> int:
    """Lines of hpsim's code executed by ``fn()`` (library code is not counted)."""
    count = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def glob(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename.startswith(HPSIM_DIR) else None

    old = sys.gettrace()
    sys.settrace(glob)
    try:
        fn()
    finally:
        sys.settrace(old)
    return count


def _growth(make: Callable[[Path, int], Path], tmp_path: Path, small: int) -> float:
    """Work for 4x ``small`` over work for ``small``: 4 if linear, less with fixed costs."""
    paths = [make(tmp_path / f"n{n}", n) for n in (small, 4 * small)]
    load(paths[0])  # imports and first-use caches out of the count
    a, b = (_hpsim_lines(lambda p=p: load(p)) for p in paths)
    return b / a


def test_loading_work_grows_linearly_with_the_workloads(tmp_path: Path) -> None:
    # A quadratic step (one pass over all workloads per workload) would add about
    # 4x as much again; a slightly longer number in each name adds a little.
    assert _growth(_scenario, tmp_path, 20) < 4.1


def test_loading_work_grows_linearly_with_the_trace_rows(tmp_path: Path) -> None:
    assert _growth(_trace_scenario, tmp_path, 2_000) < 4.1
