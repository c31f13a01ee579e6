"""The convolution engine against plain references: scipy.signal.correlate2d and loops."""

import tracemalloc

import numpy as np
import pytest
from references import reference_conv
from scipy.signal import correlate2d

from skconv._engine import convolution as _convolve
from skconv._engine.convolution import convolve
from skconv._engine.geometry import expand_channelwise_bank, resolve_padding

TOLERANCE = {np.float32: 2e-4, np.float64: 1e-10}


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


def test_empty_batch_gives_empty_maps():
    maps = convolve(np.zeros((0, 5, 5, 1)), np.ones((2, 3, 3, 1)))
    assert maps.shape == (0, 3, 3, 2)


@pytest.fixture(params=["transposed", "row-major"])
def patch_layout(request, monkeypatch):
    """Force each layout of the gemm path's patch matrix, whatever the channel count."""
    threshold = 10**9 if request.param == "transposed" else 1
    monkeypatch.setattr(_convolve, "ROW_LAYOUT_MIN_CHANNELS", threshold)
    return request.param


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_channels", [1, 3])
@pytest.mark.parametrize(
    "kernel_shape, stride, padding",
    [
        ((1, 1), (1, 1), "valid"),
        ((3, 3), (1, 1), "same"),
        ((2, 4), (2, 1), "same"),
        ((5, 3), (3, 2), (2, 1)),
        ((9, 9), (1, 1), "valid"),
        ((11, 7), (2, 2), "same"),
        ((3, 3), (1, 1), (5, 4)),  # some output rows read nothing but zeros
    ],
)
@pytest.mark.parametrize("method", ["gemm", "fft"])
def test_every_path_matches_reference(
    patch_layout, method, kernel_shape, stride, padding, n_channels, dtype
):
    rng = np.random.RandomState(12)
    images = rng.randn(3, 13, 12, n_channels).astype(dtype)
    bank = rng.randn(4, *kernel_shape, n_channels)
    pads = resolve_padding(padding, kernel_shape)
    expected = reference_conv(images, bank, stride, pads)
    maps = convolve(images, bank, stride=stride, padding=pads, method=method)
    assert maps.dtype == dtype
    tolerance = TOLERANCE[dtype] * np.abs(expected).max()
    np.testing.assert_allclose(maps, expected, rtol=0, atol=tolerance)


