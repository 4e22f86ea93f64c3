import math

import numpy as np
import pytest
from scipy.special import logsumexp, ndtri
from scipy.stats import rankdata

from mist.distributions import relations as rel
from mist.distributions.beyond import noisy_function_mi
from mist.estimators.ksg import KSG


@pytest.fixture(scope="module")
def banks():
    rng = np.random.default_rng(7)
    return rel.RelationBanks(
        fourier=rel.FunctionBank.build("fourier", 12, rng),
        bumps=rel.FunctionBank.build("bumps", 8, rng),
        kinks=rel.FunctionBank.build("kinks", 8, rng),
        mixture=rel.load_mixture_bank("train"),
        mixture_heldout=rel.load_mixture_bank("heldout"),
    )


# --- quadrature ---------------------------------------------------------------------------------


def test_table_matches_the_gaussian_closed_form():
    sigmas = np.array([0.015, 0.02, 0.05, 0.3, 1.0, 5.0, 6.0])
    for b in (0.3, 1.0, 3.0):
        table = rel.noisy_function_mi_table(lambda t, b=b: b * t, sigmas)
        np.testing.assert_allclose(table, 0.5 * np.log1p(b**2 / sigmas**2), rtol=0, atol=1e-8)


@pytest.mark.parametrize("f, kinks", [(np.square, ()), (lambda t: np.sin(3 * t), ()), (np.abs, (0.0,))])
def test_table_matches_the_slow_quadrature(f, kinks):
    sigmas = [0.05, 0.3, 1.0]
    table = rel.noisy_function_mi_table(f, sigmas, breakpoints=kinks)
    slow = [noisy_function_mi(f, s) for s in sigmas]
    np.testing.assert_allclose(table, slow, rtol=0, atol=1e-4)


def test_table_handles_any_order_and_rejects_bad_arguments():
    sigmas = np.array([1.0, 0.02, 0.3, 4.0, 0.05])
    table = rel.noisy_function_mi_table(np.square, sigmas)
    in_order = rel.noisy_function_mi_table(np.square, np.sort(sigmas))
    np.testing.assert_allclose(table, in_order[np.argsort(np.argsort(sigmas))])
    assert np.all(np.diff(table[np.argsort(sigmas)]) < 0)  # more noise, less MI
    with pytest.raises(ValueError, match="sigmas"):
        rel.noisy_function_mi_table(np.square, [0.1, 0.0])
    with pytest.raises(ValueError, match="sigmas"):
        rel.noisy_function_mi_table(np.square, [])
    with pytest.raises(ValueError, match="`f`"):
        rel.noisy_function_mi_table(3.0, [0.1])


def test_bank_interpolation_matches_direct_quadrature(banks):
    rng = np.random.default_rng(3)
    worst = 0.0
    for kind in rel.FUNCTION_KINDS:
        bank = getattr(banks, kind)
        for _ in range(6):
            r = bank.draw(rng)
            assert rel.NOISE_RANGE[0] <= r.params["sigma"] <= rel.NOISE_RANGE[1]
            direct = rel.noisy_function_mi_table(r.function, [r.params["sigma"]],
                                                 breakpoints=rel.function_breakpoints(kind, r.params))[0]
            worst = max(worst, abs(direct - r.mi))
    assert worst < 1e-4  # measured ~1e-6


def test_bank_functions_are_normalised_vectorised_and_deterministic(banks):
    bank = banks.fourier
    x = np.random.default_rng(0).normal(size=200_000)
    for i in range(3):
        fx = bank.relation(i, 0.1).function(x)
        assert np.var(fx) == pytest.approx(1.0, abs=0.03)
    # all functions at once: params (count, K) against x (n, count)
    xs = np.random.default_rng(1).normal(size=(50, len(bank)))
    together = rel.evaluate_function("fourier", bank.params, xs)
    np.testing.assert_allclose(together[:, 5], bank.relation(5, 0.1).function(xs[:, 5]))
    again = rel.FunctionBank.build("fourier", 3, np.random.default_rng(11))
    same = rel.FunctionBank.build("fourier", 3, np.random.default_rng(11))
    np.testing.assert_array_equal(again.mi_table, same.mi_table)
    assert np.all(np.diff(bank.mi_table, axis=1) < 0)  # MI falls with the noise, for every function
    with pytest.raises(ValueError, match="kind"):
        rel.FunctionBank.build("named", 3, np.random.default_rng(0))


