"""The command line as a user runs it: exit status, exact messages, files written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hpsim.cli import main

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = sorted((ROOT / "scenarios" / "manifests").glob("*.yaml"))


def test_validate_real_hostprocess_manifests_as_json(capsys):
    assert main(["validate", "-o", "json", *map(str, MANIFESTS)]) == 0
    rows = json.loads(capsys.readouterr().out)
    keys = {
        "file",
        "kind",
        "name",
        "namespace",
        "valid",
        "admitted",
        "errors",
        "hostProcess",
        "podSecurity",
        "podSecurityReasons",
        "namespaceLevel",
        "node",
        "containers",
        "hostProcessMounts",
    }
    assert all(set(r) == keys for r in rows)
    hp = {r["name"] for r in rows if r["hostProcess"]}
    assert {
        "kube-flannel-ds-windows-amd64",
        "calico-node-windows",
        "antrea-agent-windows",
        "csi-proxy",
        "windows-exporter",
        "fluent-bit",
        "csi-azuredisk-node-win",
        "csi-smb-node-win",
        "kube-proxy-windows",
    } <= hp
    for r in rows:
        if r["hostProcess"]:
            assert r["podSecurity"] == {
                "privileged": "allowed",
                "baseline": "forbidden",
                "restricted": "forbidden",
            }
    exporter = next(r for r in rows if r["name"] == "windows-exporter")
    assert exporter["podSecurityReasons"]["baseline"] == [
        "host namespaces (hostNetwork=true)",
        'hostPort (container "windows-exporter" uses hostPort 9182)',
        "hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)",
    ]
    flannel = next(r for r in rows if r["name"] == "kube-flannel-ds-windows-amd64")
    assert flannel["containers"] == [
        {
            "name": "kube-flannel",
            "hostProcess": True,
            "user": "NT AUTHORITY\\system",
            "jobMemoryLimitBytes": 200 * 2**20,
            "jobCpuRate": 1250,
        }
    ]


def test_validate_invalid_pod_prints_kubectl_message_and_exits_1(tmp_path, capsys):
    f = tmp_path / "bad.yaml"
    f.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n"
        "  securityContext: {windowsOptions: {hostProcess: true}}\n"
        "  containers: [{name: c, image: i}]\n"
    )
    assert main(["validate", str(f)]) == 1
    out = capsys.readouterr().out
    assert (
        'The Pod "x" is invalid: spec.hostNetwork: Invalid value: false: hostNetwork must '
        "be true if pod contains any hostProcess containers"
    ) in out


def test_validate_node_rules_from_scenario(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text(
        "name: s\nduration: 1h\nnode: {cpu: 4, memory: 8Gi, kubernetes: '1.22', "
        "containerd: 1.5.9}\nworkloads:\n  - manifest: csi-proxy.yaml\n"
    )
    (tmp_path / "csi-proxy.yaml").write_text(
        (ROOT / "scenarios/manifests/csi-proxy.yaml").read_text()
    )
    assert main(["validate", "-o", "json", str(tmp_path / "s.yaml")]) == 1
    row = json.loads(capsys.readouterr().out)[0]
    # 1.22: the gate is alpha, off; the API server refuses the field (it does not drop it),
    # so no kubelet sees the pod for the gate; containerd 1.5.9 is reported apart.
    assert row["valid"] is False and row["admitted"] is False
    assert row["errors"] == [
        {
            "field": "spec.template.spec.securityContext.windowsOptions.hostProcess",
            "type": "FieldValueForbidden",
            "message": "not allowed when feature gate 'WindowsHostProcessContainers' is not "
            "enabled",
        }
    ]
    assert [n["rule"] for n in row["node"]] == ["containerd"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "name: s\nduration: 1h\nnode: {cpu: 4, memory: 8Gi\n",
            "s.yaml:4: malformed YAML: expected ',' or '}', but got '<stream end>'",
        ),
        (
            "name: s\nduration: 1h\nnode:\n  cpu: 4\n  memroy: 8Gi\n",
            's.yaml:5: node.memroy: unknown key "memroy" (did you mean "memory"?)',
        ),
        (
            "name: s\nduration: 1h\nnode:\n  cpu: 4\n  memory: 8GB\n",
            's.yaml:5: node.memory: invalid quantity "8GB": expected a Kubernetes quantity such '
            "as 128974848, 129e6, 129M, 123Mi or 1Gi",
        ),
        (
            "name: s\nduration: 1h\nnode: {cpu: 4, memory: 8Gi}\nworkloads:\n"
            "  - manifest: nowhere.yaml\n",
            "s.yaml:5: workloads[0].manifest: manifest file 'nowhere.yaml' not found",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_results(tmp_path, monkeypatch, capsys, text, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(text)
    assert main(["run", "s.yaml"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hpsim: error: " + message)
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "results").exists()


def test_run_writes_identical_files_for_the_same_seed(tmp_path):
    scen = str(ROOT / "scenarios" / "node-bootstrap.yaml")
    for d in ("a", "b"):
        assert (
            main(["run", scen, "-d", str(tmp_path / d), "--seed", "3", "-q", "--format", "csv"])
            == 0
        )
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == [
        "containers.csv",
        "events.csv",
        "gc.csv",
        "images.csv",
        "nodes.csv",
        "pods.csv",
        "pulls.csv",
        "run.json",
        "series.csv",
        "summary.json",
        "transitions.csv",
        "writes.csv",
    ]
    for n in names:
        assert (tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes()
    run_info = json.loads((tmp_path / "a" / "run.json").read_text())
    assert run_info["seed"] == 3 and len(run_info["scenario_sha256"]) == 64
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["pods_created"] == 5


def test_python_dash_m_and_schema():
    out = subprocess.run(
        [sys.executable, "-m", "hpsim", "schema"], capture_output=True, text=True, check=True
    ).stdout
    schema = json.loads(out)
    assert {"name", "duration", "node", "workloads"} <= set(schema["properties"])


def test_unknown_base_image_names_line_and_suggests(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text(
        "name: s\nduration: 1h\nnode: {cpu: 4, memory: 8Gi}\nimages:\n"
        "  - name: a:1\n    base: mcr.microsoft.com/windows/servercor:ltsc2022\n"
    )
    assert main(["validate", str(tmp_path / "s.yaml")]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"hpsim: error: {tmp_path / 's.yaml'}:6: images[0].base: unknown base image "
        '"mcr.microsoft.com/windows/servercor:ltsc2022" (did you mean '
        '"mcr.microsoft.com/windows/servercore:ltsc2022"?)\n'
    )


def test_validate_bare_manifest_on_an_older_node(capsys):
    path = str(ROOT / "scenarios/manifests/csi-proxy.yaml")
    assert (
        main(["validate", "-o", "json", "--kubernetes", "1.22", "--containerd", "1.6.2", path]) == 1
    )
    row = json.loads(capsys.readouterr().out)[0]
    assert row["valid"] is False and row["node"] == []
    assert main(["validate", "--kubernetes", "1.22", "--containerd", "1.6.2", path]) == 1
    assert capsys.readouterr().out.splitlines()[:2] == [
        f"{path}: DaemonSet kube-system/csi-proxy: invalid",
        '  The DaemonSet "csi-proxy" is invalid: '
        "spec.template.spec.securityContext.windowsOptions.hostProcess: Forbidden: "
        "not allowed when feature gate 'WindowsHostProcessContainers' is not enabled",
    ]
    assert (
        main(
            [
                "validate",
                "--cpus",
                "8",
                "-o",
                "json",
                str(ROOT / "scenarios/manifests/flannel-hostprocess.yaml"),
            ]
        )
        == 0
    )
    row = json.loads(capsys.readouterr().out)[0]
    assert row["containers"][0]["jobCpuRate"] == 625  # 500m on 8 CPUs


# -- -o is what is printed (text or json), -d where the results go ----------------------------


def test_run_o_json_prints_the_summary_json_on_stdout_and_the_rest_on_stderr(tmp_path, capsys):
    scen = str(ROOT / "scenarios" / "node-bootstrap.yaml")
    out = tmp_path / "a"
    assert main(["run", scen, "-o", "json", "-d", str(out)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == json.loads((out / "summary.json").read_text())
    assert captured.out == (out / "summary.json").read_text()
    assert captured.err == f"node-bootstrap: seed 1, 2.0 h simulated -> {out}\n"


def test_run_prints_the_summary_in_units_people_read(tmp_path, capsys):
    scen = str(ROOT / "scenarios" / "node-bootstrap.yaml")
    out = tmp_path / "a"
    assert main(["run", scen, "--results", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"node-bootstrap: seed 1, 2.0 h simulated -> {out}"
    assert "fresh_node_all_running_s       10.3 min" in lines
    assert "pull_share_of_start_latency    99.5%" in lines
    assert "disk_actual_bytes_peak         28.1 GiB" in lines
    assert "first_eviction_s               - (the run had no eviction)" in lines


def test_run_o_dir_still_writes_there_with_a_deprecation_warning(tmp_path, capsys):
    scen = str(ROOT / "scenarios" / "node-bootstrap.yaml")
    out = tmp_path / "old"
    assert main(["run", scen, "-o", str(out), "-q"]) == 0
    assert capsys.readouterr().err == (
        f"hpsim: warning: -o {out}: a results folder given with -o is deprecated and will not "
        f"be accepted in the next release; use -d {out} (or --results); -o takes text or json\n"
    )
    assert (out / "summary.json").is_file()
    # Both spellings at once: which folder is meant is not guessed.
    assert main(["run", scen, "-o", str(tmp_path / "x"), "-d", str(tmp_path / "y")]) == 2
    assert capsys.readouterr().err == (
        f"hpsim: error: -o: -o takes text or json (got {tmp_path / 'x'}); "
        "the results folder is -d, given once\n"
    )
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_report_o_json(tmp_path, capsys, monkeypatch):
    scen = str(ROOT / "scenarios" / "node-bootstrap.yaml")
    out = tmp_path / "a"
    assert main(["run", scen, "-d", str(out), "-q"]) == 0
    # What is printed, not the report itself (tests/test_report.py): no figures drawn.
    monkeypatch.setattr(
        "hpsim.observe.report.write_report", lambda folder: [out / "report.html", out / "report.md"]
    )
    assert main(["report", str(out), "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "report_html": str(out / "report.html"),
        "report_md": str(out / "report.md"),
    }


def test_validate_judges_each_node_pool_where_their_nodes_differ(tmp_path, capsys):
    # A HostProcess pod run as the local group "Users": containerd 1.7 runs it, 1.6 does
    # not. With a 1.7 pool first and a 1.6 pool second, the pod is admitted (the first
    # pool's nodes decide what hpsim runs) and validate says what the second pool's do.
    pool = "{{name: {name}, count: 1, node: {{cpu: 4, memory: 8Gi, containerd: '{c}'}}}}"
    (tmp_path / "s.yaml").write_text(
        "name: s\nduration: 1h\nnodePools:\n"
        f"  - {pool.format(name='win22', c='1.7.22')}\n"
        f"  - {pool.format(name='win19', c='1.6.28')}\n"
        "workloads:\n  - manifest: agent.yaml\n"
    )
    (tmp_path / "agent.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: agent}\nspec:\n"
        "  hostNetwork: true\n"
        "  securityContext: {windowsOptions: {hostProcess: true, runAsUserName: Users}}\n"
        "  containers: [{name: hpc, image: mcr.microsoft.com/oss/kubernetes/pause:3.9}]\n"
    )
    assert main(["validate", "-o", "json", str(tmp_path / "s.yaml")]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    message = (
        'container "hpc" runs as "Users", which is not an NT AUTHORITY service account: '
        "Running HostProcess containers as local user accounts requires containerd v1.7+"
    )
    assert row["admitted"] is True and row["node"] == []
    assert row["nodeByPool"] == {
        "win22": [],
        "win19": [{"rule": "localUser", "message": message}],
    }
    assert main(["validate", str(tmp_path / "s.yaml")]) == 0
    out = capsys.readouterr().out
    assert (
        "  the node pools judge it differently (hpsim runs its pods as the first pool's "
        "nodes do):\n"
        "    pool win22: its nodes run it\n"
        f"    pool win19 (localUser): {message}\n"
    ) in out
