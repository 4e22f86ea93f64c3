"""Small attention blocks: masked multi-head attention, set normalisation, pooling by attention.

Plain batched matmuls rather than fused kernels: the sequences here are short (inducing points,
cells of one row), and the fused kernels reject batch * heads above 65,535 on CUDA.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_mask: torch.Tensor | None) -> torch.Tensor:
    """softmax(q k^T / sqrt(d)) v over keys where key_mask is True.

    Shape: q (S, H, Lq, e), k and v (S, H, Lk, e), key_mask (S, Lk) -> (S, H, Lq, e).
    """
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    if key_mask is not None:
        scores = scores.masked_fill(~key_mask[:, None, None, :], float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


class MultiHeadAttention(nn.Module):
    """Multi-head attention from queries (S, Lq, C) to keys/values (S, Lk, C)."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by heads {heads}")
        self.heads = heads
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, 2 * width)
        self.out = nn.Linear(width, width)

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        s, length, c = t.shape
        return t.view(s, length, self.heads, c // self.heads).transpose(1, 2)

    def forward(self, queries: torch.Tensor, keys: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        k, v = self.kv(keys).chunk(2, dim=-1)
        o = attention(self._split(self.q(queries)), self._split(k), self._split(v), key_mask)
        s, h, length, e = o.shape
        return self.out(o.transpose(1, 2).reshape(s, length, h * e))


class SetNorm(nn.Module):
    """Set normalisation (Zhang et al., 2022): statistics over all real elements and features of
    each set, one learned scale and shift per feature. Shape: (S, L, C), mask (S, L)."""

    def __init__(self, width: int, eps: float = 1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))
        self.bias = nn.Parameter(torch.zeros(width))
        self.eps = eps

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            mean = x.mean(dim=(-2, -1), keepdim=True)
            var = x.var(dim=(-2, -1), keepdim=True, unbiased=False)
        else:
            m = mask[..., None].to(x.dtype)
            count = m.sum(dim=(-2, -1), keepdim=True) * x.shape[-1]
            mean = (x * m).sum(dim=(-2, -1), keepdim=True) / count
            var = (((x - mean) * m) ** 2).sum(dim=(-2, -1), keepdim=True) / count
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


class FeedForward(nn.Sequential):
    def __init__(self, width: int, hidden: int, out: int | None = None):
        super().__init__(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, out or width))


class InducedSetAttention(nn.Module):
    """ISAB with SetTransformer++ residual paths: m inducing points summarise the set, then every
    element attends to the summaries. Cost O(L m) instead of O(L^2). Shape: (S, L, C), mask (S, L)."""

    def __init__(self, width: int, heads: int, inducing: int):
        super().__init__()
        self.inducing = nn.Parameter(torch.randn(inducing, width) / math.sqrt(width))
        self.norm_in = SetNorm(width)
        self.summarise = MultiHeadAttention(width, heads)
        self.norm_summary = nn.LayerNorm(width)
        self.broadcast = MultiHeadAttention(width, heads)
        self.norm_ff = SetNorm(width)
        self.ff = FeedForward(width, 2 * width)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        xn = self.norm_in(x, mask)
        seeds = self.inducing.expand(x.shape[0], -1, -1)
        summary = seeds + self.summarise(seeds, xn, mask)
        x = x + self.broadcast(xn, self.norm_summary(summary))
        return x + self.ff(self.norm_ff(x, mask))


class AttentionPool(nn.Module):
    """Pooling by multi-head attention (PMA) with one learned seed: (S, L, C) -> (S, C)."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.seed = nn.Parameter(torch.randn(1, width) / math.sqrt(width))
        self.attend = MultiHeadAttention(width, heads)
        self.ff = FeedForward(width, 2 * width)
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        pooled = self.seed + self.attend(self.seed.expand(x.shape[0], -1, -1), x, mask)
        pooled = pooled + self.ff(self.norm(pooled))
        return pooled[:, 0]


__all__ = ["attention", "MultiHeadAttention", "SetNorm", "FeedForward", "InducedSetAttention",
           "AttentionPool"]
