"""Dotted paths into a scenario, as its user sees it, for sweep factors.

A path walks the scenario YAML: ``node.memory``, ``node.kubelet.maxPods``,
``duration``. Lists take an index (``images.1.layers.0.size``) or, for
``workloads`` and ``images``, a name:

- ``workloads.<name>`` is the workload whose Kubernetes object is called
  ``<name>`` (its ``metadata.name``, as in ``scale`` and ``rollout`` events),
  wherever its manifest is (inline or in a file, alone or in a multi-document
  file). After the name come the workload's own keys (``profile.cpu``,
  ``lifetime.fixed``, ``arrivals.poisson``, ``onMemoryCap``) or the
  manifest's: ``replicas``, ``parallelism`` and ``completions`` mean
  ``spec.<key>``, and ``spec...`` / ``metadata...`` address the object itself
  (``workloads.app.spec.template.spec.containers.0.image``). Setting a
  manifest field inlines the manifest file into that point's scenario (a
  multi-document file becomes a ``kind: List``); the file is not touched.
- ``images.<name>`` is the image with that ``name``; a name holding dots is
  written in brackets: ``images[contoso/agent:1.4].layers.0.size``.

A key missing on the way is created, so a factor may set what the file left
to its default; the loader then checks every point like any scenario.
"""

from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from typing import Any

from hpsim.errors import HpsimError
from hpsim.scenario.schema import Workload
from hpsim.scenario.yamlsrc import iter_documents, read_text

MANIFEST_SHORTCUTS = ("replicas", "parallelism", "completions")
_MANIFEST_ROOTS = ("spec", "metadata")
_TOKEN = re.compile(r"\[([^\]]*)\]|([^.\[\]]+)")

Token = str | int


def workload_keys() -> list[str]:
    """The keys of a workload entry, as written in YAML."""
    return [f.alias or n for n, f in Workload.model_fields.items()]


def split_path(path: str) -> list[str]:
    """``images[a.b:1].layers.0`` -> ``["images", "a.b:1", "layers", "0"]``."""
    tokens: list[str] = []
    pos = 0
    text = path.strip()
    while pos < len(text):
        if text[pos] == "." and tokens:
            pos += 1
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise HpsimError(f'malformed path "{path}"', field="--set")
        tokens.append(m.group(1) if m.group(1) is not None else m.group(2))
        pos = m.end()
    if not tokens or any(t == "" for t in tokens):
        raise HpsimError(f'malformed path "{path}"', field="--set")
    return tokens


