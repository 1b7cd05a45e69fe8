"""A pool's results (hpsim/observe/pool.py, poolplots.py, poolreport.py): its totals, each
added node's time to useful, pending pods by the scheduler's reasons -- worked out by hand
-- and the report's pool section and figures, for a pool run and never for one node."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from reporthelp import small
from simhelp import node, pod, run, scenario

from hpsim.observe import pool as pl
from hpsim.observe.output import write_results
from hpsim.observe.plots import Plots
from hpsim.observe.recorder import SERIES_COLUMNS
from hpsim.observe.report import write_report
from hpsim.observe.results import Results

SANDBOX = ["test/pause:1"]

# -- pool totals, on records made by hand ---------------------------------------------------------


def _rows(node: str, rows: list[dict[str, float]]) -> pd.DataFrame:
    """Series rows of one node: the columns given, every other level 0."""
    full = [{"time_s": 0.0, **dict.fromkeys(SERIES_COLUMNS, 0.0), **r, "node": node} for r in rows]
    return pd.DataFrame(full)


def _hand_made() -> Results:
    """Node a (pool p) from 0: 1 pod, 100 bytes on disk; 2 pods from 10 s. Node b (pool p)
    registered at 5 s: 3 pods, 50 bytes growing 1 byte/s; at 20 s 1 pod, its disk row
    repeated (the pair set at 5 s still holds: 65 bytes then); deleted at 30 s. Node c,
    another pool, 7 pods. The cluster's own row (node "") counts nodes."""
    series = pd.concat(
        [
            _rows("", [{"time_s": 0.0, "nodes_total": 2.0, "pods_pending": 4.0}]),
            _rows(
                "a",
                [
                    {"time_s": 0.0, "pods_bound": 1.0, "disk_actual_bytes": 100.0},
                    {"time_s": 10.0, "pods_bound": 2.0, "disk_actual_bytes": 100.0},
                ],
            ),
            _rows(
                "b",
                [
                    {"time_s": 5.0, "pods_bound": 3.0, "disk_actual_bytes": 50.0},
                    {"time_s": 20.0, "pods_bound": 1.0, "disk_actual_bytes": 50.0},
                ],
            ),
            _rows("c", [{"time_s": 0.0, "pods_bound": 7.0}]),
        ],
        ignore_index=True,
    )
    series.loc[series["node"] == "b", "disk_actual_slope_bytes_per_s"] = 1.0
    nodes = pd.DataFrame(
        {
            "pool": ["p", "p", "q"],
            "created_s": [0.0, 1.0, 0.0],
            "registered_s": [0.0, 5.0, 0.0],
            "ready_s": [0.0, 5.0, 0.0],
            "cordoned_s": [np.nan, 25.0, np.nan],
            "deleted_s": [np.nan, 30.0, np.nan],
            "reason": ["", "ScaleDown", ""],
            "scale_up_s": [np.nan, 1.0, np.nan],
            "node": ["a", "b", "c"],
        }
    )
    return Results("hand", 0, 60.0, {"series": series, "nodes": nodes})


def test_pool_totals_add_each_nodes_steps_and_drop_a_deleted_node():
    p = _hand_made().pool_series("p")
    assert p["time_s"].tolist() == [0.0, 5.0, 10.0, 20.0, 30.0]
    assert p["pods_bound"].tolist() == [1, 4, 5, 3, 2]
    assert p["nodes"].tolist() == [1, 2, 2, 2, 1]
    # b's disk grows from 50 at 5 s at 1 byte/s: 55 at 10 s, 65 at 20 s, gone at 30 s.
    assert p["disk_actual_bytes"].tolist() == [100.0, 150.0, 155.0, 165.0, 100.0]
    assert p["disk_actual_slope_bytes_per_s"].tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    assert set(pl.NOT_SUMMABLE).isdisjoint(p.columns)


def test_every_nodes_totals_and_the_summable_columns():
    every = _hand_made().pool_series()
    assert every["pods_bound"].tolist() == [8, 11, 12, 10, 9]
    assert every["nodes"].tolist() == [2, 3, 3, 3, 2]
    # Each level a node reports is summable or said not to be, never both.
    assert set(pl.SUMMABLE) | set(pl.NOT_SUMMABLE) == set(SERIES_COLUMNS)
    assert not set(pl.SUMMABLE) & set(pl.NOT_SUMMABLE)


# -- a node's life under the autoscaler ------------------------------------------------------------


def pools(workloads: list[dict], images: list[dict], node_pools: list[dict], **top: Any) -> dict:
    data = scenario(workloads, images, **top)
    del data["node"]
    data["nodePools"] = node_pools
    return data


def _img(name: str, size: str = "0") -> dict[str, Any]:
    return {"name": name, "layers": [{"size": size, "unpacked": size}]}


