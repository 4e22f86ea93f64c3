"""The shipped default model: loads verified, is accurate on held-out data, keeps its invariances."""

import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

import mist
import mist.range_checks
from mist.cli import app
from mist.distributions import TRAIN, sample_datasets
from mist.estimators import KSG
from mist.weights import DEFAULT_MODEL, available_models, model_card_path


@pytest.mark.parametrize("name", available_models())
def test_shipped_models_have_complete_cards(name):
    assert DEFAULT_MODEL in available_models()
    network = mist.load_model(name)
    card = network.card
    assert not network.training and card["name"] == name
    for key in ("name", "sha256", "config", "training", "evaluation"):
        assert key in card, key
    assert card["training"]["datasets_seen"] > 100_000
    assert json.loads(model_card_path(name).read_text())["sha256"] == card["sha256"]


@pytest.mark.parametrize("f, name", [(np.square, "x^2"), (lambda v: np.sin(3 * v), "sin 3x"), (np.abs, "|x|")])
def test_the_default_sees_non_monotone_dependence(f, name):
    """y = f(x) + noise with f not monotone: rank correlations read about 0 here, and
    mist-tiny-gpu (which reads only them) falls far short; the default reads the pair lags."""
    from mist.distributions.beyond import noisy_function_mi

    exact = noisy_function_mi(f, 0.3)
    rng = np.random.default_rng(21)
    results, blind = [], []
    for _ in range(4):
        x = rng.normal(size=500)
        y = f(x) + 0.3 * rng.normal(size=500)
        results.append(mist.estimate(x, y))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", mist.MistWarning)
            blind.append(mist.estimate(x, y, model="mist-tiny-gpu").estimate)
    estimates = np.array([r.estimate for r in results])
    # measured (20 draws, n = 500): RMSE 0.06-0.19 where KSG's is 0.05-0.08 (docs/model.md, "Limits")
    assert abs(estimates.mean() - exact) < 0.25 and np.abs(estimates - exact).max() < 0.35, (name, exact, estimates)
    assert sum(r.low <= exact <= r.high for r in results) >= 3, (name, exact, [(r.low, r.high) for r in results])
    assert max(blind) < exact - 0.4  # what the previous default answered


def test_the_default_sees_a_non_monotone_pair_in_a_wide_table():
    """The issue's target: y = x^2 + 0.3 noise as one pair of a 40-column mi_matrix (n = 500)
    within 0.15 nats of its exact MI, the independent pairs near 0, and estimate agreeing."""
    from mist.distributions.beyond import noisy_function_mi

    exact = noisy_function_mi(np.square, 0.3)
    rng = np.random.default_rng(22)
    table = rng.normal(size=(500, 40))
    table[:, 1] = table[:, 0] ** 2 + 0.3 * rng.normal(size=500)
    matrix = mist.mi_matrix(table).to_numpy()
    assert abs(matrix[0, 1] - exact) < 0.15
    others = matrix[np.triu_indices(40, 1)][1:]  # every pair but (0, 1)
    assert np.percentile(others, 99) < 0.1
    assert matrix[0, 1] == pytest.approx(mist.estimate(table[:, 0], table[:, 1]).estimate, abs=1e-4)


def test_the_default_beats_ksg_on_relations_it_was_not_trained_on():
    """Held-out relations (bumps, kinks, mixtures of other shapes, spirals, flipped middles), 4
    columns a side, n = 200: MSE at most half of KSG's on normal scores."""
    from scipy.special import ndtri
    from scipy.stats import rankdata

    from mist.distributions.relations import build_relation_banks, sample_relation_dataset

    banks = build_relation_banks(np.random.default_rng(5), fourier=10, bumps=60, kinks=60)
    rng = np.random.default_rng(6)
    data = [sample_relation_dataset(200, 4, 4, rng, split="heldout", banks=banks) for _ in range(40)]
    truth = np.array([d.mi for d in data])
    ours = np.array([r.estimate for r in mist.estimate_many([(d.x, d.y) for d in data])])
    scores = lambda a: ndtri((rankdata(a, axis=0) - 0.5) / len(a))  # noqa: E731
    ksg = np.array([KSG().estimate(scores(d.x), scores(d.y)) for d in data])
    assert np.mean((ours - truth) ** 2) < 0.5 * np.mean((ksg - truth) ** 2)


