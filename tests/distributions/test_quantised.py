import numpy as np
import pytest
from scipy.special import ndtr

from mist.distributions.quantised import quantised_gaussian_mi, sample_quantised, sample_quantised_batch


def monte_carlo_mi(rho, thresholds, samples, rng):
    """E[log P(Q | S) - log P(Q)] over fresh draws, and its standard error."""
    t = np.concatenate([[-np.inf], thresholds, [np.inf]])
    sigma = np.sqrt(1 - rho**2)
    s = rng.normal(size=samples)
    q = np.searchsorted(thresholds, rho * s + sigma * rng.normal(size=samples))
    given = ndtr((t[q + 1] - rho * s) / sigma) - ndtr((t[q] - rho * s) / sigma)
    marginal = np.diff(ndtr(t))[q]
    terms = np.log(given) - np.log(marginal)
    return terms.mean(), terms.std() / np.sqrt(samples)


@pytest.mark.parametrize("rho, thresholds", [(0.5, [0.0]), (-0.9, [-1.0, 0.3, 0.4, 2.0]), (0.998, [-0.5, 0.1, 1.2]),
                                             (0.3, np.linspace(-2, 2, 9))])
def test_quadrature_matches_monte_carlo(rho, thresholds):
    thresholds = np.asarray(thresholds, float)
    exact = quantised_gaussian_mi(rho, thresholds)
    mc, se = monte_carlo_mi(rho, thresholds, 400_000, np.random.default_rng(0))
    assert abs(exact - mc) < 4 * se + 1e-4


def test_limits_of_the_quantised_mi():
    assert quantised_gaussian_mi(0.0, [0.0]) == 0.0
    # at most the levels' entropy and the continuous pair's MI; fine levels approach the latter
    rho = 0.8
    pair = -0.5 * np.log(1 - rho**2)
    coarse, fine = quantised_gaussian_mi(rho, [0.0]), quantised_gaussian_mi(rho, np.linspace(-5, 5, 400))
    assert coarse < np.log(2) and coarse < pair
    assert pair - 0.01 < fine <= pair + 1e-6
    # sign of rho does not matter
    assert quantised_gaussian_mi(-0.6, [-0.2, 0.7]) == pytest.approx(quantised_gaussian_mi(0.6, [-0.7, 0.2]), abs=1e-9)
    with pytest.raises(ValueError, match="rho"):
        quantised_gaussian_mi(1.0, [0.0])


def test_samples_hold_a_dequantised_discrete_column():
    rng = np.random.default_rng(1)
    for swap in (False, True):
        d = sample_quantised(500, 3, 2, rng, swap=swap)
        assert d.x.shape == (500, 3) and d.y.shape == (500, 2)
        column = (d.x if swap else d.y)[:, 0]
        codes = np.floor(column)
        assert set(np.unique(codes)) <= set(range(d.levels)) and len(np.unique(column)) == 500
        assert 0 <= d.mi <= np.log(d.levels) + 1e-9
    x, y, mi = sample_quantised_batch(6, 100, 2, 4, rng)
    assert x.shape == (6, 100, 2) and y.shape == (6, 100, 4) and mi.shape == (6,) and (mi >= 0).all()


@pytest.mark.parametrize("dim_x, dim_y, swap", [(1, 1, False), (3, 2, False), (2, 4, True)])
def test_the_sampled_data_carry_the_stated_mi(dim_x, dim_y, swap):
    # the plug-in MI of the levels and the continuous side's projection S cut into 200 bins of
    # equal mass, from 200,000 rows (its bias, from binning and counting, is a few thousandths of
    # a nat); I(X; Y) = I(S; Q) is the module's claim, this checks the data against it
    rng = np.random.default_rng(5)
    d = sample_quantised(200_000, dim_x, dim_y, rng, swap=swap)
    discrete, continuous = (d.x, d.y) if swap else (d.y, d.x)
    q = np.floor(discrete[:, 0]).astype(int)
    s = continuous @ d.direction
    assert d.swap == swap and len(d.thresholds) == d.levels - 1
    bins = np.quantile(s, np.linspace(0, 1, 201))
    cell = np.clip(np.searchsorted(bins, s) - 1, 0, 199)
    joint = np.zeros((200, d.levels))
    np.add.at(joint, (cell, q), 1)
    joint /= joint.sum()
    outer = joint.sum(1, keepdims=True) * joint.sum(0, keepdims=True)
    mask = joint > 0
    plug_in = float((joint[mask] * np.log(joint[mask] / outer[mask])).sum())
    assert abs(plug_in - d.mi) < 0.02 + 0.02 * d.mi
