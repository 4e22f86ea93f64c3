"""Choosing between trained models on data no test grid shares.

Fresh datasets of the training families (``paper_grid('train', seed=..., repeats=...)``, the
published priors), scored as drawn and with X and Y each mixed by a random orthogonal map (a
bijection per side, so the MI is unchanged: dependence not aligned with the coordinates, which
real data rarely are). For each model: MSE (nats^2), bias, and how often the 90% interval held
the MI, overall and by columns a row ((dim_x + dim_y) / n: with few rows and many columns chance
correlations near 1 are the norm, the corner where a model trained on strong dependence reads
chance as MI). Each model after the first gets a paired bootstrap 95% interval of its MSE minus
the first's.

    python benchmarks/model_selection.py --models mist-tiny-gpu default [--seed 123]

"default" scores ``mist.estimate`` as it runs; a model name or card path scores that network
alone (no clipping at 0, no subsets).

Selection uses seeds of its own (123, 124 by convention); the test grids (seed 0,
``benchmarks/learned_estimator.py``) are measured once, after a model is chosen.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

import mist
from mist.distributions import TestSet, paper_grid
from mist.distributions.beyond import rotate
from mist.errors import MistWarning
from mist.model.inference import predict_many

BUCKETS = ((0, 2), (2, 4), (4, np.inf))


def rotated(grid: TestSet, rng: np.random.Generator) -> TestSet:
    pairs = [rotate(x, y, rng) for x, y in zip(grid.xs, grid.ys)]
    return TestSet([x for x, _ in pairs], [y for _, y in pairs], grid.mi, grid.family, grid.n, grid.dim_x,
                   grid.dim_y, grid.params, dict(grid.meta))


def scores(model: str, grid: TestSet) -> dict[str, np.ndarray]:
    """Errors and 90%-interval hits of a model's network, or, for "default", of what
    ``mist.estimate`` returns."""
    if model == "default":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MistWarning)
            results = mist.estimate_many(list(zip(grid.xs, grid.ys)), progress=False)
        mean, low, high = (np.array([getattr(r, k) for r in results]) for k in ("estimate", "low", "high"))
    else:
        mean, q = predict_many(mist.load_model(model), grid.xs, grid.ys, [0.05, 0.95])
        low, high = q[:, 0], q[:, 1]
    return dict(error=mean - grid.mi, held=(low <= grid.mi) & (grid.mi <= high))


def report(title: str, grid: TestSet, models: list[str], rng: np.random.Generator) -> None:
    per_row = (grid.dim_x + grid.dim_y) / grid.n
    results = {m: scores(m, grid) for m in models}
    print(f"\n{title}: {len(grid)} datasets")
    print(f"{'model':<34} {'columns a row':>14} {'datasets':>8} {'MSE':>8} {'bias':>7} {'90% held':>9} "
          f"{'MSE - first, 95%':>20}")
    for low, high in ((0, np.inf), *BUCKETS):
        cell = np.flatnonzero((per_row > low) & (per_row <= high))
        label = "all" if (low, high) == (0, np.inf) else f"({low}, {high:g}]"
        base = results[models[0]]["error"][cell] ** 2
        for m in models:
            err, held = results[m]["error"][cell], results[m]["held"][cell]
            diff = ""
            if m != models[0]:
                d = err ** 2 - base
                draws = [d[k].mean() for k in (rng.integers(0, len(cell), len(cell)) for _ in range(2000))]
                diff = "[{:.3f}, {:.3f}]".format(*np.percentile(draws, [2.5, 97.5]))
            print(f"{m[-34:]:<34} {label:>14} {len(cell):>8} {np.mean(err ** 2):>8.3f} {err.mean():>7.3f} "
                  f"{held.mean():>9.2f} {diff:>20}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["mist-tiny-gpu", "default"],
                        help="shipped model names or model card paths; the first is the reference")
    parser.add_argument("--seed", type=int, default=123)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    grid = paper_grid("train", seed=args.seed, repeats=args.repeats)
    report(f"training families, published priors (paper_grid('train', seed={args.seed}, repeats={args.repeats}))",
           grid, args.models, rng)
    report("the same, X and Y each mixed by a random orthogonal map", rotated(grid, rng), args.models, rng)


if __name__ == "__main__":
    main()
