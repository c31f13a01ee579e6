"""Property-based tests: random geometries and settings against plain references.

Every example draws image sizes, channel counts, a filter bank (odd, even, non-square, 1x1 or as
large as the padded image), strides, paddings, pooling windows and a float dtype, and checks
skconv against references written here from scratch: :func:`scipy.signal.correlate2d` /
:func:`scipy.signal.correlate` on explicitly zero-padded images, and pooling by loops. The
runs are seeded (``derandomize=True``) and bounded, so CI sees the same examples every time.

Tolerance. Each output value is a sum of ``K`` products (``K`` = kernel elements, times channels
for a full bank), so both the patch-matrix product and the FFT are exact up to a few ulps of the
largest partial sum. The bound used is ``ULPS * eps(dtype) * K * max|x| * max|k|``, the rounding
allowance of a length-``K`` dot product scaled to the largest term; pooling is exact for max and
within ``ULPS * eps`` of the value's magnitude for average.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from references import reference_pool
from scipy.signal import correlate, correlate2d
from sklearn.base import clone

from skconv import ConvFeatureExtractor, ConvPool, PoolTransformer
from skconv._engine.convolution import CONV_METHODS

# Rounding allowance in units of eps per product term. Over 3,000 random examples per test the
# largest error measured was 1.0 of these units (float64) and 0.71 (float32); 8 leaves room for
# other BLAS/FFT builds while a wrong index or flipped kernel still errs by O(1) of the scale.
ULPS = 8
SETTINGS = {
    "derandomize": True,
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
DTYPES = st.sampled_from([np.float32, np.float64])
# Values exactly representable in float32, so float32 and float64 inputs hold the same numbers;
# small integers among them give ties for max pooling and exact zeros for the activations.
VALUES = st.one_of(
    st.floats(-4, 4, width=32, allow_subnormal=False), st.integers(-3, 3).map(float)
)


def array_of(shape, dtype):
    return hnp.arrays(dtype, shape, elements=VALUES)


def pair(draw, low, high):
    if draw(st.booleans()):
        value = draw(st.integers(low, high))
        return value, (value, value)
    value = (draw(st.integers(low, high)), draw(st.integers(low, high)))
    return value, value


def same_pads(kernel):
    """Zeros before and after for 'same': odd kernels centred, the extra one after."""
    return ((kernel - 1) // 2, kernel - 1 - (kernel - 1) // 2)


# --- references -------------------------------------------------------------------------------


def reference_maps(images, bank, stride, pads, activation, normalize):
    """Feature maps by scipy, in float64, map order as ConvFeatureExtractor documents it."""
    images = images.astype(np.float64)
    bank = bank.astype(np.float64)
    padded = np.pad(images, ((0, 0), *pads, (0, 0)))
    n_channels = images.shape[-1]
    per_image = []
    for image in padded:
        if bank.ndim == 3:  # each filter on each channel, channel-major
            maps = [
                correlate2d(image[..., c], kernel, mode="valid")
                for c in range(n_channels)
                for kernel in bank
            ]
        else:  # each filter sums over the channels
            maps = [correlate(image, kernel, mode="valid")[..., 0] for kernel in bank]
        per_image.append(np.stack(maps, axis=-1)[:: stride[0], :: stride[1]])
    responses = np.stack(per_image)
    if normalize:
        responses = responses / bank[0].size
    if activation == "relu":
        return np.maximum(responses, 0)
    if activation == "abs":
        return np.abs(responses)
    if activation == "crelu":
        return np.concatenate([np.maximum(responses, 0), np.maximum(-responses, 0)], axis=-1)
    if activation == "triangle":
        return np.maximum(responses - responses.mean(axis=-1, keepdims=True), 0)
    return responses


def reference_grid_pool(maps, grid, mode):
    """Region i of an axis of length L split g ways: floor(i L / g) to ceil((i + 1) L / g)."""
    n, rows, cols, n_maps = maps.shape
    result = np.empty((n, grid[0], grid[1], n_maps))
    reduce = np.max if mode == "max" else np.mean
    for i in range(grid[0]):
        for j in range(grid[1]):
            region = maps[
                :,
                i * rows // grid[0] : -(-(i + 1) * rows // grid[0]),
                j * cols // grid[1] : -(-(j + 1) * cols // grid[1]),
            ]
            result[:, i, j] = reduce(region.astype(np.float64), axis=(1, 2))
    return result


def conv_tolerance(images, bank, normalize, dtype):
    terms = bank[0].size if bank.ndim == 4 else bank.shape[1] * bank.shape[2]
    largest_term = np.abs(images).max(initial=0) * np.abs(bank).max(initial=0)
    if normalize:
        largest_term /= bank[0].size
    return ULPS * np.finfo(dtype).eps * terms * max(largest_term, np.finfo(dtype).tiny)


# --- strategies -------------------------------------------------------------------------------


@st.composite
def conv_cases(draw):
    dtype = draw(DTYPES)
    n_images = draw(st.integers(1, 3))
    height, width = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    n_channels = draw(st.integers(1, 3))
    padding_kind = draw(st.sampled_from(["same", "valid", "int", "pair"]))
    if padding_kind == "int":
        padding = draw(st.integers(0, 2))
        extra = (padding, padding)
    elif padding_kind == "pair":
        padding = extra = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    else:
        padding, extra = padding_kind, (0, 0)
    # Kernels from 1x1 up to the padded image itself ('same' pads as much as the kernel needs).
    max_rows = 9 if padding == "same" else height + 2 * extra[0]
    max_cols = 9 if padding == "same" else width + 2 * extra[1]
    kernel = (draw(st.integers(1, max_rows)), draw(st.integers(1, max_cols)))
    if padding == "same":
        pads = (same_pads(kernel[0]), same_pads(kernel[1]))
    else:
        pads = ((extra[0],) * 2, (extra[1],) * 2)
    n_filters = draw(st.integers(1, 3))
    full_bank = draw(st.booleans())
    bank_shape = (n_filters, *kernel) + ((n_channels,) if full_bank else ())
    stride, stride_pair = pair(draw, 1, 3)
    layout = draw(st.sampled_from(["flat", "stack"]))
    n_maps = n_filters * (1 if full_bank else n_channels)
    # "triangle" compares each map with the mean over maps: one map is refused at fit.
    activations = [None, "relu", "abs", "crelu"] + (["triangle"] if n_maps > 1 else [])
    return {
        "images": draw(array_of((n_images, height, width, n_channels), dtype)),
        "bank": draw(array_of(bank_shape, np.float64)),
        "padding": padding,
        "pads": pads,
        "stride": stride,
        "stride_pair": stride_pair,
        "activation": draw(st.sampled_from(activations)),
        "normalize": draw(st.booleans()),
        "method": draw(st.sampled_from(("auto", *CONV_METHODS))),
        "layout": layout,
    }


@st.composite
def pool_cases(draw):
    dtype = draw(DTYPES)
    n_images = draw(st.integers(1, 3))
    rows, cols, n_maps = draw(st.integers(1, 8)), draw(st.integers(1, 8)), draw(st.integers(1, 3))
    if draw(st.booleans()):
        pool_size, window = None, (rows, cols)
    else:
        pool_size, window = pair(draw, 1, 4)
    padding = pair(draw, 0, 2)[1]
    padding = (min(padding[0], window[0] // 2), min(padding[1], window[1] // 2))
    # Windows must fit in the padded maps: grow the maps where the window is larger.
    rows = max(rows, window[0] - 2 * padding[0])
    cols = max(cols, window[1] - 2 * padding[1])
    if pool_size is None:
        window, padding = (rows, cols), (0, 0)
    stride, stride_pair = (None, window) if draw(st.booleans()) else pair(draw, 1, 3)
    return {
        "maps": draw(array_of((n_images, rows, cols, n_maps), dtype)),
        "pool_size": pool_size,
        "window": window,
        "stride": stride,
        "stride_pair": stride_pair,
        "padding": padding,
        "mode": draw(st.sampled_from(["max", "avg"])),
        "flatten": draw(st.booleans()),
    }


@st.composite
def convpool_cases(draw):
    """A conv case, then a pooling that fits the maps it makes, and a batch size."""
    case = draw(conv_cases())
    height, width = case["images"].shape[1:3]
    (top, bottom), (left, right) = case["pads"]
    kernel_rows, kernel_cols = case["bank"].shape[1:3]
    out = (
        (height + top + bottom - kernel_rows) // case["stride_pair"][0] + 1,
        (width + left + right - kernel_cols) // case["stride_pair"][1] + 1,
    )
    if draw(st.booleans()):
        pool_size, window = None, out
    else:
        window = (draw(st.integers(1, out[0])), draw(st.integers(1, out[1])))
        pool_size = window
    stride, stride_pair = (None, window) if draw(st.booleans()) else pair(draw, 1, 3)
    padding = (0, 0)
    if pool_size is not None:
        padding = (draw(st.integers(0, window[0] // 2)), draw(st.integers(0, window[1] // 2)))
    case.update(
        pool_size=pool_size,
        window=window,
        pool_stride=stride,
        pool_stride_pair=stride_pair,
        pool_padding=padding,
        mode=draw(st.sampled_from(["max", "avg"])),
        batch_size=draw(st.one_of(st.integers(1, 4), st.just("auto"))),
    )
    return case


# --- properties -------------------------------------------------------------------------------


@settings(max_examples=120, **SETTINGS)
@given(case=conv_cases())
def test_conv_matches_scipy_with_documented_shape_and_untouched_input(case):
    images, bank = case["images"], case["bank"]
    n_images, height, width, n_channels = images.shape
    if case["layout"] == "flat":
        X = images.reshape(n_images, -1)
        image_shape = (height, width, n_channels)
    else:
        X = images[..., 0] if n_channels == 1 else images
        image_shape = None
    X_before, bank_before = X.copy(), bank.copy()
    conv = ConvFeatureExtractor(
        filters=bank,
        image_shape=image_shape,
        stride=case["stride"],
        padding=case["padding"],
        activation=case["activation"],
        normalize=case["normalize"],
        method=case["method"],
    )
    maps = conv.fit_transform(X)

    (top, bottom), (left, right) = case["pads"]
    kernel_rows, kernel_cols = bank.shape[1:3]
    out_rows = (height + top + bottom - kernel_rows) // case["stride_pair"][0] + 1
    out_cols = (width + left + right - kernel_cols) // case["stride_pair"][1] + 1
    n_maps = len(bank) * (n_channels if bank.ndim == 3 else 1)
    n_maps *= 2 if case["activation"] == "crelu" else 1
    assert maps.shape == (n_images, out_rows, out_cols, n_maps)
    assert conv.output_shape_ == (out_rows, out_cols, n_maps)
    assert maps.dtype == images.dtype
    assert conv.n_features_in_ == height * width * n_channels

    expected = reference_maps(
        images, bank, case["stride_pair"], case["pads"], case["activation"], case["normalize"]
    )
    tolerance = conv_tolerance(images, bank, case["normalize"], images.dtype)
    if case["activation"] == "triangle":  # the mean over maps adds one sum of n_maps terms
        tolerance *= 2
    np.testing.assert_allclose(maps, expected, rtol=0, atol=tolerance)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(bank, bank_before)


@settings(max_examples=120, **SETTINGS)
@given(case=pool_cases())
def test_pool_matches_loops_with_documented_shape_and_untouched_input(case):
    maps = case["maps"]
    n_images, rows, cols, n_maps = maps.shape
    before = maps.copy()
    pool = PoolTransformer(
        pool_size=case["pool_size"],
        stride=case["stride"],
        padding=case["padding"] if case["pool_size"] is not None else 0,
        mode=case["mode"],
        flatten=case["flatten"],
    )
    pooled = pool.fit_transform(maps)

    window, stride, padding = case["window"], case["stride_pair"], case["padding"]
    out_rows = (rows + 2 * padding[0] - window[0]) // stride[0] + 1
    out_cols = (cols + 2 * padding[1] - window[1]) // stride[1] + 1
    assert pool.output_shape_ == (out_rows, out_cols, n_maps)
    expected = reference_pool(maps, window, stride, case["mode"], padding)
    if case["flatten"]:
        assert pooled.shape == (n_images, out_rows * out_cols * n_maps)
        expected = expected.reshape(n_images, -1)
    else:
        assert pooled.shape == (n_images, out_rows, out_cols, n_maps)
    assert pooled.dtype == maps.dtype
    if case["mode"] == "max":
        np.testing.assert_array_equal(pooled, expected.astype(maps.dtype))
    else:
        tolerance = ULPS * np.finfo(maps.dtype).eps * max(np.abs(maps).max(), 1)
        np.testing.assert_allclose(pooled, expected, rtol=0, atol=tolerance)
    np.testing.assert_array_equal(maps, before)


@pytest.mark.reproducibility
@settings(max_examples=60, **SETTINGS)
@given(case=convpool_cases())
def test_convpool_matches_the_references_in_any_batch_size(case):
    images, bank = case["images"], case["bank"]
    before = images.copy()
    conv = ConvFeatureExtractor(
        filters=bank,
        stride=case["stride"],
        padding=case["padding"],
        activation=case["activation"],
        normalize=case["normalize"],
        method=case["method"],
    )
    pool = PoolTransformer(
        pool_size=case["pool_size"],
        stride=case["pool_stride"],
        padding=case["pool_padding"],
        mode=case["mode"],
    )
    features = ConvPool(conv, pool, batch_size=case["batch_size"]).fit_transform(images)

    maps = reference_maps(
        images, bank, case["stride_pair"], case["pads"], case["activation"], case["normalize"]
    )
    expected = reference_pool(
        maps, case["window"], case["pool_stride_pair"], case["mode"], case["pool_padding"]
    ).reshape(len(images), -1)
    assert features.shape == expected.shape
    assert features.dtype == images.dtype
    # Max and mean never amplify an error, so the convolution's bound carries through.
    tolerance = conv_tolerance(images, bank, case["normalize"], images.dtype)
    if case["activation"] == "triangle":
        tolerance *= 2
    np.testing.assert_allclose(features, expected, rtol=0, atol=tolerance)
    np.testing.assert_array_equal(images, before)
    # The same features as the unstreamed steps, bitwise, on any BLAS.
    unstreamed = clone(pool).fit_transform(clone(conv).fit_transform(images))
    np.testing.assert_array_equal(features, unstreamed)


@settings(max_examples=50, **SETTINGS)
@given(
    maps=st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 3), DTYPES).flatmap(
        lambda s: array_of((2, s[0], s[1], s[2]), s[3])
    ),
    grid=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    mode=st.sampled_from(["max", "avg"]),
)
def test_grid_pooling_matches_regions_by_loops(maps, grid, mode):
    grid = (min(grid[0], maps.shape[1]), min(grid[1], maps.shape[2]))
    pooled = PoolTransformer(grid=grid, mode=mode, flatten=False).fit_transform(maps)
    expected = reference_grid_pool(maps, grid, mode)
    assert pooled.shape == (2, *grid, maps.shape[3])
    tolerance = ULPS * np.finfo(maps.dtype).eps * max(np.abs(maps).max(), 1)
    np.testing.assert_allclose(pooled, expected, rtol=0, atol=tolerance)


@settings(max_examples=50, **SETTINGS)
@given(
    rows=st.integers(1, 3),
    length=st.integers(1, 12),
    pool_size=st.integers(1, 5),
    stride=st.one_of(st.none(), st.integers(1, 4)),
    mode=st.sampled_from(["max", "avg"]),
    dtype=DTYPES,
    data=st.data(),
)
def test_two_dimensional_x_without_image_shape_pools_along_the_row(
    rows, length, pool_size, stride, mode, dtype, data
):
    X = data.draw(array_of((rows, length), dtype))
    pooled = PoolTransformer(pool_size=pool_size, stride=stride, mode=mode).fit_transform(X)
    # Documented: the window is clipped to one row and to the row's length; a default stride
    # follows the clipped window.
    window = (1, min(pool_size, length))
    step = (1, window[1] if stride is None else stride)
    expected = reference_pool(X[:, None, :, None], window, step, mode).reshape(rows, -1)
    assert pooled.shape == expected.shape
    tolerance = ULPS * np.finfo(dtype).eps * max(np.abs(X).max(), 1)
    np.testing.assert_allclose(pooled, expected, rtol=0, atol=tolerance)


@settings(max_examples=30, **SETTINGS)
@given(case=conv_cases())
def test_conv_layouts_agree_bitwise(case):
    """A stack, its (n, H, W, 1) form and its flat form with image_shape give the same maps."""
    images = case["images"][..., :1]
    n_images, height, width, _ = images.shape
    params = {
        "filters": case["bank"][..., 0] if case["bank"].ndim == 4 else case["bank"],
        "stride": case["stride"],
        "padding": case["padding"],
        "method": case["method"],
    }
    from_stack = ConvFeatureExtractor(**params).fit_transform(images[..., 0])
    from_4d = ConvFeatureExtractor(**params).fit_transform(images)
    from_flat = ConvFeatureExtractor(image_shape=(height, width), **params).fit_transform(
        images.reshape(n_images, -1)
    )
    np.testing.assert_array_equal(from_stack, from_4d)
    np.testing.assert_array_equal(from_stack, from_flat)


def test_conv_methods_cover_every_algorithm():
    """The strategies above draw from CONV_METHODS; make sure it holds the real algorithms."""
    assert {"gemm", "fft"} <= set(CONV_METHODS)
