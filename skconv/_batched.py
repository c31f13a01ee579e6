"""BatchedTransformer: any transformer, applied a batch of rows at a time into one output."""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
from scipy import sparse
from sklearn.base import TransformerMixin, _fit_context, clone
from sklearn.utils import check_random_state, gen_batches, get_tags
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from ._base import SkconvEstimator, unfitted_on_error
from ._progress import Progress
from ._rows import check_label_count, take_fit_rows
from ._shapes import is_dask_array, raise_unless_real_numbers

# Fitting on every row of a dask array gathers them in the client's memory; above this many
# bytes the gathering is announced, with the way to fit on a sample instead.
DASK_GATHER_WARNING_BYTES = 2**30


class BatchedTransformer(TransformerMixin, SkconvEstimator):
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

    X may also be a :mod:`dask.array` chunked by rows: :meth:`transform` then returns a lazy
    dask array computed block by block where the blocks live (see Notes).

    Parameters
    ----------
    transformer : estimator object
        A transformer with ``fit``, ``transform`` and ``get_params`` (any scikit-learn
        transformer, or a duck-typed one) whose output is a dense array with one row per
        input row, computed for each row on its own (row-wise): the batched output is then
        the unbatched one. It is cloned in :meth:`fit`, never modified.
    batch_size : int, default=1024
        Rows transformed together. It takes effect without a refit.
    max_fit_samples : int, default=None
        Fit the transformer on at most this many rows, drawn without replacement (and kept in
        their order); ``None`` fits it on all rows. ``y`` and the per-row ``fit_params`` are
        subset with the rows.
    random_state : int, RandomState instance or None, default=None
        Draws the rows of ``max_fit_samples``. Not used when all rows are fitted on.
    verbose : int, default=0
        Progress of :meth:`transform` on stdout: batches done, rows per second and time
        left (about ten lines; every batch with ``verbose >= 2``). It takes effect without a
        refit.

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
    **Rows.** Rows are sliced along the first axis, so image stacks ``(n, H, W[, C])`` pass
    through unchanged: X is checked for its number of rows, its dtype and its values per row;
    the wrapped transformer checks the rest. The output is the same, bit for bit, for every
    batch size only if the transformer's arithmetic does not depend on how many rows it sees
    (skconv's own steps, element-wise scalers); matrix products through BLAS (PCA, Nystroem)
    can differ in the last bits between batch sizes on some machines.

    **Dtypes.** X must hold real numbers (any integer, bool or float dtype, passed on
    unchanged; object arrays of numbers become float64, as in scikit-learn): dates,
    durations, strings, bytes and structured records are a ``TypeError``, complex numbers a
    ``ValueError``. The output is allocated in the dtype of
    the first batch's result; a later batch of another dtype is written into it only if the
    cast is exact (``np.can_cast(..., "safe")``, and integers no larger than the float's
    exact range), otherwise :meth:`transform` raises a ``TypeError`` rather than round or
    overflow (float64 1e300 would become inf in float32).

    **Per-row fit parameters.** With ``max_fit_samples``, ``y`` and every value of
    ``fit_params`` whose first dimension is the number of rows of X (``sample_weight``, a
    second array of rows) are subset with the rows, as scikit-learn's cross-validation does;
    scalars, strings, dicts and arrays of any other length are passed on as they are.

    **Refit.** :meth:`transform` raises a ``ValueError`` saying to refit when a parameter
    that changes the fitted transformer was set after :meth:`fit` (``max_fit_samples``,
    ``random_state``, ``transformer__n_components``, ...); ``batch_size``, ``verbose`` and
    the wrapped steps' ``n_jobs``, ``verbose`` and ``batch_size`` take effect at once.

    **dask.** :meth:`transform` of a dask array ``(n, ...)`` returns a lazy dask array with
    the same row chunks, each block transformed on the worker that holds it, ``batch_size``
    rows at a time; the fitted transformer is one task of the graph, sent once to each worker
    that needs it. Blocks split along other axes are first rechunked to whole rows. The
    output's dtype and row shape are those of the transform of one row of zeros, made when
    the graph is built; a block whose result differs is refused as a later batch is. Since a
    block is transformed as the same rows in memory would be, the result equals the numpy
    transform bit for bit whenever the output does not depend on the batch size (skconv's
    own steps); BLAS steps agree to float rounding. :meth:`fit` of a dask array with
    ``max_fit_samples`` draws the same rows as for the same data in memory, whatever the
    chunking, computes only them (and ``y`` and the per-row ``fit_params`` at them, which may
    be dask arrays too) and fits in memory: the fitted transformer is the in-memory one, bit
    for bit. Without ``max_fit_samples`` every row is gathered in memory, with a warning
    above 1 GiB. The row count must be known (``X.compute_chunk_sizes()``) for :meth:`fit`,
    not for :meth:`transform`. ``set_output(transform="pandas")`` is refused for dask arrays
    (the DataFrame would compute every block at once). dask is imported only when a dask array
    is given.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.kernel_approximation import Nystroem
    >>> from skconv import BatchedTransformer
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
        # get_params: the transformer is cloned, and its parameters are part of the refit guard.
        "transformer": [HasMethods(["fit", "transform", "get_params"])],
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
        X : array-like or dask array of shape (n_samples, ...)
            Numeric training rows: a 2-D array, or any stack the transformer reads (such as
            images ``(n, H, W)``).
        y : array-like of shape (n_samples,), default=None
            Passed on to the transformer's ``fit``, subset like X.
        **fit_params : dict
            Passed on to the transformer's ``fit``; those with one entry per row of X are
            subset like X (see Notes).

        Returns
        -------
        self : object
            Fitted transformer.
        """
        if is_dask_array(X):
            X, y, fit_params = self._gather_fit_rows(X, y, fit_params)
            X = self._check_rows(X, reset=True)
        else:
            X = self._check_rows(X, reset=True)
            check_label_count(y, len(X))
            rows = self._draw_fit_rows(len(X))
            if rows is not None:
                X, y, fit_params = take_fit_rows(X, y, fit_params, rows)
        self.transformer_ = clone(self.transformer).fit(X, y, **fit_params)
        self._remember_fit_parameters()
        return self

    def transform(self, X):
        """Transform X ``batch_size`` rows at a time into one array.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, ...)
            Rows as in :meth:`fit`.

        Returns
        -------
        X_out : ndarray or dask array of shape (n_samples, ...)
            What ``transformer_.transform(X)`` returns, in its dtype; a lazy dask array, with
            X's row chunks, when X is a dask array.
        """
        check_is_fitted(self)
        self._check_fit_parameters()
        if is_dask_array(X):
            return self._transform_dask(X)
        X = self._check_rows(X, reset=False)
        n_batches = -(-len(X) // self.batch_size)
        progress = Progress(type(self).__name__, len(X), n_batches, self.verbose, unit="rows")
        return _transform_in_batches(self.transformer_, X, self.batch_size, progress=progress)

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
        self._check_fit_parameters()
        input_features = _check_feature_names_in(self, input_features)
        return self.transformer_.get_feature_names_out(input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # A duck-typed transformer has no tags: it gets scikit-learn's defaults.
        if hasattr(self.transformer, "__sklearn_tags__"):
            inner = get_tags(self.transformer)
            tags.input_tags.allow_nan = inner.input_tags.allow_nan
            tags.transformer_tags.preserves_dtype = inner.transformer_tags.preserves_dtype
        return tags

    def _draw_fit_rows(self, n_samples: int) -> np.ndarray | None:
        """The sorted rows to fit on, or None for all of them; the same for numpy and dask."""
        if self.max_fit_samples is None or self.max_fit_samples >= n_samples:
            return None
        rng = check_random_state(self.random_state)
        return np.sort(rng.choice(n_samples, self.max_fit_samples, replace=False))

    def _check_rows(self, X, *, reset):
        """Check X for numeric rows to slice, its feature count and names; the values are
        the wrapped transformer's to check, batch by batch."""
        X = _as_numbers(X)
        shape = getattr(X, "shape", None)
        if shape is not None:
            _check_dimensions(len(shape))
        try:
            X = validate_data(
                self,
                X,
                reset=reset,
                # Numbers pass unchanged (uint8 images stay uint8); object arrays of numbers
                # are converted as scikit-learn converts them.
                dtype="numeric",
                ensure_2d=False,
                allow_nd=True,
                ensure_all_finite=False,
            )
        except ValueError as exc:
            if shape is not None and 0 in shape:
                _raise_empty(shape, exc)
            raise
        _check_dimensions(X.ndim)
        self._check_features(X.shape, reset=reset)
        return X

    def _check_features(self, shape, *, reset):
        # Counted as ConvPool counts them, so that image stacks and their flat rows agree.
        n_features = int(np.prod(shape[1:]))
        if reset:
            self.n_features_in_ = n_features
        elif n_features != self.n_features_in_:
            hint = ""
            if int(np.prod(shape)) == self.n_features_in_:
                hint = (
                    f" X of shape {tuple(shape)} looks like one sample: to transform one image "
                    "or one row, pass X[np.newaxis] (or X.reshape(1, -1)), a batch of one."
                )
            raise ValueError(
                f"X has {n_features} features, but BatchedTransformer is expecting "
                f"{self.n_features_in_} features as input.{hint}"
            )

    def _check_dask_rows(self, X, *, reset):
        raise_unless_real_numbers(X.dtype)
        _check_dimensions(X.ndim)
        if 0 in X.shape:
            _raise_empty(X.shape, "a dask array")
        if reset and np.isnan(X.shape[0]):
            raise ValueError(
                "X is a dask array whose row count is unknown (its row chunks are nan); call "
                "X.compute_chunk_sizes() first, or build it with known chunk sizes."
            )
        if not reset:
            self._check_features(X.shape, reset=False)

    def _gather_fit_rows(self, X, y, fit_params):
        """The rows of a dask X to fit on, with their labels and per-row fit parameters, as
        numpy: only these rows are computed and sent to the client."""
        import dask

        self._check_dask_rows(X, reset=True)
        n_samples = int(X.shape[0])
        check_label_count(y, n_samples)
        rows = self._draw_fit_rows(n_samples)
        if rows is None:
            if X.nbytes > DASK_GATHER_WARNING_BYTES:
                warnings.warn(
                    f"BatchedTransformer.fit gathers all {n_samples} rows of the dask array X "
                    f"({X.nbytes / 2**30:.1f} GiB) into memory to fit the transformer on them; "
                    "set max_fit_samples to fit on a sample of rows instead.",
                    UserWarning,
                    stacklevel=3,
                )
        else:
            X, y, fit_params = take_fit_rows(X, y, fit_params, rows)
        # One computation, so that rows shared by X, y and the parameters are read once.
        return dask.compute(X, y, fit_params)

    def _transform_dask(self, X):
        import dask
        import dask.array as da

        self._check_dask_rows(X, reset=False)
        container = _get_output_config("transform", self)["dense"]
        if container != "default":
            # The DataFrame would be made by computing every block here, not lazily.
            raise ValueError(
                f"BatchedTransformer.transform of a dask array returns a lazy dask array, but "
                f"set_output(transform={container!r}) asks for a {container} DataFrame. Call "
                "set_output(transform='default') for the dask array, or compute X first."
            )
        if any(len(chunks) > 1 for chunks in X.chunks[1:]):
            X = X.rechunk({axis: -1 for axis in range(1, X.ndim)})
        # The output's dtype and row shape, from one row of zeros: only their type matters,
        # so whatever the transformer warns about zeros is not the user's concern.
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            probe = _transformed(self.transformer_, np.zeros((1, *X.shape[1:]), X.dtype), 0, 1)
        row_shape = probe.shape[1:]
        # A task of its own, sent to each worker once, rather than pickled into every block.
        transformer = dask.delayed(self.transformer_, pure=False)
        return da.map_blocks(
            _transform_block,
            X,
            transformer,
            self.batch_size,
            probe.dtype,
            row_shape,
            dtype=probe.dtype,
            chunks=(X.chunks[0], *((size,) for size in row_shape)),
            drop_axis=list(range(1, X.ndim)),
            new_axis=list(range(1, 1 + len(row_shape))),
            meta=np.empty((0,) * (1 + len(row_shape)), dtype=probe.dtype),
        )


