"""The capacity-planning report: ``report.html`` (self-contained) and ``report.md``.

Written from a results folder, so ``hpsim report DIR`` and ``hpsim run --report``
give the same report. Contents, in order: the scenario and node; admission
verdicts (refused workloads in kubectl's words); headline answers with 95%
intervals over replications; warnings in plain words; the figures, each with a
sentence saying what it shows (a figure with nothing to show is only a sentence).

The HTML embeds its figures as base64 PNG and its style inline: no script, no
network, it opens offline and can be mailed around.

Every string that comes from the scenario or the run's records (scenario name and
description, workload, pod and image names, versions, event reasons and messages)
is text in both files, never markup: the HTML escapes every string it inserts
(``html.escape`` with quotes); the Markdown passes each such string through one
helper, :func:`md_literal`, where it is composed into a line, and leaves hpsim's own
words as written. The content functions (:func:`headline`, :func:`warnings`, ...)
take that helper as ``quote``; plain text (the default, and the HTML) quotes nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpsim import atomic
from hpsim.errors import excerpt
from hpsim.observe import poolreport
from hpsim.observe.output import read_results
from hpsim.observe.plots import FIGURE_TITLES, Plots, figure_png
from hpsim.observe.results import Results
from hpsim.words import (  # bytes_words, duration_words: kept under these names here
    INTERVAL_METHOD,
    Quote,
    bytes_words,
    duration_words,
    is_record,
    mean_of,
    missing_words,
    percent_words,
    with_interval,
)

# -- the report's content ----------------------------------------------------------------------


@dataclass
class Row:
    question: str
    answer: str


def node_lines(res: Results, quote: Quote = str) -> list[tuple[str, str]]:
    """The node's facts, a (label, text) pair each. With several pools whose nodes differ,
    a fact that differs reads "pool: text" for each pool, in the scenario's order."""
    pools = _pools(res)
    if len(pools) < 2:
        return _one_node_lines(res.meta.get("node", {}), quote)
    per_pool = [(str(p["name"]), dict(_one_node_lines(p["node"], quote))) for p in pools]
    out = []
    for label in per_pool[0][1]:
        texts = [(name, lines.get(label, "-")) for name, lines in per_pool]
        if len({text for _, text in texts}) == 1:
            out.append((label, texts[0][1]))
        else:
            out.append((label, "; ".join(f"{quote(name)}: {text}" for name, text in texts)))
    return out


def node_heading(res: Results) -> str:
    """The node section's title: "Node", or "Nodes" for several pools."""
    return "Nodes" if len(_pools(res)) > 1 else "Node"


def _pools(res: Results) -> list[dict[str, Any]]:
    """The pools with their nodes' facts (results from before these were kept have none)."""
    return [p for p in res.meta.get("pools", []) if p.get("node")]


def _one_node_lines(node: dict[str, Any], quote: Quote) -> list[tuple[str, str]]:
    if not node:
        return []
    return [
        ("Windows build", quote(node.get("os_build", "-"))),
        (
            "Kubernetes / containerd",
            f"{quote(node.get('kubernetes'))} / {quote(node.get('containerd'))}",
        ),
        (
            "CPU",
            f"{node['cpu_millicores'] / 1000:g} CPUs, "
            f"{node['allocatable_cpu_millicores'] / 1000:g} allocatable",
        ),
        (
            "Memory",
            f"{bytes_words(node['memory_bytes'])} RAM + {bytes_words(node['pagefile_bytes'])} "
            f"pagefile, {bytes_words(node['allocatable_memory_bytes'])} allocatable",
        ),
        ("Disk (C:)", bytes_words(node["disk_bytes"])),
        ("Max pods", str(node.get("max_pods"))),
        *_pull_line(node),
    ]


def _aligning_row(saving: Any) -> Row:
    """What aligning the bases saves; a negative saving is a cost and reads as one."""
    mean = mean_of(saving)
    if mean is not None and mean < 0:
        cost = {**saving, "mean": -mean} if isinstance(saving, dict) else -mean
        return Row(
            "What aligning every image on the host's LTSC base would cost (more disk)",
            with_interval(cost, bytes_words),
        )
    return Row(
        "What aligning every image on the host's LTSC base would save",
        with_interval(saving, bytes_words),
    )


