import numpy as np
import pytest

from mist.distributions.classes import sample_class_conditional, sample_label_pair, table_mi


def test_table_mi():
    assert table_mi(np.eye(3) / 3) == pytest.approx(np.log(3))  # a label and its copy
    assert table_mi(np.full((2, 5), 0.1)) == pytest.approx(0.0, abs=1e-15)  # independent
    p = np.array([[0.4, 0.1], [0.1, 0.4]])
    assert table_mi(p) == pytest.approx(0.8 * np.log(1.6) + 0.2 * np.log(0.4))


def test_class_conditional_mi_is_within_its_bounds_and_its_error():
    rng = np.random.default_rng(0)
    far = sample_class_conditional(500, 2, 3, rng, separation=50.0)  # classes apart: MI = H(Y)
    shares = np.bincount(far.y, minlength=3) / 500
    assert far.mi == pytest.approx(-(shares * np.log(shares)).sum(), abs=0.05)
    near = sample_class_conditional(500, 2, 3, rng, separation=0.0)  # same means: a little MI from the covariances
    assert 0.0 <= near.mi < far.mi and near.mi_standard_error < 0.01
    s = sample_class_conditional(300, 4, 5, rng, base="student", transform="halfcube")
    assert s.x.shape == (300, 4) and s.y.shape == (300,) and set(np.unique(s.y)) <= set(range(5))
    assert s.family == "classes-student-halfcube"


def test_label_pair_draws_from_its_table():
    rng = np.random.default_rng(1)
    s = sample_label_pair(200_000, 3, 4, rng)
    counts = np.zeros((3, 4))
    np.add.at(counts, (s.x, s.y), 1)
    assert table_mi(counts) == pytest.approx(s.mi, abs=0.01)  # the plug-in on many rows
