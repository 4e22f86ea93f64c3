"""Data with a discrete side and known MI: a class label with continuous features, or two labels.

- :func:`sample_class_conditional`: Y a class label with random shares (Dirichlet(2)), X given
  Y = k Gaussian (or Student-t) with a random mean and covariance per class. The MI,
  E[log p(x | y) - log p(x)], has no closed form; it is a Monte-Carlo average over
  ``mc_samples`` fresh draws, with its standard error.
- :func:`sample_label_pair`: two labels from a random joint table (Dirichlet with a small
  concentration: most tables are far from independence); the MI of the table is exact.

The per-column transforms of the paper's families (strictly increasing: MI unchanged) apply to X.
No learned model has been trained on data with a discrete side; every family here is held out.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, multivariate_t

from mist.distributions.transforms import TRANSFORMS, apply_transform


class LabelledSample(NamedTuple):
    x: np.ndarray  # (n, dim_x) continuous features, or (n,) labels for sample_label_pair
    y: np.ndarray  # (n,) labels 0..K-1
    mi: float  # nats
    mi_standard_error: float  # 0 where exact
    family: str


def _random_covariance(dim: int, rng: np.random.Generator) -> np.ndarray:
    a = rng.normal(size=(dim, 2 * dim)) / np.sqrt(2 * dim)
    return a @ a.T + 0.1 * np.eye(dim)


def sample_class_conditional(n: int, dim_x: int, classes: int, rng: np.random.Generator, *, base: str = "normal",
                             transform: str = "base", separation: float | None = None,
                             mc_samples: int = 40_000) -> LabelledSample:
    """n rows (X, Y) with Y uniform-ish over ``classes`` and X | Y = k from class k's Gaussian
    (``base="student"``: multivariate t, df uniform in 2..10), its means N(0, separation^2 I)
    (separation uniform in 0.2..2 unless given)."""
    if transform not in TRANSFORMS:
        raise ValueError(f"unknown transform {transform!r}")
    separation = rng.uniform(0.2, 2.0) if separation is None else separation
    shares = rng.dirichlet(np.full(classes, 2.0))
    means = separation * rng.normal(size=(classes, dim_x))
    covs = [_random_covariance(dim_x, rng) for _ in range(classes)]
    df = rng.uniform(2.0, 10.0)
    parts = [multivariate_t(means[k], covs[k], df=df) if base == "student" else multivariate_normal(means[k], covs[k])
             for k in range(classes)]

    def draw(count: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.choice(classes, size=count, p=shares)
        x = np.empty((count, dim_x))
        for k in range(classes):
            rows = labels == k
            if rows.any():
                x[rows] = np.asarray(parts[k].rvs(size=int(rows.sum()), random_state=rng)).reshape(-1, dim_x)
        return x, labels

    x, y = draw(n)
    mc_x, mc_y = draw(mc_samples)
    log_class = np.stack([parts[k].logpdf(mc_x).reshape(-1) for k in range(classes)])  # (K, m)
    ratio = log_class[mc_y, np.arange(mc_samples)] - logsumexp(log_class + np.log(shares)[:, None], axis=0)
    x = apply_transform(transform, torch.from_numpy(x), torch.zeros(1))[0].numpy()
    return LabelledSample(x, y, float(ratio.mean()), float(ratio.std(ddof=1) / np.sqrt(mc_samples)),
                          f"classes-{base}-{transform}")


def table_mi(table: np.ndarray) -> float:
    """MI (nats) of a joint probability table p(x, y): sum p log p / (p(x) p(y))."""
    p = np.asarray(table, dtype=np.float64)
    p = p / p.sum()
    outer = p.sum(1, keepdims=True) * p.sum(0, keepdims=True)
    mask = p > 0
    return float((p[mask] * np.log(p[mask] / outer[mask])).sum())


def sample_label_pair(n: int, classes_x: int, classes_y: int, rng: np.random.Generator) -> LabelledSample:
    """n rows of two labels drawn from a random joint table (Dirichlet, concentration
    log-uniform in 0.05..2), and the table's exact MI."""
    concentration = float(np.exp(rng.uniform(np.log(0.05), np.log(2.0))))
    table = rng.dirichlet(np.full(classes_x * classes_y, concentration)).reshape(classes_x, classes_y)
    cells = rng.choice(classes_x * classes_y, size=n, p=table.reshape(-1))
    return LabelledSample(cells // classes_y, cells % classes_y, table_mi(table), 0.0, "label-pair")
