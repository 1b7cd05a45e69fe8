"""The capacity-planning report (hpsim/observe/report.py): report.html and report.md."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from reporthelp import FIGURES, small
from simhelp import node, pod, scenario

import hpsim
from hpsim.cli import main
from hpsim.observe.output import read_results, write_results
from hpsim.observe.report import headline, node_lines
from hpsim.scenario.load import load_data

# The helper under its old name (kept for readers of older tests).
_small = small


@pytest.fixture(scope="module")
def one_run():
    return hpsim.run(load_data(small()))


@pytest.fixture(scope="module")
def three_runs():
    return hpsim.run(load_data(small()), replications=3)


@pytest.fixture(scope="module")
def reported(one_run, tmp_path_factory):
    """One run's folder with its report, real figures and all."""
    return write_results(one_run, tmp_path_factory.mktemp("reported") / "run", report=True)


@pytest.fixture
def fast_figures(monkeypatch):
    """Figures built but not rendered (a 1-pixel PNG each): for tests that read the text."""
    import base64

    pixel = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
    )
    monkeypatch.setattr("hpsim.observe.report.figure_png", lambda fig, dpi=100: pixel)


def test_report_files_hold_the_summary_numbers(reported):
    out = reported
    html = (out / "report.html").read_text()
    md = (out / "report.md").read_text()
    assert html.startswith("<!DOCTYPE html>") and "http" not in html.replace("http-equiv", ""), (
        "the report must not fetch anything"
    )
    # Every pod of the small run is bound when it is created: no pending figure, a sentence.
    drawn = [name for name in FIGURES if name != "pending"]
    assert html.count('src="data:image/png;base64,') == len(drawn)
    for name in drawn:
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
        assert f"figures/{name}.png" in md
    assert not (out / "figures" / "pending.png").exists()
    sentence = "No pod waited for the scheduler: each was bound when it was created."
    assert f"### Pending pods by the scheduler's reason\n\n{sentence}\n" in md
    assert (
        f'<p class="blank" id="fig-pending">Pending pods by the scheduler&#x27;s reason: '
        f"{sentence}</p>" in html
    )
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


def test_report_from_a_folder_equals_run_report(tmp_path, one_run, reported, fast_figures):
    a = reported
    b = write_results(one_run, tmp_path / "b")
    assert main(["report", str(b)]) == 0

    def strip(text: str) -> list[str]:
        return [line for line in text.splitlines() if "written" not in line]

    assert strip((a / "report.md").read_text()) == strip((b / "report.md").read_text())


def test_scenario_strings_are_escaped_in_html(tmp_path, fast_figures):
    data = _small(
        name="x-script",
        description='<script>alert("x")</script> & <b>bold</b>',
    )
    res = hpsim.run(load_data(data))
    out = write_results(res, tmp_path / "run", report=True)
    html = (out / "report.html").read_text()
    assert "<script" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    md = (out / "report.md").read_text()
    assert '\\<script\\>alert("x")\\</script\\> \\& \\<b\\>bold\\</b\\>' in md


def test_a_scenario_name_with_markup_is_text(tmp_path, one_run, fast_figures):
    # The loader refuses such a name (it names the results folder), but a results folder's
    # run.json is only a file: the report escapes whatever it holds.
    import dataclasses

    name = "<script>alert(1)</script> & co"
    res = dataclasses.replace(
        one_run, scenario=name, meta={**one_run.meta, "description": "a & b <i>c</i>"}
    )
    out = write_results(res, tmp_path / "run", report=True)
    html = (out / "report.html").read_text()
    assert "<script" not in html and "<i>" not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"
    assert f"<title>hpsim report: {escaped}</title>" in html
    assert f"<h1>{escaped}</h1>" in html
    assert "<p>a &amp; b &lt;i&gt;c&lt;/i&gt;</p>" in html
    md = (out / "report.md").read_text()
    assert md.startswith("# \\<script\\>alert(1)\\</script\\> \\& co\n")


def test_report_lists_refused_workloads_in_kubectls_words(tmp_path, fast_figures):
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


def _filler(kubernetes: str) -> dict:
    """The agent writes 20 GiB/h onto a 40 GiB disk that Windows fills to 20 GiB."""
    data = small(node=node(disk="40Gi", osDiskUsage="20Gi", kubernetes=kubernetes))
    data["workloads"][0]["profile"]["hostWrites"] = "20Gi/h"
    return data


