"""The ``mist`` command line. Every command calls the same functions as the Python API."""

from __future__ import annotations

import json
import math
import sys
import warnings
from pathlib import Path
from typing import Optional

import typer

from mist.errors import MistError, MistWarning

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Estimate mutual information (nats by default) and work with mist's benchmark distributions.",
)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _run(fn):
    """Turn mist's input errors into one line on stderr and exit code 2."""
    try:
        return fn()
    except MistError as exc:
        _fail(str(exc))


_X_HELP = ("Columns of X: comma-separated names or 0-based positions, a:c for a range. Optional for an .npz "
           "holding arrays x and y, and for a two-column table (X is its first column).")
_Y_HELP = "Columns of Y, as --x."


def _load_xy(data: Path, x: str | None, y: str | None):
    """The X and Y columns of the table in ``data``: those ``--x`` and ``--y`` name, or, when
    both are left out, an .npz's arrays x and y, or a two-column table's two columns."""
    from mist.io import read_table, select_columns

    frame = read_table(data)
    if x is not None and y is not None:
        return select_columns(frame, x, "--x"), select_columns(frame, y, "--y")
    if x is not None or y is not None:
        raise MistError("give both --x and --y, or neither (for an .npz holding arrays x and y, or a two-column "
                        "table).")
    names = [str(c) for c in frame.columns]
    if Path(data).suffix.lower() == ".npz" and names[0] == "x0" and any(n.startswith("y") for n in names):
        split = next(i for i, n in enumerate(names) if n.startswith("y"))  # columns x0, x1, ..., y0, y1, ...
        return frame.iloc[:, :split], frame.iloc[:, split:]
    if len(names) == 2:
        return frame.iloc[:, :1], frame.iloc[:, 1:]
    if len(names) < 2:
        raise MistError(f"{str(data)!r} has one column, {names[0]!r}; X and Y need one each.")
    shown = names if len(names) <= 20 else names[:20] + ["..."]
    raise MistError(f"say which columns are X and Y with --x and --y: {str(data)!r} has {len(names)} columns "
                    f"{shown}, e.g. --x {names[0]} --y {names[1]}.")


def _load_xyz(data: Path, x: str | None, y: str | None, z: str | None):
    """:func:`_load_xy`'s X and Y, and the columns ``--z`` names (None without it)."""
    if z is None:
        return (*_load_xy(data, x, y), None)
    if x is None or y is None:
        raise MistError("--z needs --x and --y: say which columns are X, Y and Z.")
    from mist.io import read_table, select_columns

    frame = read_table(data)
    return select_columns(frame, x, "--x"), select_columns(frame, y, "--y"), select_columns(frame, z, "--z")


def _parse_levels(spec: str | None, option: str) -> list[float] | None:
    """Comma-separated levels in (0, 1) (``--quantiles``)."""
    if spec is None:
        return None
    try:
        levels = [float(token) for token in spec.split(",") if token.strip()]
    except ValueError:
        levels = []
    if not levels or not all(0 < t < 1 for t in levels):
        raise MistError(f"`{option}` takes comma-separated numbers strictly between 0 and 1, e.g. {option} "
                        f"0.05,0.95; got {spec!r}.")
    return levels


def _convert(value: float, bits: bool) -> float:
    return value / math.log(2) if bits else value