@pytest.mark.parametrize("n, tolerance", [(5_000, 0.05), (30_000, 0.02)])
def test_ksg_agrees_on_non_monotone_relations(banks, n, tolerance):
    rng = np.random.default_rng(5)
    for relation in (rel.named_relation("square", 0.3), banks.fourier.relation(0, 0.3)):
        x, y = relation.sample(n, rng)
        assert abs(np.corrcoef(x, y)[0, 1]) < 0.9  # not a near-linear relation
        assert KSG(k=5).estimate(x[:, None], y[:, None]) == pytest.approx(relation.mi, abs=tolerance)


def test_named_relations():
    assert set(rel.NAMED_FUNCTIONS) == {"square", "sin3", "abs", "cos2", "xtanh3"}
    for name, (f, kinks) in rel.NAMED_FUNCTIONS.items():
        direct = rel.noisy_function_mi_table(f, [0.07], breakpoints=kinks)[0]
        assert rel.named_relation(name, 0.07).mi == pytest.approx(direct, abs=1e-5)
    assert rel.named_relation("square", 0.3).mi == pytest.approx(noisy_function_mi(np.square, 0.3), abs=1e-4)
    with pytest.raises(ValueError, match="sigma"):
        rel.named_relation("square", 3.0)
    with pytest.raises(ValueError, match="name"):
        rel.named_relation("cube", 0.3)


# --- sign flip, gaussian --------------------------------------------------------------------------


def test_sign_flip_table_matches_direct_quadrature_and_monte_carlo():
    rhos = np.array([0.3, 0.4123, 0.777, 0.95, 0.9975])
    np.testing.assert_allclose(rel.sign_flip_mi(rhos), rel._sign_flip_mi_quadrature(rhos), rtol=0, atol=1e-8)
    # finer quadrature steps change nothing
    np.testing.assert_allclose(rel._sign_flip_mi_quadrature(rhos, x_step=0.002), rel._sign_flip_mi_quadrature(rhos),
                               rtol=0, atol=1e-10)
    gaussian = -0.5 * np.log1p(-rhos**2)
    assert np.all(rel.sign_flip_mi(rhos) < gaussian) and np.all(rel.sign_flip_mi(rhos) > gaussian - np.log(2))
    rng = np.random.default_rng(0)
    for rho in (0.6, 0.95):
        r = rel.sign_flip_relation(rho)
        x, y = r.sample(1_000_000, rng)
        v = 1 - rho**2
        log_cond = (np.logaddexp(-0.5 * (y - rho * x) ** 2 / v, -0.5 * (y + rho * x) ** 2 / v)
                    - np.log(2 * np.sqrt(2 * np.pi * v)))
        ratio = log_cond - (-0.5 * y * y - 0.5 * np.log(2 * np.pi))  # Y ~ N(0, 1) exactly
        se = ratio.std() / np.sqrt(ratio.size)
        assert r.mi == pytest.approx(ratio.mean(), abs=4 * se)
    with pytest.raises(ValueError, match="rho"):
        rel.sign_flip_mi(0.1)


def test_gaussian_draws_reach_strong_dependence():
    rng = np.random.default_rng(2)
    draws = [rel.random_relation("gaussian", rng) for _ in range(400)]
    rhos = np.array([abs(d.params["rho"]) for d in draws])
    mis = np.array([d.mi for d in draws])
    np.testing.assert_allclose(mis, -0.5 * np.log1p(-rhos**2))
    assert rhos.max() <= rel.GAUSSIAN_RHO_MAX and rhos.max() > 0.99 and mis.min() < 0.05


# --- mixture bank -----------------------------------------------------------------------------------


def test_mixture_bank_loads_with_precise_positive_mi():
    train, heldout = rel.load_mixture_bank("train"), rel.load_mixture_bank("heldout")
    assert (len(train), len(heldout)) == (300, 100)
    assert train.kind == "mixture" and heldout.kind == "mixture_heldout"
    for bank, (low, high) in ((train, (2, 4)), (heldout, (2, 6))):
        assert np.all(bank.mi > 0) and np.all(bank.mi_standard_error > 0)
        assert bank.mi_standard_error.max() <= rel.MIXTURE_MAX_STANDARD_ERROR <= 0.005
        assert bank.components.min() >= low and bank.components.max() <= high
        k = bank.components
        np.testing.assert_allclose([bank.weights[i, :k[i]].sum() for i in range(len(bank))], 1.0)
        assert np.all(np.linalg.eigvalsh(bank.covariances) > 0)
    assert heldout.components.max() >= 5  # the many-component setting is there
    with pytest.raises(ValueError, match="split"):
        rel.load_mixture_bank("test")


