"""Where the chain rule's error comes from: each MI term of I(X;Y|Z) against its exact value.

Gaussian triples of each structure of mist.distributions.conditional (common cause, collider,
chain; no transform, so every term's MI is exact from the covariance), n in {100, 300, 1000},
1-8 columns each for X, Y and Z. For each structure: every term's mean exact MI, the model's
bias and RMSE on it, and the MSE of each way of writing the CMI with those terms:

    form 1       I(X; Y,Z) - I(X; Z)
    form 2       I(Y; X,Z) - I(Y; Z)
    chain rule   their mean (what mist.estimate(x, y, z) returns)
    interaction  I(X; Y) + I(X,Y; Z) - I(X; Z) - I(Y; Z)

    python benchmarks/conditional_terms.py [--model default] [--per-structure 40] [--seed 5]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

import mist
from mist.distributions.conditional import STRUCTURES, gaussian_cmi, mixing_matrix
from mist.errors import MistWarning

TERMS = ("I(X;YZ)", "I(X;Z)", "I(Y;XZ)", "I(Y;Z)", "I(X;Y)", "I(XY;Z)")


def exact_terms(covariance: np.ndarray, dim_x: int, dim_y: int) -> np.ndarray:
    """The six terms of TERMS for a Gaussian with coordinates ordered X, Y, Z (nats)."""
    d = covariance.shape[0]
    x, y, z = np.arange(dim_x), np.arange(dim_x, dim_x + dim_y), np.arange(dim_x + dim_y, d)

    def mi(a, b):  # I(A; B) as a CMI with nothing to condition on
        order = np.r_[a, b]
        return gaussian_cmi(covariance[np.ix_(order, order)], len(a), len(b))

    return np.array([mi(x, np.r_[y, z]), mi(x, z), mi(y, np.r_[x, z]), mi(y, z), mi(x, y), mi(np.r_[x, y], z)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="default")
    parser.add_argument("--per-structure", type=int, default=40)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"model {args.model}; Gaussian triples, {args.per_structure} per structure, n in 100 / 300 / 1,000, "
          "1-8 columns each")
    for structure in STRUCTURES:
        exact, estimated = [], []
        for _ in range(args.per_structure):
            n = int(rng.choice([100, 300, 1000]))
            dim_x, dim_y, dim_z = (int(v) for v in rng.integers(1, 9, 3))
            w = mixing_matrix(structure, dim_x, dim_y, dim_z, rng)
            data = rng.normal(size=(n, w.shape[1])) @ w.T
            x, y, z = np.split(data, [dim_x, dim_x + dim_y], axis=1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MistWarning)
                pairs = [(x, np.hstack([y, z])), (x, z), (y, np.hstack([x, z])), (y, z), (x, y), (np.hstack([x, y]), z)]
                estimated.append([r.estimate for r in mist.estimate_many(pairs, model=args.model, progress=False)])
            exact.append(exact_terms(w @ w.T, dim_x, dim_y))
        exact, estimated = np.array(exact), np.array(estimated)
        cmi = exact[:, 0] - exact[:, 1]
        print(f"\n{structure}: exact CMI mean {cmi.mean():.3f}")
        print(f"  {'term':>8} {'exact':>7} {'bias':>7} {'RMSE':>7}")
        for j, term in enumerate(TERMS):
            error = estimated[:, j] - exact[:, j]
            print(f"  {term:>8} {exact[:, j].mean():7.3f} {error.mean():+7.3f} {np.sqrt(np.mean(error**2)):7.3f}")
        e = estimated.T
        forms = {"form 1": e[0] - e[1], "form 2": e[2] - e[3], "chain rule": (e[0] - e[1] + e[2] - e[3]) / 2,
                 "interaction": e[4] + e[5] - e[1] - e[3]}
        for name, value in forms.items():  # clipped at 0, as estimate returns the CMI
            value = np.maximum(value, 0.0)
            print(f"  {name:>12}: MSE {np.mean((value - cmi) ** 2):.4f}, bias {np.mean(value - cmi):+.4f}")


if __name__ == "__main__":
    main()
