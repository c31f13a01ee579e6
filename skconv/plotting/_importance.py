"""Where a linear model's weights fall over filters and positions: plot_feature_importance."""

from __future__ import annotations

import numpy as np

from .._engine.geometry import drop_single_channel
from ._common import _as_finite_array, _pyplot, _to_unit_range


def _find_pooling(steps) -> tuple[object | None, object | None]:
    """The last pooling step of ``steps``, and the convolution that feeds it if it is the
    first one (a later layer's kernels span feature maps, which cannot be drawn as images)."""
    from .._conv import ConvFeatureExtractor
    from .._pool import PoolTransformer
    from .._stream import ConvPool

    pooling, conv, n_convs = None, None, 0
    for step in steps:
        if isinstance(step, ConvPool):
            n_convs += 1
            pooling, conv = step, getattr(step, "conv_", None)
        elif isinstance(step, PoolTransformer):
            pooling = step
        elif isinstance(step, ConvFeatureExtractor):
            n_convs += 1
            pooling, conv = None, step
    return pooling, conv if n_convs == 1 else None


def _feature_layout(layout) -> tuple[tuple[int, int, int], object | None]:
    """``(rows, cols, n_maps)`` of the pooled features, and the fitted convolution if known."""
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import check_is_fitted

    from .._pool import PoolTransformer
    from .._stream import ConvPool

    if isinstance(layout, (PoolTransformer, ConvPool)):
        pooling, conv = _find_pooling([layout])
    elif isinstance(layout, Pipeline):
        pooling, conv = _find_pooling(step for _, step in layout.steps)
        if pooling is None:
            raise ValueError(
                "layout is a Pipeline with no PoolTransformer or ConvPool step; pass the "
                "pipeline that pools the features, or layout=(rows, cols, n_maps)."
            )
    elif hasattr(layout, "__len__") and not isinstance(layout, str):
        shape = tuple(layout)
        if len(shape) != 3 or not all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0 for n in shape
        ):
            raise ValueError(
                "layout must be a fitted PoolTransformer, ConvPool or Pipeline, or a tuple "
                f"(rows, cols, n_maps) of positive ints; got {layout!r}."
            )
        return tuple(int(n) for n in shape), None
    else:
        raise TypeError(
            "layout must be a fitted PoolTransformer, ConvPool or Pipeline, or a tuple "
            f"(rows, cols, n_maps); got {type(layout).__name__}."
        )
    check_is_fitted(pooling)
    pool = pooling.pool_ if isinstance(pooling, ConvPool) else pooling
    return tuple(pool.output_shape_), conv


def _importance_rows(importances):
    """A 2-D array of importances, one row per class, and the classifier's classes if known."""
    from sklearn.utils.validation import check_is_fitted

    if hasattr(importances, "importances_mean"):  # permutation_importance's Bunch
        importances = importances.importances_mean
    classes = None
    if hasattr(importances, "fit"):
        check_is_fitted(importances)
        if not hasattr(importances, "coef_"):
            raise TypeError(
                f"{type(importances).__name__} has no coef_; pass a fitted linear model "
                "(e.g. LogisticRegression, LinearSVC), or importances as an array, e.g. "
                "permutation_importance(...).importances_mean."
            )
        classes = getattr(importances, "classes_", None)
        importances = importances.coef_
    values = _as_finite_array(importances, "importances")
    if values.ndim == 1:
        values = values[None]
    if values.ndim != 2:
        raise ValueError(
            "importances must have shape (n_classes, n_features) or (n_features,); got shape "
            f"{values.shape}."
        )
    return values, classes


def _row_names(classes, class_names, n_rows: int) -> list[str]:
    if class_names is not None:
        names = [str(name) for name in class_names]
        if len(names) == 2 and n_rows == 1:
            return [f"{names[1]} vs {names[0]}"]
        if len(names) != n_rows:
            raise ValueError(
                f"class_names has {len(names)} entries but the importances have {n_rows} "
                "rows; pass one name per row of coef_ (in the order of classes_)."
            )
        return names
    if classes is not None and len(classes) == n_rows:
        return [str(label) for label in classes]
    if classes is not None and len(classes) == 2 and n_rows == 1:
        return [f"{classes[1]} vs {classes[0]}"]
    return ["all classes"] if n_rows == 1 else [f"class {k}" for k in range(n_rows)]