def test_mixture_monte_carlo_is_exact_for_one_component_and_reproduces_the_bank():
    rng = np.random.default_rng(4)
    cov = np.array([[[1.0, 0.8], [0.8, 1.0]]])
    mi, se = rel.mixture_mi_monte_carlo(np.ones(1), np.zeros((1, 2)), cov, 200_000, rng)
    assert mi == pytest.approx(-0.5 * np.log1p(-0.64), abs=4 * se) and se < 0.005
    bank = rel.load_mixture_bank("heldout")
    k = int(bank.components[0])
    again, se_again = rel.mixture_mi_monte_carlo(bank.weights[0, :k], bank.means[0, :k], bank.covariances[0, :k],
                                                  200_000, rng)
    assert again == pytest.approx(bank.mi[0], abs=4 * math.hypot(se_again, bank.mi_standard_error[0]))
    a = rng.normal(size=(100, 5)) * 300
    np.testing.assert_allclose(rel._logsumexp_rows(a), logsumexp(a, axis=1))


def test_mixture_relation_samples_the_mixture():
    bank = rel.load_mixture_bank("train")
    r = bank.relation(3)
    x, y = r.sample(200_000, np.random.default_rng(0))
    w, mu = r.params["weights"], r.params["means"]
    cov = bank.covariances[3, : w.size]
    np.testing.assert_allclose([x.mean(), y.mean()], w @ mu, atol=0.02)
    second = (w[:, None, None] * (cov + mu[:, :, None] * mu[:, None, :])).sum(axis=0)
    np.testing.assert_allclose(np.cov(np.stack([x, y]), bias=True) + np.outer(w @ mu, w @ mu), second, atol=0.05)
    with pytest.raises(ValueError, match="N\\(0, 1\\)"):
        r.sample_y(x, np.random.default_rng(0))


# --- side maps ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, dim", [("coupling", 2), ("coupling", 7), ("spiral", 2), ("spiral", 5),
                                       ("rotation", 4), ("flip_middle", 3)])
def test_side_maps_are_bijections(kind, dim):
    rng = np.random.default_rng(dim)
    m = rel.random_side_map(kind, dim, rng)
    v = np.concatenate([rng.normal(size=(500, dim)), 5 * rng.standard_cauchy((20, dim))])
    moved = m.apply(v)
    assert np.abs(moved - v).max() > 0.1  # it does something
    np.testing.assert_allclose(m.inverse(moved), v, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(m.apply(m.inverse(v)), v, rtol=1e-9, atol=1e-9)


def test_spiral_keeps_the_radius_and_coupling_keeps_one_group():
    rng = np.random.default_rng(1)
    m = rel.random_side_map("spiral", 3, rng)
    v = rng.normal(size=(300, 3))
    np.testing.assert_allclose(np.linalg.norm(m.apply(v), axis=1), np.linalg.norm(v, axis=1))
    c = rel.random_side_map("coupling", 4, rng)
    source, target = c.params["layers"][0][:2]
    if len(c.params["layers"]) == 1:
        np.testing.assert_array_equal(c.apply(v @ np.eye(3, 4))[:, source], (v @ np.eye(3, 4))[:, source])
    with pytest.raises(ValueError, match="dim"):
        rel.random_side_map("spiral", 1, rng)
    with pytest.raises(ValueError, match="kind"):
        rel.random_side_map("shear", 3, rng)


# --- datasets -------------------------------------------------------------------------------------------


def _normal_scores(a):
    return ndtri((rankdata(a, axis=0) - 0.5) / a.shape[0])


def test_dataset_shapes_determinism_and_mi(banks):
    for split in rel.SPLITS:
        a = rel.sample_relation_dataset(300, 6, 4, np.random.default_rng(9), split=split, banks=banks)
        b = rel.sample_relation_dataset(300, 6, 4, np.random.default_rng(9), split=split, banks=banks)
        assert a.x.shape == (300, 6) and a.y.shape == (300, 4)
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.y, b.y)
        assert a.description == b.description and a.mi == b.mi
    rng = np.random.default_rng(10)
    for _ in range(150):
        d = rel.sample_relation_dataset(40, int(rng.integers(1, 6)), int(rng.integers(1, 6)), rng, banks=banks)
        desc = d.description
        assert d.mi == pytest.approx(sum(desc["block_mi"])) and d.mi >= 0
        assert len(desc["kinds"]) <= min(d.x.shape[1], d.y.shape[1])
        assert sum(max(c, 1) for c in desc["single_index_columns"]) <= d.x.shape[1]
        assert np.all(np.isfinite(d.x)) and np.all(np.isfinite(d.y))
        assert (d.mi_standard_error > 0) == any(k.startswith("mixture") for k in desc["kinds"])


