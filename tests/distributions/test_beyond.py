import numpy as np
import pytest

from mist.distributions import gaussian_mi
from mist.distributions.beyond import flip_middle, noisy_function_mi, random_rotation, rotate, sample_gaussian_mixture


def test_rotation_is_orthogonal_and_mixes():
    rng = np.random.default_rng(0)
    q = random_rotation(4, rng)
    np.testing.assert_allclose(q @ q.T, np.eye(4), atol=1e-10)
    assert np.abs(q - np.eye(4)).max() > 0.1
    x, y = rng.normal(size=(50, 4)), rng.normal(size=(50, 1))
    rx, ry = rotate(x, y, rng)
    np.testing.assert_allclose(np.linalg.norm(rx, axis=1), np.linalg.norm(x, axis=1))
    np.testing.assert_array_equal(ry, y)  # one coordinate: the only rotation is the identity


def test_flip_middle_is_a_non_monotone_bijection():
    t = np.linspace(-3, 3, 601)
    f = flip_middle(t)
    np.testing.assert_array_equal(flip_middle(f), t)  # its own inverse
    assert np.any(np.diff(f) < 0) and np.any(np.diff(f) > 0)


def test_single_component_mixture_matches_the_gaussian_formula():
    import torch

    rng = np.random.default_rng(1)
    s = sample_gaussian_mixture(10, 2, 3, rng, components=1, mc_samples=20_000)
    # rebuild the component: the same rng stream as sample_gaussian_mixture's first draws
    rng = np.random.default_rng(1)
    rng.dirichlet(np.full(1, 2.0))
    rng.normal(size=(1, 5))
    a = rng.normal(size=(5, 10)) / np.sqrt(10)
    cov = a @ a.T + 0.1 * np.eye(5)
    exact = float(gaussian_mi(torch.tensor(cov)[None], 2)[0])
    assert s.mi == pytest.approx(exact, abs=4 * s.mi_standard_error + 1e-3)
    assert s.x.shape == (10, 2) and s.y.shape == (10, 3)


def test_mixture_mi_is_positive_and_precise():
    s = sample_gaussian_mixture(100, 2, 2, np.random.default_rng(2))
    assert s.mi > 0 and s.mi_standard_error < 0.02


def test_noisy_function_mi_matches_the_gaussian_formula_and_orders_noise():
    for slope, noise in ((1.0, 1.0), (2.0, 0.1), (0.5, 0.3)):
        assert noisy_function_mi(lambda t: slope * t, noise) == pytest.approx(0.5 * np.log1p(slope**2 / noise**2), abs=1e-6)
    # x^2 loses the sign of x: less MI than x alone at the same noise, and less with more noise
    square = [noisy_function_mi(np.square, s) for s in (0.1, 0.3, 1.0)]
    assert square[0] > square[1] > square[2] > 0
    assert noisy_function_mi(np.square, 0.3, points=12001) == pytest.approx(square[1], abs=1e-6)
    with pytest.raises(ValueError, match="noise_sd"):
        noisy_function_mi(np.square, 0.0)
