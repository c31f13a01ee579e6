"""The recipes: ImageClassifier on any image set (shapes, sizes, units, unlabelled images, tiny
sets), the Fashion-MNIST settings, non-numbers refused, and what persistence and
reproducibility promise for them (docs/persistence.rst, docs/scaling.rst)."""

import pickle

import joblib
import numpy as np
import pytest
from bar_images import bar_images
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.model_selection import GridSearchCV

import skconv
from skconv.recipes import (
    PeakNormalizer,
    fashion_mnist_pipeline,
    make_image_classifier,
)

N_IMAGES = 240


@pytest.fixture(scope="module")
def images_and_labels():
    # Three classes told apart by where a bright bar is, so a fitted model can be checked.
    return bar_images(N_IMAGES, noise=60, bar=180)


def _small(**params):
    # The Fashion-MNIST recipe scaled to 240 images: fewer filters, components and landmarks.
    return fashion_mnist_pipeline(n_components=60, **params).set_params(
        n_filters=8, n_patches=2000, n_pca_components=20
    )


@pytest.fixture(scope="module")
def fitted(images_and_labels):
    images, labels = images_and_labels
    return _small().fit(images, labels)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X.astype(np.float32), y


def _digits_model(**params):
    return make_image_classifier(
        **{"image_shape": (8, 8), "n_filters": 16, "n_patches": 2000, "n_components": 300} | params
    )


@pytest.fixture(scope="module")
def fitted_digits(digits):
    X, y = digits
    return _digits_model().fit(X[:1000], y[:1000])


# --- the Fashion-MNIST settings ---------------------------------------------------------------


def test_fashion_mnist_settings_are_the_documented_recipe(fitted):
    params = fashion_mnist_pipeline().get_params()
    assert params["image_shape"] == (28, 28)
    assert params["n_filters"] == 64
    assert params["kernel_size"] == 5
    assert params["pool_grid"] == 7
    assert params["coarse_grids"] == ()
    assert params["n_pca_components"] == 256
    assert params["gamma"] == "scale"
    assert params["n_components"] == 8000
    assert params["alpha"] == 0.003
    assert params["max_fit_samples"] == 10_000
    steps = fitted.features_.transformer_
    assert [name for name, _ in steps.steps] == ["scale", "convpool", "pool", "pca"]
    conv = steps["convpool"].conv_
    assert (conv.filters, conv.activation, conv.filters_.shape) == ("kmeans", "crelu", (8, 5, 5))
    # 16 maps on a 7x7 grid (4x4 windows on 28x28), no coarser grid
    pooled = steps["pool"].transform(steps[:2].transform(np.zeros((1, 28, 28))))
    assert pooled.shape == (1, 16 * 49)


def test_fits_and_predicts_the_classes(fitted, images_and_labels):
    images, labels = images_and_labels
    assert fitted.score(images, labels) > 0.9


def test_features_and_classifier_stay_float32(fitted, images_and_labels):
    images, _ = images_and_labels
    features = fitted.features_.transform(images[:10])
    assert features.dtype == np.float32
    assert features.shape == (10, 20)
    assert fitted.classifier_.components_.shape == (60, 20)
    assert fitted.classifier_.coef_.dtype == np.float32
    assert fitted.decision_function(images[:10]).dtype == np.float32


def test_flat_rows_and_image_stacks_give_the_same_model(fitted, images_and_labels):
    images, labels = images_and_labels
    flat = _small().fit(images.reshape(N_IMAGES, -1), labels)
    np.testing.assert_array_equal(
        flat.decision_function(images.reshape(N_IMAGES, -1)), fitted.decision_function(images)
    )


def test_uint8_and_float_images_of_the_same_values_agree(fitted, images_and_labels):
    images, labels = images_and_labels
    as_float = _small().fit(images.astype(np.float32), labels)
    np.testing.assert_array_equal(
        as_float.decision_function(images.astype(np.float32)), fitted.decision_function(images)
    )


def test_random_state_makes_it_reproducible_and_survives_clone(images_and_labels):
    images, labels = images_and_labels
    model = _small(random_state=3)
    first = clone(model).fit(images, labels).decision_function(images[:20])
    second = clone(model).fit(images, labels).decision_function(images[:20])
    np.testing.assert_array_equal(first, second)
    assert clone(model).get_params()["random_state"] == 3


def test_input_is_not_modified(images_and_labels):
    images, labels = images_and_labels
    original = images.copy()
    unlabelled = images[:50].copy()
    _small().fit(images, labels, X_unlabeled=unlabelled).predict(images)
    np.testing.assert_array_equal(images, original)
    np.testing.assert_array_equal(unlabelled, original[:50])


