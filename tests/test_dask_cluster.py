"""The recipe's estimators on a real dask cluster, fitted from dask arrays.

A ``LocalCluster`` of two worker processes (one thread each, as on a two-core machine) stands
in for a real cluster. It checks what the scaling page promises for a dask array of images
or features: the fitted model is the in-memory one (same landmarks and fit rows, coefficients
within the stated bound, identical predictions); each worker holds about a block at a time,
on data several times larger than its memory limit, with no spilling and no restarts, and
the client never gathers the rows; a worker killed in the middle of a fit is recomputed
by dask or the fit raises, never leaving a model fitted on part of the data.
"""

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from bar_images import bar_images
from dask_clusters import local_cluster
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils.validation import check_is_fitted

from skconv import (
    BatchedTransformer,
    ConvFeatureExtractor,
    ConvPool,
    NystroemRidgeClassifier,
    PoolTransformer,
)

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

MiB = 2**20
# A worker process with numpy, scipy, scikit-learn and skconv imported takes about 200 MiB
# (measured here); the limit leaves room for a few blocks above that, and is the smallest that
# keeps a margin for other platforms' larger libraries. The test data are several times larger.
WORKER_MEMORY_LIMIT = 384 * MiB
# No spilling to disk and no pausing: a worker above 95% of its limit is killed and
# restarted by its nanny, which the memory test detects as a restart.
NO_SPILLING = {
    "distributed.worker.memory.target": False,
    "distributed.worker.memory.spill": False,
    "distributed.worker.memory.pause": False,
    "distributed.worker.memory.terminate": 0.95,
}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with dask.config.set(NO_SPILLING):  # read by the nannies, passed on to their workers
        cluster = local_cluster(
            tmp_path_factory.mktemp("dask-cluster"), memory_limit=WORKER_MEMORY_LIMIT
        )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def worker_pids(client):
    return client.run(os.getpid)


def test_the_workers_neither_spill_nor_pause(client):
    settings = client.run(
        lambda: {key: dask.config.get(key) for key in NO_SPILLING if "terminate" not in key}
    )
    assert len(settings) == 2
    for worker_settings in settings.values():
        assert set(worker_settings.values()) == {False}
    limits = {info["memory_limit"] for info in client.scheduler_info()["workers"].values()}
    assert limits == {WORKER_MEMORY_LIMIT}


# --- the same model as in memory -------------------------------------------------------------

N_IMAGES = 480


@pytest.fixture(scope="module")
def images_and_labels():
    """Three classes told apart by where a faint bar is in the noise (0.97 test accuracy)."""
    return bar_images(N_IMAGES, noise=200, bar=30)


def small_recipe():
    """The recipe's steps (k-means convolution, pooling, PCA in a BatchedTransformer, then
    kernel ridge), sized for a few hundred images."""
    conv = ConvFeatureExtractor(
        "kmeans",
        image_shape=(28, 28),
        n_filters=8,
        kernel_size=5,
        activation="crelu",
        n_patches=2000,
        random_state=0,
    )
    features = make_pipeline(ConvPool(conv, PoolTransformer(4)), PCA(20, random_state=0))
    return Pipeline(
        [
            (
                "features",
                BatchedTransformer(features, batch_size=64, max_fit_samples=200, random_state=0),
            ),
            (
                "classifier",
                NystroemRidgeClassifier(
                    gamma=3e-3, n_components=80, alpha=3e-3, batch_size=64, random_state=0
                ),
            ),
        ]
    )


def workers_that_ran(tasks):
    return {task["worker"] for task in tasks.data}


@pytest.fixture(scope="module")
def in_memory(images_and_labels):
    images, labels = images_and_labels
    return small_recipe().fit(images, labels)


# Chunks that are not multiples of the batch size, and uneven chunks.
CHUNKS = [100, (50, 170, 60, 200)]


def margins(scores):
    """How far each row's best class is ahead of the second."""
    top_two = np.sort(scores, axis=1)[:, -2:]
    return top_two[:, 1] - top_two[:, 0]


# The recipe's features are float32, and PCA's projection of them rounds with the number of
# BLAS threads: one per dask worker, all cores here (up to 4e-6 apart on this machine's
# OpenBLAS, SkylakeX kernels). Measured against the in-memory fit, over the three chunkings:
# decision values within 1.0e-5 (on values up to 1.8), coefficients within 1.2e-5 of the
# largest. The bounds below are 4 times those.
DECISION_TOLERANCE = 4e-5
COEF_TOLERANCE = 5e-5


