"""Figures, the report and compare: what a reader of hpsim's answers sees."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure
from simhelp import node, pod, scenario

import hpsim
from hpsim.cli import main
from hpsim.observe.compare import differences
from hpsim.observe.output import read_results, write_results
from hpsim.scenario.load import load_data

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ("timeline", "memory", "cpu", "disk", "images", "start_latency", "restarts")


def _small(name: str = "small", description: str = "", **over) -> dict:
    """A HostProcess agent writing to host paths and a leaking app that crashes at its cap."""
    wls = [
        {
            "manifest": pod("agent", "contoso/agent:1", host_process=True),
            "profile": {"memory": "50Mi", "hostWrites": "1Gi/h"},
        },
        {
            "manifest": pod("app", "contoso/app:1", limits={"memory": "200Mi"}),
            "profile": {"memory": "100Mi", "memoryGrowth": "10Mi/min"},
        },
    ]
    images = [
        {"name": "contoso/agent:1", "layers": [{"size": "10Mi"}]},
        {"name": "contoso/app:1", "layers": [{"size": "20Mi"}]},
    ]
    data = scenario(wls, images, duration="1h", node=node(disk="64Gi"), **over)
    data["name"], data["description"] = name, description
    return data


@pytest.fixture(scope="module")
def one_run():
    return hpsim.run(load_data(_small()))


@pytest.fixture(scope="module")
def three_runs():
    return hpsim.run(load_data(_small()), replications=3)


@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_is_a_figure_with_a_title(one_run, three_runs, name):
    for res in (one_run, three_runs):
        fig = getattr(res.plot, name)()
        assert isinstance(fig, Figure)
        ax = fig.axes[0]
        assert ax.get_title().startswith("small: ")
    # Over replications the node-level figures say what the band is.
    if name in ("memory", "cpu", "disk", "start_latency"):
        assert (
            "95% band over 3 replications" in getattr(three_runs.plot, name)().axes[0].get_title()
        )


def test_disk_figure_stacks_every_owner_and_draws_the_thresholds(one_run):
    ax = one_run.plot.disk().axes[0]
    labels = set(ax.get_legend_handles_labels()[1])
    assert {"HostProcess host-path writes", "containerd content store", "Windows (OS)"} <= labels
    assert {"image GC high (85%)", "image GC low (80%)", "what kubelet accounts"} <= labels
    high = next(line for line in ax.get_lines() if line.get_label() == "image GC high (85%)")
    assert high.get_ydata()[0] == pytest.approx(64 * 2**30 * 0.85)


def test_timeline_has_a_row_per_pod_and_shows_back_off(one_run):
    ax = one_run.plot.timeline().axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["agent", "app"]
    colours = {tuple(c.get_facecolor()[0]) for c in ax.collections}
    from matplotlib.colors import to_rgba

    assert to_rgba("#e6550d") in colours  # the app's crash loop: back-off between instances
    assert to_rgba("#31a354") in colours  # running


def test_restarts_figure_counts_per_workload(one_run):
    ax = one_run.plot.restarts().axes[0]
    bars = {t.get_text() for t in ax.get_yticklabels()}
    assert bars == {"agent", "app"}
    restarts = one_run.pods.set_index("pod")["restarts"]
    widths = [p.get_width() for p in ax.patches[:2]]
    assert widths == [restarts["agent"], restarts["app"]]


def test_report_files_hold_the_summary_numbers(tmp_path, one_run):
    out = write_results(one_run, tmp_path / "run", report=True)
    html = (out / "report.html").read_text()
    md = (out / "report.md").read_text()
    assert html.startswith("<!DOCTYPE html>") and "http" not in html.replace("http-equiv", ""), (
        "the report must not fetch anything"
    )
    assert html.count('src="data:image/png;base64,') == len(FIGURES)
    for name in FIGURES:
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
        assert f"figures/{name}.png" in md
    s = json.loads((out / "summary.json").read_text())
    restarts = s["restarts_by_workload"]["app"]
    failures = s["alloc_failures_by_workload"]["app"]
    assert (
        f"| app: memory-cap failures / restarts / time running | {failures} / {restarts} / " in md
    )
    # 1 GiB/h for 1 h from the agent's start: the warning says 24.0 GiB a day.
    assert (
        "HostProcess workload agent writes 24.0 GiB/day to host paths that kubelet does not count"
        in md
    )
    assert f"Workload app: its job object refused {failures} allocations per run" in md


def test_report_from_a_folder_equals_run_report(tmp_path, one_run):
    a = write_results(one_run, tmp_path / "a", report=True)
    b = write_results(one_run, tmp_path / "b")
    assert main(["report", str(b)]) == 0

    def strip(text: str) -> list[str]:
        return [line for line in text.splitlines() if "written" not in line]

    assert strip((a / "report.md").read_text()) == strip((b / "report.md").read_text())


def test_scenario_strings_are_escaped_in_html(tmp_path):
    data = _small(
        name="x-script",
        description='<script>alert("x")</script> & <b>bold</b>',
    )
    res = hpsim.run(load_data(data))
    out = write_results(res, tmp_path / "run", report=True)
    html = (out / "report.html").read_text()
    assert "<script" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html


def test_report_lists_refused_workloads_in_kubectls_words(tmp_path):
    data = _small(namespaces={"default": "baseline"})
    out = write_results(hpsim.run(load_data(data)), tmp_path / "run", report=True)
    md = (out / "report.md").read_text()
    message = (
        'pods "agent" is forbidden: violates PodSecurity "baseline:latest": host namespaces '
        "(hostNetwork=true), hostProcess (pod must not set "
        "securityContext.windowsOptions.hostProcess=true)"
    )
    assert f"| agent | FailedCreate | {message} |" in md
    assert f"- Workload agent never runs: FailedCreate: {message}" in md
    # A refused writer writes nothing: no host-path warning for it.
    assert "HostProcess workload agent writes" not in md


def test_report_of_a_missing_folder_is_one_line_exit_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err == f"hpsim: error: {tmp_path / 'nope'}: not a results folder (no run.json)\n"


# -- compare -----------------------------------------------------------------------------------


def test_compare_a_scenario_with_itself_gives_zero_differences(three_runs):
    diffs = differences(three_runs, three_runs)
    assert diffs and all(d.diff in (0, None) for d in diffs)
    assert all(d.paired for d in diffs)


def test_compare_on_common_random_numbers_is_paired_and_exact(tmp_path, capsys):
    # B's app has a limit twice as high: it never meets its cap within the hour.
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    import yaml

    a.write_text(yaml.safe_dump({**_small(name="a"), "replications": 3}))
    data_b = _small(name="b")
    data_b["workloads"][1]["manifest"] = pod("app", "contoso/app:1", limits={"memory": "2Gi"})
    b.write_text(yaml.safe_dump({**data_b, "replications": 3}))
    assert main(["compare", str(a), str(b), "-o", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    by = {m["metric"]: m for m in out["metrics"]}
    restarts = by["restarts_total"]
    # 100 MiB + 10 MiB/min meets 200 MiB after 600 s: A restarts, B never does.
    assert restarts["b"] == 0 and restarts["a"] > 0 and restarts["diff"] == -restarts["a"]
    assert restarts["paired"] is True
    # Same seeds, same streams: the agent's numbers do not move at all.
    assert by["disk_host_writes_bytes_end"]["diff"] == 0
    assert by["disk_host_writes_bytes_end"]["half_width"] == 0


def test_compare_two_result_folders_text(tmp_path, one_run, capsys):
    a = write_results(one_run, tmp_path / "a")
    shutil.copytree(a, tmp_path / "b")
    assert main(["compare", str(a), str(tmp_path / "b")]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split() == [
        "metric",
        "A:",
        "small",
        "B:",
        "small",
        "B",
        "-",
        "A",
        "±",
        "95%",
    ]
    assert "intervals: one replication each: no intervals" in text
    assert read_results(a).summary() == one_run.summary() | {}


def test_warning_when_kubelet_believes_gc_freed_more_than_the_volume_got_back():
    from hpsim.observe.report import warnings
    from hpsim.observe.results import Results

    def res(believed: float, really: float) -> Results:
        summary = {
            "image_gc_believed_freed_bytes": believed,
            "image_gc_actual_freed_bytes": really,
        }
        empty = {name: pd.DataFrame() for name in ("pods", "series")}
        return Results("s", 0, 1.0, empty, combined=summary)

    assert warnings(res(406 * 2**30, 39.2 * 2**30)) == [
        "kubelet's image GC believed it freed 406.0 GiB, but the volume got back 39.2 GiB: "
        "kubelet counts each image's compressed size, while deleting an image frees only the "
        "layers no other image shares."
    ]
    # Unshared layers: the volume gets back compressed + unpacked, more than kubelet believes.
    assert warnings(res(7 * 2**30, 9 * 2**30)) == []
