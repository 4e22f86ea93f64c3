import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mist
import mist.api as api
from mist.errors import MistError, MistWarning


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = x[:, :2] + rng.normal(size=(200, 2))
    return x, y


def test_result_fields_units_and_json(data, test_model_card):
    x, y = data
    r = api.estimate(x, y, model=test_model_card, quantiles=[0.1, 0.9])
    assert (r.n, r.dim_x, r.dim_y, r.unit, r.model) == (200, 3, 2, "nats", "test-model")
    assert r.low <= r.high and set(r.quantiles) == {0.1, 0.9}
    assert r.quantiles[0.1] <= r.quantiles[0.9]
    bits = api.estimate(x, y, model=test_model_card, base=2)
    assert bits.unit == "bits" and bits.estimate == pytest.approx(r.estimate / math.log(2))
    assert json.loads(json.dumps(r.to_dict()))["unit"] == "nats"
    assert "nats" in str(r) and float(r) == r.estimate
    html = api.MIResult(**{**r.__dict__, "findings": (mist.Finding("discrete", "x < y & more"),)})._repr_html_()  # notebooks show the notes
    assert html.startswith("<div><code>I(X;Y) = ") and "note: x &lt; y &amp; more" in html
    assert "quantile 0.1: " in html and "model-free lower bound: " in html


def test_containers_give_the_same_answer(data, test_model_card):
    x, y = data
    ref = api.estimate(x, y, model=test_model_card).estimate
    for cx, cy in ((pd.DataFrame(x), pd.DataFrame(y)), (torch.tensor(x), torch.tensor(y)), (x.tolist(), y.tolist())):
        assert api.estimate(cx, cy, model=test_model_card).estimate == pytest.approx(ref, abs=1e-6)
    one_d = api.estimate(x[:, 0], y[:, 0], model=test_model_card)
    assert (one_d.dim_x, one_d.dim_y) == (1, 1)


def test_invariances(data, test_model_card):
    x, y = data
    ref = api.estimate(x, y, model=test_model_card)
    perm = np.random.default_rng(1).permutation(200)
    checks = [
        api.estimate(x[perm], y[perm], model=test_model_card),
        api.estimate(x[:, [2, 0, 1]], y[:, ::-1], model=test_model_card),
        api.estimate(y, x, model=test_model_card),
        api.estimate(np.exp(x), np.arcsinh(y) * 3 - 1, model=test_model_card),
    ]
    for r in checks:
        assert abs(r.estimate - ref.estimate) < 1e-4
        assert abs(r.high - ref.high) < 1e-4


def test_deterministic(data, test_model_card):
    x, y = data
    assert api.estimate(x, y, model=test_model_card) == api.estimate(x, y, model=test_model_card)


def test_large_n_uses_order_independent_subsets(test_model_card):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1300, 2))
    y = x + rng.normal(size=(1300, 2))
    r = api.estimate(x, y, model=test_model_card)
    assert any("3 subsets" in note for note in r.notes)
    perm = rng.permutation(1300)
    assert api.estimate(x[perm], y[perm], model=test_model_card).estimate == pytest.approx(r.estimate, abs=1e-6)
    # repeated rows (equal sort keys) must not make the subsets depend on the input order either
    xd, yd = np.round(x), np.round(y)
    with pytest.warns(MistWarning, match="discrete"):
        a = api.estimate(xd, yd, model=test_model_card).estimate
        b = api.estimate(xd[perm], yd[perm], model=test_model_card).estimate
    assert a == pytest.approx(b, abs=1e-6)
    direct = api.estimate(x, y, model=test_model_card, large_n="direct")
    assert not direct.notes and np.isfinite(direct.estimate)
    with pytest.raises(MistError, match="`large_n`"):
        api.estimate(x, y, model=test_model_card, large_n="sample")


def test_estimate_many_matches_single(data, test_model_card):
    x, y = data
    pairs = [(x, y), (x[:50, :1], y[:50]), (y, x)]
    many = api.estimate_many(pairs, model=test_model_card)
    for (a, b), r in zip(pairs, many):
        assert r.estimate == pytest.approx(api.estimate(a, b, model=test_model_card).estimate, abs=1e-5)


