"""ConvFeatureExtractor: layouts, references, parameters and bad input."""

import re
import tracemalloc
import warnings

import numpy as np
import pytest
from scipy.signal import correlate2d
from sklearn.base import clone

import skconv._progress
from skconv import ConvFeatureExtractor
from skconv.filters import gabor_bank, tutorial_bank


@pytest.fixture
def images():
    return np.random.RandomState(0).rand(6, 9, 8)


def test_default_bank_is_gabor(images):
    conv = ConvFeatureExtractor().fit(images)
    np.testing.assert_array_equal(conv.filters_, gabor_bank())


def test_seed_preset_is_the_tutorial_bank(images):
    conv = ConvFeatureExtractor(filters="tutorial").fit(images)
    np.testing.assert_array_equal(conv.filters_, tutorial_bank())
    assert conv.filters_.shape == (3, 3, 3)
    np.testing.assert_array_equal(conv.filters_[1], [[-1, 1, -1]] * 3)
    np.testing.assert_array_equal(conv.filters_[2], [[-1, -1, 1], [-1, 1, -1], [1, -1, -1]])


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_normalized_relu_maps_match_the_tutorial_formula(images, padding):
    conv = ConvFeatureExtractor(filters="tutorial", padding=padding, normalize=True)
    maps = conv.fit_transform(images)
    for k, kernel in enumerate(tutorial_bank()):
        expected = np.maximum(correlate2d(images[2], kernel, mode=padding) / 9, 0)
        np.testing.assert_allclose(maps[2, :, :, k], expected)


def test_layouts_agree_and_n_features_in_is_the_pixel_count(images):
    stack = images
    flat = images.reshape(6, -1)
    with_channel = images[..., None]
    results = [
        ConvFeatureExtractor(image_shape=(9, 8)).fit(flat),
        ConvFeatureExtractor().fit(stack),
        ConvFeatureExtractor().fit(with_channel),
        ConvFeatureExtractor(image_shape=(9, 8, 1)).fit(flat),
    ]
    maps = [conv.transform(x) for conv, x in zip(results, [flat, stack, with_channel, flat])]
    for conv, m in zip(results, maps):
        assert conv.n_features_in_ == 72
        assert conv.image_shape_ == (9, 8, 1)
        np.testing.assert_array_equal(m, maps[0])
    # A model fitted on one layout transforms the others.
    np.testing.assert_array_equal(results[0].transform(stack), maps[0])


def test_two_dimensional_x_without_image_shape_is_one_row_images():
    X = np.random.RandomState(1).randn(5, 7)
    conv = ConvFeatureExtractor(filters="tutorial", activation=None).fit(X)
    maps = conv.transform(X)
    assert conv.image_shape_ == (1, 7, 1)
    assert maps.shape == (5, 1, 7, 3)
    expected = correlate2d(X[3][None], tutorial_bank()[2], mode="same")
    np.testing.assert_allclose(maps[3, :, :, 2], expected)


@pytest.mark.parametrize(
    "kernel_shape, stride, padding",
    [
        ((3, 3), 1, "same"),
        ((4, 4), 2, "same"),
        ((2, 3), (1, 2), "valid"),
        ((1, 1), 3, "valid"),
        ((5, 3), 1, 2),
        ((3, 2), (2, 1), (1, 0)),
    ],
)
def test_explicit_banks_match_correlate2d(images, kernel_shape, stride, padding):
    rng = np.random.RandomState(2)
    bank = rng.randn(4, *kernel_shape)
    conv = ConvFeatureExtractor(filters=bank, stride=stride, padding=padding, activation=None)
    maps = conv.fit_transform(images)
    rows, cols = np.broadcast_to(stride, 2)
    if padding == "same":
        top, left = (kernel_shape[0] - 1) // 2, (kernel_shape[1] - 1) // 2
        pads = ((top, kernel_shape[0] - 1 - top), (left, kernel_shape[1] - 1 - left))
    elif padding == "valid":
        pads = ((0, 0), (0, 0))
    else:
        pr, pc = np.broadcast_to(padding, 2)
        pads = ((pr, pr), (pc, pc))
    for k in range(4):
        expected = correlate2d(np.pad(images[4], pads), bank[k], mode="valid")[::rows, ::cols]
        np.testing.assert_allclose(maps[4, :, :, k], expected, atol=1e-12)
    assert conv.output_shape_ == maps.shape[1:]


