"""Published Windows pull times, each replayed under its stated conditions with hpsim's defaults.

Each test runs a scenario of one pod (two for containerd/containerd#11451) on a node that
keeps every pull default (``node.network`` 23 MB/s, ``node.unpackRate`` 14 MB/s, Defender
real-time scanning on, 3x slower extraction) and sets only what the report states: the
image (sizes from hpsim's catalogue), the OS build, the containerd version, a download
rate or antivirus setting the report gives. The pull is read from the pulls table
(started to finished), so the sandbox image (0 bytes here) and start-up costs stay out.

Sizes used (hpsim/data/windows-images.yaml):
- servercore 1809 (10.0.17763.3887): one layer, 1,707,943,932 B.
- servercore ltsc2025 (10.0.26100.33296): base 1,523,059,351 B + update 917,726,084 B.
- windows/server ltsc2022: one layer, 3,014,000,000 B.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from simhelp import PAUSE, pod, run

MIN = 60.0
MB = 1e6


def _node(os_build: str, **over: Any) -> dict[str, Any]:
    """A node with hpsim's pull defaults, a 0-byte sandbox image and room for big images."""
    containerd = {"sandboxImage": PAUSE["name"], **over.pop("containerd", {})}
    return {
        "osBuild": os_build,
        "cpu": 4,
        "memory": "16Gi",
        "disk": "256Gi",
        "containerd": containerd,
        **over,
    }


def _pull(image: str, node: dict[str, Any]) -> Any:
    """The pulls-table row of ``image``, pulled for one pod on ``node``."""
    data = {
        "name": "obs",
        "duration": "3h",
        "node": node,
        "images": [copy.deepcopy(PAUSE)],
        "workloads": [{"manifest": pod("p", image)}],
    }
    pulls = run(data).pulls.set_index("image")
    return pulls.loc[image]


def test_containerd_4989_servercore_1809_on_gce_in_2020() -> None:
    """containerd/containerd#4989 (ibabou, 2020-12): ``ctr image pull servercore:1809`` on a
    GCE ltsc2019 VM, containerd 1.4.3, Defender real-time on and nothing excluded.
    Observed: download 00:00:24 -> 00:01:38 (74 s), unpack to 00:14:10 (12.5 min), pull
    complete 00:17:48 (17.4 min, 1,044 s).

    Conditions set: containerd 1.4.3, an ltsc2019 host, the download rate the report gives
    (1,707,943,932 B in 74 s: 23 MB/s, hpsim's default). Download: 1,707,943,932 / 23e6 =
    74.26 s.

    Why this observation cannot be matched with the defaults: Defender then slowed
    extraction far more than it does since its 2022 fix (microsoft/Windows-Containers#92,
    cited in containerd PR #6875's review). With today's 3x the model gives 74.26 +
    1,707,943,932 x 3 / 14e6 = 74.26 + 365.99 = 440.25 s (7.3 min). The slowdown that
    reproduces 1,044 s is (1,044 - 74.26) x 14e6 / 1,707,943,932 = 7.95; with 8: unpack
    1,707,943,932 x 8 / 14e6 = 975.97 s, pull 1,050.23 s = 17.5 min, within 1% of 17.4 min.
    That 8 comes from this observation itself, so this half checks the arithmetic, not the
    default. hpsim has no separate finishing step: its 16.3 min of unpack stands for the
    12.5 min of streaming plus the 3.6 min from unpigz's end to "pull completed" (hcsshim's
    ProcessBaseLayer for the base layer).
    """
    node = _node("10.0.17763.1637", containerd={"version": "1.4.3"})
    image = "mcr.microsoft.com/windows/servercore:1809"
    today = _pull(image, node)
    assert today["download_s"] == pytest.approx(74.26, abs=0.01)
    assert today["finished_s"] - today["started_s"] == pytest.approx(440.25, abs=0.01)
    then = _pull(image, {**node, "antivirus": {"unpackSlowdown": 8}})
    pull = then["finished_s"] - then["started_s"]
    assert pull == pytest.approx(1050.23, abs=0.01)
    assert abs(pull - 17.4 * MIN) / (17.4 * MIN) < 0.01


def test_agentbaker_7005_server_ltsc2022_at_aks_node_bootstrap() -> None:
    """Azure/AgentBaker#7005 (2025-09): pulling ``windows/server:ltsc2022`` on a new AKS
    node "can take up to 10-15 minutes".

    Conditions set: an ltsc2022 host, containerd 1.7.20 (AKS's ws2022 containerd,
    AgentBaker parts/common/components.json). Defender is on with containerd.exe excluded
    (AgentBaker staging/cse/windows/kubernetesfunc.ps1): hpsim's default scanning. The
    report gives no download rate: hpsim's 23 MB/s. AKS bakes servercore and nanoserver
    into its node image, but windows/server shares no layer with them, so nothing is saved.

    Download 3,014,000,000 / 23e6 = 131.04 s; unpack 3,014,000,000 x 3 / 14e6 = 645.86 s;
    pull 776.90 s = 12.9 min, inside 10-15 min. (The 3x was chosen from this range, see
    hpsim.scenario.nodespec.Antivirus: the model is consistent with it, not tested by it.)
    """
    row = _pull(
        "mcr.microsoft.com/windows/server:ltsc2022",
        _node("10.0.20348.4294", containerd={"version": "1.7.20"}),
    )
    pull = row["finished_s"] - row["started_s"]
    assert (row["download_s"], row["unpack_s"]) == pytest.approx((131.04, 645.86), abs=0.01)
    assert pull == pytest.approx(776.90, abs=0.01)
    assert 10 * MIN <= pull <= 15 * MIN


