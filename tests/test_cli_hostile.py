"""Hostile command lines and results folders: one line, exit 2, nothing half-written.

Every case names the option or folder at fault in the exact words a user sees, and
leaves no results folder behind (or, for results computed but not written, prints
them and leaves nothing half-written).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from hpsim import atomic
from hpsim.cli import main
from hpsim.experiment import executors, sweep
from hpsim.observe import output
from hpsim.scenario.load import load

SCENARIO = {
    "name": "tiny",
    "duration": "10m",
    "seed": 1,
    "node": {
        "osBuild": "10.0.20348.2227",
        "cpu": 4,
        "memory": "16Gi",
        "disk": "128Gi",
        "kubernetes": "1.31",
        "containerd": "1.7.22",
    },
    "images": [{"name": "test/app:1", "layers": [{"size": "20Mi"}]}],
    "workloads": [
        {
            "manifest": {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "app"},
                "spec": {"containers": [{"name": "c", "image": "test/app:1"}]},
            },
            "profile": {"memory": "100Mi"},
        }
    ],
}


@pytest.fixture
def scen(tmp_path, monkeypatch) -> str:
    """A small scenario in an empty working folder (the default results/ lands there)."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(SCENARIO, sort_keys=False))
    return str(path)


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def _no_results(tmp_path: Path) -> None:
    assert not (tmp_path / "results").exists()


def _never_run(monkeypatch) -> None:
    """Make any simulation fail the test: the refusal must come before running."""

    def boom(*args, **kwargs):
        raise AssertionError("the scenario ran")

    monkeypatch.setattr("hpsim.experiment.run.simulate", boom)


# -- 1. --seed and --replications -----------------------------------------------------------


def test_negative_seed_gets_the_words_a_scenario_file_gets(scen, tmp_path, capsys):
    bad = tmp_path / "seed.yaml"
    bad.write_text(yaml.safe_dump({**SCENARIO, "seed": -1}, sort_keys=False))
    with pytest.raises(Exception) as file_error:
        load(bad)
    detail = "Input should be greater than or equal to 0 (got -1)"
    assert str(file_error.value) == f"{bad}:3: seed: {detail}"
    for argv in (
        ["run", scen, "--seed", "-1"],
        ["compare", scen, scen, "--seed", "-1"],
        ["sweep", scen, "--set", "node.cpu=2,4", "--seed", "-1"],
    ):
        assert main(argv) == 2
        assert _err(capsys) == f"hpsim: error: --seed: {detail}\n"
    _no_results(tmp_path)


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("0", "Input should be greater than or equal to 1 (got 0)"),
        ("-3", "Input should be greater than or equal to 1 (got -3)"),
        ("10001", "Input should be less than or equal to 10000 (got 10001)"),
    ],
)
def test_replications_out_of_range_is_one_line_naming_the_option(
    scen, tmp_path, capsys, monkeypatch, value, detail
):
    _never_run(monkeypatch)
    for argv in (
        ["run", scen, "-r", value],
        ["compare", scen, scen, "-r", value],
        ["sweep", scen, "--set", "node.cpu=2,4", "-r", value],
    ):
        assert main(argv) == 2
        assert _err(capsys) == f"hpsim: error: --replications: {detail}\n"
    _no_results(tmp_path)


def test_max_replications_is_bounded_like_replications(scen, tmp_path, capsys, monkeypatch):
    _never_run(monkeypatch)
    argv = ["run", scen, "--until", "p95_start_s:±5%", "--max-replications", "10001"]
    assert main(argv) == 2
    assert _err(capsys) == (
        "hpsim: error: --max-replications: Input should be less than or equal to 10000 "
        "(got 10001)\n"
    )
    _no_results(tmp_path)


# -- 2. --scheduler ---------------------------------------------------------------------------


