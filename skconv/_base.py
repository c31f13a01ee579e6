"""What both estimators share beyond scikit-learn's BaseEstimator: versioned pickles, and fits
that either complete or leave the estimator unfitted."""

from __future__ import annotations

import functools
import warnings


class SkconvVersionWarning(UserWarning):
    """A fitted skconv estimator was saved by another skconv version than the one loading it.

    Fitted attributes can change meaning between versions; refit the model, or load it with
    the version that saved it.
    """


class VersionedStateMixin:
    """Record skconv's version in the pickled state and warn when it differs on load.

    scikit-learn does the same for its own version; pickle, joblib and ``skops.io`` all go
    through ``__getstate__`` / ``__setstate__``.
    """

    def __getstate__(self):
        from . import __version__

        state = super().__getstate__()
        state["_skconv_version"] = __version__
        return state

    def __setstate__(self, state):
        from . import __version__

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
