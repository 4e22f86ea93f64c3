"""MI between the columns of one table: :func:`mi_matrix`, :func:`mi_pairs` and the
scikit-learn score function :func:`mutual_info_score`.

Each takes the steps of :func:`mist.estimate` for every pair of columns at once: the table's
columns are checked once (:func:`column_findings`), each column is ranked once and the pairs'
statistics come from matrix products (:func:`_column_pair_estimates`; models that need PyTorch,
and KSG, go through :func:`mist.estimation.estimate_many` instead), then the high-MI check runs
on every pair (:func:`beyond_range_findings`). What the checks find is warned and, for the two
tables, kept in ``table.attrs["findings"]``.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

from mist._validation import as_samples, check_level, check_xy, column_names, distinct_counts, exact_in_float32
from mist.errors import Finding, MistError, MistWarning
from mist.estimation import DISCRETE_SHARE, KSG, estimate_many, interval_taus, row_subsets
from mist.range_checks import (CHECK_TAU, HIGH_MI_MIN_ROWS, HIGH_MI_Z, beyond_range, max_rows,
                               pair_correlation_bounds, training_range)
from mist.result import unit_scale


class _PairEstimates(NamedTuple):
    """Per-pair figures of many one-column pairs, in nats, each (P,)."""

    estimate: np.ndarray
    low: np.ndarray  # the interval's ends at the level asked for
    high: np.ndarray
    upper: np.ndarray  # the CHECK_TAU quantile, what the high-MI check compares with
    lower_bound: np.ndarray  # model-free (MIResult.lower_bound), NaN where there is none
    beyond: np.ndarray  # bool: flagged by the high-MI check

    def flagged(self) -> np.ndarray:
        """The lower bound of the pairs the high-MI check flags, NaN elsewhere."""
        return np.where(self.beyond, self.lower_bound, np.nan)


def column_findings(values: np.ndarray, names: list[str], stacklevel: int) -> tuple[np.ndarray, np.ndarray, list]:
    """A table's constant and discrete-looking columns, as :func:`mist.estimation.prepare_inputs`
    finds x's and y's, each kind one finding, warned at ``stacklevel`` (as ``warnings.warn``
    counts it from here).
    Returns the table, its columns that float32 cannot hold exactly replaced by their ranks
    (:func:`exact_in_float32`), each column's number of distinct values (M,), and the findings."""
    distinct, kept = distinct_counts(values, float32=True)
    found = []
    constant = [names[j] for j in np.flatnonzero(distinct == 1)]
    if constant:
        found.append(Finding("constant-columns", f"column(s) {constant[:10]} are constant: their MI with any other "
                                                 "column is 0").warn(stacklevel=stacklevel))
    tied = np.flatnonzero((distinct > 1) & (distinct < DISCRETE_SHARE * values.shape[0]))
    if tied.size:
        listed = ", ".join(f"{names[j]} ({distinct[j]})" for j in tied[:10])
        found.append(Finding("discrete", f"column(s) look discrete (distinct values in {values.shape[0]} rows): "
                                         f"{listed}. mist estimates MI of continuous variables; ties are ranked by "
                                         "averaging, and the estimates of their pairs may be unreliable"
                             ).warn(stacklevel=stacklevel))
    return exact_in_float32(values, kept), distinct, found