def test_report_warns_when_host_path_writes_reach_eviction(tmp_path, fast_figures):
    res = hpsim.run(load_data(_filler("1.31")))
    out = write_results(res, tmp_path / "run", report=True)
    md = (out / "report.md").read_text()
    s = json.loads((out / "summary.json").read_text())
    minutes = s["first_eviction_s"] / 60
    assert (
        "- HostProcess workload agent writes 480.0 GiB/day to host paths that kubelet does not "
        f"count: the node reaches eviction after {minutes:.1f} min." in md
    )
    evicted = sorted(set(res.pods.loc[res.pods["reason"] == "Evicted", "workload"]))
    assert f"- kubelet first evicts pods after {minutes:.1f} min ({s['evictions']} evictions" in md
    assert f"in the run: {', '.join(evicted)})" in md
    assert f"| Time to a full disk / to the first eviction | - / {minutes:.1f} min |" in md


def test_report_warns_of_a_full_disk_where_kubelet_does_not_evict(tmp_path, fast_figures):
    # Before 1.31 the Windows kubelet does not enforce hard eviction: the disk fills.
    res = hpsim.run(load_data(_filler("1.29")))
    md = (write_results(res, tmp_path / "run", report=True) / "report.md").read_text()
    minutes = res.summary()["disk_full_s"] / 60
    assert f"does not count: the disk is full after {minutes:.1f} min." in md
    assert "kubelet first evicts" not in md


def _writers(kind: str, replicas: int, containers: int) -> dict:
    """A HostProcess agent, each container writing 1 GiB/day to host paths, for one day.

    Images hold no bytes and Windows takes 20 GiB of the 64 GiB disk, so at the
    end the volume holds 20 GiB plus what the agents wrote.
    """
    from simhelp import pod, scenario

    manifest = pod("agent", "contoso/agent:1", host_process=True, kind=kind)
    spec = manifest["spec"]["template"]["spec"]
    spec["containers"] = [{"name": f"c{i}", "image": "contoso/agent:1"} for i in range(containers)]
    if kind == "Deployment":
        manifest["spec"]["replicas"] = replicas
        manifest["spec"]["selector"] = {"matchLabels": {"app": "agent"}}
    images = [{"name": "contoso/agent:1", "layers": [{"size": 0, "unpacked": 0}]}]
    wl = {"manifest": manifest, "profile": {"memory": "50Mi", "hostWrites": "1Gi/d"}}
    return scenario([wl], images, duration="1d", node=node(disk="64Gi", osDiskUsage="20Gi"))


@pytest.mark.parametrize(
    ("kind", "replicas", "containers", "gib_per_day"),
    [("Deployment", 3, 1, 3), ("DaemonSet", 1, 2, 2)],
)
def test_host_write_warning_counts_every_replica_and_container(
    kind, replicas, containers, gib_per_day
):
    from hpsim.observe.report import warnings

    res = hpsim.run(load_data(_writers(kind, replicas, containers)))
    # The agents start within seconds: after a day the volume holds 20 GiB + N GiB, and
    # the remaining 64 - 20 - N GiB fill at N GiB a day.
    days = (64 - 20 - gib_per_day) / gib_per_day
    assert res.summary()["disk_full_in_s_after_end"] / 86400 == pytest.approx(days, rel=1e-4)
    assert warnings(res) == [
        f"HostProcess workload agent writes {gib_per_day}.0 GiB/day to host paths that "
        "kubelet does not count: at the end's rate of growth the disk is full "
        f"{days:.1f} days after the run."
    ]


def test_report_over_replications_gives_intervals_from_summary_json(
    tmp_path, three_runs, fast_figures
):
    from hpsim.observe.report import bytes_words, duration_words

    out = write_results(three_runs, tmp_path / "run", report=True)
    md = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    s = json.loads((out / "summary.json").read_text())
    assert (
        "Each answer is the mean of 3 replications, with its 95% interval in parentheses where "
        "the replications differ (bootstrap percentile interval of the mean, expanded for small "
        "samples, within the values the replications gave)." in md
    )
    assert "3 replications; hpsim" in md

    def pm(v, words):
        # '40.4 GiB (40.3 to 40.5 GiB)': the unit once when both ends share it; nothing
        # where the interval rounds to the mean's last digit.
        text, low, high = words(v["mean"]), words(v["low"]), words(v["high"])
        if low == high:
            return text
        lo_number, _, lo_unit = low.partition(" ")
        return f"{text} ({lo_number if lo_unit == high.partition(' ')[2] else low} to {high})"

    peak = s["disk_actual_bytes_peak"]
    accounted = s["disk_accounted_bytes_peak"]
    row = (
        "| Disk: peak on the volume / peak kubelet accounts | "
        f"{pm(peak, bytes_words)} / {pm(accounted, bytes_words)} |"
    )
    assert row in md
    p50, p95 = s["start_latency_s_p50"], s["start_latency_s_p95"]
    row = (
        "| Start latency (created to ready), p50 / p95 | "
        f"{pm(p50, duration_words)} / {pm(p95, duration_words)} |"
    )
    assert row in md
    # The HTML says the same, escaped.
    assert f"<td>{pm(peak, bytes_words)} / {pm(accounted, bytes_words)}</td>" in html
    # Node facts come from run.json.
    assert "| CPU | 4 CPUs, " in md and "| Disk (C:) | 64.0 GiB |" in md


