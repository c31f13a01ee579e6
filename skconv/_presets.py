"""The filter-bank presets in one table, and the one function that builds any of them.

``ConvFeatureExtractor(filters=<name>)``, ``python -m skconv --filters <name>``, the docs and
the tests all read :data:`PRESETS`: a preset's default size and count, whether the user may
choose them, whether the bank is learned from patches and whether it is applied channel by
channel are written here and nowhere else. :func:`build_bank` returns the same
:class:`BankParts` whatever the preset.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import filters as banks
from ._validation import as_pair

Pair = tuple[int, int]


class BankParts(NamedTuple):
    """A built bank: the filters, the bias added to each response, and the contrast setting.

    ``contrast_eps`` is ``None`` unless responses are divided by
    ``sqrt(window variance + contrast_eps)``, the normalisation ``"kmeans"`` learns under.
    """

    filters: np.ndarray
    bias: np.ndarray
    contrast_eps: float | None


@dataclass(frozen=True)
class Preset:
    """One row of the presets table.

    ``builder(n_filters, kernel_size, n_channels=, random_state=, patches=)`` returns the
    filters and, for learned banks, the bias and contrast setting; ``patches`` is ``None``
    unless ``learned``.
    """

    name: str
    description: str
    builder: Callable[..., BankParts]
    default_n_filters: int
    default_kernel_size: int
    takes_n_filters: bool
    takes_kernel_size: bool
    learned: bool
    # A 2-D bank applied to each channel separately; otherwise full kernels span the channels.
    channelwise: bool


def _fixed(filters: np.ndarray) -> BankParts:
    return BankParts(filters, np.zeros(len(filters)), None)


def _tutorial(n_filters, kernel_size, *, n_channels, random_state, patches) -> BankParts:
    return _fixed(banks.tutorial_bank())


def _edges(n_filters, kernel_size, *, n_channels, random_state, patches) -> BankParts:
    return _fixed(banks.edge_bank(n_filters=n_filters, kernel_size=kernel_size))


def _gabor(n_filters, kernel_size, *, n_channels, random_state, patches) -> BankParts:
    return _fixed(banks.gabor_bank(n_filters, kernel_size))


def _random(n_filters, kernel_size, *, n_channels, random_state, patches) -> BankParts:
    # Grey images get a 2-D bank, so filters_ has no channel axis of length 1.
    full_channels = n_channels if n_channels > 1 else None
    return _fixed(
        banks.random_bank(
            n_filters, kernel_size, n_channels=full_channels, random_state=random_state
        )
    )


def _kmeans(n_filters, kernel_size, *, n_channels, random_state, patches) -> BankParts:
    # Resolved here rather than by the learner's "auto", because transform must divide by
    # the same number the training patches were normalised with.
    contrast_eps = banks.estimate_contrast_eps(patches)
    learned = banks.learn_kmeans_bank(
        patches, n_filters, contrast_eps=contrast_eps, random_state=random_state
    )
    return BankParts(learned.filters, learned.bias, contrast_eps)


def _pca(n_filters, kernel_size, *, n_channels, random_state, patches) -> BankParts:
    learned = banks.learn_pca_bank(patches, n_filters)
    return BankParts(learned.filters, learned.bias, None)


#: Every preset, by name, in the order the command line lists and grid-searches them.
# fmt: off
PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset("tutorial", "the tutorial's three 3x3 filters", _tutorial, 3, 3,
               takes_n_filters=False, takes_kernel_size=False, learned=False, channelwise=True),
        Preset("edges", "derivative filters in several orientations", _edges, 4, 3,
               takes_n_filters=True, takes_kernel_size=True, learned=False, channelwise=True),
        Preset("gabor", "real Gabor kernels", _gabor, 8, 5,
               takes_n_filters=True, takes_kernel_size=True, learned=False, channelwise=True),
        Preset("random", "random zero-mean kernels", _random, 8, 3,
               takes_n_filters=True, takes_kernel_size=True, learned=False, channelwise=False),
        Preset("pca", "PCA components of patches", _pca, 8, 5,
               takes_n_filters=True, takes_kernel_size=True, learned=True, channelwise=False),
        Preset("kmeans", "k-means centroids of patches", _kmeans, 16, 5,
               takes_n_filters=True, takes_kernel_size=True, learned=True, channelwise=False),
    )
}
# fmt: on

#: Old preset names still accepted, with a FutureWarning, and the names that replaced them.
RENAMED_PRESETS = {"seed": "tutorial"}


def get_preset(name: str) -> Preset:
    """The table's row for ``name``, warning when ``name`` is a deprecated one."""
    if name in RENAMED_PRESETS:
        new_name = RENAMED_PRESETS[name]
        warnings.warn(
            f"filters={name!r} is deprecated in 0.2 and will be removed in 0.4; use "
            f"filters={new_name!r}, the same bank.",
            FutureWarning,
            stacklevel=3,
        )
        name = new_name
    return PRESETS[name]


def build_bank(
    name: str,
    *,
    n_filters: int | None,
    kernel_size: int | Pair | None,
    n_channels: int,
    random_state: np.random.RandomState,
    sample_patches: Callable[[Pair], np.ndarray],
) -> BankParts:
    """Build (or learn) the bank of preset ``name`` for images of ``n_channels`` channels.

    ``n_filters`` and ``kernel_size`` of ``None`` take the preset's defaults; a preset that
    has no choice refuses any other value. ``sample_patches(kernel_size)`` is called only
    for learned presets and must draw from ``random_state`` before the learner does, the
    order that fixes the bank for a given seed. The filters are float64, with no channel
    axis when ``n_channels == 1``.
    """
    preset = get_preset(name)
    for parameter, value, takes in (
        ("n_filters", n_filters, preset.takes_n_filters),
        ("kernel_size", kernel_size, preset.takes_kernel_size),
    ):
        if value is not None and not takes:
            raise ValueError(
                f"filters={preset.name!r} is {preset.description}, so {parameter} has "
                "nothing to choose; leave n_filters and kernel_size as None, or use another "
                "preset such as 'gabor' or 'random'."
            )
    n_filters = preset.default_n_filters if n_filters is None else n_filters
    kernel_size = as_pair(
        preset.default_kernel_size if kernel_size is None else kernel_size, "kernel_size"
    )
    patches = sample_patches(kernel_size) if preset.learned else None
    filters, bias, contrast_eps = preset.builder(
        n_filters, kernel_size, n_channels=n_channels, random_state=random_state, patches=patches
    )
    filters = np.asarray(filters, dtype=np.float64)
    if n_channels == 1 and filters.ndim == 4:
        filters = filters[..., 0]
    return BankParts(filters, np.asarray(bias, dtype=np.float64), contrast_eps)
