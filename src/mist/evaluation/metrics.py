"""Metrics against exact MI: MSE by group, calibration of quantiles, crossing quantiles."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd


def mse_table(truth: np.ndarray, predictions: dict[str, np.ndarray], groups: np.ndarray | None = None) -> pd.DataFrame:
    """MSE of each estimator (columns), overall or per group (rows)."""
    frame = pd.DataFrame({name: (np.asarray(p) - truth) ** 2 for name, p in predictions.items()})
    if groups is None:
        return frame.mean().to_frame("all").T
    frame["group"] = groups
    return frame.groupby("group").mean()


def calibration(truth: np.ndarray, quantiles: np.ndarray, taus: Sequence[float]) -> np.ndarray:
    """Share of true values at or below each predicted tau-quantile (ideal: tau)."""
    return (truth[:, None] <= quantiles).mean(axis=0)


def crossing_count(quantiles: np.ndarray) -> int:
    """Datasets whose quantiles (columns in increasing tau) decrease anywhere."""
    return int(np.any(np.diff(quantiles, axis=1) < 0, axis=1).sum())
