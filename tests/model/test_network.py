import numpy as np
import pytest
import torch

from mist.distributions import sample_datasets
from mist.model import MISTNetwork, ModelConfig
from mist.model.canonical import canonical_correlations, normal_scores
from mist.estimators.cca import canonical_correlations as numpy_canonical_correlations
from mist.estimators.cca import normal_scores as numpy_normal_scores

SMALL = ModelConfig(cell_width=8, heads=2, blocks=1, inducing=4, stats_width=16, head_width=32, quantile_knots=4)
PAIRS = ModelConfig(stats_width=16, head_width=32, quantile_knots=4, use_cells=False, use_pair_stats=True, pair_width=8)


@pytest.fixture(scope="module", params=["cells", "pairs"])
def network(request):
    torch.manual_seed(0)
    network = MISTNetwork(SMALL if request.param == "cells" else PAIRS).eval()
    if request.param == "pairs":  # the pair branch starts at zero output: move it off zero
        with torch.no_grad():
            network.stats.pairs.into_column.weight.normal_(0, 0.3)
    return network


@pytest.fixture(scope="module")
def batch():
    return sample_datasets("multi_student-sparse-base", 60, 3, 2, 3, seed=0)


# float32 forward passes: reordering sums changes results at the 1e-6 level
TOL = 1e-4


def test_row_order_invariance(network, batch):
    perm = torch.randperm(60, generator=torch.Generator().manual_seed(1))
    a = network(batch.x, batch.y).mean
    b = network(batch.x[:, perm], batch.y[:, perm]).mean
    assert torch.allclose(a, b, atol=TOL)


def test_column_order_invariance(network, batch):
    a = network(batch.x, batch.y).mean
    b = network(batch.x[:, :, [2, 0, 1]], batch.y[:, :, [1, 0]]).mean
    assert torch.allclose(a, b, atol=TOL)


def test_symmetric_in_x_and_y(network, batch):
    assert torch.allclose(network(batch.x, batch.y).mean, network(batch.y, batch.x).mean, atol=TOL)


def test_monotone_maps_change_nothing_with_rank_input(network, batch):
    a = network(batch.x, batch.y).mean
    b = network(torch.asinh(batch.x) * 5 - 2, torch.exp(batch.y)).mean
    assert torch.allclose(a, b, atol=1e-6)


def test_padding_is_masked(network, batch):
    pad_x = torch.cat([batch.x, 1e3 * torch.randn(3, 17, 3)], dim=1)
    pad_y = torch.cat([batch.y, torch.randn(3, 17, 2)], dim=1)
    mask = torch.zeros(3, 77, dtype=torch.bool)
    mask[:, :60] = True
    assert torch.allclose(network(batch.x, batch.y).mean, network(pad_x, pad_y, mask).mean, atol=TOL)


@pytest.mark.parametrize("dims", [(1, 1), (1, 7), (5, 1)])
def test_any_dimensions(network, dims):
    b = sample_datasets("multi_normal-dense-base", 5, *dims, 2, seed=0)
    out = network(b.x, b.y, tau=torch.tensor([0.1, 0.9]))
    assert out.mean.shape == (2,) and out.quantiles.shape == (2, 2)
    assert torch.isfinite(out.mean).all()


def test_quantiles_never_cross(network, batch):
    tau = torch.sort(torch.rand(500, generator=torch.Generator().manual_seed(0)) * 0.999998 + 1e-6).values
    q = network(batch.x, batch.y, tau=tau).quantiles
    assert (q.diff(dim=1) >= 0).all()
    # the head is exactly centred: q(1/2) is its median output
    per_dataset = torch.rand(3, 4)
    q2 = network(batch.x, batch.y, tau=per_dataset).quantiles
    assert q2.shape == (3, 4)


@pytest.mark.parametrize("cfg", [ModelConfig(**{**SMALL.to_dict(), "use_cells": False}),
                                 ModelConfig(**{**SMALL.to_dict(), "use_stats": False}),
                                 ModelConfig(**{**SMALL.to_dict(), "dim_attention": False}),
                                 ModelConfig(**{**SMALL.to_dict(), "input_transform": "standardize"})])
def test_ablation_variants_run(cfg, batch):
    out = MISTNetwork(cfg)(batch.x, batch.y, tau=torch.tensor([0.5]))
    assert torch.isfinite(out.mean).all() and torch.isfinite(out.quantiles).all()


def test_bad_configs():
    with pytest.raises(ValueError, match="input_transform"):
        MISTNetwork(ModelConfig(input_transform="quantile"))
    with pytest.raises(ValueError, match="use_cells or use_stats"):
        MISTNetwork(ModelConfig(use_cells=False, use_stats=False))
    with pytest.raises(ValueError, match="unknown model config keys"):
        ModelConfig.from_dict({"width": 3})


def test_torch_normal_scores_and_cca_match_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3))
    y = x[:, :2] + rng.normal(size=(80, 2))
    xy = torch.tensor(np.hstack([x, y]), dtype=torch.float64)[None]
    mask = torch.ones(1, 80, dtype=torch.bool)
    z = normal_scores(xy, mask)
    # Hazen positions (r + 1/2) / n here, (r + 1) / (n + 1) in numpy: same ranks, same order
    assert torch.equal(z[0].argsort(0), torch.tensor(numpy_normal_scores(np.hstack([x, y]))).argsort(0))
    r = canonical_correlations(z, mask, 3)[0].numpy()
    zn = z[0].numpy()
    np.testing.assert_allclose(r, numpy_canonical_correlations(zn[:, :3], zn[:, 3:]), atol=1e-8)


def test_normal_scores_average_ties():
    v = torch.tensor([[[1.0], [2.0], [2.0], [3.0]]])
    z = normal_scores(v, torch.ones(1, 4, dtype=torch.bool))[0, :, 0]
    assert z[1] == z[2] == 0.0 and z[0] == -z[3]
