"""
Grid search over filter banks and pooling
=========================================

Which filter bank, and which pooling? :class:`~sklearn.model_selection.GridSearchCV` answers
on the training data alone. Because :class:`~skconv.ConvFeatureExtractor` returns feature
maps that carry their own geometry, the grid can swap banks of different sizes and poolings
of different strides with no shape arithmetic.

The pipeline is built with ``memory=``: each step's fitted output is cached on disk, so for
every bank and fold the convolution runs once, however many pooling settings follow it.

The data is the split of :ref:`sphx_glr_auto_examples_plot_02_digits_vs_raw_pixels.py`:
the search sees only the first half of ``load_digits()``; the second half is used once, at
the end, to test the model it picked.
"""

# %%
# The grid
# --------
# Six banks (the kernel size of those that take one set to 5x5, their number of filters
# left at the preset's default) against four poolings of 2x2 windows: max or average,
# stride 2 (no overlap) or 1 (overlapping). The activation is ``abs``, which keeps the
# strength of an edge whichever side is dark, and the classifier a standardised SVC.
import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from skconv import ConvFeatureExtractor, PoolTransformer

digits = load_digits()
half = len(digits.data) // 2
X_train, X_test = digits.data[:half], digits.data[half:]
y_train, y_test = digits.target[:half], digits.target[half:]

banks = ["tutorial", "edges", "gabor", "random", "pca", "kmeans"]
poolings = {
    "max, stride 2": PoolTransformer(pool_size=2, stride=2, mode="max"),
    "avg, stride 2": PoolTransformer(pool_size=2, stride=2, mode="avg"),
    "max, stride 1": PoolTransformer(pool_size=2, stride=1, mode="max"),
    "avg, stride 1": PoolTransformer(pool_size=2, stride=1, mode="avg"),
}
param_grid = [
    # The tutorial bank is three fixed 3x3 filters: it has no size to choose.
    {"conv__filters": ["tutorial"], "pool": list(poolings.values())},
    {
        "conv__filters": banks[1:],
        "conv__kernel_size": [5],
        "pool": list(poolings.values()),
    },
]

# %%
# The search
# ----------
# 10-fold cross-validation on the 898 training images (the folds are not shuffled, so a
# writer's digits tend to stay together). ``random_state`` fixes the random and learned
# banks.
with tempfile.TemporaryDirectory() as cache:
    pipeline = Pipeline(
        [
            ("conv", ConvFeatureExtractor(image_shape=(8, 8), activation="abs", random_state=0)),
            ("pool", PoolTransformer()),
            ("scale", StandardScaler()),
            ("clf", SVC(C=10)),
        ],
        memory=cache,
    )
    n_folds = 10
    search = GridSearchCV(pipeline, param_grid, cv=n_folds, n_jobs=2)
    started = time.perf_counter()
    search.fit(X_train, y_train)
    seconds = time.perf_counter() - started
    print(f"{len(search.cv_results_['params'])} settings x {n_folds} folds in {seconds:.1f} s")

# %%
# The results as a heat map
# -------------------------
# Mean cross-validated accuracy of each bank (rows) with each pooling (columns).
scores = np.empty((len(banks), len(poolings)))
for params, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"]):
    row = banks.index(params["conv__filters"])
    column = list(poolings.values()).index(params["pool"])
    scores[row, column] = score

fig, ax = plt.subplots(figsize=(6.5, 5), layout="constrained")
image = ax.imshow(scores, cmap="viridis")
ax.set_xticks(range(len(poolings)), [name.replace(", ", "\n") for name in poolings])
ax.set_yticks(range(len(banks)), banks)
ax.set_xlabel("2x2 pooling")
ax.set_ylabel("filter bank")
best_row, best_column = np.unravel_index(scores.argmax(), scores.shape)
for (row, column), score in np.ndenumerate(scores):
    weight = "bold" if (row, column) == (best_row, best_column) else "normal"
    colour = "black" if score > scores.mean() else "white"
    ax.text(column, row, f"{score:.3f}", ha="center", va="center", color=colour, weight=weight)
fig.colorbar(image, ax=ax, label="cross-validated accuracy")
ax.set_title(f"{n_folds}-fold CV accuracy on the training half")
plt.show()

# %%
# The chosen model on the test half
# ---------------------------------
# ``GridSearchCV`` refits the best setting on the whole training half; its score on the
# unseen second half is the number to compare with the raw-pixel SVC's 0.9689.
best = search.best_params_
print("chosen bank:", best["conv__filters"], "| chosen pooling:", best["pool"])
print(f"cross-validated accuracy: {search.best_score_:.4f}")
print(f"test accuracy:            {search.score(X_test, y_test):.4f}")
