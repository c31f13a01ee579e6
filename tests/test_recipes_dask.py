"""ImageClassifier from a dask array of images, on a real LocalCluster: the in-memory model
(same fit rows, bank, PCA and landmarks; coefficients within the stated bound; the same
predictions), fitted without gathering the images on the client, predicting lazily."""

import numpy as np
import pytest
from bar_images import bar_images

from skconv.recipes import fashion_mnist_pipeline

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

N_IMAGES = 600


@pytest.fixture(scope="module")
def images_and_labels():
    """Three classes told apart by where a bright bar is in the noise."""
    return bar_images(N_IMAGES, noise=60, bar=180)


def small_recipe(**params):
    """The Fashion-MNIST recipe sized for a few hundred images: the features fitted on 200 of
    them, gamma="scale" estimated on all of them (fewer than 1,000), 80 landmarks."""
    return (
        fashion_mnist_pipeline(n_components=80)
        .set_params(
            max_fit_samples=200, n_pca_components=20, n_filters=8, n_patches=2000, batch_size=64
        )
        .set_params(**params)
    )


@pytest.fixture(scope="module")
def in_memory(images_and_labels):
    images, labels = images_and_labels
    return small_recipe().fit(images, labels)


def margins(scores):
    top_two = np.sort(scores, axis=1)[:, -2:]
    return top_two[:, 1] - top_two[:, 0]


# The features are float32, and PCA's projection rounds with the rows a BLAS call sees (a
# block's batches are not memory's) and the workers' thread count. Measured against the
# in-memory fit on this machine over both chunkings: coefficients within 7.3e-5 of the largest,
# decision values within 2.4e-5 (on values up to about 1), gamma within 1.8e-8 relative (the
# classifier's gamma="scale" reads feature rows the workers computed). The bounds are about 3
# times those.
COEF_TOLERANCE = 2e-4
DECISION_TOLERANCE = 1e-4
GAMMA_RTOL = 5e-8


@pytest.mark.parametrize("chunks", [100, (50, 170, 60, 200, 120)], ids=["even", "uneven"])
def test_fitted_from_a_dask_array_it_is_the_in_memory_model(
    client, images_and_labels, in_memory, chunks
):
    images, labels = images_and_labels
    lazy = da.from_array(images, chunks=(chunks, 28, 28))
    lazy_labels = da.from_array(labels, chunks=(chunks,))
    with distributed.get_task_stream(client) as tasks:
        model = small_recipe().fit(lazy, lazy_labels)
    assert {task["worker"] for task in tasks.data} == set(client.scheduler_info()["workers"])

    # The same rows drawn whatever the chunking: the features are fitted on the same images
    # in memory (bank and PCA bit for bit), the landmarks are the same rows.
    fitted, expected = model.features_.transformer_, in_memory.features_.transformer_
    np.testing.assert_array_equal(
        fitted["convpool"].conv_.filters_,
        expected["convpool"].conv_.filters_,
    )
    np.testing.assert_array_equal(fitted["pca"].components_, expected["pca"].components_)
    np.testing.assert_array_equal(
        model.classifier_.component_indices_, in_memory.classifier_.component_indices_
    )
    assert model.gamma_ == pytest.approx(in_memory.gamma_, rel=GAMMA_RTOL)
    largest = np.abs(in_memory.classifier_.coef_).max()
    np.testing.assert_allclose(
        model.classifier_.coef_, in_memory.classifier_.coef_, atol=COEF_TOLERANCE * largest
    )

    scores, predicted = model.decision_function(lazy), model.predict(lazy)
    assert isinstance(scores, da.Array) and isinstance(predicted, da.Array), "lazy"
    expected_scores = in_memory.decision_function(images)
    np.testing.assert_allclose(scores.compute(), expected_scores, rtol=0, atol=DECISION_TOLERANCE)
    # No image within the tolerance of a tie, so the predictions must be the same.
    assert margins(expected_scores).min() > 10 * DECISION_TOLERANCE
    np.testing.assert_array_equal(predicted.compute(), in_memory.predict(images))


