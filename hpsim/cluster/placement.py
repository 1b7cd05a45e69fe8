"""kube-scheduler across the nodes: which nodes a pod may go to, which one it goes to,
and the FailedScheduling message when none will do.

The filters run in the default profile's order and stop at the first plugin that
rejects a node (k/k pkg/scheduler/framework/runtime/framework.go
``RunFilterPlugins``): NodeUnschedulable, NodeName, TaintToleration, NodeAffinity,
NodePorts, NodeResourcesFit (pkg/scheduler/apis/config/v1/default_plugins.go
``getDefaultPlugins``). Among the nodes that pass, the score plugins choose
(:mod:`hpsim.cluster.plugins`); with one node passing, scoring is skipped
(pkg/scheduler/schedule_one.go ``schedulePod``).

The queue (:class:`hpsim.node.schedqueue.SchedulingQueue`) runs a pass over the
pending pods with a :class:`Placement`: every node's requests as the pass has
them so far. Filtering a pod reads it; a pod that fits is placed at once (its
node chosen, its requests added), so the pods after it in the pass see it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import numpy as np

from hpsim.cluster import plugins
from hpsim.node.pod import Pod
from hpsim.node.scheduler import Usage
from hpsim.scenario.load import WorkloadPlan
from hpsim.scenario.schema import SchedulerSettings

if TYPE_CHECKING:
    from hpsim.cluster.cluster import Cluster
    from hpsim.node.node import WindowsNode


class Placement:
    """Every node's requests during one scheduling pass, and the nodes chosen in it."""

    __slots__ = ("choose", "chosen", "usages")

    def __init__(
        self,
        usages: dict[str, Usage],
        chosen: dict[int, str],
        choose: Callable[[Pod, Placement], str] | None = None,
    ) -> None:
        self.usages = usages
        self.chosen = chosen  # pod uid -> node name, shared by the copies
        self.choose = choose

    def copy(self) -> Placement:
        return Placement({k: u.copy() for k, u in self.usages.items()}, self.chosen, self.choose)

    def add(self, pod: Pod) -> None:
        """The pod fits: its node is chosen now, and takes its requests."""
        assert self.choose is not None
        name = self.choose(pod, self)
        self.chosen[pod.uid] = name
        self.usages[name].add(pod)


class Scheduler:
    """kube-scheduler's filters, scores and messages, over the cluster's registered nodes."""

    def __init__(
        self, cluster: Cluster, settings: SchedulerSettings, rng: np.random.Generator
    ) -> None:
        self.cluster = cluster
        self.weights = settings.plugin_weights
        self.strategy = settings.scoring_strategy
        self.rng = rng
        self._asks: dict[tuple[str, str | None], plugins.PodAsk] = {}

    # -- what the plugins read --------------------------------------------------------------

    def ask(self, pod: Pod) -> plugins.PodAsk:
        """What the plugins read of the pod (the same for every pod of its workload and
        node pin)."""
        key = (pod.plan.name, pod.pin)
        ask = self._asks.get(key)
        if ask is None:
            t = pod.template
            ask = self._asks[key] = plugins.pod_ask(
                t.spec, t.kind, pod.plan.name, node_name=pod.pin, priority=pod.priority
            )
        return ask

    @staticmethod
    def view(node: WindowsNode, usage: Usage, images: bool = False) -> plugins.NodeView:
        """What the scheduler's cache holds of ``node`` with ``usage`` requested on it
        (and, for scoring, the images it holds)."""
        return plugins.NodeView(
            name=node.name,
            alloc=node.alloc,
            labels=node.labels,
            taints=node.taints,
            unschedulable=node.unschedulable,
            usage=usage,
            images=node.images_held() if images else {},
        )

    def _candidates(self, pod: Pod) -> Iterable[WindowsNode]:
        nodes = self.cluster.nodes
        if pod.pin is None:
            return nodes.values()
        node = nodes.get(pod.pin)
        return [node] if node is not None else []

    # -- one pod ------------------------------------------------------------------------------

    def failure(self, pod: Pod, placement: Placement) -> str | None:
        """None if some node passes every filter; else the reasons' histogram, as
        FailedScheduling counts them (without the "0/N nodes are available" frame)."""
        placement.choose = placement.choose or self.choose
        ask = self.ask(pod)
        usages = placement.usages
        rejected: list[tuple[str, ...]] = []
        for node in self._candidates(pod):
            reasons = plugins.filter_node(ask, self.view(node, usages[node.name])).reasons
            if not reasons:
                return None
            rejected.append(reasons)
        return plugins.reasons_histogram(len(self.cluster.nodes), rejected, pinned=ask.node_name)

    def event_message(self, why: str) -> str:
        """The FailedScheduling event's message for the histogram ``why``."""
        return plugins.fit_error_text(len(self.cluster.nodes), why)

    def choose(self, pod: Pod, placement: Placement) -> str:
        """The node the pod goes to: the best-scored of those that pass the filters, a
        tie broken at random (``selectHost``)."""
        ask = self.ask(pod)
        usages = placement.usages
        feasible = [
            node
            for node in self._candidates(pod)
            if not plugins.filter_node(ask, self.view(node, usages[node.name])).reasons
        ]
        if len(feasible) == 1:
            return feasible[0].name
        nodes = self.cluster.nodes
        with_image = plugins.nodes_with_images(n.images_held() for n in nodes.values())
        views = [self.view(n, usages[n.name], images=True) for n in feasible]
        i = plugins.choose(
            ask,
            views,
            total_nodes=len(nodes),
            nodes_with_image=with_image,
            weights=self.weights,
            strategy=self.strategy,
            rng=self.rng,
        )
        return feasible[i].name

    def daemon_nodes(self, plan: WorkloadPlan) -> list[str]:
        """The nodes the DaemonSet controller makes a pod for: ``NodeShouldRunDaemonPod``
        (k/k pkg/controller/daemon/daemon_controller.go ``predicates``): the pod's node
        affinity and every NoSchedule/NoExecute taint, with the tolerations the
        controller adds."""
        t = plan.template
        out = []
        for name, node in self.cluster.nodes.items():
            ask = plugins.pod_ask(t.spec, t.kind, plan.name, node_name=name)
            if plugins.daemon_should_run(ask, self.view(node, node.usage)):
                out.append(name)
        return out