def rate_words(bytes_per_s: float) -> str:
    """23e6 -> '23 MB/s'; 4_666_667 -> '4.7 MB/s' (decimal MB, as pull reports give rates)."""
    mb = bytes_per_s / 1e6
    return f"{mb:,.0f} MB/s" if mb >= 10 else f"{mb:.1f} MB/s"


def _pull_line(node: dict[str, Any]) -> list[tuple[str, str]]:
    """What the node's pulls run at: its download rate and the rate layers extract at."""
    if "unpack_throughput_bytes_per_s" not in node:
        return []  # a results folder from before these facts were kept
    text = (
        f"download {rate_words(node['network_bytes_per_s'])}; layers extract at "
        f"{rate_words(node['unpack_throughput_bytes_per_s'])}"
    )
    if node.get("antivirus_scanning"):
        text += (
            f" ({rate_words(node['unpack_bytes_per_s'])}, "
            f"{node['antivirus_unpack_slowdown']:g}x slower with antivirus real-time scanning)"
        )
    else:
        text += " (no antivirus scanning)"
    return [("Image pulls", text)]


def refusals(res: Results) -> list[tuple[str, str, str]]:
    """(workload, reason, message) for every workload whose pods admission refused."""
    pods = res.pods
    if pods.empty or "phase" not in pods:
        return []
    refused = pods[pods["phase"] == "Refused"].drop_duplicates("workload")
    return [(str(r.workload), str(r.reason), str(r.message)) for r in refused.itertuples()]


def headline(res: Results, quote: Quote = str) -> list[Row]:
    s = res.summary()
    rows = [
        Row("Most pods bound to the node at once", with_interval(s.get("pods_per_node_max"))),
        Row(
            "Fresh node: time until every initial pod runs",
            with_interval(s.get("fresh_node_all_running_s"), duration_words),
        ),
        Row(
            "Start latency (created to ready), p50 / p95",
            f"{with_interval(s.get('start_latency_s_p50'), duration_words)} / "
            f"{with_interval(s.get('start_latency_s_p95'), duration_words)}",
        ),
        *_sensitivity_rows(s),
        Row(
            "Pending (created to bound; a pod never bound: to its deletion or the end), mean / p95",
            f"{with_interval(s.get('pending_s_mean'), duration_words)} / "
            f"{with_interval(s.get('pending_s_p95'), duration_words)}",
        ),
        Row("Pods still Pending at the end", with_interval(s.get("pods_pending_at_end"))),
    ]
    for wl, v in sorted((s.get("alloc_failures_by_workload") or {}).items()):
        restarts = (s.get("restarts_by_workload") or {}).get(wl)
        running = (s.get("running_fraction_by_workload") or {}).get(wl)
        if (mean_of(v) or 0) > 0 or (mean_of(restarts) or 0) > 0:
            rows.append(
                Row(
                    f"{quote(wl)}: memory-cap failures / restarts / time running",
                    f"{with_interval(v)} / {with_interval(restarts)} / "
                    f"{with_interval(running, percent_words)}",
                )
            )
    rows += [
        Row(
            "Disk: peak on the volume / peak kubelet accounts",
            f"{with_interval(s.get('disk_actual_bytes_peak'), bytes_words)} / "
            f"{with_interval(s.get('disk_accounted_bytes_peak'), bytes_words)}",
        ),
        Row(
            "Disk the kubelet does not see, at the end",
            with_interval(s.get("disk_gap_bytes_end"), bytes_words),
        ),
    ]
    for version, v in sorted((s.get("image_bytes_by_os_version") or {}).items()):
        what = (
            "Image bytes with no Windows base (HostProcess base image, images on no base)"
            if version == "none"
            else f"Image bytes on Windows build {quote(version)}"
        )
        rows.append(Row(what, with_interval(v, bytes_words)))
    rows += [
        _aligning_row(s.get("aligned_bases_saving_bytes")),
        Row(
            "Image GC: images deleted / bytes kubelet believed it freed / bytes really freed",
            f"{with_interval(s.get('image_gc_deleted'))} / "
            f"{with_interval(s.get('image_gc_believed_freed_bytes'), bytes_words)} / "
            f"{with_interval(s.get('image_gc_actual_freed_bytes'), bytes_words)}",
        ),
        Row(
            "Time to a full disk / to the first eviction",
            f"{with_interval(s.get('disk_full_s'), duration_words)} / "
            f"{with_interval(s.get('first_eviction_s'), duration_words)}",
        ),
        Row("Evictions", with_interval(s.get("evictions"))),
    ]
    return rows


