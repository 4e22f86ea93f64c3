import csv
import math

import numpy as np

import pytest
import torch

from mist.errors import MistError
from mist.model import MISTNetwork
from mist.training import PRESETS, StreamConfig, TrainConfig, TrainingStream, preset, train
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


def test_rotation_mixes_columns_and_keeps_row_norms():
    cfg = StreamConfig(n_range=(30, 30), dim_range=(3, 3), prob_equal_dims=1.0, cells_per_batch=4000)
    plain = TrainingStream(cfg, seed=0).next_batch()
    cfg_all = StreamConfig(**{**cfg.__dict__, "prob_rotate": 1.0})
    rotated = TrainingStream(cfg_all, seed=0).next_batch()
    # same draw before the rotation: an orthogonal map keeps each row's length, changes its coordinates
    torch.testing.assert_close(rotated.x.norm(dim=-1), plain.x.norm(dim=-1), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(rotated.y.norm(dim=-1), plain.y.norm(dim=-1), rtol=1e-4, atol=1e-4)
    assert not torch.allclose(rotated.x, plain.x, atol=1e-3)
    assert torch.equal(rotated.mi, plain.mi)


def test_wide_batches_go_past_the_published_strength():
    from mist.distributions import Family

    cfg = StreamConfig(n_range=(30, 30), dim_range=(2, 2), prob_equal_dims=1.0, cells_per_batch=4000)
    families = (Family.from_name("multi_normal-2pair-base"),)
    published = TrainingStream(cfg, seed=0, families=families).next_batch()
    wide = TrainingStream(StreamConfig(**{**cfg.__dict__, "wide_fraction": 1.0}), seed=0, families=families).next_batch()
    # two pairs of correlation s^2 / (1 + s^2): at most 2.58 nats for s <= 5, at least that above
    pair_max = -math.log(1 - (25 / 26) ** 2)
    assert published.mi.max() <= pair_max + 1e-4 < wide.mi.min()
    assert wide.mi.max() <= -math.log(1 - (400 / 401) ** 2) + 1e-3  # strength <= 20
    # 4 columns over 30 rows: wide batches allowed up to 0.2 columns a row, not up to 0.1
    for limit, past in ((0.2, True), (0.1, False)):
        limited = StreamConfig(**{**cfg.__dict__, "wide_fraction": 1.0, "wide_max_columns_per_row": limit})
        batch = TrainingStream(limited, seed=0, families=families).next_batch()
        assert (batch.mi.min() > pair_max) == past


def test_relation_batches_mix_relations_and_families():
    cfg = StreamConfig(n_range=(40, 40), dim_range=(2, 2), prob_equal_dims=1.0, cells_per_batch=4000, min_batch=32,
                       relation_fraction=0.5, relation_functions=20)
    b = TrainingStream(cfg, seed=3).next_batch()
    relations = np.array([f.startswith("relations") for f in b.families])
    assert relations.sum() == 16 and len(set(np.array(b.families)[~relations])) == 16
    assert torch.isfinite(b.x).all() and (b.mi[relations] >= 0).all()
    again = TrainingStream(cfg, seed=3).next_batch()
    assert torch.equal(b.x, again.x) and torch.equal(b.mi, again.mi)


def test_a_network_gaining_the_pair_branch_starts_where_its_weights_were():
    from mist.model import ModelConfig
    from mist.training.loop import load_gaining_branches

    torch.manual_seed(0)
    cfg = ModelConfig(stats_width=16, head_width=32, quantile_knots=4, use_cells=False)
    base = MISTNetwork(cfg).eval()
    grown = MISTNetwork(ModelConfig(**{**cfg.to_dict(), "use_pair_stats": True, "pair_width": 8})).eval()
    assert all(k.startswith("stats.pairs.") for k in load_gaining_branches(grown, base.state_dict()))
    x = torch.randn(2, 50, 3)
    y = x**2 + torch.randn(2, 50, 3)
    assert torch.equal(grown(x, y).mean, base(x, y).mean)
    with pytest.raises(ValueError, match="do not fit"):  # a missing part that is not a new branch
        load_gaining_branches(grown, {k: v for k, v in base.state_dict().items() if not k.startswith("trunk.")})


def test_snapshots_keep_each_checkpoints_weights(tmp_path):
    cfg = preset("smoke")
    cfg.steps, cfg.val_every, cfg.snapshots = 3, 0, True
    train(cfg, tmp_path, device="cpu", progress=False)
    assert [p.name for p in (tmp_path / "snapshots").iterdir()] == ["model-3.safetensors"]


def test_datasets_budget_stops_runs_of_different_models_at_the_same_data(tmp_path):
    seen = []
    for width in (8, 16):
        cfg = apply_overrides(preset("smoke"), [f"model.stats_width={width}"])
        cfg.steps, cfg.val_every, cfg.datasets = 1_000, 0, 100
        seen.append(train(cfg, tmp_path / str(width), device="cpu", progress=False).summary["datasets"])
    # the stream does not depend on the model: both stop at the first batch past the budget
    assert seen[0] == seen[1] and 100 <= seen[0] < 100 + preset("smoke").stream.max_batch
    cfg.datasets = 0
    with pytest.raises(MistError, match="`datasets` must be a positive whole number"):
        train(cfg, tmp_path / "none", device="cpu", progress=False)


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
    # with a time limit the decay also follows the share of time spent
    assert learning_rate(cfg, cfg.warmup_steps + 1, budget_fraction=1.0) == pytest.approx(cfg.lr * cfg.min_lr_ratio)
    assert learning_rate(cfg, cfg.warmup_steps + 1, budget_fraction=0.5) < 0.6 * cfg.lr


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
    full = train(cfg, tmp_path / "full", progress=False).summary
    cfg2 = preset("smoke")
    cfg2.steps = 2
    train(cfg2, tmp_path / "half", progress=False)
    cfg2.steps = 4
    resumed = train(cfg2, tmp_path / "half", resume=tmp_path / "half" / "checkpoint", progress=False).summary
    assert resumed["steps"] == full["steps"] == 4
    from safetensors.torch import load_file

    a = load_file(str(tmp_path / "full" / "checkpoint" / "model.safetensors"))
    b = load_file(str(tmp_path / "half" / "checkpoint" / "model.safetensors"))
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    rows = list(csv.DictReader(open(tmp_path / "half" / "log.csv")))
    assert rows and float(rows[-1]["val_mse"]) >= 0


def _ddp_worker(rank: int, world: int, port: int, out: str) -> None:
    import os

    from safetensors.torch import save_file

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    cfg = preset("smoke")
    cfg.steps, cfg.val_every = 3, 0
    result = train(cfg, f"{out}/run", device="cpu", progress=False)
    save_file({k: v.contiguous() for k, v in result.network.state_dict().items()}, f"{out}/rank{rank}.safetensors")
    import torch.distributed as dist

    dist.destroy_process_group()


def test_two_process_ddp_keeps_parameters_identical(tmp_path):
    import socket

    import torch.multiprocessing as mp
    from safetensors.torch import load_file

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.start_processes(_ddp_worker, args=(2, port, str(tmp_path)), nprocs=2, join=True, start_method="spawn")
    a = load_file(str(tmp_path / "rank0.safetensors"))
    b = load_file(str(tmp_path / "rank1.safetensors"))
    torch.manual_seed(preset("smoke").seed)  # the initialisation train() starts from
    init = MISTNetwork(preset("smoke").model).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], init[k]) for k in a if a[k].is_floating_point())


