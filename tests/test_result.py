import json
import math

import numpy as np
import pytest

import mist
from mist.errors import MistError


def test_result_fields_units_and_json(data, test_model_card):
    x, y = data
    r = mist.estimate(x, y, model=test_model_card, quantiles=[0.1, 0.9])
    assert (r.n, r.dim_x, r.dim_y, r.unit, r.model) == (200, 3, 2, "nats", "test-model")
    assert r.low <= r.high and set(r.quantiles) == {0.1, 0.9}
    assert r.quantiles[0.1] <= r.quantiles[0.9]
    bits = mist.estimate(x, y, model=test_model_card, base=2)
    assert bits.unit == "bits" and bits.estimate == pytest.approx(r.estimate / math.log(2))
    assert json.loads(json.dumps(r.to_dict()))["unit"] == "nats"
    assert "nats" in str(r) and float(r) == r.estimate
    html = mist.MIResult(**{**r.__dict__, "findings": (mist.Finding("discrete", "x < y & more"),)})._repr_html_()  # notebooks show the notes
    assert html.startswith("<div><code>I(X;Y) = ") and "note: x &lt; y &amp; more" in html
    assert "quantile 0.1: " in html and "model-free lower bound: " in html


@pytest.mark.parametrize("model", ["card", "ksg"])
def test_results_carry_their_quantile_function(data, test_model_card, model):
    x, y = data
    model = test_model_card if model == "card" else model
    r = mist.estimate(x, y, quantiles=[0.0001, 0.37], model=model)
    # exact at the interval's ends and the levels asked for, ordered in between
    assert r.interval(0.9) == (r.low, r.high) and r.quantile(0.37) == r.quantiles[0.37]
    assert r.quantile(0.0001) == r.quantiles[0.0001]
    values = [r.quantile(t) for t in np.linspace(0.0001, 0.999, 301)]
    assert np.all(np.diff(values) >= 0)
    low50, high50 = r.interval(0.5)
    assert r.low <= low50 <= r.quantile(0.5) <= high50 <= r.high
    # another level asked of estimate itself agrees with the result's interval at that level
    other = mist.estimate(x, y, level=0.5, model=model)
    assert (other.low, other.high) == pytest.approx((low50, high50), abs=1e-6)
    in_bits = mist.estimate(x, y, base=2, model=model)
    assert in_bits.interval(0.5) == pytest.approx(tuple(v / math.log(2) for v in (low50, high50)))
    for bad in (lambda: r.quantile(0.99999), lambda: r.quantile("half"), lambda: r.interval(0.99999)):
        with pytest.raises(MistError, match="quantiles=\\[...\\]|must be"):
            bad()
