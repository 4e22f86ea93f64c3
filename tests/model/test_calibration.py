import copy
import json

import numpy as np
import pytest
import torch

from mist.distributions import paper_grid
from mist.errors import MistError
from mist.model import MISTNetwork, ModelConfig
from mist.model.calibration import (GRID_TAUS, CalibrationMaps, TauMap, combine_subset_quantiles, fit_calibration,
                                    fit_shared_fraction, large_n_set, shared_fraction, subset_quantiles, subset_scale,
                                    tau_map_from_coverage)
from mist.model.inference import predict_many
from mist.model.serialization import load_model_file, save_model

SMALL = ModelConfig(stats_width=16, head_width=32, quantile_knots=4, heads=2, column_blocks=1, use_cells=False)
TAUS = (0.05, 0.25, 0.5, 0.75, 0.95)


def test_map_inverts_a_known_coverage_curve():
    # a head whose t-quantile covers t^2 of the truth: asking for sqrt(tau) covers tau
    cover = GRID_TAUS**2
    m = tau_map_from_coverage(GRID_TAUS, cover)
    taus = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    np.testing.assert_allclose(m(taus), np.sqrt(taus), atol=0.01)
    assert np.all(np.diff(m(np.linspace(0, 1, 1001))) >= 0)
    assert m(0.0) == 0.0 and m(1.0) == 1.0


def test_map_of_a_calibrated_head_is_the_identity():
    m = tau_map_from_coverage(GRID_TAUS, GRID_TAUS.copy())
    np.testing.assert_allclose(m(np.linspace(0.01, 0.99, 50)), np.linspace(0.01, 0.99, 50), atol=1e-9)


def test_crossing_coverage_is_refused():
    with pytest.raises(MistError, match="non-decreasing"):
        tau_map_from_coverage(GRID_TAUS, GRID_TAUS[::-1].copy())


@pytest.mark.parametrize("bad", [{"nominal": [0.2, 0.1], "query": [0.1, 0.2]}, {"nominal": [0.1], "query": [1.2]},
                                 {"nominal": [0.1, 0.2], "query": [0.1]}, {"query": [0.1]}, [0.1]])
def test_malformed_maps_are_refused(bad):
    with pytest.raises(MistError, match="tau_calibration"):
        TauMap.from_dict(bad)


@pytest.fixture(scope="module")
def untrained_and_grid():
    torch.manual_seed(0)
    network = MISTNetwork(SMALL).eval()
    grid = paper_grid("train", seed=5, repeats=2, n_values=(60, 150))
    return network, grid


def test_fitted_maps_calibrate_their_own_data_overall_and_per_cell():
    """On the data they were fitted on, the calibrated quantiles cover the truth at the nominal
    rate (up to the grid's resolution) overall and within each cell that has its own map, and
    they stay ordered."""
    from mist.weights import load_model

    network = copy.deepcopy(load_model("mist-tiny-gpu"))
    grid = paper_grid("train", seed=5, repeats=4, n_values=(30, 100, 400))
    maps, raw = fit_calibration(network, grid.xs, grid.ys, grid.mi, min_cell=25)
    assert maps.cells  # some cells are large enough for their own map
    network.tau_map = maps
    _, q = predict_many(network, grid.xs, grid.ys, TAUS)
    np.testing.assert_allclose(raw, (grid.mi[:, None] <= predict_many(network, grid.xs, grid.ys, GRID_TAUS,
                                                                      calibrate=False)[1]).mean(0))
    assert np.all(np.diff(q, axis=1) >= 0)
    cells = [maps.cell(x.shape[0], x.shape[1], y.shape[1]) for x, y in zip(grid.xs, grid.ys)]
    for key in maps.cells:
        members = np.array([c == key for c in cells])
        covered = (grid.mi[members, None] <= q[members]).mean(0)
        np.testing.assert_allclose(covered, TAUS, atol=1.5 / members.sum() + 0.01)


def test_cells_follow_the_edges():
    m = TauMap(np.array([0.5]), np.array([0.6]))
    maps = CalibrationMaps(m, {(0, 0): TauMap(np.array([0.5]), np.array([0.7]))}, n_edges=(60, 150), dim_edges=(17,))
    assert maps.cell(59, 8, 8) == (0, 0) and maps.cell(60, 8, 8) is None and maps.cell(20, 9, 8) is None
    assert maps(0.5, 20, 1, 1) == 0.7 and maps(0.5, 400, 1, 1) == 0.6
    again = CalibrationMaps.from_dict(maps.to_dict())
    assert again.cells.keys() == maps.cells.keys() and again.n_edges == (60, 150)
    with pytest.raises(MistError, match="outside the bins"):
        CalibrationMaps(m, {(5, 0): m}, n_edges=(60,), dim_edges=(17,))


def test_card_carries_the_maps_and_predict_many_applies_them(tmp_path, untrained_and_grid):
    network, grid = untrained_and_grid
    overall = TauMap(np.array([0.2, 0.5, 0.8]), np.array([0.3, 0.6, 0.9]))
    small_n = TauMap(np.array([0.2, 0.5, 0.8]), np.array([0.1, 0.4, 0.7]))
    maps = CalibrationMaps(overall, {(0, 0): small_n, (0, 1): small_n, (0, 2): small_n}, n_edges=(100,))
    card = save_model(network, tmp_path / "cal", {"name": "cal", "tau_calibration": maps.to_dict()})
    loaded, _ = load_model_file(card)
    for n_max, raw_taus in ((60, [0.1, 0.4, 0.7]), (150, [0.3, 0.6, 0.9])):
        keep = [i for i, x in enumerate(grid.xs) if x.shape[0] == n_max][:6]
        xs, ys = [grid.xs[i] for i in keep], [grid.ys[i] for i in keep]
        _, calibrated = predict_many(loaded, xs, ys, [0.2, 0.5, 0.8])
        _, raw = predict_many(loaded, xs, ys, raw_taus, calibrate=False)
        np.testing.assert_allclose(calibrated, raw, rtol=1e-6, atol=1e-6)