def test_unreachable_scheduler_is_refused_at_once_and_leaves_no_folder(scen, tmp_path, capsys):
    t0 = time.monotonic()
    assert main(["run", scen, "-r", "2", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert _err(capsys) == (
        "hpsim: error: --scheduler: cannot reach the Dask scheduler at tcp://127.0.0.1:1 "
        f"([Errno {errno.ECONNREFUSED}] Connection refused)\n"
    )
    out = tmp_path / "sw"
    argv = ["sweep", scen, "--set", "node.cpu=2,4", "--scheduler", "tcp://127.0.0.1:1"]
    assert main([*argv, "-d", str(out), "-q"]) == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:1" in _err(capsys)
    assert time.monotonic() - t0 < executors.SCHEDULER_TIMEOUT_S  # no waiting out Dask retries
    assert not out.exists()
    _no_results(tmp_path)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("garbage", "missing port number in address 'garbage'"),
        ("tcp://127.0.0.1:99999", "port 99999 is not between 1 and 65535"),
        (
            "foo://x:1",
            "unknown address scheme 'foo' (known schemes: "
            "['inproc', 'tcp', 'tls', 'ucx', 'ws', 'wss'])",
        ),
    ],
)
def test_malformed_scheduler_address(scen, tmp_path, capsys, address, reason):
    assert main(["run", scen, "-r", "2", "--scheduler", address]) == 2
    assert _err(capsys) == (
        f"hpsim: error: --scheduler: not a Dask scheduler address: {address} ({reason}); "
        "expected e.g. tcp://10.0.0.5:8786\n"
    )
    _no_results(tmp_path)


# -- 3, 4. where the results go ---------------------------------------------------------------


