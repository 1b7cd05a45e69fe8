"""The report's node-pool section: its tables, in words, for a pool run only.

Each table is a :class:`Section`: a heading, a sentence saying what it holds, a header
and rows of words. ``report.py`` renders them in HTML and Markdown; names from the
scenario or the records (pools, the scheduler's reasons, Windows versions) pass through
``quote``, as in the rest of the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from hpsim.observe import pool as pl
from hpsim.words import Quote, bytes_words, count_words, duration_words, with_interval

if TYPE_CHECKING:
    from hpsim.observe.results import Results

STARTUP_WORDS = {
    "provisioning_s": "Provisioning: VM created to kubelet registered",
    "cni_s": "CNI: registered to Ready",
    "waiting_s": "No pod for it yet: Ready to a pod bound there",
    "pulls_s": "Image pulls of its first app pod",
    "start_s": "Sandbox and container start",
    "total_s": "VM created to its first app pod running",
}


@dataclass
class Section:
    heading: str
    sentence: str
    header: list[str]
    rows: list[list[str]]


def _hours(h: float | None) -> str:
    return "-" if h is None else f"{h:,.1f} h"


def sections(res: Results, quote: Quote = str) -> list[Section]:
    """The node-pool tables of a pool run (none for a single node)."""
    if not pl.is_pool(res, res.meta):
        return []
    return [_nodes(res, quote), _startup(res), _pending(res, quote), _bases(res, quote)]


def _nodes(res: Results, quote: Quote) -> Section:
    s = res.summary()
    rows = [
        [
            "Most nodes at once / mean over the run (registered, not deleted)",
            f"{with_interval(s.get('nodes_max'))} / {with_interval(s.get('nodes_mean'))}",
        ],
        [
            "Nodes the autoscaler added / removed",
            f"{with_interval(s.get('nodes_added'))} / {with_interval(s.get('nodes_removed'))}",
        ],
        [
            "Scale-up decision to a Ready node: mean / longest",
            f"{with_interval(s.get('scale_up_to_ready_s_mean'), duration_words)} / "
            f"{with_interval(s.get('scale_up_to_ready_s_max'), duration_words)}",
        ],
    ]
    settings = {p["name"]: p for p in res.meta.get("pools", [])}
    for name, hours in sorted((s.get("node_hours_by_pool") or {}).items()):
        p = settings.get(name)
        size = ""
        if p is not None:
            size = (
                f" ({p['min']} to {p['max']} nodes, autoscaled)"
                if p.get("autoscaled")
                else f" ({p['initial']} nodes)"
            )
        rows.append(
            [
                f"Node-hours of pool {quote(name)}{size}, billed from each VM's creation",
                with_interval(hours, _hours),
            ]
        )
    return Section(
        "Nodes",
        "How many nodes the run needed and what they cost.",
        ["question", "answer"],
        rows,
    )


def _startup(res: Results) -> Section:
    table = pl.node_startup(res)
    reps = len(pl.replications(res))
    useful = int(table["useful_s"].notna().sum())
    per_run = f" ({len(table) / reps:,.1f} a run)" if reps > 1 else ""
    rows = []
    for col, words in STARTUP_WORDS.items():
        values = table[col].dropna()
        rows.append(
            [
                words,
                duration_words(float(values.mean())) if len(values) else "-",
                duration_words(float(values.max())) if len(values) else "-",
                count_words(len(values)),
            ]
        )
    never = len(table) - useful
    sentence = (
        f"Every node the autoscaler added{per_run}, from its VM's creation to the first pod "
        "not of a DaemonSet running on it; each part's mean over the nodes that got that far."
    )
    if never:
        sentence += (
            f" {count_words(never)} of {count_words(len(table))} ran no app pod before they "
            "were removed or the run ended."
        )
    return Section("Time to a useful node", sentence, ["part", "mean", "longest", "nodes"], rows)


def _pending(res: Results, quote: Quote) -> Section:
    table = pl.pending_by_reason(res)
    reps = len(pl.replications(res))
    rows = [
        [
            quote(r.reason),
            f"{r.pod_hours:,.2f}",
            count_words(round(float(r.pods), 1)),
            count_words(int(r.most_at_once)),
        ]
        for r in table.itertuples(index=False)
    ]
    each = " (a mean over the replications)" if reps > 1 else ""
    return Section(
        "Pending pods by the scheduler's reason",
        "Pods waiting for the scheduler, by the reasons of its latest FailedScheduling event "
        "for each (every filter's reason once, whatever the number of nodes that gave it): "
        f"pod-hours and pods per run{each}, and the most pending at once in any run.",
        ["reason", "pod-hours", "pods", "most at once"],
        rows or [["none: no pod waited for the scheduler", "0", "0", "0"]],
    )


def _bases(res: Results, quote: Quote) -> Section:
    parts: list[pd.DataFrame] = []
    for rep in pl.replications(res):
        table = pl.node_bases(res, rep)
        if not table.empty:
            parts.append(table.stack().rename("bytes").reset_index().assign(replication=rep))
    rows: list[list[str]] = []
    if parts:
        both = pd.concat(parts, ignore_index=True)
        both = both[both["bytes"] > 0]
        reps = len(pl.replications(res))
        for version, g in both.groupby("version", sort=True):
            rows.append(
                [
                    quote(version),
                    count_words(round(g["node"].count() / reps, 1)),
                    bytes_words(float(g["bytes"].mean())),
                    bytes_words(float(g["bytes"].max())),
                ]
            )
    return Section(
        "Image bytes per node, by base version",
        "The image bytes each node's pulls brought, by the Windows base version of the "
        "images (a layer shared by digest counted once on a node): nodes with some per run, "
        "the mean on such a node and the most on one. Images in the node image (pre-pulled) "
        "have no record and are not counted.",
        ["base version", "nodes", "mean per node", "most on one node"],
        rows or [["none: no image was pulled", "0", "-", "-"]],
    )
