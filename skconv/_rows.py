"""The rows a fit is made on: X, y and every per-row fit parameter taken together, numpy or
dask alike (scikit-learn's rule for what is per-row: a first axis as long as X's)."""

from __future__ import annotations

import numpy as np
from sklearn.utils import _safe_indexing

from ._shapes import is_dask_array


def first_dimension(value) -> float | None:
    """The length of an array-like's first axis (nan for a dask array of unknown length), or
    None for scalars, strings, dicts and other values that are not rows."""
    if value is None or isinstance(value, (str, bytes, dict)):
        return None
    shape = getattr(value, "shape", None)
    if shape is None and hasattr(value, "__array__"):
        shape = np.asarray(value).shape
    if shape is not None:
        return shape[0] if len(shape) else None
    return len(value) if hasattr(value, "__len__") else None


def check_label_count(y, n_samples: int) -> None:
    n_labels = first_dimension(y)
    if y is not None and n_labels != n_samples:
        raise ValueError(
            f"y has {n_labels} rows but X has {n_samples}; pass one label (or one row of "
            "targets) per row of X."
        )


def take_fit_rows(X, y, fit_params, rows):
    """X, y and the per-row fit parameters at ``rows`` (numpy or dask alike)."""
    n_samples = X.shape[0]
    taken = {name: take_per_row(value, rows, n_samples) for name, value in fit_params.items()}
    return X[rows], take_per_row(y, rows, n_samples), taken


def take_per_row(value, rows, n_samples: int):
    """``value`` at ``rows`` if it has one entry per row of X, otherwise ``value`` itself."""
    if first_dimension(value) != n_samples:
        return value
    if is_dask_array(value):
        return value[rows]
    if not hasattr(value, "shape") and not isinstance(value, (list, tuple)):
        value = np.asarray(value)  # e.g. an object with only __array__
    return _safe_indexing(value, rows)