def test_output_that_is_a_file_or_under_a_file_is_refused_before_running(
    scen, tmp_path, capsys, monkeypatch
):
    _never_run(monkeypatch)
    f = tmp_path / "a-file"
    f.write_text("x")
    assert main(["run", scen, "-d", str(f)]) == 2
    assert _err(capsys) == (
        f"hpsim: error: cannot write results to {f}: it is a file, not a folder\n"
    )
    assert main(["run", scen, "-d", str(f / "sub" / "out")]) == 2
    assert _err(capsys) == (
        f"hpsim: error: cannot write results to {f / 'sub' / 'out'}: {f} is a file, not a folder\n"
    )
    assert main(["sweep", scen, "--set", "node.cpu=2,4", "-d", str(f / "sw")]) == 2
    assert _err(capsys).endswith(
        f"hpsim: error: cannot write results to {f / 'sw'}: {f} is a file, not a folder\n"
    )
    assert f.read_text() == "x"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_output_in_proc_is_refused_before_running(scen, tmp_path, capsys, monkeypatch):
    _never_run(monkeypatch)
    assert main(["run", scen, "-d", "/proc/hpsim-out"]) == 2
    assert _err(capsys) == (
        "hpsim: error: cannot write results to /proc/hpsim-out: "
        f"[Errno {errno.ENOENT}] No such file or directory\n"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_output_in_a_read_only_folder_is_refused_before_running(
    scen, tmp_path, capsys, monkeypatch
):
    _never_run(monkeypatch)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert main(["run", scen, "-d", str(ro / "out")]) == 2
        assert _err(capsys) == (
            f"hpsim: error: cannot write results to {ro / 'out'}: "
            f"[Errno {errno.EACCES}] Permission denied\n"
        )
    finally:
        ro.chmod(0o755)
    assert list(ro.iterdir()) == []


def test_a_name_too_long_for_the_file_system_is_refused_before_running(
    scen, tmp_path, capsys, monkeypatch
):
    _never_run(monkeypatch)
    long = tmp_path / "results" / ("n" * 300) / "20260101T000000"
    assert main(["run", scen, "-d", str(long)]) == 2
    shown = str(long)[:200] + "..."
    assert _err(capsys) == (
        f"hpsim: error: cannot write results to {shown}: "
        f"[Errno {errno.ENAMETOOLONG}] File name too long\n"
    )
    _no_results(tmp_path)  # the parents the check made are gone again


def test_a_name_that_fits_but_whose_temporary_sibling_does_not_is_refused(
    scen, tmp_path, capsys, monkeypatch
):
    _never_run(monkeypatch)
    name_max = os.pathconf(tmp_path, "PC_NAME_MAX")
    out = tmp_path / ("n" * (name_max - 2))  # ".NAME.tmp-PID" is past the limit
    assert main(["run", scen, "-d", str(out)]) == 2
    assert f"[Errno {errno.ENAMETOOLONG}] File name too long" in _err(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


def test_a_full_disk_after_the_run_prints_the_results_and_leaves_nothing(
    scen, tmp_path, capsys, monkeypatch
):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "summary.json")

    # Called in the temporary folder, after the tables are written there.
    monkeypatch.setattr(output, "summary_json", full)
    out = tmp_path / "out"
    assert main(["run", scen, "-d", str(out), "--format", "csv"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"hpsim: error: could not write results to {out}: "
        f"[Errno {errno.ENOSPC}] No space left on device\n"
    )
    assert captured.out.startswith("tiny: seed 1, 10.0 min simulated (not written)\n")
    assert "pods_created" in captured.out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


# -- 5. leftovers of interrupted writes --------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _leftover(parent: Path, name: str, pid: int) -> Path:
    tmp = parent / f".{name}.tmp-{pid}"
    tmp.mkdir(parents=True)
    (tmp / "run.json").write_text("{}\n")
    (tmp / "summary.json").write_text("{}\n")
    return tmp


def test_a_run_removes_stale_leftovers_beside_it_and_keeps_a_live_writers(scen, tmp_path):
    parent = tmp_path / "results" / "tiny"
    dead = _leftover(parent, "20260101T000000", _dead_pid())
    live = _leftover(parent, "20260101T000001", os.getppid())
    old = _leftover(parent, "20260101T000002", os.getppid())
    long_ago = time.time() - atomic.STALE_AFTER_S - 60
    os.utime(old, (long_ago, long_ago))
    assert main(["run", scen, "-q"]) == 0
    assert not dead.exists()
    assert not old.exists()
    assert live.exists()
    assert len([p for p in parent.iterdir() if not p.name.startswith(".")]) == 1


def test_report_and_compare_refuse_a_leftover(scen, tmp_path, capsys):
    tmp = _leftover(tmp_path, "20260101T000000", _dead_pid())
    assert main(["report", str(tmp)]) == 2
    message = (
        f"hpsim: error: {tmp}: not a finished results folder (a temporary folder, never "
        "renamed): the run writing it was interrupted or is still writing; "
        "run the scenario again\n"
    )
    assert _err(capsys) == message
    assert main(["compare", str(tmp), str(tmp)]) == 2
    assert _err(capsys) == message
    assert sorted(p.name for p in tmp.iterdir()) == ["run.json", "summary.json"]


def test_report_refuses_a_folder_without_run_json(tmp_path, capsys):
    plain = tmp_path / "plain"
    plain.mkdir()
    assert main(["report", str(plain)]) == 2
    assert _err(capsys) == (
        f"hpsim: error: {plain}: not a finished results folder (no run.json): "
        "give a folder hpsim run wrote\n"
    )
    (plain / "sweep.json").write_text("{}\n")
    assert main(["compare", str(plain), str(plain)]) == 2
    assert _err(capsys) == (
        f"hpsim: error: {plain}: not a finished results folder (no run.json): "
        "a sweep's folder: give one of its runs, points/<point>/rep-<i>\n"
    )
    assert sorted(p.name for p in plain.iterdir()) == ["sweep.json"]


def test_clean_leftovers_keeps_what_is_not_a_leftover(tmp_path):
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "run.tmp-1").mkdir()  # not hidden: not ours
    dead = _leftover(tmp_path, "x", _dead_pid())
    assert atomic.clean_leftovers(tmp_path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden", "run.tmp-1"]


# -- 6. sweeps on a full disk --------------------------------------------------------------------


def test_a_sweep_records_a_run_it_cannot_write_as_failed_and_finishes(
    scen, tmp_path, capsys, monkeypatch
):
    real = output.write_results

    def full_for_p001(res, out_dir, *args, **kwargs):
        if "p001" in str(out_dir):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out_dir))
        return real(res, out_dir, *args, **kwargs)

    monkeypatch.setattr(output, "write_results", full_for_p001)
    out = tmp_path / "sw"
    argv = ["sweep", scen, "--set", "node.cpu=2,4", "-j", "1", "-d", str(out)]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "tiny: 1 of 2 runs finished, 1 failed -> " in captured.out
    rep = out / "points" / "p001" / "rep-0"
    assert captured.err.splitlines()[-1] == (
        f"hpsim: run p001 rep-0 failed: OSError: could not write results to {rep}: "
        f"[Errno {errno.ENOSPC}] No space left on device"
    )
    assert (out / "points" / "p000" / "rep-0" / "run.json").is_file()
    assert not (rep / "run.json").exists()
    assert json.loads((rep / "error.json").read_text())["type"] == "OSError"
    assert not list(out.rglob(atomic.LEFTOVERS))
    assert (out / "failed.parquet").is_file()


