"""Registry trouble: outages, throttles, containerd's progress timeout, kubelet's pull QPS.

Node as in simhelp: 100 MiB/s download, 20 MiB/s unpack, sandbox 2 s, container 1 s,
containerd 1.7.22 (image_pull_progress_timeout 5 min, checked every 10 s), the sandbox
image in the node image. So a pod created at 0 asks for its image at t = 2; 100 MiB
download in 1 s and unpack in 5 s; kubelet's image back-off is 10 s doubling.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
import simpy
from simhelp import node, pod, run, scenario

from hpsim.node.containerd import Containerd, Image, Layer
from hpsim.node.registry import Registry, manifest_url
from hpsim.node.tokenbucket import TokenBucket

MiB = 2**20
APP = "test/app:1"


def _app(mib: int) -> dict[str, Any]:
    return {"name": APP, "layers": [{"size": f"{mib}Mi", "unpacked": f"{mib}Mi"}]}


def _run(mib: int, events: list[dict], duration: str = "1h", **node_over: Any):
    data = scenario(
        [{"manifest": pod("p", APP)}],
        [_app(mib)],
        node=node(**node_over),
        duration=duration,
        events=events,
    )
    return run(data)


def _failed(res, obj: str = "p") -> pd.DataFrame:
    ev = res.events
    return ev[(ev["object"] == obj) & (ev["reason"] == "Failed")]


UNAVAILABLE = (
    'rpc error: code = Unknown desc = failed to pull and unpack image "test/app:1": failed '
    'to resolve reference "test/app:1": unexpected status from HEAD request to '
    "https://registry-1.docker.io/v2/test/app/manifests/1: 503 Service Unavailable"
)


@pytest.mark.parametrize(
    ("ref", "url"),
    [
        ("test/app:1", "https://registry-1.docker.io/v2/test/app/manifests/1"),
        ("busybox", "https://registry-1.docker.io/v2/library/busybox/manifests/latest"),
        (
            "mcr.microsoft.com/windows/servercore:ltsc2022",
            "https://mcr.microsoft.com/v2/windows/servercore/manifests/ltsc2022",
        ),
        ("localhost:5000/a/b@sha256:abc", "https://localhost:5000/v2/a/b/manifests/sha256:abc"),
    ],
)
def test_the_manifest_url_containerd_resolves(ref: str, url: str) -> None:
    assert manifest_url(ref) == url


def test_an_outage_refuses_new_pulls_with_503_until_it_ends() -> None:
    """Outage from 1 s to 31 s. The pull at 2 s is answered 503 (no byte moves), back-off
    10 s: again at 12 s, refused, back-off 20 s: at 32 s the registry is back. 100 MiB:
    downloaded at 33, unpacked at 38, the container started 1 s later: ready at 39 s."""
    res = _run(100, [{"at": "1s", "registry": {"outage": "30s"}}])
    assert res.pulls["started_s"].tolist() == [2.0, 12.0, 32.0]
    assert res.pulls["error"].tolist() == [UNAVAILABLE, UNAVAILABLE, ""]
    failed = _failed(res)
    assert (
        failed["message"].tolist()
        == [
            f'Failed to pull image "{APP}": {UNAVAILABLE}',
            "Error: ErrImagePull",
        ]
        * 2
    )
    assert res.pods.set_index("pod").loc["p", "ready_s"] == pytest.approx(39.0)
    reasons = res.events[res.events["kind"] == "Registry"][["time_s", "reason"]]
    assert reasons.values.tolist() == [[1.0, "RegistryOutage"], [31.0, "RegistryRestored"]]


def test_an_outage_shorter_than_the_progress_timeout_pauses_the_download() -> None:
    """1000 MiB from t = 2 at 100 MiB/s; the outage at 5 s stops it with 300 MiB in. It
    lasts 60 s, less than the 5 min timeout: from 65 s the other 700 MiB take 7 s
    (downloaded at 72 s), the unpack 1000 / 20 = 50 s: pulled at 122 s, ready at 123 s."""
    res = _run(1000, [{"at": "5s", "registry": {"outage": "60s"}}])
    pull = res.pulls.iloc[0]
    assert (pull["error"], pull["downloaded_s"], pull["finished_s"]) == ("", 72.0, 122.0)
    assert res.pods.set_index("pod").loc["p", "ready_s"] == pytest.approx(123.0)


@pytest.mark.parametrize(
    ("timeout", "cancelled"),
    [
        # Ticks every 10 s from the pull's start: 12 s saw the last bytes; the first tick
        # more than 300 s after it is 12 + 310 = 322 s.
        (None, 322.0),
        # Under 10 s the reporter ticks at half the timeout: every 3 s from 2 s. 5 s is a
        # tick that saw bytes; the first more than 6 s after it: 5 + 9 = 14 s.
        ("6s", 14.0),
    ],
)
def test_a_stall_longer_than_the_progress_timeout_cancels_the_pull(
    timeout: str | None, cancelled: float
) -> None:
    """The same pull, the outage from 5 s to 605 s: containerd cancels it (Canceled,
    "context canceled"); the 300 MiB it had are lost. Then kubelet's back-off: 10, 20,
    40, 80, 160 s, each attempt before 605 s refused with 503. For the default timeout:
    attempts at 332, 352, 392, 472 (503), then 632: 1000 MiB in 10 s (642), unpacked in
    50 s (692), ready at 693 s."""
    containerd: dict[str, Any] = {"version": "1.7.22", "sandboxImage": "test/pause:1"}
    if timeout is not None:
        containerd["imagePullProgressTimeout"] = timeout
    res = _run(1000, [{"at": "5s", "registry": {"outage": "600s"}}], containerd=containerd)
    first = res.pulls.iloc[0]
    assert (first["started_s"], first["finished_s"]) == (2.0, cancelled)
    assert first["bytes_downloaded"] == 0
    assert first["error"] == (
        'rpc error: code = Canceled desc = failed to pull and unpack image "test/app:1": '
        "context canceled"
    )
    assert set(res.pulls["error"].iloc[1:-1]) == {UNAVAILABLE}
    last = res.pulls.iloc[-1]
    assert last["error"] == "" and last["bytes_downloaded"] == 1000 * MiB
    if timeout is None:
        assert res.pulls["started_s"].tolist() == [2.0, 332.0, 352.0, 392.0, 472.0, 632.0]
        assert res.pods.set_index("pod").loc["p", "ready_s"] == pytest.approx(693.0)


def test_a_throttle_caps_the_download_rate() -> None:
    """Throttled to 10 MiB/s from 1 s for an hour: 100 MiB take 10 s from t = 2 (12 s),
    the unpack 5 s: pulled at 17 s, ready at 18 s."""
    res = _run(100, [{"at": "1s", "registry": {"throttle": {"rate": "10MiB/s", "for": "1h"}}}])
    pull = res.pulls.iloc[0]
    assert (pull["downloaded_s"], pull["finished_s"]) == pytest.approx((12.0, 17.0))
    assert res.pods.set_index("pod").loc["p", "ready_s"] == pytest.approx(18.0)


def test_a_cancelled_pulls_download_is_taken_over_by_the_pull_waiting_on_it() -> None:
    """containerd alone. A (base 200 MiB, a 100 MiB) and B (base only) start at 0; B waits
    on A's download of base (one fetch per blob), so B has no download of its own open.
    At 1 s the outage begins: base has 50 MiB, a 50 MiB. A's reporter (ticks at 0, 10,
    ...) saw bytes last at 10 s and cancels it at 320 s; B then fetches base itself, from
    nothing, stalled until the outage ends at 400 s: 200 MiB at 100 MiB/s, in at 402 s,
    applied in 10 s: B done at 412 s (its own reporter sees the stall only from 320 s, so
    its cancel, due at 630 s, never comes)."""
    env = simpy.Environment()
    wired: list[Containerd] = []  # the registry tells containerd, as the node wires it
    reg = Registry(on_change=lambda: wired[0].registry_changed())
    ctrd = Containerd(
        env,
        network_Bps=100 * MiB,
        unpack_Bps=20 * MiB,
        progress_timeout_s=300.0,
        registry=reg,
    )
    wired.append(ctrd)
    base = Layer("sha256:base", 200 * MiB, 400 * MiB)
    a = Image("a:1", (base, Layer("sha256:a", 100 * MiB, 100 * MiB)))
    b = Image("b:1", (base,))
    pa, pb = ctrd.pull(a), ctrd.pull(b)

    def outage() -> Any:
        yield env.timeout(1)
        reg.outage(begins=True)
        yield env.timeout(399)
        reg.outage(begins=False)

    env.process(outage())
    env.run()
    ra, rb = pa.value, pb.value
    assert (ra.error.code, ra.finished, ra.bytes_downloaded) == ("Canceled", 320.0, 0)
    assert rb.error is None
    assert (rb.downloaded, rb.finished, rb.bytes_downloaded) == pytest.approx(
        (402.0, 412.0, 200 * MiB)
    )
    assert ctrd.images() == ["b:1"]


def test_token_bucket_starts_full_and_refills_at_qps() -> None:
    """Burst 10, 5 a second: ten pulls at 0 pass, the eleventh fails; at 0.2 s one token
    is back (0.2 x 5), at 2.2 s ten (capped at the burst)."""
    bucket = TokenBucket(5, 10)
    assert [bucket.try_accept(0.0) for _ in range(11)] == [True] * 10 + [False]
    assert [bucket.try_accept(0.2) for _ in range(2)] == [True, False]
    assert [bucket.try_accept(2.2) for _ in range(11)] == [True] * 10 + [False]
    assert TokenBucket(5, 0).try_accept(100.0) is False  # a burst of 0 allows nothing


@pytest.mark.parametrize(("qps", "late"), [(5, 13.0), (0, 3.0)])
def test_more_pulls_at_once_than_the_burst_exceed_the_pull_qps(qps: int, late: float) -> None:
    """12 pods, each with its own 0-byte image, ask at t = 2 through the serial puller; each
    pull takes no time, so all 12 leave the queue at 2 s. registryBurst 10: ten get a token
    (ready at 3 s), the 11th and 12th fail with kubelet's "pull QPS exceeded"; back-off
    10 s: at 12 s 50 tokens have come back (capped at 10), both pull, ready at 13 s. With
    registryPullQPS 0 there is no limit: all ready at 3 s."""
    images = [{"name": f"test/img{i}:1", "layers": [{"size": 0}]} for i in range(12)]
    pods = [{"manifest": pod(f"p{i:02d}", f"test/img{i}:1")} for i in range(12)]
    kubelet = {"registryPullQPS": qps}
    res = run(scenario(pods, images, node=node(kubelet=kubelet), duration="1m"))
    ready = res.pods.set_index("pod")["ready_s"].sort_index().tolist()
    assert ready == [3.0] * 10 + [late] * 2
    if qps:
        failed = _failed(res, "p10")["message"].tolist()
        assert failed == [
            'Failed to pull image "test/img10:1": pull QPS exceeded',
            "Error: ErrImagePull",
        ]
