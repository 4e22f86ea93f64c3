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


def test_rotation_trained_model_handles_mixed_coordinates():
    """What mist-tiny-rot is for: dependence not aligned with the coordinates (random rotations
    of X and Y leave MI unchanged), where mist-tiny falls back to copula-CCA accuracy."""
    from mist.distributions.beyond import rotate

    rng = np.random.default_rng(7)
    pairs, truth = [], []
    for i in range(12):
        b = sample_datasets("multi_student-sparse-base", 300, 6, 6, 1, seed=500 + i)
        pairs.append(rotate(b.x[0].double().numpy(), b.y[0].double().numpy(), rng))
        truth.append(b.mi.item())
    truth = np.array(truth)
    errors = {name: np.mean((np.array([r.estimate for r in mist.estimate_many(pairs, model=name)]) - truth) ** 2)
              for name in ("mist-tiny", "mist-tiny-rot", "mist-tiny-gpu", "default")}
    assert errors["mist-tiny-rot"] < 0.5 * errors["mist-tiny"]
    # and model="default" hands such data to it where the two models' intervals are disjoint
    assert errors["default"] < 0.5 * errors["mist-tiny-gpu"]


def test_wide_trained_model_reaches_higher_mi():
    """What mist-tiny-wide is for: column pairs correlated past the published priors (sparse
    strength above 5), where the default saturates; and the high-MI check knows its wider range."""
    from mist.distributions import Priors

    pairs, truth = [], []
    for i in range(12):
        b = sample_datasets("multi_normal-sparse-base", 300, 3, 3, 1, seed=700 + i, priors=Priors(strength=(8.0, 15.0)))
        pairs.append((b.x[0].numpy(), b.y[0].numpy()))
        truth.append(b.mi.item())
    truth = np.array(truth)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        results = {name: mist.estimate_many(pairs, model=name, check=False) for name in ("mist-tiny-gpu", "mist-tiny-wide")}
    errors = {name: np.mean((np.array([r.estimate for r in rs]) - truth) ** 2) for name, rs in results.items()}
    assert errors["mist-tiny-wide"] < 0.25 * errors["mist-tiny-gpu"]
    warned = {name: sum(any(t.startswith(mist.range_checks.BEYOND_RANGE) for t in r.notes) for r in rs)
              for name, rs in results.items()}
    assert warned["mist-tiny-gpu"] >= 10 and warned["mist-tiny-wide"] == 0  # correlations 0.985-0.9956: within its range
    # and model="default" hands these datasets to it
    with warnings.catch_warnings():  # handed-on data warn unless surely inside the wide range
        warnings.simplefilter("ignore", mist.MistWarning)
        default = mist.estimate_many(pairs, check=False)
    assert [r.estimate for r in default] == [r.estimate for r in results["mist-tiny-wide"]]


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
    assert np.all(np.abs(covered - np.array(taus)) < 0.05), covered


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
    values[:, 1] = np.exp(values[:, 0]) + 0.5 * rng.normal(size=200)
    values[:, 4] = 2.0  # constant: MI 0
    matrix = mist.mi_matrix(values).to_numpy()
    checked = mist.mi_matrix(values, check=True).to_numpy()
    scores = mist.mutual_info_score(values[:, 1:], values[:, 0])
    for i in range(5):
        for j in range(5):
            if i != j:
                for table, check in ((matrix, False), (checked, True)):
                    single = mist.estimate(values[:, i], values[:, j], check=check)
                    assert table[i, j] == pytest.approx(max(single.estimate, 0), abs=1e-4)
    # exp(x) + noise, exact MI 1.011 (noisy_function_mi): the model falls short, KSG lies above its interval
    assert matrix[0, 1] < 0.8 and checked[0, 1] > 0.9 and mist.estimate(values[:, 0], values[:, 1]).model == "ksg"
    np.testing.assert_allclose(scores, matrix[0, 1:], atol=1e-6)
    assert matrix[0, 1] > 0.5 and matrix[0, 4] == 0.0 and np.isnan(matrix[2, 2])
    np.testing.assert_allclose(mist.mi_matrix(values, base=2).to_numpy(), matrix / np.log(2), atol=1e-9)


def test_matrix_above_500_rows_shares_one_split_of_the_rows():
    rng = np.random.default_rng(9)
    values = rng.normal(size=(1200, 4))
    values[:, 1] += values[:, 0]
    matrix = mist.mi_matrix(values).to_numpy()
    np.testing.assert_array_equal(mist.mi_matrix(values[rng.permutation(1200)]).to_numpy(), matrix)  # row order
    # estimate splits each pair's rows its own way: the same up to the subsets' sampling noise
    assert matrix[0, 1] == pytest.approx(mist.estimate(values[:, 0], values[:, 1]).estimate, abs=0.03)
    assert matrix[0, 1] > 0.25 and matrix[2, 3] < 0.05


