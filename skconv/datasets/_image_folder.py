"""A folder of images, one subfolder per class, read into one preallocated uint8 stack."""

from __future__ import annotations

import contextlib
import os
import warnings
from collections import Counter
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch, gen_batches
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from .._progress import Progress
from ._errors import DataFileError, DataNotFoundError
from ._image_pixels import fit_to_shape, to_channels

__all__ = ["load_image_folder"]

IMAGE_EXTENSIONS = (
    ".png",
    ".jpg",
    ".jpeg",
    ".tif",
    ".tiff",
    ".bmp",
    ".gif",
    ".webp",
    ".ppm",
    ".pgm",
    ".pbm",
    ".pnm",
)

# Images decoded between two progress lines.
_BATCH = 64


class _UnusableImage(Exception):
    """One file cannot give an image; the reason, for the error or the skip list."""


@validate_params(
    {
        "path": [str, os.PathLike],
        "image_shape": [tuple, list, None],
        "as_gray": ["boolean", None],
        "extensions": [tuple, list, None],
        "on_error": [StrOptions({"raise", "skip"})],
        "return_X_y": ["boolean"],
        "verbose": [Interval(Integral, 0, None, closed="left"), "boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_image_folder(
    path: str | os.PathLike,
    *,
    image_shape: tuple[int, int] | None = None,
    as_gray: bool | None = None,
    extensions: tuple[str, ...] | list[str] | None = IMAGE_EXTENSIONS,
    on_error: str = "raise",
    return_X_y: bool = False,
    verbose: int = 0,
):
    """Load a folder of images with one subfolder per class, as a uint8 image stack.

    The layout is the one of :func:`sklearn.datasets.load_files` and torchvision's
    ``ImageFolder``: ``path/<class name>/<image file>``. Classes are the subfolders of
    ``path`` in sorted order, so ``target_names[target]`` names each image's class. Files are
    read with :func:`skimage.io.imread`: PNG, JPEG, TIFF, BMP, GIF, WebP and the other formats
    scikit-image reads. Images of different sizes and colour modes can share a folder.

    Parameters
    ----------
    path : str or path-like
        The folder holding one subfolder per class (at least two).
    image_shape : (rows, cols) tuple of int, default=None
        The size every image is brought to. An image of another size is cropped about its
        centre to the aspect ratio of ``image_shape``, then resized with
        :func:`skimage.transform.resize` (anti-aliasing on, 0-255 range kept, rounded to the
        nearest integer); an image of this size is kept exactly. ``None`` requires every image
        to have the same size, and the error otherwise lists the most common sizes.
    as_gray : bool, default=None
        ``None``: grey images if every file is grey (grey, or grey with alpha), else RGB, grey
        files then repeating their grey in the three channels. ``True``: grey, colour files
        converted by :func:`skimage.color.rgb2gray`'s luminance weights. ``False``: RGB.
    extensions : tuple of str, default=IMAGE_EXTENSIONS
        File endings read, compared case-insensitively (``".png"``, ``".jpg"``, ...); other
        files are ignored, so a ``README.txt`` or ``labels.csv`` beside the images does no
        harm. ``None`` reads every file, and a file that is not an image is then an error (or
        skipped, with ``on_error="skip"``).
    on_error : {"raise", "skip"}, default="raise"
        What a file that gives no image does: ``"raise"`` raises a
        :class:`~skconv.datasets.DataFileError` naming it, before the pixels of any image are
        read when its header already shows it; ``"skip"`` leaves it out, warns with how many
        files were skipped, and lists them in the Bunch's ``skipped``. Unreadable, truncated,
        multi-frame, CMYK, and 16-bit or floating-point files give no image.
    return_X_y : bool, default=False
        Return ``(images, target)`` instead of a Bunch.
    verbose : int, default=0
        ``1`` prints about ten progress lines (images read, images per second, time left);
        ``2`` prints one every 64 images.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        images : ndarray of shape (n_images, rows, cols) or (n_images, rows, cols, 3), uint8
            The images, grey or RGB, in the order of ``filenames``.
        target : ndarray of shape (n_images,), dtype int64
            The class of each image: its subfolder's index in ``target_names``.
        target_names : ndarray of shape (n_classes,)
            The subfolders' names, sorted.
        filenames : ndarray of shape (n_images,)
            Each image's path, as ``path`` joined with its subfolder and name.
        skipped : list of (str, str)
            The files left out with ``on_error="skip"`` and why (empty otherwise).
        DESCR : str
            What was read: the folder, the classes and their counts, the image shape and the
            rules applied.

    (images, target) : tuple if ``return_X_y`` is True
        The image stack (not flattened: skconv's estimators take stacks as they are) and the
        classes.

    Raises
    ------
    DataNotFoundError
        ``path`` does not exist.
    ValueError
        ``path`` is a file, holds fewer than two classes, or holds a class without images; or
        ``image_shape`` is not two positive integers, or is ``None`` while the images' sizes
        differ.
    DataFileError
        A :class:`ValueError` naming the file, with ``on_error="raise"``: the file gives no
        image (it is corrupt, truncated, not an image, multi-frame, not 8-bit, or CMYK).

    See Also
    --------
    sklearn.datasets.load_files : The same layout, for text files.
    skconv.datasets.fetch_fashion_mnist : A real benchmark set of 28x28 grey images.

    Notes
    -----
    The rules for what a folder may hold:

    - Hidden files and folders (whose name starts with ``.``) are ignored, at every level.
      Files directly in ``path`` are ignored (images belong in a class subfolder); files in
      folders inside a class folder belong to that class. Symbolic links to files and class
      folders are followed; links to folders inside a class folder are not (no link loop).
    - A class subfolder without any image file is an error naming it: remove the folder, or
      add its images. With ``on_error="skip"``, so is a class whose every file was skipped.
    - Transparent pixels (RGBA, or grey with alpha) are composited on white, as an image
      viewer shows them. Other colour modes (CMYK, LAB, ...) are refused: their channels
      would pass for RGBA or RGB.
    - Black-and-white (1-bit) images become 0 and 255. 16-bit and floating-point images are
      refused rather than scaled, as their range is a choice (12-bit cameras store 0-4095 in
      16 bits): convert them to 8 bits first, e.g. with
      :func:`skimage.exposure.rescale_intensity` and :func:`skimage.util.img_as_ubyte`.
    - Multi-frame files (animated GIF, multi-page TIFF) are refused.

    Memory: a first pass reads only each file's header (size, channels, bit depth) with
    :func:`imageio.v3.improps`; then one uint8 array for every image is allocated and each
    image is decoded straight into its place. The peak is that array plus the working memory
    of one image (its decoded pixels and, when resized, a few float64 copies). Truncated files
    are always an error, even if Pillow's ``ImageFile.LOAD_TRUNCATED_IMAGES`` was set (it is
    turned off while the folder is read, then restored), so no image is returned partly grey.

    Examples
    --------
    >>> import numpy as np
    >>> from pathlib import Path
    >>> from tempfile import TemporaryDirectory
    >>> from skimage.io import imsave
    >>> from skconv.datasets import load_image_folder
    >>> with TemporaryDirectory() as folder:
    ...     for name, value in [("circle", 40), ("square", 200)]:
    ...         (Path(folder) / name).mkdir()
    ...         for i in range(3):
    ...             image = np.full((20, 30, 3), value + i, dtype=np.uint8)
    ...             imsave(Path(folder) / name / f"{i}.png", image, check_contrast=False)
    ...     images = load_image_folder(folder, image_shape=(16, 16))
    >>> images.images.shape, images.images.dtype
    ((6, 16, 16, 3), dtype('uint8'))
    >>> images.target_names, images.target
    (array(['circle', 'square'], dtype='<U6'), array([0, 0, 0, 1, 1, 1]))
    """
    image_shape = _check_image_shape(image_shape)
    if extensions is not None:
        extensions = _check_extensions(extensions)
    folder = Path(path)
    class_names, files, target = _list_files(folder, extensions, path)
    skipped: list[tuple[str, str]] = []

    # First pass: headers only.
    headers = []
    for file in files:
        try:
            headers.append(_read_header(file))
        except _UnusableImage as exc:
            _refuse_or_skip(file, str(exc), on_error, skipped, path)
            headers.append(None)
    kept = [i for i, header in enumerate(headers) if header is not None]
    files = [files[i] for i in kept]
    target = target[kept]
    headers = [headers[i] for i in kept]
    _check_every_class_kept(class_names, target, on_error)

    grey = all(n_channels in (1, 2) for _, n_channels in headers) if as_gray is None else as_gray
    if image_shape is None:
        image_shape = _common_size(headers, folder)
    out_shape = (len(files), *image_shape) if grey else (len(files), *image_shape, 3)

    # Second pass: decode each image into its place.
    images = np.empty(out_shape, dtype=np.uint8)
    n_done, is_kept = 0, np.ones(len(files), dtype=bool)
    batches = list(gen_batches(len(files), _BATCH))
    progress = Progress("load_image_folder", len(files), len(batches), verbose)
    with _truncated_images_refused():
        for batch_number, batch in enumerate(batches, start=1):
            for i in range(batch.start, batch.stop):
                try:
                    images[n_done] = _decode(files[i], headers[i], grey, image_shape)
                    n_done += 1
                except _UnusableImage as exc:
                    _refuse_or_skip(files[i], str(exc), on_error, skipped, path)
                    is_kept[i] = False
            progress.batch_done(batch_number, batch.stop)
    if n_done < len(files):
        # Skipped rows were never filled: drop the unused tail without copying the rest.
        images.resize((n_done, *images.shape[1:]), refcheck=False)
        files = [file for file, keep in zip(files, is_kept) if keep]
        target = target[is_kept]
        _check_every_class_kept(class_names, target, on_error)
    if skipped:
        listed = "; ".join(f"{name}: {reason}" for name, reason in skipped[:5])
        more = f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        warnings.warn(
            f"load_image_folder skipped {len(skipped)} of {len(skipped) + len(files)} image "
            f"files that give no image ({listed}{more}); the Bunch's 'skipped' lists them.",
            UserWarning,
            stacklevel=3,  # the caller, past validate_params' wrapper
        )
    if return_X_y:
        return images, target
    return Bunch(
        images=images,
        target=target,
        target_names=np.array(class_names),
        filenames=np.array([str(file) for file in files]),
        skipped=skipped,
        DESCR=_describe(folder, class_names, target, images, skipped, as_gray),
    )


def _check_image_shape(image_shape):
    if image_shape is None:
        return None
    shape = tuple(image_shape)
    is_valid = len(shape) == 2 and all(
        isinstance(side, Integral) and not isinstance(side, bool) and side > 0 for side in shape
    )
    if not is_valid:
        raise ValueError(
            f"image_shape must be (rows, cols), two positive integers such as (64, 64); got "
            f"{image_shape!r}."
        )
    return int(shape[0]), int(shape[1])


def _check_extensions(extensions):
    if isinstance(extensions, str) or not all(
        isinstance(ext, str) and ext.startswith(".") for ext in extensions
    ):
        raise ValueError(
            "extensions must be a tuple of file endings that start with a dot, such as "
            f'(".png", ".jpg"), or None to read every file; got {extensions!r}.'
        )
    return tuple(ext.lower() for ext in extensions)


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _list_files(folder: Path, extensions, path) -> tuple[list[str], list[Path], np.ndarray]:
    """The class names (sorted subfolders), every image file, and each file's class."""
    if not folder.exists():
        raise DataNotFoundError(
            f"path={str(path)!r} does not exist. Pass the folder that holds one subfolder of "
            "images per class."
        )
    if not folder.is_dir():
        raise ValueError(
            f"path={str(path)!r} is a file, not a folder. Pass the folder that holds one "
            "subfolder of images per class (path/<class name>/<image file>)."
        )
    class_names = sorted(
        entry.name for entry in folder.iterdir() if entry.is_dir() and not _is_hidden(entry.name)
    )
    if len(class_names) < 2:
        found = f"only the class {class_names[0]!r}" if class_names else "no subfolder"
        raise ValueError(
            f"path={str(path)!r} holds {found}; a classifier needs at least two classes, one "
            "subfolder of images per class (path/<class name>/<image file>)."
        )
    files, target = [], []
    for label, name in enumerate(class_names):
        found = _class_files(folder / name, extensions)
        if not found:
            kinds = "any file" if extensions is None else f"a file ending in {extensions}"
            raise ValueError(
                f"The class folder {str(folder / name)!r} (under path={str(path)!r}) holds no "
                f"image: not {kinds}, outside hidden files and folders. Remove the folder, or "
                "add its images."
            )
        files += found
        target += [label] * len(found)
    return class_names, files, np.array(target, dtype=np.int64)


def _class_files(class_folder: Path, extensions) -> list[Path]:
    """The class's image files, sorted, hidden files and folders left out at every level."""
    found = []
    for root, dirs, names in os.walk(class_folder):
        dirs[:] = sorted(name for name in dirs if not _is_hidden(name))
        for name in sorted(names):
            if _is_hidden(name):
                continue
            if extensions is None or os.path.splitext(name)[1].lower() in extensions:
                found.append(Path(root) / name)
    return found


def _refuse_or_skip(file: Path, reason: str, on_error: str, skipped: list, path) -> None:
    if on_error == "raise":
        raise DataFileError(
            file,
            f"{file} gives no image: {reason}. Replace or remove the file (under "
            f'path={str(path)!r}), or pass on_error="skip" to leave such files out.',
        )
    skipped.append((str(file), reason))


def _check_every_class_kept(class_names, target, on_error) -> None:
    counts = np.bincount(target, minlength=len(class_names))
    if on_error == "skip" and not counts.all():
        empty = [name for name, count in zip(class_names, counts) if not count]
        raise ValueError(
            f"Every file of the class {empty[0]!r} was skipped (on_error='skip'), which leaves "
            "it without images: fix or remove its files, or remove its folder."
        )


def _read_header(file: Path) -> tuple[tuple[int, int], int]:
    """``((rows, cols), n_channels)`` from the file's header, without decoding its pixels."""
    import imageio.v3 as iio

    try:
        # imageio leaves a file it opened itself open when no plugin reads it: open it here.
        with _quiet_plugin_search(), open(file, "rb") as handle:
            mode = _pillow_mode(handle)
            handle.seek(0)
            properties = iio.improps(handle)  # closes the handle
    except Exception as exc:  # each reader raises its own types for a file it cannot read
        raise _UnusableImage(_reason(exc)) from exc
    layout = _check_layout(properties.shape, properties.dtype)
    if mode is not None and mode not in _MODES_READ_AS_IS:
        # CMYK's four channels would pass for RGBA, LAB's three for RGB: a wrong image.
        raise _UnusableImage(
            f"its colour mode is {mode}, not grey, RGB or RGBA; convert it first, e.g. with "
            "PIL.Image.open(file).convert('RGB').save(...)"
        )
    return layout


# Pillow's modes whose decoded channels are grey, grey + alpha, RGB or RGB + alpha/padding.
_MODES_READ_AS_IS = {"1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX"}


def _pillow_mode(handle) -> str | None:
    """The colour mode Pillow reads from the file's header; None for files Pillow cannot open."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(handle) as image:
            return image.mode
    except UnidentifiedImageError:  # e.g. TIFF variants only tifffile reads
        return None


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"it could not be read ({type(exc).__name__}: {text})"


def _check_layout(shape, dtype) -> tuple[tuple[int, int], int]:
    shape = tuple(shape)
    if len(shape) == 4 and shape[0] == 1:  # a single frame of a format that can hold several
        shape = shape[1:]
    dtype = np.dtype(dtype)
    if len(shape) == 2:
        n_channels = 1
    elif len(shape) == 3 and shape[-1] <= 4:
        n_channels = shape[-1]
    else:
        raise _UnusableImage(
            f"its pixels have shape {shape}, which is not one image of 1 to 4 channels "
            "(several frames or pages?); save the frame you want as an image of its own"
        )
    if dtype not in (np.uint8, np.bool_):
        raise _UnusableImage(
            f"its pixels are {dtype}, not 8-bit; convert it to 8 bits first (e.g. with "
            "skimage.exposure.rescale_intensity and skimage.util.img_as_ubyte)"
        )
    return shape[:2], n_channels


def _decode(file: Path, header, grey: bool, image_shape) -> np.ndarray:
    """One file's pixels as uint8, in the output's channels and shape."""
    from skimage.io import imread

    try:
        with _quiet_plugin_search(), open(file, "rb") as handle:
            pixels = imread(handle)
    except Exception as exc:  # each reader raises its own types for a file it cannot read
        raise _UnusableImage(_reason(exc)) from exc
    if _check_layout(pixels.shape, pixels.dtype) != header:
        raise _UnusableImage(
            f"its header announces {header[0][0]}x{header[0][1]} pixels of {header[1]} "
            f"channel(s), but it decodes to an array of shape {pixels.shape}"
        )
    return fit_to_shape(to_channels(pixels, grey), image_shape)


def _common_size(headers, folder: Path) -> tuple[int, int]:
    sizes = Counter(size for size, _ in headers)
    if len(sizes) == 1:
        return next(iter(sizes))
    (common, n_common), *_ = sizes.most_common()
    by_area = sorted(sizes, key=lambda size: (size[0] * size[1], size))
    listed = ", ".join(f"{r}x{c} ({n})" for (r, c), n in sizes.most_common(3))
    raise ValueError(
        f"The images in {str(folder)!r} have {len(sizes)} different sizes (rows x cols, most "
        f"common first: {listed}; from {by_area[0][0]}x{by_area[0][1]} to "
        f"{by_area[-1][0]}x{by_area[-1][1]}). Pass image_shape=(rows, cols) to bring them "
        f"all to one size, e.g. image_shape={common} ({n_common} of {len(headers)} images "
        "have it); other images are cropped about their centre to its aspect ratio, then "
        "resized."
    )


@contextlib.contextmanager
def _quiet_plugin_search():
    """Silence imageio's notice, while it tries its plugins on a file, that one is deprecated."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The legacy `DICOM` plugin", DeprecationWarning)
        yield


@contextlib.contextmanager
def _truncated_images_refused():
    """Pillow raises on a truncated file unless a global flag says to fill it in grey."""
    from PIL import ImageFile

    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _describe(folder, class_names, target, images, skipped, as_gray) -> str:
    counts = np.bincount(target, minlength=len(class_names))
    classes = ", ".join(f"{name} ({count})" for name, count in zip(class_names, counts))
    mode = "grey" if images.ndim == 3 else "RGB"
    rule = {None: "grey only if every file is grey", True: "as_gray=True", False: "as_gray=False"}
    lines = [
        f"Images loaded from {folder} by skconv.datasets.load_image_folder.",
        "",
        f":Number of images: {len(images)}",
        f":Classes: {len(class_names)}, one per subfolder, sorted: {classes}",
        f":Image shape: {images.shape[1]}x{images.shape[2]} {mode} uint8 ({rule[as_gray]}); "
        "other sizes cropped about their centre to this aspect ratio, then resized",
        f":Files skipped: {len(skipped)}",
    ]
    return "\n".join(lines) + "\n"
