"""
The Fashion-MNIST recipe on a dask cluster
==========================================

The real-images recipe (k-means convolution features and PCA in a
:class:`~skconv.BatchedTransformer`, then :class:`~skconv.NystroemRidgeClassifier`) fits from
a :mod:`dask.array` of images as it fits from numpy. The images stay where they are, in blocks
of rows: the filters and the PCA are learned from a sample of rows (``max_fit_samples``),
computed without computing the rest; then each worker turns its blocks into features, maps
them onto the kernel's landmarks and adds them into small normal equations (``m x m`` and
``m x classes`` for ``m`` landmarks). Only those travel, summed two by two, and the client
solves them once. The fitted model is the one the same images give in memory: same landmarks,
same predictions (``tests/test_dask_cluster.py`` checks it on a cluster; see
:doc:`/scaling` for the bound on the coefficients).
The steps are written out as a :class:`~sklearn.pipeline.Pipeline`:
:class:`~skconv.recipes.ImageClassifier` would compute the dask array into memory.

Here a ``LocalCluster`` of two worker processes, each limited to 1 GiB, fits the recipe on
Fashion-MNIST training images and their one-pixel shifts, while a thread samples each
worker's memory. On a real cluster only the line that makes the ``Client`` changes:
``Client("tcp://scheduler-address:8786")``.

The images are loaded with :func:`skconv.datasets.fetch_fashion_mnist`. **Without the data**
(no files and no network) the example says so and runs on scikit-learn's 8x8 digits, scaled
up to 28x28 pixels, so that every step still runs and draws.

This needs the ``dask`` extra: ``pip install ".[dask,plot]"`` from a clone of skconv.
Dask starts its workers as new Python processes, which import this script again; the
``if __name__ == "__main__":`` lines keep them from running it (the documentation build runs
it as it is).
"""

# %%
# The images: a few thousand, and their shifts, as a dask array
# -------------------------------------------------------------
# Shifting an image by a pixel keeps its class: four shifted copies of every training image
# (up, down, left, right) make a training set five times the size of the originals. The
# copies are never made on the client: each block of the dask array is a block of the
# originals, shifted when a worker needs it.
import logging
import threading
import time

import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
import psutil
from distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline, make_pipeline

from skconv import (
    BatchedTransformer,
    ConvFeatureExtractor,
    ConvPool,
    NystroemRidgeClassifier,
    PoolTransformer,
)
from skconv.datasets import fetch_fashion_mnist

N_ORIGINALS, N_TEST, BLOCK = 2_000, 2_000, 500
SHIFTS = [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)]  # (rows, columns), the original first
WORKER_MEMORY_LIMIT = 2**30


def wrapped_around(shift):
    """The slice that ``np.roll`` by ``shift`` fills from the other side of an axis."""
    return slice(0, shift) if shift >= 0 else slice(shift, None)


def shifted(images, rows, columns):
    """The images moved by whole pixels, the uncovered border filled with background (0)."""
    moved = np.roll(images, (rows, columns), axis=(1, 2))
    moved[:, wrapped_around(rows)] = 0
    moved[:, :, wrapped_around(columns)] = 0
    return moved


def load_images():
    try:
        fashion = fetch_fashion_mnist(subset="all")
    except FileNotFoundError as error:
        print(f"Fashion-MNIST is not available here, so this run uses the 8x8 digits.\n{error}")
        digits = load_digits()
        # Each pixel as a 3x3 square, and a 2-pixel border: 28x28 images for the recipe.
        scaled = np.kron(digits.images, np.ones((3, 3))) * (255 / 16)
        images = np.pad(scaled, ((0, 0), (2, 2), (2, 2))).astype(np.uint8)
        half = len(images) // 2
        return "digits", images[:half], digits.target[:half], images[half:], digits.target[half:]
    return (
        "Fashion-MNIST",
        fashion.images[:N_ORIGINALS],
        fashion.target[:N_ORIGINALS],
        fashion.images[60_000 : 60_000 + N_TEST],
        fashion.target[60_000 : 60_000 + N_TEST],
    )


if __name__ == "__main__":
    data_name, originals, original_labels, test_images, test_labels = load_images()
    lazy_originals = da.from_array(originals, chunks=(BLOCK, 28, 28))
    images = da.concatenate(
        [lazy_originals.map_blocks(shifted, rows, columns) for rows, columns in SHIFTS]
    )
    labels = np.tile(original_labels, len(SHIFTS))
    print(
        f"{data_name}: {len(originals):,} training images and {len(SHIFTS) - 1} shifted copies, "
        f"{images.shape[0]:,} images in {images.numblocks[0]} blocks of {BLOCK}; "
        f"{len(test_images):,} test images"
    )

