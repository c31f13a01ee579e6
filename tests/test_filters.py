import warnings

import numpy as np
import pytest
import skimage.filters
from scipy.signal import correlate2d
from sklearn.cluster import MiniBatchKMeans
from sklearn.decomposition import PCA

from skconv import filters as filters_module
from skconv.filters import (
    FilterBankFallbackWarning,
    LearnedBank,
    _handcrafted,
    default_contrast_eps,
    edge_bank,
    estimate_contrast_eps,
    gabor_bank,
    kmeans_bank,
    learn_kmeans_bank,
    learn_pca_bank,
    pca_bank,
    random_bank,
    seed_bank,
    tutorial_bank,
)
from skconv.filters._patches import extract_patches, normalize_patches


def flat(bank):
    return bank.reshape(len(bank), -1)


def interior(image, margin):
    return image[margin:-margin, margin:-margin]


@pytest.fixture(scope="module")
def digit_patches():
    from sklearn.datasets import load_digits

    images = load_digits().images[:300, :, :, None]
    return extract_patches(images, (3, 3), max_patches=3000, rng=np.random.RandomState(0))


# --- tutorial ---------------------------------------------------------------------------


def test_tutorial_bank_is_the_tutorials_filters():
    bank = tutorial_bank()
    assert bank.dtype == np.float64
    np.testing.assert_array_equal(
        bank,
        [
            [[1, 1, 1], [1, 1, 1], [1, 1, 1]],
            [[-1, 1, -1], [-1, 1, -1], [-1, 1, -1]],
            [[-1, -1, 1], [-1, 1, -1], [1, -1, -1]],
        ],
    )


# --- edges ------------------------------------------------------------------------------

OPERATORS = {
    "sobel": (3, skimage.filters.sobel_h, skimage.filters.sobel_v),
    "scharr": (3, skimage.filters.scharr_h, skimage.filters.scharr_v),
    "prewitt": (3, skimage.filters.prewitt_h, skimage.filters.prewitt_v),
    "farid": (5, skimage.filters.farid_h, skimage.filters.farid_v),
}


@pytest.mark.parametrize("operator", sorted(OPERATORS))
def test_edge_filters_respond_like_skimage_on_a_random_image(operator):
    size, rows_filter, cols_filter = OPERATORS[operator]
    image = np.random.RandomState(0).uniform(size=(20, 23))
    bank = edge_bank(n_filters=4, kernel_size=size, operator=operator)
    assert bank.shape == (4, size, size)
    responses = [interior(correlate2d(image, k, mode="same"), size) for k in bank]
    rows_response = interior(rows_filter(image), size)
    cols_response = interior(cols_filter(image), size)
    np.testing.assert_allclose(responses[0], rows_response, atol=1e-12)
    np.testing.assert_allclose(responses[2], cols_response, atol=1e-12)
    # The diagonals are the derivative steered to 45 and 135 degrees.
    np.testing.assert_allclose(responses[1], (rows_response + cols_response) / np.sqrt(2))
    np.testing.assert_allclose(responses[3], (cols_response - rows_response) / np.sqrt(2))


@pytest.mark.parametrize("kernel_size", [3, 5])
def test_edge_filters_pick_the_orientation_and_sign_of_a_step_edge(kernel_size):
    rows, cols = np.mgrid[:15, :15]
    steps = {
        # Bright below a horizontal edge: intensity grows down the rows.
        0: (rows >= 7).astype(float),
        # Bright right of a vertical edge.
        2: (cols >= 7).astype(float),
        # Bright below-right of an anti-diagonal edge: grows toward the down-right.
        1: (rows + cols >= 14).astype(float),
        # Bright above-right of a diagonal edge: grows toward the up-right.
        3: (cols - rows >= 0).astype(float),
    }
    bank = edge_bank(n_filters=4, kernel_size=kernel_size)
    for expected, image in steps.items():
        strengths = [interior(correlate2d(image, k, mode="same"), 3).sum() for k in bank]
        assert np.argmax(np.abs(strengths)) == expected
        assert strengths[expected] > 0
    # And skimage agrees on the sign: sobel_h of the bright-below image is positive.
    assert interior(skimage.filters.sobel_h(steps[0]), 3).sum() > 0


