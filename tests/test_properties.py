"""Invariants over random inputs (hypothesis): no pod state jumps, caps never exceeded."""

from __future__ import annotations

import simpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simhelp import node, pod, run, scenario

from hpsim.node.jobobject import CommitLedger
from hpsim.node.pod import TRANSITIONS

MIB = 2**20

workload = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["Pod", "Deployment", "Job", "DaemonSet"]),
        "mem": st.integers(50, 400),
        "limit": st.one_of(st.none(), st.integers(100, 600)),
        "growth": st.integers(0, 60),
        "lifetime": st.one_of(st.none(), st.integers(30, 3000)),
        "on_cap": st.sampled_from(["crash", "degrade"]),
        "hp": st.booleans(),
        "cpu": st.integers(0, 3000),
        "request": st.integers(0, 3000),
    }
)


def _build(specs: list[dict]) -> dict:
    wls = []
    for i, s in enumerate(specs):
        limits = {"memory": f"{s['limit']}Mi"} if s["limit"] else None
        restart = "OnFailure" if s["kind"] == "Job" else None
        m = pod(
            f"w{i}",
            limits=limits,
            requests={"cpu": f"{s['request']}m"},
            host_process=s["hp"],
            kind=s["kind"],
            restart=restart,
        )
        wl = {
            "manifest": m,
            "profile": {
                "memory": f"{s['mem']}Mi",
                "memoryGrowth": f"{s['growth']}Mi/min",
                "cpu": f"{s['cpu']}m",
                **({"work": "300s"} if s["kind"] == "Job" else {}),
            },
            "onMemoryCap": s["on_cap"],
        }
        if s["lifetime"] and s["kind"] != "Job":
            wl["lifetime"] = {"fixed": f"{s['lifetime']}s"}
        wls.append(wl)
    return scenario(
        wls,
        [{"name": "test/app:1", "layers": [{"size": "10Mi"}]}],
        duration="2h",
        node=node(cpu=4, memory="2Gi", pagefile="512Mi"),
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(workload, min_size=1, max_size=4))
def test_pods_only_take_allowed_state_changes_and_commit_stays_under_the_limit(specs):
    res = run(_build(specs))
    seen: dict[str, str] = {}
    shown: dict[str, tuple[str, bool]] = {}
    for _t, name, old, new, status, ready, _node in res.transitions.itertuples(index=False):
        assert seen.get(name, "") == old
        if new == old:  # only what kubectl shows moved, and it did move
            assert shown[name] != (status, ready)
        else:
            assert new in TRANSITIONS[old]
        # kubectl shows every pod that exists; Ready only while it runs or terminates
        assert (status == "") == (new in ("Deleted", "Refused"))
        assert not ready or new in ("Running", "Terminating")
        seen[name] = new
        shown[name] = (status, ready)
    pods = res.pods
    end = pods["finished_s"].fillna(pods["deleted_s"]).fillna(7200)
    assert (pods["ready_duration_s"] <= end - pods["created_s"] + 1e-6).all()
    s = res.node_series()
    limit = 2 * 2**30 + 512 * MIB
    ends = s["time_s"].shift(-1).fillna(7200) - s["time_s"]
    peak = s["memory_committed_bytes"] + s["memory_commit_slope_bytes_per_s"] * ends
    assert (s["memory_committed_bytes"] <= limit + 1).all()
    assert (peak <= limit + 1).all()
    assert (s["cpu_allocated_millicores"] <= 4000 + 1e-6).all()


ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "remove", "spike"]),
        st.integers(0, 5),
        st.floats(0, 50),
        st.integers(0, 300),
        st.floats(0, 5),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(ops, st.integers(200, 1500))
def test_commit_ledger_never_lets_a_container_or_the_node_pass_its_cap(actions, node_mib):
    env = simpy.Environment()
    limit_node = node_mib * MIB
    ledger = CommitLedger(env, commit_limit=limit_node)
    limits = {k: (100 + 40 * k) * MIB for k in range(6)}
    violations = []

    def check():
        for k in range(6):
            if k in ledger:
                violations.extend([k] if ledger.committed(k) > limits[k] + 1 else [])
        if ledger.committed() > limit_node + 1:
            violations.append("node")

    def driver():
        for op, k, dt, base_mib, growth_mib in actions:
            yield env.timeout(dt)
            check()
            if op == "add" and k not in ledger:
                if base_mib * MIB <= limits[k]:
                    ledger.add(k, base_mib * MIB, growth_mib * MIB, limits[k], degrade=k % 2 == 0)
            elif op == "remove":
                ledger.remove(k)
            elif op == "spike" and k in ledger:
                ledger.spike(k, base_mib * MIB / 4)
            check()

    env.process(driver())
    env.run(until=500)
    check()
    assert violations == []
