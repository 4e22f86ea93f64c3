"""Further experiments of the paper for ``mist evaluate``: sample requirements (Figure 4),
generalisation beyond the training range (Figure 6), self-consistency (Appendix D.2).

Each function writes its CSV and PNG into ``out`` and returns (Markdown lines, summary dict).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mist.distributions import get_split, sample_datasets
from mist.evaluation.markdown import markdown_table
from mist.model.inference import predict_many

MSE_TARGETS = (0.1, 0.5, 1.0)


def sample_requirements(predictions: pd.DataFrame, estimators: list[str], out: Path, plt) -> tuple[list[str], dict]:
    """Figure 4: the smallest grid n at which each estimator's MSE (over all datasets of the split
    at that n and dimension bin) is at most each target, per dimension bin."""
    f = predictions.copy()
    f["d_bin"] = pd.cut(f["d"], [1, 8, 16, 24, 32]).astype(str)
    rows = []
    for (split, d_bin), group in f.groupby(["split", "d_bin"]):
        for name in estimators:
            mse_by_n = ((group[name] - group["true_mi"]) ** 2).groupby(group["n"]).mean().sort_index()
            for target in MSE_TARGETS:
                reached = mse_by_n[mse_by_n <= target]
                rows.append({"split": split, "d_bin": d_bin, "estimator": name, "mse_target": target,
                             "n_needed": int(reached.index.min()) if len(reached) else np.nan})
    table = pd.DataFrame(rows)
    table.to_csv(out / "figure4_sample_requirements.csv", index=False)
    splits = sorted(table["split"].unique())
    fig, axes = plt.subplots(len(splits), len(MSE_TARGETS), figsize=(4.2 * len(MSE_TARGETS), 3.4 * len(splits)), squeeze=False)
    for i, split in enumerate(splits):
        for j, target in enumerate(MSE_TARGETS):
            ax = axes[i, j]
            for name in estimators:
                sub = table[(table.split == split) & (table.estimator == name) & (table.mse_target == target)]
                ax.plot(sub["d_bin"], sub["n_needed"], "o-", label=name)
            ax.set(title=f"{split.upper()}: MSE <= {target}", xlabel="dimension bin", ylabel="n needed (missing: > 500)")
            ax.tick_params(axis="x", labelsize=7)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "figure4_sample_requirements.png", dpi=100)
    plt.close(fig)
    lines = ["## Figure 4: samples needed to reach an MSE target", "",
             "Smallest grid n whose MSE (all datasets of the split at that n and dimension bin) is at most the target; "
             "a missing point means not reached by n = 500.", "", "![](figure4_sample_requirements.png)",
             "(data: figure4_sample_requirements.csv)", ""]
    return lines, {}


def generalisation(network, out: Path, plt, *, seed: int, quick: bool) -> tuple[list[str], dict]:
    """Figure 6: MSE of the mean head on sample sizes and dimensions beyond the model's training
    range (its card's n and dimension ranges), per split."""
    training = getattr(network, "card", {}).get("training", {})
    n_max, d_max = int(training.get("n_range", (10, 500))[1]), int(training.get("dim_range", (1, 32))[1])
    ns = (100, 500, 1000, 2000) if not quick else (100, 1000)
    ds = (4, 16, 32, 48, 64) if not quick else (8, 48)
    repeats = 1 if quick else 2
    rows = []
    gen = torch.Generator().manual_seed(seed + 606)
    for split in ("imd", "oomd"):
        for n in ns:
            for d in ds:
                xs, ys, truth = [], [], []
                for family in get_split(split):
                    b = sample_datasets(family, n, d, d, repeats, generator=gen)
                    xs += list(b.x.numpy())
                    ys += list(b.y.numpy())
                    truth += b.mi.tolist()
                mean, _ = predict_many(network, xs, ys, cells_per_batch=2_000_000)
                err = (np.clip(mean, 0, None) - np.array(truth)) ** 2
                rows.append({"split": split, "n": n, "d": d, "mse": float(err.mean()), "mean_mi": float(np.mean(truth)),
                             "beyond_training": n > n_max or d > d_max})
    table = pd.DataFrame(rows)
    table.to_csv(out / "figure6_generalisation.csv", index=False)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, split in zip(axes, ("imd", "oomd")):
        pivot = table[table.split == split].pivot(index="d", columns="n", values="mse")
        im = ax.imshow(np.log10(pivot.to_numpy() + 1e-3), cmap="magma", aspect="auto")
        ax.set_xticks(range(len(pivot.columns)), pivot.columns)
        ax.set_yticks(range(len(pivot.index)), pivot.index)
        for (r, c), v in np.ndenumerate(pivot.to_numpy()):
            ax.text(c, r, f"{v:.2f}", ha="center", va="center", color="w", fontsize=7)
        ax.set(title=f"{split.upper()}: MSE (log10 colour)", xlabel=f"n (trained <= {n_max})", ylabel=f"d (trained <= {d_max})")
        fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(out / "figure6_generalisation.png", dpi=100)
    plt.close(fig)
    lines = ["## Figure 6: beyond the training range", "",
             f"The model was trained on n up to {n_max} and dimensions up to {d_max}; larger n and d here are "
             "outside that range (one direct pass over all rows).", "", "![](figure6_generalisation.png)",
             "(data: figure6_generalisation.csv)", ""]
    return lines, {"generalisation_mse": table.groupby("beyond_training")["mse"].mean().rename(str).to_dict()}


def consistency(estimate_many, out: Path, plt, *, seed: int, quick: bool) -> tuple[list[str], dict]:
    """Appendix D.2: independence, data processing and additivity, on Gaussian data.

    - independence: X independent of Y -> the estimate should be near 0;
    - data processing: X -> Y -> Z (Z = Y + noise) -> I(X;Z) <= I(X;Y);
    - additivity: (X1, Y1) independent of (X2, Y2) -> I([X1,X2];[Y1,Y2]) = I(X1;Y1) + I(X2;Y2).
    """
    rng = np.random.default_rng(seed + 42)
    trials = 10 if quick else 40
    rows = []
    for n in ((50, 200) if quick else (50, 100, 200, 500)):
        for d in ((2, 8) if quick else (2, 4, 8, 16)):
            pairs, kinds = [], []
            for _ in range(trials):
                x = rng.normal(size=(n, d))
                pairs.append((x, rng.normal(size=(n, d))))
                kinds.append(("independence", 0.0))
                rho = rng.uniform(0.3, 0.9)
                y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=(n, d))
                z = y + rng.uniform(0.5, 2.0) * rng.normal(size=(n, d))
                pairs += [(x, y), (x, z)]
                kinds += [("dpi_xy", 0.0), ("dpi_xz", 0.0)]
                x2 = rng.normal(size=(n, d))
                y2 = rho * x2 + np.sqrt(1 - rho**2) * rng.normal(size=(n, d))
                pairs += [(x2, y2), (np.hstack([x, x2]), np.hstack([y, y2]))]
                kinds += [("add_part2", 0.0), ("add_joint", 0.0)]
            values = np.array([r.estimate for r in estimate_many(pairs)])
            kind = np.array([k for k, _ in kinds])
            ind = values[kind == "independence"]
            xy, xz = values[kind == "dpi_xy"], values[kind == "dpi_xz"]
            part2, joint = values[kind == "add_part2"], values[kind == "add_joint"]
            rows.append({"n": n, "d": d, "independence_mean": ind.mean(), "independence_p95": np.quantile(ind, 0.95),
                         "dpi_violation_rate": float(np.mean(xz > xy)),
                         "additivity_ratio_median": float(np.median(joint / np.maximum(xy + part2, 1e-9)))})
    table = pd.DataFrame(rows)
    table.to_csv(out / "appendixD2_consistency.csv", index=False)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, column, title in zip(axes, ("independence_mean", "dpi_violation_rate", "additivity_ratio_median"),
                                 ("independence: mean estimate (ideal 0)", "DPI: share with I(X;Z) > I(X;Y) (ideal 0)",
                                  "additivity: joint / sum (ideal 1)")):
        for d, sub in table.groupby("d"):
            ax.plot(sub["n"], sub[column], "o-", label=f"d={d}")
        ax.set(title=title, xlabel="n")
        ax.title.set_fontsize(9)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "appendixD2_consistency.png", dpi=100)
    plt.close(fig)
    lines = ["## Appendix D.2: self-consistency (MIST, Gaussian data)", "", markdown_table(table.set_index("n")),
             "", "![](appendixD2_consistency.png)", "(data: appendixD2_consistency.csv)", ""]
    return lines, {"consistency": table.to_dict(orient="records")}


