"""Concurrency and determinism: threads, n_jobs, batch sizes and random_state.

The promises tested here:

- the features of an image are bitwise identical whatever ``batch_size``, ``n_jobs``, the
  threads, ``ConvPool`` or ``Pipeline``, dask blocks, or one image versus many, on any BLAS:
  every image's products have shapes that depend only on its geometry, and ``method="auto"``
  is resolved once in ``fit`` (``method_``). The tests marked ``reproducibility`` are also
  run under ``OPENBLAS_CORETYPE=Haswell`` and ``SandyBridge`` (``pytest -m reproducibility``),
  whose kernels round the last rows of a product differently from the AVX-512 ones;
- one fitted pipeline used from many threads at once gives the outputs it gives sequentially,
  bit for bit, from the first concurrent round on;
- no process-wide BLAS setting is left changed by any mix of sequential, concurrent, failing
  and dask-threaded transforms;
- the two algorithms ("gemm", "fft") differ only by their rounding, within
  ``ALGORITHM_ULPS * eps * K * max|x| * max|k|`` for a kernel of ``K`` elements (measured: at
  most 2.1 of these ``eps * K * ...`` units, on digits; under 0.6 on uniform random images);
- learned banks are identical for the same ``random_state`` (an int, or a fresh
  ``RandomState`` seeded alike), whatever the BLAS thread count, and differ for other data or
  another seed.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import threadpoolctl
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits

from skconv import ConvFeatureExtractor, ConvPool, PoolTransformer

N_THREADS = 8
CALLS_PER_THREAD = 4
ALGORITHM_ULPS = 4

CONV_SETTINGS = [
    {"filters": "gabor", "n_filters": 6, "kernel_size": 5, "method": "gemm"},
    {"filters": "gabor", "n_filters": 4, "kernel_size": 11, "method": "fft"},
    {"filters": "random", "n_filters": 4, "kernel_size": (4, 3), "stride": 2, "random_state": 0},
    {"filters": "kmeans", "n_filters": 6, "kernel_size": 3, "n_patches": 2000,
     "random_state": 0, "activation": "triangle"},
    {"filters": "pca", "n_filters": 4, "kernel_size": 5, "padding": "valid", "n_patches": 2000,
     "random_state": 0},
]  # fmt: skip
SETTING_IDS = ["gemm", "fft", "random-stride", "kmeans-triangle", "pca-valid"]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600], y[:600]


def make_pipeline(conv_params, n_jobs=None):
    return Pipeline(
        [
            ("conv", ConvFeatureExtractor(image_shape=(8, 8), n_jobs=n_jobs, **conv_params)),
            ("pool", PoolTransformer(mode="avg", pool_size=3, stride=1, n_jobs=n_jobs)),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(max_iter=200)),
        ]
    )


def blas_threads():
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


@pytest.mark.reproducibility
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("n_jobs", [None, 2])
@pytest.mark.parametrize("conv_params", CONV_SETTINGS[:2] + CONV_SETTINGS[3:4], ids=repr)
def test_one_pipeline_from_many_threads_gives_identical_outputs(digits, conv_params, n_jobs):
    X, y = digits
    pipe = make_pipeline(conv_params, n_jobs=n_jobs).fit(X[:400], y[:400])
    slices = [slice(400, 600), slice(400, 401), slice(450, 520), slice(0, 600)]
    expected = [pipe.predict_proba(X[s]) for s in slices]
    expected_maps = pipe[:-1].transform(X[400:])
    start = threading.Barrier(N_THREADS)

    def work(thread):
        start.wait()  # every thread calls at the same moment
        results = []
        for call in range(CALLS_PER_THREAD):
            index = (thread + call) % len(slices)
            results.append((index, pipe.predict_proba(X[slices[index]])))
        return results, pipe[:-1].transform(X[400:])

    with ThreadPoolExecutor(max_workers=N_THREADS) as executor:
        outcomes = list(executor.map(work, range(N_THREADS)))
    assert len(outcomes) == N_THREADS
    for results, maps in outcomes:
        assert len(results) == CALLS_PER_THREAD
        for index, probabilities in results:
            np.testing.assert_array_equal(probabilities, expected[index])
        np.testing.assert_array_equal(maps, expected_maps)


@pytest.mark.reproducibility
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("conv_params", CONV_SETTINGS, ids=SETTING_IDS)
def test_n_jobs_never_changes_the_maps(conv_params, dtype):
    images = np.random.RandomState(0).rand(37, 20, 20).astype(dtype)
    expected = ConvFeatureExtractor(**conv_params).fit(images).transform(images)
    for n_jobs in [2, 3, -1]:
        conv = ConvFeatureExtractor(n_jobs=n_jobs, **conv_params).fit(images)
        np.testing.assert_array_equal(conv.transform(images), expected)
    pooled = PoolTransformer(mode="avg", pool_size=3, stride=2).fit_transform(expected)
    for n_jobs in [2, -1]:
        pool = PoolTransformer(mode="avg", pool_size=3, stride=2, n_jobs=n_jobs)
        np.testing.assert_array_equal(pool.fit_transform(expected), pooled)


@pytest.mark.reproducibility
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("conv_params", CONV_SETTINGS, ids=SETTING_IDS)
def test_batch_sizes_never_change_the_maps(conv_params, dtype):
    images = np.random.RandomState(0).rand(37, 20, 20).astype(dtype)
    conv = ConvFeatureExtractor(**conv_params).fit(images)
    expected = conv.transform(images)
    for batch in [1, 5, 16]:
        batched = np.concatenate(
            [conv.transform(images[i : i + batch]) for i in range(0, len(images), batch)]
        )
        assert batched.dtype == expected.dtype
        np.testing.assert_array_equal(batched, expected)
    pool = PoolTransformer(mode="avg", pool_size=3, stride=2).fit(expected)
    pooled = pool.transform(expected)
    batched = np.concatenate([pool.transform(expected[i : i + 5]) for i in range(0, 37, 5)])
    np.testing.assert_array_equal(batched, pooled)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("conv_params", CONV_SETTINGS, ids=SETTING_IDS)
def test_algorithms_differ_at_most_by_the_rounding_bound(conv_params, dtype):
    images = np.random.RandomState(0).rand(37, 20, 20).astype(dtype)
    params = {key: value for key, value in conv_params.items() if key != "method"}
    gemm = ConvFeatureExtractor(method="gemm", **params).fit(images)
    if gemm.contrast_eps_ is not None:
        pytest.skip("contrast normalisation runs on the patch matrix only")
    fft = ConvFeatureExtractor(method="fft", **params).fit(images)
    bank = gemm.filters_
    scale = np.abs(images).max() * np.abs(bank).max() * bank[0].size
    bound = ALGORITHM_ULPS * np.finfo(dtype).eps * scale
    np.testing.assert_allclose(fft.transform(images), gemm.transform(images), rtol=0, atol=bound)


@pytest.mark.reproducibility
@pytest.mark.parametrize("method", ["gemm", "fft"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_explicit_method_gives_identical_maps_in_any_batch_size(digits, method, dtype):
    images = digits[0][:200].reshape(-1, 8, 8).astype(dtype)
    for params in [{"filters": "tutorial"}, {"filters": "gabor", "kernel_size": 5, "stride": 2}]:
        conv = ConvFeatureExtractor(method=method, **params).fit(images)
        expected = conv.transform(images)
        for batch in [1, 7, 64]:
            batched = [conv.transform(images[i : i + batch]) for i in range(0, 200, batch)]
            np.testing.assert_array_equal(np.concatenate(batched), expected)


@pytest.mark.reproducibility
def test_the_default_method_gives_identical_maps_in_any_batch_size(digits):
    images = digits[0][:200].reshape(-1, 8, 8)
    conv = ConvFeatureExtractor(filters="tutorial").fit(images)
    one_by_one = [conv.transform(images[i : i + 1]) for i in range(200)]
    np.testing.assert_array_equal(np.concatenate(one_by_one), conv.transform(images))


@pytest.mark.reproducibility
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("conv_params", CONV_SETTINGS, ids=SETTING_IDS)
def test_convpool_batch_sizes_never_change_the_features(conv_params, dtype):
    images = np.random.RandomState(0).rand(37, 20, 20).astype(dtype)
    conv = ConvFeatureExtractor(**conv_params).fit(images)
    pool = PoolTransformer(mode="avg", pool_size=3, stride=2)
    expected = pool.fit_transform(conv.transform(images))
    for batch_size in [1, 5, 16, "auto"]:
        features = ConvPool(ConvFeatureExtractor(**conv_params), pool, batch_size=batch_size)
        np.testing.assert_array_equal(features.fit_transform(images), expected)


@pytest.mark.reproducibility
def test_one_convpool_from_many_threads_gives_identical_outputs():
    images = np.random.RandomState(0).rand(50, 16, 16).astype(np.float32)
    features = ConvPool(
        ConvFeatureExtractor(filters="gabor", n_filters=4, kernel_size=5, n_jobs=2),
        PoolTransformer(mode="avg"),
        batch_size=7,
    ).fit(images)
    expected = features.transform(images)
    start = threading.Barrier(N_THREADS)

    def work(_):
        start.wait()
        return [features.transform(images) for _ in range(CALLS_PER_THREAD)]

    with ThreadPoolExecutor(max_workers=N_THREADS) as executor:
        outcomes = [out for outs in executor.map(work, range(N_THREADS)) for out in outs]
    assert len(outcomes) == N_THREADS * CALLS_PER_THREAD
    for features_out in outcomes:
        np.testing.assert_array_equal(features_out, expected)


@pytest.mark.parametrize("preset", ["kmeans", "pca"])
def test_learned_banks_are_reproducible_and_follow_seed_and_data(digits, preset):
    X, _ = digits

    def bank(random_state, data=X):
        conv = ConvFeatureExtractor(
            filters=preset, image_shape=(8, 8), n_patches=2000, random_state=random_state
        )
        return conv.fit(data).filters_

    reference = bank(0)
    np.testing.assert_array_equal(bank(0), reference)
    np.testing.assert_array_equal(bank(np.random.RandomState(0)), reference)
    with threadpool_limits(limits=1):
        np.testing.assert_array_equal(bank(0), reference)
    assert not np.array_equal(bank(1), reference)
    assert not np.array_equal(bank(0, X[::-1]), reference)


def test_random_bank_is_reproducible_and_follows_the_seed():
    images = np.random.RandomState(0).rand(3, 9, 9)

    def bank(random_state):
        conv = ConvFeatureExtractor(filters="random", random_state=random_state)
        return conv.fit(images).filters_

    np.testing.assert_array_equal(bank(3), bank(np.random.RandomState(3)))
    assert not np.array_equal(bank(3), bank(4))


def test_a_shared_random_state_instance_moves_on_and_clone_keeps_it(digits):
    """scikit-learn's convention: a RandomState instance is consumed by each fit."""
    X, _ = digits
    state = np.random.RandomState(0)
    conv = ConvFeatureExtractor(filters="kmeans", image_shape=(8, 8), n_patches=2000,
                                random_state=state)  # fmt: skip
    first = conv.fit(X).filters_.copy()
    second = conv.fit(X).filters_
    assert not np.array_equal(first, second)
    assert clone(conv).random_state is not None


