"""The training loop: on-the-fly data, AdamW with warm-up and cosine decay, MSE + pinball loss,
resumable checkpoints, periodic validation, a CSV log, and DistributedDataParallel under torchrun."""

from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from mist.distributions import paper_grid
from mist.model.inference import predict_many
from mist.model.network import MISTNetwork
from mist.model.serialization import save_model
from mist.training.checkpoint import load_checkpoint, save_checkpoint
from mist.training.presets import TrainConfig
from mist.training.stream import TrainingStream

VALIDATION_TAUS = (0.05, 0.25, 0.5, 0.75, 0.95)
LOG_FIELDS = ["step", "datasets", "wall_s", "lr", "loss", "mse", "pinball", "datasets_per_s",
              "val_mse", "val_mae", "val_coverage_err", "val_relations_mse", "val_relations_coverage90"]


def pinball_loss(pred: torch.Tensor, target: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    """Mean of max(tau (t - q), (tau - 1)(t - q)); pred and tau (B, T), target (B,)."""
    diff = target[:, None] - pred
    return torch.maximum(tau * diff, (tau - 1) * diff).mean()


def learning_rate(cfg: TrainConfig, step: int, budget_fraction: float = 0.0) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_ratio``; the decay follows whichever budget
    is further spent: steps, or ``budget_fraction`` (the larger of the wall-time and datasets
    fractions spent), so a run stopped by time or by datasets still anneals."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, max((step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps), budget_fraction))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def validation_set(seed: int = 20251, repeats: int = 3, n_values: tuple[int, ...] = (10, 50, 100, 200, 350, 500)):
    """A fixed grid drawn from the *training* families (never the test grids): 16 x 6 x 3 datasets."""
    return paper_grid("train", seed=seed, repeats=repeats, n_values=tuple(n_values))


def relation_validation_set(seed: int = 20252, per_shape: int = 4):
    """Fresh datasets of the training relations (mist.distributions.relations, split "train",
    functions from another bank than training's), n in {50, 200, 1000}, 1-16 columns a side:
    3 x 15 shapes x ``per_shape`` datasets, as (xs, ys, mi)."""
    from mist.distributions.relations import build_relation_banks, sample_relation_dataset

    rng = np.random.default_rng(seed)
    banks = build_relation_banks(np.random.default_rng(seed + 1), fourier=200, bumps=10, kinks=10)
    xs, ys, mi = [], [], []
    for n in (50, 200, 1000):
        for dim_x in (1, 2, 4, 8, 16):
            for dim_y in {1, dim_x, min(16, 2 * dim_x)}:
                for _ in range(per_shape):
                    d = sample_relation_dataset(n, dim_x, dim_y, rng, split="train", banks=banks)
                    xs.append(d.x)
                    ys.append(d.y)
                    mi.append(d.mi)
    return xs, ys, np.array(mi)


def validate_relations(network: MISTNetwork, relations) -> dict:
    xs, ys, mi = relations
    was_training = network.training
    network.eval()
    mean, quant = predict_many(network, xs, ys, (0.05, 0.95))
    network.train(was_training)
    held = (quant[:, 0] <= mi) & (mi <= quant[:, 1])
    return {"val_relations_mse": float(np.mean((mean - mi) ** 2)), "val_relations_coverage90": float(held.mean())}


def validate(network: MISTNetwork, grid) -> dict:
    was_training = network.training
    network.eval()
    mean, quant = predict_many(network, grid.xs, grid.ys, VALIDATION_TAUS)
    network.train(was_training)
    coverage = (grid.mi[:, None] <= quant).mean(0)
    return {"val_mse": float(np.mean((mean - grid.mi) ** 2)), "val_mae": float(np.mean(np.abs(mean - grid.mi))),
            "val_coverage_err": float(np.max(np.abs(coverage - np.array(VALIDATION_TAUS))))}


#: Modules a network may gain over the weights it starts from; each starts with zero output.
NEW_BRANCHES = ("stats.pairs.",)


def load_gaining_branches(network: nn.Module, state: dict) -> list[str]:
    """Load ``state`` into ``network``, which may hold branches the state lacks (NEW_BRANCHES):
    those keep their initial values, whose output is zero, so the network computes what the
    state's network computed. Returns the names left at their initial values."""
    missing, unexpected = network.load_state_dict(state, strict=False)
    wrong = [k for k in missing if not k.startswith(NEW_BRANCHES)]
    if wrong or unexpected:
        raise ValueError(f"the initial weights do not fit this architecture: missing {wrong[:5]}, "
                         f"unexpected {list(unexpected)[:5]}")
    return list(missing)


def _distributed() -> tuple[int, int]:
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class TrainResult(NamedTuple):
    summary: dict  # steps, datasets seen, wall time, device, last validation metrics
    network: MISTNetwork  # the trained network (each rank's copy under torchrun)


def train(cfg: TrainConfig, out_dir: str | Path, *, resume: str | Path | None = None,
          init_weights: str | Path | None = None, device: str | None = None, progress: bool = True) -> TrainResult:
    """Train a MIST network on data generated on the fly.

    ``out_dir`` receives ``checkpoint/`` (resumable), ``log.csv`` and ``model.json`` /
    ``model.safetensors`` (the final weights with a model card). ``resume`` continues a
    checkpoint folder (model, optimiser, step, RNG); ``init_weights`` starts from a model card's
    weights with a fresh optimiser.
    """
    if cfg.datasets is not None and (isinstance(cfg.datasets, bool) or not isinstance(cfg.datasets, int)
                                     or cfg.datasets < 1):
        from mist.errors import MistError

        raise MistError(f"`datasets` must be a positive whole number of datasets, got {cfg.datasets!r}.")
    rank, world = _distributed()
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    out_dir = Path(out_dir)
    torch.manual_seed(cfg.seed)  # parameter initialisation only; data has its own generator
    network = MISTNetwork(cfg.model).to(device)
    lineage = None  # the model a fine-tuning run started from, and the datasets behind it
    fresh: list[str] = [name for name, _ in network.named_parameters()]  # parameters not loaded from --init
    if init_weights is not None:
        from mist.model.serialization import load_model_file

        loaded, init_card = load_model_file(init_weights)
        fresh = load_gaining_branches(network, loaded.state_dict())
        seen = init_card.get("training", {})
        lineage = {"model": init_card.get("name", str(init_weights)),
                   "datasets_seen_total": int(seen.get("datasets_seen_total", seen.get("datasets_seen", 0)))}
    if resume is not None:  # the parameter groups of the run being resumed
        import json

        saved = Path(resume) / "checkpoint.json"
        if saved.is_file():
            fresh = json.loads(saved.read_text()).get("fresh_parameters", fresh)
    # weights loaded from --init learn at loaded_lr_ratio times the rate of new ones: a network
    # gaining a branch keeps what it knew while the branch learns
    groups = [{"params": [p for name, p in network.named_parameters() if (name in fresh) == is_fresh],
               "scale": 1.0 if is_fresh else cfg.loaded_lr_ratio} for is_fresh in (True, False)]
    optimizer = torch.optim.AdamW([g for g in groups if g["params"]], lr=cfg.lr, weight_decay=cfg.weight_decay)
    stream = TrainingStream(cfg.stream, seed=cfg.seed * 1000 + rank, device=device)
    step, datasets_seen, wall_before = 0, 0, 0.0
    if resume is not None:
        info, rng = load_checkpoint(resume, network, optimizer)
        step, datasets_seen, wall_before = info["step"], info["datasets"], info["wall_s"]
        lineage = info.get("initialized_from", lineage)
        if world == 1 or info.get("world", 1) == world:
            stream.set_state(rng)
    model: nn.Module = network
    if world > 1:
        model = nn.parallel.DistributedDataParallel(network, device_ids=[device.index] if device.type == "cuda" else None)
    grid = validation_set(repeats=cfg.val_repeats, n_values=cfg.val_n_values) if rank == 0 and cfg.val_every else None
    relations = relation_validation_set() if grid is not None and cfg.stream.relation_fraction > 0 else None
    log_path = out_dir / "log.csv"
    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
        new_log = not log_path.exists() or resume is None
        log_file = open(log_path, "w" if new_log else "a", newline="")
        writer = csv.DictWriter(log_file, fieldnames=LOG_FIELDS)
        if new_log:
            writer.writeheader()
    use_bf16 = cfg.autocast == "bf16" or (cfg.autocast == "auto" and device.type == "cuda")
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16)
    bar = _ProgressBar(cfg.steps, step, enabled=progress and rank == 0)
    start = time.perf_counter()
    last_ckpt = start
    window_sets, window_t = 0, start
    row: dict = {}
    network.train()
    while step < cfg.steps:
        if cfg.time_limit_s is not None and _should_stop(wall_before + time.perf_counter() - start > cfg.time_limit_s, world, device):
            break
        if cfg.datasets is not None and datasets_seen >= cfg.datasets:  # the same count on every rank (below)
            break
        elapsed = wall_before + time.perf_counter() - start
        spent = max(elapsed / cfg.time_limit_s if cfg.time_limit_s else 0.0,
                    datasets_seen / cfg.datasets if cfg.datasets else 0.0)
        lr = learning_rate(cfg, step, spent)
        for group in optimizer.param_groups:
            group["lr"] = lr * group.get("scale", 1.0)
        batch = stream.next_batch()
        b = batch.x.shape[0]
        tau = torch.rand(b, cfg.taus_per_dataset, generator=stream.generator, device=device) * 0.98 + 0.01
        with autocast:
            out = model(batch.x, batch.y, None, tau)
        mse = torch.mean((out.mean.float() - batch.mi) ** 2)
        pin = pinball_loss(out.quantiles.float(), batch.mi, tau)
        loss = mse + cfg.quantile_weight * pin
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(network.parameters(), cfg.grad_clip)
        optimizer.step()
        step += 1
        datasets_seen += b * world if world == 1 or cfg.datasets is None else _all_ranks_sum(b, device)
        window_sets += b * world
        if rank == 0:
            now = time.perf_counter()
            rate = window_sets / max(now - window_t, 1e-9)
            if bar.enabled:  # .item() waits for the GPU: only when someone is watching
                bar.update(step, loss.item(), rate)
            if step % 25 == 0 or step == cfg.steps:
                row = {"step": step, "datasets": datasets_seen, "wall_s": round(wall_before + now - start, 1),
                       "lr": lr, "loss": loss.item(), "mse": mse.item(), "pinball": pin.item(),
                       "datasets_per_s": round(rate, 1)}
                if grid is not None and (step % cfg.val_every == 0 or step == cfg.steps):
                    row.update(validate(network, grid))
                    if relations is not None:
                        row.update(validate_relations(network, relations))
                    bar.note(f"step {step}: val MSE {row['val_mse']:.3f}, max coverage error {row['val_coverage_err']:.3f}")
                writer.writerow({k: row.get(k, "") for k in LOG_FIELDS})
                log_file.flush()
                window_sets, window_t = 0, now
            if now - last_ckpt > cfg.checkpoint_every_s:
                _save(out_dir, network, optimizer, stream, cfg, step, datasets_seen, wall_before + now - start, world,
                      lineage, fresh)
                last_ckpt = now
    wall = wall_before + time.perf_counter() - start
    summary = {"steps": step, "datasets": datasets_seen, "wall_s": round(wall, 1), "device": str(device),
               "world_size": world, "initialized_from": lineage}
    if rank == 0:
        bar.close()
        _save(out_dir, network, optimizer, stream, cfg, step, datasets_seen, wall, world, lineage, fresh)
        if grid is not None:
            summary.update(validate(network, grid))
        if relations is not None:
            summary.update(validate_relations(network, relations))
        log_file.close()
        save_model(network, out_dir / "model", training_card(cfg, summary, stream))
    return TrainResult(summary, network)


