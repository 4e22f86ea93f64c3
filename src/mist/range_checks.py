"""Where a model's training data end, and the model-free lower bound every estimate carries.

A model knows data like its training data only; its card says which rows, columns and column
correlations it saw (``training_range``). ``range_findings`` warns about a dataset's shape outside
them; the high-MI check (``beyond_range``, ``high_mi_note``) about a column pair correlated
past them, or so strongly that a model-free lower bound on MI (``pair_correlation_bounds``)
lies above the model's interval. docs/model.md, "Beyond the training range", has the
measurements behind each number here.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from mist.errors import Finding

#: Above this many columns (x and y together) per row, estimates and intervals are unreliable.
MAX_COLUMNS_PER_ROW = 4

#: Beyond the training range. A model knows the MI of data like its training data only: rows
#: and columns a side within its card's ``training.n_range`` and ``dim_range``, and no two
#: columns of x and y whose normal scores correlate above its training maximum
#: (:func:`training_range`; 25/26 = 0.9615 for the paper's priors, 0.9975 with the relations).
#: Past that correlation a model saturates (mist-tiny-gpu, trained to 0.9615: y = x + 0.1 noise,
#: n = 500, 1.92-1.95 nats for 2.31). Every estimate with at least HIGH_MI_MIN_ROWS rows
#: therefore takes its strongest column pair's correlation r (which the forward pass computes
#: anyway), and its lower confidence end r_low, HIGH_MI_Z standard errors below on Fisher's scale
#: for one pair and more for more (Bonferroni over the dx * dy pairs: the strongest is picked
#: after the fact): when r_low is above the training maximum, or the model-free bound
#: MI >= -1/2 log(1 - r_low^2) (normal scores have Gaussian marginals, and a Gaussian has the
#: least MI for a given correlation) lies above the model's 0.95-quantile, the result warns.
#: `python benchmarks/high_mi.py` measures how often, and whether the bound held. Below 20 rows
#: identical ranks are too common for a test (2-20% of datasets at n = 10 at the edge of the
#: paper's priors).
HIGH_MI_Z = 4.0
HIGH_MI_MIN_ROWS = 20
BEYOND_RANGE = "beyond the training range: "  # opens each message of the high-MI check


#: The strongest column-pair correlation among the relations of mist.distributions.relations
#: (its GAUSSIAN_RHO_MAX; a test keeps the two equal): a model trained on them saw it.
RELATIONS_RHO_MAX = 0.9975


def training_range(card: dict) -> tuple[int, int, float]:
    """(fewest rows, most columns a side, largest correlation of a column pair) in a card's
    training data; the published priors' values where a card does not say."""
    training = card.get("training", {})
    strength = float(training.get("priors", {}).get("strength", (0.1, 5.0))[1])
    stream = training.get("config", {}).get("stream", {})
    if stream.get("wide_fraction", 0) > 0:  # trained past the published priors too
        strength = max(strength, float(stream["wide_strength"][1]))
    rho_max = strength**2 / (1 + strength**2)
    if stream.get("relation_fraction", 0) > 0:
        rho_max = max(rho_max, RELATIONS_RHO_MAX)
    return int(training.get("n_range", (10, 500))[0]), int(training.get("dim_range", (1, 32))[1]), rho_max


def max_rows(card: dict) -> int:
    """The most rows of a card's training data: larger datasets are estimated on subsets of at
    most this many rows."""
    return int(card.get("training", {}).get("n_range", (10, 500))[1])


def range_findings(n: int, dim_x: int, dim_y: int, n_min: int, dim_max: int) -> list[Finding]:
    """Warn, and return findings, where a dataset's shape lies outside the model's training range
    (its fewest rows and most columns a side, :func:`training_range`)."""
    found = []
    if n < n_min:
        found.append(Finding("few-rows", f"{n} rows, fewer than the {n_min} of the model's training data: the estimate "
                                         "and its interval are unreliable (benchmarks/high_mi.py --shapes measures how much)"))
    if max(dim_x, dim_y) > dim_max:
        found.append(Finding("many-columns", f"{max(dim_x, dim_y)} columns on one side, more than the {dim_max} of the "
                                             "model's training data: the estimate and its interval are unreliable "
                                             "(benchmarks/high_mi.py --shapes measures how much)"))
    for finding in found:  # a loop, not a comprehension: the warning's stack level counts frames
        finding.warn(stacklevel=4)
    return found


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


#: The high-MI check compares the model-free bound with this quantile of the model (the upper end
#: of its 90% interval), at any ``level`` asked for.
CHECK_TAU = 0.95


def beyond_range(r_low, floor, upper, rho_max):
    """The high-MI check's rule: the strongest pair's correlation is surely above the training
    maximum ``rho_max``, or the model-free lower bound ``floor`` is above the model's CHECK_TAU
    quantile ``upper``. Scalars or arrays."""
    return (r_low > rho_max) | (floor > upper)


def high_mi_note(r: float, r_low: float, floor: float, upper: float, rho_max: float, scale: float,
                 unit: str, pair=None) -> str | None:
    """The high-MI check's note for one dataset (None when it passes); ``upper`` is the model's
    CHECK_TAU quantile, ``floor`` the model-free lower bound, both in nats; ``pair()``, called
    only when the note is written, names the strongest pair ("x column 'a' and y column 'b'")."""
    if not beyond_range(r_low, floor, upper, rho_max):
        return None
    columns = pair() if pair is not None else "a column of x and a column of y"
    if r > 1 - 1e-6:
        return (BEYOND_RANGE + f"{columns} have the same ranks: one may be a monotone function "
                "of the other, whose MI is infinite, and the model's estimate is only the largest it learned. A "
                f"model-free lower bound for any distribution: MI >= {floor / scale:.4f} {unit} (as if the ranks "
                "differed by one swap, the closest short of the same)")
    past = (f"the {rho_max:.4f} of the model's training data, so the MI may lie above the range the model "
            "learned, where its estimate and interval fall short")
    if r_low > rho_max:
        where = f"(at least {r_low:.4f}, {HIGH_MI_Z:g} or more standard errors below), above {past}"
    else:
        where = (f"(at least {r_low:.4f}, {HIGH_MI_Z:g} or more standard errors below), so the model's interval "
                 f"(0.95-quantile {upper / scale:.4f} {unit}) lies below the bound below")
    return (BEYOND_RANGE + f"the normal scores of {columns} correlate at {r:.4f} {where}. A "
            f"model-free lower bound for any distribution: MI >= {floor / scale:.4f} {unit} (-1/2 log(1 - r^2) at "
            f"the lower end of r's confidence interval)")
