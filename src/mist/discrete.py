"""A discrete side: MI between continuous data and a class label (or between two labels).

A label Y with classes coded 0..K-1 becomes continuous as Y + U, U uniform on [0, 1) and
independent of everything: Y + U determines Y (its integer part) and U, so
I(X; Y + U) = I(X; Y, U) = I(X; Y) exactly (dequantisation). The model then reads a continuous
column. U is a function of each row's content and of how many equal rows precede it
(:func:`occurrences`, :func:`mist.estimators.ksg.row_hashes`), so the answer does not depend on
the row order; each discrete side draws its own U, and the class codes' order, which carries no
information, is drawn afresh in each of ``PASSES`` passes; the passes' estimates and quantile
functions are averaged.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np

from mist._validation import as_samples, check_choice
from mist.errors import Finding, MistError, MistWarning
from mist.estimation import estimate_many
from mist.result import unit_scale

DISCRETE_SIDES = ("x", "y", "both")
#: Dequantised passes averaged per estimate (each a forward pass of the model).
PASSES = 4


def class_codes(values: Any, name: str) -> np.ndarray:
    """Each row's class as an integer 0..K-1 (classes sorted; several columns: their combination),
    (n,). Labels may be numbers or strings; missing labels, one class or nearly one class per
    row are errors."""
    import pandas as pd

    frame = pd.DataFrame(np.asarray(values, dtype=object) if not isinstance(values, (pd.DataFrame, pd.Series))
                         else values)
    if frame.ndim != 2 or frame.shape[1] == 0 or frame.shape[0] == 0:
        raise MistError(f"`{name}` must hold one label per row (a 1-D array or a table of label columns).")
    if frame.isna().to_numpy().any():
        row = int(np.flatnonzero(frame.isna().to_numpy().any(axis=1))[0])
        raise MistError(f"`{name}` has a missing label (first at row {row}); drop or fill those rows first.")
    codes = np.zeros(len(frame), dtype=np.int64)
    for column in frame.columns:  # mixed radix over the columns, then renumbered
        column_codes, uniques = pd.factorize(frame[column], sort=True)
        codes = codes * len(uniques) + column_codes
    codes = np.unique(codes, return_inverse=True)[1].reshape(-1)
    classes = int(codes.max()) + 1
    if classes == 1:
        raise MistError(f"`{name}` has one class only: its MI with anything is 0, and there is nothing to estimate.")
    if classes > len(codes) / 2:
        raise MistError(f"`{name}` has {classes} distinct values in {len(codes)} rows: too many for a discrete "
                        "variable (fewer than 2 rows a class on average); leave `discrete` unset to treat it as "
                        "continuous.")
    return codes


def occurrences(rows: np.ndarray) -> np.ndarray:
    """For each row, how many equal rows come before it (n,): equal rows then hash apart, and
    which of them gets which number does not matter, since they are equal."""
    _, group = np.unique(rows, axis=0, return_inverse=True)
    group = group.reshape(-1)
    order = np.argsort(group, kind="stable")
    starts = np.searchsorted(group[order], group[order])
    out = np.empty(len(rows), dtype=np.int64)
    out[order] = np.arange(len(rows)) - starts
    return out


def label_entropy(codes: np.ndarray) -> float:
    """The entropy of the classes ``codes`` (nats), Miller-Madow corrected: the plug-in entropy
    of the class shares plus (K - 1) / 2n, its bias to first order. I(X; Y) <= H(Y) for any X."""
    counts = np.bincount(codes)
    shares = counts[counts > 0] / len(codes)
    return float(-(shares * np.log(shares)).sum() + (len(shares) - 1) / (2 * len(codes)))


def dequantized(codes: np.ndarray, hashes: np.ndarray, passes: int = PASSES) -> list[np.ndarray]:
    """``passes`` continuous versions (n, 1) of the classes ``codes``: pass s codes the classes in
    a fixed random order s and adds the row's s-th hash (uniform on [0, 1))."""
    classes = int(codes.max()) + 1
    out = []
    for s in range(passes):
        order = np.random.default_rng(s).permutation(classes)
        out.append((order[codes] + hashes[s])[:, None].astype(np.float64))
    return out


