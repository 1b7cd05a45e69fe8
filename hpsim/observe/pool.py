"""A pool's answers from the records: its totals over time, how long a new node takes to be
useful, why pods waited, and what each node pulled.

Everything here reads the tables alone (``series``, ``nodes``, ``pods``, ``events``,
``images``); nothing imports the model. A *pool run* has more than one node or a pool
the Cluster Autoscaler sizes: only then do the report and ``res.plot`` show what this
module derives (a single node's report stays as it was).

- :func:`pool_series`: the sum over a pool's nodes of each additive level (the
  :data:`SUMMABLE` columns), every node's step function forward-filled onto the union
  of their change times; a node counts 0 before its first row and from its deletion on.
- :func:`node_startup`: for every node the autoscaler added, the time from its VM's
  creation to its first app pod running, cut into provisioning (created to
  registered), CNI (registered to Ready: on a pool whose CNI is a DaemonSet, that
  pod's image pull and start, then the kubelet's next runtime check), waiting for a
  pod to be bound there, that pod's image pulls and the rest of its start.
- :func:`pending_by_reason`: pod-hours pending per scheduler reason (the
  FailedScheduling events' ``causes``).
- :func:`node_bases`: per node and Windows base version, the image bytes its pulls
  brought (a layer shared by digest once).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hpsim.facts import CLUSTER_LEVELS, NODE_LEVELS
from hpsim.observe import timelines as tl

if TYPE_CHECKING:
    from hpsim.observe.results import Results, TableViews

#: The node levels a pool's total adds up: each is an amount on one node (cores, bytes,
#: pods, pulls) or its rate of growth, and a pool holds the sum of its nodes'.
SUMMABLE = tuple(c for c in NODE_LEVELS if c != "paging_slowdown")
#: Not added up: ``paging_slowdown`` is a fraction of one node's speed (a pool's would be
#: a mean, not a sum); ``pods_pending``, ``nodes_total`` and ``nodes_ready`` are the
#: cluster's own (its rows, node ""), already over every node.
NOT_SUMMABLE = ("paging_slowdown", *CLUSTER_LEVELS)
#: Levels that grow linearly at a slope until the next row: (value, slope).
LINEAR = (
    ("memory_committed_bytes", "memory_commit_slope_bytes_per_s"),
    ("disk_actual_bytes", "disk_actual_slope_bytes_per_s"),
    ("disk_accounted_bytes", "disk_accounted_slope_bytes_per_s"),
)

STARTUP_PARTS = ("provisioning_s", "cni_s", "waiting_s", "pulls_s", "start_s")
STARTUP_COLUMNS = [
    "replication",
    "node",
    "pool",
    "scale_up_s",
    "created_s",
    "registered_s",
    "ready_s",
    "useful_s",
    "first_pod",
    *STARTUP_PARTS,
    "total_s",
]


def nodes_table(res: TableViews) -> pd.DataFrame:
    """The nodes table (empty with its columns when the results have none)."""
    nodes = res.tables.get("nodes")
    if nodes is None or nodes.empty:
        return pd.DataFrame(columns=["pool", "created_s", "registered_s", "deleted_s", "node"])
    return nodes


def is_pool(res: TableViews, meta: dict[str, Any] | None = None) -> bool:
    """A pool run: more than one node in a run, or a node the autoscaler added, or (from
    the scenario, ``meta["pools"]``) a pool it sizes."""
    if any(p.get("autoscaled") for p in (meta or {}).get("pools", [])):
        return True
    nodes = nodes_table(res)
    if nodes.empty:
        return False
    if "scale_up_s" in nodes and nodes["scale_up_s"].notna().any():
        return True
    per_run = nodes.groupby("replication").size() if "replication" in nodes else [len(nodes)]
    return bool(max(per_run) > 1)


# -- pool totals ---------------------------------------------------------------------------------


def pair_since(times: np.ndarray, value: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """When each row's (value, slope) pair was set: a row another column made repeats
    the pair, which still holds from the row that set it."""
    changed = np.ones(len(times), dtype=bool)
    changed[1:] = (value[1:] != value[:-1]) | (slope[1:] != slope[:-1])
    last = np.maximum.accumulate(np.where(changed, np.arange(len(times)), 0))
    return times[last]


def _one_run(series: pd.DataFrame, nodes: pd.DataFrame, pool: str | None) -> pd.DataFrame:
    if pool is not None:
        nodes = nodes[nodes["pool"] == pool]
    names = set(nodes["node"].astype(str))
    mine = series[series["node"].astype(str).isin(names)]
    columns = ["time_s", *SUMMABLE, "nodes"]
    if mine.empty:
        return pd.DataFrame(columns=columns, dtype=float)
    gone = nodes["deleted_s"].astype(float).fillna(np.inf)  # inf: still there at the end
    deleted = dict(zip(nodes["node"].astype(str), gone, strict=True))
    ends = [t for t in deleted.values() if np.isfinite(t)]
    grid = np.unique(np.concatenate([mine["time_s"].to_numpy(float), ends]))
    total = np.zeros((len(grid), len(SUMMABLE)))
    alive = np.zeros(len(grid))
    index = {c: k for k, c in enumerate(SUMMABLE)}
    for node, rows in mine.groupby("node", sort=False):
        t = rows["time_s"].to_numpy(float)
        at = np.searchsorted(t, grid, side="right") - 1
        live = (at >= 0) & (grid < deleted.get(str(node), np.inf))
        at = np.clip(at, 0, None)
        values = rows[list(SUMMABLE)].to_numpy(float)[at]
        for col, slope in LINEAR:
            v = rows[col].to_numpy(float)
            s = rows[slope].to_numpy(float)
            since = pair_since(t, v, s)
            # The level at each grid time, grown from when its pair was set.
            values[:, index[col]] = v[at] + s[at] * (grid - since[at])
        total += np.where(live[:, None], values, 0.0)
        alive += live
    out = pd.DataFrame(total, columns=list(SUMMABLE))
    out.insert(0, "time_s", grid)
    out["nodes"] = alive.astype(int)
    return out


def pool_series(res: TableViews, pool: str | None = None) -> pd.DataFrame:
    """The pool's totals over time: one row per instant any of its nodes changed or
    was deleted, each :data:`SUMMABLE` level summed over the nodes (``pool`` None:
    every node), and ``nodes``, how many count then (registered, not deleted).

    Each node's rows are a step function held until its next row; a linear level
    (committed memory, disk) is evaluated at the row's time, so the total at a row is
    exact and grows at the summed slope until the next. With replications, each has
    its rows (``replication``).
    """
    series = res.tables["series"]
    nodes = nodes_table(res)
    if "replication" not in series.columns:
        return _one_run(series, nodes, pool)
    parts = []
    for rep, rows in series.groupby("replication", sort=True):
        part = _one_run(rows, nodes[nodes["replication"] == rep], pool)
        part.insert(0, "replication", rep)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


# -- a new node's way to being useful -------------------------------------------------------------


def node_startup(res: TableViews) -> pd.DataFrame:
    """Every node the autoscaler added, and its time from VM creation to useful.

    ``useful_s``: the first app pod (not a DaemonSet's) running on it (``first_pod``,
    empty if none ran there). The parts add up to ``total_s``: ``provisioning_s``
    created to registered, ``cni_s`` registered to Ready, ``waiting_s`` Ready to that
    pod bound there (0 when one was waiting for the node: the autoscaler added it for
    pods that then went elsewhere otherwise), ``pulls_s`` that pod's image pulls
    (waits in the puller included) and ``start_s`` the rest of its start (sandbox,
    containers). A part the node never reached is NaN.
    """
    nodes = nodes_table(res)
    if nodes.empty or "scale_up_s" not in nodes:
        return pd.DataFrame(columns=STARTUP_COLUMNS)
    added = nodes[nodes["scale_up_s"].notna()]
    if "replication" not in added.columns:
        added = added.assign(replication=0)
    pods = res.tables["pods"]
    if "replication" not in pods.columns:
        pods = pods.assign(replication=0)
    app = pods[(pods["kind"] != "DaemonSet") & pods["started_s"].notna()]
    app = app.sort_values(["started_s", "created_s"], kind="stable")
    app = app.drop_duplicates(["replication", "node"])
    first: dict[tuple[Any, Any], tuple[str, float, float, float]] = {
        (rep, node): (str(pod), float(started), float(scheduled), float(pull))
        for rep, node, pod, started, scheduled, pull in zip(
            app["replication"],
            app["node"],
            app["pod"],
            app["started_s"],
            app["scheduled_s"],
            app["pull_s"],
            strict=True,
        )
    }
    rows = []
    for r in added.itertuples(index=False):
        none = ("", np.nan, np.nan, np.nan)
        name, useful, scheduled, pull_s = first.get((r.replication, r.node), none)
        ready = float(r.ready_s) if pd.notna(r.ready_s) else np.nan
        # From Ready: waiting for a pod to be bound there, its pulls, the rest of its start.
        bound = max(scheduled, ready) if np.isfinite(scheduled) else np.nan
        waiting = bound - ready
        after = useful - bound
        pulls = min(pull_s, after) if np.isfinite(after) else np.nan
        rows.append(
            (
                r.replication,
                r.node,
                r.pool,
                float(r.scale_up_s),
                float(r.created_s),
                float(r.registered_s) if pd.notna(r.registered_s) else np.nan,
                ready,
                useful,
                name,
                float(r.registered_s) - float(r.created_s) if pd.notna(r.registered_s) else np.nan,
                ready - float(r.registered_s) if pd.notna(r.registered_s) else np.nan,
                waiting,
                pulls,
                after - pulls,
                useful - float(r.created_s),
            )
        )
    out = pd.DataFrame(rows, columns=STARTUP_COLUMNS)
    for col in out.columns:
        if col.endswith("_s"):
            out[col] = out[col].astype(float)
    return out


# -- why pods waited ------------------------------------------------------------------------------


def replications(res: TableViews) -> list[int]:
    pods = res.tables["pods"]
    if "replication" in pods.columns and len(pods):
        return sorted(int(r) for r in pods["replication"].unique())
    return [0]


def pending_by_reason(res: Results) -> pd.DataFrame:
    """Per scheduler reason: pod-hours pending with it and the pods that waited with it,
    each a mean per replication, and the most pods pending with it at once (the
    highest of the replications), most pod-hours first."""
    reps = replications(res)
    frames = []
    for rep in reps:
        segs = tl.pending_reasons(res, rep)
        if segs.empty:
            continue
        length = segs["end_s"] - segs["start_s"]
        counts = tl.counts_over_time(segs, "reason", sorted(set(segs["reason"])))
        frames.append(
            pd.DataFrame(
                {
                    "pod_hours": length.groupby(segs["reason"]).sum() / 3600.0,
                    "pods": segs.groupby("reason")["pod"].nunique(),
                    "most_at_once": counts.max(),
                }
            )
        )
    columns = ["reason", "pod_hours", "pods", "most_at_once"]
    if not frames:
        return pd.DataFrame(columns=columns)
    both = pd.concat(frames).fillna(0.0)
    out = both.groupby(level=0).agg({"pod_hours": "sum", "pods": "sum", "most_at_once": "max"})
    out[["pod_hours", "pods"]] /= len(reps)
    out = out.rename_axis("reason").reset_index()
    out["most_at_once"] = out["most_at_once"].astype(int)
    return out.sort_values(["pod_hours", "reason"], ascending=[False, True], ignore_index=True)


# -- what each node pulled -----------------------------------------------------------------------

NO_BASE = "no Windows base"


def node_bases(res: TableViews, replication: int = 0) -> pd.DataFrame:
    """Per node (rows, in creation order) and Windows base version (columns; images on
    no Windows base, the HostProcess base among them, under :data:`NO_BASE`): the image
    bytes that node's pulls brought, compressed and unpacked, a layer shared by digest
    counted once. Images in the node image (pre-pulled) have no record and are not
    counted. One replication."""
    images = tl.one_replication(res, "images", replication)
    if images.empty:
        return pd.DataFrame()
    version = images["os_version"].where(
        images["os_version"].map(lambda v: isinstance(v, str) and bool(v)), NO_BASE
    )
    table = images.assign(version=version).pivot_table(
        index="node", columns="version", values="new_bytes", aggfunc="sum", fill_value=0.0
    )
    nodes = tl.one_replication(res, "nodes", replication)
    order = list(nodes["node"].astype(str)) if not nodes.empty else []
    order += sorted(set(table.index) - set(order))
    columns = sorted(c for c in table.columns if c != NO_BASE) + (
        [NO_BASE] if NO_BASE in table.columns else []
    )
    return table.reindex(index=[n for n in order if n in table.index], columns=columns)


def nodes_over_time(res: TableViews, replication: int = 0) -> pd.DataFrame:
    """Per pool, nodes that exist (VM created, not deleted) and nodes Ready, as step
    functions: indexed by the instants a count changes, columns (pool, "total") and
    (pool, "ready"). One replication."""
    nodes = tl.one_replication(res, "nodes", replication)
    if nodes.empty:
        return pd.DataFrame()
    parts = {}
    end = nodes["deleted_s"].astype(float).fillna(np.inf)
    for what, start in (("total", nodes["created_s"]), ("ready", nodes["ready_s"])):
        start = start.astype(float)
        for pool in sorted(set(nodes["pool"].astype(str))):
            mine = (nodes["pool"] == pool) & start.notna()
            deltas = pd.concat(
                [
                    pd.Series(1, index=start[mine].to_numpy()),
                    pd.Series(-1, index=end[mine & np.isfinite(end)].to_numpy()),
                ]
            )
            parts[(pool, what)] = deltas.groupby(level=0).sum()
    table = pd.DataFrame(parts).fillna(0).sort_index().cumsum().astype(int)
    table.index.name = "time_s"
    return table
