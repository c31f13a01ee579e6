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

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from joblib import effective_n_jobs
from numpy.lib.stride_tricks import sliding_window_view
from threadpoolctl import ThreadpoolController

Pair = tuple[int, int]
Padding = tuple[Pair, Pair]

ACTIVATIONS = ("relu", "abs", "crelu", "triangle")
CONV_METHODS = ("auto", "gemm", "fft")
POOL_MODES = ("max", "avg")

# The scratch of one work item (patch matrix, product of spectra) stays near this size so that
# it is still in cache when it is read back.
DEFAULT_CHUNK_BYTES = 2 * 2**20
# Pooling's intermediate is smaller than its input; a few images at a time keep it in L2.
POOL_CHUNK_BYTES = 2**19

# With this many channels or more, patch matrices are built row-major (whole pixels copied at
# once); with fewer, transposed (the copy writes long contiguous runs). Measured crossover.
ROW_LAYOUT_MIN_CHANNELS = 3

# The cost rule: the estimated seconds of each algorithm are these weights times the counts of
# _cost_terms. Fitted to float32 timings on one core of a 2-core AMD EPYC (Zen 4) with OpenBLAS
# by benchmarks/cost_rule.py.
GEMM_COST_WEIGHTS = (1.71e-11, 5.25e-10, 5.36e-10, 1.75e-05)
FFT_COST_WEIGHTS = (2.08e-10, 7.4e-10, 1.65e-09, 4.56e-10, 1.75e-18)


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
                f"{padded}; use a smaller kernel (kernel_size, or a smaller filters array) or "
                "more padding (e.g. padding='same')."
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


def choose_conv_method(
    kernel_shape: Pair,
    contrast_eps: float | None = None,
    *,
    image_shape: Pair = (64, 64),
    n_images: int = 100,
    n_channels: int = 1,
    n_filters: int = 8,
    stride: Pair = (1, 1),
    padding: Padding = ((0, 0), (0, 0)),
) -> str:
    """The algorithm ``convolve(method="auto")`` runs: the one with the lower estimated time.

    The patch-matrix product ("gemm") costs, per output position, a multiply-add per kernel
    element, channel and filter, a copy of the patch and the write of the outputs. The FFT
    costs, per image, a transform of the padded size for every channel (forward) and filter
    (inverse), a product of spectra that sums the channels for every filter, and the write of
    every position's response (stride only subsamples them); once per call, the transforms of
    the bank. Each algorithm's estimate is a weighted sum of these counts, with the weights
    fitted to timings on the machine in the performance page of the documentation (float32,
    one thread) by ``benchmarks/cost_rule.py``.

    Parameters
    ----------
    kernel_shape : pair of int
        Kernel rows and columns.
    contrast_eps : float or None, default=None
        Contrast normalisation needs the patch matrix, so it always means ``"gemm"``.
    image_shape : pair of int, default=(64, 64)
        Image rows and columns, before padding.
    n_images : int, default=100
        Images in the call: the bank's transforms are shared by all of them.
    n_channels : int, default=1
        Channels of the images (and of the full bank).
    n_filters : int, default=8
        Filters in the full bank.
    stride : pair of int, default=(1, 1)
    padding : ((top, bottom), (left, right)), default no padding

    Returns
    -------
    method : {"gemm", "fft"}

    Examples
    --------
    >>> choose_conv_method((5, 5), image_shape=(28, 28), n_images=10000, n_filters=32)
    'gemm'
    >>> choose_conv_method((15, 15), image_shape=(512, 512), n_images=8, n_filters=8)
    'fft'
    >>> choose_conv_method((15, 15), 1e-2, image_shape=(512, 512), n_images=8, n_filters=8)
    'gemm'
    """
    if contrast_eps is not None:
        return "gemm"
    gemm_terms, fft_terms = _cost_terms(
        image_shape, kernel_shape, n_images, n_channels, n_filters, stride, padding
    )
    gemm = np.dot(GEMM_COST_WEIGHTS, gemm_terms)
    fft = np.dot(FFT_COST_WEIGHTS, fft_terms)
    return "fft" if fft < gemm else "gemm"


