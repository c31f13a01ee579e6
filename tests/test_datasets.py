"""skconv.datasets.fetch_fashion_mnist on small IDX files written here; never the network."""

import gzip
import struct
import tracemalloc
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils import Bunch

import skconv.datasets
from skconv.datasets import fetch_fashion_mnist

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


@pytest.fixture
def fashion_dir(tmp_path):
    """A folder with a 7-image training set and a 3-image test set, gzipped."""
    train, test = fake_split(7, 0), fake_split(3, 1)
    write_split(tmp_path, "train", *train)
    write_split(tmp_path, "test", *test)
    return tmp_path, train, test


@pytest.fixture(autouse=True)
def no_ambient_data(monkeypatch, tmp_path_factory):
    """Neither this machine's environment variable, Debian files nor network may leak in."""
    monkeypatch.delenv(skconv.datasets.ENV_VAR, raising=False)
    monkeypatch.setattr(
        skconv.datasets, "DEBIAN_FOLDER", tmp_path_factory.mktemp("empty") / "absent"
    )

    def no_download(*args, **kwargs):
        raise AssertionError("fetch_openml must not be called in this test")

    monkeypatch.setattr(skconv.datasets, "fetch_openml", no_download)


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


def test_reads_uncompressed_files_and_needs_only_the_subset_asked_for(tmp_path):
    images, labels = fake_split(4, 2)
    write_split(tmp_path, "test", images, labels, compress=False)
    X, y = fetch_fashion_mnist(data_home=str(tmp_path), subset="test", return_X_y=True)
    np.testing.assert_array_equal(X, images.reshape(4, -1))
    np.testing.assert_array_equal(y, labels)


def test_a_wrong_subset_names_the_parameter(fashion_dir):
    with pytest.raises(ValueError, match="'subset' parameter"):
        fetch_fashion_mnist(data_home=fashion_dir[0], subset="validation")


def test_a_missing_data_home_is_an_error_not_a_download(tmp_path):
    absent = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match=r"data_home=.*nowhere.*not a folder"):
        fetch_fashion_mnist(data_home=absent)


def test_a_data_home_without_the_files_names_the_missing_ones(tmp_path):
    write_split(tmp_path, "train", *fake_split(2, 0))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b""))
    with pytest.raises(FileNotFoundError, match=r"lacks t10k-images-idx3-ubyte \(") as info:
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
    write_split(other, "train", *fake_split(5, 9))
    monkeypatch.setenv(skconv.datasets.ENV_VAR, str(other))
    np.testing.assert_array_equal(fetch_fashion_mnist(data_home=folder).images, images)


def test_the_debian_folder_is_read_when_nothing_is_named(fashion_dir, monkeypatch):
    folder, (images, labels), _ = fashion_dir
    monkeypatch.setattr(skconv.datasets, "DEBIAN_FOLDER", folder)
    fashion = fetch_fashion_mnist()
    np.testing.assert_array_equal(fashion.images, images)
    np.testing.assert_array_equal(fashion.target, labels)


# Corrupt files: each is a ValueError that names the file, never a wrong array.


def corrupt(folder: Path, name: str, payload: bytes) -> Path:
    path = folder / name
    path.write_bytes(payload)
    return path


@pytest.mark.parametrize(
    ("make_payload", "message"),
    [
        (lambda im, lb: gzip.compress(idx_bytes(im, 2049)), "magic number is 2049, expected 2051"),
        (lambda im, lb: gzip.compress(idx_bytes(im, 2051)[:-1]), "truncated: its header"),
        (lambda im, lb: gzip.compress(idx_bytes(im, 2051) + b"\0"), "longer than its header"),
        (lambda im, lb: gzip.compress(idx_bytes(im, 2051)[:10]), "ends inside its 16-byte"),
        (lambda im, lb: gzip.compress(idx_bytes(im[:, :27], 2051)), "images of 27x28"),
        (lambda im, lb: idx_bytes(im, 2051), "not a complete gzip file"),
        (lambda im, lb: gzip.compress(idx_bytes(im, 2051))[:-20], "not a complete gzip file"),
    ],
    ids=["magic", "short", "long", "header", "size", "not-gzip", "cut-gzip"],
)
def test_a_corrupt_images_file_is_a_value_error_naming_it(fashion_dir, make_payload, message):
    folder, (images, labels), _ = fashion_dir
    path = corrupt(folder, "train-images-idx3-ubyte.gz", make_payload(images, labels))
    with pytest.raises(ValueError, match=message) as info:
        fetch_fashion_mnist(data_home=folder)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("labels", "magic", "message"),
    [
        (np.zeros(6, np.uint8), 2049, "holds 6 items but its images file holds 7"),
        (np.full(7, 10, np.uint8), 2049, "holds label 10"),
        (np.zeros(7, np.uint8), 2051, "magic number is 2051, expected 2049"),
    ],
)
def test_a_corrupt_labels_file_is_a_value_error_naming_it(fashion_dir, labels, magic, message):
    folder = fashion_dir[0]
    path = corrupt(folder, "train-labels-idx1-ubyte.gz", gzip.compress(idx_bytes(labels, magic)))
    with pytest.raises(ValueError, match=message) as info:
        fetch_fashion_mnist(data_home=folder)
    assert str(path) in str(info.value)


