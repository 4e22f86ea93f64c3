"""The forward pass of a statistics-only :class:`MISTNetwork` in NumPy, for CPU inference.

Why: one forward pass is a few hundred small operations, and eager PyTorch spends 10-30 us of
dispatch on each on a small CPU, more than the arithmetic (benchmarks/api_speed.py prints both
paths). The PyTorch module stays the one definition of the model (training, gradients, GPU, the
cell trunk); this module reads its weights and must agree with it: tests/model/test_numpy_forward.py
checks both on the same inputs. Both compute in float32 (the ranks of float32 values, as the
PyTorch path casts its input to float32 first).

What makes it fast, each measured on a 2-core CPU at n=500, dim_x = dim_y = 32:
- data stay column-major, (B, D, N), so every per-column reduction and the correlation matrix
  read contiguous memory;
- ranks come from one sort of packed integer keys, and a lookup table replaces the inverse
  normal CDF of the ranks; ties are resolved only in the columns that have them;
- GELU from a rational erfc approximation, in place (2-4x faster than SciPy's erf);
- each layer norm's scale and shift are folded into the linear layer it feeds, the attention's
  1/sqrt(e) into its query weights, and its side bias reduced to one number per head (softmax
  ignores what is added to a whole row);
- the small Cholesky, triangular solves and SVD of one or two datasets call LAPACK directly
  (NumPy's batched linalg costs 20-80 us of set-up per call);
- the one-column pairs of one table (``mi_matrix``) rank each column once and read their copula
  statistics off two matrix products (:meth:`NumpyForward.pairs`, :func:`pair_summary`).

It imports no PyTorch (weights come from :func:`mist.model.serialization.load_engine_file` as
NumPy arrays), so a CPU estimate skips torch's import, 3 s on the 2-core machine.

Shapes: B datasets, N rows (all real: datasets of one shape are batched, none padded),
D = dim_x + dim_y columns.
"""

from __future__ import annotations

import itertools
import math
import weakref
from functools import lru_cache

import numpy as np
from scipy.linalg import lapack

from mist.model.config import CONTEXT_WIDTH, MIN_SHRINKAGE, ModelConfig, shape_features
from mist.model.ranks import column_normal_scores
from mist.model.lags import PAIR_LAGS, pair_lag_statistics, table_pair_lags

#: Up to this many (B) correlation matrices, the linear algebra loops over direct LAPACK calls;
#: above, NumPy's batched routines win (one set-up for the whole batch).
LAPACK_LOOP_MAX = 8


def supports(config: ModelConfig) -> bool:
    """True for statistics-only architectures (the shipped CPU models): no cell trunk."""
    return config.use_stats and not config.use_cells


