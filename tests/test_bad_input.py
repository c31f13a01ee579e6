"""Bad input, exhaustively: each row of ``BAD_INPUT`` is a test and a row of docs/bad_input.rst.

A row names the estimator (or the function of ``skconv.filters``, or ``main`` for the command
line), the parameter, option or input at fault, the invalid value, the call that raises (fit,
transform, the function's call, or the command line's start, before any work), the exact error
type and excerpts that the message must contain; every message must also name the parameter it
is about. The table in the docs is rendered from
``BAD_INPUT``: ``test_the_docs_table_is_this_table`` fails when they disagree, and
``python -c "import tests.test_bad_input as t; t.write_docs_table()"`` (from the repository
root) rewrites the docs' table.

The other tests here pin down what a failed ``fit`` leaves behind: an unfitted estimator, never a
mix of two fits.
"""

from __future__ import annotations

import contextlib
import io
import re
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skconv import (
    BatchedTransformer,
    ConvFeatureExtractor,
    ConvPool,
    NystroemRidgeClassifier,
    PoolTransformer,
)
from skconv.__main__ import main
from skconv.datasets import (
    DataFileError,
    DataNotFoundError,
    fetch_fashion_mnist,
    load_image_folder,
)
from skconv.filters import estimate_contrast_eps, gabor_bank, learn_kmeans_bank, learn_pca_bank
from skconv.recipes import ImageClassifier, PeakNormalizer

DOC = Path(__file__).resolve().parents[1] / "docs" / "bad_input.rst"
BEGIN, END = ".. begin generated table", ".. end generated table"

RNG = np.random.RandomState(0)
IMAGES = RNG.rand(4, 6, 6)  # four 6x6 single-channel images
MAPS = RNG.rand(4, 6, 6, 3)  # four 6x6 stacks of three maps


@dataclass(frozen=True)
class Row:
    estimator: type | Callable  # an estimator, a function of skconv.filters, or main
    name: str  # the parameter or input at fault; the message must name it
    value: str  # the invalid value, as the docs show it
    stage: str  # "fit", "transform", "call" (a function) or "start" (the command line)
    call: Callable[[], object]
    error: type
    excerpts: tuple[str, ...]  # parts of the message, in order

    @property
    def id(self):
        value = self.value.replace("`", "")
        return f"{self.estimator.__name__}-{self.stage}-{self.name}={value}"


def conv_fit(X=IMAGES, **params):
    return lambda: ConvFeatureExtractor(**params).fit(X)


def conv_transform(X, fit_on=IMAGES, **params):
    def call():
        conv = ConvFeatureExtractor(filters="tutorial", **params).fit(fit_on)
        return conv.transform(X)

    return call


def pool_fit(X=MAPS, **params):
    return lambda: PoolTransformer(**params).fit(X)


def pool_transform(X, fit_on=MAPS, **params):
    def call():
        return PoolTransformer(**params).fit(fit_on).transform(X)

    return call


def convpool_fit(X=IMAGES, **params):
    return lambda: ConvPool(**params).fit(X)


def convpool_transform(X, fit_on=IMAGES):
    def call():
        return (
            ConvPool(ConvFeatureExtractor(filters="tutorial"), PoolTransformer())
            .fit(fit_on)
            .transform(X)
        )

    return call


def cli(*argv):
    """``python -m skconv *argv``: its usage error, raised as ``SystemExit(message)``.

    The usage error must come before anything is printed on stdout (no half-done job) and
    exit with status 2, argparse's status for bad options.
    """

    def call():
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(argv))
            except SystemExit as exc:
                assert exc.code == 2, f"exit status {exc.code}"
                assert out.getvalue() == "", f"printed before the error: {out.getvalue()!r}"
                raise SystemExit(err.getvalue().splitlines()[-1]) from None

    return call


def not_allowed(estimator, name, got):
    """The start and end of scikit-learn's InvalidParameterError message."""
    return (f"The '{name}' parameter of {estimator.__name__} must be", f"Got {got} instead.")


# The tables are easier to read one row per entry than as ruff would wrap them.
# fmt: off
C, P, CP = ConvFeatureExtractor, PoolTransformer, ConvPool
IPE = InvalidParameterError
NAN_BANK = np.full((1, 3, 3), np.nan)
INF_BANK = np.full((1, 3, 3), np.inf)

