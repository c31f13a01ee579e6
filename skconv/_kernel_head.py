"""NystroemRidgeClassifier: kernel ridge on Nystroem landmarks, the kernel map never stored."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from scipy import linalg
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import SkconvEstimator, unfitted_on_error
from ._progress import Progress
from ._shapes import float_dtype

# gamma="scale" reads the mean squared distance off this many training rows at least.
SCALE_SAMPLE_ROWS = 1000


class NystroemRidgeClassifier(ClassifierMixin, SkconvEstimator):
    """Ridge classifier on a Nystroem RBF kernel map, streamed so the map is never stored.

    The model is that of ``make_pipeline(Nystroem(kernel="rbf"), RidgeClassifier())`` with
    the same landmarks, ``gamma`` and ``alpha``, but :meth:`fit` computes the kernel map
    ``batch_size`` rows at a time and only accumulates the normal equations
    (``n_components x n_components``) from it, and :meth:`predict` maps a batch at a time
    too. Memory is therefore ``O(n_components ** 2)`` plus one batch, whatever the number of
    samples, where the pipeline holds the ``n_samples x n_components`` map (and
    ``RidgeClassifier`` a copy of it).

    Parameters
    ----------
    gamma : float, "scale" or None, default=None
        RBF kernel coefficient, ``exp(-gamma * ||x - y||^2)``. ``None`` uses
        ``1 / n_features`` as :func:`~sklearn.metrics.pairwise.rbf_kernel` does. ``"scale"``
        sets it from the data at :meth:`fit`: ``1 / d``, where ``d`` is the mean squared
        Euclidean distance between two distinct rows of a random sample of the training rows
        (the first ``max(1000, n_components)`` rows of the permutation whose first
        ``n_components`` rows are the landmarks; all rows when there are fewer), computed in
        float64. It depends on ``random_state`` and the data only, never on ``batch_size``.
        The value used is ``gamma_``.
    n_components : int, default=100
        Landmarks, drawn from the training rows. More than the samples: all samples are
        used, with a warning.
    alpha : float, default=1.0
        Ridge regularisation strength on the mapped features.
    fit_intercept : bool, default=True
        Fit an intercept, as ``RidgeClassifier`` does, by centring the mapped features and
        targets (on the accumulated sums, never on a stored map).
    batch_size : int, default=1024
        Rows mapped together in :meth:`fit`, :meth:`decision_function` and :meth:`predict`.
    random_state : int, RandomState instance or None, default=None
        Draws the landmarks, exactly as ``Nystroem`` draws its ``components_``.
    verbose : int, default=0
        Progress of :meth:`fit` on stdout, where nearly all the time goes: batches of rows
        mapped and added to the normal equations, rows per second and time left (about ten
        lines; every batch with ``verbose >= 2``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    components_ : ndarray of shape (n_components, n_features)
        The landmarks.
    component_indices_ : ndarray of shape (n_components,)
        Their rows in the training data.
    gamma_ : float
        The kernel coefficient used: ``gamma``, resolved as described there.
    normalization_ : ndarray of shape (n_components, n_components)
        Inverse square root of the landmarks' kernel matrix.
    coef_ : ndarray of shape (n_classes or 1, n_components)
        Weights on the mapped features (one row for two classes).
    intercept_ : ndarray of shape (n_classes or 1,)
        Intercepts; zeros when ``fit_intercept=False``.
    n_features_in_ : int
        Features seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when X was a DataFrame with string column names.

    See Also
    --------
    sklearn.kernel_approximation.Nystroem : The kernel map, stored for all rows.
    sklearn.linear_model.RidgeClassifier : The linear model it is fitted with.

    Notes
    -----
    float32 input stays float32 for the kernel map, the landmark kernel's eigendecomposition
    and the predictions' products (float64 input stays float64); the normal equations are
    accumulated and solved in float64, so that summing tens of thousands of rows loses no
    precision. Targets are encoded in {-1, 1} as ``RidgeClassifier`` encodes them. The
    landmark kernel's eigenvalues are clipped below at 1e-12, as ``Nystroem`` clips its
    singular values.

    Examples
    --------
    >>> import numpy as np
    >>> from skconv._kernel_head import NystroemRidgeClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.rand(500, 2).astype(np.float32)
    >>> y = (np.hypot(X[:, 0] - 0.5, X[:, 1] - 0.5) < 0.3).astype(int)
    >>> model = NystroemRidgeClassifier(gamma=10, n_components=100, alpha=1e-3,
    ...                                 batch_size=128, random_state=0).fit(X, y)
    >>> model.score(X, y) > 0.95
    True
    >>> model.decision_function(X[:3]).dtype
    dtype('float32')
    """

    _parameter_constraints: dict = {
        "gamma": [Interval(Real, 0, None, closed="neither"), StrOptions({"scale"}), None],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        gamma=None,
        *,
        n_components=100,
        alpha=1.0,
        fit_intercept=True,
        batch_size=1024,
        random_state=None,
        verbose=0,
    ):
        self.gamma = gamma
        self.n_components = n_components
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.batch_size = batch_size
        self.random_state = random_state
        self.verbose = verbose

    @unfitted_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Draw the landmarks, then fit ridge on the kernel map a batch of rows at a time.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows; float32 is kept, other dtypes become float64.
        y : array-like of shape (n_samples,)
            Class labels, at least two distinct.

        Returns
        -------
        self : object
            Fitted classifier.
        """
        float_dtype(X)  # numbers only: a TypeError naming any other dtype, before any cast
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        binarizer = LabelBinarizer(pos_label=1, neg_label=-1)
        Y = binarizer.fit_transform(y)
        self.classes_ = binarizer.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"NystroemRidgeClassifier needs samples of at least 2 classes in y; got 1 "
                f"class: {self.classes_.tolist()[0]!r}."
            )
        n_samples = len(X)
        n_components = self.n_components
        if n_components > n_samples:
            warnings.warn(
                f"n_components={n_components} is larger than n_samples={n_samples}; "
                f"n_components was set to n_samples.",
                UserWarning,
                stacklevel=2,
            )
            n_components = n_samples
        # The landmarks are drawn as Nystroem draws them; gamma="scale" reads more rows of the
        # same permutation.
        permutation = check_random_state(self.random_state).permutation(n_samples)
        self.component_indices_ = permutation[:n_components]
        self.components_ = X[self.component_indices_]
        self.gamma_ = self._resolve_gamma(X, permutation, max(SCALE_SAMPLE_ROWS, n_components))
        self.normalization_ = _inverse_sqrt_psd(self._landmark_kernel())

        gram = np.zeros((n_components, n_components))
        cross = np.zeros((n_components, Y.shape[1]))
        feature_sum = np.zeros(n_components)
        starts = range(0, n_samples, self.batch_size)
        progress = Progress(type(self).__name__, n_samples, len(starts), self.verbose, unit="rows")
        for batch, start in enumerate(starts, 1):
            z = self._map(X[start : start + self.batch_size]).astype(np.float64)
            gram += z.T @ z
            cross += z.T @ Y[start : start + self.batch_size]
            feature_sum += z.sum(axis=0)
            del z
            progress.batch_done(batch, min(start + self.batch_size, n_samples))
        if self.fit_intercept:
            feature_mean = feature_sum / n_samples
            target_mean = Y.mean(axis=0)
            gram -= n_samples * np.outer(feature_mean, feature_mean)
            cross -= n_samples * np.outer(feature_mean, target_mean)
        gram.flat[:: n_components + 1] += self.alpha
        try:
            coef = linalg.solve(gram, cross, assume_a="pos", overwrite_a=True, overwrite_b=True)
        except linalg.LinAlgError:
            raise ValueError(_singular_message(self.alpha)) from None
        del gram
        intercept = target_mean - feature_mean @ coef if self.fit_intercept else 0.0
        self.coef_ = np.ascontiguousarray(coef.T, dtype=X.dtype)
        self.intercept_ = np.broadcast_to(intercept, (Y.shape[1],)).astype(X.dtype)
        self._remember_fit_parameters()
        return self

    def decision_function(self, X):
        """Class scores, computed ``batch_size`` rows at a time.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            One column for two classes (positive means ``classes_[1]``), as
            ``RidgeClassifier`` returns them; in the dtype of the fitted coefficients.
        """
        check_is_fitted(self)
        self._check_fit_parameters()
        float_dtype(X)  # numbers only: a TypeError naming any other dtype, before any cast
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        scores = np.empty((len(X), len(self.coef_)), dtype=self.coef_.dtype)
        for start in range(0, len(X), self.batch_size):
            z = self._map(X[start : start + self.batch_size]).astype(self.coef_.dtype)
            scores[start : start + self.batch_size] = z @ self.coef_.T + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The class of the highest score.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[scores.argmax(axis=1)]

    def _resolve_gamma(self, X, permutation, n_sample_rows: int) -> float:
        """``gamma`` as a number; ``"scale"`` from the first rows of ``permutation``."""
        if self.gamma is None:
            gamma = 1.0 / self.n_features_in_
        elif isinstance(self.gamma, str):
            gamma = 1.0 / _mean_squared_distance(X[permutation[:n_sample_rows]])
        else:
            gamma = float(self.gamma)
        if gamma > float(np.finfo(X.dtype).max):
            raise ValueError(
                f"gamma={gamma!r} overflows {X.dtype}, the dtype the kernel is computed in; "
                "use a smaller gamma, e.g. gamma='scale'."
            )
        return gamma

    def _landmark_kernel(self):
        """The landmarks' kernel matrix, refused when it carries no information."""
        kernel = rbf_kernel(self.components_, gamma=self.gamma_)
        off_diagonal = kernel[~np.eye(len(kernel), dtype=bool)]
        if len(kernel) > 1 and not off_diagonal.any():
            raise ValueError(
                f"gamma={self.gamma_!r} makes the RBF kernel underflow to 0 between every two "
                f"distinct landmarks, so the kernel map is 0 away from them; use a smaller "
                f"gamma, e.g. gamma='scale' (1 / the mean squared distance between rows)."
            )
        return kernel

    def _map(self, X_batch):
        """The Nystroem features of a batch: its kernel to the landmarks, normalised."""
        return rbf_kernel(X_batch, self.components_, gamma=self.gamma_) @ self.normalization_


