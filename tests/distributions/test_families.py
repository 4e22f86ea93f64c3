import numpy as np
import pytest
import torch

from mist.distributions import (
    IMD,
    OOMD,
    TRAIN,
    Family,
    Priors,
    get_split,
    sample_datasets,
)
from mist.distributions.families import sample_gamma
from mist.distributions.transforms import TRANSFORMS, apply_transform
from mist.errors import MistError


def test_split_sizes_and_names_parse():
    assert (len(TRAIN), len(IMD), len(OOMD)) == (16, 6, 7)
    assert set(IMD) <= set(TRAIN)
    assert not set(OOMD) & set(TRAIN)
    for name in TRAIN + IMD + OOMD:
        assert Family.from_name(name).name == name
    assert len(get_split("OoMD")) == 7


@pytest.mark.parametrize("name", ["multi_normal-dense", "gauss-dense-base", "multi_normal-ring-base",
                                  "multi_normal-dense-cube", "multi_additive_noise-dense-base"])
def test_bad_family_names(name):
    with pytest.raises(MistError):
        Family.from_name(name)


def test_unknown_split():
    with pytest.raises(MistError, match="unknown split"):
        get_split("validation")


def test_same_seed_same_data_and_other_seed_other_data():
    a = sample_datasets("multi_student-sparse-asinh", 50, 3, 2, 4, seed=7)
    b = sample_datasets("multi_student-sparse-asinh", 50, 3, 2, 4, seed=7)
    c = sample_datasets("multi_student-sparse-asinh", 50, 3, 2, 4, seed=8)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and torch.equal(a.mi, b.mi)
    assert not torch.equal(a.x, c.x)


@pytest.mark.parametrize("name", sorted(set(TRAIN + IMD + OOMD)))
def test_every_family_samples_finite_data_with_positive_mi(name):
    fam = Family.from_name(name)
    d = 4
    b = sample_datasets(fam, 30, d, d, 3, seed=0)
    assert b.x.shape == (3, 30, d) and b.y.shape == (3, 30, d)
    assert torch.isfinite(b.x).all() and torch.isfinite(b.y).all()
    assert (b.mi > 0).all() and b.mi.dtype == torch.float64


def test_independent_dims_and_their_limits():
    b = sample_datasets("multi_normal-lvm-base", 20, 1, 7, 2, seed=0)
    assert b.x.shape == (2, 20, 1) and b.y.shape == (2, 20, 7)
    with pytest.raises(MistError, match="dim_x == dim_y"):
        sample_datasets("multi_additive_noise-base", 20, 2, 3, seed=0)
    with pytest.raises(MistError, match="dim_x >= 2"):
        sample_datasets("multi_normal-2pair-base", 20, 1, 3, seed=0)
    with pytest.raises(MistError, match="seed"):
        sample_datasets("multi_normal-dense-base", 20, 1, 3)
    with pytest.raises(MistError, match="`n`"):
        sample_datasets("multi_normal-dense-base", 0, 1, 3, seed=0)


def test_priors_are_respected():
    priors = Priors(off_diag=(0.2, 0.3), df=(5.0, 5.5))
    b = sample_datasets("multi_student-dense-base", 10, 2, 2, 200, seed=0, priors=priors)
    assert ((b.params["off_diag"] >= 0.2) & (b.params["off_diag"] <= 0.3)).all()
    assert ((b.params["df"] >= 5.0) & (b.params["df"] <= 5.5)).all()
    k = sample_datasets("multi_normal-sparse-base", 10, 3, 5, 300, seed=0).params["n_interacting"]
    assert k.min() == 1 and k.max() == 3


@pytest.mark.parametrize("structure", ["dense", "sparse", "lvm", "2pair"])
def test_empirical_correlation_matches_target(structure):
    b = sample_datasets(f"multi_normal-{structure}-base", 40_000, 3, 4, 1, seed=1, dtype=torch.float64)
    joint = torch.cat([b.x[0], b.y[0]], dim=1).numpy()
    target = b.params["corr"][0].numpy()
    # standard error of a correlation at n = 40,000 is below 0.005: 0.025 is five of them
    np.testing.assert_allclose(np.corrcoef(joint.T), target, atol=0.025)


