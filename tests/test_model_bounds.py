"""The model neither hangs nor goes quadratic: a stuck clock stops the run with an error,
and pending pods cost the scheduler linear work (with the same decisions as trying
every pending pod on every change)."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pandas.testing as pdt
import pytest
import simpy
import yaml
from simhelp import CountingEnvironment, node, pod, pure_python_only, scenario

import hpsim.cluster.cluster as node_module
from hpsim.cli import main
from hpsim.cluster.cluster import Cluster
from hpsim.errors import HpsimError
from hpsim.node.controllers import Controller, JobController, ReplicaController
from hpsim.node.pod import Pod
from hpsim.node.runloop import CHECK_EVERY, run_watched
from hpsim.node.schedqueue import ACTIVE, WAITING, SchedulingQueue, queue_key
from hpsim.node.scheduler import Usage
from hpsim.node.storage import Volume
from hpsim.observe.recorder import Recorder
from hpsim.observe.results import tables_from_records
from hpsim.scenario.load import LoadedScenario, load_data
from hpsim.scenario.schema import Lifetime

APP = {"name": "test/app:1", "layers": [{"size": 0}]}
LIMIT = 20_000  # a low limit, so that the tests stop in a fraction of a second


def _deployment(name: str, replicas: int, **extra: Any) -> dict[str, Any]:
    manifest = pod(name, kind="Deployment", requests={"cpu": "100m"})
    manifest["spec"]["replicas"] = replicas
    return {"manifest": manifest, **extra}


def _zero_lifetime(loaded: LoadedScenario, index: int) -> LoadedScenario:
    """The workload's pods live 0 s, set past the schema (which may refuse it at load)."""
    plans = list(loaded.workloads)
    plan = plans[index]
    spec = plan.spec.model_copy(update={"lifetime": Lifetime.model_construct(fixed=0.0)})
    plans[index] = dataclasses.replace(plan, spec=spec)
    return dataclasses.replace(loaded, workloads=tuple(plans))


# -- a stuck clock ------------------------------------------------------------------------------


def test_zero_lifetime_stops_with_an_error_naming_the_workload(monkeypatch):
    monkeypatch.setattr(node_module, "INSTANT_EVENTS_LIMIT", LIMIT)
    data = scenario(
        [_deployment("idle", 1), _deployment("web", 2, lifetime={"fixed": "1h"})], [APP]
    )
    loaded = _zero_lifetime(load_data(data), 1)
    env = CountingEnvironment()
    with pytest.raises(HpsimError) as err:
        Cluster(loaded, 0, Recorder(), env).run()
    assert str(err.value) == (
        '<scenario>: workloads[1].lifetime: workload "web": more than 20,000 events at t=0 s '
        "without simulated time passing (a pod lifetime of 0 s makes its controller replace "
        "pods at the same instant forever)"
    )
    # Stopped soon after the limit: the batch that crossed it, and the look at who creates.
    assert LIMIT < env.processed <= LIMIT + 2 * CHECK_EVERY + node_module._WATCH_EVENTS


def test_the_limit_leaves_room_for_large_bursts():
    # About 8 events per single-container pod at its busiest instant (a drain of 4,000 pods:
    # 32,000): the limit must leave room for 100,000 such pods at one instant.
    assert node_module.INSTANT_EVENTS_LIMIT >= 100_000 * 8


def test_a_stuck_clock_without_pods_is_a_model_loop(monkeypatch):
    monkeypatch.setattr(node_module, "INSTANT_EVENTS_LIMIT", LIMIT)
    data = scenario([{**_deployment("later", 1), "start": "30m"}], [APP])
    wn = Cluster(load_data(data), 0, Recorder())

    def spin(env: simpy.Environment):
        yield env.timeout(5)
        while True:
            yield env.timeout(0)

    wn.start()
    wn.env.process(spin(wn.env))
    with pytest.raises(HpsimError) as err:
        wn.advance(60)
    assert str(err.value) == (
        "<scenario>: more than 20,000 events at t=5 s without simulated time passing "
        "(no pod was created at that instant: a loop in the model)"
    )


