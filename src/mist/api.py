"""``mist.estimate``: which of three answers a call gets, each from its own module.

- I(X;Y) of continuous columns: :mod:`mist.estimation`, the engine every estimate runs on
  (validation, ties, row subsets, the model's forward pass, the high-MI check);
- I(X;Y|Z), with ``z``: :mod:`mist.conditional`, the chain rule over four engine estimates;
- a side of class labels, with ``discrete``: :mod:`mist.discrete`, the labels made continuous
  without changing the MI, then the engine.

Every answer is a :class:`mist.result.MIResult`.
"""

from __future__ import annotations

from typing import Any, Sequence

from mist.conditional import estimate_conditional
from mist.discrete import estimate_with_discrete
from mist.errors import MistError
from mist.estimation import _estimate_batch
from mist.result import MIResult


def estimate(
    x: Any,
    y: Any,
    z: Any = None,
    *,
    discrete: str | None = None,
    model: str = "default",
    level: float = 0.9,
    quantiles: Sequence[float] | None = None,
    base: float | None = None,
    device: str | None = None,
    large_n: str = "subsets",
) -> MIResult:
    """Estimate the mutual information I(X;Y) from paired samples with the pretrained model.

    Parameters
    ----------
    x : array-like, shape (n, dim_x) or (n,)
        Samples of X (numpy, pandas, torch or lists); a 1-D input is one variable.
    y : array-like, shape (n, dim_y) or (n,)
        Samples of Y, row i paired with row i of x.
    z : array-like, shape (n, dim_z) or (n,), optional
        Samples of Z to condition on: the result is then the conditional MI I(X;Y|Z), by the
        chain rule over four estimates (:mod:`mist.conditional`; ``result.dim_z`` is set).
    discrete : {"x", "y", "both"}, optional
        The side(s) holding class labels (numbers or strings; several columns: their
        combination), as scikit-learn's ``mutual_info_classif`` takes a target: each is read as
        classes, made continuous without changing the MI (:mod:`mist.discrete`), and the
        estimate averaged over a few such passes.
    model : str, default "default"
        A shipped model name (see ``mist.weights.available_models()``), a model card path, or
        "ksg" for the KSG estimator (k = 5, on normal scores, bias-corrected, with an interval
        from KSG on random halves of the rows).
    level : float, default 0.9
        Probability mass of the interval [low, high] (central quantiles of the model).
    quantiles : sequence of float, optional
        Extra quantile levels in (0, 1) to return in ``result.quantiles``.
    base : float, optional
        Logarithm base of the unit: None or e for nats, 2 for bits.
    device : str, optional
        "cpu" (default) or "cuda".
    large_n : {"subsets", "direct"}, default "subsets"
        For n above the rows the model was trained on (its card's ``n_range``; 1,000 for the
        default): average over order-independent subsets of at most that many rows, or one pass
        over all rows (benchmarks/large_n.py).

    Returns
    -------
    MIResult
        ``estimate``, ``low``, ``high``, ``unit``, ``n``, ``dim_x``, ``dim_y``, ``model``,
        ``lower_bound``, ``findings`` (each a ``Finding(kind, message)``; ``notes``: their messages) ...

    Notes
    -----
    Invariant to row order, to the order of columns within x and within y, to swapping x and y,
    and to strictly increasing maps of any column (the model sees per-column ranks).
    Constant columns are ignored with a warning; MI is 0 when one side is all constant.

    The default model reads the copula correlations of the columns and, for every pair of a
    column of x and a column of y, how close the rows that neighbour in one column stay in the
    other (:func:`mist.model.lags.pair_lag_statistics`): it sees monotone, non-monotone
    (y = x^2 + noise), periodic and multimodal dependence alike, on data of any width.
    docs/model.md has its figures, inside and outside its training distributions.

    The model knows data like its training data only. A warning (and a note) says when a
    dataset lies outside: fewer rows or more columns a side than it was trained on, or, from 20
    rows on, a column of x and a column of y whose normal scores correlate surely above any pair
    in its training data, or so strongly that the model-free bound ``result.lower_bound`` lies
    above the model's interval. See ``HIGH_MI_Z`` and benchmarks/high_mi.py.

    Examples
    --------
    >>> import numpy as np, mist
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=500)
    >>> r = mist.estimate(x, x + rng.normal(size=500))  # exact MI: 1/2 log 2 = 0.3466 nats
    >>> print(r)
    I(X;Y) = 0.4023 nats, 90% interval [0.3442, 0.4864] (n=500, dim_x=1, dim_y=1, model=mist-pairs-3)
    >>> round(r.lower_bound, 4)  # model-free: MI is at least this (for any distribution)
    0.2672
    """
    if discrete is not None:
        if z is not None:
            raise MistError("`discrete` with `z` is not supported yet: estimate I(X;Y|Z) with continuous sides.")
        return estimate_with_discrete(x, y, discrete, stacklevel=2, model=model, level=level, quantiles=quantiles,
                                      base=base, device=device, large_n=large_n)
    if z is not None:
        return estimate_conditional(x, y, z, model=model, level=level, quantiles=quantiles, base=base,
                                    device=device, large_n=large_n)
    return _estimate_batch([(x, y)], model=model, level=level, quantiles=quantiles, base=base, device=device,
                           progress=False, large_n=large_n, name_pairs=False)[0]
