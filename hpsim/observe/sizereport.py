"""The answer of ``hpsim size`` in words, and its report (``report.html``, ``report.md``).

Read from the size folder's ``answer.json`` alone (what :mod:`hpsim.experiment.size`
wrote), never from a model. The text :func:`answer_lines` prints is the report's
answer too. Contents of the report, in order: what was searched; the answer, with the
paired difference between the answer and one node fewer; a figure per objective (each
candidate's mean and confidence interval against the node count, the bound as a line);
the candidates' table; how the search works.

Numbers are in units people read (minutes, GiB, cores); ``answer.json`` keeps raw
units. Every string from the scenario or the command line (its name, the pool's) is
text: ``md_literal`` in the Markdown, ``html.escape`` in the HTML.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

from hpsim import atomic
from hpsim.errors import HpsimError
from hpsim.words import range_words, unit_words

SIZE_FILE = "size.json"
ANSWER_FILE = "answer.json"

VERDICT_COLOURS = {
    "meets": "#31a354",
    "fails": "#de2d26",
    "undecided": "#fd8d3c",
    "no value": "#969696",
}

HOW = (
    "Replication i of every node count runs on the same random numbers (common random "
    "numbers: the same arrivals, lifetimes and demands), so neighbouring counts differ by "
    "their nodes, not their dice. At each count, replications run in order until the "
    "Student-t confidence interval of every objective metric's mean lies wholly on one "
    "side of its bound (meets, or fails), or the most replications allowed are run "
    "(undecided). The search gallops from the scenario's own value, then bisects; it "
    "assumes more nodes never make a metric worse. The answer is the smallest count shown "
    "to meet every objective whose neighbour, one node fewer, was not (it failed, stayed "
    "undecided or had no value), or the low end of the range."
)


def is_size(folder: str | Path) -> bool:
    return (Path(folder) / SIZE_FILE).is_file()


def read_size(folder: str | Path) -> dict[str, Any]:
    """A finished size folder's record; an unfinished or unreadable one is an HpsimError."""
    path = Path(folder) / ANSWER_FILE
    if not path.is_file():
        raise HpsimError(
            f"not a finished size search (no {ANSWER_FILE}): run the same hpsim size command "
            "again to finish it",
            file=str(folder),
        )
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise HpsimError(f"unreadable size record: {exc}", file=str(path)) from None
    if not isinstance(record, dict) or "answer" not in record:
        raise HpsimError("unreadable size record", file=str(path))
    return record


# -- words --------------------------------------------------------------------------------------


def _conf(record: dict[str, Any]) -> str:
    return f"{100 * float(record.get('confidence', 0.95)):g}%"


def _bound(goal: dict[str, Any]) -> str:
    """'pending_s_p95<=300 (5.0 min)': the bound, and in words where they differ."""
    words = unit_words(goal["metric"])(goal["value"])
    return goal["text"] + (f" ({words})" if words != f"{goal['value']:g}" else "")


def goal_words(g: dict[str, Any], conf: str, replications: int, runs: bool = True) -> str:
    """'mean 3.5 min (95% CI 1.2 to 5.8 min, 8 replications)'; without ``runs``, no count
    of replications (a table has a column for it)."""
    words = unit_words(g["metric"])
    n = int(g.get("n") or 0)
    detail = []
    if g.get("mean") is None:
        return "no value" + (f" ({replications} replications)" if runs else "")
    half = g.get("half_width")
    if half == 0:
        detail.append(f"all {n} the same")
    elif half is not None:
        detail.append(f"{conf} CI {range_words(words, g['low'], g['high'])}")
    if runs:
        detail.append(f"{replications} replication{'s' if replications != 1 else ''}")
    if n < replications:
        detail.append(f"{n} with a value")
    return f"mean {words(g['mean'])}" + (f" ({', '.join(detail)})" if detail else "")


def candidate_words(c: dict[str, Any], conf: str, named: bool = True) -> str:
    """Each objective's value at a candidate: 'pending_s_p95 mean 0 s (...)'; without the
    metric's name when ``named`` is false and there is one objective."""
    parts = [goal_words(g, conf, int(c["replications"])) for g in c["objectives"]]
    if named or len(parts) > 1:
        parts = [f"{g['metric']} {p}" for g, p in zip(c["objectives"], parts, strict=True)]
    return "; ".join(parts)


_NOT = {
    "fails": "does not",
    "undecided": "is undecided",
    "no value": "has no value",
}


def _what(record: dict[str, Any]) -> str:
    if record["knob"] == "max":
        return "max (the most nodes the Cluster Autoscaler may run)"
    return "count"


