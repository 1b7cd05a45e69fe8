"""The compiled simulation (hpsim/native.py): served only from a build that matches the source.

Building takes minutes, so these tests check the finder against hand-made builds; CI
builds the real one and runs the whole suite again on it (.ci/run), where the last test
here checks that the compiled modules are the ones loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from hpsim import native

needs_build = pytest.mark.skipif(
    not native.active(), reason="no fresh build (python -m hpsim.nativebuild build)"
)


def _fake_build(folder: Path, **changes: object) -> Path:
    """A build folder whose manifest matches this package, with ``changes`` applied, and
    an empty file standing for each library."""
    folder.mkdir()
    suffix = EXTENSION_SUFFIXES[0]
    libraries = {m: m + suffix for m in native.compiled_modules()}
    libraries["abc123__mypyc"] = "abc123__mypyc" + suffix
    for file in libraries.values():
        (folder / file).write_bytes(b"")
    manifest = {
        "python": sys.implementation.cache_tag,
        "suffix": suffix,
        "sources": native.source_digest(),
        "libraries": libraries,
        **changes,
    }
    (folder / native.MANIFEST).write_text(json.dumps(manifest))
    return folder


def test_the_compiled_modules_are_the_simulation() -> None:
    modules = native.compiled_modules()
    assert "hpsim.node.kubelet" in modules and "hpsim.node.jobobject" in modules
    assert "hpsim.cluster.placement" in modules and "hpsim.cluster.autoscaler" in modules
    assert "hpsim.node.__init__" not in modules and "hpsim.cluster.fit" not in modules
    assert all(m.startswith(("hpsim.node.", "hpsim.cluster.")) for m in modules)


def test_a_matching_build_serves_its_libraries(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(native.SWITCH, raising=False)
    build = _fake_build(tmp_path / "b")
    finder = native._Finder(str(build))
    spec = finder.find_spec("hpsim.node.kubelet")
    assert spec is not None
    assert spec.origin == str(build / ("hpsim.node.kubelet" + EXTENSION_SUFFIXES[0]))
    group = finder.find_spec("abc123__mypyc")
    assert group is not None and group.origin is not None
    assert finder.why == "in use"
    # Modules outside the build are left to the usual finders.
    assert finder.find_spec("hpsim.node.__init__") is None
    assert finder.find_spec("hpsim.cluster.fit") is None
    assert finder.find_spec("hpsim.observe.recorder") is None
    assert finder.find_spec("json") is None


THIS = f"{sys.implementation.cache_tag} ({EXTENSION_SUFFIXES[0]})"


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"sources": "0" * 64}, "stale: the package's source changed since the build"),
        (
            {"python": "cpython-27"},
            f"stale: built for cpython-27 ({EXTENSION_SUFFIXES[0]}), this is {THIS}",
        ),
        (
            {"suffix": ".pyd"},
            f"stale: built for {sys.implementation.cache_tag} (.pyd), this is {THIS}",
        ),
    ],
)
def test_a_stale_build_is_never_served(tmp_path: Path, monkeypatch, changes, why) -> None:
    monkeypatch.delenv(native.SWITCH, raising=False)
    finder = native._Finder(str(_fake_build(tmp_path / "b", **changes)))
    assert finder.find_spec("hpsim.node.kubelet") is None
    assert finder.why == why


def test_a_build_missing_a_library_is_not_served(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(native.SWITCH, raising=False)
    build = _fake_build(tmp_path / "b")
    (build / ("hpsim.node.pod" + EXTENSION_SUFFIXES[0])).unlink()
    assert native.state(str(build)) == ("stale: a library of the build is missing", {})


def test_a_build_serves_only_files_of_its_own(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(native.SWITCH, raising=False)
    outside = tmp_path / ("elsewhere" + EXTENSION_SUFFIXES[0])
    outside.write_bytes(b"")
    build = _fake_build(tmp_path / "b")
    manifest = json.loads((build / native.MANIFEST).read_text())
    manifest["libraries"]["hpsim.node.pod"] = str(outside)
    (build / native.MANIFEST).write_text(json.dumps(manifest))
    assert native.state(str(build)) == ("no build (python -m hpsim.nativebuild build)", {})


def test_no_build_and_the_switch(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(native.SWITCH, raising=False)
    assert native.state(str(tmp_path / "none"))[0] == "no build (python -m hpsim.nativebuild build)"
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / native.MANIFEST).write_text("[1, 2")
    assert native.state(str(tmp_path / "junk"))[1] == {}
    build = _fake_build(tmp_path / "b")
    monkeypatch.setenv(native.SWITCH, "0")
    assert native.state(str(build)) == (f"ignored ({native.SWITCH}=0)", {})


def test_one_edited_file_anywhere_changes_the_digest(tmp_path: Path) -> None:
    package = tmp_path / "hpsim"
    (package / "node").mkdir(parents=True)
    (package / "node" / "kubelet.py").write_text("x = 1\n")
    (package / "units.py").write_text("y = 2\n")
    first = native.source_digest(str(package))
    (package / "units.py").write_text("y = 3\n")
    assert native.source_digest(str(package)) != first
    (package / "units.py").write_text("y = 2\n")
    assert native.source_digest(str(package)) == first
    (package / "new.py").write_text("")
    assert native.source_digest(str(package)) != first
    # Bytecode caches and a build are not source.
    (package / "new.py").unlink()
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "units.py").write_text("z")
    (package / "_compiled").mkdir()
    (package / "_compiled" / "a.py").write_text("z")
    assert native.source_digest(str(package)) == first


def test_a_stale_build_is_looked_at_only_by_a_model_import_and_then_passed_over(
    tmp_path: Path,
) -> None:
    """``hpsim --help`` pays for no digest: the finder decides at the first compiled import,
    and a stale build is passed over (its ``.py`` file loads, or a real fresh build's
    library when CI's second pass has one)."""
    build = _fake_build(tmp_path / "b", sources="0" * 64)
    code = (
        "import hpsim, hpsim.cli\n"
        "from hpsim import native\n"
        "native._finder = None  # a real build's finder, if any, stays behind this one\n"
        f"native.install({str(build)!r})\n"
        "import hpsim.scenario.load\n"
        "print(native._finder._files is None)\n"
        "import hpsim.node.clock\n"
        "print(native._finder.why)\n"
        f"print(not hpsim.node.clock.__file__.startswith({str(build)!r}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != native.SWITCH}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout.splitlines()
    assert out == ["True", "stale: the package's source changed since the build", "True"]


@needs_build
def test_with_a_fresh_build_the_node_model_is_compiled() -> None:
    import hpsim.node.jobobject
    import hpsim.node.kubelet

    for module in (hpsim.node.kubelet, hpsim.node.jobobject):
        assert module.__file__ is not None
        # (mypyc names a module imported from within the build by its own path under it.)
        assert module.__file__.startswith(native.BUILD_DIR + os.sep)
        assert module.__file__.endswith(EXTENSION_SUFFIXES[0])


_TABLE_HASHES = """
import hashlib, sys
from hpsim import native
from hpsim.cluster.cluster import Cluster
from hpsim.observe.recorder import Recorder
from hpsim.observe.results import tables_from_records
from hpsim.scenario.load import load
rec = Recorder()
Cluster(load(sys.argv[1]), 3, rec).run()
print("compiled" if native.active() else "python")
for name, df in sorted(tables_from_records(rec).items()):
    print(name, len(df), hashlib.sha256(df.to_csv(index=False).encode()).hexdigest())
"""


@needs_build
def test_the_compiled_and_the_pure_python_model_write_the_same_tables() -> None:
    """Bit for bit, every table, on the shipped pool scenario (an autoscaled pool)."""
    scenario = Path(__file__).parents[1] / "scenarios" / "pool-autoscale.yaml"
    outputs = {}
    for switch in ("1", "0"):
        env = {**os.environ, native.SWITCH: switch}
        outputs[switch] = subprocess.run(
            [sys.executable, "-c", _TABLE_HASHES, str(scenario)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout.splitlines()
    assert outputs["1"][0] == "compiled" and outputs["0"][0] == "python"
    assert outputs["1"][1:] == outputs["0"][1:]
    assert len(outputs["1"]) == 11  # every table
