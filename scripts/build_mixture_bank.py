"""Build src/mist/data/mixture_bank.npz: 2-D Gaussian mixtures with Monte-Carlo MI (nats).

The training part (kind ``mixture``) and the held-out part (``mixture_heldout``) of
``mist.distributions.relations``: weights, means, covariances padded to the largest component
count, the count, the MI (mean exact log density ratio over >= 1e6 fresh draws; more where the
standard error exceeds 0.004) and its standard error. Plain arrays: load with
allow_pickle=False (``relations.load_mixture_bank``). Deterministic for a seed.

    python scripts/build_mixture_bank.py            # 300 + 100 mixtures, about 3 minutes on one core
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from mist.distributions.relations import build_mixture_bank

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "src" / "mist" / "data" / "mixture_bank.npz"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=300, help="training mixtures")
    parser.add_argument("--heldout", type=int, default=100, help="held-out mixtures")
    parser.add_argument("--samples", type=int, default=1_000_000, help="Monte-Carlo draws per mixture (>= 1e6)")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if args.samples < 1_000_000:
        parser.error("--samples must be at least 1,000,000")
    rng = np.random.default_rng(args.seed)
    arrays: dict[str, np.ndarray] = {"seed": np.array(args.seed)}
    start = time.perf_counter()
    for split, count, setting in (("train", args.train, "train"), ("heldout", args.heldout, "heldout")):
        part = build_mixture_bank(count, setting, rng, samples=args.samples)
        arrays.update({f"{split}_{key}": value for key, value in part.items()})
        print(f"{split}: {count} mixtures, MI {part['mi'].min():.4f} .. {part['mi'].max():.4f} nats, "
              f"max SE {part['mi_standard_error'].max():.5f}, samples {part['samples'].min()} .. "
              f"{part['samples'].max()}, {time.perf_counter() - start:.0f} s so far")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.output, **arrays)
    print(f"wrote {args.output} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
