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

The hand-crafted banks (:func:`tutorial_bank`, :func:`edge_bank`, :func:`gabor_bank`) are
2-D. :func:`random_bank` is 2-D, or full when given ``n_channels``. The learners
(:func:`learn_kmeans_bank`, :func:`learn_pca_bank`) learn full banks from patches
``(m, kh, kw, C)``, keeping the channel axis even when ``C == 1``, and both return a
:class:`LearnedBank` ``(filters, bias)``.

Every builder takes ``(n_filters, kernel_size, *, ...)`` in that order, and every learner
``(patches, n_filters, *, ...)``. ``kernel_size`` is an int (square kernels) or a pair
``(kh, kw)`` wherever it applies.

Patches for the learners are any array ``(n_patches, kh, kw, C)`` of raw windows, e.g. from
:class:`sklearn.feature_extraction.image.PatchExtractor` on a stack of images (with
``[..., None]`` added for grey images).
"""

from __future__ import annotations

import functools
import math
import numbers
import warnings
from typing import NamedTuple

import numpy as np
import skimage.filters
from sklearn.cluster import MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.utils import check_random_state

from ._patches import normalize_patches
from ._validation import as_pair, check_int

# default_contrast_eps, kmeans_bank, pca_bank and seed_bank are deprecated (0.2, gone in 0.4).
__all__ = [
    "FilterBankFallbackWarning",
    "LearnedBank",
    "default_contrast_eps",
    "edge_bank",
    "estimate_contrast_eps",
    "gabor_bank",
    "kmeans_bank",
    "learn_kmeans_bank",
    "learn_pca_bank",
    "pca_bank",
    "random_bank",
    "seed_bank",
    "tutorial_bank",
]


class FilterBankFallbackWarning(UserWarning):
    """A learner had too little usable data and returned a documented fallback bank."""


class LearnedBank(NamedTuple):
    """What a learner returns: a full filter bank and the bias added to each response.

    Attributes
    ----------
    filters : ndarray of shape (n_filters, kh, kw, C)
        A full bank (summed over channels), channel axis kept even when ``C == 1``.
    bias : ndarray of shape (n_filters,)
        Added to each filter's response; zero for :func:`learn_pca_bank`.

    Examples
    --------
    >>> rng = np.random.RandomState(0)
    >>> filters, bias = learn_pca_bank(rng.uniform(size=(50, 3, 3, 1)), 2)
    >>> filters.shape, bias.shape
    ((2, 3, 3, 1), (2,))
    """

    filters: np.ndarray
    bias: np.ndarray


def _warn_deprecated(old: str, instead: str) -> None:
    warnings.warn(
        f"{old} is deprecated in 0.2 and will be removed in 0.4; {instead}.",
        FutureWarning,
        stacklevel=3,
    )


def _check_patches(patches) -> np.ndarray:
    patches = np.asarray(patches)
    if patches.ndim != 4 or patches.shape[0] == 0:
        raise ValueError(
            f"patches must be a non-empty array of shape (n_patches, kh, kw, C), e.g. from "
            f"sklearn.feature_extraction.image.PatchExtractor, with [..., None] added for grey "
            f"images; got shape {patches.shape}."
        )
    # Checked here, before anything is estimated from them: a NaN patch would otherwise
    # surface as a NaN contrast_eps and be blamed on that parameter.
    if patches.dtype.kind in "fc" and not np.isfinite(patches).all():
        raise ValueError(
            "patches hold NaN or infinite values; drop those patches, e.g. "
            "patches[np.isfinite(patches).all(axis=(1, 2, 3))], or fill the images they come "
            "from first."
        )
    return patches


def _is_positive_finite(value) -> bool:
    # An infinite regulariser would scale every patch to zero; NaN fails the comparison.
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _check_positive_finite(value, name: str) -> float:
    """``value`` as a float, refusing non-numbers, NaN, infinities and values <= 0."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a positive finite float; got {value!r}.")
    if not _is_positive_finite(value):
        raise ValueError(f"{name} must be a positive finite float; got {value!r}.")
    return float(value)


