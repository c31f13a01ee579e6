"""The main job: ``python -m skconv`` (or ``skconv``) classifies scikit-learn's digits.

It fits a ConvFeatureExtractor + PoolTransformer + StandardScaler + classifier pipeline on the
first half of ``load_digits()`` and scores it on the second half (scikit-learn's own split in
its digits example, no shuffling), next to an SVC on the raw pixels. ``--dataset
fashion-mnist`` runs the Fashion-MNIST recipe, ``--folder PATH`` the general recipe on a
folder of images. The options only choose; every default, choice and check is the library's,
and its errors are reported as usage errors (exit status 2) before any work starts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from joblib import effective_n_jobs, parallel_config
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, check_cv, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils._param_validation import InvalidParameterError

from . import ConvFeatureExtractor, PoolTransformer, __version__
from . import _cli_report as report
from ._heartbeat import RunProgress, duration
from .filters._presets import PRESETS

CONV, POOL = ConvFeatureExtractor._parameter_constraints, PoolTransformer._parameter_constraints
#: The digits job's settings, chosen by a 10-fold grid search on the training half (the
#: library's defaults where it has none of its own: the preset, its sizes, the seed).
DIGITS_SETTINGS = dict(
    activation="abs", pool_mode="avg", pool_size=2, pool_stride=1, classifier="svc", C=10.0, cv=10
)
CONV_OPTIONS = ("filters", "kernel_size", "n_filters")
CHOSEN_BY_THE_SEARCH = (*CONV_OPTIONS, "pool_mode", "pool_size", "pool_stride")
DIGITS_ONLY = (*CHOSEN_BY_THE_SEARCH, "activation", "classifier", "C", "cv", "grid_search")
FOLDER_ONLY = ("test_size", "image_shape")
# The grid --grid-search explores: every preset at its defaults, against max/avg pooling of
# 2x2 windows with stride 2 or 1.
SEARCHED_POOLS = [PoolTransformer(2, stride=s, mode=m) for s in (2, 1) for m in ("max", "avg")]


def build_parser() -> argparse.ArgumentParser:
    invoked_as_script = Path(sys.argv[0]).name == "skconv"
    parser = report.UsageErrors(
        prog="skconv" if invoked_as_script else "python -m skconv",
        description="Fit skconv on images and score it on held-out ones: scikit-learn's "
        "digits (first half / second half), Fashion-MNIST (the official split, "
        "skconv.recipes.fashion_mnist_pipeline) or a folder with one subfolder of images per "
        "class (skconv.recipes.make_image_classifier). Long runs report progress every 10 s.",
    )
    data = parser.add_mutually_exclusive_group()
    data.add_argument("--dataset", choices=("digits", "fashion-mnist"), default="digits")
    data.add_argument("--folder", metavar="PATH", help="a folder of class subfolders")
    defaults = ", ".join(f"{report.option_name(k)} {v}" for k, v in DIGITS_SETTINGS.items())
    digits = parser.add_argument_group(
        "digits only", f"Defaults: {defaults} (a grid search's choice); the bank's settings are "
        "ConvFeatureExtractor's defaults.",
    )  # fmt: skip
    digits.add_argument("--filters", choices=report.choices(CONV["filters"]), help="preset bank")
    for option, what in (("--kernel-size", "kernel size"), ("--n-filters", "filter count")):
        takes = "takes_" + option[2:].replace("-", "_")
        names = ", ".join(name for name, preset in PRESETS.items() if getattr(preset, takes))
        digits.add_argument(option, type=int, metavar="N", help=f"{what} of {names}")
    digits.add_argument("--activation", choices=report.choices(CONV["activation"]))
    digits.add_argument("--pool-mode", choices=report.choices(POOL["mode"]))
    digits.add_argument("--pool-size", type=int, metavar="P", help="window size")
    digits.add_argument("--pool-stride", type=int, metavar="S", help="window step")
    digits.add_argument("--classifier", choices=("svc", "logreg"))
    digits.add_argument("-C", type=float, help="inverse regularisation strength")
    digits.add_argument("--grid-search", action="store_true", help="choose bank and pooling by CV")
    digits.add_argument("--cv", type=int, metavar="FOLDS", help="folds of --grid-search")
    folder = parser.add_argument_group("--folder only")
    folder.add_argument("--test-size", type=float, metavar="F", help="held-out share (0.25)")
    folder.add_argument("--image-shape", type=int, nargs=2, metavar=("ROWS", "COLS"))
    run = parser.add_argument_group("every job")
    run.add_argument("--plot-filters", metavar="PATH", help="draw the bank into exactly PATH")
    run.add_argument("--n-jobs", type=int, help="threads (1 for digits, else all cores)")
    run.add_argument("--random-state", type=int, default=0, help="seed (default: 0)")
    run.add_argument("--version", action="version", version=f"skconv {__version__}")
    return parser


def run_digits(parser, args) -> int:
    started = time.perf_counter()
    parser.refuse(args, FOLDER_ONLY, "to --dataset digits")
    settings = {
        k: v if getattr(args, k) is None else getattr(args, k) for k, v in DIGITS_SETTINGS.items()
    }
    if args.grid_search:
        parser.refuse(args, CHOSEN_BY_THE_SEARCH, "with --grid-search, which chooses them")
    activation = None if settings["activation"] == "none" else settings["activation"]
    n_jobs = args.n_jobs if args.n_jobs is not None or not args.grid_search else -1
    digits = load_digits()
    half = len(digits.images) // 2
    X_train, X_test = digits.images[:half], digits.images[half:]
    y_train, y_test = digits.target[:half], digits.target[half:]
    conv_options = {k: getattr(args, k) for k in CONV_OPTIONS if getattr(args, k) is not None}
    conv = ConvFeatureExtractor(
        **conv_options,
        activation=activation,
        random_state=args.random_state,
        n_jobs=None if args.grid_search else n_jobs,
    )
    pool = PoolTransformer(
        settings["pool_size"], stride=settings["pool_stride"], mode=settings["pool_mode"]
    )
    clf = (
        SVC(C=settings["C"])
        if settings["classifier"] == "svc"
        else LogisticRegression(C=settings["C"], max_iter=5000, random_state=args.random_state)
    )
    steps = {"conv": conv, "pool": pool, "scale": StandardScaler(), "clf": clf}
    pipeline = Pipeline(list(steps.items()))
    parser.checked("", report.validate_all_params, pipeline)
    given = " ".join(f"{report.option_name(k)} {v}" for k, v in conv_options.items())
    if args.grid_search:
        parser.checked("argument --n-jobs", effective_n_jobs, n_jobs)
        folds = parser.checked("argument --cv", check_cv, settings["cv"], y_train, classifier=True)
        parser.checked("argument --cv", next, folds.split(X_train, y_train))
    else:  # The bank is fitted here, on the training half: that fit is the library's check.
        parser.checked(given, conv.fit, X_train)
        parser.checked(
            f"--pool-size {pool.pool_size} --pool-stride {pool.stride}",
            pool.fit,
            np.zeros((1, *conv.output_shape_), dtype=np.float32),
        )
    parser.check_picture_path(args.plot_filters)
    print(
        f"skconv {__version__}: digits, {half} training and {len(X_test)} test images of "
        "8x8 pixels (first half / second half, no shuffling)",
        flush=True,
    )
    step = time.perf_counter()
    print("[1/3] raw-pixel baseline: SVC(gamma=0.001) ...", end=" ", flush=True)
    baseline = SVC(gamma=0.001).fit(digits.data[:half], y_train)
    baseline_accuracy = baseline.score(digits.data[half:], y_test)
    print(f"done in {time.perf_counter() - step:.1f} s", flush=True)
    step = time.perf_counter()
    if args.grid_search:
        pipeline = grid_search(pipeline, X_train, y_train, settings["cv"], n_jobs)
    else:
        pipeline[1:].fit(conv.transform(X_train), y_train)  # after the bank's fit above
        print(f"[2/3] skconv pipeline: {report.describe(pipeline)} ...", end=" ")
        print(f"done in {time.perf_counter() - step:.1f} s", flush=True)
    step = time.perf_counter()
    print("[3/3] scoring on the test half ...", end=" ", flush=True)
    accuracy = pipeline.score(X_test, y_test)
    print(f"done in {time.perf_counter() - step:.1f} s", flush=True)
    report.write_filters(pipeline, args.plot_filters)
    print(f"raw-pixel SVC test accuracy:   {baseline_accuracy:.4f}")
    print(f"skconv pipeline test accuracy: {accuracy:.4f}")
    print(f"time taken: {time.perf_counter() - started:.1f} s")
    return 0


def grid_search(pipeline, X_train, y_train, cv: int, n_jobs: int) -> Pipeline:
    """The pipeline of the best preset and pooling, refitted on the training half."""
    conv = pipeline["conv"]
    grid = [
        {"conv": [clone(conv).set_params(filters=name)], "pool": SEARCHED_POOLS}
        for name in PRESETS
    ]
    n_fits = len(PRESETS) * len(SEARCHED_POOLS) * cv
    print(
        f"[2/3] grid search on the training half: {len(PRESETS)} banks x "
        f"{len(SEARCHED_POOLS)} poolings, {cv}-fold cross-validation ({n_fits} fits, conv "
        "outputs cached) ...",
        flush=True,
    )
    progress = RunProgress({"grid search": 1})  # its fits and the best one's refit

    def score_and_count(estimator, X, y):  # the fits are counted as they are scored
        progress.unit_done()
        return estimator.score(X, y)

    step = time.perf_counter()
    # Threads, so that the fits are counted here (they release the GIL in BLAS and libsvm).
    # Threads slow the cache's bookkeeping, which joblib then warns about although, as it
    # says, the results are correct: that one warning is not for the user of this command.
    with (
        tempfile.TemporaryDirectory(prefix="skconv-cache-") as cache,
        parallel_config("threading"),
        warnings.catch_warnings(),
    ):
        warnings.filterwarnings("ignore", "Persisting input arguments took", UserWarning)
        search = GridSearchCV(
            clone(pipeline).set_params(memory=cache),
            grid,
            cv=cv,
            scoring=score_and_count,
            n_jobs=n_jobs,
        )
        with progress, progress.stage("grid search", n_units=n_fits + 1):
            search.fit(X_train, y_train)
    best = search.best_estimator_.set_params(memory=None)
    print(
        f"      best: {report.describe(best)}, cross-validated accuracy {search.best_score_:.4f} "
        f"({time.perf_counter() - step:.1f} s)",
        flush=True,
    )
    return best


def run_recipe(parser, args, model, load) -> int:
    """Fit a recipe of skconv.recipes on ``load(args)``'s training part, score its test part."""
    job = "--folder" if args.folder else "--dataset fashion-mnist"
    ignored = DIGITS_ONLY if args.folder else (*DIGITS_ONLY, *FOLDER_ONLY)
    parser.refuse(args, ignored, f"to {job} (the recipe has its own settings)")
    parser.checked("", report.validate_all_params, model)
    parser.check_picture_path(args.plot_filters)
    started = time.perf_counter()
    try:
        X_train, X_test, y_train, y_test, what = load(args)
    except InvalidParameterError as exc:  # raised before any file is read
        parser.error(report.as_usage_error(exc, ""))
    except (OSError, ValueError) as exc:  # missing or unreadable data: the library's message
        print(f"skconv: {report.in_cli_words(str(exc))}", file=sys.stderr)
        return 1
    print(
        f"skconv {__version__}: {what}: {len(X_train)} training and {len(X_test)} test images",
        flush=True,
    )
    shares = report.recipe_shares(model.get_params(), len(X_train), len(X_test))
    with RunProgress(shares) as progress:
        with progress.stages_marked_by(model, report.FIT_STAGES):
            model.fit(X_train, y_train)
        with progress.stage("score the test images"):
            accuracy = model.score(X_test, y_test)
    report.write_filters(model, args.plot_filters)
    print(f"skconv recipe test accuracy: {accuracy:.4f}")
    print(f"time taken: {duration(time.perf_counter() - started)}")
    return 0


