import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mist
from mist.errors import InputWarning, MistError, MistWarning, RangeWarning


finite = st.floats(-1e6, 1e6, allow_nan=False, width=32)


def test_mi_matrix_and_score_function(test_model_card):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(120, 4)), columns=list("abcd"))
    m = mist.mi_matrix(frame, model=test_model_card)
    assert list(m.columns) == list("abcd") and np.isnan(np.diag(m)).all()
    np.testing.assert_allclose(m.to_numpy(), m.to_numpy().T)
    scores = mist.mutual_info_score(frame[list("abc")], frame["d"], model=test_model_card)
    assert scores.shape == (3,)
    with pytest.raises(MistError, match="at least 2 columns"):
        mist.mi_matrix(frame[["a"]], model=test_model_card)


@pytest.mark.filterwarnings("ignore::mist.MistWarning")  # discrete-looking columns
def test_degenerate_correlations_do_not_break_the_factorisation(test_model_card):
    # a two-valued column split evenly has constant squared normal scores, and three rows make
    # identical columns collinear: both once made the shrunk correlation matrix singular
    two_valued = np.array([[0.0, 0.0], [2.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    collinear = np.array([[1.0, 1.0, 3.0], [2.0, 2.0, 1.0], [3.0, 3.0, 2.0]])
    for model in (test_model_card, "default"):
        for x, y in ((two_valued[:, 0], two_valued[:, 1]), (collinear[:, :2], collinear[:, 2])):
            r = mist.estimate(x, y, model=model)
            assert np.isfinite(r.estimate) and r.low <= r.high
    assert np.isfinite(mist.mi_matrix(two_valued).iloc[0, 1])


@settings(max_examples=25, deadline=None)
@given(data=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=9),
                       elements=st.one_of(finite, st.sampled_from([0.0, 1.0, -1.0]))))
def test_random_tables_give_a_matrix_or_a_clear_error(data):
    # the pair path: ties, constant columns and tiny tables included
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MistWarning)
        try:
            m = mist.mi_matrix(data).to_numpy()
        except MistError:
            return
        pairs = mist.mi_pairs(data)
    off = ~np.eye(data.shape[1], dtype=bool)
    assert np.all(np.isfinite(m[off])) and np.all(m[off] >= 0) and np.allclose(m, m.T, equal_nan=True)
    assert np.array_equal(pairs["estimate"], m[pairs["x"].astype(int), pairs["y"].astype(int)])
    assert (pairs["low"] <= pairs["high"]).all()


def test_ksg_answers_when_asked_for():
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    y = x**2 + 0.3 * rng.normal(size=400)  # exact MI 1.141
    r = mist.estimate(x, y, model="ksg", quantiles=[0.25])
    assert r.model == "ksg" and r.low < r.quantiles[0.25] < r.estimate < r.high and abs(r.estimate - 1.141) < 0.2
    perm = rng.permutation(400)  # halves chosen by content: row order and monotone maps change nothing
    again = mist.estimate(np.exp(y[perm]), x[perm], model="ksg", quantiles=[0.25])
    assert again.estimate == pytest.approx(r.estimate, abs=1e-9) and again.high == pytest.approx(r.high, abs=1e-9)
    table = mist.mi_pairs(pd.DataFrame({"x": x, "y": y}), model="ksg")
    assert table.attrs["model"] == "ksg" and table["estimate"][0] == pytest.approx(r.estimate, abs=1e-9)


@pytest.mark.parametrize("model", ["default", "test"])  # the pair path, and the fallback through estimate_many
def test_mi_matrix_and_score_name_the_pairs_beyond_the_training_range(model, test_model_card):
    model = test_model_card if model == "test" else model
    rng = np.random.default_rng(1)
    a = rng.normal(size=300)
    frame = pd.DataFrame({"a": a, "copy": a + 0.03 * rng.normal(size=300), "other": rng.normal(size=300)})
    with pytest.warns(MistWarning, match="1 pair.* beyond the model's training data.*a ~ copy"):
        table = mist.mi_matrix(frame, model=model)
    assert list(table.attrs["beyond_range"]) == ["a ~ copy"] and table.attrs["beyond_range"]["a ~ copy"] > 2.5
    assert [f.kind for f in table.attrs["findings"]] == ["beyond-range"]
    assert table.attrs["findings"][0].warning is RangeWarning
    with pytest.warns(MistWarning, match="copy ~ y"):
        mist.mutual_info_score(frame[["copy", "other"]], frame["a"], model=model)


def test_discrete_columns_get_no_lower_bound():
    # the bound assumes continuous marginals: two identical binary columns have MI log 2, yet
    # their normal scores correlate at 1
    b = np.random.default_rng(0).integers(0, 2, 300).astype(float)
    with pytest.warns(MistWarning, match="looks discrete"):
        r = mist.estimate(b, b)
    assert r.lower_bound is None and not any(f.kind == "beyond-range" for f in r.findings)
    with pytest.warns(MistWarning, match="look discrete"):
        assert mist.mi_matrix(pd.DataFrame({"a": b, "b": b, "c": np.arange(300.0)})).attrs["beyond_range"] == {}


