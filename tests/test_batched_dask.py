"""BatchedTransformer on dask arrays, on a real LocalCluster.

Two worker processes of one thread each stand in for a cluster: the fitted transformer travels
to them by pickle as it would to other machines. ``transform`` of a dask array is lazy and
block-wise, equal to the numpy transform bit for bit for skconv's own steps and to float
rounding for BLAS steps; ``fit`` with ``max_fit_samples`` computes only the rows it draws,
the same rows as in memory whatever the chunking.
"""

import logging
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.decomposition import PCA
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import skconv._batched
from skconv import BatchedTransformer, ConvFeatureExtractor, ConvPool, PoolTransformer

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    # dashboard_address=":0": the dashboard on a free port, so that no "Port 8787 is already
    # in use" warning appears when another cluster runs (None still starts the web server).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
            local_directory=str(tmp_path_factory.mktemp("dask-workers")),
        )
    assert not [w for w in caught if "8787" in str(w.message)]
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def images():
    return np.random.RandomState(0).rand(150, 12, 12).astype(np.float32)


def conv_pool():
    return ConvPool(
        ConvFeatureExtractor("kmeans", n_filters=4, kernel_size=3, n_patches=1000, random_state=0),
        PoolTransformer(3),
    )


@pytest.fixture(scope="module")
def fitted(images):
    return BatchedTransformer(conv_pool(), batch_size=5).fit(images)


# --- transform -----------------------------------------------------------------------------


def test_transform_of_a_dask_array_is_lazy_with_known_chunks(client, images, fitted):
    lazy = da.from_array(images, chunks=(40, 12, 12))
    with distributed.get_task_stream(client) as tasks:
        features = fitted.transform(lazy)
    assert tasks.data == []  # nothing ran: the graph is only built
    assert isinstance(features, da.Array)
    expected = fitted.transform(images)
    assert features.dtype == expected.dtype
    assert features.shape == expected.shape
    assert features.chunks == (lazy.chunks[0], (expected.shape[1],))


@pytest.mark.parametrize("n_images, chunk", [(20, 1), (150, 7), (150, 64)])
def test_convpool_features_of_dask_blocks_equal_numpy_bitwise(
    client, images, fitted, n_images, chunk
):
    images = images[:n_images]  # one task per block: twenty blocks of one image suffice
    lazy = da.from_array(images, chunks=(chunk, 12, 12))
    with distributed.get_task_stream(client) as tasks:
        result = client.compute(fitted.transform(lazy)).result()
    if lazy.numblocks[0] >= 20:  # enough blocks for the scheduler to use both workers
        workers = {task["worker"] for task in tasks.data}
        assert workers == set(client.scheduler_info()["workers"])
    np.testing.assert_array_equal(result, fitted.transform(images))


def test_flat_rows_with_image_shape_equal_numpy_bitwise(client, images):
    X = images.reshape(len(images), -1).astype(np.float64)
    steps = ConvPool(
        ConvFeatureExtractor("gabor", n_filters=4, kernel_size=5, image_shape=(12, 12)),
        PoolTransformer(2, mode="avg"),
    )
    batched = BatchedTransformer(steps, batch_size=16).fit(X)
    result = client.compute(batched.transform(da.from_array(X, chunks=(50, 144)))).result()
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result, batched.transform(X))


def test_blocks_split_across_pixels_are_rechunked_to_whole_rows(client, images, fitted):
    lazy = da.from_array(images, chunks=(40, 5, 12))
    features = fitted.transform(lazy)
    assert features.chunks[0] == lazy.chunks[0]
    np.testing.assert_array_equal(client.compute(features).result(), fitted.transform(images))


def test_the_fitted_transformer_is_one_task_every_block_depends_on(images, fitted):
    features = fitted.transform(da.from_array(images, chunks=(10, 12, 12)))
    graph = dict(features.__dask_graph__())
    holders = [
        key
        for key, task in graph.items()
        if isinstance(getattr(task, "value", None), type(fitted.transformer_))
    ]
    assert len(holders) == 1
    blocks = [graph[key] for row in features.__dask_keys__() for key in row]
    assert len(blocks) == 15
    assert all(holders[0] in block.dependencies for block in blocks)


