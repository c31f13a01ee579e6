"""Geometry of convolution and pooling: padding, output shapes, transform sizes, map counts.

Everything here is arithmetic on shapes (and the expansion of a channel-wise bank into a full
one); no image is touched. The convolution (:mod:`skconv._engine.convolution`), the cost
model (:mod:`skconv._engine.cost`), pooling (:mod:`skconv._engine.pooling`) and the estimators
all size their outputs with these functions, so a shape is computed the same way everywhere.

Shapes used throughout skconv's core:

- images: ``(n_images, height, width, n_channels)``, channels last;
- a *full* bank: ``(n_filters, kernel_rows, kernel_cols, n_channels)``; each filter sums over
  the channels like a CNN kernel and gives one map;
- feature maps: ``(n_images, out_rows, out_cols, n_maps)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

Pair = tuple[int, int]
Padding = tuple[Pair, Pair]


def resolve_padding(padding: str | Pair, kernel_shape: Pair) -> Padding:
    """Turn a padding setting into ``((top, bottom), (left, right))`` zero counts.

    ``"same"`` centres odd kernels; for even kernels the extra row and column of zeros go at the
    bottom and right. A pair ``(rows, cols)`` pads both sides of each axis by that many zeros.

    Examples
    --------
    >>> resolve_padding("same", (4, 3))
    ((1, 2), (1, 1))
    >>> resolve_padding((2, 0), (3, 3))
    ((2, 2), (0, 0))
    """
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding == "same":
            return tuple(((size - 1) // 2, size - 1 - (size - 1) // 2) for size in kernel_shape)
        raise ValueError(f"padding must be 'valid', 'same', an int or a pair; got {padding!r}.")
    rows, cols = padding
    return ((rows, rows), (cols, cols))


def conv_output_shape(
    image_shape: Pair, kernel_shape: Pair, stride: Pair, padding: Padding
) -> Pair:
    """Rows and columns of the maps that a kernel produces on a padded image.

    Examples
    --------
    >>> conv_output_shape((28, 28), (5, 5), (1, 1), ((0, 0), (0, 0)))
    (24, 24)
    >>> conv_output_shape((7, 5), (3, 3), (2, 2), resolve_padding("same", (3, 3)))
    (4, 3)
    """
    shape = []
    for axis, name in enumerate(("rows", "columns")):
        padded = image_shape[axis] + sum(padding[axis])
        if kernel_shape[axis] > padded:
            raise ValueError(
                f"The kernel has {kernel_shape[axis]} {name} but the padded image only "
                f"{padded}; use a smaller kernel (kernel_size, or a smaller filters array) or "
                "more padding (e.g. padding='same')."
            )
        shape.append((padded - kernel_shape[axis]) // stride[axis] + 1)
    return tuple(shape)


def expand_channelwise_bank(bank: np.ndarray, n_channels: int) -> np.ndarray:
    """Turn a 2-D bank ``(F, kh, kw)`` into the full bank that applies it to each channel.

    The result has ``n_channels * F`` filters, channel-major: filter ``c * F + f`` is
    ``bank[f]`` on channel ``c`` and zero on the others, so map ``c * F + f`` is filter ``f``
    applied to channel ``c``.

    Examples
    --------
    >>> full = expand_channelwise_bank(np.ones((2, 3, 3)), 3)
    >>> full.shape
    (6, 3, 3, 3)
    >>> full[4, :, :, 2].sum(), full[4, :, :, :2].sum()
    (np.float64(9.0), np.float64(0.0))
    """
    n_filters, rows, cols = bank.shape
    full = np.zeros((n_channels, n_filters, rows, cols, n_channels), dtype=bank.dtype)
    for channel in range(n_channels):
        full[channel, :, :, :, channel] = bank
    return full.reshape(n_channels * n_filters, rows, cols, n_channels)


def drop_single_channel(bank: np.ndarray) -> np.ndarray:
    """A full bank of one channel ``(F, kh, kw, 1)`` as the 2-D bank ``(F, kh, kw)``.

    On one channel the two apply alike; skconv keeps such banks 2-D. Other banks are returned
    as they are.

    Examples
    --------
    >>> drop_single_channel(np.ones((2, 3, 3, 1))).shape
    (2, 3, 3)
    >>> drop_single_channel(np.ones((2, 3, 3, 3))).shape
    (2, 3, 3, 3)
    """
    return bank[..., 0] if bank.ndim == 4 and bank.shape[3] == 1 else bank


class MapSources(NamedTuple):
    """Where each map comes from, one entry per map: the filter's index in the bank, the
    channel (``-1`` for a full bank, summed over the channels) and the sign (``-1`` for the
    negative half of ``"crelu"``)."""

    filter: np.ndarray
    channel: np.ndarray
    sign: np.ndarray


def map_sources(n_filters: int, n_channels: int | None, activation: str | None) -> MapSources:
    """The filter, channel and sign of every map, in the order the maps come in.

    ``n_channels`` is the channel count a 2-D bank is applied to channel by channel (see
    :func:`expand_channelwise_bank`: map ``c * F + f`` is filter ``f`` on channel ``c``), or
    ``None`` for a full bank. ``"crelu"`` appends the maps of the negated filters.

    Examples
    --------
    >>> map_sources(2, 2, "crelu").channel
    array([0, 0, 1, 1, 0, 0, 1, 1])
    >>> map_sources(2, None, "crelu").sign
    array([ 1,  1, -1, -1])
    """
    if n_channels is None:
        filters, channels = np.arange(n_filters), np.full(n_filters, -1)
    else:
        filters = np.tile(np.arange(n_filters), n_channels)
        channels = np.repeat(np.arange(n_channels), n_filters)
    signs = np.ones(len(filters), dtype=int)
    if activation == "crelu":
        filters, channels = np.tile(filters, 2), np.tile(channels, 2)
        signs = np.concatenate([signs, -signs])
    return MapSources(filters, channels, signs)


def n_output_maps(n_filters: int, activation: str | None) -> int:
    """Number of maps a full bank of ``n_filters`` gives after ``activation``."""
    return 2 * n_filters if activation == "crelu" else n_filters


def fft_shape(image_shape: Pair, padding: Padding) -> Pair:
    """Transform size of the FFT path: the padded image, rounded up to a size pocketfft is
    fast at.

    Examples
    --------
    >>> fft_shape((28, 28), ((2, 2), (2, 2)))
    (32, 32)
    """
    import scipy.fft

    return tuple(
        scipy.fft.next_fast_len(size + before + after, real=True)
        for size, (before, after) in zip(image_shape, padding)
    )


def pool_output_shape(map_shape: Pair, pool_size: Pair, stride: Pair, padding: Pair) -> Pair:
    """Rows and columns after pooling: windows that fit entirely in the padded map.

    Examples
    --------
    >>> pool_output_shape((5, 3), (2, 2), (1, 1), (0, 0))
    (4, 2)
    >>> pool_output_shape((24, 24), (3, 3), (2, 2), (1, 1))
    (12, 12)
    """
    shape = []
    for axis, name in enumerate(("rows", "columns")):
        padded = map_shape[axis] + 2 * padding[axis]
        if pool_size[axis] > padded:
            raise ValueError(
                f"The pooling window has {pool_size[axis]} {name} but the (padded) maps only "
                f"{padded}; use a smaller pool_size, or pool_size=None for global pooling."
            )
        shape.append((padded - pool_size[axis]) // stride[axis] + 1)
    return tuple(shape)
