import warnings

import numpy as np
import pandas as pd
import pytest

import mist
from mist.discrete import class_codes, label_entropy, occurrences
from mist.errors import MistError, MistWarning


@pytest.fixture
def labelled():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    x = rng.normal(size=(600, 1)) + 1.5 * y[:, None]
    return x, y


def test_a_class_label_gives_an_estimate_with_an_interval(labelled):
    from mist.estimators.ksg import ross_mi

    x, y = labelled
    r = mist.estimate(x, y, discrete="y")
    assert "dequantized" in [f.kind for f in r.findings] and r.dim_y == 1
    assert 0 < r.low <= r.estimate <= r.high <= label_entropy(class_codes(y, "y"))
    assert r.estimate == pytest.approx(ross_mi(x, y), abs=0.15)
    names = np.array(["low", "mid", "high"])[y]  # string labels: the same classes, coded in another order
    assert mist.estimate(x, names, discrete="y").estimate == pytest.approx(r.estimate, abs=0.05)
    order = np.random.default_rng(1).permutation(600)
    assert mist.estimate(x[order], y[order], discrete="y") == r


def test_two_labels_and_a_copy(labelled):
    _, y = labelled
    r = mist.estimate(y, y, discrete="both")
    assert r.estimate <= label_entropy(class_codes(y, "y")) + 1e-12
    assert r.estimate > 0.8 * np.log(3)  # a label with its copy: MI = H(Y) = log 3 nearly


def test_an_estimate_above_the_entropy_is_capped_and_warned(labelled, monkeypatch):
    import dataclasses

    import mist.discrete

    x, y = labelled
    honest = mist.discrete.estimate_many

    def inflated(pairs, **options):  # a model that overestimates tenfold
        return [dataclasses.replace(r, estimate=10 * r.estimate, quantile_grid=tuple((t, 10 * v) for t, v in r.quantile_grid))
                for r in honest(pairs, **options)]

    monkeypatch.setattr(mist.discrete, "estimate_many", inflated)
    with pytest.warns(MistWarning, match="exceeds the entropy"):
        r = mist.estimate(x, y, discrete="y", base=2)
    cap = label_entropy(class_codes(y, "y")) / np.log(2)
    assert r.estimate == pytest.approx(cap) and r.high == pytest.approx(cap) and r.unit == "bits"
    assert "entropy-cap" in [f.kind for f in r.findings]


def test_bad_labels_get_clear_errors(labelled):
    x, y = labelled
    with pytest.raises(MistError, match="one class only"):
        mist.estimate(x, np.zeros(600), discrete="y")
    with pytest.raises(MistError, match="too many for a discrete"):
        mist.estimate(x, np.arange(600.0), discrete="y")
    with pytest.raises(MistError, match="missing label"):
        mist.estimate(x, pd.Series(y, dtype="float").where(np.arange(600) != 5), discrete="y")
    with pytest.raises(MistError, match="`discrete`"):
        mist.estimate(x, y, discrete="z")
    with pytest.raises(MistError, match="same number of samples"):
        mist.estimate(x, y[:10], discrete="y")


def test_mutual_info_score_with_a_discrete_target(labelled):
    x, y = labelled
    rng = np.random.default_rng(3)
    features = np.hstack([x, rng.normal(size=(600, 2))])
    with warnings.catch_warnings():
        warnings.simplefilter("error", MistWarning)
        scores = mist.mutual_info_score(features, y, discrete_target=True)
    assert scores.shape == (3,) and scores[0] > 0.3 and (scores[1:] < 0.05).all()
    assert scores[0] == pytest.approx(mist.estimate(x, y, discrete="y").estimate, abs=0.05)


def test_occurrences_number_equal_rows():
    rows = np.array([[1.0, 2.0], [0.0, 0.0], [1.0, 2.0], [1.0, 2.0], [0.0, 0.0]])
    assert occurrences(rows).tolist() == [0, 0, 1, 2, 1]
