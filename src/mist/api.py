"""The public face of the learned estimator: ``estimate``, ``estimate_many``, ``mi_matrix``,
a scikit-learn score function, and a differentiable ``MIEstimator`` module."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, NamedTuple, Sequence

import numpy as np

from mist._validation import (_column_names, as_samples, check_choice, check_flag, check_level, check_xy,
                              distinct_counts, drop_constant_columns, exact_in_float32)
from mist.errors import MistError, MistWarning
from mist.range_checks import (BEYOND_RANGE, FOLDED, HIGH_MI_MIN_ROWS, HIGH_MI_Z, MAX_COLUMNS_PER_ROW,
                               ROTATION_MODEL, ROTATION_MODEL_FIGURES, WIDE_MODEL, WIDE_MODEL_FIGURES,
                               asks_rotation_model, beyond_range, folded_dependence, folded_fires, folded_note,
                               high_mi_note, pair_correlation_bounds, past_default_range, range_notes,
                               second_opinion_wins, training_range, wide_model_correlation, wider_model_hint)

#: Rows per forward pass; larger datasets are split into order-independent subsets of at most
#: this many rows and the predictions averaged (the model is trained on n <= 500).
MAX_ROWS = 500
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
    answered: a shipped model, or ``"ksg"`` where the cross-check found the model's interval
    too low (:func:`estimate`, ``check``). ``cross_check`` is KSG's estimate (on normal scores)
    where the model-free cross-check ran, else None.
    ``lower_bound`` is a model-free lower bound on the MI from the strongest pair of a column of
    x and a column of y, -1/2 log(1 - r^2) at the lower confidence end of their normal scores'
    correlation r (``HIGH_MI_Z`` standard errors below; finite also where their ranks agree), or,
    where the folded check fires (``mist.range_checks.FOLDED``: dependence even in a column),
    the same from the strongest pair with columns folded at their medians; None below
    ``HIGH_MI_MIN_ROWS`` rows or where a column looks discrete (``DISCRETE_SHARE``).
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
    notes: tuple = ()
    cross_check: float | None = None
    lower_bound: float | None = None

    def __float__(self) -> float:
        return float(self.estimate)

    def to_dict(self) -> dict:
        """The fields as a JSON-safe dict."""
        out = {k: getattr(self, k) for k in ("estimate", "low", "high", "level", "unit", "n", "dim_x", "dim_y", "model")}
        out["quantiles"] = {str(k): v for k, v in self.quantiles.items()}
        out["notes"] = list(self.notes)
        out["cross_check"] = self.cross_check
        out["lower_bound"] = self.lower_bound
        return out

    def __str__(self) -> str:
        return (f"I(X;Y) = {self.estimate:.4f} {self.unit}, {self.level:.0%} interval "
                f"[{self.low:.4f}, {self.high:.4f}] (n={self.n}, dim_x={self.dim_x}, dim_y={self.dim_y}, model={self.model})")

    def _repr_html_(self) -> str:  # notebooks: the summary, then what else the result says
        from html import escape

        lines = [f"{name}: {value:.4f} {self.unit}" for name, value in
                 (("model-free lower bound", self.lower_bound), ("KSG cross-check", self.cross_check))
                 if value is not None]
        lines += [f"quantile {tau:g}: {value:.4f} {self.unit}" for tau, value in self.quantiles.items()]
        lines += [f"note: {note}" for note in self.notes]
        items = "".join(f"<li>{escape(line)}</li>" for line in lines)
        return f"<div><code>{escape(str(self))}</code>" + (f"<ul>{items}</ul>" if items else "") + "</div>"


#: A column with fewer distinct values than this share of its rows looks discrete: a warning, and
#: no model-free lower bound (it assumes continuous marginals: two identical binary columns have
#: MI log 2, yet their normal scores correlate at 1).
DISCRETE_SHARE = 0.5


def _prepare(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray, list[str], bool, tuple[list[str], list[str]]]:
    """Validate; drop constant columns (with a note); warn on heavily tied columns. Returns x, y,
    the notes, whether a column looks discrete, and the labels of the columns kept in x and y
    (their names, quoted, where the input had names; else their 0-based positions)."""
    names = (_column_names(x), _column_names(y))
    x, y = check_xy(x, y)
    (count_x, kept_x), (count_y, kept_y) = distinct_counts(x, float32=True), distinct_counts(y, float32=True)
    counts = (count_x, count_y)  # one sort per side serves the checks below
    x, y = exact_in_float32(x, kept_x), exact_in_float32(y, kept_y)  # the network computes in float32
    # stack levels: the warning -> (drop_constant_columns ->) _prepare -> _estimate_batch -> estimate -> user
    x, y, dropped = drop_constant_columns(x, y, stacklevel=5, constant=tuple(np.flatnonzero(c == 1) for c in counts))
    notes = [dropped] if dropped else []
    discrete = False
    for name, a, c in (("x", x, counts[0]), ("y", y, counts[1])):
        if a.shape[1]:
            distinct = int(c[c > 1].min())
            if distinct < DISCRETE_SHARE * a.shape[0]:
                discrete = True
                notes.append(f"{name} has a column with only {distinct} distinct values in {a.shape[0]} rows")
                warnings.warn(f"`{name}` looks discrete: a column has {distinct} distinct values in {a.shape[0]} rows. "
                              "mist estimates MI of continuous variables; ties are ranked by averaging, and the "
                              "estimate may be unreliable.", MistWarning, stacklevel=4)
    columns, rows = x.shape[1] + y.shape[1], x.shape[0]
    if columns > MAX_COLUMNS_PER_ROW * rows:
        notes.append(f"{columns} columns for {rows} rows: the interval is unreliable")
        warnings.warn(f"{columns} columns (x and y together) for {rows} rows: with more than {MAX_COLUMNS_PER_ROW} "
                      "columns per row the learned estimator overestimates MI and its interval is too narrow (on "
                      "fresh data of its training families, n = 10 with 21-32 columns a side, the 90% interval held "
                      "the true MI about half the time). Use more rows or fewer columns.", MistWarning, stacklevel=4)
    labels = tuple([repr(given[j]) if given and len(given) == len(c) else str(j) for j in np.flatnonzero(c > 1)]
                   for given, c in zip(names, counts))
    return x, y, notes, discrete, labels



#: The model-free cross-check: KSG (k=5) runs beside the model where it is cheap (1-2 ms) and
#: nearly unbiased, at most CHECK_MAX_COLUMNS columns (x and y together), at least
#: CHECK_MIN_ROWS rows (on the first of the row subsets above MAX_ROWS) and no column with
#: fewer than CHECK_MIN_DISTINCT of its values distinct (ties put KSG's neighbours at distance 0:
#: on y = x + noise, MI 0.347, rounded to 1 decimal it gave 0.74 nats, to 3 decimals, 92% of the
#: values distinct, 0.349; rounded to integers 8.4), and where KSG exceeds the result's 90%
#: interval (its CHECK_TAU quantile) by more than CHECK_MARGIN nats, KSG answers, with a
#: warning. The model sees rank and squared-rank correlations, so it misses non-monotone
#: dependence (y = x^2 + noise: 0.12 nats where KSG finds 1.1). KSG reads normal scores, as the
#: model does, so that increasing maps of a column change neither. The margin is the smallest of
#: 0.05, 0.1 and 0.2 that raised no false alarm on 300 fresh training-family datasets
#: (benchmarks/cross_check.py --seed 99: 1%, 0, 0); that benchmark measures both rates.
CHECK_MAX_COLUMNS = 4
CHECK_MIN_ROWS = 100
CHECK_MIN_DISTINCT = 0.9
CHECK_MARGIN = 0.1
CHECK_TAU = 0.95  # KSG is compared with this quantile of the model, at any ``level``
LOW_TAU = 0.05  # with CHECK_TAU, the 90% interval that decides the hand-off to ROTATION_MODEL
#: Where the cross-check disagrees, KSG answers (``result.model`` is KSG_ANSWER): KSG on the
#: normal scores of at most KSG_ANSWER_MAX_ROWS rows, bias-corrected, with an interval from
#: KSG on random halves of them (:func:`mist.estimators.ksg.ksg_interval`; 11 KSG calls, tens
#: of ms at 2,000 rows). The model's answer there is no answer: for y = x^2 + 0.3 noise (n = 500,
#: exact MI 1.141) it gave 0.12 nats, 90% interval [0.07, 0.18]; KSG's answer 1.18, [0.95, 1.40].
KSG_ANSWER = "ksg"
KSG_ANSWER_MAX_ROWS = 2000

LARGE_N = ("subsets", "direct")


def _subsets(x: np.ndarray, y: np.ndarray, large_n: str = "subsets", max_rows: int = MAX_ROWS) -> list[np.ndarray]:
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
    check: bool = True,
) -> list[MIResult]:
    """Estimate MI for many ``(x, y)`` datasets in batched forward passes.

    Same arguments and results as :func:`estimate`, one :class:`MIResult` per pair, in order.
    A progress bar shows on stderr for more than 200 pairs where someone can see it (a terminal or
    a notebook; ``progress=False`` hides it, ``True`` forces it). An error in
    one pair's input names it (``pairs[i]``).
    """
    return _estimate_batch(pairs, model=model, level=level, quantiles=quantiles, base=base, device=device,
                           progress=progress, large_n=large_n, check=check, name_pairs=True)


def _estimate_batch(pairs, *, model, level, quantiles, base, device, progress, large_n, check,
                    name_pairs: bool) -> list[MIResult]:
    """:func:`estimate_many`; ``name_pairs`` prefixes an input error with the pair's index
    (not for :func:`estimate`, whose caller passed no list)."""
    from mist.model.calibration import shared_fraction
    from mist.model.inference import predict_many
    from mist.model.numpy_forward import shared_statistics
    from mist.weights import load_predictor

    level = check_level(level)
    check = check_flag(check, "check")
    check_choice(large_n, "large_n", LARGE_N)
    scale, unit = _unit(base)
    taus = _taus(level, quantiles)
    asked = len(taus)
    # the cross-check and the high-MI check compare with the 0.95-quantile (the cross-check's
    # margin was set for the 90% interval), and the hand-off to ROTATION_MODEL with the 90%
    # interval, whatever the level asked for: two more taus, left out of the results
    taus = taus + [LOW_TAU, CHECK_TAU]
    network = load_predictor(model, device)  # on the CPU a NumPy engine: no torch import
    card = network.card
    rho = shared_fraction(card)
    name = card.get("name", str(model))
    n_min, dim_max, rho_max = training_range(card)  # once: the loop below runs per dataset
    prepared, xs, ys, owner, column_labels = [], [], [], [], []
    for i, pair in enumerate(pairs):
        try:
            x, y = pair
        except (TypeError, ValueError) as exc:
            raise MistError(f"`pairs[{i}]` must be an (x, y) pair of sample arrays.") from exc
        try:
            x, y, notes, discrete, labels = _prepare(x, y)
        except MistError as exc:
            if not name_pairs:
                raise
            raise MistError(f"pairs[{i}]: {exc}") from exc
        notes = notes + range_notes(x.shape[0], x.shape[1], y.shape[1], n_min, dim_max)
        prepared.append((x, y, notes, discrete))
        column_labels.append(labels)
        if x.shape[1] and y.shape[1]:
            for rows in _subsets(x, y, large_n):
                xs.append(x[rows])
                ys.append(y[rows])
                owner.append(i)
    show = (len(prepared) > 200 and _ProgressBar.visible()) if progress is None else progress
    bar = _ProgressBar(len(xs)) if show and xs else None
    with shared_statistics():  # a second model (the hand-off) reuses the first's copula statistics
        mean, quant, pair_r2 = predict_many(network, xs, ys, taus, device=device, progress=bar.advance if bar else None,
                                            with_pair_r2=True)
        if bar:
            bar.close()
        passes_of = [[] for _ in prepared]  # forward passes (subsets) of each pair
        for k, i in enumerate(owner):
            passes_of[i].append(k)
        # the high-MI check's statistics of every pair at once (a loop costs ~50 us a pair)
        pair_r, pair_r_low, floors, pair_r_high = (a.tolist() for a in pair_correlation_bounds(
            pair_r2, [len(x) for x in xs], np.asarray(owner, dtype=np.intp), len(prepared),
            [x.shape[1] * y.shape[1] for x, y, _, _ in prepared]))
        answers = [_combine_passes(mean, quant, passes_of[i], rho, len(taus)) for i in range(len(prepared))]
        answered_by, replaced = _hand_off(model, device, prepared, passes_of, xs, ys, taus, pair_r, rho_max, answers)
    # the model-free bounds need rows for a correlation to mean something, and continuous columns
    bounded = [bool(passes_of[i]) and x.shape[0] >= HIGH_MI_MIN_ROWS and not discrete
               for i, (x, _, _, discrete) in enumerate(prepared)]
    # the folded check's statistics of every such dataset at once, on the rows the model saw first (its first pass)
    checked = [i for i in range(len(prepared)) if bounded[i]]
    folded_at = {i: position for position, i in enumerate(checked)}
    folded = folded_dependence([xs[passes_of[i][0]] for i in checked], [ys[passes_of[i][0]] for i in checked])
    results = []
    for i, (x, y, notes, discrete) in enumerate(prepared):
        n = x.shape[0]
        mine = passes_of[i]
        m, q = answers[i]
        engine = answered_by[i] or network
        name_i = engine.card.get("name", str(model))
        rho_max_i = rho_max if engine is network else training_range(engine.card)[2]
        handed_wide = engine is not network and name_i == WIDE_MODEL
        if handed_wide:
            notes = notes + [f"answered by {name_i}, not {name}: a column of x and a column of y have normal scores "
                             f"correlated at {pair_r[i]:.4f}, above the {rho_max:.4f} of {name}'s training data; "
                             f"{name_i} was trained to {rho_max_i:.4f} ({WIDE_MODEL_FIGURES})"]
        elif engine is not network:
            notes = notes + [f"answered by {name_i}, not {name}: {name_i}'s 90% interval lies wholly above "
                             f"{name}'s (whose 0.95-quantile was {replaced[i] / scale:.4f} {unit}), the mark of "
                             f"dependence not aligned with the columns, such as mixtures of several columns, which "
                             f"{name_i} was trained on and {name} underestimates ({ROTATION_MODEL_FIGURES})"]
        lower_bound = None
        if bounded[i]:
            lower_bound = floors[i] / scale
            text = high_mi_note(pair_r[i], pair_r_low[i], floors[i], float(q[-1]), rho_max_i, scale, unit,
                                pair_r_high[i] if handed_wide else None,
                                pair=lambda: _strongest_pair_label(x, y, *column_labels[i]))
            if text and pair_r_low[i] > rho_max_i:
                text += wider_model_hint(name_i, pair_r_low[i])
            if text:
                notes = notes + [text]
                warnings.warn(text + ".", MistWarning, stacklevel=3)
        model_free = None
        if check and mine and x.shape[1] + y.shape[1] <= CHECK_MAX_COLUMNS and n >= CHECK_MIN_ROWS:
            # KSG on at most MAX_ROWS rows (the first subset), also when large_n="direct"
            first = _subsets(x, y)[0] if n > MAX_ROWS else slice(None)
            model_free = _cross_check(x[first], y[first])
            if _disagrees(model_free, float(q[-1])):
                why = ("see the note on the training range" if any(t.startswith(BEYOND_RANGE) for t in notes) else
                       "the dependence may be of a kind the model was not trained on (non-monotone, such as y = x^2 "
                       "+ noise, or multimodal), where it underestimates")
                subset = f" on {KSG_ANSWER_MAX_ROWS} of the rows (chosen by content)" if n > KSG_ANSWER_MAX_ROWS else ""
                text = (f"answered by KSG, not {name_i}: KSG, a model-free estimator, finds {model_free / scale:.4f} "
                        f"{unit} on the normal scores, above {name_i}'s 90% interval (upper end "
                        f"{float(q[-1]) / scale:.4f}): {why}. The estimate is KSG's{subset}, bias-corrected, with an "
                        f"interval from KSG on random halves of {'them' if subset else 'the rows'}")
                m, q = _ksg_answer(x, y, taus)
                name_i = KSG_ANSWER
                notes = notes + [text]
                warnings.warn(text + ".", MistWarning, stacklevel=3)
        if bounded[i]:
            r, r_low, floor, j, k, which = (a[folded_at[i]] for a in folded)
            if folded_fires(floor, float(q[-1]), floors[i]):
                labels_x, labels_y = column_labels[i]
                text = folded_note(r, r_low, floor, float(q[-1]), f"x column {labels_x[j]} and y column {labels_y[k]}",
                                   which, scale, unit)
                notes = notes + [text]
                warnings.warn(text + ".", MistWarning, stacklevel=3)
                lower_bound = max(lower_bound, floor / scale)
        if len(mine) > 1 and name_i != KSG_ANSWER:
            rho_i = shared_fraction(engine.card)
            how = ("the interval narrowed for the average as fitted for this model (shared fraction "
                   f"{rho_i:.2f})" if rho_i is not None else "the interval is that of a subset (conservative)")
            notes = notes + [f"n={n} above {MAX_ROWS}: averaged over {len(mine)} subsets of the rows; {how}"]
        results.append(MIResult(
            estimate=m / scale, low=float(q[0]) / scale, high=float(q[2]) / scale, level=level, unit=unit,
            n=n, dim_x=x.shape[1], dim_y=y.shape[1], model=name_i,
            quantiles={t: float(v) / scale for t, v in zip(taus[3:asked], q[3:asked])}, notes=tuple(notes),
            cross_check=None if model_free is None else model_free / scale, lower_bound=lower_bound))
    return results


def _strongest_pair_label(x: np.ndarray, y: np.ndarray, x_labels: list[str], y_labels: list[str]) -> str:
    """"x column 'a' and y column 'b'": the most strongly correlated pair of a dataset (on its
    first MAX_ROWS rows in content order, the first subset), for the high-MI check's note."""
    from mist.model.numpy_forward import strongest_pair

    rows = _subsets(x, y)[0]
    j, k = strongest_pair(x[rows], y[rows])
    return f"x column {x_labels[j]} and y column {y_labels[k]}"


