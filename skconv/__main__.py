"""The main job: ``python -m skconv`` (or ``skconv``) classifies scikit-learn's digits.

It fits a ConvFeatureExtractor + PoolTransformer + StandardScaler + classifier pipeline on the
first half of ``load_digits()`` and scores it on the second half (scikit-learn's own split in
its digits example, no shuffling), next to an SVC on the raw pixels. The defaults are the
settings a 10-fold grid search on the training half picks (``--grid-search`` reruns it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from . import ConvFeatureExtractor, PoolTransformer, __version__
from ._conv import PRESETS

DEFAULT_KERNEL_SIZE = 5
ACTIVATIONS = ("relu", "abs", "crelu", "triangle", "none")

# The grid --grid-search explores: every preset (5x5 kernels where the size can be chosen, the
# preset's default number of filters) against max/avg pooling of 2x2 windows with stride 2 or 1.
SEARCHED_PRESETS = ("seed", "edges", "gabor", "random", "pca", "kmeans")
SEARCHED_POOLS = (
    {"pool_size": 2, "stride": 2, "mode": "max"},
    {"pool_size": 2, "stride": 2, "mode": "avg"},
    {"pool_size": 2, "stride": 1, "mode": "max"},
    {"pool_size": 2, "stride": 1, "mode": "avg"},
)


def build_parser() -> argparse.ArgumentParser:
    invoked_as_script = Path(sys.argv[0]).name == "skconv"
    parser = argparse.ArgumentParser(
        prog="skconv" if invoked_as_script else "python -m skconv",
        description=(
            "Fit a ConvFeatureExtractor + PoolTransformer + StandardScaler + classifier "
            "pipeline on the digits bundled with scikit-learn (first half to train, second "
            "half to test, no shuffling) and compare it with an SVC on the raw pixels."
        ),
    )
    parser.add_argument(
        "--dataset",
        choices=("digits", "fashion-mnist"),
        default="digits",
        help=(
            "digits (bundled with scikit-learn; the default) or fashion-mnist: the real-images "
            "recipe of skconv.recipes on the official split (the bank and classifier options "
            "below apply to digits only)"
        ),
    )
    bank = parser.add_argument_group("filter bank")
    bank.add_argument(
        "--filters", choices=PRESETS, default="gabor", help="preset bank (default: gabor)"
    )
    bank.add_argument(
        "--kernel-size",
        type=int,
        default=None,
        metavar="K",
        help=f"kernel size of presets that take one (default: {DEFAULT_KERNEL_SIZE})",
    )
    bank.add_argument(
        "--n-filters",
        type=int,
        default=None,
        metavar="N",
        help="number of filters of gabor, random, pca and kmeans (default: the preset's)",
    )
    bank.add_argument("--activation", choices=ACTIVATIONS, default="abs", help="default: abs")
    pooling = parser.add_argument_group("pooling")
    pooling.add_argument("--pool-mode", choices=("max", "avg"), default="avg", help="default: avg")
    pooling.add_argument(
        "--pool-size", type=int, default=2, metavar="P", help="window size (default: 2)"
    )
    pooling.add_argument(
        "--pool-stride", type=int, default=1, metavar="S", help="window step (default: 1)"
    )
    model = parser.add_argument_group("classifier")
    model.add_argument(
        "--classifier", choices=("svc", "logreg"), default="svc", help="default: svc"
    )
    model.add_argument(
        "-C",
        dest="C",
        type=float,
        default=10.0,
        help="inverse regularisation strength of the classifier (default: 10)",
    )
    run = parser.add_argument_group("run")
    run.add_argument(
        "--grid-search",
        action="store_true",
        help=(
            "choose the preset and pooling by grid search (cross-validation on the training "
            "half only, conv outputs cached) instead of using the options above"
        ),
    )
    run.add_argument(
        "--cv", type=int, default=10, metavar="FOLDS", help="folds of --grid-search (default: 10)"
    )
    run.add_argument(
        "--plot-filters", metavar="PATH", help="write a PNG of the fitted filter bank to PATH"
    )
    run.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="parallel jobs (default: 1 for the pipeline, all cores for --grid-search)",
    )
    run.add_argument("--random-state", type=int, default=0, help="seed (default: 0)")
    run.add_argument("--version", action="version", version=f"skconv {__version__}")
    return parser


def make_extractor(filters: str, kernel_size, n_filters, activation, random_state, n_jobs=None):
    """A ConvFeatureExtractor for a preset, passing a size only to presets that take one."""
    takes_size = filters != "seed"
    takes_count = filters not in ("seed", "edges")
    if kernel_size is not None and not takes_size:
        raise ValueError("--kernel-size does not apply to the seed preset (its kernels are 3x3)")
    if n_filters is not None and not takes_count:
        raise ValueError(f"--n-filters does not apply to the {filters} preset")
    if takes_size and kernel_size is None:
        kernel_size = DEFAULT_KERNEL_SIZE
    return ConvFeatureExtractor(
        filters=filters,
        image_shape=(8, 8),
        kernel_size=kernel_size,
        n_filters=n_filters,
        activation=None if activation == "none" else activation,
        n_jobs=n_jobs,
        random_state=random_state,
    )


def make_classifier(name: str, C: float, random_state: int):
    if name == "svc":
        return SVC(C=C)
    return LogisticRegression(C=C, max_iter=5000, random_state=random_state)


def make_pipeline(args, memory=None) -> Pipeline:
    return Pipeline(
        [
            (
                "conv",
                make_extractor(
                    args.filters,
                    args.kernel_size,
                    args.n_filters,
                    args.activation,
                    args.random_state,
                    args.n_jobs,
                ),
            ),
            (
                "pool",
                PoolTransformer(
                    pool_size=args.pool_size, stride=args.pool_stride, mode=args.pool_mode
                ),
            ),
            ("scale", StandardScaler()),
            ("clf", make_classifier(args.classifier, args.C, args.random_state)),
        ],
        memory=memory,
    )


def search_grid(args) -> list[dict]:
    """The parameter grid of --grid-search, with the options' activation and seed."""
    grid = []
    for preset in SEARCHED_PRESETS:
        conv = make_extractor(preset, None, None, args.activation, args.random_state)
        grid.append({"conv": [conv], "pool": [PoolTransformer(**pool) for pool in SEARCHED_POOLS]})
    return grid


