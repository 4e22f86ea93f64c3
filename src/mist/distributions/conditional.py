"""Triples (X, Y, Z) with exact conditional mutual information I(X;Y|Z), in nats.

Every family is linear-Gaussian (or its Student-t scale mixture) in independent standard
normal sources, so the covariance of (X, Y, Z) is known and

    I(X;Y|Z) = 1/2 (logdet S_XZ + logdet S_YZ - logdet S_Z - logdet S)

(the chain rule I(X;Y,Z) - I(X;Z) with the Gaussian MI formula). A multivariate Student-t with
the same dispersion and nu degrees of freedom adds c(nu, dx, dy + dz) - c(nu, dx, dz), with c the
Student-t correction of :func:`mist.distributions.exact.student_t_correction` (marginals of a
multivariate t are t with the same nu). Strictly increasing maps of single columns leave CMI
unchanged, so the transforms of the paper's families apply as they are.

Structures (``STRUCTURES``):

- ``common``: Z drives X and Y, and a shared latent U (strength s, possibly 0) adds dependence
  between X and Y that Z does not explain. At s = 0, X and Y are independent given Z.
- ``collider``: X and Y independent, Z a noisy sum of parts of both: conditioning on Z makes them
  dependent (I(X;Y) = 0 < I(X;Y|Z)), the case a chain rule of two marginal estimates must get
  right by difference.
- ``chain``: X -> Z -> Y (Y depends on X only through Z): CMI 0 while I(X;Y) > 0.

Splits: ``"train"`` (the calibration of mist's conditional interval is fitted on these)
draws Gaussian ``common`` triples under the ``base`` and ``asinh`` transforms; ``"heldout"``
(what the figures are reported on) draws Student-t ``common`` triples, the ``collider`` and
``chain`` structures, and the ``halfcube`` and ``wigglify`` transforms, never seen in fitting.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from mist.distributions.exact import student_t_correction
from mist.distributions.transforms import apply_transform

STRUCTURES = ("common", "collider", "chain")
SPLITS = {
    "train": {"bases": ("normal",), "structures": ("common",), "transforms": ("base", "asinh")},
    "heldout": {"bases": ("normal", "student"), "structures": ("common", "collider", "chain"),
                "transforms": ("halfcube", "wigglify")},
}


class ConditionalDataset(NamedTuple):
    x: np.ndarray  # (n, dim_x)
    y: np.ndarray  # (n, dim_y)
    z: np.ndarray  # (n, dim_z)
    cmi: float  # I(X;Y|Z), nats
    family: str  # "<base>-<structure>-<transform>"


def _logdet(m: np.ndarray) -> float:
    sign, value = np.linalg.slogdet(m)
    if sign <= 0:
        raise ValueError("covariance is not positive definite")
    return float(value)


def gaussian_cmi(covariance: np.ndarray, dim_x: int, dim_y: int) -> float:
    """I(X;Y|Z) of a Gaussian whose coordinates are ordered X, Y, Z (Z may be empty), in nats."""
    s = np.asarray(covariance, dtype=np.float64)
    xs, ys = np.arange(dim_x), np.arange(dim_x, dim_x + dim_y)
    zs = np.arange(dim_x + dim_y, s.shape[0])

    def ld(index):
        return _logdet(s[np.ix_(index, index)]) if len(index) else 0.0

    return 0.5 * (ld(np.r_[xs, zs]) + ld(np.r_[ys, zs]) - ld(zs) - ld(np.arange(s.shape[0])))


def student_cmi(covariance: np.ndarray, dim_x: int, dim_y: int, df: float) -> float:
    """I(X;Y|Z) of a multivariate Student-t with dispersion ``covariance`` (X, Y, Z order)."""
    dim_z = covariance.shape[0] - dim_x - dim_y
    nu = torch.tensor(float(df), dtype=torch.float64)
    extra = student_t_correction(nu, dim_x, dim_y + dim_z) - student_t_correction(nu, dim_x, dim_z)
    return gaussian_cmi(covariance, dim_x, dim_y) + float(extra)


def mixing_matrix(structure: str, dim_x: int, dim_y: int, dim_z: int, rng: np.random.Generator) -> np.ndarray:
    """W (dx + dy + dz, sources): (X, Y, Z) = W g with g standard normal, unit noise per column."""
    d = dim_x + dim_y + dim_z
    x, y, z = slice(0, dim_x), slice(dim_x, dim_x + dim_y), slice(dim_x + dim_y, d)
    if structure == "common":
        k = int(rng.integers(1, min(dim_x, dim_y) + 1))
        strength = 0.0 if rng.random() < 0.25 else rng.uniform(0.0, 1.5)
        w = np.zeros((d, dim_z + k + d))
        w[z, :dim_z] = rng.normal(size=(dim_z, dim_z)) * rng.uniform(0.2, 1.0)  # correlated Z
        drive = rng.uniform(0.0, 1.5)
        w[x, :dim_z] = drive * rng.normal(size=(dim_x, dim_z)) / np.sqrt(dim_z)
        w[y, :dim_z] = drive * rng.normal(size=(dim_y, dim_z)) / np.sqrt(dim_z)
        w[x, dim_z:dim_z + k] = strength * rng.normal(size=(dim_x, k))
        w[y, dim_z:dim_z + k] = strength * rng.normal(size=(dim_y, k))
        w[:, dim_z + k:] = np.eye(d)
        return w
    if structure == "collider":
        # X and Y from their own sources; each Z column sums random parts of both, plus noise
        w = np.zeros((d, d + dim_z))
        w[x, :dim_x] = np.eye(dim_x)
        w[y, dim_x:dim_x + dim_y] = np.eye(dim_y)
        w[z, :dim_x] = rng.normal(size=(dim_z, dim_x)) * rng.uniform(0.3, 1.5)
        w[z, dim_x:dim_x + dim_y] = rng.normal(size=(dim_z, dim_y)) * rng.uniform(0.3, 1.5)
        w[z, d:] = np.eye(dim_z) * rng.uniform(0.2, 1.0)
        return w
    if structure == "chain":
        # X from its sources, Z = A X + noise, Y = B Z + noise: X and Y independent given Z
        a = rng.normal(size=(dim_z, dim_x)) * rng.uniform(0.3, 1.5)
        b = rng.normal(size=(dim_y, dim_z)) * rng.uniform(0.3, 1.5) / np.sqrt(dim_z)
        w = np.zeros((d, dim_x + dim_z + dim_y))
        w[x, :dim_x] = np.eye(dim_x)
        w[z, :dim_x] = a
        w[z, dim_x:dim_x + dim_z] = np.eye(dim_z)
        w[y] = b @ w[z]
        w[y, dim_x + dim_z:] = np.eye(dim_y)
        return w
    raise ValueError(f"unknown structure {structure!r}")


def sample_conditional(n: int, dim_x: int, dim_y: int, dim_z: int, rng: np.random.Generator, *,
                       split: str = "train", base: str | None = None, structure: str | None = None,
                       transform: str | None = None) -> ConditionalDataset:
    """One (X, Y, Z) triple of ``n`` rows from ``split``'s families (or the ones named)."""
    spec = SPLITS[split]
    base = base or spec["bases"][rng.integers(len(spec["bases"]))]
    structure = structure or spec["structures"][rng.integers(len(spec["structures"]))]
    transform = transform or spec["transforms"][rng.integers(len(spec["transforms"]))]
    w = mixing_matrix(structure, dim_x, dim_y, dim_z, rng)
    covariance = w @ w.T
    sample = rng.normal(size=(n, w.shape[1])) @ w.T
    if base == "student":
        df = rng.uniform(1.0, 10.0)
        sample = sample / np.sqrt(rng.chisquare(df, size=(n, 1)) / df)
        cmi = student_cmi(covariance, dim_x, dim_y, df)
    else:
        cmi = gaussian_cmi(covariance, dim_x, dim_y)
    sample = sample / np.sqrt(np.diag(covariance))  # unit scale: the transforms bend where the data are
    xz, yz = apply_transform(transform, torch.from_numpy(sample[:, np.r_[0:dim_x, dim_x + dim_y:sample.shape[1]]]),
                             torch.from_numpy(sample[:, dim_x:dim_x + dim_y]))
    xz, y = xz.numpy(), yz.numpy()
    return ConditionalDataset(xz[:, :dim_x], y, xz[:, dim_x:], max(cmi, 0.0), f"{base}-{structure}-{transform}")
