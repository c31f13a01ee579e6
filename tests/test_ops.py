"""The compute core against plain references: scipy.signal.correlate2d and explicit loops."""

import numpy as np
import pytest
from scipy.signal import correlate2d

from skconv._ops import (
    choose_conv_method,
    conv_output_shape,
    convolve,
    expand_channelwise_bank,
    grid_pool,
    pool,
    pool_output_shape,
    resolve_padding,
)

TOLERANCE = {np.float32: 2e-4, np.float64: 1e-10}


def reference_conv(images, bank, stride, pads):
    """Sum over channels of scipy's valid cross-correlation of the zero-padded images."""
    padded = np.pad(images.astype(np.float64), ((0, 0), *pads, (0, 0)))
    result = []
    for image in padded:
        maps = [
            sum(
                correlate2d(image[..., c], kernel[..., c], mode="valid")
                for c in range(image.shape[-1])
            )[:: stride[0], :: stride[1]]
            for kernel in bank.astype(np.float64)
        ]
        result.append(np.stack(maps, axis=-1))
    return np.stack(result)


def reference_pool(maps, window, stride, mode, padding=(0, 0)):
    fill = -np.inf if mode == "max" else 0.0
    maps = np.pad(
        maps.astype(np.float64),
        ((0, 0), (padding[0],) * 2, (padding[1],) * 2, (0, 0)),
        constant_values=fill,
    )
    n, rows, cols, n_maps = maps.shape
    out_rows = (rows - window[0]) // stride[0] + 1
    out_cols = (cols - window[1]) // stride[1] + 1
    result = np.empty((n, out_rows, out_cols, n_maps))
    for i in range(n):
        for r in range(out_rows):
            for c in range(out_cols):
                for k in range(n_maps):
                    cell = maps[
                        i,
                        r * stride[0] : r * stride[0] + window[0],
                        c * stride[1] : c * stride[1] + window[1],
                        k,
                    ]
                    result[i, r, c, k] = cell.max() if mode == "max" else cell.mean()
    return result


KERNELS = [(1, 1), (3, 3), (5, 5), (2, 2), (4, 4), (3, 5), (2, 3), (4, 1)]
PADDINGS = ["valid", "same", (1, 1), (2, 0)]
STRIDES = [(1, 1), (2, 2), (2, 3)]


@pytest.mark.parametrize("kernel_shape", KERNELS)
@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("stride", STRIDES)
@pytest.mark.parametrize("method", ["gemm", "fft"])
def test_convolve_matches_correlate2d(kernel_shape, padding, stride, method):
    rng = np.random.RandomState(0)
    images = rng.randn(3, 9, 8, 2)
    bank = rng.randn(4, *kernel_shape, 2)
    pads = resolve_padding(padding, kernel_shape)
    expected = reference_conv(images, bank, stride, pads)
    maps = convolve(images, bank, stride=stride, padding=pads, method=method)
    assert maps.shape == expected.shape
    np.testing.assert_allclose(maps, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kernel_shape", [(3, 3), (5, 5), (3, 5), (1, 1)])
def test_same_padding_matches_scipy_same_for_odd_kernels(kernel_shape):
    rng = np.random.RandomState(1)
    image = rng.randn(7, 5)
    kernel = rng.randn(*kernel_shape)
    maps = convolve(
        image[None, :, :, None],
        kernel[None, :, :, None],
        padding=resolve_padding("same", kernel_shape),
    )
    np.testing.assert_allclose(maps[0, :, :, 0], correlate2d(image, kernel, mode="same"))


def test_same_padding_puts_the_extra_zeros_of_even_kernels_bottom_right():
    assert resolve_padding("same", (4, 2)) == ((1, 2), (0, 1))
    image = np.zeros((5, 5))
    image[4, 4] = 1.0
    kernel = np.zeros((2, 2))
    kernel[0, 0] = 1.0  # the response at (i, j) reads image (i, j): no shift
    maps = convolve(
        image[None, :, :, None], kernel[None, :, :, None], padding=resolve_padding("same", (2, 2))
    )
    assert maps.shape == (1, 5, 5, 1)
    assert maps[0, 4, 4, 0] == 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["gemm", "fft"])
def test_dtype_is_kept_and_values_match(dtype, method):
    rng = np.random.RandomState(2)
    images = rng.rand(4, 12, 10, 3).astype(dtype)
    bank = rng.randn(5, 3, 3, 3)
    maps = convolve(images, bank, stride=(1, 2), padding=((1, 1), (1, 1)), method=method)
    assert maps.dtype == dtype
    expected = reference_conv(images, bank, (1, 2), ((1, 1), (1, 1)))
    scale = np.abs(expected).max()
    np.testing.assert_allclose(maps, expected, atol=TOLERANCE[dtype] * scale)


@pytest.mark.parametrize("chunk_bytes", [1, 200, 5000, 10**9])
@pytest.mark.parametrize("n_jobs", [1, 2, 3])
def test_chunking_and_threads_do_not_change_results(chunk_bytes, n_jobs):
    rng = np.random.RandomState(3)
    images = rng.randn(7, 11, 9, 2)
    bank = rng.randn(3, 3, 2, 2)
    pads = resolve_padding("same", (3, 2))
    expected = reference_conv(images, bank, (2, 1), pads)
    maps = convolve(
        images, bank, stride=(2, 1), padding=pads, chunk_bytes=chunk_bytes, n_jobs=n_jobs
    )
    np.testing.assert_allclose(maps, expected, rtol=1e-10, atol=1e-10)


def test_threads_give_bitwise_identical_maps():
    rng = np.random.RandomState(4)
    images = rng.rand(20, 16, 16, 1).astype(np.float32)
    bank = rng.randn(8, 5, 5, 1)
    one = convolve(images, bank, chunk_bytes=4096, n_jobs=1)
    two = convolve(images, bank, chunk_bytes=4096, n_jobs=2)
    np.testing.assert_array_equal(one, two)