def answer_lines(record: dict[str, Any]) -> list[str]:
    """The answer as text: a line for the answer and its neighbour, one for the paired
    difference between them, the candidates, and notes."""
    conf = _conf(record)
    pool, knob = record["pool"], record["knob"]
    goals = record["objectives"]
    bounds = " and ".join(_bound(g) for g in goals)
    cands = {int(c["nodes"]): c for c in record["candidates"]}
    answer = record["answer"]
    n = answer.get("nodes")
    lo, hi = record["range"]
    lines = []
    if n is not None:
        c = cands[n]
        line = f"pool {pool}: {knob} {n} meets {bounds}: {candidate_words(c, conf, False)}"
        below = answer.get("neighbour")
        if below is not None:
            d = cands[below]
            line += f"; {knob} {below} {_NOT.get(d['verdict'], d['verdict'])}: "
            line += candidate_words(d, conf, False)
            if d["verdict"] == "undecided":
                line += " (more replications, --max-replications, may tell)"
        else:
            line += f" ({n} is the low end of the range searched, {lo}..{hi})"
        lines.append(line)
        for pair in answer.get("paired") or []:
            if pair.get("mean") is None:
                continue
            words = unit_words(pair["metric"])
            k = int(pair["n"])
            if pair.get("half_width") is None:
                ci = f"{k} paired replication"
            elif pair["half_width"] == 0:
                ci = f"all {k} paired replications the same"
            else:
                span = range_words(words, pair["low"], pair["high"])
                ci = f"{conf} CI {span}, {k} paired replications"
            lines.append(
                f"from {below} to {n} nodes, {pair['metric']} changes by {words(pair['mean'])} "
                f"({ci}, common random numbers)"
            )
    else:
        c = cands.get(int(hi))
        line = f"pool {pool}: no {knob} from {lo} to {hi} meets {bounds}"
        if c is not None:
            line += f"; {knob} {hi} {_NOT.get(c['verdict'], c['verdict'])}: "
            line += candidate_words(c, conf, False)
        lines.append(line + f" (give a larger range with --nodes {lo}..{2 * int(hi)})")
    lines.append(f"searched: pool {pool}'s {_what(record)} from {lo} to {hi}")
    lines += ["", *table_lines(record)]
    lines += [f"note: {note}" for note in notes(record)]
    return lines


def table_rows(record: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The candidates as text: a header and a row per candidate, by node count."""
    conf = _conf(record)
    head = [record["knob"], "verdict", "replications"]
    head += [g["metric"] for g in record["objectives"]]
    rows = []
    for c in sorted(record["candidates"], key=lambda c: int(c["nodes"])):
        row = [str(c["nodes"]), str(c["verdict"]), str(c["replications"])]
        row += [goal_words(g, conf, int(c["replications"]), runs=False) for g in c["objectives"]]
        rows.append(row)
    return head, rows


def table_lines(record: dict[str, Any]) -> list[str]:
    head, rows = table_rows(record)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [head, *rows]
    ]


def notes(record: dict[str, Any]) -> list[str]:
    """What the reader must know to trust the answer: pods the pending metrics leave out,
    verdicts that contradict the search's assumption."""
    out = list(record.get("notes") or [])
    n = record["answer"].get("nodes")
    if n is None:
        return out
    c = next(c for c in record["candidates"] if int(c["nodes"]) == int(n))
    context = c.get("context") or {}
    if any(g["metric"].startswith("pending_s") for g in record["objectives"]):
        left = [
            f"{v:g} {words} (mean per run)"
            for key, words in (
                ("pods_pending_at_end", "pods still pending at the end"),
                ("pods_never_bound", "pods never bound"),
            )
            if (v := context.get(key))
        ]
        if left:
            out.append(
                f"at {n}: {', '.join(left)}; pending_s_* counts bound pods only, so it "
                "understates their wait"
            )
    return out


# -- the report ---------------------------------------------------------------------------------


def size_figure(record: dict[str, Any]) -> Any:
    """Each objective's metric against the node count: mean and confidence interval per
    candidate, coloured by verdict, the bound as a dashed line, the answer marked."""
    from matplotlib.figure import Figure

    from hpsim.observe.figstyle import LITERAL
    from hpsim.observe.sweepreport import _axis_scale

    goals = record["objectives"]
    cands = sorted(record["candidates"], key=lambda c: int(c["nodes"]))
    fig = Figure(figsize=(5.2 * len(goals) + 0.6, 3.8), layout="constrained")
    axes = fig.subplots(1, len(goals), squeeze=False)[0]
    answer = record["answer"].get("nodes")
    for k, (ax, goal) in enumerate(zip(axes, goals, strict=True)):
        metric = goal["metric"]
        rows = [(int(c["nodes"]), c["objectives"][k], c["verdict"]) for c in cands]
        tops = [abs(float(goal["value"]))]
        tops += [abs(float(g["high"])) for _, g, _ in rows if g.get("high") is not None]
        tops += [abs(float(g["mean"])) for _, g, _ in rows if g.get("mean") is not None]
        div, unit = _axis_scale(metric, max(tops) or 1.0)
        seen = set()
        for nodes, g, verdict in rows:
            if g.get("mean") is None:
                continue
            half = g.get("half_width") or 0.0
            label = verdict if verdict not in seen else None
            seen.add(verdict)
            ax.errorbar(
                [nodes],
                [g["mean"] / div],
                yerr=[[half / div], [half / div]],
                marker="o",
                capsize=4,
                color=VERDICT_COLOURS.get(verdict, "#333333"),
                label=label,
            )
        bound = f"bound: {goal['op']} {unit_words(metric)(goal['value'])}"
        ax.axhline(goal["value"] / div, color="#555555", linestyle="--", label=bound)
        if answer is not None:
            ax.axvline(int(answer), color="#31a354", alpha=0.3, linewidth=6, label="answer")
        xs = [n for n, _, _ in rows]
        ax.set_xticks(xs)
        ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
        ax.set_xlabel(f"pool {record['pool']}: {record['knob']}", **LITERAL)
        ax.set_ylabel(metric + (f" ({unit})" if unit else ""), fontsize=8, **LITERAL)
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.2),
            fontsize=8,
            ncols=3,
            frameon=False,
        )
    fig.suptitle(
        f"{record['scenario']}: mean and {_conf(record)} interval per node count", **LITERAL
    )
    return fig


