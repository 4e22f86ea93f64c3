"""Distribution families with exact mutual information, sampled in batches with torch.

A family is addressed by the paper's name ``<base>-<structure>-<transform>``, e.g.
``multi_student-sparse-asinh``; ``multi_additive_noise-<transform>`` has no structure part.
Hyperparameters are drawn per dataset from :class:`Priors` (the published recipe by default).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch

from mist.distributions.exact import additive_uniform_noise_mi, gaussian_mi, student_t_correction
from mist.distributions.structures import (
    dense_correlation,
    latent_variable_covariance,
    sparse_correlation,
)
from mist.distributions.transforms import TRANSFORMS, apply_transform
from mist.errors import MistError

BASES = ("multi_normal", "multi_student", "multi_additive_noise")
STRUCTURES = ("dense", "sparse", "2pair", "lvm")


@dataclass(frozen=True)
class Priors:
    """Uniform priors over hyperparameters (closed intervals); defaults are the published recipe.

    ``n`` and ``dim`` are integer ranges used by samplers of whole datasets (training, test grids);
    the rest are per-dataset hyperparameters. ``n_interacting`` is always uniform on
    ``[1, min(dim_x, dim_y)]``.
    """

    n: tuple[int, int] = (10, 500)
    dim: tuple[int, int] = (2, 32)
    off_diag: tuple[float, float] = (0.0, 0.5)
    strength: tuple[float, float] = (0.1, 5.0)
    alpha: tuple[float, float] = (0.0, 1.0)
    lambd: tuple[float, float] = (0.1, 3.0)
    beta: tuple[float, float] = (0.0, 1.5)
    eta: tuple[float, float] = (0.1, 5.0)
    df: tuple[float, float] = (1.0, 10.0)
    noise: tuple[float, float] = (0.1, 2.0)

    def to_dict(self) -> dict:
        return {k: list(v) for k, v in asdict(self).items()}


DEFAULT_PRIORS = Priors()


class DatasetBatch(NamedTuple):
    """A batch of datasets sharing (n, dim_x, dim_y) and a family.

    x: (B, n, dim_x), y: (B, n, dim_y), mi: (B,) float64 exact MI in nats,
    params: per-dataset hyperparameters, each a tensor with leading dimension B.
    """

    x: torch.Tensor
    y: torch.Tensor
    mi: torch.Tensor
    params: dict[str, torch.Tensor]
    family: "Family"


def _uniform(bounds: tuple[float, float], batch: int, generator: torch.Generator, device) -> torch.Tensor:
    low, high = bounds
    u = torch.rand(batch, generator=generator, device=device, dtype=torch.float64)
    return low + (high - low) * u


def _randint(low: int, high: int, batch: int, generator: torch.Generator, device) -> torch.Tensor:
    """Uniform integers on the closed interval [low, high]."""
    return torch.randint(low, high + 1, (batch,), generator=generator, device=device)


def sample_gamma(concentration: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """Gamma(concentration, 1) draws of shape (B, n) from an explicit generator, in float64.

    Marsaglia and Tsang's (2000) squeeze method, vectorised: every round draws for all cells and
    fills those not yet accepted, so the stream consumed depends only on the seed.
    Concentrations below 1 use Gamma(a) = Gamma(a + 1) * U^(1/a).
    """
    device = concentration.device
    a = concentration.to(torch.float64)[:, None].expand(-1, n)
    boost = a < 1
    shape = torch.where(boost, a + 1, a)
    d = shape - 1.0 / 3.0
    c = 1.0 / torch.sqrt(9.0 * d)
    out = torch.empty_like(shape)
    done = torch.zeros_like(shape, dtype=torch.bool)
    while not bool(done.all()):
        z = torch.randn(shape.shape, generator=generator, device=device, dtype=torch.float64)
        u = torch.rand(shape.shape, generator=generator, device=device, dtype=torch.float64)
        v = (1.0 + c * z) ** 3
        log_v = torch.log(v.clamp_min(1e-300))
        accept = (v > 0) & (torch.log(u) < 0.5 * z * z + d - d * v + d * log_v)
        fresh = accept & ~done
        out = torch.where(fresh, d * v, out)
        done = done | accept
    u = torch.rand(shape.shape, generator=generator, device=device, dtype=torch.float64)
    return torch.where(boost, out * u ** (1.0 / a), out)


@dataclass(frozen=True)
class Family:
    """One meta-distribution family: a base distribution, a correlation structure, a transform."""

    base: str
    structure: str | None
    transform: str

    def __post_init__(self):
        if self.base not in BASES:
            raise MistError(f"unknown base family {self.base!r}; expected one of {list(BASES)}.")
        if self.base == "multi_additive_noise":
            if self.structure is not None:
                raise MistError("`multi_additive_noise` takes no structure: use 'multi_additive_noise-<transform>'.")
        elif self.structure not in STRUCTURES:
            raise MistError(
                f"unknown structure {self.structure!r} for {self.base}; expected one of {list(STRUCTURES)}."
            )
        if self.transform not in TRANSFORMS:
            raise MistError(f"unknown transform {self.transform!r}; expected one of {list(TRANSFORMS)}.")

    @classmethod
    def from_name(cls, name: str) -> "Family":
        """Parse a paper-style name such as ``multi_normal-dense-base``."""
        parts = str(name).split("-")
        if len(parts) == 2 and parts[0] == "multi_additive_noise":
            return cls(parts[0], None, parts[1])
        if len(parts) == 3:
            return cls(parts[0], parts[1], parts[2])
        raise MistError(
            f"cannot parse family name {name!r}: expected '<base>-<structure>-<transform>' "
            "(e.g. 'multi_student-sparse-asinh') or 'multi_additive_noise-<transform>'."
        )

    @property
    def name(self) -> str:
        if self.structure is None:
            return f"{self.base}-{self.transform}"
        return f"{self.base}-{self.structure}-{self.transform}"

    def __str__(self) -> str:
        return self.name

    def supports(self, dim_x: int, dim_y: int) -> bool:
        """Whether the family exists for these dimensions."""
        if dim_x < 1 or dim_y < 1:
            return False
        if self.base == "multi_additive_noise":
            return dim_x == dim_y
        if self.structure == "2pair":
            return min(dim_x, dim_y) >= 2
        return True

    def _check_dims(self, dim_x: int, dim_y: int) -> None:
        if not self.supports(dim_x, dim_y):
            rule = {
                "multi_additive_noise": "needs dim_x == dim_y",
                "2pair": "needs dim_x >= 2 and dim_y >= 2",
            }.get(self.base if self.base == "multi_additive_noise" else self.structure, "needs dims >= 1")
            raise MistError(f"family {self.name} {rule}, got dim_x={dim_x}, dim_y={dim_y}.")

    # -- hyperparameters ------------------------------------------------------------------
    def sample_params(
        self,
        batch: int,
        dim_x: int,
        dim_y: int,
        *,
        generator: torch.Generator,
        priors: Priors = DEFAULT_PRIORS,
    ) -> dict[str, torch.Tensor]:
        """Draw hyperparameters for ``batch`` datasets from ``priors``; includes the matrix ``corr``."""
        self._check_dims(dim_x, dim_y)
        device = generator.device
        p: dict[str, torch.Tensor] = {}
        if self.base == "multi_additive_noise":
            low, high = priors.noise
            u = torch.rand(batch, dim_x, generator=generator, device=device, dtype=torch.float64)
            p["eps"] = low + (high - low) * u
            return p
        m = min(dim_x, dim_y)
        if self.structure == "dense":
            p["off_diag"] = _uniform(priors.off_diag, batch, generator, device)
            p["corr"] = dense_correlation(p["off_diag"], dim_x, dim_y)
        elif self.structure in ("sparse", "2pair"):
            if self.structure == "sparse":
                p["n_interacting"] = _randint(1, m, batch, generator, device)
            else:
                p["n_interacting"] = torch.full((batch,), 2, device=device, dtype=torch.long)
            p["strength"] = _uniform(priors.strength, batch, generator, device)
            p["corr"] = sparse_correlation(p["n_interacting"], p["strength"], dim_x, dim_y)
        else:  # lvm
            p["n_interacting"] = _randint(1, m, batch, generator, device)
            for key in ("alpha", "lambd", "beta", "eta"):
                p[key] = _uniform(getattr(priors, key), batch, generator, device)
            p["corr"] = latent_variable_covariance(
                p["n_interacting"], p["alpha"], p["lambd"], p["beta"], p["eta"], dim_x, dim_y
            )
        if self.base == "multi_student":
            p["df"] = _uniform(priors.df, batch, generator, device)
        return p

    # -- exact mutual information ---------------------------------------------------------
    def mutual_information(self, params: dict[str, torch.Tensor], dim_x: int, dim_y: int) -> torch.Tensor:
        """Exact MI in nats for each dataset's hyperparameters; shape (B,), float64."""
        if self.base == "multi_additive_noise":
            return additive_uniform_noise_mi(params["eps"])
        mi = gaussian_mi(params["corr"], dim_x)
        if self.base == "multi_student":
            mi = mi + student_t_correction(params["df"], dim_x, dim_y)
        return mi

    # -- samples ----------------------------------------------------------------------------
    def sample(
        self,
        params: dict[str, torch.Tensor],
        n: int,
        dim_x: int,
        dim_y: int,
        *,
        generator: torch.Generator,
        dtype: torch.dtype = torch.float32,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw n rows per dataset; returns x (B, n, dim_x) and y (B, n, dim_y)."""
        self._check_dims(dim_x, dim_y)
        device = generator.device
        if self.base == "multi_additive_noise":
            eps = params["eps"]
            batch = eps.shape[0]
            x = torch.rand(batch, n, dim_x, generator=generator, device=device, dtype=torch.float64)
            u = torch.rand(batch, n, dim_x, generator=generator, device=device, dtype=torch.float64)
            y = x + (2.0 * u - 1.0) * eps[:, None, :]
        else:
            corr = params["corr"]
            batch, d = corr.shape[0], corr.shape[-1]
            chol = torch.linalg.cholesky(corr)
            z = torch.randn(batch, n, d, generator=generator, device=device, dtype=torch.float64)
            joint = z @ chol.transpose(-1, -2)
            if self.base == "multi_student":
                df = params["df"]
                w = 2.0 * sample_gamma(df / 2.0, n, generator)  # chi-squared(df), one per row
                joint = joint / torch.sqrt(w / df[:, None])[..., None]
            x, y = joint[..., :dim_x], joint[..., dim_x:]
        x, y = apply_transform(self.transform, x, y)
        return x.to(dtype), y.to(dtype)


def sample_datasets(
    family: Family | str,
    n: int,
    dim_x: int,
    dim_y: int,
    batch: int = 1,
    *,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
    priors: Priors = DEFAULT_PRIORS,
    dtype: torch.dtype = torch.float32,
) -> DatasetBatch:
    """Sample ``batch`` datasets of ``n`` rows from ``family``, each with its own hyperparameters.

    Give either ``seed`` (a fresh generator on ``device``) or ``generator``. The same seed gives
    the same data on the same device.

    Example
    -------
    >>> b = sample_datasets("multi_normal-2pair-base", n=100, dim_x=3, dim_y=4, batch=2, seed=0)
    >>> tuple(b.x.shape), tuple(b.y.shape), tuple(b.mi.shape)
    ((2, 100, 3), (2, 100, 4), (2,))
    """
    if isinstance(family, str):
        family = Family.from_name(family)
    if generator is None:
        if seed is None:
            raise MistError("pass `seed` or `generator` to `sample_datasets` so the draw is reproducible.")
        generator = torch.Generator(device=device)
        generator.manual_seed(int(seed))
    for name, value, low in (("n", n, 1), ("dim_x", dim_x, 1), ("dim_y", dim_y, 1), ("batch", batch, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise MistError(f"`{name}` must be an integer >= {low}, got {value!r}.")
    params = family.sample_params(batch, dim_x, dim_y, generator=generator, priors=priors)
    x, y = family.sample(params, n, dim_x, dim_y, generator=generator, dtype=dtype)
    mi = family.mutual_information(params, dim_x, dim_y)
    return DatasetBatch(x, y, mi, params, family)


def describe_params(params: dict[str, torch.Tensor], index: int) -> dict:
    """The scalar hyperparameters of dataset ``index`` as plain Python values (no matrices)."""
    out = {}
    for key, value in params.items():
        if key == "corr":
            continue
        v = value[index]
        out[key] = v.tolist() if v.ndim else (int(v) if not v.is_floating_point() else float(v))
    return out
