"""Atomic writes: a file or folder appears whole under its name, or not at all.

Everything is first written to a temporary sibling, ``.{name}.tmp-{pid}`` in
the destination's own folder, and renamed over the destination at the end.
``os.replace`` is atomic on one volume (the sibling is always on the
destination's), so a reader -- a resumed sweep, a report, a notebook reading a
results folder -- never sees a half-written file, and a process killed
mid-write leaves at most a hidden leftover that never counts as done (a sweep
removes them by globbing :data:`LEFTOVERS`).

Nothing is fsynced: this guards against a killed process, not against a power
cut. Files get the default mode (``0o666`` less the umask), not the mode of the
file they replace. A folder cannot be renamed over a folder atomically: the
old one is removed first and the new one renamed into place just after.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LEFTOVERS = ".*.tmp-*"
"""Glob of the temporary siblings a killed process leaves behind."""


def _sibling(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


@contextmanager
def replacing_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write to; it replaces ``path`` when the block ends.

    For writers that want a path (pyarrow, pandas). If the block raises, the
    temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    tmp = _sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data``, atomically."""
    with replacing_file(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike[str], text: str, encoding: str | None = None) -> None:
    """Replace ``path`` with ``text``, atomically (encoded as ``Path.write_text`` does)."""
    with replacing_file(path) as tmp:
        tmp.write_text(text, encoding=encoding)


@contextmanager
def scratch_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``path``, removed whole when the block ends.

    ``path``'s parent folders are created; a leftover of the same name is removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path)
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def replacing_dir(path: str | os.PathLike[str], *, empty_only: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary folder that replaces the folder ``path`` when the block ends.

    An existing ``path`` is removed whole just before the rename; with
    ``empty_only`` it must be empty (else ``OSError``, and it is left alone).
    If the block raises, the temporary folder is removed and ``path`` is left as it was.
    """
    path = Path(path)
    with scratch_dir(path) as tmp:
        yield tmp
        if path.exists():
            if empty_only:
                path.rmdir()
            else:
                shutil.rmtree(path)
        tmp.rename(path)
