"""Which statistics of one (x, y) column pair carry MI of any shape? A 1-D probe.

Each candidate set of statistics is computed on the same datasets, a small network (2 x 128,
6,000 AdamW steps on one thread) is trained on 12,000 datasets of the *training* relations
(random Fourier functions y = f(x) + noise, Gaussian pairs) to predict MI from them and the
sample count, and is tested on 3,000 datasets of *other* shapes (bumps, kinks and the named
functions x^2, sin 3x, |x|, cos 2x, x tanh 3x), n = 50 / 200 / 1,000. KSG (k = 5) on normal
scores is the reference; "KSG k=3,5,10" is KSG corrected by the network. The statistics:

- Hermite: squared correlations of the Hermite polynomials of degree 1-4 (or 1-6) of the two
  columns' normal scores (16 or 36 numbers);
- binned: plug-in MI of the equal-frequency 2 x 2 ... 32 x 32 contingency tables (5);
- lags: :func:`mist.model.lags.pair_lag_statistics`, the mean log rank gap of the partner
  between rows 1, 2, 4, ..., 32 apart in each column's order, both directions (12).

    python benchmarks/pair_statistics.py [--train 4000] [--test 1000] [--seed 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.special import digamma, ndtri
from scipy.stats import rankdata

from mist.distributions.relations import (NAMED_FUNCTIONS, build_relation_banks, gaussian_relation,
                                          named_relation)
from mist.estimators import KSG
from mist.model.lags import pair_lag_statistics

NS = (50, 200, 1000)


def normal_scores(v: np.ndarray) -> np.ndarray:
    return ndtri((rankdata(v) - 0.5) / len(v))


def hermite(zx: np.ndarray, zy: np.ndarray, degree: int) -> list[float]:
    def basis(z):
        h = [np.ones_like(z), z]
        for k in range(2, degree + 1):
            h.append(z * h[-1] - (k - 1) * h[-2])  # probabilists' Hermite recursion
        h = np.stack(h[1:])
        h = h - h.mean(1, keepdims=True)
        return h / np.sqrt((h * h).mean(1, keepdims=True))

    return ((basis(zx) @ basis(zy).T / len(zx)) ** 2).ravel().tolist()


def binned(x: np.ndarray, y: np.ndarray) -> list[float]:
    n, out = len(x), []
    rx, ry = rankdata(x) - 1, rankdata(y) - 1
    for b in (2, 4, 8, 16, 32):
        i = np.minimum(((rx + 0.5) / n * b).astype(int), b - 1)
        j = np.minimum(((ry + 0.5) / n * b).astype(int), b - 1)
        table = np.zeros((b, b))
        np.add.at(table, (i, j), 1.0)
        p = table / n
        outer = p.sum(1, keepdims=True) @ p.sum(0, keepdims=True)
        m = p > 0
        out.append(float(np.sum(p[m] * np.log(p[m] / outer[m]))))
    return out


def ksg(zx: np.ndarray, zy: np.ndarray) -> list[float]:
    return [KSG(k=k).estimate(zx[:, None], zy[:, None]) for k in (3, 5, 10)]


def features(x: np.ndarray, y: np.ndarray) -> dict:
    zx, zy = normal_scores(x), normal_scores(y)
    xy, yx = pair_lag_statistics(np.stack([x, y])[None].astype(np.float32), 1)
    return {"hermite4": hermite(zx, zy, 4), "hermite6": hermite(zx, zy, 6), "binned": binned(x, y),
            "lags": np.concatenate([xy.ravel(), yx.ravel()]).tolist(), "ksg": ksg(zx, zy),
            "context": [np.log(len(x)) / 6, 1 / np.sqrt(len(x))]}


def draw(kind: str, n: int, rng: np.random.Generator, banks) -> tuple[np.ndarray, np.ndarray, float]:
    if kind == "gaussian":
        rel = gaussian_relation(float(rng.uniform(-0.9975, 0.9975)))
    elif kind == "named":
        rel = named_relation(list(NAMED_FUNCTIONS)[int(rng.integers(len(NAMED_FUNCTIONS)))],
                             float(np.exp(rng.uniform(np.log(0.05), 0.0))))
    else:
        rel = getattr(banks, kind).draw(rng)
    x, y = rel.sample(n, rng)
    return x, y, rel.mi


def build(kinds: tuple[str, ...], per_n: int, seed: int, banks) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for n in NS:
        for i in range(per_n):
            kind = kinds[i % len(kinds)]
            x, y, mi = draw(kind, n, rng, banks)
            rows.append({**features(x, y), "mi": mi, "n": n, "kind": kind})
    return rows


def fit_and_predict(train: list[dict], test: list[dict], keys: list[str], seed: int = 0) -> np.ndarray:
    torch.manual_seed(seed)
    matrix = lambda rows: torch.tensor([sum((list(r[k]) for k in keys), []) for r in rows], dtype=torch.float32)  # noqa: E731
    x_train, x_test = matrix(train), matrix(test)
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-6
    x_train, x_test = (x_train - mu) / sd, (x_test - mu) / sd
    target = torch.tensor([r["mi"] for r in train], dtype=torch.float32)
    net = torch.nn.Sequential(torch.nn.Linear(x_train.shape[1], 128), torch.nn.GELU(), torch.nn.Linear(128, 128),
                              torch.nn.GELU(), torch.nn.Linear(128, 1))
    opt = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=1e-4)
    steps = 6000
    for step in range(steps):
        idx = torch.randint(0, len(target), (256,))
        loss = ((net(x_train[idx])[:, 0] - target[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        for g in opt.param_groups:
            g["lr"] = 2e-3 * 0.5 * (1 + np.cos(np.pi * (step + 1) / steps))
    with torch.no_grad():
        return net(x_test)[:, 0].numpy()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=int, default=4000, help="training datasets per n")
    parser.add_argument("--test", type=int, default=1000, help="test datasets per n")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    t = time.perf_counter()
    banks = build_relation_banks(np.random.default_rng(args.seed), fourier=1000, bumps=300, kinks=300)
    train = build(("fourier", "fourier", "gaussian"), args.train, args.seed + 1, banks)
    test = build(("bumps", "kinks", "named"), args.test, args.seed + 2, banks)
    print(f"{len(train)} training and {len(test)} test datasets in {time.perf_counter() - t:.0f} s")
    mi = np.array([r["mi"] for r in test])
    ns = np.array([r["n"] for r in test])

    def row(name: str, pred: np.ndarray) -> None:
        print(f"{name:<22}" + "".join(f"{np.mean((pred[ns == n] - mi[ns == n]) ** 2):>10.4f}" for n in NS))

    print(f"{'MSE (nats^2) at n =':<22}" + "".join(f"{n:>10}" for n in NS))
    row("KSG k=5 (raw)", np.array([r["ksg"][1] for r in test]))
    for name, keys in [("Hermite 1-4", ["hermite4"]), ("Hermite 1-6", ["hermite6"]), ("binned", ["binned"]),
                       ("KSG k=3,5,10", ["ksg"]), ("Hermite 1-4 + KSG", ["hermite4", "ksg"]), ("lags", ["lags"]),
                       ("lags + binned", ["lags", "binned"]), ("lags + KSG", ["lags", "ksg"])]:
        row(name, fit_and_predict(train, test, keys + ["context"]))


if __name__ == "__main__":
    main()
