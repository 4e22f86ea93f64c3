"""A side with few levels, dequantised, and its exact MI: what real data with ties look like.

X (n, dim_x) is standard normal; S = X b / |b| for a random direction b; Y1 = rho S +
sqrt(1 - rho^2) E. The level of Y1 between random thresholds is Q (``levels`` of them, their
shares Dirichlet(2)); half the time the levels are coded in a random order (class labels, whose
codes mean nothing: a bijection of the levels, MI unchanged). The discrete column is then Q + U,
U uniform on [0, 1) and independent of everything (dequantisation: Q + U gives back Q and U,
so the MI is I(X; Q) exactly), as :func:`mist.estimation.untied` and :mod:`mist.discrete` make
a tied column continuous before the model reads it. The side's other columns are independent
standard normal noise (MI unchanged). With ``swap`` the discrete side is X instead.

Since Y1 depends on X only through S, I(X; Q) = I(S; Q) = H(Q) - E_S[H(Q | S)], one integral
over S ~ N(0, 1) of the entropy of Q given S, with P(Q = k | S = s) = Phi((t_k+1 - rho s) /
sigma) - Phi((t_k - rho s) / sigma): :func:`quantised_gaussian_mi`, on a grid fine enough for
the narrowest conditional.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import ndtr, ndtri

#: Levels of the discrete column, drawn uniformly.
LEVELS = (2, 10)
#: The continuous pair's MI, -1/2 log(1 - rho^2), is drawn uniformly in this range (nats); the
#: levels cap what survives at log(levels).
PAIR_MI = (0.0, 3.0)


def _entropy(p: np.ndarray, axis: int = -1) -> np.ndarray:
    return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=axis)


def quantised_gaussian_mi(rho: float, thresholds) -> float:
    """I(S; Q) in nats for S ~ N(0, 1), Y1 = rho S + sqrt(1 - rho^2) E and Q the level of Y1
    between the increasing ``thresholds`` (levels = len(thresholds) + 1)."""
    t = np.concatenate([[-np.inf], np.asarray(thresholds, dtype=np.float64), [np.inf]])
    rho = float(rho)
    if not -1.0 < rho < 1.0:
        raise ValueError(f"rho must lie strictly between -1 and 1, got {rho}")
    if rho == 0.0:
        return 0.0
    sigma = np.sqrt(1.0 - rho**2)
    # P(Q | S = s) moves over s at the scale sigma / |rho|: 8 points there, at most 0.01 apart,
    # and at most 2 million points (|rho| < 1 - 1e-9; the sampler's rho stays below 0.9988)
    step = max(min(0.01, sigma / (8.0 * abs(rho))), 18.0 / 2e6)
    s = np.arange(-9.0, 9.0 + step / 2, step)
    weight = np.exp(-0.5 * s**2) / np.sqrt(2 * np.pi) * step
    weight /= weight.sum()
    cdf = ndtr((t[None, :] - rho * s[:, None]) / sigma)  # (grid, levels + 1)
    given = np.diff(cdf, axis=1)  # P(Q = k | S = s)
    marginal = weight @ given
    return float(max(_entropy(marginal) - weight @ _entropy(given), 0.0))


class QuantisedSample(NamedTuple):
    x: np.ndarray  # (n, dim_x)
    y: np.ndarray  # (n, dim_y); the discrete side's first column holds Q + U (x's with swap)
    mi: float  # nats
    levels: int
    coded_in_order: bool  # False: the levels' codes were permuted (class labels)
    swap: bool  # the discrete side is X
    direction: np.ndarray  # b / |b|: S is the continuous side times it
    rho: float
    thresholds: np.ndarray  # levels - 1, increasing


def sample_quantised(n: int, dim_x: int, dim_y: int, rng: np.random.Generator, *, swap: bool = False) -> QuantisedSample:
    """n rows with a dequantised discrete column on Y's side (X's with ``swap``), and the exact MI."""
    discrete_dim, other_dim = (dim_x, dim_y) if swap else (dim_y, dim_x)
    levels = int(rng.integers(LEVELS[0], LEVELS[1] + 1))
    shares = rng.dirichlet(np.full(levels, 2.0))
    thresholds = ndtri(np.clip(np.cumsum(shares)[:-1], 1e-12, 1 - 1e-12))
    pair_mi = rng.uniform(*PAIR_MI)
    rho = np.sqrt(-np.expm1(-2.0 * pair_mi)) * (1 if rng.random() < 0.5 else -1)
    other = rng.normal(size=(n, other_dim))
    b = rng.normal(size=other_dim)
    s = other @ (b / np.linalg.norm(b))
    y1 = rho * s + np.sqrt(1.0 - rho**2) * rng.normal(size=n)
    q = np.searchsorted(thresholds, y1)
    in_order = bool(rng.random() < 0.5)
    codes = q if in_order else rng.permutation(levels)[q]
    side = np.column_stack([codes + rng.random(n), rng.normal(size=(n, discrete_dim - 1))])
    mi = quantised_gaussian_mi(rho, thresholds)
    x, y = (side, other) if swap else (other, side)
    return QuantisedSample(x, y, mi, levels, in_order, swap, b / np.linalg.norm(b), float(rho), thresholds)


def sample_quantised_batch(count: int, n: int, dim_x: int, dim_y: int, rng: np.random.Generator):
    """``count`` datasets of one shape, the discrete side X or Y at even odds: x (count, n,
    dim_x), y (count, n, dim_y), mi (count,)."""
    samples = [sample_quantised(n, dim_x, dim_y, rng, swap=bool(rng.random() < 0.5)) for _ in range(count)]
    return (np.stack([d.x for d in samples]), np.stack([d.y for d in samples]), np.array([d.mi for d in samples]))


__all__ = ["LEVELS", "PAIR_MI", "quantised_gaussian_mi", "QuantisedSample", "sample_quantised", "sample_quantised_batch"]
