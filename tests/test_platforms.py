"""containerd's Windows platform matcher at pull time (hpsim.node.platforms).

Node as in simhelp: 100 MiB/s download (104,857,600 B/s), 20 MiB/s unpack (20,971,520
B/s), sandbox 2 s (HostProcess 0.5 s), container 1 s. Catalogue sizes used:
nanoserver:ltsc2022 (10.0.20348.5622) one layer of 124,637,397 B; the HostProcess base
image one layer of 8,192 B and no OS version.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from simhelp import node, pod, run, scenario

from hpsim.cli import main
from hpsim.node.platforms import entry_matches

NANO_2022 = "mcr.microsoft.com/windows/nanoserver:ltsc2022"
HPC_BASE = "mcr.microsoft.com/oss/kubernetes/windows-host-process-containers-base-image:v1.0.0"


def _no_match(ref: str) -> str:
    """The CRI error kubelet gets (the pulls table's error column)."""
    return (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": '
        "no match for platform in manifest: not found"
    )


@pytest.mark.parametrize(
    ("host", "containerd", "entry", "matches"),
    [
        # 1.6.0-1.6.17: HasPrefix(entry, "10.0.<host build>"), nothing for an empty one.
        ("10.0.17763.5000", "1.6.17", "10.0.17763.3887", True),
        ("10.0.17763.5000", "1.6.17", None, False),
        ("10.0.20348.2227", "1.6.0", "10.0.20348.5622", True),
        # 1.6.18 / 1.7.0: an entry with no OSVersion matches (commit 844252164).
        ("10.0.17763.5000", "1.6.18", None, True),
        ("10.0.17763.5000", "1.7.0", None, True),
        ("10.0.20348.2227", "1.6.18", "10.0.17763.3887", False),
        # A WS2025 host and an ltsc2022 entry: exact build before the stable-ABI matcher
        # (1.6.23, 1.7.6), 20348-26100 from it.
        ("10.0.26100.1742", "1.7.5", "10.0.20348.5622", False),
        ("10.0.26100.1742", "1.7.6", "10.0.20348.5622", True),
        ("10.0.26100.1742", "1.6.22", "10.0.20348.5622", False),
        ("10.0.26100.1742", "1.6.23", "10.0.20348.5622", True),
        ("10.0.26100.1742", "2.0.0", "10.0.26100.32230", True),
        # Never an entry newer than the host, never a pre-2022 build on a 2022+ host.
        ("10.0.20348.2227", "2.0.0", "10.0.26100.32230", False),
        ("10.0.20348.2227", "2.0.0", "10.0.17763.3887", False),
        ("10.0.17763.5000", "2.0.0", "10.0.20348.5622", False),
        # A host past 26100: 20348 and up until containerd 2.1 (platforms rc.1); from 2.2
        # (rc.2-rc.4) 26100 and up only.
        ("10.0.26200.1", "2.1.0", "10.0.20348.5622", True),
        ("10.0.26200.1", "2.2.0", "10.0.20348.5622", False),
        ("10.0.26200.1", "2.2.0", "10.0.26100.32230", True),
    ],
)
def test_entry_matches_by_containerd_version(
    host: str, containerd: str, entry: str | None, matches: bool
) -> None:
    assert entry_matches(host, containerd, entry) is matches


def _nano_app() -> dict:
    """A single-manifest image on nanoserver:ltsc2022, with an own layer of 0 bytes."""
    return {"name": "contoso/app:1", "base": NANO_2022, "layers": [{"size": 0}]}


def test_a_manifest_list_of_another_build_fails_at_pull_time_before_any_byte() -> None:
    """nanoserver:ltsc2022 named directly is MCR's manifest list with one entry, 10.0.20348:
    containerd 1.7.22 on an ltsc2019 host finds no entry. The pull fails at t = 2 (after
    the 2 s sandbox), 0 bytes moved, nothing on the volume; ErrImagePull, then back-off:
    attempts at 2, 12, 32 (10 s, then 20 s)."""
    ltsc2019 = node(osBuild="10.0.17763.5000")
    res = run(scenario([{"manifest": pod("p", NANO_2022)}], node=ltsc2019, duration="40s"))
    pulls = res.pulls
    assert pulls["started_s"].tolist() == [2.0, 12.0, 32.0]
    assert pulls["bytes_downloaded"].tolist() == [0, 0, 0]
    assert set(pulls["error"]) == {_no_match(NANO_2022)}
    ev = res.events[(res.events["object"] == "p") & (res.events["reason"] == "Failed")]
    assert ev["message"].tolist()[:2] == [
        f'Failed to pull image "{NANO_2022}": {_no_match(NANO_2022)}',
        "Error: ErrImagePull",
    ]
    assert res.summary()["image_content_bytes_end"] == 0


def test_a_single_manifest_of_another_build_is_pulled_and_fails_at_start() -> None:
    """contoso/app:1, FROM nanoserver:ltsc2022 and pushed as a single manifest: containerd
    checks no platform, so on the ltsc2019 host it downloads 124,637,397 B from t = 2
    (1.1886 s at 104,857,600 B/s) and unpacks them (5.9432 s at 20,971,520 B/s): done at
    2 + 1.1886 + 5.9432 = 9.1318 s. The container's start (1 s) then fails at 10.1318 s
    with HCS's mismatch, as before this change."""
    ltsc2019 = node(osBuild="10.0.17763.5000")
    res = run(scenario([{"manifest": pod("p", "contoso/app:1")}], [_nano_app()], node=ltsc2019))
    pull = res.pulls.set_index("image").loc["contoso/app:1"]
    assert (pull["error"], pull["bytes_downloaded"]) == ("", 124_637_397)
    assert pull["finished_s"] == pytest.approx(2 + 1.188635 + 5.943174, abs=1e-6)
    failed = res.events[(res.events["object"] == "p") & (res.events["reason"] == "Failed")]
    assert failed["time_s"].iloc[0] == pytest.approx(10.131809, abs=1e-6)
    assert "The container operating system does not match" in failed["message"].iloc[0]


@pytest.mark.parametrize(("containerd", "pulled"), [("1.6.17", False), ("1.6.18", True)])
def test_a_hostprocess_image_in_a_manifest_list_needs_containerd_1_6_18(
    containerd: str, pulled: bool
) -> None:
    """containerd/containerd#7431: a HostProcess image published as a manifest list has a
    Windows entry with no OSVersion. containerd 1.6.17 matches no such entry: the pull
    fails at t = 0.5 (after the HostProcess sandbox's 0.5 s), and the pod never runs.
    1.6.18 takes it: 8,192 B, downloaded in 8,192 / 104,857,600 = 0.00008 s and applied
    in 8,192 / 20,971,520 = 0.0004 s; ready after the HostProcess container's 0.5 s at
    0.5 + 0.0005 + 0.5 = 1.0005 s."""
    image = {"name": "contoso/agent:1", "base": HPC_BASE, "manifestList": True, "layers": []}
    data = scenario(
        [{"manifest": pod("a", "contoso/agent:1", host_process=True)}],
        [image],
        node=node(containerd={"version": containerd, "sandboxImage": "test/pause:1"}),
        duration="5s",
    )
    res = run(data)
    row = res.pods.set_index("pod").loc["a"]
    first = res.pulls.iloc[0]
    if pulled:
        assert (first["error"], first["bytes_downloaded"]) == ("", 8192)
        assert row["ready_s"] == pytest.approx(1.0005, abs=1e-4)
    else:
        assert (first["started_s"], first["error"]) == (0.5, _no_match("contoso/agent:1"))
        assert pd.isna(row["ready_s"])


@pytest.mark.parametrize(("containerd", "pulled"), [("1.7.5", False), ("1.7.6", True)])
def test_a_ws2025_host_takes_ltsc2022_entries_from_containerd_1_7_6(
    containerd: str, pulled: bool
) -> None:
    """On a WS2025 host (26100) nanoserver:ltsc2022's 20348 entry: 1.7.5 wants the exact
    build and refuses it; 1.7.6's stable-ABI matcher takes 20348-26100, and HCS runs the
    process-isolated container (20348 <= 20348 <= 26100): 124,637,397 B in 1.1886 +
    5.9432 s from t = 2, container 1 s: ready at 10.1318 s."""
    ws2025 = node(
        osBuild="10.0.26100.1742",
        containerd={"version": containerd, "sandboxImage": "test/pause:1"},
    )
    res = run(scenario([{"manifest": pod("p", NANO_2022)}], node=ws2025, duration="30s"))
    ready = res.pods.set_index("pod").loc["p", "ready_s"]
    if pulled:
        assert ready == pytest.approx(10.131809, abs=1e-6)
    else:
        assert pd.isna(ready)
        assert res.pulls["bytes_downloaded"].sum() == 0


def test_validate_says_a_manifest_list_no_entry_matches_cannot_run(tmp_path, capsys) -> None:
    """hpsim validate gives the run's words before running: nanoserver:ltsc2022 named
    directly on an ltsc2019 node is refused at pull time; a pod that pulls it never runs."""
    data = scenario(
        [{"manifest": pod("web", NANO_2022, kind="Deployment")}],
        node=node(osBuild="10.0.17763.5000"),
    )
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(data))
    assert main(["validate", str(path), "-o", "json"]) == 1
    (row,) = json.loads(capsys.readouterr().out)
    assert row["obstacles"] == [
        {
            "kind": "platform-mismatch",
            "message": f'container "c": image "{NANO_2022}" is a manifest list whose Windows '
            "entry has Windows 10.0.20348.5622, which containerd 1.7.22 does not match on "
            f'10.0.17763.5000: Failed to pull image "{NANO_2022}": {_no_match(NANO_2022)}',
        }
    ]


def test_the_warning_says_no_entry_matches_the_hosts_build() -> None:
    """A Deployment of nanoserver:ltsc2022 on an ltsc2019 node never becomes Ready; the
    warning names the platform match, not an image nobody defined."""
    data = scenario(
        [{"manifest": pod("web", NANO_2022, kind="Deployment")}],
        node=node(osBuild="10.0.17763.5000"),
        duration="2h",
    )
    (warning,) = run(data).summary()["warnings"]
    assert warning["text"] == (
        "Workload web never became Ready (none of 1 pod per run): their image is a manifest "
        "list with no entry containerd matches to this host's Windows build, so the pull "
        f'fails: "Failed to pull image "{NANO_2022}": {_no_match(NANO_2022)}".'
    )
