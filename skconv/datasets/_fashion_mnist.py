"""Fashion-MNIST, loaded the way scikit-learn's fetchers load their sets, and checked.

:func:`fetch_fashion_mnist` reads the four official IDX files from a folder the user names, from
``$SKCONV_FASHION_MNIST``, or from where the Debian package ``dataset-fashion-mnist`` installs
them; failing those it downloads the set from OpenML through :func:`sklearn.datasets.fetch_openml`.
Whatever the source, the content is checked against the official files' digests before it is
returned: another set in the same format, a file of the other split, or a damaged copy is an
error, never data.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import fetch_openml, get_data_home
from sklearn.utils import Bunch
from sklearn.utils._param_validation import StrOptions, validate_params

from . import _idx
from ._errors import DataFileError, DataNotFoundError
from ._idx import N_TEST, N_TRAIN, SIDE

__all__ = ["fetch_fashion_mnist"]

ENV_VAR = "SKCONV_FASHION_MNIST"
DEBIAN_FOLDER = Path("/usr/share/datasets/fashion-mnist")

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_SPLITS = {"train": ("train",), "test": ("test",), "all": ("train", "test")}


TARGET_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

DESCR = """\
.. _fashion_mnist_dataset:

Fashion-MNIST
-------------

Grey 28x28 photographs of clothes, shoes and bags from Zalando's catalogue, made by
Han Xiao, Kashif Rasul and Roland Vollgraf as a harder stand-in for MNIST with the same
format and split.

**Data Set Characteristics:**

:Number of Instances: 70,000: 60,000 for training, 10,000 for testing (the official split;
    ``subset="all"`` stacks the training images first)
:Number of Attributes: 784 (28x28 pixels, uint8 in 0..255, 0 is background)
:Classes: 10, 7,000 images each: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat,
    5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot
:Source: https://github.com/zalandoresearch/fashion-mnist (also OpenML, and the Debian
    package ``dataset-fashion-mnist``)
:License: MIT

Test accuracy reported for the official split by the authors and in the set's benchmark
page (each model trained on the 60,000 training images only):

=====================================  ===============
Model                                  Test accuracy
=====================================  ===============
Humans (non-experts)                   0.835
Multi-layer perceptron                 about 0.88
SVC with RBF kernel, raw pixels        0.897
HOG features + SVM                     0.926
CNNs with two convolution layers       0.876 to 0.934
ResNet18                               0.949
=====================================  ===============

Shirt, T-shirt/top, Pullover and Coat are the classes most confused with one another.

.. rubric:: References

* Han Xiao, Kashif Rasul and Roland Vollgraf (2017). Fashion-MNIST: a novel image dataset
  for benchmarking machine learning algorithms. arXiv:1708.07747.
