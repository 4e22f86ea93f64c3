"""The pair lag statistics: what they measure, and the NumPy and PyTorch twins agreeing."""

import numpy as np
import pytest
import torch

from mist.model import canonical
from mist.model.config import PAIR_LAGS
from mist.model.lags import pair_lag_statistics, table_pair_lags


def torch_lags(values: np.ndarray, dim_x: int, mask=None):
    v = torch.tensor(values, dtype=torch.float32)
    mask = torch.ones(v.shape[:2], dtype=torch.bool) if mask is None else mask
    return [t.numpy() for t in canonical.pair_lags(v, mask, dim_x)]


def column_major(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values.transpose(0, 2, 1), dtype=np.float32)


def data(seed=0, b=3, n=80):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(b, n, 2))
    y = np.concatenate([x[..., :1] ** 2 + 0.2 * rng.normal(size=(b, n, 1)), rng.normal(size=(b, n, 2))], -1)
    return np.concatenate([x, y], -1)


def test_lags_see_a_relation_rank_correlation_misses():
    values = data(n=400)
    xy, yx = pair_lag_statistics(column_major(values), 2)
    # x^2 pair: rank correlation about 0, yet neighbours in x stay close in y
    assert abs(np.corrcoef(values[0, :, 0], values[0, :, 2])[0, 1]) < 0.2
    assert xy[:, 0, 0, 0].max() < -0.5
    # independent pairs sit near 0 at every lag
    assert np.abs(xy[:, 1, 1]).max() < 0.25 and np.abs(yx[:, 1, 1]).max() < 0.25
    # y -> x of y = x^2: one y has two x's (+-), so the gaps stay wider than x -> y's
    assert (yx[:, 0, 0, 0] > xy[:, 0, 0, 0]).all()


def test_numpy_and_torch_agree_with_ties():
    values = data()
    values[..., 1] = np.round(values[..., 1] * 2) / 2  # a tied X column
    values[..., 3] = np.round(values[..., 3])  # a tied Y column
    for mine, reference in zip(pair_lag_statistics(column_major(values), 2), torch_lags(values, 2)):
        np.testing.assert_allclose(mine, reference, atol=2e-6)


@pytest.mark.parametrize("tied", [False, True])
def test_row_order_and_monotone_maps_change_nothing(tied):
    values = data(1)
    if tied:
        values[..., 0] = np.round(values[..., 0])
    perm = np.random.default_rng(2).permutation(values.shape[1])
    reference = pair_lag_statistics(column_major(values), 2)
    mapped = values[:, perm].copy()
    mapped[..., 2] = np.exp(mapped[..., 2])
    for a, b in zip(reference, pair_lag_statistics(column_major(mapped), 2)):
        np.testing.assert_array_equal(a, b)


def test_padded_rows_are_ignored_in_torch():
    values = data(3, b=2, n=50)
    padded = np.concatenate([values, np.random.default_rng(4).normal(size=(2, 30, values.shape[-1]))], axis=1)
    mask = torch.zeros(2, 80, dtype=torch.bool)
    mask[:, :50] = True
    for a, b in zip(torch_lags(values, 2), torch_lags(padded, 2, mask)):
        np.testing.assert_allclose(a, b, atol=2e-6)


def test_lags_longer_than_the_data_read_zero():
    values = data(b=1, n=10)
    xy, _ = pair_lag_statistics(column_major(values), 2)
    assert (xy[..., [i for i, lag in enumerate(PAIR_LAGS) if lag >= 10]] == 0).all()
    np.testing.assert_allclose(xy, torch_lags(values, 2)[0], atol=2e-6)


def test_table_pairs_match_two_column_datasets():
    values = data(5, b=1, n=120)[0]
    values[:, 1] = np.round(values[:, 1])
    first, second = np.triu_indices(values.shape[1], k=1)
    xy, yx = table_pair_lags(values.T, first, second)
    for k, (i, j) in enumerate(zip(first, second)):
        a, b = pair_lag_statistics(column_major(values[None][..., [i, j]]), 1)
        np.testing.assert_allclose(xy[k], a[0], atol=2e-6)  # float32 sums in another order
        np.testing.assert_allclose(yx[k], b[0], atol=2e-6)
