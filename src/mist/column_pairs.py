"""The engine of the table functions: every pair of a table's columns at once.

A table's columns are checked and made ready once (:func:`column_findings`: float32-exact,
ties broken by each row's content, constant and discrete-looking columns reported), then the
one-column pairs' figures come from the model's pair path, each column ranked once and the
pairs' statistics from matrix products (:func:`column_pair_estimates`), or, for KSG and the
models that need PyTorch, from :func:`mist.estimation.estimate_many` pair by pair
(:func:`pairs_one_by_one`). :mod:`mist.tables` runs it in one process, :mod:`mist.cluster` on
each Dask block of columns.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from mist._validation import MIN_SAMPLES, distinct_counts, exact_in_float32
from mist.errors import Finding, MistError, MistWarning
from mist.estimation import (DISCRETE_SHARE, KSG, dense_ranks, estimate_many, interval_taus, row_keys, row_subsets,
                             tied_columns, untied)
from mist.range_checks import CHECK_TAU, HIGH_MI_MIN_ROWS, beyond_range, max_rows, pair_correlation_bounds, training_range


class PairEstimates(NamedTuple):
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

    def take(self, rows) -> "PairEstimates":
        """The figures of the pairs ``rows`` (positions or a boolean mask)."""
        return PairEstimates(*(a[rows] for a in self))

    @staticmethod
    def empty() -> "PairEstimates":
        return PairEstimates(*(np.zeros(0) for _ in range(5)), np.zeros(0, dtype=bool))


def column_findings(values: np.ndarray, names: list[str], stacklevel: int) -> tuple[np.ndarray, np.ndarray, list]:
    """A table's constant and discrete-looking columns, as :func:`mist.estimation.prepare_inputs`
    finds x's and y's (:func:`column_report`), warned at ``stacklevel`` (as ``warnings.warn``
    counts it from here).
    Returns the table, its columns that float32 cannot hold exactly replaced by their ranks
    (:func:`exact_in_float32`) and those with ties by their ranks with ties broken by each row's
    content (:func:`mist.estimation.untied`), each column's number of distinct values (M,), and
    the findings."""
    values, distinct = prepared_columns(values)
    if tied_columns(distinct, values.shape[0]).any():
        values = untied(values, row_keys(dense_ranks(values)), distinct)
    return values, distinct, column_report(distinct, names, values.shape[0], stacklevel + 1)


def prepared_columns(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A checked table's columns as the engine reads them, those float32 cannot hold exactly
    replaced by their ranks (:func:`exact_in_float32`), and each column's number of distinct
    values (M,); in one process for the whole table, on Dask for each block of columns."""
    distinct, kept = distinct_counts(values, float32=True)
    return exact_in_float32(values, kept), distinct


def check_table_shape(rows: int | None, columns: int) -> None:
    """A table needs 2 columns to compare and (``rows``, where known) enough rows."""
    if columns < 2:
        raise MistError(f"`data` needs at least 2 columns to compare, got {columns}.")
    if rows is not None and rows < MIN_SAMPLES:
        raise MistError(f"at least {MIN_SAMPLES} samples are needed to estimate mutual information, got {rows} "
                        "row(s).")


def column_report(distinct: np.ndarray, names: list[str], rows: int, stacklevel: int) -> list:
    """The findings about a table's columns from their numbers of distinct values: constant
    columns, and columns that look discrete; each kind one finding, warned at ``stacklevel``."""
    found = []
    constant = [names[j] for j in np.flatnonzero(distinct == 1)]
    if constant:
        found.append(Finding("constant-columns", f"column(s) {constant[:10]} are constant: their MI with any other "
                                                 "column is 0").warn(stacklevel=stacklevel))
    tied = np.flatnonzero((distinct > 1) & (distinct < DISCRETE_SHARE * rows))
    if tied.size:
        listed = ", ".join(f"{names[j]} ({distinct[j]})" for j in tied[:10])
        found.append(Finding("discrete", f"column(s) look discrete (distinct values in {rows} rows): "
                                         f"{listed}. Their ties are broken by each row's content, which keeps the MI "
                                         "of a discrete column exactly (dequantisation) but adds variance; for class "
                                         "labels, whose codes' order means nothing, use mist.estimate(..., "
                                         "discrete=...) or mutual_info_score(..., discrete_target=True)"
                             ).warn(stacklevel=stacklevel))
    return found


def column_pair_estimates(values: np.ndarray, first, second, *, model: str, device: str | None, level: float,
                           distinct: np.ndarray, subsets: list | None = None) -> PairEstimates | None:
    """The figures of the one-column pairs (values[:, first[k]], values[:, second[k]]) of one
    validated table, through the engine's pair path (each column ranked once, the pairs'
    statistics from matrix products: 4-6x faster than estimate_many over the pairs); None where
    that path does not apply (KSG, or a model or device that needs PyTorch). Above the model's
    trained rows the table's rows are split once into order-independent subsets, shared by all
    pairs, and the estimates averaged (:func:`mist.estimate` splits each pair's rows its own way, so
    the two differ by the subsets' sampling noise there). Pairs with a constant column get 0,
    as in :func:`mist.estimate`. ``distinct``: each column's number of distinct values
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
    found = PairEstimates(zeros, zeros.copy(), zeros.copy(), zeros.copy(), missing, np.zeros(len(first), dtype=bool))
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


def pairs_one_by_one(pairs, *, model: str, device: str | None, level: float = 0.9) -> PairEstimates:
    """:func:`column_pair_estimates`' figures through :func:`estimate_many` (one pass per pair,
    its per-pair warnings silenced): the path for KSG and the models the pair path does not serve."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MistWarning)
        results = estimate_many(pairs, model=model, device=device, level=level, quantiles=[CHECK_TAU])

    def column(values) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in values], dtype=float)

    return PairEstimates(
        column(r.estimate for r in results), column(r.low for r in results), column(r.high for r in results),
        column(r.quantiles[CHECK_TAU] for r in results), column(r.lower_bound for r in results),
        np.array([any(f.kind == "beyond-range" for f in r.findings) for r in results], dtype=bool))
