"""The pair lag statistics in NumPy, as :func:`mist.model.canonical.pair_lags` computes them.

For a source column s and a partner column t: read t's ranks in s's sorted order and average,
for each lag l, log(max(|rank gap of rows l apart|, 1/2) / n), minus its value for independent
columns (INDEPENDENT_LOG_GAP). Within ties of s, rows follow t's rank, so the result depends on
the rows' content only. Ranks are handled as twice the average rank (integers), so a gap of
g twice-rank units is log(max(g, 1) / 2n).

Layout, for speed: the gathered ranks are (B, N, S, T), rows first, so that every lag's
differences and sums run over contiguous blocks; ranks are int16 where 2n fits.
"""

from __future__ import annotations

import numpy as np

from mist.model.config import INDEPENDENT_LOG_GAP, PAIR_LAGS
from mist.model.ranks import scatter_rows, sorted_twice_ranks


def _ranks_and_orders(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(twice ranks in row order, sort orders, tied rows) of columns (R, N); ranks int16 where
    they fit."""
    order, twice_sorted, tied = sorted_twice_ranks(columns)
    twice = scatter_rows(order, twice_sorted)
    if 2 * columns.shape[-1] < np.iinfo(np.int16).max:
        twice = twice.astype(np.int16)
    return twice, order.astype(np.intp), tied


def _lags(g: np.ndarray, n: int, lags: tuple[int, ...]) -> np.ndarray:
    """g (B, N, ...) twice ranks in source order, rows on axis 1 -> (B, ..., len(lags)) float32."""
    out = np.zeros((g.shape[0], *g.shape[2:], len(lags)), dtype=np.float32)
    shift = np.float32(np.log(2.0 * n) + INDEPENDENT_LOG_GAP)
    gap = np.empty_like(g)
    logs = np.empty(g.shape, dtype=np.float32)
    for i, lag in enumerate(lags):
        if lag >= n:
            continue
        d, f = gap[:, :n - lag], logs[:, :n - lag]
        np.subtract(g[:, lag:], g[:, :-lag], out=d)
        np.abs(d, out=d)
        np.maximum(d, 1, out=d)
        np.log(d, out=f)
        out[..., i] = f.sum(1) / np.float32(n - lag) - shift
    return out


def _tie_break(twice: np.ndarray, source: np.ndarray, partners: np.ndarray) -> np.ndarray:
    """The partners' ranks (T, N) read in the order of a tied source (N,), its ties broken by
    each partner's rank."""
    n = twice.shape[-1] if twice.ndim > 1 else len(source)
    key = source.astype(np.int64)[None, :] * (2 * n) + partners
    return np.take_along_axis(partners, np.argsort(key, axis=-1, kind="stable"), axis=-1)


def pair_lag_statistics(columns: np.ndarray, dim_x: int,
                        lags: tuple[int, ...] = PAIR_LAGS) -> tuple[np.ndarray, np.ndarray]:
    """Column-major (B, D, N) -> (xy (B, dim_x, dim_y, L): X sorted, Y's gaps; yx (B, dim_y,
    dim_x, L): Y sorted, X's gaps), float32."""
    b, d, n = columns.shape
    twice, order, tied = _ranks_and_orders(columns.reshape(b * d, n))
    twice, order = twice.reshape(b, d, n), order.reshape(b, d, n)
    rows_first = np.ascontiguousarray(twice.transpose(0, 2, 1))  # (B, N, D)
    batch = np.arange(b)[:, None, None]
    out = []
    for sources, partners in ((slice(0, dim_x), slice(dim_x, d)), (slice(dim_x, d), slice(0, dim_x))):
        # g[b, i, s, t]: partner t's rank at the i-th row of source s's order
        g = rows_first[batch, order[:, sources].transpose(0, 2, 1), partners]
        for k in tied:  # rare: discrete-valued columns
            db, column = divmod(int(k), d)
            if sources.start <= column < sources.stop:
                g[db, :, column - sources.start, :] = _tie_break(twice[db], twice[db, column], twice[db, partners]).T
        out.append(_lags(g, n, lags))
    return out[0], out[1]


def table_pair_lags(columns: np.ndarray, first, second,
                    lags: tuple[int, ...] = PAIR_LAGS) -> tuple[np.ndarray, np.ndarray]:
    """The pair lags of the two-column datasets (columns[first[k]], columns[second[k]]) of one
    table (M, N), each column ranked once: (xy (P, 1, 1, L), yx (P, 1, 1, L))."""
    n = columns.shape[-1]
    twice, order, tied = _ranks_and_orders(np.ascontiguousarray(columns, dtype=np.float32))
    first, second = np.asarray(first, dtype=np.intp), np.asarray(second, dtype=np.intp)
    rows_first = np.ascontiguousarray(twice.T)  # (N, M)
    out = []
    for sources, partners in ((first, second), (second, first)):
        g = rows_first[order[sources].T, partners[None, :]]  # (N, P)
        for p in np.flatnonzero(np.isin(sources, tied)):
            g[:, p] = _tie_break(twice, twice[sources[p]], twice[partners[p]][None, :])[0]
        out.append(_lags(g[None], n, lags)[0][:, None, None])
    return out[0], out[1]


__all__ = ["pair_lag_statistics", "table_pair_lags"]
