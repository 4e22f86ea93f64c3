import functools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mist.differentiable import MIEstimator, soft_normal_scores
from mist.errors import MistError
from mist.model.canonical import normal_scores


@functools.lru_cache(maxsize=1)
def _estimator(card: str) -> MIEstimator:
    return MIEstimator(card)


def test_soft_scores_approach_hard_scores():
    v = torch.randn(2, 40, 3, generator=torch.Generator().manual_seed(0))
    hard = normal_scores(v, torch.ones(2, 40, dtype=torch.bool))
    assert torch.allclose(soft_normal_scores(v, 1e-5), hard, atol=1e-5)


def test_gradients_reach_the_inputs(test_model_card):
    est = MIEstimator(test_model_card)
    x = torch.randn(60, 2, requires_grad=True)
    y = torch.randn(60, 1)
    mi = est(x, y)
    mi.backward()
    assert mi.dim() == 0 and x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in est.network.parameters())  # frozen by default
    batched = est(torch.randn(3, 20, 2), torch.randn(3, 20, 4))
    assert batched.shape == (3,)


def test_errors(test_model_card):
    est = MIEstimator(test_model_card)
    with pytest.raises(MistError, match="matching"):
        est(torch.randn(10, 2), torch.randn(11, 2))
    with pytest.raises(MistError, match="at least 3"):
        est(torch.randn(2, 2), torch.randn(2, 2))
    with pytest.raises(MistError, match="softness"):
        MIEstimator(test_model_card, softness=0)
    with pytest.raises(MistError, match="NaN or infinity"):
        est(torch.full((10, 1), float("nan")), torch.randn(10, 1))
    with pytest.raises(MistError, match="at least one column each, got 0 and 1"):
        est(torch.randn(10, 0), torch.randn(10, 1))
    with pytest.raises(MistError, match="could not convert a list"):
        est([torch.randn(10, 1)] * 2, torch.randn(10, 1))


def test_vectors_and_arrays_are_accepted_as_estimate_accepts_them(test_model_card):
    est = MIEstimator(test_model_card)
    x = torch.randn(50, generator=torch.Generator().manual_seed(0))
    y = x + torch.randn(50, generator=torch.Generator().manual_seed(1))
    as_columns = est(x[:, None], y[:, None])
    assert est(x, y).item() == as_columns.item() and est(x.numpy(), y.numpy()).item() == as_columns.item()


def test_own_copy_of_weights(test_model_card):
    a = MIEstimator(test_model_card, trainable=True)
    b = MIEstimator(test_model_card)
    with torch.no_grad():
        next(a.network.parameters()).add_(1.0)
    assert not torch.equal(next(a.network.parameters()), next(b.network.parameters()))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 12), dx=st.integers(0, 3), dy=st.integers(0, 3), batched=st.booleans(),
       data=st.data())
def test_random_input_gives_a_finite_estimate_or_a_clear_error(n, dx, dy, batched, data, test_model_card):
    def draw(d, nan):
        shape = ((2,) if batched else ()) + ((n,) if d == 0 else (n, d))  # d = 0: a 1-D vector
        values = st.floats(-1e3, 1e3, width=32)
        return data.draw(hnp.arrays(np.float32, shape, elements=st.one_of(values, st.just(np.nan)) if nan else values))

    x, y = draw(dx, nan=data.draw(st.booleans())), draw(dy, nan=False)
    try:
        mi = _estimator(test_model_card)(torch.from_numpy(x), y)  # a tensor and an array
    except MistError:
        return
    assert torch.isfinite(mi).all() and mi.shape == ((2,) if batched else ())