def _sensitivity_rows(s: dict[str, Any]) -> list[Row]:
    """Start latency at half and twice the unpack throughput, where pulls dominate it: one
    replication replayed with the same seed (hpsim.experiment.run.PULLS_DOMINATE)."""
    p50 = s.get("start_latency_s_p50_by_unpack_rate") or {}
    p95 = s.get("start_latency_s_p95_by_unpack_rate") or {}
    if mean_of(p50.get("half")) is None and mean_of(p50.get("twice")) is None:
        return []
    share = mean_of(s.get("pull_share_of_start_latency"))
    why = f"pulls are {100 * share:.0f}% of start latency; " if share is not None else ""

    def at(which: str) -> str:
        return (
            f"{duration_words(mean_of(p50.get(which)))} / {duration_words(mean_of(p95.get(which)))}"
        )

    return [
        Row(
            "Start latency p50 / p95 with the unpack throughput halved and doubled "
            f"({why}the first replication replayed with the same seed)",
            f"halved: {at('half')}; as run: {at('as_run')}; doubled: {at('twice')}",
        )
    ]


def warnings(res: Results, quote: Quote = str) -> list[str]:
    """The findings a reader must not miss, in plain words (names passed through ``quote``)."""
    return [f.text for f in res.findings(quote=quote)]


# -- writing -----------------------------------------------------------------------------------