def test_more_replicas_than_memory_holds_stop_with_an_error(monkeypatch, tmp_path, capsys):
    """A scale to 5,000 replicas: the ReplicaSet controller creates 500 pods a sync, all
    pending on a 4-CPU node; the run stops, in one line naming the workload, once 1,000
    are pending (the limit, lowered here)."""
    monkeypatch.setattr(node_module, "PENDING_PODS_LIMIT", 1_000)
    data = scenario([_deployment("web", 2)], [APP])
    data["events"] = [{"at": "10m", "scale": {"workload": "web", "replicas": 5_000}}]
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    assert main(["run", str(path), "-d", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f'hpsim: error: {path}: workloads[0]: workload "web": more than 1,000 pods pending '
        "at once at t=600 s: hpsim holds every pending pod in memory; ask for fewer "
        "replicas or arrivals\n"
    )
    assert not out.exists()


LIMIT_WORDS = (
    "pods at once is more than hpsim simulates for one workload (110,000: 1,000 nodes of "
    "110 pods; each pod is an object of the model)"
)


def test_replicas_past_what_hpsim_simulates_are_refused_at_load(tmp_path, capsys):
    """replicas: 1e9 is a valid int32, but 1e9 pod objects are not a simulation: the load
    says so at once, naming the line, instead of the run stopping at the pending limit
    (250 s and 681 MB in, measured before this check)."""
    data = scenario([_deployment("idle", 1), _deployment("web", 10**9)], [APP])
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    line = next(
        i for i, text in enumerate(path.read_text().splitlines(), 1) if "1000000000" in text
    )
    out = tmp_path / "out"
    assert main(["run", str(path), "-d", str(out), "-q"]) == 2
    assert capsys.readouterr().err == (
        f"hpsim: error: {path}:{line}: workloads[1].manifest.spec.replicas: 1,000,000,000 "
        f"{LIMIT_WORDS}. Lower replicas, or simulate a slice of the fleet\n"
    )
    assert not out.exists()


def test_the_bound_is_inclusive_and_covers_job_parallelism_and_scale_events():
    at_bound = scenario([_deployment("web", 110_000)], [APP])
    assert load_data(at_bound).workload("web").template.replicas == 110_000
    job = pod("batch", kind="Job")
    job["spec"]["parallelism"] = 110_001
    with pytest.raises(HpsimError, match=r"spec\.parallelism: 110,001 pods at once"):
        load_data(scenario([{"manifest": job}], [APP]))
    scaled = scenario([_deployment("web", 1)], [APP])
    scaled["events"] = [{"at": "1m", "scale": {"workload": "web", "replicas": 2**31 - 1}}]
    with pytest.raises(HpsimError, match=r"events\[0\]\.scale\.replicas: 2,147,483,647 pods"):
        load_data(scaled)


def test_validate_on_a_bare_manifest_keeps_the_apis_range(tmp_path, capsys):
    """The bound is hpsim's, not the API's: a manifest alone with 1e9 replicas is valid."""
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump(_deployment("web", 10**9)["manifest"]))
    assert main(["validate", str(path)]) == 0


@pure_python_only
def test_a_large_scale_up_is_created_in_syncs_of_500_at_one_instant(monkeypatch):
    """1,200 replicas come in ceil(1200 / 500) = 3 syncs (500, 500, 200; ReplicaSet
    BurstReplicas) and still all at t=0, named in order, as one sync made them before."""
    syncs: list[tuple[float, int]] = []  # (time, pods live when the sync began)
    reconcile = ReplicaController.reconcile

    def counted(self: ReplicaController) -> None:
        syncs.append((self.env.now, len(self.pods)))
        reconcile(self)

    monkeypatch.setattr(ReplicaController, "reconcile", counted)
    data = scenario([_deployment("web", 1_200)], [APP], duration="1m")
    rec = Recorder()
    Cluster(load_data(data), 0, rec).run()
    assert syncs[:3] == [(0, 0), (0, 500), (0, 1_000)]
    pods = tables_from_records(rec)["pods"]
    assert len(pods) == 1_200
    assert (pods["created_s"] == 0).all()
    assert list(pods["pod"])[:2] == ["web-r0-1", "web-r0-2"]
    assert list(pods["pod"])[-1] == "web-r0-1200"


@pure_python_only
def test_a_wide_job_creates_500_pods_a_sync(monkeypatch):
    """parallelism = completions = 1,200: the Job controller creates 500, 500 and 200 pods
    in three syncs at t=0 (job_controller.go MaxPodCreateDeletePerSync = 500)."""
    fills: list[tuple[float, int]] = []  # (time, pods still to create)
    fill = JobController._fill

    def counted(self: JobController, run: Any, pods: int) -> None:
        fills.append((self.env.now, pods))
        fill(self, run, pods)

    monkeypatch.setattr(JobController, "_fill", counted)
    job = pod("wide", kind="Job", requests={"cpu": "100m"}, restart="Never")
    job["spec"].update(parallelism=1_200, completions=1_200)
    rec = Recorder()
    Cluster(load_data(scenario([{"manifest": job}], [APP], duration="1m")), 0, rec).run()
    assert fills == [(0, 1_200), (0, 700), (0, 200)]
    assert len(tables_from_records(rec)["pods"]) == 1_200