def _column_pair_estimates(values: np.ndarray, first, second, *, model: str, device: str | None, level: float,
                           distinct: np.ndarray, subsets: list | None = None) -> _PairEstimates | None:
    """The figures of the one-column pairs (values[:, first[k]], values[:, second[k]]) of one
    validated table, through the engine's pair path (each column ranked once, the pairs'
    statistics from matrix products: 4-6x faster than estimate_many over the pairs); None where
    that path does not apply (KSG, or a model or device that needs PyTorch). Above the model's
    trained rows the table's rows are split once into order-independent subsets, shared by all
    pairs, and the estimates averaged (:func:`estimate` splits each pair's rows its own way, so
    the two differ by the subsets' sampling noise there). Pairs with a constant column get 0,
    as in :func:`estimate`. ``distinct``: each column's number of distinct values
    (:func:`column_findings`); ``subsets``: the table's row subsets, where the caller has them
    (the Dask path: every block of columns must share the whole table's)."""
    from mist.model.calibration import combine_subset_quantiles, shared_fraction
    from mist.model.numpy_forward import NumpyForward
    from mist.weights import load_predictor

    if model == KSG:
        return None
    engine = load_predictor(model, device)
    if not isinstance(engine, NumpyForward):
        return None
    first, second = np.asarray(first, dtype=np.intp), np.asarray(second, dtype=np.intp)
    varying = distinct > 1
    live = varying[first] & varying[second]
    zeros, missing = np.zeros(len(first)), np.full(len(first), np.nan)
    found = _PairEstimates(zeros, zeros.copy(), zeros.copy(), zeros.copy(), missing, np.zeros(len(first), dtype=bool))
    if not live.any():
        return found
    if subsets is None:
        subsets = row_subsets(values, values[:, :0], max_rows=max_rows(engine.card))
    taus = interval_taus(level, None) + [CHECK_TAU]
    means, quants, r2s = [], [], []
    for rows in subsets:
        pass_taus = taus if engine.tau_map is None else engine.tau_map(taus, len(rows), 1, 1).tolist()
        mean, quant, r2 = engine.pairs(values[rows], first[live], second[live], pass_taus, with_pair_r2=True)
        means.append(mean)
        quants.append(quant)
        r2s.append(r2)
    found.estimate[live] = np.maximum(np.mean(means, axis=0), 0.0)
    quant = np.maximum(combine_subset_quantiles(np.stack(quants), 1, shared_fraction(engine.card)), 0.0)
    found.low[live], found.high[live], found.upper[live] = quant[:, 0], quant[:, 2], quant[:, -1]
    if values.shape[0] >= HIGH_MI_MIN_ROWS:
        pairs = int(live.sum())
        rows = np.repeat([len(subset) for subset in subsets], pairs)
        _, r_low, floor, _ = pair_correlation_bounds(np.concatenate(r2s), rows,
                                                      np.tile(np.arange(pairs), len(subsets)), pairs)
        continuous = distinct >= DISCRETE_SHARE * values.shape[0]  # the bound assumes continuous marginals
        continuous = continuous[first[live]] & continuous[second[live]]
        found.lower_bound[live] = np.where(continuous, floor, np.nan)
        found.beyond[live] = continuous & beyond_range(r_low, floor, found.upper[live], training_range(engine.card)[2])
    return found