def test_reading_makes_no_copy_of_the_images(tmp_path):
    images, labels = fake_split(3000, 3)  # 2.35 MB of pixels
    write_split(tmp_path, "train", images, labels)
    tracemalloc.start()
    try:
        fashion = fetch_fashion_mnist(data_home=tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Measured: the images plus gzip's 1 MiB read chunk plus 0.05 MB (labels, buffers); a
    # second copy of the images would add 2.35 MB.
    assert peak < images.nbytes + skconv.datasets._CHUNK_BYTES + 150_000
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


@pytest.mark.parametrize(
    ("subset", "first", "stop"),
    [("train", 0, 60_000), ("test", 60_000, 70_000), ("all", 0, 70_000)],
)
def test_without_local_files_it_downloads_from_openml_and_splits_officially(
    monkeypatch, tmp_path, subset, first, stop
):
    fake = FakeOpenML()
    monkeypatch.setattr(skconv.datasets, "fetch_openml", fake)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sk_data"))
    fashion = fetch_fashion_mnist(subset=subset)
    [(args, kwargs)] = fake.calls
    assert args == ("Fashion-MNIST",)
    assert kwargs["version"] == 1 and kwargs["as_frame"] is False
    assert kwargs["data_home"] == str(tmp_path / "sk_data")
    np.testing.assert_array_equal(row_numbers(fashion.images), np.arange(first, stop))
    assert fashion.images.dtype == np.uint8 and fashion.images.shape == (stop - first, 28, 28)
    assert fashion.target.dtype == np.int64
    np.testing.assert_array_equal(fashion.target, np.arange(first, stop) % 10)
    assert np.shares_memory(fashion.data, fashion.images)


def test_an_incomplete_debian_folder_falls_back_to_openml(monkeypatch, tmp_path):
    write_split(tmp_path, "train", *fake_split(2, 0))
    fake = FakeOpenML()
    monkeypatch.setattr(skconv.datasets, "DEBIAN_FOLDER", tmp_path)
    monkeypatch.setattr(skconv.datasets, "fetch_openml", fake)
    assert fetch_fashion_mnist(subset="test").data.shape == (10_000, 784)
    assert len(fake.calls) == 1


def test_offline_one_error_names_all_three_ways_to_get_the_data(monkeypatch):
    fake = FakeOpenML(error=urllib.error.URLError("Temporary failure in name resolution"))
    monkeypatch.setattr(skconv.datasets, "fetch_openml", fake)
    with pytest.raises(FileNotFoundError) as info:
        fetch_fashion_mnist()
    message = str(info.value)
    for way in (
        "data_home=",
        "SKCONV_FASHION_MNIST",
        "apt-get install dataset-fashion-mnist",
        "fetch_openml",
        "name resolution",
    ):
        assert way in message


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

    monkeypatch.setattr(skconv.datasets, "fetch_openml", BadPixels())
    with pytest.raises(ValueError, match=r"pixel values that are not integers in 0\.\.255"):
        fetch_fashion_mnist(subset="test")
    monkeypatch.setattr(
        skconv.datasets,
        "fetch_openml",
        lambda *a, **k: Bunch(data=np.zeros((5, 784)), target=np.zeros(5)),
    )
    with pytest.raises(ValueError, match=r"shape \(5, 784\)"):
        fetch_fashion_mnist()


def test_without_pandas_the_download_error_says_what_to_install(monkeypatch):
    fake = FakeOpenML(error=ImportError("fetch_openml requires pandas."))
    monkeypatch.setattr(skconv.datasets, "fetch_openml", fake)
    with pytest.raises(ImportError, match="pip install pandas") as info:
        fetch_fashion_mnist()
    assert "apt-get install dataset-fashion-mnist" in str(info.value)


# The real files, when this machine has them.

REAL_FOLDER = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(
    not (REAL_FOLDER / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"the real Fashion-MNIST files are not installed in {REAL_FOLDER} "
    "(apt-get install dataset-fashion-mnist); the small files above test the reader",
)
@pytest.mark.parametrize(("subset", "n"), [("train", 60_000), ("test", 10_000)])
def test_the_real_files_load_with_the_official_shapes(monkeypatch, subset, n):
    monkeypatch.setattr(skconv.datasets, "DEBIAN_FOLDER", REAL_FOLDER)
    fashion = fetch_fashion_mnist(subset=subset)
    assert fashion.images.shape == (n, 28, 28) and fashion.data.shape == (n, 784)
    np.testing.assert_array_equal(np.bincount(fashion.target), np.full(10, n // 10))
    # An independent decoding: skip the 16-byte header of the decompressed file.
    stem = IMAGE_STEMS[subset]
    with gzip.open(REAL_FOLDER / f"{stem}.gz") as stream:
        pixels = np.frombuffer(stream.read(), dtype=np.uint8, offset=16)
    np.testing.assert_array_equal(fashion.data.ravel(), pixels)
