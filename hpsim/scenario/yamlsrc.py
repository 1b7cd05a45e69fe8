"""YAML with line numbers: every value keeps the line it came from.

Scenario files and Kubernetes manifests are loaded with PyYAML's *safe*
loader only (no arbitrary tags). While the node tree is turned into plain
Python objects, each path (``("node", "memory")``, ``("workloads", 0)``) is
mapped to the line of its value and of its key, so that any later error --
from pydantic or from hpsim's own checks -- can name ``file:line`` and the
field path. Duplicate keys are refused, as kubectl's strict decoder does.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hpsim.errors import EXCERPT_CHARS, HpsimError, excerpt
from hpsim.gcpause import paused_gc

Path_ = tuple[str | int, ...]

# A document with more nodes than this is refused: alias expansion ("billion
# laughs") would otherwise make loading exponential.
MAX_NODES = 200_000

# A scenario or manifest file larger than this is refused unread. Our choice: it holds
# the largest object the API server takes in one request, 3 MiB (k8s.io/apiserver
# pkg/server/config.go NewConfig, MaxRequestBodyBytes), with room to spare, and PyYAML's
# pure-Python loader still reads it in well under a minute (about 7 s per MiB measured
# on a laptop-class CPU; a Windows node's manifests are a few KiB each).
MAX_YAML_BYTES = 4 * 2**20


@dataclass
class Source:
    """One YAML document: its data and where each value came from.

    A part of a document (:meth:`sub`) shares its document's line maps and names its
    place in them by ``root``: taking the parts of a 50,000-item list costs one step
    each, not a copy of the maps each.
    """

    data: Any
    file: str
    value_lines: dict[Path_, int] = field(default_factory=dict)
    key_lines: dict[Path_, int] = field(default_factory=dict)
    first_line: int = 1
    prefix: Path_ = ()  # where this document sits inside the file's own (for field paths)
    root: Path_ = ()  # where this part sits in the line maps

    def line(self, path: Path_, *, key: bool = False) -> int:
        """Line of ``path`` (of its key if ``key``), else of its nearest ancestor."""
        root = self.root
        full = (*root, *path)
        while len(full) > len(root):
            if key and full in self.key_lines:
                return self.key_lines[full]
            if full in self.value_lines:
                return self.value_lines[full]
            full = full[:-1]
        return self.value_lines.get(root, self.first_line)

    def sub(self, path: Path_) -> Source:
        """The part of this document at ``path``, with paths re-rooted there."""
        data = self.data
        for part in path:
            data = data[part]
        return Source(
            data=data,
            file=self.file,
            value_lines=self.value_lines,
            key_lines=self.key_lines,
            first_line=self.line(path),
            prefix=(*self.prefix, *path),
            root=(*self.root, *path),
        )

    def error(
        self, path: Path_, message: str, *, key: bool = False, line_of: Path_ | None = None
    ) -> HpsimError:
        """An HpsimError at ``path`` in this document (line of ``line_of`` if given)."""
        line = self.line(path if line_of is None else line_of, key=key)
        return HpsimError(
            message, file=self.file, line=line, field=field_path((*self.prefix, *path)) or None
        )


def field_path(path: Path_) -> str:
    """A path for an error message: ``join_path`` with each key cut to one excerpt."""
    return join_path(tuple(excerpt(p) if isinstance(p, str) else p for p in path))


def join_path(path: Path_, prefix: str = "") -> str:
    """``("workloads", 0, "profile")`` -> ``workloads[0].profile``."""
    out = prefix
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.count = 0

    def build(self, node: yaml.Node, path: Path_, src: Source) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise HpsimError(
                f"document too large (more than {MAX_NODES} values after alias expansion)",
                file=self.file,
                line=node.start_mark.line + 1,
            )
        src.value_lines[path] = node.start_mark.line + 1
        if node.tag not in self.loader.yaml_constructors:
            # The safe constructor's own tags only. Collections are built here, not by
            # the constructor, so a !!python/object:... mapping must be refused here.
            raise HpsimError(
                f"YAML tag '{excerpt(node.tag)}' is not allowed (hpsim reads plain YAML only)",
                file=self.file,
                line=node.start_mark.line + 1,
                field=field_path(path) or None,
            )
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise HpsimError(
                        "mapping keys must be plain scalars",
                        file=self.file,
                        line=key_node.start_mark.line + 1,
                        field=field_path(path) or None,
                    )
                # The key as written: YAML 1.1 would read `on:` as True.
                key = str(key_node.value)
                if key in out:
                    raise HpsimError(
                        f'duplicate key "{excerpt(key)}"',
                        file=self.file,
                        line=key_node.start_mark.line + 1,
                        field=field_path((*path, key)),
                    )
                key_path = (*path, key)
                src.key_lines[key_path] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, key_path, src)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), src) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)


def _yaml_error(exc: yaml.YAMLError, file: str, text: str) -> HpsimError:
    if isinstance(exc, yaml.reader.ReaderError):
        # The reader refuses control characters before any token exists: no marks.
        return HpsimError(
            f"malformed YAML: character #x{exc.character:04x} is not allowed "
            "(YAML text must be printable)",
            file=file,
            line=text.count("\n", 0, exc.position) + 1,
        )
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, yaml.constructor.ConstructorError) and problem.startswith(
        "could not determine a constructor for the tag"
    ):
        # The safe loader knows only the standard tags: !!python/object and friends stop here.
        tag = excerpt(problem.rsplit(" ", 1)[-1])
        return HpsimError(
            f"YAML tag {tag} is not allowed (hpsim reads plain YAML only)", file=file, line=line
        )
    # PyYAML's problems quote at most a token ("found undefined alias 'x'"); a token
    # can be long, so each is cut like any text a user wrote.
    problem = _cut_quoted(problem)
    context = getattr(exc, "context", None)
    context = _cut_quoted(context) if context else context
    context_mark = getattr(exc, "context_mark", None)
    if context and context_mark is not None and context_mark.line + 1 != line:
        context += f" that starts on line {context_mark.line + 1}"
    message = f"malformed YAML: {problem}" + (f" ({context})" if context else "")
    return HpsimError(message, file=file, line=line)


def _cut_quoted(text: str) -> str:
    """PyYAML's message with each token it quotes cut to one excerpt, and the whole cut too."""
    cut = re.sub(r"'([^']*)'", lambda m: f"'{excerpt(m.group(1))}'", text)
    return excerpt(cut, 2 * EXCERPT_CHARS)


