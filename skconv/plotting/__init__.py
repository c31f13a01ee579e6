"""Draw filter banks and feature maps with matplotlib (the optional ``plot`` extra).

matplotlib is imported only when a function here is called, so ``import skconv`` and
``import skconv.plotting`` work without it. Install it with ``pip install matplotlib``, or
the ``plot`` extra from a clone of skconv, ``pip install ".[plot]"``.

The functions draw through :mod:`matplotlib.pyplot` (so notebooks and sphinx-gallery show the
figure) and return the :class:`~matplotlib.figure.Figure`, to save with ``fig.savefig(path)``
or to close with ``plt.close(fig)``. Given ``figure=``, a Figure or SubFigure, they draw into
it instead, so that several grids share one picture.

The code lives in private modules: ``_grids`` (:func:`plot_filters`, :func:`plot_feature_maps`),
``_importance`` (:func:`plot_feature_importance`) and ``_common`` (what they share).
"""

from ._grids import plot_feature_maps, plot_filters
from ._importance import plot_feature_importance

__all__ = ["plot_feature_importance", "plot_feature_maps", "plot_filters"]
