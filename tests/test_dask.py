"""Scale-out on dask: grid search through joblib's dask backend, and block-wise features.

A ``LocalCluster`` of two worker processes (one thread each) stands in for a real cluster: the
estimators travel to other processes by pickle, exactly as they would to other machines. The
cluster is started once for the module and closed by its fixture. A fitted model runs the same
operations on every image whatever the batch (``method_`` is fixed in fit), so features made
block by block equal the numpy result bitwise.
"""

import ast
import socket
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
from dask_clusters import local_cluster
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
    cluster = local_cluster(tmp_path_factory.mktemp("dask-workers"))
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


DASHBOARD_DEFAULT_PORT = 8787
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def default_dashboard_port_taken():
    """Hold port 8787 as another cluster's open dashboard would (or find it held already)."""
    listener = socket.socket()
    try:
        listener.bind(("", DASHBOARD_DEFAULT_PORT))
        listener.listen()
    except OSError:  # another process holds it: the situation this fixture is for
        listener.close()
        listener = None
    with socket.create_connection(("127.0.0.1", DASHBOARD_DEFAULT_PORT), timeout=5):
        pass  # something answers on 8787, whoever opened it
    try:
        yield
    finally:
        if listener is not None:
            listener.close()


def port_warnings(caught):
    return [str(w.message) for w in caught if "already in use" in str(w.message)]


def test_test_clusters_start_without_a_port_warning_when_8787_is_taken(
    default_dashboard_port_taken, tmp_path
):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with local_cluster(tmp_path, n_workers=1) as cluster:
            port = cluster.scheduler.http_server.port
    assert port_warnings(caught) == []
    assert port != DASHBOARD_DEFAULT_PORT


def port_settings_of_local_clusters(example):
    """The port keywords of every ``LocalCluster(...)`` call in an example's source."""
    calls = [
        node
        for node in ast.walk(ast.parse(example.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "LocalCluster"
    ]
    return [
        {
            keyword.arg: ast.literal_eval(keyword.value)
            for keyword in call.keywords
            if keyword.arg in ("dashboard_address", "scheduler_kwargs")
        }
        for call in calls
    ]


EXAMPLES_WITH_CLUSTERS = sorted(
    path.name for path in EXAMPLES.glob("*.py") if "LocalCluster(" in path.read_text("utf-8")
)


def test_the_dask_examples_are_found():
    assert "plot_scale_out_dask.py" in EXAMPLES_WITH_CLUSTERS


@pytest.mark.parametrize("example", EXAMPLES_WITH_CLUSTERS)
def test_examples_start_their_clusters_without_a_port_warning_when_8787_is_taken(
    default_dashboard_port_taken, example
):
    """The ports an example asks for, on a one-thread cluster like its own."""
    settings = port_settings_of_local_clusters(EXAMPLES / example)
    assert settings, f"{example}: no LocalCluster(...) call found"
    for ports in settings:
        assert ports, f"{example}: a LocalCluster that leaves its ports at the default"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with distributed.LocalCluster(
                n_workers=1, threads_per_worker=1, processes=False, **ports
            ) as cluster:
                port = cluster.scheduler.http_server.port
        assert port_warnings(caught) == []
        assert port != DASHBOARD_DEFAULT_PORT
