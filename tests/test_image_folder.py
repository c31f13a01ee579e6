"""skconv.datasets.load_image_folder on folders written here: formats, sizes, modes, bad files."""

import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageFile
from skimage.color import rgb2gray
from skimage.transform import resize
from sklearn.utils._param_validation import InvalidParameterError

from skconv.datasets import DataFileError, DataNotFoundError, load_image_folder

RNG = np.random.default_rng(0)


def rgb(rows, cols, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (rows, cols, 3), dtype=np.uint8)


def grey(rows, cols, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (rows, cols), dtype=np.uint8)


def save(path: Path, pixels: np.ndarray, mode=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(pixels)
    (image.convert(mode) if mode else image).save(path)
    return path


def two_classes(root: Path, n=2, shape=(12, 16), make=rgb) -> dict:
    """``root/a`` and ``root/b`` with ``n`` lossless PNGs each; their pixels by file name."""
    written = {}
    for label in ("a", "b"):
        for i in range(n):
            pixels = make(*shape, seed=hash((label, i)) % 1000)
            written[str(save(root / label / f"{i}.png", pixels))] = pixels
    return written


def test_reads_one_class_per_sorted_subfolder_with_exact_pixels(tmp_path):
    written = {}
    for label in ("zebra", "Apple", "mango"):
        for i in range(3):
            pixels = rgb(10, 14, seed=len(written))
            written[str(save(tmp_path / label / f"img{i}.png", pixels))] = pixels
    bunch = load_image_folder(tmp_path)
    # Python's sort: capitals first, as sorted(os.listdir()) and torchvision's ImageFolder.
    assert list(bunch.target_names) == ["Apple", "mango", "zebra"]
    np.testing.assert_array_equal(bunch.target, [0, 0, 0, 1, 1, 1, 2, 2, 2])
    assert bunch.target.dtype == np.int64
    assert bunch.images.shape == (9, 10, 14, 3) and bunch.images.dtype == np.uint8
    assert list(bunch.filenames) == sorted(written, key=lambda f: (Path(f).parent.name, f))
    for name, image in zip(bunch.filenames, bunch.images):
        np.testing.assert_array_equal(image, written[name])
        assert bunch.target_names[bunch.target[list(bunch.filenames).index(name)]] in name
    assert bunch.skipped == []
    for fact in ("9", "Apple (3), mango (3), zebra (3)", "10x14 RGB uint8", "Files skipped: 0"):
        assert fact in bunch.DESCR


def test_return_X_y_gives_the_image_stack_and_the_target(tmp_path):
    two_classes(tmp_path)
    images, target = load_image_folder(tmp_path, return_X_y=True)
    bunch = load_image_folder(tmp_path)
    np.testing.assert_array_equal(images, bunch.images)
    np.testing.assert_array_equal(target, bunch.target)
    assert images.ndim == 4  # a stack, not flattened rows


def test_png_jpeg_tiff_bmp_gif_and_webp_in_one_folder(tmp_path):
    pixels = rgb(16, 16)
    lossless = {
        "a/x.png": pixels,
        "a/x.bmp": pixels,
        "a/x.TIF": pixels,
        "b/x.tiff": pixels,
        "b/x.ppm": pixels,
    }
    for name, image in lossless.items():
        if name.lower().endswith((".tif", ".tiff")):
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            tifffile.imwrite(tmp_path / name, image)
        else:
            save(tmp_path / name, image)
    smooth = np.full((16, 16, 3), 120, dtype=np.uint8)  # JPEG and WebP keep a flat image
    save(tmp_path / "a" / "x.jpg", smooth)
    save(tmp_path / "b" / "x.JPEG", smooth)
    save(tmp_path / "b" / "x.webp", smooth)
    save(tmp_path / "b" / "x.gif", np.zeros((16, 16, 3), dtype=np.uint8))
    bunch = load_image_folder(tmp_path)
    by_name = {
        Path(f).relative_to(tmp_path).as_posix(): im
        for f, im in zip(bunch.filenames, bunch.images)
    }
    assert len(by_name) == 9
    for name in lossless:
        np.testing.assert_array_equal(by_name[name], pixels, err_msg=name)
    for name in ("a/x.jpg", "b/x.JPEG", "b/x.webp"):
        assert np.abs(by_name[name].astype(int) - 120).max() <= 2, name
    np.testing.assert_array_equal(by_name["b/x.gif"], 0)


# Colour modes.


def test_all_grey_files_give_grey_images(tmp_path):
    written = two_classes(tmp_path, make=grey)
    bunch = load_image_folder(tmp_path)
    assert bunch.images.shape == (4, 12, 16)
    for name, image in zip(bunch.filenames, bunch.images):
        np.testing.assert_array_equal(image, written[name])


def test_grey_and_colour_mixed_give_rgb_with_the_grey_repeated(tmp_path):
    grey_pixels, colour = grey(12, 16, 1), rgb(12, 16, 2)
    save(tmp_path / "a" / "grey.png", grey_pixels)
    save(tmp_path / "b" / "colour.png", colour)
    bunch = load_image_folder(tmp_path)
    assert bunch.images.shape == (2, 12, 16, 3)
    np.testing.assert_array_equal(bunch.images[0], np.dstack([grey_pixels] * 3))
    np.testing.assert_array_equal(bunch.images[1], colour)


def test_as_gray_true_uses_the_luminance_and_false_gives_rgb(tmp_path):
    grey_pixels, colour = grey(12, 16, 1), rgb(12, 16, 2)
    save(tmp_path / "a" / "grey.png", grey_pixels)
    save(tmp_path / "b" / "colour.png", colour)
    bunch = load_image_folder(tmp_path, as_gray=True)
    assert bunch.images.shape == (2, 12, 16)
    np.testing.assert_array_equal(bunch.images[0], grey_pixels)
    expected = np.rint(rgb2gray(colour) * 255).astype(np.uint8)
    np.testing.assert_array_equal(bunch.images[1], expected)
    assert "as_gray=True" in bunch.DESCR
    (tmp_path / "b" / "colour.png").unlink()
    save(tmp_path / "b" / "grey2.png", grey_pixels)
    as_rgb = load_image_folder(tmp_path, as_gray=False)
    assert as_rgb.images.shape == (2, 12, 16, 3)
    np.testing.assert_array_equal(as_rgb.images[1], np.dstack([grey_pixels] * 3))


def test_transparency_is_composited_on_white(tmp_path):
    colour = np.zeros((2, 3, 4), dtype=np.uint8)
    colour[..., :3] = [200, 100, 0]
    colour[0, :, 3] = [0, 255, 128]  # transparent, opaque, half
    colour[1, :, 3] = 255
    grey_alpha = np.zeros((2, 3, 2), dtype=np.uint8)
    grey_alpha[..., 0], grey_alpha[..., 1] = 60, 0  # fully transparent grey
    save(tmp_path / "a" / "rgba.png", colour)
    save(tmp_path / "b" / "la.png", grey_alpha, mode="LA")
    bunch = load_image_folder(tmp_path)
    alpha = 128 / 255
    half = np.rint(np.array([200, 100, 0]) * alpha + 255 * (1 - alpha))
    np.testing.assert_array_equal(bunch.images[0, 0], [[255, 255, 255], [200, 100, 0], half])
    np.testing.assert_array_equal(bunch.images[0, 1], [[200, 100, 0]] * 3)
    np.testing.assert_array_equal(bunch.images[1], 255)  # the transparent grey: white
    # Grey with alpha counts as grey: alone with grey files it stays grey.
    (tmp_path / "a" / "rgba.png").unlink()
    save(tmp_path / "a" / "g.png", np.full((2, 3), 7, dtype=np.uint8))
    grey_bunch = load_image_folder(tmp_path)
    assert grey_bunch.images.shape == (2, 2, 3)
    np.testing.assert_array_equal(grey_bunch.images[1], 255)


def test_palette_and_one_bit_images(tmp_path):
    colour = rgb(8, 8, 3)
    save(tmp_path / "a" / "palette.png", colour, mode="P")
    palette = np.asarray(Image.open(tmp_path / "a" / "palette.png").convert("RGB"))
    bits = np.zeros((8, 8), dtype=np.uint8)
    bits[:, 4:] = 255
    save(tmp_path / "b" / "bits.png", bits, mode="1")
    bunch = load_image_folder(tmp_path)
    np.testing.assert_array_equal(bunch.images[0], palette)
    np.testing.assert_array_equal(bunch.images[1], np.dstack([bits] * 3))


@pytest.mark.parametrize("suffix", [".jpg", ".tif"])
def test_cmyk_is_refused_rather_than_read_as_rgba(tmp_path, suffix):
    two_classes(tmp_path, shape=(8, 8))
    cmyk = save(tmp_path / "a" / f"print{suffix}", rgb(8, 8), mode="CMYK")
    with pytest.raises(DataFileError, match="its colour mode is CMYK, not grey, RGB or RGBA"):
        load_image_folder(tmp_path)
    with pytest.warns(UserWarning, match=f"print{suffix}: its colour mode is CMYK"):
        assert len(load_image_folder(tmp_path, on_error="skip").images) == 4
    assert cmyk.exists()


# Sizes.


def test_different_sizes_without_image_shape_are_refused_with_a_suggestion(tmp_path):
    two_classes(tmp_path, n=3, shape=(30, 40))
    save(tmp_path / "a" / "small.png", rgb(10, 12))
    save(tmp_path / "b" / "large.png", rgb(300, 200))
    with pytest.raises(ValueError) as info:
        load_image_folder(tmp_path)
    message = str(info.value)
    for excerpt in (
        "have 3 different sizes",
        "30x40 (6)",
        "from 10x12 to 300x200",
        "Pass image_shape=(rows, cols)",
        "e.g. image_shape=(30, 40) (6 of 8 images have it)",
    ):
        assert excerpt in message


def test_image_shape_crops_about_the_centre_then_resizes(tmp_path):
    wide = np.zeros((40, 80), dtype=np.uint8)
    wide[:, :20], wide[:, 20:60], wide[:, 60:] = 0, 100, 255  # the centre square is flat
    tall = np.zeros((60, 20), dtype=np.uint8)
    tall[:20], tall[20:40], tall[40:] = 255, 30, 0
    exact = grey(20, 20, 5)
    save(tmp_path / "a" / "wide.png", wide)
    save(tmp_path / "a" / "tall.png", tall)
    save(tmp_path / "b" / "exact.png", exact)
    square = grey(64, 64, 6)
    save(tmp_path / "b" / "square.png", square)
    bunch = load_image_folder(tmp_path, image_shape=[20, 20])
    images = dict(zip((Path(f).stem for f in bunch.filenames), bunch.images))
    np.testing.assert_array_equal(images["wide"], 100)
    np.testing.assert_array_equal(images["tall"], 30)
    np.testing.assert_array_equal(images["exact"], exact)  # kept, not resampled
    expected = resize(square, (20, 20), anti_aliasing=True, preserve_range=True)
    np.testing.assert_array_equal(images["square"], np.rint(expected).astype(np.uint8))
    # Upsampling too, to a non-square shape.
    upsampled = load_image_folder(tmp_path, image_shape=(50, 100))
    assert upsampled.images.shape == (4, 50, 100)
    assert "50x100 grey uint8" in upsampled.DESCR


# Files that give no image.


def test_a_corrupt_file_is_an_error_naming_it(tmp_path):
    two_classes(tmp_path)
    junk = tmp_path / "b" / "junk.png"
    junk.write_bytes(b"not a PNG at all" * 20)
    with pytest.raises(DataFileError, match="gives no image: it could not be read") as info:
        load_image_folder(tmp_path)
    assert str(junk) in str(info.value) and info.value.path == str(junk)
    assert 'on_error="skip"' in str(info.value)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif"])
@pytest.mark.parametrize("loose_pillow", [False, True])
def test_a_truncated_file_is_an_error_never_a_partly_grey_image(
    tmp_path, monkeypatch, suffix, loose_pillow
):
    two_classes(tmp_path)
    whole = tmp_path / f"whole{suffix}"
    image = rgb(12, 16, 9)
    if suffix == ".tif":
        tifffile.imwrite(whole, image)
    else:
        save(whole, image)
    cut = tmp_path / "a" / f"cut{suffix}"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.7)])
    whole.unlink()
    # Some libraries set Pillow's global switch that fills truncated images in grey.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", loose_pillow)
    with pytest.raises(DataFileError, match=r"cut\.(png|jpg|tif) gives no image") as info:
        load_image_folder(tmp_path)
    assert "truncated" in str(info.value) or "failed to read" in str(info.value)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is loose_pillow  # restored


