"""Batched forward passes over many datasets of different shapes."""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import numpy as np
import torch

from mist.model.network import MISTNetwork


@torch.no_grad()
def predict_many(
    network: MISTNetwork,
    xs: Sequence[np.ndarray | torch.Tensor],
    ys: Sequence[np.ndarray | torch.Tensor],
    taus: Sequence[float] | None = None,
    *,
    cells_per_batch: int = 400_000,
    device: str | torch.device | None = None,
    progress=None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Predict MI (nats) for each dataset ``(xs[i], ys[i])``; xs[i] has shape (n_i, dim_x_i).

    Datasets with the same (dim_x, dim_y) share forward passes; rows are padded (and masked) to
    the longest dataset of a pass, taken in order of n so little is padded.
    Returns mean (len,) and quantiles (len, len(taus)) or None.
    """
    device = torch.device(device) if device is not None else next(network.parameters()).device
    tau = None if taus is None else torch.tensor(list(taus), dtype=torch.float32, device=device)
    means = np.zeros(len(xs))
    quants = None if taus is None else np.zeros((len(xs), len(taus)))
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, (x, y) in enumerate(zip(xs, ys)):
        groups[(int(x.shape[1]), int(y.shape[1]))].append(i)
    for (dim_x, dim_y), members in groups.items():
        members.sort(key=lambda i: xs[i].shape[0])
        start = 0
        while start < len(members):
            n_max = xs[members[start]].shape[0]
            stop = start
            while stop < len(members):
                n_max = max(n_max, xs[members[stop]].shape[0])
                if (stop - start + 1) * n_max * (dim_x + dim_y) > cells_per_batch and stop > start:
                    break
                stop += 1
            chunk = members[start:stop]
            n_max = max(xs[i].shape[0] for i in chunk)
            x = torch.zeros(len(chunk), n_max, dim_x, device=device)
            y = torch.zeros(len(chunk), n_max, dim_y, device=device)
            mask = torch.zeros(len(chunk), n_max, dtype=torch.bool, device=device)
            for j, i in enumerate(chunk):
                n = xs[i].shape[0]
                x[j, :n] = torch.as_tensor(xs[i], dtype=torch.float32, device=device)
                y[j, :n] = torch.as_tensor(ys[i], dtype=torch.float32, device=device)
                mask[j, :n] = True
            out = network(x, y, mask, tau)
            means[chunk] = out.mean.double().cpu().numpy()
            if quants is not None:
                quants[chunk] = out.quantiles.double().cpu().numpy()
            if progress is not None:
                progress(len(chunk))
            start = stop
    return means, quants
