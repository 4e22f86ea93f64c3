"""Where a model's training data end, and what mist does past them.

The shipped models saw 10-500 rows, 1-32 columns a side and (all but WIDE_MODEL) no column pair
correlated above 0.9615 in normal scores. This module holds the checks that say when a dataset
lies outside (``range_notes`` for its shape; the high-MI check, ``beyond_range`` and
``high_mi_note``, for its dependence), the model-free lower bound on MI every estimate carries
(``pair_correlation_bounds``), and the rules by which ``model="default"`` hands data past the
default's range to WIDE_MODEL (``past_default_range``) and data whose dependence is not aligned
with the columns to ROTATION_MODEL (``asks_rotation_model``, ``second_opinion_wins``).
docs/model.md, "Beyond the training range" and "mist-tiny-rot", has the measurements behind
each number here.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np

from mist.errors import MistWarning

#: Above this many columns (x and y together) per row, estimates and intervals are unreliable.
MAX_COLUMNS_PER_ROW = 4

#: Beyond the training range. A model knows the MI of data like its training data only: the
#: shipped ones saw n >= 10 rows, at most 32 columns a side (a card's ``training.n_range`` and
#: ``dim_range``), and no two columns of x and y whose normal scores correlate above 25/26 = 0.9615
#: (the sparse structure at its largest strength, 5: 1.29 nats for that pair). Past that
#: correlation they saturate (y = x + 0.1 noise, n = 500: 1.92-1.95 nats for 2.31 on two draws; with 4 such
#: columns a side 7.33 for 9.23, interval [7.15, 7.53]). Every estimate with at least
#: HIGH_MI_MIN_ROWS rows therefore takes its strongest column pair's correlation r (which the
#: forward pass computes anyway), and its lower confidence end r_low, HIGH_MI_Z standard errors
#: below on Fisher's scale for one pair and more for more (Bonferroni over the dx * dy pairs:
#: the strongest is picked after the fact): when r_low is above the training maximum, or the
#: model-free bound MI >= -1/2 log(1 - r_low^2) (normal scores have Gaussian marginals, and a
#: Gaussian has the least MI for a given correlation) lies above the model's 0.95-quantile, the
#: result warns. With model="default", data whose r is above the default's maximum go to
#: WIDE_MODEL first (past_default_range). For mist-tiny-gpu alone, `python
#: benchmarks/high_mi.py --datasets 1000 --model mist-tiny-gpu` (n 20-500, 1-8 columns a side):
#: no warning on training-family data drawn with the published priors, 2 in 1,000 drawn at the
#: edge of the priors (n = 20; with --seed 12, none); past the edge (strength 5-8, 8-15, 15-30)
#: it warned on 18%, 69% and 90% of datasets, whose 90% intervals held the MI 35%, 1% and 0% of
#: the time; the bound held on every dataset. Below 20 rows identical ranks are too common for a
#: test (2-20% of datasets at n = 10 at that edge).
HIGH_MI_Z = 4.0
HIGH_MI_MIN_ROWS = 20
BEYOND_RANGE = "beyond the training range: "  # starts each note of the high-MI check


def training_range(card: dict) -> tuple[int, int, float]:
    """(fewest rows, most columns a side, largest correlation of a column pair) in a card's
    training data; the shipped models' values where a card does not say."""
    training = card.get("training", {})
    strength = float(training.get("priors", {}).get("strength", (0.1, 5.0))[1])
    stream = training.get("config", {}).get("stream", {})
    if stream.get("wide_fraction", 0) > 0:  # trained past the published priors too
        strength = max(strength, float(stream["wide_strength"][1]))
    return (int(training.get("n_range", (10, 500))[0]), int(training.get("dim_range", (1, 32))[1]),
            strength**2 / (1 + strength**2))


