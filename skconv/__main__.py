"""The main job: ``python -m skconv`` (or ``skconv``) classifies scikit-learn's digits.

It fits a ConvFeatureExtractor + PoolTransformer + StandardScaler + classifier pipeline on the
first half of ``load_digits()`` and scores it on the second half (scikit-learn's own split in
its digits example, no shuffling), next to an SVC on the raw pixels. The defaults are the
settings a 10-fold grid search on the training half picks (``--grid-search`` reruns it).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from . import ConvFeatureExtractor, PoolTransformer, __version__
from ._geometry import conv_output_shape, pool_output_shape, resolve_padding
from ._presets import PRESETS, RENAMED_PRESETS, build_bank
from ._validation import as_pair

DEFAULT_KERNEL_SIZE = 5
#: Rows and columns of scikit-learn's digits.
DIGITS_SHAPE = (8, 8)
ACTIVATIONS = ("relu", "abs", "crelu", "triangle", "none")

# The grid --grid-search explores: every preset (5x5 kernels where the size can be chosen, the
# preset's default number of filters) against max/avg pooling of 2x2 windows with stride 2 or 1.
SEARCHED_PRESETS = tuple(PRESETS)
SEARCHED_POOLS = (
    {"pool_size": 2, "stride": 2, "mode": "max"},
    {"pool_size": 2, "stride": 2, "mode": "avg"},
    {"pool_size": 2, "stride": 1, "mode": "max"},
    {"pool_size": 2, "stride": 1, "mode": "avg"},
)


def _parse_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int; got {text!r}") from None


def _int_at_least(minimum: int, why: str = ""):
    """An argparse ``type=``: an int of at least ``minimum``, ``why`` saying why if given."""

    def parse(text: str) -> int:
        value = _parse_int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}{why}; got {value}")
        return value

    return parse


def _positive_float(text: str) -> float:
    """An argparse ``type=``: a finite float above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number; got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number; got {text}")
    return value


def _n_jobs(text: str) -> int:
    """An argparse ``type=``: joblib's n_jobs, any int but 0."""
    value = _parse_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be a positive int, or -1 for all cores; got 0")
    return value


def _seed(text: str) -> int:
    """An argparse ``type=``: a seed numpy accepts, 0 to 2**32 - 1."""
    value = _parse_int(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be from 0 to 2**32 - 1; got {value}")
    return value


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
    renamed = ", ".join(
        f"{old} is the deprecated name of {new}" for old, new in RENAMED_PRESETS.items()
    )
    bank.add_argument(
        "--filters",
        choices=[*PRESETS, *RENAMED_PRESETS],
        default="gabor",
        help=f"preset bank (default: gabor; {renamed})",
    )
    bank.add_argument(
        "--kernel-size",
        type=_int_at_least(1),
        default=None,
        metavar="K",
        help=(
            f"kernel size of {_presets_taking('takes_kernel_size')} "
            f"(default: {DEFAULT_KERNEL_SIZE})"
        ),
    )
    bank.add_argument(
        "--n-filters",
        type=_int_at_least(1),
        default=None,
        metavar="N",
        help=f"number of filters of {_presets_taking('takes_n_filters')} (default: the preset's)",
    )
    bank.add_argument("--activation", choices=ACTIVATIONS, default="abs", help="default: abs")
    pooling = parser.add_argument_group("pooling")
    pooling.add_argument("--pool-mode", choices=("max", "avg"), default="avg", help="default: avg")
    pooling.add_argument(
        "--pool-size",
        type=_int_at_least(1),
        default=2,
        metavar="P",
        help="window size (default: 2)",
    )
    pooling.add_argument(
        "--pool-stride",
        type=_int_at_least(1),
        default=1,
        metavar="S",
        help="window step (default: 1)",
    )
    model = parser.add_argument_group("classifier")
    model.add_argument(
        "--classifier", choices=("svc", "logreg"), default="svc", help="default: svc"
    )
    model.add_argument(
        "-C",
        dest="C",
        type=_positive_float,
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
        "--cv",
        type=_int_at_least(2, " (cross-validation needs two folds)"),
        default=10,
        metavar="FOLDS",
        help="folds of --grid-search (default: 10)",
    )
    run.add_argument(
        "--plot-filters", metavar="PATH", help="write a PNG of the fitted filter bank to PATH"
    )
    run.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=None,
        help="parallel jobs (default: 1 for the pipeline, all cores for --grid-search)",
    )
    run.add_argument("--random-state", type=_seed, default=0, help="seed (default: 0)")
    run.add_argument("--version", action="version", version=f"skconv {__version__}")
    return parser


def _presets_taking(option: str) -> str:
    """The presets whose table row says ``option`` (e.g. ``"takes_n_filters"``), in words."""
    names = [name for name, preset in PRESETS.items() if getattr(preset, option)]
    return ", ".join(names[:-1]) + " and " + names[-1]


def make_extractor(filters: str, kernel_size, n_filters, activation, random_state, n_jobs=None):
    """A ConvFeatureExtractor for a preset, passing a size only to presets that take one."""
    preset = PRESETS[RENAMED_PRESETS.get(filters, filters)]
    if kernel_size is not None and not preset.takes_kernel_size:
        raise ValueError(
            f"--kernel-size does not apply to the {filters} preset (its kernels are "
            f"{preset.default_kernel_size}x{preset.default_kernel_size})"
        )
    if n_filters is not None and not preset.takes_n_filters:
        raise ValueError(
            f"--n-filters does not apply to the {filters} preset (it has "
            f"{preset.default_n_filters} filters)"
        )
    if preset.takes_kernel_size and kernel_size is None:
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


