import csv

import pytest
import torch

from mist.errors import MistError
from mist.training import StreamConfig, TrainingStream, preset, train
from mist.training.loop import learning_rate, pinball_loss
from mist.training.presets import apply_overrides


def test_stream_batches_share_shape_and_cover_families():
    stream = TrainingStream(StreamConfig(n_range=(10, 20), dim_range=(2, 3), prob_equal_dims=1.0,
                                         cells_per_batch=2000), seed=0)
    b = stream.next_batch()
    assert b.x.shape[0] == b.y.shape[0] == b.mi.shape[0] == len(b.families)
    assert len(set(b.families)) == 16  # every training family exists at dim_x = dim_y >= 2
    again = TrainingStream(stream.config, seed=0).next_batch()
    assert torch.equal(b.x, again.x)


def test_pinball_loss_values():
    pred = torch.tensor([[1.0, 3.0]])
    target = torch.tensor([2.0])
    tau = torch.tensor([[0.9, 0.1]])
    # under-prediction at tau=0.9 costs 0.9 * 1, over-prediction at tau=0.1 costs 0.9 * 1
    assert pinball_loss(pred, target, tau).item() == pytest.approx(0.9)


def test_learning_rate_schedule():
    cfg = preset("tiny")
    assert learning_rate(cfg, 0) < learning_rate(cfg, cfg.warmup_steps - 1) <= cfg.lr
    assert learning_rate(cfg, cfg.steps) == pytest.approx(cfg.lr * cfg.min_lr_ratio)


def test_overrides():
    cfg = apply_overrides(preset("smoke"), ["lr=0.5", "model.cell_width=4", "stream.n_range=[5, 9]"])
    assert cfg.lr == 0.5 and cfg.model.cell_width == 4 and cfg.stream.n_range == (5, 9)
    with pytest.raises(MistError, match="unknown config field"):
        apply_overrides(cfg, ["model.nope=1"])
    with pytest.raises(MistError, match="field=value"):
        apply_overrides(cfg, ["lr"])


def test_smoke_training_resumes_exactly(tmp_path):
    cfg = preset("smoke")
    cfg.steps = 4
    full = train(cfg, tmp_path / "full", progress=False)
    cfg2 = preset("smoke")
    cfg2.steps = 2
    train(cfg2, tmp_path / "half", progress=False)
    cfg2.steps = 4
    resumed = train(cfg2, tmp_path / "half", resume=tmp_path / "half" / "checkpoint", progress=False)
    assert resumed["steps"] == full["steps"] == 4
    from safetensors.torch import load_file

    a = load_file(str(tmp_path / "full" / "checkpoint" / "model.safetensors"))
    b = load_file(str(tmp_path / "half" / "checkpoint" / "model.safetensors"))
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    rows = list(csv.DictReader(open(tmp_path / "half" / "log.csv")))
    assert rows and float(rows[-1]["val_mse"]) >= 0