def test_edge_bank_orientations_are_evenly_spaced_and_equally_strong():
    bank = edge_bank(n_filters=8)
    norms = np.linalg.norm(flat(bank), axis=1)
    np.testing.assert_allclose(norms, norms[0])
    cosines = flat(bank) @ flat(bank)[0] / norms**2
    np.testing.assert_allclose(cosines, np.cos(np.arange(8) * np.pi / 8), atol=1e-12)
    np.testing.assert_allclose(
        edge_bank(n_filters=2, kernel_size=(3, 3)), edge_bank(n_filters=4)[[0, 2]], atol=1e-15
    )


@pytest.mark.parametrize("kernel_size", [1, 4, 7, (3, 5)])
def test_edge_bank_unsupported_sizes_name_kernel_size(kernel_size):
    with pytest.raises(ValueError, match="kernel_size"):
        edge_bank(kernel_size=kernel_size)


def test_edge_bank_operator_must_match_size():
    with pytest.raises(ValueError, match="kernel_size"):
        edge_bank(kernel_size=3, operator="farid")
    with pytest.raises(ValueError, match="operator"):
        edge_bank(kernel_size=3, operator="canny")


def test_edge_bank_reads_positional_arguments_in_the_old_order_with_a_warning():
    # 0.1's order was (kernel_size, n_filters): edge_bank(5, 2) meant 2 Farid filters.
    with pytest.warns(FutureWarning, match="deprecated in 0.2 and raise a TypeError from 0.4"):
        old_call = edge_bank(5, 2)
    np.testing.assert_array_equal(old_call, edge_bank(n_filters=2, kernel_size=5))
    with pytest.warns(FutureWarning, match="Pass n_filters= and kernel_size= by keyword"):
        np.testing.assert_array_equal(edge_bank(5), edge_bank(kernel_size=5))
    with pytest.warns(FutureWarning), pytest.raises(TypeError, match="multiple values"):
        edge_bank(5, kernel_size=3)
    with pytest.raises(TypeError, match="at most 2 positional"):
        edge_bank(3, 4, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        edge_bank(n_filters=2, kernel_size=5)  # keywords: no warning


def test_edge_bank_without_its_shim_refuses_positional_arguments():
    """What 0.4 gives once the shim is removed: an error, never the other order."""
    from skconv.filters import _handcrafted

    assert _handcrafted.edge_bank is not edge_bank
    with pytest.raises(TypeError, match="positional"):
        _handcrafted.edge_bank(5, 2)
    np.testing.assert_array_equal(
        _handcrafted.edge_bank(n_filters=2, kernel_size=5), edge_bank(n_filters=2, kernel_size=5)
    )


# --- gabor ------------------------------------------------------------------------------


def zero_mean_unit_norm(kernel):
    kernel = kernel - kernel.mean()
    return kernel / np.linalg.norm(kernel)


@pytest.mark.parametrize("kernel_size", [3, 5, 7, (5, 9), 4])
def test_gabor_bank_shape_zero_mean_unit_norm(kernel_size):
    bank = gabor_bank(8, kernel_size)
    kh, kw = (kernel_size, kernel_size) if np.isscalar(kernel_size) else kernel_size
    assert bank.shape == (8, kh, kw)
    assert bank.dtype == np.float64
    np.testing.assert_allclose(flat(bank).sum(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(flat(bank), axis=1), 1)


def test_gabor_bank_is_skimages_kernel_cropped():
    frequencies = [0.2, 0.3]
    bank = gabor_bank(6, 5, frequencies=frequencies, n_orientations=3)
    k = 0
    for frequency in frequencies:  # frequency-major order
        for theta in np.arange(3) * np.pi / 3:
            reference = skimage.filters.gabor_kernel(frequency, theta=theta).real
            assert min(reference.shape) > 5  # so this really is a crop
            r0, c0 = reference.shape[0] // 2 - 2, reference.shape[1] // 2 - 2
            crop = reference[r0 : r0 + 5, c0 : c0 + 5]
            np.testing.assert_allclose(bank[k], zero_mean_unit_norm(crop), atol=1e-12)
            k += 1


def test_gabor_bank_zero_pads_small_kernels():
    reference = skimage.filters.gabor_kernel(0.45, theta=0).real
    assert reference.shape[0] < 15 and reference.shape[1] < 15
    pad_rows = (15 - reference.shape[0]) // 2
    pad_cols = (15 - reference.shape[1]) // 2
    padded = np.pad(reference, [(pad_rows, pad_rows), (pad_cols, pad_cols)])
    bank = gabor_bank(1, 15, frequencies=[0.45])
    np.testing.assert_allclose(bank[0], zero_mean_unit_norm(padded), atol=1e-12)


def test_gabor_bank_theta_zero_detects_vertical_stripes():
    cols = np.arange(12)
    stripes = np.tile(np.cos(2 * np.pi * 0.25 * cols), (12, 1))  # vertical stripes
    bank = gabor_bank(2, 7, frequencies=[0.25])  # theta 0 and pi / 2
    energy = [np.abs(interior(correlate2d(stripes, k, mode="same"), 3)).sum() for k in bank]
    assert energy[0] > 10 * energy[1]


def test_gabor_bank_counts():
    # n_orientations defaults to the fewest reaching n_filters; the grid is then truncated.
    bank = gabor_bank(5, 5, frequencies=[0.2, 0.3])
    full = gabor_bank(6, 5, frequencies=[0.2, 0.3], n_orientations=3)
    np.testing.assert_array_equal(bank, full[:5])
    with pytest.raises(ValueError, match="n_filters"):
        gabor_bank(7, 5, frequencies=[0.2, 0.3], n_orientations=3)
    with pytest.raises(ValueError, match="frequencies"):
        gabor_bank(4, 5, frequencies=[0.0, 0.3])
    with pytest.raises(ValueError, match="kernel_size"):
        gabor_bank(4, 1)


def skimage_crop(frequency, theta, bandwidth, kh, kw):
    """scikit-image's whole kernel, cropped or zero-padded: what gabor_bank computed in 0.1."""
    kernel = skimage.filters.gabor_kernel(frequency, theta=theta, bandwidth=bandwidth).real
    return _handcrafted._centre_crop_or_pad(kernel, kh, kw)


@pytest.mark.parametrize(
    ("kernel_size", "frequencies", "bandwidth"),
    [
        (5, None, 1.0),  # the default bank: the crop is much smaller than the kernel
        ((3, 9), [0.05, 0.3], 0.3),
        (15, [0.45], 1.0),  # a kernel smaller than the window, zero-padded
        (21, [0.1, 0.45], 3.0),
        (4, [0.2], 0.05),
    ],
)
def test_gabor_bank_computes_only_the_window_to_the_last_bit(kernel_size, frequencies, bandwidth):
    kh, kw = (kernel_size, kernel_size) if np.isscalar(kernel_size) else kernel_size
    frequencies = frequencies or filters_module.DEFAULT_GABOR_FREQUENCIES
    n_filters = 4 * len(frequencies)
    bank = gabor_bank(
        n_filters, kernel_size, frequencies=frequencies, n_orientations=4, bandwidth=bandwidth
    )
    reference = np.stack(
        [
            skimage_crop(frequency, j * np.pi / 4, bandwidth, kh, kw)
            for frequency in frequencies
            for j in range(4)
        ]
    )
    np.testing.assert_array_equal(bank, _handcrafted._zero_mean_unit_norm(reference))


def test_gabor_bank_with_a_tiny_bandwidth_is_cosine_stripes_not_petabytes():
    # scikit-image alone would size this kernel to about 1.2 PiB.
    bank = gabor_bank(2, 5, frequencies=[0.25], bandwidth=1e-6)
    columns = np.cos(2 * np.pi * 0.25 * np.arange(-2, 3))
    np.testing.assert_allclose(bank[0], zero_mean_unit_norm(np.tile(columns, (5, 1))), atol=1e-9)
    np.testing.assert_allclose(bank[1], bank[0].T, atol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"bandwidth": 0}, ValueError, r"^bandwidth must be a positive finite float; got 0\."),
        ({"bandwidth": -1.0}, ValueError, r"^bandwidth must be a positive finite float"),
        ({"bandwidth": np.nan}, ValueError, r"^bandwidth must be a positive finite float"),
        ({"bandwidth": np.inf}, ValueError, r"^bandwidth must be a positive finite float"),
        ({"bandwidth": "1"}, TypeError, r"^bandwidth must be a positive finite float"),
        ({"bandwidth": 100.0}, ValueError, r"^bandwidth must be in \(0, 64\] octaves"),
        ({"bandwidth": 1e-17}, ValueError, r"^bandwidth=1e-17 with frequency 0.25 .* too wide"),
        ({"frequencies": []}, ValueError, r"^frequencies must be a non-empty sequence"),
        ({"frequencies": [np.nan]}, ValueError, r"^frequencies must be .* got \[nan\]"),
        ({"frequencies": [np.inf]}, ValueError, r"^frequencies must be .* in \(0, 0.5\]"),
        ({"frequencies": [-0.25]}, ValueError, r"^frequencies must be"),
        ({"frequencies": "high"}, TypeError, r"^frequencies must be"),
        ({"frequencies": [1e-300]}, ValueError, r"too wide .* or higher frequencies"),
        ({"frequencies": [1e-7]}, ValueError, r"is flat over a 5x5 window .* higher frequencies"),
    ],
)
def test_gabor_bank_refuses_unusable_floats_naming_them(kwargs, error, message):
    with pytest.raises(error, match=message):
        gabor_bank(4, 5, **kwargs)


