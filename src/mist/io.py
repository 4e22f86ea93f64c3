"""Reading tables of samples from CSV, Parquet, .npy and .npz files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mist.errors import MistError

FORMATS = (".csv", ".tsv", ".txt", ".parquet", ".npy", ".npz")


def read_table(path: str | Path) -> pd.DataFrame:
    """Load a table of samples; arrays from .npy/.npz get columns named "0", "1", ...

    An .npz must hold exactly one array, or arrays named ``x`` and ``y`` (then columns are
    ``x0, x1, ..., y0, y1, ...``).
    """
    path = Path(path)
    if not path.exists():
        raise MistError(f"data file {str(path)!r} does not exist.")
    if path.is_dir():
        raise MistError(f"data file {str(path)!r} is a folder; pass a CSV, Parquet, .npy or .npz file.")
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise MistError(f"cannot read {str(path)!r}: unknown extension {suffix!r}; use one of {list(FORMATS)}.")
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, sep=csv_separator(path), engine="python")
        elif suffix in (".tsv", ".txt"):
            frame = pd.read_csv(path, sep=None, engine="python")
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix == ".npy":
            frame = _frame_from_array(np.load(path, allow_pickle=False), "")
        else:
            with np.load(path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
            if set(arrays) >= {"x", "y"}:
                fx, fy = _frame_from_array(arrays["x"], "x"), _frame_from_array(arrays["y"], "y")
                if len(fx) != len(fy):
                    raise MistError(f"{str(path)!r}: arrays x and y have {len(fx)} and {len(fy)} rows.")
                frame = pd.concat([fx, fy], axis=1)
            elif len(arrays) == 1:
                frame = _frame_from_array(next(iter(arrays.values())), "")
            else:
                raise MistError(
                    f"{str(path)!r} holds arrays {sorted(arrays)}; expected one array or arrays named x and y."
                )
    except MistError:
        raise
    except ImportError as exc:
        # pandas' message lists every engine it tried, a paragraph for one missing package
        raise MistError(f"reading Parquet files such as {str(path)!r} needs pyarrow: pip install pyarrow "
                        "(or pip install -e \".[parquet]\"), or save the table as CSV.") from exc
    except Exception as exc:
        raise MistError(f"could not read {str(path)!r}: {type(exc).__name__}: {exc}") from exc
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise MistError(f"data file {str(path)!r} is empty (shape {frame.shape}).")
    return frame


def csv_separator(path: str | Path) -> str:
    """The separator of a CSV file: "," unless its first line holds none but a ;, tab or |
    ("a;b", as spreadsheets in many locales write CSV), then the one csv.Sniffer finds there.
    Read once here, so that a file read whole and one read by Dask's workers split alike."""
    import csv

    with open(path, newline="") as f:
        header = f.readline()
    if "," in header or not any(c in header for c in ";\t|"):
        return ","
    try:
        return csv.Sniffer().sniff(header, delimiters=";\t|").delimiter
    except csv.Error:
        return ","


def _frame_from_array(array: np.ndarray, prefix: str) -> pd.DataFrame:
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise MistError(f"expected a 1-D or 2-D array, got shape {array.shape}.")
    return pd.DataFrame(array, columns=[f"{prefix}{i}" for i in range(array.shape[1])])


def select_columns(frame: pd.DataFrame, spec: str, option: str) -> pd.DataFrame:
    """Columns named in a comma-separated ``spec``; a name may also be a 0-based position.

    Ranges like ``a:c`` (by position of names, inclusive) are accepted.
    """
    names = [str(c) for c in frame.columns]
    chosen: list[int] = []
    for token in [t.strip() for t in str(spec).split(",") if t.strip()]:
        if ":" in token and token not in names:
            start, stop = (part.strip() for part in token.split(":", 1))
            i, j = _column_index(names, start, option), _column_index(names, stop, option)
            chosen.extend(range(i, j + 1) if i <= j else range(i, j - 1, -1))
        else:
            chosen.append(_column_index(names, token, option))
    if not chosen:
        raise MistError(f"`{option}` names no columns; give comma-separated names, e.g. {option} a,b.")
    return frame.iloc[:, chosen]


def _column_index(names: list[str], token: str, option: str) -> int:
    if token in names:
        return names.index(token)
    if token.lstrip("-").isdigit() and -len(names) <= int(token) < len(names):
        return int(token) % len(names)
    shown = names if len(names) <= 20 else names[:20] + ["..."]
    raise MistError(f"`{option}`: unknown column {token!r}; the file has columns {shown}.")
