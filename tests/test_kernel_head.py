"""NystroemRidgeClassifier: sklearn's Nystroem + RidgeClassifier model, in bounded memory."""

import re
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
    # Measured: 4.0e-11 at most over these four cases (SkylakeX kernels). The normal
    # equations are summed on the kernel rows and normalised afterwards (Cholesky here, SVD
    # there), so float64 rounding of the sums grows with the landmark kernel's condition
    # number (4e4 here); the scores are about 0.5.
    np.testing.assert_allclose(
        model.decision_function(X), reference.decision_function(kernel_map), rtol=0, atol=8e-11
    )
    np.testing.assert_array_equal(model.predict(X), reference.predict(kernel_map))


@pytest.mark.parametrize("n_classes", [2, 4])
def test_float32_model_stays_within_float32_rounding_of_the_reference(n_classes):
    X, y = _data(2000, n_classes)
    params = {"gamma": 0.5, "n_components": 200, "random_state": 0}
    model = NystroemRidgeClassifier(alpha=1e-3, batch_size=300, **params).fit(X, y)
    kernel_map = Nystroem(**params).fit(X).transform(X)
    reference = RidgeClassifier(alpha=1e-3).fit(kernel_map, y)
    # Measured 2.0e-4 (OpenBLAS SkylakeX kernels): sklearn solves in float32, this head in
    # float64, from float32 kernel rows. (The previous implementation: 2.0e-4 SkylakeX,
    # 2.1e-4 Haswell.)
    _assert_within(model, X, reference.decision_function(kernel_map), tolerance=3e-4)


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_float32_model_is_the_float64_model_within_float32_rounding(n_classes, fit_intercept):
    X, y = _data(2000, n_classes)
    params = {"gamma": 0.5, "n_components": 200, "alpha": 1e-3, "random_state": 0}
    params.update(fit_intercept=fit_intercept, batch_size=300)
    model32 = NystroemRidgeClassifier(**params).fit(X, y)
    model64 = NystroemRidgeClassifier(**params).fit(X.astype(np.float64), y)
    # Measured 1.1e-4 at most over these four cases (SkylakeX); the previous implementation
    # 1.4e-4. The kernel rows are float32, their sums float64.
    _assert_within(model32, X, model64.decision_function(X.astype(np.float64)), tolerance=2e-4)


def test_the_fitted_attributes_say_what_the_scores_are():
    from sklearn.metrics.pairwise import rbf_kernel

    X, y = _data64(600, 3)
    model = NystroemRidgeClassifier(gamma=0.5, n_components=80, random_state=0).fit(X, y)
    kernel = rbf_kernel(X, model.components_, gamma=model.gamma_)
    landmark_kernel = rbf_kernel(model.components_, gamma=model.gamma_)
    N = model.normalization_
    # Measured 4.1e-14 (the landmark kernel's condition number is 5e3).
    np.testing.assert_allclose(N @ N.T @ landmark_kernel, np.eye(80), rtol=0, atol=2e-13)
    scores = model.decision_function(X)
    # Measured 8.1e-15 and 6.2e-15.
    np.testing.assert_allclose(kernel @ N @ model.coef_.T + model.intercept_, scores, atol=1e-12)
    np.testing.assert_allclose(
        kernel @ model.landmark_coef_ + model.intercept_, scores, atol=1e-12
    )
    assert np.allclose(N, np.triu(N), rtol=0, atol=0)  # Cholesky: L^-T is upper triangular


def test_repeated_landmarks_fall_back_to_the_clipped_eigendecomposition():
    # Each row four times: the landmark kernel is singular, its Cholesky factorisation fails.
    X, y = _data64(150, 3)
    X, y = np.repeat(X, 4, axis=0), np.repeat(y, 4)
    params = {"gamma": 0.5, "n_components": 200, "random_state": 0}
    model = NystroemRidgeClassifier(alpha=1e-2, batch_size=128, **params).fit(X, y)
    kernel_map = Nystroem(**params).fit(X).transform(X)
    reference = RidgeClassifier(alpha=1e-2).fit(kernel_map, y)
    N = model.normalization_  # symmetric, U S^-1/2 U^T, not triangular
    np.testing.assert_allclose(N, N.T, rtol=0, atol=1e-12 * np.abs(N).max())
    # Measured 6.5e-7: eigenvalues clipped at 1e-12, as sklearn clips its singular values;
    # float64 rounding in the clipped directions is multiplied by up to 1e6 in both.
    np.testing.assert_allclose(
        model.decision_function(X), reference.decision_function(kernel_map), rtol=0, atol=1.5e-6
    )


