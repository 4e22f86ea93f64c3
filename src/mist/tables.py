"""MI between the columns of one table: :func:`mi_matrix`, :func:`mi_pairs` and the
scikit-learn score function :func:`mutual_info_score`.

Each takes the steps of :func:`mist.estimate` for every pair of columns at once
(:mod:`mist.column_pairs`: the table's columns checked once, each column ranked once, the pairs'
statistics from matrix products), in one process or on Dask (:mod:`mist.cluster`), then the
high-MI check runs on every pair (:func:`beyond_range_findings`). What the checks find is warned and, for the two
tables, kept in ``table.attrs["findings"]``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from mist._validation import as_samples, check_level, check_xy, column_names
from mist.cluster import DaskTable
from mist.column_pairs import (PairEstimates, check_table_shape, column_findings, column_pair_estimates, column_report,
                               pairs_one_by_one)
from mist.discrete import class_codes, dequantized_sides, label_entropy
from mist.errors import Finding, MistError, MistWarning
from mist.estimation import KSG, _ProgressBar
from mist.range_checks import HIGH_MI_Z, max_rows
from mist.result import unit_scale


def beyond_range_findings(names: list[str], pairs: list[tuple[int, int]], estimates, flagged, scale: float,
                          unit: str, listed_in: str, stacklevel: int) -> tuple[dict, list]:
    """The pairs the high-MI check flags (``flagged``: their model-free lower bound, NaN
    elsewhere) as one finding, warned at ``stacklevel`` (counted from here), naming the five
    whose bound lies furthest above their estimate ("estimate, at least bound"). Returns {"a ~ b":
    bound} of every flagged pair, in ``unit``, and the findings (none or that one)."""
    marked = np.flatnonzero(~np.isnan(flagged))
    label = lambda k: f"{names[pairs[k][0]]} ~ {names[pairs[k][1]]}"  # noqa: E731
    bounds = {label(k): float(flagged[k]) / scale for k in marked}
    if not len(marked):
        return bounds, []
    worst = sorted(marked, key=lambda k: estimates[k] - flagged[k])[:5]
    listed = ", ".join(f"{label(k)} ({estimates[k] / scale:.3f} {unit}, at least {flagged[k] / scale:.3f})"
                       for k in worst)
    text = (f"{len(marked)} pair(s) correlate beyond the model's training data (normal scores correlated above "
            f"{HIGH_MI_Z:g} standard errors past its largest, or a model-free lower bound above its interval): their "
            f"MI is likely above the range it learned and their estimates too low; for example {listed}{listed_in}")
    return bounds, [Finding("beyond-range", text).warn(stacklevel=stacklevel)]


class _PairCollector:
    """Receives the pairs' figures as they are estimated (all at once in one process, a block of
    columns at a time on Dask) and keeps what was asked: every pair, those estimated at
    ``min_estimate`` nats or more, and of those the ``top_k`` strongest of each column (a pair
    stays while it is among them for either of its columns: what leaves can never come back, so
    memory stays within columns x top_k). With a ``writer`` (and no ``top_k``) each batch goes
    to it as it comes and only the pairs the high-MI check flags are kept (for its finding)."""

    def __init__(self, *, min_estimate: float | None = None, top_k: int | None = None, writer=None):
        self.min_estimate, self.top_k, self.writer = min_estimate, top_k, writer
        self.first, self.second = np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
        self.found = PairEstimates.empty()
        self.count = 0  # pairs handed to the writer
        self.names: list[str] = []  # the table's columns, set before the first pairs arrive

    def __call__(self, first: np.ndarray, second: np.ndarray, found: PairEstimates) -> None:
        if self.min_estimate is not None:
            keep = found.estimate >= self.min_estimate
            first, second, found = first[keep], second[keep], found.take(keep)
        if self.writer is not None and self.top_k is None:
            self.writer.write(self.names, first, second, found)
            self.count += len(first)
            keep = found.beyond
            first, second, found = first[keep], second[keep], found.take(keep)
        self.first, self.second = np.concatenate([self.first, first]), np.concatenate([self.second, second])
        self.found = PairEstimates(*(np.concatenate(pair) for pair in zip(self.found, found)))
        if self.top_k is not None:
            keep = _top_k_of_columns(self.first, self.second, self.found.estimate, self.top_k)
            self.first, self.second = self.first[keep], self.second[keep]
            self.found = self.found.take(keep)

    def finish(self) -> tuple[np.ndarray, np.ndarray, PairEstimates]:
        """The pairs kept, in the order of the table's pairs (first, then second column)."""
        if self.writer is not None and self.top_k is not None:
            self.writer.write(self.names, self.first, self.second, self.found)
            self.count = len(self.first)
        order = np.lexsort((self.second, self.first))
        return self.first[order], self.second[order], self.found.take(order)


