"""The presets table: every row builds what it declares, and the docs say what the table says."""

import re
import warnings

import numpy as np
import pytest

from skconv import ConvFeatureExtractor
from skconv.filters._presets import PRESETS, RENAMED_PRESETS, BankParts, build_bank

RNG = np.random.RandomState(0)
IMAGES = {"grey": RNG.rand(12, 10, 9, 1), "colour": RNG.rand(12, 10, 9, 3)}


def applied_per_channel(name):
    """Whether preset ``name`` builds a 2-D bank for colour images (applied channel by channel)."""
    bank = build_bank(name, n_channels=3, images=IMAGES["colour"], random_state=0).filters
    return bank.ndim == 3


@pytest.mark.parametrize("name", list(PRESETS))
@pytest.mark.parametrize("colour", ["grey", "colour"])
def test_every_preset_builds_its_declared_defaults(name, colour):
    preset, images = PRESETS[name], IMAGES[colour]
    n_channels = images.shape[3]
    conv = ConvFeatureExtractor(filters=name, random_state=0).fit(images)
    k = preset.default_kernel_size
    expected = (preset.default_n_filters, k, k)
    if not applied_per_channel(name) and n_channels > 1:
        expected += (n_channels,)
    assert conv.filters_.shape == expected
    assert conv.filters_.dtype == conv.bias_.dtype == np.float64
    assert conv.bias_.shape == (preset.default_n_filters,)
    n_maps = preset.default_n_filters * (n_channels if applied_per_channel(name) else 1)
    assert conv.output_shape_ == (10, 9, n_maps)
    # Only k-means learns under contrast normalisation; fixed banks have no bias.
    assert (conv.contrast_eps_ is not None) == (name == "kmeans")
    if not preset.learned:
        np.testing.assert_array_equal(conv.bias_, 0)


@pytest.mark.parametrize("name", [name for name, p in PRESETS.items() if p.learned])
def test_learned_presets_learn_from_the_images(name):
    grey = ConvFeatureExtractor(filters=name, random_state=0).fit(IMAGES["grey"])
    other = ConvFeatureExtractor(filters=name, random_state=0).fit(IMAGES["grey"] ** 3)
    assert not np.allclose(grey.filters_, other.filters_)


@pytest.mark.parametrize("name", list(PRESETS))
def test_sizes_are_taken_or_refused_as_the_table_says(name):
    preset = PRESETS[name]
    images = IMAGES["grey"]
    for parameter, value, takes in (
        ("n_filters", 2, preset.takes_n_filters),
        ("kernel_size", 5 if name == "edges" else 4, preset.takes_kernel_size),
    ):
        conv = ConvFeatureExtractor(filters=name, random_state=0, **{parameter: value})
        if takes:
            conv.fit(images)
            axis = 0 if parameter == "n_filters" else 1
            assert conv.filters_.shape[axis] == value
        else:
            with pytest.raises(ValueError, match=f"so {parameter} has nothing to choose"):
                conv.fit(images)


@pytest.mark.parametrize("name", list(PRESETS))
def test_build_bank_returns_the_patch_count_of_learned_banks_only(name):
    images = IMAGES["grey"]
    parts = build_bank(name, n_channels=1, images=images, n_patches=150, random_state=0)
    assert isinstance(parts, BankParts)
    # 12 images of 10x9 have 1,080 windows with "same" padding: 150 are drawn.
    assert parts.n_patches == (150 if PRESETS[name].learned else 0)
    if PRESETS[name].learned:
        with pytest.raises(ValueError, match="learns its bank from images"):
            build_bank(name, n_channels=1)


def test_build_bank_gives_the_bank_the_estimator_fits():
    images = IMAGES["colour"]
    conv = ConvFeatureExtractor("kmeans", n_filters=5, padding="valid", random_state=3)
    conv.fit(images)
    parts = build_bank(
        "kmeans", n_channels=3, n_filters=5, images=images, padding="valid", random_state=3
    )
    np.testing.assert_array_equal(parts.filters, conv.filters_)
    np.testing.assert_array_equal(parts.bias, conv.bias_)
    assert parts.contrast_eps == conv.contrast_eps_


@pytest.mark.parametrize(("old", "new"), list(RENAMED_PRESETS.items()))
def test_renamed_presets_warn_at_fit_and_build_the_same_bank(old, new):
    conv = ConvFeatureExtractor(filters=old)  # no warning before fit: __init__ only stores
    with pytest.warns(FutureWarning, match=f"filters='{old}' is deprecated in 0.2"):
        conv.fit(IMAGES["colour"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        renamed = ConvFeatureExtractor(filters=new).fit(IMAGES["colour"])
    np.testing.assert_array_equal(conv.filters_, renamed.filters_)
    np.testing.assert_array_equal(
        conv.transform(IMAGES["colour"]), renamed.transform(IMAGES["colour"])
    )


def test_the_parameter_constraint_accepts_exactly_the_table():
    (options, _) = ConvFeatureExtractor._parameter_constraints["filters"]
    assert options.options == set(PRESETS) | set(RENAMED_PRESETS)
    assert options.deprecated == set(RENAMED_PRESETS)


def parameter_doc(name: str) -> str:
    """The text of parameter ``name`` in ConvFeatureExtractor's docstring."""
    doc = ConvFeatureExtractor.__doc__
    match = re.search(rf"\n    {name} : .*?\n(.*?)\n    \w+ : ", doc, re.S)
    assert match, f"{name} is not documented"
    return " ".join(match.group(1).split())


@pytest.mark.parametrize(
    ("parameter", "default", "takes"),
    [
        ("n_filters", "default_n_filters", "takes_n_filters"),
        ("kernel_size", "default_kernel_size", "takes_kernel_size"),
    ],
)
def test_the_docstring_defaults_are_the_tables(parameter, default, takes):
    # The docstring lists each preset that takes the parameter as ``"name"`` <default>.
    documented = {
        name: int(value)
        for name, value in re.findall(r'``"(\w+)"`` (\d+)', parameter_doc(parameter))
    }
    table = {name: getattr(p, default) for name, p in PRESETS.items() if getattr(p, takes)}
    assert documented == table


def test_the_filters_docstring_names_every_preset_and_how_it_treats_channels():
    text = parameter_doc("filters")
    for name in [*PRESETS, *RENAMED_PRESETS]:
        assert f'``"{name}"``' in text
    channelwise = re.search(r"On colour .*? the (.*?) banks are applied to each channel", text)
    names = set(re.findall(r'``"(\w+)"``', channelwise.group(1)))
    assert names == {name for name in PRESETS if applied_per_channel(name)}
