"""Throughput of mi_matrix on wide tables: one process against a Dask LocalCluster, and the
per-pair cost of scikit-learn's mutual_info_regression.

For each width (columns of n = 500 Gaussian rows), prints pairs per second of
``mist.mi_matrix(table)`` in this process and of ``mist.mi_matrix(table, scheduler=client)`` on a
LocalCluster of --workers single-threaded worker processes (started before the clock; each
worker loads the model on its first task, inside the timing), the speed-up, and the workers'
memory. scikit-learn's ``mutual_info_regression`` is timed on a sample of --sklearn-pairs pairs
(all pairs would take hours) and reported per pair. Then the same table from a Parquet file
read by the workers in column blocks, its pairs above --threshold nats written to Parquet as the
tasks finish (``mist.write_mi_pairs``): pairs per second and how much the client's resident
memory grew.

    python benchmarks/dask_matrix.py [--widths 200,1000] [--workers 2] [--rows 500]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import mist


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--widths", default="200,1000")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--sklearn-pairs", type=int, default=200)
    parser.add_argument("--threshold", type=float, default=0.05)
    args = parser.parse_args()
    import tempfile
    from pathlib import Path

    import psutil

    from distributed import Client, LocalCluster
    from sklearn.feature_selection import mutual_info_regression

    rng = np.random.default_rng(0)
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        for width in (int(w) for w in args.widths.split(",")):
            table = pd.DataFrame(rng.normal(size=(args.rows, width)))
            pairs = width * (width - 1) // 2
            start = time.perf_counter()
            single = mist.mi_matrix(table)
            t_single = time.perf_counter() - start
            start = time.perf_counter()
            spread = mist.mi_matrix(table, scheduler=client)
            t_dask = time.perf_counter() - start
            same = np.array_equal(single.to_numpy(), spread.to_numpy(), equal_nan=True)
            memory = [w["metrics"]["memory"] / 2**20 for w in client.scheduler_info()["workers"].values()]
            sample = rng.choice(width, size=(args.sklearn_pairs, 2))
            values = table.to_numpy()
            start = time.perf_counter()
            for i, j in sample:
                mutual_info_regression(values[:, [i]], values[:, j], random_state=0)
            t_sklearn = (time.perf_counter() - start) / args.sklearn_pairs
            print(f"{width} columns ({pairs} pairs, n = {args.rows}): one process {pairs / t_single:,.0f} pairs/s; "
                  f"LocalCluster of {args.workers} {pairs / t_dask:,.0f} pairs/s ({t_single / t_dask:.2f}x; same "
                  f"matrix: {same}; worker memory {', '.join(f'{m:.0f}' for m in memory)} MiB); "
                  f"mutual_info_regression {1 / t_sklearn:,.0f} pairs/s ({t_sklearn * pairs / t_dask:.0f}x slower "
                  f"than the cluster)")
            with tempfile.TemporaryDirectory() as folder:
                source, target = Path(folder) / "table.parquet", Path(folder) / "pairs.parquet"
                table.columns = [str(c) for c in table.columns]
                table.to_parquet(source)
                expected = int((single.to_numpy()[np.triu_indices(width, k=1)] >= args.threshold).sum())
                del table, single, spread, values
                rss = psutil.Process().memory_info().rss
                start = time.perf_counter()
                written = mist.write_mi_pairs(source, target, scheduler=client, min_estimate=args.threshold,
                                              progress=False)
                t_file = time.perf_counter() - start
                grown = (psutil.Process().memory_info().rss - rss) / 2**20
            print(f"  from Parquet to Parquet (pairs >= {args.threshold} nats): {pairs / t_file:,.0f} pairs/s "
                  f"({written.pairs} pairs written, {expected} in the matrix); client memory grew {grown:.0f} MiB")


if __name__ == "__main__":
    main()
