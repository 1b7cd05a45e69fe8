"""kubectl's STATUS column and the Ready condition (hpsim.node.printer, hpsim.node.pod).

The printer's rules are k/k pkg/printers/internalversion/printers.go ``printPod``;
the runs' timings come from the test node's start-up costs (simhelp.node: sandbox
2 s, container 1 s) and kubelet's back-offs (10 s doubling).
"""

from __future__ import annotations

import pytest
from simhelp import node, pod, run, scenario

from hpsim.node.printer import NOT_REPORTED, RUNNING, TERMINATED, WAITING, Shown, pod_status

EMPTY = [{"name": "test/app:1", "layers": [{"size": 0}]}]
RUN = Shown(RUNNING)


def _waiting(reason: str) -> Shown:
    return Shown(WAITING, reason)


@pytest.mark.parametrize(
    ("phase", "reason", "deleting", "ready", "init", "app", "status"),
    [
        # Nothing reported yet: the phase.
        ("Pending", "", False, False, [], [NOT_REPORTED], "Pending"),
        ("Pending", "", False, False, [], [_waiting("ContainerCreating")], "ContainerCreating"),
        # Init containers: i of n done, a failed one, one waiting for its image.
        ("Pending", "", False, False, [_waiting("PodInitializing")] * 2, [], "Init:0/2"),
        ("Pending", "", False, False, [Shown(TERMINATED, "Completed"), RUN], [], "Init:1/2"),
        ("Pending", "", False, False, [Shown(TERMINATED, "Error", 1)], [], "Init:Error"),
        ("Pending", "", False, False, [Shown(TERMINATED, "", 3)], [], "Init:ExitCode:3"),
        ("Pending", "", False, False, [_waiting("ImagePullBackOff")], [], "Init:ImagePullBackOff"),
        # App containers, last to first: the first container's state wins.
        ("Running", "", False, False, [], [_waiting("CrashLoopBackOff"), RUN], "CrashLoopBackOff"),
        ("Running", "", False, False, [], [RUN, _waiting("CrashLoopBackOff")], "CrashLoopBackOff"),
        ("Running", "", False, True, [], [RUN, RUN], "Running"),
        # Completed beside a running container: Running if the pod is Ready, else NotReady.
        ("Running", "", False, True, [], [Shown(TERMINATED, "Completed"), RUN], "Running"),
        ("Running", "", False, False, [], [Shown(TERMINATED, "Completed"), RUN], "NotReady"),
        ("Succeeded", "", False, False, [], [Shown(TERMINATED, "Completed")], "Completed"),
        ("Failed", "", False, False, [], [Shown(TERMINATED, "StartError", 128)], "StartError"),
        # The pod's reason until a container's state says more.
        ("Failed", "Evicted", False, False, [], [RUN], "Evicted"),
        ("Failed", "Evicted", False, False, [], [Shown(TERMINATED, "Error", 1)], "Error"),
        ("Failed", "OutOfcpu", False, False, [], [NOT_REPORTED], "OutOfcpu"),
        # Being deleted and not terminal.
        ("Running", "", True, True, [], [RUN], "Terminating"),
        ("Succeeded", "", True, False, [], [Shown(TERMINATED, "Completed")], "Completed"),
    ],
)
def test_pod_status_follows_print_pod(phase, reason, deleting, ready, init, app, status):
    assert pod_status(phase, reason, deleting, ready, init, app) == status


def _shown(res, name):
    t = res.transitions[res.transitions["pod"] == name]
    return list(zip(t["time_s"], t["status"], t["ready"], strict=True))


def test_a_crash_loop_is_error_then_crash_loop_back_off_and_not_ready():
    """runFor 100 s, exit 1, restartPolicy Always. Instance 0 runs 3-103 s; the first
    restart is at once (104 s after its 1 s create); then back-off 10 s (204 -> 214,
    running at 215) and 20 s (315 -> 335, running at 336). kubectl shows Error when an
    instance exits and CrashLoopBackOff while kubelet backs off. Ready for 100 + 100 +
    100 + (400 - 336) = 364 s of the pod's 400: ready_fraction 0.91."""
    wl = {"manifest": pod("p"), "profile": {"runFor": "100s", "exitCode": 1}}
    res = run(scenario([wl], EMPTY, duration="400s"))
    assert _shown(res, "p") == [
        (0.0, "Pending", False),
        (0.0, "Pending", False),
        (0.0, "ContainerCreating", False),
        (3.0, "Running", True),
        (103.0, "Error", False),
        (104.0, "Running", True),
        (204.0, "Error", False),
        (204.0, "CrashLoopBackOff", False),
        (215.0, "Running", True),
        (315.0, "Error", False),
        (315.0, "CrashLoopBackOff", False),
        (336.0, "Running", True),
    ]
    row = res.pods.iloc[0]
    assert (row["status"], row["ready_duration_s"], row["ready_s"]) == ("Running", 364.0, 3.0)
    assert res.summary()["ready_fraction_by_workload"] == {"p": 364 / 400}


