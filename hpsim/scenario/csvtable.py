"""A CSV table a user hands hpsim (observed pulls, pods and events): read with the hardened
reader, its header checked, its rows given with their line numbers.

Bad input is one :class:`~hpsim.errors.HpsimError` naming the file (and line): an empty
file, a missing column, or what Python's csv module refuses (a field past its 128 KiB
limit, a quote left open).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

from hpsim.errors import HpsimError
from hpsim.scenario.yamlsrc import read_text


class CsvTable:
    """The header of a table read by :func:`read_table`, and its rows, each read once."""

    def __init__(self, shown: str, names: list[str], reader: Iterator[list[str]]) -> None:
        self.shown = shown  # the file as errors name it
        self.names = names  # the header's column names, stripped, in order
        self.col = {name: i for i, name in enumerate(names)}
        self._reader = reader
        self._line = 1

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line, cells) of each row that is not blank."""
        try:
            for row in self._reader:
                self._line += 1
                if any(cell.strip() for cell in row):
                    yield self._line, row
        except csv.Error as exc:
            raise HpsimError(
                f"malformed CSV: {exc}", file=self.shown, line=self._line + 1
            ) from None


def read_table(
    path: Path,
    *,
    required: Sequence[str],
    expected: Sequence[str],
    hint: str,
    limit: int,
    kind: str,
) -> CsvTable:
    """The table at ``path`` (at most ``limit`` bytes of UTF-8, a byte-order mark
    dropped), which must have the ``required`` columns. An empty file is an error naming
    the ``expected`` header; a missing column one saying ``hint``."""
    shown = str(path)
    text = read_text(path, limit=limit, kind=kind).removeprefix("\ufeff")
    reader = csv.reader(text.splitlines())
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise HpsimError(f"malformed CSV: {exc}", file=shown, line=1) from None
    if header is None:
        raise HpsimError(f"empty: expected a header {','.join(expected)}", file=shown)
    names = [h.strip() for h in header]
    missing = [c for c in required if c not in names]
    if missing:
        raise HpsimError(f"no column {', '.join(missing)} ({hint})", file=shown, line=1)
    return CsvTable(shown, names, reader)
