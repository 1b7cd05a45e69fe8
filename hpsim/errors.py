"""hpsim's own error type: every bad input becomes one of these, never a traceback.

What a user wrote reaches a terminal, a log or a report only through
:func:`excerpt`: control characters (terminal escape sequences among them) are
shown escaped, and a long text is cut, so that an error about a file never
prints the file.
"""

from __future__ import annotations

import unicodedata

EXCERPT_CHARS = 60  # the most of a user's text an error message repeats


def excerpt(text: object, limit: int = EXCERPT_CHARS) -> str:
    """``text`` fit to print: control and format characters escaped, at most ``limit``
    characters of it, "..." marking a cut."""
    s = str(text)
    cut = len(s) > limit
    s = s[:limit]
    out = "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")
        else ch
        for ch in s
    )
    return out + "..." if cut else out


class HpsimError(Exception):
    """Bad input: a message naming file, line and field. The CLI exits with status 2."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.detail = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.file:
            where = excerpt(self.file, 200) + (f":{self.line}" if self.line else "") + ": "
        field = f"{excerpt(self.field, 200)}: " if self.field else ""
        # One line: a message never spans lines, whatever it quotes.
        detail = self.detail.replace("\r", "\\r").replace("\n", "\\n")
        return f"{where}{field}{detail}"
