"""Opaque page tokens for List methods (AIP-158), and pages bounded in count and in bytes.

A token encodes the sort key of the last item returned; a List call asks the
repository for items after it. Tokens are base64 so callers treat them as opaque.
A page ends early, with a token, once its items would outgrow MAX_PAGE_BYTES.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from google.protobuf.message import Message

from autoscale.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_PAGE_BYTES = 1 << 20
"""Bytes of a page's items at most (1 MiB; one item alone may be larger, within the fields' limits).

NOTE: gRPC refuses a message over 4 MiB with RESOURCE_EXHAUSTED: two records of 3 MB made
ListActivities fail for every caller, and a page of many mid-sized ones would too.
"""
ITEM_FRAMING_BYTES = 6
"""Bytes a repeated message field adds to each item at most: its tag and a length of up to five bytes."""

Item = TypeVar("Item")
ItemMessage = TypeVar("ItemMessage", bound=Message)


@dataclass(frozen=True)
class PageRequest:
    """A validated page request: how many items, and after which sort key."""

    size: int
    after: Any = None

    def after_id(self) -> str | None:
        """The id a page of a list ordered by id starts after (None on the first page)."""
        if self.after is not None and not isinstance(self.after, str):
            raise bad_page_token()
        return self.after

    def after_time_and(self, tie_breaker: type) -> tuple[float, Any] | None:
        """The (time, tie-breaker) a page of a list ordered by time starts after (None on the first page)."""
        after = self.after
        if after is None:
            return None
        if not (isinstance(after, list) and len(after) == 2 and _is_time(after[0]) and _is_tie_breaker(after[1], tie_breaker)):
            raise bad_page_token()
        return float(after[0]), after[1]


def _is_time(value: Any) -> bool:
    """Whether a token's time is a number a database can compare: a finite float (a 401-digit integer is none)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _is_tie_breaker(value: Any, tie_breaker: type) -> bool:
    """Whether a token's tie-breaker has the type the list orders by (an integer one within a database's 64 bits)."""
    if tie_breaker is int:
        return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63
    return isinstance(value, tie_breaker)


def bad_page_token() -> InvalidArgument:
    """The error of a page_token this List method did not make."""
    return InvalidArgument.field("page_token", "is not a token returned by this List method")


def page_request(page_size: int, page_token: str) -> PageRequest:
    """Validate page_size and page_token (raising InvalidArgument naming the field)."""
    if page_size < 0:
        raise InvalidArgument.field("page_size", f"must be >= 0, got {page_size}")
    size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    if not page_token:
        return PageRequest(size)
    try:
        after = json.loads(base64.urlsafe_b64decode(page_token.encode()).decode())["after"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError):
        raise bad_page_token() from None
    return PageRequest(size, after)


@overload
def paginate(fetched: Sequence[Item], size: int, sort_key: Callable[[Item], Any]) -> tuple[list[Item], str]: ...


@overload
def paginate(
    fetched: Sequence[Item], size: int, sort_key: Callable[[Item], Any], to_message: Callable[[Item], ItemMessage]
) -> tuple[list[ItemMessage], str]: ...


def paginate(
    fetched: Sequence[Item], size: int, sort_key: Callable[[Item], Any], to_message: Callable[[Item], Message] | None = None
) -> tuple[list[Any], str]:
    """Split what a repository fetched with `limit=size + 1` into a page and its next token.

    `sort_key(item)` must return a JSON-serialisable key the repository orders by; the
    token is empty on the last page. With `to_message`, the page holds the items'
    messages and ends early, with a token, before their bytes would pass MAX_PAGE_BYTES
    (always holding one item at least); without it, the page is bounded in count only.
    """
    if to_message is None:
        if len(fetched) <= size:
            return list(fetched), ""
        return list(fetched[:size]), _token(sort_key(fetched[size - 1]))
    page: list[Any] = []
    page_bytes = 0
    for position, item in enumerate(fetched[:size]):
        message = to_message(item)
        page_bytes += message.ByteSize() + ITEM_FRAMING_BYTES
        if page and page_bytes > MAX_PAGE_BYTES:
            return page, _token(sort_key(fetched[position - 1]))
        page.append(message)
    return page, _token(sort_key(fetched[size - 1])) if len(fetched) > size else ""


def _token(after: Any) -> str:
    """The page token of a page that ended at the item of sort key `after`."""
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode()
