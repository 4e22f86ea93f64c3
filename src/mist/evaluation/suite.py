"""``mist evaluate``: the paper's experiments on our models and baselines, written as a report.

Parts (each names its counterpart in the paper):
- Table 1 / Table 6: MSE by sample-size bin and by family, IMD and OoMD general grids;
- Figure 2: predicted against true MI;
- Figure 3: heatmaps over (n, d) of MSE and bias;
- Figure 4: samples needed to reach an MSE target, per dimension (experiments.py);
- Figure 5: calibration curves of MIST-QR quantiles against KSG's bootstrap;
- Figure 6: beyond the training range (experiments.py);
- Appendix D.2: independence, data processing and additivity (experiments.py);
- Appendix E: feature selection by MI gradient ascent, MIST against MINE (experiments.py);
- Table 9: crossing quantiles and interval bound failures;
- Figure 7 / Table 7: seconds per estimate;
- Table 8 / Figure 8: model size and dimension specialisation, from finished runs (studies.py).
Every number plotted is also written to CSV beside its figure.
"""

from __future__ import annotations

import json
import platform
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mist.distributions import TestSet, paper_grid
from mist.errors import MistError, MistWarning
from mist.estimators import BASELINES, KSG, bootstrap
from mist.evaluation import experiments, studies
from mist.evaluation.markdown import markdown_table
from mist.evaluation.metrics import calibration, crossing_count, mse_table
from mist.evaluation.predict import predict_baseline, predict_learned

TAUS = tuple(np.round(np.linspace(0.05, 0.95, 19), 2))
N_BINS = ((10, 100), (100, 300), (300, 500))
QUICK_N = (10, 50, 100, 250, 500)


@dataclass
class EvaluationConfig:
    quick: bool = False
    model: str = "default"
    seed: int = 0
    baselines: tuple[str, ...] = ("ksg", "cca", "copula-cca")
    neural: tuple[str, ...] = ()  # e.g. ("mine", "infonce"): slow, see neural_budget_s
    neural_budget_s: float = 5.0
    neural_share: float = 1.0  # share of each grid the neural estimators run on
    bootstrap_resamples: int = 50
    studies: str | Path | None = None  # folder of the scaling studies' runs (scripts/train_studies.py)
    studies_only: bool = False  # score the studies' runs and skip the paper's parts
    timings: dict = field(default_factory=dict)


def _grids(cfg: EvaluationConfig) -> dict[str, TestSet]:
    if cfg.quick:
        return {s: paper_grid(s, seed=cfg.seed, repeats=2, n_values=QUICK_N) for s in ("imd", "oomd")}
    return {s: paper_grid(s, seed=cfg.seed) for s in ("imd", "oomd")}


def _n_bin(n: np.ndarray) -> np.ndarray:
    """Sample-size bin labels; a boundary value belongs to the lower bin."""
    conditions = [(n >= lo) & (n <= hi) for lo, hi in N_BINS]
    return np.select(conditions, [f"{lo}-{hi}" for lo, hi in N_BINS], default="other")


def run_evaluation(out_dir: str | Path, cfg: EvaluationConfig, progress: bool = True) -> dict:
    """Run every part, write ``report.md``, figures (PNG) and CSVs to ``out_dir``; return a summary.
    With ``cfg.studies`` the scaling studies' finished runs are scored too; with
    ``cfg.studies_only`` nothing else is."""
    for name in cfg.baselines + cfg.neural:
        if name not in BASELINES:
            raise MistError(f"unknown estimator {name!r}; expected names from {list(BASELINES)}.")
    if cfg.studies_only and cfg.studies is None:
        raise MistError("`studies_only` needs `studies`, the folder of the studies' runs.")
    if cfg.studies is not None and not Path(cfg.studies).is_dir():
        raise MistError(f"`studies`: {str(cfg.studies)!r} is not a folder (train the runs with "
                        "`python scripts/train_studies.py FOLDER`).")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    grids = _grids(cfg)
    cfg.timings["grids"] = time.perf_counter() - t0
    if cfg.studies_only:
        lines, summary, plt = _header(cfg, None), {}, _pyplot()
    else:
        lines, summary, plt = _paper_parts(out, cfg, grids, progress)
    if cfg.studies is not None:
        t = time.perf_counter()
        more_lines, summary["studies"] = studies.evaluate_studies(cfg.studies, grids, out, plt, taus=TAUS,
                                                                  seed=cfg.seed, quick=cfg.quick)
        lines += more_lines
        cfg.timings["studies"] = time.perf_counter() - t
    lines += ["## Wall time of each part (s)", "",
              markdown_table(pd.DataFrame({"seconds": {k: round(v, 1) for k, v in cfg.timings.items()}}), 1), ""]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    return summary


