"""hpsim.atomic: files and folders replaced whole, no temporary leftovers."""

from __future__ import annotations

import os
from contextlib import nullcontext
from pathlib import Path

import pytest

from hpsim import atomic


class Boom(Exception):
    pass


def _leftovers(folder: Path) -> list[Path]:
    return sorted(folder.rglob(atomic.LEFTOVERS))


def test_write_text_and_bytes_write_the_content_and_leave_nothing_else(tmp_path):
    atomic.write_text(tmp_path / "a.json", '{"a": 1}\n')
    atomic.write_bytes(tmp_path / "b.png", b"\x89PNG\x00\xff")
    assert (tmp_path / "a.json").read_text() == '{"a": 1}\n'
    assert (tmp_path / "b.png").read_bytes() == b"\x89PNG\x00\xff"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.png"]


def test_write_replaces_an_existing_file(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text("old and longer than the new text\n")
    atomic.write_text(path, "new\n")
    assert path.read_text() == "new\n"
    assert _leftovers(tmp_path) == []


def test_replacing_file_writes_through_a_hidden_sibling(tmp_path):
    path = tmp_path / "pods.parquet"
    with atomic.replacing_file(path) as tmp:
        assert tmp.parent == tmp_path
        assert tmp.name == f".pods.parquet.tmp-{os.getpid()}"
        tmp.write_text("rows")
        assert list(tmp_path.glob(atomic.LEFTOVERS)) == [tmp]  # what a sweep's clean-up finds
        assert not path.exists()  # nothing under the name until the block ends
    assert path.read_text() == "rows"
    assert _leftovers(tmp_path) == []


def test_replacing_file_works_with_a_writer_that_takes_a_path(tmp_path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"pod": ["a", "b"], "wait_s": [1.5, 2.0]})
    path = tmp_path / "runs.parquet"
    with atomic.replacing_file(path) as tmp:
        df.to_parquet(tmp, index=False, engine="pyarrow")
    pd.testing.assert_frame_equal(pd.read_parquet(path), df)
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("wrote", [True, False])
def test_an_exception_in_replacing_file_leaves_the_old_file_and_no_leftover(tmp_path, wrote):
    path = tmp_path / "report.md"
    path.write_text("old report\n")
    with pytest.raises(Boom), atomic.replacing_file(path) as tmp:
        if wrote:
            tmp.write_text("half a rep")
        raise Boom
    assert path.read_text() == "old report\n"
    assert sorted(tmp_path.iterdir()) == [path]


def test_an_exception_in_replacing_file_creates_nothing_when_there_was_nothing(tmp_path):
    with pytest.raises(Boom), atomic.replacing_file(tmp_path / "new.csv") as tmp:
        tmp.write_text("a,b\n")
        raise Boom
    assert list(tmp_path.iterdir()) == []


def test_replacing_dir_creates_the_folder_and_its_parents(tmp_path):
    dest = tmp_path / "results" / "scenario" / "rep-0"
    with atomic.replacing_dir(dest) as tmp:
        assert tmp.parent == dest.parent
        assert tmp.name == f".rep-0.tmp-{os.getpid()}"
        assert list(tmp.iterdir()) == []
        (tmp / "summary.json").write_text("{}\n")
        assert not dest.exists()
    assert [p.name for p in dest.iterdir()] == ["summary.json"]
    assert (dest / "summary.json").read_text() == "{}\n"
    assert _leftovers(tmp_path) == []


def test_replacing_dir_replaces_a_folder_whole(tmp_path):
    dest = tmp_path / "rep-0"
    (dest / "sub").mkdir(parents=True)
    (dest / "pods.parquet").write_text("old")
    (dest / "sub" / "deep.txt").write_text("old")
    with atomic.replacing_dir(dest) as tmp:
        (tmp / "error.json").write_text('{"type": "Boom"}\n')
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")) == ["error.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep-0"]


def test_an_exception_in_replacing_dir_leaves_the_old_folder_and_no_leftover(tmp_path):
    dest = tmp_path / "run"
    dest.mkdir()
    (dest / "summary.json").write_text("old\n")
    with pytest.raises(Boom), atomic.replacing_dir(dest) as tmp:
        (tmp / "summary.json").write_text("new\n")
        (tmp / "pods.parquet").write_text("half")
        raise Boom
    assert [p.name for p in dest.iterdir()] == ["summary.json"]
    assert (dest / "summary.json").read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_replacing_dir_clears_a_leftover_of_a_killed_writer_first(tmp_path):
    dest = tmp_path / "run"
    stale = tmp_path / f".run.tmp-{os.getpid()}"
    stale.mkdir()
    (stale / "pods.parquet").write_text("from a killed run")
    with atomic.replacing_dir(dest) as tmp:
        assert list(tmp.iterdir()) == []
        (tmp / "run.json").write_text("{}\n")
    assert [p.name for p in dest.iterdir()] == ["run.json"]
    assert _leftovers(tmp_path) == []


def test_replacing_dir_empty_only_replaces_an_empty_folder(tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    with atomic.replacing_dir(dest, empty_only=True) as tmp:
        (tmp / "summary.json").write_text("{}\n")
    assert [p.name for p in dest.iterdir()] == ["summary.json"]
    assert _leftovers(tmp_path) == []


def test_replacing_dir_empty_only_never_overwrites_a_folder_filled_meanwhile(tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(OSError), atomic.replacing_dir(dest, empty_only=True) as tmp:
        (tmp / "summary.json").write_text("mine\n")
        (dest / "theirs.txt").write_text("someone else's\n")
    assert [p.name for p in dest.iterdir()] == ["theirs.txt"]
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("fail", [False, True])
def test_scratch_dir_is_removed_whole_afterwards(tmp_path, fail):
    dest = tmp_path / "results" / "scenario"
    with pytest.raises(Boom) if fail else nullcontext(), atomic.scratch_dir(dest) as tmp:
        assert tmp.parent == dest.parent
        (tmp / "run").mkdir()
        (tmp / "run" / "summary.json").write_text("{}\n")
        if fail:
            raise Boom
    assert list((tmp_path / "results").iterdir()) == []
