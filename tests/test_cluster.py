"""mist.cluster: the tables' pairs on Dask (a LocalCluster started inside the tests)."""

import numpy as np
import pandas as pd
import pytest

import mist
from mist.errors import MistError


@pytest.fixture(scope="module")
def dask_client():
    """A LocalCluster started inside the tests: two single-threaded worker processes."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        yield client


def small_blocks(monkeypatch):
    """Blocks of 5 columns: a 12-column table makes three blocks, six tasks."""
    import mist.cluster

    monkeypatch.setattr(mist.cluster, "BLOCK_COLUMNS", 5)


@pytest.fixture(scope="module")
def wide_frame():
    """1,200 rows (above the model's 1,000, so the shared row subsets matter), 12 columns."""
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(rng.normal(size=(1200, 12)), columns=[f"c{j}" for j in range(12)])
    frame["c3"] = frame["c1"] ** 2 + 0.3 * rng.normal(size=1200)
    frame["c5"] = frame["c0"] + 0.5 * rng.normal(size=1200)
    return frame


def test_dask_gives_the_single_process_matrix_from_memory_and_from_files(dask_client, wide_frame, tmp_path,
                                                                         monkeypatch):
    import dask.dataframe as dd

    import mist.cluster

    small_blocks(monkeypatch)
    single = mist.mi_matrix(wide_frame)
    wide_frame.to_parquet(tmp_path / "t.parquet")
    wide_frame.to_csv(tmp_path / "t.csv", index=False)
    for source in (wide_frame, tmp_path / "t.parquet", str(tmp_path / "t.csv"), dd.from_pandas(wide_frame, npartitions=3)):
        table = mist.mi_matrix(source, scheduler=dask_client, progress=False)
        pd.testing.assert_frame_equal(table, single)
    assert single.loc["c1", "c3"] > 0.7
    pairs = mist.mi_pairs(tmp_path / "t.parquet", scheduler=dask_client, progress=False)
    pd.testing.assert_frame_equal(pairs, mist.mi_pairs(wide_frame))
    strong = mist.mi_pairs(wide_frame, scheduler=dask_client, min_estimate=0.05, base=2, progress=False)
    expected = mist.mi_pairs(wide_frame, min_estimate=0.05, base=2)  # the same filter in one process
    assert len(strong) >= 2 and (strong["estimate"] >= 0.05).all() and strong.attrs["unit"] == "bits"
    pd.testing.assert_frame_equal(strong, expected)


def test_top_k_keeps_the_strongest_pairs_of_each_column(dask_client, wide_frame, monkeypatch):
    import mist.cluster

    small_blocks(monkeypatch)
    every = mist.mi_pairs(wide_frame)
    # by brute force: a pair is kept if it is among the 2 strongest of x's pairs or of y's (equal
    # estimates, 0 say, ranked by the other column's position)
    position = {name: j for j, name in enumerate(wide_frame.columns)}
    ranked = pd.concat([every.assign(column=every.x, partner=every.y.map(position)),
                        every.assign(column=every.y, partner=every.x.map(position))])
    ranked = ranked.sort_values(["column", "estimate", "partner"], ascending=[True, False, True], kind="stable")
    best = ranked.groupby("column").head(2)
    expected = every[(every.x + "~" + every.y).isin(best.x + "~" + best.y)]
    for scheduler in (None, dask_client):
        top = mist.mi_pairs(wide_frame, top_k=2, scheduler=scheduler, progress=False)
        pd.testing.assert_frame_equal(top, expected.reset_index(drop=True))
    with pytest.raises(MistError, match="`top_k` must be a positive whole number"):
        mist.mi_pairs(wide_frame, top_k=0)


def test_write_mi_pairs_writes_parquet_as_the_tasks_finish(dask_client, wide_frame, tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    import mist.cluster

    small_blocks(monkeypatch)
    wide_frame.to_parquet(tmp_path / "t.parquet")
    written = mist.write_mi_pairs(tmp_path / "t.parquet", tmp_path / "pairs.parquet", scheduler=dask_client,
                                  min_estimate=0.05, base=2, progress=False)
    expected = mist.mi_pairs(wide_frame, min_estimate=0.05, base=2)
    back = pd.read_parquet(tmp_path / "pairs.parquet")
    assert written.pairs == len(back) == len(expected) and written.unit == "bits"
    pd.testing.assert_frame_equal(back.sort_values("estimate", ascending=False, ignore_index=True), expected)
    # one row group per task that kept a pair: written as they came, not gathered first
    assert pq.ParquetFile(tmp_path / "pairs.parquet").num_row_groups > 1
    assert pq.read_schema(tmp_path / "pairs.parquet").metadata[b"unit"] == b"bits"
    # nothing kept: an empty file with the columns; in one process too
    none = mist.write_mi_pairs(wide_frame, tmp_path / "none.parquet", min_estimate=100.0)
    assert none.pairs == 0 and list(pd.read_parquet(tmp_path / "none.parquet").columns) == list(expected.columns)


def test_lazy_tables_get_clear_errors(dask_client, tmp_path):
    frame = pd.DataFrame({"a": np.arange(50.0), "b": np.sin(np.arange(50.0)), "name": ["x"] * 50})
    frame.to_parquet(tmp_path / "t.parquet")
    with pytest.raises(MistError, match=r"non-numeric columns \['name'\]"):
        mist.mi_pairs(tmp_path / "t.parquet", scheduler=dask_client, progress=False)
    with pytest.raises(MistError, match="does not exist"):
        mist.mi_pairs(tmp_path / "nope.parquet", scheduler=dask_client, progress=False)
    frame.loc[3, "b"] = np.nan
    frame[["a", "b"]].to_parquet(tmp_path / "nan.parquet")
    with pytest.raises(MistError, match=r"non-finite value.*column .b."):
        mist.mi_pairs(tmp_path / "nan.parquet", scheduler=dask_client, progress=False)


def test_a_bad_scheduler_gets_a_clear_error():
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(50, 3)))
    with pytest.raises(MistError, match="`scheduler` must be"):
        mist.mi_matrix(frame, scheduler=3)
    with pytest.raises(MistError, match="statistics-only model"):
        mist.mi_matrix(frame, model="ksg", scheduler="local")