def dequantized_sides(codes: list[np.ndarray], continuous: list[np.ndarray]) -> list[list[np.ndarray]]:
    """For each coded side of a dataset, its :data:`PASSES` dequantised versions (n, 1), each
    side with its own uniforms, drawn from the rows' content (the codes and the ``continuous``
    columns, (n, d) each) and their :func:`occurrences`."""
    from mist.estimators.ksg import row_hashes

    content = np.hstack([*(c[:, None].astype(np.float64) for c in codes), *continuous])
    hashes = row_hashes(np.hstack([content, occurrences(content)[:, None]]), len(codes) * PASSES)
    return [dequantized(c, hashes[k * PASSES:]) for k, c in enumerate(codes)]


def estimate_with_discrete(x: Any, y: Any, discrete: str, *, stacklevel: int, **options):
    """:func:`mist.estimate` with ``discrete`` naming the discrete side(s): the passes of
    :data:`PASSES` dequantised datasets, averaged into one result."""
    check_choice(discrete, "discrete", DISCRETE_SIDES)
    sides = {"x": x, "y": y}
    codes = {name: class_codes(value, name) for name, value in sides.items() if discrete in (name, "both")}
    continuous = {name: as_samples(value, name) for name, value in sides.items() if name not in codes}
    rows = {name: len(v) for name, v in (*codes.items(), *continuous.items())}
    if rows["x"] != rows["y"]:
        raise MistError(f"`x` and `y` must have the same number of samples (rows), got {rows['x']} and {rows['y']}.")
    versions = dict(zip(codes, dequantized_sides(list(codes.values()), list(continuous.values()))))
    pairs = [tuple(versions[name][s] if name in versions else continuous[name] for name in ("x", "y"))
             for s in range(PASSES)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MistWarning)
        passes = estimate_many(pairs, progress=False, **options)
    seen = set()
    for w in caught:  # each pass warns alike: once is enough
        if str(w.message) not in seen:
            seen.add(str(w.message))
            warnings.warn(w.message, w.category, stacklevel=stacklevel + 1)
    first = passes[0]
    # MI is at most the entropy of a discrete side: the cap, in the result's unit
    cap = min(label_entropy(c) for c in codes.values()) / unit_scale(options.get("base"))[0]
    grid = np.minimum(np.mean([[v for _, v in r.quantile_grid] for r in passes], axis=0), cap)
    taus = [t for t, _ in first.quantile_grid]
    bounds = [r.lower_bound for r in passes if r.lower_bound is not None]
    level = first.level
    estimate = float(np.mean([r.estimate for r in passes]))
    found = first.findings + (Finding("dequantized", f"{' and '.join(codes)} read as classes "
                                                     f"({', '.join(str(int(c.max()) + 1) for c in codes.values())}), "
                                                     f"averaged over {PASSES} dequantised passes"),)
    if estimate > cap:
        found += (Finding("entropy-cap", f"the model's estimate {estimate:.4f} {first.unit} exceeds the entropy of the "
                                         f"discrete side, {cap:.4f}, which bounds MI: capped there, and the interval "
                                         "with it; the model overestimates here, so its interval is unreliable"
                          ).warn(stacklevel=stacklevel + 1),)
    return dataclasses.replace(
        first, estimate=min(estimate, cap),
        low=float(np.interp((1 - level) / 2, taus, grid)), high=float(np.interp((1 + level) / 2, taus, grid)),
        quantiles={t: float(np.interp(t, taus, grid)) for t in first.quantiles}, findings=found,
        lower_bound=min(min(bounds), cap) if len(bounds) == PASSES else None,
        quantile_grid=tuple(zip(taus, grid.tolist())))

