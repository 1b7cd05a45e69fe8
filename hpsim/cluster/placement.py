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
from hpsim.node.scheduler import Usage, matches_node, untolerated_taint
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
        (and, for scoring, the images it holds and its pods by workload)."""
        return plugins.NodeView(
            name=node.name,
            alloc=node.alloc,
            labels=node.labels,
            taints=node.taints,
            unschedulable=node.unschedulable,
            usage=usage,
            nonzero_cpu_m=usage.nonzero_cpu_m,
            nonzero_memory=usage.nonzero_memory,
            images=node.images_held() if images else {},
            host_ports=node.host_ports(),
            workload_pods=node.workload_pods() if images else {},
        )

    def _candidates(self, pod: Pod) -> Iterable[WindowsNode]:
        nodes = self.cluster.nodes
        if pod.pin is None:
            return nodes.values()
        node = nodes.get(pod.pin)
        return [node] if node is not None else []

    # -- one pod ------------------------------------------------------------------------------

    def failure(self, pod: Pod, placement: Placement) -> str | None:
        """None if some node passes every filter; else the FitError message
        (schedule_one.go ``handleSchedulingFailure``: the pod's PodScheduled condition
        carries it whole), its PostFilter part from preemption's dry run."""
        placement.choose = placement.choose or self.choose
        ask = self.ask(pod)
        usages = placement.usages
        nodes = list(self.cluster.nodes.values())
        statuses: list[plugins.FilterStatus] = []
        for node in nodes:
            if not plugins.evaluated(ask, self._stub(node)):
                statuses.append(plugins.FilterStatus(plugins.NOT_EVALUATED))
                continue
            status = plugins.filter_status(ask, self.view(node, usages[node.name]))
            if status.ok:
                return None
            statuses.append(status)
        if not nodes:
            return plugins.NO_NODES_AVAILABLE
        rejected = [s.reasons for s in statuses if s.code != plugins.NOT_EVALUATED]
        postfilter = self._preemption(ask, nodes, statuses, usages)
        return plugins.fit_error_message(len(nodes), rejected, postfilter)

    @staticmethod
    def _stub(node: WindowsNode) -> plugins.NodeView:
        return plugins.NodeView(node.name, node.alloc, {}, [], False, Usage(), 0, 0)

    def _preemption(
        self,
        ask: plugins.PodAsk,
        nodes: list[WindowsNode],
        statuses: list[plugins.FilterStatus],
        usages: dict[str, Usage],
    ) -> str:
        """DefaultPreemption's message after its dry run. hpsim does not carry out a
        preemption: when the dry run finds victims, the message says what it would have
        been without them (the pod waits as if none were found)."""
        views = [self.view(n, usages[n.name]) for n in nodes]
        now = self.cluster.env.now
        bound = [[plugins.BoundPod(*p) for p in n.bound_pods(now)] for n in nodes]
        outcome = plugins.preempt(ask, statuses, views, bound)
        if outcome.node is None:
            return outcome.message
        return plugins.preemption_message(
            [
                s
                if s.code != plugins.UNSCHEDULABLE
                else plugins.FilterStatus(
                    plugins.UNSCHEDULABLE_AND_UNRESOLVABLE, (plugins.REASON_NO_VICTIMS,)
                )
                for s in statuses
            ]
        )

    def event_message(self, why: str) -> str:
        """The FailedScheduling event's message: the FitError, cut to the API's limit."""
        return plugins.truncate_event_message(why)

    def choose(self, pod: Pod, placement: Placement) -> str:
        """The node the pod goes to: the best-scored of those that pass the filters, a
        tie broken at random (``selectHost``)."""
        ask = self.ask(pod)
        usages = placement.usages
        candidates = list(self._candidates(pod))
        feasible = [
            node
            for node in candidates
            if not plugins.filter_node(ask, self.view(node, usages[node.name]))
        ]
        if len(feasible) == 1:
            return feasible[0].name
        nodes = self.cluster.nodes
        everyone = [self.view(n, usages[n.name], images=True) for n in nodes.values()]
        by_name = {v.name: v for v in everyone}
        views = [by_name[n.name] for n in feasible]
        i = plugins.choose(
            ask,
            views,
            len(nodes),
            plugins.nodes_with_image(everyone),
            self.rng,
            weights=self.weights,
            strategy=self.strategy,
            all_nodes=everyone,
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
            view = self.view(node, node.usage)
            if untolerated_taint(ask.spec, view.taints) is None and matches_node(
                ask.spec, view.labels
            ):
                out.append(name)
        return out
