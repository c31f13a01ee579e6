"""Batched convolution and pooling on channels-last image stacks.

This is skconv's compute core: plain functions on numpy arrays, with no scikit-learn import.
The estimators validate their input and parameters, then delegate here.

Shapes used throughout:

- images: ``(n_images, height, width, n_channels)``
- a *full* bank: ``(n_filters, kernel_rows, kernel_cols, n_channels)``; each filter sums over
  the channels like a CNN kernel and gives one map.
- feature maps: ``(n_images, out_rows, out_cols, n_maps)``

Convolution here is cross-correlation (no kernel flip), as in ``scipy.signal.correlate2d``.
"""

from __future__ import annotations

import itertools

import numpy as np
from joblib import Parallel, delayed
from numpy.lib.stride_tricks import sliding_window_view
from threadpoolctl import threadpool_limits

Pair = tuple[int, int]
Padding = tuple[Pair, Pair]

ACTIVATIONS = ("relu", "abs", "crelu", "triangle")
CONV_METHODS = ("auto", "gemm", "fft")
POOL_MODES = ("max", "avg")

# The patch matrix of one work item stays near this size so that it is still in cache when the
# matrix product reads it back.
DEFAULT_CHUNK_BYTES = 4 * 2**20

# Below this many kernel elements per channel the patch-matrix product wins on 2-core machines;
# from here on the FFT's cost, which does not grow with the kernel, is lower.
FFT_MIN_KERNEL_ELEMENTS = 121


