"""Built-in images a scenario can name as a ``base`` or pull directly.

The catalogue mirrors what Microsoft's registry serves, as recorded in
docker-library/repo-info (repos/<image>/remote/*.md: per-tag layer sizes and the
"Apply image" / "Install update" steps of each image's history):

- ``nanoserver``: one "Apply image" layer per monthly build, nothing shared
  between months;
- ``servercore``: an "Apply image" base layer refreshed every few months plus
  a cumulative monthly "Install update" layer, so months on one base share
  the base layer by digest (the refresh build itself is the base alone);
  ltsc2019 (1809) servercore is a single layer;
- ``server`` and ``windows`` (one large layer each), the HostProcess base
  image (a few KB, no OS version) and the pause images.

Monthly builds are addressable by tag (``servercore:10.0.20348.2227``); the
floating tags (``ltsc2022``, ``1809``...) point at the newest build of their
OS build in the data file. The data live in ``hpsim/data/windows-images.yaml``
(read once); every layer cites its source and layers whose size no source
gives are marked ``estimate`` with the rule used.

No source gives unpacked (on-disk) sizes: they are the compressed size times
an unpacked/compressed ratio, ``UNPACKED_RATIO`` by default (2-3x is commonly
observed, [UNCONFIRMED]; 2.5 is a guess in that range). ``lookup(ref,
unpacked_ratio=...)`` or ``CatalogImage.with_ratio`` give another.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from hpsim.errors import HpsimError, excerpt
from hpsim.scenario.yamlsrc import iter_documents, read_text
from hpsim.words import bytes_words

__all__ = [
    "DATA_FILE",
    "IMAGES",
    "UNPACKED_RATIO",
    "CatalogImage",
    "CatalogLayer",
    "entries",
    "format_table",
    "load",
    "lookup",
]

UNPACKED_RATIO = 2.5  # guess within the 2-3x commonly observed (no source gives on-disk sizes)
DATA_FILE = "windows-images.yaml"


@dataclass(frozen=True)
class CatalogLayer:
    """One layer blob: compressed size, where the figure comes from, and identity."""

    digest: str
    size: int  # compressed bytes
    source: str
    estimate: bool = False  # True: no source gives the size; ``rule`` says how it was set
    id: str = ""
    kind: str = ""  # nanoserver, servercore-apply, servercore-update, server, windows, ...
    build: str | None = None  # the Windows build that produced it ("Apply image <build>")
    rule: str | None = None
    unpacked_ratio: float = UNPACKED_RATIO

    @property
    def unpacked(self) -> int:
        """On-disk size: compressed size x the unpacked/compressed ratio (a guess)."""
        return int(self.size * self.unpacked_ratio)

    def with_ratio(self, ratio: float) -> CatalogLayer:
        return replace(self, unpacked_ratio=_check_ratio(ratio))


@dataclass(frozen=True)
class CatalogImage:
    """One pullable reference: its manifest's OS version and its layers, base first."""

    ref: str
    os_version: str | None
    layers: tuple[CatalogLayer, ...]
    # The tag names a manifest list whose Windows entry has ``os_version``: containerd
    # matches the entry against the host at pull time (hpsim.node.platforms).
    manifest_list: bool = False

    @property
    def base_build(self) -> str | None:
        """The build of the base ("Apply image") layer: 10.0.20348.4294 for servercore .5499."""
        return self.layers[0].build if self.layers else None

    @property
    def size(self) -> int:
        """Compressed bytes of all layers."""
        return sum(lay.size for lay in self.layers)

    @property
    def unpacked(self) -> int:
        return sum(lay.unpacked for lay in self.layers)

    @property
    def estimate(self) -> bool:
        """Whether any layer's size is an estimate rather than a sourced figure."""
        return any(lay.estimate for lay in self.layers)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(lay.source for lay in self.layers))

    def with_ratio(self, ratio: float) -> CatalogImage:
        """The same image with unpacked sizes from another unpacked/compressed ratio."""
        return replace(self, layers=tuple(lay.with_ratio(ratio) for lay in self.layers))

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "osVersion": self.os_version,
            "manifestList": self.manifest_list,
            "baseBuild": self.base_build,
            "compressedBytes": self.size,
            "compressed": bytes_words(self.size),
            "unpackedBytes": self.unpacked,
            "unpacked": bytes_words(self.unpacked),
            "unpackedRatio": self.layers[0].unpacked_ratio if self.layers else UNPACKED_RATIO,
            "estimate": self.estimate,
            "sources": list(self.sources),
            "layers": [
                {
                    "id": lay.id,
                    "kind": lay.kind,
                    "build": lay.build,
                    "digest": lay.digest,
                    "compressedBytes": lay.size,
                    "unpackedBytes": lay.unpacked,
                    "estimate": lay.estimate,
                    "rule": lay.rule,
                    "source": lay.source,
                }
                for lay in self.layers
            ],
        }


