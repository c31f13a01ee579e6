"""skconv.plotting, drawn headless with matplotlib's Agg backend."""

import importlib
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.inspection import permutation_importance  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skconv import ConvFeatureExtractor, ConvPool, PoolTransformer  # noqa: E402
from skconv.filters import tutorial_bank  # noqa: E402
from skconv.plotting import (  # noqa: E402
    plot_feature_importance,
    plot_feature_maps,
    plot_filters,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def test_plot_filters_draws_one_tile_per_kernel_with_its_values():
    bank = tutorial_bank()
    fig = plot_filters(bank, n_cols=2, title="tutorial")
    assert isinstance(fig, Figure)
    axes = visible_axes(fig)
    assert len(axes) == 3
    assert len(fig.axes) == 4  # a 2x2 grid with the last tile hidden
    for ax, kernel in zip(axes, bank):
        np.testing.assert_array_equal(ax.images[0].get_array(), kernel)
        low, high = ax.images[0].get_clim()
        assert low == -high == -np.abs(kernel).max()
    assert [ax.get_title() for ax in axes] == ["f0", "f1", "f2"]
    assert fig.get_suptitle() == "tutorial"


def test_plot_filters_takes_a_fitted_extractor_and_titles():
    conv = ConvFeatureExtractor(filters="tutorial").fit(np.zeros((2, 5, 5)))
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
    bank = tutorial_bank()[..., None]
    fig = plot_filters(bank)
    np.testing.assert_array_equal(visible_axes(fig)[1].images[0].get_array(), bank[1, ..., 0])


def test_plot_filters_does_not_modify_the_bank():
    bank = tutorial_bank()
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
        plot_filters(tutorial_bank(), titles=["a", "b"])
    with pytest.raises(ValueError, match="n_cols must be a positive int"):
        plot_filters(tutorial_bank(), n_cols=0)


def test_plot_feature_maps_draws_the_chosen_sample_after_its_image():
    images = np.random.RandomState(1).rand(3, 7, 5)
    maps = ConvFeatureExtractor(filters="tutorial", padding="valid").fit_transform(images)
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


# skconv is installed from its clone, so the hint names matplotlib and the clone's extra.
INSTALL_HINT = r'pip install matplotlib \(or, from a clone of skconv, pip install "\.\[plot\]"\)'


def test_without_matplotlib_the_error_says_how_to_install_it(monkeypatch):
    import skconv.plotting

    # A None entry in sys.modules makes the import fail as if matplotlib were absent.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    reloaded = importlib.reload(skconv.plotting)
    with pytest.raises(ImportError, match=INSTALL_HINT):
        reloaded.plot_filters(tutorial_bank())
    with pytest.raises(ImportError, match=INSTALL_HINT):
        reloaded.plot_feature_maps(np.zeros((3, 3, 1)))
    with pytest.raises(ImportError, match=INSTALL_HINT):
        reloaded.plot_feature_importance(np.ones(4), (1, 2, 2))


def test_both_draw_into_subfigures_of_one_picture(tmp_path):
    fig = plt.figure(figsize=(6, 3))
    left, right = fig.subfigures(1, 2)
    bank = tutorial_bank()
    maps = np.random.RandomState(5).rand(5, 3, 3)
    assert plot_filters(bank, figure=left, title="filters") is left
    assert plot_feature_maps(maps, figure=right, n_cols=3) is right
    assert len(left.axes) == 3 and len(right.axes) == 3
    assert left.get_suptitle() == "filters"
    np.testing.assert_array_equal(right.axes[2].images[0].get_array(), maps[:, :, 2])
    fig.savefig(tmp_path / "both.png")


def test_figure_must_be_a_matplotlib_figure():
    with pytest.raises(TypeError, match="figure must be a matplotlib Figure or SubFigure"):
        plot_filters(tutorial_bank(), figure="new")


# plot_feature_importance


def heat_axes(fig):
    """The heatmap axes, one per class row: those labelled with a class name."""
    return [ax for ax in fig.axes if ax.get_visible() and ax.images and ax.get_ylabel()]


def bar_axes(fig):
    return [ax for ax in fig.axes if ax.patches]


def bar_heights(ax):
    return np.array([patch.get_height() for patch in ax.patches])


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400], y[:400]


