import numpy as np
import pytest
import torch

from mist.distributions import gaussian_mi, student_t_correction
from mist.distributions.conditional import (SPLITS, mixing_matrix, gaussian_cmi, sample_conditional, student_cmi)


def _random_covariance(d, rng):
    a = rng.normal(size=(d, 2 * d))
    return a @ a.T / (2 * d) + 0.1 * np.eye(d)


@pytest.mark.parametrize("dims", [(1, 1, 1), (2, 3, 4), (3, 1, 2)])
def test_gaussian_cmi_is_the_chain_rule_of_two_mis(dims):
    dx, dy, dz = dims
    s = _random_covariance(dx + dy + dz, np.random.default_rng(sum(dims)))
    x_yz = float(gaussian_mi(torch.tensor(s), dx))  # I(X; Y,Z): X first, then Y and Z
    xz = np.r_[0:dx, dx + dy:dx + dy + dz]
    x_z = float(gaussian_mi(torch.tensor(s[np.ix_(xz, xz)]), dx))
    assert gaussian_cmi(s, dx, dy) == pytest.approx(x_yz - x_z, abs=1e-10)
    # without Z it is the MI, and it is symmetric in X and Y
    assert gaussian_cmi(s[:dx + dy, :dx + dy], dx, dy) == pytest.approx(float(gaussian_mi(torch.tensor(s[:dx + dy, :dx + dy]), dx)))
    order = np.r_[dx:dx + dy, 0:dx, dx + dy:dx + dy + dz]
    assert gaussian_cmi(s[np.ix_(order, order)], dy, dx) == pytest.approx(gaussian_cmi(s, dx, dy), abs=1e-10)


def test_student_cmi_without_z_is_the_student_mi():
    s = _random_covariance(5, np.random.default_rng(0))
    expected = float(gaussian_mi(torch.tensor(s), 2) + student_t_correction(torch.tensor(3.0, dtype=torch.float64), 2, 3))
    assert student_cmi(s, 2, 3, 3.0) == pytest.approx(expected, abs=1e-10)


def test_structures_give_the_dependence_they_name():
    rng = np.random.default_rng(1)
    for _ in range(5):
        w = mixing_matrix("chain", 2, 3, 2, rng)  # X -> Z -> Y: independent given Z, dependent without it
        s = w @ w.T
        assert abs(gaussian_cmi(s, 2, 3)) < 1e-10 and gaussian_cmi(s[:5, :5], 2, 3) > 1e-3
        w = mixing_matrix("collider", 2, 3, 2, rng)  # X, Y independent; given Z dependent
        s = w @ w.T
        assert abs(gaussian_cmi(s[:5, :5], 2, 3)) < 1e-10 and gaussian_cmi(s, 2, 3) > 1e-3


def test_samples_match_their_exact_cmi():
    from mist.estimators.ksg import frenzel_pompe

    rng = np.random.default_rng(2)
    for split in SPLITS:
        d = sample_conditional(4000, 1, 1, 1, rng, split=split, base="normal", structure="common", transform="base")
        assert d.x.shape == (4000, 1) and d.y.shape == (4000, 1) and d.z.shape == (4000, 1)
        assert frenzel_pompe(d.x, d.y, d.z) == pytest.approx(d.cmi, abs=0.03)
    d = sample_conditional(300, 2, 3, 4, rng, split="heldout")
    assert d.family.split("-")[0] in SPLITS["heldout"]["bases"] and d.cmi >= 0
    assert d.x.shape == (300, 2) and d.y.shape == (300, 3) and d.z.shape == (300, 4)
