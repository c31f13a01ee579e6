"""What users must be able to do: pipelines on digits, grid search, persistence."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skconv import ConvFeatureExtractor, PoolTransformer


@pytest.fixture(scope="module")
def digits():
    return load_digits(return_X_y=True)


def make_pipeline():
    return Pipeline(
        [
            ("conv", ConvFeatureExtractor(filters="tutorial", image_shape=(8, 8))),
            ("pool", PoolTransformer()),
            ("clf", LogisticRegression(max_iter=1000)),
        ]
    )


def test_pipeline_fits_digits_as_shipped(digits):
    X, y = digits
    pipe = make_pipeline().fit(X[:1000], y[:1000])
    assert pipe.named_steps["pool"].n_features_in_ == 8 * 8 * 3
    # Measured 0.866 (the tutorial bank with plain logistic regression); chance is 0.1.
    assert pipe.score(X[1000:], y[1000:]) > 0.85


def test_grid_search_over_every_axis_scores_alike_in_any_n_jobs(digits):
    """The one grid search on digits: banks (presets and arrays), stride, padding, pooling
    mode and size are searchable, and every candidate scores the same with n_jobs 1 and 2."""
    X, y = digits
    rng = np.random.RandomState(0)
    # One axis or two at a time: each value is searched, without the full product.
    grid = [
        {"conv__filters": ["tutorial", "edges", rng.randn(2, 5, 5), rng.randn(4, 2, 3)]},
        {"conv__stride": [1, 2], "conv__padding": ["valid", "same"]},
        {"pool__mode": ["max", "avg"], "pool__pool_size": [2, None]},
    ]
    # Scaled features: the global-pooling candidates give a few large features, on which an
    # unscaled logistic regression does not converge.
    pipe = make_pipeline()
    pipe.steps.insert(2, ("scale", StandardScaler()))
    search = GridSearchCV(pipe, grid, cv=2, error_score="raise")
    sequential = search.fit(X[:300], y[:300])
    parallel = clone(search).set_params(n_jobs=2).fit(X[:300], y[:300])
    scores = sequential.cv_results_["mean_test_score"]
    assert len(scores) == 4 + 4 + 4
    np.testing.assert_array_equal(parallel.cv_results_["mean_test_score"], scores)
    assert sequential.best_score_ > 0.87  # measured 0.883


def test_nested_parameters(digits):
    pipe = make_pipeline()
    pipe.set_params(conv__filters="random", conv__n_filters=4, conv__random_state=3)
    assert pipe.get_params()["conv__n_filters"] == 4
    copy = clone(pipe)
    assert copy.get_params()["conv__random_state"] == 3