def test_either_square_root_gives_the_same_model(monkeypatch):
    import skconv._kernel_head

    X, y = _data64(1000, 3)
    params = {"gamma": 0.5, "n_components": 100, "alpha": 1e-3, "random_state": 0}
    cholesky = NystroemRidgeClassifier(**params).fit(X, y)
    monkeypatch.setattr(skconv._kernel_head, "CHOLESKY_PIVOT_FLOOR", np.inf)
    eigen = NystroemRidgeClassifier(**params).fit(X, y)
    assert not np.allclose(cholesky.normalization_, eigen.normalization_)
    # Measured 2.6e-12.
    np.testing.assert_allclose(
        cholesky.decision_function(X), eigen.decision_function(X), rtol=0, atol=2e-11
    )


def test_float32_rows_far_from_the_origin_keep_their_kernel():
    # Distances are taken between rows centred on the landmarks' mean: with an offset of 1e4
    # on every feature the float32 model stays the float64 model of the same rows (without
    # centring, |x|^2 ~ 1e9 would leave float32 no digit of distances ~ 1).
    X, y = _data(1000, 3)
    far = X + np.float32(1e4)
    params = {"gamma": 0.5, "n_components": 100, "alpha": 1e-3, "random_state": 0}
    model32 = NystroemRidgeClassifier(**params).fit(far, y)
    model64 = NystroemRidgeClassifier(**params).fit(far.astype(np.float64), y)
    # Measured 4.5e-4 (1.7e-5 at the origin); 1.5 with distances taken on uncentred rows.
    _assert_within(model32, far, model64.decision_function(far.astype(np.float64)), tolerance=8e-4)


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


# --- the promises every skconv estimator keeps ------------------------------------------------


def test_pickles_record_the_skconv_version():
    import pickle

    import skconv
    from skconv._base import SkconvVersionWarning

    X, y = _data(100, 2)
    model = NystroemRidgeClassifier(n_components=10, random_state=0).fit(X, y)
    assert model.__getstate__()["_skconv_version"] == skconv.__version__
    state = model.__getstate__()
    state["_skconv_version"] = "0.0.1"
    with pytest.warns(SkconvVersionWarning, match="saved by skconv 0.0.1"):
        NystroemRidgeClassifier().__setstate__(state)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.decision_function(X), model.decision_function(X))


@pytest.mark.parametrize(
    "changed",
    [
        {"gamma": 5.0},
        {"gamma": "scale"},
        {"n_components": 20},
        {"alpha": 2.0},
        {"fit_intercept": False},
        {"random_state": 1},
    ],
    ids=repr,
)
def test_a_parameter_changed_after_fit_is_refused_not_mixed(changed):
    X, y = _data(100, 2)
    model = NystroemRidgeClassifier(gamma=0.5, n_components=10, random_state=0).fit(X, y)
    model.set_params(**changed)
    name = next(iter(changed))
    with pytest.raises(ValueError, match=f"'{name}' changed since fit.*Refit"):
        model.predict(X)
    with pytest.raises(ValueError, match=f"'{name}' changed since fit"):
        model.decision_function(X)


def test_runtime_parameters_take_effect_without_a_refit():
    X, y = _data(100, 2)
    model = NystroemRidgeClassifier(n_components=10, random_state=0).fit(X, y)
    before = model.decision_function(X)
    model.set_params(batch_size=7, verbose=0)
    np.testing.assert_allclose(model.decision_function(X), before, rtol=0, atol=1e-6)


NON_NUMBERS = {
    "datetime64[s]": "dates (datetime64)",
    "timedelta64[s]": "durations (timedelta64)",
    "<U3": "strings",
    "S3": "bytes",
    "object-strings": "strings",
    "structured": "structured records",
}


def _non_numbers(kind, X):
    if kind == "object-strings":
        return X.astype(str).astype(object)
    if kind == "structured":
        return np.zeros(X.shape, dtype=[("a", "f4"), ("b", "i4")])
    return X.astype(np.int64).astype(kind) if kind.endswith("[s]") else X.astype(kind)


@pytest.mark.parametrize("kind", NON_NUMBERS)
def test_non_numbers_are_refused_at_fit_and_predict(kind):
    X, y = _data(50, 2)
    bad = _non_numbers(kind, X * 100)
    with pytest.raises(
        TypeError,
        match=rf"X must hold real numbers, but it holds "
        rf"{re.escape(NON_NUMBERS[kind])}",
    ):
        NystroemRidgeClassifier(n_components=10).fit(bad, y)
    model = NystroemRidgeClassifier(n_components=10).fit(X, y)
    with pytest.raises(TypeError, match="X must hold real numbers"):
        model.predict(bad)
    with pytest.raises(TypeError, match="X must hold real numbers"):
        model.decision_function(bad)


