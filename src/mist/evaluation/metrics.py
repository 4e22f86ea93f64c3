"""Metrics against exact MI: MSE by group, calibration of quantiles, crossing quantiles."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd


# No grid's MI comes near this: an estimate beyond it (or infinite) is a fit that diverged
DIVERGED_NATS = 1e3


def mse_table(truth: np.ndarray, predictions: dict[str, np.ndarray], groups: np.ndarray | None = None,
              total: bool = False) -> pd.DataFrame:
    """MSE of each estimator (columns), overall (one row, "all") or per group (rows), with an
    "all" row too when ``total``. A cell whose estimates include a diverged one (infinite, or
    beyond ``DIVERGED_NATS``) reads "diverged": its MSE (1e22, say) would describe the
    divergence, not the estimator's error. NaN marks a dataset an estimator did not run on (the
    neural ones run on a share of each grid): left out of the mean."""
    estimates = pd.DataFrame({name: np.asarray(p, dtype=float) for name, p in predictions.items()})
    err = estimates.sub(np.asarray(truth, dtype=float), axis=0) ** 2
    diverged = np.isinf(estimates) | (estimates.abs() > DIVERGED_NATS)  # NaN > x is False: not run
    if groups is None:
        mse, bad = err.mean().to_frame("all").T, diverged.any().to_frame("all").T
    else:
        keys = pd.Index(np.asarray(groups), name="group")
        mse, bad = err.groupby(keys).mean(), diverged.groupby(keys).any()
        if total:
            mse.loc["all"], bad.loc["all"] = err.mean(), diverged.any()
    return mse if not bad.to_numpy().any() else mse.astype(object).mask(bad, "diverged")


def calibration(truth: np.ndarray, quantiles: np.ndarray, taus: Sequence[float]) -> np.ndarray:
    """Share of true values at or below each predicted tau-quantile (ideal: tau)."""
    return (truth[:, None] <= quantiles).mean(axis=0)


def crossing_count(quantiles: np.ndarray) -> int:
    """Datasets whose quantiles (columns in increasing tau) decrease anywhere."""
    return int(np.any(np.diff(quantiles, axis=1) < 0, axis=1).sum())
