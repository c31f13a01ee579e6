"""BatchedTransformer: batch-size independence, dtype, memory, subsets (its common checks are
in test_common)."""

import pickle
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.decomposition import PCA
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.kernel_approximation import Nystroem
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

import skconv
from skconv import BatchedTransformer, ConvFeatureExtractor, ConvPool, PoolTransformer
from skconv._base import SkconvVersionWarning


@pytest.fixture(scope="module")
def conv_pool_fits():
    """A ConvPool fitted directly, and the same fitted inside a BatchedTransformer: once for
    the module, as batch_size changes no fit."""
    images = np.random.RandomState(0).rand(150, 12, 12).astype(np.float32)
    conv_pool = ConvPool(
        ConvFeatureExtractor("kmeans", n_filters=4, kernel_size=3, n_patches=1000, random_state=0),
        PoolTransformer(3),
    )
    unbatched = clone(conv_pool).fit(images)
    return images, unbatched, BatchedTransformer(conv_pool).fit(images)


@pytest.mark.parametrize("batch_size", [1, 7, 64, 1000])
def test_row_wise_transformer_gives_the_unbatched_output_bitwise(conv_pool_fits, batch_size):
    images, unbatched, batched = conv_pool_fits
    batched.set_params(batch_size=batch_size)
    np.testing.assert_array_equal(batched.transform(images), unbatched.transform(images))


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
    one_batch_peak = _peak_bytes(lambda: kernel.transform(X[:batch_size]))
    batched_peak = _peak_bytes(lambda: batched.transform(X))
    # Unbatched, the kernel matrix and the result exist for all rows at once (plus sklearn's
    # float64 distance chunks): 32.0 MB. Batched, the output (16.0 MB, 20,000 x 200 float32)
    # and what one batch's transform takes on its own (1.78 MB, its result included):
    # measured 17.79 MB, 13 kB above their sum.
    assert unbatched_peak > 1.9 * output_bytes
    assert batched_peak < output_bytes + one_batch_peak + 2**16


def test_uint8_images_are_cast_a_batch_at_a_time():
    """The wrapped step casts what it is given: one batch of images, never the whole stack."""
    images = np.random.RandomState(0).randint(0, 256, size=(3000, 28, 28), dtype=np.uint8)
    conv_pool = ConvPool(ConvFeatureExtractor("tutorial"), PoolTransformer(4), batch_size=100)
    batch_size = 250
    batched = BatchedTransformer(conv_pool, batch_size=batch_size).fit(images[:batch_size])
    output_bytes = batched.transform(images[:1]).nbytes * len(images)
    one_batch_peak = _peak_bytes(lambda: batched.transformer_.transform(images[:batch_size]))
    batched_peak = _peak_bytes(lambda: batched.transform(images))
    # Output 1.76 MB (3,000 x 147 float32); one batch of 250 images 4.30 MB on its own (its
    # float32 cast, maps and features); measured 6.08 MB in all, 24 kB above their sum. A
    # cast of the whole stack to float32 would add 9.4 MB.
    assert batched_peak < output_bytes + one_batch_peak + 2**16


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


# --- the promises every skconv estimator keeps (issue 16) --------------------------------------


def test_pickles_record_the_skconv_version_and_warn_on_another():
    X = np.random.RandomState(0).rand(20, 3)
    fitted = BatchedTransformer(StandardScaler()).fit(X)
    state = pickle.loads(pickle.dumps(fitted)).__getstate__()
    assert state["_skconv_version"] == skconv.__version__

    state["_skconv_version"] = "0.0.1"
    loaded = BatchedTransformer.__new__(BatchedTransformer)
    with pytest.warns(SkconvVersionWarning, match=r"saved by skconv 0\.0\.1"):
        loaded.__setstate__(state)
    np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))


@pytest.mark.parametrize(
    "changed",
    [
        {"transformer__n_components": 3},
        {"max_fit_samples": 10},
        {"random_state": 1},
        {"transformer": StandardScaler()},
    ],
    ids=repr,
)
def test_a_parameter_set_after_fit_asks_for_a_refit(changed):
    X = np.random.RandomState(0).rand(40, 5)
    batched = BatchedTransformer(PCA(2), max_fit_samples=30, random_state=0).fit(X)
    batched.set_params(**changed)
    with pytest.raises(ValueError, match=r"changed since fit.*Refit"):
        batched.transform(X)
    assert batched.fit_transform(X).shape[0] == 40  # a refit clears it


