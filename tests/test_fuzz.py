"""Hostile scenarios, generated (hypothesis): every input is either refused with one
clear line naming a file, or it runs, in a bounded number of events, to tables and a
summary. Never a traceback, never a hang.

Each example takes a valid scenario (a DaemonSet, a Deployment with a lifetime, a
Job, Pods on a Poisson arrival; several base images) and applies a few mutations at
random places: a value replaced by something absurd (0, a negative, 1e308, a huge
integer, garbage, a control character, an empty map), a key deleted, an unknown key
added. The file is written as YAML and goes the way a user's file goes: load, then
the model, then the tables and the summary.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import simpy
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpsim.cluster.cluster import Cluster
from hpsim.errors import HpsimError
from hpsim.experiment.run import disk_bytes_by_pool
from hpsim.observe.recorder import Recorder
from hpsim.observe.results import summarize, tables_from_records
from hpsim.scenario.load import load

# The most events one example may process: a run that needs more is cut there (the
# zero-time guard must have stopped a loop that does not advance time long before).
EVENT_BUDGET = 60_000

BASE: dict[str, Any] = yaml.safe_load(
    """
name: fuzz
duration: 2h
seed: 3
node:
  osBuild: 10.0.20348.2227
  cpu: 4
  memory: 8Gi
  pagefile: 2Gi
  disk: 64Gi
  osDiskUsage: 20Gi
  network: 500Mbit/s
  unpackRate: 14MB/s
  kubernetes: "1.31"
  containerd: {version: "1.7.22"}
  kubelet:
    maxPods: 30
    systemReserved: {cpu: 500m, memory: 1Gi}
    evictionHard: {memory.available: 200Mi, nodefs.available: 10%}
namespaces: {kube-system: privileged, apps: baseline}
images:
  - name: contoso/agent:1
    base: mcr.microsoft.com/oss/kubernetes/windows-host-process-containers-base-image:v1.0.0
    layers: [{size: 40Mi, unpacked: 90Mi}]
  - name: contoso/web:1
    base: mcr.microsoft.com/windows/nanoserver:ltsc2022
    layers: [{size: 60Mi, unpacked: 150Mi}]
workloads:
  - manifest:
      apiVersion: apps/v1
      kind: DaemonSet
      metadata: {name: agent, namespace: kube-system}
      spec:
        selector: {matchLabels: {app: agent}}
        template:
          metadata: {labels: {app: agent}}
          spec:
            hostNetwork: true
            securityContext:
              windowsOptions: {hostProcess: true, runAsUserName: "NT AUTHORITY\\\\SYSTEM"}
            containers:
              - name: agent
                image: contoso/agent:1
                resources: {limits: {memory: 200Mi}}
    profile: {memory: 80Mi, cpu: 50m, hostWrites: 100Mi/h, memoryGrowth: 1Mi/min}
  - manifest:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web, namespace: apps}
      spec:
        replicas: 3
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec:
            containers:
              - name: web
                image: contoso/web:1
                resources:
                  requests: {cpu: 500m, memory: 512Mi}
                  limits: {cpu: "1", memory: 512Mi}
    lifetime: {lognormal: {median: 30m, sigma: 0.5}}
    profile:
      memory: {normal: {mean: 300Mi, sd: 50Mi}}
      spikes: {rate: 2/h, size: 100Mi, duration: 30s}
      cpu: 300m
      rootfsWrites: 50Mi/h
      logRate: 5Mi/h
    onMemoryCap: crash
  - manifest:
      apiVersion: batch/v1
      kind: Job
      metadata: {name: batch, namespace: apps}
      spec:
        completions: 3
        parallelism: 2
        template:
          spec:
            restartPolicy: OnFailure
            containers:
              - name: work
                image: contoso/web:1
                resources: {requests: {cpu: "1", memory: 256Mi}}
    start: 10m
    profile: {memory: 100Mi, cpu: "1", work: 600s}
  - manifest:
      apiVersion: v1
      kind: Pod
      metadata: {name: probe, namespace: apps}
      spec:
        containers:
          - name: probe
            image: contoso/web:1
    arrivals: {poisson: {rate: 4/h, start: 5m, stop: 90m}}
    lifetime: {exponential: {mean: 10m}}
    profile: {memory: 50Mi}
events:
  - {at: 40m, scale: {workload: web, replicas: 5}}
  - {at: 70m, cordon: true}
"""
)

HOSTILE = st.sampled_from(
    [
        0,
        -1,
        1,
        1e308,
        -1e308,
        float("nan"),
        10**30,
        2**63,
        "",
        "garbage",
        "0s",
        "0",
        "-5Gi",
        "1e400",
        "1Ei",
        "web\x1b[31m",
        "a\nb",
        "9999999999d",
        None,
        True,
        [],
        {},
        [1, 2],
        {"fixed": 0},
        {"uniform": {"min": "2h", "max": "1h"}},
    ]
)


def _places(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key and list index below ``node``, as paths from the top."""
    out = [path] if path else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _places(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _places(v, (*path, i))
    return out


PLACES = _places(BASE)


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        data = data[key]
    return data


@st.composite
def hostile_scenario(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PLACES))
        try:
            parent = _parent(data, path)
            key = path[-1]
            parent[key]  # still there after an earlier mutation?
        except (KeyError, IndexError, TypeError):
            continue
        action = draw(st.sampled_from(["set", "set", "set", "delete", "extra"]))
        if action == "set":
            parent[key] = draw(HOSTILE)
        elif action == "delete":
            del parent[key]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "memroy", "$x", "replicas"]))] = draw(HOSTILE)
    return data


class Budget(simpy.Environment):
    """simpy's Environment that stops the run after EVENT_BUDGET events."""

    processed = 0

    def step(self) -> None:
        self.processed += 1
        if self.processed > EVENT_BUDGET:
            raise _OverBudget
        super().step()


class _OverBudget(Exception):
    pass


def _write(tmp: Path, data: dict[str, Any]) -> Path:
    path = tmp / "fuzz.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=False))
    return path


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=hostile_scenario())
def test_hostile_scenario_is_refused_in_one_line_or_runs(tmp_path: Path, data: dict) -> None:
    path = _write(tmp_path, data)
    try:
        loaded = load(path)
    except HpsimError as exc:
        text = str(exc)
        assert "\n" not in text and "\x1b" not in text, text
        assert text.startswith(str(path)) or "fuzz.yaml" in text, text
        return
    env = Budget()
    rec = Recorder()
    try:
        node = Cluster(loaded, np.random.SeedSequence(loaded.scenario.seed), rec, env=env)
        node.start()
        env.run(until=float(loaded.scenario.duration))
        node.finish()
    except _OverBudget:
        # Cut, not hung: time must have moved (a zero-time loop is the guard's to stop).
        assert env.now > 0, "events at t=0 only"
        return
    except HpsimError as exc:
        assert "\n" not in str(exc)
        return
    tables = tables_from_records(rec)
    sc = loaded.scenario
    summary = summarize(
        tables, sc.duration, disk_bytes_by_pool=disk_bytes_by_pool(sc), image_gc_runs=0
    )
    assert summary["pods_created"] == len(tables["pods"])