"""


def how_to_get_it() -> str:
    """The lines that tell a user how to get Fashion-MNIST: command line first, Python second."""
    return "\n".join(
        [
            "Get Fashion-MNIST in one of these ways, then run again:",
            "  - Debian or Ubuntu: sudo apt-get install dataset-fashion-mnist",
            f"    (installs the files into {DEBIAN_FOLDER}, where skconv looks)",
            "  - or download the four files of https://github.com/zalandoresearch/fashion-mnist",
            "    (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,",
            "    t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) into a folder",
            f"    and point {ENV_VAR} at it: export {ENV_VAR}=/that/folder",
            "  - or, with network access, let skconv download the set from OpenML (needs pandas).",
            "From Python: fetch_fashion_mnist(data_home=folder) reads a folder;",
            "download_if_missing=True (the default) downloads from OpenML when nothing is found.",
        ]
    )


@validate_params(
    {
        "data_home": [str, os.PathLike, None],
        "subset": [StrOptions(set(_SPLITS))],
        "return_X_y": ["boolean"],
        "download_if_missing": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def fetch_fashion_mnist(
    *,
    data_home: str | os.PathLike | None = None,
    subset: str = "train",
    return_X_y: bool = False,
    download_if_missing: bool = True,
):
    """Load the Fashion-MNIST images (classification, 10 classes of 28x28 grey images).

    =================   ======================
    Classes             10
    Samples total       70,000 (60,000 train + 10,000 test)
    Dimensionality      784 (28x28)
    Features            integers 0-255 (uint8)
    =================   ======================

    The four official IDX files (gzipped or not) are read from the first of these places that
    applies: ``data_home``; the folder named by the environment variable
    ``SKCONV_FASHION_MNIST``; ``/usr/share/datasets/fashion-mnist``, where the Debian package
    ``dataset-fashion-mnist`` installs them; ``skconv_fashion_mnist`` in scikit-learn's data
    home (:func:`sklearn.datasets.get_data_home`), where an earlier download was kept.
    Otherwise the set is downloaded from OpenML with :func:`sklearn.datasets.fetch_openml`,
    checked, and kept there as the four IDX files for later calls.

    Parameters
    ----------
    data_home : str or path-like, default=None
        A folder holding the IDX files. When given (or when ``SKCONV_FASHION_MNIST`` is set),
        the files must be there: nothing else is tried, so a wrong folder is an error rather
        than a silent download.
    subset : {"train", "test", "all"}, default="train"
        The official 60,000 training images, the 10,000 test images, or all 70,000 (training
        images first, then test images).
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    download_if_missing : bool, default=True
        Download from OpenML when no local files are found; ``False`` raises instead.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        data : ndarray of shape (n_samples, 784), dtype uint8
            One flattened image per row (C-order, row by row), as skconv's estimators take
            it with ``image_shape=(28, 28)``.
        images : ndarray of shape (n_samples, 28, 28), dtype uint8
            The same pixels as an image stack: a view of ``data``'s memory, not a copy.
        target : ndarray of shape (n_samples,), dtype int64
            Class labels 0 to 9.
        target_names : ndarray of shape (10,)
            Class names, ``target_names[target]`` naming each image's class.
        DESCR : str
            Description of the set: source, licence, split, published accuracies.

    (data, target) : tuple if ``return_X_y`` is True
        The ``data`` and ``target`` arrays described above.

    Raises
    ------
    DataNotFoundError
        A :class:`FileNotFoundError`: ``data_home`` (or ``SKCONV_FASHION_MNIST``) is not a
        folder or lacks a file, or the files are nowhere and cannot be downloaded. The message
        is a few short lines on how to get them, command line first.
    DataFileError
        A :class:`ValueError` naming the file: it is not Fashion-MNIST's official file. Its
        header (magic number, image size, count: exactly 60,000 or 10,000) or its length is
        wrong, which is checked before any memory is allocated; it is not a complete gzip file;
        or its content's SHA-256 differs from the official file's (another set in the same
        format such as MNIST, the test files copied under the training names, or a damaged
        copy). The same digests check OpenML's copy.

    See Also
    --------
    sklearn.datasets.fetch_openml : The download used when no local files are found.
    sklearn.datasets.load_digits : A small 8x8 image set that needs no download.

    Notes
    -----
    The pixels are read straight from the (decompressed) files into the returned arrays, so
    the training set takes 47 MB of memory, not 8 times that as float64 would. Each file's
    SHA-256 is computed on the bytes as they are read, not by a second pass over the file.
    A download is written only once checked, each file to a hidden temporary file beside its
    final name that replaces it only when complete: an error or an interrupt (Ctrl-C) leaves
    no half-written file in the data home.

    Examples
    --------
    >>> from skconv.datasets import fetch_fashion_mnist
    >>> fashion = fetch_fashion_mnist()  # doctest: +SKIP
    >>> fashion.data.shape, fashion.images.shape, fashion.data.dtype  # doctest: +SKIP
    ((60000, 784), (60000, 28, 28), dtype('uint8'))
    >>> X_test, y_test = fetch_fashion_mnist(subset="test", return_X_y=True)  # doctest: +SKIP
    >>> X_test.shape, y_test.shape  # doctest: +SKIP
    ((10000, 784), (10000,))
    >>> fashion.target_names[fashion.target[:3]]  # doctest: +SKIP
    array(['Ankle boot', 'T-shirt/top', 'T-shirt/top'], dtype='<U11')

    Which folder is searched without ``data_home`` and ``SKCONV_FASHION_MNIST``:

    >>> import skconv.datasets
    >>> str(skconv.datasets.DEBIAN_FOLDER)
    '/usr/share/datasets/fashion-mnist'
    """
    splits = _SPLITS[subset]
    found = _local_folder(data_home, splits)
    if found is not None:
        folder, found_through = found
        try:
            images, target = _read_folder(folder, splits)
        except DataFileError as exc:
            raise DataFileError(exc.path, f"{exc}\n(The folder was {found_through}.)") from exc
    elif download_if_missing:
        images, target = _fetch_from_openml(splits)
    else:
        raise DataNotFoundError(
            "Fashion-MNIST's files were not found\n"
            "(and download_if_missing=False, so no download was tried).\n" + how_to_get_it()
        )
    data = images.reshape(len(images), -1)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        images=images,
        target=target,
        target_names=np.array(TARGET_NAMES),
        DESCR=DESCR,
    )


def _find_file(folder: Path, stem: str) -> Path | None:
    """``folder/stem.gz`` or ``folder/stem``, whichever exists first, else None."""
    for name in (f"{stem}.gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def _missing_files(folder: Path, splits) -> list[str]:
    stems = [stem for split in splits for stem in _FILES[split]]
    return [stem for stem in stems if _find_file(folder, stem) is None]


def _local_folder(data_home, splits) -> tuple[Path, str] | None:
    """The folder to read and how it was found, or None to download.

    An error when a folder the user named is not there or lacks a file.
    """
    if data_home is not None:
        named, by = Path(data_home), f"data_home={str(data_home)!r}"
    elif os.environ.get(ENV_VAR):
        named, by = Path(os.environ[ENV_VAR]), f"the environment variable {ENV_VAR}"
    else:
        for folder, how in [
            (DEBIAN_FOLDER, "where the Debian package dataset-fashion-mnist installs the files"),
            (download_folder(), "where an earlier download was kept: remove it to download again"),
        ]:
            if folder.is_dir() and not _missing_files(folder, splits):
                return folder, how
        return None
    if not named.is_dir():
        raise DataNotFoundError(
            f"{by} names {str(named)!r}, which is not a folder.\n"
            "Name the folder that holds Fashion-MNIST's IDX files.\n" + how_to_get_it()
        )
    missing = _missing_files(named, splits)
    if missing:
        raise DataNotFoundError(
            f"{by} names {str(named)!r}, which lacks {', '.join(missing)}\n"
            "(looked for each name with and without .gz).\n" + how_to_get_it()
        )
    return named, f"named by {by}"


def _read_folder(folder: Path, splits) -> tuple[np.ndarray, np.ndarray]:
    """Read the splits' images and labels into one preallocated pair of arrays.

    Every header is checked against the official counts and against its file's length before
    anything is allocated; every file's content is checked against its official digest while it
    is read.
    """
    files = {}
    for split in splits:
        for stem in _FILES[split]:
            files[stem] = _find_file(folder, stem)
            _idx.check_file_before_reading(files[stem], stem)
    n_images = sum(_idx.OFFICIAL[_FILES[split][0]].count for split in splits)
    images = np.empty((n_images, SIDE, SIDE), dtype=np.uint8)
    labels = np.empty(n_images, dtype=np.uint8)
    start = 0
    for split in splits:
        image_stem, label_stem = _FILES[split]
        stop = start + _idx.OFFICIAL[image_stem].count
        _idx.read_idx(files[image_stem], image_stem, images[start:stop])
        _idx.read_idx(files[label_stem], label_stem, labels[start:stop])
        start = stop
    return images, labels.astype(np.int64)


def download_folder() -> Path:
    """Where a download from OpenML is kept, as the four official IDX files, once verified."""
    return Path(get_data_home()) / "skconv_fashion_mnist"


def _fetch_from_openml(splits) -> tuple[np.ndarray, np.ndarray]:
    """Download Fashion-MNIST from OpenML, verify it, keep it as IDX files, return ``splits``."""
    try:
        # scikit-learn keeps no copy (cache=False): skconv keeps the verified IDX files.
        bunch = fetch_openml("Fashion-MNIST", version=1, as_frame=False, cache=False)
    except OSError as exc:  # URLError and HTTPError are OSErrors
        raise DataNotFoundError(
            "Fashion-MNIST's files were not found, and downloading them from OpenML failed:\n"
            f"{exc}\n" + how_to_get_it()
        ) from exc
    except ImportError as exc:  # fetch_openml parses dense ARFF files with pandas
        raise ImportError(
            f"Downloading Fashion-MNIST from OpenML needs pandas ({exc}): pip install pandas.\n"
            + how_to_get_it()
        ) from exc
    data, labels = np.asarray(bunch.data), np.asarray(bunch.target)
    n_images, n_pixels = N_TRAIN + N_TEST, SIDE * SIDE
    if data.shape != (n_images, n_pixels) or labels.shape != (n_images,):
        raise DataFileError(
            "OpenML",
            f"OpenML's Fashion-MNIST has data of shape {data.shape} and target of shape "
            f"{labels.shape}; expected ({n_images}, {n_pixels}) and ({n_images},). Try again "
            "later, or get the files another way.\n" + how_to_get_it(),
        )
    images = _exact_cast(data, np.uint8, 255, "pixel").reshape(-1, SIDE, SIDE)
    target = _exact_cast(labels, np.int64, 9, "label").astype(np.uint8)
    # OpenML keeps the official order: the first 60,000 rows are the training set. Its rows,
    # written as IDX bytes, must have the official files' digests.
    rows = {"train": slice(0, N_TRAIN), "test": slice(N_TRAIN, None)}
    parts = {}
    for split, (image_stem, label_stem) in _FILES.items():
        parts[image_stem], parts[label_stem] = images[rows[split]], target[rows[split]]
    for stem, part in parts.items():
        digest = hashlib.sha256(_idx.idx_header(stem, len(part)))
        digest.update(part)
        _idx.check_digest(digest.hexdigest(), stem, f"OpenML's copy of {stem}", len(part))
    folder = download_folder()
    try:
        for stem, part in parts.items():
            _idx.write_idx_atomically(folder / f"{stem}.gz", stem, part)
    except OSError as exc:
        warnings.warn(
            f"Fashion-MNIST was downloaded but could not be kept in {folder} ({exc}): the next "
            "call will download it again.",
            UserWarning,
            stacklevel=4,  # the caller, past validate_params' wrapper
        )
    if len(splits) == 1:
        images, target = images[rows[splits[0]]], target[rows[splits[0]]]
    return images, target.astype(np.int64)


def _exact_cast(values: np.ndarray, dtype, high: int, what: str) -> np.ndarray:
    """``values`` as ``dtype``, refusing anything that is not an integer in [0, high]."""
    if values.dtype.kind in "OUS":  # OpenML's labels arrive as strings
        values = values.astype(np.float64)
    # min, max and array_equal make no full-size temporaries (the data is 70,000 x 784).
    in_range = values.min() >= 0 and values.max() <= high
    cast = values.astype(dtype) if in_range else None
    if cast is None or not np.array_equal(cast, values):
        raise DataFileError(
            "OpenML",
            f"OpenML's Fashion-MNIST holds {what} values that are not integers in 0..{high}. "
            "Try again later, or get the files another way.\n" + how_to_get_it(),
        )
    return cast
