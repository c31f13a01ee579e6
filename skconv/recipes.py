"""Ready-made pipelines for real image sets, with the settings chosen on validation splits.

:func:`fashion_mnist_pipeline` is the recipe of the user guide's "real images" page: the one
``python -m skconv --dataset fashion-mnist`` and ``benchmarks/fashion_mnist.py`` run.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from ._batched import BatchedTransformer
from ._conv import ConvFeatureExtractor
from ._kernel_head import NystroemRidgeClassifier
from ._pool import PoolTransformer
from ._stream import ConvPool

__all__ = ["fashion_mnist_pipeline"]

# Chosen on Fashion-MNIST's validation split (the last 10,000 training images, the model
# fitted on the first 50,000); see docs/user_guide/real_images.rst for the table.
FASHION_MNIST_SETTINGS = {
    "n_filters": 64,
    "kernel_size": 5,
    "pool_size": 4,
    "n_pca_components": 256,
    # About 1 / (mean squared distance between two images' PCA features); 0.5x and 1x
    # scored the same on validation. The features do not depend on the intensity unit (the
    # k-means responses are contrast-normalised), so this holds for 0-255 and 0-1 images.
    "gamma": 6e-6,
    "alpha": 0.003,
    # Rows the feature steps are fitted on: enough for k-means' 10,000 patches and PCA.
    "max_fit_samples": 10_000,
    "batch_size": 2_000,
}


def _as_float32(images):
    """Cast images (uint8 as they come from files) to float32, so features stay float32."""
    return np.asarray(images, dtype=np.float32)


def fashion_mnist_pipeline(
    *, n_components: int = 6000, n_jobs: int | None = None, random_state=0, verbose: int = 0
) -> Pipeline:
    """The skconv recipe for Fashion-MNIST: k-means features, then RBF kernel ridge.

    Two steps, each keeping float32 and bounded in memory:

    1. ``features``: 64 k-means 5x5 filters with ``"crelu"`` and 4x4 max pooling
       (6,272 features per image, computed by :class:`ConvPool` a batch at a time), then
       PCA to 256 components, all inside a :class:`~skconv.BatchedTransformer` so
       that the 6,272 features exist for one batch of 2,000 images only. The filters and
       the PCA are learned from 10,000 of the training images.
    2. ``classifier``: :class:`~skconv.NystroemRidgeClassifier`, ridge on a
       Nystroem approximation of the RBF kernel on those 256 components
       (``n_components`` landmarks), the kernel map computed a batch of 2,000 rows at a
       time and never stored: the fit holds ``n_components ** 2`` float64 normal
       equations instead of the ``n_samples x n_components`` map.

    Parameters
    ----------
    n_components : int, default=6000
        Nystroem landmarks: the classifier's fit holds ``n_components ** 2`` float64
        values (288 MB at the default) and its cost grows with ``n_samples *
        n_components ** 2``. 4,000 scored 0.932 on the validation split, 6,000 0.935, 8,000 0.938.
    n_jobs : int, default=None
        Threads of the convolution (see :class:`ConvFeatureExtractor`); ``-1`` all cores.
    random_state : int, RandomState instance or None, default=0
        Seeds the k-means bank, the rows the features are fitted on, PCA and the landmarks.
    verbose : int, default=0
        ``1`` or more: the pipeline reports each step's time, the bank what it learned, and
        the batched features and the classifier's fit their progress (batches done, rows per
        second, time left), on stdout.

    Returns
    -------
    pipeline : Pipeline
        Unfitted; takes images as ``(n, 28, 28)`` stacks or ``(n, 784)`` rows, uint8 or
        float.

    See Also
    --------
    skconv.datasets.fetch_fashion_mnist : The data set.

    Notes
    -----
    Every setting was chosen on a validation split of the training set (fit on the first
    50,000 images, score on the last 10,000) and the official test set was scored once, at
    the end: see the user guide's "real images" page for the exploration, the time and the
    memory. The settings were chosen with sklearn's ``Nystroem`` + ``RidgeClassifier``;
    the classifier fits the same model (same landmarks, gamma, alpha and intercept).

    Examples
    --------
    >>> import numpy as np
    >>> from skconv.recipes import fashion_mnist_pipeline
    >>> rng = np.random.RandomState(0)
    >>> images = rng.randint(0, 256, size=(300, 28, 28), dtype=np.uint8)
    >>> labels = np.arange(300) % 3
    >>> model = fashion_mnist_pipeline(n_components=100)
    >>> model.set_params(features__transformer__pca__n_components=20).fit(images, labels)
    Pipeline(...)
    >>> model.predict(images[:5]).shape
    (5,)
    >>> model[:-1].transform(images[:5]).dtype
    dtype('float32')
    >>> model.decision_function(images[:5]).dtype
    dtype('float32')
    """
    settings = FASHION_MNIST_SETTINGS
    conv = ConvFeatureExtractor(
        "kmeans",
        image_shape=(28, 28),
        n_filters=settings["n_filters"],
        kernel_size=settings["kernel_size"],
        activation="crelu",
        n_jobs=n_jobs,
        random_state=random_state,
        verbose=verbose,
    )
    features = make_pipeline(
        FunctionTransformer(_as_float32),
        ConvPool(conv, PoolTransformer(settings["pool_size"])),
        PCA(settings["n_pca_components"], random_state=random_state),
    )
    return Pipeline(
        [
            (
                "features",
                BatchedTransformer(
                    features,
                    batch_size=settings["batch_size"],
                    max_fit_samples=settings["max_fit_samples"],
                    random_state=random_state,
                    verbose=verbose,
                ),
            ),
            (
                "classifier",
                NystroemRidgeClassifier(
                    gamma=settings["gamma"],
                    n_components=n_components,
                    alpha=settings["alpha"],
                    batch_size=settings["batch_size"],
                    random_state=random_state,
                    verbose=verbose,
                ),
            ),
        ],
        verbose=bool(verbose),
    )
