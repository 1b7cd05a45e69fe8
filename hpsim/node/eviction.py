"""kubelet's hard eviction on Windows (k/k pkg/kubelet/eviction).

Before Kubernetes 1.31 the Windows kubelet enforced no eviction threshold
(k/k #73417), though evictionHard was still subtracted from allocatable. From
1.31 (k/k PR #122922) it checks every 10 s (the eviction manager's monitoring
interval) ``memory.available`` -- on Windows the *commit* memory left: RAM +
pagefile - committed -- and ``nodefs.available``, against evictionHard
(default memory.available<500Mi, nodefs.available<10%).

When a signal crosses its threshold it first reclaims at node level (for
disk: remove every dead container of terminated pods and delete every unused
image, ``DeleteAllUnusedContainers`` and ``DeleteUnusedImages``), then, if still
short, evicts one pod per pass: pods whose usage exceeds their request first,
then lower priority, then higher usage (eviction/helpers.go rankMemoryPressure
/ rankDiskPressure, [UNCONFIRMED for Windows]). Critical pods
(system-node-critical / system-cluster-critical) are never evicted. Hard
thresholds give no grace period.

Ephemeral-storage limits are enforced in the same 10 s loop, on every version
(LocalStorageCapacityIsolation, on by default since 1.10 and GA in 1.25; k/k issue
#83038 shows a Windows 1.14 node evicting for it): before the thresholds, each pod
whose ephemeral storage exceeds its pod-level limit (PodLimits) is evicted, else one
with a container past its own limit (eviction_manager.go ``localStorageEviction``,
``podEphemeralStorageLimitEviction``, ``containerEphemeralStorageLimitEviction``),
at once and with kubelet's words (eviction/helpers.go
``podEphemeralStorageMessageFmt``, ``containerEphemeralStorageMessageFmt``); a pass
that evicts so takes no other action. emptyDir sizeLimit is not modelled.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import simpy

from hpsim.facts import Emitter
from hpsim.node.clock import EVICTION_TICK_PRIORITY, SLACK_BYTES, Grid, Tick
from hpsim.node.jobobject import CommitLedger
from hpsim.node.pod import Pod
from hpsim.node.storage import Volume
from hpsim.scenario.derived import EvictionThresholds

EVICTION_MONITORING_PERIOD_S = 10.0  # kubelet evictionMonitoringPeriod
# evictionPressureTransitionPeriod default 5m (k/k pkg/kubelet/apis/config/v1beta1/defaults.go):
# a pressure condition stays until its threshold has not been met for this long.
PRESSURE_TRANSITION_S = 300.0
# TaintNodesByCondition: the node lifecycle controller taints a node under pressure.
CONDITION_TAINTS = {
    "ephemeral-storage": ("node.kubernetes.io/disk-pressure", "", "NoSchedule"),
    "memory": ("node.kubernetes.io/memory-pressure", "", "NoSchedule"),
}
CRITICAL_PRIORITY = 2_000_000_000  # scheduling.SystemCriticalPriority


def quantity_text(n: int) -> str:
    """A byte count as resource.Quantity String() writes it in canonical form
    (apimachinery pkg/api/resource): with the largest binary suffix that divides it
    (``1536Mi``) or the largest decimal one (``2G``), whichever is shorter (binary on a
    tie: the format the user wrote is not kept, and ``Gi`` is how limits are written),
    else the bare number."""
    forms = [str(n)]
    if n:
        for suffix, scale in (
            ("Ei", 60),
            ("Pi", 50),
            ("Ti", 40),
            ("Gi", 30),
            ("Mi", 20),
            ("Ki", 10),
        ):
            if n % 2**scale == 0:
                forms.append(f"{n // 2**scale}{suffix}")
                break
        for suffix, exp in (("E", 18), ("P", 15), ("T", 12), ("G", 9), ("M", 6), ("k", 3)):
            if n % 10**exp == 0:
                forms.append(f"{n // 10**exp}{suffix}")
                break
    return min(reversed(forms), key=len)


class EvictionManager:
    """Hard-threshold eviction, as the node's Kubernetes version does it on Windows."""

    def __init__(
        self,
        env: simpy.Environment,
        emit: Emitter,
        node_name: str,
        thresholds: EvictionThresholds,
        *,
        enforced: bool,
        volume: Volume,
        ledger: CommitLedger,
        reclaim_disk: Callable[[], object],
        candidates: Callable[[], list[Pod]],
        memory_usage: Callable[[Pod], float],
        evict: Callable[[Pod, str], None],
        conditions_cleared: Callable[[], None],
        storage: Callable[[Pod], tuple[float, float, dict[str, tuple[float, float]]]],
        limited: Callable[[], list[Pod]],
    ) -> None:
        """``reclaim_disk`` reclaims at node level for nodefs: every unused container, then
        every unused image (``DeleteAllUnusedContainers``, ``DeleteUnusedImages``);
        ``candidates`` are the pods on the node; ``evict`` kills one;
        ``conditions_cleared`` is told when a pressure condition (and its taint) goes;
        ``storage`` is a pod's ephemeral storage as kubelet's stats count it (bytes,
        growth, per container) and ``limited`` the pods with an ephemeral-storage limit."""
        self.env = env
        self.emit = emit
        self.node_name = node_name
        self.enforced = enforced
        self.volume = volume
        self.ledger = ledger
        self._reclaim_disk = reclaim_disk
        self._candidates = candidates
        self._memory_usage = memory_usage
        self._evict = evict
        self._conditions_cleared = conditions_cleared
        self._storage = storage
        self._limited = limited
        self.memory_min = thresholds.memory_available
        self.nodefs_min = thresholds.nodefs_available
        self._last_met: dict[str, float] = {}  # resource -> last time its threshold was met
        self._grid: Grid | None = None  # the checks' instants, once started
        self._armed_at: float | None = None  # the instant of the check set next
        self._generation = 0  # a scheduled check of an older generation does nothing
        self._checking = False  # inside a check: what it changes is seen by the next plan

    def condition_taints(self) -> list[tuple[str, str, str]]:
        """Taints of the pressure conditions the node has now."""
        return [CONDITION_TAINTS[r] for r in self._last_met]

    def retire(self) -> None:
        """The node is deleted: no more checks."""
        self._generation += 1
        self._grid = None

    def start(self) -> None:
        # Limits are enforced on every version; thresholds only where ``enforced``.
        self._grid = Grid(self.env.now, EVICTION_MONITORING_PERIOD_S)
        self._plan()

    # -- when to look -----------------------------------------------------------------------------
    #
    # A check with no pressure condition standing and neither threshold met does nothing, so
    # only the checks that can find a threshold met are taken (hpsim.node.clock): both signals
    # are linear in time between changes of the volume or the commit ledger, which tell
    # ``signals_changed``; no check before the instant a threshold can be met (with SLACK_BYTES
    # of margin against rounding: early, never late) can find it met. A check taken that
    # finds nothing is as exact as one skipped, so checks may be taken early at will.

    def signals_changed(self) -> None:
        """The volume or the commit ledger changed: a threshold may now be met sooner."""
        if self._grid is not None and not self._checking:
            self._plan()

    def _plan(self) -> None:
        now = self.env.now
        when = self._threshold_time(now)
        armed = self._armed_at
        if armed is not None and (armed <= when or armed <= now + EVICTION_MONITORING_PERIOD_S):
            return  # the check already set comes soon enough (an early one is exact)
        if when == math.inf:
            return
        grid = self._grid
        assert grid is not None
        soonest = grid.after(now)  # checks at ``now`` come before anything else at ``now``
        k = max(soonest, grid.from_(when))
        if k > soonest + 1:
            # Far off: look again halfway there. Signals that change on and off (pods come
            # and go) then move the check only when they bring the threshold nearer than
            # that, and a steady approach costs a look per halving of the distance.
            k = soonest + (k - soonest) // 2
        self._generation += 1
        self._armed_at = at = grid.at(k)
        gen = self._generation
        Tick(self.env, at, EVICTION_TICK_PRIORITY).callbacks.append(lambda _e: self._tick(gen))

    def _threshold_time(self, now: float) -> float:
        """The first instant a threshold can be met at the signals' present slopes: ``now``
        if one is met or a condition stands, ``inf`` if none can be."""
        if self._last_met:
            return now  # a condition stands: every check, until it clears
        when = self._limit_time(now)
        if not self.enforced:
            return when
        if self.nodefs_min is not None:
            room = self.volume.available() - self.nodefs_min - SLACK_BYTES
            if room <= 0:
                return now
            rate = self.volume.slopes()[0]
            if rate > 0:
                when = min(when, now + room / rate)
        if self.memory_min is not None:
            ledger = self.ledger
            room = ledger.commit_limit - ledger.committed() - self.memory_min - SLACK_BYTES
            if room <= 0:
                return now
            rate = ledger.slope()
            if rate > 0:
                when = min(when, now + room / rate)
        return when

    def _limit_time(self, now: float) -> float:
        """The first instant a pod's or container's ephemeral storage can exceed its limit
        at the present growth (SLACK_BYTES early); ``now`` if one does."""
        when = math.inf
        for pod in self._limited():
            total, growth, per = self._storage(pod)
            checks = [(total, growth, pod.ephemeral_limit)]
            checks += [
                (*per.get(n, (0.0, 0.0)), lim) for n, lim in pod.container_ephemeral_limits.items()
            ]
            for used, rate, limit in checks:
                if limit is None:
                    continue
                room = limit - used - SLACK_BYTES
                if room <= 0:
                    return now
                if rate > 0:
                    when = min(when, now + room / rate)
        return when

    def _tick(self, generation: int) -> None:
        if generation != self._generation:
            return  # a later plan replaced this check
        self._armed_at = None
        if (
            self._last_met
            or self._disk_short()
            or self._memory_short()
            or self._limit_time(self.env.now) <= self.env.now
        ):
            self._checking = True
            try:
                self.synchronize()
            finally:
                self._checking = False
        self._plan()

    def _disk_short(self) -> bool:
        """nodefs.available is below its threshold (where thresholds are enforced)."""
        return (
            self.enforced
            and self.nodefs_min is not None
            and self.volume.available() < self.nodefs_min
        )

    def _memory_short(self) -> bool:
        """memory.available (commit left) is below its threshold."""
        ledger = self.ledger
        return (
            self.enforced
            and self.memory_min is not None
            and ledger.commit_limit - ledger.committed() < self.memory_min
        )

    def synchronize(self) -> None:
        now = self.env.now
        cleared = (
            [r for r, t in self._last_met.items() if now - t >= PRESSURE_TRANSITION_S]
            if self._last_met
            else ()
        )
        for r in cleared:
            del self._last_met[r]
            self.emit.event(
                now,
                "Node",
                self.node_name,
                "NodeHasNoDiskPressure" if r != "memory" else "NodeHasSufficientMemory",
                "",
            )
        if cleared:
            self._conditions_cleared()
        disk, memory = self._disk_short(), self._memory_short()
        if disk:
            self._pressure("ephemeral-storage")
        elif memory:
            self._pressure("memory")
        if self._local_storage_eviction():
            return  # "If eviction happens in localStorageEviction function, skip the rest"
        if disk:
            self._reclaim_disk()
            if self._disk_short():
                self._evict_one("ephemeral-storage", now)
        elif memory:
            self._evict_one("memory", now)

    def _local_storage_eviction(self) -> bool:
        """``localStorageEviction``: every pod past its ephemeral-storage limit, or with a
        container past its own, is evicted at once; True if any was."""
        evicted = False
        for pod in sorted(self._limited(), key=lambda p: p.uid):
            if pod.delete_requested is not None or pod.priority >= CRITICAL_PRIORITY:
                continue  # going already; critical pods are never evicted (evictPod)
            total, _growth, per = self._storage(pod)
            limit = pod.ephemeral_limit
            if limit is not None and int(total) > limit:
                self._evict(
                    pod,
                    "Pod ephemeral local storage usage exceeds the total limit of containers "
                    f"{quantity_text(limit)}. ",
                )
                evicted = True
                continue
            for name, own in pod.container_ephemeral_limits.items():
                if int(per.get(name, (0.0, 0.0))[0]) > own:
                    self._evict(
                        pod,
                        f'Container {name} exceeded its local ephemeral storage limit "'
                        f'{quantity_text(own)}". ',
                    )
                    evicted = True
                    break
        return evicted

    def _pressure(self, resource: str) -> None:
        if resource not in self._last_met:
            self.emit.event(
                self.env.now,
                "Node",
                self.node_name,
                "NodeHasDiskPressure" if resource != "memory" else "NodeHasInsufficientMemory",
                "",
                "Warning",
            )
        self._last_met[resource] = self.env.now
        self.emit.event(
            self.env.now,
            "Node",
            self.node_name,
            "EvictionThresholdMet",
            f"Attempting to reclaim {resource}",
            "Warning",
        )

    def _usage(self, pod: Pod, resource: str) -> float:
        if resource == "memory":
            return self._memory_usage(pod)
        return self._storage(pod)[0]

    def _evict_one(self, resource: str, now: float) -> None:
        # Pods already terminating are on their way out: not eviction candidates.
        candidates = [
            p
            for p in self._candidates()
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
        self._evict(victim, message)
