"""Datasets whose dependence is not monotone or not aligned with the columns, with exact MI (nats).

The training families (``families.py``) are Gaussian, Student-t and additive-noise bases under
per-coordinate increasing maps: every dependence there is visible in rank correlations of
matching columns. The relations here are not: y = x^2 + noise and a sign-flip mixture have
zero rank correlation (only their squares correlate), periodic and bumpy f need not show in
either, and an invertible map of all of X spreads one pair's dependence over every column. Each dataset is a sum of independent
blocks, each block one *pair relation* (one X column, one Y column) or a *single-index* block
(y depends on several X columns through one direction), so its MI is the exact sum of the
blocks' MIs; bijections within X and within Y, column permutations and increasing per-column
maps then leave it unchanged.

Pair relations, x ~ N(0, 1) unless said (``PairRelation``; split in brackets):

- ``fourier`` [train]: y = f(x) + sigma eps, f = a x + sum_k A_k sin(w_k x + phi_k), rescaled to
  Var f(X) = 1; sigma log-uniform in [0.02, 5]. ``bumps`` [held out]: f a sum of 1-3 Gaussian
  bumps. ``kinks`` [held out]: f = a x + sum_k c_k |x - t_k|. ``named`` [evaluation]: x^2,
  sin 3x, |x|, cos 2x, x tanh 3x, not rescaled, noise sd log-uniform in [0.05, 1]; the
  "named" split uses only these, with no side maps.
  MI = h(Y) - 1/2 log(2 pi e sigma^2) by ``noisy_function_mi_table``: the N(0, 1) mass of x is
  pushed through f onto a y grid (step sigma / 20) with a narrow Gaussian deposit of width
  tau = 1.5 steps, then blurred by N(0, sigma^2 - tau^2) with an FFT, so the density of Y is
  exact up to the x quadrature (uniform trapezoid, spectrally accurate for smooth f with step
  below sigma / max|f'|; Gauss-Legendre panels between known kinks). It agrees with
  1/2 log(1 + b^2 / sigma^2) for f = b x to 2e-10, and with ``beyond.noisy_function_mi`` on
  16,001 points to 1e-10 for x^2 and sin 3x, 2e-6 for |x| (that grid's own error there); 48
  noise levels of one function cost 4-6 ms.
- ``sign_flip`` [train]: y = S rho x + sqrt(1 - rho^2) eps, S = +-1 per row, rho in [0.3, 0.9975].
  Y ~ N(0, 1), so I = -1/2 log(1 - rho^2) - E_X H(rho |X| / sqrt(1 - rho^2)), H(a) the entropy
  of 1/2 N(a, 1) + 1/2 N(-a, 1) minus that of N(0, 1), by quadrature; tabulated once in
  rho, cubic interpolation. Quadrature and interpolation error below 1e-9 nats (steps halved,
  direct quadrature at untabulated rho); a 1e6-row Monte Carlo agrees within its SE.
- ``gaussian`` [train]: correlation rho with MI uniform in [0, 2.65] (|rho| <= 0.9975).
- ``mixture`` [train], ``mixture_heldout`` [held out]: 2-D Gaussian mixtures (2-4 components;
  held out: 5-6 components, or 2-4 very far apart and narrow) from a bank shipped as
  ``mist/data/mixture_bank.npz`` (``scripts/build_mixture_bank.py``): 300 + 100 mixtures, MI
  by Monte Carlo over 1e6 samples each, largest standard error 0.00094 nats
  (``MIXTURE_MAX_STANDARD_ERROR``; the build takes about 3 minutes on one core). x, y are not
  N(0, 1) here.
- ``independent``: heavy-tailed or skewed continuous marginals (Cauchy, lognormal,
  exponential), MI = 0.

Random functions come from a ``FunctionBank``: each function's MI is tabulated once on
``SIGMA_GRID`` (48 noise levels in [0.015, 6]) and a draw picks a function and a noise level,
its MI by a cubic spline in log sigma (error below 1e-6 nats, tested against direct
quadrature). 1,000 fourier functions build in about 6 s; ``default_banks`` (1,000 fourier,
300 bumps, 300 kinks) in about 9 s.

Side maps (``SideMap``; bijections of all of X, or of all of Y): ``rotation`` [train, Haar],
``coupling`` [train, additive coupling layers v_B += g(v_A) with bounded smooth g],
``spiral`` [held out, a rotation by alpha |v| in a random plane], ``flip_middle`` [held out,
per column]. Every held-out dataset either holds held-out kinds only, or training kinds
under a held-out map on at least one side (``description["mode"]``).

Speed (one core, after the banks are built): a dataset of n = 1,000 rows with 32 + 32 columns
takes about 3 ms, n = 200 with 4 + 4 about 0.3 ms (``sample_relation_dataset``). Everything
is deterministic given the ``numpy.random.Generator``. NumPy and SciPy only (no torch).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np
from scipy import fft as _fft
from scipy.interpolate import CubicSpline

from mist.distributions.beyond import flip_middle, random_rotation

# ---------------------------------------------------------------------------------------------
# constants

#: Noise levels on which every bank function's MI is tabulated (log-spaced).
SIGMA_GRID = np.geomspace(0.015, 6.0, 48)
#: Range of the noise sd of fourier / bumps / kinks draws (log-uniform).
NOISE_RANGE = (0.02, 5.0)
#: Range of the noise sd of named-function draws (log-uniform).
NAMED_NOISE_RANGE = (0.05, 1.0)
#: Range of rho for sign_flip draws (uniform).
SIGN_FLIP_RHO_RANGE = (0.3, 0.9975)
#: Largest |rho| of a gaussian draw; its MI is uniform in [0, -1/2 log(1 - rho_max^2)].
GAUSSIAN_RHO_MAX = 0.9975
#: Largest Monte-Carlo standard error of the shipped mixture bank (nats; see the build script).
MIXTURE_MAX_STANDARD_ERROR = 0.00095

FUNCTION_KINDS = ("fourier", "bumps", "kinks")
TRAIN_KINDS = ("fourier", "sign_flip", "gaussian", "mixture")
HELDOUT_KINDS = ("bumps", "kinks", "mixture_heldout")
SHARED_KINDS = ("independent",)  # MI 0, in every split but "named"
TRAIN_MAPS = ("rotation", "coupling")
HELDOUT_MAPS = ("spiral", "flip_middle")
SPLITS = ("train", "heldout", "named")
MONOTONE_MAPS = ("identity", "asinh", "cube", "exp")
NOISE_MARGINALS = ("normal", "cauchy", "lognormal", "exponential", "student3")
INDEPENDENT_MARGINALS = ("cauchy", "lognormal", "exponential")

#: Probability that a dependent block is single-index (several X columns, one direction).
SINGLE_INDEX_PROBABILITY = 0.25
MAX_SINGLE_INDEX_COLUMNS = 6

_X_LIMIT = 7.0  # x quadrature on [-7, 7]: N(0, 1) mass outside 2.6e-12
_NORMALISE_X = np.linspace(-_X_LIMIT, _X_LIMIT, 2801)
_NORMALISE_W = np.exp(-0.5 * _NORMALISE_X**2) / np.exp(-0.5 * _NORMALISE_X**2).sum()
_GL_ORDER = 16
_GL_X, _GL_W = np.polynomial.legendre.leggauss(_GL_ORDER)
_DEPOSIT_WIDTH = 1.5  # tau / y step of the Gaussian deposit
_DEPOSIT_HALF = 9  # deposit stencil: +-9 grid steps = +-6 tau
_MAX_GRID = 1 << 24


# ---------------------------------------------------------------------------------------------
# argument checks


def _check_rng(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"`rng` must be a numpy.random.Generator, got {type(rng).__name__}.")
    return rng


def _check_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"`{name}` must be an integer >= {low}, got {value!r}.")
    return int(value)


def _check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {', '.join(map(repr, choices))}; got {value!r}.")
    return value


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _pick(rng: np.random.Generator, options: Sequence[str], cumulative: np.ndarray) -> str:
    """options[i] with probability given by the cumulative weights (cheaper than rng.choice)."""
    return options[min(int(np.searchsorted(cumulative, rng.random(), side="right")), len(options) - 1)]


# ---------------------------------------------------------------------------------------------
# MI of y = f(x) + sigma * eps, x ~ N(0, 1), for many sigmas at once


def _x_nodes(step: float, breakpoints: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and normalised N(0, 1) weights on [-limit, limit]: a uniform trapezoid (spectrally
    accurate for a smooth integrand), or Gauss-Legendre panels between the breakpoints."""
    if breakpoints.size == 0:
        x = np.linspace(-limit, limit, 2 * math.ceil(limit / step) + 1)
        w = np.exp(-0.5 * x * x)
    else:
        edges = np.unique(np.concatenate([[-limit, limit], breakpoints[np.abs(breakpoints) < limit]]))
        lengths = np.diff(edges)
        panels = np.maximum(1, np.ceil(lengths / (_GL_ORDER * step))).astype(np.intp)
        widths = np.repeat(lengths / panels, panels)
        within = np.arange(panels.sum()) - np.repeat(np.cumsum(panels) - panels, panels)  # panel number in its piece
        left = np.repeat(edges[:-1], panels) + within * widths
        half = 0.5 * widths
        x = ((left + half)[:, None] + half[:, None] * _GL_X).ravel()
        w = (half[:, None] * _GL_W).ravel() * np.exp(-0.5 * x * x)
    return x, w / w.sum()