def _head(record: dict[str, Any], written: str | None) -> str:
    runs = record.get("runs") or {}
    text = (
        f"pool {record['pool']}, {_what(record)} searched from {record['range'][0]} to "
        f"{record['range'][1]}; {_conf(record)} confidence; {record['min_replications']} to "
        f"{record['max_replications']} replications a candidate; seed {record['seed']}; "
        f"{runs.get('ran', 0)} runs, {runs.get('reused', 0)} reused; "
        f"hpsim {record.get('hpsim', '')}"
    )
    return text + (f"; written {written}" if written else "")


def render_markdown(record: dict[str, Any], figure: str | None, written: str | None) -> str:
    from hpsim.observe.report import md_literal as q

    lines = [f"# {q(record['scenario'])}: how many nodes", "", f"_{q(_head(record, written))}_", ""]
    bounds = " and ".join(q(_bound(g)) for g in record["objectives"])
    lines += [f"Objective: {bounds}.", "", "## Answer", ""]
    answer = answer_lines(record)
    cut = answer.index("")
    for line in answer[:cut]:
        lines += [q(line, line_start=True), ""]
    lines += [f"- {q(note)}" for note in notes(record)]
    if figure:
        lines += ["", f"![metric against node count]({figure})"]
    head, rows = table_rows(record)
    lines += ["", "## Candidates", "", "| " + " | ".join(q(h) for h in head) + " |"]
    lines += ["|---" * len(head) + "|"]
    lines += ["| " + " | ".join(q(c) for c in r) + " |" for r in rows]
    lines += ["", "## How", "", HOW, "", q(record.get("common_random_numbers", "")), ""]
    return "\n".join(lines).rstrip() + "\n"


def render_html(record: dict[str, Any], png: bytes | None, written: str | None) -> str:
    from hpsim.observe.report import _CSS, _esc

    e = _esc
    answer = answer_lines(record)
    cut = answer.index("")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>hpsim size: {e(record['scenario'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(record['scenario'])}: how many nodes</h1>",
        f'<p class="muted">{e(_head(record, written))}</p>',
        f"<p>Objective: {e(' and '.join(_bound(g) for g in record['objectives']))}.</p>",
        "<h2>Answer</h2>",
        *(f'<p id="size-answer-{i}">{e(line)}</p>' for i, line in enumerate(answer[:cut])),
    ]
    found = notes(record)
    if found:
        parts.append('<ul class="warn">' + "".join(f"<li>{e(n)}</li>" for n in found) + "</ul>")
    if png is not None:
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            '<figure id="fig-size"><img alt="metric against node count" '
            f'src="data:image/png;base64,{data}"><figcaption>Each candidate: the mean and '
            "its confidence interval, coloured by verdict; the dashed line is the bound."
            "</figcaption></figure>"
        )
    head, rows = table_rows(record)
    parts.append("<h2>Candidates</h2><table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head))
    parts.append("</tr>")
    parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows]
    parts.append("</table>")
    parts += ["<h2>How</h2>", f'<p class="muted">{e(HOW)}</p>']
    parts.append(f'<p class="muted">{e(record.get("common_random_numbers", ""))}</p>')
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_size_report(
    folder: str | Path, *, figures: bool = True, stamp: bool = True
) -> list[Path]:
    """Write ``report.html``, ``report.md`` and ``figures/size.png`` into a size folder."""
    from hpsim.observe.figstyle import figure_png

    folder = Path(folder)
    record = read_size(folder)
    png = figure_png(size_figure(record)) if figures and record["candidates"] else None
    written = dt.datetime.now().strftime("%Y-%m-%d %H:%M") if stamp else None
    paths = [folder / "report.html", folder / "report.md"]
    rel = None
    if png is not None:
        (folder / "figures").mkdir(exist_ok=True)
        atomic.write_bytes(folder / "figures" / "size.png", png)
        rel = "figures/size.png"
        paths.append(folder / rel)
    atomic.write_bytes(paths[0], render_html(record, png, written).encode("utf-8"))
    atomic.write_bytes(paths[1], render_markdown(record, rel, written).encode("utf-8"))
    return paths


__all__ = ["answer_lines", "is_size", "read_size", "write_size_report"]
