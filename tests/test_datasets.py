"""skconv.datasets.fetch_fashion_mnist on small IDX files written here; never the network.

The small files are made "official" for a test by putting their counts and digests in the
fetcher's table (``official_as``); the tests of the checks themselves use the real table.
"""

import gzip
import hashlib
import shutil
import struct
import tracemalloc
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils import Bunch

import skconv.datasets
from skconv.datasets import DataFileError, DataNotFoundError, fetch_fashion_mnist

FM = skconv.datasets._fashion_mnist
IDX = skconv.datasets._idx

IMAGE_STEMS = {"train": "train-images-idx3-ubyte", "test": "t10k-images-idx3-ubyte"}
LABEL_STEMS = {"train": "train-labels-idx1-ubyte", "test": "t10k-labels-idx1-ubyte"}


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    header = struct.pack(">i", magic) + b"".join(struct.pack(">i", d) for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write(path: Path, payload: bytes, compress: bool) -> None:
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)


def write_split(folder: Path, split: str, images, labels, compress: bool = True) -> None:
    write(folder / IMAGE_STEMS[split], idx_bytes(images, 2051), compress)
    write(folder / LABEL_STEMS[split], idx_bytes(labels, 2049), compress)


def fake_split(n: int, seed: int):
    rng = np.random.RandomState(seed)
    images = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
    labels = rng.randint(0, 10, size=n).astype(np.uint8)
    return images, labels


def decompressed(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


def official_as(monkeypatch, folder: Path) -> None:
    """Make the IDX files in ``folder`` the official ones: their counts and digests."""
    table = dict(IDX.OFFICIAL)
    for stem in [*IMAGE_STEMS.values(), *LABEL_STEMS.values()]:
        for path in (folder / f"{stem}.gz", folder / stem):
            if path.is_file():
                raw = decompressed(path)
                count = struct.unpack(">i", raw[4:8])[0]
                table[stem] = IDX.OfficialFile(count, hashlib.sha256(raw).hexdigest())
                break
    monkeypatch.setattr(IDX, "OFFICIAL", table)


@pytest.fixture
def fashion_dir(tmp_path, monkeypatch):
    """A folder with a 7-image training set and a 3-image test set, gzipped, made official."""
    train, test = fake_split(7, 0), fake_split(3, 1)
    write_split(tmp_path, "train", *train)
    write_split(tmp_path, "test", *test)
    official_as(monkeypatch, tmp_path)
    return tmp_path, train, test


@pytest.fixture(autouse=True)
def no_ambient_data(monkeypatch, tmp_path_factory):
    """Neither this machine's environment variable, Debian files, data home nor network."""
    monkeypatch.delenv(skconv.datasets.ENV_VAR, raising=False)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path_factory.mktemp("sk_data")))
    monkeypatch.setattr(FM, "DEBIAN_FOLDER", tmp_path_factory.mktemp("empty") / "absent")

    def no_download(*args, **kwargs):
        raise AssertionError("fetch_openml must not be called in this test")

    monkeypatch.setattr(FM, "fetch_openml", no_download)


def test_reads_the_training_set_from_data_home(fashion_dir):
    folder, (images, labels), _ = fashion_dir
    fashion = fetch_fashion_mnist(data_home=folder)
    assert isinstance(fashion, Bunch)
    assert fashion.data.shape == (7, 784) and fashion.data.dtype == np.uint8
    assert fashion.images.shape == (7, 28, 28) and fashion.images.dtype == np.uint8
    np.testing.assert_array_equal(fashion.images, images)
    np.testing.assert_array_equal(fashion.data, images.reshape(7, -1))
    assert np.shares_memory(fashion.data, fashion.images)
    assert fashion.target.dtype == np.int64
    np.testing.assert_array_equal(fashion.target, labels)
    assert list(fashion.target_names) == [
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
    ]
    for fact in ("MIT", "60,000", "10,000", "0.897", "0.926", "0.949", "0.835", "0.876"):
        assert fact in fashion.DESCR