def test_constant_columns(test_model_card):
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(size=100), np.full(100, 3.0)])
    y = rng.normal(size=100)
    with pytest.warns(MistWarning, match="constant"):
        r = api.estimate(x, y, model=test_model_card)
    assert r.dim_x == 1
    with pytest.warns(MistWarning, match="constant"):
        zero = api.estimate(np.ones((50, 2)), y[:50], model=test_model_card)
    assert zero.estimate == zero.low == zero.high == 0.0


def test_many_more_columns_than_rows_warns(test_model_card):
    rng = np.random.default_rng(0)
    with pytest.warns(MistWarning, match="42 columns .* for 10 rows"):
        r = api.estimate(rng.normal(size=(10, 21)), rng.normal(size=(10, 21)), model=test_model_card)
    assert any("unreliable" in note for note in r.notes)
    with warnings.catch_warnings():
        warnings.simplefilter("error", MistWarning)
        api.estimate(rng.normal(size=(10, 20)), rng.normal(size=(10, 20)), model=test_model_card)


def test_input_warnings_point_at_the_callers_line(test_model_card):
    rng = np.random.default_rng(0)
    x = np.column_stack([np.ones(10), rng.integers(0, 3, 10)])  # a constant and a discrete column
    for call in (lambda: api.estimate(x, rng.normal(size=(10, 40)), model=test_model_card),
                 lambda: api.estimate_many([(x, rng.normal(size=(10, 40)))], model=test_model_card)):
        with pytest.warns(MistWarning) as caught:
            call()
        assert len(caught) >= 4  # constant, discrete, too many columns per row, more columns than trained on
        assert {w.filename for w in caught} == {__file__}


def test_one_extra_quantile_may_be_a_number(data, test_model_card):
    x, y = data
    r = api.estimate(x, y, quantiles=0.25, model=test_model_card)
    assert list(r.quantiles) == [0.25] and r.low <= r.quantiles[0.25] <= r.high


@pytest.mark.parametrize("model", ["card", "ksg"])
def test_results_carry_their_quantile_function(data, test_model_card, model):
    x, y = data
    model = test_model_card if model == "card" else model
    r = api.estimate(x, y, quantiles=[0.0001, 0.37], model=model)
    # exact at the interval's ends and the levels asked for, ordered in between
    assert r.interval(0.9) == (r.low, r.high) and r.quantile(0.37) == r.quantiles[0.37]
    assert r.quantile(0.0001) == r.quantiles[0.0001]
    values = [r.quantile(t) for t in np.linspace(0.0001, 0.999, 301)]
    assert np.all(np.diff(values) >= 0)
    low50, high50 = r.interval(0.5)
    assert r.low <= low50 <= r.quantile(0.5) <= high50 <= r.high
    # another level asked of estimate itself agrees with the result's interval at that level
    other = api.estimate(x, y, level=0.5, model=model)
    assert (other.low, other.high) == pytest.approx((low50, high50), abs=1e-6)
    in_bits = api.estimate(x, y, base=2, model=model)
    assert in_bits.interval(0.5) == pytest.approx(tuple(v / math.log(2) for v in (low50, high50)))
    for bad in (lambda: r.quantile(0.99999), lambda: r.quantile("half"), lambda: r.interval(0.99999)):
        with pytest.raises(MistError, match="quantiles=\\[...\\]|must be"):
            bad()


def test_discrete_data_warns(test_model_card):
    rng = np.random.default_rng(0)
    with pytest.warns(MistWarning, match="looks discrete"):
        api.estimate(rng.integers(0, 3, 100), rng.normal(size=100), model=test_model_card)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"level": 1.0}, "`level`"),
        ({"base": 1}, "`base`"),
        ({"quantiles": [0.0]}, "`quantiles`"),
        ({"model": "no-such-model"}, "unknown model"),
        ({"model": "missing.json"}, "does not exist"),
        ({"device": "tpu"}, "`device`"),
    ],
)
def test_bad_arguments(data, kwargs, message, test_model_card):
    x, y = data
    kwargs.setdefault("model", test_model_card)
    with pytest.raises(MistError, match=message):
        api.estimate(x, y, **kwargs)