def test_a_sweep_whose_combined_tables_cannot_be_written_prints_them_and_exits_2(
    scen, tmp_path, capsys, monkeypatch
):
    def full(df, path, fmt):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(sweep, "_atomic_table", full)
    out = tmp_path / "sw"
    argv = ["sweep", scen, "--set", "node.cpu=2,4", "-j", "1", "-d", str(out), "--format", "csv"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "tiny: 2 of 2 runs finished, 0 failed" in captured.out
    assert captured.err.splitlines()[-1] == (
        f"hpsim: error: could not write results to {out}: "
        f"[Errno {errno.ENOSPC}] No space left on device"
    )
    assert not list(out.rglob(atomic.LEFTOVERS))


# -- 7. sweep size -----------------------------------------------------------------------------


def test_a_huge_grid_is_refused_with_its_count_before_any_point_is_built(
    scen, tmp_path, capsys, monkeypatch
):
    def never(*args, **kwargs):
        raise AssertionError("the grid was built")

    monkeypatch.setattr(sweep, "grid", never)
    values = ",".join(str(i) for i in range(1, 1001))
    argv = ["sweep", scen, "--set", f"node.cpu={values}", "--set", f"node.pagefile={values}"]
    assert main(argv) == 2
    assert _err(capsys) == (
        "hpsim: error: --set: 1,000 x 1,000 points x 1 replications = 1,000,000 runs, "
        "more than a sweep may hold (100,000): split it into smaller sweeps\n"
    )
    _no_results(tmp_path)


def test_the_runs_and_points_bounds(scen, tmp_path, capsys, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the grid was built")

    sweep.check_size({"a": list(range(10))}, 10_000)  # exactly the bound: allowed
    monkeypatch.setattr(sweep, "grid", never)
    values = ",".join(str(i) for i in range(1, 12))
    assert main(["sweep", scen, "--set", f"node.cpu={values}", "-r", "10000"]) == 2
    assert _err(capsys) == (
        "hpsim: error: --set: 11 points x 10,000 replications = 110,000 runs, "
        "more than a sweep may hold (100,000): split it into smaller sweeps\n"
    )
    a = ",".join(str(i) for i in range(1, 102))
    b = ",".join(str(i) for i in range(1, 101))
    assert main(["sweep", scen, "--set", f"node.cpu={a}", "--set", f"node.pagefile={b}"]) == 2
    assert _err(capsys) == (
        "hpsim: error: --set: 101 x 100 = 10,100 points, more than a sweep may hold "
        "(10,000): split it into smaller sweeps\n"
    )
    _no_results(tmp_path)


# -- 8. the rest of the command line ---------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "compare", "sweep", "validate"])
def test_a_fifo_as_scenario_is_refused_without_reading_it(scen, tmp_path, capsys, command):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # reading it would wait for a writer forever
    argv = {
        "run": ["run", str(fifo)],
        "compare": ["compare", str(fifo), scen],
        "sweep": ["sweep", str(fifo), "--set", "node.cpu=2,4"],
        "validate": ["validate", str(fifo)],
    }[command]
    assert main(argv) == 2
    assert _err(capsys) == (
        f"hpsim: error: {fifo}: not a regular file (a FIFO, socket or device): "
        "give a scenario file\n"
    )
    _no_results(tmp_path)


def test_a_folder_or_results_folder_as_scenario(scen, tmp_path, capsys):
    folder = tmp_path / "d"
    folder.mkdir()
    assert main(["run", str(folder)]) == 2
    assert _err(capsys) == f"hpsim: error: {folder}: is a directory, not a file\n"
    (folder / "run.json").write_text("{}\n")
    for argv in (["run", str(folder)], ["sweep", str(folder), "--set", "node.cpu=2,4"]):
        assert main(argv) == 2
        assert _err(capsys) == (
            f"hpsim: error: {folder}: is a results folder, not a scenario file "
            "(hpsim report and hpsim compare read results folders)\n"
        )
    _no_results(tmp_path)


def test_missing_files(scen, tmp_path, capsys):
    assert main(["run", "nope.yaml"]) == 2
    assert _err(capsys) == "hpsim: error: nope.yaml: no such file\n"
    assert main(["compare", "nope", scen]) == 2
    assert _err(capsys) == "hpsim: error: nope: no such scenario file or results folder\n"
    assert main(["report", "nope"]) == 2
    assert _err(capsys) == "hpsim: error: nope: not a results folder (no run.json)\n"
    _no_results(tmp_path)


def test_validate_cpus_below_one(scen, capsys):
    assert main(["validate", "--cpus", "0", scen]) == 2
    assert _err(capsys) == (
        "hpsim: error: --cpus: Input should be greater than or equal to 1 (got 0)\n"
    )


def test_max_replications_without_until(scen, tmp_path, capsys, monkeypatch):
    _never_run(monkeypatch)
    assert main(["run", scen, "--max-replications", "5"]) == 2
    assert _err(capsys) == "hpsim: error: --max-replications: needs --until\n"
    _no_results(tmp_path)


def test_a_report_that_cannot_be_written_is_one_line(scen, tmp_path, capsys, monkeypatch):
    out = tmp_path / "r"
    assert main(["run", scen, "-d", str(out), "-q"]) == 0

    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(atomic, "write_bytes", full)
    assert main(["report", str(out)]) == 2
    assert _err(capsys) == (
        f"hpsim: error: could not write the report to {out}: "
        f"[Errno {errno.ENOSPC}] No space left on device\n"
    )


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("0", "Input should be greater than or equal to 1 (got 0)"),
        ("100000", "Input should be less than or equal to 1024 (got 100000)"),
    ],
)
def test_jobs_out_of_range(scen, tmp_path, capsys, monkeypatch, value, detail):
    _never_run(monkeypatch)
    for argv in (["run", scen, "-j", value], ["sweep", scen, "--set", "node.cpu=2,4", "-j", value]):
        assert main(argv) == 2
        assert _err(capsys) == f"hpsim: error: --jobs: {detail}\n"
    _no_results(tmp_path)


