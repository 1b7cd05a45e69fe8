"""Where runs execute: in this process, in a local process pool, or on Dask.

The unit of work is one run: one scenario (as plain data) with one seed.
Workers get a :class:`RunSpec` -- the scenario mapping, its folder, the seed's
entropy and spawn key -- never live objects, so any executor can ship it and
the same spec gives the same tables wherever it runs. :func:`execute` catches
everything a run raises and returns it as data: one failing run never stops
the others.

- :class:`InProcess` runs specs one after another here (the default of the
  Python API and of ``-j 1``).
- :class:`Pool` is a ``concurrent.futures`` process pool started with the
  *forkserver* method where there is one (no threads forked mid-flight).
- :class:`Dask` submits to a ``dask.distributed`` cluster: a LocalCluster it
  starts, or a running scheduler at an address.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hpsim import atomic
from hpsim.errors import HpsimError

EXECUTORS = ("inprocess", "pool", "dask")


@dataclass(frozen=True)
class RunSpec:
    """One run, as data a worker can unpickle anywhere."""

    key: tuple[str, int]  # (point id, replication)
    data: dict[str, Any]  # the scenario mapping (factors applied)
    file: str  # the scenario file, for messages
    base_dir: str  # manifests and traces are relative to it
    entropy: int  # SeedSequence(entropy, spawn_key=spawn_key)
    spawn_key: tuple[int, ...] = ()
    align: bool = True
    # Replay at half and twice the unpack throughput where pulls dominate start latency
    # (hpsim.experiment.run.simulate): hpsim.run asks it of its first replication only.
    unpack_sensitivity: bool = False
    out_dir: str | None = None  # write the run's folder here (and return no tables)
    fmt: str = "parquet"
    allow_outside: bool = False  # manifests and traces may lie outside base_dir

    def seed_sequence(self) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.entropy, spawn_key=self.spawn_key)


@dataclass
class RunOutcome:
    """What a run gave: its summary and tables, or the error it raised."""

    key: tuple[str, int]
    summary: dict[str, Any] | None = None
    tables: dict[str, pd.DataFrame] | None = None
    error: dict[str, Any] | None = None
    # A run that wrote its folder as Parquet: the Arrow tables it wrote (schema metadata
    # dropped), so that the sweep need not read the files back.
    arrow: dict[str, Any] | None = None
    seconds: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


# -- one run ------------------------------------------------------------------------------------

# Loaded scenarios by spec, per process: a worker running 30 replications of a point
# reads its manifests once. Scenarios are immutable once loaded.
_LOADED: dict[str, Any] = {}
_LOADED_MAX = 64


def _cache_key(data: dict[str, Any], file: str, base_dir: str, allow_outside: bool) -> str:
    return json.dumps([data, file, base_dir, allow_outside], sort_keys=True, default=str)


def remember(loaded: Any) -> None:
    """Seed this process's cache with an already-loaded scenario (in-process runs)."""
    key = _cache_key(loaded.data, loaded.file, str(loaded.base_dir), loaded.allow_outside)
    _LOADED[key] = (loaded, None, False)


def _loaded(spec: RunSpec) -> tuple[Any, Any]:
    from hpsim.experiment.align import align_bases
    from hpsim.scenario.load import load_data

    key = _cache_key(spec.data, spec.file, spec.base_dir, spec.allow_outside)
    hit = _LOADED.get(key)
    if hit is None:
        loaded = load_data(
            spec.data, file=spec.file, base_dir=spec.base_dir, allow_outside=spec.allow_outside
        )
        hit = (loaded, None, False)
    loaded, twin, twin_done = hit
    if spec.align and not twin_done:
        twin, twin_done = align_bases(loaded), True
    if len(_LOADED) >= _LOADED_MAX:
        _LOADED.clear()
    _LOADED[key] = (loaded, twin, twin_done)
    return loaded, (twin if spec.align else None)