def _one_new_node(app_size: str = "0") -> dict[str, Any]:
    """tests/test_pool.py's node life: a pool of 0 to 2 nodes, 480 s to provision, its
    network from the "cni" DaemonSet; an app pod (1 core) at t = 0 to no node."""
    cni = pod("cni", "test/cni:1", kind="DaemonSet", host_process=True)
    cni["spec"]["template"]["spec"]["tolerations"] = [{"operator": "Exists"}]
    app = pod("app", requests={"cpu": "1"})
    pre = [*SANDBOX, "test/cni:1"] + (["test/app:1"] if app_size == "0" else [])
    win = {
        "name": "win",
        "min": 0,
        "max": 2,
        "provisioning": {"fixed": "480s"},
        "cniDaemonSet": "cni",
        "node": node(prePulledImages=pre),
    }
    wl = [{"manifest": cni}, {"manifest": app, "lifetime": {"fixed": "1000s"}}]
    return pools(wl, [_img("test/cni:1"), _img("test/app:1", app_size)], [win], duration="1h")


@pytest.fixture(scope="module")
def new_node():
    return run(_one_new_node())


def test_time_to_a_useful_node_by_part(new_node):
    """Scale-up at 10 s; registered at 490 s (480 s provisioning), Ready at 495 s (the
    CNI pod runs at 491 s, the kubelet's runtime check sees it at 495 s); the app pod,
    waiting for this node, binds at 495 s, its image already there: sandbox 2 s and
    container 1 s, running at 498 s."""
    row = pl.node_startup(new_node).iloc[0]
    assert (row["node"], row["first_pod"], row["useful_s"]) == ("win-0", "app", 498.0)
    parts = [row[c] for c in pl.STARTUP_PARTS]
    assert parts == [480.0, 5.0, 0.0, 0.0, 3.0]
    assert row["total_s"] == 488.0 == sum(parts)


def test_the_first_app_pods_pulls_are_a_part_of_their_own():
    """The app's 100 MiB image is not in the node image: queued after the 2 s sandbox
    (497 s), 1 s to download at 100 MiB/s and 5 s to apply at 20 MiB/s; the container
    starts 1 s later, at 504 s."""
    res = run(_one_new_node("100Mi"))
    row = pl.node_startup(res).iloc[0]
    assert [row[c] for c in pl.STARTUP_PARTS] == [480.0, 5.0, 0.0, 6.0, 3.0]
    assert row["total_s"] == 494.0
    # The image is on no Windows base: 100 MiB of blobs and 100 MiB unpacked on win-0.
    assert pl.node_bases(res).to_dict() == {pl.NO_BASE: {"win-0": 200 * 2**20}}


def test_pending_by_the_schedulers_reason(new_node):
    """The app pod waits 490 s with no node at all, then 5 s for the new node's
    not-ready taint to go; the FailedScheduling events carry those causes."""
    events = new_node.events
    failed = events[events["reason"] == "FailedScheduling"]
    assert failed["causes"].tolist() == [
        "no nodes available to schedule pods",
        "node(s) had untolerated taint {node.kubernetes.io/not-ready: }",
    ]
    assert set(events.loc[events["reason"] != "FailedScheduling", "causes"]) == {""}
    table = pl.pending_by_reason(new_node).set_index("reason")
    assert table["pod_hours"].to_dict() == pytest.approx(
        {
            "no nodes available to schedule pods": 490 / 3600,
            "had untolerated taint {node.kubernetes.io/not-ready: }": 5 / 3600,
        }
    )
    assert table["pods"].tolist() == [1, 1] and table["most_at_once"].tolist() == [1, 1]


def test_causes_count_each_reason_once_whatever_the_nodes():
    """Two 4-core nodes and a tainted one; a pod asking 8 cores: the message counts
    "2 Insufficient cpu", the causes name it once, sorted with the taint's."""
    tainted = {
        "name": "gpu",
        "count": 1,
        "node": node(taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]),
    }
    small_pool = {"name": "small", "count": 2, "node": node()}
    wl = [{"manifest": pod("big", requests={"cpu": "8"})}]
    res = run(pools(wl, [_img("test/app:1")], [small_pool, tainted]))
    failed = res.events[res.events["reason"] == "FailedScheduling"]
    assert failed["causes"].tolist() == [
        "Insufficient cpu; node(s) had untolerated taint {dedicated: gpu}"
    ]
    table = pl.pending_by_reason(res)
    assert table["reason"].tolist() == ["Insufficient cpu, had untolerated taint {dedicated: gpu}"]
    assert table["pod_hours"].tolist() == [pytest.approx(1.0)]  # the whole hour


def test_nodes_over_time_and_per_node_bases(new_node):
    """The VM from 10 s, Ready at 495 s, deleted at 1715 s (cordoned at 1710 s:
    tests/test_pool.py); no image pulled, every one came with the node image."""
    counts = pl.nodes_over_time(new_node)
    assert counts.index.tolist() == [10.0, 495.0, 1715.0]
    assert counts[("win", "total")].tolist() == [1, 1, 0]
    assert counts[("win", "ready")].tolist() == [0, 1, 0]
    assert pl.node_bases(new_node).empty


