"""Pod lifecycles through the kubelet: pulls, back-offs, admission, scheduling, controllers."""

from __future__ import annotations

import pytest
from simhelp import NO_VICTIMS, NOT_HELPFUL, node, pod, run, scenario

EMPTY = {"layers": [{"size": 0}]}


def _img(name: str, **extra) -> dict:
    return {"name": name, **EMPTY, **extra}


def _row(res, name):
    rows = res.pods[res.pods["pod"] == name]
    assert len(rows) == 1, res.pods["pod"].tolist()
    return rows.iloc[0]


def _events(res, obj, reason):
    ev = res.events
    return ev[(ev["object"] == obj) & (ev["reason"] == reason)]


def test_unknown_image_backs_off_10s_doubling_to_300s():
    # Attempts at 2 (after the sandbox), then 10, 20, 40, 80, 160, 300, 300 s after each failure.
    res = run(scenario([{"manifest": pod("p", "contoso/app:VERSION")}], duration="1300s"))
    pulls = _events(res, "p", "Pulling")
    times = pulls[pulls["message"].str.contains("contoso/app")]["time_s"].tolist()
    assert times == [2, 12, 32, 72, 152, 312, 612, 912, 1212]
    failed = _events(res, "p", "Failed")["message"].tolist()
    assert failed[0] == (
        'Failed to pull image "contoso/app:VERSION": rpc error: code = NotFound desc = failed '
        'to pull and unpack image "contoso/app:VERSION": failed to resolve reference '
        '"contoso/app:VERSION": contoso/app:VERSION: not found'
    )
    assert failed[1] == "Error: ErrImagePull"
    assert _row(res, "p")["phase"] == "ContainerCreating"


def test_pull_policy_never_without_image_never_starts():
    res = run(scenario([{"manifest": _never_pod()}], [_img("test/app:1")]))
    ev = _events(res, "p", "ErrImageNeverPull")
    assert ev["message"].tolist() == [
        'Container image "test/app:1" is not present with pull policy of Never'
    ]
    assert _row(res, "p")["phase"] == "ContainerCreating"


def _never_pod():
    m = pod("p", "test/app:1")
    m["spec"]["containers"][0]["imagePullPolicy"] = "Never"
    return m


def test_process_isolated_image_must_match_host_build_but_hostprocess_need_not():
    images = [
        _img("app:2019", base="mcr.microsoft.com/windows/nanoserver:1809"),
    ]
    # Shrink the base: only the compatibility rule matters here.
    data = scenario(
        [
            {"manifest": pod("iso", "app:2019")},
            {"manifest": pod("hpc", "app:2019", host_process=True)},
        ],
        images,
        duration="10m",
        node=node(network="1000TB/s", unpackRate="1000TB/s"),
    )
    res = run(data)
    msg = _events(res, "iso", "Failed")["message"].iloc[0]
    assert "The container operating system does not match the host operating system." in msg
    assert _row(res, "iso")["restarts"] > 0
    assert _row(res, "hpc")["phase"] == "Running"
    assert _row(res, "hpc")["restarts"] == 0


def test_hostprocess_pod_in_baseline_namespace_is_refused_with_psa_words():
    res = run(
        scenario(
            [{"manifest": pod("agent", host_process=True)}],
            [_img("test/app:1")],
            namespaces={"default": "baseline"},
        )
    )
    p = _row(res, "agent")
    assert p["phase"] == "Refused"
    assert p["message"] == (
        'pods "agent" is forbidden: violates PodSecurity "baseline:latest": host namespaces '
        "(hostNetwork=true), hostProcess (pod must not set "
        "securityContext.windowsOptions.hostProcess=true)"
    )
    assert res.transitions["to"].tolist() == ["Refused"]


def _blocker_and_waiter(stop_time=None, host_process=False):
    a = {
        "manifest": pod("a", requests={"cpu": "1500m"}, host_process=host_process),
        "lifetime": {"fixed": "100s"},
    }
    if stop_time is not None:
        a["profile"] = {"stopTime": stop_time}
    b = {"manifest": pod("b", requests={"cpu": "1"}), "start": "10s"}
    return scenario([a, b], [_img("test/app:1")], duration="10m", node=node(cpu=2))


