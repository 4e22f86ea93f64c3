"""The public face of the learned estimator: ``estimate``, ``estimate_many``, ``mi_matrix``,
``mi_pairs`` and a scikit-learn score function.

What :func:`estimate` returns, in order (:func:`_estimate_batch`; the tables take the same steps
for every pair of columns at once, :func:`_column_pair_estimates`):

1. x and y are validated (:func:`prepare_inputs`): constant columns dropped, discrete-looking columns
   and too many columns for the rows warned about;
2. above the model's trained rows (its card's ``n_range``), the rows are split into
   order-independent subsets (:func:`row_subsets`);
3. the model runs once per subset (:func:`mist.model.inference.predict_many`); the subsets'
   estimates are averaged and their quantiles combined as fitted for the model;
4. the high-MI check (:mod:`mist.range_checks`): the model-free ``lower_bound``, and a warning
   where a column pair lies past the model's training range or the bound above its interval.

With ``model="ksg"``, step 3 is KSG's (k = 5, on normal scores, bias-corrected, with an interval
from KSG on random halves of the rows: :func:`mist.estimators.ksg.ksg_interval`), and step 4
is skipped.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, NamedTuple, Sequence

import numpy as np

from mist._validation import (as_samples, check_choice, check_level, check_xy, column_names, distinct_counts,
                              drop_constant_columns, exact_in_float32)
from mist.errors import Finding, InputWarning, MistError, MistWarning, RangeWarning
from mist.range_checks import (CHECK_TAU, HIGH_MI_MIN_ROWS, HIGH_MI_Z, MAX_COLUMNS_PER_ROW,
                               beyond_range, high_mi_note, max_rows, pair_correlation_bounds, range_findings,
                               training_range)

#: ``model="ksg"``: KSG answers instead of a learned model (:func:`_ksg_answers`).
KSG = "ksg"
LARGE_N = ("subsets", "direct")
_UNITS = {math.e: "nats", 2.0: "bits", 10.0: "hartleys"}


def _unit(base: float | None) -> tuple[float, str]:
    if base is None:
        return 1.0, "nats"
    if not isinstance(base, (int, float)) or isinstance(base, bool) or base <= 1:
        raise MistError(f"`base` must be a number > 1 (2 for bits, e for nats), got {base!r}.")
    for b, name in _UNITS.items():
        if abs(float(base) - b) < 1e-12:
            return math.log(b), name
    return math.log(base), f"log base {base:g}"


@dataclass(frozen=True)
class MIResult:
    """A mutual information estimate with its interval and quantiles, in ``unit``.

    ``low`` and ``high`` are the (1 - level)/2 and (1 + level)/2 quantiles predicted by the
    model (MIST-QR); ``quantiles`` maps any requested tau to its value. ``model`` names what
    answered: a model's name from its card, or ``"ksg"``.
    ``lower_bound`` is a model-free lower bound on the MI from the strongest pair of a column of
    x and a column of y, -1/2 log(1 - r^2) at the lower confidence end of their normal scores'
    correlation r (``HIGH_MI_Z`` standard errors below; finite also where their ranks agree);
    None below ``HIGH_MI_MIN_ROWS`` rows or where a column looks discrete (``DISCRETE_SHARE``).
    :meth:`quantile` and :meth:`interval` read the predicted distribution at any level in
    [0.001, 0.999] after the fact (exact at ``QUANTILE_GRID`` and at the levels asked for,
    interpolated linearly between).
    """

    estimate: float
    low: float
    high: float
    level: float
    unit: str
    n: int
    dim_x: int
    dim_y: int
    model: str
    quantiles: dict = field(default_factory=dict)
    findings: tuple = ()  # Finding(kind, message), in the order the checks ran
    lower_bound: float | None = None
    quantile_grid: tuple = field(default=(), repr=False)  # ((tau, value), ...) by increasing tau

    def __float__(self) -> float:
        return float(self.estimate)

    @property
    def notes(self) -> tuple:
        """The findings' messages."""
        return tuple(f.message for f in self.findings)

    def quantile(self, tau: float) -> float:
        """The predicted tau-quantile of the MI, in ``unit``, for tau in [0.001, 0.999]."""
        taus, values = self._grid()
        if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not taus[0] - 1e-12 <= tau <= taus[-1] + 1e-12:
            raise MistError(f"`tau` must be a number in [{taus[0]:g}, {taus[-1]:g}], got {tau!r}; for more extreme "
                            "levels pass them to estimate(..., quantiles=[...]).")
        return float(np.interp(tau, taus, values))

    def interval(self, level: float = 0.9) -> tuple[float, float]:
        """The central interval holding the MI with probability ``level``, in ``unit``."""
        level, lowest = check_level(level), self._grid()[0][0]
        if (1 - level) / 2 < lowest - 1e-12:
            raise MistError(f"`level` must be at most {1 - 2 * lowest:g} here, got {level!r}; for a wider interval "
                            "pass its ends to estimate(..., quantiles=[...]).")
        return self.quantile((1 - level) / 2), self.quantile((1 + level) / 2)

    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.quantile_grid:
            raise MistError("this result carries no quantile function (it was built by hand).")
        taus, values = zip(*self.quantile_grid)
        return np.asarray(taus), np.asarray(values)

    def to_dict(self) -> dict:
        """The fields as a JSON-safe dict."""
        out = {k: getattr(self, k) for k in ("estimate", "low", "high", "level", "unit", "n", "dim_x", "dim_y", "model")}
        out["quantiles"] = {str(k): v for k, v in self.quantiles.items()}
        out["findings"] = [f._asdict() for f in self.findings]
        out["lower_bound"] = self.lower_bound
        return out

    def __str__(self) -> str:
        return (f"I(X;Y) = {self.estimate:.4f} {self.unit}, {self.level:.0%} interval "
                f"[{self.low:.4f}, {self.high:.4f}] (n={self.n}, dim_x={self.dim_x}, dim_y={self.dim_y}, model={self.model})")

    def _repr_html_(self) -> str:  # notebooks: the summary, then what else the result says
        from html import escape

        lines = [] if self.lower_bound is None else [f"model-free lower bound: {self.lower_bound:.4f} {self.unit}"]
        lines += [f"quantile {tau:g}: {value:.4f} {self.unit}" for tau, value in self.quantiles.items()]
        lines += [f"note: {note}" for note in self.notes]
        items = "".join(f"<li>{escape(line)}</li>" for line in lines)
        return f"<div><code>{escape(str(self))}</code>" + (f"<ul>{items}</ul>" if items else "") + "</div>"


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
                    f"`{name}` looks discrete: a column has {distinct} distinct values in {a.shape[0]} rows. mist "
                    "estimates MI of continuous variables; ties are ranked by averaging, and the estimate may be "
                    "unreliable.", stacklevel=4))
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

    Rows are sorted by their content (so the input order does not matter), then dealt in turn
    to ceil(n / max_rows) subsets. With ``large_n="direct"`` all rows go in one pass.
    """
    n = x.shape[0]
    if n <= max_rows or large_n == "direct":
        return [np.arange(n)]
    k = math.ceil(n / max_rows)
    rows = np.hstack([x, y])
    # sort key: a fixed projection of each row (one sort, not one per column as lexsort does);
    # equal keys of unequal rows would make the order depend on the input, so fall back then
    # (an elementwise product and a row sum, not BLAS, whose rounding may depend on a row's position)
    key = (rows * np.random.default_rng(0).uniform(0.5, 1.5, rows.shape[1])).sum(axis=1)
    order = np.argsort(key, kind="stable")
    ties = np.flatnonzero(key[order][1:] == key[order][:-1])
    if ties.size and np.any(rows[order[ties]] != rows[order[ties + 1]]):
        order = np.lexsort(rows.T[::-1])
    return [order[i::k] for i in range(k)]


#: The levels every result's quantile function is computed at (besides those asked for).
QUANTILE_GRID = (0.001, 0.005, *(round(0.01 * k, 2) for k in range(1, 100)), 0.995, 0.999)


def _taus(level: float, quantiles: Sequence[float] | None) -> list[float]:
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

    Same arguments and results as :func:`estimate`, one :class:`MIResult` per pair, in order.
    A progress bar shows on stderr for more than 200 pairs where someone can see it (a terminal or
    a notebook; ``progress=False`` hides it, ``True`` forces it). An error in
    one pair's input names it (``pairs[i]``).
    """
    return _estimate_batch(pairs, model=model, level=level, quantiles=quantiles, base=base, device=device,
                           progress=progress, large_n=large_n, name_pairs=True)