def test_unknown_row_chunks_are_transformed(client, images, fitted):
    lazy = da.from_array(images, chunks=(40, 12, 12))
    selected = lazy[lazy[:, 0, 0] > 0.5]  # row counts known only once computed
    assert np.isnan(selected.shape[0])
    result = client.compute(fitted.transform(selected)).result()
    np.testing.assert_array_equal(result, fitted.transform(images[images[:, 0, 0] > 0.5]))


def test_pca_on_dask_blocks_agrees_to_float_rounding(client):
    """BLAS rounds by the shape of the product and the threads: no bitwise promise."""
    X = np.random.RandomState(0).rand(600, 64).astype(np.float32)
    batched = BatchedTransformer(PCA(16, random_state=0), batch_size=50).fit(X)
    expected = batched.transform(X)
    result = client.compute(batched.transform(da.from_array(X, chunks=(64, 64)))).result()
    assert result.dtype == np.float32
    # PCA computes X @ components.T - mean @ components.T; each output rounds within a
    # float32 epsilon or so of the magnitudes summed. Measured 0.98 epsilons at most over
    # three seeds and chunks of 1, 7 and 64 rows (OpenBLAS Haswell kernels, one thread on
    # the workers, two here).
    pca = batched.transformer_
    components = np.abs(pca.components_.astype(np.float64))
    scale = np.abs(X.astype(np.float64)) @ components.T + np.abs(pca.mean_) @ components.T
    difference = np.abs(result.astype(np.float64) - expected)
    assert np.all(difference <= 2 * np.finfo(np.float32).eps * scale)


def huge_float64_unless_zeros(X):
    """float32 for rows of zeros (the probe), float64 holding 1e300 for the rows of X."""
    return X.astype(np.float32) if not X.any() else X.astype(np.float64) * 1e300


def test_a_block_whose_dtype_differs_from_the_probe_is_refused(client, images):
    batched = BatchedTransformer(FunctionTransformer(huge_float64_unless_zeros)).fit(images)
    features = batched.transform(da.from_array(images + 1, chunks=(50, 12, 12)))
    assert features.dtype == np.float32
    with pytest.raises(TypeError, match=r"float64 for rows 0:50 but float32 for a row of zeros"):
        client.compute(features).result()


def test_wrong_width_and_non_numbers_are_refused_before_any_work(client, fitted):
    with distributed.get_task_stream(client) as tasks:
        with pytest.raises(ValueError, match="X has 143 features, but BatchedTransformer"):
            fitted.transform(da.zeros((10, 143), chunks=5))
        with pytest.raises(TypeError, match=r"holds dates \(datetime64\)"):
            fitted.transform(da.zeros((10, 12, 12), chunks=5).astype("datetime64[s]"))
        with pytest.raises(TypeError, match=r"holds dates \(datetime64\)"):
            clone(fitted).fit(da.zeros((10, 12, 12), chunks=5).astype("datetime64[s]"))
    assert tasks.data == []


# --- fit -----------------------------------------------------------------------------------


class RecordingTransformer(TransformerMixin, BaseEstimator):
    """Remembers what its fit was given."""

    def fit(self, X, y=None, sample_weight=None):
        self.seen_ = {"X": X, "y": y, "sample_weight": sample_weight}
        return self

    def transform(self, X):
        return X


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_fit_draws_the_rows_it_draws_in_memory_whatever_the_chunking(client, images, chunk):
    batched = BatchedTransformer(PCA(8, random_state=0), max_fit_samples=40, random_state=0)
    in_memory = clone(batched).fit(images.reshape(150, -1))
    flat = da.from_array(images.reshape(150, -1), chunks=(chunk, 144))
    on_dask = clone(batched).fit(flat)
    # The same rows, fitted in memory: the same model, bit for bit.
    dask_pca, numpy_pca = on_dask.transformer_, in_memory.transformer_
    np.testing.assert_array_equal(dask_pca.components_, numpy_pca.components_)
    np.testing.assert_array_equal(dask_pca.mean_, numpy_pca.mean_)
    assert on_dask.n_features_in_ == 144


