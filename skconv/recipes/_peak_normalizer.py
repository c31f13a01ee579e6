"""PeakNormalizer: each image divided by its largest magnitude, so the unit does not matter."""

from __future__ import annotations

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils.validation import check_is_fitted

from .._base import SkconvTransformer, unfitted_on_error
from .._shapes import validate_images


class PeakNormalizer(SkconvTransformer):
    """Divide each image by its largest magnitude, so that the intensity unit does not matter.

    The input step of :class:`ImageClassifier`: images in 0-255 and the same images in 0-1
    come out equal up to float rounding (each image's largest magnitude becomes 1; an image of
    zeros stays zeros), so a model fitted in one unit answers the same in the other. It
    checks its input as every skconv estimator does (real numbers only, refused before any
    cast) and keeps the shape it is given: rows stay rows, image stacks stay stacks.

    Parameters
    ----------
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(height, width, channels)`` of the images in the rows of a
        2-D ``X``; only checked (the scaling is per row, whatever the shape).

    Attributes
    ----------
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the images seen in :meth:`fit`.
    n_features_in_ : int
        ``height * width * channels``.

    See Also
    --------
    sklearn.preprocessing.Normalizer : ``norm="max"`` does the same to 2-D float rows.

    Examples
    --------
    >>> import numpy as np
    >>> from skconv.recipes import PeakNormalizer
    >>> images = np.array([[[0, 51], [102, 255]]], dtype=np.uint8)
    >>> PeakNormalizer().fit_transform(images)
    array([[[0. , 0.2],
            [0.4, 1. ]]], dtype=float32)
    """

    _parameter_constraints: dict = {"image_shape": [tuple, list, None]}

    def __init__(self, *, image_shape=None):
        self.image_shape = image_shape

    @unfitted_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the images and remember their shape.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n, H, W[, C])
            Images.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        self.image_shape_ = validate_images(
            self, X, reset=True, image_shape=self.image_shape
        ).shape
        self._remember_fit_parameters()
        return self

    def transform(self, X):
        """Each image divided by its largest magnitude, in float32 (float64 stays float64).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n, H, W[, C])
            Images of the shape seen in :meth:`fit`.

        Returns
        -------
        X_out : ndarray of the shape of X
            The scaled images.
        """
        check_is_fitted(self)
        self._check_fit_parameters()
        images = validate_images(self, X, reset=False)
        stack = images.stack
        peaks = np.abs(stack).max(axis=(1, 2, 3), keepdims=True) if stack.size else 1
        scaled = np.divide(stack, peaks, out=np.zeros_like(stack), where=peaks > 0)
        # Flat rows stay flat rows, stacks stay stacks (of their own number of axes).
        ndim = getattr(X, "ndim", None) or np.asarray(X).ndim
        return scaled.reshape(len(stack), -1) if ndim == 2 else scaled.reshape(stack.shape[:ndim])
