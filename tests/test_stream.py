"""``hpsim run --stream``: the tables written as the run makes them are those a run in
memory writes, and an interrupted streamed run leaves no results folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas.testing as pdt
import pyarrow.parquet as pq
import pytest
import yaml

import hpsim
from hpsim import atomic
from hpsim.cli import main
from hpsim.errors import HpsimError
from hpsim.experiment.run import run_streamed
from hpsim.observe import stream
from hpsim.observe.output import TABLES, read_results, write_results
from hpsim.scenario.load import load_data

ROOT = Path(__file__).parents[1]
SCENARIOS = ROOT / "scenarios"


def _scenario(name: str, **over: object) -> hpsim.LoadedScenario:
    path = SCENARIOS / f"{name}.yaml"
    data = yaml.safe_load(path.read_text())
    data.update(over)
    return load_data(data, file=str(path), base_dir=str(SCENARIOS))


def _assert_same_folders(a: Path, b: Path, fmt: str) -> None:
    for name in TABLES:
        if fmt == "parquet":
            ta, tb = pq.read_table(a / f"{name}.parquet"), pq.read_table(b / f"{name}.parquet")
            assert ta.schema.equals(tb.schema, check_metadata=True), name
            assert ta.equals(tb), name
        else:
            assert (a / f"{name}.csv").read_bytes() == (b / f"{name}.csv").read_bytes(), name
    ra, rb = read_results(a), read_results(b)
    for name in TABLES:
        pdt.assert_frame_equal(ra.tables[name], rb.tables[name], check_exact=True, obj=name)
    assert (a / "summary.json").read_bytes() == (b / "summary.json").read_bytes()


def test_streamed_tables_are_those_of_a_run_in_memory(tmp_path: Path) -> None:
    """disk-accounting-gap (writes, image GC, evictions) in chunks of 1,000 rows: every big
    table in several chunks (pods 2, writes 3, series 4, transitions 8, events 21)."""
    loaded = _scenario("disk-accounting-gap")
    write_results(hpsim.run(loaded), tmp_path / "memory")
    chunks: dict[str, int] = {}
    real = stream.ChunkFiles.__call__

    def count(self: stream.ChunkFiles, name: str, chunk: dict[str, np.ndarray]) -> None:
        chunks[name] = chunks.get(name, 0) + 1
        real(self, name, chunk)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(stream.ChunkFiles, "__call__", count)
        res = run_streamed(loaded, tmp_path / "streamed", chunk_rows=1_000)
    assert min(chunks[n] for n in ("series", "events", "transitions", "writes", "pods")) > 1
    assert res.tables == {} and res.summary()["pods_created"] > 300
    _assert_same_folders(tmp_path / "memory", tmp_path / "streamed", "parquet")
    assert not (tmp_path / "streamed" / ".chunks").exists()


def test_streamed_csv_and_an_aligned_twin_are_those_of_a_run_in_memory(tmp_path: Path) -> None:
    loaded = _scenario("mixed-base-images", replications=1)
    write_results(hpsim.run(loaded), tmp_path / "memory", "csv")
    run_streamed(loaded, tmp_path / "streamed", fmt="csv", chunk_rows=50)
    _assert_same_folders(tmp_path / "memory", tmp_path / "streamed", "csv")
    summary = read_results(tmp_path / "streamed").summary()
    assert summary["aligned_bases_saving_bytes"] > 0  # the twin ran


def test_an_interrupted_streamed_run_leaves_no_results_folder(tmp_path: Path) -> None:
    loaded = _scenario("node-bootstrap")
    out = tmp_path / "results" / "run"
    seen: list[str] = []
    real = stream.ChunkFiles.__call__

    def interrupt(self: stream.ChunkFiles, name: str, chunk: dict[str, np.ndarray]) -> None:
        real(self, name, chunk)
        seen.append(name)
        if len(seen) == 3:
            assert any(self.folder.iterdir())  # chunks were being written...
            raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(stream.ChunkFiles, "__call__", interrupt)
        with pytest.raises(KeyboardInterrupt):
            run_streamed(loaded, out, chunk_rows=2)
    assert not out.exists()  # ...and nothing is left: no folder, no hidden leftover
    assert list(out.parent.iterdir()) == []


def test_a_killed_streamed_run_leaves_a_leftover_the_next_run_removes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    leftover = tmp_path / ".run.tmp-999999999"  # the temporary folder of a process gone
    (leftover / ".chunks").mkdir(parents=True)
    (leftover / ".chunks" / "events.parquet").write_bytes(b"half")
    assert atomic.is_leftover(leftover) and atomic.stale(leftover)
    run_streamed(_scenario("node-bootstrap"), out)
    assert not leftover.exists() and (out / "run.json").exists()


def test_each_chunk_keeps_the_temporary_folder_fresh(tmp_path: Path) -> None:
    """A run streaming for more than a day is not taken for a killed one's leftover
    (atomic.STALE_AFTER_S): every chunk touches the folder."""
    keep = tmp_path / "keep"
    keep.mkdir()
    os.utime(keep, (0, 0))
    files = stream.ChunkFiles(tmp_path / "chunks", keepalive=keep)
    files("events", {"time_s": np.array([1.0]), "kind": np.array(["Pod"], dtype=object)})
    files.close()
    assert keep.stat().st_mtime > 1e9
    assert [c["kind"].tolist() for c in files.chunks("events")] == [["Pod"]]


def test_hpsim_run_stream_writes_the_folder_hpsim_run_writes(tmp_path: Path, capsys) -> None:
    scenario = str(SCENARIOS / "node-bootstrap.yaml")
    assert main(["run", scenario, "-o", str(tmp_path / "a"), "-q"]) == 0
    assert main(["run", scenario, "-o", str(tmp_path / "b"), "--stream", "--chunk-rows", "3"]) == 0
    _assert_same_folders(tmp_path / "a", tmp_path / "b", "parquet")
    out = capsys.readouterr().out
    assert "pods_created" in out and str(tmp_path / "b") in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stream"], "--stream runs one replication, not 5 (the scenario's): give -r 1"),
        (["--stream", "-r", "2"], "--stream runs one replication, not 2: give -r 1"),
        (["--stream", "-r", "1", "--until", "restarts_total:±1"], "drop --until"),
        (["--stream", "-r", "1", "--chunk-rows", "0"], "greater than or equal to 1"),
        (["--chunk-rows", "10"], "--chunk-rows: needs --stream"),
    ],
)
def test_stream_options_are_checked_before_anything_runs(
    tmp_path: Path, capsys, args: list[str], message: str
) -> None:
    scenario = str(SCENARIOS / "capacity-plan.yaml")  # replications: 5
    assert main(["run", scenario, "-o", str(tmp_path / "out"), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_run_help_explains_stream(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--stream" in text and "memory stays bounded" in text and "--chunk-rows N" in text


def test_a_results_folder_must_be_empty_for_a_streamed_run_too(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("")
    with pytest.raises(HpsimError, match="not empty"):
        run_streamed(_scenario("node-bootstrap"), tmp_path)
