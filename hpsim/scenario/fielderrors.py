"""API validation errors in the words kube-apiserver and kubectl print.

``FieldError`` is k8s.io/apimachinery's ``field.Error``: its ``ErrorType.String()`` words,
``ErrorBody()`` and ``Error()`` (staging/src/k8s.io/apimachinery/pkg/util/validation/field/
errors.go), with bad values printed as Go prints them (``go_quote`` is ``strconv.Quote``).
``kubectl_invalid_message`` is kubectl's ``The Pod "x" is invalid: ...`` over the aggregate
``apierrors.NewInvalid`` puts in the Status message.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FieldError", "go_quote", "kubectl_invalid_message", "render_value"]

# ErrorType.String()
_ERROR_WORDS = {
    "FieldValueNotFound": "Not found",
    "FieldValueRequired": "Required value",
    "FieldValueDuplicate": "Duplicate value",
    "FieldValueInvalid": "Invalid value",
    "FieldValueNotSupported": "Unsupported value",
    "FieldValueForbidden": "Forbidden",
    "FieldValueTooLong": "Too long",
    "FieldValueTooMany": "Too many",
    "InternalError": "Internal error",
    "FieldValueTypeInvalid": "Invalid value",
}
# ErrorBody() prints no bad value for these types.
_VALUELESS = {"FieldValueRequired", "FieldValueForbidden", "FieldValueTooLong", "InternalError"}
# strconv.appendEscapedRune's named escapes
_GO_ESCAPES = {"\a": "a", "\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t", "\v": "v"}


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote`` (``%q``): printable runes kept, the rest escaped.

    Python's ``str.isprintable`` and Go's ``unicode.IsPrint`` draw the same line: letters,
    marks, numbers, punctuation, symbols and the ASCII space.
    """
    out = ['"']
    for ch in text:
        cp = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in _GO_ESCAPES:
            out.append("\\" + _GO_ESCAPES[ch])
        elif cp < 0x20 or cp == 0x7F:
            out.append(f"\\x{cp:02x}")
        elif cp < 0x10000:
            out.append(f"\\u{cp:04x}")
        else:
            out.append(f"\\U{cp:08x}")
    out.append('"')
    return "".join(out)


def render_value(value: object) -> str:
    """A bad value as ErrorBody prints it: bools and numbers bare (%v), strings %q."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return go_quote(value)
    return str(value)


@dataclass(frozen=True)
class FieldError:
    """One API validation error, as k8s.io/apimachinery ``field.Error``.

    ``type`` is the ErrorType string (``FieldValueInvalid``, ``FieldValueForbidden``,
    ``FieldValueRequired``, ``FieldValueNotSupported``, ...); ``message`` is the Detail;
    ``value`` the BadValue, printed only for the types that print one.
    """

    field: str
    type: str
    message: str
    value: object = None

    def __post_init__(self) -> None:
        if self.type not in _ERROR_WORDS:  # ErrorType.String() panics on these
            raise ValueError(f"unknown field error type {self.type!r}")

    def body(self) -> str:
        """``ErrorBody()``: the error without its field path."""
        words = _ERROR_WORDS[self.type]
        text = words if self.type in _VALUELESS else f"{words}: {render_value(self.value)}"
        return f"{text}: {self.message}" if self.message else text

    def __str__(self) -> str:
        """``Error()``: ``spec.hostNetwork: Invalid value: false: hostNetwork must be ...``."""
        return f"{self.field}: {self.body()}"

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "type": self.type, "message": self.message}


def kubectl_invalid_message(kind: str, name: str, errors: list[FieldError]) -> str:
    """``The Pod "x" is invalid: <err>``, or ``...: [<err1>, <err2>]`` for several.

    The prefix is kubectl's (k8s.io/kubectl/pkg/cmd/util/helpers.go ``checkErr``:
    ``The %s %q is invalid``); the body is the apimachinery aggregate that
    ``apierrors.NewInvalid`` puts in the Status message: identical messages dropped
    (``ErrorList.ToAggregate``), one error bare, several in ``[a, b]``. Real kubectl prints
    several causes as ``* `` lines instead; the one-line form is what events and logs show.
    """
    if not errors:
        raise ValueError("kubectl_invalid_message needs at least one error")
    unique = list(dict.fromkeys(str(e) for e in errors))
    body = unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"
    return f"The {kind} {go_quote(name)} is invalid: {body}"
