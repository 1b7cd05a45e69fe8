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
import math
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpsim import atomic
from hpsim.errors import excerpt
from hpsim.observe.output import read_results
from hpsim.observe.plots import FIGURE_TITLES, Plots, figure_png
from hpsim.observe.results import Results

GIB = 2**30
MIB = 2**20
DAY = 86400.0

Quote = Callable[[Any], str]  # how a scenario's or a record's string enters the text


# -- numbers in words --------------------------------------------------------------------------


def _mean(value: Any) -> float | None:
    if isinstance(value, dict):
        value = value.get("mean")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _half(value: Any) -> float | None:
    return value.get("half_width") if isinstance(value, dict) else None


def duration_words(seconds: float | None) -> str:
    """120 -> '2.0 min'; 2_249_870 -> '26.0 days'; -7200 -> '-2.0 h'."""
    if seconds is None:
        return "-"
    size = abs(seconds)
    if size < 120:
        return f"{seconds:.1f} s"
    if size < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    if size < 2 * DAY:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / DAY:.1f} days"


def bytes_words(n: float | None) -> str:
    """2**30 -> '1.0 GiB'; 1_000 MiB and up in GiB (never '1024 MiB'); 5 * 2**20 -> '5 MiB'."""
    if n is None:
        return "-"
    if abs(n) >= 1000 * MIB:
        return f"{n / GIB:.1f} GiB"
    if abs(n) >= MIB:
        return f"{n / MIB:.0f} MiB"
    return f"{n:,.0f} B"


def _number(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"


def _with_interval(value: Any, words: Any = None) -> str:
    """'219.8 s' or '219.8 s ± 3.1 s' (95% half-width) in the metric's own words."""
    fmt = words or _number
    mean = _mean(value)
    if mean is None:
        return "-"
    text = fmt(mean)
    half = _half(value)
    if half:
        text += f" ± {fmt(half)}"
    return text


# -- the report's content ----------------------------------------------------------------------


@dataclass
class Row:
    question: str
    answer: str


def node_lines(res: Results, quote: Quote = str) -> list[tuple[str, str]]:
    node = res.meta.get("node", {})
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
    ]


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
        Row("Most pods bound to the node at once", _with_interval(s.get("pods_per_node_max"))),
        Row(
            "Fresh node: time until every initial pod runs",
            _with_interval(s.get("fresh_node_all_running_s"), duration_words),
        ),
        Row(
            "Start latency (created to ready), p50 / p95",
            f"{_with_interval(s.get('start_latency_s_p50'), duration_words)} / "
            f"{_with_interval(s.get('start_latency_s_p95'), duration_words)}",
        ),
        Row(
            "Pending (created to bound), mean / p95",
            f"{_with_interval(s.get('pending_s_mean'), duration_words)} / "
            f"{_with_interval(s.get('pending_s_p95'), duration_words)}",
        ),
        Row("Pods still Pending at the end", _with_interval(s.get("pods_pending_at_end"))),
    ]
    for wl, v in sorted((s.get("alloc_failures_by_workload") or {}).items()):
        restarts = (s.get("restarts_by_workload") or {}).get(wl)
        running = (s.get("running_fraction_by_workload") or {}).get(wl)
        if (_mean(v) or 0) > 0 or (_mean(restarts) or 0) > 0:
            rows.append(
                Row(
                    f"{quote(wl)}: memory-cap failures / restarts / time running",
                    f"{_with_interval(v)} / {_with_interval(restarts)} / "
                    f"{_with_interval(running, lambda x: f'{100 * x:.1f}%')}",
                )
            )
    rows += [
        Row(
            "Disk: peak on the volume / peak kubelet accounts",
            f"{_with_interval(s.get('disk_actual_bytes_peak'), bytes_words)} / "
            f"{_with_interval(s.get('disk_accounted_bytes_peak'), bytes_words)}",
        ),
        Row(
            "Disk the kubelet does not see, at the end",
            _with_interval(s.get("disk_gap_bytes_end"), bytes_words),
        ),
    ]
    for version, v in sorted((s.get("image_bytes_by_os_version") or {}).items()):
        what = (
            "Image bytes with no Windows base (HostProcess base image, sandbox image)"
            if version == "none"
            else f"Image bytes on Windows build {quote(version)}"
        )
        rows.append(Row(what, _with_interval(v, bytes_words)))
    rows += [
        Row(
            "What aligning every image on the host's LTSC base would save",
            _with_interval(s.get("aligned_bases_saving_bytes"), bytes_words),
        ),
        Row(
            "Image GC: images deleted / bytes kubelet believed it freed / bytes really freed",
            f"{_with_interval(s.get('image_gc_deleted'))} / "
            f"{_with_interval(s.get('image_gc_believed_freed_bytes'), bytes_words)} / "
            f"{_with_interval(s.get('image_gc_actual_freed_bytes'), bytes_words)}",
        ),
        Row(
            "Time to a full disk / to the first eviction",
            f"{_with_interval(s.get('disk_full_s'), duration_words)} / "
            f"{_with_interval(s.get('first_eviction_s'), duration_words)}",
        ),
        Row("Evictions", _with_interval(s.get("evictions"))),
    ]
    return rows