# Estimator-level cases: grey and colour, both algorithms (the 32x32x3 images with 9x9
# kernels pick the FFT in fit), a full 4-D bank, stride, one output position.
RNG = np.random.RandomState(30)
FEATURE_CASES = {
    "grey gemm": ((20, 20), {"filters": "gabor", "n_filters": 6, "kernel_size": 5}),
    "grey fft": ((20, 20), {"filters": "gabor", "n_filters": 4, "kernel_size": 11,
                            "method": "fft"}),
    "colour auto-fft": ((32, 32, 3), {"filters": "random", "n_filters": 8, "kernel_size": 9,
                                      "random_state": 0}),
    "colour gemm stride": ((16, 15, 3), {"filters": "edges", "stride": 2, "method": "gemm"}),
    "colour full bank": ((12, 12, 3), {"filters": RNG.randn(5, 3, 3, 3), "padding": "valid"}),
    "one position": ((5, 5, 3), {"filters": RNG.randn(4, 5, 5, 3), "padding": "valid"}),
    "kmeans contrast": ((14, 14), {"filters": "kmeans", "n_filters": 6, "kernel_size": 3,
                                   "n_patches": 500, "random_state": 0}),
}  # fmt: skip


@pytest.mark.reproducibility
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(FEATURE_CASES))
def test_features_of_an_image_do_not_depend_on_how_it_is_computed(case, dtype):
    """Bitwise, on any BLAS: one image at a time or many, batches of any size, n_jobs,
    ConvPool or Pipeline, dask blocks on the threaded scheduler."""
    image_shape, params = FEATURE_CASES[case]
    images = np.random.RandomState(31).rand(17, *image_shape).astype(dtype)
    conv = ConvFeatureExtractor(**params).fit(images)
    if case == "colour auto-fft":
        assert conv.method_ == "fft"
    pool_size = 2 if min(conv.output_shape_[:2]) >= 2 else None  # None: one position
    pool = PoolTransformer(mode="avg", pool_size=pool_size).fit(conv.transform(images[:1]))
    one_by_one = np.concatenate([pool.transform(conv.transform(image[None])) for image in images])
    pipeline = Pipeline([("conv", conv), ("pool", pool)])
    np.testing.assert_array_equal(pipeline.transform(images), one_by_one)
    threaded = clone(pipeline).set_params(conv__n_jobs=2, pool__n_jobs=2).fit(images)
    np.testing.assert_array_equal(threaded.transform(images), one_by_one)
    for batch_size in [1, 7, "auto"]:
        streamed = ConvPool(clone(conv), clone(pool), batch_size=batch_size).fit(images)
        np.testing.assert_array_equal(streamed.transform(images), one_by_one)
    da = pytest.importorskip("dask.array")
    import dask

    lazy = da.from_array(images, chunks=((5, 11, 1), *images.shape[1:]))
    blocks = lazy.map_blocks(
        pipeline.transform,
        dtype=dtype,
        drop_axis=list(range(2, images.ndim)),
        chunks=(lazy.chunks[0], (one_by_one.shape[1],)),
    )
    with dask.config.set(scheduler="threads", num_workers=4):
        np.testing.assert_array_equal(blocks.compute(), one_by_one)