def _zero_mean_unit_norm(bank: np.ndarray) -> np.ndarray:
    """Make each filter (all axes but the first) sum to zero and have unit L2 norm."""
    flat = bank.reshape(len(bank), -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    flat /= np.linalg.norm(flat, axis=1, keepdims=True)
    return flat.reshape(bank.shape)


def tutorial_bank() -> np.ndarray:
    """The three 3x3 filters of the "CNN from scratch" tutorial: box, vertical line, diagonal.

    Returns
    -------
    filters : ndarray of shape (3, 3, 3)
        In order: the box filter (all ones, a local sum), a vertical-line detector
        (columns ``-1, 1, -1``) and a diagonal detector (ones on the anti-diagonal, ``-1``
        elsewhere). A 2-D bank (applied to each channel separately).

    Examples
    --------
    >>> tutorial_bank()[2]
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


def _positional_in_0_1_order(names: tuple[str, ...]):
    """Read positional arguments in the 0.1 order ``names``, with a FutureWarning.

    For a function whose parameters were reordered: a positional call written for the old
    order would otherwise silently swap meanings. Keyword calls pass through untouched.
    """

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            if args:
                if len(args) > len(names):
                    raise TypeError(
                        f"{function.__name__} takes at most {len(names)} positional arguments "
                        f"({', '.join(names)}); got {len(args)}."
                    )
                warnings.warn(
                    f"Positional arguments to {function.__name__} are deprecated in 0.2 and "
                    f"will be removed in 0.4; they are still read in the 0.1 order "
                    f"({', '.join(names)}), but pass n_filters= and kernel_size= by keyword.",
                    FutureWarning,
                    stacklevel=2,
                )
                for name, value in zip(names, args):
                    if name in kwargs:
                        raise TypeError(
                            f"{function.__name__} got multiple values for argument {name!r}."
                        )
                    kwargs[name] = value
            return function(**kwargs)

        return wrapper

    return decorate


@_positional_in_0_1_order(("kernel_size", "n_filters"))
def edge_bank(
    n_filters: int = 4, kernel_size: int | tuple[int, int] = 3, *, operator: str | None = None
) -> np.ndarray:
    """Derivative (edge) filters in ``n_filters`` orientations, from scikit-image's kernels.

    .. deprecated:: 0.2
       Positional arguments are read in the 0.1 order ``(kernel_size, n_filters)``, with a
       ``FutureWarning``; pass ``n_filters=`` and ``kernel_size=`` by keyword. From 0.4,
       positional arguments follow the order below, as in every other builder.

    Parameters
    ----------
    n_filters : int, default=4
        Number of orientations, equally spaced over half a turn: filter ``k`` takes the
        derivative in direction ``theta_k = k * pi / n_filters``. The default 4 gives, in
        order, horizontal edges, the down-right diagonal, vertical edges and the up-right
        diagonal. Opposite directions are the same filter negated, so they are not repeated
        (an activation such as ``"crelu"`` or ``"abs"`` recovers both polarities).
    kernel_size : int or tuple of int, default=3
        3 (Sobel, Scharr or Prewitt) or 5 (Farid); ``(3, 3)`` and ``(5, 5)`` work too.
        These are the sizes scikit-image defines derivative kernels for; other sizes raise
        ``ValueError``.
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
    >>> edge_bank(n_filters=2, kernel_size=5).shape  # Farid
    (2, 5, 5)
    >>> bank[0]  # Sobel, horizontal edges: like skimage.filters.sobel_h
    array([[-0.25, -0.5 , -0.25],
           [ 0.  ,  0.  ,  0.  ],
           [ 0.25,  0.5 ,  0.25]])
    """
    n_filters = check_int(n_filters, "n_filters")
    kh, kw = as_pair(kernel_size, "kernel_size")
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
        Spatial frequencies in cycles per pixel, in (0, 0.5]. A frequency so low that its
        kernel is flat over the window (stripes millions of pixels apart) raises
        ``ValueError``, since it cannot be made zero-mean. ``None`` uses
        ``DEFAULT_GABOR_FREQUENCIES`` = (0.25, 0.35): stroke-scale wavelengths (4 and about
        2.9 pixels) that suit small images such as 8x8 digits.
    n_orientations : int or None, default=None
        Orientations per frequency, ``theta_j = j * pi / n_orientations``. ``None`` uses
        ``ceil(n_filters / len(frequencies))``, the fewest that reach ``n_filters``.
    bandwidth : float in (0, 64], default=1.0
        Passed to :func:`skimage.filters.gabor_kernel`; it sets the Gaussian envelope,
        ``sigma`` proportional to ``1 / frequency``. A smaller bandwidth widens the envelope
        (at 1e-6 the kernels are plain cosine stripes over the window); only the
        ``kernel_size`` window is computed, however wide the envelope.

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
    n_filters = check_int(n_filters, "n_filters")
    kh, kw = as_pair(kernel_size, "kernel_size")
    if kh * kw < 2:
        raise ValueError(
            f"gabor_bank needs at least 2 pixels per kernel to make them zero-mean; got "
            f"kernel_size={kernel_size!r}. Use a kernel_size of 2 or more."
        )
    frequencies = _check_frequencies(frequencies)
    bandwidth = _check_bandwidth(bandwidth)
    if n_orientations is None:
        n_orientations = math.ceil(n_filters / len(frequencies))
    n_orientations = check_int(n_orientations, "n_orientations")
    if n_filters > n_orientations * len(frequencies):
        raise ValueError(
            f"n_filters={n_filters} exceeds the {n_orientations * len(frequencies)} kernels of "
            f"{n_orientations} orientations x {len(frequencies)} frequencies; raise "
            f"n_orientations, add frequencies, or leave n_orientations=None."
        )
    grid = [
        (frequency, j * np.pi / n_orientations)
        for frequency in frequencies
        for j in range(n_orientations)
    ][:n_filters]
    kernels = np.stack(
        [_gabor_crop(frequency, theta, bandwidth, kh, kw) for frequency, theta in grid]
    )
    _check_not_flat(kernels, grid)
    return _zero_mean_unit_norm(kernels)


def _check_frequencies(frequencies) -> np.ndarray:
    """The Gabor frequencies as a 1-D float array, each in (0, 0.5] cycles per pixel."""
    if frequencies is None:
        return np.asarray(DEFAULT_GABOR_FREQUENCIES, dtype=float)
    message = "frequencies must be a non-empty sequence of floats in (0, 0.5] cycles per pixel"
    try:
        frequencies = np.atleast_1d(np.asarray(frequencies, dtype=float))
    except (TypeError, ValueError):
        raise TypeError(f"{message}; got {frequencies!r}.") from None
    # NaN fails both comparisons, so it is refused with the out-of-range values.
    if (
        frequencies.ndim != 1
        or len(frequencies) == 0
        or not np.all((frequencies > 0) & (frequencies <= 0.5))
    ):
        raise ValueError(f"{message}; got {frequencies.tolist()!r}.")
    return frequencies


#: The largest bandwidth accepted, in octaves. From 54 up, 2 ** bandwidth +- 1 rounds to
#: 2 ** bandwidth, so scikit-image's envelope stops narrowing (and 2 ** 1024 overflows).
MAX_GABOR_BANDWIDTH = 64.0


def _check_bandwidth(bandwidth) -> float:
    bandwidth = _check_positive_finite(bandwidth, "bandwidth")
    if bandwidth > MAX_GABOR_BANDWIDTH:
        raise ValueError(
            f"bandwidth must be in (0, {MAX_GABOR_BANDWIDTH:g}] octaves; got {bandwidth!r}. "
            f"Above {MAX_GABOR_BANDWIDTH:g} the envelope no longer narrows, so pass "
            f"{MAX_GABOR_BANDWIDTH:g} for the narrowest one."
        )
    return bandwidth


def _gabor_sigma(frequency: float, bandwidth: float) -> float:
    """The width in pixels of :func:`skimage.filters.gabor_kernel`'s Gaussian envelope.

    The same expression as scikit-image's, which sizes its kernel to 3 of these on each
    side of the centre; a ``ValueError`` when it is too wide to compute.
    """
    frequency = float(frequency)
    octaves = 2.0**bandwidth
    sigma = math.inf
    if octaves > 1.0:  # else the bandwidth is below float64's resolution around 1
        sigma = 1.0 / np.pi * math.sqrt(math.log(2) / 2.0) * (octaves + 1) / (octaves - 1)
        sigma /= frequency
    # The kernel is scaled by 1 / (2 pi sigma^2), which must not underflow to zero.
    if not 2 * np.pi * sigma * sigma < 1 / np.finfo(float).tiny:
        raise ValueError(
            f"bandwidth={bandwidth!r} with frequency {frequency:g} gives a Gaussian envelope "
            f"too wide to compute in float64 (sigma={sigma:.3g} pixels); use a larger "
            f"bandwidth (the default is 1.0) or higher frequencies."
        )
    return sigma


def _gabor_crop(frequency: float, theta: float, bandwidth: float, kh: int, kw: int) -> np.ndarray:
    """The real part of scikit-image's Gabor kernel, cut or zero-padded to ``(kh, kw)``.

    scikit-image samples its kernel on a square grid of ``3 * sigma`` on each side (rotated),
    which for a small bandwidth or frequency is far larger than the crop: a bandwidth of
    1e-6 would ask for petabytes. When the grid would be wider than the crop needs, a
    smaller ``n_stds`` asks for a grid just wider than the crop instead. Every value is
    computed element by element from its own coordinates, so the crop is the same to the
    last bit; only kernels smaller than the crop, which are zero-padded, keep the default
    grid.
    """
    sigma = _gabor_sigma(frequency, bandwidth)
    spread = sigma * max(abs(math.cos(theta)), abs(math.sin(theta)))
    needed = max(kh, kw) // 2 + 1
    n_stds = 3 if 3 * spread <= needed + 1 else needed / spread
    kernel = skimage.filters.gabor_kernel(
        frequency, theta=theta, bandwidth=bandwidth, n_stds=n_stds
    )
    return _centre_crop_or_pad(kernel.real, kh, kw)


def _check_not_flat(kernels: np.ndarray, grid: list[tuple[float, float]]) -> None:
    """Refuse kernels that removing the mean would leave as round-off only.

    Such a kernel (stripes much wider than the window, or a window too thin to cross
    them) would be scaled to unit norm from noise, silently.
    """
    flat = kernels.reshape(len(kernels), -1)
    varying = np.linalg.norm(flat - flat.mean(axis=1, keepdims=True), axis=1)
    for k in np.flatnonzero(
        varying <= np.sqrt(np.finfo(float).eps) * np.linalg.norm(flat, axis=1)
    ):
        frequency, theta = grid[k]
        kh, kw = kernels.shape[1:]
        raise ValueError(
            f"The Gabor kernel of frequency {frequency:g} at orientation {theta:.3g} rad is "
            f"flat over a {kh}x{kw} window (its stripes are {1 / frequency:.3g} pixels apart), "
            f"so it cannot be made zero-mean; use higher frequencies or a larger kernel_size."
        )


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
    n_filters = check_int(n_filters, "n_filters")
    kh, kw = as_pair(kernel_size, "kernel_size")
    shape = (n_filters, kh, kw)
    if n_channels is not None:
        shape += (check_int(n_channels, "n_channels"),)
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


def estimate_contrast_eps(patches) -> float:
    """The scale-aware contrast regulariser ``learn_kmeans_bank`` uses for ``"auto"``.

    Parameters
    ----------
    patches : array-like of shape (n_patches, kh, kw, C)
        The patches the bank is learned from.
        NaN or infinite values, or a variance beyond float64, raise ``ValueError``.

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
    >>> estimate_contrast_eps(patches)  # variances 1 and 0
    0.005
    """
    patches = _check_patches(patches)
    flat = patches.reshape(len(patches), -1).astype(np.float64)
    with np.errstate(over="ignore"):
        mean_variance = float(np.mean(np.var(flat, axis=1)))
    if not math.isfinite(mean_variance):
        raise ValueError(
            "patches vary too much to take their variance in float64 (it overflows); "
            "rescale the images, e.g. to 0-1, before learning a bank from them."
        )
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


def learn_kmeans_bank(
    patches,
    n_filters: int,
    *,
    whiten: bool = True,
    contrast_eps: float | str | None = "auto",
    zca_eps: float | str = "auto",
    max_iter: int = 100,
    n_init: int = 3,
    batch_size: int = 1024,
    random_state=None,
) -> LearnedBank:
    """Learn a full filter bank by k-means on normalised patches (Coates & Ng, 2011).

    Parameters
    ----------
    patches : array-like of shape (n_patches, kh, kw, C)
        Raw image patches (see the module's notes on where to get them). Not modified.
        NaN or infinite values raise ``ValueError``.
    n_filters : int
        Number of clusters, hence of filters.
    whiten : bool, default=True
        ZCA-whiten the normalised patches before clustering.
    contrast_eps : float > 0, "auto" or None, default="auto"
        Regulariser of the per-patch contrast normalisation: each patch ``p`` becomes
        ``(p - mean(p)) / sqrt(var(p) + contrast_eps)``. ``"auto"`` uses
        ``estimate_contrast_eps(patches)``, 1% of the
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
    bank : LearnedBank
        ``filters``, an ndarray of shape (n_filters, kh, kw, C): a full bank (summed over
        channels), channel axis kept even when ``C == 1``, every filter summing to zero; and
        ``bias``, an ndarray of shape (n_filters,), zero when ``whiten=False``.

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
    ``contrast_eps`` (resolve ``"auto"`` once with ``estimate_contrast_eps`` on the training
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
    >>> filters, bias = learn_kmeans_bank(patches, 4, random_state=0)
    >>> filters.shape, bias.shape
    ((4, 3, 3, 1), (4,))
    >>> bool(np.allclose(filters.sum(axis=(1, 2, 3)), 0))
    True
    """
    patches = _check_patches(patches)
    n_filters = check_int(n_filters, "n_filters")
    n_patches, kh, kw, n_channels = patches.shape
    if kh * kw * n_channels < 2:
        raise ValueError(
            f"learn_kmeans_bank needs patches with at least 2 values (kh * kw * C >= 2): zero-sum "
            f"filters on a single value are all zero; got patches of shape {patches.shape[1:]}. "
            f"Use larger patches (a kernel_size of 2 or more)."
        )
    if isinstance(contrast_eps, str) and contrast_eps == "auto":
        contrast_eps = estimate_contrast_eps(patches)
    elif contrast_eps is not None and not _is_positive_finite(contrast_eps):
        raise ValueError(
            f"contrast_eps must be a positive finite float, 'auto' or None; got {contrast_eps!r}."
        )
    if not (isinstance(zca_eps, str) and zca_eps == "auto") and not _is_positive_finite(zca_eps):
        raise ValueError(f"zca_eps must be a positive finite float or 'auto'; got {zca_eps!r}.")
    rng = check_random_state(random_state)

    normalized = normalize_patches(patches, contrast_eps=contrast_eps)
    normalized = normalized.reshape(n_patches, -1).astype(np.float64, copy=False)
    n_distinct = len(np.unique(normalized, axis=0))
    if n_distinct < n_filters or not np.any(normalized):
        warnings.warn(
            f"learn_kmeans_bank found {n_distinct} distinct normalised patch(es) for "
            f"n_filters={n_filters} clusters; returning random filters instead. Give it more "
            f"(or more varied) patches, or lower n_filters.",
            FilterBankFallbackWarning,
            stacklevel=2,
        )
        filters = random_bank(n_filters, (kh, kw), n_channels=n_channels, random_state=rng)
        return LearnedBank(filters, np.zeros(n_filters))

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
    return LearnedBank(folded.reshape(n_filters, kh, kw, n_channels), bias)


def learn_pca_bank(patches, n_filters: int) -> LearnedBank:
    """Learn an orthonormal full filter bank by PCA of mean-removed patches (PCANet).

    Parameters
    ----------
    patches : array-like of shape (n_patches, kh, kw, C)
        Raw image patches (see the module's notes on where to get them). Not modified.
        NaN or infinite values raise ``ValueError``.
    n_filters : int
        Number of principal components kept; at most ``kh * kw * C - 1``, the dimension of
        the zero-sum patches.

    Returns
    -------
    bank : LearnedBank
        ``filters``, an ndarray of shape (n_filters, kh, kw, C): a full bank (summed over
        channels), channel axis kept even when ``C == 1``, orthonormal, zero-sum, and ordered
        by decreasing variance of the patches projected on them; and ``bias``, zeros of
        shape (n_filters,) (PCANet adds none).

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
    >>> filters, bias = learn_pca_bank(patches, 4)
    >>> flat = filters.reshape(4, -1)
    >>> bool(np.allclose(flat @ flat.T, np.eye(4)))
    True
    """
    patches = _check_patches(patches)
    n_filters = check_int(n_filters, "n_filters")
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
            f"learn_pca_bank found {len(components)} direction(s) of variance in {n_patches} "
            f"patch(es) for n_filters={n_filters}; completing the bank with a fixed "
            f"orthonormal zero-sum basis. Give it more (or more varied) patches, or lower "
            f"n_filters.",
            FilterBankFallbackWarning,
            stacklevel=2,
        )
        components = _complete_zero_sum_basis(components, n_filters)
    filters = components[:n_filters].reshape(n_filters, kh, kw, n_channels)
    return LearnedBank(filters, np.zeros(n_filters))


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


# --- deprecated names (0.2), removed in 0.4 ---------------------------------------------------


def seed_bank() -> np.ndarray:
    """The tutorial's three 3x3 filters; deprecated name of :func:`tutorial_bank`.

    .. deprecated:: 0.2
       ``seed_bank`` will be removed in 0.4; use :func:`tutorial_bank`.

    Returns
    -------
    filters : ndarray of shape (3, 3, 3)
        ``tutorial_bank()``.
    """
    _warn_deprecated("seed_bank", "use tutorial_bank instead")
    return tutorial_bank()


def default_contrast_eps(patches) -> float:
    """Deprecated name of :func:`estimate_contrast_eps`.

    .. deprecated:: 0.2
       ``default_contrast_eps`` will be removed in 0.4; use :func:`estimate_contrast_eps`.

    Parameters
    ----------
    patches : array-like of shape (n_patches, kh, kw, C)
        The patches the bank is learned from.

    Returns
    -------
    contrast_eps : float
        ``estimate_contrast_eps(patches)``.
    """
    _warn_deprecated("default_contrast_eps", "use estimate_contrast_eps instead")
    return estimate_contrast_eps(patches)


def kmeans_bank(patches, n_filters: int, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Deprecated name of :func:`learn_kmeans_bank`, returning a plain tuple.

    .. deprecated:: 0.2
       ``kmeans_bank`` will be removed in 0.4; use :func:`learn_kmeans_bank`, which takes
       the same arguments and returns a :class:`LearnedBank`.

    Parameters
    ----------
    patches : array-like of shape (n_patches, kh, kw, C)
        Raw image patches.
    n_filters : int
        Number of filters.
    **kwargs
        The keyword arguments of :func:`learn_kmeans_bank`.

    Returns
    -------
    filters : ndarray of shape (n_filters, kh, kw, C)
        The learned bank.
    bias : ndarray of shape (n_filters,)
        The bias of each filter.
    """
    _warn_deprecated("kmeans_bank", "use learn_kmeans_bank instead")
    filters, bias = learn_kmeans_bank(patches, n_filters, **kwargs)
    return filters, bias


def pca_bank(patches, n_filters: int) -> np.ndarray:
    """Deprecated name of :func:`learn_pca_bank`, returning the filters only.

    .. deprecated:: 0.2
       ``pca_bank`` will be removed in 0.4; use :func:`learn_pca_bank`, which takes the same
       arguments and returns a :class:`LearnedBank` ``(filters, bias)``.

    Parameters
    ----------
    patches : array-like of shape (n_patches, kh, kw, C)
        Raw image patches.
    n_filters : int
        Number of filters.

    Returns
    -------
    filters : ndarray of shape (n_filters, kh, kw, C)
        ``learn_pca_bank(patches, n_filters).filters``.
    """
    _warn_deprecated("pca_bank", "use learn_pca_bank instead")
    return learn_pca_bank(patches, n_filters).filters
