"""Fashion-MNIST: the skconv recipe against raw pixels, HOG and a small CNN, in one run.

Run ``python benchmarks/fashion_mnist.py`` from a source checkout. Each entry runs in a process
of its own, so its ``seconds`` (data loaded to test scored) and ``peak_rss_mib`` (the process's
peak resident memory, read from ``/proc/self/status`` at the end, or ``getrusage`` elsewhere)
are its alone:

- ``recipe``: :func:`skconv.recipes.fashion_mnist_pipeline`;
- ``raw_pixels``: the recipe's classifier (RBF kernel ridge, streamed) on the pixels;
- ``hog``: the same classifier on :func:`skimage.feature.hog` features;
- ``cnn`` (where torch is importable): two conv layers trained with Adam on the same cores
  for the recipe's wall-clock time.

It prints a table and, last, one JSON line: ``{"test_accuracy", "seconds", "peak_rss_mib",
"peers": {name: {same keys}}}``, the top-level figures being the recipe's. ``--recipe-only``
runs the recipe alone (``"peers"`` is then empty). ``--validation`` fits on the first 50,000
training images and scores the last 10,000 instead of the test set: the split every setting
here was chosen on. The data are found as :func:`skconv.datasets.fetch_fashion_mnist` finds
them (``--data-home`` to name a folder).
"""

from __future__ import annotations

import argparse
import contextlib
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

N_VALIDATION_TRAIN = 50_000
# The peers' kernel map: as many landmarks as the recipe's.
N_COMPONENTS = 6000
# HOG on 28x28: 9 orientations, 4x4-pixel cells, 2x2-cell blocks: 1,296 features per image.
HOG_SETTINGS = {"orientations": 9, "pixels_per_cell": (4, 4), "cells_per_block": (2, 2)}
CNN_BATCH_SIZE = 128
CNN_LEARNING_RATE = 1e-3
ENTRIES = ("recipe", "raw_pixels", "hog", "cnn")


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


def load_split(data_home, validation: bool):
    """(train images, train labels, eval images, eval labels) as uint8 stacks and int labels."""
    from skconv.datasets import fetch_fashion_mnist

    train = fetch_fashion_mnist(data_home=data_home, subset="train")
    if validation:
        images, target = train.images, train.target
        n = N_VALIDATION_TRAIN
        return images[:n], target[:n], images[n:], target[n:]
    test = fetch_fashion_mnist(data_home=data_home, subset="test")
    return train.images, train.target, test.images, test.target


def kernel_ridge_head(X_train: np.ndarray):
    """The recipe's classifier, for the peers' features: RBF Nystroem kernel ridge, streamed.

    gamma follows :class:`sklearn.svm.SVC`'s ``"scale"`` rule on the training features (the
    recipe's own gamma is within a factor of two of that rule, and factors 0.5 to 2 scored
    alike on validation).
    """
    from skconv._kernel_head import NystroemRidgeClassifier

    gamma = 1.0 / (X_train.shape[1] * float(X_train.var()))
    return NystroemRidgeClassifier(
        gamma=gamma, n_components=N_COMPONENTS, alpha=0.003, batch_size=2000, random_state=0
    )


def hog_features(images: np.ndarray) -> np.ndarray:
    from joblib import Parallel, delayed
    from skimage.feature import hog

    def chunk(batch):
        return np.stack([hog(image, **HOG_SETTINGS) for image in batch]).astype(np.float32)

    chunks = Parallel(n_jobs=-1)(
        delayed(chunk)(images[start : start + 2000]) for start in range(0, len(images), 2000)
    )
    return np.concatenate(chunks)


def run_recipe(args, start):
    from skconv.recipes import fashion_mnist_pipeline

    X_train, y_train, X_eval, y_eval = load_split(args.data_home, args.validation)
    model = fashion_mnist_pipeline(n_jobs=-1, random_state=0, verbose=args.verbose)
    model.fit(X_train, y_train)
    return float(model.score(X_eval, y_eval)), {}


def run_raw_pixels(args, start):
    X_train, y_train, X_eval, y_eval = load_split(args.data_home, args.validation)
    X_train = X_train.reshape(len(X_train), -1).astype(np.float32) / 255
    X_eval = X_eval.reshape(len(X_eval), -1).astype(np.float32) / 255
    model = kernel_ridge_head(X_train).fit(X_train, y_train)
    return float(model.score(X_eval, y_eval)), {}


