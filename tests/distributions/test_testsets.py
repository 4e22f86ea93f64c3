import numpy as np
import pytest

from mist.distributions import TestSet, load_testset, paper_grid, save_testset
from mist.errors import MistError


def test_small_grid_is_deterministic_and_round_trips(tmp_path):
    a = paper_grid("oomd", seed=3, repeats=2, n_values=(10, 57))
    b = paper_grid("oomd", seed=3, repeats=2, n_values=(10, 57))
    assert len(a) == 7 * 2 * 2
    assert all(np.array_equal(u, v) for u, v in zip(a.xs, b.xs))
    # the repeats of a (family, n) group share d
    assert (a.dim_x[0::2] == a.dim_x[1::2]).all() and (a.dim_x == a.dim_y).all()
    assert ((a.dim_x >= 2) & (a.dim_x <= 32)).all()
    path = save_testset(a, tmp_path / "grid.npz")
    c = load_testset(path)
    assert len(c) == len(a) and c.meta["split"] == "oomd"
    assert all(np.array_equal(u, v) for u, v in zip(a.ys, c.ys))
    np.testing.assert_array_equal(a.mi, c.mi)
    assert c.params[0] == a.params[0]


def test_full_paper_grid_sizes():
    grid = paper_grid("imd")
    assert len(grid) == 1080
    assert sorted(set(grid.n.tolist())) == [int(v) for v in np.linspace(10, 500, 20)]
    assert 0 < grid.mi.min() and grid.mi.max() < 45


def test_load_errors(tmp_path):
    with pytest.raises(MistError, match="does not exist"):
        load_testset(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(MistError, match="could not read"):
        load_testset(bad)
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(MistError, match="not a mist test set"):
        load_testset(tmp_path / "other.npz")


def test_concat_keeps_every_dataset_in_order():
    a = paper_grid("imd", seed=1, repeats=1, n_values=(20,))
    b = paper_grid("oomd", seed=2, repeats=2, n_values=(30,))
    both = TestSet.concat([a, b])
    assert len(both) == len(a) + len(b)
    np.testing.assert_array_equal(both.mi, np.concatenate([a.mi, b.mi]))
    assert list(both.family) == list(a.family) + list(b.family)
    assert both.xs[len(a)] is b.xs[0] and both.params[-1] == b.params[-1]