@pytest.mark.parametrize(
    ("stop_time", "host_process", "freed_at"),
    [
        (None, False, 130.0),  # terminationGracePeriodSeconds 30 s, then killed
        ("3s", False, 103.0),  # the process exits 3 s after its stop signal
        (None, True, 105.0),  # HostProcess: hcsshim's 5 s, then TerminateJobObject
    ],
)
def test_pending_pod_is_scheduled_when_resources_free(stop_time, host_process, freed_at):
    res = run(_blocker_and_waiter(stop_time, host_process))
    b = _row(res, "b")
    assert b["scheduled_s"] == pytest.approx(freed_at)
    assert b["pending_s"] == pytest.approx(freed_at - 10)
    fs = _events(res, "b", "FailedScheduling")["message"].tolist()
    assert fs == ["0/1 nodes are available: 1 Insufficient cpu." + NO_VICTIMS]
    assert _row(res, "a")["deleted_s"] == pytest.approx(freed_at)


def test_node_name_pod_that_does_not_fit_fails_kubelet_admission():
    m = pod("big", requests={"cpu": "8"})
    m["spec"]["nodeName"] = "win-node-0"
    res = run(scenario([{"manifest": m}], [_img("test/app:1")], node=node(cpu=2)))
    p = _row(res, "big")
    assert (p["phase"], p["reason"]) == ("Failed", "OutOfcpu")


def test_init_containers_run_in_order_before_app_containers():
    m = pod("p")
    m["spec"]["initContainers"] = [
        {"name": "i1", "image": "test/app:1"},
        {"name": "i2", "image": "test/app:1"},
    ]
    wl = {"manifest": m, "containers": {"i1": {"runFor": "10s"}, "i2": {"runFor": "20s"}}}
    res = run(scenario([wl], [_img("test/app:1")]))
    started = _events(res, "p", "Started")
    assert started["message"].tolist() == [
        "Started container i1",
        "Started container i2",
        "Started container c",
    ]
    # sandbox 2 s; i1: 1 s create + 10 s; i2: 1 s + 20 s; c: 1 s.
    assert started["time_s"].tolist() == [3, 14, 35]
    assert _row(res, "p")["ready_s"] == 35


def test_job_with_restart_never_recreates_failed_pods_until_backoff_limit():
    m = pod("job", restart="Never", kind="Job")
    m["spec"]["backoffLimit"] = 2
    wl = {"manifest": m, "profile": {"runFor": "5s", "exitCode": 1}}
    res = run(scenario([wl], [_img("test/app:1")]))
    pods = res.pods.sort_values("created_s")
    # Failure 1 at 8 s (2 + 1 + 5); new pod after 10 s; failure 2 at 26; new after 20 s;
    # failure 3 at 54 > backoffLimit 2: the Job fails.
    assert pods["created_s"].tolist() == [0, 18, 46]
    assert pods["phase"].tolist() == ["Failed"] * 3
    assert _events(res, "job", "BackoffLimitExceeded")["time_s"].tolist() == [54]


def test_job_completions_and_parallelism():
    m = pod("job", restart="OnFailure", kind="Job")
    m["spec"]["completions"] = 4
    m["spec"]["parallelism"] = 2
    res = run(scenario([{"manifest": m, "profile": {"runFor": "10s"}}], [_img("test/app:1")]))
    pods = res.pods.sort_values(["created_s", "pod"])
    assert pods["created_s"].tolist() == [0, 0, 13, 13]
    assert (pods["phase"] == "Succeeded").all()
    assert _events(res, "job", "Completed")["time_s"].tolist() == [26]


def _deployment(replicas=2, **wl):
    m = pod("web", kind="Deployment")
    m["spec"]["replicas"] = replicas
    return {"manifest": m, **wl}


def test_scale_event_adds_pods():
    data = scenario(
        [_deployment()],
        [_img("test/app:1")],
        events=[{"at": "50s", "scale": {"workload": "web", "replicas": 4}}],
    )
    res = run(data)
    assert (res.pods["phase"] == "Running").sum() == 4
    assert sorted(res.pods["created_s"].tolist()) == [0, 0, 50, 50]


def test_rollout_replaces_every_pod_with_the_new_image():
    data = scenario(
        [_deployment(4)],
        [_img("test/app:1"), _img("test/app:2")],
        events=[{"at": "100s", "rollout": {"workload": "web", "image": "test/app:2"}}],
        duration="30m",
    )
    res = run(data)
    live = res.pods[res.pods["phase"] == "Running"]
    assert len(live) == 4 and (live["revision"] == 1).all()
    assert (res.pods[res.pods["revision"] == 0]["phase"] == "Deleted").all()