def _roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Probability that a random informative feature outranks a random uninformative one."""
    pos, neg = scores[labels], scores[~labels]
    return float(((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (len(pos) * len(neg)))


class _MineObjective:
    """MINE trained continually alongside the weights: a few critic steps per outer step."""

    def __init__(self, seed: int, inner_steps: int = 15):
        gen_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        self.critic = torch.nn.Sequential(torch.nn.Linear(2, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                                          torch.nn.ReLU(), torch.nn.Linear(64, 1))
        torch.random.set_rng_state(gen_state)
        self.opt = torch.optim.Adam(self.critic.parameters(), lr=1e-3)
        self.inner_steps = inner_steps
        self.gen = torch.Generator().manual_seed(seed)

    def _bound(self, p: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        shuffled = y[torch.randperm(len(y), generator=self.gen)]
        joint = self.critic(torch.cat([p, y], 1)).mean()
        marginal = self.critic(torch.cat([p, shuffled], 1))[:, 0]
        return joint - (torch.logsumexp(marginal, 0) - np.log(len(y)))

    def __call__(self, p: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        for _ in range(self.inner_steps):
            loss = -self._bound(p.detach(), y)
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
        return self._bound(p, y)


def feature_selection(out: Path, plt, *, model: str, seed: int, quick: bool) -> tuple[list[str], dict]:
    """Appendix E: learn feature weights in [0, 1] by gradient ascent (Adam, lr 0.01) on the MI
    between the weighted sum of 32 standard-normal features and a label that depends on 2 of them
    plus Gaussian noise; MIST (``MIEstimator``) against MINE trained continually (15 critic steps
    per weight step). Scored by ROC AUC of the final weights and top-2 accuracy."""
    from mist.differentiable import MIEstimator

    est = MIEstimator() if model == "default" else MIEstimator(model)  # "default": MIEstimator's own
    steps = 40 if quick else 500
    seeds = range(1 if quick else 3)
    ns = (100,) if quick else (50, 100, 200)
    rows, weights_rows = [], []
    for noise in (0.3, 0.5, 1.0):
        for n in ns:
            for s in seeds:
                rng = np.random.default_rng(seed * 1000 + s)
                x = torch.tensor(rng.normal(size=(n, 32)), dtype=torch.float32)
                informative = np.zeros(32, dtype=bool)
                informative[rng.choice(32, 2, replace=False)] = True
                y = x[:, informative].sum(1, keepdim=True) + np.sqrt(noise) * torch.tensor(rng.normal(size=(n, 1)), dtype=torch.float32)
                for method in ("MIST", "MINE"):
                    objective = ((lambda p, t: est(p, t)) if method == "MIST"
                                 else _MineObjective(seed * 1000 + s, inner_steps=5 if quick else 15))
                    theta = torch.full((32,), -2.0, requires_grad=True)  # weights start at a small constant
                    opt = torch.optim.Adam([theta], lr=0.01)
                    for _ in range(steps):
                        weights = torch.sigmoid(theta)
                        loss = -objective((x * weights).sum(1, keepdim=True), y)
                        opt.zero_grad()
                        loss.backward()
                        opt.step()
                    w = torch.sigmoid(theta).detach().numpy()
                    top2 = np.argsort(-w)[:2]
                    rows.append({"method": method, "noise_var": noise, "n": n, "seed": s,
                                 "roc_auc": _roc_auc(w, informative), "top2_accuracy": float(informative[top2].mean())})
                    weights_rows += [{"method": method, "noise_var": noise, "n": n, "seed": s, "feature": j,
                                      "weight": float(w[j]), "informative": bool(informative[j])} for j in range(32)]
    table = pd.DataFrame(rows)
    table.to_csv(out / "appendixE_feature_selection.csv", index=False)
    summary = table.groupby(["method", "noise_var"])[["roc_auc", "top2_accuracy"]].mean()
    weights = pd.DataFrame(weights_rows)
    weights.to_csv(out / "appendixE_final_weights.csv", index=False)
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    for method, sub in weights.groupby("method"):
        # ROC pooled over runs: weights ranked within each run, thresholds swept over all of them
        order = np.argsort(-sub["weight"].to_numpy())
        labels = sub["informative"].to_numpy()[order]
        tpr = np.concatenate([[0], np.cumsum(labels) / labels.sum()])
        fpr = np.concatenate([[0], np.cumsum(~labels) / (~labels).sum()])
        axes[2].plot(fpr, tpr, label=method)
    axes[2].plot([0, 1], [0, 1], "k--", lw=1)
    axes[2].set(title="ROC of final weights (pooled runs)", xlabel="false positive rate", ylabel="true positive rate")
    axes[2].legend()
    for ax, metric in zip(axes, ("roc_auc", "top2_accuracy")):
        for method, sub in table.groupby("method"):
            means = sub.groupby("n")[metric].mean()
            ax.plot(means.index, means.values, "o-", label=method)
        ax.set(title=f"{metric} (mean over noise levels and seeds)", xlabel="n", ylim=(0, 1.05))
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "appendixE_feature_selection.png", dpi=100)
    plt.close(fig)
    lines = ["## Appendix E: feature selection by MI gradient ascent (32 features, 2 informative)", "",
             f"{steps} Adam steps (lr 0.01), seeds {len(list(seeds))}, n in {list(ns)}.", "",
             markdown_table(summary.reset_index().set_index("method")), "",
             "![](appendixE_feature_selection.png)", "(data: appendixE_feature_selection.csv)", ""]
    return lines, {"feature_selection": summary.reset_index().to_dict(orient="records")}