def _cost_terms(image_shape, kernel_shape, n_images, n_channels, n_filters, stride, padding):
    """The counts that each algorithm's time is a weighted sum of (see choose_conv_method)."""
    out_rows, out_cols = conv_output_shape(image_shape, kernel_shape, stride, padding)
    positions = n_images * out_rows * out_cols
    patch_size = kernel_shape[0] * kernel_shape[1] * n_channels
    gemm = (positions * patch_size * n_filters, positions * patch_size, positions * n_filters, 1)
    fft_rows, fft_cols = _fft_shape(image_shape, padding)
    points = fft_rows * fft_cols
    transform = points * np.log2(max(points, 2))
    fft = (
        n_images * transform * (n_channels + n_filters),
        n_images * fft_rows * (fft_cols // 2 + 1) * n_channels * n_filters,
        n_images * points * n_filters,
        transform * n_channels * n_filters,
        1,
    )
    return gemm, fft


def _fft_shape(image_shape: Pair, padding: Padding) -> Pair:
    """Transform size: the padded image, rounded up to a size pocketfft is fast at."""
    import scipy.fft

    return tuple(
        scipy.fft.next_fast_len(size + before + after, real=True)
        for size, (before, after) in zip(image_shape, padding)
    )


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
        ``"gemm"`` multiplies a patch matrix by the bank, a block of output rows at a time;
        ``"fft"`` multiplies spectra, a few images at a time. ``"auto"`` follows
        :func:`choose_conv_method`.
    chunk_bytes : int, default=2 MiB
        Size of the scratch of one work item (the patch matrix, or the product of spectra);
        each thread allocates its scratch once. Items never go below one output row (gemm) or
        one image (fft), so the scratch can exceed this for huge images.
    n_jobs : int, default=1
        Threads that share the work items (``-1``: all cores). BLAS runs single-threaded
        meanwhile, whatever ``n_jobs`` is, and every item is computed the same way, so the
        maps do not depend on ``n_jobs``.

    Returns
    -------
    maps : ndarray of shape (n_images, out_rows, out_cols, n_maps)
        In the images' dtype, allocated once in this final layout.

    See Also
    --------
    choose_conv_method : The cost rule behind ``method="auto"``.

    Notes
    -----
    Beyond the input and the output, the working set is at most about ``n_jobs`` times
    ``chunk_bytes`` (plus a zero-padded copy of the rows an item reads when there is padding),
    whatever the number of images.

    Examples
    --------
    >>> images = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> box = np.ones((1, 2, 2, 1))
    >>> convolve(images, box)[0, :, :, 0]
    array([[10., 14., 18.],
           [26., 30., 34.],
           [42., 46., 50.]])
    >>> np.allclose(convolve(images, box, method="fft"), convolve(images, box, method="gemm"))
    True
    """
    if method not in CONV_METHODS:
        raise ValueError(f"method must be one of {CONV_METHODS}; got {method!r}.")
    if activation is not None and activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS} or None; got {activation!r}.")
    if method == "fft" and contrast_eps is not None:
        raise ValueError("contrast_eps needs method='gemm' or 'auto'.")
    dtype = images.dtype
    n_images, height, width, n_channels = images.shape
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
        method = choose_conv_method(
            kernel_shape,
            contrast_eps,
            image_shape=(height, width),
            n_images=n_images,
            n_channels=n_channels,
            n_filters=n_maps,
            stride=stride,
            padding=padding,
        )
    plan_type = _GemmPlan if method == "gemm" else _FftPlan
    plan = plan_type(images, bank, maps, stride, padding, contrast_eps, chunk_bytes)

    def run_items(items, workers):
        scratch = plan.allocate_scratch()
        for item in items:
            block = plan.run(item, scratch, workers)
            _finish(block, bias, activation)

    _run_in_threads(run_items, plan.items, n_jobs)
    return maps


class _GemmPlan:
    """Patch matrix times bank, a block of output rows of one or more images per item.

    The patch matrix is copied from a strided view of the windows into a scratch buffer that
    each thread allocates once. With few channels it is laid out transposed,
    ``(patch element, position)``, so that the copy writes long contiguous runs; with many
    channels row-major, ``(position, patch element)``, so that it moves whole pixels.
    """

    def __init__(self, images, bank, maps, stride, padding, contrast_eps, chunk_bytes):
        self.images, self.maps = images, maps
        self.stride, self.padding, self.contrast_eps = stride, padding, contrast_eps
        n_maps, self.kernel_rows, self.kernel_cols, n_channels = bank.shape
        # Patch elements are ordered (kernel row, kernel col, channel); the weights follow.
        self.weights = np.ascontiguousarray(bank.transpose(1, 2, 3, 0).reshape(-1, n_maps))
        self.transposed = n_channels < ROW_LAYOUT_MIN_CHANNELS
        n_images, out_rows, out_cols, _ = maps.shape
        patch_row_bytes = out_cols * self.weights.shape[0] * maps.itemsize
        self.items = _row_blocks(n_images, out_rows, patch_row_bytes, chunk_bytes)
        first_images, first_rows = _item_extent(self.items[0])
        self.patch_size = first_images * first_rows * out_cols * self.weights.shape[0]
        (top, bottom), (left, right) = padding
        self.needs_padding = top + bottom + left + right > 0
        read_rows = (first_rows - 1) * stride[0] + self.kernel_rows
        self.padded_size = first_images * read_rows * (images.shape[2] + left + right)
        self.padded_size *= n_channels

    def allocate_scratch(self):
        dtype = self.maps.dtype
        padded = np.empty(self.padded_size, dtype) if self.needs_padding else None
        return np.empty(self.patch_size, dtype), padded

    def run(self, item, scratch, workers):
        patch_buffer, padded_buffer = scratch
        image_start, image_stop, row_start, row_stop = item
        source = _padded_source(
            self.images, item, self.kernel_rows, self.stride, self.padding, padded_buffer
        )
        n_images, n_rows = _item_extent(item)
        out_cols = self.maps.shape[2]
        n_positions = n_images * n_rows * out_cols
        # windows[n, r, c, channel, i, j] is input (r * row_step + i, c * col_step + j).
        windows = sliding_window_view(source, (self.kernel_rows, self.kernel_cols), axis=(1, 2))
        windows = windows[:, :: self.stride[0], :: self.stride[1]][:, :n_rows, :out_cols]
        # The patch matrix is one copy of the windows, which numpy walks in the destination's
        # memory order: (i, j, channel, n, r, c) when transposed, else (n, r, c, i, j, channel).
        order = (4, 5, 3, 0, 1, 2) if self.transposed else (0, 1, 2, 4, 5, 3)
        windows = windows.transpose(order)
        patches = patch_buffer[: windows.size].reshape(windows.shape)
        np.copyto(patches, windows)
        if self.transposed:
            matrix = patches.reshape(-1, n_positions).T
        else:
            matrix = patches.reshape(n_positions, -1)
        block = self.maps[image_start:image_stop, row_start:row_stop]
        responses = block.reshape(n_positions, -1)
        np.matmul(matrix, self.weights, out=responses)
        if self.contrast_eps is not None:
            _divide_by_window_std(responses, matrix, self.contrast_eps)
        return block


def _divide_by_window_std(responses, matrix, contrast_eps):
    """Divide each row of responses by the std of its patch (a row of ``matrix``)."""
    size = matrix.shape[1]
    mean = matrix.sum(axis=1) / size
    variance = np.einsum("ij,ij->i", matrix, matrix) / size - mean * mean
    np.maximum(variance, 0, out=variance)
    variance += contrast_eps
    responses /= np.sqrt(variance)[:, None]


def _item_extent(item) -> Pair:
    """Images and output rows of a work item."""
    image_start, image_stop, row_start, row_stop = item
    return image_stop - image_start, row_stop - row_start


def _row_blocks(n_images: int, out_rows: int, bytes_per_row: int, chunk_bytes: int) -> list:
    """Split the output into ``(image_start, image_stop, row_start, row_stop)`` items.

    Whole images when at least one fits in ``chunk_bytes``, otherwise blocks of rows of one
    image; never less than one row.
    """
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


def _padded_source(images, item, kernel_rows, stride, padding, buffer):
    """The zero-padded input rows that an item's output rows read.

    A view of ``images`` when no zeros are needed, else a copy into ``buffer`` with only the
    zero border written besides the image.
    """
    image_start, image_stop, row_start, row_stop = item
    (top, _), (left, right) = padding
    height, width, n_channels = images.shape[1:]
    first = row_start * stride[0] - top
    stop = (row_stop - 1) * stride[0] + kernel_rows - top
    if first >= 0 and stop <= height and left == right == 0:
        return images[image_start:image_stop, first:stop]
    n_rows = stop - first
    padded = buffer[: (image_stop - image_start) * n_rows * (left + width + right) * n_channels]
    padded = padded.reshape(image_stop - image_start, n_rows, left + width + right, n_channels)
    # Rows of the padded source that hold image rows: [inside_start, inside_stop).
    inside_start = min(max(-first, 0), n_rows)
    inside_stop = min(max(height - first, inside_start), n_rows)
    padded[:, :inside_start] = 0
    padded[:, inside_stop:] = 0
    inside = padded[:, inside_start:inside_stop]
    inside[:, :, :left] = 0
    inside[:, :, left + width :] = 0
    inside[:, :, left : left + width] = images[
        image_start:image_stop, first + inside_start : first + inside_stop
    ]
    return padded


class _FftPlan:
    """Products of spectra, a few whole images per item.

    The bank's spectrum is computed once, from each kernel shifted circularly by the top and
    left padding: correlating the unpadded image (zero-extended to the transform size) with it
    equals correlating the padded image with the kernel, so images are never padded by hand.
    The transform size is at least the padded size, so the part that is kept never wraps.
    """

    def __init__(self, images, bank, maps, stride, padding, contrast_eps, chunk_bytes):
        import scipy.fft

        self.images, self.maps, self.stride = images, maps, stride
        n_maps, kernel_rows, kernel_cols, n_channels = bank.shape
        self.fft_shape = _fft_shape(images.shape[1:3], padding)
        (top, _), (left, _) = padding
        shifted = np.zeros((n_maps, *self.fft_shape, n_channels), dtype=bank.dtype)
        shifted[:, :kernel_rows, :kernel_cols] = bank
        shifted = np.roll(shifted, (-top, -left), axis=(1, 2))
        # Correlation is a product with the conjugate spectrum; laid out (row, col, c, f).
        spectrum = np.conj(scipy.fft.rfft2(shifted, axes=(1, 2)))
        self.bank_spectrum = np.ascontiguousarray(spectrum.transpose(1, 2, 3, 0))
        frequencies = self.bank_spectrum.shape[0] * self.bank_spectrum.shape[1]
        self.product_shape = (*self.bank_spectrum.shape[:2], n_maps)
        complex_size = self.bank_spectrum.itemsize
        image_bytes = frequencies * complex_size * (n_maps + n_channels)
        image_bytes += self.fft_shape[0] * self.fft_shape[1] * n_maps * maps.itemsize
        images_per_item = max(1, chunk_bytes // image_bytes)
        n_images = images.shape[0]
        self.items = [
            (start, min(start + images_per_item, n_images))
            for start in range(0, n_images, images_per_item)
        ]
        self.product_size = images_per_item * frequencies * n_maps

    def allocate_scratch(self):
        return np.empty(self.product_size, self.bank_spectrum.dtype)

    def run(self, item, product_buffer, workers):
        import scipy.fft

        image_start, image_stop = item
        n_images = image_stop - image_start
        spectrum = scipy.fft.rfft2(
            self.images[image_start:image_stop], s=self.fft_shape, axes=(1, 2), workers=workers
        )
        product = product_buffer[: n_images * spectrum[0, ..., 0].size * self.product_shape[2]]
        product = product.reshape(n_images, *self.product_shape)
        # At each frequency, sums channels for every filter: a (n, C) @ (C, F) product, or a
        # broadcast product for one channel.
        if spectrum.shape[3] == 1:
            np.multiply(spectrum, self.bank_spectrum[:, :, 0], out=product)
        else:
            np.matmul(
                spectrum.transpose(1, 2, 0, 3),
                self.bank_spectrum,
                out=product.transpose(1, 2, 0, 3),
            )
        response = scipy.fft.irfft2(
            product, s=self.fft_shape, axes=(1, 2), workers=workers, overwrite_x=True
        )
        block = self.maps[image_start:image_stop]
        out_rows, out_cols = block.shape[1:3]
        row_step, col_step = self.stride
        block[...] = response[
            :,
            : (out_rows - 1) * row_step + 1 : row_step,
            : (out_cols - 1) * col_step + 1 : col_step,
        ]
        return block


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


_blas_controller = None


def _single_threaded_blas():
    """A context in which BLAS uses one thread; the library scan is done once per process."""
    global _blas_controller
    if _blas_controller is None:
        _blas_controller = ThreadpoolController()
    return _blas_controller.limit(limits=1, user_api="blas")


def _run_in_threads(run_items, items: list, n_jobs: int) -> None:
    """Run ``run_items(item_iterator, workers)`` on ``n_jobs`` threads sharing the items.

    Threads take the next item when they finish one, so a thread that the OS preempts (other
    processes, a busy virtual machine) does not hold the others back. Every item is computed
    the same way whichever thread takes it, so the results do not depend on ``n_jobs``.
    ``workers`` is the number of threads an item may use itself (scipy.fft) when there are
    fewer items than ``n_jobs``. The threads come from ``concurrent.futures`` rather than
    joblib, whose result loop polls every 10 ms: that added 10-15 ms to every call, as much
    as the whole work of a mid-sized batch.
    """
    n_jobs = effective_n_jobs(n_jobs)
    n_threads = max(1, min(n_jobs, len(items)))
    workers = max(1, n_jobs // n_threads)
    # Products this small run fastest on one BLAS thread, and threads on top would
    # oversubscribe; one thread also makes the results independent of n_jobs.
    with _single_threaded_blas():
        if n_threads == 1:
            run_items(iter(items), workers)
            return
        pending = iter(items)
        lock = threading.Lock()

        def shared_items():
            while True:
                with lock:
                    item = next(pending, None)
                if item is None:
                    return
                yield item

        with ThreadPoolExecutor(max_workers=n_threads - 1) as executor:
            others = [
                executor.submit(run_items, shared_items(), workers) for _ in range(n_threads - 1)
            ]
            run_items(shared_items(), workers)
            for future in others:
                future.result()


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
    chunk_bytes: int = POOL_CHUNK_BYTES,
    n_jobs: int = 1,
) -> np.ndarray:
    """Max or average pooling of feature maps over windows that fit in the padded map.

    Windows are reduced separably: each output row takes the maximum (or sum) of the window's
    input rows, one elementwise operation per window row, and then the same along columns.
    Non-overlapping windows are the special case stride = window; this beats reducing a
    ``(rows, window, cols, window)`` reshape over two axes.

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
    chunk_bytes : int, default=512 KiB
        Maps are pooled a few images at a time, about this many input bytes, so that the
        intermediate stays in cache; never less than one image.
    n_jobs : int, default=1
        Threads that share the images (``-1``: all cores); the result does not depend on it.

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
    pool_size, padding = tuple(pool_size), tuple(padding)
    if mode not in POOL_MODES:
        raise ValueError(f"mode must be one of {POOL_MODES}; got {mode!r}.")
    for axis in range(2):
        if 2 * padding[axis] > pool_size[axis]:
            raise ValueError(
                f"pooling padding {padding} is more than half the window {pool_size}; use a "
                "smaller padding."
            )
    n_images, rows, cols, n_maps = maps.shape
    out_rows, out_cols = pool_output_shape((rows, cols), pool_size, stride, padding)
    pooled = np.empty((n_images, out_rows, out_cols, n_maps), dtype=maps.dtype)
    if n_images == 0:
        return pooled
    padded_shape = (rows + 2 * padding[0], cols + 2 * padding[1], n_maps)
    step = max(1, min(n_images, chunk_bytes // max(maps[0].nbytes, 1)))
    items = [(start, min(start + step, n_images)) for start in range(0, n_images, step)]
    reduce = np.maximum if mode == "max" else np.add

    def run_items(items, workers):
        row_pooled = None
        if pool_size[0] > 1:
            row_pooled = np.empty((step, out_rows, padded_shape[1], n_maps), dtype=maps.dtype)
        padded = None
        if padding != (0, 0):
            padded = np.full((step, *padded_shape), -np.inf if mode == "max" else 0, maps.dtype)
        for start, stop in items:
            source = maps[start:stop]
            if padded is not None:
                # The border keeps its fill value; only the inside is rewritten.
                inside = padded[: stop - start, padding[0] : padding[0] + rows]
                inside[:, :, padding[1] : padding[1] + cols] = source
                source = padded[: stop - start]
            block = pooled[start:stop]
            by_rows = _window_offsets(source, 1, pool_size[0], stride[0], out_rows)
            if len(by_rows) > 1:
                by_rows = [_reduce_into(by_rows, reduce, row_pooled[: stop - start])]
            by_cols = _window_offsets(by_rows[0], 2, pool_size[1], stride[1], out_cols)
            _reduce_into(by_cols, reduce, block)
            if mode == "avg":
                block /= pool_size[0] * pool_size[1]

    _run_in_threads(run_items, items, n_jobs)
    return pooled


def _window_offsets(array, axis, window, step, n_out) -> list:
    """One strided view of ``array`` per window offset along ``axis``.

    View ``k`` holds cell ``k`` of every window, so reducing the views elementwise pools.
    """
    views = []
    for start in range(window):
        index = [slice(None)] * array.ndim
        index[axis] = slice(start, start + (n_out - 1) * step + 1, step)
        views.append(array[tuple(index)])
    return views


def _reduce_into(views: list, reduce, out: np.ndarray) -> np.ndarray:
    """``reduce`` the views elementwise into ``out``."""
    if len(views) == 1:
        np.copyto(out, views[0])
        return out
    reduce(views[0], views[1], out=out)
    for view in views[2:]:
        reduce(out, view, out=out)
    return out


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
