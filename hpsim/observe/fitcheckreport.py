"""``hpsim fit-check``: the fit check of :mod:`hpsim.observe.fitcheck` as text, JSON and a
report (``fitcheck.md``, ``fitcheck.html``, ``fitcheck.json`` and ``figures/``).

Numbers shown to people are in their units (s, min, GiB, per pod) with the error in
percent; ``fitcheck.json`` and ``-o json`` keep raw units (seconds, bytes). Every string
from a file (workload, node and image names) is text: ``md_literal`` in the Markdown,
``html.escape`` in the HTML. The report folder is written whole or not at all.
"""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path
from typing import Any

import numpy as np

from hpsim import atomic
from hpsim.errors import HpsimError
from hpsim.observe.fitcheck import (
    FITS,
    METRICS,
    QQ_METRICS,
    ROUGH,
    SLACK,
    TITLES,
    UNKNOWN_WORKLOAD,
    compare,
    headline,
    read_observed,
    read_run,
)
from hpsim.words import bytes_words, duration_words

RECORD = "fitcheck.json"
VERDICT_COLOURS = {
    "fits": "#31a354",
    "roughly fits": "#fd8d3c",
    "does not fit": "#de2d26",
    "cannot tell": "#969696",
}
SCOPE_TITLES = {"workload": "Per workload", "node": "Per node", "image": "Per image (pulls)"}
QQ_POINTS = 50  # at most this many quantiles a series
LOG_SPAN = 20.0  # values spanning more than this factor are drawn on log axes

HOW = (
    f"Thresholds are hpsim's choice, not a standard: a metric fits when the run's centre "
    f"(the median; for restarts and evictions, the mean per pod) is within {FITS:.0%} of "
    f"the cluster's, roughly fits within {ROUGH:.0%}, and does not fit beyond. Differences "
    f"smaller than the data's resolution count as none: {SLACK['pull_s']:g} s for pulls, "
    f"{SLACK['start_latency_s']:g} s for start latency and pending (the cluster's timestamps "
    f"are whole seconds), {SLACK['restarts']:g} restarts or evictions a pod. "
    "The error is (simulated - observed) / observed. KS D is the two-sample "
    "Kolmogorov-Smirnov statistic, the largest gap between the two empirical distribution "
    "functions (0: the same, 1: no overlap), with its asymptotic p-value, which is rough for "
    "a handful of values: it is shown, the verdict does not rest on it. Pull durations are "
    "kubelet's own pull time (without the wait in its queue) against the run's pulls of the "
    "same images; images pulled on one side only are named, not compared. The run's "
    "replications pool their values. Built from the results tables and observed/*.csv "
    "only: the model is not asked."
)


# -- words -----------------------------------------------------------------------------------


def value_words(metric: str, v: float | None) -> str:
    if v is None:
        return "-"
    if metric == "image_bytes":
        return bytes_words(v)
    if metric in ("restarts", "evictions"):
        return f"{v:.2f}/pod"
    return duration_words(v)


def error_words(error: float | None) -> str:
    if error is None:
        return "-"
    return f"{100 * error:+.0f}%"


def key_words(row: dict[str, Any]) -> str:
    if row["scope"] == "node" and row["key"] == "":
        return "(not bound)"
    return row["key"] or "(none)"


def side_words(row: dict[str, Any], side: str) -> str:
    """'median 1.2 min, p90 3.4 min' (or the mean per pod for counts)."""
    stats = row[side]
    metric = row["metric"]
    if row[f"n_{side}"] == 0:
        return "none"
    if row["centre"] == "mean":
        return f"mean {value_words(metric, stats['mean'])}"
    return f"median {value_words(metric, stats['median'])}, p90 {value_words(metric, stats['p90'])}"


def ks_words(row: dict[str, Any]) -> str:
    if row["ks_d"] is None:
        return "-"
    return f"{row['ks_d']:.2f} (p {row['ks_p']:.2g})"


