"""On-the-fly training data: batches of synthetic datasets sharing (n, dim_x, dim_y).

Each batch draws one (n, dim_x, dim_y) and spreads its datasets evenly over every family that
exists at those dimensions, so each step sees the whole family mix; its size is set so a batch
holds about ``cells_per_batch`` cells (n * (dim_x + dim_y) per dataset).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator, NamedTuple

import math

import numpy as np
import torch

from mist.distributions import DEFAULT_PRIORS, Family, Priors, get_split
from mist.errors import MistError


class TrainingBatch(NamedTuple):
    x: torch.Tensor  # (B, n, dim_x)
    y: torch.Tensor  # (B, n, dim_y)
    mi: torch.Tensor  # (B,) float32, nats
    families: list[str]


@dataclass
class StreamConfig:
    split: str = "train"
    n_range: tuple[int, int] = (10, 500)
    dim_range: tuple[int, int] = (1, 32)
    prob_equal_dims: float = 0.5  # the paper's recipe draws dim_x = dim_y; we also train dim_x != dim_y
    cells_per_batch: int = 200_000
    min_batch: int = 8
    max_batch: int = 512
    # share of datasets whose X and Y are each mixed by a random orthogonal map (a bijection per
    # side, so MI is unchanged): dependence that is not aligned with the coordinates
    prob_rotate: float = 0.0
    # those maps' largest condition number: above 1, a map is Q1 diag(s) Q2 of condition number
    # log-uniform in [1, rotate_condition_max] (random_invertible), an invertible linear mix of a
    # side (MI unchanged). Such sides read like a collider's (Y, Z): columns that tell
    # little about X alone and much together. 1 keeps the maps orthogonal.
    rotate_condition_max: float = 1.0
    # share of batches drawn past the published priors' strongest dependence: sparse and 2pair
    # strength from wide_strength, additive noise from wide_noise (the other hyperparameters as
    # published). The published recipe bounds every column pair's correlation by 25/26 (strength
    # 5), and a model trained on it saturates above (docs/model.md, "Beyond the training range")
    wide_fraction: float = 0.0
    wide_strength: tuple[float, float] = (5.0, 20.0)
    wide_noise: tuple[float, float] = (0.02, 0.1)
    # wide batches only at shapes with at most this many columns (dim_x + dim_y) a row (0: any).
    # With few rows and many columns chance correlations near 1 are the norm; a model shown
    # near-1 correlations meaning large MI at such shapes reads chance as dependence
    # (docs/model.md, "History": the mist-tiny-wide experiment)
    wide_max_columns_per_row: float = 0.0
    # share of each batch's datasets drawn from the relations of mist.distributions.relations
    # (non-monotone functions, sign flips, mixtures, single-index blocks, bijections within a
    # side: dependence that rank correlations miss), the rest from the paper's families
    relation_fraction: float = 0.0
    relation_split: str = "train"
    relation_bank_seed: int = 0  # the bank of random functions the relations draw from
    relation_functions: int = 1000  # functions per kind in that bank
    # chance of a bijection mixing all of X (and, apart, all of Y) in a relation dataset: such
    # data read as weak dependence in every column pair however high their MI, the look of the
    # paper's dense and latent-variable families at small n, whose MI is low
    relation_map_probability: float = 0.5
    relation_min_n: int = 0  # batches with fewer rows hold no relations
    # chances of none, a few (1-3), any number and the most dependent blocks in a relation
    # dataset (mist.distributions.relations.BLOCK_REGIMES): many independent dependent pairs add
    # up to MI that looks, pair by pair, like the paper's latent-variable families, whose pairs
    # share one latent and whose MI does not add up
    relation_block_regimes: tuple[float, float, float, float] = (0.05, 0.35, 0.35, 0.25)
    # below this many rows the relations' share shrinks in proportion to n: at few rows a weak
    # non-monotone signal is hard to tell from chance, and a model shown many such datasets of
    # high MI learns to read chance in the paper's families as MI (a positive bias at n < 100)
    relation_ramp_n: int = 0
    # share of batches whose n is drawn up to paper_n_max (the paper's recipe), the rest over all
    # of n_range: a range stretched to 1,000 rows would otherwise halve the small samples' share
    paper_n_share: float = 0.0
    paper_n_max: int = 500
    # share of batches whose n is log-uniform between n_range's least and small_n_max: few rows
    # with many columns are the hardest corner (n = 10, 32 + 32 columns: chance dependence in
    # every column pair), and uniform n leaves it a few in a thousand batches
    small_n_share: float = 0.0
    small_n_max: int = 100
    # share of batches whose dim_x and dim_y are each drawn uniformly in 1..low_dim_max: uniform
    # dims over 1..32 leave one column a side in under 2% of batches, and that is where a smooth
    # non-monotone relation has to be read from the pair statistics alone
    low_dim_share: float = 0.0
    low_dim_max: int = 4
    # share of batches drawn at fewer columns a side and filled up with redundant columns: each
    # extra column a random linear mix of that side's drawn columns plus independent noise
    # (log-uniform scale, redundant_noise). A function of Y and of noise independent of (X, Y)
    # adds nothing, I(X; Y, g(Y, e)) = I(X; Y), so MI is exact; without such data a model that
    # reads every column pair learns to add up dependence that correlated columns repeat
    # (docs/model.md, "Redundant columns")
    redundant_share: float = 0.0
    redundant_noise: tuple[float, float] = (0.03, 1.0)
    # share of each batch's datasets with a discrete column of 2-10 levels on one side, made
    # continuous as mist makes tied columns before the model reads them (levels + uniform noise,
    # the levels' codes in a random order half the time): exact MI by one integral
    # (mist.distributions.quantised). Real tables are full of such columns; without them in
    # training, class labels passed as numbers beside 2-6 columns had MSE 1.02. Like every
    # dataset they may be mixed within a side (prob_rotate), which hides the levels where that
    # side has other columns; and, as the relations', their count is a share of the batch's
    # size before the families' equal parts are rounded down, so a little above it in the batch
    discrete_fraction: float = 0.0


class TrainingStream:
    """An endless, seeded stream of :class:`TrainingBatch` on ``device``."""

    def __init__(self, config: StreamConfig, *, seed: int, device: str | torch.device = "cpu",
                 priors: Priors = DEFAULT_PRIORS, families: tuple[Family, ...] | None = None):
        if not 0 <= config.relation_fraction + config.discrete_fraction < 1:
            raise MistError(f"stream: relation_fraction + discrete_fraction must lie in [0, 1) (the paper's families "
                            f"fill the rest of each batch), got {config.relation_fraction} + {config.discrete_fraction}.")
        self.config = config
        self.priors = priors
        self.device = torch.device(device)
        self.families = families if families is not None else get_split(config.split)
        self.generator = torch.Generator(device=self.device).manual_seed(int(seed))
        self.banks = None
        if config.relation_fraction > 0:
            from mist.distributions.relations import build_relation_banks

            held_out = 0 if config.relation_split == "train" else config.relation_functions  # kinds never drawn
            self.banks = build_relation_banks(np.random.default_rng(config.relation_bank_seed),
                                              fourier=config.relation_functions, bumps=held_out, kinks=held_out)

    def _randint(self, low: int, high: int) -> int:
        return int(torch.randint(low, high + 1, (1,), generator=self.generator, device=self.device))

    def _draw_shape(self) -> tuple[int, int, int]:
        cfg = self.config
        high = cfg.n_range[1]
        if cfg.paper_n_share > 0 and float(torch.rand(1, generator=self.generator, device=self.device)) < cfg.paper_n_share:
            high = min(high, cfg.paper_n_max)
        n = self._randint(cfg.n_range[0], high)
        if cfg.small_n_share > 0 and float(torch.rand(1, generator=self.generator, device=self.device)) < cfg.small_n_share:
            low, top = math.log(cfg.n_range[0]), math.log(min(high, cfg.small_n_max) + 1)
            u = float(torch.rand(1, generator=self.generator, device=self.device))
            n = min(int(math.exp(low + u * (top - low))), cfg.small_n_max)
        if cfg.low_dim_share > 0 and float(torch.rand(1, generator=self.generator, device=self.device)) < cfg.low_dim_share:
            top = min(cfg.dim_range[1], cfg.low_dim_max)
            return n, self._randint(cfg.dim_range[0], top), self._randint(cfg.dim_range[0], top)
        dim_x = self._randint(*cfg.dim_range)
        if float(torch.rand(1, generator=self.generator, device=self.device)) < cfg.prob_equal_dims:
            dim_y = dim_x
        else:
            dim_y = self._randint(*cfg.dim_range)
        return n, dim_x, dim_y

    def next_batch(self) -> TrainingBatch:
        cfg = self.config
        n, dim_x, dim_y = self._draw_shape()
        if (cfg.redundant_share > 0 and dim_x + dim_y > 2
                and float(torch.rand(1, generator=self.generator, device=self.device)) < cfg.redundant_share):
            drawn_x, drawn_y = self._randint(1, dim_x), self._randint(1, dim_y)
            batch = self._batch(n, drawn_x, drawn_y, cells=n * (dim_x + dim_y))
            x, y = self._fill_redundant(batch.x, dim_x), self._fill_redundant(batch.y, dim_y)
            return TrainingBatch(x, y, batch.mi, batch.families)
        return self._batch(n, dim_x, dim_y, cells=n * (dim_x + dim_y))

    def _fill_redundant(self, v: torch.Tensor, dim: int) -> torch.Tensor:
        """v (B, n, d) with dim - d columns added, each a random mix of some of v's columns
        (standardised) plus Gaussian noise of a log-uniform scale (``redundant_noise``)."""
        b, n, d = v.shape
        extra = dim - d
        if extra == 0:
            return v
        g = self.generator
        base = (v - v.mean(1, keepdim=True)) / v.std(1, keepdim=True).clamp_min(1e-12)
        weights = torch.randn(b, d, extra, generator=g, device=self.device)
        keep = torch.rand(b, d, extra, generator=g, device=self.device) < 0.5
        keep[:, 0, :] |= ~keep.any(1)  # every added column mixes at least one drawn column
        weights = weights * keep
        mixed = base @ (weights / weights.norm(dim=1, keepdim=True).clamp_min(1e-12))
        low, high = (math.log(s) for s in self.config.redundant_noise)
        scale = torch.exp(low + (high - low) * torch.rand(b, 1, extra, generator=g, device=self.device))
        added = mixed + scale * torch.randn(b, n, extra, generator=g, device=self.device)
        return torch.cat([v, added.to(v.dtype)], dim=2)

    def _batch(self, n: int, dim_x: int, dim_y: int, *, cells: int) -> TrainingBatch:
        """A batch at (n, dim_x, dim_y), sized as if each dataset held ``cells`` cells."""
        cfg = self.config
        usable = [f for f in self.families if f.supports(dim_x, dim_y)]
        priors = self.priors
        wide = cfg.wide_fraction > 0 and float(torch.rand(1, generator=self.generator, device=self.device)) < cfg.wide_fraction
        if wide and (cfg.wide_max_columns_per_row <= 0 or dim_x + dim_y <= cfg.wide_max_columns_per_row * n):
            priors = replace(priors, strength=tuple(cfg.wide_strength), noise=tuple(cfg.wide_noise))
        size = cfg.cells_per_batch // cells
        size = max(cfg.min_batch, min(cfg.max_batch, size))
        size = max(size, len(usable)) // len(usable) * len(usable)
        share = cfg.relation_fraction * (min(1.0, n / cfg.relation_ramp_n) if cfg.relation_ramp_n else 1.0)
        relations = int(round(size * share)) if n >= cfg.relation_min_n else 0
        discrete = int(round(size * cfg.discrete_fraction))
        drawn = relations + discrete
        per_family = max(1, (size - drawn) // len(usable)) if drawn < size else 0
        xs, ys, mis, names = [], [], [], []
        for count, draw, name in ((relations, self._relations, f"relations-{cfg.relation_split}"),
                                  (discrete, self._discrete, "discrete")):
            if count:
                x, y, mi = draw(count, n, dim_x, dim_y)
                xs.append(x)
                ys.append(y)
                mis.append(mi)
                names += [name] * count
        for fam in usable if per_family else ():
            params = fam.sample_params(per_family, dim_x, dim_y, generator=self.generator, priors=priors)
            x, y = fam.sample(params, n, dim_x, dim_y, generator=self.generator)
            xs.append(x)
            ys.append(y)
            mis.append(fam.mutual_information(params, dim_x, dim_y).to(torch.float32))
            names += [fam.name] * per_family
        x, y = torch.cat(xs), torch.cat(ys)
        if cfg.prob_rotate > 0:
            x, y = self._rotate_some(x), self._rotate_some(y)
        return TrainingBatch(x, y, torch.cat(mis), names)

    def _relations(self, count: int, n: int, dim_x: int, dim_y: int):
        """``count`` datasets of mist.distributions.relations (NumPy), seeded from this stream's
        generator so a resumed run draws the same data."""
        from mist.distributions.relations import sample_relation_datasets

        seed = int(torch.randint(0, 2**62, (1,), generator=self.generator, device=self.device))
        batch = sample_relation_datasets(count, n, dim_x, dim_y, np.random.default_rng(seed),
                                         split=self.config.relation_split, banks=self.banks,
                                         map_probability=self.config.relation_map_probability,
                                         block_regimes=self.config.relation_block_regimes)
        as_tensor = lambda a: torch.as_tensor(a, dtype=torch.float32, device=self.device)  # noqa: E731
        return as_tensor(batch.x), as_tensor(batch.y), as_tensor(batch.mi)

    def _discrete(self, count: int, n: int, dim_x: int, dim_y: int):
        """``count`` datasets of mist.distributions.quantised (NumPy), seeded from this stream's
        generator."""
        from mist.distributions.quantised import sample_quantised_batch

        seed = int(torch.randint(0, 2**62, (1,), generator=self.generator, device=self.device))
        x, y, mi = sample_quantised_batch(count, n, dim_x, dim_y, np.random.default_rng(seed))
        as_tensor = lambda a: torch.as_tensor(a, dtype=torch.float32, device=self.device)  # noqa: E731
        return as_tensor(x), as_tensor(y), as_tensor(mi)

    def _rotate_some(self, v: torch.Tensor) -> torch.Tensor:
        """v (B, n, d) @ Q_b for a random share ``prob_rotate`` of the datasets, Q_b Haar-random
        orthogonal (:func:`random_orthogonal`), or with ``rotate_condition_max`` above 1 an
        invertible map (:func:`random_invertible`)."""
        b, _, d = v.shape
        cfg = self.config
        q = random_orthogonal(b, d, self.generator, self.device) if cfg.rotate_condition_max <= 1 else \
            random_invertible(b, d, cfg.rotate_condition_max, self.generator, self.device)
        chosen = torch.rand(b, generator=self.generator, device=self.device) < self.config.prob_rotate
        eye = torch.eye(d, device=self.device).expand(b, d, d)
        return v @ torch.where(chosen[:, None, None], q, eye).to(v.dtype)

    def __iter__(self) -> Iterator[TrainingBatch]:
        while True:
            yield self.next_batch()

    def state(self) -> torch.Tensor:
        return self.generator.get_state()

    def set_state(self, state: torch.Tensor) -> None:
        self.generator.set_state(state.cpu() if self.device.type == "cpu" else state)


def random_invertible(batch: int, dim: int, condition_max: float, generator: torch.Generator, device) -> torch.Tensor:
    """``batch`` random invertible matrices Q1 diag(s) Q2 (batch, dim, dim), float32: Q1, Q2
    Haar-random orthogonal, condition number c log-uniform in [1, ``condition_max``], singular
    values s_i = c^-u_i with u = 0 and 1 at the ends and uniform in [0, 1] between."""
    q1 = random_orthogonal(batch, dim, generator, device)
    q2 = random_orthogonal(batch, dim, generator, device)
    log_c = torch.rand(batch, 1, generator=generator, device=device) * math.log(condition_max)
    u = torch.rand(batch, dim, generator=generator, device=device)
    if dim > 1:
        u[:, 0], u[:, -1] = 0.0, 1.0
    return (q1 * torch.exp(-u * log_c)[:, None, :]) @ q2


def random_orthogonal(batch: int, dim: int, generator: torch.Generator, device) -> torch.Tensor:
    """``batch`` Haar-random orthogonal matrices (batch, dim, dim), float32.

    The subgroup algorithm (Diaconis and Shahshahani, 1987): from Q_1 = +-1, Q_k = H_k (1 (+) Q_{k-1}),
    with H_k the Householder reflection taking e_1 to a uniform point of the sphere S^{k-1}. It
    needs only small batched products; batched QR of Gaussian matrices, the textbook route, runs
    one solver call per matrix on CUDA, which made data generation 5-10x slower on an H200.
    """
    q = torch.eye(dim, device=device).repeat(batch, 1, 1)
    q[:, -1, -1] = torch.randint(0, 2, (batch,), generator=generator, device=device) * 2.0 - 1.0
    for k in range(2, dim + 1):
        u = torch.randn(batch, k, generator=generator, device=device)
        u = u / u.norm(dim=1, keepdim=True).clamp_min(1e-12)
        w = -u
        w[:, 0] += 1.0  # e_1 - u: the reflection across its normal plane takes e_1 to u
        w = w / w.norm(dim=1, keepdim=True).clamp_min(1e-12)
        block = q[:, dim - k:, dim - k:]
        q[:, dim - k:, dim - k:] = block - 2.0 * w[:, :, None] * (w[:, None, :] @ block)
    return q