def test_verbose_reports_steps_and_batches(images_and_labels, capsys):
    images, labels = images_and_labels
    _small(verbose=1).fit(images, labels)
    captured = capsys.readouterr()
    assert "[ConvFeatureExtractor] learned 8 filters of 5x5 from 2000 patches" in captured.out
    assert "[BatchedTransformer] batch " in captured.out
    assert "[NystroemRidgeClassifier] batch " in captured.out


def test_a_parameter_changed_after_fit_asks_for_a_refit(images_and_labels):
    images, labels = images_and_labels
    model = _small().fit(images, labels)
    model.set_params(batch_size=7, verbose=0)  # runtime parameters: no refit needed
    model.predict(images[:3])
    with pytest.raises(ValueError, match=r"'n_filters' changed since fit.*Refit"):
        model.set_params(n_filters=4).predict(images[:3])


# --- any image set ----------------------------------------------------------------------------


def test_digits_8x8(fitted_digits, digits):
    X, y = digits
    assert fitted_digits.image_shape_ == (8, 8, 1)
    assert fitted_digits.pool_grid_ == 2  # a cell per 4x4 pixels
    # 16 filters, crelu: 32 maps on a 2x2 grid and once whole, fewer than 256 components
    assert fitted_digits.features_.transform(X[:2]).shape == (2, 32 * 4 + 32)
    # measured 0.982 on the 797 images not fitted on
    assert fitted_digits.score(X[1000:], y[1000:]) > 0.96