# --- random -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kernel_size", "n_channels", "shape"),
    [(3, None, (6, 3, 3)), ((2, 5), None, (6, 2, 5)), (3, 3, (6, 3, 3, 3)), (1, 4, (6, 1, 1, 4))],
)
def test_random_bank_shape_zero_mean_unit_norm(kernel_size, n_channels, shape):
    bank = random_bank(6, kernel_size, n_channels=n_channels, random_state=0)
    assert bank.shape == shape
    assert bank.dtype == np.float64
    np.testing.assert_allclose(flat(bank).sum(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(flat(bank), axis=1), 1)


def test_random_bank_reproducible():
    np.testing.assert_array_equal(random_bank(5, random_state=7), random_bank(5, random_state=7))
    np.testing.assert_array_equal(
        random_bank(5, random_state=np.random.RandomState(7)), random_bank(5, random_state=7)
    )
    assert not np.allclose(random_bank(5, random_state=7), random_bank(5, random_state=8))
    rng = np.random.RandomState(0)
    assert not np.allclose(random_bank(5, random_state=rng), random_bank(5, random_state=rng))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"kernel_size": 1}, "kernel_size"),
        ({"kernel_size": (2, 0)}, "kernel_size"),
        ({"n_filters": 0}, "n_filters"),
        ({"n_channels": 0}, "n_channels"),
    ],
)
def test_random_bank_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        random_bank(**kwargs)