def _all_ranks_sum(count: int, device: torch.device) -> int:
    """``count`` summed over the ranks: each draws its own batch sizes, and a datasets budget
    must stop them all at the same step, at the same learning rate."""
    import torch.distributed as dist

    total = torch.tensor([float(count)], device=device)
    dist.all_reduce(total)
    return int(total.item())


def _should_stop(local: bool, world: int, device: torch.device) -> bool:
    """Every rank stops at the same step: any rank past its time limit stops them all."""
    if world == 1:
        return local
    import torch.distributed as dist

    flag = torch.tensor([1.0 if local else 0.0], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item() > 0)


def training_card(cfg: TrainConfig, summary: dict, stream: TrainingStream) -> dict:
    """The training half of a model card: what it saw, on what, for how long."""
    import platform

    hardware = platform.processor() or platform.machine()
    if summary["device"].startswith("cuda") and torch.cuda.is_available():
        hardware = torch.cuda.get_device_name()
    lineage = summary.get("initialized_from")
    history = {} if not lineage else {  # a fine-tuned model: what it started from, datasets in all
        "initialized_from": lineage, "datasets_seen_total": lineage["datasets_seen_total"] + summary["datasets"]}
    return {
        "name": "unnamed",
        "training": {
            "families": [f.name for f in stream.families], "priors": stream.priors.to_dict(),
            "n_range": list(cfg.stream.n_range), "dim_range": list(cfg.stream.dim_range),
            "prob_equal_dims": cfg.stream.prob_equal_dims, "steps": summary["steps"],
            "datasets_seen": summary["datasets"], "wall_s": summary["wall_s"], "device": summary["device"],
            "hardware": hardware, "cpu_threads": torch.get_num_threads(), "world_size": summary["world_size"],
            "torch": torch.__version__, "config": cfg.to_dict(),
            "validation": {k: summary[k] for k in ("val_mse", "val_mae", "val_coverage_err", "val_relations_mse",
                                                   "val_relations_coverage90") if k in summary},
            "validation_set": f"paper_grid('train', seed=20251, repeats={cfg.val_repeats}, n_values={tuple(cfg.val_n_values)})",
            **history,
        },
    }


