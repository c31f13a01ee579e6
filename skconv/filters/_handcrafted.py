"""The hand-crafted banks: the tutorial's filters, edge (derivative) filters, Gabor and random.

Each returns a plain float64 array ``(n_filters, kh, kw)`` (or, for :func:`random_bank` with
``n_channels``, a full bank ``(n_filters, kh, kw, C)``). Re-exported by :mod:`skconv.filters`.
"""

from __future__ import annotations

import math

import numpy as np
import skimage.filters
from sklearn.utils import check_random_state

from .._validation import as_pair, check_int, check_positive_finite


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


def edge_bank(
    *, n_filters: int = 4, kernel_size: int | tuple[int, int] = 3, operator: str | None = None
) -> np.ndarray:
    """Derivative (edge) filters in ``n_filters`` orientations, from scikit-image's kernels.

    Every parameter is keyword-only: 0.1 took ``(kernel_size, n_filters)`` positionally, the
    opposite of every other builder, so a positional call cannot mean one thing in one
    release and the other in the next.

    .. deprecated:: 0.2
       Positional arguments are still read in the 0.1 order ``(kernel_size, n_filters)``,
       with a ``FutureWarning``; from 0.4 they raise ``TypeError``. Pass ``n_filters=`` and
       ``kernel_size=`` by keyword.

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
    bandwidth = check_positive_finite(bandwidth, "bandwidth")
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
