"""One column a side, y = f(x) + 0.3 noise (x standard normal): RMSE of mist and of
bias-corrected KSG (``model="ksg"``) against the exact MI (1-D quadrature,
``mist.distributions.beyond.noisy_function_mi``), 20 draws at each n.

    python benchmarks/one_column.py [--model default] [--draws 20]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

import mist
from mist.distributions.beyond import noisy_function_mi
from mist.errors import MistWarning

FUNCTIONS = {"x^2": np.square, "sin 3x": lambda x: np.sin(3 * x), "|x|": np.abs, "x (linear)": lambda x: x}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="default")
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore", MistWarning)
    rng = np.random.default_rng(args.seed)
    print(f"RMSE (nats) over {args.draws} draws, model {args.model} / KSG")
    for name, f in FUNCTIONS.items():
        exact = noisy_function_mi(f, 0.3)
        cells = []
        for n in (200, 500, 1000):
            errors = np.empty((args.draws, 2))
            for i in range(args.draws):
                x = rng.normal(size=n)
                y = f(x) + 0.3 * rng.normal(size=n)
                errors[i] = [mist.estimate(x, y, model=m).estimate - exact for m in (args.model, "ksg")]
            rmse = np.sqrt(np.mean(errors**2, axis=0))
            cells.append(f"n = {n}: {rmse[0]:.3f} / {rmse[1]:.3f}")
        print(f"  {name:10s} (exact {exact:.3f}): " + ", ".join(cells))


if __name__ == "__main__":
    main()