def _mean_squared_distance(rows) -> float:
    """Mean of ``||x - y|| ** 2`` over the pairs of distinct rows, in float64: twice the
    features' summed variance, corrected for the pairs of a row with itself."""
    rows = np.asarray(rows, dtype=np.float64)
    n_rows = len(rows)
    with np.errstate(over="ignore", invalid="ignore"):
        distance = 2 * n_rows / max(n_rows - 1, 1) * rows.var(axis=0).sum()
    if not np.isfinite(distance):
        raise ValueError(
            "gamma='scale' cannot be computed: the squared distances between rows of X "
            "overflow float64; scale X down, or pass gamma as a number."
        )
    if distance == 0:
        raise ValueError(
            "gamma='scale' needs rows that differ, but the rows sampled for it are all "
            "identical; pass gamma as a number."
        )
    return distance


def _singular_message(alpha) -> str:
    return (
        f"The ridge system is singular at alpha={alpha!r}: the kernel map has repeated or "
        f"linearly dependent columns (e.g. repeated rows among the landmarks). Use a positive "
        f"alpha, e.g. alpha=1e-6, or larger."
    )


def _inverse_sqrt_psd(kernel):
    """``kernel ** -1/2`` of a symmetric PSD matrix, eigenvalues clipped below at 1e-12."""
    # Divide and conquer ("evd"), as the SVD of sklearn's Nystroem (gesdd): on the recipe's
    # 6,000 Fashion-MNIST landmarks it took 16 s where the default ("evr") took 129 s, the
    # kernel's many tiny, clustered eigenvalues being the slow case of the default.
    eigenvalues, eigenvectors = linalg.eigh(kernel, overwrite_a=True, driver="evd")
    scaled = eigenvectors / np.sqrt(np.maximum(eigenvalues, 1e-12))
    # U S^-1/2 U^T, as sklearn's Nystroem writes U / sqrt(S) @ V (here V = U^T, the matrix
    # being symmetric), so both map a row x to K(x, landmarks) @ normalization_.
    return scaled @ eigenvectors.T