# The LTSC tag of each Windows Server build (Microsoft Learn "Windows container version
# compatibility": 17763 is Windows Server 2019, 20348 is 2022, 26100 is 2025).
LTSC_TAG = {17763: "ltsc2019", 20348: "ltsc2022", 26100: "ltsc2025"}


def _check_ratio(ratio: float) -> float:
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio < math.inf:
        raise HpsimError(
            f"unpacked ratio must be a finite number above 0, got {excerpt(repr(ratio))}"
        )
    return float(ratio)


# -- loading ------------------------------------------------------------------------------------


def _version_key(os_version: str | None) -> tuple[int, ...]:
    return tuple(int(p) for p in os_version.split(".")) if os_version else ()


def _build_of(os_version: str | None) -> int | None:
    parts = (os_version or "").split(".")
    return int(parts[2]) if len(parts) >= 3 and parts[2].isdigit() else None


class _Reader:
    """Field checks that name the file and the dotted path of what is wrong."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, field: str, message: str) -> HpsimError:
        return HpsimError(message, file=self.file, field=field)

    def mapping(self, value: Any, field: str, keys: Iterable[str], required: Iterable[str]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(field, "expected a mapping")
        unknown = sorted(set(value) - set(keys))
        if unknown:
            raise self.fail(field, f"unknown key(s) {excerpt(', '.join(map(str, unknown)))}")
        missing = [k for k in required if k not in value]
        if missing:
            raise self.fail(field, f"missing key(s) {', '.join(missing)}")
        return value

    def text(self, value: Any, field: str, *, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, f"expected a non-empty string, got {excerpt(repr(value))}")
        return value

    def texts(self, value: Any, field: str) -> list[str]:
        if not isinstance(value, list) or not value:
            raise self.fail(field, "expected a non-empty list")
        return [self.text(v, f"{field}[{i}]") or "" for i, v in enumerate(value)]


def _parse_layers(raw: Any, r: _Reader) -> dict[str, CatalogLayer]:
    if not isinstance(raw, list) or not raw:
        raise r.fail("layers", "expected a non-empty list")
    layers: dict[str, CatalogLayer] = {}
    digests: dict[str, str] = {}
    keys = ("id", "kind", "build", "digest", "size", "estimate", "rule", "source")
    for i, item in enumerate(raw):
        where = f"layers[{i}]"
        r.mapping(item, where, keys, ("id", "kind", "size", "source"))
        lid = r.text(item["id"], f"{where}.id") or ""
        if lid in layers:
            raise r.fail(f"{where}.id", f"duplicate layer id {excerpt(repr(lid))}")
        size = item["size"]
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise r.fail(
                f"{where}.size", f"expected a positive number of bytes, got {excerpt(repr(size))}"
            )
        estimate = item.get("estimate", False)
        if not isinstance(estimate, bool):
            raise r.fail(
                f"{where}.estimate", f"expected true or false, got {excerpt(repr(estimate))}"
            )
        rule = r.text(item.get("rule"), f"{where}.rule", optional=True)
        if estimate and rule is None:
            raise r.fail(f"{where}.rule", "an estimated size must state the rule used")
        digest = r.text(item.get("digest"), f"{where}.digest", optional=True)
        digest = digest or f"sha256:unknown-{lid}"
        if digest in digests:
            raise r.fail(
                f"{where}.digest", f"digest also used by layer {excerpt(repr(digests[digest]))}"
            )
        digests[digest] = lid
        layers[lid] = CatalogLayer(
            digest=digest,
            size=size,
            source=r.text(item["source"], f"{where}.source") or "",
            estimate=estimate,
            id=lid,
            kind=r.text(item["kind"], f"{where}.kind") or "",
            build=r.text(item.get("build"), f"{where}.build", optional=True),
            rule=rule,
        )
    return layers


def _parse(data: Any, file: str) -> dict[str, CatalogImage]:
    r = _Reader(file)
    r.mapping(data, "(top)", ("floating", "layers", "images"), ("layers", "images"))
    layers = _parse_layers(data["layers"], r)

    floating = data.get("floating") or {}
    if not isinstance(floating, dict):
        raise r.fail("floating", "expected a mapping of tag to OS build")
    for tag, build in floating.items():
        if not isinstance(tag, str) or isinstance(build, bool) or not isinstance(build, int):
            raise r.fail(f"floating.{tag}", "expected a tag (string) and an OS build (number)")

    images: dict[str, CatalogImage] = {}
    used: set[str] = set()
    repo_images: list[tuple[str, CatalogImage]] = []
    if not isinstance(data["images"], list) or not data["images"]:
        raise r.fail("images", "expected a non-empty list")
    for i, item in enumerate(data["images"]):
        where = f"images[{i}]"
        r.mapping(
            item,
            where,
            ("repo", "tags", "os_version", "manifest_list", "layers"),
            ("repo", "tags", "layers"),
        )
        repo = r.text(item["repo"], f"{where}.repo") or ""
        os_version = r.text(item.get("os_version"), f"{where}.os_version", optional=True)
        if os_version is not None:
            try:
                _version_key(os_version)
            except ValueError:
                raise r.fail(
                    f"{where}.os_version", f"not a Windows version: {excerpt(repr(os_version))}"
                ) from None
        ids = r.texts(item["layers"], f"{where}.layers")
        for j, lid in enumerate(ids):
            if lid not in layers:
                raise r.fail(f"{where}.layers[{j}]", f"no layer with id {excerpt(repr(lid))}")
        used.update(ids)
        manifest_list = item.get("manifest_list", False)
        if not isinstance(manifest_list, bool):
            raise r.fail(
                f"{where}.manifest_list",
                f"expected true or false, got {excerpt(repr(manifest_list))}",
            )
        image = CatalogImage(
            ref="",
            os_version=os_version,
            layers=tuple(layers[x] for x in ids),
            manifest_list=manifest_list,
        )
        for j, tag in enumerate(r.texts(item["tags"], f"{where}.tags")):
            ref = f"{repo}:{tag}"
            if ref in images:
                raise r.fail(f"{where}.tags[{j}]", f"{excerpt(ref)} is listed twice")
            images[ref] = replace(image, ref=ref)
        repo_images.append((repo, image))

    unused = [lid for lid in layers if lid not in used]
    if unused:
        raise r.fail("layers", f"layer(s) no image uses: {excerpt(', '.join(unused))}")

    # Floating tags: the newest build of that OS build per repository, unless listed outright.
    newest: dict[tuple[str, int], CatalogImage] = {}
    for repo, image in repo_images:
        build = _build_of(image.os_version)
        if build is None:
            continue
        best = newest.get((repo, build))
        if best is None or _version_key(image.os_version) > _version_key(best.os_version):
            newest[(repo, build)] = image
    for (repo, build), image in newest.items():
        for tag, tag_build in floating.items():
            ref = f"{repo}:{tag}"
            if tag_build == build and ref not in images:
                images[ref] = replace(image, ref=ref)
    return images


def load(path: str | Path | None = None) -> dict[str, CatalogImage]:
    """The catalogue in a data file (default: the packaged one, read once and cached).

    Another file is read as scenario files are: refused above their size limit unread,
    plain YAML only, aliases expanded within a bound.
    """
    if path is None:
        return _packaged()
    p = Path(path)
    docs = list(iter_documents(read_text(p, str(p), kind="catalogue file"), str(p)))
    if len(docs) > 1:
        raise HpsimError("an image catalogue holds one YAML document", file=str(p))
    return _parse(docs[0].data if docs else None, str(p))


# libyaml's parser under PyYAML's safe constructor when PyYAML was built with it: the
# same data, read 10x faster (26 KB: 37 -> 3 ms, at every start of the command line).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _safe_load(text: str, file: str) -> Any:
    """The packaged data file, which ships with hpsim: PyYAML's own safe loader."""
    try:
        return yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or type(exc).__name__
        # str(exc) would quote the offending line of the file: the problem alone.
        raise HpsimError(f"not valid YAML: {excerpt(problem, 120)}", file=file, line=line) from None


