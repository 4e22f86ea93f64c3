"""Neural variational MI estimators that fit a critic on each dataset: MINE, DV, NWJ, InfoNCE
and SMILE, sharing one critic trainer.

A critic f(x, y) is trained on a training split of the rows to maximise a variational lower
bound; the estimate is the bound evaluated on held-out rows, at the step where that held-out
value was best (early stopping). All in nats.

References: Belghazi et al. (2018, MINE); Donsker and Varadhan (1975); Nguyen, Wainwright and
Jordan (2010, NWJ); van den Oord et al. (2018, InfoNCE); Poole et al. (2019, critics and
bounds); Song and Ermon (2019, SMILE).
"""

from __future__ import annotations

from mist.errors import require_torch

require_torch("the neural estimators (MINE, InfoNCE, NWJ, DV, SMILE)")

import math
import time
import warnings

import numpy as np
import torch
from torch import nn

from mist._validation import check_choice
from mist.errors import MistError, MistWarning
from mist.estimators.base import Estimator, standardize

CRITICS = ("separable", "joint")
MAX_SCORED_ROWS = 1024  # held-out rows scored together for the estimate


def _mlp(inp: int, hidden: int, layers: int, out: int) -> nn.Sequential:
    mods: list[nn.Module] = []
    width = inp
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    mods.append(nn.Linear(width, out))
    return nn.Sequential(*mods)


class SeparableCritic(nn.Module):
    """f(x, y) = g(x) . h(y): all B x B pair scores from 2B network evaluations."""

    def __init__(self, dim_x: int, dim_y: int, hidden: int, layers: int, embed: int):
        super().__init__()
        self.g = _mlp(dim_x, hidden, layers, embed)
        self.h = _mlp(dim_y, hidden, layers, embed)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.g(x) @ self.h(y).T


