"""Figures (hpsim/observe/plots.py): each ``res.plot.<name>()`` is a Figure that shows its data."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from reporthelp import FIGURES, small
from simhelp import node, pod, scenario

import hpsim
from hpsim.observe.output import read_results, write_results
from hpsim.observe.plots import OWNER_LABELS, _at, _owner_levels, figure_png
from hpsim.scenario.load import load_data

GIB = 2**30


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


@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_is_a_figure_with_a_title(one_run, three_runs, name):
    for res in (one_run, three_runs):
        fig = getattr(res.plot, name)()
        assert isinstance(fig, Figure)
        assert fig.axes[0].get_title().startswith("small: ")
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
    assert {
        "committed",
        "working set (resident in RAM)",
        "requested by bound pods",
        "allocatable",
        "RAM",
        "commit limit (RAM + pagefile)",
    } <= labels
    assert _line(fig, "RAM").get_ydata()[0] == 16 * GIB
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
    assert "committed past RAM (backed by the pagefile)" in _labels(fig)
    assert _line(fig, "commit limit (RAM + pagefile)").get_ydata()[0] == 5 * GIB


def test_cpu_figure_draws_use_requests_and_capacity(one_run):
    fig = one_run.plot.cpu()
    assert {"in use", "requested by bound pods", "allocatable", "capacity"} <= _labels(fig)
    assert _line(fig, "capacity").get_ydata()[0] == 4
    assert fig.axes[0].get_ylabel() == "CPUs"


def test_disk_figure_stacks_every_owner_and_draws_the_thresholds(one_run):
    fig = one_run.plot.disk()
    labels = _labels(fig)
    assert set(OWNER_LABELS.values()) <= labels
    assert {"image GC high (85%)", "image GC low (80%)", "what kubelet accounts"} <= labels
    assert {"on the volume", "volume size"} <= labels
    high = _line(fig, "image GC high (85%)")
    assert high.get_ydata()[0] == pytest.approx(64 * 2**30 * 0.85)


def test_disk_eviction_line_where_the_kubelet_enforces_it():
    data = small(node=node(disk="64Gi", kubernetes="1.31"))
    fig = hpsim.run(load_data(data)).plot.disk()
    evict = _line(fig, "eviction (nodefs.available)")
    assert evict.get_ydata()[0] == pytest.approx(64 * GIB * 0.9)  # default nodefs.available<10%


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


def test_timeline_has_a_row_per_pod_and_shows_back_off(one_run):
    fig = one_run.plot.timeline()
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["agent", "app"]
    colours = {tuple(c.get_facecolor()[0]) for c in ax.collections}
    assert to_rgba("#e6550d") in colours  # the app's crash loop: back-off between instances
    assert to_rgba("#31a354") in colours  # running
    assert {"pending", "pulling", "running", "back-off"} <= _labels(fig)


def test_timeline_of_one_replication(three_runs):
    fig = three_runs.plot.timeline(replication=2)
    assert fig.axes[0].get_title() == "small: pod timeline, replication 2"
    assert len(fig.axes[0].get_yticklabels()) == 2


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
