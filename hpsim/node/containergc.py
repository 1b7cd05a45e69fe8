"""kubelet's removal of dead containers: the pod container deletor and container GC.

A container instance that exits keeps its files: its scratch ``sandbox.vhdx``
(the containerd snapshot, removed with the container: CRI RemoveContainer) and
its log file (kubelet removes it with the container, k/k
pkg/kubelet/kuberuntime/kuberuntime_container.go ``removeContainer`` ->
``removeContainerLog``). Two parts of kubelet remove them:

- The pod container deletor (k/k pkg/kubelet/pod_container_deletor.go), on
  every ContainerDied event (pkg/kubelet/kubelet.go ``syncLoopIteration`` ->
  ``cleanUpContainersInPod``): of the exited instances of that container it
  keeps the newest ``max(MaxPerPodContainer, minDeadContainerInPod)`` = 1
  (kubelet.go ``newPodContainerDeletor``; ``minDeadContainerInPod = 1``) and
  removes the rest. So a restarting container holds its running instance and
  the one before it, never more. PLEG's 1 s relist is taken as instant, as it
  is for restarts. The kubelet does this (``Kubelet._container_died``).
- Container GC (this module), every ``ContainerGCPeriod`` = 1 min (kubelet.go),
  with the policy of the kubelet's flags (cmd/kubelet/app/options/options.go
  ``NewKubeletFlags``: MinimumGCAge 0, MaxPerPodContainerCount 1,
  MaxContainerCount -1; pkg/kubelet/kuberuntime/kuberuntime_gc.go
  ``evictContainers``): every container of a pod that is deleted and
  terminated goes (``ShouldPodContentBeRemoved``), then each container keeps
  at most one dead instance -- which the deletor already ensured -- and no
  node-wide cap applies (-1). What is left for a pass to do under these
  defaults is the pods that had ended (Succeeded, Failed) before they were
  deleted: no container of theirs dies any more, so no deletor removes them.
  A pod deleted while running is removed when its containers die (the
  deletor with ``removeAll``), and an evicted one at once (``IsEvicted``).

A pass with no such pod does nothing, so passes are taken only when one is
waiting (hpsim.node.clock): the first grid instant after it was deleted, the
pass every-pass kubelet would have removed it at.
"""

from __future__ import annotations

from collections.abc import Callable

import simpy

from hpsim.node.clock import CONTAINER_GC_TICK_PRIORITY, Grid, Tick
from hpsim.node.pod import Pod

CONTAINER_GC_PERIOD_S = 60.0  # k/k pkg/kubelet/kubelet.go ContainerGCPeriod


class ContainerGC:
    """Periodic container GC: removes the dead containers of deleted, terminated pods."""

    def __init__(self, env: simpy.Environment, remove: Callable[[Pod], None]) -> None:
        """``remove`` removes every dead container of a pod (its scratch and logs)."""
        self.env = env
        self._remove = remove
        self._waiting: dict[int, Pod] = {}  # deleted terminated pods whose containers remain
        self._grid: Grid | None = None
        self._armed: int | None = None  # the pass set next
        self._generation = 0

    def start(self) -> None:
        self._grid = Grid(self.env.now, CONTAINER_GC_PERIOD_S)
        self._arm(self._next_pass(0))

    def pod_deleted(self, pod: Pod) -> None:
        """A pod that had ended was deleted: its dead containers go at the next pass."""
        self._waiting[pod.uid] = pod
        grid = self._grid
        if grid is not None and self._armed is None:
            self._arm(grid.after(self.env.now))

    def remove_all(self) -> None:
        """Every waiting pod's containers go now (eviction's ``DeleteAllUnusedContainers``)."""
        waiting, self._waiting = self._waiting, {}
        for pod in waiting.values():
            self._remove(pod)

    def _arm(self, k: int | None) -> None:
        self._generation += 1
        self._armed = k
        if k is None:
            return
        grid = self._grid
        assert grid is not None
        gen = self._generation
        Tick(self.env, grid.at(k), CONTAINER_GC_TICK_PRIORITY).callbacks.append(
            lambda _e: self._tick(gen, k)
        )

    def _tick(self, generation: int, k: int) -> None:
        if generation != self._generation:
            return
        self.garbage_collect()
        self._arm(self._next_pass(k))

    def _next_pass(self, k: int) -> int | None:
        """After pass ``k``: the next pass that can act (None: none until a pod is deleted)."""
        return k + 1 if self._waiting else None

    def garbage_collect(self) -> None:
        """One pass (``GarbageCollect``): the containers of deleted terminated pods go."""
        self.remove_all()
