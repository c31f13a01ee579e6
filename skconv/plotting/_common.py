"""What the plotting functions share: matplotlib imported on demand, tile grids, checks."""

from __future__ import annotations

import math

import numpy as np

_INSTALL_HINT = (
    "skconv.plotting needs matplotlib, which is optional: install it with "
    'pip install matplotlib (or, from a clone of skconv, pip install ".[plot]").'
)


def _pyplot():
    """matplotlib.pyplot, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return plt


def _tile_axes(n_tiles: int, n_cols: int | None, tile_size: float, title: str | None, figure):
    """A figure with a grid of at least ``n_tiles`` axes, the unused ones hidden."""
    if n_cols is None:
        n_cols = min(n_tiles, 8)
    if isinstance(n_cols, bool) or not isinstance(n_cols, int) or n_cols < 1:
        raise ValueError(f"n_cols must be a positive int or None; got {n_cols!r}.")
    n_cols = min(n_cols, n_tiles)
    n_rows = math.ceil(n_tiles / n_cols)
    plt = _pyplot()
    if figure is None:
        extra_height = 0.4 if title else 0.0
        fig, axes = plt.subplots(
            n_rows,
            n_cols,
            figsize=(tile_size * n_cols, tile_size * n_rows + extra_height),
            squeeze=False,
            layout="constrained",
        )
    elif hasattr(figure, "subplots"):
        fig, axes = figure, figure.subplots(n_rows, n_cols, squeeze=False)
    else:
        raise TypeError(
            "figure must be a matplotlib Figure or SubFigure (e.g. from fig.subfigures) or "
            f"None; got {type(figure).__name__}."
        )
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.flat[n_tiles:]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig, axes.flat[:n_tiles]


def _as_finite_array(values, name: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array; got {type(values).__name__}.") from exc
    if array.size == 0:
        raise ValueError(f"{name} is empty; pass at least one {name[:-1]}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values; pass finite values.")
    return array


def _check_titles(titles, n_tiles: int, name: str) -> list[str] | None:
    if titles is None:
        return None
    titles = [str(title) for title in titles]
    if len(titles) != n_tiles:
        raise ValueError(f"titles has {len(titles)} entries but there are {n_tiles} {name}.")
    return titles


def _to_unit_range(rgb: np.ndarray) -> np.ndarray:
    """Stretch an RGB kernel to [0, 1] so its colours can be drawn; flat kernels are grey."""
    low, high = rgb.min(), rgb.max()
    if high == low:
        return np.full_like(rgb, 0.5)
    return (rgb - low) / (high - low)
