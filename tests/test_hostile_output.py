"""What hpsim writes and prints never lets a scenario inject anything (issue 14, part E).

report.md (hpsim/observe/report.py md_literal), report.html (html.escape), the figures
(hpsim/observe/plots.py LITERAL) and `hpsim validate`'s text (hpsim/scenario/verdicts.py,
through hpsim.errors.excerpt) show every string from a scenario or a run's records as text.
The report tests build the Results from a real run's records with the payloads put in by
hand, so they do not depend on what the loader accepts.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
from html.parser import HTMLParser
from typing import Any

import pandas as pd
import pytest
from reporthelp import FIGURES, small

import hpsim
from hpsim.cli import main
from hpsim.observe.compare import differences, format_table
from hpsim.observe.output import print_summary, write_results
from hpsim.observe.plots import FIGURE_TITLES
from hpsim.observe.report import md_literal, render_markdown
from hpsim.scenario.load import load_data

markdown_it = pytest.importorskip("markdown_it")  # rich's dependency: CommonMark in the venv

P = {
    "link": "[click](javascript:alert(1))",
    "image": "![b](http://evil.example/b.png)",
    "heading": "x\n# Injected",
    "table": "a|b\n|x|y|",
    "html": "<img src=x onerror=alert(1)>",
    "code": "`code` ``two``",
    "autolink": "<http://evil.example>",
    "comment": "<!-- hidden -->",
    "emphasis": "*em* __strong__ ~~gone~~",
    "bare": "see http://bare.example/x or www.evil.example or a@evil.example",
    "entity": "&lt;&#60; &amp",
    "backslash": "\\<b>\\",
    "math": "$x^2$ $\\frac{$",
    "block": "- item",
}
AGENT = f"agent {P['html']} {P['image']}"
APP = f"app {P['link']} {P['code']}"
REFUSED = f"gone {P['heading']}"
NAME = f"{P['link']} {P['math']}"
DESCRIPTION = "\n".join(
    [P["block"], "1. first", "===", "    indented", P["heading"], P["table"], P["comment"]]
)


def _swap(value: Any, names: dict[str, str]) -> Any:
    """``value`` with every workload name replaced, in strings, keys, lists and dicts."""
    if isinstance(value, str):
        for old, new in names.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {_swap(k, names): _swap(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, names) for v in value]
    return value


def _hostile(res: hpsim.Results) -> hpsim.Results:
    """The small scenario's run with payloads in every string the report shows."""
    names = {"agent": AGENT, "app": APP}
    tables = {}
    for key, table in res.tables.items():
        t = table.copy()
        for col in t.columns:
            if t[col].dtype == object or pd.api.types.is_string_dtype(t[col]):
                t[col] = t[col].map(lambda v: _swap(v, names))
        tables[key] = t
    pods = tables["pods"]
    extra = pods.iloc[[0, 0, 0]].copy().reset_index(drop=True)
    extra.loc[0, ["workload", "pod", "phase", "reason", "message"]] = [
        REFUSED,
        "gone-1",
        "Refused",
        P["emphasis"],
        f"{P['bare']} {P['entity']} {P['backslash']}",
    ]
    extra.loc[1, ["pod", "phase", "message"]] = ["waiting-1", "Pending", P["autolink"]]
    extra.loc[2, ["workload", "pod", "phase", "reason"]] = [APP, "evicted-1", "Failed", "Evicted"]
    tables["pods"] = pd.concat([pods, extra], ignore_index=True)
    tables["images"].loc[0, "os_version"] = P["table"]
    summary = _swap(res.summary(), names)
    summary["image_bytes_by_os_version"] = {P["table"]: 1e9, "none": 1e6}
    summary.update(pods_pending_at_end=1, first_eviction_s=600.0, evictions=1)
    meta = _swap(res.meta, names)
    meta["description"] = DESCRIPTION
    meta["node"] = {
        **meta["node"],
        "os_build": P["entity"],
        "kubernetes": P["autolink"],
        "containerd": P["comment"],
    }
    return dataclasses.replace(
        res, scenario=NAME, tables=tables, summaries=[summary], meta=meta, combined=None
    )


@pytest.fixture(scope="module")
def hostile() -> hpsim.Results:
    return _hostile(hpsim.run(load_data(small())))


@pytest.fixture(scope="module")
def reported(hostile, tmp_path_factory):
    """The hostile run's folder with its report, figures drawn (a "$" in a title and all)."""
    return write_results(hostile, tmp_path_factory.mktemp("hostile") / "run", report=True)


def _shown(text: str) -> str:
    """A payload as the report shows it on one line: its newline as the two characters \\n."""
    return text.replace("\n", "\\n")


# -- report.md ---------------------------------------------------------------------------------


