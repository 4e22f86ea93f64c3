"""Conditional mutual information I(X;Y|Z) by the chain rule, and the conditional independence
test built on it.

I(X;Y|Z) = I(X; Y,Z) - I(X; Z) = I(Y; X,Z) - I(Y; Z). The estimate is the mean of the two
forms, each a difference of two estimates of :func:`mist.estimate_many` (four forward passes of
the learned model in one batch; symmetric in X and Y). Its distribution: each form's deviation
from its median at level tau combines the two terms' deviations (the first's at tau, the
second's at 1 - tau, since it is subtracted) as ``scale * sqrt(a^2 + b^2)``, and the two forms'
deviations are averaged. ``scale`` is fitted per model (its card's ``conditional_calibration``,
:func:`fit_conditional_scale`) on the training split of
:mod:`mist.distributions.conditional`; a model without it uses 1 and says so in a finding.
Unlike MI, the difference can fall below 0 where X and Y are independent given Z; the estimate
and quantiles are clipped at 0, and :func:`ci_test` reads the unclipped distribution.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple, Sequence

import numpy as np

from mist._validation import check_level, check_xyz
from mist.errors import Finding, MistWarning
from mist.estimation import KSG, estimate_many, interval_taus
from mist.result import QUANTILE_GRID, MIResult, unit_scale


class _ChainRule(NamedTuple):
    """I(X;Y|Z) in nats, before clipping at 0: the estimate, and its distribution at ``taus``,
    ``centre + scale * spread``."""

    estimate: float
    taus: np.ndarray
    centre: float  # the mean of the two forms' differences of medians
    spread: np.ndarray  # (T,) the combined deviations at scale 1
    scale: float
    findings: tuple
    model: str
    dims: tuple[int, int, int, int]  # n, dim_x, dim_y, dim_z

    @property
    def quantiles(self) -> np.ndarray:
        return self.centre + self.scale * self.spread


TERMS = ("I(X; Y,Z)", "I(X; Z)", "I(Y; X,Z)", "I(Y; Z)")


def _chain_rule(x, y, z, *, model: str, device: str | None, large_n: str, stacklevel: int,
                scale: float | None = None) -> _ChainRule:
    """The chain rule's estimate and distribution; what the four terms found is warned once per
    kind at ``stacklevel`` (counted from here, as ``warnings.warn`` counts). ``scale``: the
    spread factor (default: the model's fitted one)."""
    x, y, z = check_xyz(x, y, z)
    with warnings.catch_warnings():  # each term's findings are merged below and warned once
        warnings.simplefilter("ignore", MistWarning)
        terms = estimate_many([(x, np.hstack([y, z])), (x, z), (y, np.hstack([x, z])), (y, z)], model=model,
                              device=device, large_n=large_n, progress=False)
    taus = np.array(QUANTILE_GRID)  # symmetric: reversed, it is 1 - tau
    mean = np.array([r.estimate for r in terms])
    quant = np.array([np.interp(taus, *zip(*r.quantile_grid)) for r in terms])  # (4, T), exact at the grid
    median = np.array([r.quantile(0.5) for r in terms])
    fitted, findings = conditional_scale(model, device)
    scale = fitted if scale is None else scale
    a = quant[[0, 2]] - median[[0, 2], None]  # the first term of each form, at tau
    b = quant[[1, 3], ::-1] - median[[1, 3], None]  # the subtracted one, at 1 - tau
    spread = (np.sqrt(a**2 + b**2) * np.sign(taus - 0.5)).mean(axis=0)
    estimate = float(np.mean(mean[[0, 2]] - mean[[1, 3]]))
    centre = float(np.mean(median[[0, 2]] - median[[1, 3]]))
    seen = {f.kind for f in findings}
    for term, result in zip(TERMS, terms):
        for f in result.findings:
            if f.kind not in seen:  # one finding per kind: the first term that found it
                seen.add(f.kind)
                findings.append(Finding(f.kind, f"{term}: {f.message}"))
    for f in findings:
        if f.warning is not None:
            f.warn(stacklevel=stacklevel + 1)
    return _ChainRule(estimate, taus, centre, spread, scale, tuple(findings), terms[0].model,
                      (x.shape[0], x.shape[1], y.shape[1], z.shape[1]))


def conditional_scale(model: str, device: str | None = None) -> tuple[float, list]:
    """The fitted spread factor of the chain rule for a model (its card's
    ``conditional_calibration``), or 1 with a finding where the model has none (and for KSG)."""
    from mist.weights import load_predictor

    card = {} if model == KSG else load_predictor(model, device).card
    fitted = card.get("conditional_calibration")
    if fitted:
        return float(fitted["scale"]), []
    return 1.0, [Finding("conditional-uncalibrated", f"{card.get('name', model)} has no fitted spread for conditional "
                                                     "MI: the interval combines the terms' as if independent")]


#: What the chain rule's spread factor is fitted on (``fit_conditional_scale``).
CONDITIONAL_FIT_DATASETS = 1000
CONDITIONAL_FIT_SEED = 4242


def conditional_fit_set(count: int = CONDITIONAL_FIT_DATASETS, seed: int = CONDITIONAL_FIT_SEED) -> list:
    """``count`` triples of the training split of :mod:`mist.distributions.conditional`: n
    log-uniform in 100..1000, 1-8 columns each for X, Y and Z."""
    from mist.distributions.conditional import sample_conditional

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        n = int(np.exp(rng.uniform(np.log(100), np.log(1000))))
        out.append(sample_conditional(n, *(int(d) for d in rng.integers(1, 9, 3)), rng, split="train"))
    return out


def fit_conditional_scale(model: str, datasets=None, level: float = 0.9) -> dict:
    """The spread factor whose ``level`` interval holds the exact CMI on that share of
    ``datasets`` (default :func:`conditional_fit_set`), for the model card."""
    datasets = conditional_fit_set() if datasets is None else datasets
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MistWarning)
        chains = [_chain_rule(d.x, d.y, d.z, model=model, device=None, large_n="subsets", stacklevel=1, scale=1.0)
                  for d in datasets]
    truth = np.array([d.cmi for d in datasets])
    ends = [(1 - level) / 2, (1 + level) / 2]

    def held(scale: float) -> float:
        bounds = np.array([np.interp(ends, c.taus, np.maximum(c.centre + scale * c.spread, 0.0)) for c in chains])
        return float(np.mean((bounds[:, 0] <= truth + 1e-9) & (truth <= bounds[:, 1])))

    scales = np.round(np.arange(0.25, 6.0001, 0.05), 2)
    coverage = np.array([held(s) for s in scales])
    scale = float(scales[np.argmax(coverage >= level)]) if (coverage >= level).any() else float(scales[-1])
    estimates = np.array([max(c.estimate, 0.0) for c in chains])
    return {"scale": scale, "level": level, "held": held(scale), "datasets": len(datasets),
            "mse": float(np.mean((estimates - truth) ** 2)),
            "fitted_on": f"conditional_fit_set({len(datasets)}, seed={CONDITIONAL_FIT_SEED}): "
                         "mist.distributions.conditional, split 'train'"}