def test_splits_keep_held_out_kinds_and_maps_apart(banks):
    rng = np.random.default_rng(12)
    seen = {split: set() for split in rel.SPLITS}
    for split in rel.SPLITS:
        for _ in range(120):
            desc = rel.sample_relation_dataset(20, 4, 3, rng, split=split, banks=banks).description
            kinds, maps = set(desc["kinds"]), {desc["x_map"], desc["y_map"]}
            seen[split] |= kinds | maps | {c > 0 for c in desc["single_index_columns"]}
            if split == "train":
                assert kinds <= set(rel.TRAIN_KINDS + rel.SHARED_KINDS)
                assert maps <= set(rel.TRAIN_MAPS) | {"identity"}
            elif split == "heldout":
                assert maps <= set(rel.HELDOUT_MAPS) | {"identity"}
                if kinds & set(rel.TRAIN_KINDS):  # training kinds only under a held-out map
                    assert desc["mode"] == "heldout_maps" and maps & set(rel.HELDOUT_MAPS)
                    assert not kinds & set(rel.HELDOUT_KINDS)
            else:
                assert kinds <= {"named"} and maps == {"identity"}
    assert set(rel.TRAIN_KINDS + rel.TRAIN_MAPS) | {True} <= seen["train"]  # every kind, map and single-index
    assert set(rel.HELDOUT_KINDS + rel.HELDOUT_MAPS + rel.TRAIN_KINDS) | {True} <= seen["heldout"]
    assert "named" in seen["named"]


def test_dataset_mi_agrees_with_ksg_on_one_pair(banks):
    rng = np.random.default_rng(21)
    checked = 0
    while checked < 6:
        split = ("train", "heldout")[checked % 2]
        d = rel.sample_relation_dataset(4_000, 1, 1, rng, split=split, banks=banks)
        if not 0.05 < d.mi < 2.0:
            continue
        estimate = KSG(k=5).estimate(_normal_scores(d.x), _normal_scores(d.y))
        assert estimate == pytest.approx(d.mi, abs=0.1), d.description
        checked += 1
    checked = 0
    while checked < 4:  # single-index blocks: y depends on two X columns through one direction
        d = rel.sample_relation_dataset(4_000, 2, 1, rng, split=("train", "heldout")[checked % 2], banks=banks)
        if d.description["single_index_columns"] != (2,) or not 0.05 < d.mi < 0.5:
            continue  # KSG in three dimensions is biased low at higher MI
        estimate = KSG(k=5).estimate(_normal_scores(d.x), _normal_scores(d.y))
        assert estimate == pytest.approx(d.mi, abs=0.07), d.description
        checked += 1


def test_batches_and_argument_errors(banks):
    batch = rel.sample_relation_datasets(5, 50, 3, 2, np.random.default_rng(1), banks=banks)
    assert batch.x.shape == (5, 50, 3) and batch.y.shape == (5, 50, 2) and batch.mi.shape == (5,)
    single = rel.sample_relation_dataset(50, 3, 2, np.random.default_rng(1), banks=banks)  # the first of the batch
    np.testing.assert_array_equal(batch.x[0], single.x)
    assert batch.mi[0] == single.mi and len(batch.descriptions) == 5
    with pytest.raises(ValueError, match="split"):
        rel.sample_relation_dataset(50, 3, 2, np.random.default_rng(1), split="test", banks=banks)
    with pytest.raises(ValueError, match="`n`"):
        rel.sample_relation_dataset(0, 3, 2, np.random.default_rng(1), banks=banks)
    with pytest.raises(ValueError, match="dim_y"):
        rel.sample_relation_datasets(2, 10, 3, 0, np.random.default_rng(1), banks=banks)
    with pytest.raises(ValueError, match="rng"):
        rel.sample_relation_dataset(50, 3, 2, 1, banks=banks)
    with pytest.raises(ValueError, match="bumps"):
        rel.random_relation("bumps", np.random.default_rng(0), rel.RelationBanks())


def test_single_index_block_uses_a_unit_direction():
    rng = np.random.default_rng(8)
    for rho in (0.5, -0.9):
        z, y = rel._single_index_block(rel.gaussian_relation(rho), 5, 40_000, rng)
        beta = np.linalg.lstsq(z, y, rcond=None)[0]  # y = rho z w + noise: beta = rho w
        assert np.linalg.norm(beta) == pytest.approx(abs(rho), abs=0.02)
        assert np.abs(beta).min() > 0.01 * abs(rho)  # spread over the columns (w a.s. has no zero)
    z, y = rel._single_index_block(rel.named_relation("square", 0.2), 3, 30_000, rng)
    linear = np.abs(np.corrcoef(np.column_stack([z, y]).T)[-1, :-1])
    assert linear.max() < 0.03  # x^2: no linear trace in any column
