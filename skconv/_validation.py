"""The one validator of sizes, counts, pairs and positive numbers (plain Python, no numpy).

Every public function and estimator of skconv checks ``kernel_size``, ``stride``,
``n_filters`` and the like here, so a value is refused with the same words wherever it is
passed: a ``TypeError`` when it is not an int (or a pair of them), a ``ValueError`` when it
is one but too small. Every message names the parameter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence, Set
from numbers import Integral, Real


def _is_int(value) -> bool:
    # bool is an Integral, but True as a size is a mistake, not a 1.
    return isinstance(value, Integral) and not isinstance(value, bool)


def check_int(value, name: str, *, minimum: int = 1) -> int:
    """``value`` as an int of at least ``minimum``.

    Examples
    --------
    >>> check_int(3, "n_filters")
    3
    >>> check_int(0, "n_filters")
    Traceback (most recent call last):
    ...
    ValueError: n_filters must be at least 1; got 0.
    """
    if not _is_int(value):
        raise TypeError(f"{name} must be an int; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {value!r}.")
    return int(value)


def _unordered(value) -> bool:
    # A set or a dict iterates in an order that has nothing to do with (rows, cols).
    return isinstance(value, (Set, Mapping))


def _is_pair_container(value) -> bool:
    # A string iterates over its characters; numpy arrays are not Sequences (numpy is not
    # imported here), so 1-D arrays are recognised by their ``ndim``.
    if isinstance(value, (str, bytes)):
        return False
    return isinstance(value, Sequence) or getattr(value, "ndim", None) == 1


def as_pair(value, name: str, *, minimum: int = 1) -> tuple[int, int]:
    """An int or a pair of ints ``(rows, cols)`` as a pair, each at least ``minimum``.

    A pair is a tuple, a list or a 1-D array. A set or a dict is refused even with two
    ints in it: which of them would be ``rows`` depends on an order it does not have. So is
    a string, or any other iterable.

    Examples
    --------
    >>> as_pair(3, "kernel_size")
    (3, 3)
    >>> as_pair((3, 0), "padding", minimum=0)
    (3, 0)
    >>> as_pair((3,), "stride")
    Traceback (most recent call last):
    ...
    TypeError: stride must be an int or a pair of ints (rows, cols); got (3,).
    """
    if _is_int(value):
        pair = (int(value), int(value))
    elif _unordered(value):
        raise TypeError(
            f"{name} must be an int or a pair of ints (rows, cols); got a "
            f"{type(value).__name__} {value!r}, which has no order: pass a tuple "
            f"(rows, cols) instead."
        )
    else:
        pair = tuple(value) if _is_pair_container(value) else ()
        if len(pair) != 2 or not all(_is_int(v) for v in pair):
            raise TypeError(
                f"{name} must be an int or a pair of ints (rows, cols); got {value!r}."
            )
        pair = (int(pair[0]), int(pair[1]))
    if min(pair) < minimum:
        raise ValueError(f"{name} must be at least {minimum} on each axis; got {value!r}.")
    return pair


def is_positive_finite(value) -> bool:
    """Whether ``value`` is a real number (not a bool) that is finite and above 0."""
    # An infinite regulariser would scale every patch to zero; NaN fails the comparison.
    return (
        isinstance(value, Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def check_positive_finite(value, name: str) -> float:
    """``value`` as a float, refusing non-numbers, NaN, infinities and values <= 0.

    Examples
    --------
    >>> check_positive_finite(0.5, "bandwidth")
    0.5
    >>> check_positive_finite(float("nan"), "bandwidth")
    Traceback (most recent call last):
    ...
    ValueError: bandwidth must be a positive finite float; got nan.
    """
    if not isinstance(value, Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a positive finite float; got {value!r}.")
    if not is_positive_finite(value):
        raise ValueError(f"{name} must be a positive finite float; got {value!r}.")
    return float(value)
