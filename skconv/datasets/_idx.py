"""Fashion-MNIST's IDX files: checked against the official ones, read, and written safely.

Everything about one file lives here: its header, its length, its content's digest, and
writing a verified copy so that a reader never meets a half-written file.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import struct
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._errors import DataFileError

IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049
SIDE = 28
N_TRAIN = 60_000
N_TEST = 10_000
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class OfficialFile:
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
OFFICIAL = {
    "train-images-idx3-ubyte": OfficialFile(
        N_TRAIN, "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
    ),
    "train-labels-idx1-ubyte": OfficialFile(
        N_TRAIN, "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
    ),
    "t10k-images-idx3-ubyte": OfficialFile(
        N_TEST, "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
    ),
    "t10k-labels-idx1-ubyte": OfficialFile(
        N_TEST, "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
    ),
}

# Only to word the error when a file of MNIST itself (same names, same format) is found: the
# decompressed files' SHA-256 as published for MNIST (e.g. alongside the Fashion-MNIST ones
# above in public build scripts; no MNIST copy on this machine to recompute them).
KNOWN_OTHER_FILES = {
    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db": "MNIST's train-images",
    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5": "MNIST's train-labels",
    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7": "MNIST's t10k-images",
    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2": "MNIST's t10k-labels",
}


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def is_images(stem: str) -> bool:
    return "images" in stem


def header_bytes(stem: str) -> int:
    return 16 if is_images(stem) else 8


def item_bytes(stem: str) -> int:
    return SIDE * SIDE if is_images(stem) else 1


def idx_header(stem: str, count: int) -> bytes:
    """The IDX header of ``count`` images or labels, as the official files write it."""
    if is_images(stem):
        return struct.pack(">4i", IMAGE_MAGIC, count, SIDE, SIDE)
    return struct.pack(">2i", LABEL_MAGIC, count)


def check_file_before_reading(path: Path, stem: str) -> None:
    """Check the header's magic, shape and count, and the file's length, without its data."""
    with _open(path) as stream:
        header = _read_exactly(stream, header_bytes(stem), path)
        count = parse_header(header, path, stem)
    expected = header_bytes(stem) + count * item_bytes(stem)
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


def parse_header(raw: bytes, path: Path, stem: str) -> int:
    """Check an IDX header (big-endian int32s) against the official file; its item count."""
    if len(raw) < header_bytes(stem):
        raise DataFileError(
            path,
            f"{path} is truncated: it ends inside its {header_bytes(stem)}-byte IDX header.",
        )
    found, *dims = np.frombuffer(raw, dtype=">i4").tolist()
    magic, kind = (IMAGE_MAGIC, "images") if is_images(stem) else (LABEL_MAGIC, "labels")
    if found != magic:
        raise DataFileError(
            path,
            f"{path} is not an IDX file of {kind}: its magic number is {found}, expected "
            f"{magic}. Check the file name, or download the file again.",
        )
    if is_images(stem) and dims[1:] != [SIDE, SIDE]:
        raise DataFileError(
            path,
            f"{path} holds images of {dims[1]}x{dims[2]}; Fashion-MNIST's are "
            f"{SIDE}x{SIDE}. The file is corrupt or not Fashion-MNIST.",
        )
    official = OFFICIAL[stem].count
    if dims[0] != official:
        other = {N_TRAIN: "training", N_TEST: "test"}.get(dims[0])
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


def read_idx(path: Path, stem: str, out: np.ndarray) -> None:
    """Read an IDX file's uint8 payload straight into ``out``, checking its digest on the way."""
    with _open(path) as stream:
        header = _read_exactly(stream, header_bytes(stem), path)
        count = parse_header(header, path, stem)
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
    check_digest(digest.hexdigest(), stem, str(path), count)


def check_digest(found: str, stem: str, source: str, count: int) -> None:
    expected = OFFICIAL[stem].sha256
    if found == expected:
        return
    kind = "images of 28x28" if is_images(stem) else "labels"
    named = KNOWN_OTHER_FILES.get(found)
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
            n_read = stream.readinto(buffer[filled : filled + CHUNK_BYTES])
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


def write_idx_atomically(path: Path, stem: str, part: np.ndarray) -> None:
    """Write ``part`` as the gzipped IDX file ``path``, whole or not at all.

    The bytes go to a hidden temporary file in the same folder, which replaces ``path`` only
    once complete and on disk: an error or an interrupt (Ctrl-C) leaves no partial file, and
    a reader sees either no file or the whole one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".part"
    )
    try:
        with open(descriptor, "wb") as handle:
            with gzip.GzipFile(fileobj=handle, mode="wb", compresslevel=6, mtime=0) as stream:
                stream.write(idx_header(stem, len(part)))
                stream.write(np.ascontiguousarray(part, dtype=np.uint8))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
