import numpy as np
import pytest
import torch

from mist.distributions import sample_datasets
from mist.errors import MistError, MistWarning
from mist.estimators import CCA, KSG, GaussianCopulaCCA, bootstrap, get_baseline
from mist.estimators.cca import canonical_correlations, ledoit_wolf_shrinkage


def test_cca_exact_on_large_gaussian_samples():
    b = sample_datasets("multi_normal-dense-base", 100_000, 3, 4, 1, seed=0, dtype=torch.float64)
    truth = b.mi.item()
    # at n = 100,000 the sampling error of the estimate is about 0.005
    assert CCA().estimate(b.x[0].numpy(), b.y[0].numpy()) == pytest.approx(truth, abs=0.02)


def test_copula_cca_exact_under_monotone_transforms():
    b = sample_datasets("multi_normal-sparse-wigglify", 50_000, 2, 3, 1, seed=2)
    assert GaussianCopulaCCA().estimate(b.x[0].numpy(), b.y[0].numpy()) == pytest.approx(b.mi.item(), abs=0.03)
    # raw CCA is not invariant; rank-based CCA gives exactly the same value under a monotone map
    x, y = b.x[0].numpy().astype(np.float64), b.y[0].numpy().astype(np.float64)
    assert GaussianCopulaCCA().estimate(np.exp(x), y**3) == pytest.approx(GaussianCopulaCCA().estimate(x, y), abs=1e-12)


def test_cca_is_finite_with_fewer_rows_than_dimensions():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(10, 16)), rng.normal(size=(10, 16))
    value = CCA().estimate(x, y)
    assert np.isfinite(value) and value >= 0


def test_shrinkage_matches_scikit_learn():
    sklearn_covariance = pytest.importorskip("sklearn.covariance")
    rng = np.random.default_rng(1)
    z = rng.normal(size=(40, 6)) @ rng.normal(size=(6, 6))
    z = (z - z.mean(0)) / z.std(0)
    assert ledoit_wolf_shrinkage(z) == pytest.approx(sklearn_covariance.ledoit_wolf_shrinkage(z, assume_centered=True), abs=1e-10)


def test_canonical_correlations_of_independent_pairs():
    rng = np.random.default_rng(0)
    n = 50_000
    x = rng.normal(size=(n, 2))
    y = np.column_stack([0.9 * x[:, 0] + np.sqrt(1 - 0.81) * rng.normal(size=n), rng.normal(size=n)])
    r = canonical_correlations(x, y, shrinkage=0.0)
    # sampling error of canonical correlations at n = 50,000 is about 0.005-0.01
    np.testing.assert_allclose(r, [0.9, 0.0], atol=0.025)


def test_constant_columns_are_ignored_with_a_warning():
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(size=100), np.ones(100)])
    y = x[:, :1] + rng.normal(size=(100, 1))
    with pytest.warns(MistWarning, match="constant `x` columns \\[1\\]"):
        with_const = KSG().estimate(x, y)
    assert with_const == pytest.approx(KSG().estimate(x[:, :1], y))
    with pytest.warns(MistWarning):
        assert CCA().estimate(np.ones((50, 2)), y[:50]) == 0.0


def test_bootstrap_interval_contains_its_spread():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 1))
    y = x + rng.normal(size=(300, 1))
    r = bootstrap(GaussianCopulaCCA(), x, y, n_resamples=100, level=0.9, seed=1)
    assert r.low < r.estimate < r.high
    assert r.low <= np.median(r.samples) <= r.high
    again = bootstrap(GaussianCopulaCCA(), x, y, n_resamples=100, level=0.9, seed=1)
    assert (again.low, again.high) == (r.low, r.high)
    with pytest.raises(MistError, match="`level`"):
        bootstrap(CCA(), x, y, level=1.5)
    with pytest.raises(MistError, match="`n_resamples`"):
        bootstrap(CCA(), x, y, n_resamples=1)


def test_get_baseline():
    assert isinstance(get_baseline("ksg", k=3), KSG)
    with pytest.raises(MistError, match="unknown estimator"):
        get_baseline("magic")
    with pytest.raises(MistError, match="`shrinkage`"):
        CCA(shrinkage=2.0)


def test_one_normal_score_rule():
    # the baselines' normal scores are the model's, ties averaged alike
    from mist.estimators.cca import normal_scores
    from mist.model.numpy_forward import normal_scores as model_normal_scores

    rng = np.random.default_rng(0)
    a = np.column_stack([rng.normal(size=300), rng.integers(0, 5, 300)])
    np.testing.assert_allclose(normal_scores(a), model_normal_scores(a[None])[0], atol=1e-6)
