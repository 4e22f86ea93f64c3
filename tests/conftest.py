import numpy as np
import pytest
import torch

from mist.model import MISTNetwork, ModelConfig
from mist.model.serialization import save_model

SMALL = ModelConfig(cell_width=8, heads=2, blocks=1, inducing=4, stats_width=16, head_width=32, quantile_knots=4)


@pytest.fixture(scope="session")
def test_model_card(tmp_path_factory):
    """A small, untrained model saved as a card: API tests that need no trained weights use it."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("model")
    return str(save_model(MISTNetwork(SMALL), folder / "test-model", {"name": "test-model"}))


@pytest.fixture
def data():
    """x (200, 3) and y (200, 2), y = x[:, :2] + noise: a dependent pair for API tests."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = x[:, :2] + rng.normal(size=(200, 2))
    return x, y
