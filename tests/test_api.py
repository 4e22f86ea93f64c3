"""mist.estimate: one call, three answers, each the one its module gives."""

import warnings

import numpy as np
import pytest

import mist
from mist.conditional import estimate_conditional
from mist.discrete import estimate_with_discrete
from mist.errors import MistError, MistWarning
from mist.estimation import estimate_many


def test_estimate_is_the_engine_without_z_or_discrete(data):
    x, y = data
    r = mist.estimate(x, y, level=0.8, quantiles=[0.3])
    (same,) = estimate_many([(x, y)], level=0.8, quantiles=[0.3], progress=False)
    assert r == same and r.dim_z is None


def test_estimate_with_z_is_the_chain_rule(data):
    x, y = data
    z = x[:, :1] + np.random.default_rng(1).normal(size=(200, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MistWarning)
        r, same = mist.estimate(x, y, z, base=2), estimate_conditional(x, y, z, base=2)
    assert r == same and r.dim_z == 1 and r.unit == "bits"


def test_estimate_with_discrete_reads_classes(data):
    x, _ = data
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MistWarning)
        r, same = mist.estimate(x, labels, discrete="y"), estimate_with_discrete(x, labels, "y", stacklevel=1)
    assert r == same and any(f.kind == "dequantized" for f in r.findings)


def test_discrete_with_z_is_refused(data):
    x, y = data
    with pytest.raises(MistError, match="`discrete` with `z` is not supported yet"):
        mist.estimate(x, y[:, 0] > 0, x[:, :1], discrete="y")