def test_training_writes_a_loadable_model_card_and_export(tmp_path):
    from typer.testing import CliRunner

    import mist
    from mist.cli import app

    cfg = preset("smoke")
    cfg.steps = 2
    train(cfg, tmp_path / "run", progress=False)
    result = CliRunner().invoke(app, ["export", str(tmp_path / "run" / "model.json"), "-o", str(tmp_path / "ship" / "m"),
                                      "--name", "smoke-model", "--note", "test"])
    assert result.exit_code == 0, result.output
    with pytest.warns(mist.MistWarning, match="same ranks"):  # y is a monotone function of x
        r = mist.estimate(np.arange(30.0), np.arange(30.0) ** 2, model=str(tmp_path / "ship" / "m.json"))
    assert r.model == "smoke-model"
    import json

    card = json.loads((tmp_path / "ship" / "m.json").read_text())
    assert card["training"]["datasets_seen"] > 0 and card["training"]["families"]
    assert "initialized_from" not in card["training"]
    # a run started from that card records where it started and the datasets behind both runs
    tuned = train(cfg, tmp_path / "tuned", init_weights=tmp_path / "ship" / "m.json", progress=False)
    history = json.loads((tmp_path / "tuned" / "model.json").read_text())["training"]
    first = card["training"]["datasets_seen"]
    assert history["initialized_from"] == {"model": "smoke-model", "datasets_seen_total": first}
    assert history["datasets_seen_total"] == first + tuned.summary["datasets"]


def test_bf16_autocast_path_trains(tmp_path):
    cfg = preset("smoke")
    cfg.steps, cfg.val_every, cfg.autocast = 2, 0, "bf16"
    result = train(cfg, tmp_path, device="cpu", progress=False)
    assert result.summary["steps"] == 2
    assert all(torch.isfinite(p).all() for p in result.network.parameters())


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_builds_its_network_and_round_trips_its_config(name):
    cfg = preset(name)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    network = MISTNetwork(cfg.model)
    assert sum(p.numel() for p in network.parameters()) > 0
    assert cfg.stream.min_batch <= cfg.stream.max_batch
