"""``MIEstimator``: the learned estimator as a differentiable ``torch.nn.Module``.

Hard ranks have zero gradient, so this module replaces the network's per-column rank ->
normal-score input by a soft version: after standardising a column, the rank of v_i is
sum_j sigmoid((v_i - v_j) / softness) (which is rank + 1/2 as softness -> 0), and the score is
Phi^-1(soft rank / n). Gradients flow to x and y; cost and memory are O(n^2) per column.
"""

from __future__ import annotations

from mist.errors import require_torch

require_torch("MIEstimator")

import copy

import torch
from torch import nn

from mist.errors import MistError


def soft_normal_scores(values: torch.Tensor, softness: float) -> torch.Tensor:
    """Differentiable per-column normal scores. Shape: (B, N, D) -> (B, N, D)."""
    n = values.shape[1]
    v = (values - values.mean(1, keepdim=True)) / (values.std(1, keepdim=True) + 1e-8)
    diff = (v[:, :, None, :] - v[:, None, :, :]) / softness  # (B, N, N, D)
    rank = torch.sigmoid(diff).sum(2)  # includes j = i: sigmoid(0) = 1/2
    return torch.special.ndtri((rank / n).clamp(0.5 / n, 1 - 0.5 / n))


class MIEstimator(nn.Module):
    """Differentiable MI estimate in nats: ``MIEstimator()(x, y)``.

    Parameters
    ----------
    model : str, default "mist-tiny-gpu"
        Shipped model name or model card path; the module holds its own copy of the weights.
        The default is the copula-statistics model, not ``mist.estimate``'s: the default's pair
        lags are rank statistics with no useful gradient, and through its copula statistics
        alone gradient ascent went astray (docs/model.md, "Limits").
    softness : float, default 0.05
        Temperature of the soft ranks, in standard deviations of each column. Smaller is closer
        to the exact estimator and has sharper gradients.
    trainable : bool, default False
        Whether the network's own weights receive gradients (fine-tuning); by default they are
        frozen and only the inputs get gradients.

    Shapes: x (N,), (N, dim_x) or (B, N, dim_x), y likewise -> a scalar or (B,); a 1-D input
    is one column. NumPy arrays are converted (without a graph to differentiate through).

    Example
    -------
    >>> est = MIEstimator()
    >>> x = torch.randn(200, 2, requires_grad=True)
    >>> mi = est(x, x[:, :1] + torch.randn(200, 1))
    >>> mi.backward()  # x.grad now points to higher MI
    """

    def __init__(self, model: str = "mist-tiny-gpu", softness: float = 0.05, trainable: bool = False):
        super().__init__()
        from mist.weights import load_model

        if not softness > 0:
            raise MistError(f"`softness` must be positive, got {softness!r}.")
        network = load_model(model)
        card = network.card
        self.network = copy.deepcopy(network)
        self.card = card
        self.softness = float(softness)
        self.network.requires_grad_(trainable)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x, y = _as_tensor(x, "x"), _as_tensor(y, "y")
        shapes = f"{tuple(x.shape)} and {tuple(y.shape)}"
        single = x.dim() <= 2 and y.dim() <= 2
        if single:  # one dataset; a 1-D input is one column
            x, y = (t.reshape(len(t), -1)[None] for t in (x, y))
        if x.dim() != 3 or y.dim() != 3 or x.shape[:2] != y.shape[:2]:
            raise MistError(f"`x` and `y` must be (N,), (N, d) or (B, N, d) with matching B and N, got {shapes}.")
        if x.shape[1] < 3:
            raise MistError(f"at least 3 samples are needed, got {x.shape[1]}.")
        if x.shape[2] == 0 or y.shape[2] == 0:
            raise MistError(f"`x` and `y` need at least one column each, got {x.shape[2]} and {y.shape[2]}.")
        xy = torch.cat([x, y], dim=-1).to(torch.float32)
        if not bool(torch.isfinite(xy).all()):  # else a failed Cholesky deep inside the network
            raise MistError("`x` or `y` contains NaN or infinity; drop or impute those rows first.")
        z = soft_normal_scores(xy, self.softness)
        mask = torch.ones(z.shape[:2], dtype=torch.bool, device=z.device)
        mi = self.network.forward_canonical(z, mask, x.shape[-1]).mean
        return mi[0] if single else mi


def _as_tensor(value, name: str) -> torch.Tensor:
    """A tensor as it is (keeping its graph); numpy arrays and lists of numbers converted."""
    if isinstance(value, torch.Tensor):
        return value
    try:
        return torch.as_tensor(value, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise MistError(f"`{name}` must be a tensor or an array of numbers ((N,), (N, d) or (B, N, d)); "
                        f"could not convert a {type(value).__name__}: {exc}") from exc