def line_words(row: dict[str, Any]) -> str:
    """A row in one line: verdict, both sides' centre and p90, error, KS, counts."""
    n = f"n {row['n_observed']} observed, {row['n_simulated']} simulated"
    if row["verdict"] == "cannot tell":
        return f"cannot tell ({row['why']}; {n})"
    metric, centre = row["metric"], row["centre"]
    o, s = row["observed"], row["simulated"]
    text = (
        f"{row['verdict']:<12}  {centre} {value_words(metric, o[centre])} observed, "
        f"{value_words(metric, s[centre])} simulated ({error_words(row['error'])})"
    )
    if centre == "median":
        text += f"; p90 {value_words(metric, o['p90'])} / {value_words(metric, s['p90'])}"
    text += f"; KS D {ks_words(row)}; {n}"
    return text + (f"; {row['why']}" if row["why"] else "")


def _only_lines(record: dict[str, Any]) -> list[str]:
    out = []
    reps = record["replications"]
    per = " a run" if reps > 1 else ""
    for image, n in record["images_only_simulated"].items():
        out.append(
            f"pulled in the run only: {image} ({n:g} pulls{per}): the cluster held it already "
            "or names it differently"
        )
    for image, n in record["images_only_observed"].items():
        out.append(f"pulled in the cluster only: {image} ({n} pulls)")
    return out


def text_lines(record: dict[str, Any], paths: list[Path] | None = None) -> list[str]:
    """The fit check in a few lines: each metric overall, what does not fit in detail."""
    reps = record["replications"]
    lines = [
        f"fit check: {record['scenario']} (seed {record['seed']}, {reps} replication"
        f"{'s' if reps != 1 else ''}) against {record['observed_folder']}"
    ]
    head = headline(record)
    width = max(len(TITLES[m]) for m in METRICS)
    for metric in METRICS:
        lines.append(f"  {TITLES[metric].ljust(width)}  {line_words(head[metric])}")
    bad = [
        r
        for r in record["rows"]
        if r["scope"] != "all" and r["verdict"] in ("does not fit", "roughly fits")
    ]
    if bad:
        lines.append("not fitting, by workload, node or image:")
        for r in bad:
            lines.append(
                f"  {r['metric']} {r['scope']} {key_words(r)}: {r['verdict']} "
                f"({r['centre']} {value_words(r['metric'], r['observed'][r['centre']])} observed, "
                f"{value_words(r['metric'], r['simulated'][r['centre']])} simulated, "
                f"{error_words(r['error'])})"
            )
    lines += _only_lines(record)
    lines += [f"note: {n}" for n in record["notes"]]
    lines.append(
        f"thresholds (hpsim's choice): within {FITS:.0%} fits, within {ROUGH:.0%} roughly fits"
    )
    if paths:
        lines.append("wrote " + ", ".join(str(p) for p in paths))
    return lines


# -- figures ---------------------------------------------------------------------------------


def _quantiles(v: np.ndarray, n: int) -> np.ndarray:
    probs = (np.arange(n) + 0.5) / n
    return np.quantile(v, probs)


def qq_figure(record: dict[str, Any], metric: str) -> Any:
    """Observed against simulated quantiles, overall and per workload; the diagonal is a
    perfect fit, the band the threshold of 'fits'."""
    from matplotlib.figure import Figure

    from hpsim.observe.figstyle import LITERAL, REASON_COLOURS, sentence_figure, short

    data = record["qq"][metric]
    obs = np.asarray(data["observed"]["value"], float)
    sim = np.asarray(data["simulated"]["value"], float)
    title = f"{TITLES[metric]}: quantiles, cluster against run"
    if not len(obs) or not len(sim):
        return sentence_figure("Nothing to compare: one side has no value.", title)
    top = float(max(obs.max(), sim.max()))
    if top <= 0:
        return sentence_figure("Every value is 0 on both sides.", title)
    div, unit = (60.0, "min") if top >= 120 else (1.0, "s")
    fig = Figure(figsize=(6.4, 5.0), layout="constrained")
    ax = fig.add_subplot()
    n = min(QQ_POINTS, max(len(obs), len(sim)))
    ax.plot(
        _quantiles(obs, n) / div,
        _quantiles(sim, n) / div,
        "o-",
        color="#252525",
        markersize=4,
        linewidth=1,
        label=f"all ({len(obs)} observed, {len(sim)} simulated)",
        zorder=3,
    )
    owork = np.asarray(data["observed"]["workload"], dtype=object)
    swork = np.asarray(data["simulated"]["workload"], dtype=object)
    names = sorted(set(owork) & set(swork) - {UNKNOWN_WORKLOAD})
    for i, name in enumerate(names if len(names) > 1 else []):
        o, s = obs[owork == name], sim[swork == name]
        k = min(QQ_POINTS, max(len(o), len(s)))
        ax.plot(
            _quantiles(o, k) / div,
            _quantiles(s, k) / div,
            "s",
            color=REASON_COLOURS[i % len(REASON_COLOURS)],
            markersize=6,
            alpha=0.8,
            label=short(name, 40),
        )
    low = float(min(obs.min(), sim.min()))
    log = low > 0 and top / low > LOG_SPAN
    hi = top / div * (1.3 if log else 1.08)
    lo = low / div / 1.3 if log else 0.0
    line = np.geomspace(lo, hi, 50) if log else np.array([0.0, hi])
    ax.plot(line, line, color="#777777", linewidth=1, linestyle="--", label="same (y = x)")
    ax.fill_between(
        line,
        line * (1 - FITS),
        line * (1 + FITS),
        color="#31a354",
        alpha=0.12,
        label=f"within {FITS:.0%} (fits)",
    )
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel(f"observed in the cluster ({unit})")
    ax.set_ylabel(f"simulated ({unit})")
    ax.set_title(title, fontsize=10, **LITERAL)
    for text in ax.legend(loc="upper left", fontsize=7).get_texts():
        text.set(**LITERAL)
    return fig


