"""BatchedTransformer: any transformer, applied a batch of rows at a time into one output."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from ._base import unfitted_on_error
from ._progress import Progress


class BatchedTransformer(TransformerMixin, BaseEstimator):
    """Fit a transformer, then transform a batch of rows at a time into one preallocated output.

    Many transformers allocate temporaries proportional to the rows they are given:
    :class:`~sklearn.kernel_approximation.Nystroem` builds the whole ``(n_samples,
    n_components)`` kernel matrix before multiplying it by its normalisation, so transforming
    60,000 rows into 6,000 components holds two 1.4 GB float32 arrays at once. Wrapped here,
    the same transform runs on ``batch_size`` rows at a time and writes each result into an
    output allocated once, in the dtype the transformer returns (float32 stays float32), so
    the extra memory is that of one batch.

    ``max_fit_samples`` also bounds :meth:`fit`: the transformer is fitted on a random subset
    of the rows, enough for transformers that only learn from a sample anyway (PCA's
    directions, Nystroem's landmarks, a k-means filter bank's patches), while every row is
    still transformed. Wrap a :class:`~sklearn.pipeline.Pipeline` to stream several steps so
    that their intermediate results never exist for all rows at once.

    Parameters
    ----------
    transformer : estimator object
        A transformer with ``fit`` and ``transform`` whose output is a dense array with one
        row per input row, computed for each row on its own (row-wise): the batched output is
        then the unbatched one. It is cloned in :meth:`fit`, never modified.
    batch_size : int, default=1024
        Rows transformed together.
    max_fit_samples : int, default=None
        Fit the transformer on at most this many rows, drawn without replacement (and kept in
        their order); ``None`` fits it on all rows.
    random_state : int, RandomState instance or None, default=None
        Draws the rows of ``max_fit_samples``. Not used when all rows are fitted on.
    verbose : int, default=0
        Progress of :meth:`transform` on stdout: batches done, rows per second and time
        left (about ten lines; every batch with ``verbose >= 2``).

    Attributes
    ----------
    transformer_ : estimator object
        The fitted clone of ``transformer``.
    n_features_in_ : int
        Values per row in :meth:`fit`: ``X.shape[1]``, or ``H * W * C`` for image stacks.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when X was a DataFrame with string column names.

    See Also
    --------
    ConvPool : Streams a convolution and its pooling the same way.
    sklearn.pipeline.Pipeline : Runs steps one after the other on all rows.

    Notes
    -----
    Rows are sliced along the first axis, so image stacks ``(n, H, W[, C])`` pass through
    unchanged: X is checked for its number of rows, the wrapped transformer checks the rest.
    The output is the same, bit for bit, for every batch size only if the transformer's
    arithmetic does not depend on how many rows it sees; matrix products through BLAS can
    differ in the last bits between batch sizes on some machines.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.kernel_approximation import Nystroem
    >>> from skconv._batched import BatchedTransformer
    >>> X = np.random.RandomState(0).rand(1000, 20).astype(np.float32)
    >>> kernel = BatchedTransformer(Nystroem(n_components=50, random_state=0), batch_size=128)
    >>> Z = kernel.fit_transform(X)
    >>> Z.shape, Z.dtype
    ((1000, 50), dtype('float32'))
    >>> unbatched = Nystroem(n_components=50, random_state=0).fit(X).transform(X)
    >>> bool(np.abs(Z - unbatched).max() < 1e-5)  # the same up to float32 rounding
    True
    """

    _parameter_constraints: dict = {
        "transformer": [HasMethods(["fit", "transform"])],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_fit_samples": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        transformer,
        *,
        batch_size=1024,
        max_fit_samples=None,
        random_state=None,
        verbose=0,
    ):
        self.transformer = transformer
        self.batch_size = batch_size
        self.max_fit_samples = max_fit_samples
        self.random_state = random_state
        self.verbose = verbose

    @unfitted_on_error
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, **fit_params):
        """Fit the transformer on X, or on ``max_fit_samples`` of its rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Numeric training rows: a 2-D array, or any stack the transformer reads (such as
            images ``(n, H, W)``).
        y : array-like of shape (n_samples,), default=None
            Passed on to the transformer's ``fit``, subset like X.
        **fit_params : dict
            Passed on to the transformer's ``fit``.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        X = self._check_rows(X, reset=True)
        if self.max_fit_samples is not None and self.max_fit_samples < len(X):
            rng = check_random_state(self.random_state)
            rows = np.sort(rng.choice(len(X), self.max_fit_samples, replace=False))
            X = X[rows]
            if y is not None:
                y = np.asarray(y)[rows]
        self.transformer_ = clone(self.transformer).fit(X, y, **fit_params)
        return self

    def transform(self, X):
        """Transform X ``batch_size`` rows at a time into one array.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Rows as in :meth:`fit`.

        Returns
        -------
        X_out : ndarray of shape (n_samples, ...)
            What ``transformer_.transform(X)`` returns, in its dtype.
        """
        check_is_fitted(self)
        X = self._check_rows(X, reset=False)
        n_rows = len(X)
        out = None
        starts = range(0, n_rows, self.batch_size)
        progress = Progress(type(self).__name__, n_rows, len(starts), self.verbose, unit="rows")
        for batch_number, start in enumerate(starts, 1):
            stop = min(start + self.batch_size, n_rows)
            batch = self.transformer_.transform(X[start:stop])
            if sparse.issparse(batch) or not hasattr(batch, "shape"):
                raise TypeError(
                    f"BatchedTransformer needs a transformer that returns dense arrays; "
                    f"{type(self.transformer_).__name__}.transform returned "
                    f"{type(batch).__name__}. Wrap a dense transformer, or transform directly."
                )
            batch = np.asarray(batch)
            if len(batch) != stop - start:
                raise ValueError(
                    f"BatchedTransformer needs a row-wise transformer: "
                    f"{type(self.transformer_).__name__}.transform returned {len(batch)} rows "
                    f"for {stop - start}."
                )
            if out is None:
                out = np.empty((n_rows, *batch.shape[1:]), dtype=batch.dtype)
            out[start:stop] = batch
            progress.batch_done(batch_number, stop)
        return out

    @available_if(lambda self: hasattr(self.transformer, "get_feature_names_out"))
    def get_feature_names_out(self, input_features=None):
        """Names of the output columns, as the fitted transformer gives them.

        Only available when the transformer has ``get_feature_names_out``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input column names; checked against those seen in :meth:`fit`.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The transformer's names for its output columns.
        """
        check_is_fitted(self)
        input_features = _check_feature_names_in(self, input_features)
        return self.transformer_.get_feature_names_out(input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.transformer)
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.transformer_tags.preserves_dtype = inner.transformer_tags.preserves_dtype
        return tags

    def _check_rows(self, X, *, reset):
        """Check X for numeric rows to slice, its feature count and names; the values are
        the wrapped transformer's to check, batch by batch."""
        X = validate_data(
            self,
            X,
            reset=reset,
            # Numeric dtypes pass unchanged (uint8 images stay uint8); object arrays are
            # converted as every sklearn estimator converts them, raising if not numeric.
            dtype="numeric",
            ensure_2d=False,
            allow_nd=True,
            ensure_all_finite=False,
        )
        if X.ndim < 2:
            raise ValueError(
                f"Expected a 2D array or a stack of images, got {X.ndim}D array instead. "
                "Reshape your data with X.reshape(-1, 1) if it has one feature, or "
                "X.reshape(1, -1) if it is one sample."
            )
        # Counted as ConvPool counts them, so that image stacks and their flat rows agree.
        n_features = int(np.prod(X.shape[1:]))
        if reset:
            self.n_features_in_ = n_features
        elif n_features != self.n_features_in_:
            raise ValueError(
                f"X has {n_features} features, but BatchedTransformer is expecting "
                f"{self.n_features_in_} features as input."
            )
        return X
