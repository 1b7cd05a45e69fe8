"""Atomic writes: a file or folder appears whole under its name, or not at all.

Everything is first written to a temporary sibling, ``.{name}.tmp-{pid}`` in
the destination's own folder, and renamed over the destination at the end.
``os.replace`` is atomic on one volume (the sibling is always on the
destination's), so a reader -- a resumed sweep, a report, a notebook reading a
results folder -- never sees a half-written file, and a process killed
mid-write leaves at most a hidden leftover that never counts as done. The next
folder written into the same parent removes the stale ones
(:func:`clean_leftovers`: their process is gone, or they are older than
:data:`STALE_AFTER_S`), and readers refuse them (:func:`is_leftover`).
:func:`probe_dir` checks, before a long run, that a folder can be written
where it is asked for.

Nothing is fsynced: this guards against a killed process, not against a power
cut. Files get the default mode (``0o666`` less the umask), not the mode of the
file they replace. A folder cannot be renamed over a folder atomically: the
old one is removed first and the new one renamed into place just after.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LEFTOVERS = ".*.tmp-*"
"""Glob of the temporary siblings a killed process leaves behind."""


_LEFTOVER_RE = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>[0-9]+)$")

# A leftover this old is removed even if a process of its PID is alive: PIDs are reused,
# and no folder takes a day to write (the temporary folder appears once the simulation
# is done; a run that streams its tables into it, ``hpsim run --stream``, touches it with
# every chunk it writes). Our choice, not an upstream rule.
STALE_AFTER_S = 24 * 3600.0


def _sibling(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def is_leftover(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is named as the temporary sibling of a write (finished or not)."""
    return _LEFTOVER_RE.match(Path(path).name) is not None


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (a zombie counts as gone)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: alive
    except (OverflowError, OSError):
        return False
    try:
        # Linux: /proc/PID/stat's third field is the state; Z is a zombie (never reaped
        # in a container whose PID 1 does not reap).
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2 :].split(" ", 1)[0] != "Z"
    except (OSError, ValueError):
        return True


def stale(path: Path, now: float | None = None) -> bool:
    """A leftover whose writer is gone: its PID runs on this host no more, or it is older
    than :data:`STALE_AFTER_S`. (The PID is this host's: a process on another machine
    writing into a shared folder is only protected by the age.)"""
    m = _LEFTOVER_RE.match(path.name)
    if m is None:
        return False
    try:
        age = (time.time() if now is None else now) - path.lstat().st_mtime
    except OSError:
        return False
    return age > STALE_AFTER_S or not _alive(int(m["pid"]))


def clean_leftovers(parent: str | os.PathLike[str]) -> list[Path]:
    """Remove the stale leftovers (:func:`stale`) directly in ``parent``; returns them.

    Errors are ignored: cleaning is a courtesy, never a reason for a write to fail.
    """
    removed: list[Path] = []
    try:
        entries = list(Path(parent).glob(LEFTOVERS))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not stale(entry, now):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue
        removed.append(entry)
    return removed


def probe_dir(path: str | os.PathLike[str]) -> None:
    """Check that the folder ``path`` can be written as :func:`replacing_dir` writes it.

    Creates the missing parents and the temporary sibling, writes a file in it, and
    removes all it created. Raises ``OSError`` (``ENOTDIR`` when ``path`` or a parent
    is a file, ``EACCES``, ``EROFS``, ``ENAMETOOLONG``, ``ENOSPC``...).
    """
    path = Path(path)
    missing = [p for p in reversed(path.parents) if not p.is_dir()]
    for p in [*missing, path]:
        if p.exists() and not p.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(p))
    created: list[Path] = []
    try:
        for parent in missing:
            parent.mkdir()
            created.append(parent)
        tmp = _sibling(path)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        created.append(tmp)
        (tmp / "probe").write_bytes(b"hpsim\n")
    finally:
        for p in reversed(created):
            if p.name.startswith("."):
                shutil.rmtree(p, ignore_errors=True)
            else:
                # Something else wrote there meanwhile: leave it.
                with contextlib.suppress(OSError):
                    p.rmdir()


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
def scratch_dir(path: str | os.PathLike[str], *, clean: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``path``, removed whole when the block ends.

    ``path``'s parent folders are created; a leftover of the same name is removed
    first, and the stale leftovers of other writers in the same parent
    (:func:`clean_leftovers`) with ``clean``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if clean:
        clean_leftovers(path.parent)
    tmp = _sibling(path)
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def replacing_dir(
    path: str | os.PathLike[str], *, empty_only: bool = False, clean: bool = False
) -> Iterator[Path]:
    """Yield a fresh temporary folder that replaces the folder ``path`` when the block ends.

    An existing ``path`` is removed whole just before the rename; with
    ``empty_only`` it must be empty (else ``OSError``, and it is left alone).
    If the block raises, the temporary folder is removed and ``path`` is left as it was.
    ``clean``: see :func:`scratch_dir`.
    """
    path = Path(path)
    with scratch_dir(path, clean=clean) as tmp:
        yield tmp
        if path.exists():
            if empty_only:
                path.rmdir()
            else:
                shutil.rmtree(path)
        tmp.rename(path)