def estimate_conditional(x: Any, y: Any, z: Any, *, model: str = "default", level: float = 0.9,
                         quantiles: Sequence[float] | None = None, base: float | None = None,
                         device: str | None = None, large_n: str = "subsets") -> MIResult:
    """I(X;Y|Z) with an interval: :func:`mist.estimate` with ``z`` (the module's docstring says how)."""
    level = check_level(level)
    scale, unit = unit_scale(base)
    asked = interval_taus(level, quantiles)
    # user -> estimate -> here -> _chain_rule
    chain = _chain_rule(x, y, z, model=model, device=device, large_n=large_n, stacklevel=3)
    values = np.maximum(np.interp(asked, chain.taus, chain.quantiles), 0.0) / scale
    grid = np.maximum(chain.quantiles, 0.0) / scale
    n, dim_x, dim_y, dim_z = chain.dims
    return MIResult(estimate=max(chain.estimate, 0.0) / scale, low=float(values[0]), high=float(values[2]),
                    level=level, unit=unit, n=n, dim_x=dim_x, dim_y=dim_y, dim_z=dim_z, model=chain.model,
                    quantiles={t: float(v) for t, v in zip(asked[3:], values[3:])}, findings=chain.findings,
                    quantile_grid=tuple(sorted({**dict(zip(chain.taus.tolist(), grid.tolist())),
                                                **dict(zip(asked, values.tolist()))}.items())))


class CITestResult(NamedTuple):
    """A conditional independence test of X and Y given Z: ``pvalue`` and the decision at ``alpha``."""

    statistic: float  # the estimate of I(X;Y|Z), nats, before clipping at 0
    pvalue: float
    alpha: float
    independent: bool  # not rejected at alpha
    model: str
    findings: tuple

    def __str__(self) -> str:
        verdict = "not rejected" if self.independent else "rejected"
        return (f"X independent of Y given Z: {verdict} at alpha={self.alpha:g} (p = {self.pvalue:.4g}; I(X;Y|Z) "
                f"estimate {self.statistic:.4f} nats, model={self.model})")


def ci_test(x: Any, y: Any, z: Any, *, alpha: float = 0.05, model: str = "default", device: str | None = None,
            large_n: str = "subsets") -> CITestResult:
    """Test whether X and Y are independent given Z (H0: I(X;Y|Z) = 0).

    The p-value is the probability the estimate's distribution (unclipped; the module's
    docstring) puts at or below 0: where its quantiles are calibrated and X and Y are independent
    given Z, it is uniform, so rejecting at p <= ``alpha`` errs at rate ``alpha``.
    benchmarks/conditional.py measures the false positive rate on held-out families and the
    power against a KSG-CMI permutation test.
    """
    alpha = check_level(alpha, "alpha")
    chain = _chain_rule(x, y, z, model=model, device=device, large_n=large_n, stacklevel=2)
    pvalue = float(np.interp(0.0, chain.quantiles, chain.taus, left=0.0, right=1.0))
    return CITestResult(chain.estimate, pvalue, alpha, pvalue > alpha, chain.model, chain.findings)
