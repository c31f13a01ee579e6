"""The convolution engine: a stack of images cross-correlated with a full filter bank.

Two algorithms, each a *plan* that cuts the output into work items which threads share
(:mod:`skconv._engine.threads`): ``"gemm"`` (a patch matrix times the bank) and ``"fft"``
(products of spectra). Bias and activation are applied to each item's block of maps while it
is in cache. Which algorithm to run is the caller's choice (``ConvFeatureExtractor`` makes it
once in ``fit``, with :mod:`skconv._engine.cost`); the shapes come from
:mod:`skconv._engine.geometry`. The settings arrive checked: nothing here checks them again.

Convolution here is cross-correlation (no kernel flip), as in ``scipy.signal.correlate2d``.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .geometry import Padding, Pair, conv_output_shape, fft_shape
from .threads import run_in_threads

ACTIVATIONS = ("relu", "abs", "crelu", "triangle")
CONV_METHODS = ("gemm", "fft")

# The scratch of one work item (patch matrix, product of spectra) stays near this size so that
# it is still in cache when it is read back.
DEFAULT_CHUNK_BYTES = 2 * 2**20

# With this many channels or more, patch matrices are built row-major (whole pixels copied at
# once); with fewer, transposed (the copy writes long contiguous runs). Measured crossover.
ROW_LAYOUT_MIN_CHANNELS = 3


def convolve(
    images: np.ndarray,
    bank: np.ndarray,
    *,
    stride: Pair = (1, 1),
    padding: Padding = ((0, 0), (0, 0)),
    activation: str | None = None,
    bias: np.ndarray | None = None,
    contrast_eps: float | None = None,
    method: str = "gemm",
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    n_jobs: int = 1,
    out: np.ndarray | None = None,
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
        Zeros added around each image (see :func:`skconv._engine.geometry.resolve_padding`).
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
    method : {"gemm", "fft"}, default="gemm"
        ``"gemm"`` multiplies a patch matrix by the bank, a block of output rows at a time;
        ``"fft"`` multiplies spectra, a few images at a time (not with ``contrast_eps``).
        :func:`~skconv._engine.cost.choose_conv_method` estimates which is faster.
    chunk_bytes : int, default=2 MiB
        Size of the scratch of one work item (the patch matrix, or the product of spectra);
        each thread allocates its scratch once. Items never go below one output row (gemm) or
        one image (fft), so the scratch can exceed this for huge images.
    n_jobs : int, default=1
        Threads that share the work items (``-1``: all cores). BLAS runs single-threaded
        meanwhile, whatever ``n_jobs`` is, and every item is computed the same way, so the
        maps do not depend on ``n_jobs``.
    out : ndarray of shape (n_images, out_rows, out_cols, n_maps), default=None
        Where to write the maps (of the images' dtype), e.g. a slice of a larger output;
        ``None`` allocates them.

    Returns
    -------
    maps : ndarray of shape (n_images, out_rows, out_cols, n_maps)
        In the images' dtype, allocated once in this final layout (``out`` when given).

    See Also
    --------
    skconv._engine.cost.choose_conv_method : The cost rule that picks ``method``.

    Notes
    -----
    The maps of an image are bitwise the same whatever the other images of the call (their
    number, their order), ``n_jobs`` and the BLAS thread count, on any BLAS: every image's
    products and transforms have shapes that depend only on its geometry and on
    ``chunk_bytes`` (gemm row blocks), and colour channels are summed one at a time in order.
    The two methods round differently from each other.

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
    maps = np.empty((n_images, out_rows, out_cols, n_maps), dtype=dtype) if out is None else out
    if n_images == 0:
        return maps

    plan_type = _GemmPlan if method == "gemm" else _FftPlan
    plan = plan_type(images, bank, maps, stride, padding, contrast_eps, chunk_bytes)

    def run_items(items, workers):
        scratch = plan.allocate_scratch()
        for item in items:
            block = plan.run(item, scratch, workers)
            _finish(block, bias, activation)

    run_in_threads(run_items, plan.items, n_jobs)
    return maps


def response_bound(
    peak: float,
    bank: np.ndarray,
    bias: np.ndarray,
    image_shape: tuple[int, int, int],
    padding: Padding,
    contrast_eps: float | None,
) -> float:
    """An upper bound on any value :func:`convolve` computes, for pixels up to ``peak``.

    ``|response| <= peak * max_f ||k_f||_1 + |bias|``; the FFT's intermediate sums span a
    whole padded image, and "triangle" subtracts a mean (at most doubling it). The contrast
    division squares pixels and divides by ``sqrt(contrast_eps)``.

    Examples
    --------
    >>> response_bound(1.0, np.ones((1, 2, 2)), np.zeros(1), (3, 3, 1), ((0, 0), (0, 0)), None)
    72.0
    """
    (top, bottom), (left, right) = padding
    rows, cols, n_channels = image_shape
    pixels = (rows + top + bottom) * (cols + left + right) * n_channels
    gain = float(np.abs(bank).reshape(len(bank), -1).sum(axis=1).max())
    bound = 2 * peak * gain * pixels + float(np.abs(bias).max())
    if contrast_eps is not None:
        bound = max(bound / np.sqrt(contrast_eps), peak * peak * pixels)
    return bound


class _GemmPlan:
    """Patch matrix times bank, a block of output rows of one or more images per item.

    The patch matrix is copied from a strided view of the windows into a scratch buffer that
    each thread allocates once. With few channels it is laid out transposed,
    ``(patch element, position)``, so that the copy writes long contiguous runs; with many
    channels row-major, ``(position, patch element)``, so that it moves whole pixels.

    Each image of an item has a patch matrix of its own, and the item is a stack of
    per-image products (one BLAS call per image), never one product over all its images: a
    BLAS rounds a row of a product differently depending on the product's shape (the last
    rows of a block go to other kernels, a one-row product to a matrix-vector routine), so
    an image's maps would otherwise depend on how many images share its item. The row blocks
    of an image depend only on its geometry, so every image's products have the same shapes
    whatever the number of images in the call.
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
        n_positions = n_rows * out_cols  # of each image
        # windows[n, r, c, channel, i, j] is input (r * row_step + i, c * col_step + j).
        windows = sliding_window_view(source, (self.kernel_rows, self.kernel_cols), axis=(1, 2))
        windows = windows[:, :: self.stride[0], :: self.stride[1]][:, :n_rows, :out_cols]
        # The patch matrices are one copy of the windows, which numpy walks in the
        # destination's memory order: (n, i, j, channel, r, c) when transposed, else
        # (n, r, c, i, j, channel); either way one matrix per image.
        order = (0, 4, 5, 3, 1, 2) if self.transposed else (0, 1, 2, 4, 5, 3)
        windows = windows.transpose(order)
        patches = patch_buffer[: windows.size].reshape(windows.shape)
        np.copyto(patches, windows)
        if self.transposed:
            by_element = patches.reshape(n_images, -1, n_positions)
            matrices = by_element.transpose(0, 2, 1)
        else:
            matrices = patches.reshape(n_images, n_positions, -1)
        block = self.maps[image_start:image_stop, row_start:row_stop]
        responses = block.reshape(n_images, n_positions, -1)
        # A stack of per-image products: numpy makes one BLAS call per image.
        np.matmul(matrices, self.weights, out=responses)
        if self.contrast_eps is not None:
            if self.transposed:
                moments = _window_moments_by_element(by_element)
            else:
                moments = _window_moments_by_row(matrices)
            _divide_by_window_std(responses, *moments, self.contrast_eps)
        return block


