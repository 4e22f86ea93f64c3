"""Quantile recalibration: which tau to ask the quantile head for, so that its tau-quantiles lie
above the true MI for a share tau of datasets from the training distribution.

A pinball-trained head of limited capacity can be biased by a few percent of coverage overall
(its 0.75-quantile covering the truth 71% of the time) and by much more in some corners (a 90%
interval holding the truth for 62% of datasets with n < 60 and 21-32 dimensions a side). The fix
is split-conformal in spirit and Mondrian in its cells: on a calibration set drawn fresh from the
*training* families (never a test grid), measure, per cell of sample count and dimension, the
coverage c(t) of the head's t-quantile on a fine grid of t, and answer a request for tau with the
t where c(t) = tau. Each map is monotone, so quantiles stay non-crossing. The maps are stored in
the model card (``tau_calibration``) and applied by :func:`mist.model.inference.predict_many`.

Above the rows the model was trained on (its card's ``training.n_range``; 500 for the paper's
recipe) an estimate averages k disjoint subsets of the rows, and each subset's quantiles describe
one estimate at the subset's size. The average's error is partly shared by all
subsets (the model's bias on this dataset) and partly independent (each subset's sampling
noise), so its spread around the median is the subset spread times sqrt(rho + (1 - rho) / k).
rho, the shared fraction, is fitted per model by pinball loss on fresh training-family data with
n from 1,000 to 10,000 (``subset_calibration`` in the card; without it rho = 1, the subset's own
interval, which held the truth 98-100% of the time for a nominal 90% at n >= 2,000).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mist.errors import MistError

# tau grid even in logit(tau) from 0.0003 to 0.9997: the far tails let a cell whose head is too
# narrow (n = 10 with 21-32 dimensions a side) still reach the nominal coverage
GRID_TAUS = 1.0 / (1.0 + np.exp(-np.linspace(-8.0, 8.0, 241)))
# 12 seeds x 16 families x 20 sample counts x 3 repeats = 11,520 datasets in 3,840 groups of one
# dimension and sample count each: many groups, because datasets of one group share their dimension
# and their coverage errors are correlated. The seeds differ from the validation grid's (20251)
# and every test grid's.
CALIBRATION_SEEDS = tuple(range(31337, 31349))
CALIBRATION_REPEATS = 3
# Cells: sample count n (rows) and dim_x + dim_y. Each cell with at least MIN_CELL_DATASETS
# calibration datasets gets its own map; the others fall back to the map fitted on all of them.
N_EDGES = (20, 60, 150, 300)
DIM_EDGES = (17, 41)
MIN_CELL_DATASETS = 200


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


def cell_key(n: int, dim_x: int, dim_y: int, n_edges: tuple[int, ...] = N_EDGES,
             dim_edges: tuple[int, ...] = DIM_EDGES) -> tuple[int, int]:
    """(n bin, dim_x + dim_y bin) of a dataset's shape; a value equal to an edge starts the next bin."""
    return (int(np.searchsorted(n_edges, n, side="right")), int(np.searchsorted(dim_edges, dim_x + dim_y, side="right")))


