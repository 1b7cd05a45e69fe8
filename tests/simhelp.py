"""Small builders for scenarios written as Python dicts in the tests."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import simpy

import hpsim
from hpsim import native
from hpsim.scenario.load import load_data

#: A test that patches or subclasses the node model's classes, which a compiled build
#: forbids (hpsim/native.py): it runs on the pure-Python model, as CI's first pass does.
pure_python_only = pytest.mark.skipif(
    native.active(), reason="patches the node model: pure-Python model only"
)

# A 0-byte sandbox image: pulls of it take no time, so timings count only what a test sets.
PAUSE = {"name": "test/pause:1", "layers": [{"size": 0, "unpacked": 0}]}


def node(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "cpu": 4,
        "memory": "16Gi",
        "pagefile": "0",
        # Nothing committed but the pods' own: a test that wants the node's own commit
        # (Windows, kubelet, containerd; a silo per process-isolated container) sets it.
        "systemCommit": "0",
        "isolatedContainerCommit": "0",
        "network": "100MiB/s",
        "unpackRate": "20MiB/s",
        # No scanning: the rate a test sets is the rate layers extract at.
        "antivirus": {"realTimeScanning": False},
        "containerd": {"version": "1.7.22", "sandboxImage": "test/pause:1"},
        "startup": {
            "sandbox": "2s",
            "container": "1s",
            "hostProcessSandbox": "0.5s",
            "hostProcessContainer": "0.5s",
        },
    }
    base.update(over)
    return base


def pod(
    name: str,
    image: str = "test/app:1",
    *,
    limits: dict | None = None,
    requests: dict | None = None,
    restart: str | None = None,
    host_process: bool = False,
    kind: str = "Pod",
    **spec_over: Any,
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": image}
    res = {}
    if limits:
        res["limits"] = limits
    if requests:
        res["requests"] = requests
    if res:
        container["resources"] = res
    spec: dict[str, Any] = {"containers": [container], **spec_over}
    if restart:
        spec["restartPolicy"] = restart
    if host_process:
        spec["hostNetwork"] = True
        spec["securityContext"] = {
            "windowsOptions": {"hostProcess": True, "runAsUserName": "NT AUTHORITY\\SYSTEM"}
        }
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}
    body: dict[str, Any] = {"template": {"metadata": {"labels": {"app": name}}, "spec": spec}}
    return {
        "apiVersion": "batch/v1" if kind == "Job" else "apps/v1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": body,
    }


def scenario(
    workloads: list[dict], images: list[dict] | None = None, *, duration: str = "1h", **top: Any
) -> dict[str, Any]:
    data = {
        "name": "t",
        "duration": duration,
        "node": top.pop("node", node()),
        "images": [copy.deepcopy(PAUSE), *(images or [])],
        "workloads": workloads,
        **top,
    }
    return data


def run(data: dict[str, Any], seed: int = 0, replications: int | None = None):
    return hpsim.run(load_data(data), seed=seed, replications=replications)


class CountingEnvironment(simpy.Environment):
    """simpy's Environment, counting the events it processes (what a run costs)."""

    def __init__(self) -> None:
        super().__init__()
        self.processed = 0

    def step(self) -> None:
        self.processed += 1
        super().step()


# kube-scheduler's PostFilter part of a FailedScheduling message on one node (k/k
# pkg/scheduler/framework/plugins/defaultpreemption PostFilter): nothing to preempt.
NO_VICTIMS = " preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
NOT_HELPFUL = " preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