def _transform_block(block, transformer, batch_size, dtype, row_shape):
    """One dask block, transformed as the same rows in memory would be."""
    return _transform_in_batches(transformer, block, batch_size, like=(dtype, row_shape))


def _transform_in_batches(transformer, X, batch_size, *, progress=None, like=None):
    """``transformer.transform(X)`` a batch at a time into one array.

    The output takes the first batch's dtype and row shape, or ``like = (dtype, row_shape)``;
    every batch must fit it exactly.
    """
    out, first = None, "the first rows"
    if like is not None:
        out, first = np.empty((len(X), *like[1]), dtype=like[0]), "a row of zeros"
    for number, rows in enumerate(gen_batches(len(X), batch_size), 1):
        batch = _transformed(transformer, X[rows], rows.start, rows.stop)
        if out is None:
            out = np.empty((len(X), *batch.shape[1:]), dtype=batch.dtype)
        _check_batch_fits(batch, out, rows, type(transformer).__name__, first)
        out[rows] = batch
        del batch  # so that the next batch's result does not coexist with this one
        if progress is not None:
            progress.batch_done(number, rows.stop)
    return out


def _transformed(transformer, rows, start, stop):
    batch = transformer.transform(rows)
    name = type(transformer).__name__
    if sparse.issparse(batch) or not hasattr(batch, "shape"):
        raise TypeError(
            f"BatchedTransformer needs a transformer that returns dense arrays; "
            f"{name}.transform returned {type(batch).__name__}. Wrap a dense transformer, or "
            "transform directly."
        )
    batch = np.asarray(batch)
    if batch.ndim == 0 or len(batch) != stop - start:
        raise ValueError(
            f"BatchedTransformer needs a row-wise transformer: {name}.transform returned "
            f"{len(batch) if batch.ndim else 0} rows for {stop - start}."
        )
    return batch