def test_drain_evicts_all_but_daemonset_pods_and_replacements_stay_pending():
    ds = pod("agent", kind="DaemonSet")
    data = scenario(
        [_deployment(), {"manifest": ds}],
        [_img("test/app:1")],
        events=[{"at": "60s", "drain": {}}],
        duration="10m",
    )
    res = run(data)
    web = res.pods[res.pods["workload"] == "web"]
    assert sorted(web["phase"].tolist()) == ["Deleted", "Deleted", "Pending", "Pending"]
    pending = web[web["phase"] == "Pending"]["pod"].tolist()
    assert _events(res, pending[0], "FailedScheduling")["message"].tolist() == [
        "0/1 nodes are available: 1 node(s) were unschedulable." + NOT_HELPFUL
    ]
    assert res.pods[res.pods["workload"] == "agent"]["phase"].tolist() == ["Running"]


def test_untolerated_taint_and_selector_keep_pods_pending():
    taints = [{"key": "os", "value": "windows", "effect": "NoSchedule"}]
    sel = pod("sel", nodeSelector={"kubernetes.io/os": "linux"})
    res = run(
        scenario(
            [{"manifest": pod("t")}, {"manifest": sel}],
            [_img("test/app:1")],
            node=node(taints=taints),
        )
    )
    # TaintToleration runs before NodeAffinity: the first failing plugin's reason alone.
    assert _events(res, "t", "FailedScheduling")["message"].tolist() == [
        "0/1 nodes are available: 1 node(s) had untolerated taint {os: windows}." + NOT_HELPFUL
    ]
    assert _events(res, "sel", "FailedScheduling")["message"].tolist() == [
        "0/1 nodes are available: 1 node(s) had untolerated taint {os: windows}." + NOT_HELPFUL
    ]


def test_same_seed_same_tables_different_seed_different_numbers():
    wl = _deployment(
        3,
        lifetime={"exponential": {"mean": "10m"}},
        profile={"memory": {"normal": {"mean": "500Mi", "sd": "50Mi"}}},
    )
    data = scenario([wl], [_img("test/app:1")], duration="3h")
    a, b, c = run(data, seed=7), run(data, seed=7), run(data, seed=8)
    for name in ("pods", "events", "series", "transitions"):
        assert a.tables[name].equals(b.tables[name])
    assert not a.pods["deleted_s"].equals(c.pods["deleted_s"])


def test_replications_add_a_column_and_intervals():
    wl = _deployment(3, lifetime={"exponential": {"mean": "10m"}})
    res = run(scenario([wl], [_img("test/app:1")], duration="2h"), replications=4)
    assert sorted(res.pods["replication"].unique().tolist()) == [0, 1, 2, 3]
    s = res.summary()
    assert s["pods_created"]["n"] == 4
    assert s["pods_created"]["half_width"] > 0


def test_job_with_parallelism_only_is_a_work_queue():
    # batch/v1: completions stays unset; 3 pods start, the Job completes when one has
    # succeeded and none is active. Runs of 10, 20 and 30 s (sandbox 2 s + container 1 s).
    m = pod("queue", restart="Never", kind="Job")
    m["spec"]["parallelism"] = 3
    wl = {"manifest": m, "profile": {"runFor": "10s"}}
    res = run(scenario([wl], [_img("test/app:1")]))
    assert len(res.pods) == 3
    assert (res.pods["phase"] == "Succeeded").all()
    assert _events(res, "queue", "Completed")["time_s"].tolist() == [13]


def test_rates_accept_a_bare_zero():
    wl = {"manifest": pod("p"), "profile": {"memoryGrowth": 0, "hostWrites": "0"}}
    res = run(scenario([wl], [_img("test/app:1")]))
    assert _row(res, "p")["phase"] == "Running"


def test_hostprocess_pod_with_the_gate_off_is_refused_by_the_api_server():
    # Kubernetes 1.22: WindowsHostProcessContainers is alpha and off. The API server refuses
    # the field (validation.go v1.22.0), it does not drop it: the pod never reaches the node
    # and never runs as an ordinary container.
    def one(**node_over):
        data = scenario(
            [{"manifest": pod("agent", host_process=True)}],
            [_img("test/app:1")],
            node=node(kubernetes="1.22", **node_over),
        )
        return run(data)

    res = one()
    p = _row(res, "agent")
    assert (p["phase"], p["reason"]) == ("Refused", "FailedCreate")
    assert p["message"] == (
        'The Pod "agent" is invalid: spec.securityContext.windowsOptions.hostProcess: '
        "Forbidden: not allowed when feature gate 'WindowsHostProcessContainers' is not enabled"
    )
    assert res.transitions["to"].tolist() == ["Refused"]
    # The gate turned on, the same pod runs as a HostProcess container.
    on = _row(one(featureGates={"WindowsHostProcessContainers": True}), "agent")
    assert on["phase"] == "Running"
