"""The pair lag statistics in NumPy, as :func:`mist.model.canonical.pair_lags` computes them.

For a source column s and a partner column t: read t's ranks in s's sorted order and average,
for each lag l, log(max(|rank gap of rows l apart|, 1/2) / n), minus its value for independent
columns (INDEPENDENT_LOG_GAP). Within ties of s, rows follow t's rank, so the result depends on
the rows' content only. Ranks are handled as twice the average rank (integers), so a gap of
g twice-rank units is log(max(g, 1) / 2n).
"""

from __future__ import annotations

import numpy as np

from mist.model.config import INDEPENDENT_LOG_GAP, PAIR_LAGS
from mist.model.ranks import scatter_rows, sorted_twice_ranks


def _ranks_and_orders(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(twice ranks in row order, sort orders, tied rows) of columns (R, N)."""
    order, twice_sorted, tied = sorted_twice_ranks(columns)
    return scatter_rows(order, twice_sorted), order.astype(np.intp), tied


def _lags(g: np.ndarray, n: int, lags: tuple[int, ...]) -> np.ndarray:
    """g (..., N) int twice ranks in source order -> (..., len(lags)) float32."""
    out = np.zeros((*g.shape[:-1], len(lags)), dtype=np.float32)
    shift = np.float32(np.log(2.0 * n) + INDEPENDENT_LOG_GAP)
    for i, lag in enumerate(lags):
        if lag >= n:
            continue
        gap = np.abs(g[..., lag:] - g[..., :-lag])
        np.maximum(gap, 1, out=gap)
        out[..., i] = np.log(gap.astype(np.float32)).mean(-1) - shift
    return out


def _partner_ranks(twice: np.ndarray, order: np.ndarray, tied: np.ndarray, sources: np.ndarray,
                   partners: np.ndarray) -> np.ndarray:
    """twice[partners[k]] read in the order of sources[k], for aligned index arrays (..., ) of
    one table's columns (R, N) -> (..., N); ties of a source broken by the partner's rank."""
    n = twice.shape[-1]
    sources, partners = np.broadcast_arrays(sources, partners)
    g = twice[partners[..., None], order[sources]]
    if tied.size:
        hit = np.isin(sources, tied)
        if hit.any():
            s, t = sources[hit], partners[hit]
            key = twice[s].astype(np.int64) * (2 * n) + twice[t]
            g[hit] = np.take_along_axis(twice[t], np.argsort(key, axis=-1, kind="stable"), axis=-1)
    return g


def pair_lag_statistics(columns: np.ndarray, dim_x: int,
                        lags: tuple[int, ...] = PAIR_LAGS) -> tuple[np.ndarray, np.ndarray]:
    """Column-major (B, D, N) -> (xy (B, dim_x, dim_y, L): X sorted, Y's gaps; yx (B, dim_y,
    dim_x, L): Y sorted, X's gaps), float32."""
    b, d, n = columns.shape
    twice, order, tied = _ranks_and_orders(columns.reshape(b * d, n))
    base = (np.arange(b) * d)[:, None, None]
    xs, ys = np.arange(dim_x), np.arange(dim_x, d)
    xy = _partner_ranks(twice, order, tied, base + xs[None, :, None], base + ys[None, None, :])
    yx = _partner_ranks(twice, order, tied, base + ys[None, :, None], base + xs[None, None, :])
    return _lags(xy, n, lags), _lags(yx, n, lags)


def table_pair_lags(columns: np.ndarray, first, second,
                    lags: tuple[int, ...] = PAIR_LAGS) -> tuple[np.ndarray, np.ndarray]:
    """The pair lags of the two-column datasets (columns[first[k]], columns[second[k]]) of one
    table (M, N), each column ranked once: (xy (P, 1, 1, L), yx (P, 1, 1, L))."""
    n = columns.shape[-1]
    twice, order, tied = _ranks_and_orders(np.ascontiguousarray(columns, dtype=np.float32))
    first, second = np.asarray(first, dtype=np.intp), np.asarray(second, dtype=np.intp)
    xy = _lags(_partner_ranks(twice, order, tied, first, second), n, lags)
    yx = _lags(_partner_ranks(twice, order, tied, second, first), n, lags)
    return xy[:, None, None], yx[:, None, None]


__all__ = ["pair_lag_statistics", "table_pair_lags"]
