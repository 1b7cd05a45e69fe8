"""The node model compiled with mypyc: the same source, built on request, never stale.

``python -m hpsim.nativebuild build`` compiles the simulation (:func:`compiled_modules`:
hpsim.node, the node model, and hpsim.cluster, the scheduler, the autoscaler and
the API server's part) with mypyc into ``hpsim/_compiled/``. It needs a source
checkout and mypy (``pip install -e '.[test]'``) and takes a minute or two.
``python -m hpsim.nativebuild status`` says whether a build is in use, ``clean``
removes it. Nothing else changes: the same code runs, with the same results
bit for bit (CI runs the whole suite, the golden results included, on the
pure-Python model and again on a fresh build: .ci/run), about 1.8 times as fast
(``benchmarks/bench_core.py`` says which model it timed).

A stale build can never shadow edited code. The build records a digest of every
``.py`` file of the package as it compiled them and the Python it was built for.
Importing ``hpsim`` installs a finder, and on the first import of a compiled
module the finder compares the package as it is now with that record: one file
edited, added or removed anywhere in ``hpsim/``, or another Python, and every
module loads from its ``.py`` file as if there were no build. (The compiled
modules are linked together in one library, so it is all of them or none.)
``HPSIM_NATIVE=0`` ignores a build.

What compiling asks of the source, so that both run from one: mypyc checks a
value against its annotation where it crosses a function or attribute, so the
node model's annotations are exact (simpy's ``Event.callbacks``, annotated a
list and None once processed, is read through ``hpsim.node.waits.callbacks_of``);
and compiled classes cannot be patched or subclassed from Python, so the few
tests that instrument the model that way run on the pure-Python model only
(``tests/simhelp.py`` ``pure_python_only``).
"""

from __future__ import annotations

import os
import sys
from importlib.machinery import EXTENSION_SUFFIXES, ModuleSpec
from importlib.util import spec_from_file_location
from typing import Any

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
#: Where a build lives (``.gitignore``d): the libraries and ``manifest.json``.
BUILD_DIR = os.path.join(PACKAGE_DIR, "_compiled")
MANIFEST = "manifest.json"
#: The environment variable that, set to 0, ignores a build.
SWITCH = "HPSIM_NATIVE"
#: The packages whose modules are compiled, every one but its ``__init__`` and those named:
#: the simulation (the node model; the cluster's scheduler, autoscaler and API server).
#: ``cluster/fit.py`` is ``hpsim fit``'s search, outside a run, and its null emitter's
#: aliased methods are what mypyc does not compile.
COMPILED_PACKAGES: dict[str, tuple[str, ...]] = {"node": (), "cluster": ("fit",)}

_PREFIXES = tuple(f"hpsim.{package}." for package in COMPILED_PACKAGES)
NO_BUILD = "no build (python -m hpsim.nativebuild build)"

_finder: _Finder | None = None


def source_digest(package_dir: str = PACKAGE_DIR) -> str:
    """sha256 over every ``.py`` file of the package: its path and its bytes."""
    import hashlib

    digest = hashlib.sha256()
    found: list[str] = []
    for root, dirs, files in os.walk(package_dir):
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", "_compiled"))
        found.extend(os.path.join(root, f) for f in files if f.endswith(".py"))
    for path in sorted(found):
        rel = os.path.relpath(path, package_dir).replace(os.sep, "/")
        digest.update(rel.encode() + b"\0")
        with open(path, "rb") as f:
            digest.update(f.read())
        digest.update(b"\0")
    return digest.hexdigest()


def compiled_modules(package_dir: str = PACKAGE_DIR) -> list[str]:
    """The modules a build compiles (:data:`COMPILED_PACKAGES`)."""
    out: list[str] = []
    for package, left_out in COMPILED_PACKAGES.items():
        out.extend(
            f"hpsim.{package}.{f[:-3]}"
            for f in sorted(os.listdir(os.path.join(package_dir, package)))
            if f.endswith(".py") and f != "__init__.py" and f[:-3] not in left_out
        )
    return out


def this_python() -> dict[str, str]:
    """What a build is tied to: the interpreter's cache tag and extension suffix."""
    return {"python": sys.implementation.cache_tag, "suffix": EXTENSION_SUFFIXES[0]}


def _read_manifest(build_dir: str) -> dict[str, Any] | None:
    import json

    try:
        with open(os.path.join(build_dir, MANIFEST), encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def state(build_dir: str = BUILD_DIR) -> tuple[str, dict[str, str]]:
    """``(why, libraries)``: the compiled libraries by module name when a build exists and
    matches this package and this Python (``why`` "in use"), else none and why not."""
    if os.environ.get(SWITCH, "1") == "0":
        return f"ignored ({SWITCH}=0)", {}
    manifest = _read_manifest(build_dir)
    if manifest is None:
        return NO_BUILD, {}
    this = this_python()
    if {k: manifest.get(k) for k in this} != this:
        built_for = f"{manifest.get('python')} ({manifest.get('suffix')})"
        this_one = f"{this['python']} ({this['suffix']})"
        return f"stale: built for {built_for}, this is {this_one}", {}
    if manifest.get("sources") != source_digest():
        return "stale: the package's source changed since the build", {}
    libraries = manifest.get("libraries")
    if not isinstance(libraries, dict) or not all(
        isinstance(f, str) and f == os.path.basename(f) for f in libraries.values()
    ):
        return NO_BUILD, {}  # a manifest naming files outside its folder is none of ours
    files = {name: os.path.join(build_dir, file) for name, file in libraries.items()}
    if not all(os.path.isfile(path) for path in files.values()):
        return "stale: a library of the build is missing", {}
    return "in use", files


class _Finder:
    """Serves the compiled modules, when the build is fresh (decided once, at the first
    import of one of them)."""

    def __init__(self, build_dir: str) -> None:
        self.build_dir = build_dir
        self._files: dict[str, str] | None = None
        self.why = ""

    def files(self) -> dict[str, str]:
        if self._files is None:
            self.why, self._files = state(self.build_dir)
        return self._files

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if not (name.startswith(_PREFIXES) or name.endswith("__mypyc")):
            return None  # not a compiled module: the build is not even looked at
        file = self.files().get(name)
        return None if file is None else spec_from_file_location(name, file)


def install(build_dir: str = BUILD_DIR) -> None:
    """Put the finder first on ``sys.meta_path`` (``import hpsim`` does this); it reads
    nothing until a compiled module is imported."""
    global _finder
    if _finder is None and os.path.isdir(build_dir):
        _finder = _Finder(build_dir)
        sys.meta_path.insert(0, _finder)


def active() -> bool:
    """Whether the compiled model is the one that runs (a fresh build, not ignored)."""
    return _finder is not None and bool(_finder.files())