# -- the report and figures ---------------------------------------------------------------------


def test_a_pool_runs_report_has_the_pool_section_and_figures(tmp_path: Path, new_node):
    out = write_results(new_node, tmp_path / "pool")
    write_report(out, stamp=False)
    md = (out / "report.md").read_text()
    for heading in (
        "## Node pool",
        "### Time to a useful node",
        "### Pending pods by the scheduler's reason",
        "### Nodes over time, scale-ups and scale-downs",
        "### Disk per node",
    ):
        assert heading in md
    assert "| Provisioning: VM created to kubelet registered | 8.0 min | 8.0 min | 1 |" in md
    assert "| CNI: registered to Ready | 5.0 s | 5.0 s | 1 |" in md
    for name in ("nodes", "node_startup", "node_disk"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
    html = (out / "report.html").read_text()
    assert 'id="fig-nodes"' in html and "<h2>Node pool</h2>" in html
    # No image was pulled: the bases figure is its sentence.
    assert '<p class="blank" id="fig-node_bases">' in html


def test_a_single_nodes_report_has_no_pool_section(tmp_path: Path):
    res = run(small())
    assert not Plots(res).pool and Plots(res).names() == list(Plots.NAMES)
    out = write_results(res, tmp_path / "one")
    write_report(out, stamp=False)
    md = (out / "report.md").read_text()
    assert "Node pool" not in md and "useful node" not in md
    assert not any((out / "figures" / f"{n}.png").exists() for n in Plots.POOL_NAMES)


def test_pool_figures_draw_from_one_replication_and_repeat_bit_for_bit():
    data = _one_new_node("100Mi")
    first = run(copy.deepcopy(data), replications=2)
    again = run(copy.deepcopy(data), replications=2)
    from hpsim.observe.plots import figure_png

    for name in Plots.POOL_NAMES:
        assert figure_png(getattr(first.plot, name)()) == figure_png(getattr(again.plot, name)())
    startup = pl.node_startup(first)
    assert startup["replication"].tolist() == [0, 1]


# -- pending time counts the pods that never bound ------------------------------------------------


def test_pods_never_bound_count_in_pending_with_the_time_they_waited():
    """On a 4-CPU node: a 1-CPU pod bound at once (pending 0), a 9-CPU pod created at 10 s
    that never fits (still Pending at 1 h: waited 3,590 s), and another created at 20 s
    whose lifetime (100 s, from creation) ends while it waits (waited 100 s).
    Pending: 0, 100, 3590 -> mean 1230 s; numpy's linear p95 is 3590 - 0.1 x 3490 = 3241 s."""
    images = [{"name": "test/app:1", "layers": [{"size": 0, "unpacked": 0}]}]
    small_pod = pod("ok", requests={"cpu": "1"}, restart="Never")
    big = pod("big", requests={"cpu": "9"}, restart="Never")
    late = pod("late", requests={"cpu": "9"}, restart="Never")
    res = run(
        scenario(
            [
                {"manifest": small_pod},
                {"manifest": big, "arrivals": {"at": ["10s"]}},
                {"manifest": late, "arrivals": {"at": ["20s"]}, "lifetime": {"fixed": "100s"}},
            ],
            images,
        )
    )
    s = res.summary()
    assert s["pods_never_bound"] == 2
    assert s["pods_never_bound_wait_s_max"] == 3590.0
    assert s["pending_s_mean"] == pytest.approx(1230.0)
    assert s["pending_s_p95"] == pytest.approx(3241.0)


def test_disk_full_after_the_end_holds_each_node_to_its_own_pool_volume() -> None:
    # A HostProcess agent on every node writes 1 GiB/day to host paths, for a day. Each
    # pool's Windows takes 20 GiB; the "small" pool's volume is 64 GiB, the "big" one's
    # 256 GiB. After the day the small node holds 21 GiB and fills in (64 - 21) / 1 = 43
    # days; the big node in 235. The pool's volume fills first on the small node: 43 days,
    # whichever pool comes first (not the first pool's volume against the pool's sum).
    agent = pod("agent", "contoso/agent:1", kind="DaemonSet", host_process=True)
    wl = {"manifest": agent, "profile": {"memory": "50Mi", "hostWrites": "1Gi/d"}}
    small_pool = {"name": "small", "count": 1, "node": node(disk="64Gi", osDiskUsage="20Gi")}
    big_pool = {"name": "big", "count": 1, "node": node(disk="256Gi", osDiskUsage="20Gi")}
    for order in ([small_pool, big_pool], [big_pool, small_pool]):
        data = pools([wl], [_img("contoso/agent:1")], order, duration="1d")
        days = run(data).summary()["disk_full_in_s_after_end"] / 86400
        assert days == pytest.approx(43, rel=1e-4)