def _check_batch_fits(batch, out, rows, name, first):
    """Refuse a batch whose row shape differs from the output's, or whose values the output's
    dtype cannot hold exactly."""
    where = f"rows {rows.start}:{rows.stop}"
    if batch.shape[1:] != out.shape[1:]:
        raise ValueError(
            f"BatchedTransformer needs a row-wise transformer: {name}.transform returned rows "
            f"of shape {batch.shape[1:]} for {where} but {out.shape[1:]} for {first}."
        )
    if batch.dtype != out.dtype and not _casts_exactly(batch, out.dtype):
        raise TypeError(
            f"{name}.transform returned {batch.dtype} for {where} but {out.dtype} for {first}, "
            f"and {batch.dtype} does not fit in {out.dtype} without loss (1e300 would become "
            "inf in float32); BatchedTransformer does not cast silently. Make the transformer "
            "return one dtype whatever its rows (e.g. end it with a step that casts), or set "
            "batch_size to at least n_samples to transform all rows at once."
        )


def _casts_exactly(batch, dtype) -> bool:
    if not np.can_cast(batch.dtype, dtype, "safe"):
        return False
    if batch.dtype.kind in "iu" and dtype.kind == "f" and batch.size:
        # numpy calls int64 -> float64 safe, but only integers up to 2**53 are exact.
        limit = 2 ** (np.finfo(dtype).nmant + 1)
        return -limit <= int(batch.min()) and int(batch.max()) <= limit
    return True