def test_a_server_that_never_answers_is_not_waited_for_forever(scen, tmp_path, capsys, monkeypatch):
    import socket

    monkeypatch.setattr(executors, "SCHEDULER_TIMEOUT_S", 0.5)
    with socket.socket() as srv:  # accepts connections, says nothing
        srv.bind(("127.0.0.1", 0))
        srv.listen(5)
        address = f"tcp://127.0.0.1:{srv.getsockname()[1]}"
        t0 = time.monotonic()
        assert main(["run", scen, "-r", "2", "--scheduler", address]) == 2
        assert time.monotonic() - t0 < 30
    assert _err(capsys) == (
        f"hpsim: error: --scheduler: cannot reach the Dask scheduler at {address} "
        "(connected, but no Dask scheduler answered in 0.5 s)\n"
    )
    _no_results(tmp_path)


# -- files outside the scenario's folder: --allow-outside-files ---------------------------------


@pytest.fixture
def outside(tmp_path, monkeypatch) -> Path:
    """A scenario in sc/ whose manifest lies in its parent folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sc").mkdir()
    manifest = SCENARIO["workloads"][0]["manifest"]
    (tmp_path / "app.yaml").write_text(yaml.safe_dump(manifest))
    data = {**SCENARIO, "workloads": [{"manifest": "../app.yaml", "profile": {"memory": "1Mi"}}]}
    path = tmp_path / "sc" / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_run_refuses_a_file_outside_the_folder_unless_allowed(outside, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(outside), "-d", str(out), "-q"]) == 2
    assert _err(capsys) == (
        f"hpsim: error: {outside}:16: workloads[0].manifest: manifest file '../app.yaml' is "
        "outside the scenario's folder; hpsim reads only files in the scenario's folder and "
        "below it (to allow others: --allow-outside-files, or allow_outside=True in "
        "hpsim.load)\n"
    )
    assert not out.exists()
    # Allowed, also in worker processes, which load the scenario again from its data.
    args = ["run", str(outside), "-d", str(out), "-q", "-r", "2", "-j", "2"]
    assert main([*args, "--allow-outside-files"]) == 0
    assert (out / "run.json").is_file()


def test_sweep_compare_and_validate_take_allow_outside_files(outside, tmp_path, capsys):
    flag = "--allow-outside-files"
    sweep_out = tmp_path / "sw"
    args = ["sweep", str(outside), "--set", "node.cpu=2,4", "-d", str(sweep_out), "-j", "2"]
    assert main(args) == 2
    assert "is outside the scenario's folder" in _err(capsys)
    assert main([*args, flag]) == 0
    assert (sweep_out / "points").is_dir()
    assert main(["compare", str(outside), str(outside), flag]) == 0
    assert main(["validate", str(outside)]) == 2
    assert "is outside the scenario's folder" in _err(capsys)
    assert main(["validate", str(outside), flag]) == 0
