"""
Colour images
=============

Colour images are stacks ``(n, height, width, 3)``, channels last, as scikit-image loads them
(or 2-D rows of ``height * width * 3`` values with ``image_shape=(height, width, 3)``).
A bank can meet the channels in two ways:

- a **2-D bank** ``(n_filters, rows, cols)`` is applied to each channel on its own, giving
  ``n_filters * 3`` maps (all filters on red, then on green, then on blue);
- a **full bank** ``(n_filters, rows, cols, 3)`` sums over the channels like a CNN kernel,
  giving ``n_filters`` maps that can respond to colour itself.

The picture is the astronaut that ships inside scikit-image (:func:`skimage.data.astronaut`,
no download needed), reduced to 128x128 to keep the example fast.
"""

# %%
# The image
# ---------
import matplotlib.pyplot as plt
import numpy as np
from skimage import data
from skimage.transform import resize

from skconv import ConvFeatureExtractor, PoolTransformer
from skconv.plotting import plot_feature_maps, plot_filters

image = resize(data.astronaut(), (128, 128), anti_aliasing=True)  # floats in [0, 1]
images = image[np.newaxis]  # a stack of one colour image: (1, 128, 128, 3)
print(images.shape, images.dtype)

# %%
# A 2-D bank, channel by channel
# ------------------------------
# Four 7x7 Gabor filters on each of the three channels: 12 maps, in the order
# (filter 0..3 on red, then on green, then on blue).
gabor = ConvFeatureExtractor("gabor", n_filters=4, kernel_size=7, activation="abs")
maps = gabor.fit_transform(images)
print("maps:", maps.shape)
titles = [f"f{f} on {channel}" for channel in ("red", "green", "blue") for f in range(4)]
plot_feature_maps(maps, image=image, titles=titles, n_cols=7, tile_size=1.5)
plt.show()

# %%
# The same image as one row of ``128 * 128 * 3`` numbers gives the same maps:
X = images.reshape(1, -1)
same = ConvFeatureExtractor("gabor", n_filters=4, kernel_size=7, activation="abs",
                            image_shape=(128, 128, 3)).fit_transform(X)  # fmt: skip
print("flat rows give the same maps:", np.allclose(same, maps))

# %%
# A full colour bank learned from the image
# -----------------------------------------
# ``"kmeans"`` learns full banks from 5x5x3 patches: its filters mix the channels, so some
# respond to colour edges and colour blobs that no single channel shows. Drawn as RGB tiles.
kmeans = ConvFeatureExtractor("kmeans", n_filters=16, kernel_size=5, random_state=0)
colour_maps = kmeans.fit_transform(images)
print("bank:", kmeans.filters_.shape, "-> maps:", colour_maps.shape)
plot_filters(kmeans, n_cols=8, title="16 colour filters learned by k-means", tile_size=1.0)
plot_feature_maps(colour_maps, image=image, n_cols=9, tile_size=1.3)
plt.show()

# %%
# Using the maps: grouping the pixels by texture and colour
# ---------------------------------------------------------
# Average pooling with stride 1 smooths each map while keeping one value per position; the
# 16 values at a position describe the colour texture around that pixel. Clustering those
# descriptors splits the picture into regions, with no labels at all.
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

pool = PoolTransformer(pool_size=7, stride=1, padding=3, mode="avg", flatten=False)
smoothed = pool.fit_transform(colour_maps)[0]  # (128, 128, 16)
descriptors = StandardScaler().fit_transform(smoothed.reshape(-1, smoothed.shape[-1]))
regions = KMeans(n_clusters=5, n_init=3, random_state=0).fit_predict(descriptors)

fig, axes = plt.subplots(1, 2, figsize=(8, 4), layout="constrained")
axes[0].imshow(image)
axes[0].set_title("image")
axes[1].imshow(regions.reshape(smoothed.shape[:2]), cmap="tab10", interpolation="nearest")
axes[1].set_title("5 regions from the pooled colour features")
for ax in axes:
    ax.set_axis_off()
plt.show()
# sphinx_gallery_thumbnail_number = 4
