"""Shapes and bank expansion of the compute core."""

import numpy as np
import pytest
from scipy.signal import correlate2d

from skconv._engine.convolution import convolve
from skconv._engine.geometry import conv_output_shape, expand_channelwise_bank, pool_output_shape


def test_expand_channelwise_bank_applies_each_filter_to_each_channel():
    rng = np.random.RandomState(7)
    images = rng.randn(2, 6, 5, 3)
    bank = rng.randn(2, 3, 3)
    maps = convolve(images, expand_channelwise_bank(bank, 3))
    for c in range(3):
        for f in range(2):
            expected = correlate2d(images[1, :, :, c], bank[f], mode="valid")
            np.testing.assert_allclose(maps[1, :, :, c * 2 + f], expected)


def test_output_shape_errors_name_the_fix():
    with pytest.raises(ValueError, match="kernel_size"):
        conv_output_shape((3, 3), (5, 5), (1, 1), ((0, 0), (0, 0)))
    with pytest.raises(ValueError, match="pool_size"):
        pool_output_shape((2, 2), (3, 3), (1, 1), (0, 0))