@pytest.mark.parametrize("chunks", CHUNKS, ids=["even", "uneven"])
def test_recipe_fitted_from_a_dask_array_predicts_as_in_memory(
    client, images_and_labels, in_memory, chunks
):
    images, labels = images_and_labels
    lazy = da.from_array(images, chunks=(chunks, 28, 28))
    with distributed.get_task_stream(client) as tasks:
        model = small_recipe().fit(lazy, labels)
    assert workers_that_ran(tasks) == set(client.scheduler_info()["workers"])

    # random_state draws the same fit rows and landmarks whatever the chunking.
    head, head_in_memory = model["classifier"], in_memory["classifier"]
    np.testing.assert_array_equal(head.component_indices_, head_in_memory.component_indices_)
    largest = np.abs(head_in_memory.coef_).max()
    np.testing.assert_allclose(head.coef_, head_in_memory.coef_, atol=COEF_TOLERANCE * largest)

    scores = model.decision_function(lazy)
    predicted = model.predict(lazy)
    assert isinstance(scores, da.Array) and isinstance(predicted, da.Array), "lazy"
    expected_scores = in_memory.decision_function(images)
    np.testing.assert_allclose(scores.compute(), expected_scores, atol=DECISION_TOLERANCE)
    # Measured 0.020: no image is within the tolerance of a tie, so the predictions must agree.
    assert margins(expected_scores).min() > 100 * DECISION_TOLERANCE
    np.testing.assert_array_equal(predicted.compute(), in_memory.predict(images))


def test_the_head_on_the_recipes_features_is_the_in_memory_one_within_its_bound(
    client, images_and_labels, in_memory
):
    """The same float64 features on the cluster and in memory: the head's stated bound."""
    images, labels = images_and_labels
    features = in_memory["features"].transform(images).astype(np.float64)
    params = in_memory["classifier"].get_params()
    expected = NystroemRidgeClassifier(**params).fit(features, labels)
    model = NystroemRidgeClassifier(**params).fit(da.from_array(features, chunks=100), labels)
    np.testing.assert_array_equal(model.normalization_, expected.normalization_)
    # The float64 sums added in another order (per block, then pairwise): measured 1.9e-12
    # of the largest coefficient for chunks of 100 rows; 5e-11 is the bound the head states.
    largest = np.abs(expected.coef_).max()
    np.testing.assert_allclose(model.coef_, expected.coef_, rtol=0, atol=5e-11 * largest)
    np.testing.assert_array_equal(
        model.predict(da.from_array(features, chunks=100)).compute(), expected.predict(features)
    )


# --- memory: data several times a worker's limit ---------------------------------------------

CAN_MEASURE_PEAKS = Path("/proc/self/clear_refs").exists() and os.access(
    "/proc/self/clear_refs", os.W_OK
)
needs_peak_memory = pytest.mark.skipif(
    not CAN_MEASURE_PEAKS, reason="peak memory is read from /proc (Linux only)"
)