def test_fit_of_an_image_stack_matches_the_in_memory_fit_bitwise(client, images):
    batched = BatchedTransformer(conv_pool(), max_fit_samples=60, random_state=1)
    in_memory = clone(batched).fit(images)
    on_dask = clone(batched).fit(da.from_array(images, chunks=(32, 12, 12)))
    np.testing.assert_array_equal(
        on_dask.transformer_.conv_.filters_, in_memory.transformer_.conv_.filters_
    )
    np.testing.assert_array_equal(on_dask.transform(images), in_memory.transform(images))


def numbered_row(row, allowed):
    """Row ``row`` of a dask array whose other rows must never be computed."""
    if row not in allowed:
        raise RuntimeError(f"row {row} was computed but not drawn")
    return np.full((1, 3), float(row))


def test_fit_computes_only_the_rows_it_draws_with_their_labels_and_weights(client):
    n_rows, n_drawn = 60, 10
    batched = BatchedTransformer(RecordingTransformer(), max_fit_samples=n_drawn, random_state=0)
    # The rows fit draws, found in memory: they hold their own numbers.
    in_memory = clone(batched).fit(np.arange(float(n_rows))[:, None], np.arange(n_rows))
    drawn = set(in_memory.transformer_.seen_["y"].tolist())
    assert len(drawn) == n_drawn

    X = da.concatenate(
        [
            da.from_delayed(dask.delayed(numbered_row)(row, drawn), (1, 3), np.float64)
            for row in range(n_rows)
        ]
    )
    y = da.arange(n_rows, chunks=7)
    weights = da.arange(n_rows, chunks=11) / 10
    seen = batched.fit(X, y, sample_weight=weights).transformer_.seen_
    assert isinstance(seen["X"], np.ndarray)
    np.testing.assert_array_equal(seen["X"][:, 0], sorted(drawn))
    np.testing.assert_array_equal(seen["y"], sorted(drawn))
    np.testing.assert_array_equal(seen["sample_weight"], np.array(sorted(drawn)) / 10)


def test_fit_without_max_fit_samples_gathers_every_row(client, images, monkeypatch):
    lazy = da.from_array(images.reshape(150, -1), chunks=(40, 144))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # small: no warning
        fitted = BatchedTransformer(StandardScaler()).fit(lazy)
    np.testing.assert_array_equal(
        fitted.transformer_.mean_, StandardScaler().fit(images.reshape(150, -1)).mean_
    )
    monkeypatch.setattr(skconv._batched, "DASK_GATHER_WARNING_BYTES", images.nbytes - 1)
    with pytest.warns(UserWarning, match="gathers all 150 rows.*set max_fit_samples"):
        BatchedTransformer(StandardScaler()).fit(lazy)


def test_fit_of_unknown_row_count_is_refused(client, images):
    lazy = da.from_array(images, chunks=(40, 12, 12))
    with pytest.raises(ValueError, match=r"row count is unknown.*compute_chunk_sizes\(\)"):
        BatchedTransformer(conv_pool(), max_fit_samples=10).fit(lazy[lazy[:, 0, 0] > 0.5])


def test_fit_transform_of_a_dask_array_is_lazy(client, images):
    lazy = da.from_array(images, chunks=(50, 12, 12))
    batched = BatchedTransformer(FunctionTransformer(), max_fit_samples=20, random_state=0)
    out = batched.fit_transform(lazy)
    assert isinstance(out, da.Array)
    np.testing.assert_array_equal(client.compute(out).result(), images)


def test_pandas_output_of_a_lazy_array_is_refused(images):
    """A DataFrame would compute every block at once: the dask array is asked for instead."""
    batched = BatchedTransformer(StandardScaler()).fit(images[:, 0])
    batched.set_output(transform="pandas")
    with pytest.raises(ValueError, match=r"set_output\(transform='pandas'\).*'default'"):
        batched.transform(da.from_array(images[:, 0], chunks=(50, 12)))
    assert batched.transform(images[:, 0]).shape == (150, 12)  # numpy: a DataFrame, as asked
