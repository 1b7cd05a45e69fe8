"""Sweeps: grid and paths, combined tables, failures, refusal, resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest
import yaml
from simhelp import PAUSE, node, pod

import hpsim
import hpsim.experiment.sweep as sweep_mod
from hpsim.cli import main
from hpsim.errors import HpsimError
from hpsim.experiment.paths import Resolver, parse_set
from hpsim.observe.output import TABLES

ROOT = Path(__file__).resolve().parent.parent

SCENARIO = """\
name: sw
duration: {duration}
seed: 3
node:
{node}
images:
{images}
workloads:
  - manifest: manifests/apps.yaml
    profile: {{cpu: 100m, memory: {{normal: {{mean: 300Mi, sd: 80Mi}}}}}}
    lifetime: {{exponential: {{mean: 10m}}}}
  - manifest:
      apiVersion: v1
      kind: Pod
      metadata: {{name: batch}}
      spec: {{restartPolicy: Never, containers: [{{name: c, image: "test/app:1"}}]}}
    arrivals: {{poisson: {rate}}}
    lifetime: {{fixed: 5m}}
"""


def _write(tmp_path: Path, duration: str = "30m", rate: str = "30/h") -> Path:
    """A scenario file whose manifest file holds two objects: app (a Deployment) and web."""
    (tmp_path / "manifests").mkdir(exist_ok=True)
    app = pod("app", kind="Deployment", requests={"memory": "512Mi"})
    app["spec"]["replicas"] = 2
    web = pod("web", kind="Deployment")
    (tmp_path / "manifests" / "apps.yaml").write_text(yaml.safe_dump_all([app, web]))
    images = [PAUSE, {"name": "test/app:1", "layers": [{"size": "20Mi"}]}]

    def block(value) -> str:
        text = yaml.safe_dump(value, default_flow_style=False)
        return "\n".join("  " + line for line in text.splitlines())

    f = tmp_path / "sw.yaml"
    f.write_text(
        SCENARIO.format(duration=duration, node=block(node()), images=block(images), rate=rate)
    )
    return f


def test_paths_address_the_scenario_as_written(tmp_path):
    loaded = hpsim.load(_write(tmp_path))
    r = Resolver(loaded.data, file=loaded.file, base_dir=loaded.base_dir)
    data = r.point(
        {
            "node.memory": "8Gi",
            "node.kubelet.maxPods": 20,
            "workloads.app.replicas": 5,
            "workloads.batch.arrivals.poisson": "10/h",
            "workloads.web.profile.cpu": "250m",
            "images[test/app:1].layers.0.size": "40Mi",
        }
    )
    assert data["node"]["memory"] == "8Gi"
    assert data["node"]["kubelet"] == {"maxPods": 20}
    # The manifest file (two documents) is inlined as a List; the file is untouched.
    manifest = data["workloads"][0]["manifest"]
    assert manifest["kind"] == "List"
    assert [i["metadata"]["name"] for i in manifest["items"]] == ["app", "web"]
    assert manifest["items"][0]["spec"]["replicas"] == 5
    assert data["workloads"][0]["profile"]["cpu"] == "250m"  # web shares app's entry
    assert data["workloads"][1]["arrivals"]["poisson"] == "10/h"
    assert data["images"][1]["layers"][0]["size"] == "40Mi"
    assert loaded.data["node"]["memory"] == "16Gi"  # the original is not touched
    assert loaded.data["workloads"][0]["manifest"] == "manifests/apps.yaml"
    point = hpsim.run(hpsim.scenario.load.load_data(data, base_dir=tmp_path), seed=1)
    assert (point.pods["workload"] == "app").sum() >= 5


@pytest.mark.parametrize(
    ("factor", "message"),
    [
        ("workloads.ap.replicas=3", 'no workload named "ap" (did you mean "app"?)'),
        ("workloads.app.replica=3", '"replica" is neither a workload key nor a manifest field'),
        ("images[nope:1].layers.0.size=1Mi", 'no image named "nope:1"'),
    ],
)
def test_bad_paths_are_refused_with_the_factor_named(tmp_path, factor, message):
    f = _write(tmp_path)
    path, values = parse_set(factor)
    with pytest.raises(HpsimError) as exc:
        hpsim.sweep(f, {path: values})
    assert message in str(exc.value)
    assert str(exc.value).startswith(f"{f}: --set {path}: ")


def test_bad_values_are_refused_before_any_run_naming_file_line_and_factor(tmp_path, capsys):
    f = _write(tmp_path)
    out = tmp_path / "out"
    code = main(["sweep", str(f), "--set", "node.memory=16Gi,32Gj", "-d", str(out), "-q"])
    assert code == 2
    err = capsys.readouterr().err
    line = f.read_text().splitlines().index("  memory: 16Gi") + 1
    assert err == (
        f'hpsim: error: {f}:{line}: node.memory: invalid quantity "32Gj": expected a Kubernetes '
        'quantity such as 128974848, 129e6, 129M, 123Mi or 1Gi (with --set node.memory="32Gj")\n'
    )
    assert not out.exists()
    assert main(["sweep", str(f), "--set", "workloads.app.replicas=2,-1", "-q"]) == 2
    assert "(with --set workloads.app.replicas=-1)" in capsys.readouterr().err


def test_parse_set_values():
    assert parse_set("node.memory=16Gi,32Gi") == ("node.memory", ["16Gi", "32Gi"])
    assert parse_set("workloads.app.replicas=4,8") == ("workloads.app.replicas", [4, 8])
    assert parse_set("workloads.app.profile.memory={constant: 1Gi},{normal: {mean: 1Gi, sd: 1}}")[
        1
    ] == [{"constant": "1Gi"}, {"normal": {"mean": "1Gi", "sd": 1}}]
    with pytest.raises(HpsimError, match="expected PATH=VALUE"):
        parse_set("node.memory")


def test_grid_rows_columns_and_common_random_numbers(tmp_path):
    f = _write(tmp_path)
    factors = {"node.memory": ["8Gi", "16Gi"], "workloads.app.replicas": [1, 3]}
    res = hpsim.sweep(f, factors, replications=2)
    s = res.summary()
    assert s[["point", "node.memory", "workloads.app.replicas", "runs", "failed"]].to_dict(
        "records"
    ) == [
        {
            "point": "p000",
            "node.memory": "8Gi",
            "workloads.app.replicas": 1,
            "runs": 2,
            "failed": 0,
        },
        {
            "point": "p001",
            "node.memory": "8Gi",
            "workloads.app.replicas": 3,
            "runs": 2,
            "failed": 0,
        },
        {
            "point": "p002",
            "node.memory": "16Gi",
            "workloads.app.replicas": 1,
            "runs": 2,
            "failed": 0,
        },
        {
            "point": "p003",
            "node.memory": "16Gi",
            "workloads.app.replicas": 3,
            "runs": 2,
            "failed": 0,
        },
    ]
    assert {"pods_created_mean", "pods_created_half_width"} <= set(s.columns)
    for name in TABLES:
        assert list(res.tables[name].columns[:4]) == [
            "point",
            "node.memory",
            "workloads.app.replicas",
            "replication",
        ]
    # The Deployment keeps `replicas` pods (no lifetime ends app... the lifetime replaces them).
    first = res.pods[res.pods["created_s"] == 0]
    n_app = first[first["workload"] == "app"].groupby(["point", "replication"]).size()
    assert n_app.to_dict() == {
        ("p000", 0): 1,
        ("p000", 1): 1,
        ("p001", 0): 3,
        ("p001", 1): 3,
        ("p002", 0): 1,
        ("p002", 1): 1,
        ("p003", 0): 3,
        ("p003", 1): 3,
    }
    # Replication i of every point draws the same batch arrivals (common random numbers).
    batch = res.pods[res.pods["workload"] == "batch"]
    created = batch.groupby(["point", "replication"])["created_s"].apply(list)
    assert created[("p000", 0)] == created[("p003", 0)]
    assert created[("p000", 0)] != created[("p000", 1)]
    # Each point equals a plain run of its scenario with the same seed.
    runs = res.runs.set_index(["point", "replication"])
    assert runs.loc[("p001", 1), "pods_created"] == float(
        hpsim.run(
            hpsim.scenario.load.load_data(
                Resolver(res_data := hpsim.load(f).data, file=str(f), base_dir=tmp_path).point(
                    {"node.memory": "8Gi", "workloads.app.replicas": 3}
                ),
                base_dir=tmp_path,
            ),
            seed=3,
            replications=2,
        ).summaries[1]["pods_created"]
    )
    assert res_data["node"]["memory"] == "16Gi"


def test_a_run_that_raises_is_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch, capsys):
    import hpsim.experiment.run as run_mod

    real = run_mod.simulate

    def flaky(loaded, ss, twin=None, **kw):
        if loaded.scenario.node.memory == 8 * 2**30 and ss.spawn_key == (1,):
            raise RuntimeError("boom")
        return real(loaded, ss, twin, **kw)

    monkeypatch.setattr(run_mod, "simulate", flaky)
    f = _write(tmp_path)
    out = tmp_path / "out"
    args = ["sweep", str(f), "--set", "node.memory=8Gi,16Gi", "-r", "2", "-d", str(out), "-j", "1"]
    assert main([*args, "-q"]) == 1
    assert "hpsim: run p000 rep-1 failed: RuntimeError: boom" in capsys.readouterr().err
    err = json.loads((out / "points" / "p000" / "rep-1" / "error.json").read_text())
    assert (err["type"], err["message"]) == ("RuntimeError", "boom")
    assert "flaky" in err["traceback"]
    failed = pd.read_parquet(out / "failed.parquet")
    assert failed[["point", "node.memory", "replication", "error_type"]].to_dict("records") == [
        {"point": "p000", "node.memory": "8Gi", "replication": 1, "error_type": "RuntimeError"}
    ]
    summary = pd.read_parquet(out / "summary.parquet")
    assert summary[["runs", "failed"]].to_dict("records") == [
        {"runs": 1, "failed": 1},
        {"runs": 2, "failed": 0},
    ]
    assert set(pd.read_parquet(out / "pods.parquet")["point"]) == {"p000", "p001"}
    # Started again (the fault gone): only the failed run runs.
    done = (out / "points" / "p000" / "rep-0" / "summary.json").stat().st_ino
    monkeypatch.setattr(run_mod, "simulate", real)
    assert main([*args, "-q"]) == 0
    assert (out / "points" / "p000" / "rep-0" / "summary.json").stat().st_ino == done
    assert pd.read_parquet(out / "failed.parquet").empty
    assert len(pd.read_parquet(out / "runs.parquet")) == 4


def test_a_different_sweep_into_the_same_folder_is_refused(tmp_path, capsys):
    f = _write(tmp_path)
    out = tmp_path / "out"
    base = ["sweep", str(f), "-d", str(out), "-j", "1", "-q"]
    assert main([*base, "--set", "node.memory=8Gi,16Gi"]) == 0
    assert main([*base, "--set", "node.memory=8Gi,32Gi"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"hpsim: error: {out / 'sweep.json'}: this folder holds a different sweep"
    )
    assert (
        'factors {"node.memory": ["8Gi", "16Gi"]} there, {"node.memory": ["8Gi", "32Gi"]} now'
        in err
    )
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x").write_text("")
    assert main([*base[:3], str(tmp_path / "other"), "--set", "node.memory=8Gi", "-q"]) == 2
    assert "holds no sweep.json" in capsys.readouterr().err


def test_tables_the_runs_send_equal_the_files_read_back(tmp_path, monkeypatch):
    f = _write(tmp_path)
    factors = {"node.memory": ["8Gi", "16Gi"]}
    reads: list[tuple[str, int]] = []
    real = sweep_mod._read_arrow
    monkeypatch.setattr(
        sweep_mod, "_read_arrow", lambda out, key: reads.append(key) or real(out, key)
    )
    sent = hpsim.sweep(f, factors, replications=2, output=tmp_path / "o")
    assert reads == []  # each run sent the Arrow tables it wrote
    again = hpsim.sweep(f, factors, replications=2, output=tmp_path / "o")
    assert again.meta["resumed"] == 4
    assert sorted(reads) == [("p000", 0), ("p000", 1), ("p001", 0), ("p001", 1)]
    for name in TABLES:
        pdt.assert_frame_equal(sent.tables[name], again.tables[name])


def _finished(out: Path) -> list[Path]:
    return sorted(out.glob("points/*/rep-*/summary.json"))


def test_sigkilled_sweep_resumes_without_recomputing_and_matches_an_uninterrupted_one(tmp_path):
    f = _write(tmp_path, duration="4h", rate="60/h")
    factors = ["--set", "node.memory=8Gi,16Gi", "--set", "workloads.app.replicas=1,2"]
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "hpsim", "sweep", str(f), *factors, "-r", "3", "-d", str(out)]
    cmd += ["-j", "2", "-q"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, start_new_session=True, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(_finished(out)) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its workers, mid-flight
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()  # type: ignore[union-attr]
    before = {p.parent: (p.stat().st_ino, p.stat().st_mtime_ns) for p in _finished(out)}
    assert 3 <= len(before) < 12
    assert not (out / "pods.parquet").exists()  # combined tables come at the end

    again = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    for folder, stamp in before.items():
        summary = folder / "summary.json"
        assert (summary.stat().st_ino, summary.stat().st_mtime_ns) == stamp, folder
    assert len(_finished(out)) == 12
    assert not list(out.rglob(".*.tmp-*"))

    ref = hpsim.sweep(
        f,
        {"node.memory": ["8Gi", "16Gi"], "workloads.app.replicas": [1, 2]},
        replications=3,
        output=tmp_path / "whole",
    )
    for name in (*TABLES, "runs", "failed", "summary"):
        pdt.assert_frame_equal(
            pd.read_parquet(out / f"{name}.parquet"),
            pd.read_parquet(tmp_path / "whole" / f"{name}.parquet"),
        )
    pdt.assert_frame_equal(ref.pods, pd.read_parquet(out / "pods.parquet"))


def _point(point: str, cpu: int, runs: int, **metrics: tuple) -> dict:
    """A summary.parquet row: metric=(mean, low, high, n); the t half-width is not shown."""
    row = {"point": point, "node.cpu": cpu, "runs": runs, "failed": 0}
    for m, (mean, low, high, n) in metrics.items():
        row |= {f"{m}_mean": mean, f"{m}_half_width": 1.0, f"{m}_low": low, f"{m}_high": high}
        row[f"{m}_n"] = n
    return row


def test_the_printed_sweep_table_sizes_a_node_in_readable_units(capsys):
    from hpsim.experiment.commands import print_sweep

    nan = float("nan")
    table = pd.DataFrame(
        [
            _point(
                "p000",
                4,
                3,
                pods_per_node_max=(5.0, 5.0, 5.0, 3),
                pending_s_mean=(1233.6, 870.0, 1584.0, 3),
                pending_s_p95=(4833.6, 4020.0, 5448.0, 3),
                start_latency_s_p95=(4836.6, 4026.0, 5451.0, 3),
                fresh_node_all_running_s=(21.8, 21.8, 21.8, 2),
                restarts_total=(32 / 3, 0.0, 32.0, 3),
                memory_committed_bytes_peak=(4.3 * 2**30, 4.2 * 2**30, 4.4 * 2**30, 3),
                disk_actual_bytes_peak=(28.8 * 2**30, 28.8 * 2**30, 28.8 * 2**30, 3),
            ),
            _point(
                "p001",
                8,
                3,
                pods_per_node_max=(7.0, 6.0, 8.0, 3),
                pending_s_mean=(0.0, 0.0, 0.0, 3),
                pending_s_p95=(0.0, 0.0, 0.0, 3),
                start_latency_s_p95=(12.7, 3.0, 31.0, 3),
                fresh_node_all_running_s=(nan, nan, nan, 0),
                restarts_total=(0.0, 0.0, 0.0, 3),
                memory_committed_bytes_peak=(11.3 * 2**30, 10.5 * 2**30, 12.1 * 2**30, 3),
                disk_actual_bytes_peak=(28.8 * 2**30, 28.8 * 2**30, 28.8 * 2**30, 3),
            ),
        ]
    )
    empty = pd.DataFrame()
    res = sweep_mod.SweepResults("s", 1, 3, {"node.cpu": [4, 8]}, empty, {}, empty, empty, table)
    print_sweep(res)
    assert capsys.readouterr().out.splitlines() == [
        "each point: mean of its runs and 95% interval (bootstrap percentile interval of the "
        "mean, expanded for small samples, within the values the replications gave)",
        "point  node.cpu  runs  failed  pods_per_node_max  pending_s_mean               "
        "pending_s_p95                start_latency_s_p95          fresh_node_all_running_s  "
        "restarts_total  memory_committed_bytes_peak  disk_actual_bytes_peak",
        "p000   4         3     0       5                  20.6 min (14.5 to 26.4 min)  "
        "80.6 min (67.0 to 90.8 min)  80.6 min (67.1 to 90.8 min)  21.8 s, n=2               "
        "10.7 (0 to 32)  4.3 GiB (4.2 to 4.4 GiB)     28.8 GiB",
        "p001   8         3     0       7 (6 to 8)         0.0 s                        "
        "0.0 s                        12.7 s (3.0 to 31.0 s)       -, n=0                    "
        "0               11.3 GiB (10.5 to 12.1 GiB)  28.8 GiB",
        "fresh_node_all_running_s at p000: 1 of 3 replications had no fresh-node start: "
        "a pod there at t = 0 never became ready, or none was there",
        "fresh_node_all_running_s at p001: each of 3 replications had no fresh-node start: "
        "a pod there at t = 0 never became ready, or none was there",
    ]


def test_sweep_prints_json_with_o_json_and_warns_on_o_dir(tmp_path, capsys):
    f = _write(tmp_path)
    out = tmp_path / "out"
    args = ["sweep", str(f), "--set", "node.memory=8Gi,16Gi", "-j", "1"]
    assert main([*args, "-d", str(out), "-o", "json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert (doc["scenario"], doc["runs"], doc["failed"], doc["results"]) == ("sw", 2, 0, str(out))
    assert [p["node.memory"] for p in doc["points"]] == ["8Gi", "16Gi"]
    assert {"pods_per_node_max_mean", "pending_s_p95_low", "pending_s_p95_n"} <= set(
        doc["points"][0]
    )
    assert f"sw: 2 of 2 runs finished, 0 failed -> {out}" in captured.err
    # The old spelling: -o names the folder, for one more release, with a warning.
    assert main([*args, "-o", str(out), "-q"]) == 0
    assert capsys.readouterr().err == (
        f"hpsim: warning: -o {out}: a results folder given with -o is deprecated and will not "
        f"be accepted in the next release; use -d {out} (or --results); -o takes text or json\n"
    )
