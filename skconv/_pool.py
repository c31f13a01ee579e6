"""PoolTransformer: max or average pooling of feature maps, flattened to features."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ._base import N_JOBS_CONSTRAINT, OVERFLOW_MARGIN, SkconvTransformer, unfitted_on_error
from ._engine.geometry import pool_output_shape
from ._engine.pooling import POOL_MODES, grid_pool, pool
from ._shapes import clip_to_one_row, grid_names, validate_images
from ._validation import as_pair


class PoolTransformer(SkconvTransformer):
    """Max or average pooling of feature maps, flattened into features by default.

    Follows :class:`ConvFeatureExtractor` in a :class:`~sklearn.pipeline.Pipeline`: it reads
    the maps' geometry from their shape, pools each map over windows, and (by default) flattens
    the result into one row of features per image, ready for any classifier.

    Parameters
    ----------
    pool_size : int, pair of int or None, default=2
        Window rows and columns. ``None`` pools each whole map into one value (global pooling).
    stride : int, pair of int or None, default=None
        Step between windows; ``None`` means ``pool_size`` (non-overlapping windows).
    mode : {"max", "avg"}, default="max"
        Maximum or mean over each window.
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(height, width, n_maps)`` of the maps in the rows of a 2-D
        ``X``. Without it a 2-D ``X`` is a batch of one-row maps, pooled along the row: the
        window is clipped to one row and to the row's length.
    flatten : bool, default=True
        Return ``(n_samples, out_rows * out_cols * n_maps)`` features, C-order over
        ``(rows, cols, maps)``; ``False`` keeps 4-D maps so that another
        :class:`ConvFeatureExtractor` can follow.
    padding : int or pair of int, default=0
        Cells added on both sides of each axis, at most half the window. Max pooling ignores
        them; average pooling counts them as zeros.
    grid : int, pair of int or None, default=None
        Split each map into ``grid`` regions and pool each one (Coates & Ng's quadrant pooling
        for ``grid=2``), so that the output size no longer depends on the map size. When
        given, ``pool_size``, ``stride`` and ``padding`` are not used.
    n_jobs : int, default=None
        Threads that share the images. ``None`` means 1, ``-1`` all cores.

    Attributes
    ----------
    image_shape_ : tuple of int
        ``(rows, cols, n_maps)`` of the maps seen in :meth:`fit`.
    pool_size_ : tuple of int
        The window used, after clipping for one-row maps and resolving global pooling.
    stride_ : tuple of int
        The stride used.
    padding_ : tuple of int
        The padding used.
    output_shape_ : tuple of int
        ``(out_rows, out_cols, n_maps)`` before flattening.
    n_features_in_ : int
        ``rows * cols * n_maps``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when X was a DataFrame with string column names.

    See Also
    --------
    ConvFeatureExtractor : Produces the feature maps pooled here.

    Notes
    -----
    Output size per axis: ``(size + 2 * padding - pool_size) // stride + 1``: only windows that
    fit entirely are pooled. A window larger than the (padded) map is an error, except for
    one-row maps from 2-D ``X`` without ``image_shape``.

    Output: float32 maps give float32 features and float64 maps float64 (integer input follows
    :class:`ConvFeatureExtractor`'s rule: 8- and 16-bit integers give float32). With
    ``flatten=True`` the output is a 2-D feature matrix and :meth:`set_output` applies
    (``transform="pandas"`` gives a DataFrame whose columns are :meth:`get_feature_names_out`);
    with ``flatten=False`` the output is 4-D maps, which no DataFrame holds: it stays an
    ndarray and :meth:`set_output` is not available.

    Average pooling sums each window: should the sums of huge (finite) values overflow the
    dtype, :meth:`transform` raises rather than return ``inf``.

    Parameters are resolved by :meth:`fit`; after ``set_params`` of any parameter but
    ``n_jobs``, :meth:`transform` raises until the transformer is refitted.

    Examples
    --------
    >>> import numpy as np
    >>> from skconv import PoolTransformer
    >>> maps = np.arange(2 * 4 * 4 * 3, dtype=float).reshape(2, 4, 4, 3)
    >>> PoolTransformer().fit_transform(maps).shape
    (2, 12)
    >>> PoolTransformer(pool_size=2, stride=1, mode="avg", flatten=False).fit_transform(maps).shape
    (2, 3, 3, 3)
    >>> PoolTransformer(pool_size=None).fit(maps).get_feature_names_out()
    array(['pool_r0_c0_m0', 'pool_r0_c0_m1', 'pool_r0_c0_m2'], dtype=object)
    """

    _parameter_constraints: dict = {
        "pool_size": [Interval(Integral, 1, None, closed="left"), "array-like", None],
        "stride": [Interval(Integral, 1, None, closed="left"), "array-like", None],
        "mode": [StrOptions(set(POOL_MODES))],
        "image_shape": ["array-like", None],
        "flatten": ["boolean"],
        "padding": [Interval(Integral, 0, None, closed="left"), "array-like"],
        "grid": [Interval(Integral, 1, None, closed="left"), "array-like", None],
        "n_jobs": N_JOBS_CONSTRAINT,
    }

    def __init__(
        self,
        pool_size=2,
        *,
        stride=None,
        mode="max",
        image_shape=None,
        flatten=True,
        padding=0,
        grid=None,
        n_jobs=None,
    ):
        self.pool_size = pool_size
        self.stride = stride
        self.mode = mode
        self.image_shape = image_shape
        self.flatten = flatten
        self.padding = padding
        self.grid = grid
        self.n_jobs = n_jobs

    @unfitted_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the maps and settings and work out the output shape.

        Parameters
        ----------
        X : array-like of shape (n, rows, cols, n_maps), (n, rows, cols) or (n, n_features)
            Feature maps.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        maps = validate_images(self, X, reset=True, image_shape=self.image_shape)
        return self._resolve_window(maps.shape, one_row=maps.one_row)

    def _fit_map_shape(self, map_shape, *, one_row: bool):
        """Fit to maps of ``map_shape`` ``(rows, cols, n_maps)`` without seeing any maps.

        Part of the contract of the estimators that compose this one (:class:`ConvPool`):
        the parameters are validated, and the window resolved as :meth:`fit` would for such
        maps; ``one_row`` is the rule of :class:`~skconv._shapes.Images` for the images that
        the maps come from. Then :meth:`_pool` pools maps of that shape.
        """
        self._validate_params()
        self.n_features_in_ = int(np.prod(map_shape))
        return self._resolve_window(map_shape, one_row=one_row)

    def _resolve_window(self, map_shape, *, one_row: bool):
        """Resolve the window for maps of ``map_shape``; ``one_row`` clips it to one row."""
        rows, cols, n_maps = map_shape
        if self.grid is not None:
            grid = as_pair(self.grid, "grid")
            if one_row:
                grid, _ = clip_to_one_row(grid, None, cols, stride_given=False)
            if grid[0] > rows or grid[1] > cols:
                raise ValueError(
                    f"grid {grid} has more regions than the {rows}x{cols} maps have cells; "
                    f"use a smaller grid.{_one_row_hint(rows)}"
                )
            window, stride, padding, out_shape = None, None, None, grid
        else:
            padding = as_pair(self.padding, "padding", minimum=0)
            if self.pool_size is None:
                window = (rows, cols)
            else:
                window = as_pair(self.pool_size, "pool_size")
            stride = window if self.stride is None else as_pair(self.stride, "stride")
            if one_row:
                window, stride = clip_to_one_row(
                    window, stride, cols, stride_given=self.stride is not None
                )
            for axis in range(2):
                if 2 * padding[axis] > window[axis]:
                    raise ValueError(
                        f"padding {padding} is more than half the pooling window {window}; use "
                        "a smaller padding or a larger pool_size."
                    )
            try:
                out_shape = pool_output_shape((rows, cols), window, stride, padding)
            except ValueError as exc:
                raise ValueError(f"{exc}{_one_row_hint(rows)}") from exc

        self.image_shape_ = tuple(map_shape)
        self.pool_size_ = window
        self.stride_ = stride
        self.padding_ = padding
        self.output_shape_ = (*out_shape, n_maps)
        self._remember_fit_parameters()
        return self

    def transform(self, X):
        """Pool the maps (and flatten them when ``flatten=True``).

        Parameters
        ----------
        X : array-like of shape (n, rows, cols, n_maps), (n, rows, cols) or (n, n_features)
            Maps of the shape seen in :meth:`fit`.

        Returns
        -------
        pooled : ndarray of shape (n_samples, n_features_out) or (n, out_rows, out_cols, n_maps)
            Pooled features, in X's float dtype (a DataFrame under
            ``set_output(transform="pandas")`` when flattened).
        """
        check_is_fitted(self)
        self._check_fit_parameters()
        maps = validate_images(self, X, reset=False)
        return self._pool(maps.stack, peak=maps.peak, n_jobs=effective_n_jobs(self.n_jobs))

    def _pool(self, maps: np.ndarray, *, peak: float, n_jobs: int) -> np.ndarray:
        """Pool validated maps whose values are at most ``peak`` in magnitude.

        Part of the contract of the estimators that compose this one: ``maps`` is a float
        stack ``(n, rows, cols, n_maps)`` of the fitted shape; the result is what
        :meth:`transform` returns for it (flattened when ``flatten=True``).
        """
        # Only an average can leave the maps' range: its sum grows with the window.
        cells = self.image_shape_[0] * self.image_shape_[1]
        unsafe = (
            self.mode == "avg"
            and peak * cells >= float(np.finfo(maps.dtype).max) / OVERFLOW_MARGIN
        )
        with np.errstate(over="ignore" if unsafe else "warn"):
            if self.grid is not None:
                pooled = grid_pool(maps, self.output_shape_[:2], mode=self.mode)
            else:
                pooled = pool(
                    maps,
                    self.pool_size_,
                    stride=self.stride_,
                    mode=self.mode,
                    padding=self.padding_,
                    n_jobs=n_jobs,
                )
        if unsafe and not np.isfinite(pooled).all():
            raise ValueError(
                f"Average pooling overflows {maps.dtype}: the maps reach {peak:.3g} and their "
                "window sums exceed the largest finite value. Scale the images (or maps) "
                "down first, e.g. X / np.abs(X).max(), or use mode='max'."
            )
        if self.flatten:
            return pooled.reshape(len(pooled), -1)
        return pooled

    @available_if(lambda self: self.flatten)
    def get_feature_names_out(self, input_features=None):
        """Names of the flat features: ``pool_r{row}_c{col}_m{map}``.

        Only available with ``flatten=True``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Checked against the names seen in :meth:`fit`, if any; not used otherwise.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per output column, in the columns' order.
        """
        check_is_fitted(self)
        self._check_fit_parameters()
        _check_feature_names_in(self, input_features, generate_names=False)
        return grid_names("pool", self.output_shape_)


def _one_row_hint(rows: int) -> str:
    if rows != 1:
        return ""
    return (
        " The maps have one row: if they come from a ConvFeatureExtractor given 2-D X without "
        "image_shape, it read each row as a 1 x n_features image; set its "
        "image_shape=(height, width[, channels]) so it sees the images."
    )
