"""Fixed test sets: the paper's "general" IMD (1,080) and OoMD (1,260) grids, saved to one file each.

Grid: n = int(linspace(10, 500, 20)); for each (family, n) one d ~ randint[2, 32] shared by
``repeats`` datasets (new hyperparameters and samples each), with dim_x = dim_y = d.
The file is a compressed ``.npz`` holding only plain arrays (loaded with ``allow_pickle=False``).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from mist.distributions.families import DEFAULT_PRIORS, Priors, describe_params, sample_datasets
from mist.distributions.splits import SPLITS, get_split
from mist.errors import MistError

RECIPES = ("paper-general",)
FORMAT_VERSION = 1


@dataclass
class TestSet:
    """A list of datasets with exact MI (nats). ``xs[i]`` has shape (n[i], dim_x[i])."""

    __test__ = False  # not a pytest class

    xs: list[np.ndarray]
    ys: list[np.ndarray]
    mi: np.ndarray
    family: np.ndarray
    n: np.ndarray
    dim_x: np.ndarray
    dim_y: np.ndarray
    params: list[dict]
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.xs)

    @classmethod
    def concat(cls, sets: list["TestSet"]) -> "TestSet":
        """One test set holding the datasets of ``sets`` in order (``meta`` from the first)."""
        return cls(
            [x for s in sets for x in s.xs], [y for s in sets for y in s.ys], np.concatenate([s.mi for s in sets]),
            np.concatenate([s.family for s in sets]), np.concatenate([s.n for s in sets]),
            np.concatenate([s.dim_x for s in sets]), np.concatenate([s.dim_y for s in sets]),
            [p for s in sets for p in s.params], dict(sets[0].meta),
        )

    def subset(self, mask: np.ndarray) -> "TestSet":
        idx = np.flatnonzero(mask)
        return TestSet(
            [self.xs[i] for i in idx], [self.ys[i] for i in idx], self.mi[idx], self.family[idx],
            self.n[idx], self.dim_x[idx], self.dim_y[idx], [self.params[i] for i in idx], dict(self.meta),
        )


def _group_seed(seed: int, split: str, family_index: int, n_index: int) -> int:
    key = f"{seed}/{split}/{family_index}/{n_index}".encode()
    return zlib.crc32(key) + (seed << 32)


def paper_grid(
    split: str,
    *,
    seed: int = 0,
    repeats: int = 9,
    n_values: tuple[int, ...] | None = None,
    priors: Priors = DEFAULT_PRIORS,
) -> TestSet:
    """Draw the paper's "general" grid for split ``imd`` or ``oomd`` (or ``train``).

    Each (family, n) group has its own generator derived from (seed, split, family, n), so the
    grid is reproducible and groups do not depend on one another.
    """
    key = str(split).lower()
    if key not in SPLITS:
        raise MistError(f"unknown split {split!r}; expected one of {list(SPLITS)}.")
    if n_values is None:
        n_values = tuple(int(v) for v in np.linspace(10, 500, 20))
    xs, ys, mi, fam, ns, dxs, dys, params = [], [], [], [], [], [], [], []
    for fi, family in enumerate(get_split(key)):
        for ni, n in enumerate(n_values):
            gen = torch.Generator().manual_seed(_group_seed(seed, key, fi, ni))
            d = int(torch.randint(priors.dim[0], priors.dim[1] + 1, (1,), generator=gen))
            batch = sample_datasets(family, int(n), d, d, repeats, generator=gen, priors=priors)
            for r in range(repeats):
                xs.append(batch.x[r].numpy())
                ys.append(batch.y[r].numpy())
                mi.append(float(batch.mi[r]))
                fam.append(family.name)
                ns.append(int(n))
                dxs.append(d)
                dys.append(d)
                params.append(describe_params(batch.params, r))
    meta = {"recipe": "paper-general", "split": key, "seed": seed, "repeats": repeats,
            "priors": priors.to_dict(), "format_version": FORMAT_VERSION}
    return TestSet(xs, ys, np.array(mi), np.array(fam), np.array(ns), np.array(dxs), np.array(dys), params, meta)


def save_testset(testset: TestSet, path: str | Path) -> Path:
    """Write a test set to one compressed ``.npz`` of plain arrays."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        x=np.concatenate([x.reshape(-1) for x in testset.xs]).astype(np.float32),
        y=np.concatenate([y.reshape(-1) for y in testset.ys]).astype(np.float32),
        mi=testset.mi.astype(np.float64),
        family=testset.family.astype(str),
        n=testset.n.astype(np.int64),
        dim_x=testset.dim_x.astype(np.int64),
        dim_y=testset.dim_y.astype(np.int64),
        params=np.array([json.dumps(p) for p in testset.params]),
        meta=np.array(json.dumps(testset.meta)),
    )
    # numpy appends .npz when the name lacks it
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def load_testset(path: str | Path) -> TestSet:
    """Read a test set written by :func:`save_testset`."""
    path = Path(path)
    if not path.is_file():
        raise MistError(f"test-set file {str(path)!r} does not exist; write it with `mist testset`.")
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
    except Exception as exc:
        raise MistError(f"could not read test-set file {str(path)!r}: {exc}") from exc
    missing = {"x", "y", "mi", "family", "n", "dim_x", "dim_y", "params", "meta"} - set(data)
    if missing:
        raise MistError(f"{str(path)!r} is not a mist test set (missing arrays {sorted(missing)}).")
    n, dx, dy = data["n"], data["dim_x"], data["dim_y"]
    ox = np.concatenate([[0], np.cumsum(n * dx)])
    oy = np.concatenate([[0], np.cumsum(n * dy)])
    if ox[-1] != data["x"].size or oy[-1] != data["y"].size:
        raise MistError(f"{str(path)!r} is corrupted: array sizes do not match the recorded shapes.")
    xs = [data["x"][ox[i]:ox[i + 1]].reshape(n[i], dx[i]) for i in range(len(n))]
    ys = [data["y"][oy[i]:oy[i + 1]].reshape(n[i], dy[i]) for i in range(len(n))]
    params = [json.loads(p) for p in data["params"]]
    return TestSet(xs, ys, data["mi"], data["family"], n, dx, dy, params, json.loads(str(data["meta"])))
