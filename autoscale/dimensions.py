"""The canonical form of a series' dimensions, shared by the services that name series to each other.

The metrics service identifies a series by its metric and this string; it tells the
alarm service of series in the same form, so neither re-sorts or re-encodes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

Pairs = tuple[tuple[str, str], ...]
"""Dimensions as (name, value) pairs sorted by name."""


def canonical_dimensions_key(dimensions: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    """One string per set of dimensions, whatever the order they came in: the JSON object with sorted keys.

    It identifies a series in storage, orders series after their metric, and is
    read back into the dimensions, so it must never change for the same dimensions
    (hence fixed separators). Its UTF-8 bytes order as its code points do, so byte
    order (SQLite BINARY, PostgreSQL "C") is the canonical order.
    """
    return json.dumps(dict(dimensions), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dimensions_from_key(dimensions_key: str) -> Pairs:
    """The sorted dimension pairs a canonical key stands for; ValueError when it is no JSON object of strings."""
    try:
        parsed = json.loads(dimensions_key)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error}") from None
    if not isinstance(parsed, dict) or not all(isinstance(value, str) for value in parsed.values()):
        raise ValueError("not a JSON object of strings")
    return tuple(sorted(parsed.items()))
