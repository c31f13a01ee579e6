"""The peers both Fashion-MNIST benchmarks run against the skconv recipe, in one place.

``benchmarks/fashion_mnist.py`` (the full training set, the CNN given the recipe's time) and
``benchmarks/learning_curve.py`` (subsets of the training set, the CNN trained to convergence)
import from here: the kernel head the peers' features go into, the HOG and pixel features, the
two-conv CNN and its training loop, and the measure of a process's peak memory. PyTorch is
imported only by the CNN's functions: it is an optional peer, never a dependency.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a source checkout without installing
    sys.path.insert(0, str(ROOT))

# HOG on 28x28: 9 orientations, 4x4-pixel cells, 2x2-cell blocks: 1,296 features per image.
HOG_SETTINGS = {"orientations": 9, "pixels_per_cell": (4, 4), "cells_per_block": (2, 2)}
CNN_BATCH_SIZE = 128
CNN_LEARNING_RATE = 1e-3
# The usual augmentation for 28x28 images: each training image moved by up to 2 pixels.
CNN_MAX_SHIFT = 2


def peak_rss_mib() -> float:
    """This process's peak resident memory so far, in MiB."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def run_in_new_process(script: str, arguments: list[str]) -> dict:
    """Run ``script`` with ``arguments`` in a fresh interpreter; return its last stdout line.

    The child prints its figures as one JSON line, last; its progress goes to stderr.
    """
    command = [sys.executable, script, *arguments]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def kernel_ridge_head(
    X_train: np.ndarray,
    recipe,
    random_state: int = 0,
):
    """The recipe's classifier, for the peers' features: RBF Nystroem kernel ridge, streamed,
    with the landmarks and ``alpha`` of ``recipe`` (an unfitted ``ImageClassifier``).

    gamma follows :class:`sklearn.svm.SVC`'s ``"scale"`` rule on the training features (the
    recipe's own gamma is within a factor of two of that rule, and factors 0.5 to 2 scored
    alike on validation). The landmarks are capped by the number of training rows.
    """
    from skconv import NystroemRidgeClassifier

    gamma = 1.0 / (X_train.shape[1] * float(X_train.var()))
    return NystroemRidgeClassifier(
        gamma=gamma,
        n_components=min(recipe.n_components, len(X_train)),
        alpha=recipe.alpha,
        batch_size=2000,
        random_state=random_state,
    )


def pixel_features(images: np.ndarray) -> np.ndarray:
    """The pixels as float32 rows in [0, 1]."""
    return images.reshape(len(images), -1).astype(np.float32) / 255


def hog_features(images: np.ndarray) -> np.ndarray:
    """:func:`skimage.feature.hog` of every image, float32, computed on all cores."""
    from joblib import Parallel, delayed
    from skimage.feature import hog

    def chunk(batch):
        return np.stack([hog(image, **HOG_SETTINGS) for image in batch]).astype(np.float32)

    chunks = Parallel(n_jobs=-1)(
        delayed(chunk)(images[start : start + 2000]) for start in range(0, len(images), 2000)
    )
    return np.concatenate(chunks)


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


class CNN:
    """The benchmarks' two-conv network for 28x28 grey images, with its optimiser.

    Two conv layers (32 and 64 filters of 5x5, ReLU, 2x2 max pooling), a dense layer of 256
    with dropout 0.3, softmax over 10 classes; Adam (learning rate 0.001) on batches of 128,
    on all cores. ``shift=True`` moves each training image by a random offset of up to
    ``CNN_MAX_SHIFT`` pixels in each direction (zeros fill in) every time it is drawn.
    """

    def __init__(self, *, shift: bool, seed: int = 0):
        import torch
        from torch import nn

        torch.manual_seed(seed)
        torch.set_num_threads(os.cpu_count() or 1)
        self.torch = torch
        self.shift = shift
        self.generator = torch.Generator().manual_seed(seed)
        self.model = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, 256),
            nn.ReLU(),
            nn.Dropout(0.3),
            nn.Linear(256, 10),
        )
        self.optimiser = torch.optim.Adam(self.model.parameters(), lr=CNN_LEARNING_RATE)
        self.loss = nn.CrossEntropyLoss()

    def tensor(self, images: np.ndarray):
        """uint8 images (n, 28, 28) as a float tensor (n, 1, 28, 28) in [0, 1]."""
        return self.torch.from_numpy(images.astype(np.float32) / 255).unsqueeze(1)

    def _shifted(self, batch):
        torch = self.torch
        s = CNN_MAX_SHIFT
        padded = torch.nn.functional.pad(batch, (s, s, s, s))
        offsets = torch.randint(0, 2 * s + 1, (len(batch), 2), generator=self.generator)
        height, width = batch.shape[2:]
        return torch.stack(
            [
                padded[i, :, dy : dy + height, dx : dx + width]
                for i, (dy, dx) in enumerate(offsets.tolist())
            ]
        )

    def train_epoch(self, X, y, deadline: float = float("inf")) -> float:
        """One pass over (X, y) in a random order, stopped at ``deadline`` (perf_counter).

        Returns the fraction of the pass done (1.0 unless the deadline cut it).
        """
        torch = self.torch
        order = torch.randperm(len(X), generator=self.generator)
        self.model.train()
        for first in range(0, len(order), CNN_BATCH_SIZE):
            rows = order[first : first + CNN_BATCH_SIZE]
            batch = self._shifted(X[rows]) if self.shift else X[rows]
            self.optimiser.zero_grad()
            self.loss(self.model(batch), y[rows]).backward()
            self.optimiser.step()
            if time.perf_counter() >= deadline:
                return (first + len(rows)) / len(order)
        return 1.0

    def predict(self, X) -> np.ndarray:
        self.model.eval()
        with self.torch.no_grad():
            return self.torch.cat(
                [self.model(X[i : i + 1000]).argmax(1) for i in range(0, len(X), 1000)]
            ).numpy()
