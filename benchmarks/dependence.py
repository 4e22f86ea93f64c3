"""Every target of "one estimator that sees every kind of dependence", in one run.

1. Relations (``mist.distributions.relations``, functions from banks of other seeds than
   training's): held-out draws of the training relations, the held-out relations and maps (never
   trained on) and the named functions (x^2, sin 3x, |x|, cos 2x, x tanh 3x), n = 50 / 200 /
   1,000, 1-16 columns a side: MSE of the model and of KSG (k = 5, on normal scores), their ratio
   (target <= 0.5 at every n) and the 90% interval's coverage (target 0.85-0.95).
2. The paper's IMD and OoMD grids (seed 0, as ``benchmarks/learned_estimator.py``): MSE of what
   ``estimate_many`` returns (targets <= 0.20 / 0.55).
3. scikit-learn's ``make_friedman1`` (5 informative of 10 features, columns shuffled, 20
   seeds): top-5 recovery when features are ranked by the model, by Gaussian-copula CCA and
   by scikit-learn's ``mutual_info_regression`` (targets >= 0.85 at n = 100, >= 0.90 at 200).
4. y = x^2 + 0.3 noise as one pair of a 40-column ``mi_matrix`` (n = 500, 10 seeds; target:
   within 0.15 nats of the exact 1.141).
5. Speed: one estimate at n = 500, 32 + 32 columns against the textbook KSG through scipy's
   cKDTree (target >= 5x), and ``mi_matrix`` over all pairs of a 40-column table against
   ``mutual_info_regression`` over the same pairs (target >= 10x).

    python benchmarks/dependence.py [--model default] [--per-cell 8] [--quick]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata

import mist
from mist.distributions import paper_grid
from mist.distributions.beyond import noisy_function_mi
from mist.distributions.relations import build_relation_banks, sample_relation_dataset
from mist.estimators import KSG, GaussianCopulaCCA

NS = (50, 200, 1000)
DIMS = (1, 2, 4, 8, 16)


def normal_scores(a: np.ndarray) -> np.ndarray:
    return ndtri((rankdata(a, axis=0) - 0.5) / a.shape[0])


def relation_sets(per_cell: int, seed: int) -> dict:
    """{split: list of (x, y, mi, n, dims a side)}; per (n, dims) cell ``per_cell`` datasets,
    dim_y = dim_x or drawn in 1..dim_x."""
    banks = build_relation_banks(np.random.default_rng(seed + 7), fourier=300, bumps=300, kinks=300)
    rng = np.random.default_rng(seed)
    sets = {}
    for split in ("train", "heldout", "named"):
        rows = []
        for n in NS:
            for d in DIMS:
                for i in range(per_cell):
                    dim_y = d if i % 2 == 0 else int(rng.integers(1, d + 1))
                    r = sample_relation_dataset(n, d, dim_y, rng, split=split, banks=banks)
                    rows.append((r.x, r.y, r.mi, n, d))
        sets[split] = rows
    return sets


def print_relations(model: str, per_cell: int, seed: int) -> dict:
    sets = relation_sets(per_cell, seed)
    ksg = KSG(k=5)
    print(f"\n1. Relations: {per_cell} datasets per (n, columns a side), columns a side in {DIMS}; "
          "MSE in nats^2; KSG k=5 on normal scores")
    print(f"{'split':>8} {'n':>5} {'mean MI':>8} {'model MSE':>10} {'KSG MSE':>9} {'ratio':>6} {'90% held':>9}")
    figures = {}
    for split, rows in sets.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = mist.estimate_many([(x, y) for x, y, *_ in rows], model=model, progress=False)
        est = np.array([r.estimate for r in results])
        low = np.array([r.low for r in results])
        high = np.array([r.high for r in results])
        mi = np.array([r[2] for r in rows])
        ns = np.array([r[3] for r in rows])
        dims = np.array([r[4] for r in rows])
        k = np.array([ksg.estimate(normal_scores(x), normal_scores(y)) for x, y, *_ in rows])
        for n in NS:
            m = ns == n
            model_mse, ksg_mse = np.mean((est[m] - mi[m]) ** 2), np.mean((k[m] - mi[m]) ** 2)
            held = np.mean((low[m] <= mi[m]) & (mi[m] <= high[m]))
            print(f"{split:>8} {n:>5} {mi[m].mean():>8.3f} {model_mse:>10.4f} {ksg_mse:>9.4f} "
                  f"{model_mse / ksg_mse:>6.2f} {held:>9.2f}")
            figures[f"{split}/n={n}"] = {"datasets": int(m.sum()), "mse": float(model_mse), "ksg_mse": float(ksg_mse),
                                         "held90": float(held)}
        by_dims = "  ".join(f"{d}: {np.mean((est[dims == d] - mi[dims == d]) ** 2):.3f} / "
                            f"{np.mean((k[dims == d] - mi[dims == d]) ** 2):.3f}" for d in DIMS)
        print(f"{'':>8} by columns a side, model / KSG MSE: {by_dims}")
    return figures


def print_paper_grids(model: str) -> dict:
    print("\n2. Paper grids (seed 0, 9 repeats): MSE of estimate_many")
    figures = {}
    for split in ("imd", "oomd"):
        grid = paper_grid(split, seed=0, repeats=9)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = mist.estimate_many(list(zip(grid.xs, grid.ys)), model=model, progress=False)
        est = np.array([r.estimate for r in results])
        held = np.mean([(r.low <= m <= r.high) for r, m in zip(results, grid.mi)])
        print(f"   {split.upper():>4}: MSE {np.mean((est - grid.mi) ** 2):.3f}, 90% held {held:.3f} ({len(grid)} datasets)")
        figures[split] = {"mse": float(np.mean((est - grid.mi) ** 2)), "held90": float(held)}
    return figures


def print_friedman(model: str, seeds: int) -> dict:
    from sklearn.datasets import make_friedman1
    from sklearn.feature_selection import mutual_info_regression

    cca = GaussianCopulaCCA()
    print(f"\n3. make_friedman1 (10 features, 5 informative, noise 1, columns shuffled, {seeds} seeds): "
          "top-5 recovery")
    print(f"{'n':>5} {'model':>7} {'copula CCA':>11} {'sklearn MI':>11}")
    figures = {}
    for n in (50, 100, 200):
        scores = {"model": [], "cca": [], "sklearn": []}
        for seed in range(seeds):
            X, y = make_friedman1(n_samples=n, n_features=10, noise=1.0, random_state=seed)
            perm = np.random.default_rng(seed).permutation(10)
            X = X[:, perm]
            informative = set(np.flatnonzero(perm < 5))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ranked = {
                    "model": [r.estimate for r in mist.estimate_many([(X[:, j], y) for j in range(10)], model=model,
                                                                     progress=False)],
                    "cca": [cca.estimate(X[:, [j]], y[:, None]) for j in range(10)],
                    "sklearn": mutual_info_regression(X, y, random_state=seed),
                }
            for name, s in ranked.items():
                scores[name].append(len(informative & set(np.argsort(s)[-5:])) / 5)
        print(f"{n:>5} {np.mean(scores['model']):>7.2f} {np.mean(scores['cca']):>11.2f} {np.mean(scores['sklearn']):>11.2f}")
        figures[f"n={n}"] = {name: float(np.mean(v)) for name, v in scores.items()}
    return figures


def print_wide_matrix(model: str, seeds: int) -> dict:
    exact = noisy_function_mi(np.square, 0.3)
    values = []
    for seed in range(seeds):
        rng = np.random.default_rng(100 + seed)
        table = rng.normal(size=(500, 40))
        table[:, 1] = table[:, 0] ** 2 + 0.3 * rng.normal(size=500)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values.append(float(mist.mi_matrix(table, model=model).to_numpy()[0, 1]))
    values = np.array(values)
    print(f"\n4. y = x^2 + 0.3 noise in a 40-column mi_matrix (n = 500, {seeds} seeds): exact {exact:.3f}, "
          f"mean {values.mean():.3f}, largest error {np.abs(values - exact).max():.3f}")
    return {"exact": float(exact), "mean": float(values.mean()), "largest_error": float(np.abs(values - exact).max())}


def print_speed(model: str) -> dict:
    from sklearn.feature_selection import mutual_info_regression

    rng = np.random.default_rng(5)
    x = rng.normal(size=(500, 32))
    y = x + rng.normal(size=(500, 32))
    textbook = KSG(k=5, algorithm="kdtree")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mist.estimate(x, y, model=model)
        t_model = _median(lambda: mist.estimate(x, y, model=model), 7)
    t_ksg = _median(lambda: textbook.estimate(x, y), 3)
    table = rng.normal(size=(500, 40))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mist.mi_matrix(table[:, :4], model=model)
        t_matrix = _median(lambda: mist.mi_matrix(table, model=model), 3)
    t_sklearn = _median(lambda: [mutual_info_regression(table[:, j + 1:], table[:, j], random_state=0)
                                 for j in range(39)], 1)
    print(f"\n5. Speed: estimate n = 500, 32 + 32: {t_model * 1e3:.1f} ms, textbook cKDTree KSG {t_ksg * 1e3:.1f} ms "
          f"({t_ksg / t_model:.1f}x); mi_matrix of 40 columns (780 pairs): {t_matrix:.2f} s, "
          f"mutual_info_regression over the pairs {t_sklearn:.2f} s ({t_sklearn / t_matrix:.1f}x)")
    return {"estimate_ms": t_model * 1e3, "textbook_ksg_ms": t_ksg * 1e3, "mi_matrix_s": t_matrix,
            "mutual_info_regression_s": t_sklearn}


def _median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="default")
    parser.add_argument("--per-cell", type=int, default=8, help="datasets per (split, n, columns a side)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--quick", action="store_true", help="relations only, 4 per cell, no paper grids")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    print(f"model: {args.model}")
    report = {"command": "python benchmarks/dependence.py" + ("" if args.per_cell == 8 else f" --per-cell {args.per_cell}"),
              "relations": print_relations(args.model, 4 if args.quick else args.per_cell, args.seed)}
    if not args.quick:
        report |= {"paper_grids": print_paper_grids(args.model), "friedman1_top5": print_friedman(args.model, 20),
                   "square_pair_in_40_columns": print_wide_matrix(args.model, 10), "speed": print_speed(args.model)}
    if args.json:
        import json

        with open(args.json, "w") as out:
            json.dump(report, out, indent=1)


if __name__ == "__main__":
    main()
