"""The NumPy inference path must give the PyTorch module's numbers (both float32)."""

import numpy as np
import pytest
import torch

from mist.distributions import sample_datasets
from mist.model import MISTNetwork, ModelConfig
from mist.model import canonical
from mist.model.inference import predict_many
from mist.model import numpy_forward
from mist.model.numpy_forward import (NumpyForward, copula_summary, normal_scores, numpy_forward_for, pair_summary,
                                      state_shapes, supports)
from mist.weights import load_model

TAUS = [0.05, 0.25, 0.5, 0.75, 0.95]
# float32 on both sides, sums taken in different orders
TOL = 2e-5


def torch_forward(network, x, y):
    with torch.no_grad():
        out = network(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32),
                      None, torch.tensor(TAUS))
    return out.mean.numpy(), out.quantiles.numpy()


def check_agrees(network, x, y, tol=TOL):
    mean, quantiles = NumpyForward.from_network(network)(x, y, TAUS)
    ref_mean, ref_quantiles = torch_forward(network, x, y)
    scale = 1.0 + np.abs(ref_quantiles).max()
    np.testing.assert_allclose(mean, ref_mean, atol=tol * scale)
    np.testing.assert_allclose(quantiles, ref_quantiles, atol=tol * scale)


@pytest.mark.parametrize("shape", [(2, 500, 32, 32), (3, 3, 1, 1), (4, 40, 1, 6), (2, 120, 7, 3)])
def test_shipped_model_agrees_with_torch(shape):
    b, n, dim_x, dim_y = shape
    batch = sample_datasets("multi_student-dense-base", n, dim_x, dim_y, b, seed=n + dim_x)
    check_agrees(load_model("default"), batch.x.numpy(), batch.y.numpy())


def test_ties_agree_with_torch():
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=(3, 60, 2)))  # a few distinct values per column
    y = x[..., :1] + rng.integers(0, 3, size=(3, 60, 1))
    check_agrees(load_model("default"), x, y)
    values = np.concatenate([x, y], axis=-1).astype(np.float32)
    mask = torch.ones(3, 60, dtype=torch.bool)
    expected = canonical.normal_scores(torch.tensor(values), mask).numpy()
    np.testing.assert_allclose(normal_scores(values), expected, atol=1e-6)


@pytest.mark.parametrize("overrides", [{}, {"use_column_stats": False}, {"input_transform": "standardize"},
                                       {"column_blocks": 1, "heads": 4, "quantile_knots": 1},
                                       {"use_pair_stats": True, "pair_width": 8}])
def test_untrained_configs_agree_with_torch(overrides):
    torch.manual_seed(1)
    cfg = ModelConfig(**{"stats_width": 16, "head_width": 32, "quantile_knots": 4, "use_cells": False, **overrides})
    network = MISTNetwork(cfg).eval()
    # move every parameter away from its initial value so no term is silently zero
    with torch.no_grad():
        for p in network.parameters():
            p.add_(0.1 * torch.randn_like(p))
    batch = sample_datasets("multi_normal-sparse-base", 80, 3, 5, 3, seed=2)
    check_agrees(network, batch.x.numpy(), batch.y.numpy(), tol=1e-4)


def test_cell_models_are_left_to_torch():
    network = MISTNetwork(ModelConfig(cell_width=8, heads=2, blocks=1, inducing=4, stats_width=16,
                                      head_width=32, quantile_knots=4)).eval()
    assert not supports(network.config)
    with pytest.raises(ValueError, match="cell trunk"):
        NumpyForward.from_network(network)
    batch = sample_datasets("multi_normal-sparse-base", 30, 2, 2, 2, seed=0)
    mean, _ = predict_many(network, list(batch.x), list(batch.y))  # auto falls back to torch
    assert np.isfinite(mean).all()


