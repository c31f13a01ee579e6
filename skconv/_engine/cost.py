"""The cost model behind ``method="auto"``: which convolution algorithm is faster for a case.

Each algorithm's time is estimated as a weighted sum of work counts (:func:`cost_terms`). The
weights are fitted to timings by ``benchmarks/cost_rule.py``, which writes them to
``skconv/_engine/cost_weights.json``; this module reads them from there, so they are never
copied by hand.
"""

from __future__ import annotations

import json
from importlib.resources import files

import numpy as np

from .geometry import Padding, Pair, conv_output_shape, fft_shape

WEIGHTS_FILE = "cost_weights.json"


def _load_weights() -> tuple[tuple[float, ...], tuple[float, ...]]:
    weights = json.loads(files("skconv._engine").joinpath(WEIGHTS_FILE).read_text())
    return tuple(weights["gemm"]), tuple(weights["fft"])


GEMM_COST_WEIGHTS, FFT_COST_WEIGHTS = _load_weights()


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
    gemm_terms, fft_terms = cost_terms(
        image_shape, kernel_shape, n_images, n_channels, n_filters, stride, padding
    )
    gemm = np.dot(GEMM_COST_WEIGHTS, gemm_terms)
    fft = np.dot(FFT_COST_WEIGHTS, fft_terms)
    return "fft" if fft < gemm else "gemm"


def cost_terms(
    image_shape: Pair,
    kernel_shape: Pair,
    n_images: int,
    n_channels: int,
    n_filters: int,
    stride: Pair,
    padding: Padding,
) -> tuple[tuple, tuple]:
    """The counts that each algorithm's time is a weighted sum of (see
    :func:`choose_conv_method`): four for gemm, five for fft."""
    out_rows, out_cols = conv_output_shape(image_shape, kernel_shape, stride, padding)
    positions = n_images * out_rows * out_cols
    patch_size = kernel_shape[0] * kernel_shape[1] * n_channels
    gemm = (positions * patch_size * n_filters, positions * patch_size, positions * n_filters, 1)
    fft_rows, fft_cols = fft_shape(image_shape, padding)
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
