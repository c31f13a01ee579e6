"""Filter banks: hand-crafted, random, and learned from image patches.

Every function here returns a plain float64 numpy array that can be inspected, combined
(e.g. ``np.concatenate``) and passed to ``ConvFeatureExtractor(filters=...)``.

Shapes and the channel convention
---------------------------------
A bank is a stack of ``F`` kernels applied by cross-correlation (no kernel flip, as in
:func:`scipy.signal.correlate2d`):

- A **2-D bank** ``(F, kh, kw)`` is applied to every channel separately: on an image with
  ``C`` channels it gives ``F * C`` maps, ordered channel-major (map ``c * F + f`` is filter
  ``f`` on channel ``c``). On grey images (``C == 1``) this is just ``F`` maps.
- A **full bank** ``(F, kh, kw, C)`` sums over the channels, like a CNN kernel, and gives
  ``F`` maps; its channel count must match the images'.

The hand-crafted banks (:func:`tutorial_bank`, :func:`edge_bank`, :func:`gabor_bank`) are
2-D. :func:`random_bank` is 2-D, or full when given ``n_channels``. The learners
(:func:`learn_kmeans_bank`, :func:`learn_pca_bank`) learn full banks from patches
``(m, kh, kw, C)``, keeping the channel axis even when ``C == 1``, and both return a
:class:`LearnedBank` ``(filters, bias)``.

Every builder takes ``(n_filters, kernel_size, *, ...)`` in that order (:func:`edge_bank`, whose
0.1 order was the reverse, takes them by keyword only), and every learner
``(patches, n_filters, *, ...)``. ``kernel_size`` is an int (square kernels) or a pair
``(kh, kw)`` wherever it applies.

Patches for the learners are any array ``(n_patches, kh, kw, C)`` of raw windows, e.g. from
:class:`sklearn.feature_extraction.image.PatchExtractor` on a stack of images (with
``[..., None]`` added for grey images).

The code lives in private modules: ``_handcrafted`` (tutorial, edge, Gabor and random banks),
``_learned`` (the learners), ``_patches`` (patch sampling and normalisation), ``_presets`` (the
presets table and the one function that builds a bank for ``ConvFeatureExtractor``) and
``_deprecated`` (every deprecation shim, each with the release that removes it).
"""

from ._deprecated import default_contrast_eps, edge_bank, kmeans_bank, pca_bank, seed_bank
from ._handcrafted import (
    DEFAULT_GABOR_FREQUENCIES as DEFAULT_GABOR_FREQUENCIES,
)
from ._handcrafted import (
    MAX_GABOR_BANDWIDTH as MAX_GABOR_BANDWIDTH,
)
from ._handcrafted import (
    gabor_bank,
    random_bank,
    tutorial_bank,
)
from ._learned import (
    CONTRAST_EPS_RATIO as CONTRAST_EPS_RATIO,
)
from ._learned import (
    FilterBankFallbackWarning,
    LearnedBank,
    estimate_contrast_eps,
    learn_kmeans_bank,
    learn_pca_bank,
)

# default_contrast_eps, kmeans_bank, pca_bank and seed_bank are deprecated (0.2, gone in 0.4).
__all__ = [
    "FilterBankFallbackWarning",
    "LearnedBank",
    "default_contrast_eps",
    "edge_bank",
    "estimate_contrast_eps",
    "gabor_bank",
    "kmeans_bank",
    "learn_kmeans_bank",
    "learn_pca_bank",
    "pca_bank",
    "random_bank",
    "seed_bank",
    "tutorial_bank",
]
