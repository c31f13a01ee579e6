"""
Streaming more images than fit in memory, on dask
=================================================

A convolution makes data larger before pooling makes it smaller: 120,000 28x28 images with
eight 7x7 filters and ``"same"`` padding give 2.8 GiB of float32 feature maps, for 360 MiB of
images. Computing features for all of them at once would need all of those maps at once.

Here the images are a :mod:`dask.array` that exists only as a recipe: each block of 1,000
images is generated from its own seed when a worker needs it. A dask ``LocalCluster`` with two
workers convolves and pools one block per task with the same fitted skconv pipeline, and a
linear classifier learns block by block (``SGDClassifier.partial_fit``) while only a few blocks
are in flight. Memory stays flat however many images go through. On a real cluster only the
line that makes the ``Client`` changes: ``Client("tcp://scheduler:8786")``.

This needs the ``dask`` extra: ``pip install ".[dask,plot]"`` from a clone of skconv.
"""

# %%
# Images made on demand
# ---------------------
# Each image is a sine grating at one of four orientations (the label) with random frequency
# and phase, drowned in noise. A block's images and labels depend only on the block's seed,
# so any worker can make any block, in any order, and make it again if needed.
import time

import dask
import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
import psutil
from distributed import Client, LocalCluster, as_completed
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import Pipeline

from skconv import ConvFeatureExtractor, PoolTransformer

SIZE, PER_BLOCK, N_BLOCKS, N_CLASSES = 28, 1000, 120, 4


def block_labels(seed):
    return np.random.default_rng([seed, 0]).integers(0, N_CLASSES, PER_BLOCK)


def block_images(seed):
    rng = np.random.default_rng([seed, 1])
    angle = block_labels(seed) * np.pi / N_CLASSES + rng.normal(0, 0.1, PER_BLOCK)
    frequency = rng.uniform(0.1, 0.25, PER_BLOCK)
    phase = rng.uniform(0, 2 * np.pi, PER_BLOCK)
    rows, cols = np.mgrid[:SIZE, :SIZE]
    along = cols * np.cos(angle)[:, None, None] + rows * np.sin(angle)[:, None, None]
    gratings = np.sin(2 * np.pi * frequency[:, None, None] * along + phase[:, None, None])
    noise = rng.normal(0, 3.0, (PER_BLOCK, SIZE, SIZE))
    return (gratings + noise).astype(np.float32)


images = da.concatenate(
    [
        da.from_delayed(
            dask.delayed(block_images)(seed), shape=(PER_BLOCK, SIZE, SIZE), dtype=np.float32
        )
        for seed in range(N_BLOCKS)
    ]
)
labels = np.concatenate([block_labels(seed) for seed in range(N_BLOCKS)])  # 1 MB: kept
print(f"{images.shape[0]:,} images in {images.numblocks[0]} blocks of {PER_BLOCK}: "
      f"{images.nbytes / 2**20:,.0f} MiB if made at once")  # fmt: skip

# %%
# One pipeline, fitted once
# -------------------------
# The Gabor bank is fixed, so fitting only records the image shape and picks the convolution
# algorithm for batches of the size it sees: one block, the size every task will get.
# Each 28x28 image gives eight 28x28 maps; 4x4 max pooling keeps 7x7x8 = 392 features.
features = Pipeline(
    [
        ("conv", ConvFeatureExtractor(filters="gabor", n_filters=8, kernel_size=7,
                                      activation="abs")),
        ("pool", PoolTransformer(pool_size=4, mode="max")),
    ]
).fit(block_images(0))  # fmt: skip
pooled_shape = features.named_steps["pool"].output_shape_
maps_bytes = images.shape[0] * np.prod(features.named_steps["conv"].output_shape_) * 4
print(f"{np.prod(pooled_shape)} features per image; all feature maps at once: "
      f"{maps_bytes / 2**30:.1f} GiB")  # fmt: skip

# The feature graph: chunks along samples only, so each task is one block of whole images.
block_features = images.map_blocks(
    features.transform,
    dtype=np.float32,
    drop_axis=[1, 2],
    new_axis=[1],
    chunks=(images.chunks[0], (int(np.prod(pooled_shape)),)),
)

