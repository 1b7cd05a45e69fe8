"""Warnings from outcomes (hpsim.observe.findings): each cause in the words a user reads.

Each case is a run small enough to follow by hand; the expected sentence is
pinned whole, so a change in wording or in the numbers shows here.
"""

from __future__ import annotations

import json

import pandas as pd
from simhelp import NO_VICTIMS, pod, run, scenario

from hpsim.cli import main
from hpsim.observe.findings import EVICTION_STORM_COUNT, Finding, findings

APP = {"name": "test/app:1", "layers": [{"size": 0, "unpacked": 0}]}
# nanoserver 1809 on the default ltsc2022 (10.0.20348) node: process isolation refuses it.
OLD = {
    "name": "contoso/old:1",
    "base": "mcr.microsoft.com/windows/nanoserver:ltsc2019",
    "layers": [{"size": 0, "unpacked": 0}],
}


def _warnings(data: dict) -> list[dict]:
    return run(data).summary()["warnings"]


def test_an_image_nobody_defines_never_becomes_ready() -> None:
    found = _warnings(scenario([{"manifest": pod("app", "contoso/missing:1")}], [APP]))
    assert found == [
        {
            "kind": "never-ready",
            "workload": "app",
            "text": "Workload app never became Ready (none of 1 pod per run): their image "
            "cannot be pulled: the scenario's images: section and hpsim's catalogue do not "
            'define it, so the registry answers not found: "Failed to pull image '
            '"contoso/missing:1": rpc error: code = NotFound desc = failed to pull and unpack '
            'image "contoso/missing:1": failed to resolve reference "contoso/missing:1": '
            'contoso/missing:1: not found".',
        }
    ]


def test_an_os_build_mismatch_never_becomes_ready_and_says_why() -> None:
    """A 1809 image on a 20348 host: every container start fails at CreateComputeSystem and
    kubelet backs off 10, 20, 40, 80, 160, then 300 s: 16 restarts in the hour."""
    found = _warnings(
        scenario([{"manifest": pod("web", "contoso/old:1", kind="Deployment")}], [APP, OLD])
    )
    assert [f["kind"] for f in found] == ["never-ready"]
    assert found[0]["text"] == (
        "Workload web never became Ready (none of 1 pod per run): their image's Windows build "
        "cannot run on this host (process isolation needs the host's build): Failed: \"Error: "
        "failed to create containerd task: failed to create shim task: hcs::CreateComputeSystem "
        "web-r0-1-c: The container operating system does not match the host operating system.: "
        'unknown"; its containers restarted 16 times per run in CrashLoopBackOff.'
    )


def test_a_request_no_node_fits_says_the_schedulers_words() -> None:
    found = _warnings(scenario([{"manifest": pod("big", requests={"cpu": "100"})}], [APP]))
    assert found == [
        {
            "kind": "never-ready",
            "workload": "big",
            "text": "Workload big never became Ready (none of 1 pod per run): the scheduler "
            'never placed them: "0/1 nodes are available: 1 Insufficient cpu.' + NO_VICTIMS + '".',
        }
    ]


def test_a_crash_loop_names_its_exit_code() -> None:
    """Running 30 s then exit 1: started at 3 s (2 s sandbox + 1 s container), restarted at
    once (34 s), then after 10, 20, 40, 80, 160 and 300 s back-offs (+1 s to create each):
    starts at 3, 34, 75, 126, 197, 308, 499, 830, ..., 3478 -- 15 restarts in the hour."""
    data = scenario(
        [
            {
                "manifest": pod("crashy", kind="Deployment"),
                "profile": {"runFor": "30s", "exitCode": 1},
            }
        ],
        [APP],
    )
    res = run(data)
    assert list(res.containers["started_s"].iloc[:8]) == [3, 34, 75, 126, 197, 308, 499, 830]
    assert res.summary()["warnings"] == [
        {
            "kind": "crash-loop",
            "workload": "crashy",
            "text": "Workload crashy crash-loops: 15 restarts per run in 1 of its pods "
            "(CrashLoopBackOff); its containers exit with code 1 (Error).",
        }
    ]


def test_pods_that_wait_for_cpu_are_told_with_the_schedulers_reason() -> None:
    """Two 3-CPU pods on a 4-CPU node: the first runs 3..603 s (2 s sandbox, 1 s container,
    10 min), the second binds when it ends: pending 603 s = 10.1 min, more than 5 min."""
    first = pod("first", requests={"cpu": "3"}, restart="Never")
    second = pod("second", requests={"cpu": "3"}, restart="Never")
    ten = {"runFor": "10m"}
    res = run(
        scenario([{"manifest": first, "profile": ten}, {"manifest": second, "profile": ten}], [APP])
    )
    assert list(res.pods["pending_s"]) == [0.0, 603.0]
    assert res.summary()["warnings"] == [
        {
            "kind": "pending",
            "workload": "second",
            "text": "Workload second: 1 of 1 pod per run waited more than 5.0 min for the "
            'scheduler (the longest 10.1 min): "0/1 nodes are available: 1 Insufficient cpu.'
            + NO_VICTIMS
            + '".',
        }
    ]


def _evictions(times: list[float]) -> dict[str, pd.DataFrame]:
    events = pd.DataFrame(
        {
            "time_s": times,
            "kind": "Pod",
            "object": [f"p{i}" for i in range(len(times))],
            "type": "Warning",
            "reason": "Evicted",
            "message": "The node was low on resource: ephemeral-storage. Container was using 5 "
            "bytes, request is 0.",
        }
    )
    return {"events": events, "pods": pd.DataFrame()}