def test_predict_many_backends_agree_on_ragged_input():
    network = load_model("default")
    rng = np.random.default_rng(3)
    xs, ys = [], []
    for n, dim_x, dim_y in [(50, 1, 1), (80, 1, 1), (50, 1, 1), (200, 4, 2), (30, 4, 2), (10, 2, 2)]:
        x = rng.normal(size=(n, dim_x))
        xs.append(x)
        ys.append(x[:, :1] + rng.normal(size=(n, dim_y)))
    m_np, q_np = predict_many(network, xs, ys, TAUS, backend="numpy")
    m_t, q_t = predict_many(network, xs, ys, TAUS, backend="torch")
    np.testing.assert_allclose(m_np, m_t, atol=1e-4)
    np.testing.assert_allclose(q_np, q_t, atol=1e-4)
    with pytest.raises(ValueError, match="backend"):
        predict_many(network, xs, ys, backend="jax")


def test_cached_engine_follows_parameter_updates():
    torch.manual_seed(0)
    network = MISTNetwork(ModelConfig(stats_width=16, head_width=32, quantile_knots=4, use_cells=False))
    batch = sample_datasets("multi_normal-sparse-base", 40, 2, 2, 2, seed=0)
    first = numpy_forward_for(network)
    assert numpy_forward_for(network) is first
    before = first(batch.x.numpy(), batch.y.numpy())[0]
    optimiser = torch.optim.SGD(network.parameters(), lr=0.5)
    network(batch.x, batch.y).mean.sum().backward()
    optimiser.step()
    after = numpy_forward_for(network)(batch.x.numpy(), batch.y.numpy())[0]
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, torch_forward(network.eval(), batch.x, batch.y)[0], atol=1e-4)


def test_looped_and_batched_linear_algebra_agree(monkeypatch):
    # one or two datasets go through direct LAPACK calls, larger batches through NumPy's batched
    # routines: both must give the same statistics
    batch = sample_datasets("multi_student-dense-base", 200, 5, 3, 6, seed=4)
    values = np.concatenate([batch.x.numpy(), batch.y.numpy()], axis=-1)
    columns = np.ascontiguousarray(normal_scores(values).transpose(0, 2, 1))
    monkeypatch.setattr(numpy_forward, "LAPACK_LOOP_MAX", 8)
    looped = copula_summary(columns, 5)
    monkeypatch.setattr(numpy_forward, "LAPACK_LOOP_MAX", 0)
    batched = copula_summary(columns, 5)
    for a, b in zip(looped, batched):
        np.testing.assert_allclose(a, b, atol=1e-5)
    singular = np.zeros((1, 4, 4), dtype=np.float32)
    for limit in (8, 0):
        monkeypatch.setattr(numpy_forward, "LAPACK_LOOP_MAX", limit)
        with pytest.raises(np.linalg.LinAlgError):
            numpy_forward.canonical_correlations(singular, 2)


def test_gelu_matches_torch():
    x = np.concatenate([3 * np.random.default_rng(0).normal(size=20_000), np.linspace(-12, 12, 2001), [0.0, -0.0]])
    x = x.astype(np.float32)
    expected = torch.nn.functional.gelu(torch.tensor(x, dtype=torch.float64)).numpy()
    assert np.abs(numpy_forward.gelu(x) - expected).max() < 6e-7


@pytest.mark.parametrize("overrides", [{}, {"use_column_stats": False}, {"column_blocks": 3, "heads": 4}])
def test_state_shapes_match_the_module(overrides):
    cfg = ModelConfig(**{"stats_width": 16, "head_width": 32, "quantile_knots": 4, "use_cells": False, **overrides})
    module = {k: tuple(v.shape) for k, v in MISTNetwork(cfg).state_dict().items()}
    assert state_shapes(cfg) == module


