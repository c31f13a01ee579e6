"""PoolTransformer: layouts, windows, flattening, names and bad input."""

import numpy as np
import pytest
from references import reference_pool

from skconv import PoolTransformer


@pytest.fixture
def maps():
    return np.random.RandomState(0).randn(4, 6, 5, 3)


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize(
    "pool_size, stride, window, step",
    [(2, None, (2, 2), (2, 2)), (3, 1, (3, 3), (1, 1)), ((2, 3), (1, 2), (2, 3), (1, 2))],
)
def test_pooling_and_flattening_match_loops(maps, mode, pool_size, stride, window, step):
    pool = PoolTransformer(pool_size=pool_size, stride=stride, mode=mode)
    features = pool.fit_transform(maps)
    expected = reference_pool(maps, window, step, mode)
    np.testing.assert_allclose(features, expected.reshape(len(maps), -1))
    assert pool.output_shape_ == expected.shape[1:]
    unflat = PoolTransformer(pool_size=pool_size, stride=stride, mode=mode, flatten=False)
    np.testing.assert_allclose(unflat.fit_transform(maps), expected)


def test_global_pooling(maps):
    features = PoolTransformer(pool_size=None, mode="avg").fit_transform(maps)
    np.testing.assert_allclose(features, maps.mean(axis=(1, 2)))


def test_grid_pooling_gives_a_fixed_size(maps):
    pool = PoolTransformer(grid=(2, 2))
    assert pool.fit_transform(maps).shape == (4, 2 * 2 * 3)
    bigger = np.random.RandomState(1).randn(2, 11, 9, 3)
    assert PoolTransformer(grid=(2, 2)).fit_transform(bigger).shape == (2, 12)


def test_layouts_agree(maps):
    grey = maps[..., 0]
    from_stack = PoolTransformer().fit_transform(grey)
    from_flat = PoolTransformer(image_shape=(6, 5)).fit_transform(grey.reshape(4, -1))
    np.testing.assert_array_equal(from_stack, from_flat)
    pool = PoolTransformer(image_shape=(6, 5, 3)).fit(maps.reshape(4, -1))
    np.testing.assert_array_equal(pool.transform(maps), pool.transform(maps.reshape(4, -1)))
    assert pool.n_features_in_ == 90


def test_two_dimensional_x_without_image_shape_pools_along_the_row():
    X = np.arange(14.0).reshape(2, 7)
    pool = PoolTransformer(pool_size=3).fit(X)
    assert pool.pool_size_ == (1, 3)
    np.testing.assert_array_equal(pool.transform(X), [[2, 5], [9, 12]])
    # A window wider than the row is clipped to it.
    assert PoolTransformer(pool_size=9).fit(X).transform(X).tolist() == [[6], [13]]


def test_padding_is_ignored_by_max_and_counted_by_avg():
    maps = -np.ones((1, 2, 2, 1))
    assert PoolTransformer(pool_size=2, stride=2, padding=1).fit_transform(maps).max() == -1
    averaged = PoolTransformer(pool_size=2, padding=1, mode="avg").fit_transform(maps)
    np.testing.assert_allclose(averaged, -0.25)


def test_feature_names_follow_the_flat_order(maps):
    pool = PoolTransformer(pool_size=3).fit(maps)
    names = pool.get_feature_names_out()
    assert len(names) == pool.transform(maps).shape[1] == 2 * 1 * 3
    assert list(names[:4]) == ["pool_r0_c0_m0", "pool_r0_c0_m1", "pool_r0_c0_m2", "pool_r1_c0_m0"]
    assert not hasattr(PoolTransformer(flatten=False).fit(maps), "get_feature_names_out")


def test_pandas_output(maps):
    pd = pytest.importorskip("pandas")
    pool = PoolTransformer().set_output(transform="pandas").fit(maps)
    frame = pool.transform(maps)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == list(pool.get_feature_names_out())


def test_dtypes_kept_and_input_untouched(maps):
    maps32 = maps.astype(np.float32)
    before = maps32.copy()
    assert PoolTransformer(mode="avg").fit_transform(maps32).dtype == np.float32
    np.testing.assert_array_equal(maps32, before)
