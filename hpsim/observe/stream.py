"""Streaming a run's tables to disk as they are made (``hpsim run --stream``).

A recorder given a :class:`ChunkFiles` as its sink hands it each table's rows
in chunks as they fill (see :class:`~hpsim.observe.recorder.Recorder`), and
keeps nothing of them: memory stays bounded by the chunk size however long the
run. The chunks become row groups of one Parquet file per table in a scratch
folder (numbers as float64, strings as strings), inside the run's temporary
results folder.

The tables' dtypes depend on every row (a column of ints alone is ``int64``,
with one float ``float64``), so they are known only when the run ends.
:func:`write_tables` then makes the run's table files from the scratch files,
a row group at a time, with the dtypes of the whole run -- the frames an
in-memory run builds, cut into pieces -- and gathers what the summary reads:
the series' figures (:class:`~hpsim.observe.results.SeriesStats`), the few
events and writes :func:`~hpsim.observe.results.summary_rows` keeps, and the
pods, containers, images and gc tables whole (the pods and containers tables
are sorted at the end: one row a pod, about 300 bytes a pod for the two in
pandas, and twice that while they are built).

The scratch folder lives in the temporary folder the results are renamed from
(:func:`hpsim.atomic.replacing_dir`): an interrupted run leaves no results
folder, only a hidden leftover that the next write beside it removes. Each
chunk touches the temporary folder, so that a run streaming for more than a day
is not taken for a leftover.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hpsim.observe.columns import Chunk
from hpsim.observe.recorder import STREAMED, Recorder
from hpsim.observe.results import (
    SeriesStats,
    images_table,
    summary_rows,
    table_from_columns,
)

#: Rows per chunk when streaming. A chunk of series is about 2 MB while it fills
#: (the values that moved) and 11 MB when handed on (20 float64 columns and the time).
CHUNK_ROWS = 65_536


class ChunkFiles:
    """The recorder's sink: each chunk becomes a row group of ``folder/<table>.parquet``.

    ``keepalive`` (the run's temporary folder) is touched at every chunk.
    """

    def __init__(self, folder: Path, keepalive: Path | None = None) -> None:
        self.folder = Path(folder)
        self.folder.mkdir()
        self.keepalive = keepalive
        self._writers: dict[str, Any] = {}

    def __call__(self, name: str, chunk: Chunk) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table(
            {
                k: pa.array(v, type=pa.large_string() if v.dtype == object else pa.float64())
                for k, v in chunk.items()
            }
        )
        writer = self._writers.get(name)
        if writer is None:
            writer = self._writers[name] = pq.ParquetWriter(self.path(name), table.schema)
        writer.write_table(table)
        if self.keepalive is not None:
            os.utime(self.keepalive)

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.parquet"

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def chunks(self, name: str, nodes: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
        """The table's chunks as they were written, in order: numbers as float64 arrays,
        strings as Arrow arrays. ``nodes``: chunks of one node each (the series), given
        node by node in this order, each node's in the order written -- the order of
        the table a run in memory builds."""
        import pyarrow.parquet as pq

        if name in self._writers:
            raise RuntimeError(f"{name}: read before the chunk files were closed")
        path = self.path(name)
        if not path.exists():
            return
        f = pq.ParquetFile(path)
        groups = list(range(f.num_row_groups))
        if nodes is not None:
            of = [f.read_row_group(i, columns=["node"]).column(0)[0].as_py() for i in groups]
            rank = {node: k for k, node in enumerate(nodes)}
            groups.sort(key=lambda i: rank[of[i]])  # stable: a node's chunks keep their order
        for i in groups:
            group = f.read_row_group(i)
            yield {k: _column(group.column(k)) for k in group.column_names}

    def text_classes(self, name: str) -> dict[str, set[type]]:
        """For each string column: ``str`` if it holds a string, ``NoneType`` if a None
        (read from the files' statistics: the dtype pandas gives the whole column)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = self.path(name)
        if not path.exists():
            return {}
        meta = pq.ParquetFile(path).metadata
        schema = meta.schema.to_arrow_schema()
        out: dict[str, set[type]] = {}
        for j, field in enumerate(schema):
            if not pa.types.is_large_string(field.type):
                continue
            nulls = rows = 0
            for i in range(meta.num_row_groups):
                group = meta.row_group(i)
                stats = group.column(j).statistics
                if stats is None or not stats.has_null_count:
                    raise RuntimeError(f"{name}.{field.name}: no null counts in the chunk file")
                rows += group.num_rows
                nulls += stats.null_count
            out[field.name] = ({str} if nulls < rows else set()) | (
                {type(None)} if nulls else set()
            )
        return out

    def remove(self) -> None:
        self.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _column(values: Any) -> Any:
    """A column read back: numbers as a float64 array, strings left in Arrow (made into
    pandas' ``str`` without a Python string per row)."""
    import pyarrow as pa

    if pa.types.is_large_string(values.type):
        return values.combine_chunks()
    return values.to_numpy()


class _TableFile:
    """One table file written a frame at a time: Parquet row groups with the schema of
    the first frame, or CSV with the first frame's header."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.fmt = fmt
        self._writer: Any = None
        self._schema: Any = None
        self._csv: Any = None

    def write(self, df: pd.DataFrame) -> None:
        if self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self._writer is None:
                self._schema = pa.Schema.from_pandas(df, preserve_index=False)
                self._writer = pq.ParquetWriter(self.path, self._schema)
            table = pa.Table.from_pandas(df, schema=self._schema, preserve_index=False)
            self._writer.write_table(table)
        else:
            if self._csv is None:
                self._csv = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
                df.to_csv(self._csv, index=False)
            else:
                df.to_csv(self._csv, index=False, header=False)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._csv is not None:
            self._csv.close()


def write_table(df: pd.DataFrame, path: Path, fmt: str, rows: int = CHUNK_ROWS) -> None:
    """A whole table, as :func:`hpsim.observe.output.write_results` writes it, ``rows``
    at a time (Parquet buffers a row group whole while it encodes it)."""
    out = _TableFile(path, fmt)
    try:
        for start in range(0, max(len(df), 1), rows):
            out.write(df.iloc[start : start + rows])
    finally:
        out.close()
        _release_arrow_memory()


def _release_arrow_memory() -> None:
    """Give the memory Arrow's pool keeps for reuse back to the system (between tables:
    it would otherwise keep the peak of each)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def write_tables(
    rec: Recorder, chunks: ChunkFiles, folder: Path, fmt: str, duration: float
) -> tuple[dict[str, pd.DataFrame], SeriesStats]:
    """Write every table of a streamed run into ``folder`` (as ``<table>.parquet`` or
    ``.csv``), from the chunk files and the recorder (closed, its last chunks handed
    on); returns what :func:`~hpsim.observe.results.summarize` reads: the tables it
    needs (whole, or the rows :func:`summary_rows` keeps) and the series' figures."""
    ext = "parquet" if fmt == "parquet" else "csv"
    stats = SeriesStats(duration)
    tables: dict[str, pd.DataFrame] = {}
    for name in STREAMED:
        classes = {**chunks.text_classes(name), **rec.classes(name)}
        path = folder / f"{name}.{ext}"
        if name in ("pods", "containers"):
            parts = list(chunks.chunks(name))
            arrays = {k: _concat([p[k] for p in parts]) for k in parts[0]} if parts else None
            del parts
            df = table_from_columns(name, arrays or _empty(rec, name), classes)
            del arrays
            write_table(df, path, fmt)
            tables[name] = df
            continue
        out = _TableFile(path, fmt)
        kept: list[pd.DataFrame] = []
        try:
            written = False
            nodes = rec.series_nodes() if name == "series" else None
            for chunk in chunks.chunks(name, nodes):
                df = table_from_columns(name, chunk, classes)
                out.write(df)
                written = True
                if name == "series":
                    stats.add(df)
                elif name == "nodes":
                    kept.append(df)
                elif (rows := summary_rows(name, df)) is not None:
                    kept.append(rows)
            if not written:
                df = table_from_columns(name, _empty(rec, name), classes)
                out.write(df)
                kept.append(df)
        finally:
            out.close()
            _release_arrow_memory()
        if name in ("events", "writes", "gc", "nodes"):
            tables[name] = pd.concat(kept, ignore_index=True) if len(kept) > 1 else kept[0]
    images = images_table(rec)
    write_table(images, folder / f"images.{ext}", fmt)
    tables["images"] = images
    return tables, stats.finish()


def _concat(parts: list[Any]) -> Any:
    import pyarrow as pa

    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    return pa.concat_arrays(parts)


def _empty(rec: Recorder, name: str) -> Chunk:
    """A table's columns with no rows."""
    return rec.columns(name)[0]