def _hand_off(model, device, prepared, passes_of, xs, ys, taus, pair_r, rho_max, answers) -> tuple[list, list]:
    """Answer again, with another shipped model, what ``model="default"`` is known to get wrong
    (their entries of ``answers`` are replaced):

    - data past the default's range (:func:`mist.range_checks.past_default_range`): WIDE_MODEL;
    - data of several columns a side, where ROTATION_MODEL's 90% interval lies wholly above the
      default's (:func:`mist.range_checks.second_opinion_wins`): dependence not aligned with
      the columns, which the default underestimates.

    Returns, per dataset, the engine that answered it where that is not ``model``'s (else None),
    and the default's 0.95-quantile (nats) where ROTATION_MODEL's answer replaced it (else None).
    ``taus`` ends with LOW_TAU and CHECK_TAU."""
    answered_by, replaced = [None] * len(prepared), [None] * len(prepared)
    wide = [i for i, (x, y, _, discrete) in enumerate(prepared)
            if past_default_range(model, x.shape[0], x.shape[1] + y.shape[1], discrete, bool(passes_of[i]),
                                  pair_r[i], rho_max)]
    for i, answer, engine in _second_opinion(WIDE_MODEL, wide, device, passes_of, xs, ys, taus):
        answers[i], answered_by[i] = answer, engine
    asked = [i for i, (x, y, _, discrete) in enumerate(prepared) if answered_by[i] is None
             and asks_rotation_model(model, x.shape[1], y.shape[1], discrete, bool(passes_of[i]))]
    for i, answer, engine in _second_opinion(ROTATION_MODEL, asked, device, passes_of, xs, ys, taus):
        if second_opinion_wins(float(answers[i][1][-1]), float(answer[1][-2])):
            replaced[i] = float(answers[i][1][-1])
            answers[i], answered_by[i] = answer, engine
    return answered_by, replaced