CONV_PARAMETERS = [
    Row(C, "filters", "`'sobel'`", "fit", conv_fit(filters="sobel"), IPE,
        not_allowed(C, "filters", "'sobel'")),
    Row(C, "filters", "`None`", "fit", conv_fit(filters=None), IPE,
        not_allowed(C, "filters", "None")),
    Row(C, "filters", "`np.ones((3, 3))`", "fit", conv_fit(filters=np.ones((3, 3))), ValueError,
        ("filters must be a non-empty array", "got shape (3, 3)", "pass k[None]")),
    Row(C, "filters", "`np.ones((1, 2, 3, 4, 5))`", "fit",
        conv_fit(filters=np.ones((1, 2, 3, 4, 5))), ValueError,
        ("filters must be a non-empty array", "got shape (1, 2, 3, 4, 5)")),
    Row(C, "filters", "`np.ones((0, 3, 3))`", "fit", conv_fit(filters=np.ones((0, 3, 3))),
        ValueError, ("filters must be a non-empty array", "got shape (0, 3, 3)")),
    Row(C, "filters", "bank holding NaN", "fit", conv_fit(filters=NAN_BANK), ValueError,
        ("filters holds NaN or infinite values; pass finite kernels.",)),
    Row(C, "filters", "bank holding inf", "fit", conv_fit(filters=INF_BANK), ValueError,
        ("filters holds NaN or infinite values; pass finite kernels.",)),
    Row(C, "filters", "complex bank", "fit",
        conv_fit(filters=np.ones((1, 3, 3), dtype=complex)), ValueError,
        ("filters holds complex numbers", "pass real kernels, e.g. np.real(filters)")),
    Row(C, "filters", "`[[['a']]]`", "fit", conv_fit(filters=[[["a"]]]), TypeError,
        ("filters must be a preset name or a numeric array",)),
    Row(C, "filters", "`np.ones((1, 3, 3, 2))` on 1-channel images", "fit",
        conv_fit(filters=np.ones((1, 3, 3, 2))), ValueError,
        ("filters has 2 channels but the images have 1",
         "or a 3-D bank to apply per channel")),
    Row(C, "padding", "`np.ones((1, 7, 3))` with `padding='valid'` on 6x6 images", "fit",
        conv_fit(filters=np.ones((1, 7, 3)), padding="valid"), ValueError,
        ("The kernel has 7 rows but the padded image only 6", "or more padding")),
    Row(C, "image_shape", "`6`", "fit", conv_fit(IMAGES.reshape(4, -1), image_shape=6), IPE,
        not_allowed(C, "image_shape", "6")),
    Row(C, "image_shape", "`(6, 0)`", "fit",
        conv_fit(IMAGES.reshape(4, -1), image_shape=(6, 0)), ValueError,
        ("image_shape must be (height, width) or (height, width, channels) with positive ints",)),
    Row(C, "image_shape", "`(6.0, 6)`", "fit",
        conv_fit(IMAGES.reshape(4, -1), image_shape=(6.0, 6)), ValueError,
        ("image_shape must be (height, width) or (height, width, channels) with positive ints",)),
    Row(C, "image_shape", "`(6, 6, 1, 1)`", "fit",
        conv_fit(IMAGES.reshape(4, -1), image_shape=(6, 6, 1, 1)), ValueError,
        ("image_shape must be (height, width) or (height, width, channels)",)),
    Row(C, "image_shape", "`(5, 5)` for 36 features", "fit",
        conv_fit(IMAGES.reshape(4, -1), image_shape=(5, 5)), ValueError,
        ("X has 36 features but image_shape (5, 5) needs 25", "set image_shape to the")),
    Row(C, "image_shape", "`(5, 5)` for a stack of 6x6 images", "fit",
        conv_fit(image_shape=(5, 5)), ValueError,
        ("X is a stack of (6, 6, 1) images but image_shape is (5, 5, 1)",
         "leave image_shape=None for image stacks or make it match")),
    Row(C, "stride", "`0`", "fit", conv_fit(stride=0), IPE, not_allowed(C, "stride", "0")),
    Row(C, "stride", "`1.5`", "fit", conv_fit(stride=1.5), IPE, not_allowed(C, "stride", "1.5")),
    Row(C, "stride", "`None`", "fit", conv_fit(stride=None), IPE,
        not_allowed(C, "stride", "None")),
    Row(C, "stride", "`(1, 0)`", "fit", conv_fit(stride=(1, 0)), ValueError,
        ("stride must be at least 1 on each axis; got (1, 0).",)),
    Row(C, "stride", "`(1,)`", "fit", conv_fit(stride=(1,)), TypeError,
        ("stride must be an int or a pair of ints (rows, cols); got (1,).",)),
    Row(C, "stride", "`True`", "fit", conv_fit(stride=True), TypeError,
        ("stride must be an int or a pair of ints (rows, cols); got True.",)),
    Row(C, "stride", "`(1.0, 1)`", "fit", conv_fit(stride=(1.0, 1)), TypeError,
        ("stride must be an int or a pair of ints",)),
    Row(C, "padding", "`'full'`", "fit", conv_fit(padding="full"), IPE,
        not_allowed(C, "padding", "'full'")),
    Row(C, "padding", "`-1`", "fit", conv_fit(padding=-1), IPE, not_allowed(C, "padding", "-1")),
    Row(C, "padding", "`(1, -1)`", "fit", conv_fit(padding=(1, -1)), ValueError,
        ("padding must be at least 0 on each axis; got (1, -1).",)),
    Row(C, "padding", "`(1, 2, 3)`", "fit", conv_fit(padding=(1, 2, 3)), TypeError,
        ("padding must be an int or a pair of ints (rows, cols); got (1, 2, 3).",)),
    Row(C, "stride", "`{1, 2}` (a set)", "fit", conv_fit(stride={1, 2}), TypeError,
        ("stride must be an int or a pair of ints (rows, cols); got a set {1, 2}, which has "
         "no order: pass a tuple (rows, cols) instead.",)),
    Row(C, "stride", "`{1: 2, 3: 4}` (a dict)", "fit", conv_fit(stride={1: 2, 3: 4}), TypeError,
        ("stride must be an int or a pair of ints (rows, cols); got a dict {1: 2, 3: 4}",
         "pass a tuple (rows, cols) instead.")),
    Row(C, "padding", "`{1, 2}` (a set)", "fit", conv_fit(padding={1, 2}), TypeError,
        ("padding must be an int or a pair of ints (rows, cols); got a set {1, 2}",
         "pass a tuple (rows, cols) instead.")),
    Row(C, "kernel_size", "`{3, 5}` (a set)", "fit",
        conv_fit(filters="random", kernel_size={3, 5}), TypeError,
        ("kernel_size must be an int or a pair of ints (rows, cols); got a set {3, 5}",
         "pass a tuple (rows, cols) instead.")),
    Row(C, "activation", "`'tanh'`", "fit", conv_fit(activation="tanh"), IPE,
        not_allowed(C, "activation", "'tanh'")),
    Row(C, "normalize", "`'yes'`", "fit", conv_fit(normalize="yes"), IPE,
        not_allowed(C, "normalize", "'yes'")),
    Row(C, "n_filters", "`0`", "fit", conv_fit(filters="random", n_filters=0), IPE,
        not_allowed(C, "n_filters", "0")),
    Row(C, "n_filters", "`4` with `filters='tutorial'`", "fit",
        conv_fit(filters="tutorial", n_filters=4), ValueError,
        ("filters='tutorial' is the tutorial's three 3x3 filters, so n_filters has nothing to "
         "choose", "leave n_filters and kernel_size as None")),
    Row(C, "kernel_size", "`5` with `filters='tutorial'`", "fit",
        conv_fit(filters="tutorial", kernel_size=5), ValueError,
        ("filters='tutorial' is the tutorial's three 3x3 filters, so kernel_size has nothing "
         "to choose",)),
    Row(C, "n_filters", "`4` with an explicit bank", "fit",
        conv_fit(filters=np.ones((1, 3, 3)), n_filters=4), ValueError,
        ("n_filters and kernel_size apply to presets only",)),
    Row(C, "n_filters", "`50` with `filters='pca'`, `kernel_size=3`", "fit",
        conv_fit(filters="pca", n_filters=50, kernel_size=3), ValueError,
        ("n_filters=50 exceeds the 8 orthonormal zero-sum filters",
         "use n_filters <= 8 or larger patches")),
    Row(C, "kernel_size", "`0`", "fit", conv_fit(filters="random", kernel_size=0), IPE,
        not_allowed(C, "kernel_size", "0")),
    Row(C, "kernel_size", "`(3, 0)`", "fit", conv_fit(filters="random", kernel_size=(3, 0)),
        ValueError, ("kernel_size must be at least 1 on each axis; got (3, 0).",)),
    Row(C, "kernel_size", "`(3, 3, 3)`", "fit", conv_fit(filters="random", kernel_size=(3, 3, 3)),
        TypeError, ("kernel_size must be an int or a pair of ints (rows, cols)",)),
    Row(C, "kernel_size", "`3` with an explicit bank", "fit",
        conv_fit(filters=np.ones((1, 3, 3)), kernel_size=3), ValueError,
        ("n_filters and kernel_size apply to presets only",)),
    Row(C, "kernel_size", "`4` with `filters='edges'`", "fit",
        conv_fit(filters="edges", kernel_size=4), ValueError,
        ("edge_bank supports kernel_size 3", "or 5", "got kernel_size=(4, 4)")),
    Row(C, "kernel_size", "`1` with `filters='gabor'`", "fit",
        conv_fit(filters="gabor", kernel_size=1), ValueError,
        ("gabor_bank needs at least 2 pixels per kernel", "got kernel_size=(1, 1)")),
    Row(C, "kernel_size", "`9` with `padding='valid'` on 6x6 images", "fit",
        conv_fit(filters="random", kernel_size=9, padding="valid"), ValueError,
        ("The kernel has 9 rows but the padded image only 6",
         "use a smaller kernel (kernel_size, or a smaller filters array) or more padding")),
    Row(C, "n_patches", "`0`", "fit", conv_fit(filters="kmeans", n_patches=0), IPE,
        not_allowed(C, "n_patches", "0")),
    Row(C, "method", "`'direct'`", "fit", conv_fit(method="direct"), IPE,
        not_allowed(C, "method", "'direct'")),
    Row(C, "method", "`'fft'` with `filters='kmeans'`", "fit",
        conv_fit(filters="kmeans", n_filters=4, kernel_size=3, method="fft", random_state=0),
        ValueError, ("filters='kmeans' divides each response by its window's contrast",
                     "use method='gemm' or 'auto'")),
    Row(C, "n_jobs", "`0`", "fit", conv_fit(n_jobs=0), IPE, not_allowed(C, "n_jobs", "0")),
    Row(C, "n_jobs", "`1.5`", "fit", conv_fit(n_jobs=1.5), IPE, not_allowed(C, "n_jobs", "1.5")),
    Row(C, "random_state", "`'a'`", "fit", conv_fit(filters="random", random_state="a"), IPE,
        not_allowed(C, "random_state", "'a'")),
    Row(C, "random_state", "`-1`", "fit", conv_fit(filters="random", random_state=-1), IPE,
        not_allowed(C, "random_state", "-1")),
    Row(C, "verbose", "`'loud'`", "fit", conv_fit(verbose="loud"), IPE,
        not_allowed(C, "verbose", "'loud'")),
    Row(C, "activation", "`'triangle'` with one filter on one channel", "fit",
        conv_fit(filters=np.ones((1, 3, 3)), activation="triangle"), ValueError,
        ("activation='triangle' subtracts the mean over the maps", "use more filters")),
    Row(C, "activation", "`'crelu'` set after fit", "transform",
        lambda: C(filters="tutorial").fit(IMAGES).set_params(activation="crelu").transform(IMAGES),
        ValueError, ("parameter(s) 'activation' changed since fit", "Refit: call fit")),
    Row(C, "X", "pixels of `1e308` (convolution overflows)", "transform",
        conv_transform(np.full((2, 6, 6), 1e308)), ValueError,
        ("The convolution overflows float64", "Scale the images down first")),
    Row(C, "X", "float32 pixels of `3e38`", "transform",
        conv_transform(np.full((2, 6, 6), 3e38, dtype=np.float32)), ValueError,
        ("The convolution overflows float32", "or pass float64 images")),
]