def _estimate_batch(pairs, *, model, level, quantiles, base, device, progress, large_n,
                    name_pairs: bool) -> list[MIResult]:
    """:func:`estimate_many`; ``name_pairs`` prefixes an input error with the pair's index
    (not for :func:`estimate`, whose caller passed no list)."""
    from mist.model.calibration import shared_fraction
    from mist.model.inference import predict_many
    from mist.weights import load_predictor

    level = check_level(level)
    check_choice(large_n, "large_n", LARGE_N)
    scale, unit = _unit(base)
    taus = _taus(level, quantiles)
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


def estimate(
    x: Any,
    y: Any,
    *,
    model: str = "default",
    level: float = 0.9,
    quantiles: Sequence[float] | None = None,
    base: float | None = None,
    device: str | None = None,
    large_n: str = "subsets",
) -> MIResult:
    """Estimate the mutual information I(X;Y) from paired samples with the pretrained model.

    Parameters
    ----------
    x : array-like, shape (n, dim_x) or (n,)
        Samples of X (numpy, pandas, torch or lists); a 1-D input is one variable.
    y : array-like, shape (n, dim_y) or (n,)
        Samples of Y, row i paired with row i of x.
    model : str, default "default"
        A shipped model name (see ``mist.weights.available_models()``), a model card path, or
        "ksg" for the KSG estimator (k = 5, on normal scores, bias-corrected, with an interval
        from KSG on random halves of the rows).
    level : float, default 0.9
        Probability mass of the interval [low, high] (central quantiles of the model).
    quantiles : sequence of float, optional
        Extra quantile levels in (0, 1) to return in ``result.quantiles``.
    base : float, optional
        Logarithm base of the unit: None or e for nats, 2 for bits.
    device : str, optional
        "cpu" (default) or "cuda".
    large_n : {"subsets", "direct"}, default "subsets"
        For n above the rows the model was trained on (its card's ``n_range``; 1,000 for the
        default): average over order-independent subsets of at most that many rows, or one pass
        over all rows (benchmarks/large_n.py).

    Returns
    -------
    MIResult
        ``estimate``, ``low``, ``high``, ``unit``, ``n``, ``dim_x``, ``dim_y``, ``model``,
        ``lower_bound``, ``findings`` (each a ``Finding(kind, message)``; ``notes``: their messages) ...

    Notes
    -----
    Invariant to row order, to the order of columns within x and within y, to swapping x and y,
    and to strictly increasing maps of any column (the model sees per-column ranks).
    Constant columns are ignored with a warning; MI is 0 when one side is all constant.

    The default model reads the copula correlations of the columns and, for every pair of a
    column of x and a column of y, how close the rows that neighbour in one column stay in the
    other (:func:`mist.model.lags.pair_lag_statistics`): it sees monotone, non-monotone
    (y = x^2 + noise), periodic and multimodal dependence alike, on data of any width.
    docs/model.md has its figures, inside and outside its training distributions.

    The model knows data like its training data only. A warning (and a note) says when a
    dataset lies outside: fewer rows or more columns a side than it was trained on, or, from 20
    rows on, a column of x and a column of y whose normal scores correlate surely above any pair
    in its training data, or so strongly that the model-free bound ``result.lower_bound`` lies
    above the model's interval. See ``HIGH_MI_Z`` and benchmarks/high_mi.py.

    Examples
    --------
    >>> import numpy as np, mist
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=500)
    >>> r = mist.estimate(x, x + rng.normal(size=500))  # exact MI: 1/2 log 2 = 0.3466 nats
    >>> print(r)
    I(X;Y) = 0.4008 nats, 90% interval [0.3372, 0.4862] (n=500, dim_x=1, dim_y=1, model=mist-pairs)
    >>> round(r.lower_bound, 4)  # model-free: MI is at least this (for any distribution)
    0.2672
    """
    return _estimate_batch([(x, y)], model=model, level=level, quantiles=quantiles, base=base, device=device,
                           progress=False, large_n=large_n, name_pairs=False)[0]


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