def load_folder(args) -> tuple:
    """The images of ``args.folder``, split by class with ``args.test_size`` held out."""
    from .datasets import load_image_folder

    shape = None if args.image_shape is None else tuple(args.image_shape)
    images = load_image_folder(args.folder, image_shape=shape, verbose=1)
    X, y, seed = images.images, images.target, args.random_state
    split = train_test_split(X, y, test_size=args.test_size, stratify=y, random_state=seed)
    return *split, f"{args.folder}, {len(images.target_names)} classes"


def load_fashion_mnist(args) -> tuple:
    from .datasets import fetch_fashion_mnist

    train, test = (fetch_fashion_mnist(subset=subset) for subset in ("train", "test"))
    return train.images, test.images, train.target, test.target, "Fashion-MNIST"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    recipe = {"n_jobs": -1 if args.n_jobs is None else args.n_jobs, "verbose": 1}
    recipe["random_state"] = args.random_state
    if args.folder is not None:
        from .recipes import make_image_classifier

        # train_test_split's own check of --test-size, on indices only, before any work.
        parser.checked("", train_test_split, np.arange(10_000), test_size=args.test_size)
        return run_recipe(parser, args, make_image_classifier(**recipe), load_folder)
    if args.dataset == "fashion-mnist":
        from .recipes import fashion_mnist_pipeline

        return run_recipe(parser, args, fashion_mnist_pipeline(**recipe), load_fashion_mnist)
    return run_digits(parser, args)


if __name__ == "__main__":
    sys.exit(main())
