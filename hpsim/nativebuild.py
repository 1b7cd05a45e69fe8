"""``python -m hpsim.nativebuild build|status|clean``: compile the simulation with mypyc.

What is compiled, where the build lives and how a stale one is never used:
:mod:`hpsim.native`.
"""

from __future__ import annotations

import os
import sys

from hpsim import atomic
from hpsim.native import (
    BUILD_DIR,
    MANIFEST,
    PACKAGE_DIR,
    compiled_modules,
    source_digest,
    state,
    this_python,
)


def build(build_dir: str = BUILD_DIR) -> list[str]:
    """Compile :func:`compiled_modules` into ``build_dir``; the names compiled.

    The package is copied to a temporary folder and compiled there, so nothing is
    written beside the sources; the new build replaces the old one whole
    (:func:`hpsim.atomic.replacing_dir`).
    """
    import json
    import shutil
    import subprocess
    import tempfile

    checkout = os.path.dirname(PACKAGE_DIR)
    config = os.path.join(checkout, "pyproject.toml")
    if not os.path.isfile(config):
        raise SystemExit(f"hpsim.nativebuild: build needs a source checkout ({config} not found)")
    from importlib.util import find_spec

    if find_spec("mypyc") is None:
        raise SystemExit("hpsim.nativebuild: build needs mypyc, which mypy ships: pip install mypy")
    modules = compiled_modules()
    with tempfile.TemporaryDirectory(prefix="hpsim-native-") as tmp:
        shutil.copytree(
            PACKAGE_DIR,
            os.path.join(tmp, "hpsim"),
            ignore=shutil.ignore_patterns("__pycache__", "_compiled", "*.so"),
        )
        shutil.copy(config, tmp)
        sources = source_digest(os.path.join(tmp, "hpsim"))
        paths = [m.replace(".", "/") + ".py" for m in modules]
        done = subprocess.run(
            [sys.executable, "-m", "mypyc", *paths],
            cwd=tmp,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
            raise SystemExit(f"hpsim.nativebuild: mypyc failed:\n{tail}")
        identity = this_python()
        suffix = identity["suffix"]
        libraries = {m: m + suffix for m in modules}
        found = {m: os.path.join(tmp, m.replace(".", "/") + suffix) for m in modules}
        groups = [f for f in os.listdir(tmp) if f.endswith("__mypyc" + suffix)]
        for group in groups:
            name = group[: -len(suffix)]
            libraries[name] = group
            found[name] = os.path.join(tmp, group)
        with atomic.replacing_dir(build_dir) as staging:
            for name, path in found.items():
                shutil.copy(path, staging / libraries[name])
            manifest = {**identity, "sources": sources, "libraries": libraries}
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return modules


def clean(build_dir: str = BUILD_DIR) -> bool:
    """Remove the build; whether there was one."""
    import shutil

    existed = os.path.isdir(build_dir)
    shutil.rmtree(build_dir, ignore_errors=True)
    return existed


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m hpsim.nativebuild",
        description=(
            "Compile hpsim's simulation (hpsim/node, hpsim/cluster) with mypyc: the same "
            "results, faster runs. A build is used only while it matches the source."
        ),
    )
    parser.add_argument("action", choices=("build", "status", "clean"))
    args = parser.parse_args(argv)
    if args.action == "build":
        modules = build()
        print(f"compiled {len(modules)} modules into {BUILD_DIR}")
        print(f"status: {state()[0]}")
    elif args.action == "status":
        print(state()[0])
    else:
        print("removed the build" if clean() else "no build to remove")
    return 0


if __name__ == "__main__":
    sys.exit(main())