def _write_error(out_dir: Path, record: dict[str, Any]) -> None:
    """``error.json`` in the run's folder, written to a temporary folder and renamed."""
    with atomic.replacing_dir(out_dir) as tmp:
        (tmp / "error.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def write_run(
    loaded: Any,
    seed: int,
    tables: dict[str, pd.DataFrame],
    summary: dict[str, Any],
    out_dir: Path,
    fmt: str,
) -> dict[str, Any] | None:
    """One run's folder; returns the Arrow tables its Parquet files hold (pandas' schema
    metadata dropped, as a sweep combines them), or None for CSV."""
    from hpsim.observe.output import arrow_tables, without_metadata, write_results
    from hpsim.observe.results import Results, scenario_meta

    res = Results(
        scenario=loaded.name,
        seed=seed,
        duration=loaded.scenario.duration,
        tables=tables,
        summaries=[summary],
        meta={"replications": 1, **scenario_meta(loaded)},
    )
    arrow = arrow_tables(tables) if fmt == "parquet" else None
    # clean=False: the sweep cleaned its folder once at its start.
    write_results(res, out_dir, fmt, scenario_file=loaded.file, arrow=arrow, clean=False)
    return without_metadata(arrow) if arrow is not None else None


def error_record(key: tuple[str, int], exc: BaseException, message: str) -> dict[str, Any]:
    """What a failed run leaves (error.json, the failed table): its key, the exception's
    type, ``message`` and the traceback."""
    return {
        "point": key[0],
        "replication": key[1],
        "type": type(exc).__name__,
        "message": message,
        "traceback": "".join(traceback.format_exception(exc)),
    }


def write_error_record(key: tuple[str, int], exc: OSError, out_dir: Path) -> dict[str, Any]:
    """The error record of a run that finished but whose folder could not be written."""
    from hpsim.observe.output import write_failure

    return error_record(key, exc, write_failure(out_dir, exc))


def execute(spec: RunSpec) -> RunOutcome:
    """Run one spec; never raises (an error comes back in the outcome).

    A run whose folder cannot be written (a full disk) is a failed run, its
    message ``could not write results to DIR: [Errno 28] No space left on device``.
    """
    from hpsim.experiment.run import simulate

    t0 = time.perf_counter()
    writing = False
    try:
        loaded, twin = _loaded(spec)
        tables, summary = simulate(
            loaded, spec.seed_sequence(), twin, unpack_sensitivity=spec.unpack_sensitivity
        )
        if spec.out_dir is not None:
            writing = True
            arrow = write_run(loaded, spec.entropy, tables, summary, Path(spec.out_dir), spec.fmt)
            return RunOutcome(spec.key, summary, arrow=arrow, seconds=time.perf_counter() - t0)
        return RunOutcome(spec.key, summary, tables, seconds=time.perf_counter() - t0)
    except Exception as exc:
        record = error_record(spec.key, exc, str(exc))
        if isinstance(exc, HpsimError):
            # Bad input found while running (the model's guards): the user's error, not a crash.
            record["input_error"] = True
        if writing and isinstance(exc, OSError):
            record = write_error_record(spec.key, exc, Path(spec.out_dir))  # type: ignore[arg-type]
        if spec.out_dir is not None:
            try:
                _write_error(Path(spec.out_dir), record)
            except OSError as write_exc:
                record["message"] += f" (and error.json could not be written: {write_exc})"
        return RunOutcome(spec.key, error=record, seconds=time.perf_counter() - t0)


def _lost(spec: RunSpec, exc: BaseException) -> RunOutcome:
    """A run whose worker died (the pool broke, Dask lost the worker)."""
    message = f"the worker running it was lost: {exc}"
    return RunOutcome(spec.key, error=error_record(spec.key, exc, message))


# -- executors ----------------------------------------------------------------------------------


class Executor:
    """Runs specs and yields their outcomes as they finish (in any order)."""

    name = "executor"
    jobs = 1
    #: Workers see this machine's files: they can write run folders themselves.
    shares_files = True

    def map(self, fn: Callable[[RunSpec], RunOutcome], specs: Iterable[RunSpec]) -> Iterator:
        raise NotImplementedError

    def start(self) -> None:
        """Connect or start workers now, so that a bad address fails before anything runs
        (else the first :meth:`map` does it)."""

    def close(self) -> None:
        """Stop workers this executor started."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> str:
        return self.name


class InProcess(Executor):
    """One run after another, in this process."""

    name = "inprocess"

    def map(self, fn: Callable[[RunSpec], RunOutcome], specs: Iterable[RunSpec]) -> Iterator:
        for spec in specs:
            yield fn(spec)


def _worker_init() -> None:
    """Pool workers die with their parent (Linux): a SIGKILLed sweep leaves no orphans."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass


class Pool(Executor):
    """A local process pool of ``jobs`` workers (default: the machine's CPUs)."""

    name = "pool"

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing as mp

            methods = mp.get_all_start_methods()
            ctx: mp.context.BaseContext
            if "forkserver" in methods:
                ctx = mp.get_context("forkserver")
                # The server imports hpsim once; every worker forks from it ready to run.
                ctx.set_forkserver_preload(["hpsim.experiment.run"])
            else:
                ctx = mp.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                max_workers=self.jobs, mp_context=ctx, initializer=_worker_init
            )
        return self._pool

    def map(self, fn: Callable[[RunSpec], RunOutcome], specs: Iterable[RunSpec]) -> Iterator:
        pool = self._start()
        pending: dict[Future, RunSpec] = {pool.submit(fn, s): s for s in specs}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    spec = pending.pop(fut)
                    exc = fut.exception()
                    yield _lost(spec, exc) if exc is not None else fut.result()
        finally:
            for fut in pending:
                fut.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def describe(self) -> str:
        return f"pool of {self.jobs} processes"


CHUNKS_PER_WORKER = 4
DASK_WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
}


def _run_chunk(fn: Callable[[RunSpec], RunOutcome], specs: list[RunSpec]) -> list[RunOutcome]:
    """Several runs as one Dask task (each still its own outcome)."""
    return [fn(spec) for spec in specs]


class Dask(Executor):
    """A dask.distributed cluster: a LocalCluster started here, or one at ``scheduler``.

    With a remote scheduler the workers may not see this machine's files, so
    they send tables back and this process writes the run folders.
    """

    name = "dask"

    def __init__(
        self,
        jobs: int | None = None,
        scheduler: str | None = None,
        *,
        processes: bool = True,
    ) -> None:
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.scheduler = scheduler
        self.processes = processes
        self.shares_files = scheduler is None
        self._client: Any = None
        self._cluster: Any = None

    def _start(self) -> Any:
        if self._client is None:
            import logging

            import dask
            from dask.distributed import Client, LocalCluster

            if self.scheduler is None:
                # A worker's event loop wakes every 20 ms (tick), samples the task thread
                # every 10 ms (profile) and reads memory every 100 ms: each wake-up takes
                # the GIL from a pure-Python run. Runs last seconds, not milliseconds, so
                # the workers here wake rarely. They take the config they start with.
                with dask.config.set(DASK_WORKER_CONFIG):
                    self._cluster = LocalCluster(
                        n_workers=self.jobs,
                        threads_per_worker=1,
                        processes=self.processes,
                        dashboard_address=None,
                        silence_logs=logging.ERROR,
                    )
                    self._client = Client(self._cluster)
            else:
                self._client = connect(self.scheduler)
                self.jobs = max(1, sum(self._client.nthreads().values()))
        return self._client

    def start(self) -> None:
        self._start()

    def map(self, fn: Callable[[RunSpec], RunOutcome], specs: Iterable[RunSpec]) -> Iterator:
        from dask.distributed import as_completed

        client = self._start()
        specs = list(specs)
        if not specs:
            return
        # Runs of a fraction of a second are short for Dask's per-task overhead (the
        # scheduler shares this process's cores): send them in chunks, about
        # CHUNKS_PER_WORKER per worker, so that the workers stay busy to the end.
        size = max(1, math.ceil(len(specs) / (self.jobs * CHUNKS_PER_WORKER)))
        chunks = [specs[i : i + size] for i in range(0, len(specs), size)]
        futures = client.map(_run_chunk, [fn] * len(chunks), chunks, pure=False)
        by_key = {f.key: c for f, c in zip(futures, chunks, strict=True)}
        try:
            for fut in as_completed(futures):
                chunk = by_key[fut.key]
                try:
                    yield from fut.result()
                except Exception as exc:
                    for spec in chunk:
                        yield _lost(spec, exc)
                fut.release()
        finally:
            client.cancel([f for f in futures if not f.done()])

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def describe(self) -> str:
        if self.scheduler:
            return f"Dask scheduler {self.scheduler}"
        return f"Dask LocalCluster of {self.jobs} workers"


