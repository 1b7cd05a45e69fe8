"""The commit ledger: the node's own commit, containers' overheads, node commit exhaustion."""

from __future__ import annotations

import pytest
import simhelp as h
import simpy

from hpsim.node.jobobject import CapHit, CommitLedger

MIB = 2**20


def _ledger(limit_mib: float, system_mib: float) -> tuple[simpy.Environment, CommitLedger, list]:
    env = simpy.Environment()
    hits: list[CapHit] = []
    ledger = CommitLedger(
        env, commit_limit=limit_mib * MIB, system_commit=system_mib * MIB, on_failure=hits.append
    )
    return env, ledger, hits


def test_system_commit_and_overhead_count_for_the_node_not_for_the_job():
    """Node limit 1000 MiB, system 200 MiB; a container of 100 MiB growing 1 MiB/s under a
    150 MiB job limit, with 250 MiB committed outside its job.

    Node: 200 + 100 + 250 = 550 MiB at t = 0; the job sees 100 MiB. The job refuses at
    t = (150 - 100) / 1 = 50 s (were the overhead the job's, 350 > 150 would refuse at
    once); the node then holds 200 + 150 + 250 = 600 MiB, 400 MiB short of its limit."""
    env, ledger, hits = _ledger(1000, 200)
    ledger.add("a", 100 * MIB, 1 * MIB, 150 * MIB, degrade=True, overhead=250 * MIB)
    assert ledger.committed() == 550 * MIB
    assert ledger.committed("a") == 100 * MIB
    env.run(until=100)
    assert [(h.key, h.time, h.by, h.committed) for h in hits] == [("a", 50.0, "job", 150 * MIB)]
    assert ledger.committed() == pytest.approx(600 * MIB)
    ledger.remove("a")
    assert ledger.committed() == 200 * MIB  # the system's commit stays


def test_node_exhaustion_refuses_every_allocating_container_at_once():
    """Node limit 1000 MiB, system 250 MiB; three containers of 100 MiB with 50 MiB
    overhead each: "a" grows 2 MiB/s, no job limit, crashes on a refusal (and its commit
    is released at once, as the kubelet does when the process exits); "b" grows 1 MiB/s
    under a 500 MiB job limit, degrades; "c" does not grow.

    Node: 250 + 3 x 100 + 3 x 50 = 700 MiB, growing 3 MiB/s: the limit is met at
    t = 300 / 3 = 100 s. Both growers are allocating then and both are refused, each once:
    "a" at 100 + 2 x 100 = 300 MiB, "b" at 100 + 1 x 100 = 200 MiB. "c" allocates nothing
    and is not refused. (Refusing only the fastest grower, "b" would carry on once "a"'s
    300 + 50 MiB went, to its own job limit at t = 400 s.) After: 250 + 200 + 100 +
    2 x 50 = 650 MiB, nothing grows, no further refusal."""
    env, ledger, hits = _ledger(1000, 250)
    failed_a = ledger.add("a", 100 * MIB, 2 * MIB, None, overhead=50 * MIB)
    failed_a.callbacks.append(lambda _e: ledger.remove("a"))
    ledger.add("b", 100 * MIB, 1 * MIB, 500 * MIB, degrade=True, overhead=50 * MIB)
    ledger.add("c", 100 * MIB, 0.0, None, overhead=50 * MIB)
    assert ledger.committed() == 700 * MIB
    env.run(until=1000)
    got = [(h.key, h.time, h.by, round(h.committed / MIB, 6)) for h in hits]
    assert got == [("a", 100.0, "node", 300.0), ("b", 100.0, "node", 200.0)]
    assert failed_a.triggered
    assert ledger.committed() == pytest.approx(650 * MIB)
    assert ledger.slope() == 0.0


def _leaky(name: str, host_process: bool, growth: str, limit: str | None = None) -> dict:
    manifest = h.pod(name, limits={"memory": limit} if limit else None, host_process=host_process)
    return {"manifest": manifest, "profile": {"memory": "100Mi", "memoryGrowth": growth}}


def test_node_commit_counts_the_system_and_isolated_containers_silos():
    """4 GiB RAM, no pagefile, systemCommit 1 GiB, isolatedContainerCommit 250 MiB; one
    process-isolated and one HostProcess pod of 100 MiB each, not growing.

    Node commit = 1024 + (100 + 250) + 100 = 1474 MiB: the HostProcess container has no
    silo. The pods' own commits (the pods table) stay 100 MiB each."""
    data = h.scenario(
        [_leaky("iso", False, "0"), _leaky("hpc", True, "0")],
        [{"name": "test/app:1", "layers": [{"size": 0, "unpacked": 0}]}],
        duration="10m",
        node=h.node(memory="4Gi", systemCommit="1Gi", isolatedContainerCommit="250Mi"),
    )
    res = h.run(data)
    s = res.series.dropna(subset=["memory_committed_bytes"])
    assert s.memory_committed_bytes.iloc[-1] == 1474 * MIB


def test_node_exhaustion_counts_a_refusal_against_every_growing_container():
    """2 GiB RAM, no pagefile, systemCommit 1 GiB, isolatedContainerCommit 0; kubernetes
    1.30 (no eviction). Two HostProcess pods without a memory limit, crashing on a refusal,
    restartPolicy Never: "fast" grows 2 MiB/s, "slow" 1 MiB/s, both from 100 MiB, both
    running from t = 0.5 + 0.5 = 1 s (HostProcess sandbox + container).

    Node: 1024 + 200 = 1224 MiB at t = 1 s, 824 MiB short of 2048, growing 3 MiB/s: met at
    t = 1 + 824 / 3 = 275.67 s. Both allocate then, both are refused: one alloc failure
    each, both fail."""
    node = h.node(memory="2Gi", systemCommit="1Gi", kubernetes="1.30")
    data = h.scenario(
        [_leaky("fast", True, "2Mi/s"), _leaky("slow", True, "1Mi/s")],
        [{"name": "test/app:1", "layers": [{"size": 0, "unpacked": 0}]}],
        duration="10m",
        node=node,
    )
    for wl in data["workloads"]:
        wl["manifest"]["spec"]["restartPolicy"] = "Never"
    res = h.run(data)
    pods = res.pods.set_index("workload")
    assert pods.loc["fast", "alloc_failures"] == 1
    assert pods.loc["slow", "alloc_failures"] == 1
    assert pods.loc["fast", "phase"] == pods.loc["slow", "phase"] == "Failed"
    assert pods.loc["fast", "finished_s"] == pytest.approx(1 + 824 / 3)
    assert pods.loc["slow", "finished_s"] == pytest.approx(1 + 824 / 3)


def test_a_system_commit_that_leaves_nothing_for_pods_is_refused():
    """systemCommit 8Gi on 4Gi RAM + 4Gi pagefile: 8 GiB is not less than 8 GiB."""
    from pydantic import ValidationError

    from hpsim.scenario.schema import NodeSpec

    with pytest.raises(ValidationError) as info:
        NodeSpec.model_validate(
            {"cpu": 4, "memory": "4Gi", "pagefile": "4Gi", "systemCommit": "8Gi"}
        )
    assert info.value.errors()[0]["msg"] == (
        "Value error, must be less than memory + pagefile (8Gi is not less than 8Gi): the "
        "node could not commit anything for its pods"
    )