class CalibrationMaps:
    """One :class:`TauMap` per cell of (n, dim_x + dim_y), plus one for all cells (the fallback).

    ``cells`` maps (n bin, dims bin) to a TauMap; bins are cut at ``n_edges`` and ``dim_edges``
    (a value equal to an edge starts the next bin).
    """

    def __init__(self, overall: TauMap, cells: dict[tuple[int, int], TauMap] | None = None,
                 n_edges: tuple[int, ...] = N_EDGES, dim_edges: tuple[int, ...] = DIM_EDGES):
        self.overall, self.cells = overall, dict(cells or {})
        self.n_edges, self.dim_edges = tuple(int(v) for v in n_edges), tuple(int(v) for v in dim_edges)
        for edges, name in ((self.n_edges, "n_edges"), (self.dim_edges, "dim_edges")):
            if any(b <= a for a, b in zip(edges, edges[1:])):
                raise MistError(f"tau_calibration: {name!r} must increase strictly.")
        for key in self.cells:
            if not (0 <= key[0] <= len(self.n_edges) and 0 <= key[1] <= len(self.dim_edges)):
                raise MistError(f"tau_calibration: cell {key} is outside the bins.")

    def cell(self, n: int, dim_x: int, dim_y: int) -> tuple[int, int] | None:
        """The cell of a dataset's shape, or None where the overall map applies."""
        key = cell_key(n, dim_x, dim_y, self.n_edges, self.dim_edges)
        return key if key in self.cells else None

    def map_for(self, cell: tuple[int, int] | None) -> TauMap:
        """The map of a cell returned by :meth:`cell` (None: the overall map)."""
        return self.overall if cell is None else self.cells[cell]

    def __call__(self, taus, n: int, dim_x: int, dim_y: int) -> np.ndarray:
        return self.map_for(self.cell(n, dim_x, dim_y))(taus)

    def to_dict(self) -> dict:
        return {"n_edges": list(self.n_edges), "dim_edges": list(self.dim_edges), "overall": self.overall.to_dict(),
                "cells": [{"n_bin": k[0], "dim_bin": k[1], **m.to_dict()} for k, m in sorted(self.cells.items())]}

    @classmethod
    def from_dict(cls, data: dict) -> "CalibrationMaps":
        if not isinstance(data, dict) or "overall" not in data:
            raise MistError("tau_calibration must hold an 'overall' map (lists 'nominal' and 'query').")
        try:
            cells = {(int(c["n_bin"]), int(c["dim_bin"])): TauMap.from_dict(c) for c in data.get("cells", [])}
        except (KeyError, TypeError, ValueError) as exc:
            raise MistError(f"tau_calibration: a cell is malformed ({exc}).") from exc
        return cls(TauMap.from_dict(data["overall"]), cells, data.get("n_edges", N_EDGES), data.get("dim_edges", DIM_EDGES))


def fit_calibration(network, xs, ys, mi, grid_taus: np.ndarray = GRID_TAUS,
                    min_cell: int = MIN_CELL_DATASETS, n_edges: tuple[int, ...] = N_EDGES) -> tuple[CalibrationMaps, np.ndarray]:
    """The maps that calibrate ``network``'s quantile head on datasets ``(xs[i], ys[i])`` of true
    MI ``mi[i]`` (nats), overall and per (n, dims) cell with at least ``min_cell`` datasets; also
    returns the raw overall coverage per grid tau."""
    from mist.model.inference import predict_many

    _, quant = predict_many(network, xs, ys, list(grid_taus), calibrate=False)
    below = np.asarray(mi, float)[:, None] <= quant
    overall = tau_map_from_coverage(grid_taus, below.mean(0))
    keys = np.array([cell_key(x.shape[0], x.shape[1], y.shape[1], n_edges) for x, y in zip(xs, ys)])
    cells = {}
    for key in {tuple(k) for k in keys.tolist()}:
        members = np.all(keys == key, axis=1)
        if members.sum() >= min_cell:
            cells[key] = tau_map_from_coverage(grid_taus, below[members].mean(0))
    return CalibrationMaps(overall, cells, n_edges), below.mean(0)


def calibration_set(seeds: tuple[int, ...] = CALIBRATION_SEEDS, repeats: int = CALIBRATION_REPEATS,
                    n_max: int = 500):
    """Datasets of the training families drawn by the paper's recipe with their own seeds, n at 20
    values from 10 to ``n_max`` (the paper's grid for 500)."""
    from mist.distributions import TestSet, paper_grid

    n_values = tuple(int(v) for v in np.linspace(10, n_max, 20))
    return TestSet.concat([paper_grid("train", seed=s, repeats=repeats, n_values=n_values) for s in seeds])


def calibration_set_description(seeds: tuple[int, ...] = CALIBRATION_SEEDS, repeats: int = CALIBRATION_REPEATS,
                                n_max: int = 500) -> str:
    return f"paper_grid('train', seed=s, repeats={repeats}, n = 20 values in 10..{n_max}) for s in {list(seeds)}"