# %%
# Streaming through a cluster
# ---------------------------
# Two workers with one thread each, as on a two-core machine. They run in this process
# (``processes=False``) so that the script runs as it is, without the ``if __name__ ==
# "__main__"`` guard that worker processes would need, and so that one number, this process's
# resident memory, covers everything; numpy releases the GIL in the convolution's matrix
# products, so the two threads work in parallel. The loop keeps at most ``IN_FLIGHT`` blocks
# submitted; each finished block trains the classifier and is dropped. Every few blocks it
# records the memory and the accuracy on a block the classifier never trains on.
IN_FLIGHT = 4
HELD_OUT = N_BLOCKS - 1

# The dashboard takes a free port on this machine only (``"127.0.0.1:0"``): its default, 8787,
# may be held by another cluster's dashboard (dask would then warn and move it anyway), and
# ``dashboard_address=None`` would not free it, the scheduler's web server binding it regardless.
# ``client.dashboard_link`` says where it is, when ``bokeh`` is installed.
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                       dashboard_address="127.0.0.1:0")  # fmt: skip
client = Client(cluster)

test_features = client.compute(block_features.blocks[HELD_OUT]).result()
test_labels = labels[HELD_OUT * PER_BLOCK :]
classifier = SGDClassifier(loss="log_loss", alpha=1e-4, average=True, random_state=0)


def memory_mib():
    return psutil.Process().memory_info().rss / 2**20


block_of = {}  # future key -> block index


def submit(index):
    future = client.compute(block_features.blocks[index])
    block_of[future.key] = index
    return future


memory_before = memory_mib()
seen, accuracy, memory, seconds = [], [], [], []
start = time.perf_counter()
stream = as_completed([submit(index) for index in range(IN_FLIGHT)])
next_block, done = IN_FLIGHT, 0
for future in stream:
    index = block_of.pop(future.key)
    block = future.result()
    del future  # the cluster forgets a block's features once no future refers to them
    if next_block < HELD_OUT:
        stream.add(submit(next_block))
        next_block += 1
    y = labels[index * PER_BLOCK : (index + 1) * PER_BLOCK]
    classifier.partial_fit(block, y, classes=np.arange(N_CLASSES))
    done += 1
    if done % 6 == 0 or done == HELD_OUT:
        seen.append(done * PER_BLOCK)
        accuracy.append(classifier.score(test_features, test_labels))
        memory.append(memory_mib())
        seconds.append(time.perf_counter() - start)

client.close()
cluster.close()
print(f"{done * PER_BLOCK:,} images streamed in {seconds[-1]:.1f} s; held-out accuracy "
      f"{accuracy[-1]:.3f} (chance {1 / N_CLASSES:.2f})")  # fmt: skip
print(f"resident memory: {memory_before:.0f} MiB before streaming, at most {max(memory):.0f} "
      "MiB while streaming")  # fmt: skip

# %%
# Memory stays flat
# -----------------
# The left panel is the resident memory of the process (cluster, workers and all) while the
# images stream through, next to what the feature maps of all images would take at once. The
# right panel is what the streaming was for: a classifier that learns from more and more
# images it never had in memory together.
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6), layout="constrained")
maps_mib = maps_bytes / 2**20
left.plot(seen, memory, marker="o", label="while streaming")
left.axhline(memory_before, color="tab:blue", linestyle=":", label="before streaming")
left.axhline(maps_mib, color="grey", linestyle="--")
left.text(seen[0], maps_mib * 0.97, "all feature maps at once", va="top", color="grey")
left.set_ylim(0, maps_mib * 1.08)
left.set_xlabel("images streamed")
left.set_ylabel("resident memory (MiB)")
left.legend(loc="center right")
right.plot(seen, accuracy, marker="o")
right.axhline(1 / N_CLASSES, color="grey", linestyle="--")
right.text(seen[-1], 1 / N_CLASSES + 0.02, "chance", ha="right", color="grey")
right.set_ylim(0, 1)
right.set_xlabel("images streamed")
right.set_ylabel("held-out accuracy")
plt.show()