def warnings(res: Results, quote: Quote = str) -> list[str]:
    """The findings a reader must not miss, in plain words (names passed through ``quote``)."""
    s = res.summary()
    out: list[str] = []
    refused = refusals(res)
    for wl, reason, message in refused:
        out.append(f"Workload {quote(wl)} never runs: {quote(reason)}: {quote(message)}")
    first_eviction = _mean(s.get("first_eviction_s"))
    disk_full = _mean(s.get("disk_full_s"))
    writers: list[str] = []
    host_process = {w["name"] for w in res.meta.get("workloads", []) if w.get("host_process")}
    # Measured: what each workload's containers wrote to host paths, per second it wrote.
    rates = s.get("host_writes_bytes_per_s_by_workload") or {}
    full_after_end = _mean(s.get("disk_full_in_s_after_end"))
    for name in sorted(rates):
        rate = _mean(rates[name]) or 0.0
        if name not in host_process or rate <= 0 or name in {r[0] for r in refused}:
            continue
        writers.append(name)
        text = (
            f"HostProcess workload {quote(name)} writes {bytes_words(rate * DAY)}/day to host "
            "paths that kubelet does not count"
        )
        if first_eviction is not None:
            text += f": the node reaches eviction after {duration_words(first_eviction)}"
        elif disk_full is not None:
            text += f": the disk is full after {duration_words(disk_full)}"
        elif full_after_end is not None:
            text += (
                ": at the end's rate of growth the disk is full "
                f"{duration_words(full_after_end)} after the run"
            )
        out.append(text + ".")
    if first_eviction is not None:
        out.append(_eviction_words(res, first_eviction, s.get("evictions"), writers, quote))
    on_cap = {w["name"]: w.get("on_memory_cap") for w in res.meta.get("workloads", [])}
    for wl, v in sorted((s.get("alloc_failures_by_workload") or {}).items()):
        failures = _mean(v) or 0.0
        if failures <= 0:
            continue
        restarts = _mean((s.get("restarts_by_workload") or {}).get(wl)) or 0.0
        running = _mean((s.get("running_fraction_by_workload") or {}).get(wl))
        text = (
            f"Workload {quote(wl)}: its job object refused "
            f"{_count(failures, 'allocation')} per run (Windows has no OOM killer) and "
        )
        if restarts >= 0.5:
            text += f"it restarted {_count(restarts, 'time')}"
        elif on_cap.get(wl) == "degrade":
            text += "it carried on degraded (its allocations failing, no restart)"
        else:
            text += "it did not restart"
        if running is not None and running < 0.995:
            text += f"; it ran {100 * running:.1f}% of the time"
        out.append(text + ".")
    pending = _mean(s.get("pods_pending_at_end")) or 0.0
    if pending >= 0.5:
        out.append(f"{pending:.0f} pods are still Pending at the end{_pending_why(res, quote)}.")
    saving = _mean(s.get("aligned_bases_saving_bytes")) or 0.0
    versions = [v for v in (s.get("image_bytes_by_os_version") or {}) if v != "none"]
    if saving > 0:
        out.append(
            f"Images sit on {len(versions)} Windows base versions; aligned on the host's LTSC "
            f"base they would take {bytes_words(saving)} less disk."
        )
    believed = _mean(s.get("image_gc_believed_freed_bytes")) or 0.0
    really = _mean(s.get("image_gc_actual_freed_bytes")) or 0.0
    if believed > 1.5 * really:
        out.append(
            f"kubelet's image GC believed it freed {bytes_words(believed)}, but the volume got "
            f"back {bytes_words(really)}: kubelet counts each image's compressed size, while "
            "deleting an image frees only the layers no other image shares."
        )
    gc_failures = _mean(s.get("image_gc_failures")) or 0.0
    if gc_failures > 0:
        out.append(
            f"kubelet's image GC could not free enough space {_count(gc_failures, 'time')} "
            "(FreeDiskSpaceFailed)."
        )
    return out