def test_importance_heatmaps_and_bars_are_the_coefficient_sums():
    rng = np.random.RandomState(0)
    coef = rng.randn(3, 2 * 3 * 4)
    fig = plot_feature_importance(coef, (2, 3, 4), title="coef")
    assert isinstance(fig, Figure) and fig.get_suptitle() == "coef"
    grid = np.abs(coef).reshape(3, 2, 3, 4)
    heats, bars = heat_axes(fig), bar_axes(fig)
    assert [ax.get_ylabel() for ax in heats] == ["class 0", "class 1", "class 2"]
    assert len(bars) == 3
    for k in range(3):
        np.testing.assert_allclose(heats[k].images[0].get_array(), grid[k].sum(axis=2))
        np.testing.assert_allclose(bar_heights(bars[k]), grid[k].sum(axis=(0, 1)))
        # One colour scale and one y-axis for every class, so that classes compare.
        assert heats[k].images[0].get_clim() == (0.0, grid.sum(axis=3).max())
        assert bars[k].get_ylim() == bars[0].get_ylim()
    # No convolution is known from an explicit shape: no filter strip.
    assert not any(ax.get_title().startswith("filters") for ax in fig.axes)


def test_importance_reads_a_pipeline_with_conv_pool_and_draws_the_crelu_bank(digits):
    X, y = digits
    conv = ConvFeatureExtractor("tutorial", image_shape=(8, 8), activation="crelu")
    model = make_pipeline(
        ConvPool(conv, PoolTransformer(2)), StandardScaler(), LogisticRegression(max_iter=300)
    ).fit(X, y)
    fig = plot_feature_importance(model)
    coef = model[-1].coef_
    grid = np.abs(coef).reshape(10, 4, 4, 6)  # 8x8 "same" maps pooled 2x2; 3 filters x 2
    heats, bars = heat_axes(fig), bar_axes(fig)
    assert [ax.get_ylabel() for ax in heats] == [str(c) for c in range(10)]
    for k in (0, 9):
        np.testing.assert_allclose(heats[k].images[0].get_array(), grid[k].sum(axis=2))
        np.testing.assert_allclose(bar_heights(bars[k]), grid[k].sum(axis=(0, 1)))
    [strip_ax] = [ax for ax in fig.axes if ax.get_title() == "filters (one per map)"]
    strip = np.asarray(strip_ax.images[0].get_array())
    bank = tutorial_bank()
    expected = np.concatenate([bank, -bank])  # map 3 + f is relu(-response of filter f)
    for m in range(6):
        tile = strip[:, 4 * m : 4 * m + 3]
        np.testing.assert_allclose(tile, expected[m] / np.abs(expected[m]).max())
        # Kernel m is centred above bar m.
        left, right = strip_ax.images[0].get_extent()[:2]
        centre = left + (4 * m + 1.5) * (right - left) / strip.shape[1]
        assert centre == pytest.approx(bars[0].patches[m].get_x() + 0.4)


def test_importance_finds_the_bank_in_separate_conv_and_pool_steps(digits):
    X, y = digits
    model = make_pipeline(
        ConvFeatureExtractor("tutorial", image_shape=(8, 8)),
        PoolTransformer(4),
        StandardScaler(),
        LogisticRegression(max_iter=300),
    ).fit(X, y)
    fig = plot_feature_importance(model[-1], model, classes=[3, 8], class_names=list("abcdefghij"))
    assert [ax.get_ylabel() for ax in heat_axes(fig)] == ["d", "i"]
    grid = np.abs(model[-1].coef_).reshape(10, 2, 2, 3)
    np.testing.assert_allclose(bar_heights(bar_axes(fig)[1]), grid[8].sum(axis=(0, 1)))
    assert any(ax.get_title() == "filters (one per map)" for ax in fig.axes)
    no_strip = plot_feature_importance(model, filters=False)
    assert not any(ax.get_title().startswith("filters") for ax in no_strip.axes)


def test_importance_draws_no_filters_for_a_second_layer_whose_kernels_span_maps(digits):
    X, y = digits
    model = make_pipeline(
        ConvFeatureExtractor("tutorial", image_shape=(8, 8)),
        PoolTransformer(2, flatten=False),
        ConvFeatureExtractor("random", n_filters=4, random_state=0),  # kernels of 3 maps
        PoolTransformer(2),
        StandardScaler(),
        LogisticRegression(max_iter=300),
    ).fit(X, y)
    fig = plot_feature_importance(model)
    assert not any(ax.get_title().startswith("filters") for ax in fig.axes)
    grid = np.abs(model[-1].coef_).reshape(10, 2, 2, 4)  # layout of the last pooling
    np.testing.assert_allclose(bar_heights(bar_axes(fig)[0]), grid[0].sum(axis=(0, 1)))