def _paper_parts(out: Path, cfg: EvaluationConfig, grids: dict[str, TestSet], progress: bool):
    """Tables 1, 6, 7, 9, Figures 2-7, Appendices D.2 and E; returns (Markdown lines, summary, pyplot)."""
    from mist.weights import load_model

    say = print if progress else (lambda *a, **k: None)
    network = load_model(cfg.model)
    card = network.card
    frames, seconds, quantiles = [], {}, {}
    for split, grid in grids.items():
        say(f"[{split}] {len(grid)} datasets")
        t = time.perf_counter()
        mean, quant, sec = predict_learned(network, grid, TAUS)
        dense_taus = np.linspace(0.001, 0.999, 201)
        _, dense, _ = predict_learned(network, grid, dense_taus)
        quantiles[split] = quant
        seconds.setdefault("MIST", []).append(sec)
        frame = pd.DataFrame({"split": split, "family": grid.family, "n": grid.n, "d": grid.dim_x, "true_mi": grid.mi,
                              "MIST": np.clip(mean, 0, None), "MIST-QR": np.clip(quant[:, TAUS.index(0.5)], 0, None)})
        frame.attrs["crossing"] = crossing_count(dense)
        cfg.timings[f"mist_{split}"] = time.perf_counter() - t
        for name in cfg.baselines:
            t = time.perf_counter()
            est = BASELINES[name]()
            frame[name.upper() if name != "copula-cca" else "copula-CCA"], sec = predict_baseline(est, grid)
            seconds.setdefault(name, []).append(sec)
            cfg.timings[f"{name}_{split}"] = time.perf_counter() - t
            say(f"  {name}: {sec * 1e3:.1f} ms per estimate")
        # one random subset shared by every neural estimator, so their errors compare
        pick = np.random.default_rng(cfg.seed).random(len(grid)) < cfg.neural_share
        for name in cfg.neural:
            t = time.perf_counter()
            est = BASELINES[name](time_budget=cfg.neural_budget_s, max_steps=1000)
            values = np.full(len(grid), np.nan)
            subset = grid.subset(pick)
            values[pick], sec = predict_baseline(est, subset)
            frame[name.upper()] = values
            seconds.setdefault(name, []).append(sec)
            cfg.timings[f"{name}_{split}"] = time.perf_counter() - t
            say(f"  {name}: {sec:.2f} s per estimate on {pick.sum()} datasets")
        t = time.perf_counter()
        frame_boot = {"KSG": _ksg_bootstrap_quantiles(grid, cfg.bootstrap_resamples, cfg.seed)}
        cfg.timings[f"ksg_bootstrap_{split}"] = time.perf_counter() - t
        t = time.perf_counter()
        frame_boot["MIST"] = _mist_bootstrap_quantiles(network, grid, cfg.bootstrap_resamples, cfg.seed)
        cfg.timings[f"mist_bootstrap_{split}"] = time.perf_counter() - t
        frames.append((frame, frame_boot))
    predictions = pd.concat([f for f, _ in frames], ignore_index=True)
    estimators = [c for c in predictions.columns if c not in ("split", "family", "n", "d", "true_mi")]
    predictions.to_csv(out / "predictions.csv", index=False)
    lines, summary, plt = _write_report(out, cfg, card, frames, quantiles, estimators,
                                        {k: float(np.mean(v)) for k, v in seconds.items()})
    from functools import partial

    import mist.estimation

    parts = [("figure4", lambda: experiments.sample_requirements(predictions, estimators, out, plt)),
             ("figure6", lambda: experiments.generalisation(network, out, plt, seed=cfg.seed, quick=cfg.quick)),
             ("appendixD2", lambda: experiments.consistency(partial(mist.estimation.estimate_many, model=cfg.model, progress=False),
                                                            out, plt, seed=cfg.seed, quick=cfg.quick)),
             ("appendixE", lambda: experiments.feature_selection(out, plt, model=cfg.model, seed=cfg.seed, quick=cfg.quick))]
    for name, part in parts:
        t = time.perf_counter()
        more_lines, more = part()
        lines += more_lines
        summary.update(more)
        cfg.timings[name] = time.perf_counter() - t
        say(f"{name}: {cfg.timings[name]:.1f} s")
    return lines, summary, plt


