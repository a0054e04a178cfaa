"""Page tokens are opaque, round-trip, and bad ones are INVALID_ARGUMENT on page_token."""

import pytest

from autoscale.errors import InvalidArgument
from autoscale.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, page_request, paginate


def test_a_token_from_paginate_resumes_after_the_last_item():
    page, token = paginate(["a", "b", "c"], 2, lambda item: item)
    assert page == ["a", "b"]
    assert page_request(2, token).after == "b"


def test_the_last_page_has_no_token():
    assert paginate(["a", "b"], 2, lambda item: item) == (["a", "b"], "")


@pytest.mark.parametrize(("size", "expected"), [(0, DEFAULT_PAGE_SIZE), (5, 5), (10**6, MAX_PAGE_SIZE)])
def test_page_size_defaults_and_caps(size, expected):
    assert page_request(size, "").size == expected


@pytest.mark.parametrize(("size", "token", "field"), [(-1, "", "page_size"), (10, "garbage!", "page_token"), (10, "e30=", "page_token")])
def test_bad_page_requests_name_the_field(size, token, field):
    with pytest.raises(InvalidArgument) as raised:
        page_request(size, token)
    assert raised.value.violations[0].field == field
