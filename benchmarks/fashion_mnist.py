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
import sys
import time
from pathlib import Path

from peers import (
    CNN,
    hog_features,
    kernel_ridge_head,
    peak_rss_mib,
    pixel_features,
    run_in_new_process,
    torch_available,
)

N_VALIDATION_TRAIN = 50_000
ENTRIES = ("recipe", "raw_pixels", "hog", "cnn")


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


def run_recipe(args, start):
    from skconv.recipes import fashion_mnist_pipeline

    X_train, y_train, X_eval, y_eval = load_split(args.data_home, args.validation)
    model = fashion_mnist_pipeline(n_jobs=-1, random_state=0, verbose=args.verbose)
    model.fit(X_train, y_train)
    return float(model.score(X_eval, y_eval)), {}


def run_raw_pixels(args, start):
    from skconv.recipes import fashion_mnist_pipeline

    X_train, y_train, X_eval, y_eval = load_split(args.data_home, args.validation)
    X_train, X_eval = pixel_features(X_train), pixel_features(X_eval)
    model = kernel_ridge_head(X_train, fashion_mnist_pipeline()).fit(X_train, y_train)
    return float(model.score(X_eval, y_eval)), {}


def run_hog(args, start):
    from skconv.recipes import fashion_mnist_pipeline

    X_train, y_train, X_eval, y_eval = load_split(args.data_home, args.validation)
    H_train, H_eval = hog_features(X_train), hog_features(X_eval)
    model = kernel_ridge_head(H_train, fashion_mnist_pipeline()).fit(H_train, y_train)
    return float(model.score(H_eval, y_eval)), {}


def run_cnn(args, start):
    """The CNN (no augmentation), trained for the recipe's wall-clock time."""
    import torch

    X_train, y_train, X_eval, y_eval = load_split(args.data_home, args.validation)
    cnn = CNN(shift=False, seed=0)
    X_train, X_eval = cnn.tensor(X_train), cnn.tensor(X_eval)
    y_train = torch.from_numpy(y_train.astype("int64"))
    # Leave time to score the evaluation images within the budget.
    deadline = start + args.cnn_seconds - 10
    epochs = 0.0
    while time.perf_counter() < deadline:
        epochs += cnn.train_epoch(X_train, y_train, deadline)
    accuracy = float((cnn.predict(X_eval) == y_eval).mean())
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
    arguments = ["--entry", entry]
    if args.data_home:
        arguments += ["--data-home", str(args.data_home)]
    if args.validation:
        arguments.append("--validation")
    if args.verbose:
        arguments += ["--verbose", str(args.verbose)]
    for key, value in extra.items():
        arguments += [f"--{key.replace('_', '-')}", str(value)]
    print(f"running {entry} ...", file=sys.stderr, flush=True)
    return run_in_new_process(__file__, arguments)


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