# What each figure shows, in a sentence under it.
FIGURE_CAPTIONS = {
    "timeline": (
        "Every pod, counted by state in its workload's lane (back-off: CrashLoopBackOff or "
        "ImagePullBackOff; failed or evicted pods not yet deleted on the right axis), with "
        "what the node did above: evictions, image GC deletions, FreeDiskSpaceFailed, disk "
        "pressure, rollouts. One replication."
    ),
    "pending": (
        "Pods waiting for the scheduler, by the reason of its latest FailedScheduling "
        "event for each. One replication."
    ),
    "memory": (
        "Committed memory against requests and the node's limits; a limit far above the "
        "data is named in the legend instead of drawn."
    ),
    "container_memory": (
        "Each container with a job memory limit: its instances' committed memory, the "
        "limit, and a cross at every allocation the job object refused (the commit "
        "kubelet's event states). The records keep no memory per container over time: an "
        "instance's start commit and growth are read off the node's memory series where "
        "its start or its end stands alone at its instant, and the rest are counted, not "
        "drawn; memory spikes are in no record. One replication."
    ),
    "cpu": "CPU in use and requested against allocatable and capacity.",
    "disk": (
        "The C: volume by owner, what kubelet accounts, and the image GC and eviction thresholds."
    ),
    "pulls": (
        "Each image pull from kubelet's request: waiting for the puller, downloading the "
        "layers and unpacking them (the two overlap). One replication."
    ),
    "images": "Image bytes by Windows base version, a layer shared by digest counted once.",
    "start_latency": "The share of pods ready within a time of their creation.",
    "restarts": "Restarts and allocations refused by job objects, per workload.",
    "nodes": (
        "Nodes per pool over time: VMs (created, not yet deleted) and those Ready, a green "
        "mark at each scale-up decision and a red one at each node deleted; below, the pods "
        "pending. One replication."
    ),
    "node_startup": (
        "Each node the autoscaler added, from its VM's creation to the first app pod (not a "
        "DaemonSet's) running on it: provisioning, CNI, no pod for it yet, that pod's image "
        "pulls and its start; the top bar is the mean over every added node that got there, "
        "in every replication. One replication's nodes."
    ),
    "node_disk": (
        "Every node's C: volume over time, a row per node in creation order (blank while it "
        "does not exist): what is on the volume and what kubelet accounts, each panel's "
        "colours spanning its own range. One replication."
    ),
    "node_bases": (
        "The image bytes each node's pulls brought, by the Windows base version of the "
        "images (images in the node image have no record). One replication."
    ),
}

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.3em .6em;
text-align:left;vertical-align:top}th{background:#f5f5f5}
.warn li{margin:.3em 0}.warn{background:#fff6e5;border-left:4px solid #f0a020;padding:.5em 1.5em}
figure{margin:1.2em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.9em;color:#444}.blank{background:#f7f7f7;padding:.5em 1em}
.muted{color:#666;font-size:.9em}code{background:#f5f5f5;padding:0 .2em}
"""


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def render_html(
    res: Results,
    figures: dict[str, bytes],
    info: dict[str, Any],
    blanks: dict[str, str] | None = None,
) -> str:
    """The report as one HTML page; ``blanks`` holds the sentences of figures with nothing
    to show (drawn in their place, in the figures' order)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>hpsim report: {_esc(res.scenario)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_esc(res.scenario)}</h1>",
    ]
    description = res.meta.get("description") or ""
    if description:
        parts.append(f"<p>{_esc(description)}</p>")
    parts.append(f'<p class="muted">{_esc(_run_line(res, info))}</p>')
    found = warnings(res)
    parts.append("<h2>Warnings</h2>")
    if found:
        parts.append('<ul class="warn">')
        parts += [f"<li>{_esc(w)}</li>" for w in found]
        parts.append("</ul>")
    else:
        parts.append("<p>None.</p>")
    parts.append(f"<h2>{node_heading(res)}</h2><table>")
    parts += [f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in node_lines(res)]
    parts.append("</table>")
    parts.append("<h2>Admission</h2>")
    refused = refusals(res)
    if refused:
        parts.append("<table><tr><th>workload</th><th>reason</th><th>message</th></tr>")
        parts += [
            f"<tr><td>{_esc(w)}</td><td>{_esc(r)}</td><td>{_esc(m)}</td></tr>"
            for w, r, m in refused
        ]
        parts.append("</table>")
    else:
        parts.append(f"<p>{_esc(_admitted_line(res))}</p>")
    parts.append("<h2>Answers</h2>")
    if _reps(res) > 1:
        parts.append(f'<p class="muted">{_esc(_intervals_line(res))}</p>')
    parts.append("<table><tr><th>question</th><th>answer</th></tr>")
    parts += [
        f"<tr><td>{_esc(r.question)}</td><td>{_esc(r.answer)}</td></tr>" for r in headline(res)
    ]
    parts.append("</table>")
    parts += [f'<p class="muted">{_esc(note)}</p>' for note in _missing_notes(res)]
    pool = poolreport.sections(res)
    if pool:
        parts.append("<h2>Node pool</h2>")
    for sec in pool:
        parts += [f"<h3>{_esc(sec.heading)}</h3>", f"<p>{_esc(sec.sentence)}</p>", "<table><tr>"]
        parts += [f"<th>{_esc(h)}</th>" for h in sec.header]
        parts.append("</tr>")
        parts += [
            "<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in sec.rows
        ]
        parts.append("</table>")
    parts.append("<h2>Figures</h2>")
    blanks = blanks or {}
    for name in _figure_order(figures, blanks):
        title = FIGURE_TITLES.get(name, name)
        caption = FIGURE_CAPTIONS.get(name, "")
        if name in figures:
            data = base64.b64encode(figures[name]).decode("ascii")
            parts.append(
                f'<figure id="fig-{_esc(name)}"><img alt="{_esc(title)}" '
                f'src="data:image/png;base64,{data}"><figcaption>{_esc(title)}. '
                f"{_esc(caption)}</figcaption></figure>"
            )
        else:
            parts.append(
                f'<p class="blank" id="fig-{_esc(name)}">{_esc(title)}: {_esc(blanks[name])}</p>'
            )
    parts.append("</body></html>\n")
    return "\n".join(parts)


# CommonMark 0.31.2 section 2.4 "Backslash escapes": any ASCII punctuation character may be
# backslash-escaped, and then stands for itself. md_literal escapes every one of them except
# these, which open nothing in running text (CommonMark or GitHub's GFM), so that names, paths,
# versions and kubectl's messages stay readable in the raw file:
#   " ' ( ) , ; ? %  only mean something inside a link, and links need "[" (escaped);
#   . : / =          see the line-start and autolink rules in md_literal;
#   - +              list markers and thematic breaks only at the start of a line.
_MD_KEPT = frozenset("\"'(),;?%.:/=-+")
_MD_ESCAPED = frozenset(string.punctuation) - _MD_KEPT
# GFM's extended autolinks (github.github.com/gfm "Autolinks (extension)") link bare
# "http://", "https://", "ftp://" and "www." text, and e-mail addresses by their "@" (escaped
# above). A backslash before the ":" of "://" or the "." of "www." breaks the match.
_MD_AUTOLINK = re.compile(r":(?=//)|(?<=www)\.", re.IGNORECASE)
# Block starts that only count at the start of a line (CommonMark 4.1 thematic breaks,
# 4.3 setext headings, 5.2 list items: "-", "+", "=" and "1." / "1)").
_MD_LINE_START = re.compile(r"^([-+=])|^(\d{1,9})([.)])")


def md_literal(text: Any, *, line_start: bool = False) -> str:
    """``text`` as Markdown that renders as exactly that text, on one line, markup of none.

    Control, format and line-separator characters, newlines among them, are shown escaped
    (``\\n``, ``\\x1b``: :func:`hpsim.errors.excerpt`'s rule, uncut), so a string can neither
    start a block nor end a table row; Markdown's punctuation is backslash-escaped (see
    ``_MD_KEPT``), ``|`` included, so the same text is safe in a table cell. With
    ``line_start`` the text begins a line of its own: block markers there are escaped too.
    """
    s = str(text)
    s = excerpt(s, len(s))  # escaped, never cut: the report shows the whole string
    s = "".join("\\" + ch if ch in _MD_ESCAPED else ch for ch in s)
    s = _MD_AUTOLINK.sub(lambda m: "\\" + m.group(0), s)
    if line_start:
        s = _MD_LINE_START.sub(
            lambda m: "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3), s
        )
    return s


def _md_paragraph(text: str) -> str:
    """A multi-line text (a scenario's description) as paragraphs of literal lines."""
    lines = re.split(r"\r\n|\r|\n", text.strip())
    return "\n".join(md_literal(line.strip(), line_start=True) for line in lines)


def render_markdown(
    res: Results,
    figure_files: dict[str, str],
    info: dict[str, Any],
    blanks: dict[str, str] | None = None,
) -> str:
    """The report as Markdown, its figures as files (``figure_files``: name -> relative
    path) and ``blanks`` the sentences of figures with nothing to show."""
    q = md_literal
    lines = [f"# {q(res.scenario)}", ""]
    description = res.meta.get("description") or ""
    if description:
        lines += [_md_paragraph(str(description)), ""]
    lines += [f"_{_run_line(res, info, q)}_", "", "## Warnings", ""]
    found = warnings(res, q)
    lines += [f"- {w}" for w in found] if found else ["None."]
    lines += ["", f"## {node_heading(res)}", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in node_lines(res, q)]
    lines += ["", "## Admission", ""]
    refused = refusals(res)
    if refused:
        lines += ["| workload | reason | message |", "|---|---|---|"]
        lines += [f"| {q(w)} | {q(r)} | {q(m)} |" for w, r, m in refused]
    else:
        lines.append(_admitted_line(res, q))
    lines += ["", "## Answers", ""]
    if _reps(res) > 1:
        lines += [_intervals_line(res), ""]
    lines += ["| question | answer |", "|---|---|"]
    lines += [f"| {r.question} | {r.answer} |" for r in headline(res, q)]
    lines += [line for note in _missing_notes(res, q) for line in ("", note)]
    pool = poolreport.sections(res, q)
    if pool:
        lines += ["", "## Node pool"]
    for sec in pool:
        lines += ["", f"### {sec.heading}", "", sec.sentence, ""]
        lines += ["| " + " | ".join(sec.header) + " |", "|" + "---|" * len(sec.header)]
        lines += ["| " + " | ".join(row) + " |" for row in sec.rows]
    lines += ["", "## Figures", ""]
    blanks = blanks or {}
    if not figure_files:
        lines += [
            "The figures are embedded in `report.html`, which `hpsim run SCENARIO --report` "
            "and `hpsim report RESULTS_DIR` write beside this file.",
            "",
        ]
    for name in _figure_order(figure_files, blanks):
        title = FIGURE_TITLES.get(name, name)
        lines += [f"### {title}", ""]
        if name in figure_files:
            lines += [f"![{title}]({figure_files[name]})", "", FIGURE_CAPTIONS.get(name, ""), ""]
        else:
            lines += [blanks[name], ""]
    return "\n".join(lines).rstrip() + "\n"


def _figure_order(*named: dict[str, Any]) -> list[str]:
    """The figures' names in the order ``Plots.ORDER`` gives them (others after)."""
    names = {n for d in named for n in d}
    return [n for n in Plots.ORDER if n in names] + sorted(names - set(Plots.ORDER))


def _reps(res: Results) -> int:
    return int(res.meta.get("replications", 1))


def _intervals_line(res: Results) -> str:
    return (
        f"Each answer is the mean of {_reps(res)} replications, with its 95% interval in "
        f"parentheses where the replications differ ({INTERVAL_METHOD})."
    )


def _missing_notes(res: Results, quote: Quote = str) -> list[str]:
    """'fresh_node_all_running_s: n=29; 1 of 30 replications had no fresh-node start: ...'
    for every number some replications gave no value (a map's entries as ``map.key``)."""
    reps = _reps(res)
    notes = []
    for key, value in res.summary().items():
        entries = [(key, value)] if is_record(value) else []
        if isinstance(value, dict) and not is_record(value):
            entries = [(f"{key}.{k}", v) for k, v in sorted(value.items()) if is_record(v)]
        for metric, rec in entries:
            n = int(rec.get("n") or 0)
            if 0 < n < reps:
                notes.append(f"{quote(metric)}: n={n}; {missing_words(metric, reps - n, reps)}.")
    return notes


def _run_line(res: Results, info: dict[str, Any], quote: Quote = str) -> str:
    version = quote((info.get("versions") or {}).get("hpsim", ""))
    reps = _reps(res)
    return (
        f"{duration_words(res.duration)} simulated, seed {res.seed}, "
        f"{reps} replication{'s' if reps != 1 else ''}; hpsim {version}"
        + (f"; written {info['written']}" if info.get("written") else "")
    )


def _admitted_line(res: Results, quote: Quote = str) -> str:
    names = [w["name"] for w in res.meta.get("workloads", [])]
    if not names and not res.pods.empty:
        names = sorted(set(res.pods["workload"]))
    return f"All {len(names)} workloads admitted: {', '.join(map(quote, names))}."


def write_report(folder: str | Path, *, figures: bool = True, stamp: bool = True) -> list[Path]:
    """Write ``report.html`` and ``report.md`` (and ``figures/*.png``) into a results folder.

    ``figures=False`` leaves the figures out of the Markdown (the HTML always
    embeds them); ``stamp=False`` leaves out the time of writing, for reports
    kept in git.
    """
    import json

    folder = Path(folder)
    res = read_results(folder)
    info = json.loads((folder / "run.json").read_text())
    if stamp:
        info["written"] = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    plots = Plots(res)
    pngs: dict[str, bytes] = {}
    blanks: dict[str, str] = {}
    for name in plots.names():
        sentence = plots.blank(name)
        if sentence is not None:
            blanks[name] = sentence
        else:
            pngs[name] = figure_png(getattr(plots, name)())
    written = []
    figure_files: dict[str, str] = {}
    if figures:
        (folder / "figures").mkdir(exist_ok=True)
        for name, png in pngs.items():
            path = folder / "figures" / f"{name}.png"
            atomic.write_bytes(path, png)
            figure_files[name] = f"figures/{name}.png"
            written.append(path)
    html_path = folder / "report.html"
    atomic.write_bytes(html_path, render_html(res, pngs, info, blanks).encode("utf-8"))
    md_path = folder / "report.md"
    atomic.write_bytes(md_path, render_markdown(res, figure_files, info, blanks).encode("utf-8"))
    return [html_path, md_path, *written]
