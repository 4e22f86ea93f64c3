import numpy as np
import pytest

from mist.evaluation.markdown import markdown_table
from mist.evaluation.metrics import mse_table


def test_mse_table_overall_and_by_group():
    truth = np.array([1.0, 2.0, 0.5])
    table = mse_table(truth, {"a": [1.5, 2.0, 0.5]}, np.array(["u", "u", "v"]), total=True)
    assert table.loc["u", "a"] == pytest.approx(0.125) and table.loc["v", "a"] == 0.0
    assert table.loc["all", "a"] == pytest.approx(0.25 / 3)
    assert mse_table(truth, {"a": [1.5, 2.0, 0.5]}).loc["all", "a"] == pytest.approx(0.25 / 3)


def test_mse_table_marks_a_diverged_estimator_instead_of_averaging_it():
    truth = np.array([1.0, 2.0, 0.5, 0.1])
    predictions = {"good": [1.1, 1.8, 0.5, 0.2], "neural": [1.0, 2.0, 3e11, np.inf], "subset": [np.nan, 2.5, np.nan, 0.1]}
    table = mse_table(truth, predictions, np.array(["a", "a", "b", "b"]), total=True)
    assert table.loc["a", "neural"] == 0.0 and table.loc["b", "neural"] == "diverged"
    assert table.loc["all", "neural"] == "diverged"
    assert table.loc["all", "good"] == pytest.approx(np.mean([0.01, 0.04, 0.0, 0.01]))
    # NaN: not run on that dataset, left out (the neural estimators run on a share of each grid)
    assert table.loc["a", "subset"] == pytest.approx(0.25) and table.loc["b", "subset"] == 0.0
    assert "| b | 0.005 | diverged | 0.000 |" in markdown_table(table)