def _kernels_per_map(filters, conv, n_maps: int) -> np.ndarray | None:
    """One drawable kernel (2-D, or RGB) per map, or None when they cannot be drawn."""
    if isinstance(filters, bool):
        if not filters or conv is None:
            return None
        sources = conv._map_sources()
        sign = sources.sign.reshape(-1, *[1] * (conv.filters_.ndim - 1))
        bank = drop_single_channel(conv.filters_[sources.filter] * sign)
        drawable = bank.ndim == 3 or bank.shape[3] == 3
        return bank if drawable and len(bank) == n_maps else None
    if hasattr(filters, "filters_"):
        filters = filters.filters_
    bank = drop_single_channel(_as_finite_array(filters, "filters"))
    if not (bank.ndim == 3 or (bank.ndim == 4 and bank.shape[3] == 3)):
        raise ValueError(
            "filters must have shape (n_maps, kh, kw) or (n_maps, kh, kw, 3); got shape "
            f"{bank.shape}."
        )
    if len(bank) != n_maps:
        raise ValueError(
            f"filters has {len(bank)} kernels but the features have {n_maps} maps; pass one "
            "kernel per map (with activation='crelu', the bank and then its negation)."
        )
    return bank


def _filter_strip(bank: np.ndarray) -> np.ndarray:
    """The kernels side by side, each scaled to [-1, 1] (RGB ones to [0, 1]), gaps between."""
    n, kh, kw = bank.shape[:3]
    rgb = bank.ndim == 4
    # Gaps are white: NaN (drawn blank) in the colour-mapped strip, 1.0 in an RGB one.
    shape = (kh, n * (kw + 1) - 1, 3) if rgb else (kh, n * (kw + 1) - 1)
    strip = np.full(shape, 1.0 if rgb else np.nan)
    for k, kernel in enumerate(bank):
        tile = _to_unit_range(kernel) if rgb else kernel / (np.abs(kernel).max() or 1.0)
        strip[:, k * (kw + 1) : k * (kw + 1) + kw] = tile
    return strip


