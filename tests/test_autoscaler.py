"""The Cluster Autoscaler's decisions (hpsim/cluster/autoscaler.py), computed by hand.

Scan interval 10 s from t=0 unless said otherwise; templates have 2 cpu (2000m)
allocatable, no DaemonSet pods, so a fresh node takes two 1-cpu pods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from hpsim.cluster.autoscaler import (
    Autoscaler,
    AutoscalerSettings,
    ClusterUnhealthy,
    DeleteNodes,
    DeleteUnregistered,
    MovablePod,
    NodeGroup,
    NodeState,
    NoScaleUp,
    PendingPod,
    ScaleUp,
    ScaleUpTimedOut,
    View,
    deletion_finished_events,
)
from hpsim.cluster.caparts import go_duration, go_float

GiB = 1024**3


def group(name: str = "win", target: int = 0, **kw) -> NodeGroup:
    base = dict(
        name=name,
        min_size=0,
        max_size=10,
        target=target,
        alloc_cpu_m=2000,
        alloc_memory=8 * GiB,
        alloc_pods=30,
        capacity_cpu_m=2000,
        capacity_memory=8 * GiB,
    )
    base.update(kw)
    return NodeGroup(**base)  # type: ignore[arg-type]


def pod(i: int, cpu_m: int = 1000, created: float = 0.0, eq: str = "web", **kw) -> PendingPod:
    return PendingPod(
        key=f"default/{eq}-{i}",
        equivalence=eq,
        cpu_m=cpu_m,
        memory=GiB,
        created=created,
        unschedulable_since=created,
        **kw,
    )


def rs_pod(name: str, cpu_m: int = 600, **kw) -> MovablePod:
    return MovablePod(key=f"default/{name}", namespace="default", cpu_m=cpu_m, memory=GiB, **kw)


def node(
    name: str, group: str = "win", cpu_m: int = 0, pods: Sequence[MovablePod] = (), **kw
) -> NodeState:
    base = dict(
        name=name,
        group=group,
        created=-100.0,
        registered=-90.0,
        ready_since=-60.0,
        alloc_cpu_m=2000,
        alloc_memory=8 * GiB,
        requested_cpu_m=cpu_m,
        requested_memory=sum(p.memory for p in pods if not p.daemonset),
        pod_count=len(pods),
        pods=tuple(pods),
    )
    base.update(kw)
    return NodeState(**base)  # type: ignore[arg-type]


def view(groups, nodes=(), pending=(), fits=None) -> View:
    return View(
        groups=tuple(groups),
        nodes=tuple(nodes),
        pending=tuple(pending),
        fits_template=fits or (lambda g, p: True),
    )


def ca(seed: int = 0, **kw) -> Autoscaler:
    return Autoscaler(AutoscalerSettings(**kw), np.random.default_rng(seed))


# ---------------------------------------------------------------------------------------------
# Scale-up


def test_burst_of_six_one_cpu_pods_asks_for_three_two_cpu_nodes_once():
    a = ca()
    pods = [pod(i) for i in range(6)]
    (up,) = a.scan(10, view([group()], pending=pods))
    # 6 pods x 1000m into 2000m templates: 3 nodes, first-fit decreasing.
    assert isinstance(up, ScaleUp)
    assert (up.group, up.current_size, up.new_size, up.delta) == ("win", 0, 3, 3)
    assert set(up.pods) == {p.key for p in pods}
    trig = [e for e in up.events if e.reason == "TriggeredScaleUp"]
    assert len(trig) == 6
    assert trig[0].message == "pod triggered scale-up: [{win 0->3 (max: 10)}]"
    assert up.events[0].message == "Scale-up: setting group win size to 3 instead of 0 (max: 10)"
    # t=20: the 3 instances exist, none registered: 3 upcoming template copies absorb
    # the 6 pods (filter_out_schedulable), so no second scale-up.
    instances = [node(f"n{i}", created=10, registered=None, ready_since=None) for i in range(3)]
    assert a.scan(20, view([group(target=3)], instances, pods)) == []
    # t=200: registered, not Ready yet (NotStarted): still upcoming.
    booting = [replace(n, registered=150) for n in instances]
    assert a.scan(200, view([group(target=3)], booting, pods)) == []


def test_pods_newer_than_two_seconds_wait_one_loop():
    a = ca()
    assert a.scan(10, view([group()], pending=[pod(0, created=9)])) == []  # 9 + 2 > 10
    (up,) = a.scan(20, view([group()], pending=[pod(0, created=9)]))
    assert isinstance(up, ScaleUp) and up.delta == 1


def test_new_pod_scale_up_delay_counts_from_creation_and_is_strict():
    a = ca(new_pod_scale_up_delay_s=30)
    v = view([group()], pending=[pod(0, created=0)])
    assert a.scan(30, v) == []  # age 30, not > 30
    assert a.next_wakeup(30, v) == 40
    assert isinstance(a.scan(40, v)[0], ScaleUp)


def test_expendable_pods_never_trigger_scale_up():
    a = ca()
    assert a.scan(10, view([group()], pending=[pod(0, priority=-11)])) == []
    assert isinstance(a.scan(20, view([group()], pending=[pod(0, priority=-10)]))[0], ScaleUp)


def test_existing_free_room_absorbs_pending_pods():
    a = ca()
    room = node("n0", cpu_m=1000)  # 1000m free
    assert a.scan(10, view([group(target=1)], [room], [pod(0)])) == []
    (up,) = a.scan(20, view([group(target=1)], [room], [pod(0), pod(1)]))
    assert isinstance(up, ScaleUp) and up.delta == 1  # one pod fits n0, one needs a node


def test_max_size_caps_the_estimate():
    a = ca()
    # target 2 of max 4, 2 nodes full; 6 pods want 3 nodes, the group has room for 2.
    full = [node(f"n{i}", cpu_m=2000) for i in range(2)]
    (up,) = a.scan(10, view([group(target=2, max_size=4)], full, [pod(i) for i in range(6)]))
    assert isinstance(up, ScaleUp)
    assert (up.current_size, up.new_size, up.wanted) == (2, 4, 3)
    assert len(up.pods) == 4  # only the pods the two nodes hold triggered it


def test_max_nodes_total_caps_silently_and_then_stops_scale_up():
    a = ca(max_nodes_total=3)
    full = [node("n0", cpu_m=2000)]
    v = view([group(target=1)], full, [pod(i) for i in range(6)])
    (up,) = a.scan(10, v)
    # cluster_capacity_threshold: 3 - (1 ready + 0 upcoming) = 2 new nodes. The
    # estimator caps, so GetCappedNewNodeCount's MaxNodesTotalReached never fires.
    assert isinstance(up, ScaleUp) and (up.delta, up.wanted) == (2, 3)
    assert all(e.reason != "MaxNodesTotalReached" for e in up.events)
    # 3 Ready nodes >= max-nodes-total: "Max total nodes in cluster reached", no action.
    b = ca(max_nodes_total=3)
    three = [node(f"n{i}", cpu_m=2000) for i in range(3)]
    assert b.scan(10, view([group(target=3)], three, [pod(0)])) == []


def test_least_waste_picks_the_group_that_wastes_less():
    # 3 pods x (1 cpu, 1 GiB).
    # small: 2 cpu / 8 GiB capacity, 2 nodes: cpu (4000-3000)/4000 = 0.25,
    #        mem (16-3)/16 = 0.8125, total 1.0625.
    # big:   4 cpu / 8 GiB capacity, 1 node:  cpu (4000-3000)/4000 = 0.25,
    #        mem (8-3)/8 = 0.625, total 0.875 -> big.
    small = group("small")
    big = group("big", alloc_cpu_m=4000, capacity_cpu_m=4000)
    for seed in range(5):
        (up,) = ca(seed, expander="least-waste").scan(
            10, view([small, big], pending=[pod(i) for i in range(3)])
        )
        assert isinstance(up, ScaleUp) and (up.group, up.delta) == ("big", 1)


def test_priority_expander_regexes_highest_wins():
    prio = {10: (".*",), 50: ("ondemand",), 20: ("^win-spot$",)}
    groups = [group("win-spot"), group("win-ondemand-d4"), group("win-other")]
    (up,) = ca(expander="priority", priorities=prio).scan(10, view(groups, pending=[pod(0)]))
    assert isinstance(up, ScaleUp) and up.group == "win-ondemand-d4"  # unanchored match
    # ondemand at max: spot (20) beats the catch-all (10).
    groups[1] = group("win-ondemand-d4", target=10, max_size=10)
    full = [node(f"o{i}", group="win-ondemand-d4", cpu_m=2000) for i in range(10)]
    (up,) = ca(expander="priority", priorities=prio).scan(10, view(groups, full, pending=[pod(0)]))
    assert isinstance(up, ScaleUp) and up.group == "win-spot"


def test_random_expander_is_deterministic_per_seed():
    groups = [group("a"), group("b"), group("c")]

    def picks(seed: int) -> list[str]:
        a = ca(seed)
        out = []
        for k in range(8):
            (up,) = a.scan(10 + k * 10, view(groups, pending=[pod(k, created=k * 10)]))
            assert isinstance(up, ScaleUp)
            out.append(up.group)
            a.requests.clear()
        return out

    assert picks(7) == picks(7)
    assert {g for s in range(4) for g in picks(s)} == {"a", "b", "c"}


def test_not_trigger_scale_up_message_aggregates_reasons():
    def fits(g: str, p: PendingPod):
        return ("Insufficient cpu",) if g == "small" else True

    groups = [group("small"), group("full", target=3, max_size=3)]
    full = [node(f"f{i}", group="full", cpu_m=2000) for i in range(3)]
    (no,) = ca().scan(10, view(groups, full, [pod(0, cpu_m=3000)], fits))
    assert isinstance(no, NoScaleUp)
    assert no.events[0].reason == "NotTriggerScaleUp"
    assert no.events[0].message == (
        "pod didn't trigger scale-up: 1 Insufficient cpu, 1 max node group size reached"
    )


# ---------------------------------------------------------------------------------------------
# Provisioning time-out and back-off


class FakeCloud:
    """Applies the actions: instances never register; deleted ones vanish."""

    def __init__(self) -> None:
        self.target = 0
        self.nodes: list[NodeState] = []
        self.n = 0

    def apply(self, now: float, actions) -> None:
        for a in actions:
            if isinstance(a, ScaleUp):
                self.target = a.new_size
                for _ in range(a.delta):
                    self.nodes.append(
                        node(f"i{self.n}", created=now, registered=None, ready_since=None)
                    )
                    self.n += 1
            elif isinstance(a, DeleteUnregistered):
                self.nodes = [n for n in self.nodes if n.name not in a.names]
                self.target -= len(a.names)


def test_timed_out_scale_up_backs_off_300_then_doubles_to_1800_and_resets_after_3h():
    a = ca()
    cloud = FakeCloud()
    timeouts: list[ScaleUpTimedOut] = []
    log: list[tuple[float, str]] = []
    pending = [pod(0)]
    t = 10.0
    while t <= 16000:
        if t == 4000:
            pending = []  # the pod goes away; the group stays quiet for > 3 h
        if t == 14500:
            pending = [pod(1, created=14495)]
        actions = a.scan(t, view([group(target=cloud.target)], cloud.nodes, pending))
        for x in actions:
            log.append((t, type(x).__name__))
            if isinstance(x, ScaleUpTimedOut):
                timeouts.append(x)
        cloud.apply(t, actions)
        t += 10
    # Scale-up at S; the instance is first seen at S+10; ExpectedAddTime S+900 is
    # passed at the tick S+910 (``Before``, strict); back-off D until S+910+D; the
    # instance is LongUnregistered at S+920 and deleted; next scale-up at the first
    # tick after the back-off ends (``backoffUntil.Before(now)``).
    # S=10:   timeout 920,  D=300  until 1220; S=1230
    # S=1230: timeout 2140, D=600  until 2740; S=2750
    # S=2750: timeout 3660, D=1200 until 4860 (pod gone at 4000)
    # pod back at 14495: last failure 3660 + 10800 < now -> data removed; S=14500
    # S=14500: timeout 15410, D=300 (reset)
    assert [(x.after_s, x.backoff_until) for x in timeouts] == [
        (910, 1220),
        (910, 2740),
        (910, 4860),
        (910, 15710),
    ]
    assert timeouts[0].events[0].message == (
        "Nodes added to group win failed to register within 15m10s"
    )
    assert (930, "DeleteUnregistered") in log
    assert (930, "NoScaleUp") in log  # in back-off, the pod is told why
    assert [t for t, k in log if k == "ScaleUp"] == [10, 1230, 2750, 14500, 15720]


def test_backoff_doubles_and_caps_at_max():
    a = ca()
    ends = []
    now = 0.0
    for _ in range(5):
        until = a._backoff_group("g", now)
        ends.append(until - now)
        now = until + 1  # fail again just after the back-off ended
    assert ends == [300, 600, 1200, 1800, 1800]
    # A second failure while still backed off keeps the duration (concurrent scale-ups).
    b = ca()
    b._backoff_group("g", 0)
    assert b._backoff_group("g", 100) == 400
    assert b.backed_off("g", 400) and not b.backed_off("g", 400.5)


def test_failure_message_wording_of_no_scale_up_in_backoff():
    a = ca()
    a._backoff_group("win", 0)
    (no,) = a.scan(10, view([group()], pending=[pod(0)]))
    assert isinstance(no, NoScaleUp)
    assert no.reasons == "1 in backoff after failed scale-up"
    assert a.next_wakeup(10, view([group()], pending=[pod(0)])) == 310


# ---------------------------------------------------------------------------------------------
# Scale-down


def two_nodes(cpu_n1: int = 600) -> list[NodeState]:
    # n1: one ReplicaSet pod of 600m / 1 GiB -> cpu 0.3, mem 0.125, utilization 0.3.
    # n2: 1200m requested (0.6, not underutilized) with room for n1's pod.
    n1 = node("n1", cpu_m=cpu_n1, pods=[rs_pod("web-1", cpu_m=cpu_n1)])
    n2 = node("n2", cpu_m=1200, pods=[rs_pod("web-2", cpu_m=1200)])
    return [n1, n2]


def test_underutilized_node_deleted_after_unneeded_time_strictly():
    a = ca()
    v = view([group(target=2)], two_nodes())
    assert a.scan(0, v) == []
    assert a.unneeded_since == {"n1": 0}
    assert a.next_wakeup(0, v) == 610  # nothing can change before the timer ends
    for t in range(10, 610, 10):
        assert a.scan(t, v) == []
    (d,) = a.scan(610, v)  # since + 600 < now: the first tick after 600
    assert isinstance(d, DeleteNodes)
    assert (d.group, d.names, d.empty) == ("win", ("n1",), False)
    assert d.pods_to_reschedule == (("default/web-1",),)
    assert [e.message for e in d.events] == [
        "Scale-down: removing node n1, utilization: {0.3 0.125 0 cpu 0.3}, "
        "pods to reschedule: web-1",
        "marked the node as toBeDeleted/unschedulable",
        "deleting pod for node scale down",
    ]
    assert deletion_finished_events("n1", True)[0].message == "nodes removed by cluster autoscaler"


def test_next_wakeup_jumps_to_the_unneeded_deadline():
    a = ca()
    v = view([group(target=2)], two_nodes())
    a.scan(0, v)
    a.scan(10, v)  # the start-up cooldowns (now - 1 h) are long past
    assert a.next_wakeup(10, v) == 610


def test_scale_down_waits_for_delay_after_add():
    a = ca()
    v = view([group(target=2)], two_nodes())
    a.scan(0, v)  # n1 unneeded since 0
    # t=100: a 1500m pod fits nowhere (n1 has 1400m, n2 800m free) -> scale-up 2->3.
    (up,) = a.scan(100, view([group(target=2)], two_nodes(), [pod(0, cpu_m=1500, created=90)]))
    assert isinstance(up, ScaleUp) and up.new_size == 3
    new = node("n3", created=100, registered=None, ready_since=None)
    v3 = view([group(target=3)], [*two_nodes(), new], [pod(0, cpu_m=1500, created=90)])
    assert a.next_wakeup(100, v3) == 610
    for t in range(110, 700, 10):
        assert a.scan(t, v3) == [], t
    # unneeded since 0 (kept through the scale-up loop), past 600 at 610, but
    # lastScaleUp 100 + 600 is not After(700) only from 700 on.
    (d,) = a.scan(700, v3)
    assert isinstance(d, DeleteNodes) and d.names == ("n1",)


def test_unneeded_timer_restarts_when_node_stops_being_a_candidate():
    a = ca()
    a.scan(0, view([group(target=2)], two_nodes()))
    busy = two_nodes(cpu_n1=1100)  # 0.55: not underutilized
    a.scan(300, view([group(target=2)], busy))
    assert a.unneeded_since == {}
    a.scan(400, view([group(target=2)], two_nodes()))
    assert a.unneeded_since == {"n1": 400}
    assert a.scan(1000, view([group(target=2)], two_nodes())) == []
    assert isinstance(a.scan(1010, view([group(target=2)], two_nodes()))[0], DeleteNodes)


@pytest.mark.parametrize(
    ("blocker", "reason"),
    [
        (rs_pod("bare", controller_kind=None), "NotReplicated"),
        (
            MovablePod("kube-system/coredns-x", "kube-system", 100, GiB),
            "UnmovableKubeSystemPod",
        ),
        (rs_pod("cache", local_volumes=("scratch",)), "LocalStorageRequested"),
        (rs_pod("pinned", safe_to_evict="false"), "NotSafeToEvictAnnotation"),
    ],
)
def test_blocking_pods_keep_the_node(blocker: MovablePod, reason: str):
    a = ca()
    n1 = node("n1", cpu_m=blocker.cpu_m, pods=[blocker])
    v = view([group(target=2)], [n1, two_nodes()[1]])
    a.scan(0, v)
    assert a.unremovable["n1"].reason == "BlockedByPod"
    assert a.unremovable["n1"].blocking_pod == f"{blocker.key}: {reason}"
    assert all(a.scan(t, v) == [] for t in range(10, 1310, 10))
    # unremovable-node-recheck-timeout: re-checked every 300 s (0, 300, ..., 1200),
    # RecentlyUnremovable in between.
    assert a.unremovable["n1"].reason == "RecentlyUnremovable"
    a.scan(1500, v)
    assert a.unremovable["n1"].reason == "BlockedByPod"
    assert a.next_wakeup(1500, v) == 1800


def test_safe_to_evict_and_daemonset_hostpath_do_not_block():
    a = ca()
    ok = node("n1", cpu_m=600, pods=[rs_pod("cache", local_volumes=("s",), safe_to_evict="true")])
    ds = rs_pod("antrea-agent", controller_kind="DaemonSet", local_volumes=("host-cni",))
    only_ds = node("n3", cpu_m=600, pods=[ds], daemonset_cpu_m=600)
    v = view([group(target=3)], [ok, two_nodes()[1], only_ds])
    a.scan(0, v)
    actions = a.scan(610, v)
    # The DaemonSet-only node is empty (CA deletes empty nodes first); n1 is drained.
    assert [(x.names, x.empty) for x in actions if isinstance(x, DeleteNodes)] == [
        (("n3",), True),
        (("n1",), False),
    ]
    empty_events = [e.message for e in actions[0].events]
    assert empty_events[0] == 'Scale-down: removing empty node "n3"'


def test_empty_nodes_bulk_deleted_within_budget_and_min_size():
    empties = [node(f"e{i}") for i in range(4)]
    a = ca()
    a.scan(0, view([group(target=4)], empties))
    (d,) = a.scan(610, view([group(target=4)], empties))
    assert isinstance(d, DeleteNodes) and d.empty and d.names == ("e0", "e1", "e2", "e3")
    # max-scale-down-parallelism 2: two now, the rest after they are gone.
    b = ca(max_scale_down_parallelism=2)
    b.scan(0, view([group(target=4)], empties))
    (d,) = b.scan(610, view([group(target=4)], empties))
    assert d.names == ("e0", "e1")
    tainted = [replace(n, deleting=True) if n.name in d.names else n for n in empties]
    assert b.scan(620, view([group(target=2)], tainted)) == []  # budget still used
    # e0, e1 gone: e2, e3 kept their unneeded time (since 0) and go at once
    # (scale-down-delay-after-delete 0: any later loop).
    (d,) = b.scan(630, view([group(target=2)], empties[2:]))
    assert d.names == ("e2", "e3")
    # min size: group min 3 of target 4: only one goes.
    c = ca()
    c.scan(0, view([group(target=4, min_size=3)], empties))
    (d,) = c.scan(610, view([group(target=4, min_size=3)], empties))
    assert d.names == ("e0",)
    assert c.unremovable["e1"].reason == "NodeGroupMinSizeReached"


def test_only_one_drain_at_a_time():
    nodes = [node(f"d{i}", cpu_m=200, pods=[rs_pod(f"p{i}", cpu_m=200)]) for i in range(3)]
    a = ca()
    a.scan(0, view([group(target=3)], nodes))
    (d,) = a.scan(610, view([group(target=3)], nodes))
    assert d.names == ("d0",) and not d.empty


def test_unhealthy_cluster_halts_once():
    # 4 registered nodes NotReady for > 15 min of 5: 4 > 3 and 4 > 45% of 5.
    sick = [node(f"u{i}", ready_since=None, registered=0) for i in range(4)]
    v = view([group(target=5)], [*sick, node("ok")], [pod(0)])
    a = ca()
    (h,) = a.scan(1000, v)
    assert isinstance(h, ClusterUnhealthy) and h.events[0].message == "Cluster is unhealthy"
    assert a.scan(1010, v) == []
    # Three unready ones are tolerated (ok-total-unready-count).
    b = ca()
    assert not any(
        isinstance(x, ClusterUnhealthy) for x in b.scan(1000, replace(v, nodes=v.nodes[1:]))
    )


def test_long_unregistered_instances_removed_down_to_min():
    lost = [node(f"l{i}", created=0, registered=None, ready_since=None) for i in range(3)]
    a = ca()
    g = group(target=3, min_size=2)
    assert a.scan(0, view([g], lost)) == []  # first seen unregistered at 0
    assert a.next_wakeup(0, view([g], lost)) == 910
    (d,) = a.scan(910, view([g], lost))  # 0 + 900 < 910
    assert isinstance(d, DeleteUnregistered) and d.names == ("l0",)
    assert d.events[0].message == "Removed unregistered node l0"


def test_go_formatting():
    assert go_duration(910) == "15m10s"
    assert go_duration(3600) == "1h0m0s"
    assert go_duration(1.5) == "1.5s"
    assert go_float(0.3) == "0.3" and go_float(0.0) == "0" and go_float(0.125) == "0.125"


def test_the_engines_defaults_are_the_scenarios():
    """The engine keeps CA 1.31's defaults for its own tests and callers; a scenario's come
    from its schema (AutoscalerFlags). The two must not drift apart."""
    from hpsim.cluster.nodelife import settings_of
    from hpsim.scenario.schema import AutoscalerFlags

    assert settings_of(AutoscalerFlags()) == AutoscalerSettings()