def test_activations_bias_and_inputs_untouched():
    rng = np.random.RandomState(5)
    images = rng.randn(2, 6, 6, 1)
    bank = rng.randn(3, 3, 3, 1)
    bias = np.array([0.5, -1.0, 2.0])
    before = images.copy(), bank.copy(), bias.copy()
    raw = reference_conv(images, bank, (1, 1), ((0, 0), (0, 0))) + bias

    np.testing.assert_allclose(convolve(images, bank, bias=bias), raw)
    np.testing.assert_allclose(
        convolve(images, bank, bias=bias, activation="relu"), np.maximum(raw, 0)
    )
    np.testing.assert_allclose(convolve(images, bank, bias=bias, activation="abs"), np.abs(raw))
    crelu = convolve(images, bank, bias=bias, activation="crelu")
    np.testing.assert_allclose(
        crelu, np.concatenate([np.maximum(raw, 0), np.maximum(-raw, 0)], axis=-1)
    )
    triangle = convolve(images, bank, bias=bias, activation="triangle")
    np.testing.assert_allclose(triangle, np.maximum(raw - raw.mean(axis=-1, keepdims=True), 0))
    for original, now in zip(before, (images, bank, bias)):
        np.testing.assert_array_equal(original, now)


def test_contrast_normalisation_divides_by_window_std():
    rng = np.random.RandomState(6)
    images = rng.rand(2, 7, 6, 2) * 10
    bank = rng.randn(3, 3, 2, 2)
    eps = 0.5
    pads = resolve_padding("same", (3, 2))
    maps = convolve(images, bank, padding=pads, contrast_eps=eps)
    padded = np.pad(images, ((0, 0), *pads, (0, 0)))
    expected = np.empty_like(maps)
    for i in range(2):
        for r in range(7):
            for c in range(6):
                window = padded[i, r : r + 3, c : c + 2]
                response = np.tensordot(bank, window, axes=([1, 2, 3], [0, 1, 2]))
                expected[i, r, c] = response / np.sqrt(window.var() + eps)
    np.testing.assert_allclose(maps, expected, rtol=1e-9)


def test_expand_channelwise_bank_applies_each_filter_to_each_channel():
    rng = np.random.RandomState(7)
    images = rng.randn(2, 6, 5, 3)
    bank = rng.randn(2, 3, 3)
    maps = convolve(images, expand_channelwise_bank(bank, 3))
    for c in range(3):
        for f in range(2):
            expected = correlate2d(images[1, :, :, c], bank[f], mode="valid")
            np.testing.assert_allclose(maps[1, :, :, c * 2 + f], expected)


def test_auto_method_rule():
    assert choose_conv_method((3, 3), None) == "gemm"
    assert choose_conv_method((15, 15), None) == "fft"
    assert choose_conv_method((15, 15), 1.0) == "gemm"


def test_output_shape_errors_name_the_fix():
    with pytest.raises(ValueError, match="kernel_size"):
        conv_output_shape((3, 3), (5, 5), (1, 1), ((0, 0), (0, 0)))
    with pytest.raises(ValueError, match="pool_size"):
        pool_output_shape((2, 2), (3, 3), (1, 1), (0, 0))


def test_empty_batch_gives_empty_maps():
    maps = convolve(np.zeros((0, 5, 5, 1)), np.ones((2, 3, 3, 1)))
    assert maps.shape == (0, 3, 3, 2)


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize(
    "window, stride, padding",
    [
        ((2, 2), (2, 2), (0, 0)),
        ((2, 2), (1, 1), (0, 0)),
        ((3, 3), (1, 1), (0, 0)),
        ((3, 3), (2, 2), (1, 1)),
        ((3, 2), (1, 2), (1, 0)),
        ((2, 3), (2, 3), (1, 1)),
        ((1, 1), (1, 1), (0, 0)),
        ((5, 4), (5, 4), (0, 0)),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pool_matches_loops(mode, window, stride, padding, dtype):
    rng = np.random.RandomState(8)
    maps = rng.randn(3, 9, 7, 4).astype(dtype)
    before = maps.copy()
    pooled = pool(maps, window, stride=stride, mode=mode, padding=padding)
    expected = reference_pool(maps, window, stride, mode, padding)
    assert pooled.dtype == dtype
    np.testing.assert_allclose(pooled, expected, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])
    np.testing.assert_array_equal(maps, before)


def test_pool_threads_match_one_thread():
    maps = np.random.RandomState(9).rand(50, 12, 12, 8).astype(np.float32)
    np.testing.assert_array_equal(
        pool(maps, (3, 3), stride=(1, 1), n_jobs=1), pool(maps, (3, 3), stride=(1, 1), n_jobs=2)
    )


def test_pool_rejects_too_much_padding():
    with pytest.raises(ValueError, match="padding"):
        pool(np.zeros((1, 4, 4, 1)), (2, 2), padding=(2, 0))


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_grid_pool_covers_the_map_in_regions(mode):
    rng = np.random.RandomState(10)
    maps = rng.randn(2, 7, 6, 3)
    pooled = grid_pool(maps, (2, 3), mode=mode)
    reduce = np.max if mode == "max" else np.mean
    row_regions = [(0, 4), (3, 7)]
    col_regions = [(0, 2), (2, 4), (4, 6)]
    for i, (r0, r1) in enumerate(row_regions):
        for j, (c0, c1) in enumerate(col_regions):
            np.testing.assert_allclose(pooled[:, i, j], reduce(maps[:, r0:r1, c0:c1], axis=(1, 2)))