POOL_PARAMETERS = [
    Row(P, "pool_size", "`0`", "fit", pool_fit(pool_size=0), IPE,
        not_allowed(P, "pool_size", "0")),
    Row(P, "pool_size", "`1.5`", "fit", pool_fit(pool_size=1.5), IPE,
        not_allowed(P, "pool_size", "1.5")),
    Row(P, "pool_size", "`(2, 0)`", "fit", pool_fit(pool_size=(2, 0)), ValueError,
        ("pool_size must be at least 1 on each axis; got (2, 0).",)),
    Row(P, "pool_size", "`(2,)`", "fit", pool_fit(pool_size=(2,)), TypeError,
        ("pool_size must be an int or a pair of ints (rows, cols); got (2,).",)),
    Row(P, "pool_size", "`True`", "fit", pool_fit(pool_size=True), TypeError,
        ("pool_size must be an int or a pair of ints (rows, cols); got True.",)),
    Row(P, "pool_size", "`{2, 3}` (a set)", "fit", pool_fit(pool_size={2, 3}), TypeError,
        ("pool_size must be an int or a pair of ints (rows, cols); got a set {2, 3}",
         "pass a tuple (rows, cols) instead.")),
    Row(P, "stride", "`{1, 2}` (a set)", "fit", pool_fit(stride={1, 2}), TypeError,
        ("stride must be an int or a pair of ints (rows, cols); got a set {1, 2}",
         "pass a tuple (rows, cols) instead.")),
    Row(P, "pool_size", "`7` on 6x6 maps", "fit", pool_fit(pool_size=7), ValueError,
        ("The pooling window has 7 rows but the (padded) maps only 6",
         "use a smaller pool_size, or pool_size=None for global pooling")),
    Row(P, "pool_size", "`(2, 7)` on 6x6 maps", "fit", pool_fit(pool_size=(2, 7)), ValueError,
        ("The pooling window has 7 columns but the (padded) maps only 6",
         "use a smaller pool_size")),
    Row(P, "stride", "`0`", "fit", pool_fit(stride=0), IPE, not_allowed(P, "stride", "0")),
    Row(P, "stride", "`(0, 1)`", "fit", pool_fit(stride=(0, 1)), ValueError,
        ("stride must be at least 1 on each axis; got (0, 1).",)),
    Row(P, "stride", "`(1, 2, 3)`", "fit", pool_fit(stride=(1, 2, 3)), TypeError,
        ("stride must be an int or a pair of ints (rows, cols); got (1, 2, 3).",)),
    Row(P, "mode", "`'median'`", "fit", pool_fit(mode="median"), IPE,
        not_allowed(P, "mode", "'median'")),
    Row(P, "mode", "`None`", "fit", pool_fit(mode=None), IPE, not_allowed(P, "mode", "None")),
    Row(P, "image_shape", "`6`", "fit", pool_fit(MAPS.reshape(4, -1), image_shape=6), IPE,
        not_allowed(P, "image_shape", "6")),
    Row(P, "image_shape", "`(6, 0)`", "fit", pool_fit(MAPS.reshape(4, -1), image_shape=(6, 0)),
        ValueError, ("image_shape must be (height, width) or (height, width, channels)",)),
    Row(P, "image_shape", "`(6, 6, 4)` for 108 features", "fit",
        pool_fit(MAPS.reshape(4, -1), image_shape=(6, 6, 4)), ValueError,
        ("X has 108 features but image_shape (6, 6, 4) needs 144", "set image_shape to the")),
    Row(P, "flatten", "`'no'`", "fit", pool_fit(flatten="no"), IPE,
        not_allowed(P, "flatten", "'no'")),
    Row(P, "padding", "`-1`", "fit", pool_fit(padding=-1), IPE, not_allowed(P, "padding", "-1")),
    Row(P, "padding", "`(0, -1)`", "fit", pool_fit(padding=(0, -1)), ValueError,
        ("padding must be at least 0 on each axis; got (0, -1).",)),
    Row(P, "padding", "`(1, 1, 1)`", "fit", pool_fit(padding=(1, 1, 1)), TypeError,
        ("padding must be an int or a pair of ints (rows, cols)",)),
    Row(P, "padding", "`2` with `pool_size=2`", "fit", pool_fit(padding=2), ValueError,
        ("padding (2, 2) is more than half the pooling window (2, 2)",
         "use a smaller padding or a larger pool_size")),
    Row(P, "grid", "`0`", "fit", pool_fit(grid=0), IPE, not_allowed(P, "grid", "0")),
    Row(P, "grid", "`(1, 0)`", "fit", pool_fit(grid=(1, 0)), ValueError,
        ("grid must be at least 1 on each axis; got (1, 0).",)),
    Row(P, "grid", "`(7, 1)` on 6x6 maps", "fit", pool_fit(grid=(7, 1)), ValueError,
        ("grid (7, 1) has more regions than the 6x6 maps have cells; use a smaller grid.",)),
    Row(P, "n_jobs", "`0`", "fit", pool_fit(n_jobs=0), IPE, not_allowed(P, "n_jobs", "0")),
    Row(P, "grid", "`None` set after fitting `grid=2`", "transform",
        lambda: P(grid=2).fit(MAPS).set_params(grid=None).transform(MAPS), ValueError,
        ("parameter(s) 'grid' changed since fit", "Refit")),
    Row(P, "image_shape", "one-row maps of 2-D X without `image_shape`", "fit",
        lambda: Pipeline([("conv", C(filters="tutorial", image_shape=(1, 36))), ("pool", P())])
        .fit(IMAGES.reshape(4, -1)), ValueError,
        ("The pooling window has 2 rows", "The maps have one row",
         "set its image_shape=(height, width[, channels])")),
    Row(P, "mode", "`'avg'` on maps of `1e308`", "transform",
        pool_transform(np.full(MAPS.shape, 1e308), mode="avg"), ValueError,
        ("Average pooling overflows float64", "or use mode='max'")),
]


CONVPOOL_PARAMETERS = [
    Row(CP, "conv", "`'seed'`", "fit", convpool_fit(conv="seed"), IPE,
        not_allowed(CP, "conv", "'seed'")),
    Row(CP, "pool", "`2`", "fit", convpool_fit(pool=2), IPE, not_allowed(CP, "pool", "2")),
    Row(CP, "batch_size", "`0`", "fit", convpool_fit(batch_size=0), IPE,
        not_allowed(CP, "batch_size", "0")),
    Row(CP, "batch_size", "`'big'`", "fit", convpool_fit(batch_size="big"), IPE,
        not_allowed(CP, "batch_size", "'big'")),
    Row(CP, "batch_size", "`1.5`", "fit", convpool_fit(batch_size=1.5), IPE,
        not_allowed(CP, "batch_size", "1.5")),
    Row(CP, "verbose", "`'loud'`", "fit", convpool_fit(verbose="loud"), IPE,
        not_allowed(CP, "verbose", "'loud'")),
    Row(CP, "pool__grid", "`None` set after fitting `grid=2`", "transform",
        lambda: CP(pool=P(grid=2)).fit(IMAGES).set_params(pool__grid=None).transform(IMAGES),
        ValueError, ("parameter(s) 'pool__grid' changed since fit", "Refit")),
    Row(CP, "X", "pixels of `1e308` (not reported as NaN)", "transform",
        convpool_transform(np.full((2, 6, 6), 1e308)), ValueError,
        ("The convolution overflows float64",)),
    # The steps' own parameters are checked by the steps, with their messages.
    Row(CP, "stride", "`conv=ConvFeatureExtractor(stride=0)`", "fit",
        convpool_fit(conv=C(stride=0)), IPE, not_allowed(C, "stride", "0")),
    Row(CP, "filters", "`conv=ConvFeatureExtractor(filters=bank holding NaN)`", "fit",
        convpool_fit(conv=C(filters=NAN_BANK)), ValueError,
        ("filters holds NaN or infinite values; pass finite kernels.",)),
    Row(CP, "pool_size", "`pool=PoolTransformer(pool_size=9)` on 6x6 images", "fit",
        convpool_fit(pool=P(pool_size=9)), ValueError,
        ("The pooling window has 9 rows but the (padded) maps only 6",
         "use a smaller pool_size")),
    Row(CP, "mode", "`pool=PoolTransformer(mode='median')`", "fit",
        convpool_fit(pool=P(mode="median")), IPE, not_allowed(P, "mode", "'median'")),
]


PATCHES = RNG.rand(50, 3, 3, 1)
NAN_PATCHES, INF_PATCHES = PATCHES.copy(), PATCHES.copy()
NAN_PATCHES[3, 1, 1, 0], INF_PATCHES[3, 1, 1, 0] = np.nan, np.inf
NOT_FINITE = ("patches hold NaN or infinite values", "drop those patches")
POSITIVE = "must be a positive finite float"

