"""The Fashion-MNIST recipe: its steps, float32 all the way, and the layouts it accepts."""

import numpy as np
import pytest
from sklearn.base import clone

from skconv.recipes import fashion_mnist_pipeline

N_IMAGES = 240


@pytest.fixture(scope="module")
def images_and_labels():
    rng = np.random.RandomState(0)
    labels = np.arange(N_IMAGES) % 3
    # Three classes told apart by where a bright bar is, so a fitted model can be checked.
    images = rng.randint(0, 60, size=(N_IMAGES, 28, 28)).astype(np.uint8)
    for label in range(3):
        images[labels == label, 4 + 8 * label : 10 + 8 * label, :] += 180
    return images, labels


def _small(**params):
    # The recipe scaled to 240 images: fewer filters, PCA components and landmarks.
    model = fashion_mnist_pipeline(n_components=60, **params)
    return model.set_params(
        features__transformer__convpool__conv__n_filters=8,
        features__transformer__convpool__conv__n_patches=2000,
        features__transformer__pca__n_components=20,
    )


@pytest.fixture(scope="module")
def fitted(images_and_labels):
    images, labels = images_and_labels
    return _small().fit(images, labels)


def test_steps_are_the_documented_recipe():
    model = fashion_mnist_pipeline()
    assert [name for name, _ in model.steps] == ["features", "classifier"]
    params = model.get_params()
    assert params["features__transformer__convpool__conv__filters"] == "kmeans"
    assert params["features__transformer__convpool__conv__n_filters"] == 64
    assert params["features__transformer__convpool__conv__activation"] == "crelu"
    assert params["features__transformer__convpool__pool__pool_size"] == 4
    assert params["features__transformer__pca__n_components"] == 256
    assert params["features__max_fit_samples"] == 10_000
    assert params["classifier__n_components"] == 6000
    assert params["classifier__alpha"] == 0.003


def test_fits_and_predicts_the_classes(fitted, images_and_labels):
    images, labels = images_and_labels
    assert fitted.score(images, labels) > 0.9


def test_features_and_classifier_stay_float32(fitted, images_and_labels):
    images, _ = images_and_labels
    features = fitted["features"].transform(images[:10])
    assert features.dtype == np.float32
    assert features.shape == (10, 20)
    assert fitted["classifier"].components_.shape == (60, 20)
    assert fitted["classifier"].coef_.dtype == np.float32
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
    assert clone(model).get_params()["features__random_state"] == 3


def test_input_is_not_modified(images_and_labels):
    images, labels = images_and_labels
    original = images.copy()
    _small().fit(images, labels).predict(images)
    np.testing.assert_array_equal(images, original)


def test_verbose_reports_steps_and_batches(images_and_labels, capsys):
    images, labels = images_and_labels
    _small(verbose=1).fit(images, labels)
    captured = capsys.readouterr()
    assert "[ConvFeatureExtractor] learned 8 filters of 5x5 from 2000 patches" in captured.out
    assert "[BatchedTransformer] batch " in captured.out
    assert "[NystroemRidgeClassifier] batch " in captured.out
    assert "Processing features" in captured.out