def test_the_tutorial_walk_through():
    nine = np.array(
        [
            [-1, 1, 1, 1, -1],
            [-1, 1, -1, 1, -1],
            [-1, 1, 1, 1, -1],
            [-1, -1, -1, 1, -1],
            [-1, -1, -1, 1, -1],
            [-1, -1, -1, 1, -1],
            [-1, -1, 1, -1, -1],
        ],
        dtype=float,
    )
    from skconv import PoolTransformer

    conv = ConvFeatureExtractor(filters="tutorial", padding="valid", normalize=True)
    maps = conv.fit_transform(nine[None])
    assert maps.shape == (1, 5, 3, 3)
    pooled = PoolTransformer(pool_size=2, stride=1, flatten=False).fit_transform(maps)
    assert pooled.shape == (1, 4, 2, 3)
    features = PoolTransformer(pool_size=2, stride=1).fit_transform(maps)
    assert features.shape == (1, 24)
    # The box filter finds the loop of the nine at the top: a full-strength response of 1.
    assert maps[0, 0, 1, 0] == pytest.approx(np.sum(nine[0:3, 1:4]) / 9)
    # Flattening is C-order over (rows, cols, maps): no mixing of maps.
    np.testing.assert_array_equal(features[0], pooled[0].ravel())
    np.testing.assert_array_equal(features[0, 2::3], pooled[0, :, :, 2].ravel())


def test_float32_stays_float32_and_input_is_not_modified(images):
    X = images.astype(np.float32)
    before = X.copy()
    bank = np.random.RandomState(3).randn(2, 3, 3)
    bank_before = bank.copy()
    conv = ConvFeatureExtractor(filters=bank)
    maps32 = conv.fit_transform(X)
    assert maps32.dtype == np.float32
    np.testing.assert_array_equal(X, before)
    np.testing.assert_array_equal(bank, bank_before)
    maps64 = conv.transform(X.astype(np.float64))
    assert maps64.dtype == np.float64
    np.testing.assert_allclose(maps32, maps64, rtol=1e-5, atol=1e-5)
    conv.filters_[0] = 0  # the fitted copy is independent of what the user passed
    np.testing.assert_array_equal(bank, bank_before)


def test_deterministic_and_random_state_survives_clone(images):
    rng = np.random.RandomState(0)
    conv = ConvFeatureExtractor(filters="random", random_state=rng)
    copy = clone(conv)
    # clone deep-copies a RandomState; fit resolves it without replacing the parameter.
    np.testing.assert_array_equal(copy.random_state.get_state()[1], rng.get_state()[1])
    copy.fit(images)
    assert isinstance(copy.random_state, np.random.RandomState)
    assert conv.random_state is rng
    np.testing.assert_array_equal(
        clone(conv).fit(images).filters_, clone(conv).fit(images).filters_
    )
    a = ConvFeatureExtractor(filters="random", random_state=7).fit(images)
    b = clone(a).fit(images)
    np.testing.assert_array_equal(a.filters_, b.filters_)
    np.testing.assert_array_equal(a.transform(images), b.transform(images))


def test_methods_agree(images):
    bank = np.random.RandomState(4).randn(3, 5, 5)
    maps = [
        ConvFeatureExtractor(filters=bank, method=method, stride=2).fit_transform(images)
        for method in ("auto", "gemm", "fft")
    ]
    np.testing.assert_allclose(maps[1], maps[0], atol=1e-12)
    np.testing.assert_allclose(maps[2], maps[0], atol=1e-12)


def test_n_jobs_gives_identical_maps(images):
    one = ConvFeatureExtractor(n_jobs=1).fit_transform(images)
    two = ConvFeatureExtractor(n_jobs=2).fit_transform(images)
    np.testing.assert_array_equal(one, two)