def test_more_accurate_than_ksg_on_held_out_training_families():
    # fresh draws (seeded) from the training families: never the test grids
    rng = np.random.default_rng(123)
    pairs, truth = [], []
    for i in range(32):
        fam = TRAIN[i % len(TRAIN)]
        d = int(rng.integers(2, 9))
        b = sample_datasets(fam, 200, d, d, 1, seed=1000 + i)
        pairs.append((b.x[0].numpy(), b.y[0].numpy()))
        truth.append(b.mi.item())
    truth = np.array(truth)
    ours = np.array([r.estimate for r in mist.estimate_many(pairs)])
    ksg = np.array([KSG().estimate(x, y) for x, y in pairs])
    assert np.mean((ours - truth) ** 2) < 0.5 * np.mean((ksg - truth) ** 2)


def test_invariances_of_the_shipped_model():
    b = sample_datasets("multi_student-sparse-asinh", 300, 4, 3, 1, seed=5)
    x, y = b.x[0].numpy().astype(np.float64), b.y[0].numpy().astype(np.float64)
    ref = mist.estimate(x, y)
    perm = np.random.default_rng(0).permutation(300)
    variants = [(x[perm], y[perm]), (x[:, [3, 1, 0, 2]], y[:, [2, 0, 1]]), (y, x), (np.exp(x / 3), np.arcsinh(y) * 2 + 7)]
    for vx, vy in variants:
        r = mist.estimate(vx, vy)
        assert abs(r.estimate - ref.estimate) < 1e-4 and abs(r.low - ref.low) < 1e-4 and abs(r.high - ref.high) < 1e-4


def test_interval_and_quantiles_are_ordered():
    b = sample_datasets("multi_normal-lvm-base", 150, 5, 5, 1, seed=2)
    r = mist.estimate(b.x[0].numpy(), b.y[0].numpy(), quantiles=[0.01, 0.25, 0.75, 0.99])
    q = [r.quantiles[t] for t in (0.01, 0.25, 0.75, 0.99)]
    assert q == sorted(q) and r.low <= r.estimate + 1.0 and r.low <= r.high


def test_mi_estimator_learns_which_features_matter():
    g = torch.Generator().manual_seed(0)
    features = torch.randn(300, 8, generator=g)
    label = features[:, 0] + features[:, 1] + 0.5 * torch.randn(300, generator=g)
    est = mist.MIEstimator()
    w = torch.zeros(8, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.05)
    for _ in range(60):
        loss = -est((features * torch.sigmoid(w)).sum(1, keepdim=True), label[:, None])
        opt.zero_grad()
        loss.backward()
        opt.step()
    top2 = set(torch.argsort(-w)[:2].tolist())
    assert top2 == {0, 1}