def range_notes(n: int, dim_x: int, dim_y: int, n_min: int, dim_max: int) -> list[str]:
    """Warn, and return notes, where a dataset's shape lies outside the model's training range
    (its fewest rows and most columns a side, :func:`training_range`)."""
    notes = []
    if n < n_min:
        notes.append(f"{n} rows, fewer than the {n_min} of the model's training data: on fresh training-family data "
                     "the 90% interval held the true MI 26-47% of the time at n = 4, 58-71% at n = 6 and "
                     "76-84% at n = 8 (benchmarks/high_mi.py --shapes)")
    if max(dim_x, dim_y) > dim_max:
        notes.append(f"{max(dim_x, dim_y)} columns on one side, more than the {dim_max} of the model's training "
                     "data: on fresh training-family data with 48-64 columns a side the 90% interval held the true "
                     "MI 55-77% of the time (benchmarks/high_mi.py --shapes)")
    for note in notes:
        warnings.warn(note + ".", MistWarning, stacklevel=4)
    return notes


@lru_cache(maxsize=256)
def one_swap_correlation(n: int) -> float:
    """The normal-score correlation of two n-row columns whose ranks differ by one swap of two
    neighbours where the scores lie closest (the middle): the largest short of 1 at n rows.
    Swapping scores a and b lowers the sum of products by (a - b)^2."""
    from scipy.special import ndtri

    scores = ndtri((np.arange(n) + 0.5) / n)
    return float(1.0 - np.diff(scores).min() ** 2 / np.sum(scores**2))


def pair_correlation_bounds(r2, rows, group, count: int, pairs=1) -> tuple[np.ndarray, ...]:
    """For ``count`` datasets, from the strongest column pair's squared correlation r2 (M,) in
    M row subsets of ``rows`` (M,) rows each, subset m of dataset ``group[m]``: the correlation,
    its lower confidence end (Fisher's z averaged over a dataset's subsets with weights n - 3),
    the model-free lower bound on MI (nats) of :class:`MIResult`, -1/2 log(1 - r_low^2), and the
    upper confidence end r_high; each (count,).

    The strongest of a dataset's ``pairs`` (count,) column pairs is the one whose sample
    correlation came out highest, chance included, so the lower end lies HIGH_MI_Z standard
    errors below for one pair and further for more (Bonferroni: the same one-sided tail,
    Phi(-HIGH_MI_Z), shared by all pairs; 4.6 for 12 pairs, 5.4 for 32 x 32). With a single
    4 for all, 20 rows of 6 x 2 columns at sparse strength 8-15 once gave a bound above the MI.

    Where the ranks agree (r = 1 to float32 precision) Fisher's z is infinite, yet n rows with
    the same ranks are also what a correlation just short of 1 often gives (at n = 20, sparse
    strength 15-30 did 1% of the time), so the lower end is taken from the largest correlation
    short of 1 at that n (:func:`one_swap_correlation`): a finite bound that stays valid."""
    from scipy.special import ndtr, ndtri

    rows = np.asarray(rows, dtype=np.intp)
    r = np.sqrt(np.clip(r2, 0.0, 1.0))
    cap = np.array([one_swap_correlation(int(n)) for n in rows]) if rows.size else np.zeros(0)
    weights = rows - 3.0
    total = np.maximum(np.bincount(group, weights=weights, minlength=count), 1.0)

    def average(z):
        return np.bincount(group, weights=weights * z, minlength=count) / total

    margin = -ndtri(ndtr(-HIGH_MI_Z) / np.maximum(np.asarray(pairs, dtype=float), 1.0))
    centre = average(np.arctanh(r.clip(max=1 - 1e-7)))
    r_low = np.tanh(np.maximum(average(np.arctanh(np.minimum(r, cap))) - margin / np.sqrt(total), 0.0))
    return np.tanh(centre), r_low, -0.5 * np.log1p(-(r_low**2)), np.tanh(centre + margin / np.sqrt(total))