FILTERS_PARAMETERS = [
    Row(gabor_bank, "bandwidth", "`0`", "call", lambda: gabor_bank(bandwidth=0), ValueError,
        (f"bandwidth {POSITIVE}; got 0.",)),
    Row(gabor_bank, "bandwidth", "`-1.0`", "call", lambda: gabor_bank(bandwidth=-1.0),
        ValueError, (f"bandwidth {POSITIVE}; got -1.0.",)),
    Row(gabor_bank, "bandwidth", "`nan`", "call", lambda: gabor_bank(bandwidth=np.nan),
        ValueError, (f"bandwidth {POSITIVE}; got nan.",)),
    Row(gabor_bank, "bandwidth", "`inf`", "call", lambda: gabor_bank(bandwidth=np.inf),
        ValueError, (f"bandwidth {POSITIVE}; got inf.",)),
    Row(gabor_bank, "bandwidth", "`'1'`", "call", lambda: gabor_bank(bandwidth="1"),
        TypeError, (f"bandwidth {POSITIVE}; got '1'.",)),
    Row(gabor_bank, "bandwidth", "`100.0`", "call", lambda: gabor_bank(bandwidth=100.0),
        ValueError, ("bandwidth must be in (0, 64] octaves; got 100.0.", "pass 64")),
    Row(gabor_bank, "bandwidth", "`1e-17`", "call", lambda: gabor_bank(bandwidth=1e-17),
        ValueError, ("bandwidth=1e-17 with frequency 0.25 gives a Gaussian envelope too wide",
                     "use a larger bandwidth")),
    Row(gabor_bank, "frequencies", "`[]`", "call", lambda: gabor_bank(frequencies=[]),
        ValueError, ("frequencies must be a non-empty sequence of floats in (0, 0.5]",)),
    Row(gabor_bank, "frequencies", "`[nan]`", "call", lambda: gabor_bank(frequencies=[np.nan]),
        ValueError, ("frequencies must be a non-empty sequence", "got [nan].")),
    Row(gabor_bank, "frequencies", "`[1e-07]`", "call", lambda: gabor_bank(frequencies=[1e-7]),
        ValueError, ("The Gabor kernel of frequency 1e-07 at orientation 0 rad is flat over a "
                     "5x5 window", "use higher frequencies or a larger kernel_size")),
    Row(learn_kmeans_bank, "patches", "holding NaN", "call",
        lambda: learn_kmeans_bank(NAN_PATCHES, 2), ValueError, NOT_FINITE),
    Row(learn_kmeans_bank, "patches", "holding inf", "call",
        lambda: learn_kmeans_bank(INF_PATCHES, 2), ValueError, NOT_FINITE),
    Row(learn_kmeans_bank, "contrast_eps", "`inf`", "call",
        lambda: learn_kmeans_bank(PATCHES, 2, contrast_eps=np.inf), ValueError,
        (f"contrast_eps {POSITIVE}, 'auto' or None; got inf.",)),
    Row(learn_kmeans_bank, "zca_eps", "`inf`", "call",
        lambda: learn_kmeans_bank(PATCHES, 2, zca_eps=np.inf), ValueError,
        (f"zca_eps {POSITIVE} or 'auto'; got inf.",)),
    Row(learn_pca_bank, "patches", "holding NaN", "call",
        lambda: learn_pca_bank(NAN_PATCHES, 2), ValueError, NOT_FINITE),
    Row(estimate_contrast_eps, "patches", "holding inf", "call",
        lambda: estimate_contrast_eps(INF_PATCHES), ValueError, NOT_FINITE),
    Row(estimate_contrast_eps, "patches", "of `1e300` (variance overflows)", "call",
        lambda: estimate_contrast_eps(PATCHES * 1e300), ValueError,
        ("patches vary too much to take their variance in float64", "rescale the images")),
]

USAGE = "skconv: error: argument"
IN_RANGE = "must be an int in the range [1, inf)"
COMMAND_LINE = [
    Row(main, "--pool-size", "`20` (larger than the maps)", "start", cli("--pool-size", "20"),
        SystemExit, ("skconv: error: --pool-size 20 --pool-stride 1: The pooling window has 20 "
                     "rows but the (padded) maps only 8; use a smaller pool_size",)),
    Row(main, "--pool-size", "`0`", "start", cli("--pool-size", "0"), SystemExit,
        (f"{USAGE} --pool-size: {IN_RANGE}", "Got 0 instead.")),
    Row(main, "--pool-stride", "`0`", "start", cli("--pool-stride", "0"), SystemExit,
        (f"{USAGE} --pool-stride: {IN_RANGE}", "Got 0 instead.")),
    Row(main, "--cv", "`1`", "start", cli("--grid-search", "--cv", "1"), SystemExit,
        (f"{USAGE} --cv: k-fold cross-validation requires at least one train/test split",)),
    Row(main, "--cv", "`200` with `--grid-search`", "start",
        cli("--grid-search", "--cv", "200"), SystemExit,
        (f"{USAGE} --cv: n_splits=200 cannot be greater than the number of members in each "
         "class",)),
    Row(main, "--n-filters", "`0`", "start", cli("--n-filters", "0"), SystemExit,
        (f"{USAGE} --n-filters: {IN_RANGE} or None. Got 0 instead.",)),
    Row(main, "--kernel-size", "`0`", "start", cli("--kernel-size", "0"), SystemExit,
        (f"{USAGE} --kernel-size: {IN_RANGE}", "Got 0 instead.")),
    Row(main, "--kernel-size", "`1` with `--filters gabor`", "start",
        cli("--kernel-size", "1"), SystemExit,
        ("skconv: error: --kernel-size 1: gabor_bank needs at least 2 pixels per kernel",
         "Use a kernel_size of 2 or more")),
    Row(main, "--kernel-size", "`7` with `--filters edges`", "start",
        cli("--filters", "edges", "--kernel-size", "7"), SystemExit,
        ("skconv: error: --filters edges --kernel-size 7: edge_bank supports kernel_size 3",)),
    Row(main, "--kernel-size", "`5` with `--filters tutorial`", "start",
        cli("--filters", "tutorial", "--kernel-size", "5"), SystemExit,
        ("skconv: error: --filters tutorial --kernel-size 5: filters='tutorial' is the "
         "tutorial's three 3x3 filters, so kernel_size has nothing to choose",)),
    Row(main, "-C", "`0`", "start", cli("-C", "0"), SystemExit,
        (f"{USAGE} -C: must be a float in the range (0.0, inf]. Got 0.0 instead.",)),
    Row(main, "-C", "`nan`", "start", cli("-C", "nan"), SystemExit,
        (f"{USAGE} -C: must be a float in the range (0.0, inf]. Got nan instead.",)),
    Row(main, "--n-jobs", "`0`", "start", cli("--n-jobs", "0"), SystemExit,
        (f"{USAGE} --n-jobs: must be an int in the range (-inf, -1], an int in the range "
         "[1, inf) or None. Got 0 instead.",)),
    Row(main, "--n-jobs", "`0` with `--grid-search`", "start",
        cli("--grid-search", "--n-jobs", "0"), SystemExit,
        (f"{USAGE} --n-jobs: n_jobs == 0 in Parallel has no meaning",)),
    Row(main, "--random-state", "`-1`", "start", cli("--random-state", "-1"), SystemExit,
        (f"{USAGE} --random-state: must be an int in the range [0, 4294967295]",
         "Got -1 instead.")),
    Row(main, "--filters", "given with `--grid-search`", "start",
        cli("--grid-search", "--filters", "edges"), SystemExit,
        ("skconv: error: --filters does not apply with --grid-search, which chooses them",)),
    Row(main, "--filters", "given with `--dataset fashion-mnist`", "start",
        cli("--dataset", "fashion-mnist", "--filters", "gabor", "-C", "3", "--grid-search"),
        SystemExit, ("skconv: error: --filters -C --grid-search do not apply to --dataset "
                     "fashion-mnist (the recipe has its own settings)",)),
    Row(main, "--image-shape", "given with `--dataset fashion-mnist`", "start",
        cli("--dataset", "fashion-mnist", "--image-shape", "28", "28"), SystemExit,
        ("skconv: error: --image-shape does not apply to --dataset fashion-mnist",)),
    Row(main, "--test-size", "`1.5` with `--folder`", "start",
        cli("--folder", "images", "--test-size", "1.5"), SystemExit,
        (f"{USAGE} --test-size: must be a float in the range (0.0, 1.0)", "Got 1.5 instead.")),
    Row(main, "--filters", "given with `--folder`", "start",
        cli("--folder", "images", "--filters", "gabor"), SystemExit,
        ("skconv: error: --filters does not apply to --folder (the recipe has its own "
         "settings)",)),
    Row(main, "--test-size", "given with `--dataset digits`", "start",
        cli("--test-size", "0.5"), SystemExit,
        ("skconv: error: --test-size does not apply to --dataset digits",)),
    Row(main, "--plot-filters", "a path in a missing folder", "start",
        cli("--plot-filters", "no/such/folder/filters.png"), SystemExit,
        (f"{USAGE} --plot-filters: the folder 'no/such/folder' does not exist",
         "create it or write the picture elsewhere")),
    Row(main, "--plot-filters", "a folder", "start", cli("--plot-filters", "."), SystemExit,
        (f"{USAGE} --plot-filters: . is a folder; give a file name in it",)),
    Row(main, "--plot-filters", "`out.png/` (trailing slash)", "start",
        cli("--plot-filters", "out.png/"), SystemExit,
        (f"{USAGE} --plot-filters: out.png/ ends in a path separator, so it names a folder",)),
    Row(main, "--plot-filters", "`filters.xyz`", "start", cli("--plot-filters", "filters.xyz"),
        SystemExit, (f"{USAGE} --plot-filters: matplotlib cannot write .xyz files",
                     "use a name ending in .png")),
]