def _parse(md: str) -> list[Any]:
    """Every token of the CommonMark (+ GFM tables and strikethrough) parse, children too."""
    parser = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])
    out = []
    for token in parser.parse(md):
        out.append(token)
        out.extend(token.children or [])
    return out


def _text(inline: Any) -> str:
    """The plain text an inline token (a heading, a paragraph, a cell, an item) renders."""
    return "".join(c.content if c.type != "softbreak" else "\n" for c in inline.children or [])


def _inline_texts(tokens: list[Any]) -> list[str]:
    return [_text(t) for t in tokens if t.type == "inline"]


def test_report_md_payloads_render_as_literal_text(reported):
    md = (reported / "report.md").read_text()
    tokens = _parse(md)
    kinds = {t.type for t in tokens}
    live = {"link_open", "html_block", "html_inline", "code_inline", "code_block", "fence"}
    live |= {"strong_open", "s_open", "blockquote_open", "ordered_list_open", "hr", "lheading"}
    assert not kinds & live, sorted(kinds & live)
    assert sum(t.type == "em_open" for t in tokens) == 1  # the run line, hpsim's own
    headings = [
        (t.tag, _text(tokens[i + 1])) for i, t in enumerate(tokens) if t.type == "heading_open"
    ]
    heads = ["Warnings", "Node", "Admission", "Answers", "Figures"]
    figures = [(tag, h) for tag, h in headings if tag == "h3"]  # hpsim's own titles
    assert [h for h in headings if h[0] != "h3"] == [("h1", NAME), *[("h2", h) for h in heads]]
    assert figures == [("h3", FIGURE_TITLES[name]) for name in FIGURES]
    images = [t.attrGet("src") for t in tokens if t.type == "image"]
    assert images and all(str(src).startswith("figures/") for src in images)
    assert sum(t.type == "bullet_list_open" for t in tokens) == 1  # the warnings
    # Every table row is one line of the file (no cell opened a row): the Node table has
    # its header and seven rows (build, versions, CPU, memory, disk, max pods, image
    # pulls), the Admission table one row for the one refused workload, whatever its
    # message holds.
    rows: list[int] = []
    for t in tokens:
        if t.type == "table_open":
            rows.append(0)
        elif t.type == "tr_open":
            rows[-1] += 1
    lines = [line for line in md.splitlines() if line.startswith("|") and "---" not in line]
    assert sum(rows) == len(lines) and rows[:2] == [1 + 7, 1 + 1]
    texts = _inline_texts(tokens)
    whole = "\n".join(texts)
    for payload in (AGENT, APP, REFUSED, P["emphasis"], P["bare"], P["entity"], P["backslash"]):
        assert any(_shown(payload) in text for text in texts), payload
    for payload in (P["table"], P["autolink"], P["comment"], P["link"]):
        assert _shown(payload) in whole, payload
    assert f"Workload {_shown(REFUSED)} never runs: {P['emphasis']}: {P['bare']}" in whole
    assert f'1 pod still Pending at the end ("{P["autolink"]}")' in whole
    # The description keeps its lines, each one literal.
    assert texts[1] == DESCRIPTION.replace("    ", "")


def test_report_md_leaves_gfm_bare_urls_unlinked(reported):
    # GitHub links bare "scheme://", "www." and e-mail text (GFM autolinks): the report
    # escapes the character each needs, so none of them can be a link.
    md = (reported / "report.md").read_text()
    assert re.findall(r"(?<!\\):(?=//)", md) == []
    assert re.findall(r"(?i)www\.", md) == []
    assert re.findall(r"(?<!\\)@", md) == []


def test_md_literal_keeps_kubectls_words_readable_and_escapes_markup():
    message = 'pods "web-1" is forbidden: violates PodSecurity "baseline:latest": a (b=c)'
    assert md_literal(message) == message
    assert md_literal("1. x") == "1. x" and md_literal("1. x", line_start=True) == "1\\. x"
    assert md_literal("- x", line_start=True) == "\\- x"
    assert md_literal("a|b\n# c") == "a\\|b\\\\n\\# c"
    assert md_literal("\x1b[31m") == "\\\\x1b\\[31m"
    assert md_literal(P["image"]) == "\\!\\[b\\](http\\://evil.example/b.png)"


def test_admitted_line_quotes_every_name(hostile):
    # Without a refused pod the Admission section names every workload in a line of text.
    pods = hostile.pods
    res = dataclasses.replace(
        hostile, tables={**hostile.tables, "pods": pods[pods["phase"] != "Refused"]}
    )
    md = render_markdown(res, {}, {"versions": {"hpsim": "[v](javascript:x)"}})
    tokens = _parse(md)
    assert not {t.type for t in tokens} & {"link_open", "html_inline", "image"}
    texts = _inline_texts(tokens)
    assert f"All 2 workloads admitted: {AGENT}, {APP}." in texts
    assert any("hpsim [v](javascript:x)" in text for text in texts)


