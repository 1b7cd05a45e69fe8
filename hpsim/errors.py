"""hpsim's own error type: every bad input becomes one of these, never a traceback."""

from __future__ import annotations


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
            where = self.file + (f":{self.line}" if self.line else "") + ": "
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.detail}"
