"""Exact MI against the reference values of the design file (computed by the BMI library)."""

import math

import pytest
import torch

from mist.distributions import Family, additive_uniform_noise_mi, gaussian_mi, student_t_correction
from mist.distributions.structures import dense_correlation, sparse_correlation

# BMI reference values are printed to 4 decimals: 1e-4 tolerance
TOL = 1e-4


@pytest.mark.parametrize("d, expected", [(2, 0.2939), (3, 0.4133), (5, 0.5928), (25, 1.2922), (50, 1.6243)])
def test_dense_reference(d, expected):
    corr = dense_correlation(torch.tensor([0.5]), d, d)
    assert gaussian_mi(corr, d).item() == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("dx, dy, c", [(1, 1, 0.3), (3, 7, 0.45), (32, 32, 0.1), (1, 20, 0.49)])
def test_dense_closed_form(dx, dy, c):
    closed = 0.5 * math.log((1 + (dx - 1) * c) * (1 + (dy - 1) * c) / ((1 - c) * (1 + (dx + dy - 1) * c)))
    corr = dense_correlation(torch.tensor([c], dtype=torch.float64), dx, dy)
    assert gaussian_mi(corr, dx).item() == pytest.approx(closed, rel=1e-10)


@pytest.mark.parametrize("dx, dy", [(2, 2), (5, 3), (32, 32)])
def test_two_pair_reference(dx, dy):
    corr = sparse_correlation(torch.tensor([2]), torch.tensor([2.0]), dx, dy)
    assert gaussian_mi(corr, dx).item() == pytest.approx(1.0217, abs=TOL)


def test_bivariate_normal():
    corr = torch.tensor([[[1.0, 0.75], [0.75, 1.0]]], dtype=torch.float64)
    assert gaussian_mi(corr, 1).item() == pytest.approx(0.4133, abs=TOL)


@pytest.mark.parametrize(
    "dx, dy, nu, expected",
    [(1, 1, 1, 0.2242), (2, 2, 1, 0.4319), (2, 2, 2, 0.1931), (3, 3, 2, 0.2909), (3, 3, 3, 0.1787),
     (5, 5, 2, 0.4482), (5, 5, 3, 0.2985), (2, 3, 1, 0.5)],
)
def test_student_identity_dispersion(dx, dy, nu, expected):
    # identity dispersion: X and Y uncorrelated, all MI is the Student correction
    assert student_t_correction(torch.tensor([float(nu)]), dx, dy).item() == pytest.approx(expected, abs=TOL)


def test_student_correction_large_df_is_finite_and_vanishes():
    c = student_t_correction(torch.tensor([1e6]), 32, 32).item()
    assert math.isfinite(c) and 0 < c < 1e-3


@pytest.mark.parametrize("eps, expected", [(0.1, 1.7094), (0.75, 0.3333)])
def test_additive_noise_reference(eps, expected):
    assert additive_uniform_noise_mi(torch.tensor([[eps]])).item() == pytest.approx(expected, abs=TOL)


def test_additive_noise_sums_over_coordinates():
    eps = torch.tensor([[0.1, 0.75, 2.0]])
    assert additive_uniform_noise_mi(eps).item() == pytest.approx(1.7094 + 0.3333 + 1 / 8, abs=2 * TOL)


def test_sparse_mi_closed_form_with_unequal_dims():
    s, k = torch.tensor([1.5, 4.0], dtype=torch.float64), torch.tensor([1, 3])
    rho = s**2 / (1 + s**2)
    expected = -(k / 2) * torch.log(1 - rho**2)
    got = gaussian_mi(sparse_correlation(k, s, 4, 9), 4)
    assert torch.allclose(got, expected, rtol=1e-10)


def test_family_mi_of_student_adds_correction():
    fam = Family.from_name("multi_student-dense-base")
    params = {"corr": dense_correlation(torch.tensor([0.3]), 3, 2), "df": torch.tensor([4.0])}
    expected = gaussian_mi(params["corr"], 3) + student_t_correction(params["df"], 3, 2)
    assert torch.allclose(fam.mutual_information(params, 3, 2), expected)