def describe(pipeline: Pipeline) -> str:
    conv, pool, clf = pipeline["conv"], pipeline["pool"], pipeline["clf"]
    size = "" if conv.kernel_size is None else f" {conv.kernel_size}x{conv.kernel_size}"
    count = "" if conv.n_filters is None else f" x{conv.n_filters}"
    return (
        f"conv({conv.filters}{size}{count}, activation={conv.activation}) + "
        f"pool({pool.mode} {pool.pool_size}x{pool.pool_size}, stride {pool.stride}) + "
        f"StandardScaler + {type(clf).__name__}(C={clf.C:g})"
    )


def run_fashion_mnist() -> int:
    """Fit the Fashion-MNIST recipe on the official training set and score the test set."""
    from .datasets import fetch_fashion_mnist
    from .recipes import fashion_mnist_pipeline

    started = time.perf_counter()
    try:
        train = fetch_fashion_mnist(subset="train")
        test = fetch_fashion_mnist(subset="test")
    except FileNotFoundError as exc:
        print(f"skconv: {exc}", file=sys.stderr)
        return 1
    print(
        f"skconv {__version__}: Fashion-MNIST, {len(train.images)} training and "
        f"{len(test.images)} test images of 28x28 pixels (the official split)",
        flush=True,
    )
    model = fashion_mnist_pipeline(n_jobs=-1, verbose=1)
    model.fit(train.images, train.target)
    accuracy = model.score(test.images, test.target)
    print(f"skconv recipe test accuracy: {accuracy:.4f}")
    print(f"time: {time.perf_counter() - started:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.dataset == "fashion-mnist":
        return run_fashion_mnist()
    try:
        pipeline = make_pipeline(args)
    except ValueError as exc:
        parser.error(str(exc))
    if args.plot_filters:
        from .plotting import _pyplot

        try:
            plt = _pyplot()
        except ImportError as exc:
            parser.error(str(exc))
        plt.switch_backend("Agg")

    started = time.perf_counter()
    digits = load_digits()
    half = len(digits.data) // 2
    X_train, X_test = digits.data[:half], digits.data[half:]
    y_train, y_test = digits.target[:half], digits.target[half:]
    print(
        f"skconv {__version__}: digits, {half} training and {len(X_test)} test images of 8x8 "
        "pixels (first half / second half, no shuffling)",
        flush=True,
    )

    step = time.perf_counter()
    print("[1/3] raw-pixel baseline: SVC(gamma=0.001) ...", end=" ", flush=True)
    baseline_accuracy = SVC(gamma=0.001).fit(X_train, y_train).score(X_test, y_test)
    print(f"done in {time.perf_counter() - step:.1f} s", flush=True)

    step = time.perf_counter()
    if args.grid_search:
        n_candidates = sum(len(grid["pool"]) for grid in search_grid(args))
        print(
            f"[2/3] grid search on the training half: {len(SEARCHED_PRESETS)} banks x "
            f"{len(SEARCHED_POOLS)} poolings, {args.cv}-fold cross-validation "
            f"({n_candidates * args.cv} fits, conv outputs cached) ...",
            flush=True,
        )
        with tempfile.TemporaryDirectory(prefix="skconv-cache-") as cache:
            search = GridSearchCV(
                make_pipeline(args, memory=cache),
                search_grid(args),
                cv=args.cv,
                n_jobs=-1 if args.n_jobs is None else args.n_jobs,
            )
            search.fit(X_train, y_train)
        pipeline = search.best_estimator_
        pipeline.set_params(memory=None)
        print(
            f"      best: {describe(pipeline)}, cross-validated accuracy "
            f"{search.best_score_:.4f} ({time.perf_counter() - step:.1f} s)",
            flush=True,
        )
    else:
        print(f"[2/3] skconv pipeline: {describe(pipeline)} ...", end=" ", flush=True)
        pipeline.fit(X_train, y_train)
        print(f"done in {time.perf_counter() - step:.1f} s", flush=True)

    step = time.perf_counter()
    print("[3/3] scoring on the test half ...", end=" ", flush=True)
    accuracy = pipeline.score(X_test, y_test)
    print(f"done in {time.perf_counter() - step:.1f} s", flush=True)

    if args.plot_filters:
        from .plotting import plot_filters

        conv = pipeline["conv"]
        fig = plot_filters(conv, title=f"skconv filters: {conv.filters}")
        fig.savefig(args.plot_filters, dpi=100)
        plt.close(fig)
        print(f"wrote the filter bank to {args.plot_filters}")

    print(f"raw-pixel SVC test accuracy:   {baseline_accuracy:.4f}")
    print(f"skconv pipeline test accuracy: {accuracy:.4f}")
    print(f"time taken: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
