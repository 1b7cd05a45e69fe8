"""hpsim import: the kubectl fixture (tests/fixtures/kubectl) imported, counted by hand.

The fixture (tests/fixtures/kubectl/make_fixture.py says what it holds): nodes
contoso-win22-000000/-000001 (ltsc2022, pool label win22), contoso-win19-000000 (ltsc2019,
win19), contoso-ctrl-000000 (Linux); time zero is the first DaemonSet pod's creation,
2026-03-02T08:00:05Z (the events start later).
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import hpsim
from hpsim.cli import main
from hpsim.errors import HpsimError
from hpsim.importer.build import Inputs, plan_import
from hpsim.importer.kubectl import parse_go_duration, parse_pulled, read_objects

FIXTURE = Path(__file__).parent / "fixtures" / "kubectl"
T0_OFFSET = 5  # the fixture's T0 (08:00:00) is 5 s before time zero (08:00:05)


def _plan(*, workloads: bool = True, pods: tuple[str, ...] = ("pods.json",)):
    return plan_import(
        Inputs(
            nodes=read_objects(FIXTURE / "nodes.json", "nodes"),
            pods=[read_objects(FIXTURE / p, "pods") for p in pods],
            events=read_objects(FIXTURE / "events.json", "events"),
            workloads=read_objects(FIXTURE / "workloads.json", "workloads") if workloads else None,
        ),
        "fixture",
    )


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_pools_from_the_windows_nodes() -> None:
    plan = _plan()
    pools = {p.name: p for p in plan.pools}
    assert list(pools) == ["win22", "win19"]
    assert pools["win22"].nodes == ["contoso-win22-000000", "contoso-win22-000001"]
    assert pools["win19"].nodes == ["contoso-win19-000000"]
    win22 = pools["win22"].node
    assert win22["osBuild"] == "10.0.20348.2762"
    assert pools["win19"].node["osBuild"] == "10.0.17763.6414"
    assert (win22["cpu"], win22["memory"], win22["disk"]) == (4, "16776692Ki", "133703676Ki")
    # the pause image the node image pre-pulled is containerd's sandbox image (inferred)
    pause = "mcr.microsoft.com/oss/kubernetes/pause:3.9"
    assert win22["kubernetes"] == "1.30.6"
    assert win22["containerd"] == {"version": "1.7.22", "sandboxImage": pause}
    # 4 - 3860m; 16776692Ki - 12680180Ki - 100Mi (1.30's evictionHard memory.available)
    assert win22["kubelet"] == {
        "maxPods": 30,
        "kubeReserved": {"cpu": "140m", "memory": f"{16776692 - 12680180 - 102400}Ki"},
    }
    # Zones differ between the two win22 nodes: not a pool label.
    assert "topology.kubernetes.io/zone" not in win22["labels"]
    assert win22["labels"]["agentpool"] == "win22"
    # status.images less what the events show pulled: the node image's three.
    assert win22["prePulledImages"] == [
        "mcr.microsoft.com/windows/servercore:ltsc2022",
        "mcr.microsoft.com/windows/nanoserver:ltsc2022",
        "mcr.microsoft.com/oss/kubernetes/pause:3.9",
    ]
    assert pools["win19"].node["prePulledImages"] == [
        "mcr.microsoft.com/windows/servercore:ltsc2019",
        "mcr.microsoft.com/oss/kubernetes/pause:3.9",
    ]
    assert any(
        s.startswith("node contoso-ctrl-000000: not a Windows node (kubernetes.io/os=linux)")
        for s in plan.skipped
    )


def test_workloads_by_owner() -> None:
    plan = _plan()
    got = {(w.kind, w.namespace, w.name): len(w.pods) for w in plan.workloads}
    assert got == {
        ("Deployment", "web", "iis-web"): 3,
        ("DaemonSet", "kube-system", "csi-proxy"): 3,
        ("DaemonSet", "kube-system", "kube-flannel-ds-windows-amd64"): 3,
        ("DaemonSet", "kube-system", "kube-proxy-windows"): 3,
        ("CronJob", "batch", "nightly-report"): 1,
        ("Pod", "default", "debug-shell"): 1,
        ("Pod", "default", "scratch-writer"): 1,
    }
    by = {w.name: w for w in plan.workloads}
    assert any("coredns" in s and "Linux" in s for s in plan.skipped)
    # The owner objects' manifests, less what controllers add.
    ds = by["kube-flannel-ds-windows-amd64"].manifest
    spec = ds["spec"]["template"]["spec"]
    assert "affinity" not in spec and "nodeName" not in spec
    assert spec["tolerations"] == [{"effect": "NoSchedule", "operator": "Exists"}]
    assert spec["securityContext"]["windowsOptions"]["hostProcess"] is True
    assert "status" not in ds and "uid" not in ds["metadata"]
    assert by["iis-web"].manifest["spec"]["replicas"] == 2
    assert by["nightly-report"].manifest["spec"]["schedule"] == "0 9 * * *"
    assert by["nightly-report"].profile["runFor"] == "1800.0s"  # 09:08:31 to 09:38:31
    # Bare pods: a trace row each; the one bound to an imported node stays on it.
    assert by["debug-shell"].trace == [(180 * 60 - T0_OFFSET, None)]
    assert by["scratch-writer"].trace == [(90 * 60 - T0_OFFSET, None)]
    assert by["scratch-writer"].manifest["spec"]["nodeName"] == "win19-0"
    assert "nodeName" not in by["debug-shell"].manifest["spec"]
    pod_spec = by["scratch-writer"].manifest["spec"]
    assert "volumes" not in pod_spec  # kube-api-access-* only
    assert "volumeMounts" not in pod_spec["containers"][0]


def test_without_the_workloads_file_manifests_come_from_pods() -> None:
    plan = _plan(workloads=False)
    by = {w.name: w for w in plan.workloads}
    # Deployment by the ReplicaSet's name less pod-template-hash; 2 pods not deleted.
    iis = by["iis-web"].manifest
    assert (iis["kind"], iis["spec"]["replicas"]) == ("Deployment", 2)
    assert "pod-template-hash" not in iis["spec"]["template"]["metadata"]["labels"]
    # The CronJob unknown: its Job named <name>-<minutes> is a Job with a trace of its runs.
    job = by["nightly-report"]
    assert job.kind == "Job" and job.trace == [(60 * 60 - T0_OFFSET, None)]
    assert job.manifest["spec"]["template"]["spec"]["nodeName"] == "win19-0"
    assert any("pod-template-hash" in n for n in plan.notes)


def test_observed_tables() -> None:
    plan = _plan()
    assert len(plan.pods_rows) == 15  # 16 pods less coredns
    iis_a = next(r for r in plan.pods_rows if r["pod"] == "web/iis-web-6b7f9c5d8d-h2x7k")
    assert iis_a["node"] == "win22-0" and iis_a["deleted_s"] == 150 * 60 - T0_OFFSET
    assert iis_a["started_s"] == 17 * 60 + 31 - T0_OFFSET
    scratch = next(r for r in plan.pods_rows if r["pod"] == "default/scratch-writer")
    assert scratch["evicted"] is True and scratch["finished_s"] == 165 * 60 + 12 - T0_OFFSET
    csi19 = next(r for r in plan.pods_rows if r["pod"] == "kube-system/csi-proxy-p9d8s")
    assert csi19["restarts"] == 1 and csi19["started_s"] == 200 - T0_OFFSET
    # 9 DaemonSet pulls, 2 IIS, 1 report, 1 by a pod gone (on a node gone).
    assert len(plan.pulls_rows) == 13
    iis = [r for r in plan.pulls_rows if "iis" in r["image"]]
    assert [(r["node"], r["pull_s"], r["including_waiting_s"], r["bytes"]) for r in iis] == [
        ("contoso-win22-000002", 842.112345678, None, None),
        ("win22-0", 740.3, 740.5, 2373214310),
        ("win22-1", 833.4, 833.6, 2373214310),
    ]
    assert any("not in the pods file" in p for p in plan.problems)
    reasons = {r["reason"] for r in plan.events_rows}
    assert {"Scheduled", "Pulling", "Pulled", "Created", "Started", "Killing", "BackOff"} <= reasons
    assert {"FailedScheduling", "Evicted"} <= reasons
    failed = next(r for r in plan.events_rows if r["reason"] == "FailedScheduling")
    assert failed["time_s"] == 185 * 60 - T0_OFFSET and failed["count"] == 4


@pytest.mark.parametrize(
    ("message", "pull", "including_waiting", "size"),
    [
        # Each wording of k/k pkg/kubelet/images/image_manager.go EnsureImageExists.
        (
            'Successfully pulled image "a:1" in 13m53.4s (13m53.6s including waiting). '
            "Image size: 123 bytes.",
            833.4,
            833.6,
            123,
        ),
        (
            'Successfully pulled image "a:1" in 850ms (1h2m3.5s including waiting)',
            0.85,
            3723.5,
            None,
        ),
        ('Successfully pulled image "a:1" in 14m2.112345678s', 842.112345678, None, None),
        (
            'Successfully pulled image "mcr.microsoft.com/x/y:ltsc2022" in 0s '
            "(0s including waiting). Image size: 0 bytes.",
            0.0,
            0.0,
            0,
        ),
    ],
)
def test_pulled_messages(
    message: str, pull: float, including_waiting: float | None, size: int | None
) -> None:
    p = parse_pulled(message)
    assert p is not None
    assert p.pull_s == pytest.approx(pull)
    assert p.including_waiting_s == (
        None if including_waiting is None else pytest.approx(including_waiting)
    )
    assert p.size_bytes == size


def test_not_a_pulled_message() -> None:
    assert parse_pulled('Container image "a:1" already present on machine') is None
    assert parse_pulled('Successfully pulled image "a:1" in soon') is None
    with pytest.raises(ValueError):
        parse_go_duration("13 minutes")
    assert parse_go_duration("1h2m3.5s") == 3723.5


def test_watch_stream_last_state_wins() -> None:
    res = read_objects(FIXTURE / "pods-watch.json", "pods")
    assert len(res.objects) == 9 and res.problems == []
    plan = _plan(pods=("pods-watch.json",))
    iis = next(w for w in plan.workloads if w.name == "iis-web")
    assert len(iis.pods) == 3
    a = next(r for r in plan.pods_rows if r["pod"] == "web/iis-web-6b7f9c5d8d-h2x7k")
    assert a["deleted_s"] == 150 * 60 - T0_OFFSET and a["started_s"] == 17 * 60 + 31 - T0_OFFSET


def test_watch_events_form(tmp_path: Path) -> None:
    pods = json.loads((FIXTURE / "pods.json").read_text())["items"]
    scratch = next(p for p in pods if p["metadata"]["name"] == "scratch-writer")
    f = tmp_path / "w.json"
    f.write_text(
        json.dumps({"type": "ADDED", "object": scratch})
        + "\n"
        + json.dumps({"type": "DELETED", "object": scratch})
    )
    res = read_objects(f, "pods")
    assert len(res.objects) == 2 and res.deleted == {1}


def test_truncated_pods_file_imports_what_is_complete(tmp_path: Path) -> None:
    text = (FIXTURE / "pods.json").read_text()
    cut = text.index('"name": "iis-web-6b7f9c5d8d-m8w4r"')  # inside the 11th pod
    (tmp_path / "pods.json").write_text(text[:cut])
    res = read_objects(tmp_path / "pods.json", "pods")
    assert len(res.objects) == 10
    (problem,) = res.problems
    line = text[:cut].count("\n") + 1
    assert f"cut short or malformed at line {line} column" in problem
    assert "10 complete objects" in problem
    for name in ("nodes.json", "events.json"):
        shutil.copy(FIXTURE / name, tmp_path / name)
    out = tmp_path / "out"
    assert main(["import", str(tmp_path), "-d", str(out), "-q"]) == 0
    summary = (out / "import-summary.md").read_text()
    assert "cut short or malformed" in summary
    hpsim.load(out / "scenario.yaml")


def test_bad_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "nodes.json").write_text("apiVersion: v1\nkind: List\n")
    shutil.copy(FIXTURE / "pods.json", tmp_path / "pods.json")
    assert main(["import", str(tmp_path), "-d", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "nodes.json:1: not JSON" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    # Only a Linux node: nothing to import, and why.
    nodes = json.loads((FIXTURE / "nodes.json").read_text())
    nodes["items"] = nodes["items"][:1]
    (tmp_path / "nodes.json").write_text(json.dumps(nodes))
    with pytest.raises(HpsimError, match=r"no Windows node to import.*not a Windows node"):
        plan_import(
            Inputs(
                nodes=read_objects(tmp_path / "nodes.json", "nodes"),
                pods=[read_objects(tmp_path / "pods.json", "pods")],
            ),
            "x",
        )


def test_existing_folder_refused_unless_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["import", str(FIXTURE), "-d", str(out), "-q"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (out / "keep.txt").exists()
    assert main(["import", str(FIXTURE), "-d", str(out), "-q", "--force"]) == 0
    assert not (out / "keep.txt").exists() and (out / "scenario.yaml").exists()


def test_imported_scenario_validates_and_runs(tmp_path: Path) -> None:
    out = tmp_path / "imported"
    assert (
        main(
            [
                "import",
                "--nodes",
                str(FIXTURE / "nodes.json"),
                "--pods",
                str(FIXTURE / "pods.json"),
                "--events",
                str(FIXTURE / "events.json"),
                "--workloads",
                str(FIXTURE / "workloads.json"),
                "-d",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in (out / "manifests").iterdir()) == [
        "cronjob-nightly-report.yaml",
        "daemonset-csi-proxy.yaml",
        "daemonset-kube-flannel-ds-windows-amd64.yaml",
        "daemonset-kube-proxy-windows.yaml",
        "deployment-iis-web.yaml",
        "pod-debug-shell.yaml",
        "pod-scratch-writer.yaml",
    ]
    assert _rows(out / "traces" / "pod-debug-shell.csv") == [{"create_s": "10795", "delete_s": ""}]
    assert len(_rows(out / "observed" / "pulls.csv")) == 13
    loaded = hpsim.load(out / "scenario.yaml")
    assert [p.name for p in loaded.scenario.pools] == ["win22", "win19"]
    assert str(loaded.scenario.start_time) == "2026-03-02 08:00:05+00:00"
    res = hpsim.run(loaded, seed=1)
    pods = res.pods
    # The pinned pod ran on its node; the 8-CPU debug shell never fits.
    assert set(pods.loc[pods["workload"] == "scratch-writer", "node"]) == {"win19-0"}
    assert pods.loc[pods["workload"] == "debug-shell", "scheduled_s"].isna().all()
    assert set(pods.loc[pods["workload"] == "nightly-report", "node"]) == {"win19-0"}
    summary = (out / "import-summary.md").read_text()
    for word in ("win22", "contoso-ctrl-000000", "hostWrites", "guess"):
        assert word in summary


def test_shipped_example_is_the_fixture_imported(tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parents[1] / "scenarios" / "imported-example"
    out = tmp_path / "imported-example"
    assert main(["import", str(FIXTURE), "-d", str(out), "-q"]) == 0
    for f in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = f.relative_to(out)
        text = f.read_text().replace(str(out), "scenarios/imported-example")
        assert text == (shipped / rel).read_text(), rel


def test_pulls_say_their_pool_and_calibrate_uses_only_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "imported"
    assert main(["import", str(FIXTURE), "-d", str(out), "-q"]) == 0
    rows = _rows(out / "observed" / "pulls.csv")
    assert {(r["node"].rsplit("-", 1)[0], r["pool"]) for r in rows} == {
        ("win22", "win22"),
        ("win19", "win19"),
        ("contoso-win22", ""),  # a node gone: in no pool
    }
    fix = ["--fix", "network=23MB/s", "--bootstrap", "20", "-o", "json"]
    for pool, used in (("win22", 8), ("win19", 4)):
        assert main(["calibrate", str(out), "--pool", pool, *fix]) == 0
        got = json.loads(capsys.readouterr().out)
        assert got["pool"] == pool and got["pulls_used"] == used
        assert f"{13 - used} pulls of other pools (or of nodes in none) left out" in got["notes"]
    # Written into each pool: each gets, and reports, its own comment.
    for pool, used in (("win22", 8), ("win19", 4)):
        assert main(["calibrate", str(out), "--pool", pool, *fix[:4], "--write"]) == 0
        wrote = capsys.readouterr().out.splitlines()[-1]
        assert f"# calibrated by hpsim calibrate from {used} pulls: unpackRate" in wrote
    text = (out / "scenario.yaml").read_text()
    assert text.count("# calibrated by hpsim calibrate from 8 pulls") == 1
    assert text.count("# calibrated by hpsim calibrate from 4 pulls") == 1


def test_import_calibrate_says_what_it_could_not_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "imported"
    assert main(["import", str(FIXTURE), "-d", str(out), "--calibrate"]) == 0
    printed = capsys.readouterr().out
    assert "pool win22: rates not written: network and unpackRate cannot be told apart" in printed
    summary = (out / "import-summary.md").read_text()
    assert "## Pull rates calibrated (hpsim import --calibrate)" in summary
    assert (
        "- pool win19: not written (hpsim's defaults kept): network and unpackRate cannot be "
        "told apart from these 4 pulls" in summary
    )
    # One-layer images only: nothing identified, the scenario keeps hpsim's defaults.
    assert "calibrated by hpsim calibrate" not in (out / "scenario.yaml").read_text()


def _hostile(tmp_path: Path, nodes: Any = None, pods: Any = None) -> tuple[int, Path]:
    """Import the fixture with its nodes or pods file replaced; (exit status, folder)."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name, data in (("nodes.json", nodes), ("pods.json", pods)):
        if data is None:
            shutil.copy(FIXTURE / name, folder / name)
        else:
            (folder / name).write_text(json.dumps(data))
    out = tmp_path / "out"
    return main(["import", str(folder), "-d", str(out), "-q"]), out