def iter_documents(text: str, file: str) -> Iterator[Source]:
    """Every document of a YAML stream, with line maps; empty documents skipped."""
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # the reader checks every character here
        while loader.check_node():
            # The node tree and the data built from it all stay alive: the collector
            # would only walk them, more often the larger the document (hpsim.gcpause).
            with paused_gc():
                node = loader.get_node()
                if node is None:
                    continue
                src = Source(data=None, file=file, first_line=node.start_mark.line + 1)
                src.data = _Builder(loader, file).build(node, (), src)
                del node
            if src.data is not None:
                yield src
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, file, text) from None
    except RecursionError:
        raise HpsimError("malformed YAML: nested too deeply", file=file) from None
    except (ValueError, TypeError, OverflowError) as exc:
        # PyYAML's constructors raise these for e.g. out-of-range timestamps.
        raise HpsimError(f"malformed YAML: {excerpt(exc, 120)}", file=file) from None
    finally:
        if loader is not None:
            loader.dispose()


def read_text(
    path: Path,
    shown: str | None = None,
    *,
    limit: int = MAX_YAML_BYTES,
    kind: str = "scenario or manifest file",
) -> str:
    """A file's text, or an HpsimError naming it.

    A file larger than ``limit`` bytes is refused before it is read, and only
    regular files are read at all: a FIFO or a device (``/dev/zero``) would block
    or never end. Line ends are read as ``Path.read_text`` reads them (universal
    newlines).
    """
    shown = shown or str(path)
    too_large = f"too large: a {kind} may hold at most {_mib(limit)}"
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise HpsimError("is a directory, not a file", file=shown)
        if not stat.S_ISREG(info.st_mode):
            raise HpsimError("not a regular file (a device, pipe or socket)", file=shown)
        if info.st_size > limit:
            raise HpsimError(f"{too_large} (this one holds {info.st_size:,} bytes)", file=shown)
        with open(path, "rb") as f:
            # /proc files report size 0: read one byte past the limit to know.
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise HpsimError("no such file", file=shown) from None
    except OSError as exc:
        raise HpsimError(f"cannot read: {exc.strerror}", file=shown) from None
    if len(data) > limit:
        raise HpsimError(too_large, file=shown)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HpsimError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=shown) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _mib(n: int) -> str:
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n} bytes"


def load_documents(path: Path, shown: str | None = None) -> list[Source]:
    """All documents of a YAML file."""
    shown = shown or str(path)
    return list(iter_documents(read_text(path, shown), shown))
