"""ConvPool: convolution then pooling, streamed batch by batch so the maps never exist whole."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ._base import VersionedStateMixin, unfitted_on_error
from ._conv import ConvFeatureExtractor
from ._pool import PoolTransformer
from ._shapes import as_pair, validate_images

# batch_size="auto" sizes batches so that one batch's feature maps take about this much memory.
AUTO_BATCH_BYTES = 64 * 2**20


class ConvPool(TransformerMixin, VersionedStateMixin, BaseEstimator):
    """A :class:`ConvFeatureExtractor` followed by a :class:`PoolTransformer`, in batches.

    ``make_pipeline(conv, pool)`` computes the feature maps of every image before pooling
    any: 60,000 28x28 images with 32 filters and ``"same"`` padding make 6 GB of float32 maps
    for 1.5 GB of 2x2-pooled features. ``ConvPool(conv, pool)`` gives the same features but
    convolves and pools a batch of images at a time into one preallocated output, so only one
    batch of maps exists at once.

    Both steps stay ordinary parameters, so a grid search reaches their settings with the
    usual double underscores: ``conv__filters``, ``pool__mode``, or
    ``features__conv__kernel_size`` when the ``ConvPool`` is a pipeline step named
    ``features``.

    Parameters
    ----------
    conv : ConvFeatureExtractor, default=None
        The convolution step; ``None`` means ``ConvFeatureExtractor()``. It is cloned in
        :meth:`fit`, never modified. Pass it explicitly to tune its parameters: ``None`` has
        none to reach.
    pool : PoolTransformer, default=None
        The pooling step; ``None`` means ``PoolTransformer()``. It is cloned in :meth:`fit`,
        never modified; as for ``conv``, pass it to tune it.
    batch_size : int or "auto", default="auto"
        Images convolved and pooled together. ``"auto"`` makes one batch's maps about 64 MiB
        (at least one image). The features are the same, bit for bit, for every batch size:
        the convolution's algorithm is fixed when ``conv_`` is fitted on all of X.

    Attributes
    ----------
    conv_ : ConvFeatureExtractor
        The fitted clone of ``conv``.
    pool_ : PoolTransformer
        The fitted clone of ``pool``. For one-row images (2-D ``X`` with no ``image_shape``
        on ``conv``) its window, stride and grid are clipped to one row and to the row's
        length, as :class:`PoolTransformer` does for 2-D input.
    batch_size_ : int
        The batch size :meth:`transform` uses.
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the images seen in :meth:`fit`.
    n_features_in_ : int
        ``height * width * channels``, whatever layout X had.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when X was a DataFrame with string column names.

    See Also
    --------
    ConvFeatureExtractor : The convolution step.
    PoolTransformer : The pooling step.
    sklearn.pipeline.Pipeline : Runs steps one after the other on the whole data.

    Notes
    -----
    Like :class:`~sklearn.compose.TransformedTargetRegressor` (and unlike
    :class:`~sklearn.pipeline.Pipeline`, which fits its steps in place), the steps are cloned,
    so the parameters stay unfitted and the fitted steps are ``conv_`` and ``pool_``.
    ``conv_`` is fitted on all of X (learned banks need the images); ``pool_`` only learns
    shapes, so it is fitted on the maps of the first image. Streaming is exact because both
    steps treat each image on its own.

    Examples
    --------
    >>> import numpy as np
    >>> from skconv import ConvFeatureExtractor, ConvPool, PoolTransformer
    >>> images = np.random.RandomState(0).rand(100, 12, 12).astype(np.float32)
    >>> features = ConvPool(ConvFeatureExtractor(filters="seed"), PoolTransformer(2))
    >>> X = features.fit_transform(images)
    >>> X.shape, X.dtype
    ((100, 108), dtype('float32'))
    >>> maps = ConvFeatureExtractor(filters="seed").fit_transform(images)
    >>> np.allclose(X, PoolTransformer(2).fit_transform(maps))
    True
    >>> features.set_params(pool__mode="avg", batch_size=16).fit_transform(images).shape
    (100, 108)
    """

    _parameter_constraints: dict = {
        "conv": [ConvFeatureExtractor, None],
        "pool": [PoolTransformer, None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    }

    def __init__(self, conv=None, pool=None, *, batch_size="auto"):
        self.conv = conv
        self.pool = pool
        self.batch_size = batch_size

    @unfitted_on_error
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the convolution on X and the pooling on the maps of one image.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n, H, W[, C])
            Training images, as :class:`ConvFeatureExtractor` reads them.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        conv = clone(self.conv if self.conv is not None else ConvFeatureExtractor())
        images, image_shape, flat_input = validate_images(
            self, X, reset=True, image_shape=conv.image_shape
        )
        conv.fit(images)
        maps = conv.transform(images[:1])
        pool = clone(self.pool if self.pool is not None else PoolTransformer())
        if flat_input and conv.image_shape is None:
            _clip_to_one_row(pool, maps.shape[2])
        pool.fit(maps)

        self.conv_ = conv
        self.pool_ = pool
        self.image_shape_ = image_shape
        if self.batch_size == "auto":
            self.batch_size_ = max(1, AUTO_BATCH_BYTES // maps[0].nbytes)
        else:
            self.batch_size_ = self.batch_size
        return self

    def transform(self, X):
        """Convolve and pool X a batch at a time.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n, H, W[, C])
            Images of the shape seen in :meth:`fit`.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out) or (n, out_rows, out_cols, n_maps)
            What ``pool_.transform(conv_.transform(X))`` returns, in X's float dtype.
        """
        check_is_fitted(self)
        images, _, _ = validate_images(self, X, reset=False)
        features = None
        for start in range(0, len(images), self.batch_size_):
            batch = images[start : start + self.batch_size_]
            pooled = self.pool_.transform(self.conv_.transform(batch))
            if features is None:
                features = np.empty((len(images), *pooled.shape[1:]), dtype=pooled.dtype)
            features[start : start + len(batch)] = pooled
        return features

    @available_if(lambda self: self.pool is None or self.pool.flatten)
    def get_feature_names_out(self, input_features=None):
        """Names of the pooled features, as :meth:`PoolTransformer.get_feature_names_out`.

        Only available when ``pool`` flattens its output.

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
        _check_feature_names_in(self, input_features, generate_names=False)
        return self.pool_.get_feature_names_out()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _clip_to_one_row(pool: PoolTransformer, n_cols: int) -> None:
    """Clip the pool's window, stride and grid to one-row maps of ``n_cols`` columns."""
    if pool.grid is not None:
        pool.set_params(grid=(1, min(as_pair(pool.grid, "grid")[1], n_cols)))
    elif pool.pool_size is not None:
        window_cols = min(as_pair(pool.pool_size, "pool_size")[1], n_cols)
        stride = None if pool.stride is None else (1, as_pair(pool.stride, "stride")[1])
        pool.set_params(pool_size=(1, window_cols), stride=stride)
