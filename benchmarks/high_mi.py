"""Beyond the training range: how the learned estimator fares, and how often ``mist.estimate``
says so.

Default: the high-MI check (``mist.range_checks.HIGH_MI_Z``). Fresh datasets of the training families,
drawn with the published priors (where any warning is a false alarm) and at the edge of those
priors (the largest strength, smallest noise and largest latent loadings: still in range, the
hardest case for false alarms), then the same families past the edge (sparse and 2pair
strength above 5, additive noise below 0.1), where the MI per column pair exceeds anything the
model saw. n in {20, 50, 100, 200, 500}, 1-8 columns a side.

``--shapes``: the 90% interval's coverage and the MSE on training-family data with fewer rows
(n = 4-20) or more columns (48 and 64 a side) than the model was trained on (the figures of
``mist.range_checks.range_findings``' warnings).

    python benchmarks/high_mi.py [--datasets 400] [--seed 11] [--model default]
    python benchmarks/high_mi.py --shapes
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

import mist
from mist.range_checks import HIGH_MI_Z
from mist.distributions import DEFAULT_PRIORS, TRAIN, Priors, sample_datasets
from mist.errors import MistError, MistWarning

EDGE = Priors(strength=(4.9, 5.0), noise=(0.1, 0.11), lambd=(2.9, 3.0), alpha=(0.9, 1.0), beta=(0.0, 0.1),
              off_diag=(0.45, 0.5))
# families whose pair correlation the priors bound: sparse, 2pair (strength), additive noise (noise)
HIGH_FAMILIES = [f for f in TRAIN if any(s in f for s in ("sparse", "2pair", "additive"))]
KINDS = {
    "training families, published priors": (TRAIN, DEFAULT_PRIORS),
    "training families, edge of the priors": ([f for f in TRAIN if "dense" not in f], EDGE),
    "past the edge: strength 5-8, noise 0.06-0.1": (HIGH_FAMILIES, Priors(strength=(5.0, 8.0), noise=(0.06, 0.1))),
    "past the edge: strength 8-15, noise 0.03-0.06": (HIGH_FAMILIES, Priors(strength=(8.0, 15.0), noise=(0.03, 0.06))),
    "past the edge: strength 15-30, noise 0.01-0.03": (HIGH_FAMILIES, Priors(strength=(15.0, 30.0), noise=(0.01, 0.03))),
}


def draw(families, priors, n, dim_x, dim_y, rng):
    """(x, y, MI) of one dataset of a random family among ``families`` that takes these dims."""
    while True:
        family = families[int(rng.integers(len(families)))]
        try:
            b = sample_datasets(family, n, dim_x, dim_y, 1, seed=int(rng.integers(1 << 31)), priors=priors)
        except MistError:  # the family needs other dimensions (additive noise: dim_x = dim_y)
            dim_y = dim_x
            continue
        return b.x[0].numpy().astype(np.float64), b.y[0].numpy().astype(np.float64), float(b.mi[0])


def score(data, model):
    """Estimates of ``data`` [(x, y, mi)]: (flagged, estimate, low, high, lower bound (NaN where
    none), mi) arrays."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MistWarning)
        results = mist.estimate_many([(x, y) for x, y, _ in data], model=model, progress=False)
    flagged = np.array([any(f.kind == "beyond-range" for f in r.findings) for r in results])
    columns = [np.array([getattr(r, k) for r in results]) for k in ("estimate", "low", "high")]
    bound = np.array([np.nan if r.lower_bound is None else r.lower_bound for r in results])
    return flagged, *columns, bound, np.array([mi for _, _, mi in data])


def high_mi(args, rng):
    print(f"high-MI check (HIGH_MI_Z = {HIGH_MI_Z:g}), {args.datasets} datasets per row, n in 20-500, "
          "1-8 columns a side")
    print(f"{'data':<48} {'mean MI':>8} {'warned':>7} {'bias':>7} {'MSE':>8} {'held MI':>8} {'held or warned':>15} "
          f"{'bound held':>11}")
    for kind, (families, priors) in KINDS.items():
        data = []
        for _ in range(args.datasets):
            n = int(rng.choice([20, 50, 100, 200, 500]))
            data.append(draw(families, priors, n, int(rng.integers(1, 9)), int(rng.integers(1, 9)), rng))
        flagged, est, low, high, bound, mi = score(data, args.model)
        held = (low <= mi) & (mi <= high)
        has = ~np.isnan(bound)  # the model-free lower bound: the share of datasets where MI >= it
        print(f"{kind:<48} {mi.mean():>8.2f} {flagged.mean():>7.3f} {np.mean(est - mi):>7.3f} "
              f"{np.mean((est - mi) ** 2):>8.3f} {held.mean():>8.2f} {np.mean(held | flagged):>15.2f} "
              f"{np.mean(bound[has] <= mi[has]):>11.4f}")


def shapes(args, rng):
    print("training families outside the trained shapes (published priors)")
    print(f"{'n':>4} {'dims a side':>11} {'datasets':>8} {'MSE':>8} {'bias':>7} {'90% held':>9}")
    for n, dims, count in [(4, 1, 200), (4, 2, 200), (6, 1, 200), (6, 2, 200), (8, 1, 200), (8, 2, 200),
                           (10, 1, 200), (10, 2, 200), (20, 2, 200),
                           (100, 32, 60), (100, 48, 60), (100, 64, 60), (500, 32, 60), (500, 48, 60), (500, 64, 60)]:
        data = [draw(TRAIN, DEFAULT_PRIORS, n, dims, dims, rng) for _ in range(count)]
        _, est, low, high, _, mi = score(data, args.model)
        print(f"{n:>4} {dims:>11} {count:>8} {np.mean((est - mi) ** 2):>8.3f} {np.mean(est - mi):>7.3f} "
              f"{np.mean((low <= mi) & (mi <= high)):>9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=int, default=400, help="per row of the high-MI table")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--model", default="default")
    parser.add_argument("--shapes", action="store_true", help="only the table of untrained shapes")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    (shapes if args.shapes else high_mi)(args, rng)


if __name__ == "__main__":
    main()