def test_nodes_no_api_server_would_return_are_skipped_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A kubeletVersion that is no version, or a name that is no node name, skips the node
    (before, the first was a traceback and the second "an hpsim import bug")."""
    nodes = json.loads((FIXTURE / "nodes.json").read_text())
    windows = nodes["items"][1:]
    windows[0]["status"]["nodeInfo"]["kubeletVersion"] = "garbage"
    windows[1]["metadata"]["name"] = "evil\x1b[31m"
    status, out = _hostile(tmp_path, nodes=nodes)
    assert status == 0
    summary = (out / "import-summary.md").read_text()
    assert (
        "node contoso-win22-000000: kubeletVersion 'garbage' is not a version "
        "(expected v1.31.2 or the like)"
    ) in summary
    assert "node evil\\x1b[31m: not a Kubernetes node name (a DNS-1123 subdomain" in summary
    assert "\x1b" not in summary
    hpsim.load(out / "scenario.yaml")  # the rest imports and loads


def test_pods_no_api_server_would_return_are_skipped_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pods = json.loads((FIXTURE / "pods.json").read_text())
    by_name = {p["metadata"]["name"]: p for p in pods["items"]}
    by_name["scratch-writer"]["metadata"]["name"] = "Scratch_Writer"
    shell = by_name["debug-shell"]["spec"]["containers"][0]
    shell["resources"] = {"requests": {"cpu": "-1"}}
    status, out = _hostile(tmp_path, pods=pods)
    assert status == 0, capsys.readouterr().err
    summary = (out / "import-summary.md").read_text()
    assert (
        "pod default/Scratch_Writer: metadata.name 'Scratch_Writer' is not a pod name "
        "(a DNS-1123 subdomain)"
    ) in summary
    assert (
        "pod default/debug-shell: spec.containers[0].resources.requests.cpu: "
        'invalid CPU quantity "-1": must not be negative'
    ) in summary
    hpsim.load(out / "scenario.yaml")


def test_workload_objects_no_api_server_would_return_give_way_to_the_pods(
    tmp_path: Path,
) -> None:
    """A workload object whose template is no pod template (containers: "notalist" was a
    traceback) or asks for a negative CPU is set aside, saying why, and its pods are
    imported as if it had not been given."""
    objs = json.loads((FIXTURE / "workloads.json").read_text())
    web = next(o for o in objs["items"] if o["metadata"]["name"] == "iis-web")
    web["spec"]["template"]["spec"]["containers"] = "notalist"
    coredns = next(o for o in objs["items"] if o["metadata"]["name"] == "coredns")
    coredns["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "-1"}}
    folder = tmp_path / "in"
    shutil.copytree(FIXTURE, folder)
    (folder / "workloads.json").write_text(json.dumps(objs))
    out = tmp_path / "out"
    assert main(["import", str(folder), "-d", str(out), "-q"]) == 0
    summary = (out / "import-summary.md").read_text()
    assert (
        "workload Deployment web/iis-web: spec.template.spec.containers: no containers; "
        "its pods are imported as if it had not been given"
    ) in summary
    assert (
        "workload Deployment kube-system/coredns: spec.template.spec.containers[0].resources"
        '.requests.cpu: invalid CPU quantity "-1": must not be negative'
    ) in summary
    loaded = hpsim.load(out / "scenario.yaml")
    assert "iis-web" in {w.name for w in loaded.workloads}
