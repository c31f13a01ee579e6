"""BatchedTransformer: batch-size independence, dtype, memory, subsets (its common checks are
in test_common)."""

import tracemalloc

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.kernel_approximation import Nystroem
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from skconv import ConvFeatureExtractor, ConvPool, PoolTransformer
from skconv._batched import BatchedTransformer


@pytest.mark.parametrize("batch_size", [1, 7, 64, 1000])
def test_row_wise_transformer_gives_the_unbatched_output_bitwise(batch_size):
    images = np.random.RandomState(0).rand(150, 12, 12).astype(np.float32)
    conv_pool = ConvPool(
        ConvFeatureExtractor("kmeans", n_filters=4, random_state=0), PoolTransformer(3)
    )
    expected = clone(conv_pool).fit(images).transform(images)
    batched = BatchedTransformer(conv_pool, batch_size=batch_size).fit(images)
    np.testing.assert_array_equal(batched.transform(images), expected)


def test_elementwise_transformer_is_bitwise_equal_for_every_batch_size():
    X = np.random.RandomState(0).randn(103, 9)
    expected = StandardScaler().fit(X).transform(X)
    for batch_size in (1, 10, 103, 500):
        out = BatchedTransformer(StandardScaler(), batch_size=batch_size).fit_transform(X)
        np.testing.assert_array_equal(out, expected)


def test_nystroem_matches_unbatched_and_keeps_float32():
    X = np.random.RandomState(0).rand(500, 10).astype(np.float32)
    kernel = Nystroem(n_components=40, random_state=0)
    batched = BatchedTransformer(kernel, batch_size=64).fit_transform(X)
    unbatched = clone(kernel).fit(X).transform(X)
    assert batched.dtype == np.float32
    # Only the rows given to one matrix product change, so BLAS may round differently: bound
    # the difference by float32's epsilon times the magnitude of the products summed,
    # |K| @ |normalization|. Measured 1.5 epsilons (OpenBLAS Haswell kernels).
    fitted = clone(kernel).fit(X)
    kernel_rows = rbf_kernel(X.astype(np.float64), fitted.components_.astype(np.float64))
    scale = kernel_rows @ np.abs(fitted.normalization_.astype(np.float64)).T
    assert np.all(np.abs(batched - unbatched) <= 3 * np.finfo(np.float32).eps * scale)


def test_output_dtype_is_the_transformers_own():
    identity = FunctionTransformer()
    X = np.arange(60, dtype=np.uint8).reshape(20, 3)
    out = BatchedTransformer(identity, batch_size=6).fit_transform(X)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, X)


def test_image_stacks_pass_through_as_rows():
    images = np.random.RandomState(0).rand(30, 8, 8)
    conv = ConvFeatureExtractor("tutorial")
    maps = BatchedTransformer(conv, batch_size=4).fit_transform(images)
    np.testing.assert_array_equal(maps, clone(conv).fit(images).transform(images))
    assert maps.shape == (30, 8, 8, 3)


def _peak_bytes(function):
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_transform_memory_is_the_output_plus_one_batch():
    X = np.random.RandomState(0).rand(20_000, 30).astype(np.float32)
    n_components, batch_size = 200, 500
    kernel = Nystroem(n_components=n_components, random_state=0).fit(X)
    batched = BatchedTransformer(kernel, batch_size=batch_size).fit(X)
    output_bytes = len(X) * n_components * 4

    unbatched_peak = _peak_bytes(lambda: kernel.transform(X))
    batched_peak = _peak_bytes(lambda: batched.transform(X))
    # Unbatched, the kernel matrix and the result exist for all rows at once (plus sklearn's
    # float64 distance chunks); batched, only the output does, and one batch's temporaries:
    # measured 18.2 MB for a 16.0 MB output (20,000 x 200 float32), against 32.0 MB unbatched.
    assert unbatched_peak > 1.9 * output_bytes
    assert batched_peak < output_bytes + 3 * 2**20


def test_max_fit_samples_fits_on_a_subset_of_rows_and_labels():
    rng = np.random.RandomState(0)
    X = rng.randn(200, 6)
    y = np.arange(200) % 2
    X[y == 1, 3] += 5.0  # only feature 3 tells the classes apart
    batched = BatchedTransformer(
        SelectKBest(f_classif, k=1), max_fit_samples=50, random_state=0
    ).fit(X, y)
    np.testing.assert_array_equal(batched.transformer_.get_support(indices=True), [3])

    scaler = BatchedTransformer(StandardScaler(), max_fit_samples=50, random_state=1).fit(X)
    assert scaler.transformer_.n_samples_seen_ == 50
    assert not np.allclose(scaler.transformer_.mean_, X.mean(axis=0))
    assert scaler.transform(X).shape == X.shape


def test_max_fit_samples_above_the_row_count_fits_on_all_rows():
    X = np.random.RandomState(0).randn(40, 3)
    batched = BatchedTransformer(StandardScaler(), max_fit_samples=1000).fit(X)
    np.testing.assert_array_equal(batched.transformer_.mean_, StandardScaler().fit(X).mean_)


def test_input_is_not_modified():
    X = np.random.RandomState(0).rand(50, 4)
    original = X.copy()
    BatchedTransformer(StandardScaler(), batch_size=8, max_fit_samples=20).fit_transform(X)
    np.testing.assert_array_equal(X, original)


def test_sparse_output_is_a_clear_type_error():
    X = np.arange(12).reshape(6, 2) % 3
    batched = BatchedTransformer(OneHotEncoder(), batch_size=2).fit(X)
    with pytest.raises(TypeError, match=r"returns dense arrays.*OneHotEncoder"):
        batched.transform(X)


def test_verbose_reports_progress_on_stdout(capsys):
    X = np.random.RandomState(0).rand(100, 3)
    BatchedTransformer(StandardScaler(), batch_size=10, verbose=1).fit_transform(X)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 10
    assert lines[0].startswith("[BatchedTransformer] batch 1/10, 10/100 rows, ")
    assert lines[-1].startswith("[BatchedTransformer] batch 10/10, 100/100 rows, ")
    assert "rows/s" in lines[0]
    assert lines[0].endswith(" s left")


def test_silent_by_default(capsys):
    X = np.random.RandomState(0).rand(100, 3)
    BatchedTransformer(StandardScaler(), batch_size=10).fit_transform(X)
    assert capsys.readouterr().err == ""
