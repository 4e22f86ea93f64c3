"""Gaussian mutual information from canonical correlations (CCA), raw or on a Gaussian copula.

For a Gaussian, I(X;Y) = -1/2 sum_i log(1 - r_i^2) over the canonical correlations r_i.
The covariance is shrunk towards its diagonal (Ledoit-Wolf) so the estimate stays finite when n
is close to or below dx + dy, where sample canonical correlations reach 1.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from mist.errors import MistError
from mist.estimators.base import Estimator, standardize

_MAX_R = 1.0 - 1e-12


def ledoit_wolf_shrinkage(z: np.ndarray) -> float:
    """Ledoit-Wolf (2004) shrinkage intensity towards the identity for standardised data z (n, d)."""
    n, d = z.shape
    s = z.T @ z / n
    target = np.trace(s) / d
    delta = np.sum((s - target * np.eye(d)) ** 2) / d
    # (1/n^2) sum_k ||z_k z_k^T - S||_F^2 / d, using sum_k z_k^T S z_k = n ||S||_F^2
    beta = (np.sum(np.sum(z * z, axis=1) ** 2) / n - np.sum(s * s)) / (n * d)
    beta = min(beta, delta)
    return float(np.clip(beta / delta if delta > 0 else 1.0, 0.0, 1.0))


def canonical_correlations(x: np.ndarray, y: np.ndarray, shrinkage: float | str = "ledoit-wolf") -> np.ndarray:
    """Canonical correlations between the columns of x (n, dx) and y (n, dy), from largest down."""
    dx = x.shape[1]
    z = np.hstack([standardize(x), standardize(y)])
    n = z.shape[0]
    lam = ledoit_wolf_shrinkage(z) if shrinkage == "ledoit-wolf" else float(shrinkage)
    c = (1 - lam) * (z.T @ z / n) + lam * np.eye(z.shape[1])
    sxx, syy, sxy = c[:dx, :dx], c[dx:, dx:], c[:dx, dx:]
    lx = np.linalg.cholesky(sxx)
    ly = np.linalg.cholesky(syy)
    # whitened cross-covariance Lx^-1 Sxy Ly^-T; its singular values are the canonical correlations
    m = np.linalg.solve(lx, np.linalg.solve(ly, sxy.T).T)
    return np.clip(np.linalg.svd(m, compute_uv=False), 0.0, _MAX_R)


def gaussian_mi_from_correlations(r: np.ndarray) -> float:
    """-1/2 sum log(1 - r^2), in nats."""
    return float(-0.5 * np.sum(np.log1p(-(r * r))))


def normal_scores(a: np.ndarray) -> np.ndarray:
    """Per-column normal scores Phi^-1((rank + 1/2) / n), ranks from 0, ties averaged: the model's
    rule (:mod:`mist.model.ranks`), in float64."""
    from scipy.stats import rankdata  # here: importing scipy.stats costs ~2 s on a small machine

    n = a.shape[0]
    return ndtri((rankdata(a, axis=0) - 0.5) / n)


class CCA(Estimator):
    """Gaussian MI from canonical correlations of the raw data, in nats.

    Exact (as n grows) for jointly Gaussian data; biased for anything else.

    Parameters
    ----------
    shrinkage : "ledoit-wolf" or float in [0, 1], default "ledoit-wolf"
        Shrinkage of the joint correlation matrix towards the identity.
    """

    name = "cca"

    def __init__(self, shrinkage: float | str = "ledoit-wolf"):
        if shrinkage != "ledoit-wolf" and not (isinstance(shrinkage, (int, float)) and 0 <= shrinkage <= 1):
            raise MistError(f"`shrinkage` must be 'ledoit-wolf' or a number in [0, 1], got {shrinkage!r}.")
        self.shrinkage = shrinkage

    def _transform(self, a: np.ndarray) -> np.ndarray:
        return a

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        r = canonical_correlations(self._transform(x), self._transform(y), self.shrinkage)
        return gaussian_mi_from_correlations(r)


class GaussianCopulaCCA(CCA):
    """CCA after a per-column rank -> normal-score transform, in nats.

    Invariant to any strictly increasing per-column map, hence exact (as n grows) for every
    Gaussian family under the asinh, half-cube and wiggly transforms.
    """

    name = "copula-cca"

    def _transform(self, a: np.ndarray) -> np.ndarray:
        return normal_scores(a)
