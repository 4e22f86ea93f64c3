"""Distributions outside every training base, with known MI, to measure generalisation honestly.

The training families are Gaussian, Student-t and additive-noise bases under per-coordinate
increasing maps, which the model's per-column rank transform undoes exactly. These are not:

- ``rotate``: a random orthogonal map of X and one of Y, applied to any training family's
  samples. MI is unchanged (a bijection of each side), but the coordinates are mixed, so the
  per-column copula is new (for additive noise and Student-t data, a different shape).
- ``flip_middle``: t -> -t where |t| < 1, t elsewhere, per coordinate. A bijection that is not
  monotone, so ranks do not undo it; MI is unchanged.
- ``sample_gaussian_mixture``: a mixture of Gaussians in the joint (X, Y) space: multimodal and
  not elliptical. MI has no closed form; it is the Monte-Carlo mean of
  log p(x, y) - log p(x) - log p(y) over fresh samples, with its standard error.
- ``noisy_function_mi``: Y = f(X) + noise for X ~ N(0, 1) and any f, such as x^2, sin 3x or |x|:
  dependence that is not monotone, with MI by quadrature.

Plain NumPy and SciPy (not the torch training sampler), so no code is shared with training.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, special_ortho_group


def random_rotation(dim: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random rotation of R^dim, (dim, dim); the identity for dim = 1."""
    if dim == 1:
        return np.ones((1, 1))
    return special_ortho_group.rvs(dim, random_state=rng)


def rotate(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """x (n, dx) @ Qx, y (n, dy) @ Qy with random rotations: I(X; Y) unchanged."""
    return x @ random_rotation(x.shape[1], rng), y @ random_rotation(y.shape[1], rng)


def flip_middle(t: np.ndarray, width: float = 1.0) -> np.ndarray:
    """t -> -t where |t| < width, t elsewhere: a non-monotone bijection (its own inverse)."""
    return np.where(np.abs(t) < width, -t, t)


class MixtureSample(NamedTuple):
    x: np.ndarray  # (n, dim_x)
    y: np.ndarray  # (n, dim_y)
    mi: float  # nats, Monte-Carlo estimate of the exact MI
    mi_standard_error: float


def _random_covariance(dim: int, rng: np.random.Generator) -> np.ndarray:
    """A random covariance with unit-order eigenvalues: Wishart-like, well conditioned."""
    a = rng.normal(size=(dim, 2 * dim)) / np.sqrt(2 * dim)
    return a @ a.T + 0.1 * np.eye(dim)


def sample_random_gaussian(n: int, dim_x: int, dim_y: int, rng: np.random.Generator) -> MixtureSample:
    """n rows of one Gaussian over (X, Y) with a random covariance (``_random_covariance``: every
    column correlated with every other, within a side too, with random signs), and its exact MI
    (``mi_standard_error`` 0). No training family has such a covariance: the paper's structures
    have equal correlations (dense), isolated pairs (sparse, 2pair) or one latent (lvm)."""
    d = dim_x + dim_y
    cov = _random_covariance(d, rng)
    logdet = lambda m: np.linalg.slogdet(m)[1]  # noqa: E731
    mi = 0.5 * (logdet(cov[:dim_x, :dim_x]) + logdet(cov[dim_x:, dim_x:]) - logdet(cov))
    data = rng.multivariate_normal(np.zeros(d), cov, size=n)
    return MixtureSample(data[:, :dim_x], data[:, dim_x:], float(mi), 0.0)


def sample_gaussian_mixture(n: int, dim_x: int, dim_y: int, rng: np.random.Generator, *, components: int = 3,
                            separation: float = 2.0, mc_samples: int = 50_000) -> MixtureSample:
    """n rows from a random mixture of ``components`` Gaussians over (X, Y), and its MI.

    Means ~ N(0, separation^2 I), covariances random (see ``_random_covariance``), weights
    ~ Dirichlet(2). MI = E[log p(x, y) - log p(x) - log p(y)], averaged over ``mc_samples``
    fresh draws (marginal densities are the mixtures of the components' marginals).
    """
    d = dim_x + dim_y
    weights = rng.dirichlet(np.full(components, 2.0))
    means = separation * rng.normal(size=(components, d))
    covs = [_random_covariance(d, rng) for _ in range(components)]

    def draw(count: int) -> np.ndarray:
        labels = rng.choice(components, size=count, p=weights)
        out = np.empty((count, d))
        for k in range(components):
            rows = labels == k
            out[rows] = rng.multivariate_normal(means[k], covs[k], size=int(rows.sum()))
        return out

    def log_density(z: np.ndarray, cols: slice) -> np.ndarray:
        parts = [np.log(weights[k]) + multivariate_normal(means[k][cols], covs[k][cols, cols]).logpdf(z[:, cols])
                 for k in range(components)]
        return logsumexp(np.stack(parts).reshape(components, -1), axis=0)

    data = draw(n)
    mc = draw(mc_samples)
    ratio = log_density(mc, slice(0, d)) - log_density(mc, slice(0, dim_x)) - log_density(mc, slice(dim_x, d))
    return MixtureSample(data[:, :dim_x], data[:, dim_x:], float(ratio.mean()),
                         float(ratio.std(ddof=1) / np.sqrt(mc_samples)))


def noisy_function_mi(f, noise_sd: float, *, points: int = 4001) -> float:
    """I(X; Y) in nats for X ~ N(0, 1) and Y = f(X) + noise_sd * N(0, 1), with f vectorised.

    I = h(Y) - h(noise), h(noise) = 1/2 log(2 pi e noise_sd^2); the density of Y, a Gaussian
    blur of f's image, is summed over ``points`` values of X on [-9, 9] (normal weights,
    renormalised) and h(Y) integrated on a grid of as many values reaching 9 noise_sd past f's
    range. For f(x) = a x it agrees with 1/2 log(1 + a^2 / noise_sd^2) to 1e-6
    (tests/distributions/test_beyond.py); f must be smooth on the scale of noise_sd / 4 for
    the same accuracy.

    >>> round(noisy_function_mi(np.square, 0.3), 4)
    1.141
    """
    if not noise_sd > 0:
        raise ValueError(f"`noise_sd` must be positive, got {noise_sd!r}.")
    x = np.linspace(-9.0, 9.0, points)
    weights = np.exp(-0.5 * x * x)
    weights /= weights.sum()
    fx = np.asarray(f(x), dtype=float)
    y = np.linspace(fx.min() - 9 * noise_sd, fx.max() + 9 * noise_sd, points)
    density = np.zeros(points)
    for start in range(0, points, 512):  # (512, points) blocks: bounded memory
        z = (y[None, :] - fx[start:start + 512, None]) / noise_sd
        density += weights[start:start + 512] @ np.exp(-0.5 * z * z)
    density /= noise_sd * np.sqrt(2 * np.pi)
    h_y = -np.sum(density * np.log(np.maximum(density, 1e-300))) * (y[1] - y[0])
    return float(h_y - 0.5 * np.log(2 * np.pi * np.e * noise_sd**2))


__all__ = ["random_rotation", "rotate", "flip_middle", "MixtureSample", "sample_gaussian_mixture", "noisy_function_mi"]