def _object_name(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return None
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return None
    name = meta.get("name") or meta.get("generateName")
    return str(name) if name else None


def _objects(manifest: Any) -> list[tuple[tuple[int, ...], Any]]:
    """Each object in a manifest (document list, List items) with where it sits."""
    out: list[tuple[tuple[int, ...], Any]] = []
    docs = manifest if isinstance(manifest, list) else [manifest]
    for i, doc in enumerate(docs):
        if isinstance(doc, dict) and isinstance(doc.get("items"), list):
            out.extend(((i, j), item) for j, item in enumerate(doc["items"]))
        else:
            out.append(((i,), doc))
    return out


class Resolver:
    """Sets dotted paths in copies of one scenario mapping."""

    def __init__(self, data: dict[str, Any], *, file: str, base_dir: Path) -> None:
        self.data = data
        self.file = file
        self.base_dir = Path(base_dir)
        self._manifests: dict[int, Any] = {}

    def _error(self, path: str, message: str) -> HpsimError:
        return HpsimError(message, file=self.file, field=f"--set {path}")

    def _manifest(self, index: int, entry: dict[str, Any]) -> Any:
        """Workload ``index``'s manifest as data: inline, or the file's documents."""
        if index not in self._manifests:
            m = entry.get("manifest")
            if isinstance(m, str):
                mpath = Path(m) if Path(m).is_absolute() else self.base_dir / m
                shown = str(mpath)
                self._manifests[index] = [d.data for d in iter_documents(read_text(mpath), shown)]
            else:
                self._manifests[index] = m
        return self._manifests[index]

    def _find_workload(self, path: str, name: str) -> tuple[int, tuple[int, ...], bool]:
        """(workload index, object position, manifest is a file) of the object ``name``."""
        names: list[str] = []
        for i, entry in enumerate(self.data.get("workloads") or []):
            if not isinstance(entry, dict):
                continue
            manifest = self._manifest(i, entry)
            for where, obj in _objects(manifest):
                oname = _object_name(obj)
                if oname == name:
                    return i, where, isinstance(entry.get("manifest"), str)
                if oname:
                    names.append(oname)
        near = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        hint = f' (did you mean "{near[0]}"?)' if near else ""
        known = f"; workloads: {', '.join(names)}" if names else ""
        raise self._error(path, f'no workload named "{name}"{hint}{known}')

    def locate(self, data: dict[str, Any], path: str) -> tuple[list[Token], list[Token]]:
        """(where in ``data`` to set, the same as a field path for messages).

        May rewrite ``data`` (inline a manifest file) so that the place exists.
        """
        tokens = split_path(path)
        head = tokens[0]
        if head == "workloads" and len(tokens) > 1 and not tokens[1].isdigit():
            return self._locate_workload(data, path, tokens)
        if head == "images" and len(tokens) > 1 and not tokens[1].isdigit():
            images = data.get("images") or []
            names = [im.get("name") for im in images if isinstance(im, dict)]
            if tokens[1] not in names:
                near = difflib.get_close_matches(tokens[1], [str(n) for n in names], n=1)
                hint = f' (did you mean "{near[0]}"?)' if near else ""
                raise self._error(path, f'no image named "{tokens[1]}"{hint}')
            where: list[Token] = ["images", names.index(tokens[1]), *_typed(tokens[2:])]
            return where, where
        where = _typed(tokens)
        return where, where

    def _locate_workload(
        self, data: dict[str, Any], path: str, tokens: list[str]
    ) -> tuple[list[Token], list[Token]]:
        index, obj_at, from_file = self._find_workload(path, tokens[1])
        rest = tokens[2:]
        if not rest:
            raise self._error(path, "say which field of the workload to set (e.g. .replicas)")
        keys = workload_keys()
        if rest[0] in keys:
            where: list[Token] = ["workloads", index, *_typed(rest)]
            return where, where
        if rest[0] in MANIFEST_SHORTCUTS:
            rest = ["spec", *rest]
        elif rest[0] not in _MANIFEST_ROOTS:
            choices = [*keys, *MANIFEST_SHORTCUTS, *_MANIFEST_ROOTS]
            near = difflib.get_close_matches(rest[0], choices, n=1, cutoff=0.6)
            hint = f' (did you mean "{near[0]}"?)' if near else ""
            raise self._error(
                path,
                f'"{rest[0]}" is neither a workload key nor a manifest field{hint}; '
                f"use one of {', '.join(choices)}",
            )
        entry = data["workloads"][index]
        wrapped = False
        if from_file:
            docs = copy.deepcopy(self._manifest(index, entry))
            wrapped = len(docs) > 1
            entry["manifest"] = (
                {"apiVersion": "v1", "kind": "List", "items": docs} if wrapped else docs[0]
            )
        # obj_at is (document,) or (document, item of its List).
        inner: list[Token] = ["items", obj_at[0]] if wrapped else []
        if len(obj_at) == 2:
            inner += ["items", obj_at[1]]
        where = ["workloads", index, "manifest", *inner, *_typed(rest)]
        return where, where

    def apply(self, data: dict[str, Any], path: str, value: Any) -> list[Token]:
        """Set ``path`` to ``value`` in ``data`` (in place); returns where it was set."""
        where, _ = self.locate(data, path)
        node: Any = data
        for i, part in enumerate(where[:-1]):
            nxt = where[i + 1]
            if isinstance(node, list):
                if not isinstance(part, int) or not 0 <= part < len(node):
                    raise self._error(path, f"no item {part} in {_shown(where[:i])}")
                node = node[part]
                continue
            if not isinstance(node, dict):
                raise self._error(path, f"{_shown(where[:i])} is not a mapping")
            if part not in node or node[part] is None:
                node[part] = [] if isinstance(nxt, int) else {}
            node = node[part]
        last = where[-1]
        if isinstance(node, list):
            if not isinstance(last, int) or not 0 <= last < len(node):
                raise self._error(path, f"no item {last} in {_shown(where[:-1])}")
        elif not isinstance(node, dict):
            raise self._error(path, f"{_shown(where[:-1])} is not a mapping")
        node[last] = copy.deepcopy(value)
        return where

    def point(self, values: dict[str, Any]) -> dict[str, Any]:
        """A copy of the scenario with every factor set."""
        data = copy.deepcopy(self.data)
        for path, value in values.items():
            self.apply(data, path, value)
        return data


def _typed(tokens: list[str]) -> list[Token]:
    """List indices as ints: ``layers.0`` is the first layer."""
    return [int(t) if t.isdigit() else t for t in tokens]


def _shown(where: list[Token]) -> str:
    out = ""
    for part in where:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out or "the scenario"


def parse_values(text: str) -> list[Any]:
    """``16Gi,32Gi`` -> ["16Gi", "32Gi"]; ``4,8`` -> [4, 8]; YAML flow values allowed.

    Commas inside brackets, braces or quotes do not split:
    ``{cpu: 1, memory: 2Gi},{cpu: 2, memory: 4Gi}`` gives two mappings.
    """
    import yaml

    parts: list[str] = []
    depth, quote, cur = 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        cur += ch
    parts.append(cur)
    values = []
    for part in parts:
        part = part.strip()
        if not part:
            raise HpsimError(f'empty value in "{text}"', field="--set")
        try:
            values.append(yaml.safe_load(part))
        except yaml.YAMLError:
            values.append(part)
    return values


def parse_set(text: str) -> tuple[str, list[Any]]:
    """``node.memory=16Gi,32Gi`` -> ("node.memory", ["16Gi", "32Gi"])."""
    if "=" not in text:
        raise HpsimError(f'expected PATH=VALUE[,VALUE...] (got "{text}")', field="--set")
    path, values = text.split("=", 1)
    path = path.strip()
    split_path(path)
    return path, parse_values(values)
