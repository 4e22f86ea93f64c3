"""One validation layer for the public boundary: samples in, float64 numpy arrays out."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from mist.errors import InputWarning, MistError

MIN_SAMPLES = 3


def column_names(data: Any) -> list[str] | None:
    columns = getattr(data, "columns", None)
    if columns is not None:
        return [str(c) for c in columns]
    name = getattr(data, "name", None)  # pandas Series
    return [str(name)] if name is not None and np.ndim(data) == 1 else None


def _is_pandas(data: Any) -> bool:
    """A pandas container (subclasses included); pandas is not imported to find out."""
    import sys

    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(data, (pd.DataFrame, pd.Series, pd.Index, pd.api.extensions.ExtensionArray))


def as_samples(data: Any, name: str) -> np.ndarray:
    """Convert array-like samples to a float64 array of shape (n, d).

    Accepts numpy arrays, pandas DataFrames/Series, torch tensors and (nested) lists.
    A 1-D input is one column.

    Raises
    ------
    MistError
        If the input is not numeric, not 1-D or 2-D, empty, or holds NaN or infinity.
    """
    columns = column_names(data)
    if hasattr(data, "detach") and hasattr(data, "cpu"):  # torch tensor, without importing torch
        data = data.detach().cpu().numpy()
    elif _is_pandas(data):  # DataFrame, Series, Index, nullable arrays, and their subclasses
        import pandas as pd
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        frame = data if isinstance(data, (pd.DataFrame, pd.Series)) else pd.Series(data)
        dtypes = frame.dtypes if isinstance(frame, pd.DataFrame) else {frame.name: frame.dtype}
        bad = {str(c): str(t) for c, t in dtypes.items() if not (is_numeric_dtype(t) or is_bool_dtype(t))}
        if bad:
            what = (f"column(s) {list(bad)[:10]} are not (dtype {', '.join(sorted(set(bad.values())))})"
                    if isinstance(frame, pd.DataFrame) else f"its dtype is {frame.dtype}")
            raise MistError(f"`{name}` must be numeric, but {what}; select numeric columns or encode them as "
                            "numbers first.")
        # nullable dtypes (Int64, Float64, boolean): a missing value becomes NaN, reported below
        data = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    try:
        array = np.asarray(data)
    except Exception as exc:  # ragged lists and the like
        raise MistError(f"`{name}` could not be read as an array of numbers: {exc}") from exc
    if array.dtype == bool:
        array = array.astype(np.float64)
    if np.issubdtype(array.dtype, np.complexfloating):
        if np.any(array.imag != 0):  # casting would drop the imaginary parts without a word
            raise MistError(f"`{name}` holds complex numbers; pass their real and imaginary parts as two columns "
                            "(np.column_stack([z.real, z.imag])).")
        array = array.real
    if not np.issubdtype(array.dtype, np.number):
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


def check_xyz(x: Any, y: Any, z: Any, *, min_samples: int = MIN_SAMPLES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`check_xy`, and ``z`` (what X and Y are conditioned on) with one row per sample."""
    x, y = check_xy(x, y, min_samples=min_samples)
    z = as_samples(z, "z")
    if z.shape[0] != x.shape[0]:
        raise MistError(f"`z` must have one row per sample of `x` and `y` ({x.shape[0]}), got {z.shape[0]}.")
    return x, y, z


def constant_columns(array: np.ndarray) -> np.ndarray:
    """Indices of the columns whose values are all equal."""
    return np.flatnonzero(np.all(array == array[:1], axis=0))


def distinct_counts(array: np.ndarray, *, float32: bool = False):
    """Number of distinct values in each column (one sort; 1 for a constant column).

    With ``float32``, also whether each column keeps its order and ties when cast to float32,
    what the network computes in (bool, (d,)): no value overflows to inf and no two distinct
    values round to the same float32 (timestamps near 1.7e9 one second apart do, as do
    exp(60 z) or 1e-300 z). Returns (counts, kept) then."""
    ordered = np.sort(array, axis=0)
    counts = (ordered[1:] != ordered[:-1]).sum(axis=0) + 1
    if not float32:
        return counts
    with np.errstate(over="ignore"):
        ordered = ordered.astype(np.float32)  # rounding is monotone: it can merge values, never reorder them
    kept = ((ordered[1:] != ordered[:-1]).sum(axis=0) + 1 == counts) & np.isfinite(ordered[[0, -1]]).all(axis=0)
    return counts, kept


def exact_in_float32(array: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """``array`` with each column not ``kept`` (:func:`distinct_counts`) replaced by its dense
    ranks 0, 1, 2, ... (equal values equal): the same order and ties, so the same normal
    scores, in numbers float32 holds exactly (up to 2^24 distinct values)."""
    if kept.all():
        return array
    array = array.copy()
    for j in np.flatnonzero(~kept):
        array[:, j] = np.unique(array[:, j], return_inverse=True)[1]
    return array


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
    warnings.warn(message, InputWarning, stacklevel=stacklevel)
    return np.delete(x, const_x, axis=1), np.delete(y, const_y, axis=1), message


def check_choice(value: str, name: str, choices: tuple[str, ...] | list[str]) -> str:
    if value not in choices:
        raise MistError(f"`{name}` must be one of {list(choices)}, got {value!r}.")
    return value


def check_level(level: float, name: str = "level") -> float:
    if not (isinstance(level, (int, float)) and 0.0 < float(level) < 1.0):
        raise MistError(f"`{name}` must be a number strictly between 0 and 1, got {level!r}.")
    return float(level)


def check_flag(value, name: str) -> bool:
    """A True/False argument (a string such as "no" would otherwise count as True)."""
    if not isinstance(value, (bool, np.bool_)):
        raise MistError(f"`{name}` must be True or False, got {value!r}.")
    return bool(value)
