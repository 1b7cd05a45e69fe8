"""The sandbox (pause) image: in the node image, or pulled by containerd in RunPodSandbox.

Node as in simhelp: 100 MiB/s download, 20 MiB/s unpack, sandbox 2 s, container 1 s.
Here the sandbox image test/pause:1 weighs 100 MiB (1 s to download, 5 s to unpack)
unless a test says otherwise, and the app image 0 bytes.
"""

from __future__ import annotations

from typing import Any

import pytest
from simhelp import node, pod, run

from hpsim.scenario.load import load_data

PAUSE_100 = {"name": "test/pause:1", "layers": [{"size": "100Mi", "unpacked": "100Mi"}]}
APP = {"name": "test/app:1", "layers": [{"size": 0}]}


def _data(pre_pulled: list[str] | None, containerd: str = "1.7.22", **top: Any) -> dict:
    over: dict[str, Any] = {"containerd": {"version": containerd, "sandboxImage": "test/pause:1"}}
    if pre_pulled is not None:
        over["prePulledImages"] = pre_pulled
    over.update(top.pop("node", {}))
    return {
        "name": "t",
        "duration": top.pop("duration", "10m"),
        "node": node(**over),
        "images": [PAUSE_100, APP],
        "workloads": top.pop("workloads", [{"manifest": pod("p", "test/app:1")}]),
        **top,
    }


def test_the_node_image_holds_the_sandbox_image_by_default() -> None:
    """AKS's and EKS's Windows node images cache pause: nothing to pull, so the pod asks
    for its own image after the 2 s sandbox and is ready at 2 + 0 + 1 = 3 s. Its 200 MiB
    (100 compressed + 100 unpacked) are on the volume from the start."""
    res = run(_data(None))
    assert res.pulls["image"].tolist() == ["test/app:1"]
    assert res.pods.set_index("pod").loc["p", "ready_s"] == 3.0
    assert res.node_series()["disk_content_store_bytes"].iloc[0] == 100 * 2**20
    assert load_data(_data(None)).scenario.first_node.pre_pulled == ["test/pause:1"]


def test_containerd_pulls_a_missing_sandbox_image_without_kubelet() -> None:
    """With nothing pre-pulled RunPodSandbox pulls pause itself: 1 s + 5 s, then the 2 s
    sandbox: the app pull at 8 s, ready at 9 s. kubelet says nothing of it: no Pulling or
    Pulled event names pause. The pull is in the pulls table (queued = started = 0)."""
    res = run(_data([]))
    pulls = res.pulls.set_index("image")
    assert (pulls.loc["test/pause:1", "queued_s"], pulls.loc["test/pause:1", "finished_s"]) == (
        0.0,
        6.0,
    )
    assert pulls.loc["test/app:1", "started_s"] == 8.0
    assert res.pods.set_index("pod").loc["p", "ready_s"] == 9.0
    kubelet = res.events[res.events["reason"].isin(["Pulling", "Pulled"])]
    assert not kubelet["message"].str.contains("pause").any()


def test_the_sandbox_pull_takes_no_token_of_kubelets_pull_limit() -> None:
    """registryPullQPS 1 with registryBurst 1 holds one token. A 0-byte pause and no
    sandbox start-up cost: at t = 0 containerd pulls pause (no token: it is not kubelet's
    pull) and kubelet pulls the app, which takes the one token and succeeds. Ready at 1 s
    (the container's start)."""
    zero_pause = {"name": "test/pause:1", "layers": [{"size": 0}]}
    data = _data(
        [],
        node={
            "kubelet": {"registryPullQPS": 1, "registryBurst": 1},
            "startup": {"sandbox": 0, "container": "1s"},
        },
    )
    data["images"] = [zero_pause, APP]
    res = run(data)
    assert set(res.pulls["error"]) == {""}
    assert res.pods.set_index("pod").loc["p", "ready_s"] == 1.0


@pytest.mark.parametrize(
    ("containerd", "message"),
    [
        (
            "1.7.22",
            'rpc error: code = Unknown desc = failed to get sandbox image "test/pause:1": '
            'failed to pull image "test/pause:1": failed to pull and unpack image '
            '"test/pause:1": failed to resolve reference "test/pause:1": unexpected status '
            "from HEAD request to https://registry-1.docker.io/v2/test/pause/manifests/1: 503 "
            "Service Unavailable",
        ),
        (
            # 2.3 pulls pause in RunPodSandbox itself, through the transfer service.
            "2.3.0",
            'rpc error: code = Unknown desc = failed to pull image "test/pause:1": failed to '
            'pull and unpack image "test/pause:1": failed to resolve image: unexpected status '
            "from HEAD request to https://registry-1.docker.io/v2/test/pause/manifests/1: 503 "
            "Service Unavailable",
        ),
    ],
)
def test_a_failed_sandbox_pull_fails_runpodsandbox_and_the_pod_worker_retries(
    containerd: str, message: str
) -> None:
    """The pod is created at 5 s during an outage from 1 s to 31 s. RunPodSandbox's pull of
    pause is refused (503) at 5, 15 and 25 s, the pod worker retrying 10 s after each
    FailedCreatePodSandBox; at 35 s pause comes (1 + 5 s: 41 s), the 2 s sandbox: the app
    pull at 43 s, ready at 44 s."""
    workloads = [{"manifest": pod("p", "test/app:1"), "start": "5s"}]
    events = [{"at": "1s", "registry": {"outage": "30s"}}]
    res = run(_data([], containerd, workloads=workloads, events=events))
    failed = res.events[res.events["reason"] == "FailedCreatePodSandBox"]
    assert failed["time_s"].tolist() == [5.0, 15.0, 25.0]
    assert set(failed["message"]) == {f"Failed to create pod sandbox: {message}"}
    assert res.pods.set_index("pod").loc["p", "ready_s"] == 44.0


def test_a_sandbox_image_nobody_defines_is_in_no_node_image() -> None:
    """containerd's sandboxImage names an image neither the scenario nor the catalogue
    defines: the node image cannot hold it, and RunPodSandbox's pull of it is answered
    not found at 0, 10, 20 and 30 s (the pod worker's 10 s); the pod never starts."""
    data = _data(None, duration="35s")
    data["node"]["containerd"]["sandboxImage"] = "foo/pause:9"
    res = run(data)
    failed = res.events[res.events["reason"] == "FailedCreatePodSandBox"]
    assert failed["time_s"].tolist() == [0.0, 10.0, 20.0, 30.0]
    assert failed["message"].iloc[0] == (
        "Failed to create pod sandbox: rpc error: code = NotFound desc = failed to get sandbox "
        'image "foo/pause:9": failed to pull image "foo/pause:9": failed to pull and unpack '
        'image "foo/pause:9": failed to resolve reference "foo/pause:9": foo/pause:9: not found'
    )
    assert res.pods.set_index("pod").loc["p", "phase"] == "ContainerCreating"