def beyond_range(r_low, floor, upper, rho_max, r_high=None):
    """The high-MI check's rule: the strongest pair's correlation is surely above the training
    maximum, or the model-free lower bound is above the model's CHECK_TAU quantile ``upper``.
    For data handed on to WIDE_MODEL, the one trained furthest, give the correlation's upper
    confidence end ``r_high``: past that model's range no model is left, so there the check
    stays silent only when the data are surely inside it (at sparse strength 15-30 the sure-above
    rule warned on 4% of datasets while the interval held 38%; this one, chosen on another draw,
    warned on 91%, and on 2.4% at the edge of the published priors, where the interval held 86%:
    benchmarks/high_mi.py)."""
    beyond = (r_low > rho_max) | (floor > upper)
    return beyond if r_high is None else beyond | (r_high > rho_max)


def high_mi_note(r: float, r_low: float, floor: float, upper: float, rho_max: float, scale: float,
                 unit: str, r_high: float | None = None, pair=None) -> str | None:
    """The high-MI check's note for one dataset (None when it passes); ``upper`` is the model's
    CHECK_TAU quantile, ``floor`` the model-free lower bound, both in nats; ``r_high`` for data
    handed on to WIDE_MODEL (:func:`beyond_range`); ``pair()``, called only when the note is
    written, names the strongest pair ("x column 'a' and y column 'b'")."""
    if not beyond_range(r_low, floor, upper, rho_max, r_high):
        return None
    columns = pair() if pair is not None else "a column of x and a column of y"
    if r > 1 - 1e-6:
        return (BEYOND_RANGE + f"{columns} have the same ranks: one may be a monotone function "
                "of the other, whose MI is infinite, and the model's estimate is only the largest it learned. A "
                f"model-free lower bound for any distribution: MI >= {floor / scale:.4f} {unit} (as if the ranks "
                "differed by one swap, the closest short of the same)")
    past = (f"the {rho_max:.4f} of the model's training data, so the MI may lie above the range the model "
            "learned, where its estimate and interval fall short (y = x + 0.1 noise, one column a side, n = 500: "
            "mist-tiny-gpu gave 1.95 nats for 2.31)")
    if r_low > rho_max:
        where = f"(at least {r_low:.4f}, {HIGH_MI_Z:g} or more standard errors below), above {past}"
    elif r_high is not None and r_high > rho_max:
        where = (f"(up to {r_high:.4f}, {HIGH_MI_Z:g} or more standard errors above), perhaps above {past}; no "
                 "shipped model was trained on stronger dependence")
    else:
        where = (f"(at least {r_low:.4f}, {HIGH_MI_Z:g} or more standard errors below), so the model's interval "
                 f"(0.95-quantile {upper / scale:.4f} {unit}) lies below the bound below")
    return (BEYOND_RANGE + f"the normal scores of {columns} correlate at {r:.4f} {where}. A "
            f"model-free lower bound for any distribution: MI >= {floor / scale:.4f} {unit} (-1/2 log(1 - r^2) at "
            f"the lower end of r's confidence interval)")


#: Even dependence. The model reads rank and squared-rank correlations, so a relation that is
#: even in a column (y = x^2 + noise, y = |x| + noise) is nearly invisible to it, at any number
#: of columns (where KSG runs, at most CHECK_MAX_COLUMNS, it answers instead). Folding a column at
#: its median (the normal scores of |normal score|) makes such a relation monotone, so every
#: estimate with at least HIGH_MI_MIN_ROWS continuous rows also takes the strongest pair of a
#: column of x and a column of y with one or both folded, and the same model-free bound as the
#: high-MI check (a function of a column carries no more information than the column; Bonferroni
#: over the 3 dx dy pairs): where it lies above the answer's 0.95-quantile and above the bound
#: of the unfolded pairs (folding both columns of a strong monotone pair keeps them correlated),
#: the result warns and its ``lower_bound`` rises to it. `python benchmarks/cross_check.py`
#: (--dims 3, --dims 8) counts how often it fires and whether the bound held.
FOLDED = "dependence the model does not read: "  # starts the note of the folded check