def test_runner_images_13851_servercore_ltsc2025_on_a_github_runner() -> None:
    """actions/runner-images#13851 (2026-03): on the Windows Server 2025 runner "it now takes
    5 minutes just to pull the base Windows image" (no longer cached on that image).

    Conditions set: a WS2025 host; Defender off, as runner-images turns it off
    (images/windows/scripts/build/Configure-WindowsDefender.ps1). The runner pulls with
    Docker, which downloads three layers at once and extracts them in order through the
    same hcsshim layer writer, as modelled. The image is taken to be servercore:ltsc2025
    (the report says "the base Windows image"); no download rate is given: hpsim's 23 MB/s.

    Downloads share 23 MB/s: the update layer (917,726,084 B) is in at 917,726,084 /
    11.5e6 = 79.80 s; the base's remaining 605,333,267 B then take 26.32 s: in at 106.12 s.
    Extraction at 14 MB/s: base 108.79 s (to 214.91 s), update 65.55 s: pull 280.46 s =
    4.7 min, inside "5 minutes" read as 4.5-5.5 min. Nothing here was fitted to it.
    """
    row = _pull(
        "mcr.microsoft.com/windows/servercore:ltsc2025",
        _node("10.0.26100.33296", antivirus={"realTimeScanning": False}),
    )
    pull = row["finished_s"] - row["started_s"]
    assert row["download_s"] == pytest.approx(106.12, abs=0.01)
    assert pull == pytest.approx(280.46, abs=0.01)
    assert 4.5 * MIN <= pull <= 5.5 * MIN


def test_windows_containers_607_docker_extracts_at_14_mb_per_s() -> None:
    """microsoft/Windows-Containers#607 (2025-08): Docker 28 on Windows Server 2022,
    extracting windows/server:ltsc2022 (shown "/3.014GB"): "It takes like 140 seconds to
    extract 2GB on a very powerful machine".

    Conditions set: an ltsc2022 host; Defender scanning off, as Docker's installation
    excludes its files (kubernetes/website#26600). Extraction runs at hpsim's unpackRate:
    3,014,000,000 / 14e6 = 215.29 s for the layer, so 2 GB take 2e9 / 14e6 = 142.86 s,
    within 3% of 140 s. This observation is the source of the 14 MB/s default, so the test
    pins the default to it rather than checking it; the "very powerful machine" suggests a
    typical node extracts a little slower (runner-images#13851, above, fits 14 MB/s too).
    """
    row = _pull(
        "mcr.microsoft.com/windows/server:ltsc2022",
        _node("10.0.20348.4294", antivirus={"realTimeScanning": False}),
    )
    assert row["unpack_s"] == pytest.approx(215.29, abs=0.01)
    rate = 3_014_000_000 / row["unpack_s"]
    assert 2e9 / rate == pytest.approx(142.86, abs=0.01)
    assert abs(2e9 / rate - 140) / 140 < 0.03


def test_containerd_11451_two_unpacks_at_once_take_twice_as_long() -> None:
    """containerd/containerd#11451 (2025-02): on a Windows node (an Azure VM), one
    ``ctr`` pull unpacked in 19m02.54s; the same image pulled from two terminals at once
    unpacked in 38m36.44s and 38m36.38s.

    What is unknown: the image (only its digest, sha256:46a8fdcc..., is given) and the
    containerd version. ctr's local unpack takes no chain lock (client/image.go Unpack),
    so each ctr applied every layer itself: the scenario pulls two images of one
    equal-sized layer with different digests, in parallel (serializeImagePulls: false).
    The unpack ran in ctr.exe, which AKS does not exclude from Defender: scanning on, the
    default, 14e6 / 3 = 4.667 MB/s. The size is the one that gives 19m02.54s alone:
    1,142.54 s x 4.667 MB/s = 5,331,852,667 B (hpsim cannot check it).

    Alone: 5,331,852,667 / 4,666,666.67 = 1,142.54 s. Together the two applies start at
    the same instant (equal downloads, sharing the link) and get half each: both take
    2,285.08 s = 38m05s, 1.4% under the observed 38m36s (2,316.4 s).
    """
    size = 5_331_852_667
    node = _node("10.0.20348.4294", kubelet={"serializeImagePulls": False})

    def image(name: str) -> dict[str, Any]:
        return {"name": name, "layers": [{"size": size, "unpacked": 2 * size}]}

    def scenario(names: list[str]) -> dict[str, Any]:
        return {
            "name": "obs",
            "duration": "3h",
            "node": node,
            "images": [copy.deepcopy(PAUSE), *(image(n) for n in names)],
            "workloads": [{"manifest": pod(f"p{i}", n)} for i, n in enumerate(names)],
        }

    alone = run(scenario(["ctr/one:1"])).pulls.set_index("image")
    assert alone.loc["ctr/one:1", "unpack_s"] == pytest.approx(1142.54, abs=0.01)
    both = run(scenario(["ctr/one:1", "ctr/two:1"])).pulls.set_index("image")
    unpack = both.loc[["ctr/one:1", "ctr/two:1"], "unpack_s"].tolist()
    assert unpack == pytest.approx([2285.08, 2285.08], abs=0.01)
    observed = 38 * MIN + 36.44
    assert all(abs(u - observed) / observed < 0.02 for u in unpack)