def _second_opinion(name: str, chosen: list[int], device, passes_of, xs, ys, taus):
    """(i, (estimate, quantiles), engine) of model ``name`` for each dataset i in ``chosen``,
    its forward passes ``passes_of[i]`` run in one batch."""
    from mist.model.calibration import shared_fraction
    from mist.model.inference import predict_many
    from mist.weights import load_predictor

    if not chosen:
        return []
    engine = load_predictor(name, device)
    passes = [k for i in chosen for k in passes_of[i]]
    mean, quant = predict_many(engine, [xs[k] for k in passes], [ys[k] for k in passes], taus, device=device)
    position = {k: j for j, k in enumerate(passes)}
    rho = shared_fraction(engine.card)
    return [(i, _combine_passes(mean, quant, [position[k] for k in passes_of[i]], rho, len(taus)), engine)
            for i in chosen]


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


def _disagrees(model_free, upper):
    """The cross-check's rule: KSG's estimate lies CHECK_MARGIN above the model's CHECK_TAU
    quantile (False where KSG did not run: None or NaN)."""
    return model_free is not None and model_free > upper + CHECK_MARGIN


def _normal_scores(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's normal scores (the model's input transform), float64: what KSG reads here,
    so that its figures, like the model's, do not change under increasing maps of a column."""
    from mist.model.numpy_forward import normal_scores

    z = normal_scores(np.hstack([x, y])[None])[0].astype(np.float64)
    return z[:, :x.shape[1]], z[:, x.shape[1]:]