def _top_k_of_columns(first: np.ndarray, second: np.ndarray, estimate: np.ndarray, k: int) -> np.ndarray:
    """Positions of the pairs among the ``k`` strongest of either of their columns (ties broken
    by the pair's columns, so the choice does not depend on the order pairs arrive in)."""
    ends, partners = np.concatenate([first, second]), np.concatenate([second, first])
    order = np.lexsort((partners, -np.concatenate([estimate, estimate]), ends))
    ends = ends[order]
    starts = np.flatnonzero(np.r_[True, ends[1:] != ends[:-1]])
    rank = np.arange(len(ends)) - np.repeat(starts, np.diff(np.r_[starts, len(ends)]))
    return np.unique(np.tile(np.arange(len(first)), 2)[order[rank < k]])


def _table_pairs(data: Any, collect: _PairCollector, *, model: str, device: str | None, level: float = 0.9,
                 scheduler: Any = None, block_columns: int | None = None, progress: bool | None = None):
    """Estimate every pair of columns of a table, handing them to ``collect``; returns the
    column names and the findings about its columns. On Dask (``scheduler``) the workers drop
    the pairs below the collector's ``min_estimate`` before they travel."""
    if scheduler is not None:
        from mist.model.numpy_forward import NumpyForward
        from mist.weights import load_predictor

        if device not in (None, "cpu"):
            raise MistError(f"`device` {device!r} with `scheduler`: the workers run the NumPy engine on their CPUs; "
                            "drop one of the two.")
        engine = None if model == KSG else load_predictor(model, "cpu")
        if not isinstance(engine, NumpyForward):
            raise MistError(f"`scheduler` runs the NumPy engine of a statistics-only model; {model!r} is not one: use "
                            "model=\"default\" (or another shipped statistics-only model), or drop `scheduler`.")
        with DaskTable(data, scheduler, block_columns=block_columns) as table:
            found_columns = column_report(table.distinct, table.names, table.n, stacklevel=4)
            collect.names = table.names
            table.pairs(collect, model=model, level=level, max_rows=max_rows(engine.card),
                        min_estimate=collect.min_estimate, progress=_ProgressBar.visible() if progress is None else progress)
        return table.names, found_columns
    import pandas as pd

    if isinstance(data, (str, Path)):
        from mist.io import read_table

        data = read_table(data)
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(as_samples(data, "data"))
    values = as_samples(frame, "data")
    check_table_shape(*values.shape)
    first, second = np.triu_indices(values.shape[1], k=1)
    names = [str(c) for c in frame.columns]
    values, distinct, found_columns = column_findings(values, names, stacklevel=4)  # its line, here, mi_matrix, the user
    collect.names = names
    found = column_pair_estimates(values, first, second, model=model, device=device, level=level, distinct=distinct)
    if found is None:
        found = pairs_one_by_one([(values[:, i], values[:, j]) for i, j in zip(first, second)], model=model,
                                 device=device, level=level)
    collect(first, second, found)
    return names, found_columns