class JointCritic(nn.Module):
    """f(x, y) = MLP([x, y]) on every (x_i, y_j) pair: B^2 evaluations, more expressive."""

    def __init__(self, dim_x: int, dim_y: int, hidden: int, layers: int, embed: int):
        super().__init__()
        self.f = _mlp(dim_x + dim_y, hidden, layers, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        pairs = torch.cat([x[:, None, :].expand(b, b, -1), y[None, :, :].expand(b, b, -1)], dim=-1)
        return self.f(pairs)[..., 0]


def _off_diagonal(scores: torch.Tensor) -> torch.Tensor:
    b = scores.shape[0]
    return scores[~torch.eye(b, dtype=torch.bool, device=scores.device)]


def _log_mean_exp(values: torch.Tensor) -> torch.Tensor:
    return torch.logsumexp(values, dim=0) - math.log(values.numel())


def dv_bound(scores: torch.Tensor) -> torch.Tensor:
    """Donsker-Varadhan: E_p[f] - log E_{p_x p_y}[e^f]; scores (B, B), joint pairs on the diagonal."""
    return scores.diag().mean() - _log_mean_exp(_off_diagonal(scores))


def nwj_bound(scores: torch.Tensor) -> torch.Tensor:
    """Nguyen-Wainwright-Jordan: E_p[f] - E_{p_x p_y}[e^(f - 1)]."""
    return scores.diag().mean() - torch.exp(_off_diagonal(scores) - 1).mean()


def infonce_bound(scores: torch.Tensor) -> torch.Tensor:
    """InfoNCE: mean_i [f_ii - log sum_j e^f_ij] + log B; never exceeds log B."""
    return (scores.diag() - torch.logsumexp(scores, dim=1)).mean() + math.log(scores.shape[0])


def js_bound(scores: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon objective of a binary classifier of joint against product pairs (f-GAN)."""
    joint, marginal = scores.diag(), _off_diagonal(scores)
    return -nn.functional.softplus(-joint).mean() - nn.functional.softplus(marginal).mean()


def smile_bound(scores: torch.Tensor, clip: float) -> torch.Tensor:
    """SMILE: DV with the partition term's scores clipped to [-clip, clip]."""
    clipped = scores.clamp(-clip, clip)
    return scores.diag().mean() - _log_mean_exp(_off_diagonal(clipped))


class NeuralEstimator(Estimator):
    """Shared critic trainer; subclasses choose the bound.

    Parameters
    ----------
    critic : {"separable", "joint"}, default "separable"
        Separable g(x).h(y) (cheap, B x B scores from 2B evaluations) or joint MLP([x, y]).
    hidden, layers, embed : int, default 256, 2, 32
        Critic width, hidden layers per network, and embedding size of the separable critic
        (Poole et al., 2019).
    batch_size : int, default 256
        Rows per training step (capped by the training split).
    lr : float, default 5e-4
        Adam learning rate.
    max_steps : int, default 3000
        Upper bound on training steps.
    eval_every, patience : int, default 50, 10
        Held-out evaluation period, and evaluations without improvement before stopping.
    val_fraction : float, default 0.3
        Share of the rows held out for early stopping and for the estimate (at most 1,024 of
        them are scored, all pairs).
    time_budget : float, default 60
        Seconds per estimate; training stops when it is spent.
    seed : int, default 0
        Seed of the split, the batches and the initialisation (estimates are reproducible).
    device : str, default "cpu"
    progress : bool, default False
        Show a progress bar while fitting.

    After ``estimate``, ``last_fit`` holds the steps run, the best step, the held-out rows and,
    for InfoNCE, the ceiling log(held-out rows).
    """

    name = "neural"
    bound_name = "dv"

    def __init__(self, critic: str = "separable", hidden: int = 256, layers: int = 2, embed: int = 32,
                 batch_size: int = 256, lr: float = 5e-4, max_steps: int = 3000, eval_every: int = 50,
                 patience: int = 10, val_fraction: float = 0.3, time_budget: float = 60.0, seed: int = 0,
                 device: str = "cpu", progress: bool = False):
        self.critic = check_choice(critic, "critic", CRITICS)
        for key, value in (("hidden", hidden), ("layers", layers), ("embed", embed), ("batch_size", batch_size),
                           ("max_steps", max_steps), ("eval_every", eval_every), ("patience", patience)):
            if not isinstance(value, int) or isinstance(value, bool) or value < (0 if key == "layers" else 1):
                raise MistError(f"`{key}` must be a positive integer, got {value!r}.")
        if not 0 < val_fraction < 1:
            raise MistError(f"`val_fraction` must be strictly between 0 and 1, got {val_fraction!r}.")
        if not time_budget > 0:
            raise MistError(f"`time_budget` must be positive seconds, got {time_budget!r}.")
        self.hidden, self.layers, self.embed = hidden, layers, embed
        self.batch_size, self.lr, self.max_steps = batch_size, float(lr), max_steps
        self.eval_every, self.patience, self.val_fraction = eval_every, patience, float(val_fraction)
        self.time_budget, self.seed, self.device, self.progress = float(time_budget), int(seed), device, progress
        self.last_fit: dict = {}

    min_samples = 10

    def _objective(self, scores: torch.Tensor, state: dict) -> torch.Tensor:
        """What the critic maximises (defaults to the bound itself)."""
        return self._bound(scores)

    def _bound(self, scores: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _estimate(self, x: np.ndarray, y: np.ndarray) -> float:
        x, y = standardize(x), standardize(y)
        n = x.shape[0]
        gen = torch.Generator().manual_seed(self.seed)
        order = torch.randperm(n, generator=gen)
        n_val = max(2, int(round(self.val_fraction * n)))
        val_idx, train_idx = order[:n_val], order[n_val:]
        # all held-out rows train nothing; at most MAX_SCORED_ROWS of them are scored (B^2 pairs)
        val_idx = val_idx[:MAX_SCORED_ROWS]
        n_val = len(val_idx)
        dev = torch.device(self.device)
        xt = torch.as_tensor(x, dtype=torch.float32, device=dev)
        yt = torch.as_tensor(y, dtype=torch.float32, device=dev)
        torch_state = torch.random.get_rng_state()
        torch.manual_seed(self.seed)  # initialisation; the global state is restored below
        try:
            cls = SeparableCritic if self.critic == "separable" else JointCritic
            critic = cls(x.shape[1], y.shape[1], self.hidden, self.layers, self.embed).to(dev)
        finally:
            torch.random.set_rng_state(torch_state)
        opt = torch.optim.Adam(critic.parameters(), lr=self.lr)
        batch = min(self.batch_size, len(train_idx))
        best, best_step, since_best, step = -math.inf, 0, 0, 0
        state: dict = {}
        bar = _Bar(self.max_steps, self.progress, self.name)
        start = time.perf_counter()
        val_x, val_y = xt[val_idx], yt[val_idx]
        while step < self.max_steps and time.perf_counter() - start < self.time_budget:
            pick = train_idx[torch.randperm(len(train_idx), generator=gen)[:batch]]
            scores = critic(xt[pick], yt[pick])
            loss = -self._objective(scores, state)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if step % self.eval_every == 0 or step == self.max_steps:
                with torch.no_grad():
                    value = float(self._bound(critic(val_x, val_y)))
                bar.update(step, value)
                if value > best:
                    best, best_step, since_best = value, step, 0
                else:
                    since_best += 1
                    if since_best >= self.patience:
                        break
        bar.close()
        if best == -math.inf:  # budget spent before the first evaluation
            with torch.no_grad():
                best = float(self._bound(critic(val_x, val_y)))
            best_step = step
        self.last_fit = {"steps": step, "best_step": best_step, "held_out_rows": int(n_val),
                         "seconds": round(time.perf_counter() - start, 3)}
        return self._finish(best, n_val)

    def _finish(self, value: float, n_val: int) -> float:
        return value


class DV(NeuralEstimator):
    """Donsker-Varadhan bound with plain gradients."""

    name = "dv"

    def _bound(self, scores):
        return dv_bound(scores)


class MINE(NeuralEstimator):
    """MINE: the DV bound, trained with the moving-average correction of the gradient of
    log E[e^f] (Belghazi et al., 2018); ``ema`` is the weight of the newest batch."""

    name = "mine"

    def __init__(self, *args, ema: float = 0.01, **kwargs):
        super().__init__(*args, **kwargs)
        if not 0 < ema <= 1:
            raise MistError(f"`ema` must be in (0, 1], got {ema!r}.")
        self.ema = float(ema)

    def _bound(self, scores):
        return dv_bound(scores)

    def _objective(self, scores, state):
        marginal = _off_diagonal(scores)
        batch_mean = torch.exp(marginal).mean()
        ma = state.get("ma")
        ma = batch_mean.detach() if ma is None else (1 - self.ema) * ma + self.ema * batch_mean.detach()
        state["ma"] = ma
        # value: the DV bound; gradient of the log term: grad E[e^f] / moving average of E[e^f]
        surrogate = scores.diag().mean() - batch_mean / ma
        return surrogate + (dv_bound(scores) - surrogate).detach()


class NWJ(NeuralEstimator):
    """Nguyen-Wainwright-Jordan bound (f-divergence form); unbiased gradients, higher variance."""

    name = "nwj"

    def _bound(self, scores):
        return nwj_bound(scores)


class InfoNCE(NeuralEstimator):
    """InfoNCE (contrastive) bound: low variance, but never above log(rows scored together).

    The estimate is computed on the held-out rows, so its ceiling is log(held-out rows); a
    :class:`~mist.MistWarning` says so when the estimate comes within 10% of it.
    """

    name = "infonce"

    def _bound(self, scores):
        return infonce_bound(scores)

    def _finish(self, value: float, n_val: int) -> float:
        ceiling = math.log(n_val)
        self.last_fit["ceiling"] = ceiling
        if value > 0.9 * ceiling:
            warnings.warn(f"InfoNCE cannot exceed log({n_val} held-out rows) = {ceiling:.3f} nats; the estimate "
                          f"{value:.3f} is near that ceiling, so the true MI may be higher.", MistWarning, stacklevel=4)
        return value


class SMILE(NeuralEstimator):
    """SMILE: critic trained with the Jensen-Shannon objective, MI read off a DV bound whose
    partition term has scores clipped to [-clip, clip] (Song and Ermon, 2019)."""

    name = "smile"

    def __init__(self, *args, clip: float = 5.0, **kwargs):
        super().__init__(*args, **kwargs)
        if not clip > 0:
            raise MistError(f"`clip` must be positive, got {clip!r}.")
        self.clip = float(clip)

    def _bound(self, scores):
        return smile_bound(scores, self.clip)

    def _objective(self, scores, state):
        return js_bound(scores)


class _Bar:
    def __init__(self, total: int, enabled: bool, name: str):
        self.enabled = enabled
        if enabled:
            from rich.progress import Progress

            self.progress = Progress(transient=True)
            self.progress.start()
            self.task = self.progress.add_task(f"fitting {name}", total=total)

    def update(self, step: int, value: float) -> None:
        if self.enabled:
            self.progress.update(self.task, completed=step, description=f"held-out bound {value:.3f}")

    def close(self) -> None:
        if self.enabled:
            self.progress.stop()