@pytest.mark.parametrize(
    ("builder", "kwargs", "name"),
    [
        (random_bank, {"kernel_size": 2.5}, "kernel_size"),
        (random_bank, {"kernel_size": (3, 3, 3)}, "kernel_size"),
        (gabor_bank, {"n_filters": True}, "n_filters"),
        (edge_bank, {"n_filters": 2.0}, "n_filters"),
        (random_bank, {"n_channels": "3"}, "n_channels"),
    ],
)
def test_builders_reject_non_int_sizes_with_a_type_error(builder, kwargs, name):
    with pytest.raises(TypeError, match=f"^{name} must be an int"):
        builder(**kwargs)


# --- k-means ----------------------------------------------------------------------------

KMEANS_PARAMS = {"max_iter": 100, "n_init": 3, "batch_size": 1024}


def test_kmeans_filters_are_the_cluster_centres_without_whitening(digit_patches):
    filters, bias = learn_kmeans_bank(
        digit_patches, 6, whiten=False, contrast_eps=0.5, random_state=0, **KMEANS_PARAMS
    )
    assert filters.shape == (6, 3, 3, 1)
    np.testing.assert_array_equal(bias, 0)
    normalized = flat(normalize_patches(digit_patches, contrast_eps=0.5))
    centres = (
        MiniBatchKMeans(n_clusters=6, random_state=0, **KMEANS_PARAMS)
        .fit(normalized)
        .cluster_centers_
    )
    # Centres of zero-sum points are zero-sum already, so the folding changes nothing.
    np.testing.assert_allclose(flat(filters), centres, atol=1e-12)
    np.testing.assert_allclose(flat(filters).sum(axis=1), 0, atol=1e-12)


def whitening(normalized, zca_eps):
    mean = normalized.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(normalized, rowvar=False, bias=True))
    zca = eigenvectors @ np.diag(1 / np.sqrt(np.clip(eigenvalues, 0, None) + zca_eps))
    return mean, zca @ eigenvectors.T