def load_run(folder: str | Path) -> tuple[MISTNetwork, dict]:
    """The network of a run folder's last checkpoint and its training card (for runs stopped
    before they wrote ``model.json``)."""
    from safetensors.torch import load_file

    from mist.errors import MistError

    folder = Path(folder)
    info_path = folder / "checkpoint" / "checkpoint.json"
    if not info_path.is_file():
        raise MistError(f"{str(folder)!r} is not a training run folder (no checkpoint/checkpoint.json).")
    import json

    info = json.loads(info_path.read_text())
    cfg = TrainConfig.from_dict(info["train_config"])
    network = MISTNetwork(cfg.model)
    network.load_state_dict(load_file(str(folder / "checkpoint" / "model.safetensors")))
    summary = {"steps": info["step"], "datasets": info["datasets"], "wall_s": info["wall_s"],
               "device": "cpu (from checkpoint)", "world_size": info.get("world", 1),
               "initialized_from": info.get("initialized_from")}
    stream = TrainingStream(cfg.stream, seed=0)
    return network.eval(), training_card(cfg, summary, stream)


def _save(out_dir, network, optimizer, stream, cfg, step, datasets, wall, world, lineage=None, fresh=()) -> None:
    folder = save_checkpoint(out_dir / "checkpoint", network, optimizer, stream.state(),
                             {"step": step, "datasets": datasets, "wall_s": round(wall, 1), "world": world,
                              "train_config": cfg.to_dict(), "initialized_from": lineage,
                              "fresh_parameters": list(fresh)})
    if cfg.snapshots:  # scripts/average_weights.py averages them
        import shutil

        (out_dir / "snapshots").mkdir(exist_ok=True)
        shutil.copy(folder / "model.safetensors", out_dir / "snapshots" / f"model-{step}.safetensors")


class _ProgressBar:
    """A rich progress bar with loss, datasets/s and ETA; silent when disabled."""

    def __init__(self, total: int, done: int, enabled: bool):
        self.enabled = enabled
        if not enabled:
            return
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("train"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                                 TextColumn("loss {task.fields[loss]:.3f}"), TextColumn("{task.fields[rate]:.0f} datasets/s"),
                                 TimeRemainingColumn())
        self.progress.start()
        self.task = self.progress.add_task("train", total=total, completed=done, loss=float("nan"), rate=0.0)

    def update(self, step: int, loss: float, rate: float) -> None:
        if self.enabled:
            self.progress.update(self.task, completed=step, loss=loss, rate=rate)

    def note(self, text: str) -> None:
        if self.enabled:
            self.progress.console.print(text)

    def close(self) -> None:
        if self.enabled:
            self.progress.stop()
