"""Plain references that the fast paths are tested against: loops, no cleverness."""

import numpy as np
from scipy.signal import correlate2d


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


def reference_conv(images, bank, stride, pads):
    """Sum over channels of scipy's valid cross-correlation of the zero-padded images."""
    padded = np.pad(images.astype(np.float64), ((0, 0), *pads, (0, 0)))
    result = []
    for image in padded:
        maps = [
            sum(
                correlate2d(image[..., c], kernel[..., c], mode="valid")
                for c in range(image.shape[-1])
            )[:: stride[0], :: stride[1]]
            for kernel in bank.astype(np.float64)
        ]
        result.append(np.stack(maps, axis=-1))
    return np.stack(result)
