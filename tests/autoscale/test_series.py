"""The canonical form of a series' dimensions, as the services name series to each other."""

from __future__ import annotations

import pytest

from autoscale.series import canonical_dimensions_key, dimensions_from_key


def test_the_canonical_dimensions_key_does_not_depend_on_order():
    forward = canonical_dimensions_key({"group": "web", "instance": "i-1", "zone": "a"})
    backward = canonical_dimensions_key([("zone", "a"), ("instance", "i-1"), ("group", "web")])
    assert forward == backward == '{"group":"web","instance":"i-1","zone":"a"}'
    assert canonical_dimensions_key({}) == "{}"


def test_the_canonical_dimensions_key_keeps_unicode_and_reads_back():
    dimensions = {"région": "zürich", "b": 'quote " and \\'}
    key = canonical_dimensions_key(dimensions)
    assert "zürich" in key
    assert dimensions_from_key(key) == tuple(sorted(dimensions.items()))


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"a": 1}', '{"a": null}', '"x"'])
def test_a_key_that_is_no_json_object_of_strings_is_a_value_error(text):
    with pytest.raises(ValueError):
        dimensions_from_key(text)