def test_run_watched_stops_where_simpy_run_stops():
    def build() -> tuple[simpy.Environment, list[tuple[float, str]]]:
        env = simpy.Environment()
        seen: list[tuple[float, str]] = []
        for at, tag in [(3, "a"), (10, "at-until"), (10, "at-until-2"), (2, "b"), (11, "c")]:
            env.timeout(at).callbacks.append(lambda _e, at=at, tag=tag: seen.append((at, tag)))
        return env, seen

    ref, ref_seen = build()
    ref.run(until=10)
    env, seen = build()
    run_watched(env, 10, limit=LIMIT, stuck=lambda *_: None, every=2)
    assert seen == ref_seen == [(2, "b"), (3, "a")]
    assert env.now == ref.now == 10
    run_watched(env, 12, limit=LIMIT, stuck=lambda *_: None, every=2)
    assert seen == [(2, "b"), (3, "a"), (10, "at-until"), (10, "at-until-2"), (11, "c")]


@pytest.mark.parametrize("counting", [False, True], ids=["plain environment", "env.step replaced"])
def test_run_watched_counts_the_events_it_processed(counting: bool) -> None:
    # 5 timeouts before 10 and the stop at 10 itself; then 2 more and the stop at 12. An
    # environment that replaces step (as the tests' counting one) agrees.
    env = CountingEnvironment() if counting else simpy.Environment()
    for at in (1, 2, 3, 4, 5, 11, 11.5):
        env.timeout(at)
    assert run_watched(env, 10, limit=LIMIT, stuck=lambda *_: None, every=2) == 6
    assert run_watched(env, 12, limit=LIMIT, stuck=lambda *_: None, every=2) == 3
    if counting:
        assert env.processed == 9


@pytest.mark.parametrize("counting", [False, True], ids=["plain environment", "env.step replaced"])
def test_a_failed_event_nobody_defused_crashes_run_watched_as_it_crashes_simpy(
    counting: bool,
) -> None:
    env = CountingEnvironment() if counting else simpy.Environment()
    env.event().fail(ValueError("boom"))
    with pytest.raises(ValueError, match=r"^boom$") as crashed:
        run_watched(env, 10, limit=LIMIT, stuck=lambda *_: None)
    ref = simpy.Environment()
    ref.event().fail(ValueError("boom"))
    with pytest.raises(ValueError, match=r"^boom$") as ref_crashed:
        ref.run(until=10)
    # simpy raises a copy whose cause is the event's own exception.
    assert type(crashed.value.__cause__) is type(ref_crashed.value.__cause__) is ValueError
    assert env.now == ref.now == 0


# -- pending pods -------------------------------------------------------------------------------


def _job_burst(pods: int) -> dict[str, Any]:
    """A Job of ``pods`` pods of 1 CPU at once on a 4-CPU node: all but 3 wait."""
    job = pod("burst", kind="Job", requests={"cpu": "1"}, restart="Never")
    job["spec"].update(completions=pods, parallelism=pods)
    return scenario([{"manifest": job, "profile": {"work": "30s"}}], [APP], duration="5m")


def _deployment_burst(pods: int) -> dict[str, Any]:
    """A Deployment of ``pods`` pods of 1 CPU living 30 s: every pending pod is deleted and
    replaced every 30 s (lifetimes count from creation)."""
    dep = _deployment("burst", pods, lifetime={"fixed": "30s"})
    dep["manifest"]["spec"]["template"]["spec"]["containers"][0]["resources"] = {
        "requests": {"cpu": "1"}
    }
    return scenario([dep], [APP], duration="2m")


def _work(data: dict[str, Any], monkeypatch) -> int:
    """Fit checks plus the pods the controllers walked over: the work pending pods cost."""
    walked = [0]
    live = Controller.live

    def counting_live(self: Controller) -> list[Pod]:
        out = live(self)
        walked[0] += len(out)
        return out

    monkeypatch.setattr(Controller, "live", counting_live)
    wn = Cluster(load_data(data), 0, Recorder())
    wn.run()
    return wn.pending.fit_checks + walked[0]


@pytest.mark.parametrize("burst", [_job_burst, _deployment_burst])
def test_pending_pods_cost_linear_work(burst, monkeypatch):
    small, large = (_work(burst(n), monkeypatch) for n in (300, 1200))
    # Four times the pods: about four times the work (a full scan per change: sixteen).
    assert large <= 4.4 * small, (small, large)