def _max_slope(f: Callable[[np.ndarray], np.ndarray], limit: float) -> float:
    x = np.linspace(-limit, limit, 7001)
    fx = np.asarray(f(x), dtype=float)
    if fx.shape != x.shape or not np.all(np.isfinite(fx)):
        raise ValueError("`f` must map a 1-D array of x values to finite values of the same shape.")
    return float(np.max(np.abs(np.diff(fx)))) / (x[1] - x[0])


def noisy_function_mi_table(f: Callable[[np.ndarray], np.ndarray], sigmas: Any, *,
                            breakpoints: Sequence[float] = (), y_step_ratio: float = 20.0) -> np.ndarray:
    """I(X; Y) in nats for X ~ N(0, 1), Y = f(X) + sigma * N(0, 1), for every sigma in ``sigmas``.

    I = h(Y) - 1/2 log(2 pi e sigma^2). The sigmas are taken in groups spanning a factor 2;
    per group, x nodes (step <= sigma_min / (1.25 max|f'|), at most 0.05) carry the N(0, 1)
    mass onto a y grid of step sigma_min / ``y_step_ratio`` with a Gaussian deposit of width
    tau = 1.5 steps, the masses are blurred by N(0, sigma^2 - tau^2) in Fourier space (the two
    Gaussians make exactly N(0, sigma^2)) and h(Y) is a Riemann sum. ``f`` must be vectorised;
    give the x where it has kinks as ``breakpoints`` (Gauss-Legendre panels then end there),
    else the x quadrature is only second order there. Accuracy ~1e-10 nats for smooth f (f = b x
    against 1/2 log(1 + b^2 / sigma^2)); cost 4-6 ms for 48 sigmas in [0.015, 6].

    >>> round(float(noisy_function_mi_table(np.square, [0.3])[0]), 4)
    1.141
    """
    sig = np.asarray(sigmas, dtype=float)
    if sig.ndim != 1 or sig.size == 0 or not np.all(np.isfinite(sig)) or np.any(sig <= 0):
        raise ValueError(f"`sigmas` must be a non-empty 1-D array of positive numbers, got {sigmas!r}.")
    if not callable(f):
        raise ValueError("`f` must be a callable (a vectorised function of x).")
    if not y_step_ratio >= 4:
        raise ValueError(f"`y_step_ratio` must be at least 4, got {y_step_ratio!r}.")
    bps = np.asarray(breakpoints, dtype=float).ravel()
    slope = max(_max_slope(f, _X_LIMIT), 1e-12)
    order = np.argsort(sig)
    ordered = sig[order]
    result = np.empty(sig.size)
    offsets = np.arange(-_DEPOSIT_HALF, _DEPOSIT_HALF + 1)
    start = 0
    while start < ordered.size:
        low = ordered[start]
        stop = int(np.searchsorted(ordered, 2.0 * low, side="right"))
        group = ordered[start:stop]
        dy = low / y_step_ratio
        x, w = _x_nodes(min(low / (1.25 * slope), 0.05), bps, _X_LIMIT)
        fx = np.asarray(f(x), dtype=float)
        pad = 9.5 * group[-1] + (_DEPOSIT_HALF + 2) * dy
        y0 = fx.min() - pad
        cells = int(math.ceil((fx.max() + pad - y0) / dy)) + 1
        if cells > _MAX_GRID:
            raise ValueError(f"f's range {fx.max() - fx.min():.3g} is too wide for sigma = {low:.3g}: "
                             f"{cells} grid cells (at most {_MAX_GRID}).")
        size = _fft.next_fast_len(cells, real=True)
        u = (fx - y0) / dy
        cell = np.floor(u).astype(np.intp)[:, None] + offsets
        deposit = w[:, None] * np.exp(-0.5 * ((cell - u[:, None]) / _DEPOSIT_WIDTH) ** 2)
        mass = np.bincount(cell.ravel(), deposit.ravel(), minlength=size)
        omega2 = (2 * np.pi * _fft.rfftfreq(size, dy)) ** 2
        blur = group**2 - (_DEPOSIT_WIDTH * dy) ** 2
        p = _fft.irfft(_fft.rfft(mass)[None, :] * np.exp(-0.5 * blur[:, None] * omega2[None, :]), n=size, axis=1)
        np.maximum(p, 0.0, out=p)
        p /= p.sum(axis=1, keepdims=True)
        h_y = -np.sum(p * np.log(np.maximum(p, 1e-300) / dy), axis=1)
        result[start:stop] = h_y - 0.5 * np.log(2 * np.pi * np.e * group**2)
        start = stop
    out = np.empty_like(result)
    out[order] = result
    return out


# ---------------------------------------------------------------------------------------------
# random functions: parameters as (padded) arrays, evaluation broadcast over functions


