"""Image sets as scikit-learn's loaders give theirs: a real benchmark set and your own folders.

:func:`fetch_fashion_mnist` loads Fashion-MNIST's official split, checked against the official
files' digests; :func:`load_image_folder` loads a folder of images with one subfolder per
class. Both raise :class:`DataNotFoundError` (a :class:`FileNotFoundError`) when the data is not
there and :class:`DataFileError` (a :class:`ValueError` naming the file) when a file is not
what it must be.
"""

from ._errors import DataFileError, DataNotFoundError
from ._fashion_mnist import DEBIAN_FOLDER as DEBIAN_FOLDER
from ._fashion_mnist import DESCR as DESCR
from ._fashion_mnist import ENV_VAR as ENV_VAR
from ._fashion_mnist import TARGET_NAMES as TARGET_NAMES
from ._fashion_mnist import fetch_fashion_mnist
from ._fashion_mnist import how_to_get_it as how_to_get_it
from ._image_folder import IMAGE_EXTENSIONS as IMAGE_EXTENSIONS
from ._image_folder import load_image_folder

__all__ = [
    "DataFileError",
    "DataNotFoundError",
    "fetch_fashion_mnist",
    "load_image_folder",
]
