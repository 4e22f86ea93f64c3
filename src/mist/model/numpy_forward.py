"""The forward pass of a statistics-only :class:`MISTNetwork` in NumPy, for CPU inference.

Why: one forward pass is a few hundred small operations, and eager PyTorch spends 10-30 us of
dispatch on each on a small CPU, more than the arithmetic: 5-6 ms per pass at n=500, d=1, where
this path takes about 2 ms (benchmarks/api_speed.py prints both). Ranks come from one sort of
packed integer keys, and a lookup table replaces the inverse normal CDF of the ranks. The PyTorch module stays the one definition
of the model (training, gradients, GPU, the cell trunk); this module reads its weights and must
agree with it: tests/model/test_numpy_forward.py checks both on the same inputs. Both compute in
float32 (the ranks of float32 values, as the PyTorch path casts its input to float32 first).

Shapes: B datasets, N rows (all real: datasets of one shape are batched, none padded),
D = dim_x + dim_y columns.
"""

from __future__ import annotations

import itertools
import math
import weakref
from functools import lru_cache

import numpy as np
from scipy.special import erf, ndtri


def supports(network) -> bool:
    """True when the network has no cell trunk (the shipped CPU models), so this path applies."""
    cfg = network.config
    return cfg.use_stats and not cfg.use_cells


@lru_cache(maxsize=64)
def _half_rank_scores(n: int) -> np.ndarray:
    """Phi^-1((r + 1/2) / n) for every average rank r = 0, 1/2, 1, ..., n - 1 (index 2r)."""
    return ndtri((np.arange(2 * n - 1) / 2.0 + 0.5) / n).astype(np.float32)