def test_test_and_all_subsets_keep_the_official_order_and_dtypes(fashion_dir):
    folder, (train_images, train_labels), (test_images, test_labels) = fashion_dir
    test = fetch_fashion_mnist(data_home=folder, subset="test")
    np.testing.assert_array_equal(test.images, test_images)
    np.testing.assert_array_equal(test.target, test_labels)
    everything = fetch_fashion_mnist(data_home=folder, subset="all")
    assert everything.data.shape == (10, 784)
    assert everything.data.dtype == np.uint8 and everything.target.dtype == np.int64
    np.testing.assert_array_equal(everything.images, np.concatenate([train_images, test_images]))
    np.testing.assert_array_equal(everything.target, np.concatenate([train_labels, test_labels]))
    assert np.shares_memory(everything.data, everything.images)


def test_return_X_y_gives_data_and_target(fashion_dir):
    folder, (images, labels), _ = fashion_dir
    X, y = fetch_fashion_mnist(data_home=folder, return_X_y=True)
    np.testing.assert_array_equal(X, images.reshape(7, -1))
    np.testing.assert_array_equal(y, labels)


def test_reads_uncompressed_files_and_needs_only_the_subset_asked_for(tmp_path, monkeypatch):
    images, labels = fake_split(4, 2)
    write_split(tmp_path, "test", images, labels, compress=False)
    official_as(monkeypatch, tmp_path)
    X, y = fetch_fashion_mnist(data_home=str(tmp_path), subset="test", return_X_y=True)
    np.testing.assert_array_equal(X, images.reshape(4, -1))
    np.testing.assert_array_equal(y, labels)


def test_a_wrong_subset_names_the_parameter(fashion_dir):
    with pytest.raises(ValueError, match="'subset' parameter"):
        fetch_fashion_mnist(data_home=fashion_dir[0], subset="validation")


def test_a_missing_data_home_is_an_error_not_a_download(tmp_path):
    absent = tmp_path / "nowhere"
    with pytest.raises(DataNotFoundError, match=r"data_home=.*nowhere.*not a folder"):
        fetch_fashion_mnist(data_home=absent)


def test_a_data_home_without_the_files_names_the_missing_ones(tmp_path):
    write_split(tmp_path, "train", *fake_split(2, 0))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b""))
    with pytest.raises(FileNotFoundError, match=r"lacks t10k-images-idx3-ubyte\n\(looked") as info:
        fetch_fashion_mnist(data_home=tmp_path, subset="all")
    assert "apt-get install dataset-fashion-mnist" in str(info.value)


def test_the_environment_variable_names_the_folder(fashion_dir, monkeypatch):
    folder, (images, _), _ = fashion_dir
    monkeypatch.setenv(skconv.datasets.ENV_VAR, str(folder))
    np.testing.assert_array_equal(fetch_fashion_mnist().images, images)
    monkeypatch.setenv(skconv.datasets.ENV_VAR, str(folder / "typo"))
    with pytest.raises(FileNotFoundError, match=r"SKCONV_FASHION_MNIST.*not a folder"):
        fetch_fashion_mnist()


def test_data_home_comes_before_the_environment_variable(
    fashion_dir, tmp_path_factory, monkeypatch
):
    folder, (images, _), _ = fashion_dir
    other = tmp_path_factory.mktemp("other")
    write_split(other, "train", *fake_split(7, 9))
    monkeypatch.setenv(skconv.datasets.ENV_VAR, str(other))
    np.testing.assert_array_equal(fetch_fashion_mnist(data_home=folder).images, images)


def test_the_debian_folder_is_read_when_nothing_is_named(fashion_dir, monkeypatch):
    folder, (images, labels), _ = fashion_dir
    monkeypatch.setattr(FM, "DEBIAN_FOLDER", folder)
    fashion = fetch_fashion_mnist()
    np.testing.assert_array_equal(fashion.images, images)
    np.testing.assert_array_equal(fashion.target, labels)
    corrupt(folder, "train-labels-idx1-ubyte.gz", gzip.compress(idx_bytes(labels[:3], 2049)))
    with pytest.raises(DataFileError, match="where the Debian package dataset-fashion-mnist"):
        fetch_fashion_mnist()


# Corrupt files: each is a ValueError that names the file, never a wrong array.


def corrupt(folder: Path, name: str, payload: bytes) -> Path:
    path = folder / name
    path.write_bytes(payload)
    return path


