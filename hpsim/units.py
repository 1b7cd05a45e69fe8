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

import math
import re
from fractions import Fraction

__all__ = [
    "QuantityError",
    "format_bytes",
    "format_duration",
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
_QUANTITY_RE = re.compile(rf"^({_NUMBER})(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$")

QUANTITY_FORMS = "a Kubernetes quantity such as 128974848, 129e6, 129M, 123Mi or 1Gi"
CPU_FORMS = "a Kubernetes CPU quantity such as 100m, 0.5, .1 or 2"
DURATION_FORMS = "a duration such as 90s, 15m, 2h, 7d or 1h30m (a bare number is seconds)"
DATA_RATE_FORMS = "a data rate such as 500Mbit/s, 60MiB/s or 20Mi/h"
EVENT_RATE_FORMS = "an event rate such as 3/h, 10/min or 0.5/s"


def _text(value: object) -> str:
    if isinstance(value, bool):
        raise QuantityError(f"{value!r} is a boolean")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QuantityError(f"{value!r} is not a finite number")
        return repr(value)
    if isinstance(value, str):
        return value.strip()
    raise QuantityError(f"{value!r} is a {type(value).__name__}")


def parse_quantity(value: object, forms: str = QUANTITY_FORMS) -> Fraction:
    """Parse a Kubernetes quantity into an exact fraction (no rounding)."""
    try:
        text = _text(value)
    except QuantityError as exc:
        raise QuantityError(f"invalid quantity: {exc}; expected {forms}") from None
    match = _QUANTITY_RE.match(text)
    if not match:
        raise QuantityError(f'invalid quantity "{text}": expected {forms}')
    number = Fraction(match.group(1))
    suffix = match.group(2) or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    return number * Fraction(10) ** int(suffix[1:])


def _ceil(value: Fraction) -> int:
    return -((-value.numerator) // value.denominator)


def parse_memory_bytes(value: object, *, allow_zero: bool = True) -> int:
    """Bytes as ``Quantity.Value()`` gives them: rounded up to a whole byte."""
    q = parse_quantity(value)
    if q < 0 or (q == 0 and not allow_zero):
        bound = "must not be negative" if q < 0 else "must be greater than zero"
        raise QuantityError(f'invalid quantity "{_text(value)}": {bound}')
    return _ceil(q)


def parse_cpu_millicores(value: object) -> int:
    """Millicores as ``Quantity.MilliValue()`` gives them: rounded up."""
    q = parse_quantity(value, CPU_FORMS)
    if q < 0:
        raise QuantityError(f'invalid CPU quantity "{_text(value)}": must not be negative')
    return _ceil(q * 1000)


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
_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]+|[0-9]+\.)(ns|us|µs|ms|s|m|h|d)")
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")


def parse_duration(value: object) -> float:
    """Seconds from ``90s``, ``15m``, ``2h``, ``7d``, ``1h30m`` or a number."""
    try:
        text = _text(value)
    except QuantityError as exc:
        raise QuantityError(f"invalid duration: {exc}; expected {DURATION_FORMS}") from None
    if _PLAIN_NUMBER.match(text):
        seconds = float(text)
    else:
        pos, seconds = 0, 0.0
        for part in _DURATION_PART.finditer(text):
            if part.start() != pos:
                break
            seconds += float(part.group(1)) * _DURATION_UNITS[part.group(2)]
            pos = part.end()
        if pos != len(text) or not text:
            raise QuantityError(f'invalid duration "{text}": expected {DURATION_FORMS}')
    if seconds < 0:
        raise QuantityError(f'invalid duration "{text}": must not be negative')
    return seconds


_PER_UNIT = {"s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DATA_RATE_RE = re.compile(
    rf"^({_NUMBER})(Ki|Mi|Gi|Ti|Pi|Ei|[kKMGTPE])?(bit|B)?/(s|sec|min|m|h|d)$"
)
_EVENT_RATE_RE = re.compile(rf"^({_NUMBER})/(s|sec|min|m|h|d)$")


def parse_data_rate(value: object) -> float:
    """Bytes per second from ``500Mbit/s``, ``60MiB/s``, ``20Mi/h`` or ``1GB/d``."""
    try:
        text = _text(value).replace(" ", "")
    except QuantityError as exc:
        raise QuantityError(f"invalid data rate: {exc}; expected {DATA_RATE_FORMS}") from None
    match = _DATA_RATE_RE.match(text)
    if not match:
        raise QuantityError(f'invalid data rate "{text}": expected {DATA_RATE_FORMS}')
    number, prefix, unit, per = match.groups()
    prefix = "k" if prefix == "K" else (prefix or "")
    scale = _BINARY.get(prefix) or _DECIMAL[prefix]
    amount = Fraction(number) * scale
    if unit == "bit":
        amount /= 8
    if amount < 0:
        raise QuantityError(f'invalid data rate "{text}": must not be negative')
    return float(amount) / _PER_UNIT[per]


def parse_event_rate(value: object) -> float:
    """Events per second from ``3/h``, ``10/min`` or ``0.5/s``."""
    try:
        text = _text(value).replace(" ", "")
    except QuantityError as exc:
        raise QuantityError(f"invalid event rate: {exc}; expected {EVENT_RATE_FORMS}") from None
    match = _EVENT_RATE_RE.match(text)
    if not match:
        raise QuantityError(f'invalid event rate "{text}": expected {EVENT_RATE_FORMS}')
    count = float(match.group(1))
    if count < 0:
        raise QuantityError(f'invalid event rate "{text}": must not be negative')
    return count / _PER_UNIT[match.group(2)]


def format_bytes(n: float) -> str:
    """Human text in binary units: ``1.5 GiB``."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} B"


def format_duration(seconds: float) -> str:
    """Human text: ``2d 3h``, ``4m 10s``, ``12.5s``."""
    if seconds >= 86400:
        return f"{int(seconds // 86400)}d {int(seconds % 86400 // 3600)}h"
    if seconds >= 3600:
        return f"{int(seconds // 3600)}h {int(seconds % 3600 // 60)}m"
    if seconds >= 60:
        return f"{int(seconds // 60)}m {int(seconds % 60)}s"
    return f"{seconds:.1f}s"