@functools.cache
def _packaged() -> dict[str, CatalogImage]:
    name = f"hpsim/data/{DATA_FILE}"
    text = (resources.files("hpsim") / "data" / DATA_FILE).read_text(encoding="utf-8")
    return _parse(_safe_load(text, name), name)


IMAGES: dict[str, CatalogImage] = _packaged()


def lookup(ref: str, unpacked_ratio: float = UNPACKED_RATIO) -> CatalogImage | None:
    """A built-in image by reference (``docker.io/`` and ``:latest`` are not implied)."""
    image = IMAGES.get(ref)
    if image is None or unpacked_ratio == UNPACKED_RATIO:
        return image
    return image.with_ratio(unpacked_ratio)


def _sort_key(image: CatalogImage) -> tuple[Any, ...]:
    repo, _, tag = image.ref.rpartition(":")
    natural = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", tag))
    return repo, _version_key(image.os_version), natural


def entries(
    unpacked_ratio: float = UNPACKED_RATIO, images: Mapping[str, CatalogImage] | None = None
) -> list[CatalogImage]:
    """Every catalogued ref, by repository then build (a floating tag next to its build)."""
    pool = IMAGES if images is None else images
    rows = sorted(pool.values(), key=_sort_key)
    if unpacked_ratio != UNPACKED_RATIO:
        rows = [img.with_ratio(unpacked_ratio) for img in rows]
    return rows