def state_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The tensor names and shapes of a statistics-only network's state dict (PyTorch's layout,
    weights (out, in)); tests/model/test_numpy_forward.py checks them against the module."""
    w, hw, c = config.stats_width, config.head_width, CONTEXT_WIDTH

    def linear(name: str, fan_in: int, fan_out: int) -> dict:
        return {f"{name}.weight": (fan_out, fan_in), f"{name}.bias": (fan_out,)}

    shapes = {"offset_scale": (), "offset_bias": (), "quantile_head.centres": (config.quantile_knots,)}
    shapes |= linear("stats.element.0", 6 + c, w) | linear("stats.element.2", w, w)
    if config.use_column_stats:
        shapes |= linear("stats.columns.0", 14 + c, w) | linear("stats.columns.2", w, w)
        for i in range(config.column_blocks):
            name = f"stats.column_attention.{i}"
            shapes |= {f"{name}.{norm}.{p}": (w,) for norm in ("norm", "norm_ff") for p in ("weight", "bias")}
            shapes |= linear(f"{name}.qkv", w, 3 * w) | linear(f"{name}.out", w, w)
            shapes |= linear(f"{name}.ff.0", w, 2 * w) | linear(f"{name}.ff.2", 2 * w, w)
            shapes[f"{name}.side_bias"] = (config.heads, 2)
    if config.use_pair_stats:
        pw = config.pair_width
        shapes |= linear("stats.pairs.pair.0", 2 * len(PAIR_LAGS) + c, pw) | linear("stats.pairs.pair.2", pw, pw)
        shapes |= linear("stats.pairs.into_column", 2 * pw, w)
    stats_out = (4 if config.use_column_stats else 2) * w
    shapes |= linear("trunk.0", c + stats_out, hw) | linear("trunk.2", hw, hw) | linear("mean_head", hw, 1)
    shapes |= linear("quantile_head.net.0", hw, hw) | linear("quantile_head.net.2", hw, 2 + config.quantile_knots)
    return shapes


def normal_scores(values: np.ndarray) -> np.ndarray:
    """Per-column normal scores, as :func:`mist.model.canonical.normal_scores`.

    Shape: (B, N, D) -> (B, N, D) (a transposed view of the column-major result).
    """
    columns = np.ascontiguousarray(np.asarray(values).transpose(0, 2, 1), dtype=np.float32)
    return column_normal_scores(columns).transpose(0, 2, 1)


def standardize(columns: np.ndarray, clip: float = 8.0) -> np.ndarray:
    """Per-column (x - mean) / std, then c * tanh(x / c), as :func:`mist.model.canonical.standardize`.

    Column-major: (B, D, N) -> (B, D, N).
    """
    centred = columns - columns.mean(-1, keepdims=True)
    z = centred / np.sqrt((centred**2).mean(-1, keepdims=True) + 1e-12)
    return clip * np.tanh(z / clip)


def canonical_correlations(c: np.ndarray, dim_x: int) -> tuple[np.ndarray, np.ndarray]:
    """Canonical correlations (B, min(dx, dy)), largest first, and each column's squared multiple
    correlation with the other side (B, D), from correlation matrices c (B, D, D)."""
    if c.shape[0] > LAPACK_LOOP_MAX:
        lx = np.linalg.cholesky(c[:, :dim_x, :dim_x])
        ly = np.linalg.cholesky(c[:, dim_x:, dim_x:])
        cross = c[:, :dim_x, dim_x:]
        left = np.linalg.solve(lx, cross)  # Lx^-1 Sxy, (B, dx, dy)
        right = np.linalg.solve(ly, cross.transpose(0, 2, 1))  # Ly^-1 Syx, (B, dy, dx)
        whitened = np.linalg.solve(ly, left.transpose(0, 2, 1))
        canonical = np.linalg.svd(whitened, compute_uv=False)
        r2 = np.concatenate([(right**2).sum(1), (left**2).sum(1)], axis=1)
    else:
        canonical = np.empty((c.shape[0], min(dim_x, c.shape[1] - dim_x)), dtype=c.dtype)
        r2 = np.empty(c.shape[:2], dtype=c.dtype)
        for i, ci in enumerate(c):
            lx = _lapack(lapack.spotrf, ci[:dim_x, :dim_x], lower=1)
            ly = _lapack(lapack.spotrf, ci[dim_x:, dim_x:], lower=1)
            cross = ci[:dim_x, dim_x:]
            left = _lapack(lapack.strtrs, lx, cross, lower=1)
            right = _lapack(lapack.strtrs, ly, cross.T, lower=1)
            whitened = _lapack(lapack.strtrs, ly, left.T, lower=1)
            canonical[i] = lapack.sgesdd(whitened, compute_uv=0)[1]
            r2[i, :dim_x] = (right**2).sum(0)
            r2[i, dim_x:] = (left**2).sum(0)
    return canonical.clip(0.0, 1.0 - 1e-6), r2.clip(0.0, 1.0 - 1e-6)


def _lapack(routine, *args, **kwargs) -> np.ndarray:
    out, info = routine(*args, **kwargs)
    if info != 0:  # what np.linalg raises, so both branches fail alike
        raise np.linalg.LinAlgError(f"{routine.__name__} failed (info={info}): matrix not positive definite")
    return out


def _standardize_rows(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row (..., N) centred and scaled to unit mean square: (zs, squares of the centred
    values, 1 / variance (...,))."""
    n = columns.shape[-1]
    zs = columns - columns.mean(-1, keepdims=True)
    squares = zs * zs
    inv_var = 1.0 / (squares.sum(-1) / n + np.float32(1e-12))
    zs *= np.sqrt(inv_var)[..., None]  # in place: these arrays are the largest of the pass
    return zs, squares, inv_var