@pytest.mark.filterwarnings("ignore:.*looks discrete")
def test_cross_check_warns_on_dependence_the_model_misses():
    rng = np.random.default_rng(10)
    x = rng.normal(size=(500, 1))
    square = x**2 + 0.3 * rng.normal(size=(500, 1))  # non-monotone: the model sees ~0.1; exact MI 1.141
    with pytest.warns(mist.MistWarning, match="KSG, a model-free estimator"):
        missed = mist.estimate(x, square, quantiles=[0.25, 0.75])
    with pytest.warns(mist.MistWarning, match="dependence the model does not read"):  # the folded check
        model = mist.estimate(x, square, check=False)
    assert missed.cross_check > model.quantiles.get(0.95, model.high) + 0.1 and missed.model == "ksg"
    assert missed.notes[-1].startswith("answered by KSG, not mist-tiny-gpu")
    assert model.high < 0.3 and missed.low < 1.141 < missed.high  # KSG's answer, bias-corrected, holds the truth
    assert missed.low < missed.quantiles[0.25] < missed.estimate < missed.quantiles[0.75] < missed.high
    # KSG reads normal scores: increasing maps, row order and swapping x and y leave the answer as it is
    perm = rng.permutation(500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mist.MistWarning)
        again = mist.estimate(np.exp(square[perm]), 3 * x[perm] + 1)
    assert again.model == "ksg"  # the same up to the rounding of KSG's sums in another row order:
    np.testing.assert_allclose([again.estimate, again.low, again.high], [missed.estimate, missed.low, missed.high], atol=1e-12)
    y = x + rng.normal(size=(500, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", mist.MistWarning)
        fine = mist.estimate(x, y)  # in the training families: checked, no warning
        narrow = mist.estimate(x, y, level=0.2, quantiles=[0.3])  # KSG is held to the 90% interval at any level
    assert list(narrow.quantiles) == [0.3] and narrow.cross_check == fine.cross_check
    # KSG on normal scores, as the model reads the data: its figure ignores increasing maps too
    assert fine.cross_check == pytest.approx(mist.estimators.KSG().estimate(*mist.api._normal_scores(x, y)))
    assert not fine.notes and fine.cross_check == pytest.approx(mist.estimate(np.exp(x), y**3).cross_check, abs=1e-12)
    assert mist.estimate(x, y, check=False).cross_check is None
    wide = np.hstack([x, rng.normal(size=(500, 3))])
    assert mist.estimate(wide[:, :3], y).cross_check is not None  # 4 columns: checked
    assert mist.estimate(wide, y).cross_check is None  # 5 columns: too many for a cheap KSG
    assert mist.estimate(np.round(x), np.round(y)).cross_check is None  # ties: KSG unreliable
    assert json.loads(json.dumps(fine.to_dict()))["cross_check"] == fine.cross_check


@pytest.mark.filterwarnings("ignore:answered by KSG")
def test_ksg_answers_above_2000_rows_from_an_order_independent_subset():
    rng = np.random.default_rng(14)
    x = rng.normal(size=(3000, 1))
    y = np.sin(3 * x) + 0.2 * rng.normal(size=(3000, 1))  # exact MI 1.154 (noisy_function_mi)
    r = mist.estimate(x, y)
    assert r.model == "ksg" and "on 2000 of the rows" in r.notes[-1] and r.low < 1.154 < r.high
    assert not any(note.startswith("n=3000 above 500") for note in r.notes)  # that note is about the model's average
    perm = rng.permutation(3000)
    assert mist.estimate(x[perm], y[perm]).estimate == pytest.approx(r.estimate, abs=1e-12)


def test_ksg_answers_no_training_family_data_and_agrees_with_the_model_there():
    from mist.distributions import TRAIN, sample_datasets

    pairs, mis = [], []
    for i, family in enumerate(TRAIN * 2):
        for dims in (1, 2):
            try:
                b = sample_datasets(family, 100 + 200 * (i % 3), dims, dims, 1, seed=100 + i)
            except mist.MistError:  # a family that needs other dimensions
                continue
            pairs.append((b.x[0].numpy().astype(np.float64), b.y[0].numpy().astype(np.float64)))
            mis.append(float(b.mi[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", mist.MistWarning)  # an answer by KSG would warn
        results = mist.estimate_many(pairs)
    assert len(results) > 50 and all(r.model != "ksg" and r.cross_check is not None for r in results)
    # where the model is right, KSG on normal scores is close to it: the check compares like with like
    gaps = np.array([r.cross_check - r.estimate for r in results])
    assert np.abs(np.median(gaps)) < 0.05 and np.mean(np.abs(gaps)) < 0.15


def test_folded_check_warns_on_even_dependence_at_any_width_with_a_bound_that_holds():
    from mist.distributions.beyond import noisy_function_mi

    rng = np.random.default_rng(15)
    x = rng.normal(size=(500, 3))
    y = x**2 + 0.3 * rng.normal(size=(500, 3))  # 6 columns: no KSG; exact MI 3 x 1.141
    exact = 3 * noisy_function_mi(np.square, 0.3)
    with pytest.warns(mist.MistWarning, match=r"does not read: the normal scores of x column \d and y column \d"):
        r = mist.estimate(x, y)
    assert r.model == "mist-tiny-gpu" and r.high < r.lower_bound < exact
    # rows shuffled, increasing maps, x and y swapped: the same bound (folding is done on ranks)
    perm = rng.permutation(500)
    with pytest.warns(mist.MistWarning, match="does not read"):
        again = mist.estimate(np.exp(y[perm]), 2 * x[perm] - 1)
    assert again.lower_bound == pytest.approx(r.lower_bound, abs=1e-6)
    # a strong monotone pair folds to a strong pair too: no alarm there (the high-MI check covers it)
    with warnings.catch_warnings():
        warnings.simplefilter("error", mist.MistWarning)
        line = mist.estimate(x, x + 0.3 * rng.normal(size=(500, 3)))
    assert not any(note.startswith("dependence the model does not read") for note in line.notes)


def test_cross_check_on_the_command_line(tmp_path):
    rng = np.random.default_rng(11)
    x = rng.normal(size=400)
    path = tmp_path / "square.csv"
    np.savetxt(path, np.column_stack([x, x**2 + 0.3 * rng.normal(size=400)]), delimiter=",", header="x,y", comments="")
    runner = CliRunner()
    checked = runner.invoke(app, ["estimate", str(path), "--x", "x", "--y", "y"])
    assert checked.exit_code == 0 and checked.output.count("KSG, a model-free estimator") == 1  # a note, not twice
    unchecked = runner.invoke(app, ["estimate", str(path), "--x", "x", "--y", "y", "--no-check", "--json"])
    assert json.loads(unchecked.output)["cross_check"] is None
    matrix = runner.invoke(app, ["matrix", str(path), "--check"])
    assert matrix.exit_code == 0 and "note: x ~ y: KSG, a model-free estimator" in matrix.output


def test_matrix_cross_check_names_the_pairs_the_model_misses(test_model_card):
    rng = np.random.default_rng(12)
    x = rng.normal(size=600)
    table = pd.DataFrame({"x": x, "square": x**2 + 0.3 * rng.normal(size=600),
                          "line": x + rng.normal(size=600), "noise": rng.normal(size=600)})
    with pytest.warns(mist.MistWarning, match="does not read.*x ~ square"):  # the folded check, always on
        plain = mist.mi_matrix(table)
    assert list(plain.attrs["folded"]) == ["x ~ square"] and plain.attrs["folded"]["x ~ square"] > plain.loc["x", "square"]
    assert "cross_check" not in plain.attrs  # off by default
    with pytest.warns(mist.MistWarning, match="x ~ square"):
        checked = mist.mi_matrix(table, check=True)
    assert list(checked.attrs["cross_check"]) == ["x ~ square"]
    assert checked.attrs["answered_by"] == {"x ~ square": "ksg"}
    square = (checked.index == "square") | (checked.columns == "square")[:, None]  # the pair KSG answered
    np.testing.assert_array_equal(checked.to_numpy()[~square], plain.to_numpy()[~square])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mist.MistWarning)
        single = mist.estimate(table.x, table.square)
    assert single.model == "ksg" and checked.loc["x", "square"] == pytest.approx(single.estimate, abs=1e-9)
    assert checked.loc["x", "square"] > plain.loc["x", "square"] + 0.5
    # a model with a cell trunk takes estimate_many's path, with the same check
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mist.MistWarning)
        other = mist.mi_matrix(table, model=test_model_card, check=True)
    assert all(v > 0 for v in other.attrs["cross_check"].values())


def test_score_function_cross_check_names_the_features():
    rng = np.random.default_rng(13)
    X = pd.DataFrame(rng.normal(size=(400, 3)), columns=["square", "line", "noise"])
    y = X["square"] ** 2 + 0.3 * rng.normal(size=400)
    with pytest.warns(mist.MistWarning, match="square ~ y"):
        checked = mist.mutual_info_score(X, y, check=True)
    with pytest.warns(mist.MistWarning, match="does not read.*square ~ y"):
        plain = mist.mutual_info_score(X, y)
    np.testing.assert_array_equal(checked[1:], plain[1:])  # the model's, where KSG agrees
    assert checked[0] > plain[0] + 0.5 and checked[0] == max(checked)  # KSG answered: the square ranks first


@pytest.mark.parametrize("module", ["mist", "mist.api", "mist.differentiable", "mist.estimators.ksg",
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
