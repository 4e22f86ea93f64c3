import pytest
import torch

from mist.errors import MistError

from mist.training.stream import random_orthogonal


@pytest.mark.parametrize("dim", [1, 2, 5])
def test_random_orthogonal_is_orthogonal_and_haar(dim):
    g = torch.Generator().manual_seed(0)
    q = random_orthogonal(20_000, dim, g, "cpu").double()
    eye = torch.eye(dim, dtype=torch.float64)
    torch.testing.assert_close(q @ q.transpose(1, 2), eye.expand_as(q), atol=1e-5, rtol=0)
    # Haar on O(dim): entries have mean 0 and second moment 1/dim; determinants +-1 equally often;
    # a fixed vector goes to a uniform point of the sphere (no preferred coordinate or sign)
    torch.testing.assert_close(q.mean(0), torch.zeros(dim, dim, dtype=torch.float64), atol=0.02, rtol=0)
    torch.testing.assert_close((q**2).mean(0), torch.full((dim, dim), 1.0 / dim, dtype=torch.float64), atol=0.02, rtol=0)
    assert abs(float((torch.linalg.det(q) > 0).double().mean()) - 0.5) < 0.02
    if dim > 1:  # fourth moment of one entry of a uniform unit vector: 3 / (dim (dim + 2))
        torch.testing.assert_close((q[:, 0, 0] ** 4).mean(), torch.tensor(3.0 / (dim * (dim + 2)), dtype=torch.float64),
                                   atol=0.01, rtol=0)


def test_random_invertible_spans_the_condition_numbers_asked():
    from mist.training.stream import random_invertible

    g = torch.Generator().manual_seed(0)
    a = random_invertible(4000, 4, 100.0, g, "cpu").double()
    s = torch.linalg.svdvals(a)
    torch.testing.assert_close(s[:, 0], torch.ones(4000, dtype=torch.float64), atol=1e-5, rtol=0)
    # the condition number is log-uniform in [1, 100]: log10 of it uniform in [0, 2]
    log_condition = torch.log10(s[:, 0] / s[:, -1])
    assert float(log_condition.min()) >= -1e-5 and float(log_condition.max()) <= 2 + 1e-5
    for q in (0.25, 0.5, 0.75):
        assert abs(float(torch.quantile(log_condition, q)) - 2 * q) < 0.05


def test_invertible_maps_mix_each_side_by_a_map_of_bounded_condition():
    # the first batch of a stream draws its data before its maps: with and without the maps, the
    # same data, so the map can be recovered by least squares
    import numpy as np

    from mist.training.stream import StreamConfig, TrainingStream

    def first_batch(prob_rotate):
        config = StreamConfig(n_range=(100, 100), dim_range=(3, 3), prob_rotate=prob_rotate, rotate_condition_max=30.0,
                              cells_per_batch=1, min_batch=1, max_batch=1)
        return TrainingStream(config, seed=3, families=tuple(f for f in stream_families()
                                                             if f.name == "multi_normal-dense-base")).next_batch()

    plain, mixed = first_batch(0.0), first_batch(1.0)
    assert torch.equal(plain.mi, mixed.mi)
    for a, b in ((plain.x[0], mixed.x[0]), (plain.y[0], mixed.y[0])):
        a, b = a.double().numpy(), b.double().numpy()
        m = np.linalg.lstsq(a, b, rcond=None)[0]
        np.testing.assert_allclose(a @ m, b, atol=1e-4)
        condition = np.linalg.cond(m)
        assert 1.5 < condition <= 30 * (1 + 1e-4)  # not orthogonal (this seed's draws), never past the bound


def test_low_dim_share_draws_few_columns_that_often():
    from mist.training.stream import StreamConfig, TrainingStream

    config = StreamConfig(n_range=(10, 100), dim_range=(1, 32), low_dim_share=0.5, low_dim_max=3)
    stream = TrainingStream(config, seed=0)
    shapes = [stream._draw_shape() for _ in range(4000)]
    low = sum(dx <= 3 and dy <= 3 for _, dx, dy in shapes) / len(shapes)
    # half the batches by the share, and uniform dims add (3/32)^2 / 2 + 3/32 / 2 of the rest
    expected = 0.5 + 0.5 * (0.5 * (3 / 32) ** 2 + 0.5 * 3 / 32)
    assert abs(low - expected) < 0.03
    assert all(1 <= dx <= 32 and 1 <= dy <= 32 and 10 <= n <= 100 for n, dx, dy in shapes)


