"""The engine of every estimate of I(X;Y): what :func:`mist.estimate` (without ``z`` or
``discrete``; :mod:`mist.api` says which answer a call gets) and :func:`estimate_many` return, in
order (:func:`_estimate_batch`):

1. x and y are validated (:func:`prepare_inputs`): constant columns dropped, discrete-looking columns
   and too many columns for the rows found and warned about;
2. above the model's trained rows (its card's ``n_range``), the rows are split into
   order-independent subsets (:func:`row_subsets`);
3. the model runs once per subset (:func:`mist.model.inference.predict_many`); the subsets'
   estimates are averaged and their quantiles combined as fitted for the model;
4. the high-MI check (:mod:`mist.range_checks`): the model-free ``lower_bound``, and a finding
   where a column pair lies past the model's training range or the bound above its interval.

With ``model="ksg"``, step 3 is KSG's (k = 5, on normal scores, bias-corrected, with an interval
from KSG on random halves of the rows: :func:`mist.estimators.ksg.ksg_interval`), and step 4
is skipped. The result type is :class:`mist.result.MIResult`; the tables (:mod:`mist.tables`)
take the same steps for every pair of a table's columns at once.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np

from mist._validation import (check_choice, check_level, check_xy, column_names, distinct_counts,
                              drop_constant_columns, exact_in_float32)
from mist.errors import Finding, MistError
from mist.range_checks import (CHECK_TAU, HIGH_MI_MIN_ROWS, MAX_COLUMNS_PER_ROW, high_mi_note, max_rows,
                               pair_correlation_bounds, range_findings, training_range)
from mist.result import QUANTILE_GRID, MIResult, unit_scale

#: ``model="ksg"``: KSG answers instead of a learned model (:func:`_ksg_answers`).
KSG = "ksg"
LARGE_N = ("subsets", "direct")
#: A column with fewer distinct values than this share of its rows looks discrete: a warning, and
#: no model-free lower bound (it assumes continuous marginals: two identical binary columns have
#: MI log 2, yet their normal scores correlate at 1).
DISCRETE_SHARE = 0.5


def prepare_inputs(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray, list[str], bool, tuple[list[str], list[str]]]:
    """Validate; drop constant columns (with a note); warn on heavily tied columns. Returns x, y,
    the findings, whether a column looks discrete, and the labels of the columns kept in x and y
    (their names, quoted, where the input had names; else their 0-based positions)."""
    names = (column_names(x), column_names(y))
    x, y = check_xy(x, y)
    (count_x, kept_x), (count_y, kept_y) = distinct_counts(x, float32=True), distinct_counts(y, float32=True)
    counts = (count_x, count_y)  # one sort per side serves the checks below
    x, y = exact_in_float32(x, kept_x), exact_in_float32(y, kept_y)  # the network computes in float32
    if tied_columns(np.concatenate([count_x, count_y]), x.shape[0]).any():
        key = row_keys(dense_ranks(np.hstack([x, y])))
        x, y = untied(x, key, count_x), untied(y, key, count_y, first_column=x.shape[1])
    # stack levels: the warning -> (drop_constant_columns ->) prepare_inputs -> _estimate_batch -> estimate -> user
    x, y, dropped = drop_constant_columns(x, y, stacklevel=5, constant=tuple(np.flatnonzero(c == 1) for c in counts))
    found = [Finding("constant-columns", dropped)] if dropped else []
    discrete = False
    for name, a, c in (("x", x, counts[0]), ("y", y, counts[1])):
        if a.shape[1]:
            distinct = int(c[c > 1].min())
            if distinct < DISCRETE_SHARE * a.shape[0]:
                discrete = True
                found.append(Finding("discrete", f"{name} has a column with only {distinct} distinct values in "
                                                 f"{a.shape[0]} rows").warn(
                    f"`{name}` looks discrete: a column has {distinct} distinct values in {a.shape[0]} rows. Its ties "
                    f"are broken by each row's content, which keeps the MI of a discrete column exactly "
                    f"(dequantisation) but adds variance; for class labels, whose codes' order means nothing, pass "
                    f"discrete=\"{name}\".", stacklevel=4))
    columns, rows = x.shape[1] + y.shape[1], x.shape[0]
    if columns > MAX_COLUMNS_PER_ROW * rows:
        found.append(Finding("columns-per-row", f"{columns} columns for {rows} rows: the interval is unreliable").warn(
            f"{columns} columns (x and y together) for {rows} rows: with more than {MAX_COLUMNS_PER_ROW} columns per "
            "row chance dependence is everywhere, the learned estimator overestimates MI and its interval is too "
            "narrow (benchmarks/high_mi.py --shapes measures how much). Use more rows or fewer columns.", stacklevel=4))
    labels = tuple([repr(given[j]) if given and len(given) == len(c) else str(j) for j in np.flatnonzero(c > 1)]
                   for given, c in zip(names, counts))
    return x, y, found, discrete, labels


def row_subsets(x: np.ndarray, y: np.ndarray, large_n: str = "subsets", max_rows: int = 500) -> list[np.ndarray]:
    """Row indices of order-independent subsets of at most ``max_rows`` rows.

    Rows are sorted by their content (:func:`row_keys`), so neither the subsets nor the order the
    model reads their rows in depend on the input order (the model is invariant to row order,
    but its float32 sums round differently in another order), then dealt in turn to
    ceil(n / max_rows) subsets. With ``large_n="direct"`` all rows go in one pass.
    """
    rows = np.hstack([x, y])
    key = row_keys(rows)
    order = np.argsort(key, kind="stable")
    ties = np.flatnonzero(key[order][1:] == key[order][:-1])
    if ties.size and np.any(rows[order[ties]] != rows[order[ties + 1]]):  # a 64-bit collision: ~n^2 / 2^65
        order = np.lexsort(rows.T[::-1])
    return subsets_in_order(order, "direct" if large_n == "direct" else "subsets", max_rows)


def subsets_in_order(order: np.ndarray, large_n: str, max_rows: int) -> list[np.ndarray]:
    """``order``'s rows dealt in turn to ceil(n / max_rows) subsets (one with ``"direct"``)."""
    if len(order) <= max_rows or large_n == "direct":
        return [order]
    k = math.ceil(len(order) / max_rows)
    return [order[i::k] for i in range(k)]


