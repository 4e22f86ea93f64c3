"""Where a training step's time goes: data generation against the model's forward + backward +
AdamW, per preset and batch size, on one device (datasets/s for each part and both together).

    python benchmarks/training_step_profile.py --device cuda [--steps 20] [--presets tiny,small,base]
        [--cells 400000,2000000,8000000] [--trace]

Every configuration replays the same seeded sequence of (n, dim_x, dim_y) shapes, so the rows are
comparable. ``--trace`` adds the PyTorch profiler's table of the costliest operations of data
generation (host time, and device time on CUDA).
"""

from __future__ import annotations

import argparse
import time

import torch

from mist.model.network import MISTNetwork
from mist.training.loop import pinball_loss
from mist.training.presets import preset
from mist.training.stream import TrainingStream


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def profile(preset_name: str, cells: int, steps: int, device: torch.device) -> dict:
    cfg = preset(preset_name)
    cfg.stream.cells_per_batch = cells
    cfg.stream.max_batch = 8192
    cfg.stream.min_batch = 8
    torch.manual_seed(0)
    network = MISTNetwork(cfg.model).to(device)
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-4)
    stream = TrainingStream(cfg.stream, seed=1, device=device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    data_s = model_s = 0.0
    datasets = 0
    for step in range(steps + 2):  # two warm-up steps
        _sync(device)
        t0 = time.perf_counter()
        batch = stream.next_batch()
        _sync(device)
        t1 = time.perf_counter()
        tau = torch.rand(batch.x.shape[0], 8, device=device) * 0.98 + 0.01
        with autocast:
            out = network(batch.x, batch.y, None, tau)
        loss = torch.mean((out.mean.float() - batch.mi) ** 2) + pinball_loss(out.quantiles.float(), batch.mi, tau)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        _sync(device)
        t2 = time.perf_counter()
        if step >= 2:
            data_s += t1 - t0
            model_s += t2 - t1
            datasets += batch.x.shape[0]
    return {"preset": preset_name, "cells": cells, "datasets_per_step": datasets / steps,
            "data_ms": 1e3 * data_s / steps, "model_ms": 1e3 * model_s / steps,
            "data_sets_s": datasets / data_s, "model_sets_s": datasets / model_s,
            "total_sets_s": datasets / (data_s + model_s)}


def trace(cells: int, device: torch.device, steps: int = 5) -> None:
    from torch.profiler import ProfilerActivity, profile as torch_profile

    cfg = preset("tiny")
    cfg.stream.cells_per_batch = cells
    stream = TrainingStream(cfg.stream, seed=1, device=device)
    stream.next_batch()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with torch_profile(activities=activities) as prof:
        for _ in range(steps):
            stream.next_batch()
        _sync(device)
    sort = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    print(prof.key_averages().table(sort_by=sort, row_limit=20, max_name_column_width=40))
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15, max_name_column_width=40))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--presets", default="tiny,small,base")
    parser.add_argument("--cells", default="400000,2000000,8000000")
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    print(f"device: {name}; torch {torch.__version__}; {args.steps} timed steps per row")
    header = f"{'preset':<7}{'cells':>10}{'sets/step':>10}{'data ms':>9}{'model ms':>9}{'data sets/s':>12}{'model sets/s':>13}{'both sets/s':>12}"
    rows = []
    for p in args.presets.split(","):
        for c in (int(v) for v in args.cells.split(",")):
            rows.append(profile(p, c, args.steps, device))
            print(_row(rows[-1]), flush=True)
    if args.trace:
        trace(int(args.cells.split(",")[-1]), device)
    print(header)  # the table again, last, so it ends the output
    for r in rows:
        print(_row(r))


def _row(r: dict) -> str:
    return (f"{r['preset']:<7}{r['cells']:>10}{r['datasets_per_step']:>10.0f}{r['data_ms']:>9.1f}{r['model_ms']:>9.1f}"
            f"{r['data_sets_s']:>12.0f}{r['model_sets_s']:>13.0f}{r['total_sets_s']:>12.0f}")


if __name__ == "__main__":
    main()
