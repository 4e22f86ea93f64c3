import numpy as np
import pandas as pd
import pytest
import torch

from mist._validation import as_samples, check_xy, distinct_counts, exact_in_float32
from mist.errors import MistError


def test_accepts_common_containers():
    expected = np.arange(6.0).reshape(3, 2)
    for value in (expected, expected.tolist(), pd.DataFrame(expected), torch.tensor(expected)):
        np.testing.assert_array_equal(as_samples(value, "x"), expected)
    assert as_samples(pd.Series([1, 2, 3]), "x").shape == (3, 1)
    assert as_samples([1, 2, 3], "x").shape == (3, 1)
    # pandas' nullable arrays and an Index, and complex numbers whose imaginary parts are all 0
    for value in (pd.array([1, 2, 3], dtype="Int64"), pd.Index([1.0, 2.0, 3.0]), np.array([1, 2, 3]) + 0j,
                  pd.Series([True, False, True], dtype="boolean")):
        assert as_samples(value, "x").shape == (3, 1)


def test_float32_exactness_is_checked_and_restored():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(200, 1))
    columns = np.hstack([z, 1.7e9 + z, np.exp(60 * z), 1e300 * z, 1e-300 * z, np.round(z)])
    counts, kept = distinct_counts(columns, float32=True)
    assert counts.tolist() == [200] * 5 + [len(np.unique(np.round(z)))]
    assert kept.tolist() == [True, False, False, False, False, True]
    exact = exact_in_float32(columns, kept)
    assert np.array_equal(exact[:, [0, 5]], columns[:, [0, 5]])  # kept columns untouched
    ranks = np.argsort(np.argsort(z[:, 0]))
    for j in range(1, 5):  # same order, distinct in float32
        assert np.array_equal(np.argsort(np.argsort(exact[:, j].astype(np.float32))), ranks)


@pytest.mark.parametrize(
    "value, message",
    [
        (np.array([[1.0, np.nan], [2, 3], [4, 5]]), "non-finite value.*row 0, column 1"),
        (np.array([1.0, np.inf, 2, 3]), "non-finite"),
        (np.zeros((3, 0)), "zero columns"),
        (np.zeros((0, 2)), "zero rows"),
        (np.zeros((2, 2, 2)), "1-D .* or 2-D"),
        (np.array(["a", "b", "c"]), "real numbers"),
        ([[1, 2], [3]], "could not be read"),
        (pd.DataFrame({"a": [1, 2, 3], "b": ["u", "v", "w"]}), r"column\(s\) \['b'\]"),
        (pd.Series(pd.date_range("2020", periods=3)), "must be numeric, but its dtype is datetime64"),
        (pd.Series(["u", "v", "u"], dtype="category"), "its dtype is category"),
        (pd.array([1, None, 3], dtype="Int64"), "non-finite value.*row 1"),
        (np.array([1.0, 2.0, 3.0]) + 1j, "complex numbers; pass their real and imaginary parts"),
    ],
)
def test_rejects_bad_samples(value, message):
    with pytest.raises(MistError, match=message):
        as_samples(value, "x")


def test_pair_checks():
    with pytest.raises(MistError, match="same number of samples.*got 4 and 5"):
        check_xy(np.zeros(4), np.zeros(5))
    with pytest.raises(MistError, match="at least 3 samples"):
        check_xy(np.zeros(2), np.zeros(2))
