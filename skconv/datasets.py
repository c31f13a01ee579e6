"""Real image sets, loaded the way scikit-learn's fetchers load theirs.

:func:`fetch_fashion_mnist` reads Fashion-MNIST's four official IDX files from a folder the user
names, from ``$SKCONV_FASHION_MNIST``, or from where the Debian package
``dataset-fashion-mnist`` installs them; failing those it downloads the set from OpenML through
:func:`sklearn.datasets.fetch_openml`.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np
from sklearn.datasets import fetch_openml, get_data_home
from sklearn.utils import Bunch
from sklearn.utils._param_validation import StrOptions, validate_params

__all__ = ["fetch_fashion_mnist"]

ENV_VAR = "SKCONV_FASHION_MNIST"
DEBIAN_FOLDER = Path("/usr/share/datasets/fashion-mnist")

_IMAGE_MAGIC = 2051
_LABEL_MAGIC = 2049
_SIDE = 28
_N_TRAIN = 60_000
_N_TEST = 10_000
_CHUNK_BYTES = 1 << 20
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

_HOW_TO_GET_IT = (
    "Fashion-MNIST's IDX files were not found. Get them in one of three ways: "
    "(1) download the four files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
    "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) from "
    "https://github.com/zalandoresearch/fashion-mnist into a folder and pass "
    f"data_home=<folder> or set the environment variable {ENV_VAR}=<folder>; "
    "(2) on Debian or Ubuntu, apt-get install dataset-fashion-mnist (installs them into "
    f"{DEBIAN_FOLDER}); (3) with network access and download_if_missing=True, let "
    "sklearn.datasets.fetch_openml download them from OpenML into scikit-learn's data home."
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
    ``dataset-fashion-mnist`` installs them. Otherwise the set is downloaded from OpenML with
    :func:`sklearn.datasets.fetch_openml` into scikit-learn's data home
    (:func:`sklearn.datasets.get_data_home`), where later calls find it again.

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
    FileNotFoundError
        If ``data_home`` (or ``SKCONV_FASHION_MNIST``) is not a folder or lacks a file, or if
        the files are nowhere and cannot be downloaded; the message says how to get them.
    ValueError
        If a file is not a valid IDX file of Fashion-MNIST (wrong magic number, wrong length,
        image and label counts that differ, labels outside 0..9, a ``.gz`` file that is not
        gzip); the message names the file.

    See Also
    --------
    sklearn.datasets.fetch_openml : The download used when no local files are found.
    sklearn.datasets.load_digits : A small 8x8 image set that needs no download.

    Notes
    -----
    The pixels are read straight from the (decompressed) files into the returned arrays, so
    the training set takes 47 MB of memory, not 8 times that as float64 would.

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
    folder = _local_folder(data_home, splits)
    if folder is not None:
        images, target = _read_folder(folder, splits)
    elif download_if_missing:
        images, target = _fetch_from_openml(splits)
    else:
        raise FileNotFoundError(
            f"{_HOW_TO_GET_IT} (download_if_missing=False, so no download was tried.)"
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


def _local_folder(data_home, splits) -> Path | None:
    """The folder to read, or None to download; an error when a folder the user named is bad."""
    if data_home is not None:
        named, by = Path(data_home), f"data_home={str(data_home)!r}"
    elif os.environ.get(ENV_VAR):
        named, by = Path(os.environ[ENV_VAR]), f"the environment variable {ENV_VAR}"
    else:
        is_complete = DEBIAN_FOLDER.is_dir() and not _missing_files(DEBIAN_FOLDER, splits)
        return DEBIAN_FOLDER if is_complete else None
    if not named.is_dir():
        raise FileNotFoundError(
            f"{by} names {str(named)!r}, which is not a folder. Pass the folder that holds "
            "Fashion-MNIST's IDX files. " + _HOW_TO_GET_IT
        )
    missing = _missing_files(named, splits)
    if missing:
        raise FileNotFoundError(
            f"{by} names {str(named)!r}, which lacks {', '.join(missing)} (looked for the "
            "name with and without .gz). " + _HOW_TO_GET_IT
        )
    return named


def _read_folder(folder: Path, splits) -> tuple[np.ndarray, np.ndarray]:
    """Read the splits' images and labels into one preallocated pair of arrays."""
    counts = []
    for split in splits:
        image_path = _find_file(folder, _FILES[split][0])
        with _open(image_path) as stream:
            counts.append(_read_header(stream, image_path, _IMAGE_MAGIC))
    images = np.empty((sum(counts), _SIDE, _SIDE), dtype=np.uint8)
    target = np.empty(sum(counts), dtype=np.int64)
    start = 0
    for split, count in zip(splits, counts):
        image_stem, label_stem = _FILES[split]
        image_path = _find_file(folder, image_stem)
        label_path = _find_file(folder, label_stem)
        _read_idx(image_path, _IMAGE_MAGIC, count, images[start : start + count])
        labels = np.empty(count, dtype=np.uint8)
        _read_idx(label_path, _LABEL_MAGIC, count, labels)
        if labels.max(initial=0) > 9:
            raise ValueError(
                f"{label_path} holds label {labels.max()}; Fashion-MNIST's labels are 0 to 9. "
                "The file is corrupt: download it again."
            )
        target[start : start + count] = labels
        start += count
    return images, target


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _read_header(stream, path: Path, magic: int) -> int:
    """Check an IDX header (big-endian int32s) and return its item count."""
    n_dims = 3 if magic == _IMAGE_MAGIC else 1
    raw = _read_exactly(stream, 4 * (1 + n_dims), path)
    if len(raw) < 4 * (1 + n_dims):
        raise ValueError(
            f"{path} is truncated: it ends inside its {4 * (1 + n_dims)}-byte IDX header."
        )
    found, *dims = np.frombuffer(raw, dtype=">i4").tolist()
    if found != magic:
        kind = "images" if magic == _IMAGE_MAGIC else "labels"
        raise ValueError(
            f"{path} is not an IDX file of {kind}: its magic number is {found}, expected "
            f"{magic}. Check the file name, or download the file again."
        )
    if n_dims == 3 and dims[1:] != [_SIDE, _SIDE]:
        raise ValueError(
            f"{path} holds images of {dims[1]}x{dims[2]}; Fashion-MNIST's are "
            f"{_SIDE}x{_SIDE}. The file is corrupt or not Fashion-MNIST."
        )
    if dims[0] < 0:
        raise ValueError(f"{path} has a negative item count ({dims[0]}); the file is corrupt.")
    return dims[0]


