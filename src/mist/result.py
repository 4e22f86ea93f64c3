"""What an estimate returns: :class:`MIResult`, and the unit its figures are in."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mist._validation import check_level
from mist.errors import MistError

_UNITS = {math.e: "nats", 2.0: "bits", 10.0: "hartleys"}


def unit_scale(base: float | None) -> tuple[float, str]:
    """(log base, unit name) of ``base``: what a figure in nats is divided by, and its unit's name."""
    if base is None:
        return 1.0, "nats"
    if not isinstance(base, (int, float)) or isinstance(base, bool) or base <= 1:
        raise MistError(f"`base` must be a number > 1 (2 for bits, e for nats), got {base!r}.")
    for b, name in _UNITS.items():
        if abs(float(base) - b) < 1e-12:
            return math.log(b), name
    return math.log(base), f"log base {base:g}"


@dataclass(frozen=True)
class MIResult:
    """A mutual information estimate with its interval and quantiles, in ``unit``.

    ``low`` and ``high`` are the (1 - level)/2 and (1 + level)/2 quantiles predicted by the
    model (MIST-QR); ``quantiles`` maps any requested tau to its value. ``model`` names what
    answered: a model's name from its card, or ``"ksg"``.
    ``lower_bound`` is a model-free lower bound on the MI from the strongest pair of a column of
    x and a column of y, -1/2 log(1 - r^2) at the lower confidence end of their normal scores'
    correlation r (``HIGH_MI_Z`` standard errors below; finite also where their ranks agree);
    None below ``HIGH_MI_MIN_ROWS`` rows or where a column looks discrete (``DISCRETE_SHARE``).
    :meth:`quantile` and :meth:`interval` read the predicted distribution at any level in
    [0.001, 0.999] after the fact (exact at ``QUANTILE_GRID`` and at the levels asked for,
    interpolated linearly between).

    Examples
    --------
    >>> import numpy as np, mist
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=500)
    >>> r = mist.estimate(x, x + rng.normal(size=500))  # exact MI: 1/2 log 2 = 0.3466 nats
    >>> tuple(round(v, 4) for v in r.interval(0.5)), round(r.quantile(0.99), 4), r.unit
    ((0.3742, 0.4257), 0.5746, 'nats')
    """

    estimate: float
    low: float
    high: float
    level: float
    unit: str
    n: int
    dim_x: int
    dim_y: int
    model: str
    quantiles: dict = field(default_factory=dict)
    findings: tuple = ()  # Finding(kind, message), in the order the checks ran
    lower_bound: float | None = None
    quantile_grid: tuple = field(default=(), repr=False)  # ((tau, value), ...) by increasing tau
    dim_z: int | None = None  # the columns conditioned on: the result is I(X;Y|Z) (mist.estimate(..., z=...))

    def __float__(self) -> float:
        return float(self.estimate)

    @property
    def notes(self) -> tuple:
        """The findings' messages."""
        return tuple(f.message for f in self.findings)

    def quantile(self, tau: float) -> float:
        """The predicted tau-quantile of the MI, in ``unit``, for tau in [0.001, 0.999]."""
        taus, values = self._grid()
        if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not taus[0] - 1e-12 <= tau <= taus[-1] + 1e-12:
            raise MistError(f"`tau` must be a number in [{taus[0]:g}, {taus[-1]:g}], got {tau!r}; for more extreme "
                            "levels pass them to estimate(..., quantiles=[...]).")
        return float(np.interp(tau, taus, values))

    def interval(self, level: float = 0.9) -> tuple[float, float]:
        """The central interval holding the MI with probability ``level``, in ``unit``."""
        level, lowest = check_level(level), self._grid()[0][0]
        if (1 - level) / 2 < lowest - 1e-12:
            raise MistError(f"`level` must be at most {1 - 2 * lowest:g} here, got {level!r}; for a wider interval "
                            "pass its ends to estimate(..., quantiles=[...]).")
        return self.quantile((1 - level) / 2), self.quantile((1 + level) / 2)

    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.quantile_grid:
            raise MistError("this result carries no quantile function (it was built by hand).")
        taus, values = zip(*self.quantile_grid)
        return np.asarray(taus), np.asarray(values)

    def to_dict(self) -> dict:
        """The fields as a JSON-safe dict."""
        out = {k: getattr(self, k) for k in ("estimate", "low", "high", "level", "unit", "n", "dim_x", "dim_y", "model")}
        if self.dim_z is not None:
            out["dim_z"] = self.dim_z
        out["quantiles"] = {str(k): v for k, v in self.quantiles.items()}
        out["findings"] = [f._asdict() for f in self.findings]
        out["lower_bound"] = self.lower_bound
        return out

    def __str__(self) -> str:
        quantity, dims = "I(X;Y)", f"dim_x={self.dim_x}, dim_y={self.dim_y}"
        if self.dim_z is not None:
            quantity, dims = "I(X;Y|Z)", f"{dims}, dim_z={self.dim_z}"
        return (f"{quantity} = {self.estimate:.4f} {self.unit}, {self.level:.0%} interval "
                f"[{self.low:.4f}, {self.high:.4f}] (n={self.n}, {dims}, model={self.model})")

    def _repr_html_(self) -> str:  # notebooks: the summary, then what else the result says
        from html import escape

        lines = [] if self.lower_bound is None else [f"model-free lower bound: {self.lower_bound:.4f} {self.unit}"]
        lines += [f"quantile {tau:g}: {value:.4f} {self.unit}" for tau, value in self.quantiles.items()]
        lines += [f"note: {note}" for note in self.notes]
        items = "".join(f"<li>{escape(line)}</li>" for line in lines)
        return f"<div><code>{escape(str(self))}</code>" + (f"<ul>{items}</ul>" if items else "") + "</div>"


#: The levels every result's quantile function is computed at (besides those asked for).
QUANTILE_GRID = (0.001, 0.005, *(round(0.01 * k, 2) for k in range(1, 100)), 0.995, 0.999)