class _FullScan(SchedulingQueue):
    """The queue with its pass done the plain way: every pod in activeQ (its line's, or a
    waiting line's new pods) tried in queue order, one fit check each. When lines wait
    and move is the queue's own (move_all, flush_backoff), left as it is."""

    def cycle(self, usage: Usage, why: Any, now: float = 0.0) -> list[tuple[Pod, str | None]]:
        used = usage.copy()
        lines, queued = self._lines, self._queued
        solo = {p.uid for p in self._solo}
        self._solo = []
        tried_lines = {k for k, line in lines.items() if line.state == ACTIVE}
        trying: list[Pod] = []
        for key, line in lines.items():
            first_solo = False
            for p in line.pods:
                if p.uid not in queued:
                    continue
                first_solo = first_solo or p.uid in solo
                if key in tried_lines or first_solo:
                    trying.append(p)
        out: list[tuple[Pod, str | None]] = []
        for p in sorted(trying, key=queue_key):
            message = why(p, used)
            if message is None:
                used.add(p)
                lines[queued.pop(p.uid)].dead += 1
                out.append((p, None))
            elif p.message != message:
                out.append((p, message))
        for key in tried_lines:
            line = lines[key]
            line.state, line.attempts, line.stamp = WAITING, line.attempts + 1, now
        for key, line in list(lines.items()):
            if line.dead == len(line.pods):
                del lines[key]
        return out


def _mixed(seed: int) -> dict[str, Any]:
    """Workloads of one and of two priorities, asking for different resources, that pile
    up on a node of 4 CPUs, 16Gi and 8 pod slots; cordon, scale and drain on the way."""

    def dep(name: str, replicas: int, cpu: str, memory: str, **spec: Any) -> dict[str, Any]:
        m = pod(name, kind="Deployment", requests={"cpu": cpu, "memory": memory}, **spec)
        m["spec"]["replicas"] = replicas
        return {"manifest": m}

    big_cpu = dep("cpu", 5, "1500m", "1Gi")
    big_cpu["lifetime"] = {"exponential": {"mean": "4m"}}
    big_mem = dep("mem", 5, "250m", "5Gi")
    big_mem["lifetime"] = {"uniform": {"min": "1m", "max": "9m"}}
    small = dep("small", 4, "100m", "256Mi")
    small["lifetime"] = {"exponential": {"mean": "2m"}}
    urgent = dep("urgent", 1, "1", "2Gi", priority=1000)
    urgent["lifetime"] = {"exponential": {"mean": "6m"}}
    job = pod("batch", kind="Job", requests={"cpu": "1", "memory": "3Gi"}, restart="Never")
    job["spec"]["parallelism"] = 3
    batch = {"manifest": job, "arrivals": {"poisson": "20/h"}, "profile": {"work": "3m"}}
    elsewhere = dep("elsewhere", 2, "100m", "100Mi", nodeSelector={"pool": "gpu"})
    data = scenario(
        [big_cpu, big_mem, small, urgent, batch, elsewhere],
        [APP],
        duration="1h",
        node=node(kubelet={"maxPods": 8}),
        events=[
            {"at": "10m", "cordon": True},
            {"at": "14m", "cordon": False},
            {"at": "20m", "scale": {"workload": "small", "replicas": 9}},
            {"at": "30m", "scale": {"workload": "urgent", "replicas": 3}},
            {"at": "40m", "scale": {"workload": "small", "replicas": 1}},
            {"at": "50m", "drain": {}},
        ],
    )
    data["seed"] = seed
    return copy.deepcopy(data)


@pure_python_only
@pytest.mark.parametrize("seed", range(4))
def test_ordered_queue_decides_as_a_full_scan(seed):
    loaded = load_data(_mixed(seed))
    tables = []
    for full_scan in (False, True):
        rec = Recorder()
        wn = Cluster(loaded, seed, rec)
        if full_scan:
            wn.pending = _FullScan()
        wn.run()
        tables.append(tables_from_records(rec))
    new, old = tables
    failed = old["events"][old["events"]["reason"] == "FailedScheduling"]
    assert failed["message"].nunique() >= 4  # the scenario exercises several reasons
    assert set(new) == set(old)
    for name in old:
        pdt.assert_frame_equal(new[name], old[name], obj=name)


def test_a_writer_closer_to_its_cap_than_the_clock_can_tell_does_not_stop_time():
    """At t = 1e6 s the clock's step is 1.16e-10 s. A writer at 100 MB/s with 5e-6 bytes
    left to its cap reaches it in 5e-14 s: a wake-up that far ahead is the same instant,
    and the volume used to wake there forever (random scenarios stopped at the event
    limit). It now wakes one clock step later, finds the writer at its cap, and stops."""
    env = CountingEnvironment()
    env.run(until=1e6)
    vol = Volume(env, capacity=2**40, os_bytes=0.0, images=lambda: (0.0, 0.0))
    vol.write_many([("w", "scratch", 1, 1e8, 5e-6)])
    before = env.processed
    env.run(until=1e6 + 1)
    assert env.processed - before <= 3  # the wake-up, the one after it, the stop at until
    [w] = vol.written()
    assert w.bytes == 5e-6