@pytest.mark.parametrize(
    ("make_payload", "message"),
    [
        (lambda im: gzip.compress(idx_bytes(im, 2049)), "magic number is 2049, expected 2051"),
        (lambda im: gzip.compress(idx_bytes(im, 2051)[:-1]), "its gzip trailer records 5,503"),
        (lambda im: gzip.compress(idx_bytes(im, 2051) + b"\0"), "trailer records 5,505 bytes"),
        (lambda im: gzip.compress(idx_bytes(im, 2051)[:10]), "ends inside its 16-byte"),
        (lambda im: gzip.compress(idx_bytes(im[:, :27], 2051)), "images of 27x28"),
        (lambda im: gzip.compress(idx_bytes(im[:6], 2051)), "announces 6 images, but"),
        (lambda im: idx_bytes(im, 2051), "not a complete gzip file"),
        (lambda im: gzip.compress(idx_bytes(im, 2051))[:-20], "truncated or corrupt"),
    ],
    ids=["magic", "short", "long", "header", "size", "count", "not-gzip", "cut-gzip"],
)
def test_a_corrupt_images_file_is_a_value_error_naming_it(fashion_dir, make_payload, message):
    folder, (images, _), _ = fashion_dir
    path = corrupt(folder, "train-images-idx3-ubyte.gz", make_payload(images))
    with pytest.raises(DataFileError, match=message) as info:
        fetch_fashion_mnist(data_home=folder)
    assert str(path) in str(info.value) and info.value.path == str(path)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "truncated: it ends inside its 16-byte IDX header"),
        (idx_bytes(np.zeros((7, 28, 27)), 2051), "images of 28x27"),
        (idx_bytes(np.zeros((7, 28, 28)), 2051)[:-1], "is truncated: its header announces 7"),
        (idx_bytes(np.zeros((7, 28, 28)), 2051) + b"\0", "is longer than its header announces"),
        (idx_bytes(np.zeros((7, 28, 28)), 2051), "SHA-256 is"),
    ],
    ids=["empty", "size", "short", "long", "content"],
)
def test_a_corrupt_uncompressed_file_is_a_value_error_naming_it(
    tmp_path, monkeypatch, payload, message
):
    write_split(tmp_path, "train", *fake_split(7, 0), compress=False)
    official_as(monkeypatch, tmp_path)
    path = corrupt(tmp_path, "train-images-idx3-ubyte", payload)
    with pytest.raises(DataFileError, match=message) as info:
        fetch_fashion_mnist(data_home=tmp_path)
    assert info.value.path == str(path)


@pytest.mark.parametrize(
    ("labels", "magic", "message"),
    [
        (np.zeros(6, np.uint8), 2049, "announces 6 labels, but"),
        (np.full(7, 10, np.uint8), 2049, "SHA-256 is"),
        (np.zeros(7, np.uint8), 2051, "magic number is 2051, expected 2049"),
    ],
)
def test_a_corrupt_labels_file_is_a_value_error_naming_it(fashion_dir, labels, magic, message):
    folder = fashion_dir[0]
    path = corrupt(folder, "train-labels-idx1-ubyte.gz", gzip.compress(idx_bytes(labels, magic)))
    with pytest.raises(DataFileError, match=message) as info:
        fetch_fashion_mnist(data_home=folder)
    assert str(path) in str(info.value)


# The checks against the official table: counts, lengths and digests.


