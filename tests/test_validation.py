"""The one validator of sizes and pairs, ``skconv._validation``."""

from collections import OrderedDict

import numpy as np
import pytest

from skconv import ConvFeatureExtractor, PoolTransformer
from skconv._validation import as_pair

IMAGES = np.random.RandomState(0).rand(3, 8, 8)


@pytest.mark.parametrize("value", [(2, 3), [2, 3], np.array([2, 3]), range(2, 4)])
def test_ordered_pairs_are_read_as_rows_then_cols(value):
    assert as_pair(value, "stride") == (2, 3)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ({1, 2}, "set"),
        (frozenset({1, 2}), "frozenset"),
        ({1: 2, 3: 4}, "dict"),
        (OrderedDict([(1, 2), (3, 4)]), "OrderedDict"),
        ({1: 2, 3: 4}.keys(), "dict_keys"),
    ],
)
def test_unordered_containers_are_refused_even_with_two_ints(value, kind):
    with pytest.raises(TypeError) as caught:
        as_pair(value, "stride")
    message = str(caught.value)
    assert message.startswith("stride must be an int or a pair of ints (rows, cols); got a ")
    assert f"got a {kind} " in message
    assert message.endswith("which has no order: pass a tuple (rows, cols) instead.")


@pytest.mark.parametrize("value", ["12", b"12", iter((1, 2)), 2.0, None, np.array([[1, 2]])])
def test_strings_iterators_and_other_values_are_refused(value):
    with pytest.raises(TypeError, match=r"^padding must be an int or a pair of ints"):
        as_pair(value, "padding", minimum=0)


@pytest.mark.parametrize("name", ["stride", "padding", "kernel_size"])
def test_conv_refuses_a_set_as_a_pair(name):
    params = {name: {1, 2}, "filters": "random"}
    with pytest.raises(TypeError, match=rf"^{name} must be an int or a pair .* got a set"):
        ConvFeatureExtractor(**params).fit(IMAGES)


@pytest.mark.parametrize("name", ["pool_size", "stride", "padding", "grid"])
def test_pool_refuses_a_set_as_a_pair(name):
    with pytest.raises(TypeError, match=rf"^{name} must be an int or a pair .* got a set"):
        PoolTransformer(**{name: {1, 2}}).fit(IMAGES[..., None])


def test_conv_refuses_a_dict_as_stride():
    with pytest.raises(TypeError, match=r"^stride must .* got a dict \{1: 2, 3: 4\}"):
        ConvFeatureExtractor(stride={1: 2, 3: 4}).fit(IMAGES)
