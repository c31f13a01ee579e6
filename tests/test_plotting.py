"""skconv.plotting, drawn headless with matplotlib's Agg backend."""

import importlib
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from skconv import ConvFeatureExtractor  # noqa: E402
from skconv.filters import seed_bank  # noqa: E402
from skconv.plotting import plot_feature_maps, plot_filters  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def test_plot_filters_draws_one_tile_per_kernel_with_its_values():
    bank = seed_bank()
    fig = plot_filters(bank, n_cols=2, title="seed")
    assert isinstance(fig, Figure)
    axes = visible_axes(fig)
    assert len(axes) == 3
    assert len(fig.axes) == 4  # a 2x2 grid with the last tile hidden
    for ax, kernel in zip(axes, bank):
        np.testing.assert_array_equal(ax.images[0].get_array(), kernel)
        low, high = ax.images[0].get_clim()
        assert low == -high == -np.abs(kernel).max()
    assert [ax.get_title() for ax in axes] == ["f0", "f1", "f2"]
    assert fig.get_suptitle() == "seed"


def test_plot_filters_takes_a_fitted_extractor_and_titles():
    conv = ConvFeatureExtractor(filters="seed").fit(np.zeros((2, 5, 5)))
    fig = plot_filters(conv, titles=["box", "vertical", "diagonal"])
    assert [ax.get_title() for ax in visible_axes(fig)] == ["box", "vertical", "diagonal"]


def test_plot_filters_draws_three_channel_kernels_as_rgb_in_unit_range():
    bank = np.random.RandomState(0).randn(4, 3, 3, 3)
    fig = plot_filters(bank)
    for ax, kernel in zip(visible_axes(fig), bank):
        drawn = np.asarray(ax.images[0].get_array())
        assert drawn.shape == (3, 3, 3)
        assert drawn.min() == 0.0 and drawn.max() == 1.0
        # Stretching keeps the order of the values.
        assert np.array_equal(np.argsort(drawn, axis=None), np.argsort(kernel, axis=None))


def test_plot_filters_squeezes_one_channel_full_kernels():
    bank = seed_bank()[..., None]
    fig = plot_filters(bank)
    np.testing.assert_array_equal(visible_axes(fig)[1].images[0].get_array(), bank[1, ..., 0])


def test_plot_filters_does_not_modify_the_bank():
    bank = seed_bank()
    before = bank.copy()
    plot_filters(bank)
    np.testing.assert_array_equal(bank, before)


@pytest.mark.parametrize(
    ("bank", "message"),
    [
        (np.zeros((3, 3)), r"k\[None\]"),
        (np.zeros((2, 3, 3, 2)), r"bank\[\.\.\., 0\]"),
        (np.full((1, 3, 3), np.nan), "NaN or infinite"),
        (np.zeros((0, 3, 3)), "empty"),
    ],
)
def test_plot_filters_refuses_bad_banks_saying_what_to_pass(bank, message):
    with pytest.raises(ValueError, match=message):
        plot_filters(bank)


def test_plot_filters_refuses_titles_of_the_wrong_length_and_bad_n_cols():
    with pytest.raises(ValueError, match="titles has 2 entries but there are 3 filters"):
        plot_filters(seed_bank(), titles=["a", "b"])
    with pytest.raises(ValueError, match="n_cols must be a positive int"):
        plot_filters(seed_bank(), n_cols=0)


def test_plot_feature_maps_draws_the_chosen_sample_after_its_image():
    images = np.random.RandomState(1).rand(3, 7, 5)
    maps = ConvFeatureExtractor(filters="seed", padding="valid").fit_transform(images)
    fig = plot_feature_maps(maps, sample=2, image=images[2], n_cols=4)
    axes = visible_axes(fig)
    assert [ax.get_title() for ax in axes] == ["image", "map 0", "map 1", "map 2"]
    np.testing.assert_array_equal(axes[0].images[0].get_array(), images[2])
    for k, ax in enumerate(axes[1:]):
        np.testing.assert_array_equal(ax.images[0].get_array(), maps[2, :, :, k])


def test_plot_feature_maps_takes_the_maps_of_one_image_and_an_rgb_image():
    maps = np.random.RandomState(2).rand(4, 4, 2)
    rgb = np.random.RandomState(3).randint(0, 256, size=(6, 6, 3)).astype(np.uint8)
    fig = plot_feature_maps(maps, image=rgb, titles=["a", "b"])
    axes = visible_axes(fig)
    assert [ax.get_title() for ax in axes] == ["image", "a", "b"]
    drawn = np.asarray(axes[0].images[0].get_array())
    assert drawn.shape == (6, 6, 3) and drawn.min() == 0.0 and drawn.max() == 1.0


def test_plot_feature_maps_saves_a_png(tmp_path):
    maps = np.random.RandomState(4).rand(1, 5, 5, 3)
    path = tmp_path / "maps.png"
    plot_feature_maps(maps).savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"maps": np.zeros((4, 4))}, ValueError, r"m\[:, :, None\]"),
        ({"maps": np.zeros((2, 4, 4, 1)), "sample": 2}, ValueError, r"\[0, 1\]"),
        ({"maps": np.zeros((2, 4, 4, 1)), "sample": 0.5}, TypeError, "sample must be an int"),
        ({"maps": np.zeros((4, 4, 1)), "image": np.zeros((4, 4, 2))}, ValueError, "image"),
        ({"maps": np.zeros((4, 4, 2)), "titles": ["a"]}, ValueError, "there are 2 maps"),
        ({"maps": [["a"]]}, TypeError, "maps must be a numeric array"),
    ],
)
def test_plot_feature_maps_refuses_bad_input_saying_what_to_pass(kwargs, error, message):
    with pytest.raises(error, match=message):
        plot_feature_maps(**kwargs)


def test_without_matplotlib_the_error_says_how_to_install_it(monkeypatch):
    import skconv.plotting

    # A None entry in sys.modules makes the import fail as if matplotlib were absent.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    reloaded = importlib.reload(skconv.plotting)
    with pytest.raises(ImportError, match=r'pip install "skconv\[plot\]"'):
        reloaded.plot_filters(seed_bank())
    with pytest.raises(ImportError, match=r'pip install "skconv\[plot\]"'):
        reloaded.plot_feature_maps(np.zeros((3, 3, 1)))


def test_both_draw_into_subfigures_of_one_picture(tmp_path):
    fig = plt.figure(figsize=(6, 3))
    left, right = fig.subfigures(1, 2)
    bank = seed_bank()
    maps = np.random.RandomState(5).rand(5, 3, 3)
    assert plot_filters(bank, figure=left, title="filters") is left
    assert plot_feature_maps(maps, figure=right, n_cols=3) is right
    assert len(left.axes) == 3 and len(right.axes) == 3
    assert left.get_suptitle() == "filters"
    np.testing.assert_array_equal(right.axes[2].images[0].get_array(), maps[:, :, 2])
    fig.savefig(tmp_path / "both.png")


def test_figure_must_be_a_matplotlib_figure():
    with pytest.raises(TypeError, match="figure must be a matplotlib Figure or SubFigure"):
        plot_filters(seed_bank(), figure="new")
