"""ConvPool: convolution then pooling, streamed batch by batch so the maps never exist whole."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import _fit_context, clone
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ._base import SkconvTransformer, unfitted_on_error
from ._conv import ConvFeatureExtractor
from ._pool import PoolTransformer
from ._progress import Progress, auto_batch_size
from ._shapes import validate_images


class ConvPool(SkconvTransformer):
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
        the convolution's algorithm is fixed when ``conv_`` is fitted on all of X. It takes
        effect without a refit.
    verbose : int, default=0
        Progress of :meth:`transform` on stdout: batches done, images per second and time
        left (about ten lines; every batch with ``verbose >= 2``). ``conv``'s own ``verbose``
        reports the fit of its bank. The features are the same.

    Attributes
    ----------
    conv_ : ConvFeatureExtractor
        The fitted clone of ``conv``.
    pool_ : PoolTransformer
        The fitted clone of ``pool``. For one-row images (2-D ``X`` with no ``image_shape``
        on ``conv``) its window, stride and grid (``pool_size_``, ``stride_``,
        ``output_shape_``) are clipped to one row and to the row's length, as
        :class:`PoolTransformer` does for 2-D input.
    batch_size_ : int
        The batch size resolved in :meth:`fit` (``batch_size="auto"`` made concrete).
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
    shapes, so it is fitted to the shape of ``conv_``'s maps without computing any. Streaming
    is exact because both steps treat each image on its own.

    Output: with a flattening ``pool`` (the default) the features are 2-D and
    :meth:`set_output` applies: ``transform="pandas"`` (or scikit-learn's global
    ``transform_output="pandas"``) gives a DataFrame whose columns are
    :meth:`get_feature_names_out`. With ``PoolTransformer(flatten=False)`` the output is 4-D
    maps, always an ndarray. The steps' own ``set_output`` settings are not used: ConvPool
    runs their computations, not their ``transform``.

    ``set_params`` after :meth:`fit`: :meth:`transform` raises a ``ValueError`` saying to
    refit when any parameter that changes the output was changed since fit, the steps'
    included (``conv__activation``, ``pool__grid``, ...). ``batch_size``, ``verbose`` and the
    steps' ``n_jobs`` change no output and take effect at once.

    Examples
    --------
    >>> import numpy as np
    >>> from skconv import ConvFeatureExtractor, ConvPool, PoolTransformer
    >>> images = np.random.RandomState(0).rand(100, 12, 12).astype(np.float32)
    >>> features = ConvPool(ConvFeatureExtractor(filters="tutorial"), PoolTransformer(2))
    >>> X = features.fit_transform(images)
    >>> X.shape, X.dtype
    ((100, 108), dtype('float32'))
    >>> maps = ConvFeatureExtractor(filters="tutorial").fit_transform(images)
    >>> np.allclose(X, PoolTransformer(2).fit_transform(maps))
    True
    >>> features.set_params(pool__mode="avg", batch_size=16).fit_transform(images).shape
    (100, 108)
    """

    _parameter_constraints: dict = {
        "conv": [ConvFeatureExtractor, None],
        "pool": [PoolTransformer, None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "verbose": ["verbose"],
    }

    def __init__(self, conv=None, pool=None, *, batch_size="auto", verbose=0):
        self.conv = conv
        self.pool = pool
        self.batch_size = batch_size
        self.verbose = verbose

    @unfitted_on_error
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the convolution on X and the pooling to the shape of its maps.

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
        images = validate_images(self, X, reset=True, image_shape=conv.image_shape)
        conv.fit(images.stack)
        pool = clone(self.pool if self.pool is not None else PoolTransformer())
        pool._fit_map_shape(conv.output_shape_, one_row=images.one_row)

        self.conv_ = conv
        self.pool_ = pool
        self.image_shape_ = images.shape
        self.batch_size_ = self._resolve_batch_size(images.stack.itemsize)
        self._remember_fit_parameters()
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
            What ``pool_.transform(conv_.transform(X))`` returns, in the dtype
            :class:`ConvFeatureExtractor` computes X in (a DataFrame under
            ``set_output(transform="pandas")``).
        """
        check_is_fitted(self)
        self._check_fit_parameters()
        # Integer images are cast one batch at a time, so the peak is the output and one batch.
        images = validate_images(self, X, reset=False, cast=False)
        stack = images.stack
        batch_size = self._resolve_batch_size(images.dtype.itemsize)
        conv_jobs = effective_n_jobs(self.conv.n_jobs if self.conv is not None else None)
        pool_jobs = effective_n_jobs(self.pool.n_jobs if self.pool is not None else None)
        map_peak = self.conv_._map_bound(images.peak)
        batches = list(gen_batches(len(stack), batch_size))
        progress = Progress(type(self).__name__, len(stack), len(batches), self.verbose)
        features = None
        for number, batch in enumerate(batches, 1):
            batch_images = stack[batch].astype(images.dtype, copy=False)
            maps = self.conv_._maps(batch_images, peak=images.peak, n_jobs=conv_jobs)
            del batch_images
            pooled = self.pool_._pool(maps, peak=map_peak, n_jobs=pool_jobs)
            del maps  # so that the next batch's maps do not coexist with these
            if features is None:
                features = np.empty((len(stack), *pooled.shape[1:]), dtype=pooled.dtype)
            features[batch] = pooled
            progress.batch_done(number, batch.stop)
        return features

    def _resolve_batch_size(self, itemsize: int) -> int:
        """Images per batch; "auto" makes one batch's maps about 64 MiB."""
        if self.batch_size == "auto":
            return auto_batch_size(int(np.prod(self.conv_.output_shape_)) * itemsize)
        return self.batch_size

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
        self._check_fit_parameters()
        _check_feature_names_in(self, input_features, generate_names=False)
        return self.pool_.get_feature_names_out()
