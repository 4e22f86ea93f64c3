"""Sample counts above the training range (n > 500): subsets averaging against one direct pass.

Held-out draws from the training families (not the test grids), dim_x = dim_y = d: MSE against
the exact MI of ``mist.estimate(..., large_n="subsets")`` and ``large_n="direct"``, with KSG
for reference, and the peak memory of one estimate at n = 100,000.

    python benchmarks/large_n.py [--model default] [--datasets 48]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

import mist
from mist.distributions import TRAIN, sample_datasets
from mist.estimators import KSG


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="default")
    parser.add_argument("--datasets", type=int, default=48)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    print(f"{'n':>6} {'d':>3} {'subsets MSE':>12} {'direct MSE':>11} {'KSG MSE':>8} {'mean MI':>8}")
    for n in (500, 2000, 10000):
        for d in (2, 8, 16):
            err = {"subsets": [], "direct": [], "ksg": []}
            truth = []
            for i in range(args.datasets):
                fam = TRAIN[int(rng.integers(len(TRAIN)))]
                b = sample_datasets(fam, n, d, d, 1, seed=int(rng.integers(1 << 31)))
                x, y, mi = b.x[0].numpy(), b.y[0].numpy(), b.mi.item()
                truth.append(mi)
                for mode in ("subsets", "direct"):
                    err[mode].append((mist.estimate(x, y, model=args.model, large_n=mode).estimate - mi) ** 2)
                if n <= 2000:
                    err["ksg"].append((KSG().estimate(x, y) - mi) ** 2)
            ksg = f"{np.mean(err['ksg']):>8.3f}" if err["ksg"] else f"{'-':>8}"
            print(f"{n:>6} {d:>3} {np.mean(err['subsets']):>12.3f} {np.mean(err['direct']):>11.3f} {ksg} {np.mean(truth):>8.2f}", flush=True)
    b = sample_datasets("multi_normal-dense-base", 100_000, 16, 16, 1, seed=0)
    x, y = b.x[0].numpy(), b.y[0].numpy()
    for mode in ("subsets", "direct"):
        t = time.perf_counter()
        r = mist.estimate(x, y, model=args.model, large_n=mode)
        print(f"n=100,000 d=16 {mode}: {time.perf_counter() - t:.2f} s, estimate {r.estimate:.3f} (exact {b.mi.item():.3f}), "
              f"peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
