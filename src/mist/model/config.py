"""The architecture's settings and its shape features, without PyTorch: the NumPy inference path
(:mod:`mist.model.numpy_forward`) reads them too, so a CPU estimate never imports torch."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

INPUT_TRANSFORMS = ("rank", "standardize")


@dataclass
class ModelConfig:
    """Architecture of :class:`~mist.model.network.MISTNetwork`; saved in every model card."""

    cell_width: int = 24
    heads: int = 2
    blocks: int = 2
    inducing: int = 8
    stats_width: int = 64
    head_width: int = 128
    quantile_knots: int = 12
    input_transform: str = "rank"
    use_cells: bool = True
    dim_attention: bool = True
    use_stats: bool = True
    use_column_stats: bool = True
    column_blocks: int = 2
    # pair statistics (:func:`mist.model.canonical.pair_lags`): every (X column, Y column) pair's
    # nearest-neighbour gaps on the rank grid, read by a pair network and pooled into each
    # column's token; they see dependence of any shape, where correlations see monotone only
    use_pair_stats: bool = False
    pair_width: int = 32

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model config keys {sorted(unknown)}")
        return cls(**data)


#: Least Ledoit-Wolf shrinkage of the copula correlation matrix: keeps it positive definite
#: (every eigenvalue at least this) where the estimated intensity is 0 and a side's columns are
#: collinear or one is constant after a transform (the squared scores of a two-valued column),
#: which broke the Cholesky factorisation. It never binds on data of the training families: the
#: shipped model's outputs on paper_grid("train", seed=123, repeats=3), 960 datasets, were
#: unchanged to the bit when it was added.
MIN_SHRINKAGE = 1e-4

#: Lags of the pair statistics (:func:`mist.model.canonical.pair_lags`), in rows of the sorted column.
PAIR_LAGS = (1, 2, 4, 8, 16, 32)
#: E log|U - V| for independent uniform U, V: the pair statistics are reported as the difference
#: from it, so independent columns give about 0.
INDEPENDENT_LOG_GAP = -1.5

#: Width of :func:`shape_features`.
CONTEXT_WIDTH = 6


def shape_features(n, dim_x: int, dim_y: int, log, sqrt) -> list:
    """What the network is told about a dataset's shape: CONTEXT_WIDTH features, each shaped like
    ``n`` (real rows per dataset, a float array or tensor). ``log`` and ``sqrt`` come from the
    caller's array library, so PyTorch and NumPy share this one definition."""
    lx, ly = math.log(dim_x), math.log(dim_y)
    ones = n * 0 + 1
    return [log(n) / 6.0, (lx + ly) * ones / 4.0, abs(lx - ly) * ones / 4.0,
            (dim_x + dim_y) / n, 1.0 / n * 10.0, sqrt(1.0 / n)]


__all__ = ["ModelConfig", "INPUT_TRANSFORMS", "CONTEXT_WIDTH", "MIN_SHRINKAGE", "PAIR_LAGS", "INDEPENDENT_LOG_GAP",
           "shape_features"]