def _cross_check(x: np.ndarray, y: np.ndarray) -> float | None:
    """KSG's estimate (nats) on the normal scores of the rows the model saw first, or None where
    ties make it unreliable."""
    from mist.estimators.ksg import KSG

    if min(distinct_counts(x).min(), distinct_counts(y).min()) < CHECK_MIN_DISTINCT * x.shape[0]:
        return None
    return KSG(k=5).estimate(*_normal_scores(x, y))


def _ksg_answer(x: np.ndarray, y: np.ndarray, taus: Sequence[float]) -> tuple[float, np.ndarray]:
    """The answer where the cross-check disagrees: KSG on the normal scores of at most
    KSG_ANSWER_MAX_ROWS rows (an order-independent subset above), bias-corrected, and its
    tau-quantiles, from :func:`mist.estimators.ksg.ksg_interval` (nats)."""
    from mist.estimators.ksg import ksg_interval

    if x.shape[0] > KSG_ANSWER_MAX_ROWS:
        rows = _subsets(x, y, max_rows=KSG_ANSWER_MAX_ROWS)[0]
        x, y = x[rows], y[rows]
    answer = ksg_interval(*_normal_scores(x, y))
    return answer.corrected, answer.quantiles(taus)


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
    check: bool = True,
) -> MIResult:
    """Estimate the mutual information I(X;Y) from paired samples with the pretrained model.

    Parameters
    ----------
    x : array-like, shape (n, dim_x) or (n,)
        Samples of X (numpy, pandas, torch or lists); a 1-D input is one variable.
    y : array-like, shape (n, dim_y) or (n,)
        Samples of Y, row i paired with row i of x.
    model : str, default "default"
        A shipped model name (see ``mist.weights.available_models()``) or a model card path.
        "default" is mist-tiny-gpu, which hands data past its training range to ``WIDE_MODEL``
        and data whose dependence is not aligned with the columns to ``ROTATION_MODEL``
        (Notes); a name is used as named (and skips the second opinion: faster).
    level : float, default 0.9
        Probability mass of the interval [low, high] (central quantiles of the model).
    quantiles : sequence of float, optional
        Extra quantile levels in (0, 1) to return in ``result.quantiles``.
    base : float, optional
        Logarithm base of the unit: None or e for nats, 2 for bits.
    device : str, optional
        "cpu" (default) or "cuda".
    large_n : {"subsets", "direct"}, default "subsets"
        For n above ``MAX_ROWS`` (500, the training range): average over order-independent
        subsets of at most 500 rows, or one pass over all rows (benchmarks/large_n.py).
    check : bool, default True
        With at most 4 columns (x and y together), at least 100 rows and few ties, also run KSG
        (on normal scores) and, where it lies more than 0.1 nats above the model's 0.95-quantile
        (the 90% interval's upper end, at any ``level``), answer with KSG instead, with a
        warning: the model misses non-monotone and multimodal dependence
        (``CHECK_MAX_COLUMNS``). KSG's answer is bias-corrected, its interval from KSG on
        random halves of the rows (:func:`mist.estimators.ksg.ksg_interval`; ``KSG_ANSWER``).
        KSG's own figure is ``result.cross_check``. Costs 1-2 ms at n = 500, 10-20 more where
        KSG answers.

    Returns
    -------
    MIResult
        ``estimate``, ``low``, ``high``, ``unit``, ``n``, ``dim_x``, ``dim_y``, ``model`` ...

    Notes
    -----
    Invariant to row order, to the order of columns within x and within y, to swapping x and y,
    and to strictly increasing maps of any column (the model sees per-column normal scores).
    Constant columns are ignored with a warning; MI is 0 when one side is all constant.

    The model knows data like its training data only. A warning (and a note) says when a
    dataset lies outside: fewer rows (10) or more columns a side (32) than it was trained on,
    or, always checked from 20 rows on, a column of x and a column of y whose normal scores
    correlate surely above any pair in its training data (0.9615), or so strongly that the
    model-free bound ``result.lower_bound`` lies above the model's interval. Past that
    correlation mist-tiny-gpu falls short (y = x + 0.1 noise, n = 500: 1.95 nats for 2.31; with 4
    such columns a side 7.3 for 9.2), so with ``model="default"`` such a dataset (seen above
    0.9615, at least 20 rows, at most 2 columns a row) is answered by ``WIDE_MODEL``, trained to
    0.9975 (2.30 nats for 2.31): ``result.model`` and a note say so. See ``HIGH_MI_Z`` and
    benchmarks/high_mi.py.

    mist-tiny-gpu reads per-column statistics, so where the dependence is spread across columns
    (the training families with x and y each mixed by a random rotation, MI unchanged) it falls
    short: MSE 22-23 nats^2, bias -2.3. With ``model="default"`` and more than one column on a
    side, ``ROTATION_MODEL``, trained on such data, is asked too, and answers when its 90%
    interval lies wholly above the default's (MSE 1.8-3.2 there; on the families as drawn it
    almost never fires): ``result.model`` and a note say so. See
    benchmarks/model_selection.py.

    Where the dependence is not monotone (y = x^2 + noise) or multimodal, the model is nearly
    blind; with ``check`` and at most 4 columns, KSG answers where it lies above the model's
    interval. On y = f(x) + noise for f = x^2, sin 3x, |x| (benchmarks/cross_check.py) the MSE
    fell from 0.33-0.68 to 0.009-0.024 nats^2, and the 90% interval held the truth 83-97% of the
    time (0 before); with 2 columns a side, where MI is higher and KSG's bias larger, 43-87%.
    At any width, from 20 rows on, a relation even in a column (y = x^2) is also looked for with
    the columns folded at their medians (``mist.range_checks.FOLDED``): where the model-free
    bound that gives lies above the interval, a warning, and ``result.lower_bound`` rises to it.

    Examples
    --------
    >>> import numpy as np, mist
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=500)
    >>> r = mist.estimate(x, x + rng.normal(size=500))  # exact MI: 1/2 log 2 = 0.3466 nats
    >>> print(r)
    I(X;Y) = 0.4093 nats, 90% interval [0.3467, 0.4908] (n=500, dim_x=1, dim_y=1, model=mist-tiny-gpu)
    >>> round(r.lower_bound, 4)  # model-free: MI is at least this (for any distribution)
    0.2672
    """
    return _estimate_batch([(x, y)], model=model, level=level, quantiles=quantiles, base=base, device=device,
                           progress=False, large_n=large_n, check=check, name_pairs=False)[0]