#: Seeds of the relation and discrete-column datasets a model trained on them is also calibrated
#: on (used nowhere else).
RELATION_CALIBRATION_SEED = 31400
DISCRETE_CALIBRATION_SEED = 31500


def _stream_shapes(count: int, n_max: int, rng: np.random.Generator):
    """``count`` (n, dim_x, dim_y): n at 20 values from 10 to ``n_max`` in turn, dim_x uniform in
    1..32, dim_y equal half the time and uniform in 1..32 otherwise, as the training stream draws them."""
    n_values = np.linspace(10, n_max, 20).astype(int)
    for i in range(count):
        dim_x = int(rng.integers(1, 33))
        yield int(n_values[i % 20]), dim_x, dim_x if rng.random() < 0.5 else int(rng.integers(1, 33))


def relation_calibration_set(count: int, n_max: int = 1000, seed: int = RELATION_CALIBRATION_SEED):
    """(xs, ys, mi) of ``count`` fresh datasets of the training relations
    (:mod:`mist.distributions.relations`, split "train", functions from a bank of their own
    seed), shaped as :func:`_stream_shapes` draws them."""
    from mist.distributions.relations import build_relation_banks, sample_relation_dataset

    rng = np.random.default_rng(seed)
    banks = build_relation_banks(np.random.default_rng(seed + 1), fourier=300, bumps=0, kinks=0)
    data = [sample_relation_dataset(n, dim_x, dim_y, rng, split="train", banks=banks)
            for n, dim_x, dim_y in _stream_shapes(count, n_max, rng)]
    return [d.x for d in data], [d.y for d in data], np.array([d.mi for d in data])


def discrete_calibration_set(count: int, n_max: int = 1000, seed: int = DISCRETE_CALIBRATION_SEED):
    """(xs, ys, mi) of ``count`` fresh datasets with a discrete column
    (:mod:`mist.distributions.quantised`, either side), shaped as :func:`_stream_shapes` draws them."""
    from mist.distributions.quantised import sample_quantised

    rng = np.random.default_rng(seed)
    data = [sample_quantised(n, dim_x, dim_y, rng, swap=bool(rng.random() < 0.5))
            for n, dim_x, dim_y in _stream_shapes(count, n_max, rng)]
    return [d.x for d in data], [d.y for d in data], np.array([d.mi for d in data])


#: Sample counts, datasets per count and seed of the data rho is fitted on (n above the training
#: range, so estimates average 2 to 20 subsets); the seed is used nowhere else.
LARGE_N_VALUES = (1000, 2000, 5000, 10000)
LARGE_N_PER_VALUE = 150
LARGE_N_SEED = 27182
#: The levels whose mean pinball loss rho minimises (0.5 included: the centre the spread shrinks to).
SUBSET_FIT_TAUS = (0.05, 0.25, 0.5, 0.75, 0.95)


def subset_scale(subsets: int, shared_fraction: float) -> float:
    """How much of one subset's quantile spread an average over ``subsets`` disjoint subsets keeps."""
    return float(np.sqrt(shared_fraction + (1.0 - shared_fraction) / subsets))


def combine_subset_quantiles(quantiles: np.ndarray, median: int, shared_fraction: float | None) -> np.ndarray:
    """The quantiles of an average over subsets, from each subset's quantiles (k, ..., T): their
    mean, its spread around the mean median (index ``median`` of the last axis) scaled by
    :func:`subset_scale`. With ``shared_fraction`` None, the plain mean (the subsets' own
    spread). Non-decreasing in tau when each subset's quantiles are."""
    mean = quantiles.mean(0)
    if shared_fraction is None or len(quantiles) == 1:
        return mean
    centre = mean[..., median:median + 1]
    return centre + subset_scale(len(quantiles), shared_fraction) * (mean - centre)


def shared_fraction(card: dict) -> float | None:
    """The model card's fitted rho (``subset_calibration``), or None; MistError if malformed."""
    entry = card.get("subset_calibration")
    if entry is None:
        return None
    value = entry.get("shared_fraction") if isinstance(entry, dict) else None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
        raise MistError(f"subset_calibration: 'shared_fraction' must be a number in [0, 1], got {value!r}.")
    return float(value)


