"""Input handling shared by the estimators: image shapes, and X in any accepted layout."""

from __future__ import annotations

import sys
import warnings
from math import isqrt
from numbers import Integral
from typing import NamedTuple

import numpy as np
from sklearn.utils.validation import validate_data


def resolve_image_shape(image_shape) -> tuple[int, int, int] | None:
    """``(H, W)`` or ``(H, W, C)`` as ``(H, W, C)``; ``None`` stays ``None``."""
    if image_shape is None:
        return None
    try:
        shape = tuple(image_shape)
    except TypeError:
        shape = ()
    if len(shape) not in (2, 3) or not all(
        isinstance(v, Integral) and not isinstance(v, bool) and v >= 1 for v in shape
    ):
        raise ValueError(
            "image_shape must be (height, width) or (height, width, channels) with positive "
            f"ints; got {image_shape!r}."
        )
    return tuple(int(v) for v in shape) + ((1,) if len(shape) == 2 else ())


def is_dask_array(X) -> bool:
    """Whether X is a ``dask.array.Array``; never imports dask.

    dask is an optional extra: an estimator imports it only when it is given a dask array,
    and then it is already imported. If ``dask.array`` has not been imported, X cannot be one
    of its arrays.
    """
    dask_array = sys.modules.get("dask.array")
    return dask_array is not None and isinstance(X, dask_array.Array)


class Images(NamedTuple):
    """X validated: the ``(n, H, W, C)`` stack, its ``(H, W, C)``, whether its images are one
    row each, and the largest pixel magnitude (which bounds what a convolution or an average
    can reach).

    ``one_row`` is the one-row rule, decided here (in ``fit``, ``reset=True``; it is
    ``False`` otherwise) and nowhere else: a 2-D X given without ``image_shape`` is read as
    ``1 x n_features`` images, whose pooling windows are clipped to the row.

    ``dtype`` is the float dtype the images are computed in (:func:`float_dtype`); ``stack``
    has it, unless the images were validated with ``cast=False``: then integer and bool
    images keep their own dtype, for the caller to cast one batch at a time.
    """

    stack: np.ndarray
    shape: tuple
    one_row: bool
    peak: float
    dtype: np.dtype


def validate_images(estimator, X, *, reset: bool, image_shape=None, cast: bool = True) -> Images:
    """Validate X in any accepted layout and return it as a ``(n, H, W, C)`` float stack.

    X is 2-D ``(n_samples, H*W*C)`` (read with ``image_shape``, or as ``1 x n_features``
    single-channel images without it) or an image stack ``(n, H, W)`` / ``(n, H, W, C)``.
    With ``reset=True`` the image shape is returned for the estimator to keep; otherwise X must
    match ``estimator.image_shape_``. ``n_features_in_`` is ``H*W*C`` in every layout.
    The stack's dtype follows :func:`float_dtype`; with ``cast=False`` an integer or bool
    ndarray keeps its own (a uint8 stack is not copied whole to float32 before the first batch).
    """
    ndim = getattr(X, "ndim", None)
    if ndim is None and not hasattr(X, "iloc"):
        try:
            X = np.asarray(X)
        except ValueError as exc:
            raise ValueError(
                f"X is ragged ({exc}); its rows or images differ in size. Pass a rectangular "
                "array: resize, crop or pad the images to one shape."
            ) from exc
        ndim = X.ndim
    if ndim in (3, 4) and not hasattr(X, "iloc"):
        stack = np.asarray(X)
        stack_shape = stack.shape[1:] + ((1,) if stack.ndim == 3 else ())
        if image_shape is not None and resolve_image_shape(image_shape) != stack_shape:
            raise ValueError(
                f"X is a stack of {stack_shape} images but image_shape is "
                f"{resolve_image_shape(image_shape)}; leave image_shape=None for image stacks "
                "or make it match."
            )
        if 0 in stack_shape:
            raise ValueError(
                f"X is a stack of {stack_shape} images, which hold no pixels; images need at "
                "least one row, one column and one channel."
            )
        if not reset:
            _check_fitted_shape(estimator, stack_shape)
        flat, peak = _validate_flat(
            estimator,
            stack.reshape(stack.shape[0], int(np.prod(stack_shape))),
            reset=reset,
            cast=cast,
        )
        shape = stack_shape
    elif ndim is not None and (ndim < 2 or ndim > 4):
        single = ", e.g. X.reshape(1, -1) for one flat image" if ndim == 1 else ""
        raise ValueError(
            f"X has {ndim} dimensions, but a 2D array (n_samples, n_features) with image_shape "
            "or an image stack (n, height, width) or (n, height, width, channels) is needed. "
            f"Reshape your data{single}."
        )
    else:
        flat, peak = _validate_flat(estimator, X, reset=reset, cast=cast)
        if reset:
            shape = resolve_image_shape(image_shape) or (1, flat.shape[1], 1)
            if image_shape is None:
                _warn_if_square(estimator, flat.shape[1])
        else:
            shape = estimator.image_shape_
        if np.prod(shape) != flat.shape[1]:
            # In transform the shape is the fitted one; image_shape may be None there.
            shown = tuple(image_shape) if reset else shape
            raise ValueError(
                f"X has {flat.shape[1]} features but image_shape {shown} needs "
                f"{int(np.prod(shape))}; set image_shape to the (height, width[, channels]) of "
                "your images."
            )
    one_row = reset and ndim not in (3, 4) and image_shape is None
    dtype = float_dtype(flat)
    return Images(flat.reshape(flat.shape[0], *shape), shape, one_row, peak, dtype)


