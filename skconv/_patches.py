"""Patch sampling and per-patch normalisation for the filter learners (numpy only).

Patches are windows that lie fully inside an image (no padding), stored channels-last as
``(n_patches, kh, kw, C)``, like the image stacks they come from.
"""

from __future__ import annotations

import numbers

import numpy as np


def _check_patch_shape(patch_shape) -> tuple[int, int]:
    message = f"patch_shape must be a pair of positive ints (kh, kw); got {patch_shape!r}."
    try:
        kh, kw = patch_shape
    except (TypeError, ValueError):
        raise ValueError(message) from None
    for size in (kh, kw):
        if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 1:
            raise ValueError(message)
    return int(kh), int(kw)


def _draw_integers(rng, high: int, size: int) -> np.ndarray:
    """Draw ``size`` uniform integers in ``[0, high)`` from a RandomState or a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng.integers(0, high, size=size, dtype=np.int64)
    return rng.randint(0, high, size=size, dtype=np.int64)


def _sample_without_replacement(n_positions: int, n_samples: int, rng) -> np.ndarray:
    """Sorted uniform random subset of ``range(n_positions)`` of size ``n_samples``.

    Memory stays proportional to ``n_samples``, however many positions there are.
    """
    if n_positions <= 4 * n_samples:
        # The permutation is at most four times the output's index count.
        return np.sort(rng.permutation(n_positions)[:n_samples])
    # Keep the distinct values of an i.i.d. uniform stream until there are n_samples of
    # them: by symmetry every subset of that size is equally likely. Each round draws only
    # the shortfall, so the set never overshoots; with n_positions > 4 * n_samples a
    # round finds few duplicates.
    chosen = np.unique(_draw_integers(rng, n_positions, n_samples))
    while chosen.size < n_samples:
        extra = _draw_integers(rng, n_positions, n_samples - chosen.size)
        chosen = np.union1d(chosen, extra)
    return chosen


def extract_patches(
    images: np.ndarray, patch_shape, *, max_patches: int | None, rng
) -> np.ndarray:
    """Sample patches uniformly at random from a channels-last image stack.

    Parameters
    ----------
    images : ndarray of shape (n_images, H, W, C)
        Image stack, channels last. It is never modified.
    patch_shape : tuple of int (kh, kw)
        Patch height and width; each must be at most the image's.
    max_patches : int or None
        Number of patches to sample. ``None``, or a number at least the count of window
        positions ``n_images * (H - kh + 1) * (W - kw + 1)``, returns every position.
    rng : numpy.random.RandomState or numpy.random.Generator
        Source of randomness (resolving a ``random_state`` is the caller's job).

    Returns
    -------
    patches : ndarray of shape (n_patches, kh, kw, C)
        Same dtype as ``images``. Positions (image, row, col) are drawn without
        replacement, every subset equally likely, and returned in lexicographic order of
        (image, row, col), so the order does not depend on the draw.

    Examples
    --------
    >>> import numpy as np
    >>> images = np.arange(2 * 4 * 4).reshape(2, 4, 4, 1)
    >>> rng = np.random.RandomState(0)
    >>> extract_patches(images, (3, 3), max_patches=5, rng=rng).shape
    (5, 3, 3, 1)
    >>> extract_patches(images, (3, 3), max_patches=None, rng=rng)[0, :, :, 0]
    array([[ 0,  1,  2],
           [ 4,  5,  6],
           [ 8,  9, 10]])
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(
            f"images must be a channels-last stack of shape (n_images, H, W, C); got an array "
            f"with shape {images.shape}."
        )
    kh, kw = _check_patch_shape(patch_shape)
    n_images, height, width, _ = images.shape
    if kh > height or kw > width:
        raise ValueError(
            f"patch_shape {(kh, kw)} is larger than the images ({height}, {width}); use a "
            f"patch_shape of at most the image height and width."
        )
    if max_patches is not None and (
        not isinstance(max_patches, numbers.Integral)
        or isinstance(max_patches, bool)
        or max_patches < 1
    ):
        raise ValueError(f"max_patches must be a positive int or None; got {max_patches!r}.")

    positions_shape = (n_images, height - kh + 1, width - kw + 1)
    n_positions = int(np.prod(positions_shape))
    if max_patches is None or max_patches >= n_positions:
        flat_positions = np.arange(n_positions)
    else:
        flat_positions = _sample_without_replacement(n_positions, int(max_patches), rng)
    image_index, row, col = np.unravel_index(flat_positions, positions_shape)

    # Gather only the sampled windows: index arrays broadcast to (m, kh, kw), so no
    # array of all windows is ever built.
    rows = row[:, None, None] + np.arange(kh)[None, :, None]
    cols = col[:, None, None] + np.arange(kw)[None, None, :]
    return images[image_index[:, None, None], rows, cols]


def normalize_patches(patches: np.ndarray, *, contrast_eps: float | None) -> np.ndarray:
    """Remove each patch's mean and, optionally, divide by its regularised contrast.

    Each patch ``p`` (all of its ``kh * kw * C`` values together) becomes
    ``(p - mean(p)) / sqrt(var(p) + contrast_eps)`` (Coates & Ng, 2011), with the
    population variance (``ddof=0``).

    Parameters
    ----------
    patches : ndarray of shape (n_patches, ...)
        Patches, one per leading index; the remaining axes are flattened per patch. Not
        modified.
    contrast_eps : float > 0 or None
        Regulariser added to each patch's variance: it keeps nearly flat patches from being
        blown up to unit contrast, so it should be small next to the variance of patches
        with real structure. ``None`` removes the mean only.

    Returns
    -------
    normalized : ndarray, same shape as ``patches``
        A new floating array (float32 input stays float32, other input becomes float64).

    Examples
    --------
    >>> import numpy as np
    >>> patches = np.array([[1.0, 3.0], [5.0, 5.0]])
    >>> normalize_patches(patches, contrast_eps=None)
    array([[-1.,  1.],
           [ 0.,  0.]])
    >>> normalize_patches(patches, contrast_eps=3.0)
    array([[-0.5,  0.5],
           [ 0. ,  0. ]])
    """
    if contrast_eps is not None and (
        not isinstance(contrast_eps, numbers.Real)
        or isinstance(contrast_eps, bool)
        or not contrast_eps > 0
    ):
        raise ValueError(
            f"contrast_eps must be a positive float (or None for mean removal only); got "
            f"{contrast_eps!r}."
        )
    patches = np.asarray(patches)
    if patches.ndim < 2:
        raise ValueError(
            f"patches must have one patch per leading index, with at least 2 dimensions; got "
            f"shape {patches.shape}."
        )
    dtype = patches.dtype if patches.dtype == np.float32 else np.float64
    flat = patches.reshape(len(patches), -1).astype(dtype)  # astype copies
    flat -= flat.mean(axis=1, keepdims=True)
    if contrast_eps is not None:
        # After centring, the population variance is the mean square.
        variance = np.mean(flat * flat, axis=1, keepdims=True)
        flat /= np.sqrt(variance + contrast_eps)
    return flat.reshape(patches.shape)
