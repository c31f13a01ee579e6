"""Patch sampling and per-patch normalisation for the filter learners (numpy only).

Patches are windows of an image (of the image zero-padded, when a padding is given), stored
channels-last as ``(n_patches, kh, kw, C)``, like the image stacks they come from.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._engine.geometry import Pair, conv_output_shape, resolve_padding
from .._validation import as_pair, check_int


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
    images: np.ndarray,
    patch_shape,
    *,
    max_patches: int | None,
    rng,
    padding: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0)),
    image_indices: np.ndarray | None = None,
) -> np.ndarray:
    """Sample patches uniformly at random from a channels-last image stack.

    The windows are those of the images zero-padded by ``padding``, and of the images
    ``image_indices`` only when given; neither the padded images nor that subset is ever
    built: only the sampled windows are read, so the memory needed is the patches'.

    Parameters
    ----------
    images : ndarray of shape (n_images, H, W, C)
        Image stack, channels last. It is never modified.
    patch_shape : int or tuple of int (kh, kw)
        Patch height and width (an int for square patches); each must be at most the
        image's.
    max_patches : int or None
        Number of patches to sample. ``None``, or a number at least the count of window
        positions ``n_images * (H_padded - kh + 1) * (W_padded - kw + 1)``, returns every
        position.
    rng : numpy.random.RandomState or numpy.random.Generator
        Source of randomness (resolving a ``random_state`` is the caller's job).
    padding : ((top, bottom), (left, right)), default=((0, 0), (0, 0))
        Zeros around each image; the patches are exactly those of
        ``np.pad(images, ((0, 0), *padding, (0, 0)))``, drawn alike.
    image_indices : ndarray of int or None, default=None
        Sample from ``images[image_indices]`` only (exactly as from that stack).

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
    kh, kw = as_pair(patch_shape, "patch_shape")
    _, height, width, _ = images.shape
    (top, bottom), (left, right) = padding
    if kh > height + top + bottom or kw > width + left + right:
        raise ValueError(
            f"patch_shape {(kh, kw)} is larger than the (padded) images "
            f"({height + top + bottom}, {width + left + right}); use a patch_shape of at most "
            f"the image height and width."
        )
    if max_patches is not None:
        max_patches = check_int(max_patches, "max_patches")
    n_images = len(images) if image_indices is None else len(image_indices)

    positions_shape = (n_images, height + top + bottom - kh + 1, width + left + right - kw + 1)
    n_positions = int(np.prod(positions_shape))
    if max_patches is None or max_patches >= n_positions:
        flat_positions = np.arange(n_positions)
    else:
        flat_positions = _sample_without_replacement(n_positions, max_patches, rng)
    image_index, row, col = np.unravel_index(flat_positions, positions_shape)
    if image_indices is not None:
        image_index = np.asarray(image_indices)[image_index]

    # Gather only the sampled windows, one kernel row at a time, so that the index arrays
    # stay (m, kw) and no array of all windows (or of the padded images) is ever built. Rows
    # and columns count in the padded image; those in the padding read a clipped pixel and
    # are then set to zero.
    patches = np.empty((len(image_index), kh, kw, images.shape[3]), dtype=images.dtype)
    cols = col[:, None] + np.arange(kw)[None, :] - left
    cols_in_padding = (cols < 0) | (cols >= width)
    cols = np.clip(cols, 0, width - 1)
    for kernel_row in range(kh):
        rows = row + kernel_row - top
        patch_row = patches[:, kernel_row]
        patch_row[...] = images[image_index[:, None], np.clip(rows, 0, height - 1)[:, None], cols]
        patch_row[cols_in_padding | ((rows < 0) | (rows >= height))[:, None]] = 0
    return patches


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


def sample_patches(
    images: np.ndarray, kernel_size: Pair, *, padding: str | Pair, n_patches: int, rng
) -> np.ndarray:
    """At most ``n_patches`` windows of ``images`` padded as ``padding``, to learn a bank from.

    The windows are those of the images padded as :meth:`ConvFeatureExtractor.transform`
    pads them, so the bank learns from exactly the windows it will be applied to. No more
    images than patches are needed, so a large stack is sampled from a random subset of its
    images, drawn from ``rng`` before the windows are; only the sampled windows are read (no
    padded copy, no copied subset).

    Examples
    --------
    >>> images = np.arange(3 * 4 * 4, dtype=float).reshape(3, 4, 4, 1)
    >>> rng = np.random.RandomState(0)
    >>> sample_patches(images, (3, 3), padding="same", n_patches=2, rng=rng).shape
    (2, 3, 3, 1)
    """
    pads = resolve_padding(padding, kernel_size)
    # Raises, naming kernel_size, when the kernel is larger than the padded image.
    conv_output_shape(images.shape[1:3], kernel_size, (1, 1), pads)
    subset = None
    if len(images) > n_patches:
        subset = np.sort(rng.choice(len(images), n_patches, replace=False))
    return extract_patches(
        images, kernel_size, max_patches=n_patches, rng=rng, padding=pads, image_indices=subset
    )