def test_an_eviction_storm_is_ten_evictions_within_an_hour() -> None:
    """Ten evictions 6 min apart from t=1 day fall within one hour (0 to 54 min after the
    first); with the last one 61 min after the first, only nine do."""
    day = 86_400.0
    storm = [day + 360.0 * i for i in range(EVICTION_STORM_COUNT)]
    summary = {"first_eviction_s": day, "evictions": 10}
    found = findings(_evictions(storm), summary, {}, 2 * day)
    assert (
        Finding(
            "eviction-storm",
            None,
            "Eviction storm: kubelet evicted 10 pods within an hour from 24.0 h on "
            "(ephemeral-storage).",
        )
        in found
    )
    spread = [*storm[:-1], day + 3660.0]
    kinds = [f.kind for f in findings(_evictions(spread), summary, {}, 2 * day)]
    assert "eviction-storm" not in kinds and "eviction" in kinds


def test_fail_on_warning_exits_1_and_prints_the_warnings(tmp_path, capsys) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        json.dumps(scenario([{"manifest": pod("big", requests={"cpu": "100"})}], [APP]))
    )
    assert main(["run", str(path), "-d", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "\nWarnings (1):\n- Workload big never became Ready" in out
    assert main(["run", str(path), "-d", str(tmp_path / "b"), "--fail-on-warning", "-q"]) == 1
    written = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert [w["kind"] for w in written["warnings"]] == ["never-ready"]


def test_a_clean_run_has_no_warning_and_fail_on_warning_exits_0(tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(scenario([{"manifest": pod("ok")}], [APP])))
    assert main(["run", str(path), "-d", str(tmp_path / "a"), "--fail-on-warning", "-q"]) == 0


# -- hpsim validate: what is knowable before running -----------------------------------------


def _validate(tmp_path, data: dict, *extra: str) -> tuple[int, str]:
    import contextlib
    import io

    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(data))
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["validate", str(path), *extra])
    return code, buf.getvalue()


def test_validate_says_an_undefined_image_cannot_run_in_the_runs_words(tmp_path) -> None:
    code, out = _validate(
        tmp_path, scenario([{"manifest": pod("app", "contoso/missing:1")}], [APP])
    )
    assert code == 1
    lines = out.splitlines()
    assert lines[0].endswith(
        "Pod default/app: valid (Windows Server containers), admitted, but its pods cannot run"
    )
    assert lines[1] == (
        '  cannot run: Failed to pull image "contoso/missing:1": rpc error: code = NotFound desc '
        '= failed to pull and unpack image "contoso/missing:1": failed to resolve reference '
        '"contoso/missing:1": contoso/missing:1: not found'
    )


def test_validate_says_an_os_build_mismatch_cannot_run(tmp_path) -> None:
    data = scenario([{"manifest": pod("web", "contoso/old:1", kind="Deployment")}], [APP, OLD])
    code, out = _validate(tmp_path, data, "-o", "json")
    assert code == 1
    (row,) = json.loads(out)
    assert row["admitted"] is True and row["canRun"] is False
    assert row["obstacles"] == [
        {
            "kind": "os-mismatch",
            "message": 'container "c": image "contoso/old:1" is Windows 10.0.17763.3887, the node '
            "10.0.20348.2227: Error: failed to create containerd task: failed to create shim "
            "task: hcs::CreateComputeSystem <pod>-c: The container operating system does not "
            "match the host operating system.: unknown",
        }
    ]


def test_validate_says_a_request_above_allocatable_never_fits(tmp_path) -> None:
    code, out = _validate(
        tmp_path, scenario([{"manifest": pod("big", requests={"cpu": "100"})}], [APP])
    )
    assert code == 1
    assert "  cannot run: 0/1 nodes are available: 1 Insufficient cpu.\n" in out


def test_validate_a_scenario_that_can_run_exits_0(tmp_path) -> None:
    code, out = _validate(tmp_path, scenario([{"manifest": pod("ok")}], [APP]), "-o", "json")
    assert code == 0
    assert [r["canRun"] for r in json.loads(out)] == [True]


# -- small items -------------------------------------------------------------------------------


def test_the_pause_image_counts_on_the_hosts_nanoserver() -> None:
    """pause's Windows entries are built FROM nanoserver of each build: on a 20348 host the
    node pulls the ltsc2022 entry, so its bytes count on that nanoserver's version."""
    from hpsim.node.images import resolve_images
    from hpsim.scenario import catalog
    from hpsim.scenario.load import load_data

    nano = catalog.lookup("mcr.microsoft.com/windows/nanoserver:ltsc2022")
    assert nano is not None and nano.os_version is not None
    loaded = load_data(scenario([{"manifest": pod("ok")}], [APP]))
    images = resolve_images(loaded.scenario)
    assert images["registry.k8s.io/pause:3.8"].os_version == nano.os_version
    assert images["test/app:1"].os_version is None  # the test image is on no base


def test_a_negative_saving_reads_as_a_cost() -> None:
    from hpsim.observe.report import _aligning_row

    cost = _aligning_row(-1.7 * 2**30)
    assert (cost.question, cost.answer) == (
        "What aligning every image on the host's LTSC base would cost (more disk)",
        "1.7 GiB",
    )
    saving = _aligning_row({"mean": 2 * 2**30, "half_width": 0.0, "n": 3})
    assert saving.question.endswith("would save") and saving.answer == "2.0 GiB"
