"""The pairs of a table's columns as Dask tasks (``mi_matrix`` / ``mi_pairs`` / ``write_mi_pairs``
with ``scheduler=``), for tables whose pairs, or whose columns, outgrow one process.

The table is cut into blocks of columns. Each block goes to the workers once (scattered from the
client's memory, or read there from a Parquet or CSV file or a dask DataFrame, so a table on disk
never passes through the client) and is checked there: numbers only, each column's distinct
values, float32 exactness, and its part of each row's content key. The client receives only
those small summaries: it reports the columns' findings, and orders the rows by the sum of the
blocks' keys, which is the single-process order (:func:`mist.estimation.row_keys`), so the row
subsets, and the estimates, equal the single-process ones. Then one task per pair of blocks
estimates the pairs between them, on the worker's copy of the model (loaded once per worker
process); each task's pairs come back as it finishes, to the caller's collector.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mist._validation import as_samples
from mist.column_pairs import check_table_shape, column_pair_estimates, prepared_columns
from mist.errors import MistError
from mist.estimation import _ProgressBar, dense_ranks, row_keys, subsets_in_order, tied_columns, untied

#: Columns a block; a task estimates the pairs between two blocks (up to 8,128 pairs).
BLOCK_COLUMNS = 128


def client_for(scheduler: Any):
    """(client, cluster or None, whether the client is ours to close) for ``scheduler``:
    "local" (a LocalCluster of single-threaded worker processes, one per core), a scheduler
    address, or a Client (the caller's, left open)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise MistError("`scheduler` needs dask.distributed: pip install \"dask[dataframe,distributed]\" "
                        "(or pip install mist-mi[dask]).") from exc
    if isinstance(scheduler, Client):
        return scheduler, None, False
    if scheduler == "local":
        cluster = LocalCluster(threads_per_worker=1, processes=True, dashboard_address=None)
        try:
            return Client(cluster), cluster, True
        except BaseException:
            cluster.close()
            raise
    if isinstance(scheduler, str):
        return Client(scheduler), None, True
    raise MistError(f"`scheduler` must be \"local\", a scheduler address such as \"tcp://host:8786\", or a "
                    f"distributed.Client; got {scheduler!r}.")


def lazy_frame(data: Any):
    """A dask DataFrame for ``data`` when it is one, or a path to a Parquet file (or folder of
    them) or a CSV file, read lazily; None for anything else (tables held in memory, and
    .npy, .npz and .tsv files, read whole by :func:`mist.io.read_table`)."""
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.exists():
            raise MistError(f"data file {str(path)!r} does not exist.")
        suffix = path.suffix.lower()
        if suffix not in (".parquet", ".csv") and not path.is_dir():
            return None
        dd = _dask_dataframe()
        try:
            if suffix == ".csv":
                from mist.io import csv_separator

                # every number as float64, so a column of integers that turns to floats further down
                # does not break the guess dask makes from the first rows
                return dd.read_csv(path, sep=csv_separator(path), assume_missing=True)
            return dd.read_parquet(path)
        except Exception as exc:
            raise MistError(f"could not read {str(path)!r}: {type(exc).__name__}: {exc}") from exc
    try:
        import dask.dataframe as dd
    except ImportError:
        return None
    return data if isinstance(data, dd.DataFrame) else None


def _dask_dataframe():
    try:
        import dask.dataframe as dd
    except ImportError as exc:
        raise MistError("reading a table lazily needs dask's dataframe and pyarrow: pip install "
                        "\"dask[dataframe,distributed]\" (or pip install mist-mi[dask]).") from exc
    return dd


def _prepare_block(raw: Any, first_column: int):
    """On a worker: a block's values as :func:`mist.column_pairs.prepared_columns` makes them, each
    column's distinct values, and the block's part of each row's content key."""
    values, distinct = prepared_columns(as_samples(raw, "data"))
    return values, distinct, row_keys(values, first_column)


def _distinct(prepared) -> np.ndarray:
    return prepared[1]


def _key_part(prepared, first_column: int, ranks: bool) -> np.ndarray:
    """A block's part of the rows' keys: of its values (computed by :func:`_prepare_block`), or
    of its columns' dense ranks (what ties are broken by)."""
    return row_keys(dense_ranks(prepared[0]), first_column) if ranks else prepared[2]


