"""Closed-form mutual information of the base families, in nats, computed in float64.

References: the covariance formula for Gaussians; Arellano-Valle et al. (2013) for the
Student-t correction; Czyż et al. (2023, BMI) for the additive uniform noise model.
"""

from __future__ import annotations

import torch


def gaussian_mi(covariance: torch.Tensor, dim_x: int) -> torch.Tensor:
    """MI between the first ``dim_x`` and the remaining coordinates of a Gaussian, in nats.

    MI = 1/2 (log det S_XX + log det S_YY - log det S), with log-determinants from Cholesky
    factors (never ``det``, which under- or overflows at d = 32).

    Shape: covariance (..., D, D) -> (...). Computed in float64.
    """
    s = covariance.to(torch.float64)

    def logdet(m: torch.Tensor) -> torch.Tensor:
        return 2.0 * torch.linalg.cholesky(m).diagonal(dim1=-2, dim2=-1).log().sum(-1)

    return 0.5 * (logdet(s[..., :dim_x, :dim_x]) + logdet(s[..., dim_x:, dim_x:]) - logdet(s))


def _f(v: torch.Tensor) -> torch.Tensor:
    half = v / 2.0
    return torch.lgamma(half) - half * torch.digamma(half)


def student_t_correction(df: torch.Tensor, dim_x: int, dim_y: int) -> torch.Tensor:
    """Extra MI of a multivariate Student-t over the Gaussian with the same dispersion, in nats.

    c = f(nu) + f(nu + dx + dy) - f(nu + dx) - f(nu + dy),  f(v) = lgamma(v/2) - v/2 digamma(v/2).
    Positive for every finite nu; tends to 0 as nu -> infinity.
    """
    nu = df.to(torch.float64)
    return _f(nu) + _f(nu + dim_x + dim_y) - _f(nu + dim_x) - _f(nu + dim_y)


def additive_uniform_noise_mi(eps: torch.Tensor) -> torch.Tensor:
    """MI of X ~ U(0,1)^d and Y = X + U(-eps, eps) (independent per coordinate), in nats.

    Per coordinate: eps - log(2 eps) for eps <= 1/2, else 1 / (4 eps). Shape (..., d) -> (...).
    """
    e = eps.to(torch.float64)
    small = e - torch.log(2.0 * e)
    large = 1.0 / (4.0 * e)
    return torch.where(e <= 0.5, small, large).sum(-1)
