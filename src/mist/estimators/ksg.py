"""The Kraskov-Stoegbauer-Grassberger estimator (KSG-1) with max-norm neighbourhoods.

I(X;Y) = psi(k) + psi(n) - < psi(n_x + 1) + psi(n_y + 1) >, where eps_i is the distance from
row i to its k-th nearest neighbour in the joint space (max-norm) and n_x(i) counts the other
rows strictly closer than eps_i in X (likewise n_y). Reference: Kraskov, Stoegbauer and
Grassberger, "Estimating mutual information", Phys. Rev. E 69, 066138 (2004).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist
from scipy.special import digamma, ndtri

from mist._validation import as_samples, check_choice, check_xy, check_xyz
from mist.errors import MistError
from mist.estimators.base import Estimator, standardize

ALGORITHMS = ("auto", "kdtree", "dense")
# Above this joint dimension k-d trees lose to blocked all-pairs distances (benchmarks/ksg_speed.py).
KDTREE_MAX_JOINT_DIM = 6
_BLOCK_CELLS = 4_000_000  # rows x n cells per block of the dense path (memory bound)


def _count_1d(values: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """For each i, the number of j != i with |v_j - v_i| < radius_i (sorted array + searchsorted).

    ``radius`` must already be shrunk below the k-th neighbour distance (see ``_strict``).
    """
    s = np.sort(values)
    upper = np.searchsorted(s, values + radius, side="left")
    lower = np.searchsorted(s, values - radius, side="right")
    return upper - lower - 1


def _count_tree(points: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """For each i, the number of j != i with ||p_j - p_i||_inf < radius_i."""
    if points.shape[1] == 1:
        return _count_1d(points[:, 0], radius)
    tree = cKDTree(points)
    return tree.query_ball_point(points, r=radius, p=np.inf, return_length=True) - 1


def _no_ties(counts: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """Where the k-th neighbour is a duplicate (eps = 0) no row is strictly closer: count 0."""
    return np.where(eps > 0, counts, 0)


def _strict(eps: np.ndarray) -> np.ndarray:
    """A radius just below eps, so "<= r" counts "< eps".

    The k-th neighbour lies at exactly eps in one marginal; a relative margin (not one ulp)
    keeps it out even after the rounding of v_i +- r in the sorted-array search.
    """
    return eps * (1.0 - 1e-10)


def _ksg_kdtree(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    joint = np.hstack([x, y])
    dist, _ = cKDTree(joint).query(joint, k=[k + 1], p=np.inf)
    eps = dist[:, 0]
    r = _strict(eps)
    return _no_ties(_count_tree(x, r), eps), _no_ties(_count_tree(y, r), eps)


def _ksg_dense(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """All-pairs Chebyshev distances in row blocks (C loops in cdist); fast in high dimension."""
    n = x.shape[0]
    nx = np.empty(n, dtype=np.int64)
    ny = np.empty(n, dtype=np.int64)
    block = max(1, _BLOCK_CELLS // n)
    for start in range(0, n, block):
        stop = min(n, start + block)
        dx = cdist(x[start:stop], x, "chebyshev")
        dy = cdist(y[start:stop], y, "chebyshev")
        joint = np.maximum(dx, dy)
        # position k in sorted order: index 0 is the row itself (distance 0)
        eps = np.partition(joint, k, axis=1)[:, k]
        nx[start:stop] = _no_ties((dx < eps[:, None]).sum(axis=1) - 1, eps)
        ny[start:stop] = _no_ties((dy < eps[:, None]).sum(axis=1) - 1, eps)
    return nx, ny


class KSG(Estimator):
    """KSG estimator (algorithm 1 of Kraskov et al., 2004), in nats.

    Parameters
    ----------
    k : int, default 5
        Number of neighbours; smaller k has less bias and more variance.
    standardize : bool, default True
        Scale every column to unit variance first (the max-norm mixes columns).
    algorithm : {"auto", "kdtree", "dense"}, default "auto"
        Neighbour search: k-d trees (fast in low dimension) or blocked all-pairs distances
        (fast in high dimension). "auto" picks by the joint dimension dx + dy.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2000, 1)); y = 0.75 * x + np.sqrt(1 - 0.75**2) * rng.normal(size=(2000, 1))
    >>> round(KSG(k=5).estimate(x, y), 1)  # exact: 0.4133
    0.4
    """

    name = "ksg"

    def __init__(self, k: int = 5, standardize: bool = True, algorithm: str = "auto"):
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise MistError(f"`k` must be a positive integer, got {k!r}.")
        self.k = int(k)
        self.standardize = bool(standardize)
        self.algorithm = check_choice(algorithm, "algorithm", ALGORITHMS)

    @property
    def min_samples(self) -> int:  # k neighbours besides the row itself
        return max(3, self.k + 1)

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        if self.standardize:
            x, y = standardize(x), standardize(y)
        algorithm = self.algorithm
        if algorithm == "auto":
            algorithm = "kdtree" if x.shape[1] + y.shape[1] <= KDTREE_MAX_JOINT_DIM else "dense"
        counts = _ksg_kdtree if algorithm == "kdtree" else _ksg_dense
        nx, ny = counts(x, y, self.k)
        n = x.shape[0]
        return float(digamma(self.k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1)))


#: Random halves of the rows behind :func:`ksg_interval`.
HALF_SAMPLES = 10
#: How much the bias correction is trusted: its own uncertainty is taken as this many times its
#: size. 2 is the smallest of 1, 1.5, 2, 2.5 and 3 whose 90% interval held the true MI at least
#: 90% of the time on fresh training-family data (1-2 columns a side, n = 100-1,000, on normal
#: scores, 1,100 datasets: 0.844, 0.892, 0.919, 0.938, 0.951; ``python
#: benchmarks/ksg_interval.py --seed 31 --datasets 1100``).
CORRECTION_WEIGHT = 2.0


class KSGInterval(NamedTuple):
    """KSG on all rows, with a bias correction and a spread from estimates on halves (nats)."""

    estimate: float  # KSG on all rows
    corrected: float  # estimate + correction, at least 0
    correction: float  # estimate - the halves' mean: minus the estimated bias of ``estimate``
    halves_sd: float  # the halves' standard deviation: the standard error of ``estimate``

    def spread(self, weight: float = CORRECTION_WEIGHT) -> float:
        """The corrected estimate's standard error: sqrt(halves_sd^2 + (weight * correction)^2)."""
        return float(np.hypot(self.halves_sd, weight * self.correction))

    def quantiles(self, taus, weight: float = CORRECTION_WEIGHT) -> np.ndarray:
        """corrected + Phi^-1(tau) * spread for each tau in (0, 1), clipped at 0 (MI >= 0)."""
        return np.maximum(self.corrected + ndtri(np.asarray(taus, dtype=float)) * self.spread(weight), 0.0)


