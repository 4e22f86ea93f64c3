"""The MIST network: a 2-D attention set transformer over the cells of a dataset, with a copula
statistics branch, a mean head (MSE) and a monotone quantile head (pinball loss).

Shapes: B datasets, N rows, D = dim_x + dim_y columns, C cell width.

Invariances, all by construction:
- row order: every row operation is a set operation (ISAB, pooling, sums over rows);
- column order within X and within Y: no positional encoding; columns are only ever pooled;
- X <-> Y: a cell sees summaries of "its own side" and "the other side" through the same
  weights whether it is in X or in Y (the X/Y type marker in relative form), and the two sides'
  pooled vectors are combined symmetrically;
- strictly increasing per-column maps: with ``input_transform="rank"`` the input is replaced by
  per-column normal scores, which such maps do not change.
"""

from __future__ import annotations

from mist.errors import require_torch

require_torch("the PyTorch model (mist.model.MISTNetwork)")

import math
from typing import NamedTuple

import torch
from torch import nn

from mist.model.blocks import AttentionPool, FeedForward, InducedSetAttention
from mist.model.canonical import (
    column_ranks,
    copula_summary,
    gaussian_mi_from_correlations,
    normal_scores,
    pair_lags,
    row_counts,
    standardize,
)
from mist.model.config import CONTEXT_WIDTH, INPUT_TRANSFORMS, PAIR_LAGS, ModelConfig, shape_features

class ModelOutput(NamedTuple):
    mean: torch.Tensor  # (B,) point estimate, nats
    quantiles: torch.Tensor | None  # (B, T) at the requested taus, nats, non-decreasing in tau


class RowMixing(nn.Module):
    """Attention across the dimension axis of each row: each side of a row is pooled through a
    learned inducing point, then every cell is updated from (itself, its side's pool, the other
    side's pool)."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.pool = AttentionPool(width, heads)
        self.update = FeedForward(3 * width, 2 * width, width)

    def forward(self, h: torch.Tensor, dim_x: int) -> torch.Tensor:
        b, n, d, c = h.shape
        hn = self.norm(h)
        px = self.pool(hn[:, :, :dim_x].reshape(b * n, dim_x, c)).view(b, n, 1, c)
        py = self.pool(hn[:, :, dim_x:].reshape(b * n, d - dim_x, c)).view(b, n, 1, c)
        dim_y = d - dim_x
        own = torch.cat([px.expand(b, n, dim_x, c), py.expand(b, n, dim_y, c)], dim=2)
        other = torch.cat([py.expand(b, n, dim_x, c), px.expand(b, n, dim_y, c)], dim=2)
        return h + self.update(torch.cat([hn, own, other], dim=-1))


class ColumnMixing(nn.Module):
    """Attention across rows within each column: an ISAB over the column's cells."""

    def __init__(self, width: int, heads: int, inducing: int):
        super().__init__()
        self.isab = InducedSetAttention(width, heads, inducing)

    def forward(self, h: torch.Tensor, row_mask: torch.Tensor) -> torch.Tensor:
        b, n, d, c = h.shape
        cols = h.transpose(1, 2).reshape(b * d, n, c)
        mask = row_mask[:, None, :].expand(b, d, n).reshape(b * d, n)
        cols = self.isab(cols, mask)
        return cols.view(b, d, n, c).transpose(1, 2)


