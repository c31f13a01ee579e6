"""Pooling of feature maps: over sliding windows (:func:`pool`) and over a fixed grid of
regions (:func:`grid_pool`).

Both take and return maps ``(n_images, rows, cols, n_maps)``; each image is pooled on its
own, with elementwise operations in a fixed order, so the result of an image does not depend
on the other images of the call, the chunking or the number of threads. The settings arrive
checked by ``PoolTransformer`` (a known mode, padding at most half the window, a grid no
larger than the maps); nothing here checks them again.
"""

from __future__ import annotations

import numpy as np

from .geometry import Pair, pool_output_shape
from .threads import run_in_threads

POOL_MODES = ("max", "avg")

# Pooling's intermediate is smaller than its input; a few images at a time keep it in L2.
POOL_CHUNK_BYTES = 2**19


def pool(
    maps: np.ndarray,
    pool_size: Pair,
    *,
    stride: Pair | None = None,
    mode: str = "max",
    padding: Pair = (0, 0),
    chunk_bytes: int = POOL_CHUNK_BYTES,
    n_jobs: int = 1,
) -> np.ndarray:
    """Max or average pooling of feature maps over windows that fit in the padded map.

    Windows are reduced separably: each output row takes the maximum (or sum) of the window's
    input rows, one elementwise operation per window row, and then the same along columns.
    Non-overlapping windows are the special case stride = window; this beats reducing a
    ``(rows, window, cols, window)`` reshape over two axes.

    Parameters
    ----------
    maps : ndarray of shape (n_images, rows, cols, n_maps)
        Never modified.
    pool_size : pair of int
        Window rows and columns.
    stride : pair of int, default=None
        Step between windows; ``None`` means ``pool_size`` (non-overlapping windows).
    mode : {"max", "avg"}, default="max"
    padding : pair of int, default=(0, 0)
        Cells added on both sides of each axis; at most half the window. Max pooling ignores
        them, average pooling counts them as zeros (PyTorch's defaults).
    chunk_bytes : int, default=512 KiB
        Maps are pooled a few images at a time, about this many input bytes, so that the
        intermediate stays in cache; never less than one image.
    n_jobs : int, default=1
        Threads that share the images (``-1``: all cores); the result does not depend on it.

    Returns
    -------
    pooled : ndarray of shape (n_images, out_rows, out_cols, n_maps)

    Examples
    --------
    >>> maps = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> pool(maps, (2, 2))[0, :, :, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    >>> pool(maps, (2, 2), stride=(1, 1), mode="avg")[0, :, :, 0]
    array([[ 2.5,  3.5,  4.5],
           [ 6.5,  7.5,  8.5],
           [10.5, 11.5, 12.5]])
    """
    stride = tuple(pool_size) if stride is None else tuple(stride)
    pool_size, padding = tuple(pool_size), tuple(padding)
    n_images, rows, cols, n_maps = maps.shape
    out_rows, out_cols = pool_output_shape((rows, cols), pool_size, stride, padding)
    pooled = np.empty((n_images, out_rows, out_cols, n_maps), dtype=maps.dtype)
    if n_images == 0:
        return pooled
    padded_shape = (rows + 2 * padding[0], cols + 2 * padding[1], n_maps)
    step = max(1, min(n_images, chunk_bytes // max(maps[0].nbytes, 1)))
    items = [(start, min(start + step, n_images)) for start in range(0, n_images, step)]
    reduce = np.maximum if mode == "max" else np.add

    def run_items(items, workers):
        row_pooled = None
        if pool_size[0] > 1:
            row_pooled = np.empty((step, out_rows, padded_shape[1], n_maps), dtype=maps.dtype)
        padded = None
        if padding != (0, 0):
            padded = np.full((step, *padded_shape), -np.inf if mode == "max" else 0, maps.dtype)
        for start, stop in items:
            source = maps[start:stop]
            if padded is not None:
                # The border keeps its fill value; only the inside is rewritten.
                inside = padded[: stop - start, padding[0] : padding[0] + rows]
                inside[:, :, padding[1] : padding[1] + cols] = source
                source = padded[: stop - start]
            block = pooled[start:stop]
            by_rows = _window_offsets(source, 1, pool_size[0], stride[0], out_rows)
            if len(by_rows) > 1:
                by_rows = [_reduce_into(by_rows, reduce, row_pooled[: stop - start])]
            by_cols = _window_offsets(by_rows[0], 2, pool_size[1], stride[1], out_cols)
            _reduce_into(by_cols, reduce, block)
            if mode == "avg":
                block /= pool_size[0] * pool_size[1]

    run_in_threads(run_items, items, n_jobs)
    return pooled


def _window_offsets(array, axis, window, step, n_out) -> list:
    """One strided view of ``array`` per window offset along ``axis``.

    View ``k`` holds cell ``k`` of every window, so reducing the views elementwise pools.
    """
    views = []
    for start in range(window):
        index = [slice(None)] * array.ndim
        index[axis] = slice(start, start + (n_out - 1) * step + 1, step)
        views.append(array[tuple(index)])
    return views


def _reduce_into(views: list, reduce, out: np.ndarray) -> np.ndarray:
    """``reduce`` the views elementwise into ``out``."""
    if len(views) == 1:
        np.copyto(out, views[0])
        return out
    reduce(views[0], views[1], out=out)
    for view in views[2:]:
        reduce(out, view, out=out)
    return out


def grid_pool(maps: np.ndarray, grid: Pair, *, mode: str = "max") -> np.ndarray:
    """Pool each map over a ``grid`` of regions that together cover it.

    Region ``i`` along an axis of length ``L`` split ``g`` ways spans
    ``floor(i * L / g)`` to ``ceil((i + 1) * L / g)``, so regions cover the map, may overlap by a
    cell when ``g`` does not divide ``L``, and the output size does not depend on the map size.

    Examples
    --------
    >>> maps = np.arange(25.0).reshape(1, 5, 5, 1)
    >>> grid_pool(maps, (2, 2))[0, :, :, 0]
    array([[12., 14.],
           [22., 24.]])
    """
    n_images, rows, cols, n_maps = maps.shape
    pooled = np.empty((n_images, grid[0], grid[1], n_maps), dtype=maps.dtype)
    reduce = np.max if mode == "max" else np.mean
    row_bounds = _grid_bounds(rows, grid[0])
    col_bounds = _grid_bounds(cols, grid[1])
    for i, (row_start, row_stop) in enumerate(row_bounds):
        for j, (col_start, col_stop) in enumerate(col_bounds):
            region = maps[:, row_start:row_stop, col_start:col_stop]
            pooled[:, i, j] = reduce(region, axis=(1, 2))
    return pooled


def _grid_bounds(length: int, parts: int) -> list[Pair]:
    return [(i * length // parts, -(-(i + 1) * length // parts)) for i in range(parts)]