def bad_arrays(estimator, fit, transform, good):
    """The bad array kinds at fit, and at transform after fitting on ``good``."""
    n, rows, cols = good.shape[:3]
    width, n_channels = good[0].size, good.shape[3] if good.ndim == 4 else 1
    nan, inf = np.full(good.shape, np.nan), np.full(good.shape, np.inf)
    hint_nan = ("X contains NaN", "Fill them first, e.g. with sklearn.impute.SimpleImputer")
    hint_inf = ("X contains infinity", "Replace or clip them first")
    hint_dims = ("but a 2D array (n_samples, n_features) with image_shape or an image stack",)
    name = estimator.__name__
    at_fit = [
        ("`NaN`", fit(nan), ValueError, hint_nan),
        ("`inf`", fit(inf), ValueError, hint_inf),
        ("`-inf`", fit(-inf), ValueError, hint_inf),
        ("object array of strings", fit(np.full((2, 4), "a", dtype=object)), TypeError,
         ("X must hold real numbers, but it holds strings", "X.astype(np.float32)")),
        ("numeric strings", fit(np.full((2, 4), "1.5")), TypeError,
         ("X must hold real numbers, but it holds strings", "not cast them silently")),
        ("datetime64", fit(np.zeros((2, 4), dtype="datetime64[s]")), TypeError,
         ("X must hold real numbers, but it holds dates (datetime64)",)),
        ("timedelta64", fit(np.zeros((2, 4), dtype="timedelta64[s]")), TypeError,
         ("but it holds durations (timedelta64)",)),
        ("structured", fit(np.zeros((2, 4), dtype=[("a", "f8"), ("b", "f8")])), TypeError,
         ("but it holds structured records",)),
        ("complex", fit(good.astype(complex)), ValueError,
         ("Complex data not supported: X holds complex numbers", "e.g. np.abs(X) or X.real")),
        ("no samples, 2-D `(0, 36)`", fit(np.ones((0, 36))), ValueError,
         ("X holds no images", "pass at least one image")),
        ("no samples, stack `(0, 6, 6)`", fit(np.ones((0, 6, 6))), ValueError,
         ("X holds no images", "pass at least one image")),
        ("no features, 2-D `(4, 0)`", fit(np.ones((4, 0))), ValueError,
         ("X holds no pixels", "0 feature(s)", "pass images of at least one pixel")),
        ("empty axis, stack `(4, 0, 6)`", fit(np.ones((4, 0, 6))), ValueError,
         ("X is a stack of (0, 6, 1) images, which hold no pixels",)),
        ("sparse matrix", fit(scipy.sparse.csr_matrix(np.eye(4))), TypeError,
         ("Sparse data was passed for X, but dense data is required", "'.toarray()'")),
        ("ragged list of images", fit([np.ones((3, 3)), np.ones((3, 4))]), ValueError,
         ("X is ragged", "Pass a rectangular array")),
        ("1-D", fit(np.ones(5)), ValueError,
         ("X has 1 dimensions", *hint_dims, "Reshape your data, e.g. X.reshape(1, -1)")),
        ("`None`", fit(None), ValueError, ("X has 0 dimensions", *hint_dims)),
        ("5-D", fit(np.ones((1, 2, 3, 4, 1))), ValueError, ("X has 5 dimensions", *hint_dims)),
    ]
    at_transform = [
        ("`NaN`", transform(nan), ValueError, hint_nan),
        ("sparse matrix", transform(scipy.sparse.csr_matrix(np.ones((2, width)))), TypeError,
         ("Sparse data was passed for X",)),
        ("1-D", transform(good.reshape(n, -1)[0]), ValueError,
         ("X has 1 dimensions", "Reshape your data")),
        (f"wrong width, 2-D `(2, {width - 1})`", transform(np.ones((2, width - 1))), ValueError,
         (f"X has {width - 1} features, but {name} is expecting {width} features as input",)),
        (f"wrong image size, stack `(2, {rows - 1}, {cols}, {n_channels})`",
         transform(np.ones((2, rows - 1, cols, n_channels))), ValueError,
         (f"X holds {rows - 1}x{cols} images, but {name} was fitted on {rows}x{cols}",
          "resize them or refit")),
        (f"wrong channel count, stack `(2, {rows}, {cols}, {n_channels + 1})`",
         transform(np.ones((2, rows, cols, n_channels + 1))), ValueError,
         (f"X has {n_channels + 1} channels, but {name} was fitted on {n_channels}",
          "transform images with the channel count seen in fit")),
    ]
    return [
        Row(estimator, "X", value, stage, call, error, excerpts)
        for stage, rows_ in [("fit", at_fit), ("transform", at_transform)]
        for value, call, error, excerpts in rows_
    ] + [
        Row(estimator, "fit", "transform before fit", "transform",
            lambda: estimator().transform(good), NotFittedError,
            (f"This {name} instance is not fitted yet. Call 'fit'",)),
    ]


NRC = NystroemRidgeClassifier
ROWS_X, ROWS_Y = RNG.rand(40, 3), np.arange(40) % 2


def head_fit(X=ROWS_X, y=ROWS_Y, **params):
    return lambda: NRC(**{"n_components": 20, "random_state": 0, **params}).fit(X, y)


def head_predict(X, **changed):
    return lambda: head_fit()().set_params(**changed).predict(X)


NUMBERS_ONLY = "must hold real numbers, but it holds"
HEAD = [
    Row(NRC, "gamma", "`-1.0`", "fit", head_fit(gamma=-1.0), IPE,
        not_allowed(NRC, "gamma", "-1.0")),
    Row(NRC, "gamma", "`'auto'`", "fit", head_fit(gamma="auto"), IPE,
        not_allowed(NRC, "gamma", "'auto'")),
    Row(NRC, "gamma", "`1e300` on float32 rows", "fit",
        head_fit(ROWS_X.astype(np.float32), gamma=1e300), ValueError,
        ("gamma=1e+300 overflows float32", "use a smaller gamma")),
    Row(NRC, "gamma", "`1e300` on float64 rows", "fit", head_fit(gamma=1e300), ValueError,
        ("gamma=1e+300 makes the RBF kernel underflow to 0", "use a smaller gamma")),
    Row(NRC, "gamma", "`'scale'` on identical rows", "fit",
        head_fit(np.ones((40, 3)), gamma="scale"), ValueError,
        ("gamma='scale' needs rows that differ", "pass gamma as a number")),
    Row(NRC, "n_components", "`0`", "fit", head_fit(n_components=0), IPE,
        not_allowed(NRC, "n_components", "0")),
    Row(NRC, "alpha", "`-1.0`", "fit", head_fit(alpha=-1.0), IPE,
        not_allowed(NRC, "alpha", "-1.0")),
    Row(NRC, "alpha", "`0.0` with each row repeated", "fit",
        head_fit(np.repeat(ROWS_X[:10], 4, axis=0), alpha=0.0), ValueError,
        ("The ridge system is singular at alpha=0.0", "Use a positive alpha")),
    Row(NRC, "fit_intercept", "`'yes'`", "fit", head_fit(fit_intercept="yes"), IPE,
        not_allowed(NRC, "fit_intercept", "'yes'")),
    Row(NRC, "batch_size", "`0`", "fit", head_fit(batch_size=0), IPE,
        not_allowed(NRC, "batch_size", "0")),
    Row(NRC, "random_state", "`'seed'`", "fit", head_fit(random_state="seed"), IPE,
        not_allowed(NRC, "random_state", "'seed'")),
    Row(NRC, "verbose", "`'loud'`", "fit", head_fit(verbose="loud"), IPE,
        not_allowed(NRC, "verbose", "'loud'")),
    Row(NRC, "gamma", "`5.0` set after fitting", "predict", head_predict(ROWS_X, gamma=5.0),
        ValueError, ("parameter(s) 'gamma' changed since fit", "Refit")),
    Row(NRC, "y", "one class", "fit", head_fit(y=np.zeros(40, dtype=np.int64)), ValueError,
        ("needs samples of at least 2 classes in y; got 1 class: 0.",)),
    Row(NRC, "X", "dates (`datetime64[s]`)", "fit",
        head_fit(ROWS_X.astype("datetime64[s]")), TypeError,
        (f"X {NUMBERS_ONLY} dates (datetime64)", "Convert X to a numeric array first")),
    Row(NRC, "X", "durations (`timedelta64[s]`)", "fit",
        head_fit(ROWS_X.astype("timedelta64[s]")), TypeError,
        (f"X {NUMBERS_ONLY} durations (timedelta64)",)),
    Row(NRC, "X", "strings", "fit", head_fit(ROWS_X.astype(str)), TypeError,
        (f"X {NUMBERS_ONLY} strings",)),
    Row(NRC, "X", "object strings", "fit", head_fit(ROWS_X.astype(str).astype(object)),
        TypeError, (f"X {NUMBERS_ONLY} strings",)),
    Row(NRC, "X", "structured records", "fit",
        head_fit(np.zeros((40, 3), dtype=[("a", "f4"), ("b", "i4")])), TypeError,
        (f"X {NUMBERS_ONLY} structured records",)),
    Row(NRC, "X", "complex", "fit", head_fit(ROWS_X.astype(complex)), ValueError,
        ("Complex data not supported",)),
    Row(NRC, "X", "dates (`datetime64[s]`)", "predict",
        head_predict(ROWS_X.astype("datetime64[s]")), TypeError,
        (f"X {NUMBERS_ONLY} dates (datetime64)",)),
]

CONV_ARRAYS = bad_arrays(C, conv_fit, conv_transform, IMAGES)
POOL_ARRAYS = bad_arrays(P, pool_fit, pool_transform, MAPS)
CONVPOOL_ARRAYS = bad_arrays(CP, convpool_fit, convpool_transform, IMAGES)

# The recipe: its input step refuses non-numbers before any cast, at fit and at predict.
IC, PN = ImageClassifier, PeakNormalizer
RECIPE_LABELS = np.arange(4) % 2
DATES = IMAGES.astype("datetime64[s]")