class CellTrunk(nn.Module):
    """Cells (B, N, D) -> a symmetric dataset vector (B, 2C)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c = cfg.cell_width
        self.embed = nn.Sequential(nn.Linear(2, c), nn.GELU(), nn.Linear(c, c))
        self.side = nn.Parameter(torch.zeros(c))  # learned marker, relative: one embedding per "side"
        self.rows = nn.ModuleList(RowMixing(c, cfg.heads) for _ in range(cfg.blocks)) if cfg.dim_attention else None
        self.cols = nn.ModuleList(ColumnMixing(c, cfg.heads, cfg.inducing) for _ in range(cfg.blocks))
        self.pool_rows = AttentionPool(c, cfg.heads)
        self.pool_columns = AttentionPool(c, cfg.heads)
        self.out_width = 2 * c

    def forward(self, z: torch.Tensor, row_mask: torch.Tensor, dim_x: int) -> torch.Tensor:
        b, n, d = z.shape
        h = self.embed(torch.stack([z, z * z - 1.0], dim=-1)) + self.side
        for i, col in enumerate(self.cols):
            if self.rows is not None:
                h = self.rows[i](h, dim_x)
            h = col(h, row_mask)
        c = h.shape[-1]
        mask = row_mask[:, None, :].expand(b, d, n).reshape(b * d, n)
        columns = self.pool_rows(h.transpose(1, 2).reshape(b * d, n, c), mask).view(b, d, c)
        zx = self.pool_columns(columns[:, :dim_x])
        zy = self.pool_columns(columns[:, dim_x:])
        return torch.cat([zx + zy, zx * zy], dim=-1)


class ColumnAttention(nn.Module):
    """Self-attention across the columns of a dataset (the dimension axis), with a learned score
    bias per head for pairs on the same side against pairs across sides: the X/Y marker in
    relative form, so swapping X and Y changes nothing. Shape: (B, D, W) -> (B, D, W)."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.side_bias = nn.Parameter(torch.zeros(heads, 2))
        self.norm_ff = nn.LayerNorm(width)
        self.ff = FeedForward(width, 2 * width)

    def forward(self, c: torch.Tensor, dim_x: int) -> torch.Tensor:
        b, d, w = c.shape
        q, k, v = self.qkv(self.norm(c)).view(b, d, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        side = torch.arange(d, device=c.device) < dim_x
        same = (side[:, None] == side[None, :]).long()  # (D, D): 1 same side, 0 across
        bias = self.side_bias[:, same]  # (H, D, D)
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + bias
        o = torch.softmax(scores, dim=-1) @ v
        c = c + self.out(o.transpose(1, 2).reshape(b, d, w))
        return c + self.ff(self.norm_ff(c))


class PairBranch(nn.Module):
    """Every (X column, Y column) pair's lag statistics, seen from each column: a shared network
    reads (own order -> partner's gaps, partner's order -> own gaps, context) and each column
    pools its pairs by mean and max. X and Y columns go through the same weights, so swapping
    the sides changes nothing. Returns (B, D, W), to be added to the column tokens; its last
    layer starts at zero, so a network gaining this branch starts where it was."""

    def __init__(self, pair_width: int, width: int, context_width: int, lags: int = len(PAIR_LAGS)):
        super().__init__()
        self.pair = nn.Sequential(nn.Linear(2 * lags + context_width, pair_width), nn.GELU(),
                                  nn.Linear(pair_width, pair_width), nn.GELU())
        self.into_column = nn.Linear(2 * pair_width, width)
        nn.init.zeros_(self.into_column.weight)
        nn.init.zeros_(self.into_column.bias)

    def forward(self, xy: torch.Tensor, yx: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """xy (B, dx, dy, L): X sorted, Y's gaps; yx (B, dy, dx, L): Y sorted, X's gaps."""
        pooled = []
        for own, other in ((xy, yx.transpose(1, 2)), (yx, xy.transpose(1, 2))):
            b, s, t, _ = own.shape
            feats = torch.cat([own, other, context[:, None, None, :].expand(b, s, t, -1)], dim=-1)
            e = self.pair(feats)  # (B, S, T, W)
            pooled.append(torch.cat([e.mean(2), e.amax(2)], dim=-1))
        return self.into_column(torch.cat(pooled, dim=1))


class StatsBranch(nn.Module):
    """DeepSets over the canonical correlations of the normal scores and of their squares, and
    (optionally) over per-column correlation summaries.

    Canonical correlations carry the Gaussian-copula MI; those of squared scores, the
    shared-scale dependence of Student-t data (uncorrelated yet dependent); column summaries,
    which columns pair with which (sparse against dense structure) with less noise than CCA
    when n is small. Returns (features (B, W), copula-CCA MI (B,)).
    """

    def __init__(self, cfg: ModelConfig, context_width: int):
        super().__init__()
        w = cfg.stats_width
        self.element = nn.Sequential(nn.Linear(6 + context_width, w), nn.GELU(), nn.Linear(w, w), nn.GELU())
        self.columns = None
        if cfg.use_column_stats:
            self.columns = nn.Sequential(nn.Linear(14 + context_width, w), nn.GELU(), nn.Linear(w, w))
            self.column_attention = nn.ModuleList(ColumnAttention(w, cfg.heads) for _ in range(cfg.column_blocks))
        self.pairs = PairBranch(cfg.pair_width, w, context_width) if cfg.use_pair_stats else None
        if self.pairs is not None and self.columns is None:
            raise ValueError("use_pair_stats needs use_column_stats (pairs are pooled into column tokens)")
        self.out_width = (4 if cfg.use_column_stats else 2) * w

    def forward(self, z: torch.Tensor, row_mask: torch.Tensor, dim_x: int, context: torch.Tensor, ranks=None):
        # statistics in float32 even under bf16 autocast: correlations need the precision
        with torch.autocast(z.device.type, enabled=False):
            z = z.float()
            # scores and squared scores in one batched pass (half the kernel launches)
            b = z.shape[0]
            both = copula_summary(torch.cat([z, (z * z - 1.0) * row_mask[..., None]]), row_mask.repeat(2, 1), dim_x)
            r1, r2 = both.canonical[:b], both.canonical[b:]
            cf = torch.cat([both.columns[:b], both.columns[b:]], dim=-1) if self.columns is not None else None
        k = r1.shape[1]
        position = (torch.arange(k, device=z.device, dtype=z.dtype) + 0.5) / k
        info1 = -0.5 * torch.log1p(-r1 * r1)
        info2 = -0.5 * torch.log1p(-r2 * r2)
        feats = torch.stack([r1, r2, info1, info2, position.expand_as(r1), torch.full_like(r1, 1.0 / k)], dim=-1)
        feats = torch.cat([feats, context[:, None, :].expand(-1, k, -1)], dim=-1)
        e = self.element(feats)
        parts = [e.sum(1) / 8.0, e.mean(1)]
        if self.columns is not None:
            cf = torch.cat([cf, context[:, None, :].expand(-1, cf.shape[1], -1)], dim=-1)
            c = self.columns(cf)
            if self.pairs is not None:
                c = c + self.pairs(*pair_lags(z, row_mask, dim_x, ranks), context)
            for block in self.column_attention:
                c = block(c, dim_x)
            parts += [c.sum(1) / 16.0, c.mean(1)]
        return torch.cat(parts, dim=-1), gaussian_mi_from_correlations(r1)


class MonotoneQuantileHead(nn.Module):
    """q(tau) = m + s * logit(tau) + sum_j a_j [sigmoid((logit(tau) - c_j) / w) - sigmoid(-c_j / w)],
    with s, a_j >= 0 (softplus): non-decreasing in tau by construction, defined for any tau in
    (0, 1), and q(1/2) = m."""

    def __init__(self, width: int, knots: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.Linear(width, 2 + knots))
        centres = torch.linspace(-4.0, 4.0, knots)
        self.register_buffer("centres", centres)
        self.knot_width = float(centres[1] - centres[0]) if knots > 1 else 1.0

    def forward(self, features: torch.Tensor, offset: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        out = self.net(features)
        m = offset + out[:, 0]
        slope = nn.functional.softplus(out[:, 1]) * 0.1
        amp = nn.functional.softplus(out[:, 2:])
        t = torch.logit(tau.clamp(1e-6, 1 - 1e-6))
        if t.dim() == 1:
            t = t[None, :].expand(features.shape[0], -1)
        steps = torch.sigmoid((t[..., None] - self.centres) / self.knot_width) - torch.sigmoid(-self.centres / self.knot_width)
        return m[:, None] + slope[:, None] * t + (amp[:, None, :] * steps).sum(-1)


class MISTNetwork(nn.Module):
    """Predicts I(X;Y) in nats from a batch of datasets.

    forward(x (B, N, dim_x), y (B, N, dim_y), row_mask (B, N) or None, tau (T,) or (B, T) or None)
    -> ModelOutput(mean (B,), quantiles (B, T) or None).

    ``forward`` gives the quantile head's raw tau-quantiles; a loaded model's ``tau_map`` (from its
    card's ``tau_calibration``, or None) is applied by :func:`mist.model.inference.predict_many`.
    """

    tau_map = None

    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        cfg = config or ModelConfig()
        if cfg.input_transform not in INPUT_TRANSFORMS:
            raise ValueError(f"input_transform must be one of {INPUT_TRANSFORMS}, got {cfg.input_transform!r}")
        if not (cfg.use_cells or cfg.use_stats):
            raise ValueError("the network needs use_cells or use_stats")
        self.config = cfg
        context_width = CONTEXT_WIDTH
        self.cells = CellTrunk(cfg) if cfg.use_cells else None
        self.stats = StatsBranch(cfg, context_width) if cfg.use_stats else None
        width = context_width + (self.cells.out_width if self.cells else 0) + (self.stats.out_width if self.stats else 0)
        hw = cfg.head_width
        self.trunk = nn.Sequential(nn.Linear(width, hw), nn.GELU(), nn.Linear(hw, hw), nn.GELU())
        self.mean_head = nn.Linear(hw, 1)
        self.quantile_head = MonotoneQuantileHead(hw, cfg.quantile_knots)
        # start near the prior: the copula-CCA estimate when available, else a typical MI
        self.offset_scale = nn.Parameter(torch.tensor(1.0 if cfg.use_stats else 0.0))
        self.offset_bias = nn.Parameter(torch.tensor(0.0 if cfg.use_stats else 5.0))

    @staticmethod
    def context(row_mask: torch.Tensor, dim_x: int, dim_y: int) -> torch.Tensor:
        """Shape features (B, CONTEXT_WIDTH) of :func:`mist.model.config.shape_features`."""
        return torch.stack(shape_features(row_counts(row_mask), dim_x, dim_y, torch.log, torch.sqrt), dim=-1)

    def canonicalize(self, xy: torch.Tensor, row_mask: torch.Tensor, ranks=None) -> torch.Tensor:
        """The input transform of the config: normal scores ("rank") or standardised values."""
        if self.config.input_transform == "rank":
            return normal_scores(xy, row_mask, ranks)
        return standardize(xy, row_mask)

    def forward(self, x: torch.Tensor, y: torch.Tensor, row_mask: torch.Tensor | None = None,
                tau: torch.Tensor | None = None) -> ModelOutput:
        b, n, dim_x = x.shape
        if row_mask is None:
            row_mask = torch.ones(b, n, dtype=torch.bool, device=x.device)
        xy = torch.cat([x, y], dim=-1).to(torch.float32)
        # one sort serves the normal scores and the pair statistics
        ranks = column_ranks(xy, row_mask) if self.config.use_pair_stats else None
        z = self.canonicalize(xy, row_mask, ranks)
        return self.forward_canonical(z, row_mask, dim_x, tau, ranks)

    def forward_canonical(self, z: torch.Tensor, row_mask: torch.Tensor, dim_x: int,
                          tau: torch.Tensor | None = None, ranks=None) -> ModelOutput:
        """Forward from already-canonicalised cells z (B, N, dim_x + dim_y), X columns first;
        ``ranks``: the input's :func:`~mist.model.canonical.column_ranks` (else z's, which
        are the same for normal scores)."""
        b = z.shape[0]
        dim_y = z.shape[-1] - dim_x
        ctx = self.context(row_mask, dim_x, dim_y)
        parts = [ctx]
        offset = self.offset_bias.expand(b)
        if self.cells is not None:
            parts.append(self.cells(z, row_mask, dim_x))
        if self.stats is not None:
            # X <-> Y symmetric: canonical correlations do not depend on which side is which
            feats, cca_mi = self.stats(z, row_mask, dim_x, ctx, ranks)
            parts.append(feats)
            offset = offset + self.offset_scale * cca_mi
        h = self.trunk(torch.cat(parts, dim=-1))
        mean = offset + self.mean_head(h)[:, 0]
        quantiles = None if tau is None else self.quantile_head(h, offset, tau.to(h.dtype))
        return ModelOutput(mean, quantiles)


__all__ = ["ModelConfig", "ModelOutput", "MISTNetwork", "INPUT_TRANSFORMS"]
