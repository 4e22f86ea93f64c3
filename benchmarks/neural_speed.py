"""Seconds per estimate of every estimator at n = 500, dim_x = dim_y = 8 on this machine.

Neural estimators use their defaults (separable critic, 256 units, early stopping, 60 s budget);
KSG (k=5), copula CCA and the learned estimator (``mist.estimate``) run on the same datasets in
the same run. Prints seconds per estimate, the ratio to mist, and the absolute error.

    python benchmarks/neural_speed.py [--datasets 3] [--model default]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import mist
from mist.distributions import sample_datasets
from mist.errors import MistWarning
from mist.estimators import BASELINES


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=3)
    parser.add_argument("--model", default="default")
    args = parser.parse_args()
    batch = sample_datasets("multi_normal-sparse-base", 500, 8, 8, args.datasets, seed=0)
    data = [(batch.x[i].numpy().astype(np.float64), batch.y[i].numpy().astype(np.float64), batch.mi[i].item())
            for i in range(args.datasets)]
    rows = []
    runners = {"mist": lambda x, y: mist.estimate(x, y, model=args.model).estimate}
    runners.update({name: BASELINES[name]().estimate for name in BASELINES})
    mist.estimate(data[0][0], data[0][1], model=args.model)  # load the model once
    for name, fn in runners.items():
        times, errors = [], []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MistWarning)
            for x, y, mi in data:
                t = time.perf_counter()
                value = fn(x, y)
                times.append(time.perf_counter() - t)
                errors.append(abs(value - mi))
        rows.append((name, float(np.mean(times)), float(np.mean(errors))))
    base = rows[0][1]
    print(f"n=500, dim_x=dim_y=8, {args.datasets} datasets (multi_normal-sparse-base)")
    print(f"{'estimator':<11} {'s/estimate':>11} {'x mist':>9} {'mean |error| (nats)':>20}")
    for name, t, err in rows:
        print(f"{name:<11} {t:>11.4f} {t / base:>9.0f} {err:>20.3f}")


if __name__ == "__main__":
    main()