# -- report.html -------------------------------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.comments: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def test_report_html_payloads_are_text(reported):
    page = (reported / "report.html").read_text()
    parser = _Tags()
    parser.feed(page)
    allowed = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "table"}
    allowed |= {"tr", "th", "td", "ul", "li", "figure", "img", "figcaption"}
    assert {tag for tag, _ in parser.tags} <= allowed
    assert parser.comments == []
    for tag, attrs in parser.tags:
        for name, value in attrs:
            assert not name.startswith("on") and "javascript:" not in (value or ""), (tag, name)
            if tag == "img" and name == "src":
                assert str(value).startswith("data:image/png;base64,")
    blanks = [a for tag, a in parser.tags if tag == "p" and ("class", "blank") in a]
    assert sum(tag == "img" for tag, _ in parser.tags) + len(blanks) == len(FIGURES)
    assert parser.title == f"hpsim report: {NAME}"
    text = html.unescape(page)
    for payload in (*P.values(), AGENT, APP, REFUSED, DESCRIPTION):
        assert payload in text, payload
    assert "<img src=x" not in page and "<!-- hidden" not in page


def test_figures_draw_a_dollar_in_a_name_as_written(hostile):
    from hpsim.observe.plots import Plots

    plots = Plots(hostile)
    fig = plots.restarts()
    fig.canvas.draw()  # mathtext would raise on "$\frac{$"
    ax = fig.axes[0]
    assert ax.get_title().startswith(NAME)
    assert {t.get_text() for t in ax.get_yticklabels()} >= {AGENT, APP}


# -- hpsim validate ----------------------------------------------------------------------------

HOST_PROCESS_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: {namespace}
spec:
  hostNetwork: true
  securityContext:
    windowsOptions:
      hostProcess: true
      runAsUserName: "NT AUTHORITY\\\\SYSTEM\\e]0;pwned\\a"
  containers:
  - name: {container}
    image: contoso/agent:1
"""


def test_validate_prints_a_users_escape_sequence_escaped(tmp_path, capsys):
    # The file's name and runAsUserName carry escape sequences; both stay legal to load.
    path = tmp_path / "pod\x1b[31m.yaml"
    path.write_text(HOST_PROCESS_POD.format(name="web", namespace="apps", container="c"))
    assert main(["validate", str(path)]) == 1
    out, err = capsys.readouterr()
    assert "\x1b" not in out and "\x07" not in out and err == ""
    shown = str(tmp_path / "pod\\x1b[31m.yaml")
    lines = out.splitlines()
    assert lines[0] == f"{shown}: Pod apps/web: invalid"
    assert lines[1] == (
        '  The Pod "web" is invalid: spec.securityContext.windowsOptions.runAsUserName: '
        'Invalid value: "NT AUTHORITY\\\\SYSTEM\\x1b]0;pwned\\a": '
        "runAsUserName cannot contain control characters"
    )
    assert lines[-1] == "  container c: HostProcess as NT AUTHORITY\\SYSTEM\\x1b]0;pwned\\x07"
    # JSON keeps the value exact, escaped by json.dumps.
    assert main(["validate", "-o", "json", str(path)]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert json.loads(out)[0]["file"] == str(path)


def test_validate_never_sends_an_escape_sequence_in_a_name(tmp_path, capsys):
    # Names must be DNS-1123: a loader may refuse these (status 2) or validate may call them
    # invalid (status 1); either way no escape sequence reaches the terminal.
    path = tmp_path / "pod.yaml"
    path.write_text(
        HOST_PROCESS_POD.format(
            name='"web\\e[31mred"', namespace='"ns\\e[2J"', container='"c\\e[1m"'
        )
    )
    status = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert status in (1, 2)
    assert "\x1b" not in out + err
    if status == 1:
        assert out.startswith(f"{path}: Pod ns\\x1b[2J/web\\x1b[31mred: invalid\n")
        assert "  container c\\x1b[1m: HostProcess" in out
        assert 'container "c\\x1b[1m" must set' in out


def test_compare_and_the_summary_print_names_from_results_files_escaped(capsys):
    """A results folder is only files: a hand-edited run.json or summary.json may hold a
    terminal escape in a scenario or workload name. Printed, it is escaped."""
    res = hpsim.run(load_data(small()))
    evil = dataclasses.replace(res, scenario="x\x1b]0;pwned\x07")
    table = format_table(evil, evil, differences(evil, evil))
    assert "\x1b" not in table and "\x07" not in table
    assert "A: x\\x1b]0;pwned\\x07" in table
    print_summary({"start_latency_s_p50 \x1b[2J": 1.0})
    out = capsys.readouterr().out
    assert out == "start_latency_s_p50 \\x1b[2J  1.0 s\n"