def _colour_patches(n_per_class, half, rng, size=(20, 24)):
    """Colour patches of three scikit-image photographs: training ones from the left half of
    each picture, the others from the right half."""
    import skimage.data

    images, labels = [], []
    for label, name in enumerate(["astronaut", "coffee", "chelsea"]):
        picture = getattr(skimage.data, name)()
        height, width = picture.shape[:2]
        first, last = (0, width // 2 - size[1]) if half == 0 else (width // 2, width - size[1])
        for _ in range(n_per_class):
            row = rng.randint(0, height - size[0])
            col = rng.randint(first, last)
            images.append(picture[row : row + size[0], col : col + size[1]])
            labels.append(label)
    return np.stack(images), np.array(labels)


def test_colour_images_of_another_size():
    rng = np.random.RandomState(0)
    X_train, y_train = _colour_patches(40, 0, rng)
    X_test, y_test = _colour_patches(30, 1, rng)
    model = make_image_classifier(n_filters=16, n_components=100).fit(X_train, y_train)
    assert model.image_shape_ == (20, 24, 3)
    assert model.pool_grid_ == 5  # ceil(20 / 4)
    assert model.features_.transformer_["convpool"].conv_.filters_.shape == (16, 5, 5, 3)
    # 32 maps pooled on the 5x5 grid, 2x2 and whole: 960 features, PCA capped at 120 images
    steps = model.features_.transformer_
    assert steps[:-1].transform(X_test[:1]).shape == (1, 32 * (25 + 4 + 1))
    assert model.features_.transform(X_test[:1]).shape == (1, 120)
    # measured 0.91 on patches from the other half of the pictures; chance is 0.33
    assert model.score(X_test, y_test) > 0.8


@pytest.mark.parametrize("n_images", [24, 40])
def test_a_few_dozen_images_are_enough(digits, n_images):
    X, y = digits
    model = make_image_classifier(image_shape=(8, 8)).fit(X[:n_images], y[:n_images])
    # the landmarks and PCA components capped by the rows seen, the filters by the patches
    assert model.classifier_.n_components == n_images
    assert model.features_.transform(X[:1]).shape == (1, n_images)
    # measured 0.81 (24 images) and 0.92 (40); chance is 0.1
    assert model.score(X[1000:], y[1000:]) > 0.7


def test_unlabelled_images_change_the_features_not_the_classes(digits):
    X, y = digits
    labelled, unlabelled = X[:60], X[60:600]
    model = _digits_model(n_components=60, n_pca_components=30)
    alone = clone(model).fit(labelled, y[:60])
    helped = clone(model).fit(labelled, y[:60], X_unlabeled=unlabelled)
    assert not np.allclose(alone.features_.transform(X[:5]), helped.features_.transform(X[:5]))
    bank = helped.features_.transformer_["convpool"].conv_.filters_
    assert not np.allclose(alone.features_.transformer_["convpool"].conv_.filters_, bank)
    np.testing.assert_array_equal(helped.classes_, alone.classes_)
    np.testing.assert_array_equal(helped.classes_, np.unique(y[:60]))
    assert helped.classifier_.n_components == 60  # landmarks from the labelled images only
    # PCA fitted on all 600 images: 160 pooled features capped at 160, not at 60 images
    wide = clone(model).set_params(n_pca_components=256)
    assert wide.fit(labelled, y[:60], X_unlabeled=unlabelled).features_.transform(X[:1]).shape == (
        1,
        160,
    )


def test_minus_one_is_a_class_like_any_other(digits):
    X, y = digits
    labels = np.where(y[:200] == 0, -1, y[:200])
    model = _digits_model(n_components=100).fit(X[:200], labels)
    assert -1 in model.classes_ and len(model.classes_) == 10
    assert np.mean(model.predict(X[:200][y[:200] == 0]) == -1) > 0.9


def test_unlabelled_images_must_have_the_shape_of_x(digits):
    X, y = digits
    with pytest.raises(ValueError, match="X has 63 features, but ImageClassifier is expecting"):
        _digits_model().fit(X[:50], y[:50], X_unlabeled=X[:10, :63])


def test_max_fit_samples_draws_from_labelled_and_unlabelled_images(digits):
    X, y = digits
    model = _digits_model(n_components=50, max_fit_samples=100)
    model.fit(X[:50], y[:50], X_unlabeled=X[50:500])
    # PCA saw 100 rows: at most 100 components, here the 160 pooled features capped to 100
    assert model.features_.transform(X[:1]).shape == (1, 100)


def test_gamma_scale_is_the_inverse_mean_squared_distance(digits):
    X, y = digits
    model = _digits_model(n_components=100).fit(X[:300], y[:300])
    features = model.features_.transform(X[:300]).astype(np.float64)
    squared = euclidean_distances(features, squared=True)
    mean_over_pairs = squared.sum() / (300 * 299)
    assert model.classifier_.gamma_ == model.gamma_
    np.testing.assert_allclose(model.gamma_, 1 / mean_over_pairs, rtol=1e-6)
    assert _digits_model(gamma=0.5, n_components=50).fit(X[:100], y[:100]).gamma_ == 0.5


# --- non-numbers, units -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["datetime64[s]", "timedelta64[s]", "U3", "S3", "V8"], ids=str)
def test_non_numbers_are_refused_before_any_cast(fitted, images_and_labels, dtype):
    images, labels = images_and_labels
    as_other = images[:20].astype(np.int64).astype(dtype)
    with pytest.raises(TypeError, match=r"X must hold real numbers.*\(dtype"):
        _small().fit(as_other, labels[:20])
    with pytest.raises(TypeError, match=r"X must hold real numbers.*\(dtype"):
        fitted.predict(as_other)


def test_non_numbers_are_refused_as_unlabelled_images(images_and_labels):
    images, labels = images_and_labels
    with pytest.raises(TypeError, match="dates"):
        _small().fit(images, labels, X_unlabeled=images[:5].astype("datetime64[s]"))


def test_fitted_on_0_255_predicts_the_same_on_0_1(fitted, images_and_labels):
    images, _ = images_and_labels
    unit = images.astype(np.float32) / 255
    np.testing.assert_array_equal(fitted.predict(unit), fitted.predict(images))
    np.testing.assert_allclose(
        fitted.features_.transform(unit), fitted.features_.transform(images), atol=1e-4
    )


def test_fitted_on_0_1_predicts_the_same_on_0_255(images_and_labels):
    images, labels = images_and_labels
    model = _small().fit(images.astype(np.float32) / 255, labels)
    np.testing.assert_array_equal(
        model.predict(images), model.predict(images.astype(np.float32) / 255)
    )


def test_peak_normalizer_divides_each_image_by_its_peak():
    images = np.random.RandomState(0).randint(0, 256, size=(5, 4, 6, 3)).astype(np.uint8)
    images[2] = 0
    out = PeakNormalizer().fit(images).transform(images)
    assert out.shape == images.shape and out.dtype == np.float32
    np.testing.assert_array_equal(np.abs(out).max(axis=(1, 2, 3)), [1, 1, 0, 1, 1])
    flat = PeakNormalizer(image_shape=(4, 6, 3)).fit_transform(images.reshape(5, -1))
    np.testing.assert_array_equal(flat, out.reshape(5, -1))
    signed = np.array([[-4.0, 2.0]])
    np.testing.assert_array_equal(PeakNormalizer().fit_transform(signed), [[-1.0, 0.5]])


# --- persistence and reproducibility (docs/persistence.rst, docs/scaling.rst) ----------------


@pytest.fixture(scope="module")
def uint8_digits(digits):
    X, y = digits
    return (X * 16).clip(0, 255).astype(np.uint8).reshape(-1, 8, 8), y


@pytest.fixture(scope="module")
def fitted_uint8_digits(uint8_digits):
    X, y = uint8_digits
    return _digits_model(n_components=200).fit(X[:600], y[:600])


def test_pickle_and_joblib_round_trips_are_bitwise(fitted_uint8_digits, uint8_digits, tmp_path):
    X, _ = uint8_digits
    model = fitted_uint8_digits
    joblib.dump(model, tmp_path / "model.joblib")
    for loaded in (pickle.loads(pickle.dumps(model)), joblib.load(tmp_path / "model.joblib")):
        np.testing.assert_array_equal(loaded.features_.transform(X), model.features_.transform(X))
        np.testing.assert_array_equal(loaded.decision_function(X), model.decision_function(X))


def test_skops_loads_the_recipe_with_the_documented_trusted_types(
    fitted_uint8_digits, uint8_digits
):
    sio = pytest.importorskip("skops.io")
    X, _ = uint8_digits
    loaded = sio.loads(sio.dumps(fitted_uint8_digits), trusted=skconv.SKOPS_TRUSTED_TYPES)
    np.testing.assert_array_equal(
        loaded.decision_function(X), fitted_uint8_digits.decision_function(X)
    )


def _dot_product_rounding_bound(model, X):
    """Twice the classic bound on a float32 dot product's rounding, ``K * eps * sum |x_k w_k|``,
    for the PCA projection: what two batch shapes may differ by, whatever the BLAS."""
    steps = model.features_.transformer_
    pooled = steps[:-1].transform(X).astype(np.float64)
    pca = steps[-1]
    centred = np.abs(pooled - pca.mean_)
    n_terms = pooled.shape[1]
    return 2 * n_terms * np.finfo(np.float32).eps * (centred @ np.abs(pca.components_).T)


@pytest.mark.reproducibility
def test_features_round_by_batch_shape_within_the_documented_bound(
    fitted_uint8_digits, uint8_digits
):
    X, _ = uint8_digits
    model = fitted_uint8_digits
    whole = model.features_.transform(X[:300])
    one_by_one = np.concatenate([model.features_.transform(X[i : i + 1]) for i in range(300)])
    bound = _dot_product_rounding_bound(model, X[:300])
    # measured (OpenBLAS, Haswell kernels): at most 4e-7 of the bound's scale, 1e-6 absolute
    assert np.all(np.abs(one_by_one - whole) <= bound)
    # the predictions are the same
    np.testing.assert_array_equal(
        np.concatenate([model.predict(X[i : i + 1]) for i in range(300)]),
        model.predict(X[:300]),
    )


@pytest.mark.reproducibility
def test_predictions_are_the_same_for_every_batch_size(fitted_uint8_digits, uint8_digits):
    X, _ = uint8_digits
    model = fitted_uint8_digits
    expected = model.predict(X[:300])
    try:
        for batch_size in (1, 7, 128):
            np.testing.assert_array_equal(
                model.set_params(batch_size=batch_size).predict(X[:300]), expected
            )
    finally:
        model.set_params(batch_size=2000)


@pytest.mark.reproducibility
def test_grid_search_scores_the_same_with_one_or_two_jobs(uint8_digits):
    X, y = uint8_digits
    grid = {"pool_grid": [1, 2]}
    model = _digits_model(n_filters=4, n_components=60)
    searches = [
        GridSearchCV(model, grid, cv=2, n_jobs=n_jobs).fit(X[:300], y[:300]) for n_jobs in (1, 2)
    ]
    np.testing.assert_array_equal(
        searches[0].cv_results_["mean_test_score"], searches[1].cv_results_["mean_test_score"]
    )


def test_fit_and_predict_never_copy_every_uint8_image_to_float():
    """uint8 images are cast a batch at a time: a float32 copy of all of them would alone take
    4 times X; fit's and predict's peak (tracemalloc, beyond X) stays below it."""
    import tracemalloc

    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, size=(3000, 28, 28)).astype(np.uint8)
    labels = np.arange(3000) % 3
    model = fashion_mnist_pipeline(n_components=50).set_params(
        max_fit_samples=200, n_pca_components=10, n_filters=4, n_patches=1000, batch_size=100
    )
    tracemalloc.start()
    try:
        model.fit(images, labels)
        fit_peak = tracemalloc.get_traced_memory()[1]
        fitted_memory = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        model.predict(images)
        predict_peak = tracemalloc.get_traced_memory()[1] - fitted_memory
    finally:
        tracemalloc.stop()
    # Measured 3.7 X for fit and 2.4 X for predict (7.9 X and 6.4 X with the whole stack cast).
    assert fit_peak < 4.5 * images.nbytes
    assert predict_peak < 3 * images.nbytes