def test_colour_images_channelwise_and_full_banks():
    rng = np.random.RandomState(5)
    rgb = rng.rand(3, 6, 7, 3)
    flat_bank = rng.randn(2, 3, 3)
    maps = ConvFeatureExtractor(filters=flat_bank, activation=None, padding="valid").fit_transform(
        rgb
    )
    assert maps.shape == (3, 4, 5, 6)
    for c in range(3):
        for f in range(2):
            expected = correlate2d(rgb[1, :, :, c], flat_bank[f], mode="valid")
            np.testing.assert_allclose(maps[1, :, :, c * 2 + f], expected)
    full_bank = rng.randn(2, 3, 3, 3)
    conv = ConvFeatureExtractor(filters=full_bank, activation=None, padding="valid")
    maps = conv.fit_transform(rgb)
    assert maps.shape == (3, 4, 5, 2)
    expected = sum(
        correlate2d(rgb[0, :, :, c], full_bank[1, :, :, c], mode="valid") for c in range(3)
    )
    np.testing.assert_allclose(maps[0, :, :, 1], expected)
    flat_X = rgb.reshape(3, -1)
    np.testing.assert_allclose(
        ConvFeatureExtractor(
            filters=full_bank, activation=None, padding="valid", image_shape=(6, 7, 3)
        ).fit_transform(flat_X),
        maps,
    )


def test_normalize_divides_by_the_element_count_of_a_full_kernel():
    rgb = np.random.RandomState(6).rand(2, 5, 5, 3)
    bank = np.ones((1, 3, 3, 3))
    plain = ConvFeatureExtractor(filters=bank, activation=None).fit_transform(rgb)
    averaged = ConvFeatureExtractor(filters=bank, activation=None, normalize=True).fit_transform(
        rgb
    )
    np.testing.assert_allclose(averaged, plain / 27)


PRESET_PARAMS = {
    "tutorial": {},
    "edges": {},
    "gabor": {"n_filters": 4, "kernel_size": 5},
    "random": {"n_filters": 5, "kernel_size": (3, 2)},
    "kmeans": {"n_filters": 6, "kernel_size": 3},
    "pca": {"n_filters": 4, "kernel_size": 3},
}


@pytest.mark.parametrize("preset", sorted(PRESET_PARAMS))
@pytest.mark.parametrize("n_channels", [1, 3])
def test_every_preset_on_grey_and_colour(preset, n_channels):
    X = np.random.RandomState(8).rand(12, 10, 9, n_channels).astype(np.float32)
    conv = ConvFeatureExtractor(filters=preset, random_state=0, **PRESET_PARAMS[preset])
    maps = conv.fit_transform(X)
    assert maps.dtype == np.float32
    assert maps.shape == (12, 10, 9, conv.output_shape_[2])
    assert np.all(np.isfinite(maps))
    learned_or_random = preset in ("random", "kmeans", "pca")
    if learned_or_random and n_channels == 3:
        assert conv.filters_.ndim == 4 and conv.filters_.shape[3] == 3
        assert conv.output_shape_[2] == len(conv.filters_)
    else:
        assert conv.filters_.ndim == 3
        assert conv.output_shape_[2] == len(conv.filters_) * n_channels


def test_kmeans_transform_reproduces_the_fit_time_patch_normalisation():
    X = np.random.RandomState(9).rand(20, 8, 8) * 16
    conv = ConvFeatureExtractor(
        filters="kmeans",
        n_filters=5,
        kernel_size=3,
        padding="valid",
        activation=None,
        random_state=0,
    ).fit(X)
    maps = conv.transform(X)
    patch = X[3, 2:5, 4:7]
    expected = (
        np.tensordot(conv.filters_, patch, axes=([1, 2], [0, 1]))
        / np.sqrt(patch.var() + conv.contrast_eps_)
        + conv.bias_
    )
    np.testing.assert_allclose(maps[3, 2, 4], expected, rtol=1e-10)
    assert conv.contrast_eps_ > 0 and np.any(conv.bias_ != 0)


@pytest.mark.parametrize("preset", ["kmeans", "pca", "random"])
def test_learned_banks_are_reproducible_and_follow_the_data(preset):
    rng = np.random.RandomState(10)
    X, other = rng.rand(30, 9, 9), rng.rand(30, 9, 9) ** 3
    conv = ConvFeatureExtractor(filters=preset, n_filters=4, kernel_size=3, random_state=5)
    first = clone(conv).fit(X).filters_
    np.testing.assert_array_equal(first, clone(conv).fit(X).filters_)
    state = np.random.RandomState(5)
    with_instance = ConvFeatureExtractor(
        filters=preset, n_filters=4, kernel_size=3, random_state=state
    )
    np.testing.assert_array_equal(
        clone(with_instance).fit(X).filters_, clone(with_instance).fit(X).filters_
    )
    if preset != "random":
        assert not np.allclose(first, clone(conv).fit(other).filters_)


