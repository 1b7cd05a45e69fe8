"""A small scenario for the figure, report and compare tests: a host-path writer and a leaky app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simhelp import node, pod, scenario

import hpsim
from hpsim.observe.plots import Plots
from hpsim.scenario.load import load_data

# The figures of a run, in the report's order.
FIGURES = Plots.NAMES


def small(name: str = "small", description: str = "", **over: Any) -> dict[str, Any]:
    """A HostProcess agent writing 1 GiB/h to host paths and an app leaking to its 200Mi cap.

    The app commits 100 MiB and leaks 10 MiB/min: its job object refuses an
    allocation after 600 s, it exits and restarts (CrashLoopBackOff) within the hour.
    """
    wls = [
        {
            "manifest": pod("agent", "contoso/agent:1", host_process=True),
            "profile": {"memory": "50Mi", "hostWrites": "1Gi/h"},
        },
        {
            "manifest": pod("app", "contoso/app:1", limits={"memory": "200Mi"}),
            "profile": {"memory": "100Mi", "memoryGrowth": "10Mi/min"},
        },
    ]
    images = [
        {"name": "contoso/agent:1", "layers": [{"size": "10Mi"}]},
        {"name": "contoso/app:1", "layers": [{"size": "20Mi"}]},
    ]
    # Nothing pre-pulled: the node pulls the sandbox image too (three pulls to draw).
    top = {"node": node(disk="64Gi", prePulledImages=[]), **over}
    data = scenario(wls, images, duration="1h", **top)
    data["name"], data["description"] = name, description
    return data


def cpu_bound_sweep(folder: Path) -> Path:
    """A sweep of two points, a 4-CPU and an 8-CPU node, for two pods of 3 CPUs each
    (10 minutes of work, for 30 minutes): on 4 CPUs the second waits, refused for
    Insufficient cpu; on 8 both run at once."""
    wls = [
        {
            "manifest": pod(name, "test/pause:1", requests={"cpu": "3"}, restart="Never"),
            "profile": {"memory": "10Mi", "runFor": "10m"},
        }
        for name in ("first", "second")
    ]
    data = scenario(wls, duration="30m", node=node(cpu=4))
    data["name"] = "cpu-bound"
    hpsim.sweep(load_data(data), {"node.cpu": [4, 8]}, output=folder)
    return folder