def test_redundant_columns_fill_the_shape_and_repeat_the_drawn_ones():
    import numpy as np

    from mist.training.stream import StreamConfig, TrainingStream

    config = StreamConfig(n_range=(200, 200), dim_range=(2, 6), redundant_share=1.0, cells_per_batch=20_000,
                          min_batch=8, max_batch=16)
    stream = TrainingStream(config, seed=0)
    shapes = set()
    for _ in range(6):
        batch = stream.next_batch()
        b, n, dim_x = batch.x.shape
        shapes.add(dim_x + batch.y.shape[2])
        assert n == 200 and torch.isfinite(batch.x).all() and torch.isfinite(batch.y).all()
        assert torch.isfinite(batch.mi).all() and (batch.mi >= 0).all()
        # each side spans fewer dimensions than its columns only through the added noise: every
        # column of y is correlated with some other column of y when columns were added
        for side in (batch.x[0].double().numpy(), batch.y[0].double().numpy()):
            if side.shape[1] > 1:
                r = np.abs(np.corrcoef(side.T) - np.eye(side.shape[1]))
                assert np.isfinite(r).all()
    assert len(shapes) > 1  # the drawn shapes vary


@pytest.mark.parametrize("change", [dict(redundant_share=1.0, redundant_noise=(0.3, 0.3)),
                                    dict(prob_rotate=1.0, rotate_condition_max=30.0)])
def test_redundant_columns_and_invertible_maps_leave_the_mi_of_a_gaussian_unchanged(change):
    # the MI of the changed data, from the sample covariance, matches the drawn MI
    import numpy as np

    from mist.training.stream import StreamConfig, TrainingStream

    config = StreamConfig(n_range=(20_000, 20_000), dim_range=(3, 3), cells_per_batch=1, min_batch=1, max_batch=1,
                          **change)
    stream = TrainingStream(config, seed=1, families=tuple(f for f in stream_families() if f.name == "multi_normal-dense-base"))
    for _ in range(3):
        batch = stream.next_batch()
        x, y = batch.x[0].double().numpy(), batch.y[0].double().numpy()
        c = np.cov(np.hstack([x, y]).T)
        logdet = lambda m: np.linalg.slogdet(m)[1]  # noqa: E731
        mi = 0.5 * (logdet(c[:3, :3]) + logdet(c[3:, 3:]) - logdet(c))
        assert abs(mi - float(batch.mi[0])) < 0.02 + 0.05 * float(batch.mi[0])


def stream_families():
    from mist.distributions import get_split

    return get_split("train")


def test_discrete_fraction_puts_dequantised_discrete_columns_in_each_batch():
    import numpy as np

    from mist.training.stream import StreamConfig, TrainingStream

    config = StreamConfig(n_range=(50, 200), dim_range=(1, 4), discrete_fraction=0.25, cells_per_batch=40_000,
                          min_batch=160, max_batch=160)
    stream = TrainingStream(config, seed=0)
    for _ in range(4):
        batch = stream.next_batch()
        picked = [i for i, name in enumerate(batch.families) if name == "discrete"]
        # a share of the batch's size; the families fill what is left in equal parts, rounded down
        assert abs(len(picked) / len(batch.families) - 0.25) < 0.03
        for i in picked:  # one side's first column: 2-10 levels (codes 0..9) plus uniform noise
            x, y = batch.x[i].double().numpy(), batch.y[i].double().numpy()
            assert any(discrete_looking(side[:, 0]) for side in (x, y))
            assert 0 <= float(batch.mi[i]) <= np.log(10) + 1e-6
        assert torch.isfinite(batch.mi).all() and (batch.mi >= 0).all()
    with pytest.raises(MistError, match="relation_fraction \\+ discrete_fraction"):
        TrainingStream(StreamConfig(relation_fraction=0.6, discrete_fraction=0.4), seed=0)


def discrete_looking(column):
    import numpy as np

    return bool(column.min() >= 0 and column.max() < 10 and len(np.unique(np.floor(column))) >= 2)