def _warn_if_square(estimator, n_features: int) -> None:
    """Rows of a perfect-square width are most likely flattened square images."""
    side = isqrt(n_features)
    if n_features >= 16 and side * side == n_features:
        warnings.warn(
            f"{type(estimator).__name__} got a 2-D X of {n_features} features and no "
            f"image_shape, so each row is read as one 1x{n_features} image (a 1-D "
            f"convolution). If the rows are {side}x{side} images, set image_shape=({side}, "
            f"{side}); image_shape=(1, {n_features}) keeps the one-row reading without this "
            "warning.",
            UserWarning,
            stacklevel=4,
        )


def float_dtype(X) -> np.dtype:
    """The float dtype skconv computes X in, or a TypeError for X that does not hold numbers.

    float32 and float64 stay as they are (in native byte order). Types that float32 holds
    exactly (bool, 8- and 16-bit integers, float16) become float32, so uint8 images give
    float32 features at half the memory of float64; wider integers become float64.
    """
    dtypes = getattr(X, "dtypes", None)  # a DataFrame: the type all its columns share
    if dtypes is not None:
        try:
            dtype = np.result_type(*[np.dtype(d) for d in dtypes])
        except TypeError:  # pandas extension dtypes: scikit-learn converts them
            return np.dtype(np.float64)
    else:
        dtype = getattr(X, "dtype", np.dtype(np.float64))
        dtype = np.dtype(dtype) if not isinstance(dtype, np.dtype) else dtype
    kind = dtype.kind
    if kind == "f" and dtype.itemsize in (4, 8):
        return dtype.newbyteorder("=")
    if kind in "biuf" and dtype.itemsize <= 2:
        return np.dtype(np.float32)
    if kind in "iu":
        return np.dtype(np.float64)
    if kind == "O" and dtypes is None and not any(isinstance(v, (str, bytes)) for v in X.flat):
        return np.dtype(np.float64)  # numbers held as Python objects, scikit-learn's convention
    raise_unless_real_numbers(dtype)
    raise AssertionError(f"unhandled dtype {dtype}")  # every kind is covered above