DASK_NOTE = """
    ``scheduler`` runs the pairs as Dask tasks over blocks of columns (``"local"``: a
    ``distributed.LocalCluster`` on this machine, one single-threaded worker process per core;
    ``"tcp://host:8786"``: an existing cluster's scheduler; or a ``distributed.Client``), with the
    same result as without it. ``data`` may then also be a path to a Parquet file (or folder of
    them) or a CSV file, or a dask DataFrame: the workers read its column blocks, so the table
    never passes through this process. ``progress`` shows a bar over the tasks (by default where
    someone can see it). Without ``scheduler`` a path is read whole here."""


def mi_matrix(data: Any, *, model: str = "default", base: float | None = None, device: str | None = None,
              scheduler: Any = None, progress: bool | None = None):
    """MI between every pair of columns of a table, batched: a DataFrame in, a DataFrame out.

    The diagonal is left as NaN (the MI of a continuous variable with itself is infinite).
    :func:`mi_pairs` gives the same estimates with their intervals, one row per pair.
    Pairs that correlate beyond the model's training data (the high-MI check of :func:`mist.estimate`)
    are named in a warning and, with their model-free lower bounds, in
    ``table.attrs["beyond_range"]``. ``attrs`` also holds the ``unit``, the ``model`` and the
    ``findings`` (each a ``Finding(kind, message)``, as :attr:`MIResult.findings`; each was warned).
    """
    import pandas as pd

    scale, unit = unit_scale(base)
    collect = _PairCollector()
    names, findings = _table_pairs(data, collect, model=model, device=device, scheduler=scheduler, progress=progress)
    first, second, found = collect.finish()
    out = np.full((len(names), len(names)), np.nan)
    out[first, second] = out[second, first] = found.estimate / scale
    table = pd.DataFrame(out, index=names, columns=names)
    bounds, flagged = beyond_range_findings(names, list(zip(first, second)), found.estimate, found.flagged(), scale,
                                            unit, ". All are in the result's attrs", stacklevel=3)
    table.attrs.update(unit=unit, model=_model_name(model, device), beyond_range=bounds,
                       findings=tuple(findings + flagged))
    return table


mi_matrix.__doc__ += DASK_NOTE


def mi_pairs(data: Any, *, level: float = 0.9, model: str = "default", base: float | None = None,
             device: str | None = None, scheduler: Any = None, min_estimate: float | None = None,
             top_k: int | None = None, progress: bool | None = None):
    """MI of every pair of columns of a table with its interval: one row per pair, strongest first.

    The estimates are those of :func:`mi_matrix`; the columns of the returned DataFrame are
    ``x`` and ``y`` (the two column names), ``estimate``, ``low`` and ``high`` (the interval at
    ``level``), ``lower_bound`` (model-free, as :attr:`MIResult.lower_bound`; NaN below 20 rows
    or where a column looks discrete) and ``beyond_range`` (True where the high-MI check of
    :func:`mist.estimate` flags the pair: its estimate is likely too low). ``attrs`` holds the
    ``unit``, ``level``, ``model`` and ``findings`` (as :func:`mi_matrix`'s); flagged pairs are also
    named in a warning. ``min_estimate`` (in the result's unit) keeps only the pairs estimated
    at that or more; ``top_k`` only those among the k strongest of either of their columns. On
    Dask both are applied as the tasks finish, so a table of thousands of columns returns its
    strong pairs without this process ever holding them all; :func:`write_mi_pairs` writes them
    to a Parquet file instead.

    Examples
    --------
    >>> import numpy as np, pandas as pd, mist
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(2, 400))
    >>> table = pd.DataFrame({"a": a, "b": b, "c": a + b + rng.normal(size=400)})
    >>> mist.mi_pairs(table)[["x", "y", "estimate", "low", "high"]].round(3)  # exact: 0.2027, 0.2027, 0
       x  y  estimate    low   high
    0  a  c     0.269  0.210  0.351
    1  b  c     0.243  0.187  0.325
    2  a  b     0.000  0.000  0.041
    """
    import pandas as pd

    level = check_level(level)
    scale, unit = unit_scale(base)
    collect = _PairCollector(min_estimate=_nats(min_estimate, scale), top_k=_check_top_k(top_k))
    names, findings = _table_pairs(data, collect, model=model, device=device, level=level, scheduler=scheduler,
                                   progress=progress)
    first, second, found = collect.finish()
    table = pd.DataFrame(_pair_columns(names, first, second, found, scale))
    table = table.sort_values("estimate", ascending=False, kind="stable", ignore_index=True)
    _, flagged = beyond_range_findings(names, list(zip(first, second)), found.estimate, found.flagged(), scale, unit,
                                       ". Their rows are marked in the result", stacklevel=3)
    table.attrs.update(unit=unit, level=level, model=_model_name(model, device), findings=tuple(findings + flagged))
    return table