def traced_peak(function, *args, returns=False, **kwargs):
    """The peak of Python's traced allocations while ``function`` runs (and its result)."""
    tracemalloc.start()
    try:
        result = function(*args, **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return (result, peak) if returns else peak


def refused(data_home, message):
    """Check that the files in ``data_home`` are refused with ``message``."""
    with pytest.raises(DataFileError, match=message):
        fetch_fashion_mnist(data_home=data_home)


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize(
    ("count", "message"),
    [
        (0, "announces 0 images, but Fashion-MNIST's train-images-idx3-ubyte holds exactly"),
        (10**8, "announces 100,000,000 images, but"),
        (2**31 - 1, "announces 2,147,483,647 images"),
        (59_999, "announces 59,999 images"),
        (10_000, "10,000 is the size of the official test set: is a test file copied"),
    ],
)
def test_a_count_other_than_the_official_one_is_refused_before_allocating(
    tmp_path, count, message, compress
):
    write(tmp_path / "train-images-idx3-ubyte", struct.pack(">4i", 2051, count, 28, 28), compress)
    write(tmp_path / "train-labels-idx1-ubyte", struct.pack(">2i", 2049, count), compress)
    peak = traced_peak(refused, tmp_path, message)
    assert peak < 200_000  # measured: about 60 kB (the gzip reader and the error's traceback)


@pytest.mark.parametrize("compress", [True, False])
def test_a_header_claiming_more_than_the_file_holds_is_refused_before_allocating(
    tmp_path, monkeypatch, compress
):
    # Were 10**8 images official, the file's length would still refuse the header: 73 GiB are
    # never allocated for a file of a few bytes.
    table = dict(IDX.OFFICIAL)
    table["train-images-idx3-ubyte"] = IDX.OfficialFile(10**8, "0" * 64)
    monkeypatch.setattr(IDX, "OFFICIAL", table)
    header = struct.pack(">4i", 2051, 10**8, 28, 28)
    write(tmp_path / "train-images-idx3-ubyte", header + bytes(784), compress)
    write(tmp_path / "train-labels-idx1-ubyte", struct.pack(">2i", 2049, 10**8), compress)
    message = "trailer records 800 bytes" if compress else "holds 800 bytes"
    assert traced_peak(refused, tmp_path, message) < 200_000  # measured: about 60 kB


def test_another_set_in_the_same_format_is_refused_saying_what_was_found(tmp_path, monkeypatch):
    # MNIST-like: the official names, header and count, other pixels (uncompressed: fast).
    images, labels = fake_split(10_000, 4)
    write_split(tmp_path, "test", images, labels, compress=False)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(DataFileError) as info:
        fetch_fashion_mnist(data_home=tmp_path, subset="test")
    message = str(info.value)
    found = hashlib.sha256(decompressed(tmp_path / "t10k-images-idx3-ubyte")).hexdigest()
    for excerpt in (
        "t10k-images-idx3-ubyte is not Fashion-MNIST's official t10k-images-idx3-ubyte",
        "it holds 10,000 images of 28x28 in the right format",
        f"SHA-256 is {found}",
        "another data set in the same IDX format (MNIST",
    ):
        assert excerpt in message
    # Files of MNIST itself are named as such.
    monkeypatch.setitem(IDX.KNOWN_OTHER_FILES, found, "MNIST's t10k-images")
    with pytest.raises(DataFileError, match="It is MNIST's t10k-images file, not Fashion"):
        fetch_fashion_mnist(data_home=tmp_path, subset="test")
    # Reading writes nothing: the folder is as it was.
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_reading_makes_no_copy_of_the_images(tmp_path, monkeypatch):
    images, labels = fake_split(3000, 3)  # 2.35 MB of pixels
    write_split(tmp_path, "train", images, labels)
    official_as(monkeypatch, tmp_path)
    fashion, peak = traced_peak(fetch_fashion_mnist, data_home=tmp_path, returns=True)
    # Measured: the images plus gzip's 1 MiB read chunk plus 0.05 MB (labels, buffers); a
    # second copy of the images would add 2.35 MB.
    assert peak < images.nbytes + IDX.CHUNK_BYTES + 150_000
    np.testing.assert_array_equal(fashion.images, images)


# The OpenML download, faked: no network.


class FakeOpenML:
    """Stands in for fetch_openml: 70,000 rows whose first 3 pixels encode the row number."""

    def __init__(self, error=None):
        self.calls, self.error = [], error

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        if self.error is not None:
            raise self.error
        rows = np.arange(70_000)
        data = np.zeros((70_000, 784), dtype=np.uint8)
        data[:, 0], data[:, 1], data[:, 2] = rows % 256, rows // 256 % 256, rows // 65536
        target = (rows % 10).astype(str).astype(object)  # OpenML's labels are strings
        return Bunch(data=data, target=target)


def row_numbers(images):
    flat = images.reshape(len(images), -1).astype(np.int64)
    return flat[:, 0] + 256 * flat[:, 1] + 65536 * flat[:, 2]


@pytest.fixture
def fake_openml_is_official(monkeypatch):
    """Put FakeOpenML's rows, written as IDX files, in the fetcher's table of official files."""
    bunch = FakeOpenML()()
    labels = bunch.target.astype(np.uint8)
    table = dict(IDX.OFFICIAL)
    for split, rows in [("train", slice(0, 60_000)), ("test", slice(60_000, None))]:
        images = bunch.data[rows].reshape(-1, 28, 28)
        for stem, raw in [
            (IMAGE_STEMS[split], idx_bytes(images, 2051)),
            (LABEL_STEMS[split], idx_bytes(labels[rows], 2049)),
        ]:
            table[stem] = IDX.OfficialFile(len(images), hashlib.sha256(raw).hexdigest())
    monkeypatch.setattr(IDX, "OFFICIAL", table)


@pytest.mark.parametrize(
    ("subset", "first", "stop"),
    [("train", 0, 60_000), ("test", 60_000, 70_000), ("all", 0, 70_000)],
)
def test_without_local_files_it_downloads_from_openml_and_splits_officially(
    monkeypatch, tmp_path, subset, first, stop, fake_openml_is_official
):
    fake = FakeOpenML()
    monkeypatch.setattr(FM, "fetch_openml", fake)
    fashion = fetch_fashion_mnist(subset=subset)
    [(args, kwargs)] = fake.calls
    assert args == ("Fashion-MNIST",)
    assert kwargs["version"] == 1 and kwargs["as_frame"] is False
    assert kwargs["cache"] is False  # skconv keeps the verified IDX files, not OpenML's ARFF
    np.testing.assert_array_equal(row_numbers(fashion.images), np.arange(first, stop))
    assert fashion.images.dtype == np.uint8 and fashion.images.shape == (stop - first, 28, 28)
    assert fashion.target.dtype == np.int64
    np.testing.assert_array_equal(fashion.target, np.arange(first, stop) % 10)
    assert np.shares_memory(fashion.data, fashion.images)


def test_an_incomplete_debian_folder_falls_back_to_openml(
    monkeypatch, tmp_path, fake_openml_is_official
):
    write_split(tmp_path, "train", *fake_split(2, 0))
    fake = FakeOpenML()
    monkeypatch.setattr(FM, "DEBIAN_FOLDER", tmp_path)
    monkeypatch.setattr(FM, "fetch_openml", fake)
    assert fetch_fashion_mnist(subset="test").data.shape == (10_000, 784)
    assert len(fake.calls) == 1


def test_a_download_is_kept_as_the_idx_files_and_read_from_there(
    monkeypatch, fake_openml_is_official
):
    fake = FakeOpenML()
    monkeypatch.setattr(FM, "fetch_openml", fake)
    downloaded = fetch_fashion_mnist(subset="all")
    folder = FM.download_folder()
    assert folder.parent == Path(FM.get_data_home())
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{stem}.gz" for stem in IDX.OFFICIAL
    )
    again = fetch_fashion_mnist(subset="test")
    assert len(fake.calls) == 1  # read from the kept files
    np.testing.assert_array_equal(again.images, downloaded.images[60_000:])
    np.testing.assert_array_equal(again.target, downloaded.target[60_000:])
    # A kept file damaged later is refused, and the message says where it was found.
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\0\0\x08\x01" + bytes(4)))
    with pytest.raises(DataFileError, match="where an earlier download was kept: remove it"):
        fetch_fashion_mnist(subset="test")