def blas_settings():
    return [(info["filepath"], info["num_threads"]) for info in threadpool_info()]


def test_no_blas_setting_is_left_changed_by_any_mix_of_transforms(monkeypatch):
    """Sequential, concurrent (8 threads, n_jobs 1 and 2), failing and dask-threaded
    transforms leave every thread pool threadpoolctl sees as they found it; the first
    concurrent round already equals the sequential result, bitwise."""
    import scipy.linalg  # noqa: F401  (loads scipy's OpenBLAS, a second BLAS library)

    from skconv._engine import convolution as _convolve

    images = np.random.RandomState(32).rand(40, 18, 18).astype(np.float32)
    models = [
        make_pipeline_features(n_jobs=n_jobs, method=method).fit(images)
        for n_jobs in (None, 2)
        for method in ("gemm", "fft")
    ]
    # As in a fresh process: no thread holds threadpoolctl's control of OpenBLAS (a test that
    # limits BLAS from this thread and never releases it would hide the leak).
    clear = getattr(threadpoolctl.OpenBLASController, "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)
    before = blas_settings()
    if max(blas_threads()) < 2:
        pytest.skip("BLAS has a single thread here: a leaked limit could not show")
    expected = [model.transform(images) for model in models]
    assert blas_settings() == before
    start = threading.Barrier(N_THREADS)

    def work(thread):
        start.wait()
        model = models[thread % len(models)]
        return [model.transform(images[: 10 + thread]) for _ in range(CALLS_PER_THREAD)]

    with ThreadPoolExecutor(max_workers=N_THREADS) as executor:
        outcomes = list(executor.map(work, range(N_THREADS)))
    for thread, results in enumerate(outcomes):
        for features in results:  # the first round too
            np.testing.assert_array_equal(features, expected[thread % len(models)][: 10 + thread])
    assert blas_settings() == before

    def fail(*args):
        raise RuntimeError("failed inside the core")

    with monkeypatch.context() as patch:
        patch.setattr(_convolve, "_finish", fail)
        with pytest.raises(RuntimeError, match="inside the core"):
            models[1].transform(images)
        with ThreadPoolExecutor(max_workers=4) as executor:
            failures = [executor.submit(model.transform, images) for model in models]
        for future in failures:
            with pytest.raises(RuntimeError, match="inside the core"):
                future.result()
    assert blas_settings() == before

    da = pytest.importorskip("dask.array")
    import dask

    lazy = da.from_array(images, chunks=(7, 18, 18))
    blocks = lazy.map_blocks(
        models[1].transform,
        dtype=np.float32,
        drop_axis=[2],
        chunks=(lazy.chunks[0], (expected[1].shape[1],)),
    )
    with dask.config.set(scheduler="threads", num_workers=4):
        np.testing.assert_array_equal(blocks.compute(), expected[1])
    assert blas_settings() == before


def make_pipeline_features(n_jobs, method):
    return Pipeline(
        [
            ("conv", ConvFeatureExtractor(filters="gabor", n_filters=4, kernel_size=5,
                                          method=method, n_jobs=n_jobs)),
            ("pool", PoolTransformer(mode="avg", pool_size=3, n_jobs=n_jobs)),
        ]
    )  # fmt: skip
