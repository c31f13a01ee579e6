"""The cost rule behind method="auto"."""

import json
from pathlib import Path

import numpy as np

import skconv
from skconv import ConvFeatureExtractor
from skconv._engine import cost as _cost
from skconv._engine.convolution import convolve
from skconv._engine.cost import choose_conv_method
from skconv._engine.geometry import resolve_padding


def test_auto_method_rule_picks_the_measured_winner():
    # Cases measured in benchmarks/cost_rule.json (or the benchmark), where the winner is clear.
    def rule(kernel, size, n_images, n_filters, stride=(1, 1)):
        return choose_conv_method(
            (kernel, kernel),
            image_shape=(size, size),
            n_images=n_images,
            n_filters=n_filters,
            stride=stride,
            padding=resolve_padding("same", (kernel, kernel)),
        )

    assert rule(5, 28, 10000, 32) == "gemm"
    assert rule(15, 512, 8, 8) == "fft"
    assert rule(3, 256, 1, 64) == "gemm"
    assert rule(21, 64, 2, 4) == "fft"
    # Stride divides the patch-matrix cost only.
    assert rule(21, 256, 1, 16) == "fft"
    assert rule(21, 256, 1, 16, stride=(2, 2)) == "gemm"
    # Contrast normalisation needs the patch matrix.
    assert choose_conv_method((15, 15), 1.0, image_shape=(512, 512), n_images=8) == "gemm"


def test_auto_method_is_the_rules_choice():
    """ConvFeatureExtractor(method="auto") runs what the rule picks for the images of fit."""
    rng = np.random.RandomState(11)
    chosen = set()
    for image_shape, kernel in [((40, 40), (3, 3)), ((40, 40), (21, 21))]:
        images = rng.rand(2, *image_shape, 1)
        bank = rng.randn(2, *kernel, 1)
        method = choose_conv_method(kernel, image_shape=image_shape, n_images=2, n_filters=2)
        chosen.add(method)
        auto = ConvFeatureExtractor(bank, padding="valid", activation=None).fit(images)
        assert auto.method_ == method
        # The two algorithms round differently, so bitwise equality tells which one ran.
        np.testing.assert_array_equal(
            auto.transform(images),
            convolve(images, bank, method=method),
        )
    assert chosen == {"gemm", "fft"}


def test_the_weights_are_the_ones_the_fitting_script_writes():
    """One data file, written by benchmarks/cost_rule.py, holds the weights the rule uses."""
    path = Path(skconv.__file__).parent / "_engine" / _cost.WEIGHTS_FILE
    weights = json.loads(path.read_text())
    assert tuple(weights["gemm"]) == _cost.GEMM_COST_WEIGHTS
    assert tuple(weights["fft"]) == _cost.FFT_COST_WEIGHTS
    assert len(weights["gemm"]) == 4 and len(weights["fft"]) == 5
    assert all(weight > 0 for weight in weights["gemm"] + weights["fft"])