# %%
# A cluster, and a thread that watches its memory
# -----------------------------------------------
# Two worker processes with one thread each, as on a two-core machine, each allowed 1 GiB.
# The dashboard takes a free port on this machine only: its usual port, 8787, may be held by
# another cluster's dashboard.


def resident_memory():
    """This process's resident memory, in bytes (run on each worker by ``client.run``)."""
    return psutil.Process().memory_info().rss


class MemorySampler:
    """Each worker's resident memory and this process's, every ``interval`` seconds."""

    def __init__(self, client, interval=0.25):
        self.client, self.interval = client, interval
        self.seconds, self.workers, self.here = [], [], []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        start = time.perf_counter()
        while not self._stop.wait(self.interval):
            self.workers.append(self.client.run(resident_memory))
            self.here.append(resident_memory())
            self.seconds.append(time.perf_counter() - start)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()


if __name__ == "__main__":
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        memory_limit=WORKER_MEMORY_LIMIT,
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.ERROR,  # no notes on workers starting and stopping
    )
    client = Client(cluster)  # on a real cluster: Client("tcp://scheduler-address:8786")

# %%
# The recipe, fitted from the dask array
# --------------------------------------
# The recipe's steps as a pipeline: 5x5 k-means filters with ``"crelu"`` and 4x4 max
# pooling, then PCA, inside a :class:`~skconv.BatchedTransformer` that learns the filters and
# the PCA from ``max_fit_samples`` of the images and transforms the dask array block by
# block; then :class:`~skconv.NystroemRidgeClassifier`, whose normal equations are summed
# on the workers. Its settings are the Fashion-MNIST recipe's, with 32 filters instead of 64
# and 1,000 landmarks instead of 6,000, and the filters and PCA learned from 2,000 images, for
# a set this small and a run this short.


def recipe(n_filters=64, n_components=6000, max_fit_samples=10_000):
    conv = ConvFeatureExtractor(
        "kmeans", n_filters=n_filters, kernel_size=5, activation="crelu", random_state=0
    )
    features = make_pipeline(ConvPool(conv, PoolTransformer(4)), PCA(256, random_state=0))
    return Pipeline(
        [
            (
                "features",
                BatchedTransformer(
                    features, batch_size=2000, max_fit_samples=max_fit_samples, random_state=0
                ),
            ),
            (
                "classifier",
                NystroemRidgeClassifier(
                    gamma=6e-6,
                    n_components=n_components,
                    alpha=0.003,
                    batch_size=2000,
                    random_state=0,
                ),
            ),
        ]
    )


if __name__ == "__main__":
    model = recipe(n_filters=32, n_components=1000, max_fit_samples=2000)
    with MemorySampler(client) as memory:
        start = time.perf_counter()
        model.fit(images, labels)
        fit_seconds = time.perf_counter() - start
    lazy_test = da.from_array(test_images, chunks=(BLOCK, 28, 28))
    predicted = model.predict(lazy_test)  # lazy: computed block by block on the workers
    accuracy = np.mean(predicted.compute() == test_labels)
    print(f"fitted in {fit_seconds:.1f} s on the cluster; test accuracy {accuracy:.3f}")

# %%
# Memory per worker
# -----------------
# Each line is one worker process, from the start of the fit to its end; the dotted line is
# this process, which runs the client and the scheduler. The fit has three stages: the
# client learns the filters and the PCA from the 2,000 sampled images (the workers only
# fetch those images: flat lines); the workers compute the features of every block to fetch
# the 1,000 landmark rows; then they compute them again, map them onto the landmarks and sum
# the normal equations. A worker holds a block of images, its features and the small sums at
# a time, not the data set, so its memory goes up and down by a block and stays far below
# its limit however many blocks go through it.
if __name__ == "__main__":
    workers = sorted(memory.workers[0])
    limit_mib = WORKER_MEMORY_LIMIT / 2**20
    fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
    for number, worker in enumerate(workers, 1):
        worker_mib = [sample[worker] / 2**20 for sample in memory.workers]
        ax.plot(memory.seconds, worker_mib, label=f"worker {number}")
    ax.plot(
        memory.seconds,
        [sample / 2**20 for sample in memory.here],
        color="black",
        linestyle=":",
        label="this process (client, scheduler)",
    )
    ax.axhline(limit_mib, color="grey", linestyle="--")
    ax.text(0, limit_mib * 0.97, "each worker's limit", va="top", color="grey")
    ax.set_ylim(0, limit_mib * 1.08)
    ax.set_xlabel("seconds into the fit")
    ax.set_ylabel("resident memory (MiB)")
    ax.set_title(f"The recipe fitted on {images.shape[0]:,} {data_name} images")
    ax.legend(loc="center right")
    plt.show()

    client.close()
    cluster.close()