def resolve_padding(padding: str | Pair, kernel_shape: Pair) -> Padding:
    """Turn a padding setting into ``((top, bottom), (left, right))`` zero counts.

    ``"same"`` centres odd kernels; for even kernels the extra row and column of zeros go at the
    bottom and right. A pair ``(rows, cols)`` pads both sides of each axis by that many zeros.

    Examples
    --------
    >>> resolve_padding("same", (4, 3))
    ((1, 2), (1, 1))
    >>> resolve_padding((2, 0), (3, 3))
    ((2, 2), (0, 0))
    """
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding == "same":
            return tuple(((size - 1) // 2, size - 1 - (size - 1) // 2) for size in kernel_shape)
        raise ValueError(f"padding must be 'valid', 'same', an int or a pair; got {padding!r}.")
    rows, cols = padding
    return ((rows, rows), (cols, cols))


def conv_output_shape(
    image_shape: Pair, kernel_shape: Pair, stride: Pair, padding: Padding
) -> Pair:
    """Rows and columns of the maps that a kernel produces on a padded image.

    Examples
    --------
    >>> conv_output_shape((28, 28), (5, 5), (1, 1), ((0, 0), (0, 0)))
    (24, 24)
    >>> conv_output_shape((7, 5), (3, 3), (2, 2), resolve_padding("same", (3, 3)))
    (4, 3)
    """
    shape = []
    for axis, name in enumerate(("rows", "columns")):
        padded = image_shape[axis] + sum(padding[axis])
        if kernel_shape[axis] > padded:
            raise ValueError(
                f"The kernel has {kernel_shape[axis]} {name} but the padded image only "
                f"{padded}; use a smaller kernel_size or more padding (e.g. padding='same')."
            )
        shape.append((padded - kernel_shape[axis]) // stride[axis] + 1)
    return tuple(shape)


def expand_channelwise_bank(bank: np.ndarray, n_channels: int) -> np.ndarray:
    """Turn a 2-D bank ``(F, kh, kw)`` into the full bank that applies it to each channel.

    The result has ``n_channels * F`` filters, channel-major: filter ``c * F + f`` is
    ``bank[f]`` on channel ``c`` and zero on the others, so map ``c * F + f`` is filter ``f``
    applied to channel ``c``.

    Examples
    --------
    >>> full = expand_channelwise_bank(np.ones((2, 3, 3)), 3)
    >>> full.shape
    (6, 3, 3, 3)
    >>> full[4, :, :, 2].sum(), full[4, :, :, :2].sum()
    (np.float64(9.0), np.float64(0.0))
    """
    n_filters, rows, cols = bank.shape
    full = np.zeros((n_channels, n_filters, rows, cols, n_channels), dtype=bank.dtype)
    for channel in range(n_channels):
        full[channel, :, :, :, channel] = bank
    return full.reshape(n_channels * n_filters, rows, cols, n_channels)


def n_output_maps(n_filters: int, activation: str | None) -> int:
    """Number of maps a full bank of ``n_filters`` gives after ``activation``."""
    return 2 * n_filters if activation == "crelu" else n_filters


def choose_conv_method(kernel_shape: Pair, contrast_eps: float | None) -> str:
    """The algorithm ``convolve(method="auto")`` runs for a kernel of this size.

    Examples
    --------
    >>> choose_conv_method((5, 5), None), choose_conv_method((15, 15), None)
    ('gemm', 'fft')
    """
    if contrast_eps is None and kernel_shape[0] * kernel_shape[1] >= FFT_MIN_KERNEL_ELEMENTS:
        return "fft"
    return "gemm"


def convolve(
    images: np.ndarray,
    bank: np.ndarray,
    *,
    stride: Pair = (1, 1),
    padding: Padding = ((0, 0), (0, 0)),
    activation: str | None = None,
    bias: np.ndarray | None = None,
    contrast_eps: float | None = None,
    method: str = "auto",
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    n_jobs: int = 1,
) -> np.ndarray:
    """Cross-correlate a stack of images with a full filter bank.

    Parameters
    ----------
    images : ndarray of shape (n_images, height, width, n_channels)
        Float32 or float64 images. Never modified.
    bank : ndarray of shape (n_filters, kernel_rows, kernel_cols, n_channels)
        Full bank; it is cast to the images' dtype.
    stride : pair of int, default=(1, 1)
        Step between output positions, counted from the first padded row and column.
    padding : ((top, bottom), (left, right)), default no padding
        Zeros added around each image (see :func:`resolve_padding`).
    activation : {"relu", "abs", "crelu", "triangle"} or None, default=None
        Applied in place to the responses. ``"crelu"`` keeps ``relu(r)`` as maps ``0..F-1`` and
        ``relu(-r)`` as maps ``F..2F-1``; ``"triangle"`` is ``relu(r_k - mean_j r_j)`` over the
        maps at each position.
    bias : ndarray of shape (n_filters,), default=None
        Added to the responses before the activation.
    contrast_eps : float, default=None
        If given, each response is divided by ``sqrt(var + contrast_eps)``, where ``var`` is the
        variance of the (padded) window it was computed on, over rows, columns and channels.
        Together with zero-sum filters this reproduces the per-patch normalisation that
        learned banks are fitted on.
    method : {"auto", "gemm", "fft"}, default="auto"
        ``"gemm"`` multiplies a patch matrix by the bank, chunk by chunk; ``"fft"`` multiplies
        spectra. ``"auto"`` follows :func:`choose_conv_method`.
    chunk_bytes : int, default=4 MiB
        Size of the scratch patch matrix of one work item.
    n_jobs : int, default=1
        Threads that share the work; BLAS is limited to one thread each meanwhile.

    Returns
    -------
    maps : ndarray of shape (n_images, out_rows, out_cols, n_maps)
        In the images' dtype, allocated once in this final layout.

    Examples
    --------
    >>> images = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> box = np.ones((1, 2, 2, 1))
    >>> convolve(images, box)[0, :, :, 0]
    array([[10., 14., 18.],
           [26., 30., 34.],
           [42., 46., 50.]])
    """
    dtype = images.dtype
    n_images, height, width, _ = images.shape
    kernel_shape = bank.shape[1:3]
    out_rows, out_cols = conv_output_shape((height, width), kernel_shape, stride, padding)

    bank = bank.astype(dtype, copy=False)
    bias = None if bias is None else np.asarray(bias, dtype=dtype)
    if activation == "crelu":
        # relu(-r) is relu of the response to the negated filter, so one product gives both.
        bank = np.concatenate([bank, -bank])
        bias = None if bias is None else np.concatenate([bias, -bias])
    n_maps = bank.shape[0]
    maps = np.empty((n_images, out_rows, out_cols, n_maps), dtype=dtype)
    if n_images == 0:
        return maps

    if method == "auto":
        method = choose_conv_method(kernel_shape, contrast_eps)
    if method == "fft" and contrast_eps is not None:
        raise ValueError("contrast_eps needs method='gemm' or 'auto'.")
    if method == "gemm":
        run_item = _gemm_worker(images, bank, maps, stride, padding, contrast_eps, chunk_bytes)
        items = _row_blocks(
            n_images, out_rows, out_cols * bank[0].size * dtype.itemsize, chunk_bytes
        )
    elif method == "fft":
        run_item = _fft_worker(images, bank, maps, stride, padding)
        items = [(start, start + 1, 0, out_rows) for start in range(n_images)]
    else:
        raise ValueError(f"method must be one of {CONV_METHODS}; got {method!r}.")

    def run_items(group):
        for item in group:
            block = run_item(item)
            _finish(block, bias, activation)

    _run_in_threads(run_items, items, n_jobs)
    return maps


def _row_blocks(n_images: int, out_rows: int, bytes_per_row: int, chunk_bytes: int) -> list:
    """Split the output into ``(image_start, image_stop, row_start, row_stop)`` items."""
    rows_per_item = max(1, chunk_bytes // max(bytes_per_row, 1))
    if rows_per_item >= out_rows:
        images_per_item = rows_per_item // out_rows
        return [
            (start, min(start + images_per_item, n_images), 0, out_rows)
            for start in range(0, n_images, images_per_item)
        ]
    return [
        (image, image + 1, row, min(row + rows_per_item, out_rows))
        for image in range(n_images)
        for row in range(0, out_rows, rows_per_item)
    ]


def _padded_rows(
    images, image_start, image_stop, row_start, row_stop, kernel_rows, stride, padding
):
    """The zero-padded input rows that output rows ``row_start:row_stop`` read."""
    (top, _), (left, right) = padding
    first = row_start * stride[0] - top
    last = (row_stop - 1) * stride[0] + kernel_rows - top
    source = images[image_start:image_stop, max(first, 0) : min(last, images.shape[1])]
    pad_rows = (max(-first, 0), max(last - images.shape[1], 0))
    if pad_rows == (0, 0) and left == right == 0:
        return source
    return np.pad(source, ((0, 0), pad_rows, (left, right), (0, 0)))


def _gemm_worker(images, bank, maps, stride, padding, contrast_eps, chunk_bytes):
    n_maps, kernel_rows, kernel_cols, _ = bank.shape
    # Patch columns are ordered (channel, kernel row, kernel col), as sliding_window_view
    # lays the windows out; the bank matrix follows that order.
    weights = np.ascontiguousarray(bank.transpose(3, 1, 2, 0).reshape(-1, n_maps))

    def run(item):
        image_start, image_stop, row_start, row_stop = item
        source = _padded_rows(
            images, image_start, image_stop, row_start, row_stop, kernel_rows, stride, padding
        )
        windows = sliding_window_view(source, (kernel_rows, kernel_cols), axis=(1, 2))
        windows = windows[:, :: stride[0], :: stride[1]][
            :, : row_stop - row_start, : maps.shape[2]
        ]
        patches = windows.reshape(-1, weights.shape[0])
        block = maps[image_start:image_stop, row_start:row_stop]
        np.matmul(patches, weights, out=block.reshape(-1, n_maps))
        if contrast_eps is not None:
            mean = patches.mean(axis=1)
            variance = np.einsum("ij,ij->i", patches, patches) / patches.shape[1] - mean * mean
            np.maximum(variance, 0, out=variance)
            variance += contrast_eps
            block.reshape(-1, n_maps)[...] /= np.sqrt(variance)[:, None]
        return block

    return run


def _fft_worker(images, bank, maps, stride, padding):
    import scipy.fft

    (top, bottom), (left, right) = padding
    fft_shape = (images.shape[1] + top + bottom, images.shape[2] + left + right)
    # Correlation is a product with the conjugate spectrum; the valid part of a circular
    # correlation of the padded image's size never wraps around.
    bank_spectrum = np.conj(scipy.fft.rfft2(bank, s=fft_shape, axes=(1, 2)))
    out_rows, out_cols = maps.shape[1:3]
    row_stop = (out_rows - 1) * stride[0] + 1
    col_stop = (out_cols - 1) * stride[1] + 1

    def run(item):
        image_start, image_stop = item[:2]
        padded = np.pad(
            images[image_start:image_stop], ((0, 0), (top, bottom), (left, right), (0, 0))
        )
        spectrum = scipy.fft.rfft2(padded, axes=(1, 2))
        # (freq, 1, C) @ (freq, C, F) per image: sums channels for every filter at once.
        product = np.einsum("nhwc,fhwc->nhwf", spectrum, bank_spectrum, optimize=True)
        response = scipy.fft.irfft2(product, s=fft_shape, axes=(1, 2))
        block = maps[image_start:image_stop]
        block[...] = response[:, : row_stop : stride[0], : col_stop : stride[1]]
        return block

    return run


def _finish(block: np.ndarray, bias: np.ndarray | None, activation: str | None) -> None:
    """Bias and activation, in place on a block of maps."""
    if bias is not None:
        block += bias
    if activation in ("relu", "crelu"):
        np.maximum(block, 0, out=block)
    elif activation == "abs":
        np.abs(block, out=block)
    elif activation == "triangle":
        block -= block.mean(axis=-1, keepdims=True)
        np.maximum(block, 0, out=block)
    elif activation is not None:
        raise ValueError(f"activation must be one of {ACTIVATIONS} or None; got {activation!r}.")


def _run_in_threads(run_group, items: list, n_jobs: int) -> None:
    """Run ``run_group`` over contiguous groups of items, one group per thread."""
    n_groups = max(1, min(n_jobs, len(items)))
    if n_groups == 1:
        run_group(items)
        return
    bounds = np.linspace(0, len(items), n_groups + 1).astype(int)
    groups = [items[start:stop] for start, stop in itertools.pairwise(bounds)]
    # numpy releases the GIL in copies and products; BLAS threads on top would oversubscribe.
    with threadpool_limits(limits=1, user_api="blas"):
        Parallel(n_jobs=n_groups, prefer="threads")(delayed(run_group)(g) for g in groups)


def pool_output_shape(map_shape: Pair, pool_size: Pair, stride: Pair, padding: Pair) -> Pair:
    """Rows and columns after pooling: windows that fit entirely in the padded map.

    Examples
    --------
    >>> pool_output_shape((5, 3), (2, 2), (1, 1), (0, 0))
    (4, 2)
    >>> pool_output_shape((24, 24), (3, 3), (2, 2), (1, 1))
    (12, 12)
    """
    shape = []
    for axis, name in enumerate(("rows", "columns")):
        padded = map_shape[axis] + 2 * padding[axis]
        if pool_size[axis] > padded:
            raise ValueError(
                f"The pooling window has {pool_size[axis]} {name} but the (padded) maps only "
                f"{padded}; use a smaller pool_size, or pool_size=None for global pooling."
            )
        shape.append((padded - pool_size[axis]) // stride[axis] + 1)
    return tuple(shape)


def pool(
    maps: np.ndarray,
    pool_size: Pair,
    *,
    stride: Pair | None = None,
    mode: str = "max",
    padding: Pair = (0, 0),
    n_jobs: int = 1,
) -> np.ndarray:
    """Max or average pooling of feature maps over windows that fit in the padded map.

    Parameters
    ----------
    maps : ndarray of shape (n_images, rows, cols, n_maps)
        Never modified.
    pool_size : pair of int
        Window rows and columns.
    stride : pair of int, default=None
        Step between windows; ``None`` means ``pool_size`` (non-overlapping windows).
    mode : {"max", "avg"}, default="max"
    padding : pair of int, default=(0, 0)
        Cells added on both sides of each axis; at most half the window. Max pooling ignores
        them, average pooling counts them as zeros (PyTorch's defaults).
    n_jobs : int, default=1
        Threads that share the images.

    Returns
    -------
    pooled : ndarray of shape (n_images, out_rows, out_cols, n_maps)

    Examples
    --------
    >>> maps = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> pool(maps, (2, 2))[0, :, :, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    >>> pool(maps, (2, 2), stride=(1, 1), mode="avg")[0, :, :, 0]
    array([[ 2.5,  3.5,  4.5],
           [ 6.5,  7.5,  8.5],
           [10.5, 11.5, 12.5]])
    """
    stride = tuple(pool_size) if stride is None else tuple(stride)
    if mode not in POOL_MODES:
        raise ValueError(f"mode must be one of {POOL_MODES}; got {mode!r}.")
    for axis in range(2):
        if 2 * padding[axis] > pool_size[axis]:
            raise ValueError(
                f"pooling padding {tuple(padding)} is more than half the window "
                f"{tuple(pool_size)}; use a smaller padding."
            )
    n_images, rows, cols, n_maps = maps.shape
    out_rows, out_cols = pool_output_shape((rows, cols), pool_size, stride, padding)
    pooled = np.empty((n_images, out_rows, out_cols, n_maps), dtype=maps.dtype)

    def run_group(group):
        for start, stop in group:
            pooled[start:stop] = _pool_block(
                maps[start:stop], pool_size, stride, mode, padding, (out_rows, out_cols)
            )

    step = max(1, min(n_images, 2**22 // max(maps[0].nbytes, 1)))
    items = [(start, min(start + step, n_images)) for start in range(0, n_images, step)]
    _run_in_threads(run_group, items, n_jobs)
    return pooled


def _pool_block(maps, pool_size, stride, mode, padding, out_shape):
    if padding != (0, 0):
        fill = -np.inf if mode == "max" else 0
        maps = np.pad(
            maps, ((0, 0), (padding[0],) * 2, (padding[1],) * 2, (0, 0)), constant_values=fill
        )
    out_rows, out_cols = out_shape
    if tuple(stride) == tuple(pool_size):
        # Non-overlapping windows: a reshape exposes each window as two axes.
        n_images, _, _, n_maps = maps.shape
        cropped = maps[:, : out_rows * pool_size[0], : out_cols * pool_size[1]]
        windows = cropped.reshape(n_images, out_rows, pool_size[0], out_cols, pool_size[1], n_maps)
        if mode == "max":
            return windows.max(axis=(2, 4))
        return windows.mean(axis=(2, 4))
    # Overlapping windows: reduce rows, then columns, one window offset at a time.
    reduce = np.maximum if mode == "max" else np.add
    by_rows = _reduce_along(maps, 1, pool_size[0], stride[0], out_rows, reduce)
    result = _reduce_along(by_rows, 2, pool_size[1], stride[1], out_cols, reduce)
    if mode == "avg":
        result /= pool_size[0] * pool_size[1]
    return result


def _reduce_along(array, axis, window, step, n_out, reduce):
    def offset(start):
        index = [slice(None)] * array.ndim
        index[axis] = slice(start, start + (n_out - 1) * step + 1, step)
        return array[tuple(index)]

    result = offset(0).copy()
    for start in range(1, window):
        reduce(result, offset(start), out=result)
    return result


def grid_pool(maps: np.ndarray, grid: Pair, *, mode: str = "max") -> np.ndarray:
    """Pool each map over a ``grid`` of regions that together cover it.

    Region ``i`` along an axis of length ``L`` split ``g`` ways spans
    ``floor(i * L / g)`` to ``ceil((i + 1) * L / g)``, so regions cover the map, may overlap by a
    cell when ``g`` does not divide ``L``, and the output size does not depend on the map size.

    Examples
    --------
    >>> maps = np.arange(25.0).reshape(1, 5, 5, 1)
    >>> grid_pool(maps, (2, 2))[0, :, :, 0]
    array([[12., 14.],
           [22., 24.]])
    """
    if mode not in POOL_MODES:
        raise ValueError(f"mode must be one of {POOL_MODES}; got {mode!r}.")
    n_images, rows, cols, n_maps = maps.shape
    if grid[0] > rows or grid[1] > cols:
        raise ValueError(
            f"grid {tuple(grid)} has more regions than the {rows}x{cols} maps have cells; "
            "use a smaller grid."
        )
    pooled = np.empty((n_images, grid[0], grid[1], n_maps), dtype=maps.dtype)
    reduce = np.max if mode == "max" else np.mean
    row_bounds = _grid_bounds(rows, grid[0])
    col_bounds = _grid_bounds(cols, grid[1])
    for i, (row_start, row_stop) in enumerate(row_bounds):
        for j, (col_start, col_stop) in enumerate(col_bounds):
            region = maps[:, row_start:row_stop, col_start:col_stop]
            pooled[:, i, j] = reduce(region, axis=(1, 2))
    return pooled


def _grid_bounds(length: int, parts: int) -> list[Pair]:
    return [(i * length // parts, -(-(i + 1) * length // parts)) for i in range(parts)]