COLUMN_WARNING = "column(s) "  # starts each warning of _warn_columns


def _warn_columns(values: np.ndarray, names: list[str], stacklevel: int) -> tuple[np.ndarray, np.ndarray]:
    """Warn once about a table's constant and discrete-looking columns, as :func:`estimate` does
    about x's and y's; returns the table, its columns that float32 cannot hold exactly
    replaced by their ranks (:func:`exact_in_float32`), and each column's number of distinct
    values (M,)."""
    distinct, kept = distinct_counts(values, float32=True)
    constant = [names[j] for j in np.flatnonzero(distinct == 1)]
    if constant:
        warnings.warn(f"{COLUMN_WARNING}{constant[:10]} are constant: their MI with any other column is 0.",
                      InputWarning, stacklevel=stacklevel)
    tied = np.flatnonzero((distinct > 1) & (distinct < DISCRETE_SHARE * values.shape[0]))
    if tied.size:
        listed = ", ".join(f"{names[j]} ({distinct[j]})" for j in tied[:10])
        warnings.warn(f"{COLUMN_WARNING}look discrete (distinct values in {values.shape[0]} rows): {listed}. "
                      "mist estimates MI of continuous variables; ties are ranked by averaging, and the estimates "
                      "of their pairs may be unreliable.", InputWarning, stacklevel=stacklevel)
    return exact_in_float32(values, kept), distinct