def _as_numbers(X):
    """X, as an array if it was a list, after the dtype rule: real numbers only."""
    dtypes = getattr(X, "dtypes", None)  # a DataFrame: each column's dtype
    if dtypes is not None:
        for dtype in np.atleast_1d(np.asarray(dtypes, dtype=object)):
            # pandas extension dtypes (nullable integers, ...) are scikit-learn's to convert.
            if isinstance(dtype, np.dtype):
                raise_unless_real_numbers(dtype)
        return X
    if sparse.issparse(X):
        return X  # refused by validate_data, with its message
    if not hasattr(X, "dtype"):
        try:
            X = np.asarray(X)
        except ValueError as exc:
            raise ValueError(
                f"X is ragged ({exc}); its rows differ in length. Pass a rectangular array."
            ) from exc
    dtype = np.dtype(X.dtype)
    if dtype.kind == "O" and not any(isinstance(value, (str, bytes)) for value in X.flat):
        return X  # numbers held as Python objects, converted as scikit-learn converts them
    raise_unless_real_numbers(dtype)
    return X


def _check_dimensions(ndim: int) -> None:
    if ndim < 2:
        raise ValueError(
            f"Expected a 2D array or a stack of images, got {ndim}D array instead. Reshape "
            "your data with X.reshape(-1, 1) if it has one feature, or X.reshape(1, -1) if it "
            "is one sample."
        )


def _raise_empty(shape, reason) -> None:
    if shape[0] == 0:
        raise ValueError(f"X holds no rows ({reason}); pass at least one row.") from None
    raise ValueError(
        f"X holds no values per row ({reason}); pass rows of at least one value."
    ) from None
