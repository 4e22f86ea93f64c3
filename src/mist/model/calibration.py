"""Quantile recalibration: which tau to ask the quantile head for, so that its tau-quantiles lie
above the true MI for a share tau of datasets from the training distribution.

A pinball-trained head of limited capacity can be biased by a few percent of coverage (e.g. its
0.75-quantile covering the truth 71% of the time). The fix is split-conformal in spirit: on a
calibration set drawn fresh from the *training* families (never a test grid), measure the
coverage c(t) of the head's t-quantile on a fine grid of t, and answer a request for tau with
the t where c(t) = tau. The map is monotone, so quantiles stay non-crossing; it is stored in the
model card (``tau_calibration``) and applied by :func:`mist.model.inference.predict_many`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mist.errors import MistError

GRID_TAUS = np.round(np.linspace(0.005, 0.995, 199), 6)
# 6 seeds x 16 families x 20 sample counts x 3 repeats = 5,760 datasets in 1,920 groups of one
# dimension and sample count each: many groups, because datasets of one group share their dimension
# and their coverage errors are correlated. The seeds differ from the validation grid's (20251)
# and every test grid's.
CALIBRATION_SEEDS = tuple(range(31337, 31343))
CALIBRATION_REPEATS = 3


@dataclass(frozen=True)
class TauMap:
    """Piecewise-linear, increasing map from nominal tau to the tau given to the quantile head,
    through the knots (0, 0), (nominal[i], query[i]) and (1, 1)."""

    nominal: np.ndarray
    query: np.ndarray

    def __post_init__(self):
        nominal, query = np.asarray(self.nominal, float), np.asarray(self.query, float)
        if nominal.ndim != 1 or nominal.shape != query.shape or len(nominal) == 0:
            raise MistError("tau_calibration: 'nominal' and 'query' must be non-empty lists of equal length.")
        for name, v in (("nominal", nominal), ("query", query)):
            if not (np.all(np.diff(v) > 0) and v[0] > 0 and v[-1] < 1):
                raise MistError(f"tau_calibration: {name!r} must increase strictly within (0, 1).")
        object.__setattr__(self, "nominal", nominal)
        object.__setattr__(self, "query", query)

    def __call__(self, taus) -> np.ndarray:
        taus = np.asarray(taus, float)
        knots_in = np.concatenate([[0.0], self.nominal, [1.0]])
        knots_out = np.concatenate([[0.0], self.query, [1.0]])
        return np.interp(taus, knots_in, knots_out)

    def to_dict(self) -> dict:
        return {"nominal": self.nominal.round(6).tolist(), "query": self.query.round(6).tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> "TauMap":
        if not isinstance(data, dict) or "nominal" not in data or "query" not in data:
            raise MistError("tau_calibration must hold the lists 'nominal' and 'query'.")
        return cls(np.asarray(data["nominal"], float), np.asarray(data["query"], float))


def tau_map_from_coverage(grid_taus: np.ndarray, coverage: np.ndarray) -> TauMap:
    """Invert measured coverage: for each coverage level reached inside (0, 1), the smallest
    grid tau whose quantile reaches it. ``coverage`` must be non-decreasing in ``grid_taus``."""
    grid_taus, coverage = np.asarray(grid_taus, float), np.asarray(coverage, float)
    if np.any(np.diff(coverage) < 0):
        raise MistError("coverage must be non-decreasing in tau (are the quantiles crossing?).")
    levels, first = np.unique(coverage, return_index=True)
    inside = (levels > 0) & (levels < 1)
    return TauMap(levels[inside], grid_taus[first[inside]])


def fit_tau_map(network, xs, ys, mi, grid_taus: np.ndarray = GRID_TAUS) -> tuple[TauMap, np.ndarray]:
    """The map that calibrates ``network``'s quantile head on datasets ``(xs[i], ys[i])`` of true
    MI ``mi[i]`` (nats); also returns the raw coverage per grid tau."""
    from mist.model.inference import predict_many

    _, quant = predict_many(network, xs, ys, list(grid_taus), calibrate=False)
    coverage = (np.asarray(mi, float)[:, None] <= quant).mean(0)
    return tau_map_from_coverage(grid_taus, coverage), coverage


def calibration_set(seeds: tuple[int, ...] = CALIBRATION_SEEDS, repeats: int = CALIBRATION_REPEATS):
    """Datasets of the training families drawn by the paper's recipe with their own seeds."""
    from mist.distributions import TestSet, paper_grid

    return TestSet.concat([paper_grid("train", seed=s, repeats=repeats) for s in seeds])


def calibration_set_description(seeds: tuple[int, ...] = CALIBRATION_SEEDS, repeats: int = CALIBRATION_REPEATS) -> str:
    return f"paper_grid('train', seed=s, repeats={repeats}) for s in {list(seeds)}"


__all__ = ["TauMap", "fit_tau_map", "tau_map_from_coverage", "calibration_set", "calibration_set_description", "GRID_TAUS"]