def _column_pair_estimates(values: np.ndarray, first, second, *, model: str, device: str | None, level: float,
                           distinct: np.ndarray) -> _PairEstimates | None:
    """The figures of the one-column pairs (values[:, first[k]], values[:, second[k]]) of one
    validated table, through the engine's pair path (each column ranked once, the pairs'
    statistics from matrix products: 4-6x faster than estimate_many over the pairs); None where
    that path does not apply (KSG, or a model or device that needs PyTorch). Above the model's
    trained rows the table's rows are split once into order-independent subsets, shared by all
    pairs, and the estimates averaged (:func:`estimate` splits each pair's rows its own way, so
    the two differ by the subsets' sampling noise there). Pairs with a constant column get 0,
    as in :func:`estimate`. ``distinct``: each column's number of distinct values
    (:func:`_warn_columns`)."""
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
    subsets = row_subsets(values, values[:, :0], max_rows=max_rows(engine.card))
    taus = _taus(level, None) + [CHECK_TAU]
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


def _warn_pairs(names: list[str], pairs: list[tuple[int, int]], marked, values, estimates, scale: float,
                describe, message) -> dict:
    """One warning about the pairs ``marked`` (indices), listing the five whose ``values`` lie
    furthest above their ``estimates`` as "a ~ b (describe(k))"; ``message(count, listed)`` is its
    text. Returns {"a ~ b": values[k]} of the marked pairs, in the unit ``scale`` gives."""
    def label(k):
        return f"{names[pairs[k][0]]} ~ {names[pairs[k][1]]}"

    found = {label(k): float(values[k]) / scale for k in marked}
    if len(marked):
        worst = sorted(marked, key=lambda k: estimates[k] - values[k])[:5]
        listed = ", ".join(f"{label(k)} ({describe(k)})" for k in worst)
        # user -> mi_matrix / mi_pairs / mutual_info_score -> _warn_beyond_range -> here
        warnings.warn(message(len(marked), listed), RangeWarning, stacklevel=4)
    return found


def _warn_beyond_range(names: list[str], pairs: list[tuple[int, int]], estimates, flagged, scale: float,
                       unit: str, listed_in: str = "") -> dict:
    """Warn about the pairs the high-MI check flags (``flagged``: their model-free lower bound,
    NaN elsewhere), each listed as "estimate, at least bound"; returns {"a ~ b": that bound} of
    those pairs, in ``unit``."""
    return _warn_pairs(
        names, pairs, np.flatnonzero(~np.isnan(flagged)), flagged, estimates, scale,
        lambda k: f"{estimates[k] / scale:.3f} {unit}, at least {flagged[k] / scale:.3f}",
        lambda count, listed: f"{count} pair(s) correlate beyond the model's training data (normal scores correlated "
                              f"above {HIGH_MI_Z:g} standard errors past its largest, or a model-free lower bound above "
                              f"its interval): their MI is likely above the range it learned and their estimates too "
                              f"low; for example {listed}.{listed_in}")


def _table_pairs(data: Any, *, model: str, device: str | None, level: float = 0.9):
    """Every pair of columns of a table: (column names, first (P,), second (P,), _PairEstimates)."""
    import pandas as pd

    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(as_samples(data, "data"))
    values = as_samples(frame, "data")
    d = values.shape[1]
    if d < 2:
        raise MistError(f"`data` needs at least 2 columns to compare, got {d}.")
    first, second = np.triu_indices(d, k=1)
    check_xy(values[:, :1], values[:, 1:])  # enough rows
    names = [str(c) for c in frame.columns]
    values, distinct = _warn_columns(values, names, stacklevel=5)  # user -> mi_matrix -> _table_pairs -> here
    found = _column_pair_estimates(values, first, second, model=model, device=device, level=level, distinct=distinct)
    if found is None:
        found = _estimate_pairs([(values[:, i], values[:, j]) for i, j in zip(first, second)], model=model,
                                device=device, level=level)
    return names, first, second, found


