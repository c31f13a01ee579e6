"""Input handling shared by the estimators: image shapes, pairs, and X in any accepted layout."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils.validation import validate_data

FLOAT_DTYPES = (np.float64, np.float32)


def as_pair(value, name: str, *, minimum: int = 1) -> tuple[int, int]:
    """An int or a pair of ints as a pair, each at least ``minimum``."""
    if isinstance(value, Integral) and not isinstance(value, bool):
        pair = (int(value), int(value))
    else:
        try:
            pair = tuple(value)
        except TypeError:
            pair = ()
        if len(pair) != 2 or not all(
            isinstance(v, Integral) and not isinstance(v, bool) for v in pair
        ):
            raise TypeError(
                f"{name} must be an int or a pair of ints (rows, cols); got {value!r}."
            )
        pair = (int(pair[0]), int(pair[1]))
    if min(pair) < minimum:
        raise ValueError(f"{name} must be at least {minimum} on each axis; got {value!r}.")
    return pair


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


def validate_images(estimator, X, *, reset: bool, image_shape=None):
    """Validate X in any accepted layout and return it as a ``(n, H, W, C)`` float stack.

    X is 2-D ``(n_samples, H*W*C)`` (read with ``image_shape``, or as ``1 x n_features``
    single-channel images without it) or an image stack ``(n, H, W)`` / ``(n, H, W, C)``.
    With ``reset=True`` the image shape is returned for the estimator to keep; otherwise X must
    match ``estimator.image_shape_``. ``n_features_in_`` is ``H*W*C`` in every layout.
    Returns the stack, its ``(H, W, C)`` and whether X was 2-D.
    """
    ndim = getattr(X, "ndim", None)
    if ndim is None and not hasattr(X, "iloc"):
        try:
            ndim = np.asarray(X).ndim
        except ValueError as exc:
            raise ValueError(
                f"X is ragged ({exc}); its rows or images differ in size. Pass a rectangular "
                "array: resize, crop or pad the images to one shape."
            ) from exc
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
        flat = _validate_flat(
            estimator, stack.reshape(stack.shape[0], int(np.prod(stack_shape))), reset=reset
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
        flat = _validate_flat(estimator, X, reset=reset)
        if reset:
            shape = resolve_image_shape(image_shape) or (1, flat.shape[1], 1)
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
    return flat.reshape(flat.shape[0], *shape), shape, ndim not in (3, 4)


def _validate_flat(estimator, X, *, reset: bool) -> np.ndarray:
    """scikit-learn's checks of a 2-D X, with the fix spelled out where its messages lack one."""
    kind = getattr(getattr(X, "dtype", None), "kind", None)
    if kind == "c":
        raise ValueError(
            "Complex data not supported: X holds complex numbers. Pass real images, e.g. "
            "np.abs(X) or X.real, or the real and imaginary parts as two channels."
        )
    try:
        flat = validate_data(
            estimator, X, reset=reset, dtype=FLOAT_DTYPES, ensure_all_finite=False
        )
    except ValueError as exc:
        if kind in ("O", "U", "S"):
            raise ValueError(
                f"X must hold numbers ({exc}); convert the images to a numeric array first, "
                "e.g. np.asarray(X, dtype=float)."
            ) from exc
        shape = getattr(X, "shape", (None, None))
        if shape[0] == 0:
            raise ValueError(f"X holds no images ({exc}); pass at least one image.") from exc
        if shape[1] == 0:
            raise ValueError(
                f"X holds no pixels ({exc}); pass images of at least one pixel."
            ) from exc
        raise
    # A finite sum proves every value finite in one pass without a temporary array; only an
    # infinite or NaN sum (which float32 overflow can also cause) needs the full check.
    if not np.isfinite(flat.sum()) and not np.isfinite(flat).all():
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
    return flat


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
