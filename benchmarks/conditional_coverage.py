"""How often the learned estimator's interval holds the true MI, per cell of sample count and
dimension, on fresh datasets of the training families (seeds that neither training, validation,
calibration nor any test grid uses; one dataset per (seed, family, n) group).

    python benchmarks/conditional_coverage.py [--model default] [--level 0.9] [--seeds 500-505]
"""

from __future__ import annotations

import argparse

import pandas as pd

import mist
from mist.distributions import TestSet, paper_grid
from mist.evaluation import predict_learned

N_BINS = ((10, 59), (60, 149), (150, 299), (300, 500))
DIM_BINS = ((1, 8), (9, 20), (21, 32))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="default")
    parser.add_argument("--level", type=float, default=0.9)
    parser.add_argument("--seeds", default="500-505", help="first-last seed of the fresh grids")
    args = parser.parse_args()
    first, last = (int(v) for v in args.seeds.split("-"))
    network = mist.load_model(args.model)
    grid = TestSet.concat([paper_grid("train", seed=s, repeats=1) for s in range(first, last + 1)])
    tail = (1 - args.level) / 2
    _, q, _ = predict_learned(network, grid, (tail, 1 - tail))
    inside = (grid.mi >= q[:, 0]) & (grid.mi <= q[:, 1])
    rows = []
    for n_lo, n_hi in N_BINS:
        for d_lo, d_hi in DIM_BINS:
            cell = (grid.n >= n_lo) & (grid.n <= n_hi) & (grid.dim_x >= d_lo) & (grid.dim_x <= d_hi)
            rows.append({"n": f"{n_lo}-{n_hi}", "dims a side": f"{d_lo}-{d_hi}", "datasets": int(cell.sum()),
                         "coverage": float(inside[cell].mean())})
    table = pd.DataFrame(rows)
    print(f"model {network.card.get('name')}; {len(grid)} datasets (seeds {first}-{last}); share of true MI inside "
          f"the {args.level:.0%} interval:")
    pivot = table.pivot(index="n", columns="dims a side", values="coverage")
    pivot = pivot.loc[table["n"].unique(), table["dims a side"].unique()]  # bins in order, not sorted as text
    print(pivot.round(3).to_string())
    print(f"overall {inside.mean():.3f}; datasets per cell {table.datasets.min()}-{table.datasets.max()}")


if __name__ == "__main__":
    main()
