"""Accuracy on distributions outside every training base (mist.distributions.beyond).

For each case, n in {100, 500} and dim_x = dim_y = d in {2, 8}, draws --repeats datasets and
prints MSE and mean signed error (nats) of MIST, KSG and copula CCA, next to the same base
family untransformed (in the training set) as the reference, and how often MIST's 90% interval
holds the true MI.

    python benchmarks/out_of_family.py [--repeats 10] [--model default]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

import mist
from mist.distributions import sample_datasets
from mist.distributions.beyond import flip_middle, rotate, sample_gaussian_mixture, sample_random_gaussian
from mist.errors import MistWarning
from mist.estimators import KSG, GaussianCopulaCCA


def draw(case: str, n: int, d: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    seed = int(rng.integers(2**31))
    if case == "gaussian mixture (3 components)":
        s = sample_gaussian_mixture(n, d, d, rng)
        return s.x, s.y, s.mi
    if case == "gaussian, random covariance":
        s = sample_random_gaussian(n, d, d, rng)
        return s.x, s.y, s.mi
    base, change = case.split(" + ") if " + " in case else (case, None)
    b = sample_datasets(base, n, d, d, 1, seed=seed)
    x, y, mi = b.x[0].double().numpy(), b.y[0].double().numpy(), float(b.mi[0])
    if change == "rotation":
        x, y = rotate(x, y, rng)
    elif change == "flip middle":
        x, y = flip_middle(x), flip_middle(y)
    return x, y, mi


CASES = [
    "multi_student-sparse-base",  # reference: a training family
    "multi_student-sparse-base + rotation",
    "multi_additive_noise-base + rotation",
    "multi_normal-dense-base + flip middle",
    "multi_student-dense-base + flip middle",
    "gaussian mixture (3 components)",
    "gaussian, random covariance",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--model", default="default")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    ksg, copula = KSG(k=5), GaussianCopulaCCA()
    rows = []
    t0 = time.perf_counter()
    for case in CASES:
        for n in (100, 500):
            for d in (2, 8):
                data = [draw(case, n, d, rng) for _ in range(args.repeats)]
                truth = np.array([mi for _, _, mi in data])
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", MistWarning)
                    results = mist.estimate_many([(x, y) for x, y, _ in data], model=args.model)
                    covered = np.mean([r.low <= t <= r.high for r, t in zip(results, truth)])
                    found = {
                        "MIST": np.array([r.estimate for r in results]),
                        "KSG": np.array([ksg.estimate(x, y) for x, y, _ in data]),
                        "copula-CCA": np.array([copula.estimate(x, y) for x, y, _ in data]),
                    }
                for name, est in found.items():
                    rows.append({"case": case, "n": n, "d": d, "estimator": name, "mean_true_mi": truth.mean(),
                                 "mse": float(np.mean((est - truth) ** 2)), "bias": float(np.mean(est - truth)),
                                 "coverage": covered if name == "MIST" else np.nan})
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    summary = table.pivot_table(index="case", columns="estimator", values=["mse", "bias"], aggfunc="mean")
    print(f"{args.repeats} datasets per (case, n, d); n in (100, 500); d in (2, 8); MI in nats\n")
    print(table.pivot_table(index=["case", "n", "d"], columns="estimator", values="mse").round(3).to_string())
    print("\nmean over n and d:")
    print(summary.round(3).to_string())
    mist_rows = table[table.estimator == "MIST"]
    print("\nshare of true MI inside MIST's 90% interval, mean over n and d:")
    print(mist_rows.groupby("case")["coverage"].mean().round(3).to_string())
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
