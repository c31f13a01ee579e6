"""What ``python -m skconv`` says: library errors as usage errors, output paths, progress.

The command line checks nothing itself: the estimators check their parameters and data, and
this module only says their answers in the command line's words (the option, not the
parameter), checks that a picture can be written where it was asked for before the work
starts, and reports the progress of a whole run.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from pathlib import Path

from sklearn.base import BaseEstimator

from ._conv import ConvFeatureExtractor

#: The option that sets each estimator parameter the command line passes on.
OPTION_OF = {
    "filters": "--filters",
    "kernel_size": "--kernel-size",
    "n_filters": "--n-filters",
    "activation": "--activation",
    "pool_size": "--pool-size",
    "stride": "--pool-stride",
    "mode": "--pool-mode",
    "C": "-C",
    "cv": "--cv",
    "n_jobs": "--n-jobs",
    "random_state": "--random-state",
    "test_size": "--test-size",
    "image_shape": "--image-shape",
}


#: The stages of ImageClassifier.fit, each ended by the fitted attribute it sets.
FIT_STAGES = {
    "fit the features": "features_",
    "features of the training images": "classifier_",  # set as the classifier's fit starts
    "fit the classifier": "classes_",
}


def recipe_shares(params: dict, n_train: int, n_test: int) -> dict[str, float]:
    """The stages of a recipe's run, with their expected seconds.

    Measured in one run of Fashion-MNIST's recipe on 2 idle cores (9.6, 17.9, 58.2 and 3.3 s
    with 8,000 landmarks) and scaled by what each stage works on: the bank and PCA are
    fitted on at most ``max_fit_samples`` images, the features computed for every training
    image, the classifier's fit grows with ``n_samples * n_landmarks ** 2`` and the test's
    score with the test images. Only the shares matter: the time left is extrapolated from
    the stages already run.
    """
    n_fit = min(n_train, params["max_fit_samples"])
    n_landmarks = min(n_train, params["n_components"])
    seconds = (
        9.6 * n_fit / 10_000,
        17.9 * n_train / 60_000,
        58.2 * n_train * n_landmarks**2 / (60_000 * 8_000**2),
        3.3 * n_test / 10_000,
    )
    return dict(zip([*FIT_STAGES, "score the test images"], seconds))


def choices(constraints: list) -> list[str]:
    """The string options of a parameter's constraints, with ``none`` if None is allowed."""
    options = next(c for c in constraints if hasattr(c, "options"))
    return sorted(options.options) + (["none"] if None in constraints else [])


def option_name(dest: str) -> str:
    """``--kernel-size`` for ``kernel_size`` (and ``-C`` for ``C``)."""
    return "-C" if dest == "C" else "--" + dest.replace("_", "-")


class UsageErrors(argparse.ArgumentParser):
    """An ArgumentParser that also turns the library's answers into usage errors (exit 2)."""

    def refuse(self, args: argparse.Namespace, dests, why: str) -> None:
        """A usage error naming the options of ``dests`` given on the command line."""
        given = [option_name(dest) for dest in dests if getattr(args, dest) not in (None, False)]
        if given:
            verb = "does" if len(given) == 1 else "do"
            self.error(f"{' '.join(given)} {verb} not apply {why}")

    def checked(self, options: str, check: Callable, *args, **kwargs):
        """``check(*args, **kwargs)``, a library call; its ValueError or TypeError: usage error."""
        try:
            return check(*args, **kwargs)
        except (TypeError, ValueError) as exc:
            self.error(as_usage_error(exc, options))

    def check_picture_path(self, path: str | None) -> None:
        """A usage error unless matplotlib can write a picture to exactly ``path``."""
        if path is None:
            return
        try:
            from matplotlib.backend_bases import FigureCanvasBase
        except ImportError:
            self.error("argument --plot-filters: needs matplotlib (pip install matplotlib)")
        problem = output_path_problem(path, FigureCanvasBase.get_supported_filetypes())
        if problem:
            self.error(f"argument --plot-filters: {problem}")