def copula_summary(columns: np.ndarray, dim_x: int, top: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Canonical correlations (B, min(dx, dy)) and per-column summaries (B, D, top + 4) of
    column-major scores (B, D, N), as :func:`mist.model.canonical.copula_summary` (see there for
    what each entry means)."""
    b, d, n = columns.shape
    zs, squares, inv_var = _standardize_rows(columns)
    corr = zs @ zs.transpose(0, 2, 1)
    corr /= n
    eye = np.eye(d, dtype=columns.dtype)
    # Ledoit-Wolf shrinkage towards the identity
    mu = np.trace(corr, axis1=-2, axis2=-1) / d
    delta = ((corr - mu[:, None, None] * eye) ** 2).sum((-2, -1)) / d
    row_norms = (inv_var[:, None, :] @ squares)[:, 0]  # sum over columns of zs^2, (B, N)
    fourth = (row_norms * row_norms).sum(-1)
    beta = np.minimum((fourth / n - (corr**2).sum((-2, -1))) / (n * d), delta)
    lam = np.where(delta > 0, beta / np.maximum(delta, 1e-12), 1.0).clip(MIN_SHRINKAGE, 1)[:, None, None]
    shrunk = ((1 - lam) * corr + lam * eye).astype(columns.dtype, copy=False)
    canonical, r2_multiple = canonical_correlations(shrunk, dim_x)

    r2 = corr**2
    side = np.arange(d) < dim_x
    same = side[:, None] == side[None, :]
    other = np.where(same, 0.0, r2)
    own = np.where(~same | np.eye(d, dtype=bool), 0.0, r2)
    k = min(top, d - 1)
    best = -np.sort(-other, axis=-1)[..., :k]
    if k < top:
        best = np.concatenate([best, np.zeros((*best.shape[:-1], top - k), dtype=columns.dtype)], axis=-1)
    n_other = np.where(side, d - dim_x, dim_x).astype(columns.dtype)
    n_own = np.maximum(np.where(side, dim_x - 1, d - dim_x - 1), 1).astype(columns.dtype)
    summary = np.concatenate([best, (other.sum(-1) / n_other)[..., None], own.max(-1)[..., None],
                              (own.sum(-1) / n_own)[..., None], r2_multiple[..., None]], axis=-1)
    return canonical, summary


def pair_summary(columns: np.ndarray, first: np.ndarray, second: np.ndarray,
                 top: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """:func:`copula_summary` of every two-column dataset (columns[first[k]], columns[second[k]])
    of one table, from three matrix products over all columns instead of one pass per pair.

    With one column a side every statistic is a closed form of the pair's correlation r, the
    columns' own (rounding-level) variances a, b and the Ledoit-Wolf fourth moment; the
    canonical correlation is the shrunk |r| whitened, and each column's summary is (r^2, 0, 0,
    r^2, 0, 0, R^2). Shapes: columns (M, N), first and second (P,) -> canonical (P, 1),
    summaries (P, 2, top + 4). tests/model/test_numpy_forward.py checks it against copula_summary.
    """
    n = columns.shape[-1]
    zs, _, _ = _standardize_rows(columns)
    corr = zs @ zs.T
    corr /= n
    zs *= zs
    fourth_terms = zs @ zs.T  # sum over rows of zs_i^2 zs_j^2
    r, a, b = corr[first, second], corr[first, first], corr[second, second]
    mu = (a + b) / 2
    delta = ((a - mu) ** 2 + (b - mu) ** 2 + 2 * r * r) / 2
    fourth = fourth_terms[first, first] + fourth_terms[second, second] + 2 * fourth_terms[first, second]
    beta = np.minimum((fourth / n - (a * a + b * b + 2 * r * r)) / (n * 2), delta)
    lam = np.where(delta > 0, beta / np.maximum(delta, 1e-12), 1.0).clip(MIN_SHRINKAGE, 1)
    cross = (1 - lam) * r
    lx, ly = np.sqrt((1 - lam) * a + lam), np.sqrt((1 - lam) * b + lam)
    canonical = np.abs(cross / lx / ly).clip(0.0, 1.0 - 1e-6)[:, None]
    r2_multiple = np.stack([(cross / ly) ** 2, (cross / lx) ** 2], axis=-1).clip(0.0, 1.0 - 1e-6)  # (P, 2)
    summary = np.zeros((len(r), 2, top + 4), dtype=columns.dtype)
    summary[..., 0] = summary[..., top] = (r * r)[:, None]
    summary[..., top + 3] = r2_multiple
    return canonical.astype(columns.dtype, copy=False), summary


def _cross_r2(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Squared normal-score correlations (ties averaged) of every column of x with every column
    of y: x (B, N, dim_x), y (B, N, dim_y) -> (B, dim_x, dim_y)."""
    columns = _column_major(x, y)
    n = columns.shape[-1]
    dim_x = np.shape(x)[-1]
    zs, _, _ = _standardize_rows(column_normal_scores(columns))
    cross = zs[:, :dim_x] @ zs[:, dim_x:].transpose(0, 2, 1) / n
    return cross * cross


