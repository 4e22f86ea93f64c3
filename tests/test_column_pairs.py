"""The table engine: column preparation and the pair path against estimate_many pair by pair."""

import warnings

import numpy as np
import pytest

from mist.column_pairs import (PairEstimates, check_table_shape, column_findings, column_pair_estimates,
                               pairs_one_by_one)
from mist.errors import MistError, MistWarning


def test_the_pair_path_gives_what_estimate_many_gives_pair_by_pair():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(2, 300))
    table = np.column_stack([a, a**2 + 0.3 * b, np.ones(300), rng.integers(0, 4, 300), b])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MistWarning)
        values, distinct, found = column_findings(table, list("abcde"), stacklevel=1)
        first, second = np.triu_indices(5, k=1)
        fast = column_pair_estimates(values, first, second, model="default", device=None, level=0.9, distinct=distinct)
        slow = pairs_one_by_one([(values[:, i], values[:, j]) for i, j in zip(first, second)], model="default",
                                device=None)
    assert [f.kind for f in found] == ["constant-columns", "discrete"]
    assert distinct[2] == 1 and distinct[3] == 4
    # the model-free lower bound assumes continuous marginals: the pair path gives none where a
    # column looks discrete; estimate_many, handed the columns with their ties broken, cannot tell
    discrete = (first == 3) | (second == 3)
    assert np.isnan(fast.lower_bound[discrete]).all() and not fast.beyond[discrete].any()
    for name, f, s in zip(PairEstimates._fields, fast.take(~discrete), slow.take(~discrete)):
        np.testing.assert_allclose(f, s, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(fast.estimate, slow.estimate, atol=1e-5)
    constant = (first == 2) | (second == 2)
    assert (fast.estimate[constant] == 0).all() and fast.estimate[(first == 0) & (second == 1)] > 0.5


def test_the_pair_path_declines_what_it_does_not_serve(test_model_card):
    values = np.random.default_rng(0).normal(size=(50, 3))
    distinct = np.full(3, 50)
    for model in ("ksg", test_model_card):  # KSG, and a model with a cell trunk (PyTorch only)
        assert column_pair_estimates(values, [0], [1], model=model, device=None, level=0.9, distinct=distinct) is None


def test_a_table_needs_two_columns_and_enough_rows():
    check_table_shape(10, 2)
    check_table_shape(None, 2)  # rows not known yet (Dask)
    with pytest.raises(MistError, match="at least 2 columns"):
        check_table_shape(100, 1)
    with pytest.raises(MistError, match="samples are needed"):
        check_table_shape(2, 5)