def as_usage_error(exc: Exception, options: str) -> str:
    """The text of a usage error for the library's ``exc``, raised for ``options``.

    A parameter constraint of scikit-learn ("The 'n_jobs' parameter of ... must be ...")
    becomes ``argument --n-jobs: must be ...``; any other error is prefixed with the options
    that set up the step that raised it.
    """
    found = re.match(r"The '(\w+)' parameter of \w+ (must be .*)", str(exc), re.DOTALL)
    if found and found[1] in OPTION_OF:
        return f"argument {OPTION_OF[found[1]]}: {found[2]}"
    return f"{options}: {exc}" if options else str(exc)


def in_cli_words(message: str) -> str:
    """A loader's message with its ``image_shape=(rows, cols)`` said as the option."""
    message = re.sub(r"image_shape=\((\d+), (\d+)\)", r"--image-shape \1 \2", message)
    return message.replace("image_shape=(rows, cols)", "--image-shape ROWS COLS").replace(
        "image_shape", "--image-shape"
    )


def validate_all_params(estimator: BaseEstimator) -> None:
    """Run scikit-learn's parameter validation of ``estimator`` and every estimator in it."""
    nested = estimator.get_params(deep=True).values()
    for part in [estimator, *(value for value in nested if isinstance(value, BaseEstimator))]:
        part._validate_params()


def picture_format(path: str) -> str:
    """The format a picture is written in: its file's extension, PNG without one."""
    return Path(path).suffix[1:].lower() or "png"


def output_path_problem(path: str, supported_formats: dict[str, str]) -> str | None:
    """Why a picture could not be written to ``path`` exactly, or None if it can."""
    target = Path(path)
    if path.endswith(tuple(filter(None, (os.sep, os.altsep)))):
        return f"{path} ends in a path separator, so it names a folder; give a file name"
    if target.is_dir():
        return f"{path} is a folder; give a file name in it"
    folder = target.parent
    if not folder.is_dir():
        return (
            f"the folder {str(folder)!r} does not exist; create it or write the picture elsewhere"
        )
    if not os.access(folder, os.W_OK | os.X_OK) or (
        target.exists() and not os.access(target, os.W_OK)
    ):
        return f"{path} cannot be written here (no permission); choose another path"
    if picture_format(path) not in supported_formats:
        return (
            f"matplotlib cannot write .{picture_format(path)} files; use a name ending in .png "
            f"(or one of .{', .'.join(sorted(supported_formats))})"
        )
    return None


def fitted_extractors(model: object) -> list[ConvFeatureExtractor]:
    """The fitted ConvFeatureExtractors anywhere inside a fitted model, in the order found."""
    found: dict[int, ConvFeatureExtractor] = {}

    def visit(item: object) -> None:
        if isinstance(item, (list, tuple)):
            for value in item:
                visit(value)
        elif isinstance(item, ConvFeatureExtractor) and hasattr(item, "filters_"):
            found.setdefault(id(item), item)
        elif isinstance(item, BaseEstimator):
            for value in vars(item).values():
                visit(value)

    visit(model)
    return list(found.values())


def write_filters(model: object, path: str | None) -> None:
    """Draw the first fitted bank of ``model`` into exactly ``path``, and say so."""
    if path is None:
        return
    import matplotlib.pyplot as plt

    from .plotting import plot_filters

    banks = fitted_extractors(model)
    if not banks:  # a model of the user's making could have none; the job is done anyway
        print(f"skconv: the model holds no filter bank, so nothing was written to {path}")
        return
    conv = banks[0]
    fig = plot_filters(conv, title=f"skconv filters: {conv.filters}")
    fig.savefig(path, format=picture_format(path), dpi=100)
    plt.close(fig)
    print(f"wrote the filter bank to {path} ({picture_format(path).upper()})")


def describe(pipeline) -> str:
    """The digits pipeline, fitted, in one line: bank, pooling and classifier."""
    conv, pool, clf = pipeline["conv"], pipeline["pool"], pipeline["clf"]
    rows, cols = conv.filters_.shape[1:3]
    window, stride = pool.pool_size_, pool.stride_
    return (
        f"conv({conv.filters} {rows}x{cols}, activation={conv.activation}) + "
        f"pool({pool.mode} {window[0]}x{window[1]}, stride {stride[0]}) + "
        f"StandardScaler + {type(clf).__name__}(C={clf.C:g})"
    )