def test_kmeans_folding_reproduces_the_whitened_dot_product(digit_patches):
    contrast_eps, zca_eps = 0.5, 0.1
    filters, bias = learn_kmeans_bank(
        digit_patches,
        5,
        contrast_eps=contrast_eps,
        zca_eps=zca_eps,
        random_state=1,
        **KMEANS_PARAMS,
    )
    normalized = flat(normalize_patches(digit_patches, contrast_eps=contrast_eps))
    mean, zca = whitening(normalized, zca_eps)
    centroids = (
        MiniBatchKMeans(n_clusters=5, random_state=1, **KMEANS_PARAMS)
        .fit((normalized - mean) @ zca.T)
        .cluster_centers_
    )
    rng = np.random.RandomState(2)
    raw = rng.uniform(0, 16, size=(50, 3, 3, 1))
    new_normalized = flat(normalize_patches(raw, contrast_eps=contrast_eps))
    whitened_scores = (new_normalized - mean) @ zca.T @ centroids.T
    np.testing.assert_allclose(new_normalized @ flat(filters).T + bias, whitened_scores, atol=1e-9)
    # What transform must compute on raw windows (see the Notes of learn_kmeans_bank).
    raw_flat = flat(raw)
    scale = np.sqrt(raw_flat.var(axis=1, keepdims=True) + contrast_eps)
    np.testing.assert_allclose(
        raw_flat @ flat(filters).T / scale + bias, whitened_scores, atol=1e-9
    )


def test_kmeans_colour_patches_give_a_full_bank():
    images = np.random.RandomState(0).uniform(size=(4, 10, 10, 3))
    patches = extract_patches(images, (3, 3), max_patches=200, rng=np.random.RandomState(0))
    filters, bias = learn_kmeans_bank(patches, 4, random_state=0)
    assert filters.shape == (4, 3, 3, 3)
    assert bias.shape == (4,)
    assert filters.dtype == bias.dtype == np.float64
    np.testing.assert_allclose(flat(filters).sum(axis=1), 0, atol=1e-12)


def test_kmeans_bank_reproducible_and_data_dependent(digit_patches):
    first = learn_kmeans_bank(digit_patches, 4, random_state=0)
    again = learn_kmeans_bank(digit_patches, 4, random_state=0)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    other_data = learn_kmeans_bank(digit_patches[::-1][:1500], 4, random_state=0)
    assert not np.allclose(first[0], other_data[0])


def test_kmeans_auto_regularisers_follow_the_intensity_scale(digit_patches):
    before = digit_patches.copy()
    filters, bias = learn_kmeans_bank(digit_patches, 4, random_state=0)
    np.testing.assert_array_equal(digit_patches, before)
    explicit = learn_kmeans_bank(
        digit_patches, 4, contrast_eps=estimate_contrast_eps(digit_patches), random_state=0
    )
    np.testing.assert_array_equal(filters, explicit[0])
    # Rescaling the data rescales both regularisers, so the normalised patches, their
    # whitening and the bank are unchanged.
    scaled = learn_kmeans_bank(digit_patches / 16.0, 4, random_state=0)
    np.testing.assert_allclose(scaled[0], filters, atol=1e-8)
    np.testing.assert_allclose(scaled[1], bias, atol=1e-8)
    # A fixed regulariser does not have that property.
    fixed = learn_kmeans_bank(digit_patches / 16.0, 4, contrast_eps=1.0, random_state=0)
    assert not np.allclose(fixed[0], filters, atol=1e-3)


def test_estimate_contrast_eps():
    patches = np.random.RandomState(0).uniform(size=(30, 2, 2, 3))
    variances = flat(patches).var(axis=1)
    assert estimate_contrast_eps(patches) == pytest.approx(0.01 * variances.mean())
    assert estimate_contrast_eps(patches * 10) == pytest.approx(
        100 * estimate_contrast_eps(patches)
    )
    assert estimate_contrast_eps(np.ones((5, 3, 3, 1))) == 1.0


@pytest.mark.parametrize(
    "patches",
    [
        np.random.RandomState(0).uniform(size=(1, 3, 3, 1)),  # one sample
        np.full((50, 3, 3, 1), 4.0),  # all flat
        np.tile(np.random.RandomState(0).uniform(size=(2, 3, 3, 1)), (10, 1, 1, 1)),
    ],
    ids=["one-patch", "flat", "two-distinct"],
)
def test_kmeans_tiny_data_falls_back_to_random_filters(patches):
    with pytest.warns(FilterBankFallbackWarning, match="n_filters=4"):
        filters, bias = learn_kmeans_bank(patches, 4, random_state=3)
    np.testing.assert_array_equal(filters, random_bank(4, 3, n_channels=1, random_state=3))
    np.testing.assert_array_equal(bias, 0)


