import tracemalloc

import numpy as np
import pytest
from scipy import stats

from skconv.filters._patches import extract_patches, normalize_patches


def all_windows(images, kh, kw):
    """Every fully-inside window, in (image, row, col) order, by brute force."""
    n, height, width, _ = images.shape
    return np.array(
        [
            images[i, r : r + kh, c : c + kw]
            for i in range(n)
            for r in range(height - kh + 1)
            for c in range(width - kw + 1)
        ]
    )


def distinct_images(shape, dtype=np.float64):
    """Images whose values are all different, so a window identifies its position."""
    return np.arange(np.prod(shape)).reshape(shape).astype(dtype)


@pytest.mark.parametrize("max_patches", [1, 7, 40, 90])
@pytest.mark.parametrize("patch_shape", [(3, 3), (2, 4), (1, 1)])
def test_each_patch_is_a_distinct_window_of_the_images(max_patches, patch_shape):
    images = distinct_images((3, 6, 7, 2))
    windows = all_windows(images, *patch_shape)
    patches = extract_patches(
        images, patch_shape, max_patches=max_patches, rng=np.random.RandomState(0)
    )
    assert patches.shape == (min(max_patches, len(windows)), *patch_shape, 2)
    matches = [np.flatnonzero((windows == patch).all(axis=(1, 2, 3))) for patch in patches]
    assert all(len(match) == 1 for match in matches)
    positions = np.concatenate(matches)
    # Drawn without replacement and returned in (image, row, col) order.
    assert np.all(np.diff(positions) > 0)


@pytest.mark.parametrize("max_patches", [None, 60, 61, 1000])
def test_returns_every_position_in_order_when_max_patches_reaches_them(max_patches):
    images = distinct_images((3, 6, 6, 1))  # 3 * 4 * 5 = 60 positions of a 3x2 window
    patches = extract_patches(images, (3, 2), max_patches=max_patches, rng=None)
    np.testing.assert_array_equal(patches, all_windows(images, 3, 2))


@pytest.mark.parametrize(
    "make_rng", [np.random.RandomState, np.random.default_rng], ids=["RandomState", "Generator"]
)
@pytest.mark.parametrize("max_patches", [5, 40])
def test_same_seed_same_patches_other_seed_other_patches(make_rng, max_patches):
    images = distinct_images((4, 9, 9, 1))
    first = extract_patches(images, (3, 3), max_patches=max_patches, rng=make_rng(3))
    again = extract_patches(images, (3, 3), max_patches=max_patches, rng=make_rng(3))
    other = extract_patches(images, (3, 3), max_patches=max_patches, rng=make_rng(4))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("max_patches", [10, 100])
def test_positions_are_drawn_uniformly(max_patches):
    # 2 * 8 * 8 = 128 positions; 10 of them use rejection sampling, 100 a permutation.
    images = distinct_images((2, 10, 10, 1))
    n_positions = 128
    counts = np.zeros(n_positions)
    for seed in range(400):
        patches = extract_patches(
            images, (3, 3), max_patches=max_patches, rng=np.random.RandomState(seed)
        )
        # The top-left value identifies the position.
        top_left = patches[:, 0, 0, 0].astype(int)
        image_index, rest = np.divmod(top_left, 100)
        row, col = np.divmod(rest, 10)
        counts[np.ravel_multi_index((image_index, row, col), (2, 8, 8))] += 1
    assert counts.sum() == 400 * max_patches
    # Per draw the position indicators are hypergeometric: variance p (1 - p), covariance
    # -p (1 - p) / (n - 1); this scaling makes the statistic chi-square with n - 1 dof.
    p = max_patches / n_positions
    scale = 400 * p * (1 - p) * n_positions / (n_positions - 1)
    statistic = np.sum((counts - 400 * p) ** 2) / scale
    assert stats.chi2.sf(statistic, n_positions - 1) > 1e-3


def test_memory_is_bounded_by_the_output():
    # A million 28x28 images as a zero-stride view: about 7e8 window positions, whose
    # copies would need tens of gigabytes. Sampling ten of them must not touch the rest.
    image = np.arange(28 * 28, dtype=np.float64).reshape(1, 28, 28, 1)
    images = np.broadcast_to(image, (1_000_000, 28, 28, 1))
    patches = extract_patches(images, (3, 3), max_patches=10, rng=np.random.RandomState(0))
    assert patches.shape == (10, 3, 3, 1)
    windows = all_windows(image, 3, 3)
    assert all((windows == patch).all(axis=(1, 2, 3)).any() for patch in patches)


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32, np.float64])
def test_dtype_preserved_and_input_untouched(dtype):
    images = distinct_images((2, 5, 5, 3)).astype(dtype) % 200
    before = images.copy()
    patches = extract_patches(images, (2, 3), max_patches=6, rng=np.random.RandomState(0))
    assert patches.dtype == dtype
    np.testing.assert_array_equal(images, before)
    assert not np.shares_memory(patches, images)
    patches[...] = 0
    np.testing.assert_array_equal(images, before)


def test_patch_larger_than_images_names_patch_shape():
    images = np.zeros((2, 4, 5, 1))
    with pytest.raises(ValueError, match="patch_shape"):
        extract_patches(images, (5, 3), max_patches=3, rng=np.random.RandomState(0))
    with pytest.raises(ValueError, match="patch_shape"):
        extract_patches(images, (2, 6), max_patches=3, rng=np.random.RandomState(0))