class _PairEstimates(NamedTuple):
    """Per-pair figures of many one-column pairs, in nats, each (P,)."""

    estimate: np.ndarray
    low: np.ndarray  # the interval's ends at the level asked for
    high: np.ndarray
    upper: np.ndarray  # the CHECK_TAU quantile, what the cross-check and the high-MI check compare with
    cross_check: np.ndarray  # KSG's estimate where the cross-check ran, NaN elsewhere
    disagrees: np.ndarray  # bool: KSG lay above the model's interval, so KSG answered (KSG_ANSWER)
    lower_bound: np.ndarray  # model-free (MIResult.lower_bound), NaN where there is none
    beyond: np.ndarray  # bool: flagged by the high-MI check
    model: np.ndarray  # the name of the model that answered (object)
    folded: np.ndarray  # bool: flagged by the folded check (lower_bound is its bound there)

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
                      MistWarning, stacklevel=stacklevel)
    tied = np.flatnonzero((distinct > 1) & (distinct < DISCRETE_SHARE * values.shape[0]))
    if tied.size:
        listed = ", ".join(f"{names[j]} ({distinct[j]})" for j in tied[:10])
        warnings.warn(f"{COLUMN_WARNING}look discrete (distinct values in {values.shape[0]} rows): {listed}. "
                      "mist estimates MI of continuous variables; ties are ranked by averaging, and the estimates "
                      "of their pairs may be unreliable.", MistWarning, stacklevel=stacklevel)
    return exact_in_float32(values, kept), distinct


