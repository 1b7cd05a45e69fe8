"""What kubelet says about its pulls: the "Successfully pulled image" event, read back.

kubelet's image manager records a ``Pulled`` event (reason ``events.PulledImage``) when a
pull succeeds (kubernetes/kubernetes pkg/kubelet/images/image_manager.go
``EnsureImageExists``, and the helper later versions moved the pull into).
Its wording, by kubelet version:

- before v1.19: ``Successfully pulled image "<image>"`` -- no duration (kubernetes/
  kubernetes#91560): nothing to calibrate with, :func:`parse_pulled` returns None;
- v1.19 to v1.25: ``Successfully pulled image "<image>" in <d>``, ``d = time.Since(startTime)``
  untruncated (``49.657983991s``), added by kubernetes/kubernetes#91563 (2020-06). The start
  is taken before the request enters kubelet's puller, so with serialized pulls (the
  default) ``d`` includes the wait behind other pulls (kubernetes/kubernetes#111704);
- v1.26 on (and the 1.24/1.25 patch releases of early 2023, cherry-picks #114272/#114271):
  ``Successfully pulled image "<image>" in <p> (<w> including waiting)``, kubernetes/
  kubernetes#111772 (2022-08): ``p`` is the puller's own ``pullDuration`` (the CRI
  PullImage call, pkg/kubelet/images/puller.go), ``w`` the time since the request, both
  truncated to milliseconds;
- v1.30 on: ``... (<w> including waiting). Image size: <n> bytes.``, kubernetes/
  kubernetes#121719 (reviewed 2023-11 to 2024-01; the release is read from its dates, not
  from a tag): ``n`` is the CRI image size, the compressed size containerd reports
  (containerd internal/cri/store/image/image.go ``Size``), fetched after the pull and
  counted in ``p``.

Durations are Go ``time.Duration.String()`` text (``13m53.412s``, ``1h2m3s``, ``850ms``,
``1.5µs``, ``0s``): :func:`parse_go_duration`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from hpsim.errors import HpsimError, excerpt
from hpsim.importer.kubectl import Pulled, parse_go_duration, parse_pulled, read_objects
from hpsim.importer.write import PULLS_COLUMNS
from hpsim.scenario.csvtable import read_table

__all__ = ["Pulled", "parse_go_duration", "parse_pulled"]

PULLED_PREFIX = "Successfully pulled image"


# -- observed pulls ------------------------------------------------------------------------


@dataclass(frozen=True)
class ObservedPull:
    """A pull as observed: ``observed/pulls.csv``'s row, or a Pulled event read.

    ``time_s``: when the pull ended (the Pulled event), seconds on any clock shared by
    the rows; None when unknown. ``where``: the file and line (or event) it came from.
    """

    image: str
    pull_s: float
    node: str = ""
    pod: str = ""
    bytes: int | None = None
    including_waiting_s: float | None = None
    time_s: float | None = None
    where: str = ""
    pool: str = ""  # the node's pool, where the table says (hpsim import's pool column)

    @property
    def includes_waiting(self) -> bool:
        """kubelet before v1.26 gave one duration, the wait in its queue included."""
        return self.including_waiting_s is None

    @property
    def label(self) -> str:
        parts = [self.image]
        if self.pod:
            parts.append(f"pod {self.pod}")
        if self.node:
            parts.append(f"node {self.node}")
        return ", ".join(parts)


_REQUIRED = ("image", "pull_s")
PULLS_CSV_LIMIT = 64 * 2**20  # our bound: a table of pulls far past any cluster's events


def _number(text: str, *, file: str, line: int, column: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise HpsimError(
            f"not a number: '{excerpt(text)}'", file=file, line=line, field=column
        ) from None
    if not math.isfinite(value) or value < 0:
        raise HpsimError(
            f"must be a finite number, 0 or more (found '{excerpt(text)}')",
            file=file,
            line=line,
            field=column,
        )
    return value


def read_pulls_csv(path: str | Path) -> list[ObservedPull]:
    """``observed/pulls.csv``: columns node, pod, image, bytes, pull_s, including_waiting_s,
    time_s, pool (image and pull_s required; empty cells are unknowns)."""
    table = read_table(
        Path(path),
        required=_REQUIRED,
        expected=PULLS_COLUMNS,
        hint=f"columns: {', '.join(PULLS_COLUMNS)}",
        limit=PULLS_CSV_LIMIT,
        kind="pulls table",
    )
    shown, col = table.shown, table.col
    out: list[ObservedPull] = []
    for line, row in table.rows():

        def cell(name: str, row: list[str] = row) -> str:
            i = col.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        image = cell("image")
        if not image:
            raise HpsimError("empty image", file=shown, line=line, field="image")
        pull = _number(cell("pull_s"), file=shown, line=line, column="pull_s")
        if pull is None:
            raise HpsimError("empty pull_s", file=shown, line=line, field="pull_s")
        size = _number(cell("bytes"), file=shown, line=line, column="bytes")
        out.append(
            ObservedPull(
                image=image,
                pull_s=pull,
                node=cell("node"),
                pod=cell("pod"),
                bytes=int(size) if size is not None else None,
                including_waiting_s=_number(
                    cell("including_waiting_s"), file=shown, line=line, column="including_waiting_s"
                ),
                time_s=_number(cell("time_s"), file=shown, line=line, column="time_s"),
                where=f"{shown}:{line}",
                pool=cell("pool"),
            )
        )
    return out


# -- kubectl get events -o json --------------------------------------------------------------

# Reasons whose counts the events give beside the pulls, to hold a run's figures against
# (kubelet pkg/kubelet/events/event.go: StartedContainer "Started", KillingContainer
# "Killing", BackOffStartContainer "BackOff"; the eviction manager's "Evicted"
# (pkg/kubelet/eviction/eviction_manager.go Reason); kube-scheduler's "FailedScheduling").
FIGURE_REASONS = ("Started", "Killing", "BackOff", "Evicted", "FailedScheduling")


def _latest(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each event once, in its last state: a ``--watch`` stream repeats an event each time
    its ``count`` grows (the recorder's EventCorrelator updates it), and counting every
    copy would count its earlier occurrences again. Events are told apart by
    ``metadata.uid``; one without is its own."""
    latest: dict[object, dict[str, Any]] = {}
    for i, obj in enumerate(objects):
        meta = obj.get("metadata")
        uid = meta.get("uid") if isinstance(meta, dict) else None
        latest[uid if isinstance(uid, str) and uid else i] = obj
    return list(latest.values())


