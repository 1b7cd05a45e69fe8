"""kubelet's hard eviction on Windows (ref §4.5).

Before Kubernetes 1.31 the Windows kubelet enforced no eviction threshold
(k/k #73417), though evictionHard was still subtracted from allocatable. From
1.31 (k/k PR #122922) it checks every 10 s (the eviction manager's monitoring
interval) ``memory.available`` -- on Windows the *commit* memory left: RAM +
pagefile - committed -- and ``nodefs.available``, against evictionHard
(default memory.available<500Mi, nodefs.available<10%).

When a signal crosses its threshold it first reclaims at node level (for
disk: delete every unused image, ``DeleteUnusedImages``), then, if still
short, evicts one pod per pass: pods whose usage exceeds their request first,
then lower priority, then higher usage (eviction/helpers.go rankMemoryPressure
/ rankDiskPressure, [UNCONFIRMED for Windows]). Critical pods
(system-node-critical / system-cluster-critical) are never evicted. Hard
thresholds give no grace period.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simpy.events import Timeout

from hpsim.node.scheduler import default_eviction_hard, threshold_bytes
from hpsim.scenario.schema import version_tuple

if TYPE_CHECKING:
    from hpsim.node.node import WindowsNode
    from hpsim.node.pod import Pod

EVICTION_MONITORING_PERIOD_S = 10.0  # kubelet evictionMonitoringPeriod
# evictionPressureTransitionPeriod default 5m (defaults.go, ref §4.1): a pressure condition
# stays until its threshold has not been met for this long.
PRESSURE_TRANSITION_S = 300.0
# TaintNodesByCondition: the node lifecycle controller taints a node under pressure.
CONDITION_TAINTS = {
    "ephemeral-storage": ("node.kubernetes.io/disk-pressure", "", "NoSchedule"),
    "memory": ("node.kubernetes.io/memory-pressure", "", "NoSchedule"),
}
CRITICAL_PRIORITY = 2_000_000_000  # scheduling.SystemCriticalPriority


class EvictionManager:
    """Hard-threshold eviction, as the node's Kubernetes version does it on Windows."""

    def __init__(self, node: WindowsNode) -> None:
        self.node = node
        self.env = node.env
        spec = node.spec
        self.enforced = version_tuple(spec.kubernetes) >= (1, 31, 0)
        hard = spec.kubelet.eviction_hard
        hard = hard if hard is not None else default_eviction_hard(spec.kubernetes)
        commit_limit = float(spec.memory + spec.pagefile)
        self.memory_min = (
            threshold_bytes(hard["memory.available"], commit_limit)
            if "memory.available" in hard
            else None
        )
        self.nodefs_min = (
            threshold_bytes(hard["nodefs.available"], float(spec.disk))
            if "nodefs.available" in hard
            else None
        )
        self._last_met: dict[str, float] = {}  # resource -> last time its threshold was met

    def condition_taints(self) -> list[tuple[str, str, str]]:
        """Taints of the pressure conditions the node has now."""
        return [CONDITION_TAINTS[r] for r in self._last_met]

    def start(self) -> None:
        if self.enforced:
            self._arm()

    def _arm(self) -> None:
        # A timer, not a process: the check runs every 10 s for the whole run.
        Timeout(self.env, EVICTION_MONITORING_PERIOD_S).callbacks.append(self._tick)

    def _tick(self, _timer: object) -> None:
        # Both signals are O(1) to read. With no pressure condition standing and neither
        # threshold met, a check would do nothing: it is the same as skipping it.
        if self._last_met or self._disk_short() or self._memory_short():
            self.synchronize()
        self._arm()

    def _disk_short(self) -> bool:
        """nodefs.available is below its threshold."""
        return self.nodefs_min is not None and self.node.volume.available() < self.nodefs_min

    def _memory_short(self) -> bool:
        """memory.available (commit left) is below its threshold."""
        ledger = self.node.ledger
        return (
            self.memory_min is not None
            and ledger.commit_limit - ledger.committed() < self.memory_min
        )

    def synchronize(self) -> None:
        node = self.node
        now = self.env.now
        cleared = (
            [r for r, t in self._last_met.items() if now - t >= PRESSURE_TRANSITION_S]
            if self._last_met
            else ()
        )
        for r in cleared:
            del self._last_met[r]
            node.rec.event(
                now,
                "Node",
                node.spec.name,
                "NodeHasNoDiskPressure" if r != "memory" else "NodeHasSufficientMemory",
                "",
            )
        if cleared:
            node.schedule()
        if self._disk_short():
            self._pressure("ephemeral-storage")
            node.imagegc.delete_unused()
            if self._disk_short():
                self._evict_one("ephemeral-storage", now)
        elif self._memory_short():
            self._pressure("memory")
            self._evict_one("memory", now)

    def _pressure(self, resource: str) -> None:
        if resource not in self._last_met:
            self.node.rec.event(
                self.env.now,
                "Node",
                self.node.spec.name,
                "NodeHasDiskPressure" if resource != "memory" else "NodeHasInsufficientMemory",
                "",
                "Warning",
            )
        self._last_met[resource] = self.env.now
        self.node.rec.event(
            self.env.now,
            "Node",
            self.node.spec.name,
            "EvictionThresholdMet",
            f"Attempting to reclaim {resource}",
            "Warning",
        )

    def _usage(self, pod: Pod, resource: str) -> float:
        if resource == "memory":
            return sum(
                self.node.ledger.committed(k)
                for k in self.node.keys_of(pod)
                if k in self.node.ledger
            )
        return self.node.volume.pod_usage(pod.uid)

    def _evict_one(self, resource: str, now: float) -> None:
        # Pods already terminating are on their way out: not eviction candidates.
        candidates = [
            p
            for p in self.node.live_pods()
            if p.bound and p.delete_requested is None and p.priority < CRITICAL_PRIORITY
        ]
        if not candidates:
            return

        def rank(p: Pod) -> tuple[bool, int, float, int]:
            usage = self._usage(p, resource)
            request = p.memory_request if resource == "memory" else p.ephemeral_request
            return (not usage > request, p.priority, -usage, p.uid)

        victim = min(candidates, key=rank)
        usage = self._usage(victim, resource)
        message = (
            f"The node was low on resource: {resource}. Container was using "
            f"{int(usage)} bytes, request is "
            f"{victim.memory_request if resource == 'memory' else victim.ephemeral_request}."
        )
        self.node.evict(victim, message)