def test_runtime_parameters_take_effect_without_a_refit():
    X = np.random.RandomState(0).rand(40, 5)
    batched = BatchedTransformer(Nystroem(n_components=8, random_state=0)).fit(X)
    expected = batched.transform(X)
    batched.set_params(batch_size=7, verbose=0, transformer__n_jobs=2)
    np.testing.assert_allclose(batched.transform(X), expected, rtol=1e-12)


def test_a_pipeline_inside_is_guarded_step_by_step():
    """A Pipeline's steps are a list of estimators: unchanged, they must not look changed."""
    X = np.random.RandomState(0).rand(40, 5)
    batched = BatchedTransformer(make_pipeline(StandardScaler(), PCA(2))).fit(X)
    assert batched.transform(X).shape == (40, 2)
    batched.set_params(transformer__pca__n_components=3)
    with pytest.raises(ValueError, match=r"'transformer__pca__n_components' changed since fit"):
        batched.transform(X)


@pytest.mark.parametrize(
    "X, error, message",
    [
        (np.zeros((4, 3), dtype="datetime64[s]"), TypeError, r"holds dates \(datetime64\)"),
        (np.zeros((4, 3), dtype="timedelta64[s]"), TypeError, r"holds durations"),
        (np.full((4, 3), "1.5"), TypeError, r"holds strings"),
        (np.full((4, 3), "a", dtype=object), TypeError, r"holds strings"),
        (np.zeros((4, 3), dtype=[("a", "f8")]), TypeError, r"holds structured records"),
        (np.ones((4, 3), dtype=complex), ValueError, r"Complex data not supported"),
    ],
    ids=["datetime64", "timedelta64", "strings", "object strings", "structured", "complex"],
)
def test_only_numbers_pass_at_fit_and_transform(X, error, message):
    identity = FunctionTransformer()
    with pytest.raises(error, match=message):
        BatchedTransformer(identity).fit(X)
    fitted = BatchedTransformer(identity).fit(np.ones((4, 3)))
    with pytest.raises(error, match=message):
        fitted.transform(X)


def test_numbers_held_as_objects_are_converted_as_scikit_learn_does():
    X = np.arange(12).reshape(4, 3).astype(object)
    out = BatchedTransformer(FunctionTransformer()).fit_transform(X)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, np.arange(12).reshape(4, 3))


class RecordingTransformer(TransformerMixin, BaseEstimator):
    """Remembers what its fit was given."""

    def fit(self, X, y=None, sample_weight=None, scale=None, per_feature=None):
        self.seen_ = {
            "X": X, "y": y, "sample_weight": sample_weight, "scale": scale,
            "per_feature": per_feature,
        }  # fmt: skip
        return self

    def transform(self, X):
        return X


def test_max_fit_samples_subsets_per_row_fit_params_with_the_rows():
    rng = np.random.RandomState(0)
    X = rng.rand(200, 4)
    y = np.arange(200)
    per_feature = np.arange(4.0)
    batched = BatchedTransformer(RecordingTransformer(), max_fit_samples=30, random_state=0)
    batched.fit(X, y, sample_weight=X[:, 0].copy(), scale=2.5, per_feature=per_feature)
    seen = batched.transformer_.seen_
    assert seen["X"].shape == (30, 4)
    np.testing.assert_array_equal(seen["X"], X[seen["y"]])  # labels kept with their rows
    np.testing.assert_array_equal(seen["sample_weight"], seen["X"][:, 0])  # weights too
    assert seen["scale"] == 2.5
    assert seen["per_feature"] is per_feature  # another length: passed as is


def test_sample_weight_with_max_fit_samples_fits_like_the_same_rows_unbatched():
    rng = np.random.RandomState(0)
    X, weights = rng.rand(200, 3), rng.rand(200)
    batched = BatchedTransformer(StandardScaler(), max_fit_samples=40, random_state=3)
    batched.fit(X, sample_weight=weights)
    rows = BatchedTransformer(RecordingTransformer(), max_fit_samples=40, random_state=3)
    rows = rows.fit(X, np.arange(200)).transformer_.seen_["y"]
    expected = StandardScaler().fit(X[rows], sample_weight=weights[rows])
    np.testing.assert_array_equal(batched.transformer_.mean_, expected.mean_)
    np.testing.assert_array_equal(batched.transformer_.scale_, expected.scale_)


def test_labels_of_another_length_are_refused():
    X = np.random.RandomState(0).rand(20, 3)
    with pytest.raises(ValueError, match=r"y has 19 rows but X has 20; pass one label"):
        BatchedTransformer(StandardScaler(), max_fit_samples=5).fit(X, np.arange(19))