def test_skipped_files_are_counted_in_a_warning_and_the_bunch(tmp_path):
    written = two_classes(tmp_path, n=3)
    junk = tmp_path / "a" / "1_junk.png"
    junk.write_bytes(b"junk")
    whole = save(tmp_path / "whole.png", rgb(12, 16, 7))
    cut = tmp_path / "b" / "1_cut.png"
    cut.write_bytes(whole.read_bytes()[:-40])
    whole.unlink()
    with pytest.warns(UserWarning, match="skipped 2 of 8 image files") as record:
        bunch = load_image_folder(tmp_path, on_error="skip")
    assert str(junk) in str(record[0].message) and str(cut) in str(record[0].message)
    assert record[0].filename == __file__  # the warning points at the call
    assert [name for name, _ in bunch.skipped] == [str(junk), str(cut)]
    assert "truncated" in dict(bunch.skipped)[str(cut)]
    assert bunch.images.shape == (6, 12, 16, 3) and len(bunch.filenames) == 6
    # Every kept row is its own file's pixels: no gap, no shift, no grey row.
    for name, image in zip(bunch.filenames, bunch.images):
        np.testing.assert_array_equal(image, written[name])
    np.testing.assert_array_equal(bunch.target, [0, 0, 0, 1, 1, 1])
    assert "Files skipped: 2" in bunch.DESCR