# How long to wait for a Dask scheduler to answer: distributed's own connect timeout
# is 30 s; 10 s is our choice (a scheduler that takes longer is too loaded to use).
SCHEDULER_TIMEOUT_S = 10.0


def connect(address: str) -> Any:
    """A ``dask.distributed.Client`` of the scheduler at ``address``, or an HpsimError
    (field ``--scheduler``) saying why not, within SCHEDULER_TIMEOUT_S.

    A TCP address is tried with a plain socket first: a refused or unresolvable one
    fails at once with the OS's reason, not after Dask's retries.
    """
    import socket
    import threading

    from dask.distributed import Client
    from distributed.comm.addressing import parse_address, parse_host_port

    from hpsim.errors import HpsimError, excerpt

    shown = excerpt(address, 200)

    def malformed(reason: object) -> HpsimError:
        return HpsimError(
            f"not a Dask scheduler address: {shown} ({excerpt(reason, 200)}); "
            "expected e.g. tcp://10.0.0.5:8786",
            field="--scheduler",
        )

    try:
        scheme, location = parse_address(address)
        if scheme in ("tcp", "tls"):
            host, port = parse_host_port(location)
            if not 0 < port < 65536:
                raise ValueError(f"port {port} is not between 1 and 65535")
    except (ValueError, TypeError) as exc:
        raise malformed(exc) from None

    def unreachable(reason: object) -> HpsimError:
        return HpsimError(
            f"cannot reach the Dask scheduler at {shown} ({excerpt(reason, 200)})",
            field="--scheduler",
        )

    if scheme in ("tcp", "tls"):
        try:
            socket.create_connection((host, port), timeout=SCHEDULER_TIMEOUT_S).close()
        except socket.gaierror as exc:
            raise unreachable(f"unknown host {host!r}: {exc.strerror}") from None
        except TimeoutError:
            raise unreachable(f"no answer in {SCHEDULER_TIMEOUT_S:g} s") from None
        except OSError as exc:
            raise unreachable(f"[Errno {exc.errno}] {exc.strerror}" if exc.errno else exc) from None
    # Client() waits forever on a server that accepts the connection and never answers
    # (not a Dask scheduler): it is made in a daemon thread we stop waiting for.
    made: dict[str, Any] = {}

    def make() -> None:
        try:
            made["client"] = Client(address, timeout=f"{SCHEDULER_TIMEOUT_S:g}s")
        except BaseException as exc:  # handed to the caller below
            made["error"] = exc

    thread = threading.Thread(target=make, name="hpsim-dask-connect", daemon=True)
    thread.start()
    thread.join(SCHEDULER_TIMEOUT_S + 1)
    if thread.is_alive():
        raise unreachable(f"connected, but no Dask scheduler answered in {SCHEDULER_TIMEOUT_S:g} s")
    error = made.get("error")
    if isinstance(error, ValueError):  # an unknown scheme, a location it cannot parse
        raise malformed(error) from None
    if isinstance(error, OSError | TimeoutError):
        raise unreachable(error) from None
    if error is not None:
        raise error
    return made["client"]


def make_executor(
    kind: str | Executor | None = None,
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
) -> Executor:
    """An executor by name: ``inprocess`` (default), ``pool`` or ``dask``.

    A ``scheduler`` address means Dask; ``pool`` with one job runs in process.
    """
    from hpsim.errors import HpsimError

    if isinstance(kind, Executor):
        return kind
    if scheduler is not None and kind in (None, "dask"):
        return Dask(jobs, scheduler)
    if scheduler is not None:
        raise HpsimError(f"--scheduler needs the dask executor, not {kind!r}", field="--executor")
    if kind in (None, "inprocess"):
        return InProcess()
    if kind == "pool":
        return InProcess() if jobs == 1 else Pool(jobs)
    if kind == "dask":
        return Dask(jobs)
    raise HpsimError(
        f"unknown executor {kind!r} (choose from {', '.join(EXECUTORS)})", field="executor"
    )