def test_demo_command():
    result = CliRunner().invoke(app, ["demo", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["mist"]["unit"] == "nats" and out["true_mi"] == pytest.approx(0.9727, abs=1e-4)


def test_default_model_quantiles_are_calibrated_on_fresh_training_family_data():
    """The default model's card carries a quantile recalibration (fitted on its own seed); on
    other fresh draws of the training families its quantiles cover the truth near the nominal rate."""
    from mist.distributions import TestSet, paper_grid
    from mist.evaluation import predict_learned

    network = mist.load_model()
    assert "tau_calibration" in network.card and network.tau_map is not None
    # one dataset per (seed, family, n) group: datasets of one group share their dimension
    grid = TestSet.concat([paper_grid("train", seed=s, repeats=1) for s in (99, 100, 101, 102)])
    taus = (0.1, 0.5, 0.9)
    _, q, _ = predict_learned(network, grid, taus)
    covered = (grid.mi[:, None] <= q).mean(0)
    # mist-pairs-3 covers 0.109 / 0.546 / 0.944 here (its calibration mix holds 30% relations and
    # n up to 1,000; these are the paper's families at n <= 500): within 0.06
    assert np.all(np.abs(covered - np.array(taus)) < 0.06), covered


def test_cpu_estimates_and_classical_estimators_do_not_import_torch():
    # torch takes seconds to import; the NumPy engine makes a CPU estimate (and the CLI) quick
    code = ("import sys, numpy as np, mist; from mist.estimators import KSG; "
            "x = np.random.default_rng(0).normal(size=(300, 2)); y = x[:, :1] + np.random.default_rng(1).normal(size=(300, 1)); "
            "r = mist.estimate(x, y); KSG().estimate(x, y); "
            "print(r.model, repr(r.estimate), sorted(m for m in ('torch', 'scipy.stats') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    x = np.random.default_rng(0).normal(size=(300, 2))
    y = x[:, :1] + np.random.default_rng(1).normal(size=(300, 1))
    # the same engine in this process (where torch is loaded) gives the same number to the bit
    assert out == [DEFAULT_MODEL, repr(mist.estimate(x, y).estimate), "[]"]
    assert isinstance(mist.weights.load_predictor(), mist.model.numpy_forward.NumpyForward)


def test_default_model_narrows_the_interval_of_subset_averages(tmp_path):
    # the same weights with and without the fitted shared fraction: same median, narrower interval
    card = json.loads(model_card_path(DEFAULT_MODEL).read_text())
    assert 0.0 <= card["subset_calibration"]["shared_fraction"] < 1.0
    del card["subset_calibration"]
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(card))
    (tmp_path / card["weights_file"]).write_bytes((model_card_path(DEFAULT_MODEL).parent / card["weights_file"]).read_bytes())
    b = sample_datasets("multi_normal-dense-base", 2000, 3, 3, 1, seed=5)
    x, y = b.x[0].numpy(), b.y[0].numpy()
    fitted, subset = mist.estimate(x, y, quantiles=[0.5]), mist.estimate(x, y, model=str(plain), quantiles=[0.5])
    assert fitted.estimate == subset.estimate and fitted.quantiles[0.5] == pytest.approx(subset.quantiles[0.5])
    assert subset.low < fitted.low < fitted.quantiles[0.5] < fitted.high < subset.high
    assert "shared fraction" in fitted.notes[-1] and "conservative" in subset.notes[-1]


@pytest.mark.filterwarnings("ignore::mist.MistWarning")  # the reference estimates of the constant column
def test_matrix_and_score_function_take_the_pair_path_and_agree_with_estimate():
    rng = np.random.default_rng(8)
    values = rng.normal(size=(200, 5))
    values[:, 1] = np.exp(values[:, 0]) + 0.5 * rng.normal(size=200)  # exact MI 1.011 (noisy_function_mi)
    values[:, 2] = np.cos(2 * values[:, 0]) + 0.3 * rng.normal(size=200)  # not monotone
    values[:, 4] = 2.0  # constant: MI 0
    matrix = mist.mi_matrix(values).to_numpy()
    scores = mist.mutual_info_score(values[:, 1:], values[:, 0])
    for i in range(5):
        for j in range(5):
            if i != j:
                assert matrix[i, j] == pytest.approx(max(mist.estimate(values[:, i], values[:, j]).estimate, 0), abs=1e-4)
    # the score function's table has x last, so its rows are read in another order: float32 rounding
    np.testing.assert_allclose(scores, matrix[0, 1:], atol=1e-5)
    assert matrix[0, 1] > 0.7 and matrix[0, 2] > 0.5 and matrix[0, 4] == 0.0 and np.isnan(matrix[2, 2])
    np.testing.assert_allclose(mist.mi_matrix(values, base=2).to_numpy(), matrix / np.log(2), atol=1e-9)


def test_matrix_above_the_trained_rows_shares_one_split_of_the_rows():
    rng = np.random.default_rng(9)
    values = rng.normal(size=(2400, 4))
    values[:, 1] += values[:, 0]
    matrix = mist.mi_matrix(values).to_numpy()
    np.testing.assert_array_equal(mist.mi_matrix(values[rng.permutation(2400)]).to_numpy(), matrix)  # row order
    # estimate splits each pair's rows its own way: the same up to the subsets' sampling noise
    assert matrix[0, 1] == pytest.approx(mist.estimate(values[:, 0], values[:, 1]).estimate, abs=0.03)
    assert matrix[0, 1] > 0.25 and matrix[2, 3] < 0.05


@pytest.mark.parametrize("module", ["mist", "mist.api", "mist.tables", "mist.result", "mist.differentiable", "mist.estimators.ksg",
                                    "mist.distributions.families", "mist.distributions.beyond"])
def test_docstring_examples_print_what_they_say(module):
    """The numbers in the docstrings' examples are the shipped model's: a retrained model or a
    changed default must update them."""
    import doctest
    import importlib

    with warnings.catch_warnings():
        warnings.simplefilter("error", mist.MistWarning)  # an example that warns is a bad example
        failed, attempted = doctest.testmod(importlib.import_module(module),
                                            optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert attempted > 0 and failed == 0