def figures(record: dict[str, Any]) -> dict[str, bytes]:
    from hpsim.observe.figstyle import figure_png

    return {f"qq-{m}": figure_png(qq_figure(record, m)) for m in QQ_METRICS}


# -- the report ------------------------------------------------------------------------------


def _head(record: dict[str, Any]) -> str:
    reps = record["replications"]
    return (
        f"Run {record['results_folder']} (seed {record['seed']}, {reps} replication"
        f"{'s' if reps != 1 else ''}) against the cluster's {record['observed_folder']}/observed"
    )


def _table(rows: list[dict[str, Any]], keyed: bool) -> tuple[list[str], list[list[str]]]:
    head = ["metric", *(["key"] if keyed else []), "verdict", "observed", "simulated"]
    head += ["error", "KS D (p)", "n observed", "n simulated"]
    out = []
    for r in rows:
        cells = [TITLES[r["metric"]] if not keyed else r["metric"]]
        if keyed:
            cells.append(key_words(r))
        cells += [
            r["verdict"] + (f" ({r['why']})" if r["why"] else ""),
            side_words(r, "observed"),
            side_words(r, "simulated"),
            error_words(r["error"]),
            ks_words(r),
            str(r["n_observed"]),
            str(r["n_simulated"]),
        ]
        out.append(cells)
    return head, out