def test_a_missing_image_alternates_err_image_pull_and_image_pull_back_off():
    """The pull fails at 2 s (after the sandbox), then after back-offs of 10, 20 and 40 s:
    at 12, 32 and 72 s. Each failure shows ErrImagePull, each back-off ImagePullBackOff;
    the pod is never Ready (ready_fraction 0)."""
    res = run(scenario([{"manifest": pod("q", "contoso/missing:1")}], EMPTY, duration="100s"))
    shown = [(t, s) for t, s, _r in _shown(res, "q")[3:]]
    assert shown == [
        (t, s) for t in (2.0, 12.0, 32.0, 72.0) for s in ("ErrImagePull", "ImagePullBackOff")
    ]
    assert res.pods["status"].tolist() == ["ImagePullBackOff"]
    assert res.summary()["ready_fraction_by_workload"] == {"q": 0.0}


def test_init_containers_show_init_i_of_n_then_pod_initializing_then_running():
    """Init containers of 10 s and 20 s: i1 created at 2 + 1 = 3 s, exits 13; i2 created
    14, exits 34; c created 35. Statuses: Init:0/2 from the first sync, Init:1/2 once i1
    completed, PodInitializing once both did, Running at 35 s."""
    m = pod("p")
    m["spec"]["initContainers"] = [
        {"name": "i1", "image": "test/app:1"},
        {"name": "i2", "image": "test/app:1"},
    ]
    wl = {"manifest": m, "containers": {"i1": {"runFor": "10s"}, "i2": {"runFor": "20s"}}}
    res = run(scenario([wl], EMPTY))
    assert [(t, s) for t, s, _r in _shown(res, "p")[2:]] == [
        (0.0, "Init:0/2"),
        (13.0, "Init:1/2"),
        (34.0, "PodInitializing"),
        (35.0, "Running"),
    ]


def test_a_job_pod_completes_and_a_deleted_pod_is_terminating_then_gone():
    """A Job pod runs 10 s (3 to 13 s) and shows Completed: first its container's state,
    then the pod's phase, both at 13 s. A Deployment pod deleted by
    its lifetime at 50 s shows Terminating for the 30 s grace period, then is gone
    (status "" once Deleted, Ready until its container stopped at 80 s)."""
    job = {"manifest": pod("job", restart="Never", kind="Job"), "profile": {"runFor": "10s"}}
    web = {"manifest": pod("web", kind="Deployment"), "lifetime": {"fixed": "50s"}}
    res = run(scenario([job, web], EMPTY, duration="100s"))
    t = res.transitions[res.transitions["pod"] == "job-1-1"]
    assert list(zip(t["time_s"], t["to"], t["status"], strict=True))[-3:] == [
        (3.0, "Running", "Running"),
        (13.0, "Running", "Completed"),  # the container exited 0: the pod still Running
        (13.0, "Succeeded", "Completed"),  # then kubelet ends the pod
    ]
    first = res.pods[res.pods["workload"] == "web"].iloc[0]["pod"]
    assert _shown(res, first)[-2:] == [(50.0, "Terminating", True), (80.0, "", False)]
    pods = res.pods.set_index("pod")
    assert (pods.loc["job-1-1", "status"], pods.loc[first, "status"]) == ("Completed", "")
    assert pods.loc[first, "ready_duration_s"] == 80.0 - 3.0


def test_an_evicted_pod_shows_evicted_then_its_containers_error():
    """Hard eviction at 23,900 s (tests/test_eviction.py's host-path writer): kubelet writes
    phase Failed, reason Evicted while the container still runs (kubectl: Evicted), then
    the killed container's state (kubectl: Error, k/k issue #105467)."""
    data = scenario(
        [{"manifest": pod("shipper", host_process=True), "profile": {"hostWrites": "3Mi/s"}}],
        EMPTY,
        duration="8h",
        node=node(disk="100Gi", osDiskUsage="20Gi"),
    )
    res = run(data)
    assert _shown(res, "shipper")[-2:] == [(23900.0, "Evicted", False), (23900.0, "Error", False)]
    row = res.pods.iloc[0]
    assert (row["phase"], row["reason"], row["status"]) == ("Failed", "Evicted", "Error")


def test_a_pod_kubelet_does_not_admit_shows_the_out_of_reason():
    m = pod("big", requests={"cpu": "8"})
    m["spec"]["nodeName"] = "win-node-0"
    res = run(scenario([{"manifest": m}], EMPTY, node=node(cpu=2)))
    assert res.pods["status"].tolist() == ["OutOfcpu"]
