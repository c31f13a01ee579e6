"""skconv: CNN-style convolution and pooling features as scikit-learn transformers."""

from ._base import SkconvVersionWarning
from ._batched import BatchedTransformer
from ._conv import ConvFeatureExtractor
from ._kernel_head import NystroemRidgeClassifier
from ._pool import PoolTransformer
from ._stream import ConvPool
from ._version import __version__
from .recipes import ImageClassifier, PeakNormalizer

# The types a user must trust to load a skconv model with skops.io: skconv's estimators and
# the recipe's. The scikit-learn estimators and numpy types a pipeline also holds are trusted
# by skops itself.
# Pass exactly this list, never the file's own list of untrusted types (see docs/persistence).
SKOPS_TRUSTED_TYPES = [
    f"{cls.__module__}.{cls.__qualname__}"
    for cls in (
        ConvFeatureExtractor,
        PoolTransformer,
        ConvPool,
        BatchedTransformer,
        NystroemRidgeClassifier,
        ImageClassifier,
        PeakNormalizer,
    )
]

__all__ = [
    "SKOPS_TRUSTED_TYPES",
    "BatchedTransformer",
    "ConvFeatureExtractor",
    "ConvPool",
    "NystroemRidgeClassifier",
    "PoolTransformer",
    "SkconvVersionWarning",
    "__version__",
]