def test_complex_X_is_a_value_error():
    X, y = _data(50, 2)
    with pytest.raises(ValueError, match="Complex data not supported"):
        NystroemRidgeClassifier(n_components=10).fit(X.astype(complex), y)


def test_labels_may_be_strings_as_in_scikit_learn():
    X, y = _data(100, 3)
    labels = np.array(["coat", "dress", "shirt"])[y]
    model = NystroemRidgeClassifier(n_components=10, random_state=0).fit(X, labels)
    assert set(model.predict(X)) <= set(labels)
    np.testing.assert_array_equal(model.classes_, ["coat", "dress", "shirt"])


def test_one_class_message_prints_the_label_plainly():
    X, _ = _data(50, 2)
    with pytest.raises(ValueError, match=r"got 1 class: 0\.$"):
        NystroemRidgeClassifier(n_components=10).fit(X, np.zeros(50, dtype=np.int64))
    with pytest.raises(ValueError, match=r"got 1 class: 'coat'\.$"):
        NystroemRidgeClassifier(n_components=10).fit(X, np.full(50, "coat"))


def test_a_singular_system_names_alpha_and_the_fix():
    X, y = _data(10, 2)
    X, y = np.repeat(X, 4, axis=0), np.repeat(y, 4)  # each row four times
    model = NystroemRidgeClassifier(alpha=0.0, n_components=20, random_state=0)
    with pytest.raises(ValueError, match=r"singular at alpha=0\.0.*Use a positive alpha"):
        model.fit(X, y)
    assert not hasattr(model, "coef_")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_overflowing_or_underflowing_kernel_names_gamma(dtype):
    X, y = _data(40, 2)
    with pytest.raises(
        ValueError,
        match=r"gamma=1e\+300 (overflows|makes the RBF kernel "
        r"underflow).*use a smaller gamma",
    ):
        NystroemRidgeClassifier(gamma=1e300, n_components=20).fit(X.astype(dtype), y)


# --- gamma from the data ----------------------------------------------------------------------


def test_gamma_scale_is_one_over_the_mean_squared_distance_of_the_sampled_rows():
    from sklearn.metrics.pairwise import euclidean_distances

    X, y = _data64(3000, 2)
    X[:, 0] *= 10  # features of different scales
    model = NystroemRidgeClassifier(gamma="scale", n_components=50, random_state=0).fit(X, y)
    permutation = np.random.RandomState(0).permutation(len(X))
    sample = X[permutation[:1000]]
    squared = euclidean_distances(sample, squared=True)
    mean_distinct = squared.sum() / (len(sample) * (len(sample) - 1))
    # Measured 3e-15 relative: the variance formula against the distances summed.
    assert model.gamma_ == pytest.approx(1 / mean_distinct, rel=1e-12)
    np.testing.assert_array_equal(model.component_indices_, permutation[:50])


def test_gamma_scale_uses_the_landmarks_when_there_are_more_than_1000():
    X, y = _data64(1500, 2)
    model = NystroemRidgeClassifier(gamma="scale", n_components=1200, random_state=0).fit(X, y)
    sample = X[model.component_indices_]
    expected = 1 / (2 * 1200 / 1199 * sample.var(axis=0).sum())
    assert model.gamma_ == pytest.approx(expected, rel=1e-12)


def test_gamma_scale_does_not_depend_on_batch_size():
    X, y = _data(2000, 2)
    gammas = {
        NystroemRidgeClassifier(gamma="scale", n_components=20, batch_size=b, random_state=3)
        .fit(X, y)
        .gamma_
        for b in (7, 100, 5000)
    }
    assert len(gammas) == 1


def test_gamma_numbers_and_none_are_used_as_given():
    X, y = _data(100, 2)
    assert NystroemRidgeClassifier(gamma=0.25, n_components=5).fit(X, y).gamma_ == 0.25
    assert NystroemRidgeClassifier(n_components=5).fit(X, y).gamma_ == 1 / X.shape[1]


def test_gamma_scale_on_identical_rows_is_a_clear_error():
    X, y = np.ones((20, 3)), np.arange(20) % 2
    with pytest.raises(ValueError, match="gamma='scale' needs rows that differ"):
        NystroemRidgeClassifier(gamma="scale", n_components=5).fit(X, y)