def recipe_fit(X=IMAGES, **params):
    small = {"n_filters": 2, "n_components": 4} | params
    return lambda: IC(**small).fit(X, RECIPE_LABELS)


def recipe_predict(X):
    return lambda: IC(n_filters=2, n_components=4).fit(IMAGES, RECIPE_LABELS).predict(X)


RECIPE_ROWS = [
    Row(IC, "X", "datetime64 images", "fit", recipe_fit(DATES), TypeError,
        ("X must hold real numbers, but it holds dates (datetime64)",)),
    Row(IC, "X", "datetime64 images", "predict", recipe_predict(DATES), TypeError,
        ("X must hold real numbers, but it holds dates (datetime64)",)),
    Row(IC, "X", "strings", "predict", recipe_predict(IMAGES.astype(str)), TypeError,
        ("X must hold real numbers, but it holds strings",)),
    Row(IC, "X", "1x1 images", "fit", recipe_fit(np.ones((4, 1, 1))), ValueError,
        ("X holds images of 1x1x1", "needs at least 2 values per image")),
    Row(IC, "X", "images of another size than in fit", "predict",
        recipe_predict(np.ones((2, 5, 6))), ValueError, ("X holds 5x6 images", "refit")),
    Row(IC, "X_unlabeled", "images of another size than `X`", "fit",
        lambda: IC(n_filters=2, n_components=4).fit(IMAGES, RECIPE_LABELS,
                                                     X_unlabeled=np.ones((3, 5, 6))),
        ValueError, ("X_unlabeled: X holds 5x6 images",)),
    Row(IC, "X_unlabeled", "datetime64 images", "fit",
        lambda: IC(n_filters=2, n_components=4).fit(IMAGES, RECIPE_LABELS, X_unlabeled=DATES),
        TypeError, ("X_unlabeled: X must hold real numbers, but it holds dates",)),
    Row(IC, "coarse_grids", "`(0,)`", "fit", recipe_fit(coarse_grids=(0,)), ValueError,
        ("coarse_grids must hold positive ints",)),
    Row(IC, "gamma", "`'auto'`", "fit", recipe_fit(gamma="auto"), IPE,
        not_allowed(IC, "gamma", "'auto'")),
    Row(IC, "n_filters", "`4` set after fitting `2`", "predict",
        lambda: IC(n_filters=2, n_components=4).fit(IMAGES, RECIPE_LABELS)
        .set_params(n_filters=4).predict(IMAGES),
        ValueError, ("parameter(s) 'n_filters' changed since fit", "Refit")),
    Row(PN, "X", "datetime64 images", "transform",
        lambda: PN().fit(IMAGES).transform(DATES), TypeError,
        ("X must hold real numbers, but it holds dates (datetime64)",)),
]

# --- BatchedTransformer -------------------------------------------------------------------------
B = BatchedTransformer
ROWS = RNG.rand(4, 3)  # four rows of three values
HALF_ZERO = np.vstack([np.zeros((2, 3)), np.ones((2, 3))])  # batches of 2: zeros, then ones


def batched_fit(X=ROWS, y=None, transformer=None, **params):
    transformer = StandardScaler() if transformer is None else transformer
    return lambda: B(transformer, **params).fit(X, y)


def batched_transform(X, fit_on=ROWS, transformer=None, **params):
    def call():
        steps = FunctionTransformer() if transformer is None else transformer
        return B(steps, batch_size=2, **params).fit(fit_on).transform(X)

    return call


def batched_refit(**changed):
    def call():
        batched = B(PCA(2), max_fit_samples=3, random_state=0).fit(ROWS)
        return batched.set_params(**changed).transform(ROWS)

    return call


def float64_huge_after_float32_zeros(X):
    return X.astype(np.float32) if X[0, 0] == 0 else X * 1e300


def narrower_after_zeros(X):
    return X if X[0, 0] == 0 else X[:, :1]


def first_row_only(X):
    return X[:1]


class NoGetParams:
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X


BATCHED_PARAMETERS = [
    Row(B, "transformer", "`None`", "fit", lambda: B(None).fit(ROWS), IPE,
        ("The 'transformer' parameter of BatchedTransformer must be an object implementing "
         "'fit', 'transform' and 'get_params'.", "Got None instead.")),
    Row(B, "transformer", "an object without `get_params`", "fit",
        batched_fit(transformer=NoGetParams()), IPE,
        ("The 'transformer' parameter of BatchedTransformer must be an object implementing "
         "'fit', 'transform' and 'get_params'.",)),
    Row(B, "transformer", "output dtype float32, then float64 holding `1e300`", "transform",
        batched_transform(HALF_ZERO, fit_on=HALF_ZERO,
                          transformer=FunctionTransformer(float64_huge_after_float32_zeros)),
        TypeError,
        ("returned float64 for rows 2:4 but float32 for the first rows",
         "does not fit in float32 without loss", "does not cast silently",
         "Make the transformer return one dtype")),
    Row(B, "transformer", "output rows narrower in a later batch", "transform",
        batched_transform(HALF_ZERO, fit_on=HALF_ZERO,
                          transformer=FunctionTransformer(narrower_after_zeros)), ValueError,
        ("needs a row-wise transformer", "rows of shape (1,) for rows 2:4 but (3,) for the "
         "first rows")),
    Row(B, "transformer", "fewer output rows than input rows", "transform",
        batched_transform(ROWS, transformer=FunctionTransformer(first_row_only)), ValueError,
        ("needs a row-wise transformer", "returned 1 rows for 2")),
    Row(B, "transformer", "sparse output (`OneHotEncoder()`)", "transform",
        batched_transform(ROWS, transformer=OneHotEncoder()), TypeError,
        ("needs a transformer that returns dense arrays", "returned csr_matrix")),
    Row(B, "batch_size", "`0`", "fit", batched_fit(batch_size=0), IPE,
        not_allowed(B, "batch_size", "0")),
    Row(B, "max_fit_samples", "`0`", "fit", batched_fit(max_fit_samples=0), IPE,
        not_allowed(B, "max_fit_samples", "0")),
    Row(B, "max_fit_samples", "changed after fit", "transform",
        batched_refit(max_fit_samples=2), ValueError,
        ("parameter(s) 'max_fit_samples' changed since fit", "Refit: call fit")),
    Row(B, "transformer__n_components", "changed after fit", "transform",
        batched_refit(transformer__n_components=1), ValueError,
        ("parameter(s) 'transformer__n_components' changed since fit", "Refit: call fit")),
    Row(B, "random_state", "`'a'`", "fit", batched_fit(random_state="a"), IPE,
        not_allowed(B, "random_state", "'a'")),
    Row(B, "verbose", "`-1`", "fit", batched_fit(verbose=-1), IPE,
        not_allowed(B, "verbose", "-1")),
    Row(B, "y", "19 labels for 20 rows", "fit",
        batched_fit(RNG.rand(20, 3), np.arange(19), max_fit_samples=5), ValueError,
        ("y has 19 rows but X has 20; pass one label",)),
]

BATCHED_ARRAYS = [
    Row(B, "X", value, stage, call, error, excerpts)
    for value, stage, call, error, excerpts in [
        ("datetime64", "fit", batched_fit(np.zeros((4, 3), dtype="datetime64[s]")), TypeError,
         ("X must hold real numbers, but it holds dates (datetime64)",)),
        ("timedelta64", "fit", batched_fit(np.zeros((4, 3), dtype="timedelta64[s]")),
         TypeError, ("but it holds durations (timedelta64)",)),
        ("numeric strings", "fit", batched_fit(np.full((4, 3), "1.5")), TypeError,
         ("X must hold real numbers, but it holds strings", "not cast them silently")),
        ("object array of strings", "fit", batched_fit(np.full((4, 3), "a", dtype=object)),
         TypeError, ("X must hold real numbers, but it holds strings",)),
        ("structured", "fit", batched_fit(np.zeros((4, 3), dtype=[("a", "f8"), ("b", "f8")])),
         TypeError, ("but it holds structured records",)),
        ("complex", "fit", batched_fit(ROWS.astype(complex)), ValueError,
         ("Complex data not supported: X holds complex numbers",)),
        ("no samples, `(0, 3)`", "fit", batched_fit(np.ones((0, 3))), ValueError,
         ("X holds no rows", "pass at least one row")),
        ("no features, `(4, 0)`", "fit", batched_fit(np.ones((4, 0))), ValueError,
         ("X holds no values per row", "0 feature(s)", "pass rows of at least one value")),
        ("sparse matrix", "fit", batched_fit(scipy.sparse.csr_matrix(ROWS)), TypeError,
         ("Sparse data was passed for X, but dense data is required",)),
        ("ragged list of rows", "fit", batched_fit([[1.0, 2.0], [3.0]]), ValueError,
         ("X is ragged", "Pass a rectangular array")),
        ("1-D", "fit", batched_fit(np.ones(5)), ValueError,
         ("got 1D array instead", "X.reshape(1, -1) if it is one sample")),
        ("`None`", "fit", batched_fit(None), ValueError, ("got 0D array instead",)),
        ("datetime64", "transform", batched_transform(np.zeros((4, 3), dtype="datetime64[s]")),
         TypeError, ("X must hold real numbers, but it holds dates (datetime64)",)),
        ("wrong width, `(2, 2)`", "transform", batched_transform(np.ones((2, 2))), ValueError,
         ("X has 2 features, but BatchedTransformer is expecting 3 features as input.",)),
        ("one 6x6 image alone, `(6, 6)`", "transform",
         batched_transform(IMAGES[0], fit_on=IMAGES), ValueError,
         ("X has 6 features, but BatchedTransformer is expecting 36",
          "looks like one sample", "pass X[np.newaxis]")),
    ]
] + [
    Row(B, "fit", "transform before fit", "transform", lambda: B(StandardScaler()).transform(ROWS),
        NotFittedError, ("This BatchedTransformer instance is not fitted yet. Call 'fit'",)),
]
# fmt: on


