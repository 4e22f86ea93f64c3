"""The paper's train / IMD / OoMD split of families (its Table 4)."""

from __future__ import annotations

from mist.distributions.families import Family
from mist.errors import MistError

TRAIN = (
    "multi_normal-dense-base",
    "multi_normal-dense-asinh",
    "multi_normal-dense-halfcube",
    "multi_normal-lvm-base",
    "multi_normal-lvm-wigglify",
    "multi_normal-sparse-base",
    "multi_normal-sparse-wigglify",
    "multi_normal-2pair-base",
    "multi_student-dense-base",
    "multi_student-dense-wigglify",
    "multi_student-sparse-base",
    "multi_student-sparse-asinh",
    "multi_student-sparse-halfcube",
    "multi_student-2pair-asinh",
    "multi_student-2pair-halfcube",
    "multi_additive_noise-wigglify",
)
IMD = (
    "multi_normal-dense-base",
    "multi_normal-dense-halfcube",
    "multi_normal-lvm-wigglify",
    "multi_student-dense-base",
    "multi_student-sparse-asinh",
    "multi_student-sparse-base",
)
OOMD = (
    "multi_normal-dense-wigglify",
    "multi_normal-sparse-asinh",
    "multi_normal-sparse-halfcube",
    "multi_student-dense-halfcube",
    "multi_student-sparse-wigglify",
    "multi_additive_noise-base",
    "multi_additive_noise-halfcube",
)
SPLITS = {"train": TRAIN, "imd": IMD, "oomd": OOMD}


def get_split(name: str) -> tuple[Family, ...]:
    """The families of a named split: ``train``, ``imd`` or ``oomd``."""
    key = str(name).lower()
    if key not in SPLITS:
        raise MistError(f"unknown split {name!r}; expected one of {list(SPLITS)}.")
    return tuple(Family.from_name(f) for f in SPLITS[key])
