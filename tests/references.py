"""Plain references that the fast paths are tested against: loops, no cleverness."""

import numpy as np


def reference_pool(maps, window, stride, mode, padding=(0, 0)):
    """Pooling by loops over every window of the padded maps (max ignores the padding cells,
    average counts them as zeros)."""
    fill = -np.inf if mode == "max" else 0.0
    padded = np.pad(
        maps.astype(np.float64),
        ((0, 0), (padding[0],) * 2, (padding[1],) * 2, (0, 0)),
        constant_values=fill,
    )
    n, rows, cols, n_maps = padded.shape
    out_rows = (rows - window[0]) // stride[0] + 1
    out_cols = (cols - window[1]) // stride[1] + 1
    result = np.empty((n, out_rows, out_cols, n_maps))
    for r in range(out_rows):
        for c in range(out_cols):
            top, left = r * stride[0], c * stride[1]
            cell = padded[:, top : top + window[0], left : left + window[1]]
            result[:, r, c] = cell.max(axis=(1, 2)) if mode == "max" else cell.mean(axis=(1, 2))
    return result