def _timestamp(event: dict[str, Any]) -> float | None:
    for key in ("lastTimestamp", "eventTime", "firstTimestamp"):
        text = event.get(key)
        if isinstance(text, str) and text:
            break
    else:
        meta = event.get("metadata")
        text = meta.get("creationTimestamp") if isinstance(meta, dict) else None
        if not isinstance(text, str) or not text:
            return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class EventsRead:
    """What an events file gives: the pulls, and the counts of the figures' reasons."""

    pulls: list[ObservedPull]
    figures: dict[str, int]
    events: int
    problems: list[str] = field(default_factory=list)  # a file cut short: where


def read_events(path: str | Path) -> EventsRead:
    """``kubectl get events -A -o json`` (a List, or a ``--watch`` stream): the Pulled
    events with a duration become pulls (node from ``source.host`` or
    ``reportingInstance``, pod ``namespace/name`` from ``involvedObject``, ``time_s``
    from the event's time, counted from the first pull), and Started, Killing, BackOff,
    Evicted and FailedScheduling are counted (each event's ``count`` included)."""
    shown = str(path)
    read = read_objects(path, "events")  # hpsim import's reader: Lists, streams, cut files
    figures = dict.fromkeys(FIGURE_REASONS, 0)
    found: list[tuple[ObservedPull, float | None]] = []
    seen = 0
    for i, event in enumerate(_latest(read.objects)):
        seen += 1
        reason = _text(event.get("reason"))
        count = event.get("count")
        times = count if isinstance(count, int) and count > 0 else 1
        if reason in figures:
            figures[reason] += times
        message = _text(event.get("message")) or _text(event.get("note"))
        if reason != "Pulled" or not message.startswith(PULLED_PREFIX):
            continue
        pulled = parse_pulled(message)
        if pulled is None:
            continue
        obj = event.get("involvedObject") or event.get("regarding") or {}
        obj = obj if isinstance(obj, dict) else {}
        source = event.get("source") if isinstance(event.get("source"), dict) else {}
        node = _text(source.get("host")) if source else ""
        node = node or _text(event.get("reportingInstance"))
        ns, name = _text(obj.get("namespace")), _text(obj.get("name"))
        pod = f"{ns}/{name}" if ns and name else name
        pull = ObservedPull(
            image=pulled.image,
            pull_s=pulled.pull_s,
            node=node,
            pod=pod,
            bytes=pulled.size_bytes,
            including_waiting_s=pulled.including_waiting_s,
            where=f"{shown}: event {i + 1}",
        )
        found.append((pull, _timestamp(event)))
    stamps = [t for _, t in found if t is not None]
    origin = min(stamps) if stamps else 0.0
    pulls = [pull if t is None else _with_time(pull, t - origin) for pull, t in found]
    return EventsRead(pulls=pulls, figures=figures, events=seen, problems=read.problems)


def _with_time(pull: ObservedPull, time_s: float) -> ObservedPull:
    return replace(pull, time_s=time_s)
