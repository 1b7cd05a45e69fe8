"""The job-object settings a container runs with on a Windows node.

The user (container runAsUserName over the pod's), the CPU rate kubelet computes
(``10000 * MilliValue / numCPU / 1000`` clamped to [1, 10000], k/k
pkg/kubelet/kuberuntime/kuberuntime_container_windows.go) and the memory limit hcsshim applies
(``Limit / 1024 / 1024`` MiB, internal/oci/uvm.go ``ParseAnnotationsMemory``, times
``memory.MiB`` in internal/jobcontainers/oci.go ``specToLimits``; a 0 MiB result sets no
limit, internal/jobobject/limits.go).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hpsim.scenario.podspec import (
    CONTAINER_LISTS,
    as_list,
    as_map,
    container_name,
    effective_host_process,
    effective_user,
    get_in,
    pod_host_process,
)
from hpsim.units import parse_cpu_millicores, parse_memory_bytes

__all__ = [
    "MIB",
    "ContainerSettings",
    "effective_containers",
    "job_cpu_rate",
    "job_memory_limit",
]

MIB = 2**20


@dataclass(frozen=True)
class ContainerSettings:
    """What one container runs with: HostProcess or not, user, job-object limits."""

    name: str
    kind: str  # "container" | "initContainer" | "ephemeralContainer"
    host_process: bool
    user: str | None  # container runAsUserName over the pod's, spelling kept
    job_memory_limit_bytes: int | None  # None: no job memory limit
    job_cpu_rate: int | None  # 1/100 % of the whole host; None: no CPU cap

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "hostProcess": self.host_process,
            "user": self.user,
            "jobMemoryLimitBytes": self.job_memory_limit_bytes,
            "jobCpuRate": self.job_cpu_rate,
        }


def job_cpu_rate(limit_millicores: int, node_cpus: int) -> int:
    """kubelet's CpuMaximum: ``10000 * milli / numCPU / 1000`` (integer), clamped to [1, 10000].

    k/k pkg/kubelet/kuberuntime/kuberuntime_container_windows.go; hcsshim applies it as the
    job's hard-cap CPU rate.
    """
    if node_cpus < 1:
        raise ValueError(f"node_cpus must be at least 1, got {node_cpus}")
    rate = 10000 * limit_millicores // node_cpus // 1000
    return max(1, min(10000, rate))


def job_memory_limit(limit_bytes: int) -> int | None:
    """The job memory limit hcsshim sets for a ``limits.memory`` of ``limit_bytes``.

    ParseAnnotationsMemory floors to whole MiB (``Limit/1024/1024``), specToLimits multiplies
    by ``memory.MiB``, and SetResourceLimits skips a 0 limit: under 1 MiB means no limit.
    """
    mib = limit_bytes // MIB
    return mib * MIB if mib > 0 else None


def effective_containers(spec: Mapping[str, Any], node_cpus: int) -> list[ContainerSettings]:
    """Settings of init then regular containers; ephemeral containers have no resources.

    Limits are parsed with hpsim.units (``QuantityError`` on a bad quantity). A limit of
    zero sets nothing: kubelet skips a zero CPU limit (``IsZero``) and a zero memory limit.
    """
    pod_hp = pod_host_process(spec)
    pod_user = get_in(spec, "securityContext", "windowsOptions", "runAsUserName")
    out = []
    for key, kind in CONTAINER_LISTS[:2]:
        for c in map(as_map, as_list(spec.get(key))):
            limits = as_map(get_in(c, "resources", "limits"))
            memory = cpu = None
            if limits.get("memory") is not None:
                limit_bytes = parse_memory_bytes(limits["memory"])
                memory = job_memory_limit(limit_bytes) if limit_bytes else None
            if limits.get("cpu") is not None:
                millicores = parse_cpu_millicores(limits["cpu"])
                cpu = job_cpu_rate(millicores, node_cpus) if millicores else None
            out.append(
                ContainerSettings(
                    name=container_name(c),
                    kind=kind,
                    host_process=effective_host_process(c, pod_hp),
                    user=effective_user(c, pod_user),
                    job_memory_limit_bytes=memory,
                    job_cpu_rate=cpu,
                )
            )
    return out
