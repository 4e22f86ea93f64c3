"""Correlation structures of the Gaussian and Student-t families, batched, in float64.

Coordinates are ordered X first (dim_x of them), then Y (dim_y). Every function returns a
batch of correlation matrices of shape (B, D, D) with D = dim_x + dim_y.
"""

from __future__ import annotations

import torch


def dense_correlation(off_diag: torch.Tensor, dim_x: int, dim_y: int) -> torch.Tensor:
    """S = (1 - c) I + c 1 1^T over all dim_x + dim_y coordinates; positive definite for 0 <= c < 1."""
    d = dim_x + dim_y
    c = off_diag.to(torch.float64)[:, None, None]
    eye = torch.eye(d, dtype=torch.float64, device=off_diag.device)
    return (1.0 - c) * eye + c


def latent_variable_covariance(
    n_interacting: torch.Tensor,
    alpha: torch.Tensor,
    lambd: torch.Tensor,
    beta: torch.Tensor,
    eta: torch.Tensor,
    dim_x: int,
    dim_y: int,
) -> torch.Tensor:
    """Covariance of BMI's Gaussian latent-variable model, normalised to a correlation matrix.

    Every coordinate loads on a global latent (alpha), on its side's latent (beta), and on its own
    noise (variance 1); pair i < K shares a latent between X_i and Y_i (lambd); coordinates
    i >= K get an individual latent (eta). Normalising to unit variances does not change MI.
    """
    device = alpha.device
    d = dim_x + dim_y
    b = alpha.shape[0]
    a2 = alpha.to(torch.float64)[:, None, None] ** 2
    cov = a2.expand(b, d, d).clone()
    side = torch.zeros(d, d, dtype=torch.float64, device=device)
    side[:dim_x, :dim_x] = 1.0
    side[dim_x:, dim_x:] = 1.0
    cov = cov + beta.to(torch.float64)[:, None, None] ** 2 * side
    cov = cov + torch.eye(d, dtype=torch.float64, device=device)

    # index i of X is coordinate i; index i of Y is coordinate dim_x + i
    m = min(dim_x, dim_y)
    idx = torch.arange(m, device=device)
    interacting = idx[None, :] < n_interacting.to(device)[:, None]  # (B, m)
    l2 = lambd.to(torch.float64)[:, None] ** 2 * interacting
    cov[:, idx, idx] += l2
    cov[:, dim_x + idx, dim_x + idx] += l2
    cov[:, idx, dim_x + idx] += l2
    cov[:, dim_x + idx, idx] += l2

    # every coordinate that is not in an interacting pair gets an individual latent
    in_pair = torch.zeros(b, d, dtype=torch.bool, device=device)
    in_pair[:, idx] = interacting
    in_pair[:, dim_x + idx] = interacting
    diag = torch.arange(d, device=device)
    cov[:, diag, diag] += eta.to(torch.float64)[:, None] ** 2 * (~in_pair)

    std = cov.diagonal(dim1=-2, dim2=-1).sqrt()
    return cov / (std[:, :, None] * std[:, None, :])


def sparse_correlation(n_interacting: torch.Tensor, strength: torch.Tensor, dim_x: int, dim_y: int) -> torch.Tensor:
    """corr(X_i, Y_i) = s^2 / (1 + s^2) for i < K, every other correlation 0.

    BMI's sparse structure: the latent-variable model with alpha = beta = 0 and lambd = eta = s.
    """
    zero = torch.zeros_like(strength)
    return latent_variable_covariance(n_interacting, zero, strength, zero, strength, dim_x, dim_y)