def test_report_from_a_csv_folder(tmp_path, one_run, fast_figures):
    out = write_results(one_run, tmp_path / "run", "csv")
    assert main(["report", str(out)]) == 0
    html = (out / "report.html").read_text()
    assert html.count('src="data:image/png;base64,') == len(FIGURES) - 1  # pending: a sentence
    assert read_results(out).summary() == json.loads((out / "summary.json").read_text())


def test_report_html_has_no_script_and_no_external_reference(reported):
    out = reported
    html = (out / "report.html").read_text()
    assert "<script" not in html.lower()
    refs = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert refs and all(r.startswith("data:image/png;base64,") for r in refs)


def test_report_says_what_pulls_run_at_and_what_start_latency_rests_on():
    """The node's pull rates, and start latency with the unpack rate halved and doubled
    where pulls dominate it (numbers worked out in test_experiment: 14, 9 and 6.5 s)."""
    data = scenario(
        [{"manifest": pod("p")}], [{"name": "test/app:1", "layers": [{"size": "100Mi"}]}]
    )
    res = hpsim.run(load_data(data))
    pulls = dict(node_lines(res))["Image pulls"]
    assert pulls == "download 105 MB/s; layers extract at 21 MB/s (no antivirus scanning)"
    rows = {r.question: r.answer for r in headline(res)}
    question = (
        "Start latency p50 / p95 with the unpack throughput halved and doubled (pulls are 67% "
        "of start latency; the first replication replayed with the same seed)"
    )
    assert (
        rows[question] == "halved: 14.0 s / 14.0 s; as run: 9.0 s / 9.0 s; doubled: 6.5 s / 6.5 s"
    )
    data["node"]["antivirus"] = {"realTimeScanning": True, "unpackSlowdown": 4}
    pulls = dict(node_lines(hpsim.run(load_data(data))))["Image pulls"]
    assert pulls == (
        "download 105 MB/s; layers extract at 5.2 MB/s "
        "(21 MB/s, 4x slower with antivirus real-time scanning)"
    )


def test_answers_give_the_interval_and_say_why_some_replications_have_no_value():
    from hpsim.observe.report import render_markdown
    from hpsim.observe.results import Results
    from hpsim.observe.stats import combine

    runs = [
        {"fresh_node_all_running_s": f, "pods_per_node_max": p, "restarts_by_workload": r}
        for f, p, r in [(227.3, 8, {"app": 0}), (None, 8, {"app": 0}), (227.3, 9, {"app": 32})]
    ]
    empty = {name: pd.DataFrame() for name in ("pods", "series")}
    res = Results("s", 0, 3600.0, empty, combined=combine(runs), meta={"replications": 3})
    md = render_markdown(res, {}, {})
    assert (
        "Each answer is the mean of 3 replications, with its 95% interval in parentheses where "
        "the replications differ (bootstrap percentile interval of the mean, expanded for small "
        "samples, within the values the replications gave)."
    ) in md
    assert "| Most pods bound to the node at once | 8.3 (8 to 9) |" in md
    assert "| Fresh node: time until every initial pod runs | 3.8 min |" in md
    # Markdown escapes the underscores of the metric's name (md_literal).
    assert (
        "fresh\\_node\\_all\\_running\\_s: n=2; 1 of 3 replications had no fresh-node start: "
        "a pod there at t = 0 never became ready, or none was there."
    ) in md


def test_the_node_section_gives_each_pool_its_own_facts_where_they_differ():
    # A pool of ltsc2019 nodes beside one of ltsc2022: the report said only the first
    # pool's build, disk and sizes. Now a fact that differs is given per pool, in the
    # scenario's order, and a fact they share once.
    def pool(name: str, build: str, disk: str) -> dict:
        return {"name": name, "count": 1, "node": node(osBuild=build, disk=disk)}

    data = scenario([{"manifest": pod("app")}], [{"name": "test/app:1", "layers": []}])
    del data["node"]
    data["nodePools"] = [
        pool("win22", "10.0.20348.2227", "128Gi"),
        pool("win19", "10.0.17763.5329", "256Gi"),
    ]
    lines = dict(node_lines(hpsim.run(load_data(data))))
    assert lines["Windows build"] == "win22: 10.0.20348.2227; win19: 10.0.17763.5329"
    assert lines["Disk (C:)"] == "win22: 128.0 GiB; win19: 256.0 GiB"
    assert lines["CPU"] == "4 CPUs, 4 allocatable"