_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
_UNTIE = np.uint64(0x5851F42D4C957F2D)  # the tie-breaking draws differ from the keys' own column hashes


def _mix64(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise on uint64 (wrapping arithmetic)."""
    z = z + _MIX[0]
    z = (z ^ (z >> np.uint64(30))) * _MIX[1]
    z = (z ^ (z >> np.uint64(27))) * _MIX[2]
    return z ^ (z >> np.uint64(31))


def tied_columns(distinct: np.ndarray, rows: int) -> np.ndarray:
    """Which columns, given their numbers of distinct values, have ties to break (constant
    columns have nothing to break: they carry no information)."""
    return (distinct > 1) & (distinct < rows)


def untied(values: np.ndarray, key: np.ndarray, distinct: np.ndarray, first_column: int = 0) -> np.ndarray:
    """``values`` with each column that has ties (``distinct``: its number of distinct values,
    between 2 and n - 1) replaced by its ranks 0..n-1, ties broken by a hash of each row's
    content (``key``: :func:`row_keys` of the table's :func:`dense_ranks`, so a monotone map of
    any column leaves the draw as it is) and the column's position (the first at
    ``first_column``). This is dequantisation, Y -> Y + U with U uniform and independent of
    everything: Y + U determines Y and U, so the MI is kept exactly, and the model reads the
    continuous columns it was trained on (with ties ranked by averaging, an independent pair of
    a normal and a 7-level column got 3-4 nats). Rows equal in every column tie on in every
    column alike, so which of them gets which rank does not matter. The draw is one of many
    equally good ones: swapping x and y, reordering columns or adding columns to a table draws
    anew, and the estimate moves within its sampling noise."""
    tied = np.flatnonzero(tied_columns(distinct, values.shape[0]))
    if not tied.size:
        return values
    values = np.array(values, dtype=np.float64)
    for j in tied:
        draw = _mix64(key ^ _mix64(np.full(1, first_column + j, dtype=np.uint64) + _UNTIE))
        ranks = np.empty(values.shape[0])
        ranks[np.lexsort((draw, values[:, j]))] = np.arange(values.shape[0])
        values[:, j] = ranks
    return values


def dense_ranks(values: np.ndarray) -> np.ndarray:
    """Each column's values as 0, 1, 2, ... in increasing order, equal values equal (uint64)."""
    order = np.argsort(values, axis=0)
    ordered = np.take_along_axis(values, order, axis=0)
    steps = np.zeros(values.shape, dtype=np.uint64)
    steps[1:] = np.cumsum(ordered[1:] != ordered[:-1], axis=0)
    ranks = np.empty_like(steps)
    np.put_along_axis(ranks, order, steps, axis=0)
    return ranks