def test_kmeans_enough_distinct_patches_do_not_fall_back():
    patches = np.random.RandomState(0).uniform(size=(4, 3, 3, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", FilterBankFallbackWarning)
        filters, _ = learn_kmeans_bank(patches, 4, random_state=0)
    assert filters.shape == (4, 3, 3, 1)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"contrast_eps": 0.0}, "contrast_eps"),
        ({"contrast_eps": "big"}, "contrast_eps"),
        ({"zca_eps": -1.0}, "zca_eps"),
        ({"zca_eps": "small"}, "zca_eps"),
        ({"n_filters": 0}, "n_filters"),
    ],
)
def test_kmeans_bank_bad_arguments(digit_patches, kwargs, name):
    kwargs = {"n_filters": 3, **kwargs}
    with pytest.raises(ValueError, match=name):
        learn_kmeans_bank(digit_patches, **kwargs)


def test_learners_reject_unusable_patches():
    with pytest.raises(ValueError, match="patches"):
        learn_kmeans_bank(np.ones((10, 3, 3)), 2)
    with pytest.raises(ValueError, match="patches"):
        learn_pca_bank(np.ones((0, 3, 3, 1)), 2)
    with pytest.raises(ValueError, match="at least 2 values"):
        learn_kmeans_bank(np.ones((10, 1, 1, 1)), 2)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize(
    "learner",
    [
        lambda patches: learn_kmeans_bank(patches, 2),
        lambda patches: learn_kmeans_bank(patches, 2, contrast_eps=1.0),
        lambda patches: learn_pca_bank(patches, 2),
        estimate_contrast_eps,
    ],
    ids=["kmeans-auto", "kmeans-eps", "pca", "estimate_contrast_eps"],
)
def test_learners_blame_non_finite_patches_not_contrast_eps(learner, bad):
    patches = np.random.RandomState(0).uniform(size=(50, 3, 3, 1))
    patches[7, 1, 2, 0] = bad
    with pytest.raises(ValueError, match=r"^patches hold NaN or infinite values; drop"):
        learner(patches)


def test_deprecated_kmeans_bank_blames_non_finite_patches():
    patches = np.full((20, 3, 3, 1), np.nan)
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match=r"^patches hold NaN"):
        kmeans_bank(patches, 2)


def test_contrast_eps_of_patches_too_large_for_float64_is_refused():
    patches = np.random.RandomState(0).uniform(size=(50, 3, 3, 1)) * 1e300
    with pytest.raises(ValueError, match=r"^patches vary too much .* rescale the images"):
        estimate_contrast_eps(patches)


@pytest.mark.parametrize("name", ["contrast_eps", "zca_eps"])
@pytest.mark.parametrize("value", [np.inf, np.nan, -1.0, True])
def test_kmeans_regularisers_must_be_positive_and_finite(digit_patches, name, value):
    with pytest.raises(ValueError, match=rf"^{name} must be a positive finite float"):
        learn_kmeans_bank(digit_patches, 3, **{name: value})


# --- PCA --------------------------------------------------------------------------------


def test_pca_filters_orthonormal_zero_sum_ordered_by_variance(digit_patches):
    before = digit_patches.copy()
    filters, bias = learn_pca_bank(digit_patches, 6)
    np.testing.assert_array_equal(digit_patches, before)
    assert filters.shape == (6, 3, 3, 1)
    assert filters.dtype == bias.dtype == np.float64
    np.testing.assert_array_equal(bias, np.zeros(6))
    np.testing.assert_allclose(flat(filters) @ flat(filters).T, np.eye(6), atol=1e-12)
    np.testing.assert_allclose(flat(filters).sum(axis=1), 0, atol=1e-12)
    centred = flat(normalize_patches(digit_patches, contrast_eps=None))
    variances = (centred @ flat(filters).T).var(axis=0)
    assert np.all(np.diff(variances) < 0)
    # No other unit zero-sum direction captures more variance than the first filter.
    others = flat(random_bank(50, 3, random_state=0))
    assert variances[0] >= (centred @ others.T).var(axis=0).max()


def test_pca_filters_are_the_principal_components(digit_patches):
    centred = flat(normalize_patches(digit_patches, contrast_eps=None))
    components = PCA(n_components=4).fit(centred).components_
    filters = learn_pca_bank(digit_patches, 4).filters
    # Components are defined up to sign.
    signs = np.sign(np.sum(flat(filters) * components, axis=1))
    np.testing.assert_allclose(flat(filters), signs[:, None] * components, atol=1e-8)


