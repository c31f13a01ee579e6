"""Every deprecation shim of :mod:`skconv.filters` and of the presets, in one place.

Each shim names the release that removes it; delete it (and its tests and CHANGELOG line's
promise) in that release. Until then each warns with a ``FutureWarning`` and does what the old
name or call did.

========================================  ==========  =====================================
Shim                                      Removed in  Instead
========================================  ==========  =====================================
``seed_bank``                             0.4         ``tutorial_bank``
``default_contrast_eps``                  0.4         ``estimate_contrast_eps``
``kmeans_bank``                           0.4         ``learn_kmeans_bank``
``pca_bank``                              0.4         ``learn_pca_bank``
positional arguments to ``edge_bank``     0.4         ``n_filters=``, ``kernel_size=``
``filters="seed"`` (preset name)          0.4         ``filters="tutorial"``
========================================  ==========  =====================================
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from . import _handcrafted
from ._handcrafted import tutorial_bank
from ._learned import estimate_contrast_eps, learn_kmeans_bank, learn_pca_bank

#: The release that removes every shim below.
REMOVED_IN = "0.4"

#: Old preset names still accepted, with a FutureWarning, and the names that replaced them.
RENAMED_PRESETS = {"seed": "tutorial"}


def current_preset_name(name: str) -> str:
    """``name``, or the name that replaced it, with a FutureWarning (removed in 0.4)."""
    if name not in RENAMED_PRESETS:
        return name
    new_name = RENAMED_PRESETS[name]
    warnings.warn(
        f"filters={name!r} is deprecated in 0.2 and will be removed in {REMOVED_IN}; use "
        f"filters={new_name!r}, the same bank.",
        FutureWarning,
        stacklevel=4,
    )
    return new_name


def _warn_deprecated(old: str, instead: str) -> None:
    warnings.warn(
        f"{old} is deprecated in 0.2 and will be removed in {REMOVED_IN}; {instead}.",
        FutureWarning,
        stacklevel=3,
    )


def _positional_in_0_1_order(names: tuple[str, ...]):
    """Read positional arguments in the 0.1 order ``names``, with a FutureWarning.

    For a function whose parameters were reordered and made keyword-only: a positional call
    written for the old order keeps its meaning, with a warning, until the release that
    removes this shim, and from then raises ``TypeError``; it never means something else.
    Keyword calls pass through untouched.
    """

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            if args:
                if len(args) > len(names):
                    raise TypeError(
                        f"{function.__name__} takes at most {len(names)} positional arguments "
                        f"({', '.join(names)}); got {len(args)}."
                    )
                warnings.warn(
                    f"Positional arguments to {function.__name__} are deprecated in 0.2 and "
                    f"raise a TypeError from {REMOVED_IN}, when its parameters become "
                    f"keyword-only; until then they are read in the 0.1 order "
                    f"({', '.join(names)}). Pass n_filters= and kernel_size= by keyword.",
                    FutureWarning,
                    stacklevel=2,
                )
                for name, value in zip(names, args):
                    if name in kwargs:
                        raise TypeError(
                            f"{function.__name__} got multiple values for argument {name!r}."
                        )
                    kwargs[name] = value
            return function(**kwargs)

        return wrapper

    return decorate


# Removed in 0.4: positional arguments, read in the 0.1 order (kernel_size, n_filters);
# without this shim the keyword-only edge_bank refuses them with a TypeError.
edge_bank = _positional_in_0_1_order(("kernel_size", "n_filters"))(_handcrafted.edge_bank)


# Removed in 0.4.
def seed_bank() -> np.ndarray:
    """The tutorial's three 3x3 filters; deprecated name of :func:`tutorial_bank`.

    .. deprecated:: 0.2
       ``seed_bank`` will be removed in 0.4; use :func:`tutorial_bank`.

    Returns
    -------
    filters : ndarray of shape (3, 3, 3)
        ``tutorial_bank()``.
    """
    _warn_deprecated("seed_bank", "use tutorial_bank instead")
    return tutorial_bank()


# Removed in 0.4.
def default_contrast_eps(patches) -> float:
    """Deprecated name of :func:`estimate_contrast_eps`.

    .. deprecated:: 0.2
       ``default_contrast_eps`` will be removed in 0.4; use :func:`estimate_contrast_eps`.

    Parameters
    ----------
    patches : array-like of shape (n_patches, kh, kw, C)
        The patches the bank is learned from.

    Returns
    -------
    contrast_eps : float
        ``estimate_contrast_eps(patches)``.
    """
    _warn_deprecated("default_contrast_eps", "use estimate_contrast_eps instead")
    return estimate_contrast_eps(patches)


# Removed in 0.4.
def kmeans_bank(patches, n_filters: int, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Deprecated name of :func:`learn_kmeans_bank`, returning a plain tuple.

    .. deprecated:: 0.2
       ``kmeans_bank`` will be removed in 0.4; use :func:`learn_kmeans_bank`, which takes
       the same arguments and returns a :class:`LearnedBank`.

    Parameters
    ----------
    patches : array-like of shape (n_patches, kh, kw, C)
        Raw image patches.
    n_filters : int
        Number of filters.
    **kwargs
        The keyword arguments of :func:`learn_kmeans_bank`.

    Returns
    -------
    filters : ndarray of shape (n_filters, kh, kw, C)
        The learned bank.
    bias : ndarray of shape (n_filters,)
        The bias of each filter.
    """
    _warn_deprecated("kmeans_bank", "use learn_kmeans_bank instead")
    filters, bias = learn_kmeans_bank(patches, n_filters, **kwargs)
    return filters, bias


# Removed in 0.4.
def pca_bank(patches, n_filters: int) -> np.ndarray:
    """Deprecated name of :func:`learn_pca_bank`, returning the filters only.

    .. deprecated:: 0.2
       ``pca_bank`` will be removed in 0.4; use :func:`learn_pca_bank`, which takes the same
       arguments and returns a :class:`LearnedBank` ``(filters, bias)``.

    Parameters
    ----------
    patches : array-like of shape (n_patches, kh, kw, C)
        Raw image patches.
    n_filters : int
        Number of filters.

    Returns
    -------
    filters : ndarray of shape (n_filters, kh, kw, C)
        ``learn_pca_bank(patches, n_filters).filters``.
    """
    _warn_deprecated("pca_bank", "use learn_pca_bank instead")
    return learn_pca_bank(patches, n_filters).filters