def _sort_rows(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row of a float32 array (..., N): (order, sorted-value keys).

    One sort of uint64 keys (an order-preserving integer image of the value in the high 32 bits,
    the position in the low bits) instead of an argsort: about twice as fast, and equal values
    stay equal (-0.0 is first made +0.0).
    """
    bits = (columns + np.float32(0.0)).view(np.int32)
    keys = (bits ^ ((bits >> 31) | np.int32(-(2**31)))).view(np.uint32).astype(np.uint64)
    packed = np.sort((keys << np.uint64(32)) | np.arange(columns.shape[-1], dtype=np.uint64), axis=-1)
    return (packed & np.uint64(0xFFFFFFFF)).astype(np.intp), packed >> np.uint64(32)


def normal_scores(values: np.ndarray) -> np.ndarray:
    """Per-column normal scores Phi^-1((rank + 1/2) / n), ties given their average rank.

    Same transform as :func:`mist.model.canonical.normal_scores`. Shape: (B, N, D) -> (B, N, D).
    """
    b, n, d = values.shape
    columns = np.ascontiguousarray(values.transpose(0, 2, 1), dtype=np.float32)  # (B, D, N)
    order, ordered = _sort_rows(columns)
    table = _half_rank_scores(n)
    tied = ordered[..., 1:] == ordered[..., :-1]
    if not tied.any():
        sorted_scores = np.broadcast_to(table[::2], columns.shape)
    else:
        position = np.broadcast_to(np.arange(n), columns.shape)
        starts = np.ones(columns.shape, dtype=bool)
        starts[..., 1:] = ~tied
        ends = np.ones(columns.shape, dtype=bool)
        ends[..., :-1] = ~tied
        first = np.maximum.accumulate(np.where(starts, position, 0), axis=-1)
        last = np.minimum.accumulate(np.where(ends, position, n - 1)[..., ::-1], axis=-1)[..., ::-1]
        sorted_scores = table[first + last]  # average rank r sits at index 2r = first + last
    # scatter back to row order through flat indices (several times faster than put_along_axis)
    scores = np.empty(columns.size, dtype=np.float32)
    scores[(order + np.arange(0, columns.size, n).reshape(b, d, 1)).ravel()] = sorted_scores.ravel()
    scores = scores.reshape(b, d, n)
    return scores.transpose(0, 2, 1)


def standardize(values: np.ndarray, clip: float = 8.0) -> np.ndarray:
    """Per-column (x - mean) / std, then c * tanh(x / c), as :func:`mist.model.canonical.standardize`."""
    centred = values - values.mean(1, keepdims=True)
    z = centred / np.sqrt((centred**2).mean(1, keepdims=True) + 1e-12)
    return clip * np.tanh(z / clip)


def copula_summary(z: np.ndarray, dim_x: int, top: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Canonical correlations (B, min(dx, dy)) and per-column summaries (B, D, top + 4), as
    :func:`mist.model.canonical.copula_summary` (see there for what each entry means)."""
    n = z.shape[1]
    centred = z - z.mean(1, keepdims=True)
    zs = centred / np.sqrt((centred**2).sum(1, keepdims=True) / n + 1e-12)
    corr = zs.transpose(0, 2, 1) @ zs / n
    d = corr.shape[-1]
    eye = np.eye(d, dtype=z.dtype)
    # Ledoit-Wolf shrinkage towards the identity
    mu = np.trace(corr, axis1=-2, axis2=-1) / d
    delta = ((corr - mu[:, None, None] * eye) ** 2).sum((-2, -1)) / d
    fourth = ((zs * zs).sum(-1) ** 2).sum(-1)
    beta = np.minimum((fourth / n - (corr**2).sum((-2, -1))) / (n * d), delta)
    lam = np.where(delta > 0, beta / np.maximum(delta, 1e-12), 1.0).clip(0, 1)[:, None, None]
    c = (1 - lam) * corr + lam * eye
    lx = np.linalg.cholesky(c[:, :dim_x, :dim_x])
    ly = np.linalg.cholesky(c[:, dim_x:, dim_x:])
    cross = c[:, :dim_x, dim_x:]
    left = np.linalg.solve(lx, cross)  # Lx^-1 Sxy, (B, dx, dy)
    right = np.linalg.solve(ly, cross.transpose(0, 2, 1))  # Ly^-1 Syx, (B, dy, dx)
    whitened = np.linalg.solve(ly, left.transpose(0, 2, 1))
    canonical = np.linalg.svd(whitened, compute_uv=False).clip(0.0, 1.0 - 1e-6)
    r2_multiple = np.concatenate([(right**2).sum(1), (left**2).sum(1)], axis=1).clip(0.0, 1.0 - 1e-6)

    r2 = corr**2
    side = np.arange(d) < dim_x
    same = side[:, None] == side[None, :]
    other = np.where(same, 0.0, r2)
    own = np.where(~same | np.eye(d, dtype=bool), 0.0, r2)
    k = min(top, d - 1)
    best = -np.sort(-other, axis=-1)[..., :k]
    if k < top:
        best = np.concatenate([best, np.zeros((*best.shape[:-1], top - k), dtype=z.dtype)], axis=-1)
    n_other = np.where(side, d - dim_x, dim_x).astype(z.dtype)
    n_own = np.maximum(np.where(side, dim_x - 1, d - dim_x - 1), 1).astype(z.dtype)
    columns = np.concatenate([best, (other.sum(-1) / n_other)[..., None], own.max(-1)[..., None],
                              (own.sum(-1) / n_own)[..., None], r2_multiple[..., None]], axis=-1)
    return canonical, columns


@lru_cache(maxsize=1024)
def _context_row(n: int, dim_x: int, dim_y: int) -> np.ndarray:
    """The network's shape features (``MISTNetwork.context``) for one (n, dim_x, dim_y), (6,):
    computed by the module itself, once per shape, so there is one definition of them."""
    import torch

    from mist.model.network import MISTNetwork

    row = MISTNetwork.context(torch.ones(1, n, dtype=torch.bool), dim_x, dim_y)[0].numpy()
    row.flags.writeable = False  # shared by every caller of the cache
    return row


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, as ``nn.GELU()``."""
    return 0.5 * x * (1.0 + erf(x * np.float32(math.sqrt(0.5))))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    centred = x - x.mean(-1, keepdims=True)
    return centred / np.sqrt((centred**2).mean(-1, keepdims=True) + eps) * weight + bias


_BLAS_CONTROLLER = None


def _one_blas_thread():
    """A context limiting NumPy's BLAS to one thread: these matrices are small, and OpenBLAS's
    threads made one d=32 pass 8x slower on a 2-core machine (51 ms against 6 ms)."""
    global _BLAS_CONTROLLER
    if _BLAS_CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _BLAS_CONTROLLER = ThreadpoolController()
    return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")


class NumpyForward:
    """Inference-only copy of a statistics-only network's forward pass.

    ``NumpyForward(network)(x, y, taus)`` with x (B, N, dim_x), y (B, N, dim_y) float arrays and
    taus a sequence of levels in (0, 1) returns (mean (B,), quantiles (B, T) or None), in nats.
    """

    def __init__(self, network):
        if not supports(network):
            raise ValueError("NumpyForward covers networks without the cell trunk and with the statistics branch")
        self.config = network.config
        self.p = {k: v.detach().cpu().float().numpy() for k, v in network.state_dict().items()}
        # weights pre-transposed so each layer is one x @ w + b
        for key in [k for k in self.p if k.endswith(".weight") and self.p[k].ndim == 2]:
            self.p[key] = np.ascontiguousarray(self.p[key].T)

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        weight = self.p[f"{name}.weight"]
        # one 2-D GEMM: stacked 3-D matmuls go through a slower path in NumPy
        out = x.reshape(-1, x.shape[-1]) @ weight + self.p[f"{name}.bias"]
        return out.reshape(*x.shape[:-1], weight.shape[1])

    def _mlp(self, x: np.ndarray, name: str, final_gelu: bool) -> np.ndarray:
        h = self._linear(_gelu(self._linear(x, f"{name}.0")), f"{name}.2")
        return _gelu(h) if final_gelu else h

    def _column_attention(self, c: np.ndarray, dim_x: int, name: str) -> np.ndarray:
        b, d, w = c.shape
        heads = self.config.heads
        e = w // heads
        qkv = self._linear(_layer_norm(c, self.p[f"{name}.norm.weight"], self.p[f"{name}.norm.bias"]), f"{name}.qkv")
        q, k, v = qkv.reshape(b, d, 3, heads, e).transpose(2, 0, 3, 1, 4)
        side = np.arange(d) < dim_x
        same = (side[:, None] == side[None, :]).astype(np.int64)
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(e) + self.p[f"{name}.side_bias"][:, same]
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        o = (scores / scores.sum(-1, keepdims=True)) @ v
        c = c + self._linear(o.transpose(0, 2, 1, 3).reshape(b, d, w), f"{name}.out")
        normed = _layer_norm(c, self.p[f"{name}.norm_ff.weight"], self.p[f"{name}.norm_ff.bias"])
        return c + self._mlp(normed, f"{name}.ff", final_gelu=False)

    def __call__(self, x: np.ndarray, y: np.ndarray, taus=None) -> tuple[np.ndarray, np.ndarray | None]:
        with _one_blas_thread():
            return self._forward(x, y, taus)

    def _forward(self, x, y, taus):
        x = np.asarray(x, dtype=np.float32)
        y = np.asarray(y, dtype=np.float32)
        b, n, dim_x = x.shape
        dim_y = y.shape[-1]
        xy = np.concatenate([x, y], axis=-1)
        z = normal_scores(xy) if self.config.input_transform == "rank" else standardize(xy)
        ctx = np.broadcast_to(_context_row(n, dim_x, dim_y), (b, 6))

        # statistics branch: scores and squared scores in one batched pass
        canonical, columns = copula_summary(np.concatenate([z, z * z - 1.0]), dim_x)
        r1, r2 = canonical[:b], canonical[b:]
        k = r1.shape[1]
        info1, info2 = -0.5 * np.log1p(-r1 * r1), -0.5 * np.log1p(-r2 * r2)
        position = np.broadcast_to(((np.arange(k) + 0.5) / k).astype(np.float32), r1.shape)
        feats = np.stack([r1, r2, info1, info2, position, np.full_like(r1, 1.0 / k)], axis=-1)
        feats = np.concatenate([feats, np.broadcast_to(ctx[:, None, :], (b, k, 6))], axis=-1)
        e = self._mlp(feats, "stats.element", final_gelu=True)
        parts = [ctx, e.sum(1) / 8.0, e.mean(1)]
        if self.config.use_column_stats:
            cf = np.concatenate([columns[:b], columns[b:], np.broadcast_to(ctx[:, None, :], (b, dim_x + dim_y, 6))], axis=-1)
            c = self._mlp(cf, "stats.columns", final_gelu=False)
            for i in range(self.config.column_blocks):
                c = self._column_attention(c, dim_x, f"stats.column_attention.{i}")
            parts += [c.sum(1) / 16.0, c.mean(1)]
        offset = self.p["offset_bias"] + self.p["offset_scale"] * info1.sum(-1)

        h = self._mlp(np.concatenate(parts, axis=-1), "trunk", final_gelu=True)
        mean = offset + self._linear(h, "mean_head")[:, 0]
        if taus is None:
            return mean, None
        out = self._mlp(h, "quantile_head.net", final_gelu=False)
        centres = self.p["quantile_head.centres"]
        width = float(centres[1] - centres[0]) if centres.size > 1 else 1.0
        t = np.asarray(taus, dtype=np.float32).clip(1e-6, 1 - 1e-6)
        t = np.log(t) - np.log1p(-t)
        steps = _sigmoid((t[:, None] - centres) / width) - _sigmoid(-centres / width)  # (T, K)
        quantiles = ((offset + out[:, 0])[:, None] + np.float32(0.1) * _softplus(out[:, 1])[:, None] * t
                     + _softplus(out[:, 2:]) @ steps.T)
        return mean, quantiles


_ENGINES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def numpy_forward_for(network) -> NumpyForward:
    """The (cached) NumPy forward of ``network``, rebuilt whenever a parameter has changed since:
    every in-place update (an optimiser step, ``load_state_dict``) bumps a tensor's version, and a
    new ``.data`` moves its storage. Walking the module tree costs ~1 ms, so the tensors are
    listed once per engine."""
    cached = _ENGINES.get(network)
    if cached is not None:
        tensors, stamp, engine = cached
        if stamp == _stamp(tensors):
            return engine
    tensors = list(itertools.chain(network.parameters(), network.buffers()))
    engine = NumpyForward(network)
    _ENGINES[network] = (tensors, _stamp(tensors), engine)
    return engine


def _stamp(tensors) -> tuple:
    return tuple((t._version, t.data_ptr()) for t in tensors)


__all__ = ["NumpyForward", "numpy_forward_for", "supports", "normal_scores", "copula_summary", "standardize"]
