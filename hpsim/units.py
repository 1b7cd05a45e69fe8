"""Kubernetes quantities, durations and rates, parsed exactly.

Quantities follow k8s.io/apimachinery/pkg/api/resource (quantity.go,
``parseQuantityString`` and ``quantitySuffixer``): a signed decimal number
(``2``, ``0.5``, ``.1``, ``1.``) followed by one suffix, either binary SI
(``Ki Mi Gi Ti Pi Ei``), decimal SI (``n u m k M G T P E``) or a decimal
exponent (``e6``, ``E-3``). Values are kept as exact fractions; ``Value()``
and ``MilliValue()`` round *up* to the next integer, as ``ScaledValue`` does,
so the legal-but-odd memory ``800m`` (0.8 byte) becomes 1 byte.

Durations accept Go's ``time.ParseDuration`` units (``ns us ms s m h``,
combinable as in ``1h30m``) plus ``d`` for days; a bare number is seconds.
Data rates are a quantity of bytes (or ``bit``) per time unit
(``500Mbit/s``, ``60MiB/s``, ``20Mi/h``); event rates are a count per time
unit (``3/h``).
"""

from __future__ import annotations

import json
import math
import re
from fractions import Fraction

__all__ = [
    "QuantityError",
    "go_duration",
    "parse_cpu_millicores",
    "parse_data_rate",
    "parse_duration",
    "parse_event_rate",
    "parse_memory_bytes",
    "parse_quantity",
]


class QuantityError(ValueError):
    """A value that is not one of the accepted forms; the message shows both."""


_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
# The number part of quantity.go's grammar: <sign><digits>[.<digits>], with at
# least one digit on either side of the point ("1.", ".5" and "1.5" all parse).
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_QUANTITY_RE = re.compile(
    r"(?P<sign>[+-]?)(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?"
)
# 2^63-1: what Quantity.Value() can return; a BinarySI quantity is capped here
# at parse time (quantity.go "8Ei parses as 2^63-1").
_MAX_INT64 = 2**63 - 1
# Digits of a power of ten that surely exceeds int64 (or is surely below a nano):
# past these the value is not computed, so "1e999999999" costs nothing.
_MAGNITUDE_LIMIT = 40
_NANO = Fraction(1, 10**9)
_MAX_QUANTITY_CHARS = 1000

QUANTITY_FORMS = "a Kubernetes quantity such as 128974848, 129e6, 129M, 123Mi or 1Gi"
CPU_FORMS = "a Kubernetes CPU quantity such as 100m, 0.5, .1 or 2"
DURATION_FORMS = "a duration such as 90s, 15m, 2h, 7d or 1h30m (a bare number is seconds)"
DATA_RATE_FORMS = "a data rate such as 500Mbit/s, 60MiB/s or 20Mi/h"
EVENT_RATE_FORMS = "an event rate such as 3/h, 10/min or 0.5/s"


def _text(value: object) -> str:
    """The text of a YAML scalar, as the API server would see it (not stripped)."""
    if isinstance(value, bool):
        raise QuantityError(f"{value!r} is a boolean")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QuantityError(f"{value!r} is not a finite number")
        return repr(value)
    if isinstance(value, str):
        return value
    raise QuantityError(f"{value!r} is a {type(value).__name__}")


def _quote(text: str) -> str:
    """The value as written, quoted, with whitespace and control characters visible."""
    return json.dumps(text if len(text) <= 60 else text[:57] + "...", ensure_ascii=False)