def run_hog(args, start):
    X_train, y_train, X_eval, y_eval = load_split(args.data_home, args.validation)
    H_train, H_eval = hog_features(X_train), hog_features(X_eval)
    model = kernel_ridge_head(H_train).fit(H_train, y_train)
    return float(model.score(H_eval, y_eval)), {}


def run_cnn(args, start):
    import torch
    from torch import nn

    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    X_train, y_train, X_eval, y_eval = load_split(args.data_home, args.validation)

    def tensor(images):
        return torch.from_numpy(images.astype(np.float32) / 255).unsqueeze(1)

    X_train, X_eval = tensor(X_train), tensor(X_eval)
    y_train = torch.from_numpy(y_train.astype(np.int64))
    model = nn.Sequential(
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
    optimiser = torch.optim.Adam(model.parameters(), lr=CNN_LEARNING_RATE)
    loss = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    # Leave time to score the evaluation images within the budget.
    deadline = start + args.cnn_seconds - 10
    epochs = 0.0
    while time.perf_counter() < deadline:
        order = torch.randperm(len(X_train), generator=generator)
        model.train()
        for i, first in enumerate(range(0, len(order), CNN_BATCH_SIZE)):
            rows = order[first : first + CNN_BATCH_SIZE]
            optimiser.zero_grad()
            loss(model(X_train[rows]), y_train[rows]).backward()
            optimiser.step()
            if time.perf_counter() >= deadline:
                epochs += (i + 1) * CNN_BATCH_SIZE / len(order)
                break
        else:
            epochs += 1
    model.eval()
    with torch.no_grad():
        predicted = torch.cat(
            [model(X_eval[i : i + 1000]).argmax(1) for i in range(0, len(X_eval), 1000)]
        )
    accuracy = float((predicted.numpy() == y_eval).mean())
    return accuracy, {"epochs": round(epochs, 2)}


RUNNERS = {"recipe": run_recipe, "raw_pixels": run_raw_pixels, "hog": run_hog, "cnn": run_cnn}


def run_entry(args) -> None:
    """Run one entry in this process and print its figures as a JSON line."""
    start = time.perf_counter()
    # Progress (--verbose) goes to stderr, shown live; stdout carries only the JSON line.
    with contextlib.redirect_stdout(sys.stderr):
        accuracy, extra = RUNNERS[args.entry](args, start)
    result = {
        "test_accuracy": round(accuracy, 4),
        "seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mib": round(peak_rss_mib()),
        **extra,
    }
    print(json.dumps(result), flush=True)


def spawn(entry: str, args, **extra) -> dict:
    """Run one entry in a fresh interpreter; return its JSON line."""
    command = [sys.executable, __file__, "--entry", entry]
    if args.data_home:
        command += ["--data-home", str(args.data_home)]
    if args.validation:
        command.append("--validation")
    if args.verbose:
        command += ["--verbose", str(args.verbose)]
    for key, value in extra.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    print(f"running {entry} ...", file=sys.stderr, flush=True)
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe-only", action="store_true", help="run the recipe alone")
    parser.add_argument(
        "--validation",
        action="store_true",
        help="fit on the first 50,000 training images, score the last 10,000",
    )
    parser.add_argument("--data-home", type=Path, default=None, help="folder of the IDX files")
    parser.add_argument("--verbose", type=int, default=0, help="progress of each entry")
    parser.add_argument("--entry", choices=ENTRIES, help=argparse.SUPPRESS)
    parser.add_argument("--cnn-seconds", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.entry:
        run_entry(args)
        return

    results = {"recipe": spawn("recipe", args)}
    if not args.recipe_only:
        results["raw_pixels"] = spawn("raw_pixels", args)
        results["hog"] = spawn("hog", args)
        if torch_available():
            results["cnn"] = spawn("cnn", args, cnn_seconds=results["recipe"]["seconds"])

    scored_on = "validation (last 10,000 training images)" if args.validation else "test"
    print(f"{'entry':<12} {scored_on + ' accuracy':>28} {'seconds':>9} {'peak RSS MiB':>13}")
    for name, figures in results.items():
        print(
            f"{name:<12} {figures['test_accuracy']:>28.4f} {figures['seconds']:>9.1f} "
            f"{figures['peak_rss_mib']:>13.0f}"
        )
    summary = dict(results["recipe"])
    summary["peers"] = {name: figures for name, figures in results.items() if name != "recipe"}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
