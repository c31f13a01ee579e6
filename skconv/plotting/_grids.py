"""Grids of kernels and of feature maps: :func:`plot_filters` and :func:`plot_feature_maps`."""

from __future__ import annotations

import numpy as np

from .._engine.geometry import drop_single_channel
from ._common import _as_finite_array, _check_titles, _tile_axes, _to_unit_range


def plot_filters(
    bank,
    *,
    n_cols: int | None = None,
    titles=None,
    cmap: str = "RdBu_r",
    tile_size: float = 1.2,
    title: str | None = None,
    figure=None,
):
    """Draw a filter bank as a grid of tiles, one per kernel.

    Parameters
    ----------
    bank : array-like of shape (n_filters, kh, kw) or (n_filters, kh, kw, C), or a fitted \
ConvFeatureExtractor
        The kernels, e.g. from :mod:`skconv.filters` or a fitted extractor's ``filters_``.
        2-D kernels and one-channel full kernels are drawn with a diverging colour map centred
        on zero (each tile has its own symmetric scale, so the sign pattern shows); three-channel
        full kernels are drawn as RGB, each stretched to the full colour range.
    n_cols : int, default=None
        Tiles per row; ``None`` puts up to 8 on a row.
    titles : sequence of str, default=None
        One title per kernel; ``None`` numbers them ``f0``, ``f1``, ...
    cmap : str, default="RdBu_r"
        matplotlib colour map for one-channel kernels.
    tile_size : float, default=1.2
        Width and height of one tile, in inches.
    title : str, default=None
        Title above the whole grid.
    figure : matplotlib Figure or SubFigure, default=None
        Draw into this (empty) figure, e.g. one of ``fig.subfigures(...)``, to put several
        grids in one picture; ``tile_size`` then does not apply. ``None`` makes a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure or matplotlib.figure.SubFigure
        The figure drawn into: a new one registered with :mod:`matplotlib.pyplot`, or
        ``figure``.

    Raises
    ------
    ImportError
        If matplotlib is not installed.

    See Also
    --------
    plot_feature_maps : Draw the maps a bank produces.
    skconv.filters : Functions that build and learn banks.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from skconv.filters import tutorial_bank
    >>> from skconv.plotting import plot_filters
    >>> fig = plot_filters(tutorial_bank(), titles=["box", "vertical", "diagonal"])
    >>> len([ax for ax in fig.axes if ax.get_visible()])
    3
    >>> plt.close(fig)
    """
    if hasattr(bank, "filters_"):
        bank = bank.filters_
    kernels = drop_single_channel(_as_finite_array(bank, "filters"))
    if kernels.ndim == 4 and kernels.shape[3] != 3:
        raise ValueError(
            f"plot_filters draws full kernels with 1 or 3 channels; these have "
            f"{kernels.shape[3]}. Pass one channel at a time, e.g. bank[..., 0]."
        )
    if kernels.ndim not in (3, 4):
        raise ValueError(
            "filters must have shape (n_filters, kh, kw) or (n_filters, kh, kw, C); got shape "
            f"{kernels.shape}. For a single 2-D kernel k, pass k[None]."
        )
    titles = _check_titles(titles, len(kernels), "filters")
    fig, axes = _tile_axes(len(kernels), n_cols, tile_size, title, figure)
    for index, (ax, kernel) in enumerate(zip(axes, kernels)):
        if kernel.ndim == 3:
            ax.imshow(_to_unit_range(kernel), interpolation="nearest")
        else:
            limit = np.abs(kernel).max() or 1.0
            ax.imshow(kernel, cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_title(titles[index] if titles else f"f{index}", fontsize="small")
    return fig


def plot_feature_maps(
    maps,
    *,
    sample: int = 0,
    image=None,
    n_cols: int | None = None,
    titles=None,
    cmap: str = "viridis",
    tile_size: float = 1.2,
    title: str | None = None,
    figure=None,
):
    """Draw the feature maps of one image as a grid of tiles, optionally after the image.

    Parameters
    ----------
    maps : array-like of shape (n_samples, rows, cols, n_maps) or (rows, cols, n_maps)
        Feature maps, as :meth:`ConvFeatureExtractor.transform` returns them (or those of one
        image).
    sample : int, default=0
        Which image's maps to draw when ``maps`` is 4-D.
    image : array-like of shape (H, W) or (H, W, 3), default=None
        The input image, drawn in the first tile (grey or RGB) to compare with its maps.
    n_cols : int, default=None
        Tiles per row; ``None`` puts up to 8 on a row.
    titles : sequence of str, default=None
        One title per map; ``None`` numbers them ``map 0``, ``map 1``, ...
    cmap : str, default="viridis"
        matplotlib colour map for the maps. Each map has its own colour scale.
    tile_size : float, default=1.2
        Width and height of one tile, in inches.
    title : str, default=None
        Title above the whole grid.
    figure : matplotlib Figure or SubFigure, default=None
        Draw into this (empty) figure, e.g. one of ``fig.subfigures(...)``, to put several
        grids in one picture; ``tile_size`` then does not apply. ``None`` makes a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure or matplotlib.figure.SubFigure
        The figure drawn into: a new one registered with :mod:`matplotlib.pyplot`, or
        ``figure``.

    Raises
    ------
    ImportError
        If matplotlib is not installed.

    See Also
    --------
    plot_filters : Draw the bank that produced the maps.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from skconv import ConvFeatureExtractor
    >>> from skconv.plotting import plot_feature_maps
    >>> images = np.random.RandomState(0).rand(2, 7, 5)
    >>> maps = ConvFeatureExtractor(filters="tutorial").fit_transform(images)
    >>> fig = plot_feature_maps(maps, sample=1, image=images[1])
    >>> len([ax for ax in fig.axes if ax.get_visible()])
    4
    >>> plt.close(fig)
    """
    maps = _as_finite_array(maps, "maps")
    if maps.ndim == 4:
        if isinstance(sample, bool) or not isinstance(sample, (int, np.integer)):
            raise TypeError(f"sample must be an int; got {type(sample).__name__}.")
        if not -len(maps) <= sample < len(maps):
            raise ValueError(
                f"sample={sample} is out of range for {len(maps)} images; pass an index in "
                f"[0, {len(maps) - 1}]."
            )
        maps = maps[sample]
    if maps.ndim != 3:
        raise ValueError(
            "maps must have shape (n_samples, rows, cols, n_maps) or (rows, cols, n_maps); got "
            f"shape {maps.shape}. For one 2-D map m, pass m[:, :, None]."
        )
    n_maps = maps.shape[2]
    titles = _check_titles(titles, n_maps, "maps")
    if image is not None:
        image = _as_finite_array(image, "images")
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[..., 0]
        if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
            raise ValueError(
                f"image must have shape (H, W) or (H, W, 3); got shape {image.shape}."
            )
    n_tiles = n_maps + (image is not None)
    fig, axes = _tile_axes(n_tiles, n_cols, tile_size, title, figure)
    if image is not None:
        first, axes = axes[0], axes[1:]
        if image.ndim == 3:
            first.imshow(_to_unit_range(image), interpolation="nearest")
        else:
            first.imshow(image, cmap="gray", interpolation="nearest")
        first.set_title("image", fontsize="small")
    for index, ax in enumerate(axes):
        ax.imshow(maps[:, :, index], cmap=cmap, interpolation="nearest")
        ax.set_title(titles[index] if titles else f"map {index}", fontsize="small")
    return fig