def _print_result(result, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
    else:
        typer.echo(str(result))
        if result.quantiles:
            typer.echo("quantiles: " + ", ".join(f"{tau:g}: {value:.4f}" for tau, value in result.quantiles.items()))
        if result.lower_bound is not None:
            typer.echo(f"model-free lower bound: {result.lower_bound:.4f} {result.unit}")
        for note in result.notes:
            typer.echo(f"note: {note}")


@app.command()
def estimate(
    data: Path = typer.Argument(..., help="CSV, Parquet, .npy or .npz file with one sample per row."),
    x: Optional[str] = typer.Option(None, "--x", help=_X_HELP),
    y: Optional[str] = typer.Option(None, "--y", help=_Y_HELP),
    z: Optional[str] = typer.Option(None, "--z", help="Columns to condition on (needs --x and --y): the "
                                    "conditional MI I(X;Y|Z)."),
    bits: bool = typer.Option(False, "--bits", help="Report bits instead of nats."),
    level: float = typer.Option(0.9, "--level", help="Probability of the interval."),
    quantiles: Optional[str] = typer.Option(None, "--quantiles", help="Extra quantile levels to report, "
                                            "comma-separated, e.g. 0.05,0.5,0.95."),
    model: str = typer.Option("default", "--model", help="Shipped model name, model card path, or ksg."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
):
    """Estimate MI with the pretrained model, with an interval.

    Example: mist estimate data.csv --x a,b --y c --bits

    Example: mist estimate data.csv --x a --y b --z c,d   (conditional MI)

    Example: mist estimate xy.npz --quantiles 0.05,0.95 --json
    """

    def work():
        import mist.api

        xs, ys, zs = _load_xyz(data, x, y, z)
        taus = _parse_levels(quantiles, "--quantiles")
        with warnings.catch_warnings():  # each warning is also one of the result's notes, printed below
            warnings.simplefilter("ignore", MistWarning)
            result = mist.api.estimate(xs, ys, zs, model=model, level=level, quantiles=taus,
                                       base=2 if bits else None)
        _print_result(result, as_json)

    _run(work)


@app.command("ci-test")
def ci_test(
    data: Path = typer.Argument(..., help="CSV, Parquet, .npy or .npz file with one sample per row."),
    x: str = typer.Option(..., "--x", help=_X_HELP),
    y: str = typer.Option(..., "--y", help=_Y_HELP),
    z: str = typer.Option(..., "--z", help="Columns to condition on."),
    alpha: float = typer.Option(0.05, "--alpha", help="Level of the test."),
    model: str = typer.Option("default", "--model", help="Shipped model name, model card path, or ksg."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
):
    """Test whether X and Y are independent given Z (H0: I(X;Y|Z) = 0): a p-value and a decision.

    Example: mist ci-test data.csv --x a --y b --z c,d --alpha 0.01
    """

    def work():
        import mist.conditional

        xs, ys, zs = _load_xyz(data, x, y, z)
        with warnings.catch_warnings():  # printed below as notes
            warnings.simplefilter("ignore", MistWarning)
            result = mist.conditional.ci_test(xs, ys, zs, alpha=alpha, model=model)
        if as_json:
            typer.echo(json.dumps({**result._asdict(), "findings": [f._asdict() for f in result.findings]}))
            return
        typer.echo(str(result))
        for finding in result.findings:
            typer.echo(f"note: {finding.message}")

    _run(work)


@app.command()
def demo(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")):
    """Estimate MI on the bundled example (exact MI known) and compare with KSG.

    Example: mist demo
    """

    def work():
        import importlib.resources as resources

        import mist.api
        from mist.estimators import KSG
        from mist.io import read_table

        folder = resources.files("mist") / "data"
        meta = json.loads((folder / "example.json").read_text())
        frame = read_table(Path(str(folder / "example.csv")))
        xs, ys = frame[meta["x"]], frame[meta["y"]]
        result = mist.api.estimate(xs, ys)
        if as_json:
            typer.echo(json.dumps({"mist": result.to_dict(), "ksg": KSG().estimate(xs, ys), "true_mi": meta["true_mi_nats"]}))
            return
        typer.echo(f"bundled example: {meta['family']}, n={meta['n']}, X={meta['x']}, Y={meta['y']}")
        typer.echo(f"exact MI:  {meta['true_mi_nats']:.4f} nats")
        typer.echo(f"mist:      {result}")
        typer.echo(f"KSG (k=5): {KSG().estimate(xs, ys):.4f} nats")

    _run(work)


@app.command()
def matrix(
    data: Path = typer.Argument(..., help="Table (CSV, Parquet, .npy, .npz) whose columns are compared pairwise."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write the matrix (or, with --pairs, the "
                                          "pairs) to this CSV or Parquet file; pairs go to Parquet as they are "
                                          "estimated."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write a heatmap PNG (needs matplotlib)."),
    columns: Optional[str] = typer.Option(None, "--columns", help="Columns to compare: comma-separated names or "
                                          "0-based positions, a:c for a range (default: all, which must be numeric)."),
    pairs: bool = typer.Option(False, "--pairs", help="One row per pair, strongest first, with its interval and "
                               "model-free lower bound, instead of the matrix."),
    level: float = typer.Option(0.9, "--level", help="Probability of the intervals (with --pairs)."),
    bits: bool = typer.Option(False, "--bits", help="Report bits instead of nats."),
    model: str = typer.Option("default", "--model", help="Shipped model name, model card path, or ksg."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Run the pairs on Dask: local (a "
                                            "LocalCluster on this machine) or a scheduler address, tcp://host:8786."),
    min_estimate: Optional[float] = typer.Option(None, "--min-estimate", help="With --pairs: only the pairs "
                                                 "estimated at this or more (in the unit reported)."),
    top_k: Optional[int] = typer.Option(None, "--top-k", help="With --pairs: only the pairs among the K strongest "
                                        "of either of their columns."),
):
    """MI between every pair of columns.

    Example: mist matrix data.csv -o mi.csv --plot mi.png

    Example: mist matrix data.csv --columns a:d --pairs --bits

    Example: mist matrix wide.parquet --pairs --scheduler local   (Dask, one worker per core)

    Example: mist matrix wide.parquet --pairs --top-k 10 --scheduler tcp://host:8786 -o strong.parquet
    """

    def work():
        import mist.tables

        base = 2 if bits else None
        unit = "bits" if bits else "nats"
        for given, option in ((min_estimate, "--min-estimate"), (top_k, "--top-k")):
            if given is not None and not pairs:
                raise MistError(f"{option} filters the pairs: it needs --pairs.")
        frame = _load_table_columns(data, columns, lazy=scheduler is not None)
        if pairs and output is not None and output.suffix.lower() == ".parquet":
            if plot:
                raise MistError("--plot needs the pairs in memory; it cannot go with -o FILE.parquet, which writes "
                                "them as they are estimated (write CSV, or plot from the file).")
            with warnings.catch_warnings():  # the findings are printed below as notes
                warnings.simplefilter("ignore", MistWarning)
                written = mist.tables.write_mi_pairs(frame, output, level=level, model=model, base=base,
                                                     scheduler=scheduler, min_estimate=min_estimate, top_k=top_k)
            typer.echo(f"wrote {written.pairs} pairs ({unit}, {level:g} intervals, model {written.model}) to {output}")
            _print_findings(written.findings, {})
            return
        with warnings.catch_warnings():  # the findings are printed below as notes
            warnings.simplefilter("ignore", MistWarning)
            if pairs:
                table = mist.tables.mi_pairs(frame, level=level, model=model, base=base, scheduler=scheduler,
                                             min_estimate=min_estimate, top_k=top_k)
            else:
                table = mist.tables.mi_matrix(frame, model=model, base=base, scheduler=scheduler)
        beyond = _flagged_pairs(table, pairs)
        if output and output.suffix.lower() == ".parquet":
            table.to_parquet(output)
        elif output:
            table.to_csv(output, index=not pairs)
        if plot:
            names = list(table.index) if not pairs else [str(c) for c in frame.columns]
            _heatmap(_pairs_as_matrix(table, names) if pairs else table, plot, unit)
        if not output:
            if pairs:
                typer.echo(f"{unit}, {level:g} intervals, model {table.attrs['model']}")
                typer.echo(table.round(4).to_string(index=False))
            elif len(table) <= MATRIX_PRINT_COLUMNS:
                typer.echo(table.round(4).to_string())
            else:  # a wide matrix is unreadable on a terminal: its strongest pairs instead
                import numpy as np

                first, second = np.triu_indices(len(table), k=1)
                values = table.to_numpy()[first, second]
                strongest = np.argsort(-values, kind="stable")[:20]
                typer.echo(f"{len(table)} columns: the {len(strongest)} strongest of {len(values)} pairs ({unit}); "
                           "-o FILE.csv writes the whole matrix, --pairs lists every pair with its interval")
                for k in strongest:
                    typer.echo(f"{table.index[first[k]]} ~ {table.columns[second[k]]}: {values[k]:.4f}")
        _print_findings(table.attrs["findings"], beyond, unit)

    _run(work)


def _print_findings(findings, beyond: dict, unit: str = "") -> None:
    """The findings as notes: about columns, and each pair beyond the training range in
    ``beyond`` ({"a ~ b": lower bound}); without ``beyond`` the beyond-range finding itself."""
    for finding in findings:
        if finding.kind != "beyond-range" or not beyond:
            typer.echo(f"note: {finding.message}")
    for pair, value in beyond.items():
        typer.echo(f"note: {pair}: correlated beyond the model's training data, so its estimate is likely too "
                   f"low (MI at least {value:.4f} {unit}, model-free)")


#: Above this many columns `mist matrix` prints the strongest pairs, not the matrix.
MATRIX_PRINT_COLUMNS = 12


def _flagged_pairs(table, long: bool) -> dict:
    """{"a ~ b": model-free lower bound} of the pairs beyond the model's training range, from
    mi_pairs' table (``long``) or mi_matrix's attrs."""
    if not long:
        return table.attrs.get("beyond_range", {})
    labels = table["x"] + " ~ " + table["y"]
    beyond = table["beyond_range"]
    return dict(zip(labels[beyond], table["lower_bound"][beyond]))


def _pairs_as_matrix(table, names: list[str]):
    """mi_pairs' long table as mi_matrix's square one (for the heatmap)."""
    import numpy as np
    import pandas as pd

    position = {name: i for i, name in enumerate(names)}
    first, second = table["x"].map(position).to_numpy(), table["y"].map(position).to_numpy()
    out = np.full((len(names), len(names)), np.nan)
    out[first, second] = out[second, first] = table["estimate"].to_numpy()
    return pd.DataFrame(out, index=names, columns=names)


def _load_table_columns(data: Path, columns: str | None, lazy: bool = False):
    """The table in ``data``, cut to ``columns`` (``--columns``); without them every column,
    which must then be numeric. With ``lazy`` a Parquet or CSV file comes back as a dask
    DataFrame, for Dask's workers to read (:func:`mist.cluster.lazy_frame`)."""
    from pandas.api.types import is_numeric_dtype

    from mist.io import read_table, select_columns

    frame = None
    if lazy:
        from mist.cluster import lazy_frame

        frame = lazy_frame(data)
    if frame is not None:  # only its columns' names and types are read here
        if columns is not None:
            import pandas as pd

            return frame[list(select_columns(pd.DataFrame(columns=frame.columns), columns, "--columns").columns)]
    else:
        frame = read_table(data)
    if columns is not None:
        return select_columns(frame, columns, "--columns")
    text = [str(c) for c, kind in frame.dtypes.items() if not is_numeric_dtype(kind)]
    if text:
        numeric = [str(c) for c, kind in frame.dtypes.items() if is_numeric_dtype(kind)]
        example = f", e.g. --columns {','.join(numeric[:8])}" if len(numeric) >= 2 else ""
        raise MistError(f"column(s) {text[:10]} of {data} are not numeric; choose the columns to compare with "
                        f"--columns{example}.")
    return frame


def _heatmap(table, path: Path, unit: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MistError("`--plot` needs matplotlib: pip install matplotlib") from exc
    d = len(table)
    size = min(2 + 0.5 * d, 16)  # inches: a 150-column table once made a 9,240 x 7,854 pixel image
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    im = ax.imshow(table.to_numpy(), cmap="viridis")
    step = max(1, math.ceil(d / 50))  # at most ~50 labels an axis, so they stay legible
    ticks = list(range(0, d, step))
    ax.set_xticks(ticks, [table.columns[i] for i in ticks], rotation=90, fontsize=8 if d > 30 else None)
    ax.set_yticks(ticks, [table.index[i] for i in ticks], fontsize=8 if d > 30 else None)
    fig.colorbar(im, ax=ax, label=f"mutual information ({unit})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


@app.command()
def baseline(
    estimator: str = typer.Argument(..., help="ksg, cca, copula-cca, mine, infonce, nwj, dv or smile."),
    data: Path = typer.Argument(..., help="CSV, Parquet, .npy or .npz file with one sample per row."),
    x: Optional[str] = typer.Option(None, "--x", help=_X_HELP),
    y: Optional[str] = typer.Option(None, "--y", help=_Y_HELP),
    bits: bool = typer.Option(False, "--bits", help="Report bits instead of nats."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    k: int = typer.Option(5, "--k", help="Neighbours for ksg."),
    n_bootstrap: int = typer.Option(0, "--bootstrap", help="Bootstrap resamples for an interval (0: none)."),
    halves: bool = typer.Option(False, "--halves", help="ksg only: bias-corrected from 10 random halves of the "
                                "rows, with an interval from their spread (as mist estimate answers, on normal "
                                "scores, where KSG disagrees with the model; better than --bootstrap for KSG)."),
    level: float = typer.Option(0.9, "--level", help="Interval level with --bootstrap or --halves."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap resampling and of neural critics."),
    critic: str = typer.Option("separable", "--critic", help="Neural estimators: separable or joint critic."),
    time_budget: float = typer.Option(60.0, "--time-budget", help="Neural estimators: seconds per fit."),
    progress: bool = typer.Option(False, "--progress", help="Neural estimators: show a progress bar."),
):
    """Estimate MI with a classical or neural (critic-fitting) estimator.

    Example: mist baseline ksg data.csv --x a,b --y c --bootstrap 200
    Example: mist baseline ksg data.csv --x a --y c --halves
    Example: mist baseline infonce data.csv --x a,b --y c --time-budget 30
    """

    def work():
        from mist.estimators import BASELINES, NeuralEstimator, bootstrap, get_baseline

        settings: dict = {"k": k} if estimator == "ksg" else {}
        if isinstance(BASELINES.get(estimator), type) and issubclass(BASELINES[estimator], NeuralEstimator):
            settings = {"seed": seed, "critic": critic, "time_budget": time_budget, "progress": progress}
        est = get_baseline(estimator, **settings)
        xs, ys = _load_xy(data, x, y)
        unit = "bits" if bits else "nats"
        out = {"estimator": estimator, "n": int(len(xs)), "dim_x": int(xs.shape[1]), "dim_y": int(ys.shape[1])}
        if halves and (estimator != "ksg" or n_bootstrap):
            raise MistError("`--halves` works with the ksg estimator only, and without `--bootstrap`.")
        if halves:
            from mist._validation import check_level
            from mist.estimators.ksg import ksg_interval

            r = ksg_interval(xs, ys, k=k)
            low, high = r.quantiles([(1 - check_level(level)) / 2, (1 + level) / 2])
            out.update(estimate=_convert(r.corrected, bits), low=_convert(low, bits), high=_convert(high, bits),
                       level=level, uncorrected=_convert(r.estimate, bits))
        elif n_bootstrap:
            r = bootstrap(est, xs, ys, n_resamples=n_bootstrap, level=level, seed=seed)
            out.update(estimate=_convert(r.estimate, bits), low=_convert(r.low, bits),
                       high=_convert(r.high, bits), level=level)
        else:
            out["estimate"] = _convert(est.estimate(xs, ys), bits)
        if "ceiling" in getattr(est, "last_fit", {}):
            out["ceiling"] = _convert(est.last_fit["ceiling"], bits)  # InfoNCE: log(held-out rows)
        out["unit"] = unit
        if as_json:
            typer.echo(json.dumps(out))
        else:
            line = f"{estimator}: I(X;Y) = {out['estimate']:.4f} {unit}"
            if n_bootstrap:
                line += f"  ({level:.0%} bootstrap interval {out['low']:.4f} to {out['high']:.4f})"
            if halves:
                line += (f"  (bias-corrected from halves of the rows; {level:.0%} interval {out['low']:.4f} to "
                         f"{out['high']:.4f}; uncorrected {out['uncorrected']:.4f})")
            if "ceiling" in out:
                line += f"  (InfoNCE cannot exceed {out['ceiling']:.4f} {unit})"
            typer.echo(line + f"  [n={out['n']}, dim_x={out['dim_x']}, dim_y={out['dim_y']}]")

    _run(work)


@app.command()
def testset(
    recipe: str = typer.Option("paper-general", "--recipe", help="Grid recipe; 'paper-general' is the paper's."),
    split: str = typer.Option(..., "--split", help="imd or oomd (or train)."),
    output: Path = typer.Option(..., "-o", "--output", help="Output .npz file."),
    seed: int = typer.Option(0, "--seed", help="Seed of the whole grid."),
):
    """Write a fixed test grid with exact MI to one compressed .npz file.

    Example: mist testset --split imd -o testsets/imd.npz
    """

    def work():
        from mist.distributions.testsets import RECIPES, paper_grid, save_testset

        if recipe not in RECIPES:
            raise MistError(f"`--recipe` must be one of {list(RECIPES)}, got {recipe!r}.")
        grid = paper_grid(split, seed=seed)
        path = save_testset(grid, output)
        typer.echo(f"wrote {len(grid)} datasets ({split}, MI {grid.mi.min():.3f} to {grid.mi.max():.3f} nats) to {path}")

    _run(work)


@app.command()
def train(
    preset_name: str = typer.Option("tiny", "--preset", help="smoke, tiny (2 CPU cores), small (one GPU, statistics only) or base (one GPU, cell trunk)."),
    output: Path = typer.Option(..., "-o", "--output", help="Run folder: checkpoint/, log.csv, final weights."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Total optimiser steps (overrides the preset)."),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="Stop (and checkpoint) after this many seconds."),
    datasets: Optional[int] = typer.Option(None, "--datasets", help="Stop (and checkpoint) once this many datasets are seen."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Checkpoint folder to continue."),
    init: Optional[Path] = typer.Option(None, "--init", help="Model card (.json) to start from, with a fresh optimiser."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of data and initialisation."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu or cuda (default: cuda when available)."),
    set_: list[str] = typer.Option([], "--set", help="Override a config field, e.g. --set model.cell_width=8 --set lr=3e-4."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
):
    """Train the learned estimator on synthetic data generated on the fly.

    Example: mist train --preset tiny -o runs/tiny --time-limit 3600
    Multi-GPU: torchrun --nproc_per_node 8 -m mist.cli train --preset base -o runs/base
    """

    def work():
        from mist.training import preset, train as run_training
        from mist.training.presets import apply_overrides

        cfg = preset(preset_name)
        if steps is not None:
            cfg.steps = steps
        if time_limit is not None:
            cfg.time_limit_s = time_limit
        if datasets is not None:
            cfg.datasets = datasets
        if seed is not None:
            cfg.seed = seed
        apply_overrides(cfg, set_)
        result = run_training(cfg, output, resume=resume, init_weights=init, device=device, progress=not quiet)
        typer.echo(json.dumps(result.summary))

    _run(work)


@app.command()
def export(
    card: Path = typer.Argument(..., help="Model card (.json) of a trained model, or a run folder (its last checkpoint)."),
    output: Path = typer.Option(..., "-o", "--output", help="Output stem, e.g. src/mist/weights/mist-tiny."),
    name: str = typer.Option(..., "--name", help="Model name recorded in the card."),
    evaluation: Optional[Path] = typer.Option(None, "--evaluation", help="JSON of figures (benchmarks/learned_estimator.py --json)."),
    note: Optional[str] = typer.Option(None, "--note", help="Free text for the card (how the figures were made)."),
    calibrate: bool = typer.Option(False, "--calibrate", help="Fit the quantile recalibration on 11,520 fresh "
                                   "datasets of the training families, then the interval of averages over row "
                                   "subsets (n above the trained rows) on 600 more, and the spread of the chain rule "
                                   "of conditional MI on 1,000 triples; store all three in the card (a few minutes)."),
):
    """Write a trained model as <output>.safetensors + <output>.json, with its card completed.

    Example: mist export runs/tiny/model.json -o src/mist/weights/mist-tiny --name mist-tiny --calibrate
    """

    def work():
        from mist.model.serialization import load_model_file, save_model
        from mist.training.loop import load_run

        network, meta = load_run(card) if card.is_dir() else load_model_file(card)
        for key in ("format", "config", "weights_file", "sha256", "parameters", "dtype"):
            meta.pop(key, None)
        meta["name"] = name
        if evaluation is not None:
            try:
                meta["evaluation"] = json.loads(evaluation.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise MistError(f"could not read `--evaluation` {str(evaluation)!r}: {exc}") from exc
        if note:
            meta["note"] = note
        if calibrate:
            import numpy as np

            from mist.estimation import row_subsets
            from mist.model.calibration import (GRID_TAUS, LARGE_N_PER_VALUE, LARGE_N_SEED, LARGE_N_VALUES, N_EDGES,
                                                calibration_set, calibration_set_description,
                                                discrete_calibration_set, fit_calibration, fit_shared_fraction,
                                                large_n_set, relation_calibration_set, subset_quantiles)

            # the calibration data follow the training mix: the paper's families over the trained
            # sample counts, and as large a share of relations and of discrete columns as training had
            stream = meta.get("training", {}).get("config", {}).get("stream", {})
            n_max = int(stream.get("n_range", (10, 500))[1])
            shares = {name: float(stream.get(key, 0.0)) for name, key in
                      ((relation_calibration_set, "relation_fraction"), (discrete_calibration_set, "discrete_fraction"))}
            grid = calibration_set(n_max=n_max)
            xs, ys, mi, fitted_on = list(grid.xs), list(grid.ys), np.asarray(grid.mi), calibration_set_description(n_max=n_max)
            for make, share in shares.items():
                if share > 0:
                    count = int(round(len(grid) * share / (1 - sum(shares.values()))))
                    more_xs, more_ys, more_mi = make(count, n_max=n_max)
                    xs, ys, mi = xs + more_xs, ys + more_ys, np.concatenate([mi, more_mi])
                    fitted_on += f", and {make.__name__}({count}, n_max={n_max})"
            n_edges = N_EDGES if n_max <= 500 else N_EDGES + (600,)
            maps, coverage = fit_calibration(network, xs, ys, mi, n_edges=n_edges)
            meta["tau_calibration"] = dict(
                maps.to_dict(), datasets=len(xs),
                fitted_on=fitted_on,
                raw_coverage={f"{t:.2f}": round(float(np.interp(t, GRID_TAUS, coverage)), 4) for t in (0.05, 0.25, 0.5, 0.75, 0.95)})
            network.tau_map = maps  # the subsets' quantiles are the calibrated ones, as estimate gives them
            large = large_n_set()
            split = lambda x, y: row_subsets(x, y, max_rows=n_max)  # noqa: E731  (as estimate splits them)
            rho, report = fit_shared_fraction(subset_quantiles(network, large, split), [mi for _, _, mi in large])
            meta["subset_calibration"] = dict(
                shared_fraction=rho, datasets=len(large), on_fit_data=report,
                fitted_on=f"large_n_set(seed={LARGE_N_SEED}): {LARGE_N_PER_VALUE} training-family datasets per n in "
                          f"{list(LARGE_N_VALUES)}, dims uniform in 1..32")
        path = save_model(network, output, meta)
        if calibrate:  # the chain rule of conditional MI runs the saved model as users will
            from mist.conditional import fit_conditional_scale

            meta["conditional_calibration"] = fit_conditional_scale(str(path))
            path = save_model(network, output, meta)
        typer.echo(f"wrote {path} and {path.with_suffix('.safetensors')}")

    _run(work)


@app.command()
def evaluate(
    output: Path = typer.Option(..., "-o", "--output", help="Report folder (report.md, PNG figures, CSVs)."),
    quick: bool = typer.Option(False, "--quick", help="Small grids: minutes on 2 CPU cores."),
    model: str = typer.Option("default", "--model", help="Shipped model name or model card path."),
    seed: int = typer.Option(0, "--seed", help="Seed of the test grids."),
    baselines: str = typer.Option("ksg,cca,copula-cca", "--baselines", help="Classical estimators, comma-separated."),
    neural: str = typer.Option("", "--neural", help="Neural estimators to include, e.g. mine,infonce (slow)."),
    neural_budget: float = typer.Option(5.0, "--neural-budget", help="Seconds per neural estimate."),
    neural_share: float = typer.Option(1.0, "--neural-share", help="Share of each grid the neural estimators see."),
    bootstrap_resamples: int = typer.Option(50, "--bootstrap", help="KSG bootstrap resamples for calibration."),
    markdown: Optional[Path] = typer.Option(None, "--markdown", help="Also write the report here, links relative to it."),
    studies: Optional[Path] = typer.Option(None, "--studies", help="Folder of the scaling studies' runs "
                                           "(scripts/train_studies.py): add Table 8 and Figure 8 from the finished ones."),
    studies_only: bool = typer.Option(False, "--studies-only", help="With --studies: only the studies, not the paper's parts."),
):
    """Reproduce the paper's experiments on our models and baselines; write a report.

    Example: mist evaluate --quick -o reports/quick
    Example (docs/results.md): mist evaluate -o docs/results --bootstrap 20 --markdown docs/results.md
    Example (docs/scaling.md): mist evaluate --studies runs/studies --studies-only -o docs/scaling --markdown docs/scaling.md
    """

    def work():
        from mist.evaluation.suite import EvaluationConfig, run_evaluation

        split = lambda text: tuple(t.strip() for t in text.split(",") if t.strip())  # noqa: E731
        cfg = EvaluationConfig(quick=quick, model=model, seed=seed, baselines=split(baselines), neural=split(neural),
                               neural_budget_s=neural_budget, neural_share=neural_share,
                               bootstrap_resamples=bootstrap_resamples, studies=studies, studies_only=studies_only)
        summary = run_evaluation(output, cfg)
        typer.echo(f"wrote {output / 'report.md'}")
        if markdown is not None:
            import os
            import re

            prefix = os.path.relpath(output, markdown.parent).replace(os.sep, "/")
            text = (output / "report.md").read_text()
            text = re.sub(r"!\[\]\(([^)]+)\)", lambda m: f"![]({prefix}/{m.group(1)})", text)
            text = re.sub(r"\(data: ([^)]+)\)", lambda m: f"(data: [{m.group(1)}]({prefix}/{m.group(1)}))", text)
            markdown.write_text(text)
            typer.echo(f"wrote {markdown}")
        if "mse" in summary:
            typer.echo("MSE: " + json.dumps({s: {k: v if isinstance(v, str) else round(v, 3) for k, v in m.items()}
                                             for s, m in summary["mse"].items()}))

    _run(work)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
