"""What kubectl prints, read: JSON Lists, watch streams, timestamps, kubelet's pull messages.

- ``kubectl get ... -o json`` prints one ``v1`` ``List`` whose ``items`` are the objects
  (k8s.io/cli-runtime pkg/printers JSONPrinter; kubectl get's ``printObj`` wraps several
  objects in a List). ``kubectl get ... --watch -o json`` prints one object per change,
  one after another, with no List and no separator; with ``--output-watch-events`` each is
  ``{"type": "ADDED"|"MODIFIED"|"DELETED", "object": {...}}`` (kubectl pkg/cmd/get
  get.go ``watch``, ``metav1.WatchEvent``). A file is read as a stream of JSON values
  (``json.JSONDecoder.raw_decode`` in a loop), which takes all three.
- A file cut short (a killed watch, a full disk) keeps every object completed before the
  cut; the cut is reported with its line and column, and nothing after it is guessed.
- Times are RFC 3339 (``metav1.Time``: whole seconds; ``metav1.MicroTime``: microseconds),
  Kubernetes API reference "ObjectMeta" and "Event v1 core".
- kubelet's Pulled event (k/k pkg/kubelet/images/image_manager.go
  ``(*imageManager).EnsureImageExists``) has had three wordings; :func:`parse_pulled`
  reads each.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hpsim.errors import HpsimError, excerpt
from hpsim.scenario.catalog import normal_image

# Our bound on one input file: kubectl's JSON for a cluster of thousands of pods is tens
# of MiB; a file past this is refused unread rather than held in memory.
MAX_INPUT_BYTES = 512 * 2**20


@dataclass
class ReadResult:
    """The objects of one file, in the order they appear, and what was wrong with it."""

    file: str
    objects: list[dict[str, Any]] = field(default_factory=list)
    # Objects a watch stream reported DELETED (``--output-watch-events``), by position.
    deleted: set[int] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _salvage_items(text: str, start: int, out: ReadResult, decoder: json.JSONDecoder) -> int:
    """The complete items of a List cut short: decode ``items`` one by one. Returns how
    many were read."""
    m = re.compile(r'"items"\s*:\s*\[').search(text, start)
    if m is None:
        return 0
    pos, n = m.end(), 0
    while True:
        pos = _skip_ws(text, pos)
        try:
            item, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            return n
        if isinstance(item, dict):
            out.objects.append(item)
            n += 1
        pos = _skip_ws(text, end)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        return n


def read_objects(path: str | Path, what: str) -> ReadResult:
    """Every Kubernetes object in a kubectl JSON file (List, single object or stream).

    Raises HpsimError when nothing can be read (not JSON, not kubectl's output); a file
    cut short keeps its complete objects and says where it was cut (``problems``).
    """
    p = Path(path)
    shown = str(path)
    try:
        size = p.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise HpsimError(
                f"{what} file is {size:,} bytes; hpsim reads at most {MAX_INPUT_BYTES:,}",
                file=shown,
            )
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise HpsimError(
            f"cannot read the {what} file: {exc.strerror or exc}", file=shown
        ) from None
    except UnicodeDecodeError as exc:
        raise HpsimError(
            f"the {what} file is not UTF-8 text (byte {exc.start}): give kubectl's -o json output",
            file=shown,
        ) from None
    out = ReadResult(file=shown)
    decoder = json.JSONDecoder()
    pos = _skip_ws(text, 0)
    values = 0
    while pos < len(text):
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            line, col = _line_col(text, exc.pos)
            salvaged = _salvage_items(text, pos, out, decoder)
            if values == 0 and salvaged == 0 and not out.objects and text[pos] not in "{[":
                raise HpsimError(
                    f"not JSON ({exc.msg} at line {line} column {col}): give the output of "
                    f"kubectl get ... -o json",
                    file=shown,
                    line=line,
                ) from None
            out.problems.append(
                f"{shown}: cut short or malformed at line {line} column {col} ({exc.msg}): "
                f"the {len(out.objects)} complete objects before it were read"
                + (f" ({salvaged} of them from the unfinished List)" if salvaged else "")
                + ", nothing after it"
            )
            return out
        values += 1
        _take(value, out, shown)
        pos = _skip_ws(text, end)
    if values == 0:
        raise HpsimError(f"the {what} file is empty", file=shown)
    return out


def _take(value: Any, out: ReadResult, shown: str) -> None:
    if isinstance(value, list):
        for v in value:
            _take(v, out, shown)
        return
    if not isinstance(value, dict):
        out.problems.append(f"{shown}: a JSON value that is not an object was skipped")
        return
    if isinstance(value.get("items"), list) and "kind" in value and value["kind"].endswith("List"):
        for item in value["items"]:
            _take(item, out, shown)
        return
    if set(value) >= {"type", "object"} and isinstance(value["object"], dict):
        # A watch event (kubectl --output-watch-events).
        if value["type"] == "DELETED":
            out.deleted.add(len(out.objects))
        out.objects.append(value["object"])
        return
    if "kind" not in value and "metadata" not in value:
        out.problems.append(
            f"{shown}: a JSON object that is no Kubernetes object (no kind, no metadata) "
            "was skipped"
        )
        return
    out.objects.append(value)


# -- times ----------------------------------------------------------------------------------

_TIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|z|[+-]\d{2}:?\d{2})$"
)


def parse_time(text: Any) -> datetime | None:
    """An RFC 3339 time (``metav1.Time`` or ``MicroTime``) as an aware datetime; None for
    null or what is not one."""
    if not isinstance(text, str):
        return None
    m = _TIME_RE.match(text.strip())
    if m is None:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    frac = float(m.group(7)) if m.group(7) else 0.0
    zone = m.group(8)
    if zone in ("Z", "z"):
        tz = timezone.utc
    else:
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        return datetime(y, mo, d, h, mi, s, tzinfo=tz) + timedelta(seconds=frac)
    except ValueError:
        return None


# -- Go durations ---------------------------------------------------------------------------

# Go's time.ParseDuration units (src/time/format.go unitMap): "us" and both micro signs.
_GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # U+00B5 MICRO SIGN: what Duration.String prints
    "μs": 1e-6,  # U+03BC GREEK SMALL LETTER MU: accepted by ParseDuration
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_GO_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_GO_DURATION = r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+|0"


def parse_go_duration(text: str) -> float:
    """Seconds from Go's ``time.Duration`` text (``String()`` output, or anything
    ``time.ParseDuration`` takes: Go src/time/time.go ``Duration.String``, format.go
    ``ParseDuration``): ``13m53.4s`` -> 833.4, ``850ms`` -> 0.85, ``0`` -> 0.

    Raises ValueError on anything else (Go's ParseDuration refuses the same).
    """
    s = text.strip()
    sign = -1.0 if s.startswith("-") else 1.0
    body = s[1:] if s[:1] in "+-" and s else s
    if body == "0":
        return 0.0
    pos, total = 0, 0.0
    while pos < len(body) and (part := _GO_PART.match(body, pos)):
        total += float(part.group(1)) * _GO_UNITS[part.group(2)]
        pos = part.end()
    if not body or pos != len(body):
        raise ValueError(f"invalid Go duration {text.strip()[:40]!r}")
    return sign * total + 0.0


# -- kubelet's Pulled event -----------------------------------------------------------------

# k/k pkg/kubelet/images/image_manager.go (*imageManager).EnsureImageExists, in the order
# kubelet's releases used them (hpsim.calibrate.kubelet dates them by their pull requests):
#   fmt.Sprintf("Successfully pulled image %q in %v", container.Image, time.Since(startTime))
#   fmt.Sprintf("Successfully pulled image %q in %v (%v including waiting)",
#       container.Image, imagePullResult.pullDuration.Truncate(time.Millisecond),
#       time.Since(startTime).Truncate(time.Millisecond))
#   fmt.Sprintf("Successfully pulled image %q in %v (%v including waiting). Image size: %v bytes.",
#       imgRef, imagePullResult.pullDuration.Truncate(time.Millisecond), imagePullDuration,
#       imagePullResult.imageSize)
# pullDuration is the runtime's PullImage call; the time "including waiting" runs from
# EnsureImageExists' start, so it adds the wait in kubelet's puller queue (serialized
# pulls). In the oldest form the one duration is that whole time. imageSize is the size
# the runtime reports for the image (containerd: compressed).
_PULLED = re.compile(
    r'Successfully pulled image "(?P<image>(?:[^"\\]|\\.)*)"'
    rf"(?: in (?P<pull>{_GO_DURATION})"
    rf"(?: \((?P<wait>{_GO_DURATION}) including waiting\)"
    r"(?:\. Image size: (?P<size>[0-9]+) bytes\.?)?)?)?\s*"
)
_PRESENT_RE = re.compile(r'^Container image "(?P<image>[^"]+)" already present on machine')


@dataclass(frozen=True)
class Pulled:
    """One "Successfully pulled image" message, read.

    ``pull_s`` is kubelet's first duration. With the "including waiting" wording it is
    the pull itself and ``including_waiting_s`` the time since kubelet asked for the
    image (its queue included); with the older wording ``including_waiting_s`` is None
    and ``pull_s`` *includes* any wait in kubelet's queue (``includes_waiting``).
    ``size_bytes``: the CRI image size, in the newest wording only.
    """

    image: str
    pull_s: float
    including_waiting_s: float | None = None
    size_bytes: int | None = None

    @property
    def includes_waiting(self) -> bool:
        return self.including_waiting_s is None


def _unquote_go(text: str) -> str:
    """The image of a Go ``%q``: its escapes undone (a reference rarely has any)."""
    if "\\" not in text:
        return text
    try:
        out = json.loads(f'"{text}"')
    except ValueError:
        return text
    return out if isinstance(out, str) else text


def parse_pulled(message: str) -> Pulled | None:
    """A kubelet ``Pulled`` message read, in any wording that gives a duration; None for
    anything else ("Container image ... already present on machine", the wording
    without a duration, other text)."""
    m = _PULLED.fullmatch(message.strip())
    if m is None or m.group("pull") is None:
        return None
    try:
        pull = parse_go_duration(m.group("pull"))
        wait = parse_go_duration(m.group("wait")) if m.group("wait") is not None else None
    except ValueError:
        return None
    size = int(m.group("size")) if m.group("size") is not None else None
    return Pulled(_unquote_go(m.group("image")), pull, wait, size)


def already_present(message: str) -> str | None:
    """The image of a "Container image ... already present on machine" message."""
    m = _PRESENT_RE.match(message.strip())
    return m.group("image") if m else None


__all__ = [
    "MAX_INPUT_BYTES",
    "Pulled",
    "ReadResult",
    "already_present",
    "excerpt",
    "normal_image",
    "parse_go_duration",
    "parse_pulled",
    "parse_time",
    "read_objects",
]
