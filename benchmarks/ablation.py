"""Ablations of the learned estimator at the same training budget each.

Every variant trains from scratch for the same number of steps (same data stream, same seed)
and is scored on the fixed validation grid drawn from the *training* families (never the test
grids). Prints one table: validation MSE, MAE, worst calibration error, datasets/s.

    python benchmarks/ablation.py --steps 3000 [--variants stats,stats-standardize,...] [--threads 1]

Variants (all on the `tiny` preset):
  stats              copula statistics + column attention, rank input (the CPU default)
  stats-standardize  the same with standardised (not rank) input
  stats-no-colattn   without attention across columns
  stats-cca-only     canonical correlations only (no column statistics)
  cells              + the 2-D attention cell trunk (cell width 8, one block)
  cells-no-dimattn   the cell trunk without attention across the cells of a row
"""

from __future__ import annotations

import argparse
import tempfile

import torch

from mist.training import preset, train
from mist.training.loop import validate, validation_set
from mist.training.presets import apply_overrides

# the ablation budget uses the narrower model of the first experiments (it trains faster)
NARROW = ["model.stats_width=64", "model.head_width=128", "model.column_blocks=2", "model.heads=2",
          "stream.cells_per_batch=120000", "stream.min_batch=16"]
VARIANTS = {
    "stats": ["model.use_cells=false"],
    "stats-standardize": ["model.use_cells=false", "model.input_transform=standardize"],
    "stats-no-colattn": ["model.use_cells=false", "model.column_blocks=0"],
    "stats-cca-only": ["model.use_cells=false", "model.use_column_stats=false"],
    "cells": ["model.use_cells=true", "model.cell_width=8", "model.blocks=1"],
    "cells-no-dimattn": ["model.use_cells=true", "model.cell_width=8", "model.blocks=1", "model.dim_attention=false"],
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    grid = validation_set()
    print(f"{'variant':<20} {'params':>8} {'datasets':>9} {'val MSE':>8} {'val MAE':>8} {'calib err':>9} {'sets/s':>7}")
    for name in args.variants.split(","):
        cfg = apply_overrides(preset("tiny"), NARROW + VARIANTS[name])
        cfg.steps = args.steps
        cfg.val_every = 0
        with tempfile.TemporaryDirectory() as out:
            result = train(cfg, out, progress=False)
        metrics = validate(result.network, grid)
        s = result.summary
        params = sum(p.numel() for p in result.network.parameters())
        print(f"{name:<20} {params:>8} {s['datasets']:>9} {metrics['val_mse']:>8.3f} {metrics['val_mae']:>8.3f} "
              f"{metrics['val_coverage_err']:>9.3f} {s['datasets'] / s['wall_s']:>7.0f}", flush=True)


if __name__ == "__main__":
    main()
