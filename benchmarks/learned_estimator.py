"""The learned estimator on the paper-recipe general grids, against KSG and Gaussian-copula CCA.

One run prints: MSE on IMD and OoMD for MIST (mean head), MIST-QR (median of the quantile
head), KSG (k=5) and copula CCA; MSE by family; MIST-QR calibration at tau in
{0.05, 0.25, 0.5, 0.75, 0.95}; crossing quantiles; seconds per estimate; and the MSE and
calibration of what ``mist.estimate_many`` returns.
The grids are drawn afresh from their seed (the paper's recipe; never used for training or
model selection).

    python benchmarks/learned_estimator.py [--model default] [--seed 0] [--repeats 9] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

import mist
import mist.estimation
from mist.distributions import paper_grid
from mist.estimators import KSG, GaussianCopulaCCA
from mist.evaluation import calibration, crossing_count, mse_table, predict_baseline, predict_learned
from mist.weights import load_model

TAUS = (0.05, 0.25, 0.5, 0.75, 0.95)


def evaluate(model: str, seed: int, repeats: int, baselines: bool = True) -> dict:
    network = load_model(model)
    card = network.card
    dense_taus = np.linspace(0.001, 0.999, 201)
    report: dict = {"model": card.get("name", model), "seed": seed, "repeats": repeats, "threads": torch.get_num_threads()}
    for split in ("imd", "oomd"):
        t = time.perf_counter()
        grid = paper_grid(split, seed=seed, repeats=repeats)
        gen_s = time.perf_counter() - t
        mean, quant, mist_s = predict_learned(network, grid, TAUS)
        _, dense_q, _ = predict_learned(network, grid, dense_taus)
        preds = {"MIST": np.clip(mean, 0, None), "MIST-QR": np.clip(quant[:, 2], 0, None)}
        seconds = {"MIST": mist_s}
        if baselines:
            for name, est in (("KSG", KSG(k=5)), ("copula-CCA", GaussianCopulaCCA())):
                preds[name], seconds[name] = predict_baseline(est, grid)
        overall = mse_table(grid.mi, preds).iloc[0].to_dict()
        by_family = mse_table(grid.mi, preds, grid.family)
        cover = calibration(grid.mi, quant, TAUS)
        report[split] = {
            "datasets": len(grid), "grid_seconds": round(gen_s, 1), "mse": overall,
            "mse_by_family": by_family.to_dict(orient="index"),
            "calibration": dict(zip(map(str, TAUS), cover.tolist())),
            "crossing_datasets_201_taus": crossing_count(dense_q),
            "seconds_per_estimate": seconds,
        }
        print(f"\n== {split.upper()} ({len(grid)} datasets) ==")
        print("MSE: " + ", ".join(f"{k} {v:.3f}" for k, v in overall.items()))
        if baselines:
            print(f"MIST MSE is {overall['KSG'] / overall['MIST']:.1f}x below KSG's")
        print(by_family.round(3).to_string())
        print("MIST-QR calibration (share of true MI <= predicted tau-quantile):")
        print("  " + ", ".join(f"tau {t}: {c:.3f}" for t, c in zip(TAUS, cover)))
        print(f"crossing quantiles (201 taus per dataset): {report[split]['crossing_datasets_201_taus']} datasets")
        print("seconds per estimate: " + ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in seconds.items())
              + " (MIST batched)")
        report[split]["api"] = api_figures(grid, TAUS, model)
        print(f"mist.estimate_many: MSE {report[split]['api']['mse']:.3f}; lower bound held on "
              f"{report[split]['api']['lower_bound_held']:.1%}; calibration "
              + ", ".join(f"{c:.3f}" for c in report[split]["api"]["calibration"].values()))
    return report


def api_figures(grid, taus, model: str) -> dict:
    """What a user of ``mist.estimate_many`` gets on the grid (MIST's figures above are the
    network's alone: no clipping at 0, no subsets)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mist.MistWarning)
        results = mist.estimate_many(list(zip(grid.xs, grid.ys)), model=model, quantiles=list(taus), progress=False)
    estimate = np.array([r.estimate for r in results])
    quant = np.array([[r.quantiles[t] for t in taus] for r in results])
    return {"lower_bound_held": float(np.mean([r.lower_bound is None or r.lower_bound <= mi
                                               for r, mi in zip(results, grid.mi)])),
            "mse": float(np.mean((estimate - grid.mi) ** 2)),
            "calibration": dict(zip(map(str, taus), calibration(grid.mi, quant, taus).tolist()))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    report = evaluate(args.model, args.seed, args.repeats, baselines=not args.no_baselines)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