def test_corrupted_map_in_a_card_is_refused(tmp_path, untrained_and_grid):
    network, _ = untrained_and_grid
    card = save_model(network, tmp_path / "bad", {"name": "bad"})
    data = json.loads(card.read_text())
    for bad in ({"overall": {"nominal": [0.5, 0.4], "query": [0.5, 0.6]}}, {"nominal": [0.5], "query": [0.5]},
                {"overall": {"nominal": [0.5], "query": [0.5]}, "cells": [{"n_bin": 0}]}):
        data["tau_calibration"] = bad
        card.write_text(json.dumps(data))
        with pytest.raises(MistError, match="bad.json.*tau_calibration"):
            load_model_file(card)


def test_combining_subset_quantiles():
    q = np.array([[0.0, 1.0, 2.0], [1.0, 2.0, 4.0], [2.0, 3.0, 6.0], [3.0, 4.0, 8.0]])  # 4 subsets, 3 taus
    mean = q.mean(0)
    np.testing.assert_allclose(combine_subset_quantiles(q, 1, None), mean)
    np.testing.assert_allclose(combine_subset_quantiles(q, 1, 1.0), mean)  # all error shared: no narrowing
    # nothing shared: the spread of a mean of 4 independent subsets, half of one subset's
    np.testing.assert_allclose(combine_subset_quantiles(q, 1, 0.0), mean[1] + 0.5 * (mean - mean[1]))
    np.testing.assert_allclose(combine_subset_quantiles(q[:1], 1, 0.0), q[0])  # one subset: as it is
    assert subset_scale(1, 0.3) == 1.0 and subset_scale(100, 0.3) == pytest.approx(np.sqrt(0.3 + 0.7 / 100))


def test_shared_fraction_is_recovered_from_known_data():
    # subset estimates = truth + a bias shared by the subsets (variance rho) + independent noise
    # (variance 1 - rho), each reporting the quantiles of a unit-variance normal around itself
    from scipy.stats import norm

    rng = np.random.default_rng(0)
    taus = (0.05, 0.25, 0.5, 0.75, 0.95)
    rho, per_subset, truth = 0.3, [], []
    for i in range(4000):
        k = int(rng.choice([2, 4, 10, 20]))
        estimates = rng.normal(0, np.sqrt(rho)) + rng.normal(0, np.sqrt(1 - rho), size=k)
        per_subset.append(estimates[:, None] + norm.ppf(taus)[None, :])
        truth.append(0.0)
    fitted, report = fit_shared_fraction(per_subset, truth, taus)
    assert abs(fitted - rho) < 0.06
    assert abs(report["fitted"]["coverage_90"] - 0.9) < 0.02 < report["subset_interval"]["coverage_90"] - 0.9
    assert report["fitted"]["pinball"] < report["subset_interval"]["pinball"]


def test_malformed_subset_calibration_is_refused(tmp_path):
    assert shared_fraction({}) is None and shared_fraction({"subset_calibration": {"shared_fraction": 0.2}}) == 0.2
    for bad in ({"shared_fraction": 1.5}, {"shared_fraction": "x"}, {}, [0.2]):
        with pytest.raises(MistError, match="shared_fraction"):
            shared_fraction({"subset_calibration": bad})
    card = save_model(MISTNetwork(SMALL), tmp_path / "m", {"name": "m", "subset_calibration": {"shared_fraction": -1}})
    with pytest.raises(MistError, match="shared_fraction"):
        load_model_file(card)


def test_subset_quantiles_are_those_estimate_averages():
    from mist.estimation import row_subsets

    torch.manual_seed(0)
    network = MISTNetwork(SMALL).eval()
    data = large_n_set(seed=3, per_value=2, n_values=(1200,))
    assert len(data) == 2 and all(x.shape[0] == 1200 and np.isfinite(mi) for x, _, mi in data)
    per_subset = subset_quantiles(network, data, row_subsets, TAUS)
    for (x, y, _), q in zip(data, per_subset):
        rows = row_subsets(x, y)
        assert q.shape == (3, len(TAUS))  # 1,200 rows: 3 subsets of 400
        np.testing.assert_allclose(q, predict_many(network, [x[r] for r in rows], [y[r] for r in rows], TAUS)[1])


@pytest.mark.parametrize("kind", ["relation", "discrete"])
def test_relation_and_discrete_calibration_sets_follow_the_training_mix(kind):
    from mist.model import calibration

    make = getattr(calibration, f"{kind}_calibration_set")
    xs, ys, mi = make(40, n_max=100)
    assert len(xs) == len(ys) == len(mi) == 40 and np.isfinite(mi).all() and (mi >= 0).all()
    assert {x.shape[0] for x in xs} == set(np.linspace(10, 100, 20).astype(int))
    assert max(x.shape[1] for x in xs) <= 32 and max(y.shape[1] for y in ys) <= 32
    again = make(40, n_max=100)  # seeded: the same datasets
    assert all(np.array_equal(a, b) for a, b in zip(xs, again[0])) and np.array_equal(mi, again[2])
