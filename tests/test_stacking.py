"""Two convolution layers: PoolTransformer(flatten=False) maps feed a second extractor."""

import numpy as np
from scipy.signal import correlate
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skconv import ConvFeatureExtractor, PoolTransformer


def two_layer_pipeline():
    return Pipeline(
        [
            ("conv1", ConvFeatureExtractor(filters="gabor", image_shape=(8, 8))),
            ("pool1", PoolTransformer(pool_size=2, flatten=False)),
            ("conv2", ConvFeatureExtractor(filters="pca", n_filters=16, kernel_size=3)),
            ("pool2", PoolTransformer(pool_size=2)),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(max_iter=2000)),
        ]
    )


def test_two_layer_pipeline_on_digits():
    X, y = load_digits(return_X_y=True)
    pipe = two_layer_pipeline().fit(X[:1000], y[:1000])
    conv2 = pipe.named_steps["conv2"]
    # The first layer's 8 maps, pooled to 4x4, are the second layer's channels.
    assert conv2.image_shape_ == (4, 4, 8)
    # A learned second layer has full kernels over those channels.
    assert conv2.filters_.shape == (16, 3, 3, 8)
    assert pipe.named_steps["pool2"].output_shape_ == (2, 2, 16)
    # Measured 0.94 on this split; chance is 0.1.
    assert pipe.score(X[1000:], y[1000:]) > 0.9


def test_second_layer_sums_over_the_first_layers_maps():
    rng = np.random.RandomState(0)
    images = rng.rand(3, 10, 10)
    layer1 = ConvFeatureExtractor(filters="tutorial", padding="valid").fit(images)
    maps = PoolTransformer(flatten=False).fit_transform(layer1.transform(images))
    bank = rng.randn(2, 3, 3, 3)
    layer2 = ConvFeatureExtractor(filters=bank, padding="valid", activation=None).fit(maps)
    out = layer2.transform(maps)
    for f in range(2):
        # A kernel as deep as the volume: scipy's valid correlation leaves a single plane.
        expected = correlate(maps[1], bank[f], mode="valid")[:, :, 0]
        np.testing.assert_allclose(out[1, :, :, f], expected)
