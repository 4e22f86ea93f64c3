import math

import numpy as np
import pytest

from mist.errors import MistError, MistWarning
from mist.estimators import DV, MINE, NWJ, SMILE, InfoNCE, get_baseline
from mist.estimators.neural import dv_bound, infonce_bound, nwj_bound, smile_bound

# small, fast settings: each fit takes a few seconds on one CPU core
FAST = dict(hidden=32, lr=2e-3, max_steps=300, patience=4)


@pytest.fixture(scope="module")
def gaussian_half_nat():
    rng = np.random.default_rng(0)
    rho = math.sqrt(1 - math.exp(-1.0))  # -1/2 log(1 - rho^2) = 0.5
    x = rng.normal(size=(5000, 1))
    return x, rho * x + math.sqrt(1 - rho**2) * rng.normal(size=(5000, 1))


@pytest.mark.parametrize("cls", [MINE, DV, NWJ, InfoNCE, SMILE])
def test_within_a_tenth_of_half_a_nat(cls, gaussian_half_nat):
    x, y = gaussian_half_nat
    est = cls(**FAST)
    value = est.estimate(x, y)
    assert abs(value - 0.5) < 0.1
    assert est.last_fit["steps"] <= 300 and est.last_fit["held_out_rows"] == 1024
    assert est.estimate(x, y) == value  # seeded: reproducible


def test_joint_critic(gaussian_half_nat):
    x, y = gaussian_half_nat
    assert abs(NWJ(critic="joint", batch_size=64, **FAST).estimate(x[:1500], y[:1500]) - 0.5) < 0.15


def test_infonce_never_exceeds_log_rows():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 4))
    y = x + 0.05 * rng.normal(size=(300, 4))  # MI about 12 nats
    est = InfoNCE(**FAST)
    with pytest.warns(MistWarning, match="cannot exceed log"):
        value = est.estimate(x, y)
    ceiling = est.last_fit["ceiling"]
    assert ceiling == pytest.approx(math.log(90))  # 30% of 300 rows held out
    assert value <= ceiling + 1e-6


def test_bounds_on_known_scores():
    # critic = the true log density ratio of independent data is 0 everywhere: every bound is 0
    zeros = np.zeros((6, 6))
    import torch

    s = torch.tensor(zeros)
    assert dv_bound(s).item() == pytest.approx(0.0)
    assert nwj_bound(s).item() == pytest.approx(-math.exp(-1))  # NWJ's optimum is f = 1 + log ratio
    assert infonce_bound(s).item() == pytest.approx(0.0)
    assert smile_bound(s, 1.0).item() == pytest.approx(0.0)


def test_time_budget_and_errors(gaussian_half_nat):
    x, y = gaussian_half_nat
    quick = DV(hidden=16, time_budget=0.05, eval_every=10_000)
    assert np.isfinite(quick.estimate(x[:500], y[:500]))
    with pytest.raises(MistError, match="`critic`"):
        DV(critic="bilinear")
    with pytest.raises(MistError, match="`val_fraction`"):
        DV(val_fraction=1.0)
    with pytest.raises(MistError, match="`clip`"):
        SMILE(clip=0)
    with pytest.raises(MistError, match="`hidden`"):
        MINE(hidden=0)
    assert isinstance(get_baseline("smile"), SMILE)