def test_bad_pairs(test_model_card):
    with pytest.raises(MistError, match=r"pairs\[1\]: .*same number of samples"):  # pair 0 is fine, if short
        api.estimate_many([(np.zeros((5, 1)) + np.arange(5)[:, None], np.arange(5.0)), (np.arange(4.0), np.arange(5.0))],
                          model=test_model_card)
    with pytest.raises(MistError, match=r"pairs\[0\]"):
        api.estimate_many([np.zeros(3)], model=test_model_card)
    # estimate takes no list: its errors name the argument alone
    with pytest.raises(MistError, match=r"^`y` contains 1 non-finite"):
        api.estimate(np.arange(10.0), np.r_[np.arange(9.0), np.nan], model=test_model_card)


def test_mi_matrix_and_score_function(test_model_card):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(120, 4)), columns=list("abcd"))
    m = api.mi_matrix(frame, model=test_model_card)
    assert list(m.columns) == list("abcd") and np.isnan(np.diag(m)).all()
    np.testing.assert_allclose(m.to_numpy(), m.to_numpy().T)
    scores = api.mutual_info_score(frame[list("abc")], frame["d"], model=test_model_card)
    assert scores.shape == (3,)
    with pytest.raises(MistError, match="at least 2 columns"):
        api.mi_matrix(frame[["a"]], model=test_model_card)


finite = st.floats(-1e6, 1e6, allow_nan=False, width=32)


@settings(max_examples=40, deadline=None)
@given(
    x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=12),
                 elements=st.one_of(finite, st.just(np.nan), st.just(np.inf))),
    y=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=12), elements=finite),
)
def test_random_input_never_gives_a_traceback(x, y, test_model_card):
    # the test model has a cell trunk (the PyTorch path); the shipped one runs on the NumPy engine
    for model in (test_model_card, "default"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MistWarning)
            try:
                r = api.estimate(x, y, model=model)
            except MistError:
                return
        assert np.isfinite(r.estimate) and r.estimate >= 0 and r.low <= r.high


@pytest.mark.filterwarnings("ignore::mist.MistWarning")  # discrete-looking columns
def test_degenerate_correlations_do_not_break_the_factorisation(test_model_card):
    # a two-valued column split evenly has constant squared normal scores, and three rows make
    # identical columns collinear: both once made the shrunk correlation matrix singular
    two_valued = np.array([[0.0, 0.0], [2.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    collinear = np.array([[1.0, 1.0, 3.0], [2.0, 2.0, 1.0], [3.0, 3.0, 2.0]])
    for model in (test_model_card, "default"):
        for x, y in ((two_valued[:, 0], two_valued[:, 1]), (collinear[:, :2], collinear[:, 2])):
            r = api.estimate(x, y, model=model)
            assert np.isfinite(r.estimate) and r.low <= r.high
    assert np.isfinite(api.mi_matrix(two_valued).iloc[0, 1])


@settings(max_examples=25, deadline=None)
@given(data=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=9),
                       elements=st.one_of(finite, st.sampled_from([0.0, 1.0, -1.0]))))
def test_random_tables_give_a_matrix_or_a_clear_error(data):
    # the pair path: ties, constant columns and tiny tables included
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MistWarning)
        try:
            m = api.mi_matrix(data).to_numpy()
        except MistError:
            return
        pairs = api.mi_pairs(data)
    off = ~np.eye(data.shape[1], dtype=bool)
    assert np.all(np.isfinite(m[off])) and np.all(m[off] >= 0) and np.allclose(m, m.T, equal_nan=True)
    assert np.array_equal(pairs["estimate"], m[pairs["x"].astype(int), pairs["y"].astype(int)])
    assert (pairs["low"] <= pairs["high"]).all()


def test_cuda_request_without_cuda(data, test_model_card):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    x, y = data
    with pytest.raises(MistError, match="no CUDA device"):
        api.estimate(x, y, model=test_model_card, device="cuda")


def _beyond(result) -> bool:
    return any(f.kind == "beyond-range" for f in result.findings)


