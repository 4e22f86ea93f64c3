"""Dependence that correlated columns repeat: does the model add it up?

One column x correlated r with y1 and y2, which correlate 0.9 with each other (exact MI from the
covariance), n = 500, 6 draws at each r in 0.3, 0.5, 0.7; and Gaussians with a random covariance
(mist.distributions.beyond.sample_random_gaussian), n in {100, 500}, 2, 4 and 8 columns a side,
8 draws each. Prints MSE and mean error (nats) of mist.estimate_many.

    python benchmarks/redundant_columns.py [--model default]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

import mist
from mist.distributions.beyond import sample_random_gaussian
from mist.errors import MistWarning


def gaussian_mi(cov: np.ndarray, dim_x: int) -> float:
    logdet = lambda m: np.linalg.slogdet(m)[1]  # noqa: E731
    return 0.5 * (logdet(cov[:dim_x, :dim_x]) + logdet(cov[dim_x:, dim_x:]) - logdet(cov))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="default")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    cases: dict[str, list] = {}
    for r in (0.3, 0.5, 0.7):
        cov = np.array([[1, r, r], [r, 1, 0.9], [r, 0.9, 1]])
        for _ in range(6):
            s = rng.multivariate_normal(np.zeros(3), cov, size=500)
            cases.setdefault("x with y1, y2 correlated 0.9", []).append((s[:, :1], s[:, 1:], gaussian_mi(cov, 1)))
    for n in (100, 500):
        for d in (2, 4, 8):
            for _ in range(8):
                s = sample_random_gaussian(n, d, d, rng)
                cases.setdefault(f"random covariance, {d} a side", []).append((s.x, s.y, s.mi))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MistWarning)
        for name, data in cases.items():
            est = np.array([r.estimate for r in mist.estimate_many([(x, y) for x, y, _ in data], model=args.model)])
            truth = np.array([mi for _, _, mi in data])
            print(f"{name:32s} MSE {np.mean((est - truth) ** 2):.4f}  mean error {np.mean(est - truth):+.3f}  "
                  f"(mean MI {truth.mean():.2f}, {len(data)} datasets)")


if __name__ == "__main__":
    main()