def folded_dependence(xs, ys) -> tuple[np.ndarray, ...]:
    """For datasets (xs[i] (N_i, dim_x_i), ys[i] (N_i, dim_y_i)): the strongest pair with one or
    both columns folded at the median (:func:`mist.model.numpy_forward.folded_pair_r2`, datasets
    of one shape in one batch), as r, r_low (its lower confidence end as
    :func:`pair_correlation_bounds` gives it for 3 dim_x dim_y pairs), the model-free lower bound
    on MI in nats, the column of x, the column of y and the folded side (``FOLDED_SIDES``); each
    (len(xs),)."""
    from collections import defaultdict

    from mist.model.numpy_forward import folded_pair_r2

    count = len(xs)
    r2 = np.zeros(count)
    j, k, side = (np.zeros(count, dtype=np.intp) for _ in range(3))
    groups = defaultdict(list)
    for i, (x, y) in enumerate(zip(xs, ys)):
        groups[(x.shape, y.shape)].append(i)
    for members in groups.values():
        r2[members], j[members], k[members], side[members] = folded_pair_r2(
            np.stack([xs[i] for i in members]), np.stack([ys[i] for i in members]))
    rows = np.array([len(x) for x in xs], dtype=np.intp)
    pairs = np.array([3 * x.shape[1] * y.shape[1] for x, y in zip(xs, ys)])
    _, r_low, floor, _ = pair_correlation_bounds(r2, rows, np.arange(count), count, pairs)
    return np.sqrt(r2), r_low, floor, j, k, side


def folded_fires(floor, upper, plain_floor):
    """The folded check's rule: its bound ``floor`` lies above the answer's CHECK_TAU quantile
    ``upper`` and above the unfolded pairs' bound ``plain_floor`` (folding both columns of a
    strong monotone pair keeps them correlated, which says nothing the high-MI check does not;
    NaN, where there is no bound, never fires). Scalars or arrays."""
    return (floor > upper) & (floor > plain_floor)


def folded_note(r: float, r_low: float, floor: float, upper: float, columns: str, which: int, scale: float,
                unit: str) -> str:
    """The folded check's note: ``columns`` names the pair, ``which`` the folded side (an index
    of :data:`mist.model.numpy_forward.FOLDED_SIDES`: x, y or both)."""
    folded = ("the first folded at its median", "the second folded at its median",
              "both folded at their medians")[which]
    return (FOLDED + f"the normal scores of {columns}, {folded}, correlate at {r:.4f} (at least {r_low:.4f}), "
            f"so MI >= {floor / scale:.4f} {unit} for any distribution, above the answer's 90% interval (upper end "
            f"{upper / scale:.4f}): the dependence is not monotone (as in y = x^2 + noise), which the model does "
            "not read, and the estimate is too low")


#: The shipped model trained past the published priors (docs/model.md, "mist-tiny-wide"): with
#: ``model="default"`` it answers for the datasets past the default's range (past_default_range).
WIDE_MODEL = "mist-tiny-wide"
WIDE_MODEL_FIGURES = "at sparse strength 8-15 its bias was -0.32 nats against the default's -1.45: benchmarks/high_mi.py"


@lru_cache(maxsize=1)
def wide_model_correlation() -> float | None:
    """The largest column-pair correlation in WIDE_MODEL's training data (None where it is not
    shipped); its card is read once."""
    import json

    from mist.weights import available_models, model_card_path

    if WIDE_MODEL not in available_models():
        return None
    return training_range(json.loads(model_card_path(WIDE_MODEL).read_text()))[2]


def wider_model_hint(model_name: str, r_low: float) -> str:
    """A pointer to WIDE_MODEL where its training range covers a correlation another model's
    does not ("" otherwise)."""
    wide_max = wide_model_correlation()
    if model_name == WIDE_MODEL or wide_max is None or r_low > wide_max:
        return ""
    return (f"; model='{WIDE_MODEL}' was trained on column pairs correlated up to {wide_max:.4f} "
            f"({WIDE_MODEL_FIGURES})")