def test_a_class_whose_every_file_is_skipped_is_refused(tmp_path):
    two_classes(tmp_path)
    for path in (tmp_path / "b").iterdir():
        path.write_bytes(b"junk")
    with (
        pytest.raises(ValueError, match="Every file of the class 'b' was skipped"),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        load_image_folder(tmp_path, on_error="skip")


def test_sixteen_bit_and_multi_frame_files_are_refused_or_skipped(tmp_path):
    two_classes(tmp_path, shape=(8, 8))
    deep = tmp_path / "a" / "deep.png"
    Image.fromarray(grey(8, 8).astype(np.uint16) * 257).save(deep)
    with pytest.raises(DataFileError, match="its pixels are uint16, not 8-bit") as info:
        load_image_folder(tmp_path)
    assert str(deep) in str(info.value)
    deep.unlink()
    frames = [Image.fromarray(rgb(8, 8, seed)) for seed in range(3)]
    animated = tmp_path / "b" / "anim.gif"
    frames[0].save(animated, save_all=True, append_images=frames[1:])
    with pytest.raises(DataFileError, match="not one image of 1 to 4 channels"):
        load_image_folder(tmp_path)
    with pytest.warns(UserWarning, match="skipped 1 of 5"):
        assert len(load_image_folder(tmp_path, on_error="skip").images) == 4


# What the folder may hold besides images.


def test_hidden_files_and_folders_non_images_and_loose_files_are_ignored(tmp_path):
    written = two_classes(tmp_path)
    for junk in (
        tmp_path / "a" / ".DS_Store",
        tmp_path / "a" / ".hidden.png",
        tmp_path / "a" / ".thumbnails" / "t.png",
        tmp_path / ".git" / "x" / "y.png",
        tmp_path / ".cache" / "z.png",
        tmp_path / "b" / "notes.txt",
        tmp_path / "b" / "labels.csv",
        tmp_path / "loose.png",
    ):
        junk.parent.mkdir(parents=True, exist_ok=True)
        junk.write_bytes(b"junk: reading this would fail")
    nested = save(tmp_path / "b" / "more" / "n.png", rgb(12, 16, 8))
    bunch = load_image_folder(tmp_path)
    assert list(bunch.target_names) == ["a", "b"]
    assert sorted(bunch.filenames) == sorted([*written, str(nested)])
    # extensions=None reads every non-hidden file: the text files are then bad images.
    with pytest.raises(DataFileError, match=r"labels\.csv gives no image"):
        load_image_folder(tmp_path, extensions=None)
    only_png = load_image_folder(tmp_path, extensions=[".PNG"])
    assert len(only_png.images) == 5


def test_an_empty_class_is_refused_naming_it(tmp_path):
    two_classes(tmp_path)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "readme.txt").write_text("no images here")
    (tmp_path / "c" / ".hidden.png").write_bytes(b"")
    with pytest.raises(ValueError, match=r"class folder '.*c' \(under path=.*\) holds no image"):
        load_image_folder(tmp_path)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda root: root / "absent", DataNotFoundError, r"path='.*absent' does not exist"),
        (lambda root: save(root / "a.png", rgb(4, 4)), ValueError, "is a file, not a folder"),
        (lambda root: root, ValueError, "holds no subfolder; a classifier needs at least two"),
        (lambda root: two_classes(root) and root / "a", ValueError, "holds no subfolder"),
    ],
    ids=["absent", "file", "empty", "one-level-too-deep"],
)
def test_bad_paths_are_clear_errors_naming_path(tmp_path, make, error, message):
    with pytest.raises(error, match=message):
        load_image_folder(make(tmp_path))


