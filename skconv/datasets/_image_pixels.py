"""One decoded image brought to the loader's output: uint8, grey or RGB, and one size."""

from __future__ import annotations

import numpy as np


def to_channels(pixels: np.ndarray, grey: bool) -> np.ndarray:
    """uint8 grey (rows, cols) or RGB (rows, cols, 3); alpha composited on white."""
    from skimage.color import rgb2gray

    if len(pixels.shape) == 4:
        pixels = pixels[0]
    if pixels.dtype == np.bool_:
        pixels = pixels.astype(np.uint8) * 255
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    if pixels.shape[-1] in (2, 4):
        colour, alpha = pixels[..., :-1], pixels[..., -1:].astype(np.float64) / 255
        pixels = _to_uint8(colour * alpha + 255 * (1 - alpha))
    if pixels.shape[-1] == 1:
        return pixels[..., 0] if grey else np.repeat(pixels, 3, axis=-1)
    return _to_uint8(rgb2gray(pixels) * 255) if grey else pixels


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def fit_to_shape(pixels: np.ndarray, image_shape) -> np.ndarray:
    """Crop about the centre to the target's aspect ratio, then resize; exact when it fits."""
    from skimage.transform import resize

    rows, cols = pixels.shape[:2]
    target_rows, target_cols = image_shape
    if (rows, cols) == (target_rows, target_cols):
        return pixels
    # Keep the largest centred window with the target's aspect ratio.
    if rows * target_cols > cols * target_rows:  # too tall
        keep_rows, keep_cols = max(1, round(cols * target_rows / target_cols)), cols
    else:
        keep_rows, keep_cols = rows, max(1, round(rows * target_cols / target_rows))
    top, left = (rows - keep_rows) // 2, (cols - keep_cols) // 2
    window = pixels[top : top + keep_rows, left : left + keep_cols]
    if window.shape[:2] == (target_rows, target_cols):
        return window
    resized = resize(
        window, (target_rows, target_cols), anti_aliasing=True, preserve_range=True, order=1
    )
    return _to_uint8(resized)