def _estimate_pairs(pairs, *, model: str, device: str | None, level: float = 0.9) -> _PairEstimates:
    """:func:`_column_pair_estimates`' figures through :func:`estimate_many` (one pass per pair,
    its per-pair warnings silenced): the path for KSG and the models the pair path does not serve."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MistWarning)
        results = estimate_many(pairs, model=model, device=device, level=level, quantiles=[CHECK_TAU])

    def column(values) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in values], dtype=float)

    return _PairEstimates(
        column(r.estimate for r in results), column(r.low for r in results), column(r.high for r in results),
        column(r.quantiles[CHECK_TAU] for r in results), column(r.lower_bound for r in results),
        np.array([any(f.kind == "beyond-range" for f in r.findings) for r in results], dtype=bool))


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


def _table_pairs(data: Any, *, model: str, device: str | None, level: float = 0.9, scheduler: Any = None,
                 block_columns: int = 64, min_estimate: float | None = None):
    """Every pair of columns of a table (those estimated at ``min_estimate`` nats or more, where
    given): (column names, first (P,), second (P,), _PairEstimates, findings about its columns)."""
    import pandas as pd

    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(as_samples(data, "data"))
    values = as_samples(frame, "data")
    d = values.shape[1]
    if d < 2:
        raise MistError(f"`data` needs at least 2 columns to compare, got {d}.")
    first, second = np.triu_indices(d, k=1)
    check_xy(values[:, :1], values[:, 1:])  # enough rows
    names = [str(c) for c in frame.columns]
    values, distinct, found_columns = column_findings(values, names, stacklevel=4)  # its line, here, mi_matrix, the user
    if scheduler is not None:
        kept, found = _dask_pair_estimates(values, first, second, model=model, level=level, distinct=distinct,
                                           scheduler=scheduler, block_columns=block_columns, min_estimate=min_estimate)
        return names, first[kept], second[kept], found, found_columns
    found = _column_pair_estimates(values, first, second, model=model, device=device, level=level, distinct=distinct)
    if found is None:
        found = _estimate_pairs([(values[:, i], values[:, j]) for i, j in zip(first, second)], model=model,
                                device=device, level=level)
    if min_estimate is not None:
        kept = np.flatnonzero(found.estimate >= min_estimate)
        first, second, found = first[kept], second[kept], _PairEstimates(*(a[kept] for a in found))
    return names, first, second, found, found_columns


def _block_pair_task(values: np.ndarray, first: np.ndarray, second: np.ndarray, model: str, level: float,
                     distinct: np.ndarray, subsets: list, min_estimate: float | None):
    """One Dask task: the pairs (first[k], second[k]) of the whole ``values`` (a future shared by
    every task), on the worker's copy of the model (loaded once per worker process); only those
    estimated at ``min_estimate`` or more come back, with their positions k."""
    found = _column_pair_estimates(values, first, second, model=model, device="cpu", level=level, distinct=distinct,
                                   subsets=subsets)
    kept = np.arange(len(first)) if min_estimate is None else np.flatnonzero(found.estimate >= min_estimate)
    return kept, _PairEstimates(*(a[kept] for a in found))


def _dask_pair_estimates(values, first, second, *, model: str, level: float, distinct: np.ndarray, scheduler: Any,
                         block_columns: int, min_estimate: float | None = None) -> tuple[np.ndarray, _PairEstimates]:
    """:func:`_column_pair_estimates` as Dask tasks, one per pair of column blocks of
    ``block_columns`` columns, on ``scheduler``: "local" (a LocalCluster, closed after), a
    scheduler address, or a ``distributed.Client``. The row subsets are the whole table's, so
    the result equals the single-process one. Returns the positions of the pairs kept (all, or
    those at ``min_estimate`` or more: filtered on the workers) and their figures."""
    from mist.model.numpy_forward import NumpyForward
    from mist.weights import load_predictor

    engine = None if model == KSG else load_predictor(model, "cpu")
    if not isinstance(engine, NumpyForward):
        raise MistError(f"`scheduler` runs the NumPy engine of a statistics-only model; {model!r} is not one.")
    client, owned = _dask_client(scheduler)
    try:
        subsets = row_subsets(values, values[:, :0], max_rows=max_rows(engine.card))
        block = np.maximum(first, second) // block_columns * (values.shape[1] // block_columns + 1) \
            + np.minimum(first, second) // block_columns
        shared = client.scatter(values, broadcast=True, hash=False)  # a fresh key: one of an earlier call may be in release
        groups = [np.flatnonzero(block == b) for b in np.unique(block)]
        futures = [client.submit(_block_pair_task, shared, first[g], second[g], model, level, distinct, subsets,
                                 min_estimate, pure=False) for g in groups]
        parts = client.gather(futures)
    finally:
        if owned:
            client.close()
            owned.close()
    kept = np.concatenate([g[k] for g, (k, _) in zip(groups, parts)])
    order = np.argsort(kept, kind="stable")  # back in the order of the pairs
    found = _PairEstimates(*(np.concatenate(columns)[order] for columns in zip(*(part for _, part in parts))))
    return kept[order], found


def _dask_client(scheduler: Any):
    """(client, cluster to close or None) for ``scheduler``."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise MistError("`scheduler` needs dask.distributed: pip install \"dask[distributed]\" "
                        "(or pip install mist-mi[dask]).") from exc
    if isinstance(scheduler, Client):
        return scheduler, None
    if scheduler == "local":
        cluster = LocalCluster(threads_per_worker=1, processes=True, dashboard_address=None)
        return Client(cluster), cluster
    if isinstance(scheduler, str):
        return Client(scheduler), None
    raise MistError(f"`scheduler` must be \"local\", a scheduler address such as \"tcp://host:8786\", or a "
                    f"distributed.Client; got {scheduler!r}.")