def test_one_class_is_refused(tmp_path):
    save(tmp_path / "only" / "x.png", rgb(4, 4))
    with pytest.raises(ValueError, match=r"path=.* holds only the class 'only'; a classifier"):
        load_image_folder(tmp_path)


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"image_shape": (0, 5)}, ValueError, "image_shape must be .rows, cols."),
        ({"image_shape": (5, 5, 3)}, ValueError, "image_shape must be"),
        ({"image_shape": (5.0, 5)}, ValueError, "image_shape must be"),
        ({"image_shape": 28}, InvalidParameterError, "'image_shape' parameter"),
        ({"extensions": ".png"}, InvalidParameterError, "'extensions' parameter"),
        ({"extensions": ("png",)}, ValueError, "extensions must be a tuple of file endings"),
        ({"on_error": "ignore"}, InvalidParameterError, "'on_error' parameter"),
        ({"as_gray": "yes"}, InvalidParameterError, "'as_gray' parameter"),
        ({"verbose": -1}, InvalidParameterError, "'verbose' parameter"),
    ],
)
def test_bad_parameters_name_themselves(tmp_path, params, error, message):
    two_classes(tmp_path)
    with pytest.raises(error, match=message):
        load_image_folder(tmp_path, **params)


def test_verbose_reports_progress(tmp_path, capsys):
    two_classes(tmp_path, n=70, shape=(4, 4))
    load_image_folder(tmp_path, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("[load_image_folder] batch 1/3, 64/140 images")
    assert lines[-1].startswith("[load_image_folder] batch 3/3, 140/140 images")
    load_image_folder(tmp_path)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("image_shape", [None, (32, 32)])
def test_the_peak_memory_is_the_result_plus_one_image(tmp_path, image_shape):
    n, side = 120, 64
    for i in range(n):
        save(tmp_path / "ab"[i % 2] / f"{i:03d}.png", rgb(side, side, i))
    load_image_folder(tmp_path, image_shape=image_shape)  # the first call imports its readers
    peaks = []
    # The least of two runs: a one-off growth of an interpreter table (interned strings: 3.7 MB
    # seen once) can land in either run, never in both.
    for _ in range(2):
        tracemalloc.start()
        try:
            bunch = load_image_folder(tmp_path, image_shape=image_shape)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    one_image = side * side * 3  # 12 kB decoded; resizing works on a few float64 copies of it
    # Measured: result + 0.16 MB without resizing, result + 0.31 MB with (float64 copies of
    # one image), for results of 1.47 MB and 0.37 MB; a copy of the result would add all of
    # it again.
    assert min(peaks) < bunch.images.nbytes + 40 * one_image


def test_symbolic_links_to_files_and_classes_are_read_links_inside_classes_are_not(tmp_path):
    data = tmp_path / "data"
    written = two_classes(tmp_path / "elsewhere")
    data.mkdir()
    (data / "a").symlink_to(tmp_path / "elsewhere" / "a", target_is_directory=True)
    (data / "b").mkdir()
    for name in ("0.png", "1.png"):
        (data / "b" / name).symlink_to(tmp_path / "elsewhere" / "b" / name)
    (data / "b" / "loop").symlink_to(data, target_is_directory=True)  # not followed
    bunch = load_image_folder(data)
    assert [Path(f).relative_to(data).as_posix() for f in bunch.filenames] == [
        "a/0.png",
        "a/1.png",
        "b/0.png",
        "b/1.png",
    ]
    for name, image in zip(bunch.filenames, bunch.images):
        original = tmp_path / "elsewhere" / Path(name).relative_to(data)
        np.testing.assert_array_equal(image, written[str(original)])


def test_a_bad_header_is_reported_before_any_image_is_decoded(tmp_path, monkeypatch):
    import skimage.io

    two_classes(tmp_path, n=5)
    (tmp_path / "b" / "zz_junk.png").write_bytes(b"junk")  # listed last
    decoded = []
    real_imread = skimage.io.imread
    monkeypatch.setattr(skimage.io, "imread", lambda f: decoded.append(f) or real_imread(f))
    with pytest.raises(DataFileError, match=r"zz_junk\.png gives no image"):
        load_image_folder(tmp_path)
    assert decoded == []
    (tmp_path / "b" / "zz_junk.png").unlink()
    assert len(load_image_folder(tmp_path).images) == len(decoded) == 10