@pytest.mark.parametrize("model", ["mist-tiny-gpu", "test"])  # the NumPy engine, and PyTorch (cell trunk)
def test_high_mi_check_warns_past_the_training_correlations(model, test_model_card):
    model = test_model_card if model == "test" else model
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 2))
    y = x + 0.05 * rng.normal(size=(300, 2))  # each pair: correlation 0.9988, MI 2.99 nats
    with pytest.warns(MistWarning, match="beyond the training range: .* correlate at 0.99"):
        r = api.estimate(x, y, model=model)
    assert _beyond(r) and 2.0 < r.lower_bound < 0.5 * math.log(1 + 1 / 0.05**2)
    assert any("of x column 0 and y column 0 correlate" in note or "of x column 1 and y column 1 correlate" in note
               for note in r.notes)  # the pair is named (by position without column names)
    perm = rng.permutation(300)  # the bound is a rank statistic: row order and monotone maps keep it
    with pytest.warns(MistWarning, match="beyond the training range"):
        again = api.estimate(np.exp(y[perm]), x[perm], model=model)
    assert again.lower_bound == pytest.approx(r.lower_bound, abs=1e-4)  # float32 correlations
    with warnings.catch_warnings():  # in range: correlation 0.71, no warning, a bound below the MI
        warnings.simplefilter("error", MistWarning)
        r = api.estimate(x[:, 0], x[:, 0] + rng.normal(size=300), model=model)
    assert not _beyond(r) and 0.1 < r.lower_bound < 0.5 * math.log(2)


def test_ksg_answers_when_asked_for():
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    y = x**2 + 0.3 * rng.normal(size=400)  # exact MI 1.141
    r = api.estimate(x, y, model="ksg", quantiles=[0.25])
    assert r.model == "ksg" and r.low < r.quantiles[0.25] < r.estimate < r.high and abs(r.estimate - 1.141) < 0.2
    perm = rng.permutation(400)  # halves chosen by content: row order and monotone maps change nothing
    again = api.estimate(np.exp(y[perm]), x[perm], model="ksg", quantiles=[0.25])
    assert again.estimate == pytest.approx(r.estimate, abs=1e-9) and again.high == pytest.approx(r.high, abs=1e-9)
    table = api.mi_pairs(pd.DataFrame({"x": x, "y": y}), model="ksg")
    assert table.attrs["model"] == "ksg" and table["estimate"][0] == pytest.approx(r.estimate, abs=1e-9)


def test_same_ranks_give_a_finite_bound_that_stays_valid():
    # identical ranks are what a monotone function gives (infinite MI), but also what a
    # correlation just short of 1 often gives at few rows: the bound must hold for both
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    with pytest.warns(MistWarning, match="same ranks"):
        r = api.estimate(x, np.exp(x))
    assert 5.0 < r.lower_bound < 8.0 and json.loads(json.dumps(r.to_dict(), allow_nan=False))["lower_bound"] > 5.0
    small = api.estimate(x[:19], np.exp(x[:19]))  # too few rows for the check
    assert small.lower_bound is None and not _beyond(small)
    rho = 0.9995  # MI 3.11 nats; 20 rows of it often have the same ranks
    mi = -0.5 * math.log(1 - rho**2)
    same = 0
    for _ in range(200):
        a = rng.normal(size=20)
        b = rho * a + math.sqrt(1 - rho**2) * rng.normal(size=20)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MistWarning)
            bound = api.estimate(a, b).lower_bound
        same += bool(np.array_equal(np.argsort(a), np.argsort(b)))
        assert bound <= mi
    assert same > 20  # the case above did occur


def test_high_mi_check_raises_no_alarm_on_training_family_data():
    from mist.distributions import TRAIN, sample_datasets

    rng = np.random.default_rng(5)
    pairs, mis = [], []
    for i, family in enumerate(TRAIN * 3):
        b = sample_datasets(family, int(rng.choice([50, 200])), 3, 3, 1, seed=i)
        pairs.append((b.x[0].numpy(), b.y[0].numpy()))
        mis.append(float(b.mi[0]))
    results = api.estimate_many(pairs)
    assert not any(_beyond(r) for r in results)
    assert all(r.lower_bound <= mi for r, mi in zip(results, mis))  # a lower bound of the true MI


