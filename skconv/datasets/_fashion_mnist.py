"""Fashion-MNIST, loaded the way scikit-learn's fetchers load their sets, and checked.

:func:`fetch_fashion_mnist` reads the four official IDX files from a folder the user names, from
``$SKCONV_FASHION_MNIST``, or from where the Debian package ``dataset-fashion-mnist`` installs
them; failing those it downloads the set from OpenML through :func:`sklearn.datasets.fetch_openml`.
Whatever the source, the content is checked against the official files' digests before it is
returned: another set in the same format, a file of the other split, or a damaged copy is an
error, never data.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.datasets import fetch_openml, get_data_home
from sklearn.utils import Bunch
from sklearn.utils._param_validation import StrOptions, validate_params

from ._errors import DataFileError, DataNotFoundError

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


@dataclass(frozen=True)
class _OfficialFile:
    count: int  # images (or labels) the file holds
    sha256: str  # of the decompressed file, header included


# The publisher lists MD5s of its .gz files (github.com/zalandoresearch/fashion-mnist, "Get the
# Data": train-images 8d4fb7e6..., train-labels 25c81989..., t10k-images bef4ecab...,
# t10k-labels bb300cfd...). A .gz's bytes change whenever it is recompressed (the Debian
# package's copies were: their gzip headers are dated 2020) while its content does not, so
# skconv checks the content: these are SHA-256s of the decompressed files, computed from the
# Debian package's copies, whose decompressed MD5s are the ones published for the raw files
# (f4a8712d..., 9018921c..., 8181f547..., 15d48437...; tests/test_datasets.py checks both).
# The same digests check OpenML's copy, rebuilt as IDX bytes.
_OFFICIAL = {
    "train-images-idx3-ubyte": _OfficialFile(
        _N_TRAIN, "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
    ),
    "train-labels-idx1-ubyte": _OfficialFile(
        _N_TRAIN, "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
    ),
    "t10k-images-idx3-ubyte": _OfficialFile(
        _N_TEST, "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
    ),
    "t10k-labels-idx1-ubyte": _OfficialFile(
        _N_TEST, "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
    ),
}

# Only to word the error when a file of MNIST itself (same names, same format) is found: the
# decompressed files' SHA-256 as published for MNIST (e.g. alongside the Fashion-MNIST ones
# above in public build scripts; no MNIST copy on this machine to recompute them).
_KNOWN_OTHER_FILES = {
    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db": "MNIST's train-images",
    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5": "MNIST's train-labels",
    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7": "MNIST's t10k-images",
    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2": "MNIST's t10k-labels",
}

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
    Nothing is written anywhere by skconv; an OpenML download is cached by scikit-learn, which
    writes it to a temporary folder beside its cache and moves it in place only when complete.

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
    return named


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
            _check_file_before_reading(files[stem], stem)
    n_images = sum(_OFFICIAL[_FILES[split][0]].count for split in splits)
    images = np.empty((n_images, _SIDE, _SIDE), dtype=np.uint8)
    labels = np.empty(n_images, dtype=np.uint8)
    start = 0
    for split in splits:
        image_stem, label_stem = _FILES[split]
        stop = start + _OFFICIAL[image_stem].count
        _read_idx(files[image_stem], image_stem, images[start:stop])
        _read_idx(files[label_stem], label_stem, labels[start:stop])
        start = stop
    return images, labels.astype(np.int64)


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _is_images(stem: str) -> bool:
    return "images" in stem


def _header_bytes(stem: str) -> int:
    return 16 if _is_images(stem) else 8


def _item_bytes(stem: str) -> int:
    return _SIDE * _SIDE if _is_images(stem) else 1


def _idx_header(stem: str, count: int) -> bytes:
    """The IDX header of ``count`` images or labels, as the official files write it."""
    if _is_images(stem):
        return struct.pack(">4i", _IMAGE_MAGIC, count, _SIDE, _SIDE)
    return struct.pack(">2i", _LABEL_MAGIC, count)


def _check_file_before_reading(path: Path, stem: str) -> None:
    """Check the header's magic, shape and count, and the file's length, without its data."""
    with _open(path) as stream:
        header = _read_exactly(stream, _header_bytes(stem), path)
        count = _parse_header(header, path, stem)
    expected = _header_bytes(stem) + count * _item_bytes(stem)
    if path.suffix == ".gz":
        # A gzip file ends with its content's length modulo 2**32 (RFC 1952, ISIZE).
        with open(path, "rb") as raw:
            raw.seek(-4, os.SEEK_END)
            recorded = int.from_bytes(raw.read(4), "little")
        if recorded != expected % 2**32:
            raise DataFileError(
                path,
                f"{path} does not hold the {expected:,} bytes its header announces "
                f"({count:,} items): its gzip trailer records {recorded:,} bytes. The file is "
                "truncated or corrupt: download it again.",
            )
    elif (size := path.stat().st_size) != expected:
        which = "truncated" if size < expected else "longer than its header announces"
        raise DataFileError(
            path,
            f"{path} is {which}: its header announces {count:,} items ({expected:,} bytes "
            f"with the header), but the file holds {size:,} bytes. Download it again.",
        )


def _parse_header(raw: bytes, path: Path, stem: str) -> int:
    """Check an IDX header (big-endian int32s) against the official file; its item count."""
    if len(raw) < _header_bytes(stem):
        raise DataFileError(
            path,
            f"{path} is truncated: it ends inside its {_header_bytes(stem)}-byte IDX header.",
        )
    found, *dims = np.frombuffer(raw, dtype=">i4").tolist()
    magic, kind = (_IMAGE_MAGIC, "images") if _is_images(stem) else (_LABEL_MAGIC, "labels")
    if found != magic:
        raise DataFileError(
            path,
            f"{path} is not an IDX file of {kind}: its magic number is {found}, expected "
            f"{magic}. Check the file name, or download the file again.",
        )
    if _is_images(stem) and dims[1:] != [_SIDE, _SIDE]:
        raise DataFileError(
            path,
            f"{path} holds images of {dims[1]}x{dims[2]}; Fashion-MNIST's are "
            f"{_SIDE}x{_SIDE}. The file is corrupt or not Fashion-MNIST.",
        )
    official = _OFFICIAL[stem].count
    if dims[0] != official:
        other = {_N_TRAIN: "training", _N_TEST: "test"}.get(dims[0])
        hint = (
            f" {dims[0]:,} is the size of the official {other} set: is a {other} file copied "
            "under this name?"
            if other is not None
            else " The file is corrupt or holds another data set: download it again."
        )
        raise DataFileError(
            path,
            f"{path} announces {dims[0]:,} {kind}, but Fashion-MNIST's {stem} holds exactly "
            f"{official:,}.{hint}",
        )
    return dims[0]


def _read_idx(path: Path, stem: str, out: np.ndarray) -> None:
    """Read an IDX file's uint8 payload straight into ``out``, checking its digest on the way."""
    with _open(path) as stream:
        header = _read_exactly(stream, _header_bytes(stem), path)
        count = _parse_header(header, path, stem)
        digest = hashlib.sha256(header)
        buffer = memoryview(out).cast("B")
        filled = _read_into(stream, buffer, path, digest)
        if filled < len(buffer):
            raise DataFileError(
                path,
                f"{path} is truncated: its header announces {count:,} items ({len(buffer):,} "
                f"bytes of data) but it holds {filled:,} bytes. Download the file again.",
            )
        # Reading past the end also makes gzip check its CRC and length.
        if _read_exactly(stream, 1, path):
            raise DataFileError(
                path,
                f"{path} is longer than its header announces ({count:,} items, "
                f"{len(buffer):,} bytes of data): the file is corrupt. Download it again.",
            )
    _check_digest(digest.hexdigest(), stem, str(path), count)