def large_n_set(seed: int = LARGE_N_SEED, per_value: int = LARGE_N_PER_VALUE,
                n_values: tuple[int, ...] = LARGE_N_VALUES) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """(x, y, true MI) of ``per_value`` datasets per n in ``n_values``: a training family, dim_x
    and dim_y uniform in 1..32 (redrawn where the family needs other dimensions), parameters
    from the training priors."""
    from mist.distributions import TRAIN, sample_datasets

    rng = np.random.default_rng(seed)
    out = []
    while len(out) < per_value * len(n_values):
        n = n_values[len(out) // per_value]
        family = TRAIN[int(rng.integers(len(TRAIN)))]
        dim_x, dim_y = (int(v) for v in rng.integers(1, 33, size=2))
        try:
            batch = sample_datasets(family, n, dim_x, dim_y, 1, seed=int(rng.integers(1 << 31)))
        except MistError:  # e.g. a family with paired coordinates needs dim_x, dim_y >= 2
            continue
        out.append((batch.x[0].numpy(), batch.y[0].numpy(), float(batch.mi[0])))
    return out


def subset_quantiles(network, datasets, split, taus=SUBSET_FIT_TAUS) -> list[np.ndarray]:
    """Each dataset's per-subset quantiles (k, T), through the calibrated quantile head;
    ``split(x, y)`` gives the row subsets, as ``mist.estimate`` takes them."""
    from mist.model.inference import predict_many

    xs, ys, owner = [], [], []
    for i, (x, y, _) in enumerate(datasets):
        for rows in split(x, y):
            xs.append(x[rows])
            ys.append(y[rows])
            owner.append(i)
    _, quant = predict_many(network, xs, ys, list(taus))
    owner = np.asarray(owner)
    return [quant[owner == i] for i in range(len(datasets))]


def pinball_loss(truth: np.ndarray, quantiles: np.ndarray, taus) -> float:
    """Mean pinball loss of quantiles (N, T) at levels taus for the true values (N,)."""
    taus = np.asarray(taus, float)
    diff = np.asarray(truth, float)[:, None] - quantiles
    return float(np.maximum(taus * diff, (taus - 1.0) * diff).mean())


def fit_shared_fraction(per_subset: list[np.ndarray], truth, taus=SUBSET_FIT_TAUS) -> tuple[float, dict]:
    """The rho in [0, 1] (steps of 0.01) minimising the mean pinball loss of the combined
    quantiles, from :func:`subset_quantiles`; also the loss and 90%-interval coverage
    (``taus`` 0.05 and 0.95) at the fitted rho and at rho = 1."""
    median = list(taus).index(0.5)
    truth = np.asarray(truth, float)

    def combined(rho):
        return np.stack([combine_subset_quantiles(q, median, rho) for q in per_subset])

    grid = np.round(np.linspace(0.0, 1.0, 101), 2)
    losses = [pinball_loss(truth, combined(rho), taus) for rho in grid]
    rho = float(grid[int(np.argmin(losses))])
    report = {}
    for name, value in (("fitted", rho), ("subset_interval", 1.0)):
        q = combined(value)
        inside = (q[:, list(taus).index(0.05)] <= truth) & (truth <= q[:, list(taus).index(0.95)])
        report[name] = {"pinball": round(pinball_loss(truth, q, taus), 6), "coverage_90": round(float(inside.mean()), 4)}
    return rho, report


__all__ = ["TauMap", "CalibrationMaps", "fit_calibration", "tau_map_from_coverage", "calibration_set",
           "calibration_set_description", "relation_calibration_set", "RELATION_CALIBRATION_SEED",
           "discrete_calibration_set", "DISCRETE_CALIBRATION_SEED", "GRID_TAUS", "subset_scale", "combine_subset_quantiles",
           "shared_fraction", "large_n_set", "subset_quantiles", "fit_shared_fraction", "pinball_loss"]