def test_importance_draws_permutation_importances_signed(digits):
    X, y = digits
    features = ConvPool(ConvFeatureExtractor("tutorial", image_shape=(8, 8)), PoolTransformer(4))
    Z = features.fit_transform(X)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(Z, y)
    result = permutation_importance(model, Z, y, n_repeats=2, random_state=0)
    fig = plot_feature_importance(result, features, absolute=False)
    [heat] = heat_axes(fig)
    assert heat.get_ylabel() == "all classes"
    grid = result.importances_mean.reshape(2, 2, 3)
    np.testing.assert_allclose(heat.images[0].get_array(), grid.sum(axis=2))
    low, high = heat.images[0].get_clim()
    assert low == -high == -np.abs(grid.sum(axis=2)).max()
    np.testing.assert_allclose(bar_heights(bar_axes(fig)[0]), grid.sum(axis=(0, 1)))


def test_importance_names_a_binary_models_single_row(digits):
    X, y = digits
    keep = np.isin(y, [3, 8])
    features = PoolTransformer(2, image_shape=(8, 8)).fit(X[keep])
    model = LogisticRegression(max_iter=300).fit(features.transform(X[keep]), y[keep])
    fig = plot_feature_importance(model, features)
    assert [ax.get_ylabel() for ax in heat_axes(fig)] == ["8 vs 3"]
    fig = plot_feature_importance(model, features, class_names=["three", "eight"])
    assert [ax.get_ylabel() for ax in heat_axes(fig)] == ["eight vs three"]


def test_importance_draws_one_image_per_class_and_explicit_filters():
    coef = np.arange(2 * 3 * 3 * 2, dtype=float).reshape(2, 18)
    images = np.random.RandomState(1).rand(2, 6, 6)
    bank = np.random.RandomState(2).randn(2, 3, 3)
    fig = plot_feature_importance(coef, (3, 3, 2), images=images, filters=bank)
    image_axes = [ax for ax in fig.axes if ax.images and not ax.get_ylabel()]
    drawn = [np.asarray(ax.images[0].get_array()) for ax in image_axes]
    assert any(d.shape == (6, 6) and np.array_equal(d, images[1]) for d in drawn)
    assert any(d.shape == (3, 7) for d in drawn)  # the strip: 2 kernels and a gap


def test_importance_draws_into_a_subfigure_and_leaves_its_input_alone():
    coef = np.random.RandomState(3).randn(2, 8)
    before = coef.copy()
    fig = plt.figure()
    left, _ = fig.subfigures(1, 2)
    assert plot_feature_importance(coef, (2, 2, 2), figure=left) is left
    np.testing.assert_array_equal(coef, before)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((np.ones((2, 10)), (2, 2, 2)), {}, ValueError, "10 features but the layout"),
        ((np.ones(8),), {}, ValueError, "layout is needed"),
        ((np.ones(8), (2, 4)), {}, ValueError, r"\(rows, cols, n_maps\) of positive ints"),
        ((np.ones(8), (2, 2, 0)), {}, ValueError, "positive ints"),
        ((np.ones(8), "2x2x2"), {}, TypeError, "layout must be a fitted PoolTransformer"),
        ((np.ones(8), PoolTransformer()), {}, NotFittedError, "not fitted"),
        ((np.full(8, np.nan), (2, 2, 2)), {}, ValueError, "NaN or infinite"),
        ((np.ones((1, 2, 8)), (2, 2, 2)), {}, ValueError, r"\(n_classes, n_features\)"),
        ((np.ones((3, 8)), (2, 2, 2)), {"class_names": ["a"]}, ValueError, "1 entries"),
        ((np.ones((3, 8)), (2, 2, 2)), {"classes": [5]}, ValueError, "values among"),
        ((np.ones((3, 8)), (2, 2, 2)), {"images": np.ones((2, 4, 4))}, ValueError, "images"),
        ((np.ones((1, 8)), (2, 2, 2)), {"filters": np.ones((3, 3, 3))}, ValueError, "2 maps"),
        ((np.ones(8), (2, 2, 2)), {"figure": "new"}, TypeError, "figure must be"),
    ],
)
def test_importance_refuses_bad_input_saying_what_to_pass(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        plot_feature_importance(*args, **kwargs)


def test_importance_refuses_models_without_coefficients_and_pipelines_without_pooling(digits):
    X, y = digits
    knn = KNeighborsClassifier().fit(X, y)
    with pytest.raises(TypeError, match="KNeighborsClassifier has no coef_"):
        plot_feature_importance(knn, (8, 8, 1))
    flat = make_pipeline(StandardScaler(), LogisticRegression(max_iter=50)).fit(X, y)
    with pytest.raises(ValueError, match="no PoolTransformer or ConvPool step"):
        plot_feature_importance(flat)
