"""The paper's scaling studies at our scale: model size (Table 8) and dimension specialisation
(Figure 8).

The runs are defined here, once: :func:`study_runs` gives each run's name, its part and its
``mist train`` arguments. ``scripts/train_studies.py`` trains them (resumable, one after
another); ``mist evaluate --studies FOLDER`` scores the finished ones and never trains.

- Table 8: the ``tiny`` architecture at three widths, trained on the same stream (same seed,
  so the very same datasets) for the same number of datasets, ``SIZE_DATASETS``.
- Figure 8: models trained on one input dimension d = dim_x = dim_y (4, 8, 16, 32) against the
  all-dimensions model of Table 8's middle size, and a reduced-data control: all dimensions,
  as many datasets as a specialised model (``SPECIALISED_DATASETS``). The paper's specialised
  models saw 1/31 of the base model's data (a filter of a fixed meta-dataset); ours see 1/8,
  because at 1/31 of a CPU-sized budget a model learns next to nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from mist.distributions import DEFAULT_PRIORS, TestSet, paper_grid
from mist.evaluation.markdown import markdown_table

SIZE_DATASETS = 400_000
SPECIALISED_DATASETS = 50_000
STUDY_DIMENSIONS = (4, 8, 16, 32)
STUDY_SEED = 0
# (stats_width, head_width, column_blocks); the middle one is the `tiny` preset itself
SIZES = {"size-s": (48, 96, 2), "size-m": (96, 192, 3), "size-l": (192, 384, 4)}
BASE_RUN = "size-m"  # Figure 8's all-dimensions model
# Every run takes 64 datasets a step (the preset sizes batches by cells, which would give a
# d = 4 run a tenth of a d = 32 run's steps for the same datasets) and a short warm-up
COMMON = ("stream.min_batch=64", "stream.max_batch=64", "warmup_steps=50", "val_every=250")


@dataclass(frozen=True)
class StudyRun:
    name: str
    part: str  # "table8" or "figure8"
    datasets: int
    overrides: tuple[str, ...] = ()
    dim: int | None = None  # the one input dimension of a specialised run

    def command(self, root: str | Path) -> list[str]:
        """The ``mist train`` command line of this run, writing into ``root/name``."""
        sets = [arg for o in COMMON + self.overrides for arg in ("--set", o)]
        return ["mist", "train", "--preset", "tiny", "-o", str(Path(root) / self.name), "--datasets", str(self.datasets),
                "--seed", str(STUDY_SEED), "--quiet", *sets]


def study_runs() -> list[StudyRun]:
    """Every run of both studies, the shortest first (the large model last)."""
    runs = [StudyRun(f"dim-{d}", "figure8", SPECIALISED_DATASETS, (f"stream.dim_range=[{d}, {d}]",), d)
            for d in STUDY_DIMENSIONS]
    runs.append(StudyRun("reduced-data", "figure8", SPECIALISED_DATASETS))
    for name in ("size-m", "size-s", "size-l"):
        width, head, blocks = SIZES[name]
        runs.append(StudyRun(name, "table8", SIZE_DATASETS, (f"model.stats_width={width}", f"model.head_width={head}",
                                                              f"model.column_blocks={blocks}")))
    return runs


def finished(root: str | Path, run: StudyRun) -> Path | None:
    """The model card a finished run wrote, or None."""
    card = Path(root) / run.name / "model.json"
    return card if card.is_file() else None


def error_summary(frame: pd.DataFrame, column: str) -> dict:
    """MSE, mean absolute bias and mean error variance over the grid's (family, n) groups: each
    group holds the repeats of one shape, so bias and variance are the error's mean and variance
    across those repeats (MSE over a group = bias^2 + variance, up to the variance's ddof)."""
    error = frame[column] - frame["true_mi"]
    groups = error.groupby([frame["family"], frame["n"]])
    return {"mse": float((error**2).mean()), "abs_bias": float(groups.mean().abs().mean()),
            "variance": float(groups.var().mean())}


def _latency_ms(network, repeats: int = 20) -> float:
    """Median milliseconds of one estimate at n = 500, 32 + 32 columns (the issue's yardstick)."""
    from mist.model.inference import predict_many

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((500, 32)), rng.standard_normal((500, 32))
    predict_many(network, [x], [y], [0.5])
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        predict_many(network, [x], [y], [0.5])
        times.append(time.perf_counter() - t)
    return 1e3 * float(np.median(times))


def dimension_grid(split: str, dim: int, *, seed: int, quick: bool) -> TestSet:
    """The paper's general grid of ``split`` with every dataset at dim_x = dim_y = ``dim``."""
    priors = replace(DEFAULT_PRIORS, dim=(dim, dim))
    if quick:
        return paper_grid(split, seed=seed, repeats=2, n_values=(10, 50, 100, 250, 500), priors=priors)
    return paper_grid(split, seed=seed, repeats=3, priors=priors)


def _grid_frame(network, grid: TestSet, taus) -> tuple[pd.DataFrame, np.ndarray]:
    from mist.evaluation.predict import predict_learned

    mean, quant, _ = predict_learned(network, grid, taus)
    frame = pd.DataFrame({"family": grid.family, "n": grid.n, "true_mi": grid.mi, "MIST": np.clip(mean, 0, None)})
    return frame, quant


def evaluate_studies(root: str | Path, grids: dict[str, TestSet], out: Path, plt, *, taus, seed: int,
                     quick: bool) -> tuple[list[str], dict]:
    """Table 8 and Figure 8 from the finished runs under ``root``; runs not finished are listed."""
    from mist.evaluation.metrics import calibration
    from mist.weights import load_model

    root = Path(root)
    runs = study_runs()
    missing = [run.name for run in runs if finished(root, run) is None]
    networks = {run.name: load_model(str(finished(root, run))) for run in runs if finished(root, run) is not None}
    lines = ["## Scaling studies: model size (Table 8) and dimension specialisation (Figure 8)", "",
             f"Runs read from `{root}` (trained by `python scripts/train_studies.py {root}`; each run's command is "
             f"in `mist.evaluation.studies.study_runs`). Every run: the `tiny` preset's stream (the paper's 16 training "
             f"families, n 10-500, dims 1-32), seed {STUDY_SEED}, one CPU thread.",
             *([f"Not finished (left out): {', '.join(missing)}.", ""] if missing else [""])]
    summary: dict = {"table8": {}, "figure8": {}, "missing": missing}
    lo, hi = list(taus).index(0.05), list(taus).index(0.95)
    rows = {}
    from mist.training.loop import relation_validation_set, validate_relations

    relations = relation_validation_set(per_shape=2 if quick else 4)
    for run in [r for r in runs if r.part == "table8" and r.name in networks]:
        network = networks[run.name]
        row = {"parameters": sum(p.numel() for p in network.parameters()), "datasets": run.datasets}
        for split, grid in grids.items():
            frame, quant = _grid_frame(network, grid, taus)
            stats = error_summary(frame, "MIST")
            row.update({f"{split.upper()} {k}": v for k, v in stats.items()})
            truth = frame["true_mi"].to_numpy()
            row[f"{split.upper()} calibration error"] = float(np.mean(np.abs(calibration(truth, quant, taus) - np.asarray(taus))))
            row[f"{split.upper()} 90% coverage"] = float(np.mean((quant[:, lo] <= truth) & (truth <= quant[:, hi])))
        found = validate_relations(network, relations)  # the dependence issue's families, never trained on here
        row["relations mse"], row["relations 90% coverage"] = found["val_relations_mse"], found["val_relations_coverage90"]
        row["ms per estimate (n 500, 32 + 32)"] = _latency_ms(network)
        rows[run.name] = row
    if rows:
        table8 = pd.DataFrame(rows).T
        table8.to_csv(out / "table8_model_size.csv")
        summary["table8"] = table8.to_dict(orient="index")
        lines += ["### Table 8: the same architecture at three sizes, the same datasets", "",
                  f"{SIZE_DATASETS:,} datasets each. Bias and variance: of the error across each (family, n) group's "
                  "repeats, averaged over groups (the paper does not define its columns; its Abs. Bias exceeds the "
                  "square root of its MSE, so it is not this mean). Calibration error: mean |coverage - tau| over "
                  "the 19 quantiles 0.05-0.95 (raw network quantiles, no recalibration). Relations: "
                  "`mist.training.loop.relation_validation_set` (y = f(x) + noise blocks, sign flips, mixtures; "
                  "n 50-1,000, 1-16 columns a side), which none of these runs trained on.", "",
                  markdown_table(table8.T.astype(object).apply(
                      lambda row: row.map(lambda v: f"{int(v):,}") if row.name in ("parameters", "datasets") else row,
                      axis=1)), ""]
    labels = {f"dim-{d}": "specialised" for d in STUDY_DIMENSIONS} | {"reduced-data": "reduced data", BASE_RUN: "all dimensions"}
    fig_rows = []
    for d in STUDY_DIMENSIONS:
        for split in grids:
            grid = dimension_grid(split, d, seed=seed, quick=quick)
            for name, label in labels.items():
                if name not in networks or (label == "specialised" and name != f"dim-{d}"):
                    continue
                frame, _ = _grid_frame(networks[name], grid, taus)
                fig_rows.append({"d": d, "split": split.upper(), "model": label, "run": name,
                                 "mse": error_summary(frame, "MIST")["mse"]})
    if fig_rows:
        figure8 = pd.DataFrame(fig_rows)
        figure8.to_csv(out / "figure8_dimension_specialisation.csv", index=False)
        summary["figure8"] = figure8.to_dict(orient="records")
        splits = list(dict.fromkeys(figure8["split"]))
        fig, axes = plt.subplots(1, len(splits), figsize=(5.5 * len(splits), 4), squeeze=False)
        order = ["all dimensions", "specialised", "reduced data"]
        for ax, split in zip(axes[0], splits):
            sub = figure8[figure8.split == split].pivot(index="d", columns="model", values="mse")
            sub = sub[[c for c in order if c in sub.columns]]
            sub.plot.bar(ax=ax, logy=True, rot=0)
            ax.set(title=f"{split}: MSE at one input dimension", xlabel="d = dim_x = dim_y", ylabel="MSE (log scale)")
        fig.tight_layout()
        fig.savefig(out / "figure8_dimension_specialisation.png", dpi=100)
        plt.close(fig)
        table = figure8.pivot_table(index=["split", "d"], columns="model", values="mse")
        table = table[[c for c in order if c in table.columns]]
        table.index = [f"{split}, d = {d}" for split, d in table.index]
        lines += ["### Figure 8: specialised to one dimension, against all dimensions", "",
                  f"All dimensions: `{BASE_RUN}` ({SIZE_DATASETS:,} datasets); specialised and reduced data: "
                  f"{SPECIALISED_DATASETS:,} datasets each. Grids: the paper's general grids with every dataset at "
                  f"dim_x = dim_y = d ({'quick: 2' if quick else '3'} repeats per family and n).", "",
                  markdown_table(table), "",
                  "![](figure8_dimension_specialisation.png)", "(data: figure8_dimension_specialisation.csv)", ""]
    return lines, summary