def _check_digest(found: str, stem: str, source: str, count: int) -> None:
    expected = _OFFICIAL[stem].sha256
    if found == expected:
        return
    kind = "images of 28x28" if _is_images(stem) else "labels"
    named = _KNOWN_OTHER_FILES.get(found)
    what = (
        f"It is {named} file, not Fashion-MNIST's."
        if named is not None
        else "It is another data set in the same IDX format (MNIST and its variants use these "
        "very file names) or a damaged copy."
    )
    raise DataFileError(
        source,
        f"{source} is not Fashion-MNIST's official {stem}: it holds {count:,} {kind} in the "
        f"right format, but its content's SHA-256 is {found}, not {expected}. {what} "
        "Get the official files again (see fetch_fashion_mnist's documentation).",
    )


def _read_into(stream, buffer: memoryview, path: Path, digest) -> int:
    """Fill ``buffer`` from ``stream`` until it is full or the stream ends; bytes read."""
    filled = 0
    try:
        while filled < len(buffer):
            # gzip decompresses a whole request into a temporary bytes object before copying
            # it: asking for 1 MiB at a time bounds that temporary.
            n_read = stream.readinto(buffer[filled : filled + _CHUNK_BYTES])
            if not n_read:
                break
            digest.update(buffer[filled : filled + n_read])
            filled += n_read
    except (OSError, EOFError, zlib.error) as exc:
        raise _corrupt_gzip(path, exc) from exc
    return filled