def row_hashes(rows: np.ndarray, seeds: int) -> np.ndarray:
    """(seeds, n) numbers uniform in [0, 1), each a function of one row's values as a multiset
    (splitmix64 of their sorted bits): equal for rows holding the same values in any order."""
    mixed = np.zeros(rows.shape[0], dtype=np.uint64)
    for bits in (np.sort(rows, axis=1) + 0.0).view(np.uint64).T:  # + 0.0: -0.0 hashes as 0.0
        mixed = _splitmix64(mixed ^ bits)
    salts = _splitmix64(np.arange(1, seeds + 1, dtype=np.uint64))
    return (_splitmix64(mixed[None, :] ^ salts[:, None]) >> np.uint64(11)) / float(2**53)


def _splitmix64(z: np.ndarray) -> np.ndarray:
    z = z + np.uint64(0x9E3779B97F4A7C15)  # uint64 arrays wrap around, as the mixer needs
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def ksg_interval(x, y, *, k: int = 5, half_samples: int = HALF_SAMPLES) -> KSGInterval:
    """KSG's estimate with a bias correction and a standard error, from KSG on random halves.

    KSG's bias shrinks roughly like 1/n, so the mean of estimates on halves of the rows minus the
    estimate on all rows is about the latter's bias (Richardson extrapolation: corrected =
    2 * estimate - halves' mean). The variance of the halves' estimates (rows drawn without
    replacement) estimates the full estimate's variance (the delete-d jackknife with d = n / 2,
    whose factor (n - d) / d is 1). The 1/n rate is an assumption (KSG's bias at high MI and in
    more dimensions shrinks more slowly), so the spread adds ``CORRECTION_WEIGHT`` times the
    correction's size: spread^2 = halves_sd^2 + (2 * correction)^2. Where ``mist.estimate``
    answers with KSG (``model="ksg"``), benchmarks/ksg_interval.py measures how often the
    interval held the truth.

    Half j holds the n // 2 rows with the lowest j-th hash of their values (taken as a
    multiset), not rows picked by position, so the result depends neither on the input's row
    order nor on the order of the columns or of x and y (for continuous data: rows holding the
    same values in another order hash alike, and their input order then decides).

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(500, 1)); y = x**2 + 0.3 * rng.normal(size=(500, 1))
    >>> r = ksg_interval(x, y)  # exact: 1.141 (mist.distributions.beyond.noisy_function_mi)
    >>> round(r.estimate, 3), round(r.corrected, 3), round(r.spread(), 3)
    (1.077, 1.175, 0.21)
    """
    if not isinstance(half_samples, (int, np.integer)) or isinstance(half_samples, bool) or half_samples < 2:
        raise MistError(f"`half_samples` must be an integer >= 2, got {half_samples!r}.")
    estimator = KSG(k=k)
    x, y = check_xy(x, y, min_samples=4 * estimator.min_samples)
    full = estimator.estimate(x, y)
    order = np.argsort(row_hashes(np.hstack([x, y]), half_samples), axis=1, kind="stable")
    halves = np.array([estimator.estimate(x[rows], y[rows]) for rows in np.sort(order[:, :x.shape[0] // 2], axis=1)])
    correction = float(full - halves.mean())
    return KSGInterval(full, max(full + correction, 0.0), correction, float(halves.std(ddof=1)))


def frenzel_pompe(x, y, z, *, k: int = 5) -> float:
    """Conditional MI I(X;Y|Z) by the KSG-type estimator of Frenzel and Pompe (2007), in nats.

    I(X;Y|Z) = psi(k) - < psi(n_xz + 1) + psi(n_yz + 1) - psi(n_z + 1) >, where eps_i is the
    distance from row i to its k-th nearest neighbour in the joint (X, Y, Z) space (max-norm,
    columns standardised) and n_xz(i) counts the other rows strictly closer than eps_i in (X, Z)
    (likewise n_yz, n_z). Reference: Frenzel and Pompe, "Partial mutual information for coupling
    analysis of multivariate time series", Phys. Rev. Lett. 99, 204101 (2007).
    """
    estimator = KSG(k=k)
    x, y, z = check_xyz(x, y, z, min_samples=estimator.min_samples)
    x, y, z = (standardize(a[:, a.std(axis=0) > 0]) for a in (x, y, z))
    n = x.shape[0]
    counts = np.empty((3, n), dtype=np.int64)
    block = max(1, _BLOCK_CELLS // n)
    for start in range(0, n, block):
        stop = min(n, start + block)
        dx, dy, dz = (cdist(a[start:stop], a, "chebyshev") if a.shape[1] else np.zeros((stop - start, n))
                      for a in (x, y, z))
        dxz, dyz = np.maximum(dx, dz), np.maximum(dy, dz)
        eps = np.partition(np.maximum(dxz, dy), k, axis=1)[:, k][:, None]  # index 0: the row itself
        for row, d in enumerate((dxz, dyz, dz)):
            counts[row, start:stop] = _no_ties((d < eps).sum(axis=1) - 1, eps[:, 0])
    return float(digamma(k) - np.mean(digamma(counts[0] + 1) + digamma(counts[1] + 1) - digamma(counts[2] + 1)))


def ross_mi(x, labels, *, k: int = 3) -> float:
    """MI between continuous ``x`` (n, d) and class ``labels`` (n,) by Ross's kNN estimator, in nats.

    I = psi(n) - < psi(n_c) > + psi(k) - < psi(m_i) >, where row i of class c (n_c rows) has its
    k-th nearest neighbour of the same class at distance d_i (max-norm, columns standardised)
    and m_i rows of any class lie strictly closer than d_i, itself included. Rows of a class
    with one row are left out. What scikit-learn's ``mutual_info_classif`` computes per feature
    (k = 3 there), for any number of columns. Reference: B. C. Ross, "Mutual information
    between discrete and continuous data sets", PLoS ONE 9, e87357 (2014).
    """
    x = as_samples(x, "x")
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(x):
        raise MistError(f"`x` and `labels` must have the same number of samples (rows), got {len(x)} and {len(labels)}.")
    _, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    codes = codes.reshape(-1)
    keep = counts[codes] > 1
    x, codes = standardize(x[keep][:, x[keep].std(axis=0) > 0]), codes[keep]
    n = len(codes)
    radius = np.empty(n)
    k_used = np.empty(n)
    for c in np.unique(codes):
        rows = np.flatnonzero(codes == c)
        kc = min(k, len(rows) - 1)
        dist, _ = cKDTree(x[rows]).query(x[rows], k=[kc + 1], p=np.inf)
        radius[rows], k_used[rows] = dist[:, 0], kc
    m = _count_tree(x, _strict(radius)) + 1  # _count_tree leaves the row itself out
    return float(max(0.0, digamma(n) - np.mean(digamma(counts[codes])) + np.mean(digamma(k_used)) - np.mean(digamma(m))))

