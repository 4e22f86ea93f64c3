"""Run estimators over a :class:`~mist.distributions.TestSet`."""

from __future__ import annotations

import time
import warnings
from typing import Sequence

import numpy as np

from mist.distributions import TestSet
from mist.errors import MistWarning
from mist.estimators.base import Estimator


def predict_baseline(estimator: Estimator, testset: TestSet) -> tuple[np.ndarray, float]:
    """Estimates (nats) for every dataset and the mean seconds per estimate."""
    out = np.empty(len(testset))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MistWarning)
        for i, (x, y) in enumerate(zip(testset.xs, testset.ys)):
            out[i] = estimator.estimate(x.astype(np.float64), y.astype(np.float64))
    return out, (time.perf_counter() - start) / max(1, len(testset))


def predict_learned(network, testset: TestSet, taus: Sequence[float]) -> tuple[np.ndarray, np.ndarray, float]:
    """Mean, quantiles at ``taus`` (raw network outputs, nats) and seconds per dataset (batched)."""
    from mist.model.inference import predict_many

    start = time.perf_counter()
    mean, quant = predict_many(network, testset.xs, testset.ys, list(taus))
    return mean, quant, (time.perf_counter() - start) / max(1, len(testset))
