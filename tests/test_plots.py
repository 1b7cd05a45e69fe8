"""Figures (hpsim/observe/plots.py): each ``res.plot.<name>()`` is a Figure that shows its data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from reporthelp import FIGURES, small
from simhelp import NO_VICTIMS, node, pod, scenario

import hpsim
from hpsim.observe import timelines as tl
from hpsim.observe.figstyle import STATE_COLOURS, STATE_LABELS
from hpsim.observe.output import read_results, write_results
from hpsim.observe.plots import OWNER_LABELS, _at, _owner_levels, figure_png
from hpsim.scenario.load import load_data

GIB = 2**30
MIB = 2**20


@pytest.fixture(scope="module")
def one_run():
    return hpsim.run(load_data(small()))


@pytest.fixture(scope="module")
def three_runs():
    return hpsim.run(load_data(small()), replications=3)


def _labels(fig: Figure) -> set[str]:
    """Every legend entry of the figure (axes legends and figure legends)."""
    out = set(fig.axes[0].get_legend_handles_labels()[1])
    for legend in fig.legends:
        out |= {t.get_text() for t in legend.get_texts()}
    return out


def _line(fig: Figure, label: str):
    return next(line for line in fig.axes[0].get_lines() if line.get_label() == label)


def _title(fig: Figure) -> str:
    """The figure's title: its suptitle (figures of several axes), else its axes' title."""
    sup = fig.get_suptitle()
    return sup or fig.axes[0].get_title()


@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_is_a_figure_with_a_title(one_run, three_runs, name):
    for res in (one_run, three_runs):
        fig = getattr(res.plot, name)()
        assert isinstance(fig, Figure)
        assert _title(fig).startswith("small: ")
    # Over replications the node-level figures say what the band is.
    if name in ("memory", "cpu", "disk", "start_latency"):
        title = getattr(three_runs.plot, name)().axes[0].get_title()
        assert "95% band over 3 replications" in title


def test_figures_leave_no_pyplot_state_and_render_headless(one_run):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    pngs = [figure_png(fig) for fig in one_run.plot.all().values()]
    assert plt.get_fignums() == before == []
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000 for png in pngs)


def test_memory_figure_draws_commit_working_set_and_the_node_limits(one_run):
    fig = one_run.plot.memory()
    labels = _labels(fig)
    assert {"committed", "working set (resident in RAM)", "requested by bound pods"} <= labels
    # The app leaks to 200 MiB beside the agent's 50 MiB on a 16 GiB node: the axis fits the
    # data, and the node's limits, far above it, are named in the legend with their values.
    assert {
        "allocatable: 15.5 GiB, above the axis",
        "RAM: 16.0 GiB, above the axis",
        "commit limit (RAM + pagefile): 16.0 GiB, above the axis",
    } <= labels
    peak = one_run.summary()["memory_committed_bytes_peak"]
    assert peak < fig.axes[0].get_ylim()[1] <= 1.1 * peak
    # Committed memory grows between rows at the recorded slope: the line is not a step.
    committed = _line(fig, "committed")
    x, y = committed.get_xdata(), committed.get_ydata()
    s = one_run.series
    t0 = s["time_s"].iloc[1]
    row = s[s["time_s"] <= t0 + 60].iloc[-1]
    at = np.interp(t0 + 30, x, y)
    expected = row["memory_committed_bytes"] + row["memory_commit_slope_bytes_per_s"] * (
        t0 + 30 - row["time_s"]
    )
    assert at == pytest.approx(expected, rel=1e-6)


def test_memory_past_ram_is_shown_as_paged():
    # 2 GiB of commit on a 1 GiB node with a 4 GiB pagefile.
    wls = [{"manifest": pod("big", "test/pause:1"), "profile": {"memory": "2Gi"}}]
    data = scenario(wls, duration="10m", node=node(memory="1Gi", pagefile="4Gi"))
    res = hpsim.run(load_data(data))
    fig = res.plot.memory()
    labels = _labels(fig)
    assert "committed past RAM (backed by the pagefile)" in labels
    # RAM is within reach of the data and drawn; the commit limit, 2.5 times the data, is not.
    assert _line(fig, "RAM").get_ydata()[0] == 1 * GIB
    assert "commit limit (RAM + pagefile): 5.0 GiB, above the axis" in labels
    assert 2 * GIB < fig.axes[0].get_ylim()[1] < 2.2 * GIB


def test_cpu_figure_draws_use_requests_and_capacity(one_run):
    fig = one_run.plot.cpu()
    assert {"in use", "requested by bound pods", "allocatable", "capacity"} <= _labels(fig)
    assert _line(fig, "capacity").get_ydata()[0] == 4
    assert fig.axes[0].get_ylabel() == "CPUs"


def test_disk_figure_stacks_every_owner_and_draws_the_thresholds():
    # 21 GiB used of a 32 GiB volume: every threshold is within reach and drawn.
    res = hpsim.run(load_data(small(node=node(disk="32Gi"))))
    fig = res.plot.disk()
    labels = _labels(fig)
    assert set(OWNER_LABELS.values()) <= labels
    assert {"image GC high (85%)", "image GC low (80%)", "what kubelet accounts"} <= labels
    assert {"on the volume", "volume size"} <= labels
    high = _line(fig, "image GC high (85%)")
    assert high.get_ydata()[0] == pytest.approx(32 * GIB * 0.85)
    evict = _line(fig, "eviction (nodefs.available)")
    assert evict.get_ydata()[0] == pytest.approx(32 * GIB * 0.9)  # default nodefs.available<10%


def test_disk_thresholds_far_above_the_data_are_named_not_drawn(one_run):
    # 21 GiB used of 64 GiB: the thresholds (51 GiB and up) would squash the data.
    fig = one_run.plot.disk()
    assert {
        "image GC high (85%): 54.4 GiB, above the axis",
        "eviction (nodefs.available): 57.6 GiB, above the axis",
        "volume size: 64.0 GiB, above the axis",
    } <= _labels(fig)
    peak = one_run.summary()["disk_actual_bytes_peak"]
    assert peak < fig.axes[0].get_ylim()[1] <= 1.1 * peak


def test_disk_owners_grow_between_rows_and_add_up_to_the_volume(one_run):
    s = one_run.series
    grid = np.linspace(0, one_run.duration, 997)
    owners = _owner_levels(s, grid)
    total = sum(owners.values())
    actual = _at(s, "disk_actual_bytes", "disk_actual_slope_bytes_per_s", grid)
    np.testing.assert_allclose(total, actual, rtol=1e-9, atol=1.0)
    # The host-path writes are the accounted/actual gap's growth: 1 GiB/h from the agent's start.
    started = one_run.pods.set_index("pod").loc["agent", "started_s"]
    assert owners["host_writes"][-1] == pytest.approx(GIB * (one_run.duration - started) / 3600)


def _lifecycles() -> dict:
    """Three pods for five minutes: one crash-looping, one whose image does not exist, one fine.

    crash runs 30 s and exits 1: started at 3 s, again at 34 s (the first restart waits
    for nothing), then kubelet backs off 10 s, 20 s, 40 s: BackOff at 64, 105, 156, 227 s.
    missing's pulls fail from 2 s on: ImagePullBackOff to the end.
    """
    app = {"name": "test/app:1", "layers": [{"size": 0}]}
    wls = [
        {
            "manifest": pod("crash", "test/app:1", restart="Always"),
            "profile": {"memory": "10Mi", "runFor": "30s", "exitCode": 1},
        },
        {"manifest": pod("missing", "contoso/app:VERSION")},
        {"manifest": pod("ok", "test/app:1"), "profile": {"memory": "10Mi"}},
    ]
    return scenario(wls, [app], duration="5m")


@pytest.fixture(scope="module")
def lifecycles():
    return hpsim.run(load_data(_lifecycles()))


def _lane(states, workload, t):
    """What the workload's lane draws at instant t: pods per state."""
    counts = tl.counts_over_time(states[states["workload"] == workload], "state", tl.STATES)
    row = counts[counts.index <= t].iloc[-1]
    return {s: int(n) for s, n in row.items() if n}