# -- listing ------------------------------------------------------------------------------------


def format_table(rows: list[CatalogImage]) -> str:
    """An aligned table, one row per ref, sources as numbered notes below it."""
    notes: dict[str, int] = {}
    for image in rows:
        for source in image.sources:
            notes.setdefault(source, len(notes) + 1)
    ratio = rows[0].layers[0].unpacked_ratio if rows else UNPACKED_RATIO
    header = ("REF", "OS VERSION", "LAYERS", "COMPRESSED", "BYTES", "UNPACKED", "SOURCES")
    table = [header]
    for image in rows:
        table.append(
            (
                image.ref,
                image.os_version or "-",
                str(len(image.layers)),
                bytes_words(image.size),
                f"{image.size:,}",
                bytes_words(image.unpacked) + (" *" if image.estimate else ""),
                ",".join(str(notes[s]) for s in image.sources),
            )
        )
    right = {2, 3, 4}
    widths = [max(len(row[c]) for row in table) for c in range(len(header))]
    lines = [
        "  ".join(
            cell.rjust(widths[c]) if c in right else cell.ljust(widths[c])
            for c, cell in enumerate(row)
        ).rstrip()
        for row in table
    ]
    lines.append("")
    lines.append(
        f"Unpacked = compressed x {ratio:g} (a guess within the observed 2-3x; "
        "--unpacked-ratio to change). * some layer size is an estimate."
    )
    lines.append("repo-info = docker-library/repo-info.")
    lines.extend(f"[{n}] {source}" for source, n in notes.items())
    return "\n".join(lines)


def normal_image(ref: str) -> str:
    """An image reference as containerd names it and people write it, compared alike:
    ``docker.io/library/x`` and ``docker.io/x`` -> ``x`` (the CRI reports Docker Hub
    images with their domain; distribution/reference ParseNormalizedNamed adds it)."""
    r = ref.strip()
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/"):
        if r.startswith(prefix):
            r = r[len(prefix) :]
            break
    if "@" not in r and ":" not in r.rsplit("/", 1)[-1]:
        r += ":latest"
    return r