def _column_pair_estimates(values: np.ndarray, first, second, *, model: str, device: str | None, check: bool,
                           level: float, distinct: np.ndarray) -> _PairEstimates | None:
    """The figures of the one-column pairs (values[:, first[k]], values[:, second[k]]) of one
    validated table, through the engine's pair path (each column ranked once, the pairs'
    statistics from matrix products: 4-6x faster than estimate_many over the pairs); None where
    that path does not apply (a model or device that needs PyTorch). Above MAX_ROWS rows the
    table's rows are split once into order-independent subsets, shared by all pairs, and the
    estimates averaged (:func:`estimate` splits each pair's rows its own way, so the two differ
    by the subsets' sampling noise there). Pairs with a constant column get 0, as in
    :func:`estimate`; ``check`` runs the cross-check where it applies. ``distinct``: each
    column's number of distinct values (:func:`_warn_columns`)."""
    from mist.model.calibration import combine_subset_quantiles, shared_fraction
    from mist.model.numpy_forward import NumpyForward, folded_pairs_r2
    from mist.weights import load_predictor

    engine = load_predictor(model, device)
    if not isinstance(engine, NumpyForward):
        return None
    first, second = np.asarray(first, dtype=np.intp), np.asarray(second, dtype=np.intp)
    varying = distinct > 1
    live = varying[first] & varying[second]
    zeros, missing = np.zeros(len(first)), np.full(len(first), np.nan)
    found = _PairEstimates(zeros, zeros.copy(), zeros.copy(), zeros.copy(), missing, np.zeros(len(first), dtype=bool),
                           missing.copy(), np.zeros(len(first), dtype=bool),
                           np.full(len(first), engine.card.get("name", model), dtype=object),
                           np.zeros(len(first), dtype=bool))
    if not live.any():
        return found
    subsets = _subsets(values, values[:, :0])
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
        r, r_low, floor, r_high = pair_correlation_bounds(np.concatenate(r2s), rows,
                                                           np.tile(np.arange(pairs), len(subsets)), pairs)
        continuous = distinct >= DISCRETE_SHARE * values.shape[0]  # the bound assumes continuous marginals
        continuous = continuous[first[live]] & continuous[second[live]]
        found.lower_bound[live] = np.where(continuous, floor, np.nan)
        rho_max = training_range(engine.card)[2]
        found.beyond[live] = continuous & beyond_range(r_low, floor, found.upper[live], rho_max)
        routed = np.flatnonzero(live)[[past_default_range(model, values.shape[0], 2, not c, True, float(v), rho_max)
                                       for c, v in zip(continuous, r)]]
        if routed.size:  # as estimate does: WIDE_MODEL answers past the default's range
            wide = _column_pair_estimates(values, first[routed], second[routed], model=WIDE_MODEL, device=device,
                                          check=False, level=level, distinct=distinct)
            for column in ("estimate", "low", "high", "upper", "lower_bound", "beyond", "model", "folded"):
                getattr(found, column)[routed] = getattr(wide, column)
            among = np.searchsorted(np.flatnonzero(live), routed)  # as high_mi_note judges handed-on data
            found.beyond[routed] |= continuous[among] & (r_high[among] > wide_model_correlation())
    if check and len(subsets[0]) >= CHECK_MIN_ROWS:
        sample = values[subsets[0]]
        for k in np.flatnonzero(live):
            value = _cross_check(sample[:, first[k]:first[k] + 1], sample[:, second[k]:second[k] + 1])
            found.cross_check[k] = np.nan if value is None else value
            if _disagrees(value, found.upper[k]):  # as in estimate: KSG answers
                found.disagrees[k] = True
                found.estimate[k], (found.low[k], _, found.high[k], found.upper[k]) = _ksg_answer(
                    values[:, first[k]:first[k] + 1], values[:, second[k]:second[k] + 1], taus)
                found.model[k] = KSG_ANSWER
    if values.shape[0] >= HIGH_MI_MIN_ROWS:  # the folded check, as in estimate: on the first rows, against the answer
        pairs = int(live.sum())
        r2 = folded_pairs_r2(values[subsets[0]], first[live], second[live])
        _, _, floor, _ = pair_correlation_bounds(r2, np.full(pairs, len(subsets[0])), np.arange(pairs), pairs, 3)
        plain = found.lower_bound[live]  # NaN where a column looks discrete: no check there either
        fires = folded_fires(floor, found.upper[live], plain)
        found.folded[live] |= fires  # |=: WIDE_MODEL's pairs were checked against its answer already
        found.lower_bound[live] = np.where(fires, floor, plain)
    return found