def _window_moments_by_row(matrices):
    """Sums and sums of squares of each patch, from ``(n, positions, element)`` matrices.

    Each sum runs along one contiguous row, in the same order whatever the number of rows.
    """
    rows = matrices.reshape(-1, matrices.shape[2])
    return rows.sum(axis=1), np.einsum("ij,ij->i", rows, rows), rows.shape[1]


def _window_moments_by_element(by_element):
    """Sums and sums of squares of each patch, from ``(n, element, position)`` patches.

    The elements are added one at a time, in order: a reduction over the middle axis would
    let numpy pick its summation order from the array's shape (a pairwise sum when there is
    a single position), and an image's maps would depend on the other images of its item.
    """
    total = by_element[:, 0].copy()
    squares = np.square(by_element[:, 0])
    term = np.empty_like(squares)
    for element in range(1, by_element.shape[1]):
        values = by_element[:, element]
        total += values
        np.multiply(values, values, out=term)
        squares += term
    return total.reshape(-1), squares.reshape(-1), by_element.shape[1]


def _divide_by_window_std(responses, total, squares, size, contrast_eps):
    """Divide each response by the std of its patch, from the patch's sum and sum of squares."""
    mean = total / size
    variance = squares / size - mean * mean
    np.maximum(variance, 0, out=variance)
    variance += contrast_eps
    responses /= np.sqrt(variance).reshape(*responses.shape[:-1], 1)


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
    """Products of spectra, a few whole images per item; each image computed on its own.

    The bank's spectrum is computed once, from each kernel shifted circularly by the top and
    left padding: correlating the unpadded image (zero-extended to the transform size) with it
    equals correlating the padded image with the kernel, so images are never padded by hand.
    The transform size is at least the padded size, so the part that is kept never wraps.
    """

    def __init__(self, images, bank, maps, stride, padding, contrast_eps, chunk_bytes):
        import scipy.fft

        self.images, self.maps, self.stride = images, maps, stride
        n_maps, kernel_rows, kernel_cols, n_channels = bank.shape
        self.fft_shape = fft_shape(images.shape[1:3], padding)
        (top, _), (left, _) = padding
        shifted = np.zeros((n_maps, *self.fft_shape, n_channels), dtype=bank.dtype)
        shifted[:, :kernel_rows, :kernel_cols] = bank
        shifted = np.roll(shifted, (-top, -left), axis=(1, 2))
        # Correlation is a product with the conjugate spectrum. One channel: laid out
        # (row, col, f), the images' spectra broadcast along f, and the responses come out in
        # the maps' layout. Several channels are added one at a time, which runs fastest on
        # long rows: laid out (c, f, row, col), and the responses are transposed at the end.
        self.by_channel = n_channels > 1
        spectrum = np.conj(scipy.fft.rfft2(shifted, axes=(1, 2)))
        order = (3, 0, 1, 2) if self.by_channel else (3, 1, 2, 0)
        self.bank_spectrum = np.ascontiguousarray(spectrum.transpose(order))
        self.product_shape = self.bank_spectrum.shape[1:]
        frequencies = spectrum.shape[1] * spectrum.shape[2]
        complex_size = self.bank_spectrum.itemsize
        image_bytes = frequencies * complex_size * (n_maps + n_channels)
        image_bytes += self.fft_shape[0] * self.fft_shape[1] * n_maps * maps.itemsize
        self.n_channels = n_channels
        if n_channels > 1:
            image_bytes += frequencies * complex_size * n_maps  # one channel's term
        images_per_item = max(1, chunk_bytes // image_bytes)
        n_images = images.shape[0]
        self.items = [
            (start, min(start + images_per_item, n_images))
            for start in range(0, n_images, images_per_item)
        ]
        self.product_size = images_per_item * frequencies * n_maps

    def allocate_scratch(self):
        dtype = self.bank_spectrum.dtype
        term = np.empty(self.product_size, dtype) if self.n_channels > 1 else None
        return np.empty(self.product_size, dtype), term

    def run(self, item, scratch, workers):
        import scipy.fft

        product_buffer, term_buffer = scratch
        image_start, image_stop = item
        n_images = image_stop - image_start
        images = self.images[image_start:image_stop]
        # The images' spectra: (n, c, row, col) by channel, else (n, row, col, 1).
        axes = (2, 3) if self.by_channel else (1, 2)
        if self.by_channel:
            images = images.transpose(0, 3, 1, 2)
        spectrum = scipy.fft.rfft2(images, s=self.fft_shape, axes=axes, workers=workers)
        size = n_images * int(np.prod(self.product_shape))
        product = product_buffer[:size].reshape(n_images, *self.product_shape)
        # At each frequency, the sum over channels for every filter, one channel at a time in
        # channel order: elementwise products and sums, so that an image's result does not
        # depend on the other images of the item (a (n, C) @ (C, F) matrix product would
        # round according to n).
        if not self.by_channel:
            np.multiply(spectrum, self.bank_spectrum[0], out=product)
        else:
            np.multiply(spectrum[:, :1], self.bank_spectrum[0], out=product)
            term = term_buffer[:size].reshape(product.shape)
            for channel in range(1, self.n_channels):
                np.multiply(
                    spectrum[:, channel : channel + 1], self.bank_spectrum[channel], out=term
                )
                product += term
        response = scipy.fft.irfft2(
            product, s=self.fft_shape, axes=axes, workers=workers, overwrite_x=True
        )
        if self.by_channel:  # (n, f, row, col) to the maps' (n, row, col, f)
            response = response.transpose(0, 2, 3, 1)
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