mi_pairs.__doc__ += DASK_NOTE


class WrittenPairs(NamedTuple):
    """What :func:`write_mi_pairs` wrote: the file, how many pairs, their unit and interval
    level, the model, and the findings (each was warned)."""

    path: Path
    pairs: int
    unit: str
    level: float
    model: str
    findings: tuple


def write_mi_pairs(data: Any, path: str | Path, *, level: float = 0.9, model: str = "default",
                   base: float | None = None, device: str | None = None, scheduler: Any = None,
                   min_estimate: float | None = None, top_k: int | None = None,
                   progress: bool | None = None) -> WrittenPairs:
    """:func:`mi_pairs`' rows written to the Parquet file ``path`` as they are estimated, for
    tables whose pairs are too many to hold: without ``top_k`` each block of pairs (those at
    ``min_estimate`` or more, where given) is written as its task finishes and only the pairs
    the high-MI check flags stay in memory; with ``top_k`` the kept pairs (at most columns x
    top_k) are written at the end. Rows are in the order the tasks finish, not sorted. The
    file's metadata holds the unit, the level and the model
    (``pyarrow.parquet.read_schema(path).metadata``). The rows go to ``path`` + ".partial",
    renamed to ``path`` once all are written (removed on an error), so ``path`` is either
    complete or untouched.
    """
    level = check_level(level)
    scale, unit = unit_scale(base)
    path = Path(path)
    if not path.parent.is_dir():
        raise MistError(f"`path`: the folder {str(path.parent)!r} does not exist; create it first.")
    name = _model_name(model, device)
    partial = path.with_name(path.name + ".partial")
    writer = _ParquetPairs(partial, scale, {"unit": unit, "level": str(level), "model": name})
    collect = _PairCollector(min_estimate=_nats(min_estimate, scale), top_k=_check_top_k(top_k), writer=writer)
    try:
        names, findings = _table_pairs(data, collect, model=model, device=device, level=level, scheduler=scheduler,
                                       progress=progress)
        first, second, found = collect.finish()
        writer.close(names)
        partial.replace(path)
    except BaseException:
        writer.close(None)
        partial.unlink(missing_ok=True)
        raise
    _, flagged = beyond_range_findings(names, list(zip(first, second)), found.estimate, found.flagged(), scale, unit,
                                       f". Their rows are marked in {str(path)!r}", stacklevel=3)
    return WrittenPairs(path, collect.count, unit, level, name, tuple(findings + flagged))


write_mi_pairs.__doc__ += DASK_NOTE


class _ParquetPairs:
    """Appends blocks of pairs to one Parquet file (a row group each), in mi_pairs' columns."""

    def __init__(self, path: str | Path, scale: float, metadata: dict):
        try:
            import pyarrow  # noqa: F401
        except ImportError as exc:
            raise MistError("writing Parquet needs pyarrow: pip install pyarrow (or pip install mist-mi[parquet]).") from exc
        self.path, self.scale, self.metadata = Path(path), scale, metadata
        self._writer = None
        self._closed = False

    def write(self, names: list[str], first: np.ndarray, second: np.ndarray, found: PairEstimates) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([("x", pa.string()), ("y", pa.string()), *((c, pa.float64()) for c in
                            ("estimate", "low", "high", "lower_bound")), ("beyond_range", pa.bool_())],
                           metadata=self.metadata)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, schema)
        self._writer.write_table(pa.table(_pair_columns(names, first, second, found, self.scale), schema=schema))

    def close(self, names: list[str] | None) -> None:
        """Close the file (a second call does nothing); with ``names`` (the table was read), an
        empty one where no pair was kept."""
        if self._closed:
            return
        if self._writer is None and names is not None:
            self.write(names, np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp), PairEstimates.empty())
        if self._writer is not None:
            self._writer.close()
        self._closed = True


