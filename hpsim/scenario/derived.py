"""Settings that follow from a node's spec alone: one source of truth for model and report.

- Allocatable = capacity - systemReserved - kubeReserved - evictionHard (Kubernetes docs
  "Reserve Compute Resources for System Daemons",
  https://kubernetes.io/docs/tasks/administer-cluster/reserve-compute-resources/). On
  Windows evictionHard is subtracted even where it is not enforced (kubernetes/kubernetes#73417).
- evictionHard's Windows defaults by Kubernetes version, and whether the Windows kubelet
  enforces them at all (k/k pkg/kubelet/eviction/defaults_windows.go, from 1.31 with
  kubernetes/kubernetes#122922).
- The commit limit: RAM + pagefile (Kubernetes docs "Resource Management for Windows nodes",
  https://kubernetes.io/docs/concepts/configuration/windows-resource-management/).

The model sizes the node with these functions and the report draws the same lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from hpsim.scenario.schema import (
    EVICTION_ENFORCED_FROM,
    NodeSpec,
    default_eviction_hard,
    eviction_threshold_bytes,
    version_tuple,
)

__all__ = [
    "EVICTION_ENFORCED_FROM",
    "Allocatable",
    "EvictionThresholds",
    "allocatable",
    "commit_limit",
    "default_eviction_hard",
    "eviction_enforced",
    "eviction_hard",
    "eviction_thresholds",
    "threshold_bytes",
]


def eviction_hard(node: NodeSpec) -> dict[str, str]:
    """The node's evictionHard: its kubelet's setting, else the version's Windows default.

    ``0%`` and ``100%`` are left out: kubelet ignores them (k/k pkg/kubelet/eviction/helpers.go
    parseThresholdStatement, "ignore 0% and 100%").
    """
    hard = node.kubelet.eviction_hard
    if hard is None:
        return default_eviction_hard(node.kubernetes)
    return {k: v for k, v in hard.items() if v not in ("0%", "100%")}


def eviction_enforced(node: NodeSpec) -> bool:
    """Whether this node's kubelet evicts at all (Windows: from Kubernetes 1.31)."""
    return version_tuple(node.kubernetes) >= EVICTION_ENFORCED_FROM


def threshold_bytes(value: str, capacity: float) -> int:
    """An evictionHard value: a percentage of ``capacity`` or a quantity."""
    return eviction_threshold_bytes(value, capacity)


def commit_limit(node: NodeSpec) -> int:
    """What the node can commit in all, in bytes: RAM + pagefile."""
    return node.memory + node.pagefile


@dataclass(frozen=True)
class EvictionThresholds:
    """Hard thresholds in bytes (None: the signal has no threshold)."""

    memory_available: int | None  # of the commit limit: Windows' memory.available is commit
    nodefs_available: int | None


def eviction_thresholds(node: NodeSpec) -> EvictionThresholds:
    hard = eviction_hard(node)
    memory = hard.get("memory.available")
    nodefs = hard.get("nodefs.available")
    return EvictionThresholds(
        memory_available=threshold_bytes(memory, float(commit_limit(node)))
        if memory is not None
        else None,
        nodefs_available=threshold_bytes(nodefs, float(node.disk)) if nodefs is not None else None,
    )


@dataclass(frozen=True)
class Allocatable:
    cpu_m: int
    memory: int
    ephemeral_storage: int
    pods: int


def allocatable(node: NodeSpec) -> Allocatable:
    """The node's allocatable resources."""
    k = node.kubelet
    hard = eviction_hard(node)
    mem_hard = (
        threshold_bytes(hard["memory.available"], node.memory) if "memory.available" in hard else 0
    )
    disk_hard = (
        threshold_bytes(hard["nodefs.available"], node.disk) if "nodefs.available" in hard else 0
    )
    return Allocatable(
        cpu_m=node.cpu * 1000 - k.system_reserved.cpu - k.kube_reserved.cpu,
        memory=node.memory - k.system_reserved.memory - k.kube_reserved.memory - mem_hard,
        ephemeral_storage=node.disk
        - k.system_reserved.ephemeral_storage
        - k.kube_reserved.ephemeral_storage
        - disk_hard,
        pods=k.max_pods,
    )