def _ksg_bootstrap_quantiles(grid: TestSet, resamples: int, seed: int) -> np.ndarray:
    """KSG's bootstrap distribution read at TAUS, per dataset: the paper's interval baseline."""
    out = np.empty((len(grid), len(TAUS)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MistWarning)
        for i, (x, y) in enumerate(zip(grid.xs, grid.ys)):
            r = bootstrap(KSG(k=min(5, x.shape[0] - 2)), x.astype(np.float64), y.astype(np.float64),
                          n_resamples=resamples, seed=seed + i)
            out[i] = np.quantile(r.samples, TAUS)
    return out


def _mist_bootstrap_quantiles(network, grid: TestSet, resamples: int, seed: int) -> np.ndarray:
    """The mean head over bootstrap resamples of each dataset, read at TAUS (the paper's MIST
    intervals); all resamples go through batched forward passes."""
    from mist.model.inference import predict_many

    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for x, y in zip(grid.xs, grid.ys):
        for _ in range(resamples):
            rows = rng.integers(0, x.shape[0], x.shape[0])
            xs.append(x[rows])
            ys.append(y[rows])
    mean, _ = predict_many(network, xs, ys)
    return np.quantile(np.clip(mean, 0, None).reshape(len(grid), resamples), TAUS, axis=1).T


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _header(cfg: EvaluationConfig, card: dict | None) -> list[str]:
    """The report's title, mode, hardware and (when the paper's parts run) the model."""
    lines = ["# mist evaluation report", "",
             f"Mode: {'quick (small grids)' if cfg.quick else 'full (paper-recipe general grids)'}; seed {cfg.seed}.",
             *([f"Neural estimators ({', '.join(cfg.neural)}) ran on a random {cfg.neural_share:.0%} of each grid with "
                f"{cfg.neural_budget_s:g} s per estimate; their MSE is over that subset only."] if cfg.neural and card else []),
             f"Hardware: {platform.platform()}, {platform.processor() or platform.machine()}, "
             f"torch {torch.__version__}, {torch.get_num_threads()} threads."]
    if card is not None:
        lines.append(f"Model: `{card.get('name')}` ({card.get('parameters')} parameters, sha256 "
                     f"{str(card.get('sha256'))[:12]}...; trained on {_datasets_behind(card)}, sizes n in "
                     f"{card.get('training', {}).get('n_range', '?')}, dims in "
                     f"{card.get('training', {}).get('dim_range', '?')}).")
    return lines + [""]


def _write_report(out: Path, cfg: EvaluationConfig, card: dict, frames, quantiles, estimators, seconds):
    """Tables 1, 6, 7, 9 and Figures 2, 3, 5; returns (Markdown lines, summary, pyplot)."""
    plt = _pyplot()
    t = time.perf_counter()
    lines = _header(cfg, card)
    summary: dict = {"mse": {}, "calibration": {}, "crossing": {}, "bound_failures": {}, "seconds_per_estimate": seconds}
    # Table 1 and Table 6
    for split_frame, _ in frames:
        split = split_frame["split"].iloc[0]
        truth, predictions = split_frame["true_mi"].to_numpy(), {name: split_frame[name] for name in estimators}
        by_bin = mse_table(truth, predictions, _n_bin(split_frame["n"].to_numpy()), total=True).rename_axis(None)
        by_family = mse_table(truth, predictions, split_frame["family"].to_numpy()).rename_axis("family")
        by_bin.to_csv(out / f"table1_mse_by_n_{split}.csv")
        by_family.to_csv(out / f"table6_mse_by_family_{split}.csv")
        summary["mse"][split] = by_bin.loc["all"].to_dict()  # "diverged" where a fit diverged
        lines += [f"## Table 1 ({split.upper()}): MSE by sample size (nats^2)", "", markdown_table(by_bin), "",
                  f"## Table 6 ({split.upper()}): MSE by family", "", markdown_table(by_family), ""]
    # Figure 2: predicted vs true
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for ax, (split_frame, _) in zip(axes, frames):
        for name in estimators:
            ax.scatter(split_frame["true_mi"], split_frame[name], s=6, alpha=0.5, label=name)
        top = split_frame["true_mi"].max()
        ax.plot([0, top], [0, top], "k--", lw=1)
        ax.set(title=f"{split_frame['split'].iloc[0].upper()}: predicted vs true MI", xlabel="true MI (nats)",
               ylabel="estimate (nats)")
    axes[0].legend(markerscale=3, fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "figure2_predicted_vs_true.png", dpi=110)
    plt.close(fig)
    lines += ["## Figure 2: predicted against true MI", "", "![](figure2_predicted_vs_true.png)",
              "(data: predictions.csv)", ""]
    # Figure 3: heatmaps over (d bin, n bin): MSE, bias, variance of the error, 90% interval coverage
    heat_rows = []
    lo, hi = TAUS.index(0.05), TAUS.index(0.95)
    for split_frame, boot in frames:
        f = split_frame.copy()
        split = f["split"].iloc[0]
        cells = [pd.cut(f["n"], [9, 100, 300, 500]), pd.cut(f["d"], [1, 8, 16, 24, 32])]
        inside = {"MIST-QR": (quantiles[split][:, lo] <= f["true_mi"]) & (f["true_mi"] <= quantiles[split][:, hi])}
        for name, q in boot.items():
            inside[name] = (q[:, lo] <= f["true_mi"]) & (f["true_mi"] <= q[:, hi])
        for name in [e for e in ("MIST", "MIST-QR", "KSG") if e in estimators]:
            diff = f[name] - f["true_mi"]
            grouped = diff.groupby(cells, observed=False)
            stats = pd.DataFrame({"mse": (diff**2).groupby(cells, observed=False).mean(), "bias": grouped.mean(),
                                  "error_variance": grouped.var()})
            if name in inside:
                stats["coverage90"] = inside[name].astype(float).groupby(cells, observed=False).mean()
            stats["estimator"], stats["split"] = name, split
            heat_rows.append(stats.reset_index().rename(columns={"n": "n_bin", "d": "d_bin"}))
    heat = pd.concat(heat_rows, ignore_index=True)
    heat.to_csv(out / "figure3_heatmaps.csv", index=False)
    panels = [(name, metric) for metric in ("mse", "bias", "error_variance") for name in ("MIST", "KSG") if name in estimators]
    panels += [(name, "coverage90") for name in ("MIST-QR", "MIST", "KSG") if name in estimators]
    cols = 4
    nrows = len(frames) * -(-len(panels) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.3 * cols, 3.1 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    k = 0
    for split_frame, _ in frames:
        split = split_frame["split"].iloc[0]
        for name, metric in panels:
            ax = axes.flat[k]
            k += 1
            ax.axis("on")
            sub = heat[(heat.split == split) & (heat.estimator == name)]
            table = sub.pivot(index="d_bin", columns="n_bin", values=metric)
            cmap = {"bias": "coolwarm", "coverage90": "viridis"}.get(metric, "magma")
            im = ax.imshow(table.to_numpy(dtype=float), cmap=cmap, aspect="auto")
            ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns], fontsize=7)
            ax.set_yticks(range(table.shape[0]), [str(r) for r in table.index], fontsize=7)
            ax.set(title=f"{split.upper()} {name}: {metric}", xlabel="n", ylabel="d")
            ax.title.set_fontsize(9)
            fig.colorbar(im, ax=ax)
        k = -(-k // cols) * cols  # each split starts a new row
    fig.tight_layout()
    fig.savefig(out / "figure3_heatmaps.png", dpi=90)
    plt.close(fig)
    lines += ["## Figure 3: MSE, bias, error variance and 90% interval coverage over n and d", "",
              "Coverage: MIST-QR's 0.05-0.95 quantiles; MIST's and KSG's bootstrap percentiles.", "",
              "![](figure3_heatmaps.png)",
              "(data: figure3_heatmaps.csv)", ""]
    # Figure 5: calibration; Table 9: crossings and bound failures
    cal_rows = []
    fig, axes = plt.subplots(1, len(frames), figsize=(5 * len(frames), 4.5), squeeze=False)
    for ax, (split_frame, boot) in zip(axes[0], frames):
        split = split_frame["split"].iloc[0]
        truth = split_frame["true_mi"].to_numpy()
        mist_cov = calibration(truth, quantiles[split], TAUS)
        ksg_cov = calibration(truth, boot["KSG"], TAUS)
        mist_boot_cov = calibration(truth, boot["MIST"], TAUS)
        for tau, a, b, c in zip(TAUS, mist_cov, mist_boot_cov, ksg_cov):
            cal_rows.append({"split": split, "tau": tau, "MIST-QR": a, "MIST bootstrap": b, "KSG bootstrap": c})
        ax.plot(TAUS, mist_cov, "o-", label="MIST-QR quantiles")
        ax.plot(TAUS, mist_boot_cov, "^-", label=f"MIST bootstrap ({cfg.bootstrap_resamples} resamples)")
        ax.plot(TAUS, ksg_cov, "s-", label=f"KSG bootstrap ({cfg.bootstrap_resamples} resamples)")
        ax.plot([0, 1], [0, 1], "k--", lw=1)
        ax.set(title=f"{split.upper()} calibration", xlabel="tau", ylabel="share of true MI <= predicted quantile")
        ax.legend(fontsize=8)
        q = quantiles[split]
        lo, hi = q[:, TAUS.index(0.05)], q[:, TAUS.index(0.95)]
        summary["calibration"][split] = {str(t): float(c) for t, c in zip(TAUS, mist_cov)}
        summary["crossing"][split] = int(split_frame.attrs["crossing"])
        summary["bound_failures"][split] = {"lower (truth < q0.05)": int((truth < lo).sum()),
                                            "upper (truth > q0.95)": int((truth > hi).sum()), "datasets": len(truth)}
    fig.tight_layout()
    fig.savefig(out / "figure5_calibration.png", dpi=110)
    plt.close(fig)
    pd.DataFrame(cal_rows).to_csv(out / "figure5_calibration.csv", index=False)
    table9 = pd.DataFrame({s: {"crossing quantiles (201 taus)": summary["crossing"][s], **summary["bound_failures"][s]}
                           for s in summary["crossing"]})
    table9.to_csv(out / "table9_quantile_checks.csv")
    lines += ["## Figure 5: calibration of the quantiles", "", "![](figure5_calibration.png)",
              "(data: figure5_calibration.csv)", "", "## Table 9: quantile self-consistency", "",
              markdown_table(table9, 0), ""]
    # Table 7: time per estimate
    timing = pd.DataFrame({"seconds per estimate": seconds})
    timing.to_csv(out / "table7_seconds_per_estimate.csv")
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * len(timing)))
    ax.barh(timing.index, timing.iloc[:, 0])
    ax.set(xscale="log", xlabel="seconds per estimate (log scale)", title="Inference time")
    fig.tight_layout()
    fig.savefig(out / "figure7_seconds_per_estimate.png", dpi=100)
    plt.close(fig)
    lines += ["## Figure 7 and Table 7: seconds per estimate (MIST batched over the grid)", "",
              markdown_table(timing, 5), "", "![](figure7_seconds_per_estimate.png)", ""]
    cfg.timings["tables_and_figures"] = time.perf_counter() - t
    return lines, summary, plt


def _datasets_behind(card: dict) -> str:
    """Datasets a model was trained on; for a fine-tuned model, the total with its starting model's."""
    training = card.get("training", {})
    lineage = training.get("initialized_from")
    if not lineage:
        return f"{training.get('datasets_seen', '?')} datasets"
    return (f"{training.get('datasets_seen_total', '?')} datasets (the last {training.get('datasets_seen', '?')} "
            f"fine-tuning {lineage.get('model', '?')})")