#: The hand-off to WIDE_MODEL stops at this many columns (x and y together) a row: with few rows
#: and many columns, chance correlations near 1 are common, and WIDE_MODEL, which learned that
#: near-1 correlations can mean far more MI, reads them so. `python benchmarks/high_mi.py
#: --wide-corner --seed 3`: at n = 10 it was worse above 4 columns a row (MSE 11.9 against 9.3),
#: and at n = 20 with 2-4 columns a row, on in-range data handed on by chance, 3.92 against 2.78
#: (95% interval of the difference [0.35, 2.04]; on seeds 500-559 [-0.46, 0.70]); up to 2 it
#: was as good. None of the past-the-priors benchmark's datasets has more than 0.8 a row.
HANDOFF_MAX_COLUMNS_PER_ROW = 2


def past_default_range(model, n: int, columns: int, discrete: bool, passes: bool, r: float, rho_max: float) -> bool:
    """Whether ``model="default"`` hands a dataset to WIDE_MODEL: its strongest column pair's
    normal scores correlate at r above the default's training maximum ``rho_max`` (so its MI
    lies past what the default learned: it saturates there), with the rows for a correlation
    to mean something (HIGH_MI_MIN_ROWS), continuous columns, and no more than
    HANDOFF_MAX_COLUMNS_PER_ROW columns a row."""
    return (model in (None, "default") and passes and n >= HIGH_MI_MIN_ROWS and not discrete and r > rho_max
            and columns <= HANDOFF_MAX_COLUMNS_PER_ROW * n and wide_model_correlation() is not None)


#: The shipped model trained on rotated data too (docs/model.md, "mist-tiny-rot"): with
#: ``model="default"`` it answers for datasets whose dependence is not aligned with the columns
#: (``asks_rotation_model``, ``second_opinion_wins``).
ROTATION_MODEL = "mist-tiny-rot"
ROTATION_MODEL_FIGURES = ("on training-family data with X and Y each mixed by a random orthogonal map, the "
                          "default's MSE was 22-23 nats^2 (bias -2.3) against 1.4-2.2 for mist-tiny-rot: "
                          "benchmarks/model_selection.py")


@lru_cache(maxsize=1)
def rotation_model_shipped() -> bool:
    """Whether ROTATION_MODEL ships with this installation (the weights folder is read once)."""
    from mist.weights import available_models

    return ROTATION_MODEL in available_models()


def asks_rotation_model(model, dim_x: int, dim_y: int, discrete: bool, passes: bool) -> bool:
    """Whether ``model="default"`` asks ROTATION_MODEL for a second opinion on a dataset: more
    than one column on a side (an orthogonal map of a single column is a sign flip), continuous
    columns, and ROTATION_MODEL shipped. Its answer replaces the default's when its
    0.05-quantile lies above the default's 0.95-quantile (``second_opinion_wins``)."""
    return (model in (None, "default") and passes and not discrete and max(dim_x, dim_y) >= 2
            and rotation_model_shipped())


def second_opinion_wins(default_q95: float, rotation_q05: float) -> bool:
    """ROTATION_MODEL's answer replaces the default's when the two models' 90% intervals are
    disjoint, ROTATION_MODEL's above. The default (trained on dependence aligned with the
    columns) falls short where it is not; the reverse error is rare. Chosen on
    ``benchmarks/model_selection.py`` seeds 123 and 124 (5,760 fresh training-family datasets,
    each also rotated) among five rules: it fired on 0.0-0.1% of datasets as drawn (MSE 0.327 ->
    0.332 and 0.235 -> 0.236) and on 40-42% of the rotated ones (MSE 23.1 -> 3.3 and 22.1 ->
    1.9); answering with mist-tiny-rot whenever its estimate was above the default's 0.95-quantile
    fired on 5% as drawn and cost 0.327 -> 0.396 there."""
    return rotation_q05 > default_q95