def test_engine_rejects_a_state_that_does_not_fit():
    cfg = ModelConfig(stats_width=16, head_width=32, quantile_knots=4, use_cells=False)
    state = {k: v.numpy() for k, v in MISTNetwork(cfg).state_dict().items()}
    NumpyForward(cfg, state)  # fits
    with pytest.raises(ValueError, match="trunk.0.weight"):
        NumpyForward(cfg, {**state, "trunk.0.weight": state["trunk.0.weight"][:, :-1]})
    with pytest.raises(ValueError, match="unexpected"):
        NumpyForward(cfg, {**state, "cells.embed.0.weight": state["trunk.2.weight"]})


def pair_network() -> MISTNetwork:
    """An untrained network with the pair branch, every parameter moved off its initial value."""
    torch.manual_seed(3)
    network = MISTNetwork(ModelConfig(stats_width=16, head_width=32, quantile_knots=4, use_cells=False,
                                      use_pair_stats=True, pair_width=8)).eval()
    with torch.no_grad():
        for p in network.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return network


@pytest.mark.parametrize("model", ["default", "pairs"])
def test_pairs_of_columns_agree_with_one_pass_per_pair(model):
    rng = np.random.default_rng(5)
    values = rng.normal(size=(150, 6))
    values[:, 1] = values[:, 0] ** 3 + 0.3 * rng.normal(size=150)  # dependent, monotone-transformed
    values[:, 2] = np.round(values[:, 2])  # heavily tied
    values[:, 3] = np.abs(values[:, 0]) + 0.1 * rng.normal(size=150)  # uncorrelated yet dependent
    first, second = np.triu_indices(6, k=1)
    engine = NumpyForward.from_network(load_model("default") if model == "default" else pair_network())
    mean, quantiles = engine.pairs(values, first, second, TAUS, chunk=4)  # several chunks
    for k, (i, j) in enumerate(zip(first, second)):
        ref_mean, ref_quantiles = engine(values[None, :, [i]], values[None, :, [j]], TAUS)
        np.testing.assert_allclose(mean[k], ref_mean[0], atol=2e-5)
        np.testing.assert_allclose(quantiles[k], ref_quantiles[0], atol=2e-5)
    # the closed-form statistics themselves, against the general ones
    columns = np.ascontiguousarray(normal_scores(values[None]).transpose(0, 2, 1))[0]
    canonical, summary = pair_summary(columns, first, second)
    stacked = np.stack([columns[[i, j]] for i, j in zip(first, second)])
    ref_canonical, ref_summary = copula_summary(stacked, 1)
    np.testing.assert_allclose(canonical, ref_canonical, atol=1e-6)
    np.testing.assert_allclose(summary, ref_summary, atol=1e-6)


def test_largest_pair_correlation_of_a_pass_and_of_pairs():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 80, 4))
    y = rng.normal(size=(3, 80, 2))
    y[1, :, 1] = np.exp(x[1, :, 2]) + 0.5 * rng.normal(size=80)  # one strong pair, in dataset 1
    z = normal_scores(np.concatenate([x, y], axis=-1)).astype(np.float64)
    z = (z - z.mean(1, keepdims=True)) / z.std(1, keepdims=True)
    reference = (np.einsum("bni,bnj->bij", z[..., :4], z[..., 4:]) / 80) ** 2
    expected = reference.reshape(3, -1).max(-1)
    engine = NumpyForward.from_network(load_model("default"))
    mean, _, r2 = engine(x, y, TAUS, with_pair_r2=True)
    np.testing.assert_allclose(r2, expected, atol=1e-5)
    assert r2.argmax() == 1
    np.testing.assert_allclose(numpy_forward.largest_pair_r2(x, y), expected, atol=1e-5)
    np.testing.assert_allclose(engine(x, y, TAUS)[0], mean)  # the flag changes nothing else
    values = np.concatenate([x[1], y[1]], axis=1)
    first, second = np.meshgrid(np.arange(4), np.arange(4, 6), indexing="ij")
    _, _, pair_r2 = engine.pairs(values, first.ravel(), second.ravel(), with_pair_r2=True)
    np.testing.assert_allclose(pair_r2, reference[1].ravel(), atol=1e-5)
