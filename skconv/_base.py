"""What every skconv estimator shares beyond scikit-learn's BaseEstimator: versioned pickles,
fits that either complete or leave the estimator unfitted, a fitted state that
:meth:`set_params` cannot silently contradict, the ``n_jobs`` constraint, and (for the
transformers that take images) tags that say so."""

from __future__ import annotations

import copy
import functools
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval

from ._version import __version__

# joblib's convention: -1 is all cores, -2 all but one; 0 means nothing.
N_JOBS_CONSTRAINT = [
    Interval(Integral, None, -1, closed="right"),
    Interval(Integral, 1, None, closed="left"),
    None,
]

# A bound on the results must stay this far inside the dtype's range for the check of the
# output for overflow to be skipped.
OVERFLOW_MARGIN = 1024

# Parameters that change how the work is run, never its result: they take effect without a
# refit. Every other parameter is resolved by fit.
RUNTIME_PARAMETERS = frozenset({"n_jobs", "verbose", "batch_size"})


class SkconvVersionWarning(UserWarning):
    """A fitted skconv estimator was saved by another skconv version than the one loading it.

    Fitted attributes can change meaning between versions; refit the model, or load it with
    the version that saved it.
    """


class SkconvEstimator(BaseEstimator):
    """Base of every skconv estimator, transformer or classifier.

    - Pickles record skconv's version and warn (:class:`SkconvVersionWarning`) when another
      version loads them; pickle, joblib and ``skops.io`` all go through ``__getstate__`` /
      ``__setstate__``.
    - :meth:`_remember_fit_parameters` (end of ``fit``) and :meth:`_check_fit_parameters`
      (start of everything that uses the fitted state: ``transform``, ``predict``,
      ``decision_function``) refuse to run when a parameter that changes the result was set
      after ``fit``: the fitted state would no longer match the parameters. Parameters in
      ``RUNTIME_PARAMETERS`` take effect without a refit.
    """

    def __getstate__(self):
        state = super().__getstate__()
        state["_skconv_version"] = __version__
        return state

    def __setstate__(self, state):
        saved = state.pop("_skconv_version", "unknown (older than 0.1)")
        if saved != __version__:
            warnings.warn(
                f"This {type(self).__name__} was saved by skconv {saved} and is loaded by "
                f"skconv {__version__}; results may differ. Refit it, or load it with skconv "
                f"{saved}.",
                SkconvVersionWarning,
                stacklevel=2,
            )
        super().__setstate__(state)

    def _output_parameters(self) -> dict:
        """The parameters (nested ones included) that fit resolves, as fit saw them."""
        return {
            key: _fingerprint(value)
            for key, value in self.get_params(deep=True).items()
            if key.rsplit("__", 1)[-1] not in RUNTIME_PARAMETERS
        }

    def _remember_fit_parameters(self) -> None:
        self._fit_parameters_ = self._output_parameters()

    def _check_fit_parameters(self) -> None:
        """Raise if a parameter that changes the output was changed since fit."""
        now = self._output_parameters()
        changed = [
            key
            for key in sorted(set(now) | set(self._fit_parameters_))
            if not _same_value(now.get(key), self._fit_parameters_.get(key))
        ]
        if changed:
            names = ", ".join(repr(key) for key in changed)
            raise ValueError(
                f"{type(self).__name__} parameter(s) {names} changed since fit (set_params "
                "after fit); the fitted state is used as fit resolved it, so the result would not "
                f"match the parameters. Refit: call fit (or fit_transform) again. Only "
                f"{', '.join(sorted(RUNTIME_PARAMETERS))} take effect without a refit."
            )


class SkconvTransformer(TransformerMixin, SkconvEstimator):
    """Base of skconv's image transformers: :class:`SkconvEstimator`, plus tags that say
    float32 and float64 are preserved and image stacks (3-D and 4-D X) are accepted."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.three_d_array = True
        return tags


def _fingerprint(value):
    """What the refit guard compares of a parameter's value.

    Estimators (anything with ``get_params``) by the qualified name of their class, their
    parameters having keys of their own (a deep copy of one would never compare equal, and a
    name, unlike a class, is plain data to ``skops``); containers item by item, so a
    Pipeline's ``steps`` list counts by its names and step types; random generators as they
    are (they are meant to be shared and advanced); anything else by a deep copy, so that an
    in-place edit counts as a change.
    """
    if hasattr(value, "get_params") and not isinstance(value, type):
        return _qualified_name(type(value))
    if isinstance(value, (list, tuple)):
        items = [_fingerprint(item) for item in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        return {key: _fingerprint(item) for key, item in value.items()}
    if isinstance(value, (np.random.RandomState, np.random.Generator)):
        return value
    return copy.deepcopy(value)


def _qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _same_value(a, b) -> bool:
    # Pickles of 0.2.0.dev0 recorded an estimator parameter by its class.
    a, b = (_qualified_name(v) if isinstance(v, type) else v for v in (a, b))
    if a is b:
        return True
    try:
        equal = a == b
        if isinstance(equal, (bool, np.bool_)):
            return bool(equal)
        return np.shape(a) == np.shape(b) and bool(np.all(equal))
    except (TypeError, ValueError):
        # e.g. lists of arrays, whose == is ambiguous
        try:
            return bool(np.array_equal(np.asarray(a), np.asarray(b)))
        except (TypeError, ValueError):
            return False


def unfitted_on_error(fit):
    """Make a ``fit`` that raises leave the estimator unfitted rather than half-fitted.

    A refit can fail after some fitted attributes were replaced (``n_features_in_`` is set while
    X is checked, the bank only afterwards), and the previous fit's attributes no longer match
    the parameters the user just set. Dropping every fitted attribute makes ``transform`` raise
    ``NotFittedError`` until a fit succeeds, so no mix of two fits is ever used.
    """

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            for name in [n for n in vars(self) if n.endswith("_") and not n.startswith("__")]:
                delattr(self, name)
            raise

    return wrapper