def test_fit_gathers_only_the_drawn_rows_and_predict_computes_nothing(
    client, images_and_labels, monkeypatch
):
    """Every computation the fit asks for is recorded: none brings X's images (or their
    features) to the client, only the drawn rows, the labels and the head's sums."""
    images, labels = images_and_labels
    unlabeled = images[::-1].copy()
    gathered = []
    original = dask.base.compute

    def recording_compute(*args, **kwargs):
        results = original(*args, **kwargs)
        gathered.extend(
            leaf
            for leaf in dask.core.flatten(list(results), container=(list, tuple))
            if isinstance(leaf, np.ndarray)
        )
        return results

    monkeypatch.setattr(dask.base, "compute", recording_compute)
    monkeypatch.setattr(dask, "compute", recording_compute)
    lazy = da.from_array(images, chunks=(100, 28, 28))
    # gamma="scale" reads min(n_samples, 1,000) rows: all 600 here; a given gamma reads none.
    model = small_recipe(gamma=1e-3).fit(
        lazy, da.from_array(labels, chunks=100), da.from_array(unlabeled, chunks=(150, 28, 28))
    )
    assert gathered, "the fit computed through dask"
    rows_of_x = [array for array in gathered if array.ndim > 1 and len(array) >= N_IMAGES]
    assert rows_of_x == [], "no array of every image or every feature row reaches the client"
    images_gathered = sum(array.shape[0] for array in gathered if array.shape[1:] == (28, 28, 1))
    assert images_gathered == 200  # the rows drawn from X and X_unlabeled to fit the features
    # X_unlabeled as dask gives the features of X_unlabeled in memory, bit for bit.
    expected = small_recipe(gamma=1e-3).fit(images, labels, unlabeled)
    np.testing.assert_array_equal(
        model.features_.transformer_["pca"].components_,
        expected.features_.transformer_["pca"].components_,
    )

    gathered.clear()
    predicted = model.predict(lazy)
    assert isinstance(predicted, da.Array) and gathered == [], "predict is lazy"


def test_a_dask_array_is_checked_from_its_metadata_before_anything_is_computed(in_memory):
    """No cluster needed: the checks read the dtype and shape, never the values."""
    dates = da.zeros((10, 28, 28), dtype="datetime64[s]", chunks=5)
    with pytest.raises(TypeError, match="dates"):
        small_recipe().fit(dates, np.arange(10) % 2)
    with pytest.raises(ValueError, match="Complex"):
        in_memory.predict(da.zeros((10, 28, 28), dtype=complex, chunks=5))
    with pytest.raises(ValueError, match=r"\(27, 28, 1\) images"):
        in_memory.predict(da.zeros((10, 27, 28), dtype=np.uint8, chunks=5))
    unknown = da.zeros((10, 28, 28), dtype=np.uint8, chunks=5)
    unknown = unknown[unknown[:, 0, 0] == 0]
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        small_recipe().fit(unknown, np.arange(10) % 2)


def test_a_non_finite_image_outside_the_drawn_rows_fails_the_fit(images_and_labels):
    """Values are checked where the features of each block are computed: a NaN in an image no
    draw reads still fails the fit, which leaves the model unfitted."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils import check_random_state

    images, labels = images_and_labels
    rng = check_random_state(0)  # the recipe's draws: its seed, then the fit rows
    rng.randint(np.iinfo(np.int32).max)
    drawn = set(rng.choice(N_IMAGES, 200, replace=False))
    undrawn = min(set(range(N_IMAGES)) - drawn)
    with_nan = images.astype(np.float32)
    with_nan[undrawn, 3, 3] = np.nan
    model = small_recipe(gamma=1e-3)  # a given gamma: no rows drawn for it
    with dask.config.set(scheduler="synchronous"), pytest.raises(ValueError, match="NaN"):
        model.fit(da.from_array(with_nan, chunks=(100, 28, 28)), labels)
    with pytest.raises(NotFittedError):
        model.predict(images[:2])