def test_high_mi_check_over_row_subsets():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(1200, 1))
    y = x + 0.1 * rng.normal(size=(1200, 1))
    with pytest.warns(MistWarning, match="beyond the training range"):
        r = api.estimate(x, y, model="mist-tiny-gpu")
    with pytest.warns(MistWarning, match="beyond the training range"):
        first = api.estimate(x[:400], y[:400], model="mist-tiny-gpu")
    # the subsets' evidence adds up: a tighter bound than from a third of the rows, below the MI
    assert first.lower_bound < r.lower_bound < 0.5 * math.log(101)


def test_rows_and_columns_outside_the_trained_shapes_warn():
    rng = np.random.default_rng(0)
    with pytest.warns(MistWarning, match="6 rows, fewer than the 10"):
        api.estimate(rng.normal(size=6), rng.normal(size=6))
    with pytest.warns(MistWarning, match="40 columns on one side, more than the 32"):
        r = api.estimate(rng.normal(size=(200, 40)), rng.normal(size=(200, 3)))
    assert any("more than the 32" in note for note in r.notes)


@pytest.mark.parametrize("model", ["default", "test"])  # the pair path, and the fallback through estimate_many
def test_mi_matrix_and_score_name_the_pairs_beyond_the_training_range(model, test_model_card):
    model = test_model_card if model == "test" else model
    rng = np.random.default_rng(1)
    a = rng.normal(size=300)
    frame = pd.DataFrame({"a": a, "copy": a + 0.03 * rng.normal(size=300), "other": rng.normal(size=300)})
    with pytest.warns(MistWarning, match="1 pair.* beyond the model's training data.*a ~ copy"):
        table = api.mi_matrix(frame, model=model)
    assert list(table.attrs["beyond_range"]) == ["a ~ copy"] and table.attrs["beyond_range"]["a ~ copy"] > 2.5
    with pytest.warns(MistWarning, match="copy ~ y"):
        api.mutual_info_score(frame[["copy", "other"]], frame["a"], model=model)


def test_discrete_columns_get_no_lower_bound():
    # the bound assumes continuous marginals: two identical binary columns have MI log 2, yet
    # their normal scores correlate at 1
    b = np.random.default_rng(0).integers(0, 2, 300).astype(float)
    with pytest.warns(MistWarning, match="looks discrete"):
        r = api.estimate(b, b)
    assert r.lower_bound is None and not _beyond(r)
    with pytest.warns(MistWarning, match="look discrete"):
        assert api.mi_matrix(pd.DataFrame({"a": b, "b": b, "c": np.arange(300.0)})).attrs["beyond_range"] == {}


@pytest.mark.parametrize("model", ["default", "test"])  # the pair path, and the fallback through estimate_many
def test_mi_pairs_gives_each_pair_its_interval(model, test_model_card):
    model = test_model_card if model == "test" else model
    rng = np.random.default_rng(3)
    a, b, c = rng.normal(size=(3, 300))
    frame = pd.DataFrame({"a": a, "b": b, "sum": a + b + rng.normal(size=300), "copy": a + 0.03 * c})
    with pytest.warns(MistWarning, match="a ~ copy"):
        pairs = api.mi_pairs(frame, model=model)
        matrix = api.mi_matrix(frame, model=model)
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
        r = api.estimate(frame[one.x], frame[one.y], model=model)
    np.testing.assert_allclose([one.estimate, one.low, one.high, one.lower_bound],
                               [r.estimate, r.low, r.high, r.lower_bound], atol=1e-5)
    # a narrower level, and bits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MistWarning)
        half = api.mi_pairs(frame, model=model, level=0.5, base=2)
    merged = pairs.merge(half, on=["x", "y"], suffixes=("", "_half"))
    np.testing.assert_allclose(merged["estimate_half"], merged["estimate"] / np.log(2), rtol=1e-6)
    assert np.all(merged["high_half"] - merged["low_half"] <= (merged["high"] - merged["low"]) / np.log(2) + 1e-9)
    assert half.attrs["unit"] == "bits"
    with pytest.raises(MistError, match="`level`"):
        api.mi_pairs(frame, level=1.5)


