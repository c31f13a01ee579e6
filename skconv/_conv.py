"""ConvFeatureExtractor: a filter bank convolved with images, the first layer of a CNN."""

from __future__ import annotations

import contextlib
import time
import warnings
from numbers import Integral

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import _fit_context
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ._base import N_JOBS_CONSTRAINT, OVERFLOW_MARGIN, SkconvTransformer, unfitted_on_error
from ._engine.convolution import ACTIVATIONS, CONV_METHODS, convolve, response_bound
from ._engine.cost import choose_conv_method
from ._engine.geometry import (
    MapSources,
    conv_output_shape,
    expand_channelwise_bank,
    map_sources,
    n_output_maps,
    resolve_padding,
)
from ._progress import Progress, auto_batch_size
from ._shapes import grid_names, validate_images
from ._validation import as_pair
from .filters._presets import PRESETS, RENAMED_PRESETS, BankParts, build_bank


# Maps are 4-D, which no DataFrame holds: transform is not wrapped by set_output (see set_output).
class ConvFeatureExtractor(SkconvTransformer, auto_wrap_output_keys=None):
    """Convolve images with a filter bank and return CNN-style feature maps.

    Each filter is cross-correlated with each image (no kernel flip, as in
    :func:`scipy.signal.correlate2d` and CNN libraries), optionally averaged over the kernel's
    elements, then passed through an activation. The result keeps its geometry, so a
    :class:`PoolTransformer` can follow in a :class:`~sklearn.pipeline.Pipeline` with no shape
    arithmetic.

    Parameters
    ----------
    filters : str or array-like, default="gabor"
        The filter bank. A preset name:

        - ``"gabor"``: eight 5x5 real Gabor kernels (two frequencies, four orientations), the
          best fixed bank on scikit-learn's digits (see Notes);
        - ``"tutorial"``: the three 3x3 filters of the "CNN from scratch" tutorial (box,
          vertical line, diagonal line); ``"seed"``, its name before 0.2, is deprecated;
        - ``"edges"``, ``"random"``: see :mod:`skconv.filters`;
        - ``"pca"``, ``"kmeans"``: learned in :meth:`fit` from patches of the training images.

        On colour (multi-channel) images the ``"tutorial"``, ``"edges"`` and ``"gabor"`` banks
        are applied to each channel separately; ``"random"``, ``"pca"`` and ``"kmeans"`` build
        full kernels that span the channels, as a CNN layer does.

        Or an array ``(n_filters, kernel_rows, kernel_cols)``, applied to each channel, or
        ``(n_filters, kernel_rows, kernel_cols, n_channels)``, summed over the channels.
        Kernels may be non-square and of even size.
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(height, width, channels)`` of the images in the rows of a
        2-D ``X``. Not needed for image stacks ``(n, H, W)`` / ``(n, H, W, C)``. Without it, a
        2-D ``X`` is read as ``1 x n_features`` single-channel images, with a ``UserWarning``
        when ``n_features`` is a perfect square of at least 16 (most likely square images);
        ``image_shape=(1, n_features)`` asks for the one-row reading without the warning.
    stride : int or pair of int, default=1
        Step between output positions along rows and columns, counted from the first (padded)
        row and column.
    padding : {"same", "valid"}, int or pair of int, default="same"
        ``"same"`` pads with zeros so that stride 1 keeps the image size (odd kernels centred,
        the extra row and column of an even kernel at the bottom and right); ``"valid"`` does
        not pad; an int or pair pads that many zeros on both sides.
    activation : {"relu", "abs", "crelu", "triangle"} or None, default="relu"
        ``"relu"`` keeps positive responses; ``"abs"`` their magnitude; ``"crelu"`` keeps
        ``relu(r)`` and ``relu(-r)`` as separate maps (doubling them); ``"triangle"`` is
        ``relu(r_k - mean_j r_j)`` across the maps at each position (the dot-product analogue
        of Coates & Ng's distance-based k-means activation; it needs at least two maps);
        ``None`` returns the raw responses.
    normalize : bool, default=False
        Divide every response by the kernel's element count (the tutorial's averaging).
    n_filters : int, default=None
        Number of filters of a preset; ``None`` uses the preset's default: ``"edges"`` 4
        (orientations), ``"gabor"`` 8, ``"random"`` 8, ``"pca"`` 8, ``"kmeans"`` 16.
        ``"tutorial"`` has its three filters and takes no other count.
    kernel_size : int or pair of int, default=None
        Kernel size of a preset; ``None`` uses the preset's default: ``"edges"`` 3 (3 or 5
        only), ``"gabor"`` 5, ``"random"`` 3, ``"pca"`` 5, ``"kmeans"`` 5. ``"tutorial"``
        has 3x3 kernels and takes no other size.
    n_patches : int, default=10000
        At most this many patches are sampled from the training images to learn a bank.
    method : {"auto", "gemm", "fft"}, default="auto"
        The convolution algorithm. ``"auto"`` picks, once in :meth:`fit`, the one with the
        lower estimated time for the images seen there (the cost model of the
        :doc:`performance page </performance>`), so that :meth:`transform` runs the same
        operations whatever the batch it is given. All give the same maps up to float
        rounding.
    n_jobs : int, default=None
        Threads that share the images in :meth:`transform`. ``None`` means 1, ``-1`` all cores.
    random_state : int, RandomState instance or None, default=None
        Seeds the ``"random"`` preset and the patch sampling and clustering of learned banks.
    verbose : int, default=0
        Progress on stdout. With ``verbose >= 1`` :meth:`transform` convolves the images in
        batches of about 64 MiB of maps and prints batches done, images per second and time
        left (about ten lines; every batch with ``verbose >= 2``). The maps are the same.
        :meth:`fit` of a learned bank (``"kmeans"``, ``"pca"``) reports the patches it
        sampled, the filters learned and the time taken.

    Attributes
    ----------
    filters_ : ndarray of shape (n_filters, kernel_rows, kernel_cols[, n_channels])
        The bank actually used (float64); 3-D when applied channel by channel or when the
        images have one channel.
    bias_ : ndarray of shape (n_filters,)
        Added to each response before the activation; zero except for learned banks.
    contrast_eps_ : float or None
        For ``"kmeans"``: responses are divided by ``sqrt(window variance + contrast_eps_)``,
        the normalisation its patches had in :meth:`fit`. ``None`` otherwise.
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the images seen in :meth:`fit`.
    output_shape_ : tuple of int
        ``(out_rows, out_cols, n_maps)`` of the maps :meth:`transform` returns.
    stride_ : tuple of int
        ``(rows, cols)`` step between output positions.
    padding_ : tuple of tuple of int
        ``((top, bottom), (left, right))`` zeros added around each image.
    method_ : str
        The convolution algorithm :meth:`transform` runs.
    n_features_in_ : int
        ``height * width * channels``, whatever layout X had.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when X was a DataFrame with string column names.

    See Also
    --------
    PoolTransformer : Pools the feature maps into flat features.
    skconv.filters : Functions that build and learn filter banks.
    sklearn.feature_extraction.image.PatchExtractor : Extracts raw patches from images.

    Notes
    -----
    Output size per axis: ``(size + pad_before + pad_after - kernel) // stride + 1``. Maps are
    ordered filter by filter; a 3-D bank on ``C`` channels gives ``F * C`` maps, channel-major
    (map ``c * F + f`` is filter ``f`` on channel ``c``), and ``"crelu"`` appends the negative
    halves after all positive ones.

    Data types: float32 input gives float32 maps and float64 input float64 maps (in native byte
    order). Images that float32 holds exactly (bool, int8, uint8, int16, uint16 and float16)
    give float32 maps, so 8-bit images cost half the memory of float64; wider integers
    (int32, int64, uint32, uint64) give float64. Dates, durations, strings, structured arrays
    and object arrays of strings raise ``TypeError``; nothing else is cast.

    Overflow: :meth:`transform` bounds the responses by ``max|x| * max_f ||k_f||_1`` (plus the
    bias) from the pixels' range, which validation finds anyway; only when that bound is not
    safely inside the dtype's range are the maps checked, and maps that overflowed to ``inf``
    or ``NaN`` raise a ``ValueError`` rather than being returned.

    ``set_params`` after :meth:`fit`: :meth:`transform` uses only what :meth:`fit` resolved,
    so it raises a ``ValueError`` saying to refit when any parameter but ``n_jobs`` and
    ``verbose`` (which change no output, and take effect at once) was changed since.

    Output containers: the maps are 4-D, which no DataFrame holds, so they are always an
    ndarray. :meth:`set_output` is accepted (so that ``Pipeline.set_output`` and the global
    ``transform_output`` work on a pipeline that ends in flat features, such as a
    :class:`PoolTransformer`) and leaves the maps as they are. :meth:`get_feature_names_out`
    names the maps' values in C order, as ``maps.reshape(n, -1)`` lays them out.

    Why ``"gabor"`` is the default: on scikit-learn's digits (5-fold CV, 2x2 max pooling,
    StandardScaler, LinearSVC(C=0.01)) the presets at their default sizes scored, with
    ``activation="relu"`` / ``"crelu"``: kmeans 0.961 / 0.971, pca 0.958 / 0.965, random
    0.947 / 0.966, edges 0.936 / 0.958, tutorial 0.884 / 0.919, and gabor 0.965 / 0.968 at 7x7.
    Gabor at 5x5 (the default size) scored 0.966 with ``"relu"`` and 0.971 with ``"abs"``
    (3x3: 0.945 / 0.960). Gabor needs no fitting, no random state and no data, and is within
    noise of the best learned bank.

    Examples
    --------
    >>> import numpy as np
    >>> from skconv import ConvFeatureExtractor
    >>> images = np.random.RandomState(0).rand(10, 7, 5)
    >>> conv = ConvFeatureExtractor(filters="tutorial", padding="valid", normalize=True)
    >>> conv.fit_transform(images).shape
    (10, 5, 3, 3)
    >>> X = images.reshape(10, -1)
    >>> maps = ConvFeatureExtractor(image_shape=(7, 5)).fit_transform(X)
    >>> maps.shape
    (10, 7, 5, 8)
    """

    _parameter_constraints: dict = {
        "filters": [
            StrOptions(set(PRESETS) | set(RENAMED_PRESETS), deprecated=set(RENAMED_PRESETS)),
            "array-like",
        ],
        "image_shape": ["array-like", None],
        "stride": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "padding": [
            StrOptions({"same", "valid"}),
            Interval(Integral, 0, None, closed="left"),
            "array-like",
        ],
        "activation": [StrOptions(set(ACTIVATIONS)), None],
        "normalize": ["boolean"],
        "n_filters": [Interval(Integral, 1, None, closed="left"), None],
        "kernel_size": [Interval(Integral, 1, None, closed="left"), "array-like", None],
        "n_patches": [Interval(Integral, 1, None, closed="left")],
        "method": [StrOptions({"auto", *CONV_METHODS})],
        "n_jobs": N_JOBS_CONSTRAINT,
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        filters="gabor",
        *,
        image_shape=None,
        stride=1,
        padding="same",
        activation="relu",
        normalize=False,
        n_filters=None,
        kernel_size=None,
        n_patches=10000,
        method="auto",
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.filters = filters
        self.image_shape = image_shape
        self.stride = stride
        self.padding = padding
        self.activation = activation
        self.normalize = normalize
        self.n_filters = n_filters
        self.kernel_size = kernel_size
        self.n_patches = n_patches
        self.method = method
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    @unfitted_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the images and settings, and build (or learn) the filter bank.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n, H, W[, C])
            Training images.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted extractor.
        """
        stride = as_pair(self.stride, "stride")
        padding = self.padding
        if not isinstance(padding, str):
            padding = as_pair(padding, "padding", minimum=0)
        validated = validate_images(self, X, reset=True, image_shape=self.image_shape)
        images, image_shape = validated.stack, validated.shape
        bank, bias, contrast_eps, _ = self._build_bank(images, padding)
        if contrast_eps is not None and self.method == "fft":
            raise ValueError(
                f"filters={self.filters!r} divides each response by its window's contrast, which "
                "only the patch-matrix product computes; use method='gemm' or 'auto'."
            )
        pads = resolve_padding(padding, bank.shape[1:3])
        out_rows, out_cols = conv_output_shape(image_shape[:2], bank.shape[1:3], stride, pads)
        n_maps = bank.shape[0] * (image_shape[2] if bank.ndim == 3 else 1)
        if self.activation == "triangle" and n_maps == 1:
            raise ValueError(
                "activation='triangle' subtracts the mean over the maps at each position, so "
                "with a single map (one filter on one channel) every feature would be 0; use "
                "more filters (n_filters, or a larger filters array) or another activation."
            )
        if self.method == "auto":
            method = choose_conv_method(
                bank.shape[1:3],
                contrast_eps,
                image_shape=image_shape[:2],
                n_images=len(images),
                n_channels=image_shape[2],
                n_filters=n_output_maps(n_maps, self.activation),
                stride=stride,
                padding=pads,
            )
        else:
            method = self.method

        self.filters_ = bank
        self.bias_ = bias
        self.contrast_eps_ = contrast_eps
        self.image_shape_ = image_shape
        self.output_shape_ = (out_rows, out_cols, n_output_maps(n_maps, self.activation))
        self.stride_ = stride
        self.padding_ = pads
        self.method_ = method
        self._remember_fit_parameters()
        return self

    def transform(self, X):
        """Convolve the images with the fitted bank.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n, H, W[, C])
            Images of the shape seen in :meth:`fit`.

        Returns
        -------
        maps : ndarray of shape (n_samples, out_rows, out_cols, n_maps)
            Feature maps, float32 for float32 input and 8- or 16-bit integers, float64
            otherwise (see Notes).
        """
        check_is_fitted(self)
        self._check_fit_parameters()
        # Integer images are cast one batch at a time, into the maps' dtype.
        images = validate_images(self, X, reset=False, cast=False)
        stack, n_jobs = images.stack, effective_n_jobs(self.n_jobs)
        maps = np.empty((len(stack), *self.output_shape_), dtype=images.dtype)
        if self.verbose or stack.dtype != images.dtype:
            batch_size = auto_batch_size(maps[:1].nbytes)
        else:
            batch_size = max(1, len(stack))
        batches = list(gen_batches(len(stack), batch_size))
        progress = Progress(type(self).__name__, len(stack), len(batches), self.verbose)
        for number, batch in enumerate(batches, 1):
            batch_images = stack[batch].astype(images.dtype, copy=False)
            self._maps(batch_images, peak=images.peak, n_jobs=n_jobs, out=maps[batch])
            progress.batch_done(number, batch.stop)
        return maps

    # The contract with the estimators that compose this one (ConvPool, plotting): _maps,
    # _map_bound, _map_sources. They read the fitted attributes only.

    def _maps(self, images: np.ndarray, *, peak: float, n_jobs: int, out=None) -> np.ndarray:
        """The maps of a validated stack ``(n, H, W, C)`` of the fitted image shape, in the
        dtype :meth:`transform` computes in, whose pixels are at most ``peak`` in magnitude;
        written into ``out`` when given."""
        bank = self.filters_
        n_channels = self.image_shape_[2]
        if bank.ndim == 3:
            bank = expand_channelwise_bank(bank, n_channels)
            bias = np.tile(self.bias_, n_channels)
        else:
            bias = self.bias_
        if self.normalize:
            bank = bank / self.filters_[0].size
        limit = float(np.finfo(images.dtype).max) / OVERFLOW_MARGIN
        unsafe = self._map_bound(peak, bank) >= limit
        # Only then can numpy's overflow warnings come; the error below replaces them.
        quiet = np.errstate(over="ignore", invalid="ignore")
        with quiet if unsafe else contextlib.nullcontext():
            maps = convolve(
                images,
                bank,
                stride=self.stride_,
                padding=self.padding_,
                activation=self.activation,
                bias=bias if np.any(bias) else None,
                contrast_eps=self.contrast_eps_,
                method=self.method_,
                n_jobs=n_jobs,
                out=out,
            )
        if unsafe and not np.isfinite(maps).all():
            raise ValueError(
                f"The convolution overflows {images.dtype}: X's pixels reach {peak:.3g}, and "
                "the maps would hold inf or NaN for an X that has none. Scale the images "
                "down first, e.g. X / np.abs(X).max()"
                + (", or pass float64 images." if images.dtype == np.float32 else ".")
            )
        return maps

    def _map_bound(self, peak: float, bank: np.ndarray | None = None) -> float:
        """An upper bound on any value the convolution computes, for pixels up to ``peak``.

        ``bank`` is the bank as convolved (normalised, expanded); ``None`` means ``filters_``.
        """
        if bank is None:
            bank = self.filters_ / (self.filters_[0].size if self.normalize else 1)
        return response_bound(
            peak, bank, self.bias_, self.image_shape_, self.padding_, self.contrast_eps_
        )

    def _map_sources(self) -> MapSources:
        """Which filter of ``filters_``, on which channel and with which sign, each map is.

        Map ``m`` is the response to ``sign[m] * filters_[filter[m]]`` on channel
        ``channel[m]`` (``-1``: a full bank, summed over the channels), before the
        activation: a bank applied channel by channel gives map ``c * F + f`` for filter
        ``f`` on channel ``c``, and ``"crelu"`` appends the negated filters' maps.
        """
        per_channel = self.image_shape_[2] if self.filters_.ndim == 3 else None
        return map_sources(len(self.filters_), per_channel, self.activation)

    def response_bound(self, peak: float, bank: np.ndarray | None = None) -> float:
        """Deprecated: an upper bound on any value the convolution computes.

        .. deprecated:: 0.2
           ``response_bound`` was public by accident; it will be removed in 0.4.

        Parameters
        ----------
        peak : float
            The largest pixel magnitude.
        bank : ndarray, default=None
            The full bank convolved; ``None`` means ``filters_``.

        Returns
        -------
        bound : float
            A bound on any value the convolution of such pixels computes.
        """
        warnings.warn(
            "ConvFeatureExtractor.response_bound is deprecated in 0.2 and will be removed in "
            "0.4; it was never meant to be public, and has no replacement.",
            FutureWarning,
            stacklevel=2,
        )
        return self._map_bound(peak, bank)

    def get_feature_names_out(self, input_features=None):
        """Names of the maps' values in C order: ``conv_r{row}_c{col}_m{map}``.

        :meth:`transform` returns 4-D maps; these are the names of ``maps.reshape(n, -1)``,
        the layout a following :class:`PoolTransformer` counts as its input features, so that
        ``get_feature_names_out`` works through a :class:`~sklearn.pipeline.Pipeline`.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Checked against the names seen in :meth:`fit`, if any; not used otherwise.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per value of an image's maps.
        """
        check_is_fitted(self)
        self._check_fit_parameters()
        _check_feature_names_in(self, input_features, generate_names=False)
        return grid_names("conv", self.output_shape_)

    def set_output(self, *, transform=None):
        """Accept an output container; the maps stay an ndarray whatever it is.

        A DataFrame cannot hold 4-D maps. This method exists so that
        :meth:`~sklearn.pipeline.Pipeline.set_output` can configure a pipeline of a
        ``ConvFeatureExtractor`` followed by steps with flat output (a
        :class:`PoolTransformer`, or a :class:`ConvPool` holding both), which then return
        the container asked for.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            The container asked for; checked, then left to the steps with flat output.

        Returns
        -------
        self : estimator instance
            This estimator, unchanged.
        """
        if transform not in (None, "default", "pandas", "polars"):
            raise ValueError(
                "set_output's transform must be 'default', 'pandas', 'polars' or None; got "
                f"{transform!r}."
            )
        return self

    def _build_bank(self, images, padding) -> BankParts:
        """The bank, its bias and its contrast setting, from a preset or the user's array."""
        started = time.perf_counter()
        parts = build_bank(
            self.filters,
            n_channels=images.shape[3],
            n_filters=self.n_filters,
            kernel_size=self.kernel_size,
            images=images,
            padding=padding,
            n_patches=self.n_patches,
            random_state=self.random_state,
        )
        if self.verbose and parts.n_patches:
            print(
                f"[{type(self).__name__}] learned {len(parts.filters)} filters of "
                f"{parts.filters.shape[1]}x{parts.filters.shape[2]} from {parts.n_patches} "
                f"patches in {time.perf_counter() - started:.1f} s",
                flush=True,
            )
        return parts