def _sections(record: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    head = headline(record)
    out = [("Verdict", *_table([head[m] for m in METRICS], keyed=False))]
    for scope, title in SCOPE_TITLES.items():
        rows = [r for r in record["rows"] if r["scope"] == scope]
        if rows:
            out.append((title, *_table(rows, keyed=True)))
    return out


def render_markdown(record: dict[str, Any], figure_files: dict[str, str]) -> str:
    from hpsim.observe.report import md_literal as q

    lines = [f"# {q(record['scenario'])}: does the model fit the cluster?", ""]
    lines += [f"_{q(_head(record))}_", ""]
    for k, (title, head, rows) in enumerate(_sections(record)):
        lines += [f"## {title}", "", "| " + " | ".join(q(h) for h in head) + " |"]
        lines += ["|---" * len(head) + "|"]
        lines += ["| " + " | ".join(q(c) for c in r) + " |" for r in rows]
        lines.append("")
        if k == 0:
            for name, path in figure_files.items():
                lines += [f"![{q(name)}]({path})", ""]
    others = _only_lines(record) + record["notes"]
    if others:
        lines += ["## Not compared, and notes", ""]
        lines += [f"- {q(n)}" for n in others]
        lines.append("")
    lines += ["## How", "", q(HOW), ""]
    return "\n".join(lines).rstrip() + "\n"


def render_html(record: dict[str, Any], pngs: dict[str, bytes]) -> str:
    from hpsim.observe.report import _CSS, _esc

    e = _esc
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>hpsim fit-check: {e(record['scenario'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(record['scenario'])}: does the model fit the cluster?</h1>",
        f'<p class="muted">{e(_head(record))}</p>',
    ]
    for k, (title, head, rows) in enumerate(_sections(record)):
        parts.append(f"<h2>{e(title)}</h2><table><tr>")
        parts.append("".join(f"<th>{e(h)}</th>" for h in head) + "</tr>")
        vcol = head.index("verdict")
        for r in rows:
            cells = []
            for i, c in enumerate(r):
                style = ""
                if i == vcol:
                    colour = VERDICT_COLOURS.get(c.split(" (")[0], "#333333")
                    style = f' style="color:{colour};font-weight:600"'
                cells.append(f"<td{style}>{e(c)}</td>")
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</table>")
        if k == 0:
            for name, png in pngs.items():
                data = base64.b64encode(png).decode("ascii")
                parts.append(
                    f'<figure id="fig-{e(name)}"><img alt="{e(name)}" '
                    f'src="data:image/png;base64,{data}"><figcaption>Quantiles of the cluster '
                    "(x) against the run (y), all pods and per workload; on the dashed line "
                    f"they agree, in the band they are within {FITS:.0%}.</figcaption></figure>"
                )
    others = _only_lines(record) + record["notes"]
    if others:
        parts.append("<h2>Not compared, and notes</h2><ul>")
        parts += [f"<li>{e(n)}</li>" for n in others]
        parts.append("</ul>")
    parts += ["<h2>How</h2>", f'<p class="muted">{e(HOW)}</p>', "</body></html>\n"]
    return "\n".join(parts)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def record_json(record: dict[str, Any]) -> str:
    """The record as JSON (NaN never: values are finite or null)."""
    return json.dumps(record, indent=2, default=_json_default, allow_nan=False) + "\n"


def fit_check(
    results: str | Path,
    observed: str | Path,
    *,
    results_label: str | None = None,
    observed_label: str | None = None,
) -> dict[str, Any]:
    """The fit check's record for a results folder against an import folder."""
    run = read_run(results)
    obs = read_observed(observed)
    record = compare(obs, run)
    record["results_folder"] = results_label or str(results)
    record["observed_folder"] = observed_label or str(observed)
    return record


def write_fit_check(record: dict[str, Any], out: str | Path) -> list[Path]:
    """Write ``fitcheck.md``, ``fitcheck.html``, ``fitcheck.json`` and ``figures/`` into
    ``out``, replacing an earlier fit check there whole; a folder holding anything else is
    refused."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / RECORD).is_file())):
        raise HpsimError(
            "exists and is not a fit-check folder (no fitcheck.json): give a new folder",
            file=str(out),
        )
    pngs = figures(record)
    files = {name: f"figures/{name}.png" for name in pngs}
    try:
        with atomic.replacing_dir(out) as tmp:
            (tmp / "figures").mkdir()
            for name, png in pngs.items():
                (tmp / files[name]).write_bytes(png)
            (tmp / "fitcheck.md").write_text(render_markdown(record, files), encoding="utf-8")
            (tmp / "fitcheck.html").write_text(render_html(record, pngs), encoding="utf-8")
            (tmp / RECORD).write_text(record_json(record), encoding="utf-8")
    except OSError as exc:
        raise HpsimError(
            f"cannot write the fit check: {exc.strerror or exc}", file=str(out)
        ) from None
    return [out / "fitcheck.md", out / "fitcheck.html"]


def fitcheck_command(args: argparse.Namespace) -> int:
    """``hpsim fit-check RESULTS_DIR --observed IMPORT_DIR``."""
    record = fit_check(args.results, args.observed)
    out = Path(args.dir) if args.dir is not None else Path(args.results) / "fitcheck"
    paths = write_fit_check(record, out)
    if args.output == "json":
        shown = {k: v for k, v in record.items() if k != "qq"}
        shown["written"] = [str(p) for p in paths]
        print(record_json(shown), end="")
    else:
        print("\n".join(text_lines(record, paths)))
    return 0


__all__ = [
    "fit_check",
    "fitcheck_command",
    "qq_figure",
    "render_markdown",
    "text_lines",
    "write_fit_check",
]