def mi_matrix(data: Any, *, model: str = "default", base: float | None = None, device: str | None = None,
              scheduler: Any = None):
    """MI between every pair of columns of a table, batched: a DataFrame in, a DataFrame out.

    The diagonal is left as NaN (the MI of a continuous variable with itself is infinite).
    :func:`mi_pairs` gives the same estimates with their intervals, one row per pair.
    Pairs that correlate beyond the model's training data (the high-MI check of :func:`estimate`)
    are named in a warning and, with their model-free lower bounds, in
    ``table.attrs["beyond_range"]``. ``attrs`` also holds the ``unit``, the ``model`` and the
    ``findings`` (each a ``Finding(kind, message)``, as :attr:`MIResult.findings`; each was warned).

    ``scheduler`` runs the pairs as Dask tasks over blocks of columns (``"local"``: a
    ``distributed.LocalCluster`` on this machine, one single-threaded worker process per core;
    ``"tcp://host:8786"``: an existing cluster's scheduler; or a ``distributed.Client``): the
    same result as without it, for tables whose pairs outgrow one process.
    """
    import pandas as pd

    scale, unit = unit_scale(base)
    names, first, second, found, findings = _table_pairs(data, model=model, device=device, scheduler=scheduler)
    out = np.full((len(names), len(names)), np.nan)
    out[first, second] = out[second, first] = found.estimate / scale
    table = pd.DataFrame(out, index=names, columns=names)
    bounds, flagged = beyond_range_findings(names, list(zip(first, second)), found.estimate, found.flagged(), scale,
                                            unit, ". All are in the result's attrs", stacklevel=3)
    table.attrs.update(unit=unit, model=_model_name(model, device), beyond_range=bounds,
                       findings=tuple(findings + flagged))
    return table


def mi_pairs(data: Any, *, level: float = 0.9, model: str = "default", base: float | None = None,
             device: str | None = None, scheduler: Any = None, min_estimate: float | None = None):
    """MI of every pair of columns of a table with its interval: one row per pair, strongest first.

    The estimates are those of :func:`mi_matrix`; the columns of the returned DataFrame are
    ``x`` and ``y`` (the two column names), ``estimate``, ``low`` and ``high`` (the interval at
    ``level``), ``lower_bound`` (model-free, as :attr:`MIResult.lower_bound`; NaN below 20 rows
    or where a column looks discrete) and ``beyond_range`` (True where the high-MI check of
    :func:`estimate` flags the pair: its estimate is likely too low). ``attrs`` holds the
    ``unit``, ``level``, ``model`` and ``findings`` (as :func:`mi_matrix`'s); flagged pairs are also
    named in a warning. ``scheduler`` runs the pairs on Dask, as for :func:`mi_matrix`;
    ``min_estimate`` (in the result's unit) keeps only the pairs estimated at that or more (on
    Dask the workers drop the others, so a table of thousands of columns returns its strong
    pairs without the client holding them all).

    Examples
    --------
    >>> import numpy as np, pandas as pd, mist
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(2, 400))
    >>> table = pd.DataFrame({"a": a, "b": b, "c": a + b + rng.normal(size=400)})
    >>> mist.mi_pairs(table)[["x", "y", "estimate", "low", "high"]].round(3)  # exact: 0.2027, 0.2027, 0
       x  y  estimate    low   high
    0  a  c     0.274  0.212  0.357
    1  b  c     0.249  0.190  0.334
    2  a  b     0.000  0.000  0.047
    """
    import pandas as pd

    level = check_level(level)
    scale, unit = unit_scale(base)
    names, first, second, found, findings = _table_pairs(
        data, model=model, device=device, level=level, scheduler=scheduler,
        min_estimate=None if min_estimate is None else float(min_estimate) * scale)
    columns = {"x": [names[i] for i in first], "y": [names[j] for j in second], "estimate": found.estimate / scale,
               "low": found.low / scale, "high": found.high / scale, "lower_bound": found.lower_bound / scale,
               "beyond_range": found.beyond}
    table = pd.DataFrame(columns).sort_values("estimate", ascending=False, kind="stable", ignore_index=True)
    _, flagged = beyond_range_findings(names, list(zip(first, second)), found.estimate, found.flagged(), scale, unit,
                                       ". Their rows are marked in the result", stacklevel=3)
    table.attrs.update(unit=unit, level=level, model=_model_name(model, device), findings=tuple(findings + flagged))
    return table


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
    :func:`estimate`) are named in a warning: their scores may be too low, though such features
    rank near the top anyway.
    """
    features = as_samples(X, "X")
    if not discrete_target:
        return _feature_scores(X, features, y, model=model)
    from mist.discrete import class_codes, dequantized_sides, label_entropy

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
        found = _column_pair_estimates(table, np.arange(p), np.full(p, p), model=model, device=None, level=0.9,
                                       distinct=distinct)
    if found is None:
        found = _estimate_pairs([(features[:, j], target) for j in range(p)], model=model, device=None)
    beyond_range_findings(names, list(zip(np.arange(p), np.full(p, p))), found.estimate, found.flagged(), 1.0, "nats",
                          "", stacklevel=4)
    return found.estimate
