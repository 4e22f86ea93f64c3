"""Batched forward passes over many datasets of different shapes.

Imports no PyTorch itself: a :class:`~mist.model.numpy_forward.NumpyForward` engine runs
without it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import numpy as np

from mist.model.numpy_forward import NumpyForward, largest_pair_r2, numpy_forward_for
from mist.model.numpy_forward import supports as numpy_supports


BACKENDS = ("auto", "torch", "numpy")
# "auto" sends every CPU pass of a statistics-only network to NumPy: on one thread it was as fast
# as PyTorch's two or faster at every size measured (python benchmarks/api_speed.py, its backend
# table): one n=500, d=32 dataset 6.0 ms against 13.3; 20 of them 54 against 71; 1,000 of n=200,
# d=4 316 against 325.


def predict_many(
    network,
    xs: Sequence[np.ndarray],  # or torch tensors
    ys: Sequence[np.ndarray],
    taus: Sequence[float] | None = None,
    *,
    cells_per_batch: int = 400_000,
    device=None,
    progress=None,
    backend: str = "auto",
    calibrate: bool = True,
    with_pair_r2: bool = False,
) -> tuple:
    """Predict MI (nats) for each dataset ``(xs[i], ys[i])``; xs[i] has shape (n_i, dim_x_i).

    ``network`` is a :class:`~mist.model.network.MISTNetwork` or a NumPy engine
    (:class:`~mist.model.numpy_forward.NumpyForward`, which runs on the CPU only).

    Backends: "torch" pads datasets of one (dim_x, dim_y) to the longest of a pass (rows masked,
    taken in order of n so little is padded); "numpy" (:mod:`mist.model.numpy_forward`) batches
    datasets of one exact shape, several times faster on CPU for the statistics-only models;
    "auto" takes numpy when the network is on the CPU and has no cell trunk, torch otherwise.
    With ``calibrate`` (the default), a network whose card holds a ``tau_calibration``
    (``network.tau_map``, :mod:`mist.model.calibration`) answers tau with the calibrated quantile
    of the dataset's (n, dim_x + dim_y) cell.
    Returns mean (len,) and quantiles (len, len(taus)) or None; with ``with_pair_r2`` also each
    dataset's largest squared correlation between a column of x and one of y in normal scores
    (len,) (:func:`~mist.model.numpy_forward.largest_pair_r2`; free on the NumPy path).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    tau_map = getattr(network, "tau_map", None) if taus is not None and calibrate else None
    if isinstance(network, NumpyForward):
        if backend == "torch" or (device is not None and str(device) != "cpu"):
            raise ValueError("a NumPy engine runs on the CPU only; pass the PyTorch network for backend='torch' "
                             "or another device")
        use_numpy = True
    else:
        import torch

        device = torch.device(device) if device is not None else next(network.parameters()).device
        # datasets of one exact shape batch without padding, which the numpy path needs
        use_numpy = backend == "numpy" or (backend == "auto" and device.type == "cpu" and numpy_supports(network.config))
    means = np.zeros(len(xs))
    quants = None if taus is None else np.zeros((len(xs), len(taus)))
    pair_r2 = np.zeros(len(xs))
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for i, (x, y) in enumerate(zip(xs, ys)):
        n, dim_x, dim_y = int(x.shape[0]), int(x.shape[1]), int(y.shape[1])
        cell = None if tau_map is None else tau_map.cell(n, dim_x, dim_y)  # one tau map per pass
        groups[(cell, n, dim_x, dim_y) if use_numpy else (cell, dim_x, dim_y)].append(i)
    for key, members in groups.items():
        dim_x, dim_y = key[-2:]
        pass_taus = taus if tau_map is None else tau_map.map_for(key[0])(taus).tolist()
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
            if use_numpy:
                mean, quant, r2 = _numpy_pass(network, [xs[i] for i in chunk], [ys[i] for i in chunk], pass_taus)
            else:
                mean, quant = _torch_pass(network, [xs[i] for i in chunk], [ys[i] for i in chunk], pass_taus, device)
                r2 = [largest_pair_r2(_as_numpy(xs[i])[None], _as_numpy(ys[i])[None])[0] for i in chunk] \
                    if with_pair_r2 else 0.0
            means[chunk] = mean
            pair_r2[chunk] = r2
            if quants is not None:
                quants[chunk] = quant
            if progress is not None:
                progress(len(chunk))
            start = stop
    return (means, quants, pair_r2) if with_pair_r2 else (means, quants)


def _as_numpy(a) -> np.ndarray:
    return a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)


def _numpy_pass(network, xs, ys, taus):
    engine = network if isinstance(network, NumpyForward) else numpy_forward_for(network)
    return engine(np.stack([_as_numpy(x) for x in xs]), np.stack([_as_numpy(y) for y in ys]), taus, with_pair_r2=True)


def _torch_pass(network, xs, ys, taus, device):
    import torch

    n_max = max(x.shape[0] for x in xs)
    dim_x, dim_y = xs[0].shape[1], ys[0].shape[1]
    x = torch.zeros(len(xs), n_max, dim_x, device=device)
    y = torch.zeros(len(xs), n_max, dim_y, device=device)
    mask = torch.zeros(len(xs), n_max, dtype=torch.bool, device=device)
    for j, (xi, yi) in enumerate(zip(xs, ys)):
        n = xi.shape[0]
        x[j, :n] = torch.as_tensor(xi, dtype=torch.float32, device=device)
        y[j, :n] = torch.as_tensor(yi, dtype=torch.float32, device=device)
        mask[j, :n] = True
    tau = None if taus is None else torch.tensor(list(taus), dtype=torch.float32, device=device)
    with torch.no_grad():
        out = network(x, y, mask, tau)
    return out.mean.double().cpu().numpy(), None if tau is None else out.quantiles.double().cpu().numpy()
