"""Filter banks: hand-crafted, random, and learned from image patches.

Every function here returns a plain float64 numpy array that can be inspected, combined
(e.g. ``np.concatenate``) and passed to ``ConvFeatureExtractor(filters=...)``.

Shapes and the channel convention
---------------------------------
A bank is a stack of ``F`` kernels applied by cross-correlation (no kernel flip, as in
:func:`scipy.signal.correlate2d`):

- A **2-D bank** ``(F, kh, kw)`` is applied to every channel separately: on an image with
  ``C`` channels it gives ``F * C`` maps, ordered channel-major (map ``c * F + f`` is filter
  ``f`` on channel ``c``). On grey images (``C == 1``) this is just ``F`` maps.
- A **full bank** ``(F, kh, kw, C)`` sums over the channels, like a CNN kernel, and gives
  ``F`` maps; its channel count must match the images'.

The hand-crafted banks (:func:`seed_bank`, :func:`edge_bank`, :func:`gabor_bank`) are 2-D.
:func:`random_bank` is 2-D, or full when given ``n_channels``. The learners
(:func:`kmeans_bank`, :func:`pca_bank`) learn full banks from patches ``(m, kh, kw, C)``,
keeping the channel axis even when ``C == 1``.

``kernel_size`` is an int (square kernels) or a pair ``(kh, kw)`` wherever it applies.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import skimage.filters
from sklearn.cluster import MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.utils import check_random_state

from ._patches import normalize_patches

__all__ = [
    "FilterBankFallbackWarning",
    "default_contrast_eps",
    "edge_bank",
    "gabor_bank",
    "kmeans_bank",
    "pca_bank",
    "random_bank",
    "seed_bank",
]


class FilterBankFallbackWarning(UserWarning):
    """A learner had too little usable data and returned a documented fallback bank."""


def _check_kernel_size(kernel_size) -> tuple[int, int]:
    message = (
        f"kernel_size must be a positive int or a pair (kh, kw) of them; got {kernel_size!r}."
    )
    if isinstance(kernel_size, numbers.Integral) and not isinstance(kernel_size, bool):
        sizes = (kernel_size, kernel_size)
    else:
        try:
            sizes = tuple(kernel_size)
        except TypeError:
            raise ValueError(message) from None
        if len(sizes) != 2:
            raise ValueError(message)
    if not all(
        isinstance(k, numbers.Integral) and not isinstance(k, bool) and k >= 1 for k in sizes
    ):
        raise ValueError(message)
    return int(sizes[0]), int(sizes[1])


def _check_positive_int(value, name: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}.")
    return int(value)


def _check_patches(patches) -> np.ndarray:
    patches = np.asarray(patches)
    if patches.ndim != 4 or patches.shape[0] == 0:
        raise ValueError(
            f"patches must be a non-empty array of shape (n_patches, kh, kw, C), e.g. from "
            f"extract_patches; got shape {patches.shape}."
        )
    return patches


def _zero_mean_unit_norm(bank: np.ndarray) -> np.ndarray:
    """Make each filter (all axes but the first) sum to zero and have unit L2 norm."""
    flat = bank.reshape(len(bank), -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    flat /= np.linalg.norm(flat, axis=1, keepdims=True)
    return flat.reshape(bank.shape)


def seed_bank() -> np.ndarray:
    """The tutorial's three 3x3 filters: box, vertical line and diagonal.

    Returns
    -------
    filters : ndarray of shape (3, 3, 3)
        In order: the box filter (all ones, a local sum), a vertical-line detector
        (columns ``-1, 1, -1``) and a diagonal detector (ones on the anti-diagonal, ``-1``
        elsewhere).

    Examples
    --------
    >>> seed_bank()[2]
    array([[-1., -1.,  1.],
           [-1.,  1., -1.],
           [ 1., -1., -1.]])
    """
    box = np.ones((3, 3))
    vertical_line = np.array([[-1.0, 1.0, -1.0]] * 3)
    diagonal = np.array([[-1.0, -1.0, 1.0], [-1.0, 1.0, -1.0], [1.0, -1.0, -1.0]])
    return np.stack([box, vertical_line, diagonal])


# Each operator: its kernel size, and scikit-image's filters for the derivative down the
# rows (responds to horizontal edges) and along the columns (vertical edges).
_EDGE_OPERATORS = {
    "sobel": (3, skimage.filters.sobel_h, skimage.filters.sobel_v),
    "scharr": (3, skimage.filters.scharr_h, skimage.filters.scharr_v),
    "prewitt": (3, skimage.filters.prewitt_h, skimage.filters.prewitt_v),
    "farid": (5, skimage.filters.farid_h, skimage.filters.farid_v),
}


def _correlation_kernel_of(edge_filter, size: int) -> np.ndarray:
    """The kernel whose cross-correlation reproduces scikit-image's ``edge_filter``.

    scikit-image convolves, and the convolution of an impulse is the kernel itself; the
    cross-correlation kernel with the same response is that kernel flipped on both axes.
    """
    impulse = np.zeros((3 * size, 3 * size))
    centre = 3 * size // 2
    impulse[centre, centre] = 1.0
    radius = size // 2
    convolution_kernel = edge_filter(impulse)[
        centre - radius : centre + radius + 1, centre - radius : centre + radius + 1
    ]
    return convolution_kernel[::-1, ::-1].copy()


def edge_bank(kernel_size=3, n_filters: int = 4, *, operator: str | None = None) -> np.ndarray:
    """Derivative (edge) filters in ``n_filters`` orientations, from scikit-image's kernels.

    Parameters
    ----------
    kernel_size : int or tuple of int, default=3
        3 (Sobel, Scharr or Prewitt) or 5 (Farid); ``(3, 3)`` and ``(5, 5)`` work too.
        These are the sizes scikit-image defines derivative kernels for; other sizes raise
        ``ValueError``.
    n_filters : int, default=4
        Number of orientations, equally spaced over half a turn: filter ``k`` takes the
        derivative in direction ``theta_k = k * pi / n_filters``. The default 4 gives, in
        order, horizontal edges, the down-right diagonal, vertical edges and the up-right
        diagonal. Opposite directions are the same filter negated, so they are not repeated
        (an activation such as ``"crelu"`` or ``"abs"`` recovers both polarities).
    operator : {"sobel", "scharr", "prewitt", "farid"} or None, default=None
        Which scikit-image kernel to use. ``None`` picks ``"sobel"`` for size 3 and
        ``"farid"`` for size 5. The operator's size must match ``kernel_size``.

    Returns
    -------
    filters : ndarray of shape (n_filters, kernel_size, kernel_size)
        A 2-D bank (applied to each channel separately).

    Notes
    -----
    Filter ``k`` is ``cos(theta_k) * H + sin(theta_k) * V``, the directional derivative
    steered from two kernels recovered from scikit-image's own filters (e.g.
    :func:`skimage.filters.sobel_h` and :func:`skimage.filters.sobel_v`) and flipped so
    that skconv's cross-correlation gives exactly their response: cross-correlating an image
    with ``H`` equals ``sobel_h`` of it (positive where intensity grows down the rows), and
    with ``V`` equals ``sobel_v`` (positive where it grows along the columns), away from
    the border. ``H`` and ``V`` are orthogonal with equal norms for all four operators, so
    every orientation has the same norm and scale as scikit-image's filters.

    Examples
    --------
    >>> bank = edge_bank()
    >>> bank.shape
    (4, 3, 3)
    >>> bank[0]  # Sobel, horizontal edges: like skimage.filters.sobel_h
    array([[-0.25, -0.5 , -0.25],
           [ 0.  ,  0.  ,  0.  ],
           [ 0.25,  0.5 ,  0.25]])
    """
    kh, kw = _check_kernel_size(kernel_size)
    n_filters = _check_positive_int(n_filters, "n_filters")
    if kh != kw or kh not in (3, 5):
        raise ValueError(
            f"edge_bank supports kernel_size 3 (Sobel, Scharr, Prewitt) or 5 (Farid), the "
            f"sizes scikit-image defines; got kernel_size={kernel_size!r}."
        )
    if operator is None:
        operator = "sobel" if kh == 3 else "farid"
    if operator not in _EDGE_OPERATORS:
        raise ValueError(
            f"operator must be one of {sorted(_EDGE_OPERATORS)} or None; got {operator!r}."
        )
    size, rows_filter, cols_filter = _EDGE_OPERATORS[operator]
    if size != kh:
        raise ValueError(
            f"operator {operator!r} has kernel_size {size}; got kernel_size={kernel_size!r}. "
            f"Pass kernel_size={size} or another operator."
        )
    rows_kernel = _correlation_kernel_of(rows_filter, size)
    cols_kernel = _correlation_kernel_of(cols_filter, size)
    angles = np.arange(n_filters) * np.pi / n_filters
    return (
        np.cos(angles)[:, None, None] * rows_kernel + np.sin(angles)[:, None, None] * cols_kernel
    )


def _centre_crop_or_pad(kernel: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """Cut or zero-pad an odd-sized centred kernel to (kh, kw), keeping its centre at
    index ``(kh // 2, kw // 2)``."""
    out = np.zeros((kh, kw), dtype=kernel.dtype)
    centre_row, centre_col = kernel.shape[0] // 2, kernel.shape[1] // 2
    for_rows = np.arange(kh) - kh // 2 + centre_row
    for_cols = np.arange(kw) - kw // 2 + centre_col
    keep_rows = (for_rows >= 0) & (for_rows < kernel.shape[0])
    keep_cols = (for_cols >= 0) & (for_cols < kernel.shape[1])
    out[np.ix_(keep_rows, keep_cols)] = kernel[np.ix_(for_rows[keep_rows], for_cols[keep_cols])]
    return out


#: Default Gabor frequencies (cycles per pixel): wavelengths of 4 and about 2.9 pixels,
#: the scale of pen strokes in 8x8 digits and of fine texture in larger images.
DEFAULT_GABOR_FREQUENCIES = (0.25, 0.35)


def gabor_bank(
    n_filters: int = 8,
    kernel_size=5,
    *,
    frequencies=None,
    n_orientations: int | None = None,
    bandwidth: float = 1.0,
) -> np.ndarray:
    """Real Gabor kernels over orientations x frequencies, from scikit-image.

    Parameters
    ----------
    n_filters : int, default=8
        Number of filters returned: the first ``n_filters`` of the grid described below.
    kernel_size : int or tuple of int, default=5
        Size each kernel is centre-cropped or zero-padded to.
    frequencies : sequence of float or None, default=None
        Spatial frequencies in cycles per pixel, in (0, 0.5]. ``None`` uses
        ``DEFAULT_GABOR_FREQUENCIES`` = (0.25, 0.35): stroke-scale wavelengths (4 and about
        2.9 pixels) that suit small images such as 8x8 digits.
    n_orientations : int or None, default=None
        Orientations per frequency, ``theta_j = j * pi / n_orientations``. ``None`` uses
        ``ceil(n_filters / len(frequencies))``, the fewest that reach ``n_filters``.
    bandwidth : float, default=1.0
        Passed to :func:`skimage.filters.gabor_kernel`; it sets the Gaussian envelope,
        ``sigma`` proportional to ``1 / frequency``.

    Returns
    -------
    filters : ndarray of shape (n_filters, kh, kw)
        A 2-D bank, ordered frequency-major: all orientations of the first frequency, then
        of the next, truncated to ``n_filters``. Each kernel has zero mean (so it ignores
        flat regions) and unit L2 norm (so frequencies and sizes respond on one scale).

    Notes
    -----
    Kernel ``(frequency, theta)`` is the real part of
    ``skimage.filters.gabor_kernel(frequency, theta=theta, bandwidth=bandwidth)``, cut or
    zero-padded around its centre to ``(kh, kw)`` (the centre lands on ``(kh // 2, kw //
    2)``), then made zero-mean and unit-norm. The real part is symmetric about its centre,
    so convolution and skconv's cross-correlation agree. At ``theta = 0`` the cosine runs
    along the columns, so the filter responds to vertical stripes.

    Examples
    --------
    >>> bank = gabor_bank(4, 5, frequencies=[0.25])
    >>> bank.shape
    (4, 5, 5)
    >>> bool(np.allclose(bank.sum(axis=(1, 2)), 0))
    True
    """
    n_filters = _check_positive_int(n_filters, "n_filters")
    kh, kw = _check_kernel_size(kernel_size)
    if kh * kw < 2:
        raise ValueError(
            f"gabor_bank needs at least 2 pixels per kernel to make them zero-mean; got "
            f"kernel_size={kernel_size!r}."
        )
    if frequencies is None:
        frequencies = DEFAULT_GABOR_FREQUENCIES
    frequencies = np.atleast_1d(np.asarray(frequencies, dtype=float))
    if frequencies.ndim != 1 or not np.all((frequencies > 0) & (frequencies <= 0.5)):
        raise ValueError(
            f"frequencies must be a sequence of floats in (0, 0.5] cycles per pixel; got "
            f"{frequencies.tolist()!r}."
        )
    if n_orientations is None:
        n_orientations = math.ceil(n_filters / len(frequencies))
    n_orientations = _check_positive_int(n_orientations, "n_orientations")
    if n_filters > n_orientations * len(frequencies):
        raise ValueError(
            f"n_filters={n_filters} exceeds the {n_orientations * len(frequencies)} kernels of "
            f"{n_orientations} orientations x {len(frequencies)} frequencies; raise "
            f"n_orientations, add frequencies, or leave n_orientations=None."
        )
    kernels = []
    for frequency in frequencies:
        for j in range(n_orientations):
            theta = j * np.pi / n_orientations
            kernel = skimage.filters.gabor_kernel(frequency, theta=theta, bandwidth=bandwidth)
            kernels.append(_centre_crop_or_pad(kernel.real, kh, kw))
            if len(kernels) == n_filters:
                return _zero_mean_unit_norm(np.stack(kernels))
    raise AssertionError("unreachable: n_filters was checked against the grid size")


def random_bank(
    n_filters: int = 8, kernel_size=3, *, n_channels: int | None = None, random_state=None
) -> np.ndarray:
    """Random zero-mean, unit-norm Gaussian filters.

    Parameters
    ----------
    n_filters : int, default=8
        Number of filters.
    kernel_size : int or tuple of int, default=3
        Kernel height and width.
    n_channels : int or None, default=None
        ``None`` returns a 2-D bank (applied to each channel separately); an int returns a
        full bank with that many channels (summed over, like a CNN kernel).
    random_state : int, RandomState instance or None, default=None
        Seed or generator, resolved with :func:`sklearn.utils.check_random_state`.

    Returns
    -------
    filters : ndarray of shape (n_filters, kh, kw) or (n_filters, kh, kw, n_channels)
        Standard normal draws, each filter then centred to zero mean over all its values
        and scaled to unit L2 norm.

    Examples
    --------
    >>> bank = random_bank(4, 3, random_state=0)
    >>> bank.shape
    (4, 3, 3)
    >>> np.linalg.norm(bank.reshape(4, -1), axis=1)
    array([1., 1., 1., 1.])
    >>> random_bank(2, (3, 5), n_channels=3, random_state=0).shape
    (2, 3, 5, 3)
    """
    n_filters = _check_positive_int(n_filters, "n_filters")
    kh, kw = _check_kernel_size(kernel_size)
    shape = (n_filters, kh, kw)
    if n_channels is not None:
        shape += (_check_positive_int(n_channels, "n_channels"),)
    if math.prod(shape[1:]) < 2:
        raise ValueError(
            f"random_bank needs at least 2 values per filter to make them zero-mean; got "
            f"kernel_size={kernel_size!r} with n_channels={n_channels!r}."
        )
    rng = check_random_state(random_state)
    return _zero_mean_unit_norm(rng.standard_normal(size=shape))


#: Ratio of the default contrast regulariser to the mean patch variance. Coates & Ng's
#: ``contrast_eps=10`` for 8-bit images is 0.003-0.009 of the mean variance of 6x6 patches
#: of scikit-image's astronaut, chelsea and coffee images shrunk to 32x32; on digits, ratios
#: from 0.003 to 1 gave 5-fold accuracies within about 1.5% of each other.
CONTRAST_EPS_RATIO = 0.01


def default_contrast_eps(patches) -> float:
    """The scale-aware contrast regulariser ``kmeans_bank`` uses for ``contrast_eps="auto"``.

    Parameters
    ----------
    patches : array-like of shape (n_patches, kh, kw, C)
        The patches the bank is learned from.

    Returns
    -------
    contrast_eps : float
        ``CONTRAST_EPS_RATIO`` (0.01) times the mean over patches of each patch's variance
        (over its ``kh * kw * C`` values, ``ddof=0``), or 1.0 when every patch is flat and
        the data show no scale. It scales with the square of the intensity unit, so it fits
        digits in 0-16, images in 0-1 and 8-bit images alike.

    Examples
    --------
    >>> patches = np.array([[0.0, 2.0], [0.0, 0.0]]).reshape(2, 1, 2, 1)
    >>> default_contrast_eps(patches)  # variances 1 and 0
    0.005
    """
    patches = _check_patches(patches)
    flat = patches.reshape(len(patches), -1).astype(np.float64)
    mean_variance = float(np.mean(np.var(flat, axis=1)))
    if mean_variance == 0.0:
        return 1.0
    return CONTRAST_EPS_RATIO * mean_variance


def _zca_matrix(centred: np.ndarray, zca_eps: float) -> np.ndarray:
    """Symmetric ZCA matrix ``U diag(1 / sqrt(lambda + zca_eps)) U^T`` of centred rows."""
    covariance = centred.T @ centred / len(centred)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    # Round-off can leave tiny negative eigenvalues on a singular covariance.
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    return (eigenvectors / np.sqrt(eigenvalues + zca_eps)) @ eigenvectors.T


def kmeans_bank(
    patches,
    n_filters: int,
    *,
    whiten: bool = True,
    contrast_eps="auto",
    zca_eps="auto",
    max_iter: int = 100,
    n_init: int = 3,
    batch_size: int = 1024,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Learn a full filter bank by k-means on normalised patches (Coates & Ng, 2011).

    Parameters
    ----------
    patches : array-like of shape (n_patches, kh, kw, C)
        Raw image patches, e.g. from ``extract_patches``. Not modified.
    n_filters : int
        Number of clusters, hence of filters.
    whiten : bool, default=True
        ZCA-whiten the normalised patches before clustering.
    contrast_eps : float > 0, "auto" or None, default="auto"
        Regulariser of the per-patch contrast normalisation (see
        ``normalize_patches``). ``"auto"`` uses ``default_contrast_eps(patches)``, 1% of the
        mean patch variance, so the default follows the intensity scale of the data (Coates
        & Ng's fixed 10 assumes 0-255 pixels, where it is about 0.3-0.9% of that variance).
        ``None`` skips the division and removes each patch's mean only.
    zca_eps : float > 0 or "auto", default="auto"
        Regulariser added to the covariance eigenvalues before whitening. ``"auto"`` uses a
        tenth of their mean (the mean per-value variance of the normalised patches):
        Coates & Ng's 0.1 for patches normalised to about unit variance, scaled along with
        the data otherwise. Ignored when ``whiten=False``.
    max_iter, n_init, batch_size : int, default=100, 3, 1024
        Passed to :class:`sklearn.cluster.MiniBatchKMeans`.
    random_state : int, RandomState instance or None, default=None
        Seeds k-means (and the fallback below) via :func:`sklearn.utils.check_random_state`.

    Returns
    -------
    filters : ndarray of shape (n_filters, kh, kw, C)
        A full bank (summed over channels), channel axis kept even when ``C == 1``.
        Every filter sums to zero.
    bias : ndarray of shape (n_filters,)
        Zero when ``whiten=False``.

    Notes
    -----
    Let ``p_n`` be a normalised patch, ``mu`` the mean and ``Z`` the (symmetric) ZCA matrix
    of the normalised patches, and ``c`` a centroid in whitened space. Its score
    ``c . Z (p_n - mu) = (Z c) . p_n - c . Z mu`` is linear in ``p_n``, so the linear steps
    are folded into the outputs: ``filter = Z c`` made zero-sum (``w . (p - mean(p)) = w . p``
    for a zero-sum ``w``, so the folded filter also removes the patch mean) and
    ``bias = -c . Z mu``. Without whitening, ``filter`` is the centroid and ``bias = 0``.

    The division by the patch's contrast is not linear. To reproduce fit-time
    preprocessing exactly, transform must compute, for every window ``p`` of the raw image
    (all ``kh * kw * C`` values under the kernel)::

        response = (filter . p) / sqrt(var(p) + contrast_eps) + bias

    with ``var`` the population variance (``ddof=0``) of the window, the same
    ``contrast_eps`` (resolve ``"auto"`` once with ``default_contrast_eps`` on the training
    patches and pass the number), and the bias added *after* the division. With
    ``contrast_eps=None`` the response is ``filter . p + bias``.

    Fallback: if there are fewer distinct normalised patches than ``n_filters`` (e.g. one
    tiny image), or all of them are flat, k-means cannot find ``n_filters`` clusters. A
    :class:`FilterBankFallbackWarning` is then issued and the bank is
    ``random_bank(n_filters, (kh, kw), n_channels=C, random_state=random_state)`` with zero
    bias.

    Examples
    --------
    >>> rng = np.random.RandomState(0)
    >>> patches = rng.uniform(size=(500, 3, 3, 1))
    >>> filters, bias = kmeans_bank(patches, 4, random_state=0)
    >>> filters.shape, bias.shape
    ((4, 3, 3, 1), (4,))
    >>> bool(np.allclose(filters.sum(axis=(1, 2, 3)), 0))
    True
    """
    patches = _check_patches(patches)
    n_filters = _check_positive_int(n_filters, "n_filters")
    n_patches, kh, kw, n_channels = patches.shape
    if kh * kw * n_channels < 2:
        raise ValueError(
            f"kmeans_bank needs patches with at least 2 values (kh * kw * C >= 2): zero-sum "
            f"filters on a single value are all zero; got patches of shape {patches.shape[1:]}."
        )
    if isinstance(contrast_eps, str):
        if contrast_eps != "auto":
            raise ValueError(
                f"contrast_eps must be a positive float, 'auto' or None; got {contrast_eps!r}."
            )
        contrast_eps = default_contrast_eps(patches)
    if isinstance(zca_eps, str):
        if zca_eps != "auto":
            raise ValueError(f"zca_eps must be a positive float or 'auto'; got {zca_eps!r}.")
    elif not isinstance(zca_eps, numbers.Real) or isinstance(zca_eps, bool) or not zca_eps > 0:
        raise ValueError(f"zca_eps must be a positive float or 'auto'; got {zca_eps!r}.")
    rng = check_random_state(random_state)

    normalized = normalize_patches(patches, contrast_eps=contrast_eps)
    normalized = normalized.reshape(n_patches, -1).astype(np.float64, copy=False)
    n_distinct = len(np.unique(normalized, axis=0))
    if n_distinct < n_filters or not np.any(normalized):
        warnings.warn(
            f"kmeans_bank found {n_distinct} distinct normalised patch(es) for "
            f"n_filters={n_filters} clusters; returning random filters instead. Give it more "
            f"(or more varied) patches, or lower n_filters.",
            FilterBankFallbackWarning,
            stacklevel=2,
        )
        filters = random_bank(n_filters, (kh, kw), n_channels=n_channels, random_state=rng)
        return filters, np.zeros(n_filters)

    if whiten:
        mean_patch = normalized.mean(axis=0)
        centred = normalized - mean_patch
        if zca_eps == "auto":
            # The mean eigenvalue of the covariance is the mean per-value variance.
            zca_eps = 0.1 * float(np.mean(centred * centred))
        zca = _zca_matrix(centred, zca_eps)
        features = centred @ zca
    else:
        features = normalized
    kmeans = MiniBatchKMeans(
        n_clusters=n_filters,
        max_iter=max_iter,
        n_init=n_init,
        batch_size=batch_size,
        random_state=rng,
    ).fit(features)
    centroids = kmeans.cluster_centers_
    if whiten:
        # Row form of Z c for each centroid c (Z is symmetric).
        folded = centroids @ zca
        bias = -folded @ mean_patch
    else:
        folded = centroids
        bias = np.zeros(n_filters)
    # Centroids of zero-sum points are zero-sum and Z preserves that subspace, so this only
    # clears round-off: filter . p must equal filter . (p - mean(p)) on raw windows.
    folded = folded - folded.mean(axis=1, keepdims=True)
    return folded.reshape(n_filters, kh, kw, n_channels), bias


def pca_bank(patches, n_filters: int) -> np.ndarray:
    """Learn an orthonormal full filter bank by PCA of mean-removed patches (PCANet).

    Parameters
    ----------
    patches : array-like of shape (n_patches, kh, kw, C)
        Raw image patches, e.g. from ``extract_patches``. Not modified.
    n_filters : int
        Number of principal components kept; at most ``kh * kw * C - 1``, the dimension of
        the zero-sum patches.

    Returns
    -------
    filters : ndarray of shape (n_filters, kh, kw, C)
        A full bank (summed over channels), channel axis kept even when ``C == 1``. The
        filters are orthonormal, zero-sum, and ordered by decreasing variance of the
        patches projected on them.

    Notes
    -----
    The PCANet recipe (Chan et al., 2015): remove each patch's own mean, fit
    :class:`sklearn.decomposition.PCA` (exact ``"full"`` solver, so no randomness) and
    reshape the leading components. Zero-sum filters make the mean removal implicit at
    transform time: cross-correlating the raw image with the filters is enough. (PCA also
    subtracts the mean patch; that only shifts every response by a constant, which PCANet
    ignores.)

    Fallback: if the patches vary in fewer than ``n_filters`` directions (fewer patches
    than filters, or flat patches), the components with non-zero variance come first and
    are completed by a deterministic orthonormal zero-sum basis of the remaining
    directions, with a :class:`FilterBankFallbackWarning`.

    Examples
    --------
    >>> rng = np.random.RandomState(0)
    >>> patches = rng.uniform(size=(200, 3, 3, 1))
    >>> filters = pca_bank(patches, 4)
    >>> flat = filters.reshape(4, -1)
    >>> bool(np.allclose(flat @ flat.T, np.eye(4)))
    True
    """
    patches = _check_patches(patches)
    n_filters = _check_positive_int(n_filters, "n_filters")
    n_patches, kh, kw, n_channels = patches.shape
    n_values = kh * kw * n_channels
    if n_filters > n_values - 1:
        raise ValueError(
            f"n_filters={n_filters} exceeds the {n_values - 1} orthonormal zero-sum filters "
            f"that patches of shape {patches.shape[1:]} allow; use n_filters <= {n_values - 1} "
            f"or larger patches."
        )
    centred = normalize_patches(patches, contrast_eps=None).reshape(n_patches, -1)
    centred = centred.astype(np.float64, copy=False)
    if n_patches < 2 or not np.any(centred):
        # No variance to analyse (and PCA would divide by zero).
        components = np.empty((0, n_values))
    else:
        pca = PCA(n_components=min(n_filters, n_patches), svd_solver="full").fit(centred)
        variances = pca.explained_variance_
        # Components past the data's rank carry round-off variance only.
        tolerance = n_values * np.finfo(float).eps * float(variances.max(initial=0.0))
        components = pca.components_[variances > tolerance]
    if len(components) < n_filters:
        warnings.warn(
            f"pca_bank found {len(components)} direction(s) of variance in {n_patches} "
            f"patch(es) for n_filters={n_filters}; completing the bank with a fixed "
            f"orthonormal zero-sum basis. Give it more (or more varied) patches, or lower "
            f"n_filters.",
            FilterBankFallbackWarning,
            stacklevel=2,
        )
        components = _complete_zero_sum_basis(components, n_filters)
    return components[:n_filters].reshape(n_filters, kh, kw, n_channels)


def _complete_zero_sum_basis(rows: np.ndarray, n_rows: int) -> np.ndarray:
    """Extend orthonormal zero-sum ``rows`` to ``n_rows`` orthonormal zero-sum rows."""
    n_values = rows.shape[1]
    constant = np.full((1, n_values), 1.0 / np.sqrt(n_values))
    # QR of [known rows, constant, identity]: the first columns of Q span the known rows
    # and the constant, the next ones complete an orthonormal basis of everything else.
    spanning = np.vstack([rows, constant, np.eye(n_values)]).T
    q, _ = np.linalg.qr(spanning)
    extra = q[:, len(rows) + 1 : n_rows + 1].T
    return np.vstack([rows, extra])