def plot_feature_importance(
    importances,
    layout=None,
    *,
    classes=None,
    class_names=None,
    filters=True,
    images=None,
    absolute: bool = True,
    cmap: str = "magma",
    row_height: float = 1.4,
    title: str | None = None,
    figure=None,
):
    """Show which maps (filters), and where in the image, a linear model's features matter.

    The pooled features of :class:`PoolTransformer` and :class:`ConvPool` are C-order over
    ``(rows, cols, n_maps)``. This puts the coefficients (or permutation importances) of a
    classifier fitted on them back into that grid and draws, for each class, a heatmap of
    ``|coef|`` summed over the maps (where in the image the class is decided) and a bar per
    map of ``|coef|`` summed over the positions (which filters decide it). The filters can
    be drawn above their bars.

    Parameters
    ----------
    importances : fitted Pipeline, fitted linear model, permutation importances or array-like
        A fitted :class:`~sklearn.pipeline.Pipeline` whose last step has ``coef_`` (its
        pooling step then gives ``layout`` and ``filters``); a fitted linear model
        (``coef_`` of shape (n_classes, n_features) or (n_features,), ``classes_`` naming
        the rows); the result of :func:`sklearn.inspection.permutation_importance`; or an
        array of shape (n_classes, n_features) or (n_features,). Coefficients compare across
        features only when the features have one scale: put a
        :class:`~sklearn.preprocessing.StandardScaler` before the classifier.
    layout : fitted PoolTransformer, ConvPool or Pipeline, or tuple of int, default=None
        How the features are laid out: the fitted step (or a pipeline holding it) that made
        them, or ``(rows, cols, n_maps)``. ``None`` takes it from ``importances`` when that
        is a Pipeline. Steps after the pooling must keep the features as they are (scaling
        does; feature selection or PCA does not, and gives a size mismatch error).
    classes : sequence, default=None
        The classes to draw, as values of the classifier's ``classes_`` (row indices when
        ``importances`` is an array); ``None`` draws every row.
    class_names : sequence of str, default=None
        One name per row of ``importances`` (in the order of ``classes_``), e.g.
        ``target_names[clf.classes_]``; for a binary model's single row, two names
        (negative class, positive class). ``None`` uses ``classes_`` or the row numbers.
    filters : bool, array-like of shape (n_maps, kh, kw) or (n_maps, kh, kw, 3), or fitted \
ConvFeatureExtractor, default=True
        Kernels drawn above the bars, one per map, each on its own symmetric scale. ``True``
        draws the bank of the convolution found in ``layout`` when it is the first layer and
        has one drawable (grey or RGB) kernel per map (with ``activation="crelu"`` the
        negated bank follows the bank); ``False`` draws none.
    images : array-like of shape (n_drawn_classes, H, W), default=None
        One grey image per drawn class (e.g. the class's mean image), drawn in a first
        column to compare with the heatmaps.
    absolute : bool, default=True
        Sum the magnitudes ``|importances|`` (right for coefficients, whose sign only says
        which side of the decision a feature pushes). ``False`` sums the signed values,
        drawn on a diverging scale (right for permutation importances, where a negative value
        is noise).
    cmap : str, default="magma"
        matplotlib colour map of the heatmaps when ``absolute=True``.
    row_height : float, default=1.4
        Height of one class's row, in inches.
    title : str, default=None
        Title above the whole figure.
    figure : matplotlib Figure or SubFigure, default=None
        Draw into this (empty) figure instead of a new one; ``row_height`` then does not
        apply.

    Returns
    -------
    fig : matplotlib.figure.Figure or matplotlib.figure.SubFigure
        The figure drawn into. The heatmaps share one colour scale and the bar charts one
        y-axis, so classes compare.

    Raises
    ------
    ImportError
        If matplotlib is not installed.

    See Also
    --------
    plot_filters : Draw a filter bank on its own.
    sklearn.inspection.permutation_importance : Importances for any model.

    Notes
    -----
    The numbers drawn, for ``coef`` of shape (n_classes, rows * cols * n_maps), are
    ``np.abs(coef).reshape(-1, rows, cols, n_maps).sum(axis=3)`` (heatmaps) and
    ``.sum(axis=(1, 2))`` (bars). Map ``m`` comes from filter ``m % n_filters`` (on channel
    ``m // n_filters`` for a bank applied channel by channel); with ``"crelu"`` the second
    half of the maps are the negative responses.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skconv import ConvFeatureExtractor, ConvPool, PoolTransformer
    >>> from skconv.plotting import plot_feature_importance
    >>> X, y = load_digits(return_X_y=True)
    >>> features = ConvPool(
    ...     ConvFeatureExtractor("tutorial", image_shape=(8, 8)), PoolTransformer(2)
    ... )
    >>> model = make_pipeline(features, StandardScaler(), LogisticRegression(max_iter=200))
    >>> model = model.fit(X[:500], y[:500])
    >>> fig = plot_feature_importance(model, classes=[0, 1])
    >>> [ax.get_ylabel() for ax in fig.axes if ax.images and ax.get_ylabel()]
    ['0', '1']
    >>> plt.close(fig)
    """
    from sklearn.pipeline import Pipeline

    if isinstance(importances, Pipeline):
        if layout is None:
            layout = importances[:-1]
        importances = importances[-1]
    if layout is None:
        raise ValueError(
            "layout is needed: pass the fitted PoolTransformer, ConvPool or Pipeline that made "
            "the features, or layout=(rows, cols, n_maps)."
        )
    values, known_classes = _importance_rows(importances)
    (rows, cols, n_maps), conv = _feature_layout(layout)
    if values.shape[1] != rows * cols * n_maps:
        raise ValueError(
            f"importances have {values.shape[1]} features but the layout (rows, cols, n_maps) "
            f"= {(rows, cols, n_maps)} gives {rows * cols * n_maps}; pass the layout of the "
            "features the model was fitted on."
        )
    names = _row_names(known_classes, class_names, len(values))
    if classes is not None:
        labels = list(known_classes) if known_classes is not None else list(range(len(values)))
        if len(values) == 1 and len(labels) == 2:
            raise ValueError("classes cannot be chosen for a binary model's single row.")
        missing = [label for label in classes if label not in labels]
        if missing or not len(classes):
            raise ValueError(f"classes must be values among {labels}; got {list(classes)!r}.")
        picked = [labels.index(label) for label in classes]
        values, names = values[picked], [names[k] for k in picked]
    bank = _kernels_per_map(filters, conv, n_maps)
    if images is not None:
        images = _as_finite_array(images, "images")
        if images.ndim != 3 or len(images) != len(values):
            raise ValueError(
                f"images must have shape ({len(values)}, H, W), one grey image per drawn "
                f"class; got shape {images.shape}."
            )

    grid = values.reshape(len(values), rows, cols, n_maps)
    magnitudes = np.abs(grid) if absolute else grid
    spatial = magnitudes.sum(axis=3)
    per_map = magnitudes.sum(axis=(1, 2))

    n_lead = 2 if images is not None else 1  # image and heatmap columns
    n_grid_rows = len(values) + (bank is not None)
    plt = _pyplot()
    width_ratios = [1] * n_lead + [max(3, n_maps / 6)]
    height_ratios = [1] * len(values)
    if bank is not None:  # a strip about as tall as one kernel is wide, within limits
        kernel_width = width_ratios[-1] / n_maps * bank.shape[2] / (bank.shape[2] + 1)
        height_ratios.insert(0, min(0.8, max(0.25, kernel_width * bank.shape[1] / bank.shape[2])))
    if figure is None:
        fig = plt.figure(
            figsize=(row_height * sum(width_ratios) + 1.0, row_height * sum(height_ratios) + 0.6),
            layout="constrained",
        )
    elif hasattr(figure, "subplots"):
        fig = figure
    else:
        raise TypeError(
            "figure must be a matplotlib Figure or SubFigure (e.g. from fig.subfigures) or "
            f"None; got {type(figure).__name__}."
        )
    axes = fig.subplots(
        n_grid_rows,
        n_lead + 1,
        squeeze=False,
        width_ratios=width_ratios,
        height_ratios=height_ratios,
    )
    if bank is not None:
        for ax in axes[0, :n_lead]:
            ax.set_visible(False)
        strip_ax, axes = axes[0, n_lead], axes[1:]
        kw = bank.shape[2]
        # One slot of kw + 1 pixels (kernel and gap) per unit of x, kernel k centred on x = k,
        # right above bar k.
        slot = kw + 1
        strip_ax.imshow(
            _filter_strip(bank),
            cmap="RdBu_r",
            vmin=-1,
            vmax=1,
            aspect="auto",
            interpolation="nearest",
            extent=(-kw / 2 / slot, n_maps - (1 + kw / 2) / slot, bank.shape[1], 0),
        )
        strip_ax.set_xlim(-0.5, n_maps - 0.5)
        strip_ax.set_xticks([])
        strip_ax.set_yticks([])
        strip_ax.set_title("filters (one per map)", fontsize="small")

    if absolute:
        heat_kwargs = {"cmap": cmap, "vmin": 0.0, "vmax": spatial.max() or 1.0}
    else:
        limit = np.abs(spatial).max() or 1.0
        heat_kwargs = {"cmap": "RdBu_r", "vmin": -limit, "vmax": limit}
    bar_low = min(0.0, per_map.min())
    bar_high = max(per_map.max(), 0.0) or 1.0
    heatmap = None
    for row, name in enumerate(names):
        heat_ax, bar_ax = axes[row, n_lead - 1], axes[row, n_lead]
        if images is not None:
            image_ax = axes[row, 0]
            image_ax.imshow(images[row], cmap="gray", interpolation="nearest")
            image_ax.set_xticks([])
            image_ax.set_yticks([])
        heatmap = heat_ax.imshow(spatial[row], interpolation="nearest", **heat_kwargs)
        heat_ax.set_xticks([])
        heat_ax.set_yticks([])
        heat_ax.set_ylabel(name)
        bar_ax.bar(np.arange(n_maps), per_map[row], width=0.8, color="tab:blue")
        bar_ax.set_xlim(-0.5, n_maps - 0.5)
        bar_ax.set_ylim(bar_low, bar_high * 1.05)
        if row < len(names) - 1:
            bar_ax.set_xticklabels([])
    sums = "|importance|" if absolute else "importance"
    axes[0, n_lead - 1].set_title(f"{sums} by position", fontsize="small")
    axes[0, n_lead].set_title(f"{sums} by map (summed over positions)", fontsize="small")
    axes[-1, n_lead].set_xlabel("map")
    if images is not None:
        axes[0, 0].set_title("image", fontsize="small")
    fig.colorbar(heatmap, ax=list(axes[:, n_lead - 1]), shrink=0.8, label="summed over maps")
    if title:
        fig.suptitle(title)
    return fig
