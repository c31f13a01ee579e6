"""The filter-bank presets in one table, and the one function that builds any bank.

``ConvFeatureExtractor(filters=<name>)``, ``python -m skconv --filters <name>``, the docs and
the tests all read :data:`PRESETS`: a preset's default size and count, whether the user may
choose them and whether the bank is learned from patches are written here and nowhere else.

:func:`build_bank` is the whole way from a ``filters`` setting to a bank, in one straight
flow: the sizes are resolved (:func:`resolve_preset`), patches are sampled when the preset
learns from them, the bank is built, and the filters, bias, contrast setting and number of
patches come back together as :class:`BankParts`, whatever the preset (or the user's array).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from sklearn.utils import check_random_state

from .._engine.geometry import Pair, drop_single_channel
from .._validation import as_pair
from ._deprecated import RENAMED_PRESETS, current_preset_name
from ._handcrafted import edge_bank, gabor_bank, random_bank, tutorial_bank
from ._learned import estimate_contrast_eps, learn_kmeans_bank, learn_pca_bank
from ._patches import sample_patches

__all__ = ["PRESETS", "RENAMED_PRESETS", "BankParts", "Preset", "build_bank", "resolve_preset"]


class BankParts(NamedTuple):
    """A built bank: the filters, the bias added to each response, the contrast setting, and
    the number of patches it was learned from.

    ``filters`` is float64, with no channel axis when the images have one channel.
    ``contrast_eps`` is ``None`` unless responses are divided by
    ``sqrt(window variance + contrast_eps)``, the normalisation ``"kmeans"`` learns under.
    ``n_patches`` is 0 for a bank that was not learned.
    """

    filters: np.ndarray
    bias: np.ndarray
    contrast_eps: float | None
    n_patches: int


@dataclass(frozen=True)
class Preset:
    """One row of the presets table.

    ``builder(n_filters, kernel_size, n_channels=, random_state=, patches=)`` returns the
    filters, their bias and the contrast setting; ``patches`` is ``None`` unless ``learned``.
    """

    name: str
    description: str
    builder: Callable[..., tuple]
    default_n_filters: int
    default_kernel_size: int
    takes_n_filters: bool
    takes_kernel_size: bool
    learned: bool


def _fixed(filters: np.ndarray) -> tuple:
    return filters, np.zeros(len(filters)), None


def _tutorial(n_filters, kernel_size, *, n_channels, random_state, patches) -> tuple:
    return _fixed(tutorial_bank())


def _edges(n_filters, kernel_size, *, n_channels, random_state, patches) -> tuple:
    return _fixed(edge_bank(n_filters=n_filters, kernel_size=kernel_size))


def _gabor(n_filters, kernel_size, *, n_channels, random_state, patches) -> tuple:
    return _fixed(gabor_bank(n_filters, kernel_size))


def _random(n_filters, kernel_size, *, n_channels, random_state, patches) -> tuple:
    # Grey images get a 2-D bank, so filters_ has no channel axis of length 1.
    full_channels = n_channels if n_channels > 1 else None
    return _fixed(
        random_bank(n_filters, kernel_size, n_channels=full_channels, random_state=random_state)
    )


def _kmeans(n_filters, kernel_size, *, n_channels, random_state, patches) -> tuple:
    # Resolved here rather than by the learner's "auto", because transform must divide by
    # the same number the training patches were normalised with.
    contrast_eps = estimate_contrast_eps(patches)
    learned = learn_kmeans_bank(
        patches, n_filters, contrast_eps=contrast_eps, random_state=random_state
    )
    return learned.filters, learned.bias, contrast_eps


def _pca(n_filters, kernel_size, *, n_channels, random_state, patches) -> tuple:
    learned = learn_pca_bank(patches, n_filters)
    return learned.filters, learned.bias, None


#: Every preset, by name, in the order the command line lists and grid-searches them.
# fmt: off
PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset("tutorial", "the tutorial's three 3x3 filters", _tutorial, 3, 3,
               takes_n_filters=False, takes_kernel_size=False, learned=False),
        Preset("edges", "derivative filters in several orientations", _edges, 4, 3,
               takes_n_filters=True, takes_kernel_size=True, learned=False),
        Preset("gabor", "real Gabor kernels", _gabor, 8, 5,
               takes_n_filters=True, takes_kernel_size=True, learned=False),
        Preset("random", "random zero-mean kernels", _random, 8, 3,
               takes_n_filters=True, takes_kernel_size=True, learned=False),
        Preset("pca", "PCA components of patches", _pca, 8, 5,
               takes_n_filters=True, takes_kernel_size=True, learned=True),
        Preset("kmeans", "k-means centroids of patches", _kmeans, 16, 5,
               takes_n_filters=True, takes_kernel_size=True, learned=True),
    )
}
# fmt: on


def resolve_preset(
    name: str, n_filters: int | None = None, kernel_size: int | Pair | None = None
) -> tuple[Preset, int, Pair]:
    """The preset ``name`` (warning for a renamed one) with its count and size resolved.

    ``None`` takes the preset's default; a preset that has no choice refuses any other value.

    Examples
    --------
    >>> preset, n_filters, kernel_size = resolve_preset("edges")
    >>> preset.name, n_filters, kernel_size
    ('edges', 4, (3, 3))
    """
    preset = PRESETS[current_preset_name(name)]
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
    return preset, n_filters, kernel_size


def build_bank(
    filters,
    *,
    n_channels: int,
    n_filters: int | None = None,
    kernel_size: int | Pair | None = None,
    images: np.ndarray | None = None,
    padding: str | Pair = "same",
    n_patches: int = 10000,
    random_state=None,
) -> BankParts:
    """Build (or learn) the bank that ``filters``, a preset name or an array, stands for.

    For a learned preset, at most ``n_patches`` patches of ``images`` (a stack
    ``(n, H, W, n_channels)``, padded as ``padding`` pads it) are drawn from ``random_state``
    before the learner draws from it, the order that fixes the bank for a given seed. An
    array is checked and copied; ``n_filters`` and ``kernel_size`` must then be ``None``.

    Examples
    --------
    >>> parts = build_bank("gabor", n_channels=1, n_filters=4)
    >>> parts.filters.shape, parts.contrast_eps, parts.n_patches
    ((4, 5, 5), None, 0)
    """
    if not isinstance(filters, str):
        if n_filters is not None or kernel_size is not None:
            raise ValueError(
                "n_filters and kernel_size apply to presets only; an explicit filters "
                "array already fixes them, so leave them as None."
            )
        bank = check_bank(filters, n_channels)
        return BankParts(drop_single_channel(bank), np.zeros(len(bank)), None, 0)
    preset, n_filters, kernel_size = resolve_preset(filters, n_filters, kernel_size)
    random_state = check_random_state(random_state)
    patches = None
    if preset.learned:
        if images is None:
            raise ValueError(f"filters={preset.name!r} learns its bank from images; pass images.")
        patches = sample_patches(
            images, kernel_size, padding=padding, n_patches=n_patches, rng=random_state
        )
    bank, bias, contrast_eps = preset.builder(
        n_filters, kernel_size, n_channels=n_channels, random_state=random_state, patches=patches
    )
    return BankParts(
        drop_single_channel(np.asarray(bank, dtype=np.float64)),
        np.asarray(bias, dtype=np.float64),
        contrast_eps,
        0 if patches is None else len(patches),
    )


def check_bank(filters, n_channels: int) -> np.ndarray:
    """The user's bank as a float64 copy, or a ValueError saying what to fix."""
    if isinstance(filters, np.ndarray) and np.iscomplexobj(filters):
        raise ValueError(
            "filters holds complex numbers, and casting would drop their imaginary parts; pass "
            "real kernels, e.g. np.real(filters), np.abs(filters), or both parts as filters."
        )
    try:
        bank = np.array(filters, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            "filters must be a preset name or a numeric array (n_filters, kernel_rows, "
            f"kernel_cols[, n_channels]); got {type(filters).__name__}."
        ) from exc
    if bank.ndim not in (3, 4) or 0 in bank.shape:
        raise ValueError(
            "filters must be a non-empty array (n_filters, kernel_rows, kernel_cols) or "
            f"(n_filters, kernel_rows, kernel_cols, n_channels); got shape {bank.shape}. "
            "For a single 2-D kernel k, pass k[None]."
        )
    if not np.all(np.isfinite(bank)):
        raise ValueError("filters holds NaN or infinite values; pass finite kernels.")
    if bank.ndim == 4 and bank.shape[3] != n_channels:
        raise ValueError(
            f"filters has {bank.shape[3]} channels but the images have {n_channels}; "
            "give the bank the images' channel count, or a 3-D bank to apply per channel."
        )
    return bank