def row_keys(rows: np.ndarray, first_column: int = 0) -> np.ndarray:
    """A 64-bit hash of each row's content: the sum, modulo 2^64, of a hash of each value with
    its column's position (the first column at ``first_column``). Equal rows get equal keys;
    and since the sum is exact in any order, column blocks hashed apart (on Dask workers) and
    their keys added give the whole table's key, so its rows sort the same everywhere."""
    values = np.ascontiguousarray(rows, dtype=np.float64) + 0.0  # -0.0 -> 0.0: equal values, equal bits
    columns = _mix64(np.arange(first_column, first_column + values.shape[1], dtype=np.uint64))
    with np.errstate(over="ignore"):
        return _mix64(values.view(np.uint64) ^ columns).sum(axis=1, dtype=np.uint64)


def interval_taus(level: float, quantiles: Sequence[float] | None) -> list[float]:
    taus = [(1 - level) / 2, 0.5, (1 + level) / 2]
    if isinstance(quantiles, (int, float)):  # one level, as np.quantile takes it
        quantiles = [quantiles]
    for q in quantiles or ():
        if not isinstance(q, (int, float)) or not 0 < q < 1:
            raise MistError(f"`quantiles` must hold numbers strictly between 0 and 1, got {q!r}.")
        taus.append(float(q))
    return taus


def estimate_many(
    pairs: Iterable[tuple[Any, Any]],
    *,
    model: str = "default",
    level: float = 0.9,
    quantiles: Sequence[float] | None = None,
    base: float | None = None,
    device: str | None = None,
    progress: bool | None = None,
    large_n: str = "subsets",
) -> list[MIResult]:
    """Estimate MI for many ``(x, y)`` datasets in batched forward passes.

    Same arguments (without ``z`` and ``discrete``) and results as :func:`mist.estimate`, one :class:`MIResult` per pair, in order.
    A progress bar shows on stderr for more than 200 pairs where someone can see it (a terminal or
    a notebook; ``progress=False`` hides it, ``True`` forces it). An error in
    one pair's input names it (``pairs[i]``).
    """
    return _estimate_batch(pairs, model=model, level=level, quantiles=quantiles, base=base, device=device,
                           progress=progress, large_n=large_n, name_pairs=True)


