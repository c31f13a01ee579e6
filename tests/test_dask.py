"""Scale-out on dask: grid search through joblib's dask backend, and block-wise features.

A ``LocalCluster`` of two worker processes (one thread each) stands in for a real cluster: the
estimators travel to other processes by pickle, exactly as they would to other machines. The
cluster is started once for the module and closed by its fixture. A fitted model runs the same
operations on every image whatever the batch (``method_`` is fixed in fit), so features made
block by block equal the numpy result bitwise.
"""

import logging

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skconv import ConvFeatureExtractor, ConvPool, PoolTransformer

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
        local_directory=str(tmp_path_factory.mktemp("dask-workers")),
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300], y[:300]


def make_pipeline():
    return Pipeline(
        [
            ("conv", ConvFeatureExtractor(filters="tutorial", image_shape=(8, 8))),
            ("pool", PoolTransformer()),
            ("clf", RidgeClassifier()),
        ]
    )


GRID = {
    "conv__filters": ["tutorial", np.random.RandomState(0).randn(4, 2, 3)],
    "conv__padding": ["same", "valid"],
    "pool__pool_size": [2, None],
}


def test_grid_search_runs_on_the_dask_cluster_and_matches_a_local_one(client, digits):
    X, y = digits
    search = GridSearchCV(make_pipeline(), GRID, cv=3, n_jobs=-1)
    with distributed.get_task_stream(client) as tasks, joblib.parallel_config(backend="dask"):
        search.fit(X, y)
    workers = {task["worker"] for task in tasks.data}
    assert workers == set(client.scheduler_info()["workers"]), "both workers must take part"
    assert len(search.cv_results_["params"]) == 8

    local = clone(search).set_params(n_jobs=1).fit(X, y)
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    assert search.best_params_.keys() == local.best_params_.keys()
    np.testing.assert_array_equal(search.decision_function(X), local.decision_function(X))


def features_pipeline(X):
    return Pipeline(
        [
            ("conv", ConvFeatureExtractor(filters="gabor", n_filters=4, kernel_size=5)),
            ("pool", PoolTransformer(mode="avg", pool_size=3, stride=2)),
        ]
    ).fit(X)


def image_blocks_to_features(lazy, features, expected):
    """Map a fitted transform over a dask stack of images chunked along samples only."""
    return lazy.map_blocks(
        features.transform,
        dtype=expected.dtype,
        drop_axis=[1, 2],
        new_axis=[1],
        chunks=(lazy.chunks[0], (expected.shape[1],)),
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_map_blocks_features_equal_numpy_on_the_cluster(client, digits, chunk, dtype):
    images = digits[0].reshape(-1, 8, 8).astype(dtype)
    features = features_pipeline(images)
    expected = features.transform(images)

    lazy = da.from_array(images, chunks=(chunk, 8, 8))  # chunks along samples only
    blocks = image_blocks_to_features(lazy, features, expected)
    assert blocks.numblocks == (-(-len(images) // chunk), 1)
    result = client.compute(blocks).result()
    assert result.dtype == expected.dtype
    np.testing.assert_array_equal(result, expected)


def test_map_blocks_with_convpool_on_the_cluster(client, digits):
    images = digits[0].reshape(-1, 8, 8).astype(np.float32)
    features = ConvPool(
        ConvFeatureExtractor(filters="kmeans", n_filters=4, kernel_size=3, random_state=0),
        PoolTransformer(mode="avg", stride=1),
        batch_size=16,
    ).fit(images)
    expected = features.transform(images)
    lazy = da.from_array(images, chunks=(64, 8, 8))
    blocks = image_blocks_to_features(lazy, features, expected)
    result = client.compute(blocks).result()
    np.testing.assert_array_equal(result, expected)


def test_map_blocks_of_two_dimensional_rows_on_the_threaded_scheduler(digits):
    X = digits[0]
    features = Pipeline(
        [
            ("conv", ConvFeatureExtractor(filters="edges", image_shape=(8, 8))),
            ("pool", PoolTransformer()),
        ]
    ).fit(X)
    expected = features.transform(X)
    lazy = da.from_array(X, chunks=(50, X.shape[1]))
    blocks = lazy.map_blocks(
        features.transform,
        dtype=expected.dtype,
        chunks=(lazy.chunks[0], (expected.shape[1],)),
    )
    result = blocks.compute(scheduler="threads")
    np.testing.assert_array_equal(result, expected)


def seeded_block(block_id, n_images):
    """Images generated from the block's own seed: no block needs another to exist."""
    return np.random.default_rng(block_id).random((n_images, 12, 12), dtype=np.float32)


def test_lazily_generated_images_stream_through_conv_and_pool(client):
    """The example's pattern: images made per block, features computed per block."""
    n_blocks, per_block = 6, 40
    features = features_pipeline(seeded_block(0, per_block))
    n_features = features.transform(seeded_block(0, 1)).shape[1]

    def block_features(block_id):
        return features.transform(seeded_block(block_id, per_block))

    lazy = da.concatenate(
        [
            da.from_delayed(
                dask.delayed(block_features)(i),
                shape=(per_block, n_features),
                dtype=np.float32,
            )
            for i in range(n_blocks)
        ]
    )
    result = client.compute(lazy).result()
    images = np.concatenate([seeded_block(i, per_block) for i in range(n_blocks)])
    expected = features.transform(images)
    np.testing.assert_array_equal(result, expected)
