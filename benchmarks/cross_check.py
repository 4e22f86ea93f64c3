"""The model-free cross-check of ``mist.estimate`` (``check=True``): how often it warns.

On fresh training-family data (where the model is right, so a warning is a false alarm) and on
dependence the model was not trained on: y = f(x) + noise for non-monotone f (x^2, sin 3x,
|x|), 3-component Gaussian mixtures, and a non-monotone bijection of a Gaussian pair (flip the
middle of x). Datasets with at most 2 columns a side and n in {100, 200, 500, 1000}; for the
last two kinds the true MI is known, and the table also gives how often the interval held it,
and how often it held it or a warning was raised. Then the cost of the check per call.

    python benchmarks/cross_check.py [--datasets 60] [--seed 7]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import mist
from mist.distributions import TRAIN, sample_datasets
from mist.distributions.beyond import flip_middle, sample_gaussian_mixture
from mist.errors import MistError, MistWarning


def draw(kind: str, rng: np.random.Generator):
    """(x, y, true MI or NaN) of one dataset of ``kind``."""
    n = int(rng.choice([100, 200, 500, 1000]))
    if kind == "training families":
        while True:
            family = TRAIN[int(rng.integers(len(TRAIN)))]
            try:
                b = sample_datasets(family, n, int(rng.integers(1, 3)), int(rng.integers(1, 3)), 1,
                                    seed=int(rng.integers(1 << 31)))
            except MistError:  # the family needs other dimensions
                continue
            return b.x[0].numpy().astype(np.float64), b.y[0].numpy().astype(np.float64), float(b.mi[0])
    x = rng.normal(size=(n, 1))
    noise = rng.uniform(0.1, 1.0) * rng.normal(size=(n, 1))
    if kind == "y = x^2 + noise":
        return x, x**2 + noise, np.nan
    if kind == "y = sin 3x + noise":
        return x, np.sin(3 * x) + noise, np.nan
    if kind == "y = |x| + noise":
        return x, np.abs(x) + noise, np.nan
    if kind == "Gaussian mixture":
        m = sample_gaussian_mixture(n, 1, 1, rng)
        return m.x, m.y, m.mi
    rho = rng.uniform(0.3, 0.95)
    y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=(n, 1))
    return flip_middle(x), y, -0.5 * np.log(1 - rho**2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=60, help="per kind (5x that of the training families)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    kinds = {"training families": 5 * args.datasets, "y = x^2 + noise": args.datasets,
             "y = sin 3x + noise": args.datasets, "y = |x| + noise": args.datasets,
             "Gaussian mixture": args.datasets, "flip middle of x": args.datasets}
    print(f"{'data':<20} {'datasets':>8} {'warned':>7} {'checked':>8} {'interval held MI':>17} {'held or warned':>15}")
    for kind, count in kinds.items():
        warned = checked = held = held_or_warned = known = 0
        for _ in range(count):
            x, y, mi = draw(kind, rng)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MistWarning)
                r = mist.estimate(x, y)
            flag = any(note.startswith("KSG, a model-free") for note in r.notes)
            warned += flag
            checked += r.cross_check is not None
            if np.isfinite(mi):
                known += 1
                inside = r.low <= mi <= r.high
                held += inside
                held_or_warned += inside or flag
        rates = (f"{held / known:>17.2f} {held_or_warned / known:>15.2f}" if known else f"{'-':>17} {'-':>15}")
        print(f"{kind:<20} {count:>8} {warned / count:>7.2f} {checked / count:>8.2f} {rates}", flush=True)
    x = rng.normal(size=(500, 1))
    y = x + rng.normal(size=(500, 1))
    for check in (False, True):
        mist.estimate(x, y, check=check)
        t = time.perf_counter()
        for _ in range(50):
            mist.estimate(x, y, check=check)
        print(f"n=500, d=1+1, check={check}: {(time.perf_counter() - t) / 50 * 1e3:.2f} ms per estimate")


if __name__ == "__main__":
    main()