# --- skconv.datasets: each call writes its folder, runs, and removes it ---------------------


def in_folder(build: Callable[[Path], object], call: Callable[[Path], object]):
    """``call(folder)`` on a temporary folder that ``build(folder)`` fills; removed after."""

    def run():
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            build(folder)
            return call(folder)

    return run


def image_file(path: Path, pixels=None, mode=None) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.zeros((8, 8, 3), dtype=np.uint8) if pixels is None else pixels
    Image.fromarray(pixels, mode=mode).save(path)
    return path


def classes(*names, extra=None):
    """A builder: one 8x8 PNG in each class folder, then ``extra(folder)``."""

    def build(folder):
        for name in names:
            image_file(folder / name / "0.png")
        if extra is not None:
            extra(folder)

    return build


def truncated_png(folder):
    whole = image_file(folder / "whole.png", np.arange(192, dtype=np.uint8).reshape(8, 8, 3))
    (folder / "a" / "cut.png").write_bytes(whole.read_bytes()[:-30])
    whole.unlink()


def animated_gif(folder):
    from PIL import Image

    frames = [Image.fromarray(np.full((8, 8, 3), value, dtype=np.uint8)) for value in (0, 255)]
    frames[0].save(folder / "a" / "anim.gif", save_all=True, append_images=frames[1:])


def load(**params):
    return lambda folder: load_image_folder(folder, **params)


