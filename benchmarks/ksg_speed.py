"""KSG time per estimate: mist's KSG against a brute-force all-pairs KSG and scikit-learn.

Prints seconds per estimate and ratios, all measured in this run, at n = 100, 500, 5,000 and
dim_x = dim_y = 1, 8, 32 (data: multi_normal-dense-base). scikit-learn's
mutual_info_regression (its own KSG with neighbour counting) only handles a 1-D x and y here.

    python benchmarks/ksg_speed.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.special import digamma

from mist.distributions import sample_datasets
from mist.estimators import KSG


def brute_force_ksg(x: np.ndarray, y: np.ndarray, k: int = 5) -> float:
    """All-pairs KSG: for each row, max-norm distances to every row, full sort (numpy per row)."""
    x = (x - x.mean(0)) / x.std(0)
    y = (y - y.mean(0)) / y.std(0)
    n = len(x)
    total = 0.0
    for i in range(n):
        dx = np.abs(x - x[i]).max(1)
        dy = np.abs(y - y[i]).max(1)
        dz = np.maximum(dx, dy)
        eps = np.sort(dz)[k]  # index 0 is the row itself
        total += digamma((dx < eps).sum()) + digamma((dy < eps).sum())  # counts include the row: n_x + 1
    return float(digamma(k) + digamma(n) - total / n)


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip n = 5,000")
    args = parser.parse_args()
    ns = (100, 500) if args.quick else (100, 500, 5000)
    try:
        from sklearn.feature_selection import mutual_info_regression
    except ImportError:  # pragma: no cover
        mutual_info_regression = None
    print(f"{'n':>6} {'d':>3} {'mist ksg (s)':>13} {'brute (s)':>10} {'brute/mist':>10} {'sklearn (s)':>12} {'sklearn/mist':>12}  algorithm")
    for n in ns:
        for d in (1, 8, 32):
            b = sample_datasets("multi_normal-dense-base", n, d, d, 1, seed=0)
            x, y = b.x[0].numpy().astype(np.float64), b.y[0].numpy().astype(np.float64)
            repeat = 5 if n <= 500 else 2
            ksg = KSG(k=5)
            t_mist = best_time(lambda: ksg.estimate(x, y), repeat)
            mine, ref = ksg.estimate(x, y), brute_force_ksg(x, y)
            assert abs(mine - ref) < 1e-8, (mine, ref)
            t_brute = best_time(lambda: brute_force_ksg(x, y), 1 if n > 500 else 2)
            line = f"{n:>6} {d:>3} {t_mist:>13.5f} {t_brute:>10.4f} {t_brute / t_mist:>10.1f}"
            if d == 1 and mutual_info_regression is not None:
                t_sk = best_time(lambda: mutual_info_regression(x, y[:, 0], n_neighbors=5, random_state=0), repeat)
                line += f" {t_sk:>12.5f} {t_sk / t_mist:>12.1f}"
            else:
                line += f" {'-':>12} {'-':>12}"
            algorithm = "kdtree" if 2 * d <= 6 else "dense"
            print(line + f"  {algorithm}", flush=True)


if __name__ == "__main__":
    main()