def test_pca_colour_bank():
    images = np.random.RandomState(0).uniform(size=(3, 8, 8, 3))
    patches = extract_patches(images, (2, 2), max_patches=None, rng=None)
    filters = learn_pca_bank(patches, 11).filters  # the most that 2 * 2 * 3 values allow
    assert filters.shape == (11, 2, 2, 3)
    np.testing.assert_allclose(flat(filters) @ flat(filters).T, np.eye(11), atol=1e-12)


@pytest.mark.parametrize("n_patches", [1, 2, 4])
def test_pca_tiny_data_completes_the_basis(n_patches):
    patches = np.random.RandomState(0).uniform(size=(n_patches, 3, 3, 1))
    with pytest.warns(FilterBankFallbackWarning, match="n_filters=6"):
        filters = learn_pca_bank(patches, 6).filters
    assert filters.shape == (6, 3, 3, 1)
    np.testing.assert_allclose(flat(filters) @ flat(filters).T, np.eye(6), atol=1e-12)
    np.testing.assert_allclose(flat(filters).sum(axis=1), 0, atol=1e-12)
    # n patches vary in n - 1 directions after centring; those come first.
    centred = flat(normalize_patches(patches, contrast_eps=None))
    variances = (centred @ flat(filters).T).var(axis=0)
    assert np.all(variances[: n_patches - 1] > 1e-6)
    np.testing.assert_allclose(variances[n_patches - 1 :], 0, atol=1e-20)
    with pytest.warns(FilterBankFallbackWarning):
        again = learn_pca_bank(patches, 6).filters
    np.testing.assert_array_equal(again, filters)  # deterministic


def test_pca_flat_patches_complete_the_basis():
    with pytest.warns(FilterBankFallbackWarning):
        filters = learn_pca_bank(np.full((20, 3, 3, 1), 2.0), 8).filters
    np.testing.assert_allclose(flat(filters) @ flat(filters).T, np.eye(8), atol=1e-12)
    np.testing.assert_allclose(flat(filters).sum(axis=1), 0, atol=1e-12)


def test_pca_too_many_filters_names_n_filters(digit_patches):
    with pytest.raises(ValueError, match="n_filters"):
        learn_pca_bank(digit_patches, 9)  # 3 * 3 values leave 8 zero-sum directions


# --- deprecated names -------------------------------------------------------------------


def test_learners_return_a_learned_bank(digit_patches):
    for bank in (
        learn_kmeans_bank(digit_patches, 3, random_state=0),
        learn_pca_bank(digit_patches, 3),
    ):
        assert isinstance(bank, LearnedBank)
        assert bank.filters.shape == (3, 3, 3, 1)
        assert bank.bias.shape == (3,)


@pytest.mark.parametrize(
    ("old", "new", "call"),
    [
        (seed_bank, tutorial_bank, lambda f, patches: f()),
        (default_contrast_eps, estimate_contrast_eps, lambda f, patches: f(patches)),
        (
            kmeans_bank,
            learn_kmeans_bank,
            lambda f, patches: f(patches, 3, whiten=False, random_state=0),
        ),
        (pca_bank, learn_pca_bank, lambda f, patches: f(patches, 3)),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_deprecated_names_warn_and_give_the_new_result(old, new, call, digit_patches):
    with pytest.warns(
        FutureWarning, match=f"^{old.__name__} is deprecated in 0.2 .* 0.4; use {new.__name__}"
    ):
        result = call(old, digit_patches)
    expected = call(new, digit_patches)
    if new is learn_kmeans_bank:
        # The 0.1 return shape: a plain (filters, bias) tuple.
        assert type(result) is tuple
        expected = tuple(expected)
    elif new is learn_pca_bank:
        expected = expected.filters  # 0.1 returned the filters only
    np.testing.assert_equal(result, expected)


def test_all_lists_the_new_names_and_the_shims():
    names = set(filters_module.__all__)
    assert {"tutorial_bank", "learn_kmeans_bank", "learn_pca_bank", "LearnedBank"} <= names
    assert {"seed_bank", "kmeans_bank", "pca_bank", "default_contrast_eps"} <= names
    assert all(hasattr(filters_module, name) for name in names)
