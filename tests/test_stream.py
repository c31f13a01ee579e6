"""ConvPool: streamed conv -> pool equals the unstreamed pipeline, tunes like one, stays small."""

import tracemalloc

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from skconv import ConvFeatureExtractor, ConvPool, PoolTransformer

TOLERANCE = {np.float32: 1e-6, np.float64: 1e-12}

STEPS = [
    (ConvFeatureExtractor(), PoolTransformer()),
    (
        ConvFeatureExtractor(
            filters="random", n_filters=4, kernel_size=5, padding="valid", stride=2, random_state=0
        ),
        PoolTransformer(3, stride=1, mode="avg", padding=1),
    ),
    (
        ConvFeatureExtractor(
            filters="kmeans", n_filters=5, kernel_size=3, n_patches=500, random_state=0
        ),
        PoolTransformer(grid=2),
    ),
    (
        ConvFeatureExtractor(
            filters="gabor", n_filters=2, kernel_size=9, activation="crelu", method="fft"
        ),
        PoolTransformer(None),
    ),
    (ConvFeatureExtractor(filters="edges", normalize=True), PoolTransformer(2, flatten=False)),
]


def unstreamed(conv, pool, X):
    return make_pipeline(clone(conv), clone(pool)).fit_transform(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_size", [1, 4, 23, 24, 100, "auto"])
@pytest.mark.parametrize("steps", STEPS, ids=lambda s: f"{s[0].filters}-{s[1].mode}")
def test_streamed_features_equal_the_pipelines(steps, batch_size, dtype):
    conv, pool = steps
    images = np.random.RandomState(0).rand(23, 12, 11).astype(dtype)
    expected = unstreamed(conv, pool, images)
    features = ConvPool(conv, pool, batch_size=batch_size).fit_transform(images)
    assert features.dtype == dtype
    assert features.shape == expected.shape
    np.testing.assert_allclose(features, expected, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


@pytest.mark.parametrize("layout", ["flat", "stack", "channels"])
def test_every_input_layout_gives_the_pipelines_features(layout):
    rng = np.random.RandomState(1)
    if layout == "channels":
        images = rng.rand(9, 8, 7, 3)
        X, image_shape = images, None
    else:
        images = rng.rand(9, 8, 7)
        X = images.reshape(9, -1) if layout == "flat" else images
        image_shape = (8, 7) if layout == "flat" else None
    conv = ConvFeatureExtractor(filters="random", image_shape=image_shape, random_state=0)
    model = ConvPool(conv, PoolTransformer(2), batch_size=2).fit(X)
    np.testing.assert_allclose(model.transform(X), unstreamed(conv, PoolTransformer(2), X))
    assert model.n_features_in_ == images[0].size
    assert model.image_shape_ == images.shape[1:] + ((1,) if images.ndim == 3 else ())


def test_one_row_images_clip_the_window_like_pool_transformer_does():
    X = np.random.RandomState(2).randn(6, 7)  # 2-D without image_shape: 1 x 7 images
    conv = ConvFeatureExtractor(activation=None)
    model = ConvPool(conv, PoolTransformer(3, stride=2)).fit(X)
    maps = clone(conv).fit_transform(X)
    expected = PoolTransformer((1, 3), stride=(1, 2)).fit_transform(maps)
    np.testing.assert_allclose(model.transform(X), expected)
    assert model.pool_.pool_size_ == (1, 3) and model.pool_.pool_size == 3
    grid = ConvPool(conv, PoolTransformer(grid=(2, 9))).fit(X)
    np.testing.assert_allclose(grid.transform(X), PoolTransformer(grid=(1, 7)).fit_transform(maps))


def test_steps_are_cloned_and_never_fitted_in_place():
    conv, pool = ConvFeatureExtractor(filters="pca", n_filters=2), PoolTransformer()
    images = np.random.RandomState(3).rand(10, 8, 8)
    model = ConvPool(conv, pool).fit(images)
    assert not hasattr(conv, "filters_") and not hasattr(pool, "output_shape_")
    assert model.conv_ is not conv and model.pool_ is not pool
    assert model.conv_.filters_.shape == (2, 5, 5)
    default = ConvPool().fit(images)
    assert isinstance(default.conv_, ConvFeatureExtractor)
    assert isinstance(default.pool_, PoolTransformer)
    assert default.conv is None and default.pool is None


def test_batch_size_auto_bounds_one_batchs_maps():
    images = np.random.RandomState(4).rand(5, 64, 64).astype(np.float32)
    conv = ConvFeatureExtractor(filters="random", n_filters=16, random_state=0)
    model = ConvPool(conv).fit(images)
    assert model.batch_size_ == 64 * 2**20 // (64 * 64 * 16 * 4)
    assert ConvPool(conv, batch_size=7).fit(images).batch_size_ == 7


def test_nested_parameters_are_grid_searchable():
    rng = np.random.RandomState(5)
    images = rng.rand(40, 8, 8)
    y = (images[:, :4].mean(axis=(1, 2)) > images[:, 4:].mean(axis=(1, 2))).astype(int)
    pipe = Pipeline(
        [
            (
                "features",
                ConvPool(
                    ConvFeatureExtractor(filters="random", image_shape=(8, 8), random_state=0),
                    PoolTransformer(),
                ),
            ),
            ("clf", LogisticRegression()),
        ]
    )
    params = pipe.get_params()
    assert params["features__conv__filters"] == "random"
    assert params["features__pool__mode"] == "max"
    search = GridSearchCV(
        pipe,
        {
            "features__conv__kernel_size": [3, 5],
            "features__pool__mode": ["max", "avg"],
            "features__batch_size": [7],
        },
        cv=2,
    ).fit(images.reshape(40, -1), y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.named_steps["features"].conv_.filters_.shape[1] in (3, 5)
    # set_params reaches the steps, and fitting again uses them.
    pipe.set_params(features__pool__pool_size=4)
    pipe.fit(images, y)
    assert pipe.named_steps["features"].pool_.output_shape_ == (2, 2, 8)


def test_feature_names_come_from_the_pool():
    images = np.random.RandomState(6).rand(4, 6, 6)
    model = ConvPool(pool=PoolTransformer(3)).fit(images)
    np.testing.assert_array_equal(
        model.get_feature_names_out(), model.pool_.get_feature_names_out()
    )
    assert len(model.get_feature_names_out()) == model.transform(images).shape[1]
    assert not hasattr(ConvPool(pool=PoolTransformer(flatten=False)), "get_feature_names_out")


def test_pandas_output_of_a_whole_pipeline_and_of_convpool():
    pd = pytest.importorskip("pandas")
    images = np.random.RandomState(8).rand(5, 6, 6)
    pool = PoolTransformer().set_output(transform="pandas")  # inside ConvPool: not used
    for model in [
        ConvPool(pool=pool).set_output(transform="pandas"),
        make_pipeline(ConvFeatureExtractor(), PoolTransformer()).set_output(transform="pandas"),
    ]:
        frame = model.fit_transform(images)
        assert isinstance(frame, pd.DataFrame)
        np.testing.assert_array_equal(frame.columns, model.get_feature_names_out())
    names = make_pipeline(ConvFeatureExtractor(), PoolTransformer()).fit(images)
    assert names.get_feature_names_out()[0] == "pool_r0_c0_m0"


def test_steps_must_be_skconv_estimators():
    images = np.zeros((2, 4, 4))
    with pytest.raises(InvalidParameterError, match="conv"):
        ConvPool(conv=PoolTransformer()).fit(images)
    with pytest.raises(InvalidParameterError, match="pool"):
        ConvPool(pool=LogisticRegression()).fit(images)
    with pytest.raises(ValueError, match="12x12"):
        ConvPool().fit(images).transform(np.zeros((2, 12, 12)))


def test_transform_never_holds_all_feature_maps():
    images = np.random.RandomState(7).rand(600, 28, 28).astype(np.float32)
    conv = ConvFeatureExtractor(filters="random", n_filters=32, kernel_size=5, random_state=0)
    model = ConvPool(conv, PoolTransformer(2), batch_size=50).fit(images[:10])
    batch_maps = 50 * 28 * 28 * 32 * 4
    all_maps = 600 * 28 * 28 * 32 * 4
    tracemalloc.start()
    try:
        features = model.transform(images)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert features.nbytes == all_maps // 4
    # The output, one batch of maps and its pooled copy, and the convolution's scratch.
    assert peak < features.nbytes + 1.25 * batch_maps + 4 * 2**20
    assert peak < all_maps / 2


def test_uint8_images_are_cast_one_batch_at_a_time():
    """The peak of a streamed transform is the output and one batch, whatever X's dtype.

    Measured: 9.99e6 bytes (output 4.70e6, one batch of maps 2.51e6 and of float32 images
    0.31e6, the convolution's scratch); casting all of X first added 9.4e6 (peak 1.90e7).
    """
    images = np.random.RandomState(0).randint(0, 256, size=(3000, 28, 28), dtype=np.uint8)
    model = ConvPool(ConvFeatureExtractor("gabor"), PoolTransformer(4), batch_size=100)
    model.fit(images[:10])
    batch_maps, batch_images = 100 * 28 * 28 * 8 * 4, 100 * 28 * 28 * 4
    tracemalloc.start()
    try:
        features = model.transform(images)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < features.nbytes + batch_maps + batch_images + 3 * 2**20
    np.testing.assert_array_equal(features, model.transform(images.astype(np.float32)))
