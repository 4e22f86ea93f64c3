"""Input canonicalisation and copula summary statistics, batched and mask-aware.

Shapes: B datasets, N rows (padded), D = dim_x + dim_y columns. ``row_mask`` (B, N) is True on
real rows; padded rows may hold anything.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from mist.model.config import INDEPENDENT_LOG_GAP, MIN_SHRINKAGE, PAIR_LAGS


def row_counts(row_mask: torch.Tensor) -> torch.Tensor:
    """Real rows per dataset, (B,) float."""
    return row_mask.sum(1).to(torch.float32)


def column_ranks(values: torch.Tensor, row_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each column's 0-based average ranks among its real rows, its sort order and whether it
    has ties: (rank (B, D, N), order (B, D, N), tied (B, D)). Padded rows sort last (their ranks
    are meaningless). Shape of ``values``: (B, N, D)."""
    big = torch.finfo(values.dtype).max
    v = values.masked_fill(~row_mask[..., None], big).transpose(1, 2)  # (B, D, N); padding sorts last
    ordered, order = torch.sort(v, dim=-1, stable=True)
    # average rank of each run of equal values: one sort, then O(N) bookkeeping
    n_rows = v.shape[-1]
    starts = torch.ones_like(ordered, dtype=torch.bool)
    starts[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    group = starts.cumsum(-1) - 1
    position = torch.arange(n_rows, device=v.device).expand_as(group)
    first = torch.full_like(group, n_rows).scatter_reduce(-1, group, position, "amin")
    last = torch.zeros_like(group).scatter_reduce(-1, group, position, "amax")
    sorted_rank = (first.gather(-1, group) + last.gather(-1, group)).to(values.dtype) / 2.0
    rank = torch.empty_like(sorted_rank).scatter_(-1, order, sorted_rank)
    real = position < row_counts(row_mask)[:, None, None]
    tied = (~starts[..., 1:] & real[..., 1:]).any(-1)
    return rank, order, tied


def normal_scores(values: torch.Tensor, row_mask: torch.Tensor, ranks=None) -> torch.Tensor:
    """Per-column ranks -> standard-normal quantiles Phi^-1((rank + 1/2) / n), ties averaged.

    Invariant to row order and to any strictly increasing map of a column, so asinh, half-cube,
    wiggly and affine maps are undone exactly. Padded rows get 0. ``ranks``: the
    :func:`column_ranks` of ``values``, when already computed.

    Shape: (B, N, D) -> (B, N, D).
    """
    rank, _, _ = column_ranks(values, row_mask) if ranks is None else ranks
    n = row_counts(row_mask).to(values.dtype)[:, None, None]
    scores = torch.special.ndtri((rank + 0.5) / n)
    scores = scores.transpose(1, 2)
    return scores.masked_fill(~row_mask[..., None], 0.0)


def partner_ranks_in_order(rank: torch.Tensor, order: torch.Tensor, tied: torch.Tensor, sources: slice,
                           partners: slice) -> torch.Tensor:
    """The ranks of each partner column, read in the sorted order of each source column:
    (B, S, T, N). Within a run of ties in the source column, rows follow the partner's rank,
    so the result depends on the rows' content only, never on their input order."""
    b, _, n = rank.shape
    o, r = order[:, sources], rank[:, partners]
    s, t = o.shape[1], r.shape[1]
    g = r[:, None].expand(b, s, t, n).gather(-1, o[:, :, None].expand(b, s, t, n))
    for i, j in tied[:, sources].nonzero().tolist():  # rare: discrete-valued columns
        key = rank[i, sources][j][None, :] * (4.0 * n + 4.0) + r[i]  # (T, N): source rank first
        g[i, j] = r[i].gather(-1, torch.sort(key, dim=-1, stable=True).indices)
    return g


def lag_statistics(g: torch.Tensor, n: torch.Tensor, lags: tuple[int, ...] = PAIR_LAGS) -> torch.Tensor:
    """mean over i of log(max(|g[i + l] - g[i]|, 1/2) / n) - INDEPENDENT_LOG_GAP for each lag l:
    how far apart the partner's ranks of rows l apart in the source's order lie, on a log scale.

    Without dependence neighbours in one column are strangers in the other (about 0); the
    stronger the dependence of any shape, the closer they stay (negative). It is a
    nearest-neighbour statistic of the pair on the rank grid: with x's order as the neighbour
    search, it reads the spread of y given x at the scale of l neighbours, at O(N) a pair.
    g (B, S, T, N) from :func:`partner_ranks_in_order`, n (B,) real rows -> (B, S, T, len(lags));
    a lag with no pair of real rows gives 0.
    """
    b, s, t, n_max = g.shape
    n = n.to(g.dtype)
    full = bool((n == n_max).all())  # no padded rows: no masks (the training batches)
    log_n = torch.log(n)[:, None, None]
    out = []
    for lag in lags:
        if lag >= n_max:
            out.append(g.new_zeros(b, s, t))
            continue
        gap = (g[..., lag:] - g[..., :-lag]).abs_().clamp_min_(0.5).log_()
        if full:
            out.append(gap.mean(-1) - log_n - INDEPENDENT_LOG_GAP)
            continue
        valid = torch.arange(lag, n_max, device=g.device)[None, :] < n[:, None]  # (B, N - lag): row i + lag is real
        count = (n - lag).clamp_min(0)[:, None, None]
        mean = (gap * valid[:, None, None, :]).sum(-1) / count.clamp_min(1) - log_n - INDEPENDENT_LOG_GAP
        out.append(torch.where(count > 0, mean, torch.zeros_like(mean)))
    return torch.stack(out, dim=-1)


def pair_lags(values: torch.Tensor, row_mask: torch.Tensor, dim_x: int, ranks=None,
              lags: tuple[int, ...] = PAIR_LAGS) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`lag_statistics` of every (X column, Y column) pair in both directions: (X sorted,
    Y's ranks) (B, dim_x, dim_y, L) and (Y sorted, X's ranks) (B, dim_y, dim_x, L). Depends on
    the ranks only, so ``values`` may be raw or normal scores; (B, N, D). ``ranks``: their
    :func:`column_ranks`, when already computed."""
    rank, order, tied = column_ranks(values, row_mask) if ranks is None else ranks
    n = row_counts(row_mask)
    xs, ys = slice(0, dim_x), slice(dim_x, values.shape[-1])
    return (lag_statistics(partner_ranks_in_order(rank, order, tied, xs, ys), n, lags),
            lag_statistics(partner_ranks_in_order(rank, order, tied, ys, xs), n, lags))


def standardize(values: torch.Tensor, row_mask: torch.Tensor, clip: float = 8.0) -> torch.Tensor:
    """Per-column (x - mean) / std over real rows, then a soft clip c * tanh(x / c) of outliers."""
    m = row_mask[..., None].to(values.dtype)
    n = m.sum(1, keepdim=True)
    mean = (values * m).sum(1, keepdim=True) / n
    var = (((values - mean) * m) ** 2).sum(1, keepdim=True) / n
    z = (values - mean) / torch.sqrt(var + 1e-12)
    return (clip * torch.tanh(z / clip)) * m


class CopulaSummary(NamedTuple):
    """What the statistics branch reads off one (B, N, D) input (scores or squared scores)."""

    canonical: torch.Tensor  # (B, min(dim_x, dim_y)) canonical correlations, largest first
    columns: torch.Tensor  # (B, D, top + 4) per-column summaries


def copula_summary(z: torch.Tensor, row_mask: torch.Tensor, dim_x: int, top: int = 3) -> CopulaSummary:
    """Canonical correlations and per-column summaries from one correlation matrix.

    The correlation matrix is computed once; its Ledoit-Wolf shrunk version gives the canonical
    correlations (Lx^-1 Sxy Ly^-T's singular values) and, from the same Cholesky factors, each
    column's squared multiple correlation with the whole other side (-1/2 log(1 - R^2) is
    I(column; other side) for Gaussian data). Per column (X and Y alike, so the set is symmetric
    in X and Y): its ``top`` largest squared correlations with the other side, the mean squared
    correlation with the other side, the largest and mean within its own side, and R^2. Missing
    entries (a side narrower than ``top``) are 0.
    """
    n = row_counts(row_mask).to(z.dtype)
    zs, corr = _correlation(z, row_mask)
    d = corr.shape[-1]
    lam = ledoit_wolf(zs, corr, n)[:, None, None]
    c = (1 - lam) * corr + lam * torch.eye(d, dtype=z.dtype, device=z.device)
    lx = torch.linalg.cholesky(c[:, :dim_x, :dim_x])
    ly = torch.linalg.cholesky(c[:, dim_x:, dim_x:])
    cross = c[:, :dim_x, dim_x:]
    left = torch.linalg.solve_triangular(lx, cross, upper=False)  # Lx^-1 Sxy, (B, dx, dy)
    right = torch.linalg.solve_triangular(ly, cross.transpose(1, 2), upper=False)  # Ly^-1 Syx, (B, dy, dx)
    whitened = torch.linalg.solve_triangular(ly, left.transpose(1, 2), upper=False)  # (Lx^-1 Sxy Ly^-T)^T
    canonical = torch.linalg.svdvals(whitened).clamp(0.0, 1.0 - 1e-6)
    r2_multiple = torch.cat([(right**2).sum(1), (left**2).sum(1)], dim=1).clamp(0.0, 1.0 - 1e-6)

    r2 = corr**2
    side = torch.zeros(d, dtype=torch.bool, device=z.device)
    side[:dim_x] = True
    same = side[:, None] == side[None, :]
    eye = torch.eye(d, dtype=torch.bool, device=z.device)
    other = r2.masked_fill(same, 0.0)
    own = r2.masked_fill(~same | eye, 0.0)
    k = min(top, d - 1)
    best = other.topk(k, dim=-1).values
    if k < top:
        best = torch.cat([best, best.new_zeros(*best.shape[:-1], top - k)], dim=-1)
    n_other = torch.where(side, d - dim_x, dim_x).to(z.dtype)
    n_own = torch.where(side, dim_x - 1, d - dim_x - 1).to(z.dtype).clamp_min(1)
    columns = torch.cat([best, (other.sum(-1) / n_other)[..., None], own.max(-1).values[..., None],
                         (own.sum(-1) / n_own)[..., None], r2_multiple[..., None]], dim=-1)
    return CopulaSummary(canonical, columns)


def _correlation(z: torch.Tensor, row_mask: torch.Tensor) -> torch.Tensor:
    m = row_mask[..., None].to(z.dtype)
    n = m.sum(1, keepdim=True)
    zc = (z - (z * m).sum(1, keepdim=True) / n) * m
    std = torch.sqrt((zc**2).sum(1) / n[:, 0] + 1e-12)  # (B, D)
    zs = zc / std[:, None, :]
    return zs, (zs.transpose(1, 2) @ zs) / n  # (B, N, D), (B, D, D)


def ledoit_wolf(zs: torch.Tensor, corr: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    """Ledoit-Wolf shrinkage intensity towards the identity, (B,), for standardised zs."""
    d = corr.shape[-1]
    eye = torch.eye(d, dtype=corr.dtype, device=corr.device)
    mu = corr.diagonal(dim1=-2, dim2=-1).mean(-1)
    delta = ((corr - mu[:, None, None] * eye) ** 2).sum((-2, -1)) / d
    fourth = ((zs * zs).sum(-1) ** 2).sum(-1)  # padded rows are 0
    beta = (fourth / n - (corr**2).sum((-2, -1))) / (n * d)
    beta = torch.minimum(beta, delta)
    return torch.where(delta > 0, beta / delta.clamp_min(1e-12), torch.ones_like(delta)).clamp(MIN_SHRINKAGE, 1)


def canonical_correlations(z: torch.Tensor, row_mask: torch.Tensor, dim_x: int) -> torch.Tensor:
    """Sample canonical correlations between z[..., :dim_x] and z[..., dim_x:], Ledoit-Wolf shrunk.

    Shape: (B, N, D) -> (B, min(dim_x, dim_y)), sorted from largest, each in [0, 1).
    """
    return copula_summary(z, row_mask, dim_x).canonical


def gaussian_mi_from_correlations(r: torch.Tensor) -> torch.Tensor:
    """-1/2 sum log(1 - r^2) over the last axis, in nats."""
    return -0.5 * torch.log1p(-(r * r)).sum(-1)
