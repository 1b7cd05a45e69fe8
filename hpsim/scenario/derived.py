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
- The rate the node extracts layers at: its unpackRate, slowed by real-time antivirus
  scanning where that is on (the sources are at hpsim.scenario.nodespec.UNPACK_RATE).
- containerd's image_pull_progress_timeout by version (hpsim.scenario.nodespec
  ``pull_progress_timeout``).

The model sizes the node with these functions and the report draws the same lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from hpsim.scenario.schema import (
    EVICTION_ENFORCED_FROM,
    NodeSpec,
    default_eviction_hard,
    eviction_hard,
    eviction_threshold_bytes,
    node_reservation,
    pull_progress_timeout,
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
    "progress_timeout",
    "unpack_throughput",
]


def eviction_enforced(node: NodeSpec) -> bool:
    """Whether this node's kubelet evicts at all (Windows: from Kubernetes 1.31)."""
    return version_tuple(node.kubernetes) >= EVICTION_ENFORCED_FROM


def unpack_throughput(node: NodeSpec) -> float:
    """Bytes of compressed input per second the node's layer applies share."""
    av = node.antivirus
    return node.unpack_rate / (av.unpack_slowdown if av.real_time_scanning else 1.0)


def progress_timeout(node: NodeSpec) -> float:
    """Seconds a pull may read nothing before containerd cancels it (0: never)."""
    return pull_progress_timeout(node.containerd)


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
    limit = float(commit_limit(node))
    return EvictionThresholds(
        memory_available=eviction_threshold_bytes(memory, limit) if memory is not None else None,
        nodefs_available=(
            eviction_threshold_bytes(nodefs, float(node.disk)) if nodefs is not None else None
        ),
    )


@dataclass(frozen=True)
class Allocatable:
    cpu_m: int
    memory: int
    ephemeral_storage: int
    pods: int


def allocatable(node: NodeSpec) -> Allocatable:
    """The node's allocatable resources."""
    reserved = node_reservation(node)
    return Allocatable(
        cpu_m=node.cpu * 1000 - reserved.cpu_m,
        memory=node.memory - reserved.memory,
        ephemeral_storage=node.disk - reserved.ephemeral_storage,
        pods=node.kubelet.max_pods,
    )
