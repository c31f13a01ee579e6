"""
Filter banks: hand-crafted, random and learned
==============================================

skconv ships six preset banks. Three are drawn by hand (``"tutorial"``, ``"edges"``,
``"gabor"``), one is random (``"random"``), and two are learned from patches of the
training images when the extractor is fitted (``"pca"``, ``"kmeans"``). This example draws
each bank as tiles, next to the feature maps it produces on one handwritten digit.

Red is positive and blue negative in the filters; in the maps (``activation="abs"`` here,
so all values are magnitudes) bright means a strong response.
"""

# %%
# One digit, six banks
# --------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from skconv import ConvFeatureExtractor, filters
from skconv.plotting import plot_feature_maps, plot_filters

X, y = load_digits(return_X_y=True)
digit = X[:1]  # the first digit, a 0, as one 64-pixel row

extractors = {
    "tutorial: the tutorial's box, vertical and diagonal 3x3 filters": ConvFeatureExtractor(
        "tutorial"
    ),
    "edges: derivative filters in four orientations (5x5, Farid)": ConvFeatureExtractor(
        "edges", kernel_size=5
    ),
    "gabor: two frequencies x four orientations (5x5)": ConvFeatureExtractor(
        "gabor", kernel_size=5
    ),
    "random: zero-mean, unit-norm Gaussian noise (5x5)": ConvFeatureExtractor(
        "random", kernel_size=5, random_state=0
    ),
    "pca: principal components of 5x5 patches of the digits": ConvFeatureExtractor(
        "pca", kernel_size=5, random_state=0
    ),
    "kmeans: centroids of whitened 5x5 patches (Coates & Ng)": ConvFeatureExtractor(
        "kmeans", kernel_size=5, random_state=0
    ),
}


def draw(title, conv, n_cols=9):
    """The bank on top, the image and its maps below, in one picture."""
    conv.set_params(image_shape=(8, 8), activation="abs").fit(X)
    n_filters = len(conv.filters_)
    filter_rows = -(-n_filters // n_cols)  # ceiling division
    map_rows = -(-(n_filters + 1) // n_cols)
    width = max(6.0, 1.1 * min(n_filters + 1, n_cols))
    fig = plt.figure(figsize=(width, 1.1 * (filter_rows + map_rows) + 0.9), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[filter_rows, map_rows])
    plot_filters(conv, figure=top, n_cols=n_cols)
    maps = conv.transform(digit)
    plot_feature_maps(maps, image=digit.reshape(8, 8), figure=bottom, n_cols=n_cols)
    fig.suptitle(title)
    plt.show()


# %%
# Hand-crafted banks
# ------------------
# They need no data and no random state, and say exactly what they look for. The Gabor
# bank is the default: on 8x8 digits it is the best of the fixed banks.
for title in list(extractors)[:3]:
    draw(title, extractors[title])

# %%
# Random filters
# --------------
# ROCKET-style features for images: many random kernels and a classifier to pick among them.
# On small images they need more filters than a designed bank to do as well.
title = list(extractors)[3]
draw(title, extractors[title])

# %%
# Learned banks
# -------------
# ``"pca"`` keeps the leading principal components of mean-removed patches (as in PCANet):
# smooth, ordered from coarse to fine. ``"kmeans"`` clusters contrast-normalised, whitened
# patches and keeps the centroids; they look like stroke pieces. Both learn from the data
# passed to ``fit``, so in a pipeline they learn from the training split only.
for title in list(extractors)[4:]:
    draw(title, extractors[title])

# %%
# Your own bank
# -------------
# A bank is just an array ``(n_filters, rows, cols)``: the functions of
# :mod:`skconv.filters` build them, and numpy combines them, here two 3x3 banks into one.
tutorial = filters.tutorial_bank()  # 3x3
edges = filters.edge_bank(n_filters=4, kernel_size=3)
mine = np.concatenate([tutorial, edges])
print(mine.shape)
conv = ConvFeatureExtractor(mine, image_shape=(8, 8), activation="abs").fit(X)
fig = plot_filters(conv, title="tutorial + edges: a bank of seven 3x3 filters")
plt.show()
# sphinx_gallery_thumbnail_number = 3