def mi_matrix(data: Any, *, model: str = "default", base: float | None = None, device: str | None = None):
    """MI between every pair of columns of a table, batched: a DataFrame in, a DataFrame out.

    The diagonal is left as NaN (the MI of a continuous variable with itself is infinite).
    :func:`mi_pairs` gives the same estimates with their intervals, one row per pair.
    Pairs that correlate beyond the model's training data (the high-MI check of :func:`estimate`)
    are named in a warning and, with their model-free lower bounds, in
    ``table.attrs["beyond_range"]``.
    """
    import pandas as pd

    scale, unit = _unit(base)
    names, first, second, found = _table_pairs(data, model=model, device=device)
    out = np.full((len(names), len(names)), np.nan)
    out[first, second] = out[second, first] = found.estimate / scale
    table = pd.DataFrame(out, index=names, columns=names)
    table.attrs["beyond_range"] = _warn_beyond_range(names, list(zip(first, second)), found.estimate,
                                                     found.flagged(), scale, unit, " All are in the result's attrs.")
    table.attrs.update(unit=unit, model=_model_name(model, device))
    return table


def mi_pairs(data: Any, *, level: float = 0.9, model: str = "default", base: float | None = None,
             device: str | None = None):
    """MI of every pair of columns of a table with its interval: one row per pair, strongest first.

    The estimates are those of :func:`mi_matrix`; the columns of the returned DataFrame are
    ``x`` and ``y`` (the two column names), ``estimate``, ``low`` and ``high`` (the interval at
    ``level``), ``lower_bound`` (model-free, as :attr:`MIResult.lower_bound`; NaN below 20 rows
    or where a column looks discrete) and ``beyond_range`` (True where the high-MI check of
    :func:`estimate` flags the pair: its estimate is likely too low). ``attrs`` holds the
    ``unit``, ``level`` and ``model``; flagged pairs are also named in a warning.

    Examples
    --------
    >>> import numpy as np, pandas as pd, mist
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(2, 400))
    >>> table = pd.DataFrame({"a": a, "b": b, "c": a + b + rng.normal(size=400)})
    >>> mist.mi_pairs(table)[["x", "y", "estimate", "low", "high"]].round(3)  # exact: 0.2027, 0.2027, 0
       x  y  estimate    low   high
    0  a  c     0.272  0.206  0.357
    1  b  c     0.241  0.183  0.325
    2  a  b     0.000  0.000  0.044
    """
    import pandas as pd

    level = check_level(level)
    scale, unit = _unit(base)
    names, first, second, found = _table_pairs(data, model=model, device=device, level=level)
    columns = {"x": [names[i] for i in first], "y": [names[j] for j in second], "estimate": found.estimate / scale,
               "low": found.low / scale, "high": found.high / scale, "lower_bound": found.lower_bound / scale,
               "beyond_range": found.beyond}
    table = pd.DataFrame(columns).sort_values("estimate", ascending=False, kind="stable", ignore_index=True)
    _warn_beyond_range(names, list(zip(first, second)), found.estimate, found.flagged(), scale, unit,
                       " Their rows are marked in the result.")
    table.attrs.update(unit=unit, level=level, model=_model_name(model, device))
    return table


def _model_name(model: str, device: str | None) -> str:
    """The name in the card of the model ``model`` loads ("ksg" for KSG)."""
    from mist.weights import load_predictor

    return KSG if model == KSG else load_predictor(model, device).card.get("name", str(model))


def mutual_info_score(X: Any, y: Any, *, model: str = "default") -> np.ndarray:
    """One MI estimate (nats) per feature of ``X`` with the target ``y``.

    Same call as scikit-learn's ``mutual_info_regression(X, y)``, so it works in
    ``SelectKBest(mutual_info_score, k=...)``. Features that correlate with ``y`` beyond the
    model's training data (the high-MI check of :func:`estimate`) are named in a warning: their
    scores may be too low, though such features rank near the top anyway.
    """
    features, target = check_xy(as_samples(X, "X"), y)
    p = features.shape[1]
    names = (column_names(X) or [f"X[:, {j}]" for j in range(p)]) + ["y"]
    target_names = ["y"] if target.shape[1] == 1 else [f"y[:, {k}]" for k in range(target.shape[1])]
    table, distinct = _warn_columns(np.hstack([features, target]), names[:p] + target_names, stacklevel=4)
    found = None
    if target.shape[1] == 1:
        found = _column_pair_estimates(table, np.arange(p), np.full(p, p), model=model, device=None, level=0.9,
                                       distinct=distinct)
    if found is None:
        found = _estimate_pairs([(features[:, j], target) for j in range(p)], model=model, device=None)
    _warn_beyond_range(names, list(zip(np.arange(p), np.full(p, p))), found.estimate, found.flagged(), 1.0, "nats")
    return found.estimate


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
