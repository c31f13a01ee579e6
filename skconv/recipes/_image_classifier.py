"""ImageClassifier: k-means convolution features pooled at several scales, PCA, then RBF
kernel ridge, adapted at ``fit`` to the images it is given (numpy or dask)."""

from __future__ import annotations

from math import ceil
from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.decomposition import PCA
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.utils import assert_all_finite, check_random_state, gen_batches
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d

from .._base import N_JOBS_CONSTRAINT, SkconvEstimator, unfitted_on_error
from .._batched import BatchedTransformer
from .._conv import ConvFeatureExtractor
from .._engine.kernel_ridge import labels
from .._kernel_head import NystroemRidgeClassifier
from .._pool import PoolTransformer
from .._progress import Progress
from .._shapes import is_dask_array, raise_unless_real_numbers, validate_images
from .._stream import ConvPool
from ._peak_normalizer import PeakNormalizer

# PCA fitted on at most this many rows or columns uses an exact SVD.
SMALL_PCA = 1000

# The finest pooling grid "auto" chooses: 7x7 cells (4x4 windows on 28x28 images); finer
# grids multiply the features (and PCA's work) with no gain measured.
MAX_AUTO_GRID = 7


class ImageClassifier(ClassifierMixin, SkconvEstimator):
    """k-means convolution features pooled at two scales, PCA, then RBF kernel ridge.

    The recipe for any set of images, grey or colour, of any size from 8x8 up. :meth:`fit`
    reads the images' shape and channels from ``X`` and adapts the steps to them:

    1. ``features_``: ``n_filters`` k-means filters of ``kernel_size`` learned from the
       images, ``"crelu"`` (``2 * n_filters`` maps), max pooling over a ``pool_grid`` x
       ``pool_grid`` grid of cells and over the coarser ``coarse_grids`` (2x2 cells and each
       whole map), then PCA to
       ``n_pca_components``; computed a batch of images at a time
       (:class:`~skconv.ConvPool` inside a :class:`~skconv.BatchedTransformer`) so that the
       wide pooled features exist for one batch only. The bank and PCA are fitted on at most
       ``max_fit_samples`` images, drawn from the labelled and the unlabelled images of
       :meth:`fit` together.
    2. ``classifier_``: :class:`~skconv.NystroemRidgeClassifier` on those components, with
       ``n_components`` landmarks and ``gamma`` set from the data (``"scale"``).

    Parameters
    ----------
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(height, width, channels)`` of the images in the rows of a
        2-D ``X``. Image stacks ``(n, H, W)`` and ``(n, H, W, C)`` carry their own shape and
        need none. A 2-D ``X`` without it is read as one-row images, as every skconv
        estimator reads it.
    n_filters : int, default=64
        k-means filters of the bank (``2 * n_filters`` maps after ``"crelu"``); capped at the
        patches the images give.
    kernel_size : int, default=5
        Filter size, capped at the images' height and width.
    n_patches : int, default=10000
        Patches the k-means bank is learned from, drawn from the images.
    pool_grid : int or "auto", default="auto"
        Cells per side of the fine pooling grid. ``"auto"``: a cell per 4x4 pixels, at most
        7 (7 on 28x28 images, 2 on 8x8).
    coarse_grids : tuple of int, default=(2, 1)
        Coarser grids pooled from the fine grid's cells, their features added to the fine
        grid's: ``2`` pools each map into 2x2 cells, ``1`` into one value (global
        pooling). Grids not coarser than the fine grid are left out; ``()`` keeps the fine
        grid alone.
    n_pca_components : int, default=256
        PCA components of the pooled features; capped at the rows and features PCA is
        fitted on.
    gamma : "scale" or float, default="scale"
        RBF kernel coefficient of the classifier. ``"scale"``: ``1 / d``, ``d`` the mean
        squared distance between the PCA features of two training images, estimated by the
        classifier (:class:`~skconv.NystroemRidgeClassifier`'s ``gamma="scale"``) on its
        landmarks and, below 1,000 landmarks, more of the rows it draws; kept as ``gamma_``.
    n_components : int, default=6000
        Nystroem landmarks; capped at the labelled images. The classifier's fit holds
        ``n_components ** 2`` float64 values and its time grows with ``n_samples *
        n_components ** 2``.
    alpha : float, default=0.003
        Ridge regularisation of the classifier.
    max_fit_samples : int, default=10000
        Images the bank and PCA are fitted on (the classifier sees every labelled image).
    batch_size : int, default=2000
        Images transformed together (their features exist for one batch only), and kernel
        rows mapped together in the classifier's fit. In :meth:`predict` and
        :meth:`decision_function` it takes effect without a refit: images go through the
        features and the classifier ``batch_size`` at a time.
    n_jobs : int, default=None
        Threads of the convolution; ``-1`` all cores.
    random_state : int, RandomState instance or None, default=None
        Seeds the bank, the images the features are fitted on, PCA, ``gamma="scale"`` and the
        landmarks.
    verbose : int, default=0
        ``1`` or more: progress of the bank, the features and the classifier on stdout.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    features_ : BatchedTransformer
        The fitted feature step: ``features_.transform(X)`` gives the PCA features.
    classifier_ : NystroemRidgeClassifier
        The fitted classifier.
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the images seen in :meth:`fit`.
    pool_grid_ : int
        The fine pooling grid used.
    gamma_ : float
        The number ``gamma`` stands for (the classifier's ``gamma_``).
    n_features_in_ : int
        ``height * width * channels``.

    See Also
    --------
    make_image_classifier : Builds one.
    fashion_mnist_pipeline : The settings chosen on Fashion-MNIST.

    Notes
    -----
    **Intensity units.** The first feature step (:class:`PeakNormalizer`) divides each image
    by its largest magnitude, so a model fitted on 0-255 images predicts the same classes for
    the same images in 0-1 (or any other unit): the features agree up to float32 rounding.

    **Unlabelled images** inform the features through the ``X_unlabeled`` argument of
    :meth:`fit`, never through the labels: every value of ``y``, ``-1`` included, is a class.

    **Memory.** Integer images (uint8 as read from files) are not copied to float: the
    features step casts a batch of ``batch_size`` images at a time.

    **dask.** ``X`` (and ``X_unlabeled``, ``y``) may be a :mod:`dask.array` of images or rows,
    chunked by rows. :meth:`fit` checks it from its dtype and shape, as numpy ``X`` is checked,
    without computing it (its values are checked block by block, where the features are
    computed); draws the same rows as for the same images in memory, whatever the chunking,
    and computes only those (the ``max_fit_samples`` images of the bank and PCA, fitted on the
    client as in memory); then fits the classifier on
    the lazy ``features_.transform(X)`` with :class:`~skconv.NystroemRidgeClassifier`'s dask
    fit (each block's normal equations on its worker, summed by a tree reduction). The labels
    are read whole. The bank and PCA are the in-memory ones bit for bit, the landmarks the same
    rows; the coefficients agree with the in-memory fit's to float32 rounding (within 2e-4 of
    the largest in the tests: a block's features are projected in other batches than memory's)
    and so do the scores. :meth:`predict` and :meth:`decision_function` of a dask array return
    lazy dask arrays. dask is imported only when a dask array is given.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skconv.recipes import ImageClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> model = ImageClassifier(image_shape=(8, 8), n_filters=16, n_components=300,
    ...                         random_state=0).fit(X[:1000], y[:1000])
    >>> model.pool_grid_, model.features_.transform(X[:2]).shape
    (2, (2, 160))
    >>> bool(model.score(X[1000:], y[1000:]) > 0.95)
    True
    """

    _parameter_constraints: dict = {
        "image_shape": [tuple, list, None],
        "n_filters": [Interval(Integral, 1, None, closed="left")],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "n_patches": [Interval(Integral, 1, None, closed="left")],
        "pool_grid": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "coarse_grids": [tuple, list],
        "n_pca_components": [Interval(Integral, 1, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="neither"), StrOptions({"scale"})],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "max_fit_samples": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": N_JOBS_CONSTRAINT,
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        image_shape=None,
        n_filters=64,
        kernel_size=5,
        n_patches=10_000,
        pool_grid="auto",
        coarse_grids=(2, 1),
        n_pca_components=256,
        gamma="scale",
        n_components=6000,
        alpha=0.003,
        max_fit_samples=10_000,
        batch_size=2000,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.image_shape = image_shape
        self.n_filters = n_filters
        self.kernel_size = kernel_size
        self.n_patches = n_patches
        self.pool_grid = pool_grid
        self.coarse_grids = coarse_grids
        self.n_pca_components = n_pca_components
        self.gamma = gamma
        self.n_components = n_components
        self.alpha = alpha
        self.max_fit_samples = max_fit_samples
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    @unfitted_on_error
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, X_unlabeled=None):
        """Learn the features from the images (and ``X_unlabeled``), the classifier from ``y``.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, H * W * C) or (n_samples, H, W[, C])
            Labelled images: rows (read with ``image_shape``) or an image stack, of real
            numbers (uint8 as read from files, or floats).
        y : array-like or dask array of shape (n_samples,)
            Class labels; every value is a class (``-1`` too).
        X_unlabeled : array-like or dask array of shape (n_unlabeled, ...), default=None
            Images without labels, in the layout, shape and unit of ``X``: the bank and PCA
            are fitted on ``max_fit_samples`` images drawn from ``X`` and ``X_unlabeled``
            together; the classifier on ``X`` and ``y`` only.

        Returns
        -------
        self : object
            Fitted classifier.
        """
        X = self._images(X, reset=True)
        if is_dask_array(y):
            y = y.compute()  # one label per row: small beside the images
        y = column_or_1d(y, warn=True)
        if y.dtype.kind == "f":
            assert_all_finite(y, input_name="y")  # before the label checks cast it
        check_consistent_length(X, y)
        check_classification_targets(y)
        if X_unlabeled is not None:
            try:
                X_unlabeled = self._images(X_unlabeled, reset=False)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"X_unlabeled: {exc}") from exc
        rng = check_random_state(self.random_state)
        seed = rng.randint(np.iinfo(np.int32).max)

        if not all(
            isinstance(g, Integral) and not isinstance(g, bool) and g >= 1
            for g in self.coarse_grids
        ):
            raise ValueError(
                f"coarse_grids must hold positive ints (cells per side, 1 for global pooling); "
                f"got {self.coarse_grids!r}."
            )
        height, width, _ = self.image_shape_
        self.pool_grid_ = (
            min(MAX_AUTO_GRID, ceil(min(height, width) / 4))
            if self.pool_grid == "auto"
            else self.pool_grid
        )
        fit_images = self._images_to_fit_features(X, X_unlabeled, rng)
        if is_dask_array(X):
            fit_images = _computed(fit_images)  # only the drawn rows reach the client
        else:
            fit_images = np.concatenate(fit_images) if len(fit_images) > 1 else fit_images[0]
        self.features_ = BatchedTransformer(
            self._feature_pipeline(fit_images, seed),
            batch_size=self.batch_size,
            verbose=self.verbose,
        ).fit(fit_images)
        # A pickle round trip makes PCA's components C-contiguous, and the projection through
        # BLAS rounds differently for another memory layout: fix the layout now.
        pca = self.features_.transformer_[-1]
        pca.components_ = np.ascontiguousarray(pca.components_)
        del fit_images

        # Lazy for a dask X: the classifier's fit streams it through the workers.
        features = self.features_.transform(X)
        # Set before its fit, so that an observer (python -m skconv's progress) sees the
        # features' stage end and the classifier's begin; a failed fit removes it again.
        self.classifier_ = NystroemRidgeClassifier(
            gamma=self.gamma,
            n_components=min(self.n_components, len(y)),
            alpha=self.alpha,
            batch_size=self.batch_size,
            random_state=seed,
            verbose=self.verbose,
        )
        self.classifier_.fit(features, y)
        self.classes_ = self.classifier_.classes_
        self.gamma_ = self.classifier_.gamma_
        self._remember_fit_parameters()
        return self

    def decision_function(self, X):
        """Confidence scores per class, from the classifier on the images' features.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, H * W * C) or (n_samples, H, W[, C])
            Images in the layout, shape and intensity unit of :meth:`fit`.

        Returns
        -------
        scores : ndarray or dask array of shape (n_samples,) or (n_samples, n_classes)
            float32 scores; one column for two classes. Lazy for a dask ``X``.
        """
        check_is_fitted(self)
        self._check_fit_parameters()
        X = self._images(X, reset=False)
        if is_dask_array(X):
            return self.classifier_.decision_function(self.features_.transform(X))
        batches = list(gen_batches(len(X), self.batch_size))
        progress = Progress(type(self).__name__, len(X), len(batches), self.verbose, unit="rows")
        scores = None
        for number, batch in enumerate(batches, 1):
            batch_scores = self.classifier_.decision_function(self.features_.transform(X[batch]))
            if scores is None:
                scores = np.empty((len(X), *batch_scores.shape[1:]), batch_scores.dtype)
            scores[batch] = batch_scores
            progress.batch_done(number, batch.stop)
        return scores

    def predict(self, X):
        """Predict the class of each image.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, H * W * C) or (n_samples, H, W[, C])
            Images in the layout, shape and intensity unit of :meth:`fit`.

        Returns
        -------
        y_pred : ndarray or dask array of shape (n_samples,)
            Predicted class labels; lazy for a dask ``X``.
        """
        scores = self.decision_function(X)
        if is_dask_array(scores):
            drop = {} if scores.ndim == 1 else {"drop_axis": 1}
            return scores.map_blocks(labels, self.classes_, dtype=self.classes_.dtype, **drop)
        return labels(scores, self.classes_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        # scikit-learn's yardstick (0.83 on 2-feature blobs) is not images: on rows of two
        # values, read as 1x2 images, the contrast-normalised k-means responses keep only the
        # sign of the difference of the two values.
        tags.classifier_tags.poor_score = True
        return tags

    # -- helpers ---------------------------------------------------------------------------

    def _images(self, X, *, reset):
        """X as a ``(n, H, W, C)`` stack, checked (real numbers only, before any cast).

        Integer and bool images keep their dtype: the features step (:class:`PeakNormalizer`)
        casts them a batch at a time, so that no float copy of every image lives through
        fit or predict (188 MB for 60,000 uint8 28x28 images in float32).
        """
        if is_dask_array(X):
            return self._dask_images(X, reset=reset)
        images = validate_images(self, X, reset=reset, image_shape=self.image_shape, cast=False)
        if reset:
            self.image_shape_ = images.shape
        return images.stack

    def _dask_images(self, X, *, reset):
        """A dask X as a lazy ``(n, H, W, C)`` stack, checked as numpy X is from its metadata
        (dtype, shape) without computing it; its values are checked a batch at a time by the
        features step (:class:`PeakNormalizer`) where each block is computed."""
        raise_unless_real_numbers(X.dtype, "X")
        if any(np.isnan(size) for size in X.shape):
            raise ValueError(
                "X is a dask array whose row count is unknown (its chunk sizes are nan); call "
                "X.compute_chunk_sizes() first, or build it with known chunk sizes."
            )
        if X.ndim >= 1 and X.shape[0] == 0:
            raise ValueError("X holds no images (a dask array of 0 rows); pass at least one.")
        # One image of zeros goes through the numpy checks: layout, shape, width, dtype.
        probe = validate_images(
            self,
            np.zeros((1, *X.shape[1:]), X.dtype),
            reset=reset,
            image_shape=self.image_shape,
            cast=False,
        )
        if reset:
            self.image_shape_ = probe.shape
        if any(len(chunks) > 1 for chunks in X.chunks[1:]):
            X = X.rechunk({axis: -1 for axis in range(1, X.ndim)})
        X = X.reshape((X.shape[0], *probe.shape))
        return X if X.dtype == probe.stack.dtype else X.astype(probe.stack.dtype)

    def _images_to_fit_features(self, X, X_unlabeled, rng):
        """At most ``max_fit_samples`` images drawn from X and X_unlabeled, in their order: the
        drawn images of X, then those of X_unlabeled (numpy or lazy dask arrays, as given)."""
        n_labelled = X.shape[0]
        n_all = n_labelled + (0 if X_unlabeled is None else X_unlabeled.shape[0])
        if n_all <= self.max_fit_samples:
            rows = np.arange(n_all)
        else:
            rows = np.sort(rng.choice(n_all, self.max_fit_samples, replace=False))
        if X_unlabeled is None:
            return [X[rows]]
        labelled = rows[rows < n_labelled]
        return [X[labelled], X_unlabeled[rows[rows >= n_labelled] - n_labelled]]

    def _feature_pipeline(self, fit_images, seed):
        """The feature steps, with their sizes capped by the images they are fitted on."""
        n_images, height, width, channels = fit_images.shape
        kernel = (min(self.kernel_size, height), min(self.kernel_size, width))
        if kernel[0] * kernel[1] * channels < 2:
            raise ValueError(
                f"X holds images of {height}x{width}x{channels} (n_features = 1), but "
                "ImageClassifier needs at least 2 values per image. Pass image_shape for rows "
                "of pixels, or images of 2 pixels or more."
            )
        patches_per_image = (height - kernel[0] + 1) * (width - kernel[1] + 1)
        n_filters = min(self.n_filters, n_images * patches_per_image)
        conv = ConvFeatureExtractor(
            "kmeans",
            n_filters=n_filters,
            kernel_size=kernel,
            n_patches=self.n_patches,
            activation="crelu",
            n_jobs=self.n_jobs,
            random_state=seed,
            verbose=self.verbose,
        )
        grid = min(self.pool_grid_, height, width)
        pooled = [("grid", PoolTransformer(grid=grid))]
        for coarse in sorted({int(g) for g in self.coarse_grids if g < grid}, reverse=True):
            pooled.append((f"grid{coarse}", PoolTransformer(grid=coarse)))
        # One convolution for every scale: the fine grid is kept as maps, and the coarse grids
        # pool its cells (the global maximum of a map is the maximum of its cells).
        steps = [
            ("scale", PeakNormalizer()),
            ("convpool", ConvPool(conv, PoolTransformer(grid=grid, flatten=False))),
            ("pool", FeatureUnion(pooled)),
        ]
        n_pooled = 2 * n_filters * sum(step.grid**2 for _, step in pooled)
        n_pca = min(self.n_pca_components, n_images, n_pooled)
        # An exact SVD where it is cheap (small sets); the randomized one otherwise, as PCA's
        # "auto" picks for Fashion-MNIST's 10,000 x 6,400.
        solver = "full" if min(n_images, n_pooled) <= SMALL_PCA else "randomized"
        steps.append(("pca", PCA(n_pca, svd_solver=solver, random_state=seed)))
        return Pipeline(steps)


def _computed(fit_images):
    """The images to fit the features on (a list of numpy or dask parts) as one ndarray,
    from one dask computation."""
    import dask

    fit_parts = [np.asarray(part) for part in dask.compute(*fit_images)]
    return np.concatenate(fit_parts) if len(fit_parts) > 1 else fit_parts[0]