@pytest.mark.parametrize(
    ("t", "crash", "missing"),
    [
        (1.0, "creating", "creating"),  # sandboxes
        (33.5, "creating", "back-off"),  # crash restarts at once: no back-off yet
        (50.0, "running", "back-off"),
        (70.0, "back-off", "back-off"),  # 64 s + 10 s (+1 s to create)
        (110.0, "back-off", "back-off"),  # 105 s + 20 s
        (150.0, "running", "back-off"),
    ],
)
def test_timeline_lanes_count_pods_by_state_at_hand_checked_instants(lifecycles, t, crash, missing):
    states = tl.pod_states(lifecycles)
    assert _lane(states, "crash", t) == {crash: 1}
    assert _lane(states, "missing", t) == {missing: 1}
    assert _lane(states, "ok", t) == ({"running": 1} if t > 3 else {"creating": 1})


def test_timeline_draws_a_lane_per_workload_and_every_state(lifecycles):
    fig = lifecycles.plot.timeline()
    lanes = [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    assert lanes == ["crash: 1 pod", "missing: 1 pod", "ok: 1 pod"]
    colours = {tuple(c.get_facecolor()[0]) for ax in fig.axes for c in ax.collections}
    for state in ("pending", "creating", "running", "back-off"):
        assert {to_rgba(STATE_COLOURS[state])} <= colours | {to_rgba(STATE_COLOURS["pending"])}
    assert to_rgba(STATE_COLOURS["back-off"]) in colours
    assert set(STATE_LABELS.values()) <= _labels(fig)


def test_timeline_counts_every_pod_of_a_churning_workload():
    # 30 replicas living 10 minutes each for 2 hours: some 360 pods, at most 30 running.
    manifest = pod("web", "test/pause:1", kind="Deployment")
    manifest["spec"]["replicas"] = 30
    manifest["spec"]["selector"] = {"matchLabels": {"app": "web"}}
    wl = {"manifest": manifest, "profile": {"memory": "10Mi"}, "lifetime": {"fixed": "10m"}}
    res = hpsim.run(load_data(scenario([wl], duration="2h")))
    n = len(res.pods)
    assert n > 300
    fig = res.plot.timeline()
    assert fig.axes[-1].get_title(loc="left") == f"web: {n:,} pods"
    counts = tl.counts_over_time(tl.pod_states(res), "state", tl.STATES)
    assert counts["running"].max() == 30
    assert counts.sum(axis=1).max() <= 30 + 30  # the old pods going, the new coming


def test_timeline_marks_evictions_disk_pressure_and_rollouts():
    # The agent fills a 40 GiB disk (20 GiB Windows) at 20 GiB/h: kubelet evicts.
    data = small(node=node(disk="40Gi", osDiskUsage="20Gi"))
    data["workloads"][0]["profile"]["hostWrites"] = "20Gi/h"
    app = pod("app", "contoso/app:1", limits={"memory": "200Mi"}, kind="Deployment")
    app["spec"].update(replicas=1, selector={"matchLabels": {"app": "app"}})
    data["workloads"][1]["manifest"] = app
    data["events"] = [{"at": "10m", "rollout": {"workload": "app", "image": "contoso/app:1"}}]
    res = hpsim.run(load_data(data))
    ev = res.events
    evicted = int(((ev["reason"] == "Evicted") & (ev["kind"] == "Pod")).sum())
    assert evicted > 0
    fig = res.plot.timeline()
    node_row = fig.axes[0]
    assert node_row.get_title(loc="left") == "the node"
    rows = [t.get_text() for t in node_row.get_yticklabels()]
    assert f"evicted ({evicted:,})" in rows
    assert any(r.startswith("disk pressure (") for r in rows)
    assert "rollout, scale (1)" in rows
    app_lane = next(ax for ax in fig.axes if ax.get_title(loc="left").startswith("app: "))
    assert [line.get_xdata()[0] for line in app_lane.get_lines()] == [600.0]
    assert "rollout" in [t.get_text().strip() for t in app_lane.texts]


def test_timeline_of_one_replication(three_runs):
    fig = three_runs.plot.timeline(replication=2)
    assert fig.get_suptitle() == "small: pods by state, per workload, replication 2"
    lanes = [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    assert lanes == ["agent: 1 pod", "app: 1 pod"]


def test_images_figure_has_a_bar_per_base_version():
    wls = [
        {"manifest": pod("a", "contoso/a:1"), "profile": {"memory": "10Mi"}},
        {"manifest": pod("b", "contoso/b:1"), "profile": {"memory": "10Mi"}},
    ]
    images = [
        {"name": "contoso/a:1", "osVersion": "10.0.17763.1", "layers": [{"size": "100Mi"}]},
        {"name": "contoso/b:1", "osVersion": "10.0.20348.1", "layers": [{"size": "300Mi"}]},
    ]
    res = hpsim.run(load_data(scenario(wls, images, duration="10m")))
    ax = res.plot.images().axes[0]
    versions = [t.get_text() for t in ax.get_yticklabels()]
    assert versions == sorted(res.summary()["image_bytes_by_os_version"])
    # The solid bars are the summary's bytes by version.
    solid = [p.get_width() for p in ax.patches if p.get_fill()]
    by_version = res.summary()["image_bytes_by_os_version"]
    assert solid == [by_version[v] for v in versions]


def test_start_latency_ecdf_reaches_one_and_marks_p50_p95(one_run):
    fig = one_run.plot.start_latency()
    ax = fig.axes[0]
    pods = _line(fig, "pods")
    assert pods.get_ydata()[-1] == 1.0
    marks = sorted(line.get_xdata()[0] for line in ax.get_lines() if line is not pods)
    s = one_run.summary()
    assert marks == pytest.approx([s["start_latency_s_p50"], s["start_latency_s_p95"]])


def test_start_latency_band_over_replications(three_runs):
    ax = three_runs.plot.start_latency().axes[0]
    assert "mean ECDF" in ax.get_legend_handles_labels()[1]
    assert ax.collections, "a 95% band"


def test_restarts_figure_counts_per_workload(one_run, three_runs):
    ax = one_run.plot.restarts().axes[0]
    assert {t.get_text() for t in ax.get_yticklabels()} == {"agent", "app"}
    restarts = one_run.pods.set_index("pod")["restarts"]
    widths = [p.get_width() for p in ax.patches[:2]]
    assert widths == [restarts["agent"], restarts["app"]]
    # Over replications: the mean per run.
    ax = three_runs.plot.restarts().axes[0]
    mean = three_runs.pods.groupby(["replication", "workload"])["restarts"].sum()
    mean = mean.groupby("workload").mean()
    assert [p.get_width() for p in ax.patches[:2]] == [mean["agent"], mean["app"]]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_figures_from_a_results_folder(tmp_path, three_runs, fmt):
    out = write_results(three_runs, tmp_path / fmt, fmt)
    res = read_results(out)
    for name, fig in res.plot.all().items():
        assert isinstance(fig, Figure), name
    assert _labels(res.plot.disk()) == _labels(three_runs.plot.disk())


def test_pending_pods_by_the_schedulers_reason():
    # Two pods of 3 CPUs on a 4-CPU node: "second" waits for "first" (10 minutes of work).
    wls = [
        {
            "manifest": pod(name, "test/pause:1", requests={"cpu": "3"}, restart="Never"),
            "profile": {"memory": "10Mi", "runFor": "10m"},
        }
        for name in ("first", "second")
    ]
    res = hpsim.run(load_data(scenario(wls, duration="30m")))
    waits = tl.pending_reasons(res)
    assert waits["reason"].tolist() == ["Insufficient cpu"]
    second = res.pods.set_index("pod").loc["second"]
    assert waits.iloc[0][["start_s", "end_s"]].tolist() == [0.0, second["scheduled_s"]]
    assert tl.counts_at(waits, "reason", 300.0) == {"Insufficient cpu": 1}
    fig = res.plot.pending()
    assert "Insufficient cpu" in _labels(fig)
    assert tl.scheduler_reason(
        "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/"
        "disk-pressure: }."
    ) == ("had untolerated taint {node.kubernetes.io/disk-pressure: }")
    assert tl.scheduler_reason(
        "0/1 nodes are available: 1 Too many pods, 1 Insufficient cpu." + NO_VICTIMS
    ) == ("Too many pods, Insufficient cpu")


def test_container_memory_is_read_off_the_node_series(one_run):
    # The app commits 100 MiB and leaks 10 MiB a minute up to its 200 MiB limit.
    inst = tl.container_memory(one_run)
    assert set(inst["container"]) == {"c"} and set(inst["workload"]) == {"app"}
    assert inst["start_bytes"].tolist() == pytest.approx([100 * MIB] * 6)
    assert inst["growth_bytes_per_s"].tolist() == pytest.approx([10 * MIB / 60] * 6)
    assert tl.memory_limits(one_run) == {("app", "c"): 200 * MIB}
    refused = tl.refusals(one_run)
    assert refused["bytes"].tolist() == [200 * MIB] * 5
    fig = one_run.plot.container_memory()
    ax = fig.axes[0]
    assert ax.get_title(loc="left") == "app / c: 6 instances, 5 refused allocations"
    limit = next(line for line in ax.get_lines() if line.get_linestyle() == "--")
    assert limit.get_ydata()[0] == 200  # MiB
    assert {"committed by an instance", "allocation refused by the job object"} <= _labels(fig)


def test_container_memory_of_replicas_started_together():
    # Three replicas start at one instant (one pull): their start commits come from their
    # ends (each alone at its instant) and the shared growth; together they are the jump
    # of the node's commit at their start.
    manifest = pod("leaky", "contoso/app:1", limits={"memory": "200Mi"}, kind="Deployment")
    manifest["spec"].update(replicas=3, selector={"matchLabels": {"app": "leaky"}})
    wl = {
        "manifest": manifest,
        "profile": {
            "memory": {"normal": {"mean": "100Mi", "sd": "10Mi"}},
            "memoryGrowth": "10Mi/min",
        },
    }
    images = [{"name": "contoso/app:1", "layers": [{"size": "20Mi"}]}]
    res = hpsim.run(load_data(scenario([wl], images, duration="20m")))
    inst = tl.container_memory(res)
    first = inst[inst["instance"] == 0]
    assert first["started_s"].nunique() == 1 and len(first) == 3
    assert first["growth_bytes_per_s"].tolist() == pytest.approx([10 * MIB / 60] * 3)
    jump, _ = tl._commit_steps(res.series)
    assert first["start_bytes"].sum() == pytest.approx(jump[first["started_s"].iloc[0]])
    assert first["start_bytes"].nunique() == 3


def test_pulls_split_into_waiting_download_and_unpack(one_run):
    fig = one_run.plot.pulls()
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert [label.split(" at ")[0] for label in labels] == [
        "test/pause:1",
        "contoso/agent:1",
        "contoso/app:1",
    ]
    pulls = one_run.pulls.sort_values("queued_s", kind="stable")
    bars = {
        c: [p for p in ax.patches if p.get_facecolor() == to_rgba(c)]
        for c in ("#3182bd", "#fd8d3c")
    }
    assert [b.get_width() for b in bars["#3182bd"]] == pytest.approx(pulls["download_s"].tolist())
    assert [b.get_width() for b in bars["#fd8d3c"]] == pytest.approx(pulls["unpack_s"].tolist())
    # An unpack bar ends where its pull does.
    ends = [b.get_x() + b.get_width() for b in bars["#fd8d3c"]]
    assert ends == pytest.approx((pulls["finished_s"] - pulls["queued_s"]).tolist())


def test_pulls_past_the_row_limit_show_each_images_slowest(one_run, monkeypatch):
    from hpsim.observe import podplots

    monkeypatch.setattr(podplots, "PULLS_MAX_ROWS", 2)
    fig = one_run.plot.pulls()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert [label.split(" at ")[0] for label in labels] == ["contoso/app:1", "contoso/agent:1"]
    assert fig.axes[0].get_title() == "small: 3 image pulls, the slowest per image"


def test_a_figure_with_nothing_to_show_is_a_sentence():
    wls = [{"manifest": pod("quiet", "test/pause:1"), "profile": {"memory": "10Mi"}}]
    res = hpsim.run(load_data(scenario(wls, duration="10m")))
    plots = res.plot
    assert plots.blank("restarts") == (
        "No container restarted and no job object refused an allocation."
    )
    assert plots.blank("pending") == (
        "No pod waited for the scheduler: each was bound when it was created."
    )
    assert plots.blank("container_memory").startswith("No container ran with a memory limit")
    assert plots.blank("timeline") is None and plots.blank("memory") is None
    fig = plots.restarts()
    assert [t.get_text() for t in fig.axes[0].texts] == [plots.blank("restarts")]
    assert not fig.axes[0].axison


def test_legends_sit_outside_the_data(one_run):
    for name, fig in one_run.plot.all().items():
        fig.draw_without_rendering()  # lays the figure out
        assert all(ax.get_legend() is None for ax in fig.axes), name
        data = [ax.get_window_extent() for ax in fig.axes if ax.axison]
        for legend in fig.legends:
            box = legend.get_window_extent()
            assert not any(box.overlaps(a) for a in data), name


@pytest.mark.parametrize("name", ["timeline", "container_memory", "pulls"])
def test_same_results_give_the_same_png_bytes(one_run, name):
    # The pod-level figures built afresh from the same results: the same bytes (at a small
    # size: the question is what is drawn, not how finely).
    from hpsim.observe.plots import Plots

    a = figure_png(getattr(Plots(one_run), name)(), dpi=20)
    b = figure_png(getattr(Plots(one_run), name)(), dpi=20)
    assert a == b


def test_a_reused_pod_name_starts_afresh():
    # A StatefulSet's db-0 stuck in ImagePullBackOff is deleted at 20 s; the next db-0 (30 s)
    # pulls nothing and runs from 40 s: its wait is "creating", not the old pod's back-off.
    from hpsim.observe.results import Results

    transitions = pd.DataFrame(
        [
            (0.0, "db-0", "", "Pending"),
            (0.0, "db-0", "Pending", "ContainerCreating"),
            (20.0, "db-0", "ContainerCreating", "Deleted"),
            (30.0, "db-0", "", "Pending"),
            (30.0, "db-0", "Pending", "ContainerCreating"),
            (40.0, "db-0", "ContainerCreating", "Running"),
        ],
        columns=["time_s", "pod", "from", "to"],
    )
    events = pd.DataFrame(
        [(5.0, "Pod", "db-0", "Normal", "BackOff", 'Back-off pulling image "db:1"')],
        columns=["time_s", "kind", "object", "type", "reason", "message"],
    )
    res = Results("s", 0, 60.0, {"transitions": transitions, "events": events})
    states = tl.pod_states(res)
    assert states[["state", "start_s", "end_s"]].values.tolist() == [
        ["creating", 0.0, 5.0],
        ["back-off", 5.0, 20.0],
        ["creating", 30.0, 60.0],  # Running, but no container instance on record
    ]
