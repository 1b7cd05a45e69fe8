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

Below 100 nodes kube-scheduler filters and scores every node for every pod
(schedule_one.go ``numFeasibleNodesToFind``), and so does hpsim. What a node's
filters and scores give depends on the pod's shape (its workload and node pin:
one :class:`~hpsim.cluster.plugins.PodAsk`) and on a few things about the node, and
a bind changes them on one node only, so each node keeps what it last gave each
shape with the inputs it was worked out from (:class:`NodeMemo`); the nodes whose
inputs did not move answer from it. Normalisation across the feasible nodes,
PodTopologySpread (it counts pods on every node) and the random tie-break still
run for every pod. Kubernetes keeps no such cache: the outcome is the same, only
sooner.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from hpsim.cluster import plugins
from hpsim.node.node import bound_pod
from hpsim.node.pod import Pod
from hpsim.node.scheduler import Usage, matches_node, untolerated_taint
from hpsim.scenario.load import WorkloadPlan
from hpsim.scenario.schema import SchedulerSettings

if TYPE_CHECKING:
    from hpsim.cluster.cluster import Cluster
    from hpsim.node.node import WindowsNode


class Placement:
    """Every node's requests during one scheduling pass, and the nodes chosen in it."""

    __slots__ = ("choose", "chosen", "placed", "placed_n", "usages")

    def __init__(
        self,
        usages: dict[str, Usage],
        chosen: dict[int, str],
        choose: Callable[[Pod, Placement], str] | None = None,
        placed: list[tuple[str, Pod]] | None = None,
        placed_n: int = 0,
    ) -> None:
        self.usages = usages
        self.chosen = chosen  # pod uid -> node name, shared by the copies
        self.choose = choose
        # The pods placed so far in the pass, in order (shared by the copies; a copy
        # sees its first ``placed_n``): the cycles after a bind see the pod as bound.
        self.placed = placed if placed is not None else []
        self.placed_n = placed_n

    def copy(self) -> Placement:
        # The copies share their Usage objects until one changes: ``add`` changes a copy
        # of the node's (a pass copies the placement after every bind).
        return Placement(dict(self.usages), self.chosen, self.choose, self.placed, self.placed_n)

    def add(self, pod: Pod) -> None:
        """The pod fits: its node is chosen now, and takes its requests."""
        assert self.choose is not None
        name = self.choose(pod, self)
        self.chosen[pod.uid] = name
        usage = self.usages[name] = self.usages[name].copy()
        usage.add(pod)
        del self.placed[self.placed_n :]
        self.placed.append((name, pod))
        self.placed_n += 1

    def placed_on(self, node: str) -> list[Pod]:
        return [p for n, p in self.placed[: self.placed_n] if n == node]


# Failure messages whose causes are kept between scheduling passes (a bound, not a tuning).
CAUSES_KEPT = 4096

# A pod's scheduling shape: its workload and node pin (one PodAsk each, Scheduler.ask).
AskKey = tuple[str, str | None]


