import numpy as np
import pandas as pd
import pytest
import torch

from mist._validation import as_samples, check_xy
from mist.errors import MistError


def test_accepts_common_containers():
    expected = np.arange(6.0).reshape(3, 2)
    for value in (expected, expected.tolist(), pd.DataFrame(expected), torch.tensor(expected)):
        np.testing.assert_array_equal(as_samples(value, "x"), expected)
    assert as_samples(pd.Series([1, 2, 3]), "x").shape == (3, 1)
    assert as_samples([1, 2, 3], "x").shape == (3, 1)


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