def _add_keys(*parts: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.sum(parts, axis=0, dtype=np.uint64)


def _untie_block(prepared, key: np.ndarray, first_column: int):
    """On a worker: the block's columns with ties broken by the whole table's rank keys, as
    :func:`mist.column_pairs.column_findings` breaks them, and its part of the new rows' keys."""
    values, distinct, _ = prepared
    values = untied(values, key, distinct, first_column)
    return values, distinct, row_keys(values, first_column)


def _pair_task(block_a, block_b, first: np.ndarray, second: np.ndarray, model: str, level: float, subsets: list,
               min_estimate: float | None):
    """On a worker: the pairs (first[k], second[k]) of the columns of block_a then block_b (None
    for pairs inside block_a); only those estimated at ``min_estimate`` or more come back, with
    their positions k."""
    values, distinct = block_a[0], block_a[1]
    if block_b is not None:
        values, distinct = np.hstack([values, block_b[0]]), np.concatenate([distinct, block_b[1]])
    found = column_pair_estimates(values, first, second, model=model, device="cpu", level=level, distinct=distinct,
                                  subsets=subsets)
    kept = np.arange(len(first)) if min_estimate is None else np.flatnonzero(found.estimate >= min_estimate)
    return kept, found.take(kept)


class DaskTable:
    """A table's column blocks on a Dask cluster, checked; :meth:`pairs` estimates its pairs.
    ``block_columns``: columns a block (None: :data:`BLOCK_COLUMNS` as it is at the call)."""

    def __init__(self, data: Any, scheduler: Any, *, block_columns: int | None = None):
        import pandas as pd

        frame = lazy_frame(data)
        self.source = str(data) if isinstance(data, (str, Path)) else None
        if frame is None:
            if isinstance(data, (str, Path)):
                from mist.io import read_table

                data = read_table(data)
            frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(as_samples(data, "data"))
        else:
            text = [str(c) for c, kind in frame.dtypes.items() if not pd.api.types.is_numeric_dtype(kind)]
            if text:
                raise MistError(f"`data` has non-numeric columns {text[:10]}; pass a table of numbers only (select "
                                "the columns to compare first: `mist matrix --columns`, or data[[...]]).")
        self.names = [str(c) for c in frame.columns]
        check_table_shape(None, len(self.names))
        self.client, self._cluster, self._own_client = client_for(scheduler)
        try:
            block_columns = block_columns or BLOCK_COLUMNS
            starts = range(0, len(self.names), block_columns)
            self.blocks = [np.arange(s, min(s + block_columns, len(self.names))) for s in starts]
            if isinstance(frame, pd.DataFrame):
                values = as_samples(frame, "data")  # checked here: the error names the column
                raw = [self.client.scatter(values[:, cols], hash=False) for cols in self.blocks]
            else:  # each block read on a worker: the client never holds the table
                raw = [self.client.compute(frame[[frame.columns[j] for j in cols]]) for cols in self.blocks]
            self.prepared = [self.client.submit(_prepare_block, r, int(cols[0]), pure=False)
                             for r, cols in zip(raw, self.blocks)]
            self.distinct = np.concatenate(self._gather([self.client.submit(_distinct, p, pure=False)
                                                         for p in self.prepared]))
            self.key = self._key()
            self.n = len(self.key)
            check_table_shape(self.n, len(self.names))
            if tied_columns(self.distinct, self.n).any():  # ties: broken as in one process
                key = self.client.scatter(self._key(ranks=True), broadcast=True, hash=False)
                self.prepared = [self.client.submit(_untie_block, p, key, int(cols[0]), pure=False)
                                 for p, cols in zip(self.prepared, self.blocks)]
                self.key = self._key()
        except BaseException:
            self.close()
            raise

    def _key(self, ranks: bool = False) -> np.ndarray:
        """Each row's key (:func:`_key_part`): the blocks' parts, added on a worker (one array
        comes back)."""
        parts = [self.client.submit(_key_part, p, int(cols[0]), ranks, pure=False)
                 for p, cols in zip(self.prepared, self.blocks)]
        return self._gather(self.client.submit(_add_keys, *parts, pure=False))

    def _gather(self, futures):
        """The futures' results; a file the workers could not read is named in a MistError."""
        try:
            return self.client.gather(futures)
        except MistError:
            raise
        except Exception as exc:
            if self.source is None:
                raise
            raise MistError(f"could not read {self.source!r} on the workers: {type(exc).__name__}: {exc}") from exc

    def subsets(self, max_rows: int) -> list[np.ndarray]:
        """The whole table's row subsets, as :func:`mist.estimation.row_subsets` cuts them (a
        64-bit collision of two unequal rows' keys, which row_subsets resolves by the rows'
        values, is left to the input order here: about n^2 / 2^65 likely)."""
        return subsets_in_order(np.argsort(self.key, kind="stable"), "subsets", max_rows)

    def pairs(self, collect, *, model: str, level: float, max_rows: int, min_estimate: float | None = None,
              progress: bool = False) -> None:
        """Every pair of columns, one task per pair of blocks; ``collect(first, second, found)``
        receives each task's pairs (those at ``min_estimate`` nats or more) as it finishes."""
        from distributed import as_completed

        subsets = self.subsets(max_rows)
        shared = self.client.scatter(subsets, broadcast=True, hash=False)
        futures, tasks = [], {}
        for a, cols_a in enumerate(self.blocks):
            for b in range(a, len(self.blocks)):
                if a == b:
                    first, second = np.triu_indices(len(cols_a), k=1)
                    block_b, columns = None, cols_a
                else:
                    cols_b = self.blocks[b]
                    first, second = (g.ravel() for g in np.meshgrid(np.arange(len(cols_a)),
                                                                    len(cols_a) + np.arange(len(cols_b)), indexing="ij"))
                    block_b, columns = self.prepared[b], np.concatenate([cols_a, cols_b])
                if not len(first):
                    continue
                future = self.client.submit(_pair_task, self.prepared[a], block_b, first, second, model, level,
                                            shared, min_estimate, pure=False)
                futures.append(future)
                tasks[future.key] = (columns[first], columns[second])
        bar = _bar(len(futures), len(self.names)) if progress else None
        try:
            for future in as_completed(futures):
                kept, found = future.result()
                first, second = tasks[future.key]
                collect(first[kept], second[kept], found)
                if bar is not None:
                    bar.advance(1)
        finally:
            if bar is not None:
                bar.close()

    def close(self) -> None:
        if self._own_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _bar(tasks: int, columns: int):
    bar = _ProgressBar(tasks)
    bar.progress.update(bar.task, description=f"{columns} columns: pairs of column blocks")
    return bar
