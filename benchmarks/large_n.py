"""Sample counts above the trained rows (500 for mist-tiny-gpu, 1,000 for mist-pairs): subsets averaging against one direct pass.

Held-out draws from the training families (not the test grids), dim_x = dim_y = d: MSE against
the exact MI of ``mist.estimate(..., large_n="subsets")`` and ``large_n="direct"``, with KSG
for reference, and the peak memory of one estimate at n = 100,000.

With ``--intervals``, only the intervals of subset averages: on fresh training-family data
(``large_n_set`` with a seed other than the one rho was fitted on), the 90% interval's coverage,
median width and the mean pinball loss at taus 0.05-0.95, per n, for the subset's own interval
(rho = 1, what mist gave before) and for the model's fitted shared fraction rho.

    python benchmarks/large_n.py [--model default] [--datasets 48]
    python benchmarks/large_n.py --intervals [--model default] [--seed 1] [--datasets 100]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

import mist
from mist.distributions import TRAIN, sample_datasets
from mist.estimators import KSG


def print_intervals(model: str, seed: int, per_value: int) -> None:
    from mist.estimation import row_subsets
    from mist.range_checks import max_rows
    from mist.model.calibration import (LARGE_N_SEED, LARGE_N_VALUES, SUBSET_FIT_TAUS, combine_subset_quantiles,
                                        large_n_set, pinball_loss, shared_fraction, subset_quantiles)
    from mist.weights import load_predictor

    if seed == LARGE_N_SEED:
        raise SystemExit(f"seed {seed} is the one rho was fitted on; pick another")
    network = load_predictor(model)
    rho = shared_fraction(network.card)
    print(f"model {network.card.get('name')}: fitted shared fraction rho = {rho}; data: large_n_set(seed={seed})")
    print(f"{'n':>6} {'subsets':>8} {'rho':>5} {'coverage 90%':>13} {'median width':>13} {'pinball':>8}")
    taus = list(SUBSET_FIT_TAUS)
    for n in LARGE_N_VALUES:
        data = large_n_set(seed=seed, per_value=per_value, n_values=(n,))
        per_subset = subset_quantiles(network, data, lambda x, y: row_subsets(x, y, max_rows=max_rows(network.card)),
                                      taus)
        truth = np.array([mi for _, _, mi in data])
        for label, value in (("1", 1.0), (f"{rho:.2f}", rho)) if rho is not None else (("1", 1.0),):
            q = np.stack([combine_subset_quantiles(p, taus.index(0.5), value) for p in per_subset])
            low, high = q[:, taus.index(0.05)], q[:, taus.index(0.95)]
            print(f"{n:>6} {len(per_subset[0]):>8} {label:>5} {np.mean((low <= truth) & (truth <= high)):>13.3f} "
                  f"{np.median(high - low):>13.3f} {pinball_loss(truth, q, taus):>8.4f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="default")
    parser.add_argument("--datasets", type=int, default=48)
    parser.add_argument("--intervals", action="store_true", help="only the subset-average intervals")
    parser.add_argument("--seed", type=int, default=1, help="seed of --intervals' data")
    args = parser.parse_args()
    if args.intervals:
        return print_intervals(args.model, args.seed, 100 if args.datasets == 48 else args.datasets)
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
