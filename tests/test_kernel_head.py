"""NystroemRidgeClassifier: sklearn's Nystroem + RidgeClassifier model, in bounded memory."""

import tracemalloc

import numpy as np
import pytest
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import RidgeClassifier

from skconv._kernel_head import NystroemRidgeClassifier


def _data(n_samples, n_classes, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.rand(n_samples, 10).astype(np.float32)
    y = (4 * X[:, 0] + 3 * X[:, 1]).astype(int) % n_classes
    return X, y


def _data64(n_samples, n_classes):
    X, y = _data(n_samples, n_classes)
    return X.astype(np.float64), y


def _assert_within(model, X, reference_scores, *, tolerance):
    """The model's scores are within ``tolerance`` of the reference's, and its predictions
    equal the reference's wherever the reference's top two scores are further apart than
    that: only a sample on a decision boundary may flip."""
    np.testing.assert_allclose(
        model.decision_function(X), reference_scores, rtol=0, atol=tolerance
    )
    predicted, reference_classes = model.predict(X), model.classes_
    if reference_scores.ndim == 1:
        margin = 2 * np.abs(reference_scores)
        expected = reference_classes[(reference_scores > 0).astype(int)]
    else:
        top_two = np.sort(reference_scores, axis=1)[:, -2:]
        margin = top_two[:, 1] - top_two[:, 0]
        expected = reference_classes[reference_scores.argmax(axis=1)]
    decided = margin > 2 * tolerance
    assert decided.mean() > 0.99
    np.testing.assert_array_equal(predicted[decided], expected[decided])


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_same_model_as_nystroem_and_ridge(n_classes, fit_intercept):
    # float64, so that the comparison is of the models and not of float32 rounding.
    X, y = _data64(2000, n_classes)
    params = {"gamma": 0.5, "n_components": 200, "random_state": 0}
    model = NystroemRidgeClassifier(
        alpha=1e-3, fit_intercept=fit_intercept, batch_size=300, **params
    ).fit(X, y)
    kernel = Nystroem(**params).fit(X)
    kernel_map = kernel.transform(X)
    reference = RidgeClassifier(alpha=1e-3, fit_intercept=fit_intercept).fit(kernel_map, y)
    np.testing.assert_array_equal(model.components_, kernel.components_)
    np.testing.assert_array_equal(model.component_indices_, kernel.component_indices_)
    np.testing.assert_array_equal(model.classes_, reference.classes_)
    # Measured: 4.8e-13 at most over these four cases (the eigendecomposition here, the SVD
    # there, and the normal equations instead of sklearn's solver).
    np.testing.assert_allclose(
        model.decision_function(X), reference.decision_function(kernel_map), rtol=0, atol=5e-12
    )
    np.testing.assert_array_equal(model.predict(X), reference.predict(kernel_map))


@pytest.mark.parametrize("n_classes", [2, 4])
def test_float32_model_stays_within_float32_rounding_of_the_reference(n_classes):
    X, y = _data(2000, n_classes)
    params = {"gamma": 0.5, "n_components": 200, "random_state": 0}
    model = NystroemRidgeClassifier(alpha=1e-3, batch_size=300, **params).fit(X, y)
    kernel_map = Nystroem(**params).fit(X).transform(X)
    reference = RidgeClassifier(alpha=1e-3).fit(kernel_map, y)
    # Measured 2.0e-4 (OpenBLAS SkylakeX kernels) and 2.1e-4 (Haswell kernels): sklearn
    # solves in float32, this head in float64, from float32 kernel rows.
    _assert_within(model, X, reference.decision_function(kernel_map), tolerance=3e-4)


def test_batch_size_does_not_change_the_model():
    X, y = _data64(1000, 3)
    small = NystroemRidgeClassifier(n_components=100, batch_size=64, random_state=0).fit(X, y)
    large = NystroemRidgeClassifier(n_components=100, batch_size=5000, random_state=0).fit(X, y)
    # Measured 2.8e-14: the normal equations summed in another order.
    np.testing.assert_allclose(
        small.decision_function(X), large.decision_function(X), rtol=0, atol=1e-12
    )
    np.testing.assert_array_equal(small.predict(X), large.predict(X))


def test_batch_size_changes_float32_scores_only_by_rounding():
    X, y = _data(1000, 3)
    small = NystroemRidgeClassifier(n_components=100, batch_size=64, random_state=0).fit(X, y)
    large = NystroemRidgeClassifier(n_components=100, batch_size=5000, random_state=0).fit(X, y)
    # Measured 1.3e-5 (SkylakeX kernels) and 4.4e-5 (Haswell kernels): the kernel rows'
    # products take another row count, which BLAS may round differently.
    _assert_within(small, X, large.decision_function(X), tolerance=6e-5)


def test_float32_kept_and_float64_kept():
    X, y = _data(300, 3)
    model32 = NystroemRidgeClassifier(n_components=50, random_state=0).fit(X, y)
    model64 = NystroemRidgeClassifier(n_components=50, random_state=0).fit(X.astype(float), y)
    assert model32.coef_.dtype == np.float32
    assert model32.decision_function(X).dtype == np.float32
    assert model64.decision_function(X).dtype == np.float64


def _fit_peak_bytes(n_samples, n_components=200, batch_size=500):
    X, y = _data(n_samples, 3)
    model = NystroemRidgeClassifier(
        n_components=n_components, batch_size=batch_size, random_state=0
    )
    tracemalloc.start()
    try:
        model.fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def test_fit_memory_does_not_grow_with_n_samples():
    n_components, batch_size = 200, 500
    small, large = _fit_peak_bytes(2_000), _fit_peak_bytes(20_000)
    targets = 20_000 * 3 * 8  # the {-1, 1} encoded y, n_samples x 3 int64
    # Measured: the 10x more rows cost 500 kB, the targets and 20 kB more.
    assert large - small < targets + 100_000
    # Measured 2.8 MB: one batch's kernel rows (float32, then float64), the float64 normal
    # equations and their solve, the targets; the 20,000 x 200 kernel map alone is 16 MB.
    batch_and_equations = batch_size * n_components * 12 + 2 * n_components**2 * 8
    assert large < 1.5 * (batch_and_equations + targets)


def test_one_class_is_a_clear_error():
    X, _ = _data(50, 2)
    with pytest.raises(ValueError, match="at least 2 classes"):
        NystroemRidgeClassifier(n_components=10).fit(X, np.zeros(50))


def test_more_components_than_samples_warns_and_uses_all():
    X, y = _data(30, 2)
    with pytest.warns(UserWarning, match="n_components=50 is larger than n_samples=30"):
        model = NystroemRidgeClassifier(n_components=50, random_state=0).fit(X, y)
    assert model.components_.shape == (30, 10)


def test_input_is_not_modified():
    X, y = _data(300, 3)
    X_original, y_original = X.copy(), y.copy()
    NystroemRidgeClassifier(n_components=50, random_state=0).fit(X, y).predict(X)
    np.testing.assert_array_equal(X, X_original)
    np.testing.assert_array_equal(y, y_original)


def test_verbose_reports_the_fit_batches(capsys):
    X, y = _data(300, 3)
    NystroemRidgeClassifier(n_components=20, batch_size=100, verbose=2).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(",")[0] for line in lines] == [
        f"[NystroemRidgeClassifier] batch {batch}/3" for batch in (1, 2, 3)
    ]
    assert lines[-1].split(", ")[1] == "300/300 rows"
    assert lines[-1].endswith(" s left")


def test_silent_by_default(capsys):
    X, y = _data(300, 3)
    NystroemRidgeClassifier(n_components=20, batch_size=100).fit(X, y)
    assert capsys.readouterr().out == ""
