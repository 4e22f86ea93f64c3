"""Synthetic meta-distributions with exact mutual information (nats), sampled with torch
(``relations``: with NumPy and SciPy)."""

from mist.errors import require_torch

require_torch("mist.distributions (the meta-distributions)")

from mist.distributions.exact import additive_uniform_noise_mi, gaussian_mi, student_t_correction
from mist.distributions.families import (
    BASES,
    DEFAULT_PRIORS,
    STRUCTURES,
    DatasetBatch,
    Family,
    Priors,
    sample_datasets,
)
from mist.distributions.relations import (
    FunctionBank,
    MixtureBank,
    PairRelation,
    RelationBanks,
    RelationDataset,
    RelationDatasetBatch,
    SideMap,
    build_relation_banks,
    load_mixture_bank,
    noisy_function_mi_table,
    random_side_map,
    sample_relation_dataset,
    sample_relation_datasets,
)
from mist.distributions.splits import IMD, OOMD, SPLITS, TRAIN, get_split
from mist.distributions.testsets import TestSet, load_testset, paper_grid, save_testset
from mist.distributions.transforms import TRANSFORMS, apply_transform

__all__ = [
    "BASES", "STRUCTURES", "TRANSFORMS", "DEFAULT_PRIORS", "Priors", "Family", "DatasetBatch",
    "sample_datasets", "gaussian_mi", "student_t_correction", "additive_uniform_noise_mi",
    "apply_transform", "TRAIN", "IMD", "OOMD", "SPLITS", "get_split", "TestSet", "paper_grid",
    "save_testset", "load_testset",
    # relations.py: non-monotone and column-mixed dependence with exact MI (NumPy, SciPy)
    "noisy_function_mi_table", "PairRelation", "FunctionBank", "MixtureBank", "load_mixture_bank",
    "RelationBanks", "build_relation_banks", "SideMap", "random_side_map", "RelationDataset",
    "RelationDatasetBatch", "sample_relation_dataset", "sample_relation_datasets",
]