def _pair_columns(names, first, second, found: PairEstimates, scale: float) -> dict:
    """mi_pairs' columns for these pairs, in the unit of ``scale``."""
    return {"x": [names[i] for i in first], "y": [names[j] for j in second], "estimate": found.estimate / scale,
            "low": found.low / scale, "high": found.high / scale, "lower_bound": found.lower_bound / scale,
            "beyond_range": found.beyond}


def _nats(value: float | None, scale: float) -> float | None:
    return None if value is None else float(value) * scale


def _check_top_k(top_k: int | None) -> int | None:
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1):
        raise MistError(f"`top_k` must be a positive whole number of pairs per column, got {top_k!r}.")
    return top_k


def _model_name(model: str, device: str | None) -> str:
    """The name in the card of the model ``model`` loads ("ksg" for KSG)."""
    from mist.weights import load_predictor

    return KSG if model == KSG else load_predictor(model, device).card.get("name", str(model))


def mutual_info_score(X: Any, y: Any, *, discrete_target: bool = False, model: str = "default") -> np.ndarray:
    """One MI estimate (nats) per feature of ``X`` with the target ``y``.

    Same call as scikit-learn's ``mutual_info_regression(X, y)`` (with ``discrete_target=True``,
    its ``mutual_info_classif``: ``y`` holds class labels, numbers or strings, read as
    :mod:`mist.discrete` reads a discrete side), so it works in
    ``SelectKBest(mutual_info_score, k=...)`` (``functools.partial`` sets ``discrete_target``).
    Features that correlate with ``y`` beyond the model's training data (the high-MI check of
    :func:`mist.estimate`) are named in a warning: their scores may be too low, though such features
    rank near the top anyway.
    """
    features = as_samples(X, "X")
    if not discrete_target:
        return _feature_scores(X, features, y, model=model)
    codes = class_codes(y, "y")
    if len(codes) != features.shape[0]:
        raise MistError(f"`X` and `y` must have the same number of samples (rows), got {features.shape[0]} and "
                        f"{len(codes)}.")
    passes = dequantized_sides([codes], [features])[0]
    scores = [_feature_scores(X, features, passes[0], model=model)]
    with warnings.catch_warnings():  # the later passes warn as the first did
        warnings.simplefilter("ignore", MistWarning)
        scores += [_feature_scores(X, features, target, model=model) for target in passes[1:]]
    return np.minimum(np.mean(scores, axis=0), label_entropy(codes))  # MI <= H(y)


def _feature_scores(X: Any, features: np.ndarray, y: Any, *, model: str) -> np.ndarray:
    """:func:`mutual_info_score` of continuous features and target; its warnings point at the
    caller of mutual_info_score."""
    features, target = check_xy(features, y)
    p = features.shape[1]
    names = (column_names(X) or [f"X[:, {j}]" for j in range(p)]) + ["y"]
    target_names = ["y"] if target.shape[1] == 1 else [f"y[:, {k}]" for k in range(target.shape[1])]
    # stack levels: column_findings, here, mutual_info_score, the user
    table, distinct, _ = column_findings(np.hstack([features, target]), names[:p] + target_names, stacklevel=4)
    found = None
    if target.shape[1] == 1:
        found = column_pair_estimates(table, np.arange(p), np.full(p, p), model=model, device=None, level=0.9,
                                      distinct=distinct)
    if found is None:
        found = pairs_one_by_one([(features[:, j], target) for j in range(p)], model=model, device=None)
    beyond_range_findings(names, list(zip(np.arange(p), np.full(p, p))), found.estimate, found.flagged(), 1.0, "nats",
                          "", stacklevel=4)
    return found.estimate