def idx_files(count: int, *, pixels: bool = False, n_bytes: int | None = None):
    """A builder of Fashion-MNIST's test-set files whose header announces ``count`` images."""

    def build(folder):
        images = struct.pack(">4i", 2051, count, 28, 28)
        if pixels:
            images += bytes(range(256)) * (count * 784 // 256) + bytes(count * 784 % 256)
        (folder / "t10k-images-idx3-ubyte").write_bytes(images[:n_bytes])
        labels = struct.pack(">2i", 2049, count) + (bytes(count) if pixels else b"")
        (folder / "t10k-labels-idx1-ubyte").write_bytes(labels)

    return build


def fetch_test(folder):
    return fetch_fashion_mnist(data_home=folder, subset="test")


LIF, FFM, DFE, DNF = load_image_folder, fetch_fashion_mnist, DataFileError, DataNotFoundError
THROUGH = "(The folder was named by data_home="
# fmt: off
DATASETS = [
    Row(LIF, "path", "a folder that does not exist", "call",
        in_folder(lambda f: None, lambda f: load_image_folder(f / "absent")), DNF,
        ("does not exist", "the folder that holds one subfolder of images per class")),
    Row(LIF, "path", "an image file", "call",
        in_folder(lambda f: image_file(f / "x.png"), lambda f: load_image_folder(f / "x.png")),
        ValueError, ("is a file, not a folder",)),
    Row(LIF, "path", "images but no class subfolder", "call",
        in_folder(lambda f: image_file(f / "x.png"), load()), ValueError,
        ("holds no subfolder; a classifier needs at least two classes",
         "(path/<class name>/<image file>)")),
    Row(LIF, "path", "one class subfolder", "call", in_folder(classes("a"), load()),
        ValueError, ("holds only the class 'a'; a classifier needs at least two classes",)),
    Row(LIF, "path", "a class folder without images", "call",
        in_folder(classes("a", "b", extra=lambda f: (f / "c").mkdir()), load()), ValueError,
        ("holds no image", "Remove the folder, or add its images")),
    Row(LIF, "path", "a file that is not an image", "call",
        in_folder(classes("a", "b", extra=lambda f: (f / "a" / "x.png").write_bytes(b"x")),
                  load()), DFE,
        ("gives no image: it could not be read", 'or pass on_error="skip"')),
    Row(LIF, "path", "a truncated PNG", "call", in_folder(classes("a", "b", extra=truncated_png),
        load()), DFE, ("cut.png gives no image", "truncated")),
    Row(LIF, "path", "a 16-bit PNG", "call",
        in_folder(classes("a", "b", extra=lambda f: image_file(
            f / "a" / "deep.png", np.zeros((8, 8), dtype=np.uint16))), load()), DFE,
        ("its pixels are uint16, not 8-bit", "skimage.util.img_as_ubyte")),
    Row(LIF, "path", "a CMYK JPEG", "call",
        in_folder(classes("a", "b", extra=lambda f: image_file(
            f / "a" / "print.jpg", np.zeros((8, 8, 4), dtype=np.uint8), mode="CMYK")), load()),
        DFE, ("its colour mode is CMYK, not grey, RGB or RGBA", ".convert('RGB')")),
    Row(LIF, "path", "an animated GIF", "call",
        in_folder(classes("a", "b", extra=animated_gif), load()), DFE,
        ("not one image of 1 to 4 channels (several frames or pages?)",)),
    Row(LIF, "image_shape", "`None`, images of two sizes", "call",
        in_folder(classes("a", "b", extra=lambda f: image_file(
            f / "b" / "big.png", np.zeros((16, 8, 3), dtype=np.uint8))), load()), ValueError,
        ("have 2 different sizes", "8x8 (2)", "Pass image_shape=(rows, cols)",
         "e.g. image_shape=(8, 8)")),
    Row(LIF, "image_shape", "`(0, 28)`", "call",
        in_folder(classes("a", "b"), load(image_shape=(0, 28))), ValueError,
        ("image_shape must be (rows, cols), two positive integers", "got (0, 28)")),
    Row(LIF, "image_shape", "`28`", "call", in_folder(classes("a", "b"), load(image_shape=28)),
        IPE, not_allowed(LIF, "image_shape", 28)),
    Row(LIF, "as_gray", "`'yes'`", "call", in_folder(classes("a", "b"), load(as_gray="yes")),
        IPE, not_allowed(LIF, "as_gray", "'yes'")),
    Row(LIF, "extensions", "`('png',)`", "call",
        in_folder(classes("a", "b"), load(extensions=("png",))), ValueError,
        ("extensions must be a tuple of file endings that start with a dot",)),
    Row(LIF, "on_error", "`'ignore'`", "call",
        in_folder(classes("a", "b"), load(on_error="ignore")), IPE,
        not_allowed(LIF, "on_error", "'ignore'")),
    Row(FFM, "subset", "`'validation'`", "call", lambda: FFM(subset="validation"), IPE,
        not_allowed(FFM, "subset", "'validation'")),
    Row(FFM, "data_home", "a folder that does not exist", "call",
        in_folder(lambda f: None, lambda f: FFM(data_home=f / "absent")), DNF,
        ("which is not a folder", "sudo apt-get install dataset-fashion-mnist",
         "export SKCONV_FASHION_MNIST=")),
    Row(FFM, "data_home", "a folder without the files", "call",
        in_folder(lambda f: None, fetch_test), DNF,
        ("which lacks t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte",)),
    Row(FFM, "data_home", "a header announcing 0 images", "call",
        in_folder(idx_files(0), fetch_test), DFE,
        ("announces 0 images, but Fashion-MNIST's t10k-images-idx3-ubyte holds exactly 10,000",
         THROUGH)),
    Row(FFM, "data_home", "a header announcing 10^8 images", "call",
        in_folder(idx_files(10**8), fetch_test), DFE,
        ("announces 100,000,000 images", "corrupt or holds another data set", THROUGH)),
    Row(FFM, "data_home", "the training files under the test names", "call",
        in_folder(idx_files(60_000), fetch_test), DFE,
        ("60,000 is the size of the official training set: is a training file copied",)),
    Row(FFM, "data_home", "a file shorter than its header announces", "call",
        in_folder(idx_files(10_000, pixels=True, n_bytes=5000), fetch_test), DFE,
        ("is truncated: its header announces 10,000 items", THROUGH)),
    Row(FFM, "data_home", "another set in the same format (MNIST-like)", "call",
        in_folder(idx_files(10_000, pixels=True), fetch_test), DFE,
        ("is not Fashion-MNIST's official t10k-images-idx3-ubyte", "SHA-256",
         "another data set in the same IDX format", THROUGH)),
]
# fmt: on

BAD_INPUT = (
    CONV_PARAMETERS
    + CONV_ARRAYS
    + POOL_PARAMETERS
    + POOL_ARRAYS
    + CONVPOOL_PARAMETERS
    + CONVPOOL_ARRAYS
    + FILTERS_PARAMETERS
    + BATCHED_PARAMETERS
    + BATCHED_ARRAYS
    + HEAD
    + COMMAND_LINE
    + DATASETS
    + RECIPE_ROWS
)


# --- the rows as tests ------------------------------------------------------------------------


@pytest.mark.parametrize("row", BAD_INPUT, ids=lambda row: row.id)
def test_bad_input_raises_the_documented_error(row):
    if row.name == "--plot-filters":
        pytest.importorskip("matplotlib")
    # SystemExit, the command line's usage error, is not an Exception.
    with pytest.raises((Exception, SystemExit)) as caught:
        row.call()
    assert caught.type is row.error, f"{row.id}: {caught.type.__name__}: {caught.value}"
    message = str(caught.value)
    position = 0
    for excerpt in row.excerpts:
        found = message.find(excerpt, position)
        assert found >= 0, f"{row.id}: {excerpt!r} not in order in {message!r}"
        position = found + len(excerpt)
    assert re.search(rf"(?<![\w']){re.escape(row.name)}(?!\w)|'{row.name}'", message), (
        f"{row.id}: the message does not name {row.name}: {message!r}"
    )


@pytest.mark.parametrize("estimator", [C, P, CP, B])
def test_every_parameter_has_rows(estimator):
    named = {row.name for row in BAD_INPUT if row.estimator is estimator}
    assert set(estimator._parameter_constraints) <= named


@pytest.mark.parametrize("estimator", [C, P, CP])
def test_every_bad_array_kind_has_rows(estimator):
    values = " | ".join(
        row.value for row in BAD_INPUT if row.estimator is estimator and row.name == "X"
    )
    kinds = ["NaN", "inf", "object", "complex", "no samples", "no features", "sparse"]
    kinds += ["wrong width", "wrong channel count", "1-D", "5-D"]
    for kind in kinds:
        assert kind in values


# --- what a failed fit leaves behind ----------------------------------------------------------

FAILING_REFITS = [
    (C(), {"filters": NAN_BANK}, IMAGES),
    (C(), {"stride": (1, 0)}, IMAGES),
    (C(), {"filters": "sobel"}, IMAGES),
    # Fails after checking X has set n_features_in_, as does the pool_size=3 case below.
    (C(filters="tutorial", padding="valid"), {}, RNG.rand(3, 2, 2)),
    (C(), {}, np.full((3, 5, 5), np.nan)),
    (C(filters="kmeans", n_filters=2, kernel_size=3, random_state=0), {"method": "fft"}, IMAGES),
    (P(), {"pool_size": 9}, MAPS),
    (P(), {"mode": "median"}, MAPS),
    (P(pool_size=3), {}, RNG.rand(3, 2, 2, 3)),
    (P(), {}, np.full((3, 6, 6, 3), np.inf)),
]


def fitted_attributes(estimator):
    return sorted(name for name in vars(estimator) if name.endswith("_") and name[0] != "_")


@pytest.mark.parametrize("estimator, bad_params, bad_X", FAILING_REFITS, ids=repr)
def test_a_failed_refit_leaves_the_estimator_unfitted(estimator, bad_params, bad_X):
    """Documented: a fit that raises drops every fitted attribute; transform then refuses."""
    good = IMAGES if isinstance(estimator, C) else MAPS
    estimator.fit(good)
    assert fitted_attributes(estimator)
    estimator.set_params(**bad_params)
    with pytest.raises((ValueError, TypeError)):
        estimator.fit(bad_X)
    assert fitted_attributes(estimator) == []
    with pytest.raises(NotFittedError):
        estimator.transform(good)
    # Nothing else is lost: with valid parameters it fits again as if new.
    estimator.set_params(**type(estimator)().get_params())
    np.testing.assert_array_equal(
        estimator.fit_transform(good), type(estimator)().fit_transform(good)
    )


CONVPOOL_FAILING_REFITS = [
    (CP(C(filters="tutorial"), P()), {"pool__pool_size": 9}, IMAGES),
    (CP(C(filters="tutorial", padding="valid"), P()), {}, RNG.rand(3, 2, 2)),
    (CP(C(filters="tutorial"), P()), {"batch_size": 0}, IMAGES),
]


@pytest.mark.parametrize("estimator, bad_params, bad_X", CONVPOOL_FAILING_REFITS, ids=repr)
def test_a_failed_convpool_refit_leaves_it_unfitted(estimator, bad_params, bad_X):
    estimator.fit(IMAGES)
    estimator.set_params(**bad_params)
    with pytest.raises((ValueError, TypeError)):
        estimator.fit(bad_X)
    assert fitted_attributes(estimator) == []
    with pytest.raises(NotFittedError):
        estimator.transform(IMAGES)


def test_a_failed_pipeline_refit_gives_no_partial_predictions():
    X, y = IMAGES.reshape(4, -1), np.array([0, 1, 0, 1])
    pipe = Pipeline(
        [
            ("conv", C(filters="tutorial", image_shape=(6, 6))),
            ("pool", P()),
            ("clf", LogisticRegression()),
        ]
    ).fit(X, y)
    pipe.set_params(pool__pool_size=9)
    with pytest.raises(ValueError, match="pool_size"):
        pipe.fit(X, y)
    with pytest.raises(NotFittedError):
        pipe.predict(X)


def test_a_failed_first_fit_leaves_nothing():
    conv = C(filters=NAN_BANK)
    with pytest.raises(ValueError):
        conv.fit(IMAGES)
    assert fitted_attributes(conv) == []


def test_transform_errors_leave_the_fit_alone():
    conv = C(filters="tutorial").fit(IMAGES)
    before = conv.transform(IMAGES)
    with pytest.raises(ValueError):
        conv.transform(np.full_like(IMAGES, np.nan))
    np.testing.assert_array_equal(conv.transform(IMAGES), before)


# --- the docs' table --------------------------------------------------------------------------

SECTIONS = [
    ("ConvFeatureExtractor: parameters", CONV_PARAMETERS),
    ("ConvFeatureExtractor: X", CONV_ARRAYS),
    ("PoolTransformer: parameters", POOL_PARAMETERS),
    ("PoolTransformer: X", POOL_ARRAYS),
    ("ConvPool: parameters", CONVPOOL_PARAMETERS),
    ("ConvPool: X", CONVPOOL_ARRAYS),
    ("skconv.filters", FILTERS_PARAMETERS),
    ("BatchedTransformer: parameters", BATCHED_PARAMETERS),
    ("BatchedTransformer: X", BATCHED_ARRAYS),
    ("NystroemRidgeClassifier", HEAD),
    ("Command line: python -m skconv", COMMAND_LINE),
    ("skconv.datasets", DATASETS),
    ("The recipe: ImageClassifier and PeakNormalizer", RECIPE_ROWS),
]


def literal(text):
    return f"``{text}``"


def render_table():
    """The reST of every row, one list-table per section."""
    lines = [BEGIN, ""]
    for title, rows in SECTIONS:
        lines += [title, "~" * len(title), "", ".. list-table::", "   :header-rows: 1"]
        lines += ["   :widths: 14 22 8 16 40", ""]
        header = ["Parameter or input", "Invalid value", "Raised by", "Error", "Message contains"]
        cells = [header] + [
            [
                literal(row.name),
                re.sub(r"`([^`]+)`", r"``\1``", row.value),
                f"``{row.stage}``",
                f"``{row.error.__name__}``",
                " … ".join(literal(excerpt) for excerpt in row.excerpts),
            ]
            for row in rows
        ]
        for cell in cells:
            lines.append(f"   * - {cell[0]}")
            lines += [f"     - {text}" for text in cell[1:]]
        lines.append("")
    lines.append(END)
    return "\n".join(lines) + "\n"


REGENERATE = 'python -c "import tests.test_bad_input as t; t.write_docs_table()"'


def write_docs_table() -> None:
    """Rewrite the generated table in docs/bad_input.rst from ``BAD_INPUT``."""
    text = DOC.read_text()
    DOC.write_text(text.replace(documented_table(text), render_table()))


def documented_table(text):
    start, stop = text.index(BEGIN), text.index(END) + len(END) + 1
    return text[start:stop]


def test_the_docs_table_is_this_table():
    assert documented_table(DOC.read_text()) == render_table(), (
        f"docs/bad_input.rst is out of date; regenerate it with: {REGENERATE}"
    )


def test_a_fitted_shape_that_does_not_match_the_width_is_a_value_error():
    """Only a corrupted or half-refitted state gets here; it must still read as an error."""
    conv = C(filters="tutorial", image_shape=(1, 36)).fit(IMAGES.reshape(4, -1))  # one-row images
    conv.image_shape_ = (5, 5, 1)  # not the (1, 36, 1) that fit found
    with pytest.raises(
        ValueError, match=r"X has 36 features but image_shape \(5, 5, 1\) needs 25"
    ):
        conv.transform(np.ones((2, 36)))