def check_args(
    parser: argparse.ArgumentParser, args: argparse.Namespace, y_train: np.ndarray
) -> Pipeline:
    """The pipeline the options describe, or a usage error if they cannot work together.

    Everything that would otherwise fail during the job is checked here, before anything is
    printed: the preset's size options, the kernel, the pooling window on the maps the
    kernel gives, the folds of --grid-search and the --plot-filters path. The ranges of
    single options are checked by their ``type=``.
    """
    try:
        pipeline = make_pipeline(args)
    except ValueError as exc:
        parser.error(str(exc))
    conv = pipeline["conv"]
    preset = PRESETS[RENAMED_PRESETS.get(args.filters, args.filters)]
    kernel = as_pair(
        preset.default_kernel_size if conv.kernel_size is None else conv.kernel_size,
        "kernel_size",
    )
    if max(kernel) > max(DIGITS_SHAPE):
        parser.error(
            f"argument --kernel-size: {args.kernel_size} is larger than the "
            f"{DIGITS_SHAPE[0]}x{DIGITS_SHAPE[1]} digits; use at most {max(DIGITS_SHAPE)}"
        )
    # Building the bank runs the library's own checks (e.g. edges' 3 or 5, pca's filter
    # count) in milliseconds. Learned presets get a blank patch, which they answer with
    # their documented fallback bank (warning silenced) instead of learning anything.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            build_bank(
                preset.name,
                n_filters=conv.n_filters,
                kernel_size=conv.kernel_size,
                n_channels=1,
                random_state=np.random.RandomState(args.random_state),
                sample_patches=lambda shape: np.zeros((1, *shape, 1)),
            )
    except (TypeError, ValueError) as exc:
        options = " ".join(
            f"{option} {value}"
            for option, value in (
                ("--kernel-size", args.kernel_size),
                ("--n-filters", args.n_filters),
            )
            if value is not None
        )
        parser.error(f"--filters {args.filters} {options}: {exc}")

    stride = as_pair(conv.stride, "stride")
    maps = conv_output_shape(DIGITS_SHAPE, kernel, stride, resolve_padding(conv.padding, kernel))
    window = (args.pool_size, args.pool_size)
    try:
        pool_output_shape(maps, window, (args.pool_stride, args.pool_stride), (0, 0))
    except ValueError:
        parser.error(
            f"argument --pool-size: a {args.pool_size}x{args.pool_size} window does not fit "
            f"the {maps[0]}x{maps[1]} maps that {kernel[0]}x{kernel[1]} kernels give on the "
            f"{DIGITS_SHAPE[0]}x{DIGITS_SHAPE[1]} digits; use --pool-size {min(maps)} or less"
        )

    if args.grid_search:
        rarest = int(np.bincount(y_train).min())
        if args.cv > rarest:
            parser.error(
                f"argument --cv: {args.cv} folds need at least {args.cv} images of each "
                f"digit, but the training half has only {rarest} of the rarest; use --cv "
                f"{rarest} or less"
            )

    if args.plot_filters:
        check_plot_path(parser, args.plot_filters)
    return pipeline


def check_plot_path(parser: argparse.ArgumentParser, path: str) -> None:
    """Refuse a --plot-filters path that matplotlib could not write after the job."""
    from .plotting import _pyplot

    try:
        plt = _pyplot()
    except ImportError as exc:
        parser.error(str(exc))
    plt.switch_backend("Agg")
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        parser.error(f"argument --plot-filters: {path} is a folder; give a file name in it")
    if not folder.is_dir():
        parser.error(
            f"argument --plot-filters: the folder {str(folder)!r} does not exist; create it "
            "or write the PNG elsewhere"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        parser.error(
            f"argument --plot-filters: the folder {str(folder)!r} is not writable; choose "
            "another path"
        )
    from matplotlib.backend_bases import FigureCanvasBase

    suffix = target.suffix[1:].lower()
    supported = FigureCanvasBase.get_supported_filetypes()
    if suffix and suffix not in supported:
        parser.error(
            f"argument --plot-filters: matplotlib cannot write .{suffix} files; use a name "
            f"ending in .png (or one of .{', .'.join(sorted(supported))})"
        )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.dataset == "fashion-mnist":
        return run_fashion_mnist()

    started = time.perf_counter()
    digits = load_digits()
    half = len(digits.data) // 2
    X_train, X_test = digits.data[:half], digits.data[half:]
    y_train, y_test = digits.target[:half], digits.target[half:]
    pipeline = check_args(parser, args, y_train)
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
        from .plotting import _pyplot, plot_filters

        conv = pipeline["conv"]
        fig = plot_filters(conv, title=f"skconv filters: {conv.filters}")
        fig.savefig(args.plot_filters, dpi=100)
        _pyplot().close(fig)
        print(f"wrote the filter bank to {args.plot_filters}")

    print(f"raw-pixel SVC test accuracy:   {baseline_accuracy:.4f}")
    print(f"skconv pipeline test accuracy: {accuracy:.4f}")
    print(f"time taken: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
