"""One validation layer for the public boundary: samples in, float64 numpy arrays out."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from mist.errors import MistError, MistWarning

MIN_SAMPLES = 3


def _column_names(data: Any) -> list[str] | None:
    columns = getattr(data, "columns", None)
    if columns is not None:
        return [str(c) for c in columns]
    name = getattr(data, "name", None)  # pandas Series
    return [str(name)] if name is not None and np.ndim(data) == 1 else None


def as_samples(data: Any, name: str) -> np.ndarray:
    """Convert array-like samples to a float64 array of shape (n, d).

    Accepts numpy arrays, pandas DataFrames/Series, torch tensors and (nested) lists.
    A 1-D input is one column.

    Raises
    ------
    MistError
        If the input is not numeric, not 1-D or 2-D, empty, or holds NaN or infinity.
    """
    columns = _column_names(data)
    if hasattr(data, "detach") and hasattr(data, "cpu"):  # torch tensor, without importing torch
        data = data.detach().cpu().numpy()
    elif hasattr(data, "to_numpy"):  # pandas
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        frame = data
        dtypes = frame.dtypes if hasattr(frame, "columns") else {frame.name: frame.dtype}
        bad = [str(c) for c, t in dtypes.items() if not (is_numeric_dtype(t) or is_bool_dtype(t))]
        data = frame.to_numpy()
        if bad:
            raise MistError(
                f"`{name}` must be numeric, but column(s) {bad} are not (dtype {data.dtype}); "
                "select numeric columns or encode them as numbers first."
            )
    try:
        array = np.asarray(data)
    except Exception as exc:  # ragged lists and the like
        raise MistError(f"`{name}` could not be read as an array of numbers: {exc}") from exc
    if array.dtype == bool:
        array = array.astype(np.float64)
    if not (np.issubdtype(array.dtype, np.number)) or np.issubdtype(array.dtype, np.complexfloating):
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise MistError(
                f"`{name}` must hold real numbers, got dtype {array.dtype}; "
                "convert or drop the non-numeric values first."
            ) from exc
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise MistError(
            f"`{name}` must be 1-D (one variable) or 2-D (n_samples, n_features), "
            f"got an array with shape {array.shape}."
        )
    if array.shape[1] == 0:
        raise MistError(f"`{name}` has zero columns (shape {array.shape}); pass at least one variable.")
    if array.shape[0] == 0:
        raise MistError(f"`{name}` has zero rows (shape {array.shape}); pass at least {MIN_SAMPLES} samples.")
    finite = np.isfinite(array)
    if not finite.all():
        row, col = map(int, np.argwhere(~finite)[0])
        value = array[row, col]
        where = f"column {columns[col]!r}" if columns and col < len(columns) else f"column {col}"
        count = int((~finite).sum())
        raise MistError(
            f"`{name}` contains {count} non-finite value(s) (first: {value} at row {row}, {where}); "
            "drop or impute those rows before estimating."
        )
    return array


def check_xy(x: Any, y: Any, *, min_samples: int = MIN_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """Validate a pair of sample arrays: numeric, finite, same number of rows, enough rows."""
    x = as_samples(x, "x")
    y = as_samples(y, "y")
    if x.shape[0] != y.shape[0]:
        raise MistError(
            f"`x` and `y` must have the same number of samples (rows), got {x.shape[0]} and {y.shape[0]}."
        )
    if x.shape[0] < min_samples:
        raise MistError(
            f"at least {min_samples} samples are needed to estimate mutual information, "
            f"got {x.shape[0]} row(s)."
        )
    return x, y


def constant_columns(array: np.ndarray) -> np.ndarray:
    """Indices of the columns whose values are all equal."""
    return np.flatnonzero(np.all(array == array[:1], axis=0))


def distinct_counts(array: np.ndarray) -> np.ndarray:
    """Number of distinct values in each column (one sort; 1 for a constant column)."""
    ordered = np.sort(array, axis=0)
    return (ordered[1:] != ordered[:-1]).sum(axis=0) + 1


def drop_constant_columns(
    x: np.ndarray, y: np.ndarray, *, stacklevel: int = 3, constant: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Drop constant columns (they carry no information), warning once about them.

    ``constant`` may give the indices of the constant columns of x and of y, when the caller
    has them already. Returns the reduced arrays, either of which may end up with zero columns
    (the mutual information is then exactly 0), and the warning's text (None when nothing was
    dropped).
    """
    const_x, const_y = constant if constant is not None else (constant_columns(x), constant_columns(y))
    if not (const_x.size or const_y.size):
        return x, y, None
    parts = []
    if const_x.size:
        parts.append(f"`x` columns {const_x.tolist()}")
    if const_y.size:
        parts.append(f"`y` columns {const_y.tolist()}")
    message = (f"constant {' and '.join(parts)} carry no information and were ignored "
               "(if every column of `x` or of `y` is constant, the mutual information is 0).")
    warnings.warn(message, MistWarning, stacklevel=stacklevel)
    return np.delete(x, const_x, axis=1), np.delete(y, const_y, axis=1), message


def check_choice(value: str, name: str, choices: tuple[str, ...] | list[str]) -> str:
    if value not in choices:
        raise MistError(f"`{name}` must be one of {list(choices)}, got {value!r}.")
    return value


def check_level(level: float, name: str = "level") -> float:
    if not (isinstance(level, (int, float)) and 0.0 < float(level) < 1.0):
        raise MistError(f"`{name}` must be a number strictly between 0 and 1, got {level!r}.")
    return float(level)