def _estimate_batch(pairs, *, model, level, quantiles, base, device, progress, large_n,
                    name_pairs: bool) -> list[MIResult]:
    """:func:`estimate_many`; ``name_pairs`` prefixes an input error with the pair's index
    (not for :func:`mist.estimate`, whose caller passed no list)."""
    from mist.model.calibration import shared_fraction
    from mist.model.inference import predict_many
    from mist.weights import load_predictor

    level = check_level(level)
    check_choice(large_n, "large_n", LARGE_N)
    scale, unit = unit_scale(base)
    taus = interval_taus(level, quantiles)
    asked = len(taus)
    # what the high-MI check compares with, at any level, then the grid of the results' quantile function
    taus = taus + [CHECK_TAU] + list(QUANTILE_GRID)
    prepared = []
    for i, pair in enumerate(pairs):
        try:
            x, y = pair
        except (TypeError, ValueError) as exc:
            raise MistError(f"`pairs[{i}]` must be an (x, y) pair of sample arrays.") from exc
        try:
            prepared.append(prepare_inputs(x, y))
        except MistError as exc:
            if not name_pairs:
                raise
            raise MistError(f"pairs[{i}]: {exc}") from exc
    if model == KSG:
        return _ksg_answers(prepared, taus, asked, level, scale, unit)
    network = load_predictor(model, device)  # on the CPU a NumPy engine: no torch import
    card = network.card
    name = card.get("name", str(model))
    n_min, dim_max, rho_max = training_range(card)
    rows_max = max_rows(card)
    xs, ys, owner = [], [], []
    for i, (x, y, found, _, _) in enumerate(prepared):
        found += range_findings(x.shape[0], x.shape[1], y.shape[1], n_min, dim_max)
        if x.shape[1] and y.shape[1]:
            for rows in row_subsets(x, y, large_n, rows_max):
                xs.append(x[rows])
                ys.append(y[rows])
                owner.append(i)
    show = (len(prepared) > 200 and _ProgressBar.visible()) if progress is None else progress
    bar = _ProgressBar(len(xs)) if show and xs else None
    mean, quant, pair_r2 = predict_many(network, xs, ys, taus, device=device, progress=bar.advance if bar else None,
                                        with_pair_r2=True)
    if bar:
        bar.close()
    passes_of = [[] for _ in prepared]  # forward passes (subsets) of each pair
    for k, i in enumerate(owner):
        passes_of[i].append(k)
    # the high-MI check's statistics of every pair at once (a loop costs ~50 us a pair)
    pair_r, pair_r_low, floors, _ = (a.tolist() for a in pair_correlation_bounds(
        pair_r2, [len(x) for x in xs], np.asarray(owner, dtype=np.intp), len(prepared),
        [x.shape[1] * y.shape[1] for x, y, *_ in prepared]))
    rho = shared_fraction(card)
    results = []
    for i, (x, y, found, discrete, labels) in enumerate(prepared):
        n = x.shape[0]
        m, q = _combine_passes(mean, quant, passes_of[i], rho, len(taus))
        lower_bound = None
        # the model-free bound needs rows for a correlation to mean something, and continuous columns
        if passes_of[i] and n >= HIGH_MI_MIN_ROWS and not discrete:
            lower_bound = floors[i] / scale
            text = high_mi_note(pair_r[i], pair_r_low[i], floors[i], float(q[asked]), rho_max, scale, unit,
                                pair=lambda: _strongest_pair_label(x, y, *labels, rows_max))
            if text:
                found.append(Finding("beyond-range", text).warn(stacklevel=3))
        if len(passes_of[i]) > 1:
            how = ("the interval narrowed for the average as fitted for this model (shared fraction "
                   f"{rho:.2f})" if rho is not None else "the interval is that of a subset (conservative)")
            found.append(Finding("subsets", f"n={n} above {rows_max}: averaged over {len(passes_of[i])} subsets of "
                                            f"the rows; {how}"))
        results.append(_result(m, q, asked, taus, level, scale, unit, x, y, name, found, lower_bound))
    return results


def _result(m, q, asked, taus, level, scale, unit, x, y, name, found, lower_bound) -> MIResult:
    """An MIResult from an estimate and quantiles (nats) at ``taus``, whose first three are the
    interval's ends and the median, whose first ``asked`` were asked for, and all of which make
    the result's quantile function."""
    grid = dict(zip(taus, (float(v) / scale for v in q)))
    return MIResult(estimate=m / scale, low=float(q[0]) / scale, high=float(q[2]) / scale, level=level, unit=unit,
                    n=x.shape[0], dim_x=x.shape[1], dim_y=y.shape[1], model=name,
                    quantiles={t: float(v) / scale for t, v in zip(taus[3:asked], q[3:asked])}, findings=tuple(found),
                    lower_bound=lower_bound, quantile_grid=tuple(sorted(grid.items())))