@pytest.mark.parametrize("model", ["default", "test"])  # the pair path, and the fallback through estimate_many
def test_mi_pairs_gives_each_pair_its_interval(model, test_model_card):
    model = test_model_card if model == "test" else model
    rng = np.random.default_rng(3)
    a, b, c = rng.normal(size=(3, 300))
    frame = pd.DataFrame({"a": a, "b": b, "sum": a + b + rng.normal(size=300), "copy": a + 0.03 * c})
    with pytest.warns(MistWarning, match="a ~ copy"):
        pairs = mist.mi_pairs(frame, model=model)
        matrix = mist.mi_matrix(frame, model=model)
    assert len(pairs) == 6 and list(pairs.columns) == ["x", "y", "estimate", "low", "high", "lower_bound",
                                                        "beyond_range"]
    assert pairs.attrs["unit"] == "nats" and pairs.attrs["level"] == 0.9
    assert np.all(np.diff(pairs["estimate"]) <= 0)  # strongest first
    for row in pairs.itertuples():
        assert row.estimate == matrix.loc[row.x, row.y]
        assert row.low <= row.high
        assert row.beyond_range == ({row.x, row.y} == {"a", "copy"})
    # the same figures as estimate gives each pair (one pass per pair, no subsets below 500 rows)
    one = pairs.iloc[-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MistWarning)
        r = mist.estimate(frame[one.x], frame[one.y], model=model)
    np.testing.assert_allclose([one.estimate, one.low, one.high, one.lower_bound],
                               [r.estimate, r.low, r.high, r.lower_bound], atol=1e-5)
    # a narrower level, and bits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MistWarning)
        half = mist.mi_pairs(frame, model=model, level=0.5, base=2)
    merged = pairs.merge(half, on=["x", "y"], suffixes=("", "_half"))
    np.testing.assert_allclose(merged["estimate_half"], merged["estimate"] / np.log(2), rtol=1e-6)
    assert np.all(merged["high_half"] - merged["low_half"] <= (merged["high"] - merged["low"]) / np.log(2) + 1e-9)
    assert half.attrs["unit"] == "bits"
    with pytest.raises(MistError, match="`level`"):
        mist.mi_pairs(frame, level=1.5)


def test_tables_warn_about_constant_and_discrete_columns_as_estimate_does():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200), "k": np.ones(200), "d": rng.integers(0, 3, 200).astype(float)})
    for call in (lambda: mist.mi_matrix(frame), lambda: mist.mi_pairs(frame),
                 lambda: mist.mutual_info_score(frame[["k", "d"]], frame["a"])):
        with pytest.warns(MistWarning) as caught:
            call()
        messages = [str(w.message) for w in caught]
        assert any("['k'] are constant" in m for m in messages) and any("d (3)" in m for m in messages)
        assert all(w.filename == __file__ for w in caught)  # the warning points at the caller's line
        assert {w.category for w in caught} == {InputWarning}
    for table in (mist.mi_matrix, mist.mi_pairs):  # the tables keep what was warned, as a result's findings
        with pytest.warns(InputWarning):
            found = table(frame).attrs["findings"]
        assert [f.kind for f in found] == ["constant-columns", "discrete"] and "d (3)" in found[1].message
    with pytest.warns(MistWarning, match="constant"):
        assert mist.mi_matrix(frame.drop(columns="d")).loc["a", "k"] == 0.0
    assert mist.mi_matrix(frame[["a"]].assign(b=rng.normal(size=200))).attrs["findings"] == ()


def test_monotone_maps_float32_cannot_hold_leave_the_estimate_unchanged():
    # the network computes in float32: 1.7e9 + z rounds whole ranges of z together, exp(60 z)
    # and 1e300 z overflow, 1e-300 z underflows; those columns go in as ranks instead
    rng = np.random.default_rng(0)
    z = rng.normal(size=400)
    y = z + rng.normal(size=400)
    plain = mist.estimate(z, y)
    table = mist.mi_matrix(np.column_stack([z, y]))
    for f in (lambda v: 1.7e9 + v, lambda v: np.exp(60 * v), lambda v: 1e300 * v, lambda v: 1e-300 * v):
        r = mist.estimate(f(z), y)
        assert r.notes == () and abs(r.estimate - plain.estimate) < 1e-6 and abs(r.high - plain.high) < 1e-6
        assert abs(r.lower_bound - plain.lower_bound) < 1e-6
        assert abs(mist.mi_matrix(np.column_stack([f(z), y])).iloc[0, 1] - table.iloc[0, 1]) < 1e-6