def test_tables_warn_about_constant_and_discrete_columns_as_estimate_does():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200), "k": np.ones(200), "d": rng.integers(0, 3, 200).astype(float)})
    for call in (lambda: api.mi_matrix(frame), lambda: api.mi_pairs(frame),
                 lambda: api.mutual_info_score(frame[["k", "d"]], frame["a"])):
        with pytest.warns(MistWarning) as caught:
            call()
        messages = [str(w.message) for w in caught]
        assert any("['k'] are constant" in m for m in messages) and any("d (3)" in m for m in messages)
        assert all(w.filename == __file__ for w in caught)  # the warning points at the caller's line
    with pytest.warns(MistWarning, match="constant"):
        assert api.mi_matrix(frame.drop(columns="d")).loc["a", "k"] == 0.0


def test_monotone_maps_float32_cannot_hold_leave_the_estimate_unchanged():
    # the network computes in float32: 1.7e9 + z rounds whole ranges of z together, exp(60 z)
    # and 1e300 z overflow, 1e-300 z underflows; those columns go in as ranks instead
    rng = np.random.default_rng(0)
    z = rng.normal(size=400)
    y = z + rng.normal(size=400)
    plain = api.estimate(z, y)
    table = api.mi_matrix(np.column_stack([z, y]))
    for f in (lambda v: 1.7e9 + v, lambda v: np.exp(60 * v), lambda v: 1e300 * v, lambda v: 1e-300 * v):
        r = api.estimate(f(z), y)
        assert r.notes == () and abs(r.estimate - plain.estimate) < 1e-6 and abs(r.high - plain.high) < 1e-6
        assert abs(r.lower_bound - plain.lower_bound) < 1e-6
        assert abs(api.mi_matrix(np.column_stack([f(z), y])).iloc[0, 1] - table.iloc[0, 1]) < 1e-6


def test_the_progress_bar_keeps_stdout_clean(capsys):
    rng = np.random.default_rng(0)
    pairs = [(rng.normal(size=50), rng.normal(size=50)) for _ in range(250)]
    api.estimate_many(pairs, progress=True)  # forced, as a terminal would show it
    api.estimate_many(pairs)  # by default only where someone can see it: not here
    out, _ = capsys.readouterr()
    assert out == ""


def test_warnings_come_in_kinds_that_filter_apart(test_model_card):
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(size=6), np.ones(6)])  # a constant column, and fewer rows than trained on
    with pytest.warns(MistWarning) as caught:
        api.estimate(x, rng.normal(size=6), model=test_model_card)
    kinds = {type(w.message) for w in caught}
    assert kinds == {mist.InputWarning, mist.RangeWarning}
    assert issubclass(mist.InputWarning, MistWarning) and issubclass(mist.RangeWarning, MistWarning)
    with warnings.catch_warnings():  # silencing one kind keeps the other
        warnings.simplefilter("error", MistWarning)
        warnings.simplefilter("ignore", mist.InputWarning)
        with pytest.raises(mist.RangeWarning, match="6 rows, fewer than"):
            api.estimate(x, rng.normal(size=6), model=test_model_card)


def test_findings_name_their_check_in_the_order_the_checks_run(test_model_card):
    rng = np.random.default_rng(0)
    x = np.column_stack([np.ones(10), rng.integers(0, 3, 10)])  # a constant and a discrete column
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = api.estimate(x, rng.normal(size=(10, 40)), model=test_model_card)
    kinds = [f.kind for f in r.findings]
    assert kinds == ["constant-columns", "discrete", "columns-per-row", "many-columns"]
    assert kinds == [k for k in mist.errors.FINDING_KINDS if k in kinds]  # the declared order
    assert [f.warning for f in r.findings] == [w.category for w in caught]  # each warned as its kind
    assert r.notes == tuple(f.message for f in r.findings)
    assert r.to_dict()["findings"][0] == {"kind": "constant-columns", "message": r.findings[0].message}
    big = rng.normal(size=(1200, 1))
    assert [f.kind for f in api.estimate(big, big + rng.normal(size=(1200, 1)), model=test_model_card).findings] == ["subsets"]
