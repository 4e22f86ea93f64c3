"""How often the 90% interval of KSG's answer (``model="ksg"``) holds the true MI, per weight of
the bias correction's uncertainty (:func:`mist.estimators.ksg.ksg_interval`,
``CORRECTION_WEIGHT`` was chosen so, with ``--seed 31 --datasets 1100``).

Fresh training-family datasets with 1-2 columns a side and n in {100, 200, 500, 1000}, KSG on
their normal scores, as ``mist.estimate(..., model="ksg")`` computes it.

    python benchmarks/ksg_interval.py [--datasets 1100] [--seed 31]
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata

from mist.distributions import TRAIN, sample_datasets
from mist.errors import MistError
from mist.estimators.ksg import ksg_interval

WEIGHTS = (1.0, 1.5, 2.0, 2.5, 3.0)


def training_family_dataset(rng: np.random.Generator):
    """(x, y, true MI) of one dataset of a random training family, 1-2 columns a side."""
    n = int(rng.choice([100, 200, 500, 1000]))
    while True:
        family = TRAIN[int(rng.integers(len(TRAIN)))]
        try:
            b = sample_datasets(family, n, int(rng.integers(1, 3)), int(rng.integers(1, 3)), 1,
                                seed=int(rng.integers(1 << 31)))
        except MistError:  # the family needs other dimensions
            continue
        return b.x[0].numpy().astype(np.float64), b.y[0].numpy().astype(np.float64), float(b.mi[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=1100)
    parser.add_argument("--seed", type=int, default=31)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    scores = lambda a: ndtri((rankdata(a, axis=0) - 0.5) / len(a))  # noqa: E731
    inside = np.zeros(len(WEIGHTS))
    for _ in range(args.datasets):
        x, y, mi = training_family_dataset(rng)
        answer = ksg_interval(scores(x), scores(y))
        for j, weight in enumerate(WEIGHTS):
            low, high = answer.quantiles([0.05, 0.95], weight)
            inside[j] += low <= mi <= high
    print(f"KSG's 90% interval held the truth on {args.datasets} training-family datasets, per weight of the "
          "correction: " + ", ".join(f"{w:g}: {c / args.datasets:.3f}" for w, c in zip(WEIGHTS, inside)))


if __name__ == "__main__":
    main()