def _read_idx(path: Path, magic: int, expected_count: int, out: np.ndarray) -> None:
    """Read an IDX file's uint8 payload straight into ``out`` (a C-contiguous uint8 array)."""
    with _open(path) as stream:
        count = _read_header(stream, path, magic)
        if count != expected_count:
            raise ValueError(
                f"{path} holds {count} items but its images file holds {expected_count}; "
                "the images and labels files must come from the same split."
            )
        buffer = memoryview(out).cast("B")
        filled = _read_into(stream, buffer, path)
        if filled < len(buffer):
            raise ValueError(
                f"{path} is truncated: its header announces {count} items ({len(buffer)} "
                f"bytes of data) but it holds {filled} bytes. Download the file again."
            )
        if _read_exactly(stream, 1, path):
            raise ValueError(
                f"{path} is longer than its header announces ({count} items, {len(buffer)} "
                "bytes of data): the file is corrupt. Download it again."
            )


def _read_into(stream, buffer: memoryview, path: Path) -> int:
    """Fill ``buffer`` from ``stream`` until it is full or the stream ends; bytes read."""
    filled = 0
    try:
        while filled < len(buffer):
            # gzip decompresses a whole request into a temporary bytes object before copying
            # it: asking for 1 MiB at a time bounds that temporary.
            n_read = stream.readinto(buffer[filled : filled + _CHUNK_BYTES])
            if not n_read:
                break
            filled += n_read
    except (OSError, EOFError, zlib.error) as exc:
        raise _corrupt_gzip(path, exc) from exc
    return filled


def _read_exactly(stream, n_bytes: int, path: Path) -> bytes:
    try:
        return stream.read(n_bytes)
    except (OSError, EOFError, zlib.error) as exc:
        raise _corrupt_gzip(path, exc) from exc


def _corrupt_gzip(path: Path, exc: Exception) -> ValueError:
    return ValueError(
        f"{path} could not be decompressed ({exc}): it is not a complete gzip file. "
        "Download it again, or decompress it and drop the .gz suffix."
    )


def _fetch_from_openml(splits) -> tuple[np.ndarray, np.ndarray]:
    """Download (or reuse scikit-learn's cached copy of) Fashion-MNIST from OpenML."""
    try:
        bunch = fetch_openml("Fashion-MNIST", version=1, data_home=get_data_home(), as_frame=False)
    except OSError as exc:  # URLError and HTTPError are OSErrors
        raise FileNotFoundError(
            f"{_HOW_TO_GET_IT} (Downloading from OpenML failed: {exc}.)"
        ) from exc
    except ImportError as exc:  # fetch_openml parses dense ARFF files with pandas
        raise ImportError(
            f"Downloading Fashion-MNIST from OpenML needs pandas ({exc}): pip install pandas. "
            + _HOW_TO_GET_IT
        ) from exc
    data, labels = np.asarray(bunch.data), np.asarray(bunch.target)
    if data.shape != (_N_TRAIN + _N_TEST, _SIDE * _SIDE) or labels.shape != (len(data),):
        raise ValueError(
            f"OpenML's Fashion-MNIST has data of shape {data.shape} and target of shape "
            f"{labels.shape}; expected ({_N_TRAIN + _N_TEST}, {_SIDE * _SIDE}) and "
            f"({_N_TRAIN + _N_TEST},). Clear the openml folder in {get_data_home()} and retry."
        )
    # OpenML keeps the official order: the first 60,000 rows are the training set.
    rows = {"train": slice(0, _N_TRAIN), "test": slice(_N_TRAIN, None)}
    if len(splits) == 1:
        data, labels = data[rows[splits[0]]], labels[rows[splits[0]]]
    images = _exact_cast(data, np.uint8, 255, "pixel").reshape(-1, _SIDE, _SIDE)
    target = _exact_cast(labels, np.int64, 9, "label")
    return images, target


def _exact_cast(values: np.ndarray, dtype, high: int, what: str) -> np.ndarray:
    """``values`` as ``dtype``, refusing anything that is not an integer in [0, high]."""
    if values.dtype.kind in "OUS":  # OpenML's labels arrive as strings
        values = values.astype(np.float64)
    # min, max and array_equal make no full-size temporaries (the data is 70,000 x 784).
    in_range = values.min() >= 0 and values.max() <= high
    cast = values.astype(dtype) if in_range else None
    if cast is None or not np.array_equal(cast, values):
        raise ValueError(
            f"OpenML's Fashion-MNIST holds {what} values that are not integers in 0..{high}; "
            f"clear the openml folder in {get_data_home()} and retry."
        )
    return cast
