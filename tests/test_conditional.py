import json
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import mist
from mist.cli import app
from mist.errors import MistError, MistWarning


@pytest.fixture
def triple():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(400, 2))
    x = z[:, :1] + rng.normal(size=(400, 1))
    y = z[:, :1] + rng.normal(size=(400, 1))
    return x, y, z


def test_conditional_result_says_what_it_is(triple):
    x, y, z = triple
    r = mist.estimate(x, y, z)
    assert (r.n, r.dim_x, r.dim_y, r.dim_z) == (400, 1, 1, 2) and r.unit == "nats"
    assert str(r).startswith("I(X;Y|Z) = ") and "dim_z=2" in str(r)
    assert r.to_dict()["dim_z"] == 2 and "dim_z" not in mist.estimate(x, y).to_dict()
    assert 0 <= r.low <= r.estimate <= r.high or r.estimate == 0
    assert r.interval(0.5)[0] >= r.low - 1e-12 and r.quantile(0.95) >= r.high - 1e-12
    bits = mist.estimate(x, y, z, base=2)
    assert bits.unit == "bits" and bits.estimate == pytest.approx(r.estimate / np.log(2))


def test_conditional_mi_is_symmetric_and_ignores_row_order(triple):
    x, y, z = triple
    r = mist.estimate(x, y, z)
    assert mist.estimate(y, x, z).estimate == pytest.approx(r.estimate, abs=1e-6)  # the same four terms, batched in another order
    order = np.random.default_rng(1).permutation(len(x))
    assert mist.estimate(x[order], y[order], z[order]) == r  # bitwise: the rows are read in content order


def test_conditioning_on_the_common_cause_removes_the_dependence(triple):
    # X and Y share Z's first column: I(X;Y) = 1/2 log(4/3) = 0.144, I(X;Y|Z) = 0 (KSG's chain rule
    # as the reference answer path, then the default model)
    x, y, z = triple
    for model in ("ksg", "default"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MistWarning)
            r = mist.estimate(x, y, z, model=model)
        assert r.low == 0.0 and r.estimate < 0.1, (model, r)
    dependent = mist.estimate(x, y + x, z)  # given Z, corr(x, y + x) = 1/sqrt(2): CMI = 1/2 log 2
    assert dependent.low > 0.1 and abs(dependent.estimate - 0.5 * np.log(2)) < 0.15


def test_ci_test(triple):
    x, y, z = triple
    independent = mist.ci_test(x, y, z)
    assert 0.0 <= independent.pvalue <= 1.0 and independent.independent == (independent.pvalue > 0.05)
    dependent = mist.ci_test(x, y + x, z, alpha=0.01)
    assert dependent.pvalue < 0.01 and not dependent.independent and "rejected" in str(dependent)
    with pytest.raises(MistError, match="`alpha`"):
        mist.ci_test(x, y, z, alpha=1.5)


def test_bad_z_gets_a_clear_error(triple):
    x, y, z = triple
    with pytest.raises(MistError, match="`z` must have one row per sample"):
        mist.estimate(x, y, z[:10])
    with pytest.raises(MistError, match="`z` contains 2 non-finite"):
        mist.estimate(x, y, np.where(np.arange(400)[:, None] == 3, np.nan, z))


def test_a_model_without_a_fitted_spread_says_so(triple, test_model_card):
    x, y, z = triple
    r = mist.estimate(x, y, z, model=test_model_card)
    assert "conditional-uncalibrated" in [f.kind for f in r.findings]


def test_cli_conditional_estimate_and_test(tmp_path, triple):
    x, y, z = triple
    path = tmp_path / "t.csv"
    pd.DataFrame({"x": x[:, 0], "y": y[:, 0], "z0": z[:, 0], "z1": z[:, 1]}).to_csv(path, index=False)
    runner = CliRunner()
    out = runner.invoke(app, ["estimate", str(path), "--x", "x", "--y", "y", "--z", "z0,z1", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["dim_z"] == 2
    out = runner.invoke(app, ["ci-test", str(path), "--x", "x", "--y", "y", "--z", "z0,z1"])
    assert out.exit_code == 0 and "given Z" in out.output, out.output
    out = runner.invoke(app, ["estimate", str(path), "--z", "z0"])
    assert out.exit_code != 0 and "--z needs --x and --y" in out.output


def test_the_fitted_spread_is_the_least_that_holds_the_level():
    from mist.conditional import conditional_fit_set, fit_conditional_scale

    datasets = conditional_fit_set(40, seed=7)
    fitted = fit_conditional_scale("mist-tiny-gpu", datasets, level=0.8)
    assert fitted["held"] >= 0.8 and fitted["datasets"] == 40 and fitted["scale"] >= 0.25
    narrower = fit_conditional_scale("mist-tiny-gpu", datasets, level=0.5)
    assert 0.5 <= narrower["held"] < fitted["held"] and narrower["scale"] < fitted["scale"]