def largest_pair_r2(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each dataset's largest squared correlation between a column of x and a column of y, in
    normal scores (ties averaged): x (B, N, dim_x), y (B, N, dim_y) -> (B,). The NumPy pass
    returns it for free (``with_pair_r2``); this is for the PyTorch path."""
    r2 = _cross_r2(x, y)
    return r2.reshape(len(r2), -1).max(-1)


def strongest_pair(x: np.ndarray, y: np.ndarray) -> tuple[int, int]:
    """(column of x, column of y) of one dataset's largest normal-score correlation, the pair
    behind :func:`largest_pair_r2`: x (N, dim_x), y (N, dim_y)."""
    r2 = _cross_r2(np.asarray(x)[None], np.asarray(y)[None])[0]
    j, k = np.unravel_index(int(np.argmax(r2)), r2.shape)
    return int(j), int(k)


def _column_major(x, y) -> np.ndarray:
    """x (B, N, dim_x) and y (B, N, dim_y) side by side as float32 columns (B, dim_x + dim_y, N)
    (the float32 cast happens here, as in torch)."""
    x, y = np.asarray(x), np.asarray(y)
    b, n, dim_x = x.shape
    columns = np.empty((b, dim_x + y.shape[-1], n), dtype=np.float32)
    columns[:, :dim_x] = x.transpose(0, 2, 1)
    columns[:, dim_x:] = y.transpose(0, 2, 1)
    return columns


@lru_cache(maxsize=1024)
def _context_row(n: int, dim_x: int, dim_y: int) -> np.ndarray:
    """The network's shape features for one (n, dim_x, dim_y), (CONTEXT_WIDTH,), float32 as in
    the module (from the one definition, :func:`mist.model.config.shape_features`)."""
    row = np.array(shape_features(np.float32(n), dim_x, dim_y, np.log, np.sqrt), dtype=np.float32)
    row.flags.writeable = False  # shared by every caller of the cache
    return row


# Abramowitz & Stegun 7.1.26: erfc(u) = t (a1 + t (a2 + ... + t a5)) exp(-u^2), t = 1 / (1 + p u),
# u >= 0, absolute error under 1.5e-7 (float32 rounding is of the same size)
_ERFC_P = 0.3275911
_ERFC_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU, x Phi(x), as ``nn.GELU()`` (the erf form) to 5e-7 absolute on float32 inputs.

    Phi comes from the erfc approximation above, in place: 2-4x faster than SciPy's erf (7-13
    against 24-31 ns a value at 12k-3M values here; PyTorch's kernel is faster still but costs a
    3 s import)."""
    u = np.abs(x)
    u *= np.float32(math.sqrt(0.5))
    t = u * np.float32(_ERFC_P)
    t += 1.0
    np.reciprocal(t, out=t)
    tail = t * np.float32(_ERFC_A[4])
    for a in _ERFC_A[3::-1]:
        tail += np.float32(a)
        tail *= t
    u *= u
    np.negative(u, out=u)
    np.exp(u, out=u)
    tail *= u  # erfc(|x| / sqrt 2) = 2 Phi(-|x|)
    tail *= -0.5
    tail += 0.5  # Phi(|x|) - 1/2
    np.copysign(tail, x, out=tail)  # Phi(x) - 1/2
    tail += 0.5
    tail *= x
    return tail


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _normalize(x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Layer norm without its scale and shift (those are folded into the next linear layer)."""
    centred = x - x.mean(-1, keepdims=True)
    centred *= 1.0 / np.sqrt((centred * centred).mean(-1, keepdims=True) + np.float32(eps))
    return centred


def _statistics(columns: np.ndarray, dim_x: int, transform: str) -> tuple[np.ndarray, np.ndarray]:
    """The copula statistics (:func:`copula_summary`) of a batch (B, D, N) of columns, scores and
    squared scores in one batched pass."""
    b, d, n = columns.shape
    z = column_normal_scores(columns) if transform == "rank" else standardize(columns)
    both = np.empty((2 * b, d, n), dtype=np.float32)
    both[:b] = z
    np.multiply(z, z, out=both[b:])
    both[b:] -= 1.0
    return copula_summary(both, dim_x)


class OneBlasThread:
    """A context limiting the BLAS libraries NumPy and SciPy use to one thread: these matrices
    are small, and OpenBLAS's threads made one d=32 pass 10x slower on a 2-core machine (52 ms
    against 4 ms). Talks to the libraries directly: threadpoolctl's ``limit`` costs ~35 us a
    call, this ~10 us."""

    libraries = None

    def __enter__(self):
        if OneBlasThread.libraries is None:
            from threadpoolctl import ThreadpoolController

            OneBlasThread.libraries = ThreadpoolController().select(user_api="blas").lib_controllers
        self.saved = [(lib, lib.get_num_threads()) for lib in self.libraries]
        for lib, threads in self.saved:
            if threads != 1:
                lib.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        for lib, threads in self.saved:
            if threads != 1:
                lib.set_num_threads(threads)


class NumpyForward:
    """Inference-only copy of a statistics-only network's forward pass.

    ``NumpyForward(config, state)`` from the arrays of a state dict (PyTorch's names and layout),
    or ``NumpyForward.from_network(network)``. ``engine(x, y, taus)`` with x (B, N, dim_x),
    y (B, N, dim_y) float arrays and taus a sequence of levels in (0, 1) returns (mean (B,),
    quantiles (B, T) or None), in nats. ``card`` and ``tau_map`` are those of the model it was
    loaded from, as on a loaded network.
    """

    def __init__(self, config: ModelConfig, state: dict[str, np.ndarray]):
        if not supports(config):
            raise ValueError("NumpyForward covers networks without the cell trunk and with the statistics branch")
        expected = state_shapes(config)
        wrong = sorted(k for k in expected if k not in state or tuple(np.shape(state[k])) != expected[k])
        extra = sorted(set(state) - set(expected))
        if wrong or extra:
            raise ValueError(f"state does not fit the architecture: missing or misshapen {wrong[:5]}, "
                             f"unexpected {extra[:5]}")
        self.config = config
        self.card: dict = {}
        self.tau_map = None
        # copies: some are scaled in place below, and arrays may share memory with a module
        p = {k: np.array(state[k], dtype=np.float32) for k in expected}
        # weights pre-transposed so each layer is one x @ w + b
        for key in [k for k in p if k.endswith(".weight") and p[k].ndim == 2]:
            p[key] = np.ascontiguousarray(p[key].T)
        width = config.stats_width
        for i in range(config.column_blocks if config.use_column_stats else 0):
            name = f"stats.column_attention.{i}"
            _fold_norm(p, f"{name}.norm", f"{name}.qkv")
            _fold_norm(p, f"{name}.norm_ff", f"{name}.ff.0")
            scale = np.float32(1.0 / math.sqrt(width // config.heads))
            p[f"{name}.qkv.weight"][:, :width] *= scale  # the queries come first
            p[f"{name}.qkv.bias"][:width] *= scale
            # softmax ignores a constant added to a whole row, so the across-side bias can be
            # subtracted from every score, leaving (same - across) on same-side pairs only
            bias = p.pop(f"{name}.side_bias")
            p[f"{name}.same_side"] = (bias[:, 1] - bias[:, 0])[:, None, None]
        self.p = p

    @classmethod
    def from_network(cls, network) -> "NumpyForward":
        """The NumPy forward of a statistics-only :class:`MISTNetwork` (its current weights)."""
        state = {k: v.detach().cpu().float().numpy() for k, v in network.state_dict().items()}
        engine = cls(network.config, state)
        engine.card = getattr(network, "card", {})
        engine.tau_map = getattr(network, "tau_map", None)
        return engine

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        weight = self.p[f"{name}.weight"]
        # one 2-D GEMM: stacked 3-D matmuls go through a slower path in NumPy
        out = x.reshape(-1, x.shape[-1]) @ weight
        out += self.p[f"{name}.bias"]
        return out.reshape(*x.shape[:-1], weight.shape[1])

    def _mlp(self, x: np.ndarray, name: str, final_gelu: bool) -> np.ndarray:
        h = self._linear(gelu(self._linear(x, f"{name}.0")), f"{name}.2")
        return gelu(h) if final_gelu else h

    def _column_attention(self, c: np.ndarray, dim_x: int, name: str) -> np.ndarray:
        b, d, w = c.shape
        heads = self.config.heads
        qkv = self._linear(_normalize(c), f"{name}.qkv").reshape(b, d, 3, heads, w // heads)
        q, k, v = qkv.transpose(2, 0, 3, 1, 4)  # each (B, H, D, e)
        scores = q @ k.transpose(0, 1, 3, 2)
        same_side = self.p[f"{name}.same_side"]
        scores[..., :dim_x, :dim_x] += same_side
        scores[..., dim_x:, dim_x:] += same_side
        scores -= scores.max(-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(-1, keepdims=True)
        c = c + self._linear((scores @ v).transpose(0, 2, 1, 3).reshape(b, d, w), f"{name}.out")
        return c + self._mlp(_normalize(c), f"{name}.ff", final_gelu=False)

    def __call__(self, x: np.ndarray, y: np.ndarray, taus=None, *, with_pair_r2: bool = False) -> tuple:
        """(mean (B,), quantiles (B, T) or None); with ``with_pair_r2`` also each dataset's largest
        squared correlation between a column of x and a column of y in normal scores (B,), which
        the pass computes anyway (:func:`largest_pair_r2`)."""
        with OneBlasThread():
            mean, quantiles, pair_r2 = self._forward(x, y, taus)
        return (mean, quantiles, pair_r2) if with_pair_r2 else (mean, quantiles)

    def _forward(self, x, y, taus):
        columns = _column_major(x, y)
        b, d, n = columns.shape
        dim_x = np.shape(x)[-1]
        canonical, summary = _statistics(columns, dim_x, self.config.input_transform)
        lags = pair_lag_statistics(columns, dim_x) if self.config.use_pair_stats else None
        # column 0 of a column's summary is its largest squared correlation with the other side
        return (*self._head(canonical, summary, n, dim_x, d - dim_x, taus, lags), summary[:b, :, 0].max(-1))

    def pairs(self, values: np.ndarray, first, second, taus=None, chunk: int = 256, *,
              with_pair_r2: bool = False) -> tuple:
        """MI of the column pairs (values[:, first[k]], values[:, second[k]]) of one table
        (N, M), as ``engine(values[None, :, [i]], values[None, :, [j]], taus)`` gives it for
        each pair, but with every column ranked once and the pairs' statistics from matrix
        products (:func:`pair_summary`); the network runs on ``chunk`` pairs at a time (small
        enough for its activations to stay in cache: 256 pairs took 0.9-1.0 s for 19,900 pairs,
        8,192 took 1.3 s).
        Returns mean (P,) and quantiles (P, T) or None; with ``with_pair_r2`` also each pair's
        squared correlation in normal scores (P,)."""
        first, second = np.asarray(first, dtype=np.intp), np.asarray(second, dtype=np.intp)
        with OneBlasThread():
            n = values.shape[0]
            columns = np.ascontiguousarray(np.asarray(values).T, dtype=np.float32)[None]
            z = (column_normal_scores(columns) if self.config.input_transform == "rank" else standardize(columns))[0]
            stats = [pair_summary(v, first, second) for v in (z, z * z - 1.0)]  # scores, squared scores
            lags = table_pair_lags(columns[0], first, second) if self.config.use_pair_stats else None
            outputs = [self._head(np.concatenate([c[start:start + chunk] for c, _ in stats]),
                                  np.concatenate([m[start:start + chunk] for _, m in stats]), n, 1, 1, taus,
                                  None if lags is None else tuple(v[start:start + chunk] for v in lags))
                       for start in range(0, len(first), chunk)]
        mean = np.concatenate([m for m, _ in outputs]) if outputs else np.zeros(0)
        quantiles = None
        if taus is not None:
            quantiles = np.concatenate([q for _, q in outputs]) if outputs else np.zeros((0, len(taus)))
        return (mean, quantiles, stats[0][1][:, 0, 0]) if with_pair_r2 else (mean, quantiles)

    def _pairs(self, lags, ctx) -> np.ndarray:
        """The pair branch (:class:`mist.model.network.PairBranch`): lags = (xy (B, dx, dy, L),
        yx (B, dy, dx, L)) -> what it adds to the column tokens (B, D, W)."""
        xy, yx = lags
        pooled = []
        for own, other in ((xy, yx.transpose(0, 2, 1, 3)), (yx, xy.transpose(0, 2, 1, 3))):
            b, s, t, _ = own.shape
            feats = np.concatenate([own, other, np.broadcast_to(ctx[:, None, None, :], (b, s, t, CONTEXT_WIDTH))],
                                   axis=-1)
            e = self._mlp(feats, "stats.pairs.pair", final_gelu=True)
            pooled.append(np.concatenate([e.mean(2), e.max(2)], axis=-1))
        return self._linear(np.concatenate(pooled, axis=1), "stats.pairs.into_column")

    def _head(self, canonical, summary, n, dim_x, dim_y, taus, lags=None):
        """Everything after the statistics of B datasets of one shape: canonical (2B, k) and
        column summaries (2B, D, 7), scores' first and squared scores' second; the pair lags
        (:func:`mist.model.lags.pair_lag_statistics`) for a network with the pair branch."""
        b = canonical.shape[0] // 2
        d = dim_x + dim_y
        ctx = np.broadcast_to(_context_row(n, dim_x, dim_y), (b, CONTEXT_WIDTH))
        r1, r2 = canonical[:b], canonical[b:]
        k = r1.shape[1]
        info1, info2 = -0.5 * np.log1p(-r1 * r1), -0.5 * np.log1p(-r2 * r2)
        position = np.broadcast_to(((np.arange(k) + 0.5) / k).astype(np.float32), r1.shape)
        feats = np.stack([r1, r2, info1, info2, position, np.full_like(r1, 1.0 / k)], axis=-1)
        feats = np.concatenate([feats, np.broadcast_to(ctx[:, None, :], (b, k, CONTEXT_WIDTH))], axis=-1)
        e = self._mlp(feats, "stats.element", final_gelu=True)
        parts = [ctx, e.sum(1) / 8.0, e.mean(1)]
        if self.config.use_column_stats:
            cf = np.concatenate([summary[:b], summary[b:], np.broadcast_to(ctx[:, None, :], (b, d, CONTEXT_WIDTH))],
                                axis=-1)
            c = self._mlp(cf, "stats.columns", final_gelu=False)
            if self.config.use_pair_stats:
                c = c + self._pairs(lags, ctx)
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


def _fold_norm(p: dict, norm: str, linear: str) -> None:
    """Fold layer norm ``norm``'s scale g and shift s into the linear layer (weight W, (in, out);
    bias c) it feeds: (xhat * g + s) W + c = xhat (g W) + (s W + c)."""
    scale, shift = p.pop(f"{norm}.weight"), p.pop(f"{norm}.bias")
    weight = p[f"{linear}.weight"]
    p[f"{linear}.bias"] = (shift @ weight + p[f"{linear}.bias"]).astype(np.float32)
    p[f"{linear}.weight"] = np.ascontiguousarray(scale[:, None] * weight, dtype=np.float32)


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
    engine = NumpyForward.from_network(network)
    _ENGINES[network] = (tensors, _stamp(tensors), engine)
    return engine


def _stamp(tensors) -> tuple:
    return tuple((t._version, t.data_ptr()) for t in tensors)


__all__ = ["NumpyForward", "numpy_forward_for", "supports", "state_shapes", "normal_scores", "column_normal_scores",
           "copula_summary", "pair_summary", "largest_pair_r2", "strongest_pair", "standardize"]
