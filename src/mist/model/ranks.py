"""Ranks and normal scores of columns in NumPy: the one rank rule of the CPU path.

Every column's values are sorted once (packed integer keys, :func:`_sort_columns`); ties get
their average rank; normal scores are Phi^-1((rank + 1/2) / n) from a lookup table. The PyTorch
twin is :func:`mist.model.canonical.column_ranks`; tests/model/test_numpy_forward.py checks both.
"""

from __future__ import annotations

import sys
from functools import lru_cache

import numpy as np
from scipy.special import ndtri

# the two 32-bit halves of a uint64 in memory: (low word, high word)
_LOW, _HIGH = (0, 1) if sys.byteorder == "little" else (1, 0)


@lru_cache(maxsize=64)
def half_rank_scores(n: int) -> np.ndarray:
    """Phi^-1((r + 1/2) / n) for every average rank r = 0, 1/2, 1, ..., n - 1 (index 2r)."""
    return ndtri((np.arange(2 * n - 1) / 2.0 + 0.5) / n).astype(np.float32)


def _sort_columns(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row of a float32 array (R, N): (order, sorted-value keys), both uint32 (R, N).

    One sort of uint64 keys (an order-preserving integer image of the value in the high 32 bits,
    the position in the low bits) instead of an argsort: about twice as fast, and equal values
    stay equal (-0.0 is first made +0.0).
    """
    bits = (columns + np.float32(0.0)).view(np.int32)
    packed = (bits ^ ((bits >> 31) | np.int32(-(2**31)))).view(np.uint32).astype(np.uint64)
    packed <<= np.uint64(32)
    packed |= np.arange(columns.shape[-1], dtype=np.uint64)
    packed.sort(axis=-1)
    words = packed.view(np.uint32).reshape(*packed.shape, 2)
    return words[..., _LOW], words[..., _HIGH]


def _tied_ranks(tied: np.ndarray) -> np.ndarray:
    """Twice the average rank at each sorted position, (R, N), from tied (R, N - 1): whether
    each sorted value equals the next."""
    r, n = tied.shape[0], tied.shape[1] + 1
    position = np.broadcast_to(np.arange(n), (r, n))
    starts = np.ones((r, n), dtype=bool)
    starts[:, 1:] = ~tied
    ends = np.ones((r, n), dtype=bool)
    ends[:, :-1] = ~tied
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=-1)
    last = np.minimum.accumulate(np.where(ends, position, n - 1)[:, ::-1], axis=-1)[:, ::-1]
    return first + last


def _tie_ranks(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the rows of sorted keys (R, N) that hold ties, twice the average rank at each sorted
    position of those rows): ties are resolved only where there are some."""
    tied = ordered[:, 1:] == ordered[:, :-1]
    rows = np.flatnonzero(tied.any(-1))
    if not rows.size:  # the usual case: skip the accumulations
        return rows, np.zeros((0, ordered.shape[1]), dtype=np.intp)
    return rows, _tied_ranks(tied[rows])


def column_normal_scores(columns: np.ndarray) -> np.ndarray:
    """Per-column normal scores Phi^-1((rank + 1/2) / n), ties given their average rank.

    Column-major: (B, D, N) float32 -> (B, D, N) float32.
    """
    b, d, n = columns.shape
    order, ordered = _sort_columns(columns.reshape(b * d, n))
    table = half_rank_scores(n)
    sorted_scores = np.empty((b * d, n), dtype=np.float32)
    sorted_scores[:] = table[::2]  # a copy, not a gather: twice as fast as indexing by ranks
    rows, tied_ranks = _tie_ranks(ordered)
    if rows.size:  # average rank r sits at index 2r of the table
        sorted_scores[rows] = table[tied_ranks]
    return scatter_rows(order, sorted_scores).reshape(b, d, n)


def sorted_twice_ranks(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(order, 2 x average rank at each sorted position, the rows with ties) of each row of
    (R, N): the sort of :func:`_sort_columns`, ties resolved only in the rows that have them."""
    r, n = columns.shape
    order, ordered = _sort_columns(columns)
    twice_rank = np.broadcast_to(np.arange(0, 2 * n, 2, dtype=np.int32), (r, n)).copy()
    rows, tied_ranks = _tie_ranks(ordered)
    twice_rank[rows] = tied_ranks
    return order, twice_rank, rows


def scatter_rows(order: np.ndarray, sorted_values: np.ndarray) -> np.ndarray:
    """Values given in each row's sorted order (R, N) back in row order, through flat indices
    (several times faster than put_along_axis)."""
    r, n = order.shape
    out = np.empty(r * n, dtype=sorted_values.dtype)
    out[order + np.arange(0, r * n, n)[:, None]] = sorted_values
    return out.reshape(r, n)


__all__ = ["half_rank_scores", "column_normal_scores", "sorted_twice_ranks", "scatter_rows"]