@pytest.mark.parametrize(
    ("patch_shape", "error"),
    [
        ((3,), TypeError),
        ((2.0, 2), TypeError),
        ((True, 2), TypeError),
        ("ab", TypeError),
        ((0, 2), ValueError),
        (0, ValueError),
    ],
)
def test_bad_patch_shape_is_rejected(patch_shape, error):
    with pytest.raises(error, match=r"^patch_shape must be"):
        extract_patches(np.zeros((1, 5, 5, 1)), patch_shape, max_patches=3, rng=None)


def test_an_int_patch_shape_is_square():
    images = np.random.RandomState(0).rand(1, 5, 5, 1)
    np.testing.assert_array_equal(
        extract_patches(images, 3, max_patches=None, rng=None),
        extract_patches(images, (3, 3), max_patches=None, rng=None),
    )


@pytest.mark.parametrize(
    ("max_patches", "error"),
    [(0, ValueError), (-1, ValueError), (2.5, TypeError), (True, TypeError)],
)
def test_bad_max_patches_is_rejected(max_patches, error):
    with pytest.raises(error, match=r"^max_patches must be"):
        extract_patches(np.zeros((1, 5, 5, 1)), (2, 2), max_patches=max_patches, rng=None)


@pytest.mark.parametrize("shape", [(5, 5), (2, 5, 5), (1, 2, 5, 5, 1)])
def test_images_must_be_a_channels_last_stack(shape):
    with pytest.raises(ValueError, match="images"):
        extract_patches(np.zeros(shape), (2, 2), max_patches=3, rng=None)


def test_normalize_patches_matches_the_formula():
    rng = np.random.RandomState(0)
    patches = rng.uniform(0, 16, size=(20, 3, 4, 2))
    before = patches.copy()
    result = normalize_patches(patches, contrast_eps=0.5)
    np.testing.assert_array_equal(patches, before)
    assert result.shape == patches.shape
    for patch, normalized in zip(patches, result, strict=True):
        expected = (patch - patch.mean()) / np.sqrt(patch.var() + 0.5)
        np.testing.assert_allclose(normalized, expected, rtol=1e-12)


def test_normalize_patches_mean_removal_only():
    patches = np.array([[[1.0, 2.0], [3.0, 6.0]], [[4.0, 4.0], [4.0, 4.0]]])
    np.testing.assert_allclose(
        normalize_patches(patches, contrast_eps=None),
        [[[-2.0, -1.0], [0.0, 3.0]], [[0.0, 0.0], [0.0, 0.0]]],
    )


def test_normalize_patches_dtypes_and_flat_patches():
    flat_patches = np.full((3, 2, 2, 1), 7, dtype=np.uint8)
    result = normalize_patches(flat_patches, contrast_eps=1.0)
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result, 0.0)
    float32_patches = np.arange(8, dtype=np.float32).reshape(2, 2, 2, 1)
    assert normalize_patches(float32_patches, contrast_eps=1.0).dtype == np.float32


@pytest.mark.parametrize("contrast_eps", [0, -1.0, "auto", np.nan, True])
def test_normalize_patches_rejects_bad_contrast_eps(contrast_eps):
    with pytest.raises(ValueError, match="contrast_eps"):
        normalize_patches(np.ones((2, 2, 2, 1)), contrast_eps=contrast_eps)


@pytest.mark.parametrize("max_patches", [5, 60, None])
@pytest.mark.parametrize("padding", [((1, 1), (2, 2)), ((0, 2), (1, 0)), ((0, 0), (0, 0))])
def test_padded_windows_of_a_subset_equal_those_of_the_padded_subset(padding, max_patches):
    images = distinct_images((6, 5, 4, 2)) + 1  # no zero pixel: padding must show as 0
    subset = np.array([0, 2, 5])
    expected = extract_patches(
        np.pad(images[subset], ((0, 0), *padding, (0, 0))),
        (3, 3),
        max_patches=max_patches,
        rng=np.random.RandomState(0),
    )
    patches = extract_patches(
        images,
        (3, 3),
        max_patches=max_patches,
        rng=np.random.RandomState(0),
        padding=padding,
        image_indices=subset,
    )
    np.testing.assert_array_equal(patches, expected)
    assert patches.dtype == images.dtype


def test_sampling_reads_only_the_windows_it_samples():
    # 40 images of 256x256 float32 (10 MiB): padding them, or copying the subset sampled
    # from, would need that much again; the patches are 100 kB.
    images = np.random.RandomState(0).rand(40, 256, 256, 1).astype(np.float32)
    n_patches, kernel = 1000, (5, 5)
    padding = ((2, 2), (2, 2))
    subset = np.arange(0, 40, 2)
    tracemalloc.start()
    try:
        patches = extract_patches(
            images,
            kernel,
            max_patches=n_patches,
            rng=np.random.RandomState(0),
            padding=padding,
            image_indices=subset,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    one_image = images[0].nbytes
    # Measured 311 kB: the patches, then per kernel row its indices and gathered values.
    assert peak <= 2 * patches.nbytes + one_image