_MAX_TERMS = {"fourier": 4, "bumps": 3, "kinks": 3}


def _raw_function(kind: str, p: Mapping[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """f before normalisation; x (...,) against parameters (..., K) broadcast on the leading axes."""
    xe = x[..., None]
    if kind == "fourier":
        return p["slope"] * x + np.sum(p["amplitude"] * np.sin(xe * p["frequency"] + p["phase"]), axis=-1)
    if kind == "bumps":
        return np.sum(p["height"] * np.exp(-0.5 * ((xe - p["center"]) / p["width"]) ** 2), axis=-1)
    if kind == "kinks":
        return p["slope"] * x + np.sum(p["coefficient"] * np.abs(xe - p["knot"]), axis=-1)
    raise ValueError(f"`kind` must be one of {FUNCTION_KINDS}, got {kind!r}.")  # pragma: no cover


def evaluate_function(kind: str, params: Mapping[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """f(x) of a random function (normalised): scale * (raw(x) - offset). Vectorised; params
    may carry leading axes (several functions) matching x's trailing axes."""
    x = np.asarray(x, dtype=float)
    return params["scale"] * (_raw_function(kind, params, x) - params["offset"])


def _draw_raw_params(kind: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    k_max = _MAX_TERMS[kind]
    if kind == "fourier":
        k = int(rng.integers(1, k_max + 1))
        amplitude = np.zeros(k_max)
        amplitude[:k] = rng.normal(size=k)
        frequency = np.ones(k_max)
        frequency[:k] = rng.uniform(0.3, 4.0, size=k)
        phase = np.zeros(k_max)
        phase[:k] = rng.uniform(0, 2 * np.pi, size=k)
        slope = rng.normal() * float(rng.integers(0, 2))
        return {"slope": np.array(slope), "amplitude": amplitude, "frequency": frequency, "phase": phase}
    if kind == "bumps":
        k = int(rng.integers(1, k_max + 1))
        height = np.zeros(k_max)
        height[:k] = rng.normal(size=k)
        center = np.zeros(k_max)
        center[:k] = rng.normal(size=k)
        width = np.ones(k_max)
        width[:k] = rng.uniform(0.3, 1.5, size=k)
        return {"height": height, "center": center, "width": width}
    k = int(rng.integers(1, k_max + 1))
    coefficient = np.zeros(k_max)
    coefficient[:k] = rng.normal(size=k)
    knot = np.zeros(k_max)
    knot[:k] = rng.normal(0.0, 0.7, size=k)
    slope = rng.normal() * float(rng.integers(0, 2))
    return {"slope": np.array(slope), "coefficient": coefficient, "knot": knot}


def draw_function_params(kind: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Parameters of one random function of ``kind`` (fourier, bumps, kinks), with ``offset`` and
    ``scale`` set so that f(X) has mean 0 and variance 1 under X ~ N(0, 1) (on a fine grid)."""
    _check_choice(kind, "kind", FUNCTION_KINDS)
    _check_rng(rng)
    while True:
        p = _draw_raw_params(kind, rng)
        raw = _raw_function(kind, p, _NORMALISE_X)
        mean = float(_NORMALISE_W @ raw)
        var = float(_NORMALISE_W @ (raw - mean) ** 2)
        if var > 1e-6:  # else (rare: tiny amplitudes) draw again
            p["offset"] = np.array(mean)
            p["scale"] = np.array(1.0 / math.sqrt(var))
            return p


def function_breakpoints(kind: str, params: Mapping[str, np.ndarray]) -> np.ndarray:
    """The x where f has kinks (the used knots of a kinks function), else empty."""
    if kind == "kinks":
        return np.sort(np.asarray(params["knot"])[np.asarray(params["coefficient"]) != 0])
    return np.empty(0)


def _named_square(x: np.ndarray) -> np.ndarray:
    return x * x


def _named_sin3(x: np.ndarray) -> np.ndarray:
    return np.sin(3 * x)


def _named_cos2(x: np.ndarray) -> np.ndarray:
    return np.cos(2 * x)


def _named_xtanh3(x: np.ndarray) -> np.ndarray:
    return x * np.tanh(3 * x)


#: The evaluation functions: name -> (f, kinks). Not rescaled (Var f(X) is not 1).
NAMED_FUNCTIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], tuple[float, ...]]] = {
    "square": (_named_square, ()),
    "sin3": (_named_sin3, ()),
    "abs": (np.abs, (0.0,)),
    "cos2": (_named_cos2, ()),
    "xtanh3": (_named_xtanh3, ()),
}
_NAMED_SIGMA_GRID = np.geomspace(0.04, 1.25, 64)


class _Spline(NamedTuple):
    """Cubic splines of several tables on one increasing grid: coefficients (rows, cells, 4)."""

    grid: np.ndarray
    coefficients: np.ndarray

    @classmethod
    def fit(cls, grid: np.ndarray, table: np.ndarray) -> _Spline:
        c = CubicSpline(grid, np.atleast_2d(table), axis=1).c  # (4, cells, rows)
        return cls(grid, np.ascontiguousarray(np.moveaxis(c, (0, 1, 2), (2, 1, 0))))

    def __call__(self, row: Any, at: Any) -> np.ndarray:
        at = np.asarray(at, dtype=float)
        cell = np.clip(np.searchsorted(self.grid, at, side="right") - 1, 0, self.grid.size - 2)
        d = at - self.grid[cell]
        c = self.coefficients[row, cell]
        return ((c[..., 0] * d + c[..., 1]) * d + c[..., 2]) * d + c[..., 3]


@functools.lru_cache(maxsize=1)
def _named_splines() -> _Spline:
    table = np.stack([noisy_function_mi_table(f, _NAMED_SIGMA_GRID, breakpoints=kinks)
                      for f, kinks in NAMED_FUNCTIONS.values()])
    return _Spline.fit(np.log(_NAMED_SIGMA_GRID), table)


# ---------------------------------------------------------------------------------------------
# sign flip


@functools.lru_cache(maxsize=1)
def _mixture_excess_entropy() -> CubicSpline:
    """H(a) = h(1/2 N(a, 1) + 1/2 N(-a, 1)) - 1/2 log(2 pi e) on a in [0, 10] (log 2 beyond)."""
    a = np.linspace(0.0, 10.0, 2001)
    step = 0.1  # the integrand is smooth on the unit scale: exact to ~1e-15 already at 0.1
    y = np.arange(-22.0, 22.0 + step / 2, step)
    log_p = np.logaddexp(-0.5 * (y - a[:, None]) ** 2, -0.5 * (y + a[:, None]) ** 2) - np.log(2 * np.sqrt(2 * np.pi))
    h = -np.sum(np.exp(log_p) * log_p, axis=1) * step
    return CubicSpline(a, h - 0.5 * np.log(2 * np.pi * np.e))


def _sign_flip_mi_quadrature(rho: Any, *, x_step: float = 0.004) -> np.ndarray:
    """Direct quadrature of I(rho) = -1/2 log(1 - rho^2) - E_X H(rho |X| / sqrt(1 - rho^2))."""
    rho = np.abs(np.atleast_1d(np.asarray(rho, dtype=float)))
    x = np.arange(0.0, 8.0 + x_step / 2, x_step)
    w = np.exp(-0.5 * x * x)
    w[0] *= 0.5
    w /= w.sum()
    excess = _mixture_excess_entropy()
    out = np.empty(rho.size)
    for i, r in enumerate(rho):
        a = r / math.sqrt(1 - r * r) * x
        out[i] = -0.5 * math.log1p(-r * r) - w @ np.where(a < 10.0, excess(np.minimum(a, 10.0)), math.log(2))
    return out


@functools.lru_cache(maxsize=1)
def _sign_flip_spline() -> CubicSpline:
    g = np.linspace(-0.5 * math.log1p(-0.2**2), -0.5 * math.log1p(-0.998**2), 500)  # the Gaussian MI
    rho = np.sqrt(-np.expm1(-2 * g))
    return CubicSpline(g, _sign_flip_mi_quadrature(rho))


def sign_flip_mi(rho: Any) -> np.ndarray:
    """MI of y = S rho x + sqrt(1 - rho^2) eps (S = +-1 fair, x, eps ~ N(0, 1)), |rho| in
    [0.25, 0.998], by a cubic spline in -1/2 log(1 - rho^2) through 500 quadratures (error
    < 1e-9 nats)."""
    r = np.abs(np.asarray(rho, dtype=float))
    if np.any(r < 0.25) or np.any(r > 0.998):
        raise ValueError(f"`rho` must lie in [0.25, 0.998] in absolute value, got {rho!r}.")
    return _sign_flip_spline()(-0.5 * np.log1p(-r * r))


# ---------------------------------------------------------------------------------------------
# pair relations


def _marginal(name: str, size: Any, rng: np.random.Generator) -> np.ndarray:
    if name == "normal":
        return rng.standard_normal(size)
    if name == "cauchy":
        return rng.standard_cauchy(size)
    if name == "lognormal":
        return rng.lognormal(0.0, 1.0, size)
    if name == "exponential":
        return rng.exponential(1.0, size)
    if name == "student3":
        return rng.standard_t(3.0, size)
    raise ValueError(f"unknown marginal {name!r}")  # pragma: no cover


_NORMAL_X_KINDS = ("fourier", "bumps", "kinks", "named", "sign_flip", "gaussian")
ALL_KINDS = TRAIN_KINDS + HELDOUT_KINDS + SHARED_KINDS + ("named",)


@dataclass(frozen=True, eq=False)
class PairRelation:
    """One X column, one Y column, and their MI (nats).

    ``params`` by kind: fourier / bumps / kinks: the function's arrays (see ``evaluate_function``)
    and ``sigma``; named: ``name``, ``sigma``; sign_flip, gaussian: ``rho``; mixture(_heldout):
    ``weights`` (K,), ``means`` (K, 2), ``chol`` (K, 2, 2); independent: ``x_marginal``,
    ``y_marginal``. ``mi_standard_error`` is 0 except for mixtures (Monte Carlo).
    """

    kind: str
    params: Mapping[str, Any]
    mi: float
    mi_standard_error: float = 0.0

    def function(self, x: Any) -> np.ndarray:
        """f(x) of a function kind (fourier, bumps, kinks, named)."""
        x = np.asarray(x, dtype=float)
        if self.kind in FUNCTION_KINDS:
            return evaluate_function(self.kind, self.params, x)
        if self.kind == "named":
            return NAMED_FUNCTIONS[self.params["name"]][0](x)
        raise ValueError(f"relation kind {self.kind!r} has no function f")

    def sample_y(self, x: Any, rng: np.random.Generator) -> np.ndarray:
        """y given x (which must be N(0, 1) for the MI to hold), for the kinds with x ~ N(0, 1)."""
        x = np.asarray(x, dtype=float)
        if self.kind in FUNCTION_KINDS or self.kind == "named":
            return self.function(x) + self.params["sigma"] * rng.standard_normal(x.shape)
        rho = self.params.get("rho")
        if self.kind == "sign_flip":
            sign = np.where(rng.random(x.shape) < 0.5, -1.0, 1.0)
            return sign * rho * x + math.sqrt(1 - rho * rho) * rng.standard_normal(x.shape)
        if self.kind == "gaussian":
            return rho * x + math.sqrt(1 - rho * rho) * rng.standard_normal(x.shape)
        raise ValueError(f"relation kind {self.kind!r} does not have x ~ N(0, 1); use sample()")

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n rows: x (n,), y (n,)."""
        n = _check_int(n, "n", 1)
        if self.kind in _NORMAL_X_KINDS:
            x = rng.standard_normal(n)
            return x, self.sample_y(x, rng)
        if self.kind in ("mixture", "mixture_heldout"):
            cumulative = np.cumsum(self.params["weights"])
            label = np.minimum(np.searchsorted(cumulative, rng.random(n) * cumulative[-1], side="right"),
                               cumulative.size - 1)
            z = rng.standard_normal((n, 2))
            means, chol = self.params["means"][label], self.params["chol"][label]
            x = means[:, 0] + chol[:, 0, 0] * z[:, 0]
            y = means[:, 1] + chol[:, 1, 0] * z[:, 0] + chol[:, 1, 1] * z[:, 1]
            return x, y
        if self.kind == "independent":
            return _marginal(self.params["x_marginal"], n, rng), _marginal(self.params["y_marginal"], n, rng)
        raise ValueError(f"unknown relation kind {self.kind!r}")  # pragma: no cover


def named_relation(name: str, sigma: float) -> PairRelation:
    """y = f(x) + sigma eps for a named f (``NAMED_FUNCTIONS``), sigma in [0.04, 1.25]."""
    _check_choice(name, "name", tuple(NAMED_FUNCTIONS))
    if not 0.04 <= sigma <= 1.25:
        raise ValueError(f"`sigma` must lie in [0.04, 1.25] for a named relation, got {sigma!r}.")
    row = list(NAMED_FUNCTIONS).index(name)
    return PairRelation("named", {"name": name, "sigma": float(sigma)}, float(_named_splines()(row, math.log(sigma))))


def sign_flip_relation(rho: float) -> PairRelation:
    """y = S rho x + sqrt(1 - rho^2) eps with a fair random sign S per row."""
    return PairRelation("sign_flip", {"rho": float(rho)}, float(sign_flip_mi(rho)))


def gaussian_relation(rho: float) -> PairRelation:
    """Bivariate normal with correlation rho: MI = -1/2 log(1 - rho^2)."""
    if not -1 < rho < 1:
        raise ValueError(f"`rho` must lie in (-1, 1), got {rho!r}.")
    return PairRelation("gaussian", {"rho": float(rho)}, -0.5 * math.log1p(-rho * rho))


# ---------------------------------------------------------------------------------------------
# function bank


@dataclass(frozen=True, eq=False)
class FunctionBank:
    """Random functions of one kind with their MI tabulated on ``sigma_grid``.

    ``params`` holds arrays with one row per function; ``mi_table`` is (count, len(sigma_grid)).
    ``draw`` picks a function and a noise level log-uniform in ``NOISE_RANGE``; its MI is a cubic
    spline in log sigma of the table.
    """

    kind: str
    params: Mapping[str, np.ndarray]
    sigma_grid: np.ndarray
    mi_table: np.ndarray
    _spline: _Spline

    @classmethod
    def build(cls, kind: str, count: int, rng: np.random.Generator, *,
              sigma_grid: Any = SIGMA_GRID) -> FunctionBank:
        """``count`` random functions of ``kind`` (fourier, bumps, kinks); 4-6 ms each."""
        _check_choice(kind, "kind", FUNCTION_KINDS)
        count = _check_int(count, "count", 1)
        _check_rng(rng)
        grid = np.asarray(sigma_grid, dtype=float)
        if grid.ndim != 1 or grid.size < 4 or np.any(np.diff(grid) <= 0) or grid[0] <= 0:
            raise ValueError("`sigma_grid` must be an increasing 1-D array of at least 4 positive values.")
        if grid[0] > NOISE_RANGE[0] or grid[-1] < NOISE_RANGE[1]:
            raise ValueError(f"`sigma_grid` must cover the noise range {NOISE_RANGE}.")
        rows = [draw_function_params(kind, rng) for _ in range(count)]
        params = {key: np.stack([r[key] for r in rows]) for key in rows[0]}
        table = np.empty((count, grid.size))
        for i, r in enumerate(rows):
            table[i] = noisy_function_mi_table(functools.partial(evaluate_function, kind, r), grid,
                                               breakpoints=function_breakpoints(kind, r))
        return cls(kind, params, grid, table, _Spline.fit(np.log(grid), table))

    def __len__(self) -> int:
        return self.mi_table.shape[0]

    def row(self, index: int) -> dict[str, np.ndarray]:
        return {key: value[index] for key, value in self.params.items()}

    def mi(self, index: Any, sigma: Any) -> np.ndarray:
        """Interpolated MI of function(s) ``index`` at noise sd ``sigma`` (broadcast)."""
        sigma = np.asarray(sigma, dtype=float)
        if np.any(sigma < self.sigma_grid[0]) or np.any(sigma > self.sigma_grid[-1]):
            raise ValueError(f"`sigma` must lie in the tabulated range [{self.sigma_grid[0]}, {self.sigma_grid[-1]}].")
        return self._spline(index, np.log(sigma))

    def relation(self, index: int, sigma: float) -> PairRelation:
        params = self.row(index)
        params["sigma"] = float(sigma)
        params["index"] = int(index)
        return PairRelation(self.kind, params, float(self.mi(index, sigma)))

    def draw(self, rng: np.random.Generator) -> PairRelation:
        """A random function of the bank with sigma log-uniform in ``NOISE_RANGE``."""
        index = int(rng.integers(len(self)))
        return self.relation(index, _log_uniform(rng, *NOISE_RANGE))


# ---------------------------------------------------------------------------------------------
# Gaussian mixtures in the (x, y) plane


def _random_covariance_2d(rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    angle = rng.uniform(0, np.pi)
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return (rot * np.exp(rng.uniform(np.log(low), np.log(high), size=2))) @ rot.T


def random_mixture(setting: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights (K,), means (K, 2), covariances (K, 2, 2) of a random 2-D Gaussian mixture.

    "train": K in 2-4, means ~ N(0, s^2 I) with s ~ U(0.5, 2.5), covariance eigenvalues
    log-uniform in [0.05, 1], random orientations, weights ~ Dirichlet(2). "heldout": half the
    time K in {5, 6} (s ~ U(1, 3), eigenvalues in [0.03, 0.5]), half the time K in 2-4 far apart
    and narrow (s ~ U(4, 8), eigenvalues in [0.01, 0.1]).
    """
    _check_choice(setting, "setting", ("train", "heldout"))
    if setting == "train":
        k, spread, eig = int(rng.integers(2, 5)), rng.uniform(0.5, 2.5), (0.05, 1.0)
    elif rng.random() < 0.5:
        k, spread, eig = int(rng.integers(5, 7)), rng.uniform(1.0, 3.0), (0.03, 0.5)
    else:
        k, spread, eig = int(rng.integers(2, 5)), rng.uniform(4.0, 8.0), (0.01, 0.1)
    weights = rng.dirichlet(np.full(k, 2.0))
    means = spread * rng.normal(size=(k, 2))
    covariances = np.stack([_random_covariance_2d(rng, *eig) for _ in range(k)])
    return weights, means, covariances


def _mixture_log_ratio(z: np.ndarray, log_w: np.ndarray, means: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """log p(x, y) - log p(x) - log p(y) at the rows of z (m, 2), exact mixture densities."""
    a, b, c = cov[:, 0, 0], cov[:, 0, 1], cov[:, 1, 1]
    det = a * c - b * b
    dx = z[:, :1] - means[:, 0]
    dy = z[:, 1:] - means[:, 1]
    joint = log_w - np.log(2 * np.pi) - 0.5 * np.log(det) - 0.5 * (c * dx * dx - 2 * b * dx * dy + a * dy * dy) / det
    px = log_w - 0.5 * np.log(2 * np.pi * a) - 0.5 * dx * dx / a
    py = log_w - 0.5 * np.log(2 * np.pi * c) - 0.5 * dy * dy / c
    return _logsumexp_rows(joint) - _logsumexp_rows(px) - _logsumexp_rows(py)


def _logsumexp_rows(a: np.ndarray) -> np.ndarray:
    """log sum exp along axis 1, shifted by the row maximum (as scipy.special.logsumexp, at half
    its cost without its checks: the rows here are finite)."""
    top = a.max(axis=1)
    return top + np.log(np.exp(a - top[:, None]).sum(axis=1))


def mixture_mi_monte_carlo(weights: np.ndarray, means: np.ndarray, covariances: np.ndarray, samples: int,
                           rng: np.random.Generator, *, chunk: int = 250_000) -> tuple[float, float]:
    """(MI, its standard error) of a 2-D Gaussian mixture: the mean of the exact log density
    ratio log p(x, y) - log p(x) - log p(y) over ``samples`` fresh draws."""
    samples = _check_int(samples, "samples", 2)
    weights = np.asarray(weights, dtype=float)
    means = np.asarray(means, dtype=float)
    covariances = np.asarray(covariances, dtype=float)
    chol = np.linalg.cholesky(covariances)
    log_w = np.log(weights)
    total = square = 0.0
    done = 0
    while done < samples:
        m = min(chunk, samples - done)
        label = rng.choice(weights.size, size=m, p=weights / weights.sum())
        z = means[label] + np.einsum("nij,nj->ni", chol[label], rng.standard_normal((m, 2)))
        r = _mixture_log_ratio(z, log_w, means, covariances)
        total += float(r.sum())
        square += float(np.square(r).sum())
        done += m
    mean = total / samples
    var = max(square / samples - mean * mean, 0.0) * samples / (samples - 1)
    return mean, math.sqrt(var / samples)


def build_mixture_bank(count: int, setting: str, rng: np.random.Generator, *, samples: int = 1_000_000,
                       target_standard_error: float = 0.004, max_samples: int = 4_000_000) -> dict[str, np.ndarray]:
    """``count`` random mixtures of ``setting`` as padded arrays, each with its Monte-Carlo MI.

    Each MI uses ``samples`` draws; where the standard error exceeds ``target_standard_error``
    the estimate is redone with enough draws (at most ``max_samples``) to reach it.
    """
    count = _check_int(count, "count", 1)
    mixtures = [random_mixture(setting, rng) for _ in range(count)]
    k_max = max(w.size for w, _, _ in mixtures)
    out = {"weights": np.zeros((count, k_max)), "means": np.zeros((count, k_max, 2)),
           "covariances": np.tile(np.eye(2), (count, k_max, 1, 1)), "components": np.zeros(count, dtype=np.int64),
           "mi": np.zeros(count), "mi_standard_error": np.zeros(count), "samples": np.zeros(count, dtype=np.int64)}
    for i, (w, mu, cov) in enumerate(mixtures):
        k = w.size
        out["weights"][i, :k], out["means"][i, :k], out["covariances"][i, :k], out["components"][i] = w, mu, cov, k
        n = samples
        mi, se = mixture_mi_monte_carlo(w, mu, cov, n, rng)
        if se > target_standard_error and n < max_samples:
            n = min(max_samples, int(math.ceil(n * (se / target_standard_error) ** 2 * 1.1)))
            mi, se = mixture_mi_monte_carlo(w, mu, cov, n, rng)
        out["mi"][i], out["mi_standard_error"][i], out["samples"][i] = mi, se, n
    return out


_BANK_PATH = Path(__file__).resolve().parent.parent / "data" / "mixture_bank.npz"
_BANK_FIELDS = ("weights", "means", "covariances", "components", "mi", "mi_standard_error", "samples")


@dataclass(frozen=True, eq=False)
class MixtureBank:
    """2-D Gaussian mixtures (padded to the largest component count) with Monte-Carlo MI."""

    kind: str  # "mixture" or "mixture_heldout"
    weights: np.ndarray  # (count, K_max), 0 past ``components``
    means: np.ndarray  # (count, K_max, 2)
    covariances: np.ndarray  # (count, K_max, 2, 2), identity past ``components``
    components: np.ndarray  # (count,)
    mi: np.ndarray  # (count,)
    mi_standard_error: np.ndarray  # (count,)
    chol: np.ndarray  # (count, K_max, 2, 2)

    def __len__(self) -> int:
        return self.mi.size

    def relation(self, index: int) -> PairRelation:
        k = int(self.components[index])
        params = {"weights": self.weights[index, :k], "means": self.means[index, :k], "chol": self.chol[index, :k],
                  "index": int(index)}
        return PairRelation(self.kind, params, float(self.mi[index]), float(self.mi_standard_error[index]))

    def draw(self, rng: np.random.Generator) -> PairRelation:
        return self.relation(int(rng.integers(len(self))))


@functools.lru_cache(maxsize=4)
def load_mixture_bank(split: str = "train", path: str | None = None) -> MixtureBank:
    """The shipped mixture bank's "train" (kind ``mixture``) or "heldout" (``mixture_heldout``) part."""
    _check_choice(split, "split", ("train", "heldout"))
    with np.load(Path(path) if path is not None else _BANK_PATH, allow_pickle=False) as data:
        arrays = {field: np.array(data[f"{split}_{field}"]) for field in _BANK_FIELDS}
    arrays["chol"] = np.linalg.cholesky(arrays["covariances"])
    for value in arrays.values():
        value.flags.writeable = False  # shared by every caller (cached)
    return MixtureBank("mixture" if split == "train" else "mixture_heldout", arrays["weights"], arrays["means"],
                       arrays["covariances"], arrays["components"], arrays["mi"], arrays["mi_standard_error"],
                       arrays["chol"])


# ---------------------------------------------------------------------------------------------
# banks used by the dataset sampler


@dataclass(frozen=True, eq=False)
class RelationBanks:
    """Everything ``sample_relation_dataset`` draws from (None: that kind is unavailable)."""

    fourier: FunctionBank | None = None
    bumps: FunctionBank | None = None
    kinks: FunctionBank | None = None
    mixture: MixtureBank | None = None
    mixture_heldout: MixtureBank | None = None


def build_relation_banks(rng: np.random.Generator, *, fourier: int = 1000, bumps: int = 300, kinks: int = 300,
                         mixtures: bool = True) -> RelationBanks:
    """Function banks of the given sizes (4-6 ms a function) and the shipped mixture banks."""
    _check_rng(rng)
    return RelationBanks(
        fourier=FunctionBank.build("fourier", fourier, rng) if fourier else None,
        bumps=FunctionBank.build("bumps", bumps, rng) if bumps else None,
        kinks=FunctionBank.build("kinks", kinks, rng) if kinks else None,
        mixture=load_mixture_bank("train") if mixtures else None,
        mixture_heldout=load_mixture_bank("heldout") if mixtures else None,
    )


@functools.lru_cache(maxsize=1)
def default_banks() -> RelationBanks:
    """``build_relation_banks`` with seed 0, built once per process (about 9 s)."""
    return build_relation_banks(np.random.default_rng(0))


def random_relation(kind: str, rng: np.random.Generator, banks: RelationBanks | None = None) -> PairRelation:
    """One random pair relation of ``kind`` (banks needed for function and mixture kinds)."""
    _check_choice(kind, "kind", ALL_KINDS)
    if kind in FUNCTION_KINDS or kind in ("mixture", "mixture_heldout"):
        bank = getattr(banks, kind, None)
        if bank is None:
            raise ValueError(f"`banks` has no {kind!r} bank, which this draw needs.")
        return bank.draw(rng)
    if kind == "named":
        names = tuple(NAMED_FUNCTIONS)
        return named_relation(names[int(rng.integers(len(names)))], _log_uniform(rng, *NAMED_NOISE_RANGE))
    if kind == "sign_flip":
        return sign_flip_relation(rng.uniform(*SIGN_FLIP_RHO_RANGE))
    if kind == "gaussian":
        mi = rng.uniform(0.0, -0.5 * math.log1p(-GAUSSIAN_RHO_MAX**2))
        rho = math.sqrt(-math.expm1(-2 * mi)) * (1.0 if rng.random() < 0.5 else -1.0)
        return PairRelation("gaussian", {"rho": rho}, mi)
    pick = INDEPENDENT_MARGINALS
    marginals = {"x_marginal": pick[int(rng.integers(len(pick)))], "y_marginal": pick[int(rng.integers(len(pick)))]}
    return PairRelation("independent", marginals, 0.0)


# ---------------------------------------------------------------------------------------------
# bijections within one side


@dataclass(frozen=True, eq=False)
class SideMap:
    """A bijection of R^dim applied to the rows of an (n, dim) block (MI exactly unchanged)."""

    kind: str
    dim: int
    params: Mapping[str, Any]

    def apply(self, v: Any) -> np.ndarray:
        return self._run(v, forward=True)

    def inverse(self, v: Any) -> np.ndarray:
        return self._run(v, forward=False)

    def _run(self, v: Any, forward: bool) -> np.ndarray:
        v = np.array(v, dtype=float)  # a copy
        if v.ndim != 2 or v.shape[1] != self.dim:
            raise ValueError(f"`v` must have shape (n, {self.dim}), got {v.shape}.")
        p = self.params
        if self.kind == "identity":
            return v
        if self.kind == "rotation":
            return v @ (p["rotation"] if forward else p["rotation"].T)
        if self.kind == "flip_middle":
            return flip_middle(v, p["width"])
        if self.kind == "spiral":
            basis = p["basis"]
            a = v @ basis
            angle = (p["alpha"] if forward else -p["alpha"]) * np.hypot(a[:, 0], a[:, 1])
            cos, sin = np.cos(angle), np.sin(angle)
            turned = np.stack([cos * a[:, 0] - sin * a[:, 1], sin * a[:, 0] + cos * a[:, 1]], axis=1)
            return v + (turned - a) @ basis.T
        if self.kind == "coupling":
            layers = p["layers"]
            order = range(len(layers)) if forward else range(len(layers) - 1, -1, -1)
            for i in order:
                source, target, proj, shift, out, rot = layers[i]
                if forward and rot is not None:
                    v = v @ rot
                step = np.sin(v[:, source] @ proj + shift) @ out
                v[:, target] += step if forward else -step
                if not forward and rot is not None:
                    v = v @ rot.T
            return v
        raise ValueError(f"unknown side map {self.kind!r}")  # pragma: no cover


def random_side_map(kind: str, dim: int, rng: np.random.Generator) -> SideMap:
    """A random side map: "identity", "rotation" (Haar), "coupling" (1-3 additive coupling
    layers, dim >= 2), "spiral" (dim >= 2), "flip_middle" (per-column width ~ U(0.5, 1.5))."""
    _check_choice(kind, "kind", ("identity",) + TRAIN_MAPS + HELDOUT_MAPS)
    dim = _check_int(dim, "dim", 1)
    if kind in ("coupling", "spiral") and dim < 2:
        raise ValueError(f"`dim` must be at least 2 for a {kind} map, got {dim}.")
    if kind == "identity":
        return SideMap(kind, dim, {})
    if kind == "rotation":
        return SideMap(kind, dim, {"rotation": random_rotation(dim, rng)})
    if kind == "flip_middle":
        return SideMap(kind, dim, {"width": rng.uniform(0.5, 1.5, size=dim)})
    if kind == "spiral":
        return SideMap(kind, dim, {"basis": random_rotation(dim, rng)[:, :2], "alpha": rng.uniform(0.5, 2.0)})
    perm = rng.permutation(dim)
    cut = int(rng.integers(1, dim))
    groups = (perm[:cut], perm[cut:])
    layers = []
    for i in range(int(rng.integers(1, 4))):
        source, target = groups[i % 2], groups[(i + 1) % 2]
        features = 3
        proj = rng.normal(size=(source.size, features)) * rng.uniform(0.5, 2.0) / math.sqrt(source.size)
        shift = rng.uniform(0, 2 * np.pi, size=features)
        out = rng.normal(size=(features, target.size)) * rng.uniform(0.5, 2.0) / math.sqrt(features)
        rot = random_rotation(dim, rng) if i > 0 and rng.random() < 0.5 else None
        layers.append((source, target, proj, shift, out, rot))
    return SideMap(kind, dim, {"layers": tuple(layers)})


def _monotone(name: str, t: np.ndarray) -> np.ndarray:
    """A strictly increasing map of one column (exp is scaled so that it cannot overflow)."""
    if name == "asinh":
        return np.arcsinh(t)
    if name == "cube":
        return t * t * t
    if name == "exp":
        return np.exp(t / max(1.0, float(np.max(np.abs(t))) / 30.0))
    return t


# ---------------------------------------------------------------------------------------------
# datasets


class RelationDataset(NamedTuple):
    x: np.ndarray  # (n, dim_x)
    y: np.ndarray  # (n, dim_y)
    mi: float  # nats: the sum of the blocks' MIs
    mi_standard_error: float  # Monte-Carlo part (mixture blocks), 0 when all blocks are exact
    description: dict  # split, mode, kinds, block_mi, single_index_columns, x_map, y_map, noise, monotone


class RelationDatasetBatch(NamedTuple):
    x: np.ndarray  # (count, n, dim_x)
    y: np.ndarray  # (count, n, dim_y)
    mi: np.ndarray  # (count,)
    mi_standard_error: np.ndarray  # (count,)
    descriptions: list


def _cumulative(weights: dict[str, float]) -> tuple[tuple[str, ...], np.ndarray]:
    w = np.array(list(weights.values()))
    return tuple(weights), np.cumsum(w / w.sum())


# pair-block kinds by mode; single-index function kinds by mode
_MODE_KINDS = {
    "train": _cumulative({"fourier": 0.4, "sign_flip": 0.2, "gaussian": 0.2, "mixture": 0.15, "independent": 0.05}),
    "heldout_kinds": _cumulative({"bumps": 0.35, "kinks": 0.35, "mixture_heldout": 0.25, "independent": 0.05}),
    "named": _cumulative({"named": 1.0}),
}
_MODE_KINDS["heldout_maps"] = _MODE_KINDS["train"]
_SINGLE_INDEX_KINDS = {"train": ("fourier",), "heldout_kinds": ("bumps", "kinks"), "heldout_maps": ("fourier",)}
#: Chances of no dependent block, a few (1-3), any number (1 to the most) and the most.
BLOCK_REGIMES = (0.05, 0.35, 0.35, 0.25)


def _block_count(most: int, rng: np.random.Generator, regimes: Sequence[float] = BLOCK_REGIMES) -> int:
    regime = int(np.searchsorted(np.cumsum(regimes) / np.sum(regimes), rng.random(), side="right"))
    if regime == 0:
        return 0
    if regime == 1:
        return int(rng.integers(1, min(3, most) + 1))
    if regime == 2:
        return int(rng.integers(1, most + 1))
    return most


def _single_index_block(relation: PairRelation, k: int, n: int,
                        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """z (n, k) ~ N(0, I) and y (n,) = the relation's y given u = z w, w a random unit vector:
    u ~ N(0, 1) and y depends on z only through u, so I(z; y) = I(u; y) = relation.mi."""
    z = rng.standard_normal((n, k))
    w = rng.standard_normal(k)
    return z, relation.sample_y(z @ (w / np.linalg.norm(w)), rng)


def _side_map_kind(mode: str, dim: int, forced: bool, rng: np.random.Generator, probability: float) -> str:
    if mode == "named" or (not forced and rng.random() < 1.0 - probability):
        return "identity"
    if mode == "train":
        return "identity" if dim == 1 else ("rotation" if rng.random() < 0.5 else "coupling")
    return "flip_middle" if dim == 1 or rng.random() < 0.5 else "spiral"


def sample_relation_dataset(n: int, dim_x: int, dim_y: int, rng: np.random.Generator, *, split: str = "train",
                            banks: RelationBanks | None = None, map_probability: float = 0.5,
                            block_regimes: Sequence[float] = BLOCK_REGIMES) -> RelationDataset:
    """One dataset of n rows: independent dependent blocks, noise columns, side maps, shuffles.

    The number of dependent blocks is 0 (5%), 1-3 (35%), 1 to min(dim_x, dim_y) (35%) or
    min(dim_x, dim_y) (25%). Each block is, with probability 0.25 (where X columns allow), a
    single-index block: 2-6 N(0, 1) X columns z, u = z w for a random unit w, one Y column
    f(u) + noise, MI = I(u; y); else a pair relation of the split's kinds ("train": fourier,
    sign_flip, gaussian, mixture, independent; "heldout": bumps, kinks, mixture_heldout,
    independent, or half the time the training kinds under a forced held-out map; "named": the
    named functions, no side maps). Remaining columns are N(0, 1), or half the time each of a
    random heavy-tailed or skewed law. Then a side map of all of X and one of all of Y (each
    with probability 1/2; train: rotation or coupling, held out: spiral or flip_middle), a
    random column permutation per side, and half the time a random increasing map per column.
    ``banks`` defaults to ``default_banks()`` (built once, about 9 s). ``map_probability``: the
    chance of a side map on each side (where a held-out map is not forced); ``block_regimes``:
    the chances of the four block counts above (``BLOCK_REGIMES``).
    """
    if not 0.0 <= map_probability <= 1.0:
        raise ValueError(f"`map_probability` must lie in [0, 1], got {map_probability!r}.")
    n = _check_int(n, "n", 1)
    dim_x = _check_int(dim_x, "dim_x", 1)
    dim_y = _check_int(dim_y, "dim_y", 1)
    _check_rng(rng)
    _check_choice(split, "split", SPLITS)
    if banks is None and split != "named":
        banks = default_banks()
    mode = split
    if split == "heldout":
        mode = "heldout_kinds" if rng.random() < 0.5 else "heldout_maps"
    kinds, cumulative = _MODE_KINDS[mode]
    blocks = _block_count(min(dim_x, dim_y), rng, block_regimes)
    x = np.empty((n, dim_x))
    y = np.empty((n, dim_y))
    cx = cy = 0
    block_kinds, block_mi, block_columns, se2 = [], [], [], 0.0
    for b in range(blocks):
        spare = dim_x - cx - (blocks - b - 1)  # X columns this block may use, leaving one per later block
        if mode != "named" and spare >= 2 and rng.random() < SINGLE_INDEX_PROBABILITY:
            options = _SINGLE_INDEX_KINDS[mode]
            rel = random_relation(options[int(rng.integers(len(options)))], rng, banks)
            k = int(rng.integers(2, min(spare, MAX_SINGLE_INDEX_COLUMNS) + 1))
            x[:, cx:cx + k], y[:, cy] = _single_index_block(rel, k, n, rng)
        else:
            rel = random_relation(_pick(rng, kinds, cumulative), rng, banks)
            k = 1
            x[:, cx], y[:, cy] = rel.sample(n, rng)
        cx += k
        cy += 1
        block_kinds.append(rel.kind)
        block_mi.append(rel.mi)
        block_columns.append(k if k > 1 else 0)
        se2 += rel.mi_standard_error**2
    noise = "normal" if rng.random() < 0.5 else "mixed"
    for block, start in ((x, cx), (y, cy)):
        if noise == "normal":
            block[:, start:] = rng.standard_normal((n, block.shape[1] - start))
        else:
            for j in range(start, block.shape[1]):
                block[:, j] = _marginal(NOISE_MARGINALS[int(rng.integers(len(NOISE_MARGINALS)))], n, rng)
    forced = (False, False)
    if mode == "heldout_maps":
        side = int(rng.integers(3))  # X, Y or both get a held-out map
        forced = (side != 1, side != 0)
    maps = []
    for i, block in enumerate((x, y)):
        kind = _side_map_kind(mode, block.shape[1], forced[i], rng, map_probability)
        maps.append(kind)
        if kind != "identity":
            block[...] = random_side_map(kind, block.shape[1], rng).apply(block)
    x = x[:, rng.permutation(dim_x)]
    y = y[:, rng.permutation(dim_y)]
    monotone = rng.random() < 0.5
    if monotone:
        for block in (x, y):
            for j in range(block.shape[1]):
                block[:, j] = _monotone(MONOTONE_MAPS[int(rng.integers(len(MONOTONE_MAPS)))], block[:, j])
    description = {"split": split, "mode": mode, "kinds": tuple(block_kinds), "block_mi": tuple(block_mi),
                   "single_index_columns": tuple(block_columns), "x_map": maps[0], "y_map": maps[1],
                   "noise": noise, "monotone": monotone}
    return RelationDataset(x, y, float(sum(block_mi)), math.sqrt(se2), description)


def sample_relation_datasets(count: int, n: int, dim_x: int, dim_y: int, rng: np.random.Generator, *,
                             split: str = "train", banks: RelationBanks | None = None,
                             map_probability: float = 0.5,
                             block_regimes: Sequence[float] = BLOCK_REGIMES) -> RelationDatasetBatch:
    """``count`` datasets of one shape stacked as (count, n, dim_x), (count, n, dim_y)."""
    count = _check_int(count, "count", 1)
    n = _check_int(n, "n", 1)
    dim_x = _check_int(dim_x, "dim_x", 1)
    dim_y = _check_int(dim_y, "dim_y", 1)
    _check_choice(split, "split", SPLITS)
    if banks is None and split != "named":
        banks = default_banks()
    x = np.empty((count, n, dim_x))
    y = np.empty((count, n, dim_y))
    mi = np.empty(count)
    se = np.empty(count)
    descriptions = []
    for i in range(count):
        d = sample_relation_dataset(n, dim_x, dim_y, rng, split=split, banks=banks, map_probability=map_probability,
                                    block_regimes=block_regimes)
        x[i], y[i], mi[i], se[i] = d.x, d.y, d.mi, d.mi_standard_error
        descriptions.append(d.description)
    return RelationDatasetBatch(x, y, mi, se, descriptions)


__all__ = [
    "SIGMA_GRID", "NOISE_RANGE", "NAMED_NOISE_RANGE", "SIGN_FLIP_RHO_RANGE", "GAUSSIAN_RHO_MAX",
    "MIXTURE_MAX_STANDARD_ERROR", "FUNCTION_KINDS", "TRAIN_KINDS", "HELDOUT_KINDS", "SHARED_KINDS", "ALL_KINDS",
    "TRAIN_MAPS", "HELDOUT_MAPS", "SPLITS", "NAMED_FUNCTIONS",
    "noisy_function_mi_table", "evaluate_function", "draw_function_params", "function_breakpoints",
    "sign_flip_mi", "PairRelation", "named_relation", "sign_flip_relation", "gaussian_relation",
    "FunctionBank", "random_mixture", "mixture_mi_monte_carlo", "build_mixture_bank", "MixtureBank",
    "load_mixture_bank", "RelationBanks", "build_relation_banks", "default_banks", "random_relation",
    "BLOCK_REGIMES", "SideMap", "random_side_map", "RelationDataset", "RelationDatasetBatch", "sample_relation_dataset",
    "sample_relation_datasets",
]