@pytest.mark.parametrize("interrupt_at", [1, 2, 4, 7])
def test_an_interrupted_write_leaves_no_half_written_file(
    monkeypatch, fake_openml_is_official, interrupt_at
):
    monkeypatch.setattr(FM, "fetch_openml", FakeOpenML())
    real_write, calls = gzip.GzipFile.write, []

    def write_then_interrupt(self, data):
        calls.append(len(data))
        if len(calls) == interrupt_at:  # two writes a file: its header, then its data
            raise KeyboardInterrupt
        return real_write(self, data)

    monkeypatch.setattr(gzip.GzipFile, "write", write_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        fetch_fashion_mnist()
    folder = FM.download_folder()
    left = sorted(p.name for p in folder.iterdir())
    complete = (interrupt_at - 1) // 2  # files whose two writes both happened
    assert left == sorted(f"{stem}.gz" for stem in list(IDX.OFFICIAL)[:complete])
    for name in left:  # what is there is whole: its digest is the official one
        raw = decompressed(folder / name)
        assert hashlib.sha256(raw).hexdigest() == IDX.OFFICIAL[name[:-3]].sha256


def test_a_download_that_cannot_be_kept_is_returned_with_a_warning(
    monkeypatch, fake_openml_is_official
):
    fake = FakeOpenML()
    monkeypatch.setattr(FM, "fetch_openml", fake)
    FM.download_folder().write_text("a file where the folder would go")
    with pytest.warns(UserWarning, match="downloaded but could not be kept in") as record:
        fashion = fetch_fashion_mnist(subset="test")
    assert record[0].filename == __file__  # the warning points at the call
    np.testing.assert_array_equal(row_numbers(fashion.images), np.arange(60_000, 70_000))


@pytest.mark.parametrize("subset", ["train", "test", "all"])
def test_openml_data_other_than_the_official_files_is_refused(monkeypatch, subset):
    # FakeOpenML's rows have the official shape and value ranges but not the official pixels.
    monkeypatch.setattr(FM, "fetch_openml", FakeOpenML())
    with pytest.raises(DataFileError, match=r"OpenML's copy of train-images-idx3-ubyte is not"):
        fetch_fashion_mnist(subset=subset)
    assert not FM.download_folder().exists()  # nothing is kept


def test_offline_one_error_names_all_three_ways_to_get_the_data(monkeypatch):
    fake = FakeOpenML(error=urllib.error.URLError("Temporary failure in name resolution"))
    monkeypatch.setattr(FM, "fetch_openml", fake)
    with pytest.raises(DataNotFoundError) as info:
        fetch_fashion_mnist()
    assert isinstance(info.value, FileNotFoundError)
    message = str(info.value)
    for way in (
        "data_home=",
        "SKCONV_FASHION_MNIST",
        "apt-get install dataset-fashion-mnist",
        "OpenML",
        "name resolution",
    ):
        assert way in message


def test_the_missing_data_message_is_short_lines_for_the_command_line_first():
    with pytest.raises(DataNotFoundError) as info:
        fetch_fashion_mnist(download_if_missing=False)
    lines = str(info.value).splitlines()
    assert len(lines) >= 8
    # The longest is 84 characters (the line naming the Debian folder, here a temporary one).
    assert max(len(line) for line in lines if str(FM.DEBIAN_FOLDER) not in line) <= 88
    text = str(info.value)
    # Command line first (apt-get, then the environment variable), Python's arguments last.
    apt = text.index("sudo apt-get install dataset-fashion-mnist")
    env = text.index("export SKCONV_FASHION_MNIST=")
    python = text.index("From Python:")
    assert apt < env < python < text.index("data_home=") < text.index("download_if_missing=True")
    assert skconv.datasets.how_to_get_it() in text


def test_download_if_missing_false_raises_without_downloading():
    # The autouse fixture's fetch_openml fails the test if called.
    with pytest.raises(FileNotFoundError, match="download_if_missing=False") as info:
        fetch_fashion_mnist(download_if_missing=False)
    assert "apt-get install dataset-fashion-mnist" in str(info.value)


def test_openml_data_that_is_not_fashion_mnist_is_refused(monkeypatch):
    class BadPixels(FakeOpenML):
        def __call__(self, *args, **kwargs):
            bunch = super().__call__(*args, **kwargs)
            bunch.data = bunch.data.astype(np.float64) + 0.5
            return bunch

    monkeypatch.setattr(FM, "fetch_openml", BadPixels())
    with pytest.raises(DataFileError, match=r"pixel values that are not integers in 0\.\.255"):
        fetch_fashion_mnist(subset="test")
    monkeypatch.setattr(
        FM,
        "fetch_openml",
        lambda *a, **k: Bunch(data=np.zeros((5, 784)), target=np.zeros(5)),
    )
    with pytest.raises(DataFileError, match=r"shape \(5, 784\)"):
        fetch_fashion_mnist()


def test_without_pandas_the_download_error_says_what_to_install(monkeypatch):
    fake = FakeOpenML(error=ImportError("fetch_openml requires pandas."))
    monkeypatch.setattr(FM, "fetch_openml", fake)
    with pytest.raises(ImportError, match="pip install pandas") as info:
        fetch_fashion_mnist()
    assert "apt-get install dataset-fashion-mnist" in str(info.value)


# The real files, when this machine has them.

REAL_FOLDER = Path("/usr/share/datasets/fashion-mnist")


needs_real_files = pytest.mark.skipif(
    not all((REAL_FOLDER / f"{stem}.gz").is_file() for stem in IDX.OFFICIAL),
    reason=f"the real Fashion-MNIST files are not installed in {REAL_FOLDER} "
    "(apt-get install dataset-fashion-mnist); the small files above test the reader",
)

# The publisher's MD5s of the files inside its .gz files, as published for the raw files.
PUBLISHED_RAW_MD5 = {
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}


@needs_real_files
@pytest.mark.parametrize("stem", sorted(PUBLISHED_RAW_MD5))
def test_the_official_digests_are_the_debian_files_and_the_published_ones(stem):
    raw = decompressed(REAL_FOLDER / f"{stem}.gz")
    assert hashlib.md5(raw).hexdigest() == PUBLISHED_RAW_MD5[stem]
    assert hashlib.sha256(raw).hexdigest() == IDX.OFFICIAL[stem].sha256
    assert struct.unpack(">i", raw[4:8])[0] == IDX.OFFICIAL[stem].count


@needs_real_files
def test_the_test_files_copied_under_the_training_names_are_refused(tmp_path):
    for split in ("train", "test"):
        for stem in (IMAGE_STEMS["test"], LABEL_STEMS["test"]):
            target = stem.replace("t10k", "train") if split == "train" else stem
            shutil.copy(REAL_FOLDER / f"{stem}.gz", tmp_path / f"{target}.gz")
    with pytest.raises(DataFileError) as info:
        fetch_fashion_mnist(data_home=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "train-images-idx3-ubyte.gz") in message
    assert "announces 10,000 images, but Fashion-MNIST's train-images-idx3-ubyte holds " in message
    assert "exactly 60,000. 10,000 is the size of the official test set" in message
    assert message.endswith(f"(The folder was named by data_home={str(tmp_path)!r}.)")
    # The real test files under their own names load.
    assert fetch_fashion_mnist(data_home=tmp_path, subset="test").data.shape == (10_000, 784)


@needs_real_files
@pytest.mark.parametrize("stem", ["t10k-labels-idx1-ubyte", "t10k-images-idx3-ubyte"])
def test_a_real_file_with_one_byte_changed_is_refused(tmp_path, stem):
    for name in (IMAGE_STEMS["test"], LABEL_STEMS["test"]):
        shutil.copy(REAL_FOLDER / f"{name}.gz", tmp_path / f"{name}.gz")
    raw = bytearray(decompressed(REAL_FOLDER / f"{stem}.gz"))
    raw[-1] = (raw[-1] + 1) % 10  # the last image's last pixel, or the last label
    (tmp_path / f"{stem}.gz").write_bytes(gzip.compress(bytes(raw), compresslevel=1))
    with pytest.raises(DataFileError, match=f"is not Fashion-MNIST's official {stem}") as info:
        fetch_fashion_mnist(data_home=tmp_path, subset="test")
    assert f"SHA-256 is {hashlib.sha256(raw).hexdigest()}, not {IDX.OFFICIAL[stem].sha256}" in (
        str(info.value)
    )


@needs_real_files
@pytest.mark.parametrize(("subset", "n"), [("train", 60_000), ("test", 10_000)])
def test_the_real_files_load_with_the_official_shapes(monkeypatch, subset, n):
    monkeypatch.setattr(FM, "DEBIAN_FOLDER", REAL_FOLDER)
    fashion = fetch_fashion_mnist(subset=subset)
    assert fashion.images.shape == (n, 28, 28) and fashion.data.shape == (n, 784)
    np.testing.assert_array_equal(np.bincount(fashion.target), np.full(10, n // 10))
    # An independent decoding: skip the 16-byte header of the decompressed file.
    stem = IMAGE_STEMS[subset]
    with gzip.open(REAL_FOLDER / f"{stem}.gz") as stream:
        pixels = np.frombuffer(stream.read(), dtype=np.uint8, offset=16)
    np.testing.assert_array_equal(fashion.data.ravel(), pixels)
