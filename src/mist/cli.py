"""The ``mist`` command line. Every command calls the same functions as the Python API."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Optional

import typer

from mist.errors import MistError

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


def _load_xy(data: Path, x: str, y: str):
    from mist.io import read_table, select_columns

    frame = read_table(data)
    return select_columns(frame, x, "--x"), select_columns(frame, y, "--y")


def _convert(value: float, bits: bool) -> float:
    return value / math.log(2) if bits else value


@app.command()
def baseline(
    estimator: str = typer.Argument(..., help="ksg, cca or copula-cca."),
    data: Path = typer.Argument(..., help="CSV, Parquet, .npy or .npz file with one sample per row."),
    x: str = typer.Option(..., "--x", help="Columns of X: comma-separated names or 0-based positions."),
    y: str = typer.Option(..., "--y", help="Columns of Y: comma-separated names or 0-based positions."),
    bits: bool = typer.Option(False, "--bits", help="Report bits instead of nats."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    k: int = typer.Option(5, "--k", help="Neighbours for ksg."),
    n_bootstrap: int = typer.Option(0, "--bootstrap", help="Bootstrap resamples for an interval (0: none)."),
    level: float = typer.Option(0.9, "--level", help="Interval level with --bootstrap."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap resampling."),
):
    """Estimate MI with a classical estimator.

    Example: mist baseline ksg data.csv --x a,b --y c --bootstrap 200
    """

    def work():
        from mist.estimators import bootstrap, get_baseline

        settings = {"k": k} if estimator == "ksg" else {}
        est = get_baseline(estimator, **settings)
        xs, ys = _load_xy(data, x, y)
        unit = "bits" if bits else "nats"
        out = {"estimator": estimator, "n": int(len(xs)), "dim_x": int(xs.shape[1]), "dim_y": int(ys.shape[1])}
        if n_bootstrap:
            r = bootstrap(est, xs, ys, n_resamples=n_bootstrap, level=level, seed=seed)
            out.update(estimate=_convert(r.estimate, bits), low=_convert(r.low, bits),
                       high=_convert(r.high, bits), level=level)
        else:
            out["estimate"] = _convert(est.estimate(xs, ys), bits)
        out["unit"] = unit
        if as_json:
            typer.echo(json.dumps(out))
        else:
            line = f"{estimator}: I(X;Y) = {out['estimate']:.4f} {unit}"
            if n_bootstrap:
                line += f"  ({level:.0%} bootstrap interval {out['low']:.4f} to {out['high']:.4f})"
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


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