def _ksg_answers(prepared, taus, asked, level, scale, unit) -> list[MIResult]:
    """``model="ksg"``: KSG (k = 5) on the normal scores of at most KSG_MAX_ROWS rows (an
    order-independent subset above), bias-corrected, with its tau-quantiles from KSG on random
    halves of them (:func:`mist.estimators.ksg.ksg_interval`); MI 0 where a side is all constant."""
    from mist.estimators.ksg import ksg_interval
    from mist.model.numpy_forward import normal_scores

    results = []
    for x, y, found, _, _ in prepared:
        m, q = 0.0, np.zeros(len(taus))
        if x.shape[1] and y.shape[1]:
            rows = row_subsets(x, y, max_rows=KSG_MAX_ROWS)[0]
            if len(rows) < x.shape[0]:
                found.append(Finding("ksg-rows", f"KSG on {len(rows)} of the {x.shape[0]} rows (chosen by content)"))
            z = normal_scores(np.hstack([x[rows], y[rows]])[None])[0].astype(np.float64)
            answer = ksg_interval(z[:, :x.shape[1]], z[:, x.shape[1]:])
            m, q = answer.corrected, answer.quantiles(taus)
        results.append(_result(m, q, asked, taus, level, scale, unit, x, y, KSG, found, None))
    return results


#: ``model="ksg"`` reads at most this many rows (11 KSG calls: tens of ms at 2,000 rows).
KSG_MAX_ROWS = 2000


def _strongest_pair_label(x: np.ndarray, y: np.ndarray, x_labels: list[str], y_labels: list[str],
                          rows_max: int) -> str:
    """"x column 'a' and y column 'b'": the most strongly correlated pair of a dataset (on its
    first subset of at most ``rows_max`` rows in content order), for the high-MI check's note."""
    from mist.model.numpy_forward import strongest_pair

    rows = row_subsets(x, y, max_rows=rows_max)[0]
    j, k = strongest_pair(x[rows], y[rows])
    return f"x column {x_labels[j]} and y column {y_labels[k]}"


def _combine_passes(mean, quant, passes: list[int], rho: float | None, taus: int) -> tuple[float, np.ndarray]:
    """One dataset's estimate and quantiles (T,) from its forward passes (row subsets) ``passes``:
    one pass as it is, several averaged (the quantiles as fitted for the model, shared fraction
    ``rho``); MI >= 0, so negative figures are clipped to 0 (monotone: quantiles stay ordered).
    (0, zeros) for a dataset without passes (a side all constant)."""
    from mist.model.calibration import combine_subset_quantiles

    if not passes:
        return 0.0, np.zeros(taus)
    if len(passes) == 1:  # the usual case, without fancy indexing (a third of the loop's time)
        return max(float(mean[passes[0]]), 0.0), np.maximum(quant[passes[0]], 0.0)
    return (max(float(mean[passes].mean()), 0.0),
            np.maximum(combine_subset_quantiles(quant[passes], 1, rho), 0.0))  # taus[1] is the median


class _ProgressBar:
    """A transient progress bar on stderr, so that stdout (a CLI's table, a pipe) stays clean."""

    @staticmethod
    def visible() -> bool:
        """Whether a bar would be seen: stderr is a terminal, or this is a notebook (else it
        would only leave a blank line in a log)."""
        from rich.console import Console

        console = Console(stderr=True)
        return console.is_terminal or console.is_jupyter

    def __init__(self, total: int):
        from rich.console import Console
        from rich.progress import Progress

        self.progress = Progress(transient=True, console=Console(stderr=True))
        self.progress.start()
        self.task = self.progress.add_task("estimating", total=total)

    def advance(self, count: int) -> None:
        self.progress.update(self.task, advance=count)

    def close(self) -> None:
        self.progress.stop()