@pytest.mark.filterwarnings("ignore::mist.InputWarning")  # column a is integers: discrete-looking
def test_files_read_on_the_workers_as_in_one_process(dask_client, tmp_path):
    rng = np.random.default_rng(7)
    n = 30_000  # past the rows dask guesses column types from: integers that turn to floats further down
    frame = pd.DataFrame({"a": rng.integers(0, 1000, n).astype(float), "b": rng.normal(size=n)})
    frame["c"] = frame["a"] + 100 * rng.normal(size=n)
    frame.loc[n - 5:, "a"] += 0.5
    frame.to_csv(tmp_path / "t.csv", index=False, sep=";")  # another separator, as read_table sniffs it
    np.save(tmp_path / "t.npy", frame.to_numpy())  # read whole, then scattered
    single = mist.mi_matrix(frame.to_numpy())
    for source in (tmp_path / "t.csv", str(tmp_path / "t.npy")):
        table = mist.mi_matrix(source, scheduler=dask_client, progress=False)
        np.testing.assert_array_equal(table.to_numpy(), single.to_numpy())


@pytest.mark.filterwarnings("ignore::mist.InputWarning")
def test_ties_are_broken_alike_in_one_process_and_on_dask_and_ignore_monotone_maps(dask_client):
    rng = np.random.default_rng(8)
    x = rng.normal(size=400)
    levels = np.round(x + rng.normal(size=400))
    frame = pd.DataFrame({"x": x, "levels": levels, "noise": rng.normal(size=400)})
    single = mist.mi_matrix(frame)
    pd.testing.assert_frame_equal(mist.mi_matrix(frame, scheduler=dask_client, progress=False), single)
    # the draws come from the rows' ranks: a monotone map of any column keeps them
    mapped = frame.assign(x=np.exp(x), levels=2 * levels + 1)
    np.testing.assert_allclose(mist.mi_matrix(mapped).to_numpy(), single.to_numpy(), atol=1e-5)
    r = mist.estimate(x, levels)
    assert abs(mist.estimate(np.exp(x), 2 * levels + 1).estimate - r.estimate) < 1e-5


def test_write_mi_pairs_leaves_no_file_behind_on_an_error(tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0], "b": [1.0, 0.0, 1.0, 3.0]})
    (tmp_path / "old.parquet").write_bytes(b"old")
    with pytest.raises(MistError, match="non-finite"):
        mist.write_mi_pairs(frame, tmp_path / "old.parquet")
    assert (tmp_path / "old.parquet").read_bytes() == b"old" and not list(tmp_path.glob("*.partial"))
    with pytest.raises(MistError, match="the folder .* does not exist"):
        mist.write_mi_pairs(frame.fillna(0.0), tmp_path / "nope" / "pairs.parquet")
