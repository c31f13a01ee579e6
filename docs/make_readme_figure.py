"""Draw the front-page picture: skconv's default filters and their maps of one digit.

Run from the repository root after installing the ``plot`` extra::

    python docs/make_readme_figure.py

It writes ``docs/_static/skconv_filters_and_maps.png``, which README.md and the docs' front
page show. Rerun it when the default bank or the plotting helpers change.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from skconv import ConvFeatureExtractor
from skconv.plotting import plot_feature_maps, plot_filters

OUTPUT = Path(__file__).resolve().parent / "_static" / "skconv_filters_and_maps.png"


def main() -> None:
    X = load_digits().data
    # The main job's bank: eight 5x5 Gabor filters, magnitudes of their responses.
    conv = ConvFeatureExtractor("gabor", kernel_size=5, activation="abs", image_shape=(8, 8))
    conv.fit(X)
    digit = X[[2]]  # a 2: strokes in several orientations
    fig = plt.figure(figsize=(9.5, 2.9), layout="constrained")
    top, bottom = fig.subfigures(2, 1)
    plot_filters(conv, figure=top, n_cols=9, title="filters (5x5 Gabor)")
    plot_feature_maps(
        conv.transform(digit),
        image=digit.reshape(8, 8),
        figure=bottom,
        n_cols=9,
        title="feature maps of a digit",
    )
    fig.savefig(OUTPUT, dpi=90)
    plt.close(fig)
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
