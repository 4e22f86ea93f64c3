"""Latency of ``mist.estimate`` against mist's KSG, and throughput of ``estimate_many``.

Prints milliseconds per estimate at n = 100, 500, 2,000 and dim_x = dim_y = 1, 8, 32 on this
machine, for mist (one call, batch of one), the same forward pass through the PyTorch module
(``backend="torch"``, what ``estimate`` ran before the NumPy path) and KSG (k=5) on the same
data, with the ratio KSG / mist (the issue's target: 10x at n = 500, d = 32), and, for context,
the same KSG through scipy's cKDTree alone (the textbook implementation, as in NPEET); then datasets/s of ``estimate_many`` on 1,000 datasets of
n = 200, d = 4; then ``predict_many``'s two CPU backends on batches of several sizes (what
"auto" chooses between); then the wall time of fresh processes: a first estimate, `mist demo`,
and importing torch alone (what a CPU estimate no longer waits for).

Each row's three timings are taken in turn within each round (median over rounds), so their
ratios hold on a machine whose speed drifts.

    python benchmarks/api_speed.py [--model default]
    python benchmarks/api_speed.py --stages           # what each stage of one n = 500, d = 32 pass costs
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time

import numpy as np
import torch

import mist
from mist.distributions import sample_datasets
from mist.estimators import KSG
from mist.estimation import row_subsets
from mist.model.inference import predict_many
from mist.range_checks import max_rows


def median_times(fns, repeat: int) -> list[float]:
    """Median seconds per call of each of ``fns``, timed in turn within each round, so that
    this shared machine's slow spells fall on all of them alike and their ratios hold."""
    for fn in fns:
        fn()  # warm-up
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, spent in zip(fns, times):
            t = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - t)
    return [float(np.median(spent)) for spent in times]


def print_stages(engine) -> None:
    """Median microseconds of each building block of one NumPy pass at n = 500, d = 32, each
    timed alone on the shapes that pass gives it (so warm in cache: their sum undercounts)."""
    from mist.estimation import prepare_inputs
    from mist.model import numpy_forward as nf
    from mist.model.lags import pair_lag_statistics

    b = sample_datasets("multi_normal-sparse-base", 500, 32, 32, 1, seed=0)
    x, y = b.x.numpy().astype(np.float64), b.y.numpy().astype(np.float64)
    columns = np.ascontiguousarray(np.concatenate([x, y], axis=-1).transpose(0, 2, 1), dtype=np.float32)
    z = nf.column_normal_scores(columns)
    both = np.concatenate([z, z * z - 1.0])
    width = engine.config.stats_width
    c = np.random.default_rng(0).normal(size=(1, 64, width)).astype(np.float32)
    blocks = engine.config.column_blocks
    with nf.OneBlasThread():
        stages = {
            "validation (prepare_inputs)": (lambda: prepare_inputs(x[0], y[0]), 1),
            "normal scores (sort)": (lambda: nf.column_normal_scores(columns), 1),
            "copula summary": (lambda: nf.copula_summary(both, 32), 1),
            "pair lags": (lambda: pair_lag_statistics(columns, 32), 1),
            f"column attention x{blocks}": (lambda: engine._column_attention(c, 32, "stats.column_attention.0"), blocks),
            "whole NumPy pass": (lambda: engine._forward(x, y, [0.05, 0.5, 0.95]), 1),
        }
        print(f"{'stage':<28} {'us':>8}")
        for name, (fn, times) in stages.items():
            print(f"{name:<28} {median_times([fn], 200)[0] * 1e6 * times:>8.0f}")


def print_matrix_speed(model: str, columns: int = 200, n: int = 500) -> None:
    """mi_matrix of a table (each column ranked once, pair statistics from matrix products)
    against estimate_many over the same column pairs (a pass per pair, what mi_matrix did)."""
    import warnings

    values = np.random.default_rng(3).normal(size=(n, columns))
    values[:, 1::2] += values[:, ::2]
    first, second = np.triu_indices(columns, k=1)
    t = time.perf_counter()
    matrix = mist.mi_matrix(values, model=model).to_numpy()
    t_matrix = time.perf_counter() - t
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pairs = mist.estimate_many([(values[:, i], values[:, j]) for i, j in zip(first, second)], model=model,
                                   progress=False)
    t_pairs = time.perf_counter() - t
    gap = np.abs(matrix[first, second] - np.array([r.estimate for r in pairs])).max()
    print(f"mi_matrix, {columns} columns x {n} rows ({len(first):,} pairs): {t_matrix:.2f} s; estimate_many over the "
          f"pairs: {t_pairs:.2f} s ({t_pairs / t_matrix:.0f}x); largest difference {gap:.1e} nats")


