"""NystroemRidgeClassifier on dask arrays: the same model as in memory, fitted on a cluster.

A ``LocalCluster`` of two worker processes (one thread each) stands in for a real cluster. fit
computes each block's normal equations where the block lives and sums them by a tree of
pairwise additions; only the rows sampled for the landmarks (and ``gamma="scale"``) and the
``n_components``-sized sums reach the client.
"""

import subprocess
import sys

import numpy as np
import pytest

from skconv import NystroemRidgeClassifier

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


def _data(n_samples=1500, n_classes=3, dtype=np.float64, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.rand(n_samples, 10).astype(dtype)
    y = (4 * X[:, 0] + 3 * X[:, 1]).astype(int) % n_classes
    return X, y


PARAMS = {"gamma": "scale", "n_components": 150, "alpha": 1e-3, "batch_size": 200}


def _margins(scores):
    if scores.ndim == 1:
        return 2 * np.abs(scores)
    top_two = np.sort(scores, axis=1)[:, -2:]
    return top_two[:, 1] - top_two[:, 0]


@pytest.mark.parametrize("n_classes", [2, 3])
def test_the_same_model_as_in_memory(client, n_classes):
    X, y = _data(n_classes=n_classes)
    memory = NystroemRidgeClassifier(random_state=0, **PARAMS).fit(X, y)
    chunked = NystroemRidgeClassifier(random_state=0, **PARAMS).fit(
        da.from_array(X, chunks=(317, 10)), y
    )
    np.testing.assert_array_equal(chunked.component_indices_, memory.component_indices_)
    np.testing.assert_array_equal(chunked.components_, memory.components_)
    assert chunked.gamma_ == memory.gamma_
    np.testing.assert_array_equal(chunked.normalization_, memory.normalization_)
    # Measured up to 1.6e-11 relative to the largest weight, under OpenBLAS's SkylakeX and
    # Haswell kernels: the float64 sums added in another order (per block, then pairwise),
    # multiplied by the landmark kernel's conditioning.
    for fitted in ("coef_", "landmark_coef_"):
        a, b = getattr(chunked, fitted), getattr(memory, fitted)
        np.testing.assert_allclose(a, b, rtol=0, atol=5e-11 * np.abs(b).max(), err_msg=fitted)
    # The intercept is y's mean minus the mean kernel row (values up to 1) times the landmark
    # weights, so its error is on the scale of those weights, not of itself (a two-class
    # intercept of 0.09 differed by 1.3e-10 of itself under Haswell's kernels): measured up to
    # 5.6e-13 of the largest landmark weight.
    largest_weight = np.abs(memory.landmark_coef_).max()
    np.testing.assert_allclose(
        chunked.intercept_, memory.intercept_, rtol=0, atol=2e-12 * largest_weight
    )
    scores = memory.decision_function(X)
    assert _margins(scores).min() > 1e-4  # measured 1.8e-4: no row on a decision boundary
    np.testing.assert_array_equal(chunked.predict(X), memory.predict(X))


def test_predictions_of_a_dask_array_are_lazy_and_the_same(client):
    X, y = _data()
    model = NystroemRidgeClassifier(random_state=0, **PARAMS).fit(X, y)
    X_dask = da.from_array(X, chunks=(400, 5))  # columns chunked too: rechunked by the model
    scores, labels = model.decision_function(X_dask), model.predict(X_dask)
    assert isinstance(scores, da.Array) and isinstance(labels, da.Array)
    assert scores.chunks == ((400, 400, 400, 300), (3,))
    assert labels.chunks == ((400, 400, 400, 300),)
    # Blocks of 400 rows in batches of 200: the same products as in memory, bit for bit.
    np.testing.assert_array_equal(scores.compute(), model.decision_function(X))
    np.testing.assert_array_equal(labels.compute(), model.predict(X))


def test_two_classes_give_one_lazy_column(client):
    X, y = _data(n_classes=2)
    model = NystroemRidgeClassifier(random_state=0, **PARAMS).fit(X, y)
    scores = model.decision_function(da.from_array(X, chunks=500))
    assert scores.shape == (len(X),) and scores.chunks == ((500, 500, 500),)
    np.testing.assert_array_equal(scores.compute(), model.decision_function(X))


def test_random_state_picks_the_same_landmarks_whatever_the_chunking(client):
    X, y = _data()
    fitted = [
        NystroemRidgeClassifier(random_state=3, **PARAMS).fit(da.from_array(X, chunks=c), y)
        for c in (100, 700, 1500)
    ]
    for model in fitted[1:]:
        np.testing.assert_array_equal(model.component_indices_, fitted[0].component_indices_)
        assert model.gamma_ == fitted[0].gamma_


def test_float32_dask_fit_predicts_as_in_memory(client):
    X, y = _data(dtype=np.float32)
    memory = NystroemRidgeClassifier(random_state=0, **PARAMS).fit(X, y)
    chunked = NystroemRidgeClassifier(random_state=0, **PARAMS).fit(
        da.from_array(X, chunks=(250, 10)), da.from_array(y, chunks=250)
    )
    assert chunked.coef_.dtype == np.float32
    scores = memory.decision_function(X)
    # Measured 0 (SkylakeX kernels); batches of other shapes (blocks of 250, batches of 200)
    # may round float32 kernel rows otherwise on other kernels: 4.4e-5 measured for batch
    # sizes on Haswell (test_kernel_head.py).
    np.testing.assert_allclose(chunked.decision_function(X), scores, rtol=0, atol=6e-5)
    decided = _margins(scores) > 1.2e-4
    assert decided.mean() > 0.99
    np.testing.assert_array_equal(chunked.predict(X)[decided], memory.predict(X)[decided])


def test_a_nan_in_any_block_is_refused(client):
    X, y = _data()
    X[1234, 3] = np.nan
    model = NystroemRidgeClassifier(random_state=0, **PARAMS)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        model.fit(da.from_array(X, chunks=300), y)
    assert not hasattr(model, "coef_")


def test_non_numbers_and_wrong_widths_are_refused(client):
    X, y = _data()
    with pytest.raises(TypeError, match="X must hold real numbers, but it holds dates"):
        NystroemRidgeClassifier(**PARAMS).fit(da.from_array(X.astype("datetime64[s]")), y)
    model = NystroemRidgeClassifier(random_state=0, **PARAMS).fit(X, y)
    with pytest.raises(ValueError, match="X has 9 features, but NystroemRidgeClassifier is"):
        model.predict(da.from_array(X[:, :9]))


def test_numpy_fit_does_not_import_dask():
    code = (
        "import sys, numpy as np\n"
        "from skconv import NystroemRidgeClassifier\n"
        "X = np.random.RandomState(0).rand(50, 3); y = np.arange(50) % 2\n"
        "NystroemRidgeClassifier(n_components=10).fit(X, y).predict(X)\n"
        "assert not any(m.split('.')[0] == 'dask' for m in sys.modules), 'dask imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