def raise_unless_real_numbers(dtype, name: str = "X") -> None:
    """The dtype rule of every skconv estimator: real numbers pass, anything else raises.

    Complex numbers are a ``ValueError`` (as scikit-learn says it); dates, durations,
    strings, bytes, structured records and objects a ``TypeError`` naming the dtype, so that
    nothing is cast silently.
    """
    dtype = np.dtype(dtype)
    kind = dtype.kind
    if kind in "biu" or (kind == "f" and dtype.itemsize <= 8):
        return
    if kind == "c":
        raise ValueError(
            "Complex data not supported: X holds complex numbers. Pass real images, e.g. "
            "np.abs(X) or X.real, or the real and imaginary parts as two channels."
        )
    described = {
        "M": "dates (datetime64)",
        "m": "durations (timedelta64)",
        "V": "structured records",
        "U": "strings",
        "S": "bytes",
        "O": "strings",
        "f": f"{dtype} floats, which float64 cannot hold exactly",
    }.get(kind, str(dtype))
    raise TypeError(
        f"{name} must hold real numbers, but it holds {described} (dtype {dtype}); skconv "
        f"does not cast them silently. Convert {name} to a numeric array first, e.g. "
        f"{name}.astype(np.float32), after checking that the conversion means what you want."
    )


def _validate_flat(estimator, X, *, reset: bool, cast: bool) -> tuple[np.ndarray, float]:
    """scikit-learn's checks of a 2-D X, with the fix spelled out where its messages lack one.

    Also returns the largest pixel magnitude, found by the same two passes (max and min) that
    prove every pixel finite. ``cast=False`` keeps the dtype of an integer or bool ndarray.
    """
    dtype = float_dtype(X)
    if not cast and isinstance(X, np.ndarray) and X.dtype.kind in "biu":
        dtype = X.dtype.newbyteorder("=")
    try:
        flat = validate_data(estimator, X, reset=reset, dtype=dtype, ensure_all_finite=False)
    except ValueError as exc:
        shape = getattr(X, "shape", (None, None))
        if shape[0] == 0:
            raise ValueError(f"X holds no images ({exc}); pass at least one image.") from exc
        if shape[1] == 0:
            raise ValueError(
                f"X holds no pixels ({exc}); pass images of at least one pixel."
            ) from exc
        raise
    # max and min propagate NaN and show infinities, so two passes without a temporary array
    # prove every value finite; only when they fail is the full count needed.
    high, low = flat.max(), flat.min()
    if not (np.isfinite(high) and np.isfinite(low)):
        n_nan = int(np.isnan(flat).sum())
        if n_nan:
            raise ValueError(
                f"X contains NaN ({n_nan} values); skconv cannot convolve or pool missing "
                "pixels. Fill them first, e.g. with sklearn.impute.SimpleImputer before the "
                "skconv step, or np.nan_to_num(X)."
            )
        n_inf = int(np.isinf(flat).sum())
        raise ValueError(
            f"X contains infinity ({n_inf} values); skconv cannot convolve or pool infinite "
            "pixels. Replace or clip them first, e.g. np.nan_to_num(X, posinf=high, "
            "neginf=low) or np.clip(X, low, high)."
        )
    return flat, max(float(high), -float(low))


def clip_to_one_row(window, stride, n_cols: int, *, stride_given: bool):
    """Clip a pooling window (or grid) and stride to one-row maps of ``n_cols`` columns.

    2-D X without ``image_shape`` is read as one-row images; their maps are pooled along the
    row, with the window no larger than the row. A stride the user did not give follows the
    clipped window.
    """
    window = (1, min(window[1], n_cols))
    if stride is None:
        return window, None
    return window, (1, stride[1] if stride_given else min(stride[1], window[1]))


def _check_fitted_shape(estimator, stack_shape) -> None:
    fitted = estimator.image_shape_
    if stack_shape[2] != fitted[2]:
        raise ValueError(
            f"X has {stack_shape[2]} channels, but {type(estimator).__name__} was fitted on "
            f"{fitted[2]}; transform images with the channel count seen in fit."
        )
    if stack_shape != fitted:
        raise ValueError(
            f"X holds {stack_shape[0]}x{stack_shape[1]} images, but "
            f"{type(estimator).__name__} was fitted on {fitted[0]}x{fitted[1]}; resize them or "
            "refit."
        )


def grid_names(prefix: str, shape) -> np.ndarray:
    """``{prefix}_r{row}_c{col}_m{map}`` for every cell of ``(rows, cols, n_maps)``, C-order."""
    rows, cols, n_maps = shape
    return np.asarray(
        [
            f"{prefix}_r{row}_c{col}_m{k}"
            for row in range(rows)
            for col in range(cols)
            for k in range(n_maps)
        ],
        dtype=object,
    )