def print_startup(repeat: int = 3) -> None:
    """Median wall seconds of fresh processes (imports included), as a user or the CLI meets them."""
    estimate = ("import numpy as np, mist; x = np.random.default_rng(0).normal(size=(500, 8)); "
                "mist.estimate(x, x + np.random.default_rng(1).normal(size=(500, 8)))")
    commands = {"first mist.estimate (python -c)": [sys.executable, "-c", estimate],
                "mist demo": [shutil.which("mist") or "mist", "demo"],
                "import torch (reference)": [sys.executable, "-c", "import torch"]}
    print(f"\n{'fresh process':<34} {'s':>6}")
    for name, command in commands.items():
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times.append(time.perf_counter() - t)
        print(f"{name:<34} {np.median(times):>6.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="default")
    parser.add_argument("--startup", action="store_true", help="only print the fresh-process timings")
    parser.add_argument("--stages", action="store_true",
                        help="only print what each stage of one n=500, d=32 NumPy pass costs")
    args = parser.parse_args()
    if args.stages:
        from mist.weights import load_predictor

        return print_stages(load_predictor(args.model))
    if args.startup:
        return print_startup()
    print(f"torch threads: {torch.get_num_threads()}")
    print("mist: one mist.estimate call")
    print("KSG: mist's KSG (k=5, its fastest algorithm for the shape: the target's baseline); kd-tree KSG: the same "
          "estimator through scipy's cKDTree alone, the textbook implementation (NPEET's), for context")
    print(f"{'n':>6} {'d':>3} {'mist (ms)':>10} {'torch fwd (ms)':>15} {'KSG (ms)':>9} {'KSG/mist':>9} "
          f"{'kd-tree KSG (ms)':>17} {'kd-tree/mist':>13}")
    ksg, kdtree = KSG(k=5), KSG(k=5, algorithm="kdtree")
    network = mist.load_model(args.model)
    for n in (100, 500, 2000):
        for d in (1, 8, 32):
            b = sample_datasets("multi_normal-sparse-base", n, d, d, 1, seed=0)
            x, y = b.x[0].numpy().astype(np.float64), b.y[0].numpy().astype(np.float64)
            parts = [rows for rows in row_subsets(x, y, max_rows=max_rows(network.card))]  # as estimate splits them
            t_mist, t_torch, t_ksg, t_tree = median_times([
                lambda: mist.estimate(x, y, model=args.model),
                lambda: predict_many(network, [x[r] for r in parts], [y[r] for r in parts], [0.05, 0.5, 0.95],
                                     backend="torch"),
                lambda: ksg.estimate(x, y),
                lambda: kdtree.estimate(x, y)], 5 if n > 500 else 15)
            print(f"{n:>6} {d:>3} {t_mist * 1e3:>10.2f} {t_torch * 1e3:>15.2f} {t_ksg * 1e3:>9.2f} "
                  f"{t_ksg / t_mist:>9.1f} {t_tree * 1e3:>17.2f} {t_tree / t_mist:>13.1f}",
                  flush=True)
    batch = sample_datasets("multi_normal-dense-base", 200, 4, 4, 1000, seed=1)
    pairs = [(batch.x[i].numpy(), batch.y[i].numpy()) for i in range(1000)]
    mist.estimate_many(pairs[:10], model=args.model)
    t = time.perf_counter()
    mist.estimate_many(pairs, model=args.model, progress=False)
    elapsed = time.perf_counter() - t
    t = time.perf_counter()
    for x, y in pairs[:100]:
        ksg.estimate(x, y)
    ksg_rate = 100 / (time.perf_counter() - t)
    print(f"estimate_many: {1000 / elapsed:.0f} datasets/s (1,000 datasets, n=200, d=4); KSG one by one: {ksg_rate:.0f} datasets/s")
    print_matrix_speed(args.model)
    print(f"\npredict_many backends\n{'datasets':>8} {'n':>5} {'d':>3} {'numpy (ms)':>11} {'torch (ms)':>11}")
    for count, n, d in [(1, 500, 32), (20, 500, 32), (200, 50, 1), (1000, 200, 4)]:
        b = sample_datasets("multi_normal-sparse-base", n, d, d, count, seed=2)
        xs, ys = list(b.x.numpy()), list(b.y.numpy())
        t_numpy, t_torch = median_times([lambda backend=backend: predict_many(network, xs, ys, [0.05, 0.5, 0.95],
                                                                               backend=backend)
                                         for backend in ("numpy", "torch")], 5)
        print(f"{count:>8} {n:>5} {d:>3} {t_numpy * 1e3:>11.1f} {t_torch * 1e3:>11.1f}", flush=True)
    print_startup()


if __name__ == "__main__":
    main()
