"""Pooling against loops over every window."""

import tracemalloc

import numpy as np
import pytest
from references import reference_pool

from skconv._engine import pooling as _pooling
from skconv._engine.pooling import grid_pool, pool

TOLERANCE = {np.float32: 2e-4, np.float64: 1e-10}


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize(
    "window, stride, padding",
    [
        ((2, 2), (2, 2), (0, 0)),
        ((2, 2), (1, 1), (0, 0)),
        ((3, 3), (1, 1), (0, 0)),
        ((3, 3), (2, 2), (1, 1)),
        ((3, 2), (1, 2), (1, 0)),
        ((2, 3), (2, 3), (1, 1)),
        ((1, 1), (1, 1), (0, 0)),
        ((5, 4), (5, 4), (0, 0)),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pool_matches_loops(mode, window, stride, padding, dtype):
    rng = np.random.RandomState(8)
    maps = rng.randn(3, 9, 7, 4).astype(dtype)
    before = maps.copy()
    pooled = pool(maps, window, stride=stride, mode=mode, padding=padding)
    expected = reference_pool(maps, window, stride, mode, padding)
    assert pooled.dtype == dtype
    np.testing.assert_allclose(pooled, expected, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])
    np.testing.assert_array_equal(maps, before)


def test_pool_threads_match_one_thread():
    maps = np.random.RandomState(9).rand(50, 12, 12, 8).astype(np.float32)
    np.testing.assert_array_equal(
        pool(maps, (3, 3), stride=(1, 1), n_jobs=1), pool(maps, (3, 3), stride=(1, 1), n_jobs=2)
    )


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_grid_pool_covers_the_map_in_regions(mode):
    rng = np.random.RandomState(10)
    maps = rng.randn(2, 7, 6, 3)
    pooled = grid_pool(maps, (2, 3), mode=mode)
    reduce = np.max if mode == "max" else np.mean
    row_regions = [(0, 4), (3, 7)]
    col_regions = [(0, 2), (2, 4), (4, 6)]
    for i, (r0, r1) in enumerate(row_regions):
        for j, (c0, c1) in enumerate(col_regions):
            np.testing.assert_allclose(pooled[:, i, j], reduce(maps[:, r0:r1, c0:c1], axis=(1, 2)))


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize(
    "window, stride, padding",
    [((1, 3), (1, 2), (0, 1)), ((3, 1), (1, 1), (1, 0)), ((4, 4), (1, 1), (2, 2))],
)
@pytest.mark.parametrize("chunk_bytes", [1, 10**9])
@pytest.mark.parametrize("n_jobs", [1, 3])
def test_pool_chunks_and_threads_match_loops(mode, window, stride, padding, chunk_bytes, n_jobs):
    rng = np.random.RandomState(19)
    maps = rng.randn(5, 8, 9, 3).astype(np.float32)
    pooled = pool(
        maps,
        window,
        stride=stride,
        mode=mode,
        padding=padding,
        chunk_bytes=chunk_bytes,
        n_jobs=n_jobs,
    )
    expected = reference_pool(maps, window, stride, mode, padding)
    np.testing.assert_allclose(pooled, expected, rtol=2e-6, atol=2e-6)
    single = pool(maps, window, stride=stride, mode=mode, padding=padding, chunk_bytes=1)
    np.testing.assert_array_equal(pooled, single)


def test_pool_working_set_is_bounded():
    maps = np.random.RandomState(20).rand(300, 24, 24, 16).astype(np.float32)
    tracemalloc.start()
    try:
        pooled = pool(maps, (3, 3), stride=(1, 1), padding=(1, 1), n_jobs=2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Per thread: the padded copy and the row-pooled intermediate of one chunk.
    assert peak - pooled.nbytes < 2 * 3 * _pooling.POOL_CHUNK_BYTES
