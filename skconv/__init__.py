"""skconv: CNN-style convolution and pooling features as scikit-learn transformers."""

from ._base import SkconvVersionWarning
from ._conv import ConvFeatureExtractor
from ._pool import PoolTransformer
from ._stream import ConvPool

__version__ = "0.1.0.dev0"

__all__ = [
    "ConvFeatureExtractor",
    "ConvPool",
    "PoolTransformer",
    "SkconvVersionWarning",
    "__version__",
]