def _round_away(value: Fraction, step: Fraction) -> Fraction:
    """``value`` rounded away from zero to a multiple of ``step`` (inf.RoundUp)."""
    n = value / step
    whole = -((-abs(n.numerator)) // n.denominator)
    return (whole if value >= 0 else -whole) * step


def parse_quantity(value: object, forms: str = QUANTITY_FORMS) -> Fraction:
    """Parse a Kubernetes quantity into an exact fraction, as ``ParseQuantity`` does.

    Like quantity.go, a non-zero value finer than a nano is rounded away from
    zero to a multiple of 1n (``0.9n`` -> ``1n``), and a BinarySI value above
    2^63-1 is capped there (``8Ei`` -> 2^63-1). Two departures, both refusals
    of input Kubernetes would take: a number without digits (``Mi``, ``.``,
    ``e3``), which the grammar forbids but ParseQuantity reads as zero
    (kubernetes/apimachinery#165); and a decimal value above 2^63-1, which
    ``Value()`` cannot return.
    """
    try:
        text = _text(value)
    except QuantityError as exc:
        raise QuantityError(f"invalid quantity: {exc}; expected {forms}") from None
    match = _QUANTITY_RE.fullmatch(text) if len(text) <= _MAX_QUANTITY_CHARS else None
    if not match or not (match["int"] or match["frac"]):
        raise QuantityError(f"invalid quantity {_quote(text)}: expected {forms}")
    digits = (match["int"] or "") + (match["frac"] or "")
    suffix = match["suffix"] or ""
    if not digits.strip("0"):
        return Fraction(0)
    negative = match["sign"] == "-"
    # Decimal order of magnitude of the digits, then of the suffix.
    magnitude = len((match["int"] or "").lstrip("0")) or -(
        len(digits) - len(digits.lstrip("0")) - len(match["int"] or "")
    )
    if suffix in _BINARY:
        magnitude += math.ceil(math.log10(_BINARY[suffix]))
    elif suffix in _DECIMAL:
        magnitude += round(math.log10(_DECIMAL[suffix]))
    else:
        exponent_text = suffix[1:].lstrip("+-").lstrip("0")
        if len(exponent_text) > 6:
            magnitude = _MAGNITUDE_LIMIT + 1 if suffix[1] != "-" else -_MAGNITUDE_LIMIT - 1
        else:
            magnitude += int(suffix[1:])
    if magnitude > _MAGNITUDE_LIMIT and suffix not in _BINARY:
        raise QuantityError(f"invalid quantity {_quote(text)}: too large (more than 2^63-1)")
    if magnitude < -_MAGNITUDE_LIMIT:
        return -_NANO if negative else _NANO
    number = Fraction(int(digits), 10 ** len(match["frac"] or ""))
    if suffix in _BINARY:
        q = number * _BINARY[suffix]
        q = min(q, Fraction(_MAX_INT64))
    elif suffix in _DECIMAL:
        q = number * _DECIMAL[suffix]
    else:
        q = number * Fraction(10) ** int(suffix[1:])
    if q > _MAX_INT64:
        raise QuantityError(f"invalid quantity {_quote(text)}: too large (more than 2^63-1)")
    q = _round_away(q, _NANO)
    return -q if negative else q


def _ceil(value: Fraction) -> int:
    return -((-value.numerator) // value.denominator)


def parse_memory_bytes(value: object, *, allow_zero: bool = True) -> int:
    """Bytes as ``Quantity.Value()`` gives them: rounded up to a whole byte."""
    q = parse_quantity(value)
    if q < 0 or (q == 0 and not allow_zero):
        bound = "must not be negative" if q < 0 else "must be greater than zero"
        raise QuantityError(f"invalid quantity {_quote(_text(value))}: {bound}")
    return _ceil(q)


def parse_cpu_millicores(value: object) -> int:
    """Millicores as ``Quantity.MilliValue()`` gives them: rounded up."""
    q = parse_quantity(value, CPU_FORMS)
    if q < 0:
        raise QuantityError(f"invalid CPU quantity {_quote(_text(value))}: must not be negative")
    millis = _ceil(q * 1000)
    if millis > _MAX_INT64:
        raise QuantityError(
            f"invalid CPU quantity {_quote(_text(value))}: too large (more than 2^63-1 millicores)"
        )
    return millis


_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
# One way to read each number (no backtracking between alternatives): a long run
# of digits without a unit must fail in linear time, not cubic.
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h|d)")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def _finite(x: float, what: str, text: str) -> float:
    if not math.isfinite(x):
        raise QuantityError(f"invalid {what} {_quote(text)}: too large")
    return x


def parse_duration(value: object) -> float:
    """Seconds from ``90s``, ``15m``, ``2h``, ``7d``, ``1h30m`` or a number."""
    try:
        text = _text(value).strip()
    except QuantityError as exc:
        raise QuantityError(f"invalid duration: {exc}; expected {DURATION_FORMS}") from None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # A YAML number is seconds, whatever its notation (1.0e-05 has no unit form).
        try:
            seconds = float(value)
        except OverflowError:
            seconds = math.inf
    else:
        if _PLAIN_NUMBER.fullmatch(text):
            seconds = float(text)
        else:
            # Go's time.ParseDuration: an optional sign, then <number><unit> parts.
            sign = -1.0 if text.startswith("-") else 1.0
            body = text[1:] if text[:1] in ("+", "-") else text
            pos, seconds = 0, 0.0
            while pos < len(body) and (part := _DURATION_PART.match(body, pos)):
                seconds += float(part.group(1)) * _DURATION_UNITS[part.group(2)]
                pos = part.end()
            if pos != len(body) or not body:
                raise QuantityError(f"invalid duration {_quote(text)}: expected {DURATION_FORMS}")
            seconds *= sign
    seconds += 0.0  # -0.0 -> 0.0
    if seconds < 0:
        raise QuantityError(f"invalid duration {_quote(text)}: must not be negative")
    return _finite(seconds, "duration", text)


_PER_UNIT = {"s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DATA_RATE_RE = re.compile(rf"({_NUMBER})(Ki|Mi|Gi|Ti|Pi|Ei|[kKMGTPE])?(bit|B)?/(s|sec|min|m|h|d)")
_EVENT_RATE_RE = re.compile(rf"({_NUMBER})/(s|sec|min|m|h|d)")


def _is_zero(value: object) -> bool:
    """A bare 0 needs no unit: ``memoryGrowth: 0``."""
    if isinstance(value, bool):
        return False
    return (isinstance(value, int | float) and value == 0) or (
        isinstance(value, str) and value.strip() in ("0", "0.0")
    )


def parse_data_rate(value: object) -> float:
    """Bytes per second from ``500Mbit/s``, ``60MiB/s``, ``20Mi/h``, ``1GB/d`` (or a bare 0)."""
    if _is_zero(value):
        return 0.0
    try:
        text = _text(value).replace(" ", "")
    except QuantityError as exc:
        raise QuantityError(f"invalid data rate: {exc}; expected {DATA_RATE_FORMS}") from None
    match = _DATA_RATE_RE.fullmatch(text)
    if not match:
        raise QuantityError(f"invalid data rate {_quote(text)}: expected {DATA_RATE_FORMS}")
    number, prefix, unit, per = match.groups()
    prefix = "k" if prefix == "K" else (prefix or "")
    scale = _BINARY.get(prefix) or _DECIMAL[prefix]
    amount = Fraction(number) * scale
    if unit == "bit":
        amount /= 8
    if amount < 0:
        raise QuantityError(f"invalid data rate {_quote(text)}: must not be negative")
    try:
        per_second = float(amount) / _PER_UNIT[per]
    except OverflowError:
        per_second = math.inf
    return _finite(per_second, "data rate", text)


def parse_event_rate(value: object) -> float:
    """Events per second from ``3/h``, ``10/min``, ``0.5/s`` (or a bare 0)."""
    if _is_zero(value):
        return 0.0
    try:
        text = _text(value).replace(" ", "")
    except QuantityError as exc:
        raise QuantityError(f"invalid event rate: {exc}; expected {EVENT_RATE_FORMS}") from None
    match = _EVENT_RATE_RE.fullmatch(text)
    if not match:
        raise QuantityError(f"invalid event rate {_quote(text)}: expected {EVENT_RATE_FORMS}")
    count = float(match.group(1))
    if count < 0:
        raise QuantityError(f"invalid event rate {_quote(text)}: must not be negative")
    return _finite(count / _PER_UNIT[match.group(2)], "event rate", text)


def go_duration(seconds: float) -> str:
    """A duration as Go's ``time.Duration.String`` prints it, truncated to milliseconds
    (kubelet's event text): ``313ms``, ``1.594s``, ``3m27.215s``, ``1h0m2s``."""
    ms = int(seconds * 1000 + 1e-6)  # Truncate(time.Millisecond), not round
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, frac = divmod(rest, 1000)
    text = f"{s}.{frac:03d}".rstrip("0").rstrip(".") + "s"
    if h:
        return f"{h}h{m}m{text}"
    if m:
        return f"{m}m{text}"
    return text