class NodeMemo:
    """What the filters and the score plugins last gave each pod shape on one node, each
    with the inputs it was worked out from: reused while those inputs are equal. (The
    filters that read the pods on the node, NodePorts and NodeResourcesFit, are a few
    comparisons: they run every time.)

    The key of each entry holds every input the plugins read of the node that can
    change; the rest is fixed for the node object (its name, labels and allocatable
    are set when it registers and never change), and the memo is the node object's
    (:meth:`Scheduler.memo` starts a new one for a new node of the same name).

    - the filters that read the Node (NodeUnschedulable, NodeName, TaintToleration,
      NodeAffinity): spec.unschedulable and the taints, condition and not-ready taints
      included, in order (the first untolerated one names the reason);
    - the scores before normalisation (:class:`~hpsim.cluster.plugins.NodeScores`),
      in two parts: those that do not read the requests, from the taints
      (TaintToleration; NodeAffinity reads the labels) and, for ImageLocality, the size
      the node reports of each of the pod's images with the number of nodes that
      report it and the node count; and those that do, from the requests and non-zero
      requests (NodeResourcesFit, BalancedAllocation);
    - whether the node matches the pod's required node affinity (what
      PodTopologySpread counts pods on): name and labels alone.

    Kubernetes keeps no such memo: it filters and scores every node afresh, and the
    outcome is the same. Measured on benchmarks/bench_pool.py's pool (12 nodes, every
    entry current), one ``choose``: 107 -> 52 us for a web pod, 85 -> 27 us for a
    batch pod. tests/test_placement.py holds every answer to the plugins run afresh.
    """

    __slots__ = ("matches", "node", "node_status", "request_scores", "spec_scores")

    def __init__(self, node: WindowsNode) -> None:
        self.node = node
        self.node_status: dict[AskKey, tuple[tuple[Any, ...], plugins.FilterStatus]] = {}
        self.spec_scores: dict[AskKey, tuple[tuple[Any, ...], tuple[int, int, int]]] = {}
        self.request_scores: dict[AskKey, tuple[tuple[int, ...], tuple[int, int]]] = {}
        self.matches: dict[AskKey, bool] = {}


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
        # Pods that preempted, by the node they were nominated to (status.nominatedNodeName)
        self.nominated: dict[str, dict[int, Pod]] = {}
        # Each failure message's causes (plugins.fit_error_causes), for its event: the
        # caller reads them after the pass, and forgets them between passes
        # (forget_causes) once there are many.
        self.causes: dict[str, str] = {}
        self._memos: dict[str, NodeMemo] = {}  # by node name (NodeMemo)

    # -- what the plugins read --------------------------------------------------------------

    def ask(self, pod: Pod) -> plugins.PodAsk:
        """What the plugins read of the pod (the same for every pod of its workload and
        node pin: its shape, :data:`AskKey`)."""
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

    # -- what each node last gave each pod shape (NodeMemo) ---------------------------------

    def memo(self, node: WindowsNode) -> NodeMemo:
        """The node's memo (a new one for a node object not seen before)."""
        memo = self._memos.get(node.name)
        if memo is None or memo.node is not node:
            memo = self._memos[node.name] = NodeMemo(node)
        return memo

    def node_gone(self, name: str) -> None:
        """The node was deleted: its memo goes with it."""
        self._memos.pop(name, None)

    def _status(
        self,
        memo: NodeMemo,
        shape: AskKey,
        ask: plugins.PodAsk,
        usage: Usage,
        taints: tuple[tuple[str, str, str], ...],
    ) -> plugins.FilterStatus:
        """The filters' status of a pod of ``shape`` on the memo's node with ``usage``
        requested there (``taints``: the node's, now): :func:`plugins.filter_status`, from
        the memo where its inputs are those it was worked out from."""
        node = memo.node
        key: tuple[Any, ...] = (node.unschedulable, taints)
        known = memo.node_status.get(shape)
        if known is None or known[0] != key:
            status = plugins.node_filter_status(ask, self.view(node, usage))
            known = memo.node_status[shape] = (key, status)
        if not known[1].ok:
            return known[1]
        # the filters that read the pods on the node: a few comparisons, not kept
        return plugins.pods_filter_status(ask, node.host_ports(), usage, node.alloc)

    def _scores(
        self,
        memo: NodeMemo,
        shape: AskKey,
        ask: plugins.PodAsk,
        usage: Usage,
        taints: tuple[tuple[str, str, str], ...],
        held: tuple[int | None, ...],
        spread: tuple[tuple[int, ...], int],
    ) -> plugins.NodeScores:
        """The :class:`plugins.NodeScores` of the memo's node for a pod of ``shape`` with
        ``usage`` requested there: ``taints``, the node's now; ``held``, the size the node
        reports of each of the pod's images (None: not there); ``spread``, how many nodes
        report each and the node count (ImageLocality's scaling). The scores that read
        the requests and those that do not are kept apart: a bind moves only the first."""
        key: tuple[Any, ...] = (taints, held, spread)
        known = memo.spec_scores.get(shape)
        if known is None or known[0] != key:
            with_images = dict(zip(ask.images, spread[0], strict=True))
            view = self.view(memo.node, usage, images=True)
            known = memo.spec_scores[shape] = (
                key,
                plugins.spec_scores(ask, view, spread[1], with_images),
            )
        taint, affinity, image = known[1]
        key = (usage.cpu_m, usage.memory, usage.nonzero_cpu_m, usage.nonzero_memory)
        requested = memo.request_scores.get(shape)
        if requested is None or requested[0] != key:
            scores = plugins.request_scores(ask, memo.node.alloc, usage, self.strategy)
            requested = memo.request_scores[shape] = (key, scores)
        fit, balanced = requested[1]
        return plugins.NodeScores(taint, affinity, fit, balanced, image)

    def _matches(self, memo: NodeMemo, shape: AskKey, ask: plugins.PodAsk) -> bool:
        """Whether the memo's node matches the pod's required node affinity (its name and
        labels never change: kept for the node object)."""
        known = memo.matches.get(shape)
        if known is None:
            node = memo.node
            known = memo.matches[shape] = plugins.required_match(ask, self.view(node, node.usage))
        return known

    # -- nominations ------------------------------------------------------------------------

    def _usage(self, node: WindowsNode, usages: dict[str, Usage], pod: Pod) -> Usage:
        """The node's requests as filtering ``pod`` sees them: with those of the pods
        nominated to it whose priority is at least the pod's (k/k
        pkg/scheduler/framework/runtime/framework.go ``addNominatedPods``), so that the
        room a preemption freed is kept for its preemptor."""
        usage = usages[node.name]
        held = self.nominated.get(node.name)
        if not held:
            return usage
        usage = usage.copy()
        for other in held.values():
            if other.uid != pod.uid and other.priority >= pod.priority:
                usage.add(other)
        return usage

    def nominate(self, pod: Pod, node: str) -> None:
        """The pod preempted on ``node``: the room freed there is held for it."""
        self.forget(pod)
        pod.nominated = node
        self.nominated.setdefault(node, {})[pod.uid] = pod
        self.cluster.pending.moved(pod)

    def forget(self, pod: Pod) -> None:
        """The pod is bound or gone: its nomination ends."""
        if pod.nominated is not None:
            self.nominated.get(pod.nominated, {}).pop(pod.uid, None)
            pod.nominated = None
            self.cluster.pending.moved(pod)

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
        carries it whole), its PostFilter part from preemption's dry run (none when the
        dry run finds victims: PostFilter then succeeds and the cluster preempts)."""
        placement.choose = placement.choose or self.choose
        ask = self.ask(pod)
        nodes = list(self.cluster.nodes.values())
        if not nodes:
            self.causes[plugins.NO_NODES_AVAILABLE] = plugins.NO_NODES_AVAILABLE
            return plugins.NO_NODES_AVAILABLE
        placed = placement.usages
        statuses = self._statuses(pod, nodes, lambda n: self._usage(n, placed, pod))
        if statuses is None:
            return None
        usages = {n.name: self._usage(n, placed, pod) for n in nodes}
        outcome = self._dry_run(ask, nodes, statuses, usages, placement)
        rejected = [s.reasons for s in statuses if s.code != plugins.NOT_EVALUATED]
        postfilter = outcome.message if outcome.node is None else None
        message = plugins.fit_error_message(len(nodes), rejected, postfilter)
        if message not in self.causes:
            self.causes[message] = plugins.fit_error_causes(rejected)
        return message

    def _statuses(
        self, pod: Pod, nodes: list[WindowsNode], usage_of: Callable[[WindowsNode], Usage]
    ) -> list[plugins.FilterStatus] | None:
        """Every node's filter status (NOT_EVALUATED outside a DaemonSet pod's node), or
        None as soon as one node passes."""
        ask, shape = self.ask(pod), (pod.plan.name, pod.pin)
        statuses: list[plugins.FilterStatus] = []
        for node in nodes:
            if ask.node_name is not None and ask.node_name != node.name:
                statuses.append(plugins.FilterStatus(plugins.NOT_EVALUATED))
                continue
            usage = usage_of(node)
            status = self._status(self.memo(node), shape, ask, usage, tuple(node.taints))
            if status.ok:
                return None
            statuses.append(status)
        return statuses

    def _dry_run(
        self,
        ask: plugins.PodAsk,
        nodes: list[WindowsNode],
        statuses: list[plugins.FilterStatus],
        usages: dict[str, Usage],
        placement: Placement | None = None,
    ) -> plugins.Preemption:
        """DefaultPreemption's dry run over the nodes, the pods placed earlier in the pass
        counted as bound (only nodes with a pod of lower priority than the pod's can have
        victims: the others are given none)."""
        views = [self.view(n, usages[n.name]) for n in nodes]
        now = self.cluster.env.now
        bound: list[list[plugins.BoundPod]] = []
        for n in nodes:
            placed = placement.placed_on(n.name) if placement is not None else []
            lower = n.lower_priority_than(ask.priority) or any(
                p.priority < ask.priority for p in placed
            )
            pods = [*n.bound_pods(now), *(bound_pod(p, now) for p in placed)] if lower else []
            bound.append([plugins.BoundPod(*p) for p in pods])
        return plugins.preempt(ask, statuses, views, bound)

    def victims(self, pod: Pod) -> tuple[WindowsNode, list[Pod]] | None:
        """What preempting for the pending ``pod`` deletes now, and on which node: the
        dry run on the cluster as it stands (default_preemption.go ``PostFilter``). None
        when nothing can be preempted."""
        ask = self.ask(pod)
        nodes = list(self.cluster.nodes.values())
        if ask.preemption_policy == "Never" or not any(
            n.lower_priority_than(ask.priority) for n in nodes
        ):
            return None
        # PodEligibleToPreemptOthers: not while a lower-priority pod on its nominated node
        # is still terminating ("not eligible due to a terminating pod on the nominated node")
        target = self.cluster.nodes.get(pod.nominated or "")
        if target is not None and target.terminating_below(pod.priority):
            return None
        usages = {n.name: self._usage(n, {k.name: k.usage for k in nodes}, pod) for n in nodes}
        statuses = self._statuses(pod, nodes, lambda n: usages[n.name])
        if statuses is None:
            return None
        outcome = self._dry_run(ask, nodes, statuses, usages)
        if outcome.node is None:
            return None
        node = nodes[outcome.node]
        found = [node.bound_pod(v.key) for v in outcome.victims]
        return node, [p for p in found if p is not None]

    def forget_causes(self) -> None:
        """Between passes: the causes of old messages go once there are ``CAUSES_KEPT``."""
        if len(self.causes) >= CAUSES_KEPT:
            self.causes.clear()

    def event_message(self, why: str) -> str:
        """The FailedScheduling event's message: the FitError, cut to the API's limit."""
        return plugins.truncate_event_message(why)

    def choose(self, pod: Pod, placement: Placement) -> str:
        """The node the pod goes to: the best-scored of those that pass the filters, a
        tie broken at random (``selectHost``)."""
        ask, shape = self.ask(pod), (pod.plan.name, pod.pin)
        usages = placement.usages
        candidates = list(self._candidates(pod))
        if len(candidates) == 1:
            return candidates[0].name  # the pass found it fits (failure() is None)
        nominated = self.nominated
        feasible: list[tuple[NodeMemo, tuple[tuple[str, str, str], ...]]] = []
        for node in candidates:
            name = node.name
            usage = self._usage(node, usages, pod) if nominated.get(name) else usages[name]
            memo, taints = self.memo(node), tuple(node.taints)
            if self._status(memo, shape, ask, usage, taints).ok:
                feasible.append((memo, taints))
        if len(feasible) == 1:
            return feasible[0][0].node.name
        if not feasible:
            raise ValueError("no feasible node")
        everyone = list(self.cluster.nodes.values())
        # ImageLocality's spread: how many nodes report each of the pod's images
        # (snapshot.go createImageExistenceMap, over every node), and the node count.
        held = {n.name: tuple(map(n.images_held().get, ask.images)) for n in everyone}
        reporting = tuple(
            sum(h[i] is not None for h in held.values()) for i in range(len(ask.images))
        )
        spread = (reporting, len(everyone))
        raw = [
            self._scores(m, shape, ask, usages[m.node.name], t, held[m.node.name], spread)
            for m, t in feasible
        ]
        spread_scores = self._spread(shape, ask, feasible, everyone)
        totals = plugins.total_scores(raw, spread_scores, self.weights)
        return feasible[plugins.select_host(totals, self.rng)][0].node.name

    def _spread(
        self,
        shape: AskKey,
        ask: plugins.PodAsk,
        feasible: list[tuple[NodeMemo, Any]],
        everyone: list[WindowsNode],
    ) -> list[int]:
        """PodTopologySpread's scores over the feasible nodes: the workload's pods are
        counted on every node that matches the pod's required node affinity."""
        key = ask.spread_key
        if key is None:
            return [0] * len(feasible)
        counted = [
            (n.labels, count)
            for n in everyone
            if (count := n.workload_pods().get(key, 0)) and self._matches(self.memo(n), shape, ask)
        ]
        here = [(m.node.labels, m.node.workload_pods().get(key, 0)) for m, _ in feasible]
        return plugins.spread_scores(ask, here, counted)

    def daemon_nodes(self, plan: WorkloadPlan) -> list[str]:
        """The nodes the DaemonSet controller makes a pod for: ``NodeShouldRunDaemonPod``
        (k/k pkg/controller/daemon/daemon_controller.go ``predicates``): the pod's node
        affinity and every NoSchedule/NoExecute taint, with the tolerations the
        controller adds."""
        t = plan.template
        out = []
        for name, node in self.cluster.nodes.items():
            if node.deleting:
                continue  # the node goes: its DaemonSet pods go with it
            ask = plugins.pod_ask(t.spec, t.kind, plan.name, node_name=name)
            view = self.view(node, node.usage)
            if untolerated_taint(ask.spec, view.taints) is None and matches_node(
                ask.spec, view.labels
            ):
                out.append(name)
        return out
