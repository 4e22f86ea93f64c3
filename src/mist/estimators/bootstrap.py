"""Bootstrap confidence intervals for any estimator."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from mist._validation import check_level, check_xy
from mist.errors import MistError, MistWarning
from mist.estimators.base import Estimator


@dataclass(frozen=True)
class BootstrapResult:
    """A point estimate with a percentile bootstrap interval, in nats."""

    estimate: float
    low: float
    high: float
    level: float
    samples: np.ndarray

    def to_dict(self) -> dict:
        return {"estimate": self.estimate, "low": self.low, "high": self.high, "level": self.level,
                "n_resamples": int(self.samples.size), "unit": "nats"}


def bootstrap(
    estimator: Estimator,
    x: Any,
    y: Any,
    n_resamples: int = 200,
    level: float = 0.9,
    *,
    seed: int = 0,
) -> BootstrapResult:
    """Percentile bootstrap interval of ``estimator`` on rows resampled with replacement.

    Note that resampling duplicates rows, which biases neighbour-based estimators (KSG)
    upwards on the resamples; the interval is a spread, not a bias correction.
    """
    if not isinstance(n_resamples, int) or n_resamples < 2:
        raise MistError(f"`n_resamples` must be an integer >= 2, got {n_resamples!r}.")
    level = check_level(level)
    x, y = check_xy(x, y, min_samples=estimator.min_samples)
    point = estimator.estimate(x, y)
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    samples = np.empty(n_resamples)
    with warnings.catch_warnings():
        # a resample may make a column constant; that is part of the bootstrap's spread
        warnings.simplefilter("ignore", MistWarning)
        for b in range(n_resamples):
            idx = rng.integers(0, n, n)
            samples[b] = estimator.estimate(x[idx], y[idx])
    alpha = (1 - level) / 2
    low, high = np.quantile(samples, [alpha, 1 - alpha])
    return BootstrapResult(point, float(low), float(high), level, samples)