def _eviction_words(
    res: Results, first: float, evictions: Any, writers: list[str], quote: Quote
) -> str:
    """When kubelet first evicted, which workloads it evicted, and whether the writers went on."""
    pods = res.pods
    evicted: list[str] = []
    if not pods.empty and "reason" in pods:
        evicted = sorted(set(pods.loc[pods["reason"] == "Evicted", "workload"].astype(str)))
    text = (
        f"kubelet first evicts pods after {duration_words(first)} "
        f"({_with_interval(evictions)} evictions in the run"
        + (f": {', '.join(map(quote, evicted))}" if evicted else "")
        + ")"
    )
    spared = [w for w in writers if w not in evicted]
    hit = [w for w in writers if w in evicted]
    if spared:
        text += (
            f"; it does not evict {', '.join(map(quote, spared))}, whose host-path writes it "
            "cannot see: "
            "they go on filling the disk"
        )
    if hit:
        text += (
            f"; evicting {', '.join(map(quote, hit))} frees none of the host-path writes, "
            "which stay on the volume"
        )
    return text + "."


def _count(n: float, noun: str) -> str:
    """'1 allocation', '147 allocations', '0.4 allocations' (a mean over replications)."""
    text = f"{n:,.0f}" if n >= 10 or float(n).is_integer() else f"{n:,.1f}"
    return f"{text} {noun}" + ("" if text == "1" else "s")


def _pending_why(res: Results, quote: Quote) -> str:
    """The scheduler's most common message for the pods left Pending."""
    pods = res.pods
    if pods.empty or "message" not in pods:
        return ""
    messages = pods.loc[pods["phase"] == "Pending", "message"].dropna()
    messages = messages[messages != ""]
    if messages.empty:
        return ""
    return f' ("{quote(messages.value_counts().index[0])}")'


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
    parts.append("<h2>Node</h2><table>")
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
        parts.append(
            f'<p class="muted">Mean ± half-width of the 95% t-interval over {_reps(res)} '
            "replications.</p>"
        )
    parts.append("<table><tr><th>question</th><th>answer</th></tr>")
    parts += [
        f"<tr><td>{_esc(r.question)}</td><td>{_esc(r.answer)}</td></tr>" for r in headline(res)
    ]
    parts.append("</table>")
    found = warnings(res)
    parts.append("<h2>Warnings</h2>")
    if found:
        parts.append('<ul class="warn">')
        parts += [f"<li>{_esc(w)}</li>" for w in found]
        parts.append("</ul>")
    else:
        parts.append("<p>None.</p>")
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
    lines += [f"_{_run_line(res, info, q)}_", "", "## Node", "", "| | |", "|---|---|"]
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
        lines += [f"Mean ± half-width of the 95% t-interval over {_reps(res)} replications.", ""]
    lines += ["| question | answer |", "|---|---|"]
    lines += [f"| {r.question} | {r.answer} |" for r in headline(res, q)]
    lines += ["", "## Warnings", ""]
    found = warnings(res, q)
    lines += [f"- {w}" for w in found] if found else ["None."]
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
    """The figures' names in the order ``Plots.NAMES`` gives them (others after)."""
    names = {n for d in named for n in d}
    return [n for n in Plots.NAMES if n in names] + sorted(names - set(Plots.NAMES))


def _reps(res: Results) -> int:
    return int(res.meta.get("replications", 1))


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
    for name in Plots.NAMES:
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
