import numpy as np
import pytest
from scipy.special import digamma

from mist.errors import MistError
from mist.estimators import KSG
from mist.estimators.ksg import ksg_interval


def brute_force_ksg(x, y, k):
    """Readable O(n^2) reference: Kraskov et al. (2004), algorithm 1, max-norm."""
    x = (x - x.mean(0)) / x.std(0)
    y = (y - y.mean(0)) / y.std(0)
    n = len(x)
    dx = np.abs(x[:, None, :] - x[None, :, :]).max(-1)
    dy = np.abs(y[:, None, :] - y[None, :, :]).max(-1)
    dz = np.maximum(dx, dy)
    total = 0.0
    for i in range(n):
        others = np.delete(np.arange(n), i)
        eps = np.sort(dz[i, others])[k - 1]
        nx = np.sum(dx[i, others] < eps)
        ny = np.sum(dy[i, others] < eps)
        total += digamma(nx + 1) + digamma(ny + 1)
    return digamma(k) + digamma(n) - total / n


@pytest.mark.parametrize("dx, dy, k", [(1, 1, 3), (1, 3, 5), (4, 2, 1), (8, 8, 5)])
@pytest.mark.parametrize("algorithm", ["kdtree", "dense"])
def test_matches_brute_force(dx, dy, k, algorithm):
    rng = np.random.default_rng(dx * 10 + dy)
    x = rng.normal(size=(150, dx))
    y = x[:, :1] @ np.ones((1, dy)) + rng.standard_t(3, size=(150, dy))
    assert KSG(k=k, algorithm=algorithm).estimate(x, y) == pytest.approx(brute_force_ksg(x, y, k), abs=1e-9)


def test_dense_path_in_blocks_matches(monkeypatch):
    import mist.estimators.ksg as ksg_module

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(120, 3)), rng.normal(size=(120, 2))
    full = KSG(algorithm="dense").estimate(x, y)
    monkeypatch.setattr(ksg_module, "_BLOCK_CELLS", 500)  # 4 rows per block
    assert KSG(algorithm="dense").estimate(x, y) == pytest.approx(full, abs=1e-12)


def test_bivariate_gaussian_20000_rows_is_accurate():
    rng = np.random.default_rng(0)
    rho = 0.75
    x = rng.normal(size=(20_000, 1))
    y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=(20_000, 1))
    truth = -0.5 * np.log(1 - rho**2)
    assert abs(KSG(k=5).estimate(x, y) - truth) < 0.02


def test_invalid_settings_and_input():
    with pytest.raises(MistError, match="`k`"):
        KSG(k=0)
    with pytest.raises(MistError, match="`algorithm`"):
        KSG(algorithm="balltree")
    with pytest.raises(MistError, match="at least 6 samples"):
        KSG(k=5).estimate(np.arange(5.0), np.arange(5.0))


@pytest.mark.parametrize("algorithm", ["kdtree", "dense"])
def test_duplicate_rows_stay_finite(algorithm):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    y = x + rng.normal(size=(40, 2))
    idx = rng.integers(0, 40, 40)  # a bootstrap resample: many exact duplicates
    assert np.isfinite(KSG(k=3, algorithm=algorithm).estimate(x[idx], y[idx]))
    assert KSG(k=3, algorithm="kdtree").estimate(x[idx], y[idx]) == pytest.approx(
        KSG(k=3, algorithm="dense").estimate(x[idx], y[idx]), abs=1e-9)


def test_extreme_scales_neither_overflow_nor_underflow():
    # squares of values near 1e300 overflow and near 1e-300 underflow: standardising must not
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    y = x + rng.normal(size=300)
    reference = KSG().estimate(x, y)
    for scale in (1e300, 1e-300, 1e-160):
        assert KSG().estimate(scale * x, y) == pytest.approx(reference, abs=1e-9)


def test_ksg_interval_ignores_row_order_column_order_and_sides():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 2))
    y = np.hstack([x[:, :1] ** 2, x[:, 1:]]) + 0.5 * rng.normal(size=(300, 2))
    reference = ksg_interval(x, y)
    perm = rng.permutation(300)
    for other in (ksg_interval(x[perm], y[perm]), ksg_interval(y, x), ksg_interval(x[:, ::-1], y[:, ::-1])):
        np.testing.assert_allclose(other, reference, atol=1e-12)
    assert reference.spread() > reference.halves_sd > 0 and reference.corrected != reference.estimate
    # the halves come from the rows' content: a row's values in another order hash alike
    from mist.estimators.ksg import row_hashes
    rows = rng.normal(size=(5, 3))
    np.testing.assert_array_equal(row_hashes(rows, 4), row_hashes(rows[:, ::-1], 4))
    assert row_hashes(rows, 4).shape == (4, 5) and len(np.unique(row_hashes(rows, 4))) == 20


def test_ksg_interval_quantiles_are_ordered_and_cover_a_known_mi():
    rng = np.random.default_rng(5)
    rho, inside = 0.8, 0
    exact = -0.5 * np.log(1 - rho**2)
    for _ in range(20):
        x = rng.normal(size=(400, 1))
        y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=(400, 1))
        r = ksg_interval(x, y)
        low, mid, high = r.quantiles([0.05, 0.5, 1 - 0.05])
        assert low < mid < high and mid == pytest.approx(r.corrected)
        inside += low <= exact <= high
    assert inside >= 15  # a 90% interval: 18 of 20 expected
    independent = ksg_interval(rng.normal(size=(100, 1)), rng.normal(size=(100, 1)))
    assert independent.corrected >= 0 and np.all(independent.quantiles([0.01, 0.5]) >= 0)  # MI >= 0


def test_ksg_interval_rejects_bad_settings():
    with pytest.raises(MistError, match="`half_samples`"):
        ksg_interval(np.arange(50.0), np.arange(50.0), half_samples=1)
    with pytest.raises(MistError, match="at least 24 samples"):
        ksg_interval(np.arange(20.0), np.arange(20.0))


def test_frenzel_pompe_conditional_mi():
    from mist.estimators.ksg import frenzel_pompe

    rng = np.random.default_rng(0)
    z = rng.normal(size=(3000, 1))
    x = z + rng.normal(size=(3000, 1))
    y = z + rng.normal(size=(3000, 1))
    assert abs(frenzel_pompe(x, y, z)) < 0.02  # independent given z, dependent without
    y2 = y + x  # given z: x = e_x, y2 = e_x + e_y, correlated 1/sqrt(2): CMI = 1/2 log 2
    assert frenzel_pompe(x, y2, z) == pytest.approx(0.5 * np.log(2), abs=0.03)
    with pytest.raises(MistError, match=r"`z` must have one row per sample of `x` and `y` \(3000\), got 10"):
        frenzel_pompe(x, y, z[:10])


def test_ross_matches_scikit_learns_mutual_info_classif_and_the_exact_mi():
    from sklearn.feature_selection import mutual_info_classif

    from mist.distributions.classes import sample_class_conditional
    from mist.estimators.ksg import ross_mi

    rng = np.random.default_rng(0)
    for _ in range(3):
        s = sample_class_conditional(1500, 1, 3, rng)
        ours = ross_mi(s.x, s.y)
        assert ours == pytest.approx(mutual_info_classif(s.x, s.y, random_state=0)[0], abs=0.01)
        assert ours == pytest.approx(s.mi, abs=0.05)
    s = sample_class_conditional(2000, 3, 2, rng, separation=1.0)  # several columns at once
    assert ross_mi(s.x, s.y) == pytest.approx(s.mi, abs=0.08)