def reset_peak_memory():
    """Start the process's peak resident memory (VmHWM) again from its current size."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def memory_now_and_peak():
    status = dict(
        line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines()
    )
    return tuple(int(status[key].split()[0]) * 1024 for key in ("VmRSS", "VmHWM"))


WIDTH, ROWS_PER_BLOCK = 1024, 4096  # 16 MiB blocks of float32 rows
N_BLOCKS = 80  # 1.25 GiB in all: 3.3 times a worker's limit


COLUMN_PATTERN = np.sin(np.arange(WIDTH, dtype=np.float32))


def generated_block(block_id=None):
    """A block of rows made on the worker that computes it, cheaply, from its position."""
    first_row = block_id[0] * ROWS_PER_BLOCK
    rows = np.arange(first_row, first_row + ROWS_PER_BLOCK, dtype=np.float32)
    block = np.empty((ROWS_PER_BLOCK, WIDTH), dtype=np.float32)
    block[:] = COLUMN_PATTERN
    block += (rows % 251)[:, None]
    return block


def generated_rows(n_blocks):
    return da.map_blocks(
        generated_block, chunks=((ROWS_PER_BLOCK,) * n_blocks, (WIDTH,)), dtype=np.float32
    )


def rows_pipeline():
    """Features of a block of rows (PCA in a BatchedTransformer), then the kernel head."""
    return Pipeline(
        [
            ("features", BatchedTransformer(PCA(16), max_fit_samples=2048, random_state=0)),
            ("classifier", NystroemRidgeClassifier(n_components=32, random_state=0)),
        ]
    )


@needs_peak_memory
def test_fit_on_data_several_times_a_workers_memory_limit(client):
    X = generated_rows(N_BLOCKS)
    y = np.random.default_rng(1).integers(0, 3, len(X))
    assert X.nbytes > 3 * WORKER_MEMORY_LIMIT
    block_bytes = ROWS_PER_BLOCK * WIDTH * 4
    pids = worker_pids(client)
    # A small fit first, so that the modules it imports do not count below.
    rows_pipeline().fit(generated_rows(4), y[: 4 * ROWS_PER_BLOCK])
    client.run(reset_peak_memory)
    reset_peak_memory()
    before = client.run(memory_now_and_peak)
    client_before, _ = memory_now_and_peak()

    model = rows_pipeline().fit(X, y)

    after = client.run(memory_now_and_peak)
    _, client_peak = memory_now_and_peak()
    assert worker_pids(client) == pids, "no worker was restarted"
    for worker, (_, peak) in after.items():
        resident_before = before[worker][0]
        assert peak < 0.95 * WORKER_MEMORY_LIMIT
        # A few blocks at a time (measured 3.3 to 4.1 over three runs: a block made while
        # the previous one is transformed and mapped), never the 80 blocks of the data.
        assert peak - resident_before < 5 * block_bytes, worker
    # The client gathers the fit rows, the landmarks and the small sums, never the blocks.
    assert client_peak - client_before < 4 * block_bytes
    check_is_fitted(model)


# --- a worker killed in the middle of a fit -------------------------------------------------

KILL_BLOCKS, KILL_ROWS = 12, 60


def slow_block(index, calls):
    """A block that takes a while, and tells the test which process is computing it."""
    distributed.Queue(calls).put(os.getpid())
    time.sleep(0.1)
    return np.random.default_rng(index).random((KILL_ROWS, 6), dtype=np.float32)


def slow_rows(calls):
    return da.concatenate(
        [
            da.from_delayed(
                dask.delayed(slow_block, pure=False)(index, calls),
                shape=(KILL_ROWS, 6),
                dtype=np.float32,
            )
            for index in range(KILL_BLOCKS)
        ]
    )


def kill_labels():
    rows = np.concatenate(
        [
            np.random.default_rng(index).random((KILL_ROWS, 6), dtype=np.float32)
            for index in range(KILL_BLOCKS)
        ]
    )
    return rows, (rows[:, 0] + rows[:, 1] > 1).astype(int)


def kill_head():
    return NystroemRidgeClassifier(gamma=2.0, n_components=40, alpha=1e-3, random_state=0)


def fit_killing_a_worker(client, kill_at_call):
    """Fit on slow blocks; SIGKILL the worker that computes the ``kill_at_call``-th block."""
    calls = f"calls-{kill_at_call}-{time.monotonic_ns()}"
    X = slow_rows(calls)
    _, y = kill_labels()
    model, outcome = kill_head(), {}

    def fit():
        try:
            model.fit(X, y)
        except Exception as error:
            outcome["error"] = error

    fitting = threading.Thread(target=fit)
    fitting.start()
    queue = distributed.Queue(calls)
    for _ in range(kill_at_call):
        pid = queue.get(timeout=60)
    assert fitting.is_alive(), "the fit must still be running when its worker is killed"
    os.kill(pid, signal.SIGKILL)
    fitting.join(120)
    assert not fitting.is_alive()
    client.wait_for_workers(2, timeout=60)  # the nanny starts a new worker process
    return model, outcome.get("error")


@pytest.fixture(scope="module")
def uninterrupted(client):
    """The fit without a kill, and how many blocks it computes in all."""
    calls = "calls-uninterrupted"
    X, y = kill_labels()
    model = kill_head().fit(slow_rows(calls), y)
    queue = distributed.Queue(calls)
    return model, kill_head().fit(X, y), queue.qsize()


def test_a_worker_killed_mid_fit_is_recomputed_by_dask(client, uninterrupted):
    on_cluster, in_memory, n_calls = uninterrupted
    model, error = fit_killing_a_worker(client, kill_at_call=n_calls // 2)
    assert error is None, "dask retries the lost tasks on the other worker"
    np.testing.assert_array_equal(model.coef_, on_cluster.coef_)
    X, _ = kill_labels()
    np.testing.assert_array_equal(model.predict(X), in_memory.predict(X))


def test_a_worker_killed_mid_fit_without_retries_leaves_the_model_unfitted(client, uninterrupted):
    _, _, n_calls = uninterrupted
    allowed = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures)
    client.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, "allowed_failures", 0))
    try:
        model, error = fit_killing_a_worker(client, kill_at_call=n_calls // 2)
    finally:
        client.run_on_scheduler(
            lambda dask_scheduler: setattr(dask_scheduler, "allowed_failures", allowed)
        )
    assert isinstance(error, distributed.KilledWorker)
    with pytest.raises(NotFittedError):
        check_is_fitted(model)


def test_the_recipe_class_takes_a_dask_array_block_by_block():
    """What the scaling page says of ImageClassifier: fit computes three things (the images it
    fits the features on, the landmarks' features, the head's summed normal equations), never
    the images themselves; predict computes nothing and returns a lazy dask array."""
    from dask.callbacks import Callback

    from skconv.recipes import make_image_classifier

    images = np.random.RandomState(0).randint(0, 256, (120, 28, 28)).astype(np.uint8)
    lazy = da.from_array(images, chunks=(30, 28, 28))
    computed = []

    class Record(Callback):
        def _start(self, graph):
            computed.append(len(graph))

    model = make_image_classifier(n_components=20, max_fit_samples=40, gamma=1e-3)
    with Record(), dask.config.set(scheduler="synchronous"):
        model.fit(lazy, np.arange(120) % 2)
        n_fit_computations = len(computed)
        predicted = model.predict(lazy)
    assert n_fit_computations == 3, "the fit rows, the landmarks, the head's sums"
    assert len(computed) == n_fit_computations, "predict computes nothing"
    assert isinstance(predicted, da.Array)
    np.testing.assert_array_equal(predicted.compute(), model.predict(images))
