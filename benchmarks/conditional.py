"""Conditional MI and the conditional independence test, on triples with exact CMI.

Draws triples of mist.distributions.conditional: the held-out split (Student-t, collider and
chain structures, halfcube and wigglify transforms; the chain rule's spread factor is fitted on
the train split, never these), n in {100, 300, 1000}, 1-8 columns each for X, Y and Z. Prints:

- MSE (nats^2) of mist.estimate(x, y, z), of the Frenzel-Pompe KSG estimator of CMI (k = 5, on
  normal scores) and of the chain rule with KSG (model="ksg"), by n;
- how often mist's 90% interval holds the exact CMI, and, where CMI = 0 (chain structure or no
  shared latent, Gaussian), how often it holds 0;
- mist.ci_test at alpha = 0.05: false positive rate where CMI = 0 and power where CMI > 0.05,
  against a local permutation test with the Frenzel-Pompe statistic (Runge 2018: X permuted
  among rows whose Z are nearest neighbours), with its time per test.

    python benchmarks/conditional.py [--datasets 300] [--permutations 50] [--model default] [--split heldout]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy.spatial import cKDTree

import mist
from mist.distributions.conditional import sample_conditional
from mist.errors import MistWarning
from mist.estimators.cca import normal_scores
from mist.estimators.ksg import frenzel_pompe


def local_permutation_test(x, y, z, permutations: int, rng: np.random.Generator, neighbours: int = 5) -> float:
    """p-value of the Frenzel-Pompe statistic against X shuffled within Z-neighbourhoods."""
    observed = frenzel_pompe(x, y, z)
    _, near = cKDTree(z).query(z, k=neighbours, p=np.inf)
    exceed = 0
    for _ in range(permutations):
        # each row takes the X of a random one of its Z-neighbours, without repeats where possible
        order = rng.permutation(len(x))
        used = np.zeros(len(x), dtype=bool)
        swapped = np.empty(len(x), dtype=np.intp)
        for i in order:
            candidates = near[i][~used[near[i]]]
            j = candidates[rng.integers(len(candidates))] if len(candidates) else near[i][rng.integers(neighbours)]
            swapped[i] = j
            used[j] = True
        exceed += frenzel_pompe(x[swapped], y, z) >= observed
    return (exceed + 1) / (permutations + 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=300)
    parser.add_argument("--permutations", type=int, default=50)
    parser.add_argument("--tests", type=int, default=60, help="datasets the permutation test runs on (slow)")
    parser.add_argument("--model", default="default")
    parser.add_argument("--split", default="heldout")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    rows = []
    t_mist = t_fp = 0.0
    for i in range(args.datasets):
        n = int(rng.choice([100, 300, 1000]))
        d = sample_conditional(n, *(int(v) for v in rng.integers(1, 9, 3)), rng, split=args.split)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MistWarning)
            start = time.perf_counter()
            r = mist.estimate(d.x, d.y, d.z, model=args.model)
            test = mist.ci_test(d.x, d.y, d.z, model=args.model)
            t_mist += time.perf_counter() - start
            chain_ksg = mist.estimate(d.x, d.y, d.z, model="ksg").estimate
        start = time.perf_counter()
        fp = frenzel_pompe(normal_scores(d.x), normal_scores(d.y), normal_scores(d.z))
        t_fp += time.perf_counter() - start
        rows.append(dict(n=n, cmi=d.cmi, family=d.family, mist=r.estimate, low=r.low, high=r.high, fp=fp,
                         ksg=chain_ksg, p=test.pvalue, null="normal" in d.family and d.cmi < 1e-9,
                         x=d.x, y=d.y, z=d.z))
    cmi = np.array([r["cmi"] for r in rows])
    ns = np.array([r["n"] for r in rows])
    print(f"{len(rows)} triples of the {args.split!r} split, model {args.model}; MSE (nats^2):")
    print(f"{'n':>6} {'mist':>8} {'Frenzel-Pompe':>14} {'KSG chain':>10} {'ratio to FP':>12}")
    for n in (100, 300, 1000, None):
        pick = ns == n if n else np.ones(len(rows), dtype=bool)
        mse = {k: float(np.mean([(r[k] - r["cmi"]) ** 2 for r, p in zip(rows, pick) if p])) for k in ("mist", "fp", "ksg")}
        print(f"{n or 'all':>6} {mse['mist']:8.4f} {mse['fp']:14.4f} {mse['ksg']:10.4f} {mse['mist'] / mse['fp']:12.2f}")
    held = np.mean([r["low"] <= r["cmi"] + 1e-9 and r["cmi"] <= r["high"] + 1e-9 for r in rows])
    nulls = [r for r in rows if r["null"]]
    zero = np.mean([r["low"] <= 0.0 for r in nulls]) if nulls else float("nan")
    print(f"90% interval holds the exact CMI: {held:.3f}; holds 0 on the {len(nulls)} CMI = 0 triples: {zero:.3f}")
    for family in sorted({r["family"] for r in rows}):
        picked = [r for r in rows if r["family"] == family]
        print(f"  {family:32s} {len(picked):4d} MSE mist {np.mean([(r['mist'] - r['cmi']) ** 2 for r in picked]):.4f}"
              f"  FP {np.mean([(r['fp'] - r['cmi']) ** 2 for r in picked]):.4f}"
              f"  held {np.mean([r['low'] <= r['cmi'] + 1e-9 <= r['high'] + 2e-9 for r in picked]):.2f}")
    alive = [r for r in rows if r["cmi"] > 0.05]
    fpr = np.mean([r["p"] <= 0.05 for r in nulls]) if nulls else float("nan")
    power = np.mean([r["p"] <= 0.05 for r in alive])
    print(f"ci_test at alpha 0.05: false positive rate {fpr:.3f} on {len(nulls)} CI triples, power {power:.3f} on "
          f"{len(alive)} with CMI > 0.05; {1000 * t_mist / len(rows):.1f} ms per estimate + test")
    picked = (nulls[: args.tests // 2] + alive[: args.tests // 2])
    start = time.perf_counter()
    p_perm = [local_permutation_test(normal_scores(r["x"]), normal_scores(r["y"]), normal_scores(r["z"]),
                                     args.permutations, rng) for r in picked]
    t_perm = (time.perf_counter() - start) / max(1, len(picked))
    k = min(len(nulls), args.tests // 2)
    print(f"local permutation test ({args.permutations} permutations, Frenzel-Pompe): false positive rate "
          f"{np.mean([p <= 0.05 for p in p_perm[:k]]):.3f} on {k}, power {np.mean([p <= 0.05 for p in p_perm[k:]]):.3f} "
          f"on {len(picked) - k}; {1000 * t_perm:.0f} ms per test; mist on the same: false positive rate "
          f"{np.mean([r['p'] <= 0.05 for r in picked[:k]]):.3f}, power {np.mean([r['p'] <= 0.05 for r in picked[k:]]):.3f}")
    print(f"Frenzel-Pompe: {1000 * t_fp / len(rows):.1f} ms per estimate")


if __name__ == "__main__":
    main()