def test_learned_bank_on_a_large_x_samples_a_subset_of_images():
    X = np.random.RandomState(11).rand(500, 6, 6)
    conv = ConvFeatureExtractor(filters="pca", n_filters=3, kernel_size=3, n_patches=50)
    assert conv.fit(X).filters_.shape == (3, 3, 3)


def test_sized_presets_take_n_filters_and_kernel_size():
    X = np.random.RandomState(12).rand(4, 12, 12)
    conv = ConvFeatureExtractor(filters="gabor", n_filters=6, kernel_size=(5, 7)).fit(X)
    assert conv.filters_.shape == (6, 5, 7)
    assert ConvFeatureExtractor(filters="edges", n_filters=8).fit(X).filters_.shape == (8, 3, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        ConvFeatureExtractor(filters="edges", kernel_size=4).fit(X)


@pytest.mark.parametrize(
    "dtype, expected",
    [
        (np.uint8, np.float32),
        (np.int8, np.float32),
        (np.uint16, np.float32),
        (np.int16, np.float32),
        (np.bool_, np.float32),
        (np.float16, np.float32),
        (">f4", np.float32),
        (">f8", np.float64),
        (np.int32, np.float64),
        (np.int64, np.float64),
        (np.uint64, np.float64),
    ],
)
def test_the_documented_dtype_rule(images, dtype, expected):
    X = (images * 200).astype(dtype)
    maps = ConvFeatureExtractor(filters="tutorial").fit_transform(X)
    assert maps.dtype == expected and maps.dtype.isnative
    exact = ConvFeatureExtractor(filters="tutorial").fit_transform(X.astype(np.float64))
    # float32 maps carry float32 rounding of sums of up to 9 products of values up to 200.
    tolerance = 1e-3 if expected == np.float32 else 1e-9
    np.testing.assert_allclose(maps, exact, rtol=0, atol=tolerance)


def test_set_params_after_fit_needs_a_refit_unless_it_changes_no_output(images):
    conv = ConvFeatureExtractor(filters="tutorial").fit(images)
    maps = conv.transform(images)
    conv.set_params(n_jobs=2, verbose=0)  # how the work runs, not what it gives
    np.testing.assert_array_equal(conv.transform(images), maps)
    conv.set_params(activation="crelu")
    with pytest.raises(ValueError, match="'activation' changed since fit"):
        conv.transform(images)
    with pytest.raises(ValueError, match="Refit"):
        conv.get_feature_names_out()
    assert conv.fit(images).transform(images).shape[-1] == conv.output_shape_[-1] == 6
    bank = np.ones((2, 3, 3))
    conv = ConvFeatureExtractor(filters=bank).fit(images)
    bank[0, 0, 0] = 5  # an in-place edit of the array passed counts as a change
    with pytest.raises(ValueError, match="'filters' changed"):
        conv.transform(images)


def test_verbose_reports_batches_and_changes_no_maps(capsys):
    images = np.random.RandomState(0).rand(40, 64, 64).astype(np.float32)
    conv = ConvFeatureExtractor(filters="random", n_filters=64, random_state=0).fit(images)
    quiet = conv.transform(images)
    assert capsys.readouterr().out == ""
    loud = conv.set_params(verbose=2).transform(images)
    np.testing.assert_array_equal(loud, quiet)
    lines = capsys.readouterr().out.splitlines()
    per_batch = 2**26 // (64 * 64 * 64 * 4)  # 64 MiB of maps
    assert len(lines) == -(-40 // per_batch)
    for batch, line in enumerate(lines, 1):
        done = min(batch * per_batch, 40)
        pattern = rf"\[ConvFeatureExtractor\] batch {batch}/{len(lines)}, {done}/40 images, "
        assert re.fullmatch(pattern + r"\d+ images/s, \d+\.\d s left", line), line


@pytest.mark.parametrize("preset", ["kmeans", "pca"])
def test_verbose_fit_of_a_learned_bank_reports_patches_filters_and_time(preset, capsys):
    images = np.random.RandomState(0).rand(30, 12, 12)
    ConvFeatureExtractor(preset, n_filters=4, n_patches=500, random_state=0).fit(images)
    assert capsys.readouterr().out == ""
    ConvFeatureExtractor(preset, n_filters=4, n_patches=500, verbose=1, random_state=0).fit(images)
    line = capsys.readouterr().out.strip()
    pattern = r"\[ConvFeatureExtractor\] learned 4 filters of 5x5 from 500 patches in \d+\.\d s"
    assert re.fullmatch(pattern, line), line


def test_verbose_fit_of_a_fixed_bank_prints_nothing(capsys):
    ConvFeatureExtractor("gabor", verbose=1).fit(np.zeros((2, 8, 8)))
    assert capsys.readouterr().out == ""


def test_huge_finite_pixels_are_an_overflow_error_not_inf(images):
    conv = ConvFeatureExtractor(filters="tutorial").fit(images)
    with pytest.raises(ValueError, match="overflows float64"):
        conv.transform(np.full_like(images, 1e308))
    # Large but safe pixels are convolved as usual, with no check of the maps.
    big = conv.transform(images * 1e300)
    np.testing.assert_allclose(big, conv.transform(images) * 1e300, rtol=1e-12)


def test_a_square_width_without_image_shape_warns_and_names_the_fix():
    X = np.random.RandomState(0).rand(3, 784)
    with pytest.warns(UserWarning, match=r"set image_shape=\(28, 28\)"):
        ConvFeatureExtractor(filters="tutorial").fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ConvFeatureExtractor(filters="tutorial", image_shape=(1, 784)).fit(X)
        ConvFeatureExtractor(filters="tutorial").fit(X[:, :783])


@pytest.mark.parametrize("activation", ["relu", "crelu", None])
@pytest.mark.parametrize(("filters", "n_channels"), [("edges", 3), ("random", 3), ("gabor", 1)])
def test_map_sources_name_each_maps_filter_channel_and_sign(filters, n_channels, activation):
    """The contract plotting reads: map m is sign * filter on channel, before the activation."""
    rng = np.random.RandomState(4)
    images = rng.rand(3, 9, 8, n_channels)
    conv = ConvFeatureExtractor(filters, activation=activation, random_state=0).fit(images)
    maps = conv.transform(images)
    sources = conv._map_sources()
    assert len(sources.filter) == len(sources.channel) == len(sources.sign) == maps.shape[3]
    for m, (f, c, sign) in enumerate(zip(*sources)):
        kernel = sign * conv.filters_[f]
        if c >= 0:  # a 2-D kernel applied to channel c alone
            kernel = np.stack([kernel * (k == c) for k in range(n_channels)], axis=-1)
        single = ConvFeatureExtractor(kernel[None], activation="relu" if activation else None).fit(
            images
        )
        np.testing.assert_allclose(maps[..., m], single.transform(images)[..., 0], atol=1e-12)


def test_response_bound_is_deprecated_and_gives_the_bound():
    images = np.random.RandomState(2).rand(2, 6, 6)
    conv = ConvFeatureExtractor("gabor").fit(images)
    with pytest.warns(FutureWarning, match="response_bound is deprecated in 0.2"):
        bound = conv.response_bound(1.0)
    assert bound == conv._map_bound(1.0)
    assert bound >= np.abs(conv.transform(images)).max()


def test_uint8_images_are_cast_one_batch_at_a_time(monkeypatch):
    """transform's peak is the maps and one batch of float32 images, whatever X's dtype.

    With 1 MiB batches of maps (167 images): measured 2.18e7 bytes (maps 1.88e7, one batch
    of images 0.52e6, the convolution's scratch); casting all of X first added 9.4e6.
    """
    monkeypatch.setattr(skconv._progress, "AUTO_BATCH_BYTES", 2**20)
    images = np.random.RandomState(0).randint(0, 256, size=(3000, 28, 28), dtype=np.uint8)
    conv = ConvFeatureExtractor("random", n_filters=2, random_state=0).fit(images[:10])
    batch_images = 2**20 // (28 * 28 * 2 * 4) * 28 * 28 * 4
    tracemalloc.start()
    try:
        maps = conv.transform(images)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < maps.nbytes + batch_images + 3 * 2**20
    np.testing.assert_array_equal(maps, conv.transform(images.astype(np.float32)))