def _read_exactly(stream, n_bytes: int, path: Path) -> bytes:
    try:
        return stream.read(n_bytes)
    except (OSError, EOFError, zlib.error) as exc:
        raise _corrupt_gzip(path, exc) from exc


def _corrupt_gzip(path: Path, exc: Exception) -> DataFileError:
    return DataFileError(
        path,
        f"{path} could not be decompressed ({exc}): it is not a complete gzip file. "
        "Download it again, or decompress it and drop the .gz suffix.",
    )


def _fetch_from_openml(splits) -> tuple[np.ndarray, np.ndarray]:
    """Download (or reuse scikit-learn's cached copy of) Fashion-MNIST from OpenML."""
    try:
        bunch = fetch_openml("Fashion-MNIST", version=1, data_home=get_data_home(), as_frame=False)
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
    if data.shape != (_N_TRAIN + _N_TEST, _SIDE * _SIDE) or labels.shape != (len(data),):
        raise DataFileError(
            get_data_home(),
            f"OpenML's Fashion-MNIST has data of shape {data.shape} and target of shape "
            f"{labels.shape}; expected ({_N_TRAIN + _N_TEST}, {_SIDE * _SIDE}) and "
            f"({_N_TRAIN + _N_TEST},). Clear the openml folder in {get_data_home()} and retry.",
        )
    # OpenML keeps the official order: the first 60,000 rows are the training set.
    rows = {"train": slice(0, _N_TRAIN), "test": slice(_N_TRAIN, None)}
    if len(splits) == 1:
        data, labels = data[rows[splits[0]]], labels[rows[splits[0]]]
    images = _exact_cast(data, np.uint8, 255, "pixel").reshape(-1, _SIDE, _SIDE)
    target = _exact_cast(labels, np.int64, 9, "label")
    # The same digests as the files': OpenML's rows, written as IDX bytes, must be the files.
    start = 0
    for split in splits:
        image_stem, label_stem = _FILES[split]
        stop = start + _OFFICIAL[image_stem].count
        for stem, part in ((image_stem, images), (label_stem, target.astype(np.uint8))):
            digest = hashlib.sha256(_idx_header(stem, stop - start))
            digest.update(np.ascontiguousarray(part[start:stop]))
            source = f"OpenML's Fashion-MNIST (cached in {get_data_home()}), as {stem}"
            _check_digest(digest.hexdigest(), stem, source, stop - start)
        start = stop
    return images, target


def _exact_cast(values: np.ndarray, dtype, high: int, what: str) -> np.ndarray:
    """``values`` as ``dtype``, refusing anything that is not an integer in [0, high]."""
    if values.dtype.kind in "OUS":  # OpenML's labels arrive as strings
        values = values.astype(np.float64)
    # min, max and array_equal make no full-size temporaries (the data is 70,000 x 784).
    in_range = values.min() >= 0 and values.max() <= high
    cast = values.astype(dtype) if in_range else None
    if cast is None or not np.array_equal(cast, values):
        raise DataFileError(
            get_data_home(),
            f"OpenML's Fashion-MNIST holds {what} values that are not integers in 0..{high}; "
            f"clear the openml folder in {get_data_home()} and retry.",
        )
    return cast