@pytest.mark.parametrize("padding", ["valid", "same", (3, 2)])
@pytest.mark.parametrize("chunk_bytes", [1, 600, 3000])
def test_row_blocks_of_one_image_read_the_right_padded_rows(patch_layout, padding, chunk_bytes):
    # Small chunks split each image into blocks of output rows: the first and last blocks
    # read top and bottom padding, middle ones read image rows only.
    rng = np.random.RandomState(13)
    images = rng.randn(2, 17, 9, 2)
    bank = rng.randn(3, 4, 3, 2)
    pads = resolve_padding(padding, (4, 3))
    expected = reference_conv(images, bank, (2, 1), pads)
    maps = convolve(
        images, bank, stride=(2, 1), padding=pads, method="gemm", chunk_bytes=chunk_bytes
    )
    np.testing.assert_allclose(maps, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("chunk_bytes", [1, 10**4, 10**9])
def test_fft_batches_of_images_match_reference(chunk_bytes):
    rng = np.random.RandomState(14)
    images = rng.randn(5, 10, 11, 2)
    bank = rng.randn(3, 5, 6, 2)
    pads = ((4, 1), (0, 3))  # unequal sides: the circular shift must use top and left only
    expected = reference_conv(images, bank, (1, 2), pads)
    maps = convolve(
        images, bank, stride=(1, 2), padding=pads, method="fft", chunk_bytes=chunk_bytes
    )
    np.testing.assert_allclose(maps, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("n_images", [1, 9])
@pytest.mark.parametrize("method", ["gemm", "fft"])
def test_n_jobs_give_bitwise_identical_maps_on_every_path(patch_layout, method, n_images):
    # One image with n_jobs > 1 gives the spare threads to scipy.fft (workers).
    rng = np.random.RandomState(15)
    images = rng.rand(n_images, 21, 19, 2).astype(np.float32)
    bank = rng.randn(5, 7, 6, 2)
    pads = resolve_padding("same", (7, 6))
    kwargs = dict(padding=pads, method=method, chunk_bytes=2000, activation="relu")
    one = convolve(images, bank, n_jobs=1, **kwargs)
    for n_jobs in (2, 3, -1):
        np.testing.assert_array_equal(convolve(images, bank, n_jobs=n_jobs, **kwargs), one)


def test_errors_in_threads_reach_the_caller(monkeypatch):
    def fail(*args):
        raise RuntimeError("worker failed")

    monkeypatch.setattr(_convolve, "_finish", fail)
    with pytest.raises(RuntimeError, match="worker failed"):
        convolve(np.zeros((6, 9, 9, 1)), np.ones((2, 3, 3, 1)), chunk_bytes=100, n_jobs=2)


def test_contrast_normalisation_on_row_blocks(patch_layout):
    rng = np.random.RandomState(17)
    images = rng.rand(2, 9, 7, 1) * 5
    bank = rng.randn(2, 3, 3, 1)
    pads = resolve_padding("same", (3, 3))
    whole = convolve(images, bank, padding=pads, contrast_eps=0.1, chunk_bytes=10**9)
    blocks = convolve(images, bank, padding=pads, contrast_eps=0.1, chunk_bytes=1)
    np.testing.assert_allclose(blocks, whole, rtol=1e-12)
    padded = np.pad(images, ((0, 0), *pads, (0, 0)))
    window = padded[1, 4:7, 2:5]
    response = np.tensordot(bank, window, axes=([1, 2, 3], [0, 1, 2]))
    np.testing.assert_allclose(whole[1, 4, 2], response / np.sqrt(window.var() + 0.1))


@pytest.mark.parametrize("method", ["gemm", "fft"])
def test_working_set_beyond_the_output_is_bounded_by_chunk_bytes(method):
    rng = np.random.RandomState(18)
    images = rng.rand(400, 28, 28, 1).astype(np.float32)
    bank = rng.randn(8, 5, 5, 1)
    chunk_bytes = 2**18
    output_bytes = 400 * 28 * 28 * 8 * 4
    tracemalloc.start()
    try:
        maps = convolve(
            images,
            bank,
            padding=resolve_padding("same", (5, 5)),
            method=method,
            chunk_bytes=chunk_bytes,
            n_jobs=2,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert maps.nbytes == output_bytes
    # Two threads, each with its scratch (and, for fft, the transforms of one item).
    assert peak - output_bytes < 4 * 2 * chunk_bytes


# Cases of the reproducibility tests: (name, image shape, bank shape or channel-wise bank,
# stride, padding). "one position" makes every image's product a single row (a matrix-vector
# product in BLAS).
REPRODUCIBILITY_CASES = [
    ("grey", (12, 11, 1), (6, 5, 5, 1), (1, 1), "same"),
    ("grey stride", (13, 12, 1), (4, 4, 3, 1), (2, 3), "valid"),
    ("colour full bank", (12, 11, 3), (5, 3, 3, 3), (2, 1), "same"),
    ("colour channel-wise", (10, 9, 3), (4, 3, 3), (1, 1), "valid"),
    ("two channels", (11, 10, 2), (3, 4, 4, 2), (1, 1), (1, 2)),
    ("one position grey", (5, 5, 1), (7, 5, 5, 1), (1, 1), "valid"),
    ("one position colour", (4, 4, 3), (5, 4, 4, 3), (1, 1), "valid"),
]


def reproducibility_inputs(case, dtype, n_images=23):
    _, image_shape, bank_shape, stride, padding = case
    rng = np.random.RandomState(21)
    images = rng.rand(n_images, *image_shape).astype(dtype)
    bank = rng.randn(*bank_shape)
    if bank.ndim == 3:
        bank = expand_channelwise_bank(bank, image_shape[2])
    return images, bank, dict(stride=stride, padding=resolve_padding(padding, bank.shape[1:3]))


@pytest.mark.reproducibility
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", REPRODUCIBILITY_CASES, ids=[c[0] for c in REPRODUCIBILITY_CASES])
@pytest.mark.parametrize("method", ["gemm", "fft"])
def test_an_images_maps_do_not_depend_on_the_other_images_of_the_call(method, case, dtype):
    """Bitwise: one image at a time, all at once, in odd batches, with any n_jobs, on any BLAS
    (run also under OPENBLAS_CORETYPE=Haswell, whose kernels round the last rows of a
    product differently)."""
    images, bank, geometry = reproducibility_inputs(case, dtype)
    kwargs = dict(method=method, activation="relu", bias=np.linspace(-0.5, 0.5, len(bank)))
    one_by_one = np.concatenate(
        [convolve(image[None], bank, **geometry, **kwargs) for image in images]
    )
    assert one_by_one.dtype == dtype
    np.testing.assert_array_equal(convolve(images, bank, **geometry, **kwargs), one_by_one)
    for batch in [2, 5, 7, 16]:
        batched = [
            convolve(images[start : start + batch], bank, **geometry, **kwargs)
            for start in range(0, len(images), batch)
        ]
        np.testing.assert_array_equal(np.concatenate(batched), one_by_one)
    # Items of three images (fft) or a few images (gemm), shared by threads.
    chunk_bytes = 3 * images[0].size * bank.shape[0] * 8 * images.itemsize
    for n_jobs in [2, 3]:
        maps = convolve(images, bank, **geometry, **kwargs, n_jobs=n_jobs, chunk_bytes=chunk_bytes)
        np.testing.assert_array_equal(maps, one_by_one)
    reversed_order = convolve(images[::-1], bank, **geometry, **kwargs)
    np.testing.assert_array_equal(reversed_order[::-1], one_by_one)


@pytest.mark.reproducibility
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", REPRODUCIBILITY_CASES, ids=[c[0] for c in REPRODUCIBILITY_CASES])
def test_contrast_normalised_maps_do_not_depend_on_the_other_images(patch_layout, case, dtype):
    images, bank, geometry = reproducibility_inputs(case, dtype, n_images=11)
    bank = bank - bank.mean(axis=(1, 2, 3), keepdims=True)
    kwargs = dict(method="gemm", contrast_eps=0.01, **geometry)
    one_by_one = np.concatenate([convolve(image[None], bank, **kwargs) for image in images])
    np.testing.assert_array_equal(convolve(images, bank, **kwargs), one_by_one)
    batched = [convolve(images[start : start + 4], bank, **kwargs) for start in range(0, 11, 4)]
    np.testing.assert_array_equal(np.concatenate(batched), one_by_one)
    np.testing.assert_array_equal(convolve(images, bank, **kwargs, n_jobs=2), one_by_one)


@pytest.mark.reproducibility
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_blocks_of_large_images_do_not_depend_on_the_number_of_images(patch_layout, dtype):
    # Row blocks are cut from an image's own geometry and chunk_bytes: the same for every image.
    rng = np.random.RandomState(22)
    images = rng.rand(5, 40, 37, 2).astype(dtype)
    bank = rng.randn(6, 5, 4, 2)
    kwargs = dict(padding=resolve_padding("same", (5, 4)), method="gemm", chunk_bytes=7000)
    one_by_one = np.concatenate([convolve(image[None], bank, **kwargs) for image in images])
    np.testing.assert_array_equal(convolve(images, bank, **kwargs), one_by_one)
    np.testing.assert_array_equal(convolve(images, bank, **kwargs, n_jobs=3), one_by_one)