def _student_log_density(z, prec, logdet, nu):
    d = z.shape[-1]
    from scipy.special import gammaln

    q = np.einsum("ni,ij,nj->n", z, prec, z)
    return (gammaln((nu + d) / 2) - gammaln(nu / 2) - d / 2 * np.log(nu * np.pi) - 0.5 * logdet
            - (nu + d) / 2 * np.log1p(q / nu))


def test_student_monte_carlo_log_density_ratio_matches_closed_form():
    dx, dy, nu = 2, 3, 3.0
    fam = Family.from_name("multi_student-dense-base")
    gen = torch.Generator().manual_seed(3)
    params = fam.sample_params(1, dx, dy, generator=gen)
    params["df"] = torch.tensor([nu], dtype=torch.float64)
    x, y = fam.sample(params, 200_000, dx, dy, generator=gen, dtype=torch.float64)
    z = torch.cat([x[0], y[0]], 1).numpy()
    s = params["corr"][0].numpy()

    def logpdf(block, idx):
        sub = s[np.ix_(idx, idx)]
        return _student_log_density(block, np.linalg.inv(sub), np.linalg.slogdet(sub)[1], nu)

    ix, iy = list(range(dx)), list(range(dx, dx + dy))
    ratio = logpdf(z, ix + iy) - logpdf(z[:, :dx], ix) - logpdf(z[:, dx:], iy)
    exact = fam.mutual_information(params, dx, dy).item()
    stderr = ratio.std() / np.sqrt(len(ratio))
    assert abs(ratio.mean() - exact) < 5 * stderr + 1e-3


def test_additive_noise_monte_carlo_log_density_ratio_matches_closed_form():
    fam = Family.from_name("multi_additive_noise-base")
    gen = torch.Generator().manual_seed(4)
    params = {"eps": torch.tensor([[0.3, 1.2]], dtype=torch.float64)}
    x, y = fam.sample(params, 200_000, 2, 2, generator=gen, dtype=torch.float64)
    x, y, eps = x[0].numpy(), y[0].numpy(), params["eps"][0].numpy()
    # p(y|x) = 1/(2 eps) on [x - eps, x + eps]; p(y) = (length of [y-eps, y+eps] within [0, 1]) / (2 eps)
    overlap = np.minimum(y + eps, 1) - np.maximum(y - eps, 0)
    ratio = np.sum(np.log(1.0 / overlap), axis=1)
    exact = fam.mutual_information(params, 2, 2).item()
    assert abs(ratio.mean() - exact) < 5 * ratio.std() / np.sqrt(len(ratio)) + 1e-3


def test_gamma_sampler_moments():
    gen = torch.Generator().manual_seed(0)
    a = torch.tensor([0.5, 1.0, 4.5], dtype=torch.float64)
    g = sample_gamma(a, 100_000, gen)
    assert (g > 0).all()
    # mean a, variance a: standard error of the mean sqrt(a / n) < 0.007
    np.testing.assert_allclose(g.mean(1).numpy(), a.numpy(), atol=0.03)
    np.testing.assert_allclose(g.var(1).numpy(), a.numpy(), rtol=0.05)


@pytest.mark.parametrize("name", TRANSFORMS)
def test_transforms_strictly_increasing(name):
    t = torch.linspace(-50, 50, 200_001, dtype=torch.float64)
    tx, ty = apply_transform(name, t, t)
    assert (tx.diff() > 0).all() and (ty.diff() > 0).all()


@pytest.mark.parametrize("transform", ["asinh", "halfcube", "wigglify"])
def test_rank_transform_undoes_transforms(transform):
    base = sample_datasets("multi_normal-dense-base", 300, 3, 2, 2, seed=11)
    warped = sample_datasets(f"multi_normal-dense-{transform}", 300, 3, 2, 2, seed=11)
    assert torch.equal(base.mi, warped.mi)
    for a, b in ((base.x, warped.x), (base.y, warped.y)):
        assert torch.equal(a.argsort(dim=1), b.argsort(dim=1))