def dtype_by_rows(X):
    """float32 for rows whose first value is 0, float64 (huge) otherwise: a transformer whose
    output dtype depends on the rows it sees."""
    if X[0, 0] == 0:
        return X.astype(np.float32)
    return X * 1e300


def test_a_later_batch_that_would_be_cast_lossily_is_refused():
    X = np.ones((10, 2))
    X[:5, 0] = 0
    batched = BatchedTransformer(FunctionTransformer(dtype_by_rows), batch_size=5).fit(X)
    with pytest.raises(
        TypeError,
        match=r"returned float64 for rows 5:10 but float32 for the first rows, and float64 "
        r"does not fit in float32 without loss",
    ):
        batched.transform(X)
    # All rows in one batch: the transformer's own answer for them, nothing to cast.
    np.testing.assert_array_equal(batched.set_params(batch_size=10).transform(X), dtype_by_rows(X))


def test_a_later_batch_that_casts_exactly_is_written():
    X = np.ones((10, 2))
    X[5:, 0] = 0  # float64 first, then float32: exact
    out = BatchedTransformer(FunctionTransformer(dtype_by_rows), batch_size=5).fit_transform(X)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[5:], X[5:])
    np.testing.assert_array_equal(out[:5], X[:5] * 1e300)


def int64_beyond_float64(X):
    if X[0, 0] == 0:
        return X.astype(np.float64)
    return np.full(X.shape, 2**53 + 1, dtype=np.int64)


def test_integers_beyond_the_floats_exact_range_are_refused():
    X = np.ones((4, 1))
    X[:2] = 0
    batched = BatchedTransformer(FunctionTransformer(int64_beyond_float64), batch_size=2)
    with pytest.raises(TypeError, match="int64 does not fit in float64 without loss"):
        batched.fit_transform(X)


def changing_width(X):
    return X if X[0, 0] == 0 else X[:, :1]


def test_a_later_batch_of_another_row_shape_is_refused():
    X = np.ones((4, 2))
    X[:2] = 0
    batched = BatchedTransformer(FunctionTransformer(changing_width), batch_size=2).fit(X)
    with pytest.raises(ValueError, match=r"rows of shape \(1,\) for rows 2:4 but \(2,\)"):
        batched.transform(X)


class DuckTransformer:
    """fit, transform and get_params, but no scikit-learn base class (no __sklearn_tags__)."""

    def __init__(self, factor=2.0):
        self.factor = factor

    def get_params(self, deep=True):
        return {"factor": self.factor}

    def set_params(self, **params):
        self.factor = params.get("factor", self.factor)
        return self

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X) * self.factor


def test_a_duck_typed_transformer_works():
    X = np.random.RandomState(0).rand(30, 3)
    batched = BatchedTransformer(DuckTransformer(), batch_size=7).fit(X)
    np.testing.assert_array_equal(batched.transform(X), X * 2.0)
    np.testing.assert_array_equal(batched.transform(X), X * 2.0)  # the guard stays quiet
    batched.set_params(transformer__factor=3.0)
    with pytest.raises(ValueError, match="'transformer__factor' changed since fit"):
        batched.transform(X)


class NoGetParams:
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X


def test_a_transformer_without_get_params_is_refused_up_front():
    with pytest.raises(InvalidParameterError, match=r"'transformer'.*'get_params'"):
        BatchedTransformer(NoGetParams()).fit(np.ones((3, 2)))


def test_one_image_given_alone_gets_a_hint():
    images = np.random.RandomState(0).rand(5, 28, 28)
    batched = BatchedTransformer(FunctionTransformer()).fit(images.reshape(5, -1))
    with pytest.raises(ValueError, match=r"X has 28 features.*expecting 784.*X\[np\.newaxis\]"):
        batched.transform(images[0])
    assert batched.transform(images[0][np.newaxis]).shape == (1, 28, 28)
    with pytest.raises(ValueError, match=r"expecting 784 features as input\.$"):
        batched.transform(images[:, :10])  # not one image: no hint


def test_numpy_work_never_imports_dask():
    """dask is an optional extra: BatchedTransformer looks for it only in sys.modules."""
    code = (
        "import sys, numpy as np\n"
        "from sklearn.preprocessing import StandardScaler\n"
        "from skconv import BatchedTransformer\n"
        "X = np.random.rand(20, 3)\n"
        "BatchedTransformer(StandardScaler(), max_fit_samples=5).fit(X).transform(X)\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'dask'))\n"
    )
    root = Path(__file__).resolve().parents[1]  # python -c imports skconv from its cwd
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert done.stdout.strip() == "[]"
