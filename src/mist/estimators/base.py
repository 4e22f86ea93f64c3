"""The one interface every estimator follows: ``estimate(x, y) -> float`` in nats."""

from __future__ import annotations

from typing import Any

import numpy as np

from mist._validation import check_xy, drop_constant_columns


class Estimator:
    """Base class of mist's estimators.

    Subclasses implement ``_estimate(x, y)`` on validated float64 arrays of shape (n, dx) and
    (n, dy) with no constant column, and return MI in nats. The public :meth:`estimate`
    validates input (numeric, finite, matching rows, at least ``min_samples``), ignores
    constant columns with a :class:`~mist.MistWarning`, and returns 0.0 when a side has no
    non-constant column.
    """

    name: str = "estimator"
    min_samples: int = 3

    def estimate(self, x: Any, y: Any) -> float:
        """Mutual information between ``x`` (n, dx) and ``y`` (n, dy), in nats."""
        x, y = check_xy(x, y, min_samples=self.min_samples)
        x, y, _ = drop_constant_columns(x, y)
        if x.shape[1] == 0 or y.shape[1] == 0:
            return 0.0
        return float(self._estimate(x, y))

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_params(self) -> dict:
        """The estimator's settings (its constructor arguments)."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def standardize(a: np.ndarray) -> np.ndarray:
    """Columns to zero mean and unit variance (constant columns must have been removed).

    Each column is first divided by its largest magnitude: squares of values near 1e-300 or
    1e300 underflow to 0 or overflow to inf, which made the variance 0 or inf."""
    a = a / np.abs(a).max(axis=0)
    centred = a - a.mean(axis=0)
    return centred / centred.std(axis=0)
