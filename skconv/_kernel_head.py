"""NystroemRidgeClassifier: kernel ridge on Nystroem landmarks, the kernel map never stored."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from scipy import linalg
from scipy.linalg import blas, lapack
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._base import SkconvEstimator, unfitted_on_error
from ._engine.kernel_ridge import (
    KernelMap,
    add_equations,
    cholesky,
    inverse_sqrt_psd,
    labels,
    mean_squared_distance,
    normal_equations,
    ridge_solve,
    scores,
)
from ._progress import Progress
from ._shapes import float_dtype, is_dask_array, raise_unless_real_numbers

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
        A matrix ``N`` with ``N @ N.T`` the inverse of the landmarks' kernel matrix, so that
        ``rbf_kernel(X, components_, gamma=gamma_) @ N`` is the kernel map the ridge is
        fitted on: the transposed inverse of its Cholesky factor (upper triangular), or, for
        a numerically singular landmark kernel, its symmetric inverse square root on the
        eigenvalues above 1e-12 (a pseudo-inverse; see Notes). Any such ``N`` gives the same
        model.
    coef_ : ndarray of shape (n_classes or 1, n_components)
        Weights on the mapped features (one row for two classes).
    landmark_coef_ : ndarray of shape (n_components, n_classes or 1)
        The same weights on the kernel to the landmarks, ``normalization_ @ coef_.T``
        (computed in float64): the scores are
        ``rbf_kernel(X, components_, gamma=gamma_) @ landmark_coef_ + intercept_``.
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
    **The arithmetic.** Ridge on the map ``Z = K N`` (``K`` the kernel to the landmarks) needs
    ``N.T (K.T K) N``; :meth:`fit` accumulates the raw ``K.T K`` with one symmetric rank-k
    update per batch (BLAS ``syrk``) and applies ``N`` once, at the end, to the
    ``n_components x n_components`` sum. ``N`` comes from the Cholesky factor ``L`` of the
    landmark kernel (``N = L^-T``; ``L^-1 (K.T K) L^-T`` is one LAPACK ``sygst``), a few
    times cheaper than its eigendecomposition. When the factorisation fails or one of its
    pivots is below 1e-10 (repeated or nearly repeated landmarks), the eigendecomposition is
    used instead, on the eigenvalues above 1e-12 only: ``Nystroem`` clips smaller ones up to
    1e-12, which multiplies the rounding in those directions by up to 1e6; dropping them
    gives the model of the distinct landmarks (measured within 7e-9 of ``Nystroem`` +
    ``RidgeClassifier`` in float64 on repeated rows, 6.5e-7 when clipped). Ridge
    predictions do not depend on which ``N`` is used (two differ by a rotation of the
    mapped features, which ridge ignores).

    **Precision.** float64 input is computed in float64 throughout. float32 input keeps the
    kernel rows in float32 (their products with the landmarks, and the predictions) and does
    the rest in float64: the landmark kernel and its factor, the sums ``K.T K`` (``dsyrk`` of
    the rows cast to float64), the centring and the solve. The sums must be float64: the
    normalisation multiplies their rounding by up to ``1 / lambda_min`` of the landmark
    kernel, so float32 sums (``ssyrk``, half the time) moved the scores of the tests' models
    by 1e-2 where float32 kernel rows move them by 1e-4. Two measures keep the rest
    accurate. Distances are computed between rows centred on the landmarks' mean (distances
    do not change; the ``|x|^2 + |c|^2 - 2 x.c`` expansion then keeps its digits for data
    far from the origin). Kernel rows are summed minus the landmarks' mean kernel row, an
    estimate of the mean row, so the sums hold the spread of the rows rather than their
    mean; the centring for the intercept (or, without one, the undoing of that shift) is
    applied after the normalisation, to vectors it does not amplify. Measured against
    ``Nystroem`` + ``RidgeClassifier`` in float64: scores within 4e-11 (landmark kernel
    condition number 4e4); float32 against float64 input: within 1.1e-4. Targets are
    encoded in {-1, 1} as ``RidgeClassifier`` encodes them.

    **Memory.** :meth:`fit` holds one batch of kernel rows (``batch_size x n_components``,
    float32 and float64), the float64 sums ``K.T K`` and the landmark kernel's Cholesky
    factor (``n_components ** 2`` float64 each): about ``16 * n_components ** 2`` bytes plus
    the batch, never the ``n_samples x n_components`` map. :meth:`predict` needs one batch
    of kernel rows and ``landmark_coef_``.

    **dask.** :meth:`fit`, :meth:`predict` and :meth:`decision_function` also take a
    ``dask.array`` of rows (chunked by rows; chunks of columns are merged), ``y`` a dask or
    numpy array. :meth:`fit` fetches the rows ``random_state`` samples (the landmarks, and
    the rows ``gamma="scale"`` reads: the same rows as in memory, whatever the chunking) with
    one small ``X[indices]`` compute, computes each block's normal equations on the worker
    that holds it, sums them by a tree of pairwise additions (only ``n_components``-sized
    arrays travel) and solves once on the client; the labels are read whole (one per row).
    The model is the in-memory one up to the order of the float64 sums (tests: weights within
    5e-11 of the largest, the intercept 2e-12 of the largest landmark weight). :meth:`predict`
    and :meth:`decision_function` return lazy dask arrays, block by block. Progress is not
    printed for dask input; dask is imported only when a dask array is passed.

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
        X : array-like or dask array of shape (n_samples, n_features)
            Training rows; float32 is kept, other dtypes become float64.
        y : array-like or dask array of shape (n_samples,)
            Class labels, at least two distinct.

        Returns
        -------
        self : object
            Fitted classifier.
        """
        if is_dask_array(X):
            return self._fit_dask(X, y)
        float_dtype(X)  # numbers only: a TypeError naming any other dtype, before any cast
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        Y = self._encode_targets(y)
        n_samples = len(X)
        permutation, n_components, n_sample_rows = self._draw_rows(n_samples)
        self._set_landmarks(X[permutation[:n_sample_rows]], permutation[:n_components])
        landmark_kernel = self._landmark_kernel()
        shift = landmark_kernel.mean(axis=0)  # an estimate of the mean kernel row
        factor = cholesky(landmark_kernel)  # in place: the kernel is gone
        del landmark_kernel
        kernel_map = KernelMap.of(self.components_, self.gamma_)
        batches = list(gen_batches(n_samples, self.batch_size))
        progress = Progress(
            type(self).__name__, n_samples, len(batches), self.verbose, unit="rows"
        )
        equations = normal_equations(X, Y, kernel_map, shift, batches, progress)
        self._solve(equations, factor, shift, X.dtype)
        self._remember_fit_parameters()
        return self

    def decision_function(self, X):
        """Class scores, computed ``batch_size`` rows at a time.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray or dask array of shape (n_samples,) or (n_samples, n_classes)
            One column for two classes (positive means ``classes_[1]``), as
            ``RidgeClassifier`` returns them; in the dtype of the fitted coefficients. A
            lazy dask array for a dask ``X``.
        """
        check_is_fitted(self)
        self._check_fit_parameters()
        kernel_map = KernelMap.of(self.components_, self.gamma_)
        if is_dask_array(X):
            X = self._check_dask_rows(X, reset=False)
            n_scores = self.landmark_coef_.shape[1]
            return X.map_blocks(
                scores,
                kernel_map,
                self.landmark_coef_,
                self.intercept_,
                self.batch_size,
                dtype=self.landmark_coef_.dtype,
                **({"drop_axis": 1} if n_scores == 1 else {"chunks": (X.chunks[0], (n_scores,))}),
            )
        float_dtype(X)  # numbers only: a TypeError naming any other dtype, before any cast
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return scores(X, kernel_map, self.landmark_coef_, self.intercept_, self.batch_size)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        y_pred : ndarray or dask array of shape (n_samples,)
            The class of the highest score; a lazy dask array for a dask ``X``.
        """
        scores = self.decision_function(X)
        if is_dask_array(scores):
            drop = {} if scores.ndim == 1 else {"drop_axis": 1}
            return scores.map_blocks(labels, self.classes_, dtype=self.classes_.dtype, **drop)
        return labels(scores, self.classes_)

    def _fit_dask(self, X, y):
        """fit on a dask array: normal equations per block on the workers, summed by a tree
        reduction; only the sampled rows and the ``n_components``-sized sums reach the client.
        """
        import dask

        X = self._check_dask_rows(X, reset=True)
        y = np.asarray(y.compute() if is_dask_array(y) else y)  # labels: one per row, small
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        Y = self._encode_targets(y)
        n_samples = X.shape[0]
        permutation, n_components, n_sample_rows = self._draw_rows(n_samples)
        sampled = permutation[:n_sample_rows]
        order = np.argsort(sampled)
        sample = np.empty((n_sample_rows, X.shape[1]), dtype=X.dtype)
        sample[order] = X[sampled[order]].compute()  # one small fetch: the sampled rows
        if not np.isfinite(sample).all():
            raise ValueError("Input X contains NaN or infinity.")
        self._set_landmarks(sample, sampled[:n_components])
        landmark_kernel = self._landmark_kernel()
        shift = landmark_kernel.mean(axis=0)
        factor = cholesky(landmark_kernel)
        del landmark_kernel
        shared = dask.delayed(
            (KernelMap.of(self.components_, self.gamma_), shift), pure=True, traverse=False
        )
        bounds = np.cumsum((0,) + X.chunks[0])
        parts = [
            dask.delayed(_block_equations)(block, Y[start:stop], shared, self.batch_size)
            for block, start, stop in zip(X.to_delayed().ravel(), bounds[:-1], bounds[1:])
        ]
        while len(parts) > 1:  # a tree of pairwise sums, computed where the parts are
            pairs = [parts[i : i + 2] for i in range(0, len(parts), 2)]
            parts = [
                dask.delayed(add_equations)(*pair) if len(pair) == 2 else pair[0] for pair in pairs
            ]
        (equations,) = dask.compute(parts[0])
        self._solve(equations, factor, shift, X.dtype)
        self._remember_fit_parameters()
        return self

    def _check_dask_rows(self, X, *, reset: bool):
        """A dask X as fit and predict read it: numbers (float32 kept, else float64), 2-D,
        chunked by rows only, the fitted width."""
        raise_unless_real_numbers(X.dtype, "X")
        if X.ndim != 2:
            raise ValueError(
                f"X has {X.ndim} dimensions; {type(self).__name__} expects a 2-D dask array "
                "(n_samples, n_features)."
            )
        if np.isnan(X.shape[0]):
            raise ValueError(
                "X has unknown chunk sizes; call X.compute_chunk_sizes() before passing it."
            )
        if reset:
            self.n_features_in_ = X.shape[1]
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        if not reset:
            dtype = self.components_.dtype
        return X.astype(dtype).rechunk({1: -1})

    def _encode_targets(self, y):
        """``y`` in {-1, 1} columns, as ``RidgeClassifier`` encodes it; sets ``classes_``."""
        check_classification_targets(y)
        binarizer = LabelBinarizer(pos_label=1, neg_label=-1)
        Y = binarizer.fit_transform(y)
        self.classes_ = binarizer.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"NystroemRidgeClassifier needs samples of at least 2 classes in y; got 1 "
                f"class: {self.classes_.tolist()[0]!r}."
            )
        return Y

    def _draw_rows(self, n_samples: int):
        """The permutation of the rows whose first ``n_components`` are the landmarks, drawn as
        ``Nystroem`` draws its ``components_``, and how many of its rows fit reads."""
        n_components = self.n_components
        if n_components > n_samples:
            warnings.warn(
                f"n_components={n_components} is larger than n_samples={n_samples}; "
                f"n_components was set to n_samples.",
                UserWarning,
                stacklevel=4,
            )
            n_components = n_samples
        permutation = check_random_state(self.random_state).permutation(n_samples)
        n_sample_rows = n_components
        if self.gamma == "scale":  # gamma="scale" reads more rows of the same permutation
            n_sample_rows = min(n_samples, max(SCALE_SAMPLE_ROWS, n_components))
        return permutation, n_components, n_sample_rows

    def _set_landmarks(self, sample, indices) -> None:
        """Set the landmarks (the first rows of ``sample``, at ``indices`` in X) and
        ``gamma_``."""
        self.component_indices_ = indices
        self.components_ = np.ascontiguousarray(sample[: len(indices)])
        self.gamma_ = self._resolve_gamma(sample, sample.dtype)

    def _landmark_kernel(self):
        """The landmarks' kernel matrix in float64, refused when it carries no information."""
        kernel = rbf_kernel(self.components_.astype(np.float64), gamma=self.gamma_)
        off_diagonal = kernel[~np.eye(len(kernel), dtype=bool)]
        if len(kernel) > 1 and not off_diagonal.any():
            raise ValueError(
                f"gamma={self.gamma_!r} makes the RBF kernel underflow to 0 between every two "
                f"distinct landmarks, so the kernel map is 0 away from them; use a smaller "
                f"gamma, e.g. gamma='scale' (1 / the mean squared distance between rows)."
            )
        return kernel

    def _resolve_gamma(self, sample, dtype) -> float:
        """``gamma`` as a number; ``"scale"`` from the sampled rows."""
        if self.gamma is None:
            gamma = 1.0 / self.n_features_in_
        elif isinstance(self.gamma, str):
            gamma = 1.0 / mean_squared_distance(sample)
        else:
            gamma = float(self.gamma)
        if gamma > float(np.finfo(dtype).max):
            raise ValueError(
                f"gamma={gamma!r} overflows {dtype}, the dtype the kernel is computed in; "
                "use a smaller gamma, e.g. gamma='scale'."
            )
        return gamma

    def _solve(self, equations, factor, shift, dtype) -> None:
        """Apply the landmark normalisation to the summed normal equations, centre, solve."""
        gram, cross_total, y_sum, n_rows = equations
        if not (np.isfinite(gram).all() and np.isfinite(cross_total).all()):
            raise ValueError(
                f"The kernel map overflows with gamma={self.gamma_!r} on these rows; use a "
                "smaller gamma, e.g. gamma='scale', or scale X."
            )
        if factor is not None:
            # W = L^-1: L^-1 G L^-T is one sygst, from the lower triangles
            system, _ = lapack.dsygst(gram, factor, itype=1, lower=1, overwrite_a=1)
            whitened = linalg.solve_triangular(
                factor, np.column_stack([cross_total, shift]), lower=True
            )
            normalization = None
        else:
            # W = N, the symmetric inverse square root on the eigenvalues above 1e-12
            normalization = inverse_sqrt_psd(self._landmark_kernel())
            gram = np.tril(gram)
            gram += np.tril(gram, -1).T
            system = normalization @ gram @ normalization
            whitened = normalization @ np.column_stack([cross_total, shift])
        del gram  # overwritten by system when W = L^-1
        # W (k - s) summed is t_w, W s is s_w: the shift is undone, and the mean removed, on
        # these vectors, which W does not amplify (W s = L^T 1 / n_components for W = L^-1).
        cross, total, shift_w = whitened[:, :-2], whitened[:, -2], whitened[:, -1]
        if self.fit_intercept:
            # sum (k - m)(k - m)^T = sum (k - s)(k - s)^T - t t^T / n, m the mean row
            y_mean = y_sum / n_rows
            system = blas.dsyr(-1.0 / n_rows, total, a=system, lower=1, overwrite_a=1)
            cross = cross - np.outer(total, y_mean)
        else:
            # sum k k^T = sum (k - s)(k - s)^T + s t^T + t s^T + n s s^T
            system = blas.dsyr2(1.0, shift_w, total, a=system, lower=1, overwrite_a=1)
            system = blas.dsyr(float(n_rows), shift_w, a=system, lower=1, overwrite_a=1)
            cross = cross + np.outer(shift_w, y_sum)
        coef = ridge_solve(system, cross, self.alpha)
        del system
        if normalization is None:
            landmark_coef = linalg.solve_triangular(factor, coef, lower=True, trans="T")
            inverse, _ = lapack.dtrtri(factor, lower=1, overwrite_c=1)
            del factor
            normalization = inverse.T
        else:
            landmark_coef = normalization @ coef
        if self.fit_intercept:
            mean_row = shift + cross_total[:, -1] / n_rows
            intercept = y_mean - mean_row @ landmark_coef
        else:
            intercept = np.zeros(coef.shape[1])
        self.normalization_ = np.ascontiguousarray(normalization, dtype=dtype)
        self.coef_ = np.ascontiguousarray(coef.T, dtype=dtype)
        self.landmark_coef_ = np.ascontiguousarray(landmark_coef, dtype=dtype)
        self.intercept_ = intercept.astype(dtype)


def _block_equations(X_block, Y_block, shared, batch_size: int):
    """``normal_equations`` of one block of rows, on the worker that holds it."""
    if not np.isfinite(X_block).all():
        raise ValueError("Input X contains NaN or infinity.")
    kernel_map, shift = shared
    batches = list(gen_batches(len(X_block), batch_size))
    return normal_equations(X_block, Y_block, kernel_map, shift, batches)
