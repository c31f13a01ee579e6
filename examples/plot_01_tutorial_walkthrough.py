"""
The CNN-from-scratch walk-through, step by step
================================================

A classic way to explain convolutional networks: a tiny 7x5 picture of a handwritten "9",
three hand-made 3x3 filters (a box, a vertical line and a diagonal line), the feature maps
they produce, ReLU, 2x2 max pooling with stride 1, and finally the 24 numbers that a
classifier would see. Every step below is one skconv call, and every picture is drawn with
:mod:`skconv.plotting`.
"""

# %%
# The image
# ---------
# 1 is ink, -1 is background: a loop at the top and a tail going down and to the left.
import matplotlib.pyplot as plt
import numpy as np

from skconv import ConvFeatureExtractor, PoolTransformer
from skconv.filters import tutorial_bank
from skconv.plotting import plot_feature_maps, plot_filters

nine = np.array(
    [
        [-1, 1, 1, 1, -1],
        [-1, 1, -1, 1, -1],
        [-1, 1, 1, 1, -1],
        [-1, -1, -1, 1, -1],
        [-1, -1, -1, 1, -1],
        [-1, -1, -1, 1, -1],
        [-1, -1, 1, -1, -1],
    ],
    dtype=float,
)
fig, ax = plt.subplots(figsize=(2, 2.6))
ax.imshow(nine, cmap="gray")
ax.set_title("a 7x5 '9'")
ax.set_xticks([])
ax.set_yticks([])
plt.show()

# %%
# The three filters
# -----------------
# ``filters="tutorial"`` is this bank; :func:`skconv.filters.tutorial_bank` returns it as an
# array.
# Red is +1, blue is -1.
bank = tutorial_bank()
print(bank)
plot_filters(bank, titles=["box", "vertical line", "diagonal line"], tile_size=1.6)
plt.show()

# %%
# Convolution: the feature maps
# -----------------------------
# Each filter slides over the image (no padding: ``padding="valid"``, stride 1). At each
# position the products of filter and pixels are summed and, as in the tutorial, averaged
# over the filter's 9 elements (``normalize=True``). ``activation=None`` keeps the raw
# responses so we can look at them before ReLU.
raw_conv = ConvFeatureExtractor(
    filters="tutorial", padding="valid", normalize=True, activation=None
)
raw_maps = raw_conv.fit_transform(nine[np.newaxis])  # a stack of one image
print("maps:", raw_maps.shape, "(images, rows, cols, maps)")
print("box filter map:\n", raw_maps[0, :, :, 0].round(2))

# %%
# A 7x5 image and a 3x3 filter give ``(7 - 3) + 1 = 5`` rows and ``(5 - 3) + 1 = 3``
# columns. The box filter's map peaks at the top, where the filter covers the loop: eight
# ink pixels around one background pixel, ``(8 - 1) / 9 = 0.78``. The box shape was found at
# the top of the digit. The vertical line fits the right-hand stroke exactly (1.0), and the
# diagonal responds most at the bottom, where the tail turns left.
for k, name in enumerate(["box", "vertical line", "diagonal line"]):
    row, col = np.unravel_index(raw_maps[0, :, :, k].argmax(), raw_maps.shape[1:3])
    print(f"{name:14s} strongest response {raw_maps[0, row, col, k]:.2f} at row {row}, col {col}")

# %%
# Drawn next to the image (red positive, blue negative):
titles = ["box", "vertical line", "diagonal line"]
plot_feature_maps(raw_maps, image=nine, titles=titles, cmap="RdBu_r", tile_size=1.6)
plt.show()

# %%
# ReLU
# ----
# ReLU sets the negative responses to zero and keeps the positive ones. It is the
# extractor's default activation.
conv = ConvFeatureExtractor(filters="tutorial", padding="valid", normalize=True)  # relu
maps = conv.fit_transform(nine[np.newaxis])
assert np.array_equal(maps, np.maximum(raw_maps, 0))
plot_feature_maps(maps, titles=titles, tile_size=1.6)
plt.show()

# %%
# 2x2 max pooling with stride 1
# -----------------------------
# Each 2x2 window of a map is replaced by its maximum; with stride 1 the windows overlap,
# so each 5x3 map becomes ``(5 - 2) + 1 = 4`` by ``(3 - 2) + 1 = 2``. ``flatten=False``
# keeps the maps as images so we can draw them.
pool = PoolTransformer(pool_size=2, stride=1, flatten=False)
pooled = pool.fit_transform(maps)
print("pooled maps:", pooled.shape)
plot_feature_maps(pooled, titles=titles, tile_size=1.6)
plt.show()

# %%
# Flatten and stack: 24 features
# ------------------------------
# Three 4x2 maps make 24 numbers per image, the input of a fully connected layer or of any
# scikit-learn classifier. ``PoolTransformer`` flattens by default, in C order over
# (rows, cols, maps), and names its features.
flat_pool = PoolTransformer(pool_size=2, stride=1)
features = flat_pool.fit_transform(maps)
names = flat_pool.get_feature_names_out()
print(features.shape)
print(names[:6], "...")

fig, ax = plt.subplots(figsize=(8, 2.5))
ax.bar(np.arange(24), features[0], color=plt.cm.tab10(np.arange(24) % 3))
ax.set_xticks(np.arange(24), names, rotation=90, fontsize=7)
ax.set_ylabel("value")
ax.set_title("the 24 features (colour = filter: box, vertical, diagonal)")
plt.show()

# %%
# In a pipeline
# -------------
# The same steps as two scikit-learn transformers, ready to go in front of a classifier;
# :ref:`the digits example <sphx_glr_auto_examples_plot_02_digits_vs_raw_pixels.py>`
# does exactly that on real data.
from sklearn.pipeline import make_pipeline

steps = make_pipeline(
    ConvFeatureExtractor(filters="tutorial", image_shape=(7, 5), padding="valid", normalize=True),
    PoolTransformer(pool_size=2, stride=1),
)
X = nine.reshape(1, -1)  # scikit-learn's layout: one row of 35 pixels per image
print(X.shape, "->", steps.fit_transform(X).shape)
assert np.array_equal(steps.fit_transform(X), features)
# sphinx_gallery_thumbnail_number = 3
