"""Sequential stopping: replicate until a metric's 95% half-width is small enough.

``--until "p95_start_s:±5%"`` asks for the half-width of ``start_latency_s_p95``
to be at most 5% of its mean; ``start_latency_s_p95:±2`` for at most 2 (the
metric's own unit). The rule is checked in replication order: the run stops
at the smallest n (at least ``min_replications``) whose first n replications
meet it, so the result equals an ordinary run of n replications, whichever
executor ran them and however many it ran ahead (the batches' surplus is
dropped). See Law, *Simulation Modeling and Analysis*, 5th ed., §9.4.1 (the
sequential procedure for a relative precision).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hpsim.errors import HpsimError
from hpsim.observe.stats import interval

#: The numeric headline numbers of one run (``summarize`` plus the run's own).
METRICS = (
    "pods_created",
    "pods_refused",
    "pods_started",
    "pods_per_node_max",
    "pods_pending_at_end",
    "pending_s_mean",
    "pending_s_p95",
    "start_latency_s_p50",
    "start_latency_s_p95",
    "fresh_node_all_running_s",
    "restarts_total",
    "alloc_failures_total",
    "images_pulled",
    "image_content_bytes_end",
    "image_snapshot_bytes_end",
    "disk_actual_bytes_peak",
    "disk_accounted_bytes_peak",
    "disk_gap_bytes_peak",
    "disk_gap_bytes_end",
    "disk_host_writes_bytes_end",
    "disk_full_s",
    "first_eviction_s",
    "evictions",
    "image_gc_deleted",
    "image_gc_believed_freed_bytes",
    "image_gc_actual_freed_bytes",
    "image_gc_failures",
    "cpu_allocated_millicores_mean",
    "memory_committed_bytes_peak",
    "image_bytes_peak",
    "aligned_bases_saving_bytes",
)

_STATS = ("p50", "p95", "p99", "mean", "peak", "end", "total", "max")
# Short words users write for the long metric stems.
_STEMS = {"start_s": "start_latency_s", "start": "start_latency_s", "pending": "pending_s"}

MIN_REPLICATIONS = 3
MAX_REPLICATIONS = 100


def metric_key(name: str, field: str = "--until") -> str:
    """The summary key a user's metric name means: ``p95_start_s`` -> ``start_latency_s_p95``;
    an unknown one is an error naming ``field`` (the option it came in) with a close match."""
    raw = name.strip()
    norm = raw.replace("-", "_").lower()
    candidates = [norm]
    m = re.fullmatch(rf"({'|'.join(_STATS)})_(.+)", norm)
    if m:
        stat, stem = m.groups()
        candidates += [f"{stem}_{stat}", f"{_STEMS.get(stem, stem)}_{stat}"]
    m = re.fullmatch(rf"(.+)_({'|'.join(_STATS)})", norm)
    if m:
        stem, stat = m.groups()
        candidates.append(f"{_STEMS.get(stem, stem)}_{stat}")
    for c in candidates:
        if c in METRICS:
            return c
    near = next(
        (m for c in reversed(candidates) for m in difflib.get_close_matches(c, METRICS, 1, 0.6)),
        None,
    )
    hint = f' (did you mean "{near}"?)' if near else ""
    raise HpsimError(f'unknown metric "{raw}"{hint}; metrics: {", ".join(METRICS)}', field=field)


@dataclass(frozen=True)
class Until:
    """Stop when ``metric``'s 95% half-width is at most ``target`` (a fraction if relative)."""

    metric: str
    target: float
    relative: bool
    text: str = ""

    def met(self, values: Sequence[Any]) -> bool:
        """Whether these replications' values meet the target."""
        iv = interval([v for v in values if isinstance(v, int | float)])
        hw, mean = iv["half_width"], iv["mean"]
        if hw is None or mean is None:
            return False
        limit = self.target * abs(mean) if self.relative else self.target
        return hw <= limit

    def stop_at(self, values: Sequence[Any], minimum: int) -> int | None:
        """The smallest n >= ``minimum`` whose first n values meet the target, else None."""
        for n in range(max(2, minimum), len(values) + 1):
            if self.met(values[:n]):
                return n
        return None

    def describe(self) -> str:
        target = f"{self.target * 100:g}%" if self.relative else f"{self.target:g}"
        return f"{self.metric} half-width <= {target}"


def parse_until(text: str) -> Until:
    """``"p95_start_s:±5%"``, ``"p95_start_s:+-5%"`` or ``"start_latency_s_p95:±2"``."""
    if ":" not in text:
        raise HpsimError(
            f'expected METRIC:±TARGET, e.g. "p95_start_s:±5%" (got "{text}")', field="--until"
        )
    name, target = text.rsplit(":", 1)
    metric = metric_key(name)
    t = target.strip()
    for lead in ("±", "+/-", "+-"):
        if t.startswith(lead):
            t = t[len(lead) :].strip()
            break
    relative = t.endswith("%")
    if relative:
        t = t[:-1].strip()
    try:
        value = float(t)
    except ValueError:
        raise HpsimError(
            f'target "{target}" is not a number or a percentage (e.g. ±5% or ±2)',
            field="--until",
        ) from None
    if not value > 0 or value == float("inf"):
        raise HpsimError(f'target "{target}" must be above 0', field="--until")
    return Until(metric, value / 100 if relative else value, relative, text)
