"""The model-free cross-check of ``mist.estimate`` (``check=True``): how often KSG answers, and
how good its answers are.

On fresh training-family data (where the model is right, so KSG answering is a false alarm) and
on dependence the model was not trained on: y = f(x) + noise for non-monotone f (x^2, sin 3x,
|x|; exact MI by quadrature, ``noisy_function_mi``), 3-component Gaussian mixtures, and a
non-monotone bijection of a Gaussian pair (flip the middle of x). Datasets with at most 2
columns a side (the training families) or 1 (the others) and n in {100, 200, 500, 1000}; with
``--dims d``, d columns a side everywhere (each column of y a function of its own column of x,
MI d times one pair's), and ``--max-columns`` runs the check up to that many columns (x and y
together) instead of ``mist.api.CHECK_MAX_COLUMNS``: what a wider check would do. Per kind: the share KSG answered, how often the
90% interval held the true MI (the model's alone, ``check=False``, and the answer's) and the MSE
of both; then the false-alarm rate on the training families at other margins, and the cost of
the check per call. "folded warned" counts the folded check of ``mist.range_checks`` (even
dependence, at any width: a warning and a higher model-free ``lower_bound``), and "bound held"
how often ``lower_bound`` stayed at or below the true MI.

    python benchmarks/cross_check.py [--datasets 60] [--seed 7] [--margins 0.05,0.1,0.2]
                                     [--dims 3 --max-columns 8]

With ``--weights``, only this: on 5 x ``--datasets`` fresh training-family datasets, how often
the 90% interval of KSG's answer (:func:`mist.estimators.ksg.ksg_interval` on normal scores, as
``mist.estimate`` computes it wherever KSG answers) holds the truth for each weight of the bias
correction's uncertainty (``CORRECTION_WEIGHT`` was chosen so, with ``--seed 31 --datasets 220``).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import mist
import mist.api
from mist.distributions import TRAIN, sample_datasets
from mist.distributions.beyond import flip_middle, noisy_function_mi, sample_gaussian_mixture
from mist.errors import MistError, MistWarning
from mist.estimators.ksg import ksg_interval
from mist.range_checks import FOLDED

WEIGHTS = (1.0, 1.5, 2.0, 2.5, 3.0)


FUNCTIONS = {"x^2": np.square, "sin 3x": lambda t: np.sin(3 * t), "|x|": np.abs}


def draw(kind: str, rng: np.random.Generator, dims: int | None = None):
    """(x, y, true MI) of one dataset of ``kind``, ``dims`` columns a side (None: 1-2 each for
    the training families, 1 for the others)."""
    n = int(rng.choice([100, 200, 500, 1000]))
    if kind == "training families":
        while True:
            family = TRAIN[int(rng.integers(len(TRAIN)))]
            dim_x, dim_y = (int(rng.integers(1, 3)), int(rng.integers(1, 3))) if dims is None else (dims, dims)
            try:
                b = sample_datasets(family, n, dim_x, dim_y, 1, seed=int(rng.integers(1 << 31)))
            except MistError:  # the family needs other dimensions
                continue
            return b.x[0].numpy().astype(np.float64), b.y[0].numpy().astype(np.float64), float(b.mi[0])
    d = dims or 1
    x = rng.normal(size=(n, d))
    sd = rng.uniform(0.1, 1.0)
    for name, f in FUNCTIONS.items():
        if kind == f"y = {name} + noise":
            return x, f(x) + sd * rng.normal(size=(n, d)), d * noisy_function_mi(f, sd)
    if kind == "Gaussian mixture":
        m = sample_gaussian_mixture(n, d, d, rng)
        return m.x, m.y, m.mi
    rho = rng.uniform(0.3, 0.95)
    y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=(n, d))
    return flip_middle(x), y, -0.5 * d * np.log(1 - rho**2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=60, help="per kind (5x that of the training families)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--margins", default="0.05,0.1,0.2", help="margins whose false-alarm rate to print")
    parser.add_argument("--dims", type=int, default=None, help="columns a side of every dataset")
    parser.add_argument("--max-columns", type=int, default=None, help="run the check up to this many columns")
    parser.add_argument("--weights", action="store_true", help="only the coverage of KSG's interval per weight")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    if args.max_columns is not None:
        mist.api.CHECK_MAX_COLUMNS = args.max_columns
    if args.weights:
        inside = np.zeros(len(WEIGHTS))
        for _ in range(5 * args.datasets):
            x, y, mi = draw("training families", rng, args.dims)
            answer = ksg_interval(*mist.api._normal_scores(x, y))  # n <= 1,000: all rows, as estimate takes them
            for j, weight in enumerate(WEIGHTS):
                low, high = answer.quantiles([0.05, 0.95], weight)
                inside[j] += low <= mi <= high
        print(f"KSG's 90% interval held the truth on {5 * args.datasets} training-family datasets, per weight of "
              "the correction: " + ", ".join(f"{w:g}: {c / (5 * args.datasets):.3f}" for w, c in zip(WEIGHTS, inside)))
        return
    kinds = {"training families": 5 * args.datasets, "y = x^2 + noise": args.datasets,
             "y = sin 3x + noise": args.datasets, "y = |x| + noise": args.datasets,
             "Gaussian mixture": args.datasets, "flip middle of x": args.datasets}
    print(f"{'data':<20} {'datasets':>8} {'KSG answered':>12} {'held: model':>11} {'answer':>7} "
          f"{'MSE: model':>10} {'answer':>7} {'folded warned':>13} {'bound held':>10}")
    gaps = []  # training families: KSG's figure minus the model's 0.95-quantile
    for kind, count in kinds.items():
        answered, held, errors, folded, bound_held = 0, np.zeros(2), np.zeros(2), 0, 0
        for _ in range(count):
            x, y, mi = draw(kind, rng, args.dims)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MistWarning)
                model = mist.estimate(x, y, check=False, quantiles=[mist.api.CHECK_TAU])
                answer = mist.estimate(x, y)
            answered += answer.model == mist.api.KSG_ANSWER
            folded += any(note.startswith(FOLDED) for note in answer.notes)
            bound_held += answer.lower_bound is None or answer.lower_bound <= mi
            if kind == "training families" and answer.cross_check is not None:
                gaps.append(answer.cross_check - model.quantiles[mist.api.CHECK_TAU])
            for j, r in enumerate((model, answer)):
                held[j] += r.low <= mi <= r.high
                errors[j] += (r.estimate - mi) ** 2
        print(f"{kind:<20} {count:>8} {answered / count:>12.2f} {held[0] / count:>11.2f} {held[1] / count:>7.2f} "
              f"{errors[0] / count:>10.3f} {errors[1] / count:>7.3f} {folded / count:>13.2f} {bound_held / count:>10.2f}",
              flush=True)
    gaps = np.asarray(gaps)
    if not len(gaps):
        print("false alarms on the training families: none checked (more than CHECK_MAX_COLUMNS columns)")
    else:
        print("false alarms on the training families (KSG above the model's 0.95-quantile by more than the margin): "
              + ", ".join(f"{m:g}: {np.mean(gaps > m):.3f}" for m in map(float, args.margins.split(",")))
              + f" of {len(gaps)} checked")
    x = rng.normal(size=(500, 1))
    y = x + rng.normal(size=(500, 1))
    for check in (False, True):
        mist.estimate(x, y, check=check)
        t = time.perf_counter()
        for _ in range(50):
            mist.estimate(x, y, check=check)
        print(f"n=500, d=1+1, check={check}: {(time.perf_counter() - t) / 50 * 1e3:.2f} ms per estimate")
    square = x**2 + 0.3 * rng.normal(size=(500, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MistWarning)
        t = time.perf_counter()
        for _ in range(10):
            mist.estimate(x, square)
    print(f"n=500, d=1+1, y = x^2 + 0.3 noise (KSG answers): {(time.perf_counter() - t) / 10 * 1e3:.2f} ms per estimate")


if __name__ == "__main__":
    main()
