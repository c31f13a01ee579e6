"""
Two stacked layers
==================

A CNN stacks convolution and pooling: the second layer's filters look at the first layer's
maps, all channels at once. In skconv that is ``PoolTransformer(flatten=False)``, which keeps
the pooled maps as images, followed by a second :class:`~skconv.ConvFeatureExtractor`. The
second extractor sees an image stack with one channel per first-layer map; a learned preset
(here ``"pca"``) then learns full filters ``(n_filters, rows, cols, channels)`` that mix them.
"""

# %%
# The layers
# ----------
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from skconv import ConvFeatureExtractor, PoolTransformer
from skconv.plotting import plot_feature_maps

digits = load_digits()
half = len(digits.data) // 2
X_train, X_test = digits.data[:half], digits.data[half:]
y_train, y_test = digits.target[:half], digits.target[half:]

two_layers = Pipeline(
    [
        (
            "conv1",
            ConvFeatureExtractor("gabor", kernel_size=5, activation="abs", image_shape=(8, 8)),
        ),
        ("pool1", PoolTransformer(pool_size=2, stride=1, mode="avg", flatten=False)),
        ("conv2", ConvFeatureExtractor("pca", n_filters=32, kernel_size=3, activation="abs")),
        ("pool2", PoolTransformer(pool_size=2, stride=1, mode="avg")),
        ("scale", StandardScaler()),
        ("clf", SVC(C=10)),
    ]
)
two_layers.fit(X_train, y_train)

# %%
# The shapes, step by step, for the first test digit:
data = X_test[:1]
for name, step in two_layers.steps[:4]:
    data = step.transform(data)
    print(f"after {name}: {data.shape}")
print("second-layer bank:", two_layers["conv2"].filters_.shape, "(filters, rows, cols, channels)")

# %%
# What each layer sees
# --------------------
# The eight first-layer maps are strokes at two scales and four orientations; each of the 32
# second-layer maps combines all eight of them.
digit = X_test[:1]
layer1 = two_layers[:2].transform(digit)
layer2 = two_layers[:3].transform(digit)
plot_feature_maps(layer1, image=digit.reshape(8, 8), title="layer 1: pooled Gabor maps")
plot_feature_maps(layer2, n_cols=8, tile_size=1.0, title="layer 2: PCA filters on layer 1")
plt.show()

# %%
# One layer or two?
# -----------------
# The same first layer with its pooled maps flattened straight into the classifier:
one_layer = Pipeline(
    [
        (
            "conv1",
            ConvFeatureExtractor("gabor", kernel_size=5, activation="abs", image_shape=(8, 8)),
        ),
        ("pool1", PoolTransformer(pool_size=2, stride=1, mode="avg")),
        ("scale", StandardScaler()),
        ("clf", SVC(C=10)),
    ]
)
one_layer.fit(X_train, y_train)
print(f"one layer:  test accuracy {one_layer.score(X_test, y_test):.4f}")
print(f"two layers: test accuracy {two_layers.score(X_test, y_test):.4f}")

# %%
# On 8x8 digits the second layer does not help: after the first layer, the 7x7 maps have
# little room left for 3x3 filters to build larger shapes out of strokes, and the flat
# first-layer features already separate the classes well. Stacking is meant for larger
# images; the mechanics shown here are the same at any size.
