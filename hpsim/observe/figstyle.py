"""What every figure shares: colours by meaning, units on the axes, limits fitted to the data,
legends outside it, scenario text drawn as written, and PNG bytes.

Axes are fitted to the data: a node's limit (allocatable, RAM, the volume's size, GC
and eviction thresholds) is drawn when it lies within ``FIT_REACH`` times the data's
peak, and otherwise named in the legend as above the axis, with its value, so that a
node using 4 GiB of 32 does not squash its data into the bottom tenth.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MultipleLocator

GIB = 2**30
MIB = 2**20
# A limit line up to this many times the data's peak is drawn inside the axes; one further
# up is named in the legend instead (the axis would squash the data into its bottom).
FIT_REACH = 2.0
FIT_HEADROOM = 1.08
# Text properties for every text holding a scenario's or a record's string: matplotlib parses
# "$...$" as mathtext (Text.set_parse_math) and hands all text to LaTeX when the rcParam
# text.usetex is on (Text.set_usetex); both off, the string is shown character for character.
LITERAL: dict[str, Any] = {"parse_math": False, "usetex": False}

# Colours by meaning, kept the same across figures.
STATE_COLOURS = {
    "pending": "#c7c7c7",
    "creating": "#9ecae1",
    "pulling": "#3182bd",
    "running": "#31a354",
    "back-off": "#e6550d",
    "terminating": "#756bb1",
    "failed": "#67000d",
}
STATE_LABELS = {
    "pending": "pending (not bound)",
    "creating": "creating",
    "pulling": "pulling images",
    "running": "running",
    "back-off": "back-off (CrashLoopBackOff, ImagePullBackOff)",
    "terminating": "terminating",
    "failed": "failed or evicted, not yet deleted (right axis)",
}
# Marks on the timeline's node row, by what happened.
MARK_COLOURS = {
    "evicted": "#a50f15",
    "image GC": "#fd8d3c",
    "FreeDiskSpaceFailed": "#7f2704",
    "disk pressure": "#fcbba1",
    "rollout, scale": "#54278f",
}
REASON_COLOURS = ("#3182bd", "#e6550d", "#31a354", "#756bb1", "#de2d26", "#636363", "#bdbdbd")
OWNER_COLOURS = {
    "os": "#bdbdbd",
    "content_store": "#6baed6",
    "snapshots": "#2171b5",
    "scratch": "#74c476",
    "logs": "#fd8d3c",
    "empty_dir": "#fdd0a2",
    "host_writes": "#de2d26",
}
OWNER_LABELS = {
    "os": "Windows (OS)",
    "content_store": "containerd content store",
    "snapshots": "unpacked snapshots",
    "scratch": "container scratch (sandbox.vhdx)",
    "logs": "container logs",
    "empty_dir": "emptyDir volumes",
    "host_writes": "HostProcess host-path writes",
}


def register_ipython_png() -> None:
    """Let IPython show a bare Figure as PNG (pyplot's inline backend is not involved)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["image/png"]
    formatter.for_type(Figure, lambda fig: figure_png(fig))


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    # Constrained layout already fits the labels and outside legends: no "tight" second pass.
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def hours_axis(ax: Any, duration: float) -> str:
    """Time axis in the unit that reads best for the run's length; returns the unit."""
    if duration <= 2 * 3600:
        unit, div = "min", 60.0
    elif duration <= 3 * 86400:
        unit, div = "h", 3600.0
    else:
        unit, div = "days", 86400.0
    ax.xaxis.set_major_locator(MultipleLocator(nice_step(duration / div) * div))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x / div:g}"))
    ax.set_xlabel(f"time ({unit})")
    ax.set_xlim(0, duration)
    return unit


def nice_step(span: float, ticks: int = 8) -> float:
    """A tick step of 1, 2 or 5 times a power of ten giving about ``ticks`` ticks."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def gib_axis(ax: Any, label: str) -> None:
    """Bytes shown in GiB at round GiB ticks (call once the axis' range is set)."""
    top = ax.get_ylim()[1]
    ax.yaxis.set_major_locator(MultipleLocator(nice_step(top / GIB, 6) * GIB))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: f"{y / GIB:g}"))
    ax.set_ylabel(f"{label} (GiB)")


Limit = tuple[Any, str, str, str]  # (value, label, colour, line style)


def fit(ax: Any, limits: list[Limit], words: Callable[[float], str]) -> float:
    """Fit the y axis to what is drawn so far and draw the limits within reach of it.

    A limit up to ``FIT_REACH`` times the data's peak is a line in the axes; one above
    that is named in the legend (``"RAM: 32 GiB, above the axis"``) and not drawn, so
    the data keeps the height. Returns the axis' top.
    """
    values = [float(v) for v, *_ in limits if v is not None and float(v) > 0]
    peak = float(ax.dataLim.y1) if np.isfinite(ax.dataLim.y1) else 0.0
    # With no data there is nothing to squash: every limit is drawn.
    reach = FIT_REACH * peak if peak > 0 else max(values, default=1.0)
    top = max(peak, *[v for v in values if v <= reach], 0.0) or 1.0
    for value, label, colour, style in limits:
        if value is None or float(value) <= 0:
            continue
        if float(value) <= reach:
            ax.axhline(float(value), color=colour, linestyle=style, linewidth=1, label=label)
        else:
            ax.plot(
                [],
                [],
                color=colour,
                linestyle=style,
                linewidth=1,
                label=f"{label}: {words(float(value))}, above the axis",
            )
    top *= FIT_HEADROOM
    ax.set_ylim(0, top)
    return top


def legend_below(fig: Figure, ax: Any, ncols: int = 3, fontsize: int = 8) -> None:
    """The axes' legend under the figure, outside the data."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", fontsize=fontsize, ncols=ncols)


def sentence_figure(sentence: str, title: str) -> Figure:
    """A figure with nothing to show: its sentence in place of axes."""
    fig = Figure(figsize=(8, 1.6), layout="constrained")
    ax = fig.add_subplot()
    ax.text(0.5, 0.5, sentence, ha="center", va="center", wrap=True, **LITERAL)
    ax.set_axis_off()
    ax.set_title(title, **LITERAL)
    return fig


def short(text: Any, limit: int = 48) -> str:
    """A long name (an image reference) cut at the front: its tail tells it apart."""
    s = str(text)
    return s if len(s) <= limit else "…" + s[-(limit - 1) :]


def gib_words(v: float) -> str:
    return f"{v / GIB:.1f} GiB"