def _estimate_pairs(pairs, *, model: str, device: str | None, check: bool, level: float = 0.9) -> _PairEstimates:
    """:func:`_column_pair_estimates`' figures through :func:`estimate_many` (one pass per pair,
    its per-pair warnings silenced): the path for models the pair path does not serve."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MistWarning)
        results = estimate_many(pairs, model=model, device=device, check=check, level=level, quantiles=[CHECK_TAU])

    def column(values) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in values], dtype=float)

    return _PairEstimates(
        column(r.estimate for r in results), column(r.low for r in results), column(r.high for r in results),
        column(r.quantiles[CHECK_TAU] for r in results), column(r.cross_check for r in results),
        np.array([r.model == KSG_ANSWER for r in results], dtype=bool), column(r.lower_bound for r in results),
        np.array([any(t.startswith(BEYOND_RANGE) for t in r.notes) for r in results], dtype=bool),
        np.array([r.model for r in results], dtype=object),
        np.array([any(t.startswith(FOLDED) for t in r.notes) for r in results], dtype=bool))


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
        # user -> mi_matrix / mi_pairs / mutual_info_score -> _warn_table -> _warn_beyond_range -> here
        warnings.warn(message(len(marked), listed), MistWarning, stacklevel=5)
    return found


def _warn_bounds(names: list[str], pairs: list[tuple[int, int]], estimates, flagged, scale: float, unit: str,
                 message) -> dict:
    """Warn about the pairs a check flags with a model-free lower bound (``flagged``: the bound,
    NaN elsewhere), each listed as "estimate, at least bound"; returns {"a ~ b": that bound}."""
    return _warn_pairs(names, pairs, np.flatnonzero(~np.isnan(flagged)), flagged, estimates, scale,
                       lambda k: f"{estimates[k] / scale:.3f} {unit}, at least {flagged[k] / scale:.3f}", message)


def _warn_beyond_range(names: list[str], pairs: list[tuple[int, int]], estimates, flagged, scale: float,
                       unit: str, listed_in: str = "") -> dict:
    """Warn about the pairs the high-MI check flags (``flagged``: their model-free lower bound,
    NaN elsewhere); returns {"a ~ b": that bound} of those pairs, in ``unit``."""
    return _warn_bounds(
        names, pairs, estimates, flagged, scale, unit,
        lambda count, listed: f"{count} pair(s) correlate beyond the model's training data (normal scores correlated "
                              f"above {HIGH_MI_Z:g} standard errors past its largest, or a model-free lower bound above "
                              f"its interval): their MI is likely above the range it learned and their estimates too "
                              f"low; for example {listed}.{listed_in}")


def _warn_folded(names: list[str], pairs: list[tuple[int, int]], found: _PairEstimates, scale: float,
                 unit: str, listed_in: str = "") -> dict:
    """Warn about the pairs the folded check flags; returns {"a ~ b": its lower bound}, in ``unit``."""
    return _warn_bounds(
        names, pairs, found.estimate, np.where(found.folded, found.lower_bound, np.nan), scale, unit,
        lambda count, listed: f"{count} pair(s) show dependence the model does not read: with a column folded at its "
                              f"median their normal scores correlate so that a model-free lower bound lies above the "
                              f"interval (dependence that is not monotone, as in y = x^2 + noise); their estimates are "
                              f"too low; for example {listed}.{listed_in}")


def _warn_cross_check(names: list[str], pairs: list[tuple[int, int]], found: _PairEstimates, scale: float,
                      unit: str, listed_in: str = "") -> dict:
    """Warn about the pairs whose KSG estimate lay CHECK_MARGIN above the model's interval, and
    which KSG therefore answered (``listed_in`` ends the message); returns {"a ~ b": KSG's
    estimate on the first rows} of those pairs, in ``unit``."""
    model_free = found.cross_check
    return _warn_pairs(  # listed by KSG's figure, largest first (their estimates are KSG's answers now)
        names, pairs, np.flatnonzero(found.disagrees), model_free, np.zeros(len(pairs)), scale,
        lambda k: f"KSG finds {model_free[k] / scale:.3f} {unit}, answered {found.estimate[k] / scale:.3f}",
        lambda count, listed: f"for {count} pair(s) KSG, a model-free estimator, lies above the model's interval, "
                              f"so KSG answered them (bias-corrected, with an interval from halves of the rows): the "
                              f"dependence may be of a kind the model was not trained on (non-monotone, such as "
                              f"y = x^2 + noise, or multimodal); for example {listed}.{listed_in}")


def _table_pairs(data: Any, *, model: str, device: str | None, check: bool, level: float = 0.9):
    """Every pair of columns of a table: (column names, first (P,), second (P,), _PairEstimates)."""
    import pandas as pd

    check_flag(check, "check")
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(as_samples(data, "data"))
    values = as_samples(frame, "data")
    d = values.shape[1]
    if d < 2:
        raise MistError(f"`data` needs at least 2 columns to compare, got {d}.")
    first, second = np.triu_indices(d, k=1)
    check_xy(values[:, :1], values[:, 1:])  # enough rows
    names = [str(c) for c in frame.columns]
    values, distinct = _warn_columns(values, names, stacklevel=5)  # user -> mi_matrix -> _table_pairs -> here
    found = _column_pair_estimates(values, first, second, model=model, device=device, check=check, level=level,
                                   distinct=distinct)
    if found is None:
        found = _estimate_pairs([(values[:, i], values[:, j]) for i, j in zip(first, second)], model=model,
                                device=device, check=check, level=level)
    return names, first, second, found


def _warn_table(names, first, second, found: _PairEstimates, check: bool, scale: float, unit: str,
                listed_in: str) -> dict:
    """The warnings of :func:`mi_matrix` and :func:`mi_pairs`: {"beyond_range": {"a ~ b": bound},
    and with ``check`` "cross_check": {"a ~ b": KSG's estimate}}, in ``unit``."""
    pairs = list(zip(first, second))
    named = {"beyond_range": _warn_beyond_range(names, pairs, found.estimate, found.flagged(), scale, unit,
                                                listed_in),
             "folded": _warn_folded(names, pairs, found, scale, unit, listed_in)}
    if check:
        named["cross_check"] = _warn_cross_check(names, pairs, found, scale, unit, listed_in)
    return named


def mi_matrix(data: Any, *, model: str = "default", base: float | None = None, device: str | None = None,
              check: bool = False):
    """MI between every pair of columns of a table, batched: a DataFrame in, a DataFrame out.

    The diagonal is left as NaN (the MI of a continuous variable with itself is infinite).
    :func:`mi_pairs` gives the same estimates with their intervals, one row per pair.
    Pairs that correlate beyond the model's training data (the high-MI check of :func:`estimate`)
    are named in a warning and, with their model-free lower bounds, in
    ``table.attrs["beyond_range"]``; so are the pairs the folded check of :func:`estimate` flags
    (dependence even in a column, such as y = x^2 + noise), in ``table.attrs["folded"]``. With
    ``check``, every pair with at least 100 rows and few ties also gets the model-free
    cross-check of :func:`estimate` (one KSG call a pair, 1-2 ms at n = 500): the model misses
    non-monotone dependence such as y = x^2 + noise. The pairs
    where KSG lies above the interval are answered by KSG, as in :func:`estimate`, and named in
    a warning and in ``table.attrs["cross_check"]`` (KSG's figure on the first rows).
    With ``model="default"``, pairs past the default's training range are answered by
    ``WIDE_MODEL``, as in :func:`estimate`; ``table.attrs["answered_by"]`` names them.
    """
    import pandas as pd

    scale, unit = _unit(base)
    names, first, second, found = _table_pairs(data, model=model, device=device, check=check)
    out = np.full((len(names), len(names)), np.nan)
    out[first, second] = out[second, first] = found.estimate / scale
    table = pd.DataFrame(out, index=names, columns=names)
    table.attrs.update(_warn_table(names, first, second, found, check, scale, unit,
                                   " All are in the result's attrs."))
    main = _model_name(model, device)
    table.attrs["answered_by"] = {f"{names[i]} ~ {names[j]}": answered
                                  for i, j, answered in zip(first, second, found.model) if answered != main}
    return table


def mi_pairs(data: Any, *, level: float = 0.9, model: str = "default", base: float | None = None,
             device: str | None = None, check: bool = False):
    """MI of every pair of columns of a table with its interval: one row per pair, strongest first.

    The estimates are those of :func:`mi_matrix`; the columns of the returned DataFrame are
    ``x`` and ``y`` (the two column names), ``estimate``, ``low`` and ``high`` (the interval at
    ``level``), ``lower_bound`` (model-free, as :attr:`MIResult.lower_bound`; NaN below 20 rows
    or where a column looks discrete), ``beyond_range`` (True where the high-MI check of
    :func:`estimate` flags the pair: its estimate is likely too low), ``folded`` (True where the
    folded check of :func:`estimate` flags it: dependence even in a column, which the model does
    not read; ``lower_bound`` is that check's bound there) and, with ``check``,
    ``cross_check`` (KSG's estimate where the cross-check ran, else NaN) and
    ``cross_check_above`` (True where KSG lies above the model's interval as in :func:`estimate`:
    dependence the model may miss; KSG answered those pairs), and ``model``, what answered
    (with ``model="default"``, ``WIDE_MODEL`` for pairs past the default's training range, as
    in :func:`estimate`; ``"ksg"`` where the cross-check found the model's interval too low).
    ``attrs`` holds the ``unit``, ``level`` and ``model`` (the one asked for);
    flagged pairs are also named in a warning.

    Examples
    --------
    >>> import numpy as np, pandas as pd, mist
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(2, 400))
    >>> table = pd.DataFrame({"a": a, "b": b, "c": a + b + rng.normal(size=400)})
    >>> mist.mi_pairs(table)[["x", "y", "estimate", "low", "high"]].round(3)
       x  y  estimate    low   high
    0  a  c     0.263  0.209  0.338
    1  b  c     0.238  0.188  0.312
    2  a  b     0.005  0.000  0.030
    """
    import pandas as pd

    level = check_level(level)
    scale, unit = _unit(base)
    names, first, second, found = _table_pairs(data, model=model, device=device, check=check, level=level)
    columns = {"x": [names[i] for i in first], "y": [names[j] for j in second], "estimate": found.estimate / scale,
               "low": found.low / scale, "high": found.high / scale, "lower_bound": found.lower_bound / scale,
               "beyond_range": found.beyond, "folded": found.folded, "model": found.model}
    if check:
        columns["cross_check"] = found.cross_check / scale
        columns["cross_check_above"] = found.disagrees
    table = pd.DataFrame(columns).sort_values("estimate", ascending=False, kind="stable", ignore_index=True)
    _warn_table(names, first, second, found, check, scale, unit, " Their rows are marked in the result.")
    table.attrs.update(unit=unit, level=level, model=_model_name(model, device))
    return table


def _model_name(model: str, device: str | None) -> str:
    """The name in the card of the model ``model`` loads."""
    from mist.weights import load_predictor

    return load_predictor(model, device).card.get("name", str(model))


def mutual_info_score(X: Any, y: Any, *, model: str = "default", check: bool = False) -> np.ndarray:
    """One MI estimate (nats) per feature of ``X`` with the target ``y``.

    Same call as scikit-learn's ``mutual_info_regression(X, y)``, so it works in
    ``SelectKBest(mutual_info_score, k=...)``. With ``check`` (for SelectKBest:
    ``functools.partial(mist.mutual_info_score, check=True)``), each feature also gets the
    model-free cross-check of :func:`estimate`: where KSG lies above the model's interval,
    KSG's (bias-corrected) figure is the score, and a warning names the feature. The model
    misses non-monotone dependence, so without the check such a feature may rank too low.
    Features that correlate with ``y`` beyond the model's training data (the high-MI check of
    :func:`estimate`, always on) are named in a warning: their scores may be too low, though
    such features rank near the top anyway.
    """
    check_flag(check, "check")
    features, target = check_xy(as_samples(X, "X"), y)
    p = features.shape[1]
    names = (_column_names(X) or [f"X[:, {j}]" for j in range(p)]) + ["y"]
    target_names = ["y"] if target.shape[1] == 1 else [f"y[:, {k}]" for k in range(target.shape[1])]
    table, distinct = _warn_columns(np.hstack([features, target]), names[:p] + target_names, stacklevel=4)
    found = None
    if target.shape[1] == 1:
        found = _column_pair_estimates(table, np.arange(p), np.full(p, p), model=model, device=None, check=check,
                                       level=0.9, distinct=distinct)
    if found is None:
        found = _estimate_pairs([(features[:, j], target) for j in range(p)], model=model, device=None, check=check)
    _warn_table(names, np.arange(p), np.full(p, p), found, check, 1.0, "nats", "")
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
