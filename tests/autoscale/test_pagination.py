"""Page tokens are opaque, round-trip, and bad ones are INVALID_ARGUMENT on page_token."""

import base64
import json

import pytest

from autoscale.errors import InvalidArgument
from autoscale.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_BYTES, MAX_PAGE_SIZE, page_request, paginate
from autoscale.v1 import group_pb2


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


def _token(after: object) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode()


@pytest.mark.parametrize(
    ("after", "tie_breaker"),
    [
        ([int("9" * 401), "a1"], str),
        ([1700000000.5, 2**63], int),
        ([1700000000.5, True], int),
        ([True, "a1"], str),
    ],
    ids=["a 401-digit time", "a sequence beyond 64 bits", "a boolean sequence", "a boolean time"],
)
def test_a_token_whose_numbers_no_database_takes_is_a_bad_page_token(after, tie_breaker):
    with pytest.raises(InvalidArgument) as raised:
        page_request(10, _token(after)).after_time_and(tie_breaker)
    assert raised.value.violations[0].field == "page_token"


def test_a_token_nested_beyond_the_json_readers_depth_is_a_bad_page_token():
    token = base64.urlsafe_b64encode(b'{"after": ' + b"[" * 100_000 + b"]" * 100_000 + b"}").decode()
    with pytest.raises(InvalidArgument):
        page_request(10, token)


def test_a_token_from_paginate_of_a_time_ordered_list_resumes_after_its_last_item():
    page, token = paginate([(1700000000.5, 7), (1700000000.25, 6)], 1, lambda item: list(item))
    assert page_request(1, token).after_time_and(int) == (1700000000.5, 7)


def _activity(cause_bytes: int) -> group_pb2.Activity:
    return group_pb2.Activity(name="a", cause="c" * cause_bytes)


def test_a_page_ends_before_its_items_pass_the_byte_bound_and_its_token_resumes_after_its_last_item():
    fetched = [(f"id-{n}", 400_000) for n in range(5)]
    page, token = paginate(fetched, 4, lambda item: item[0], lambda item: _activity(item[1]))
    assert len(page) == 2 and sum(message.ByteSize() for message in page) <= MAX_PAGE_BYTES
    assert page_request(4, token).after == "id-1"


def test_an_item_larger_than_the_byte_bound_makes_a_page_alone():
    fetched = [("big", MAX_PAGE_BYTES + 1), ("small", 10)]
    page, token = paginate(fetched, 10, lambda item: item[0], lambda item: _activity(item[1]))
    assert [len(message.cause) for message in page] == [MAX_PAGE_BYTES + 1]
    assert page_request(10, token).after == "big"


def test_small_items_fill_a_page_by_count_and_the_last_page_has_no_token():
    fetched = [(f"id-{n}", 10) for n in range(3)]
    page, token = paginate(fetched, 2, lambda item: item[0], lambda item: _activity(item[1]))
    assert (len(page), page_request(2, token).after) == (2, "id-1")
    assert paginate(fetched, 3, lambda item: item[0], lambda item: _activity(item[1]))[1] == ""
