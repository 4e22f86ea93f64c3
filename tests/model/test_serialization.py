import json

import numpy as np
import pytest
import torch

from mist.errors import MistError
from mist.model import MISTNetwork, ModelConfig
from mist.model.inference import predict_many
from mist.model.numpy_forward import NumpyForward
from mist.model.serialization import load_engine_file, load_model_file, save_model

SMALL = ModelConfig(cell_width=8, heads=2, blocks=1, inducing=4, stats_width=16, head_width=32, quantile_knots=4)


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    net = MISTNetwork(SMALL)
    card = save_model(net, tmp_path / "m", {"name": "test-model"})
    return net, card


def test_round_trip(saved):
    net, card = saved
    loaded, meta = load_model_file(card)
    assert meta["name"] == "test-model" and not loaded.training
    x, y = torch.randn(2, 30, 3), torch.randn(2, 30, 2)
    assert torch.equal(net.eval()(x, y).mean, loaded(x, y).mean)


def test_half_precision_weights(tmp_path):
    net = MISTNetwork(SMALL)
    card = save_model(net, tmp_path / "h", {"name": "h"}, dtype=torch.float16)
    loaded, meta = load_model_file(card)
    assert meta["dtype"] == "float16"
    assert next(loaded.parameters()).dtype == torch.float32


def test_corrupted_weights_are_refused(saved):
    _, card = saved
    weights = card.with_suffix(".safetensors")
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(MistError, match="corrupted or was changed"):
        load_model_file(card)


def test_missing_files_and_bad_cards(saved, tmp_path):
    _, card = saved
    with pytest.raises(MistError, match="missing"):
        load_model_file(tmp_path / "nope.json")
    card.with_suffix(".safetensors").unlink()
    with pytest.raises(MistError, match="weights file .* is missing"):
        load_model_file(card)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(MistError, match="not valid JSON"):
        load_model_file(bad)
    bad.write_text(json.dumps({"config": {}}))
    with pytest.raises(MistError, match="lacks the field"):
        load_model_file(bad)


def test_architecture_mismatch_is_refused(saved):
    _, card = saved
    meta = json.loads(card.read_text())
    meta["config"]["head_width"] = 64
    card.write_text(json.dumps(meta))
    with pytest.raises(MistError, match="wrong shape"):
        load_model_file(card)
    meta["config"]["use_cells"] = False
    card.write_text(json.dumps(meta))
    with pytest.raises(MistError, match="does not match its architecture"):
        load_model_file(card)


STATS_ONLY = ModelConfig(stats_width=16, head_width=32, quantile_knots=4, use_cells=False)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_engine_loads_what_the_module_loads(tmp_path, dtype):
    torch.manual_seed(0)
    card = save_model(MISTNetwork(STATS_ONLY), tmp_path / "s", {"name": "s"}, dtype=dtype)
    engine = load_engine_file(card)
    network, meta = load_model_file(card)
    assert isinstance(engine, NumpyForward) and engine.card == meta
    rng = np.random.default_rng(0)
    xs, ys = [rng.normal(size=(60, 3)) for _ in range(4)], [rng.normal(size=(60, 2)) for _ in range(4)]
    taus = [0.05, 0.5, 0.95]
    for a, b in zip(predict_many(engine, xs, ys, taus), predict_many(network, xs, ys, taus, backend="torch")):
        np.testing.assert_allclose(a, b, atol=1e-4)
    with pytest.raises(ValueError, match="CPU only"):
        predict_many(engine, xs, ys, taus, backend="torch")


def test_engine_refuses_what_the_module_refuses(saved, tmp_path):
    _, cell_card = saved
    with pytest.raises(MistError, match="statistics-only"):
        load_engine_file(cell_card)
    card = save_model(MISTNetwork(STATS_ONLY), tmp_path / "s", {"name": "s"})
    meta = json.loads(card.read_text())
    meta["config"]["head_width"] = 64
    card.write_text(json.dumps(meta))
    with pytest.raises(MistError, match="does not match its architecture"):
        load_engine_file(card)
    weights = card.with_suffix(".safetensors")
    weights.write_bytes(weights.read_bytes()[:-1] + b"x")
    with pytest.raises(MistError, match="corrupted or was changed"):
        load_engine_file(card)
