"""A bounded cache of validated bearer tokens: an answer is reused until its token expires or its validation is too old.

Pure: every method takes `now` (seconds since the epoch) from its caller. Entries are filed under a digest of their
token (`token_key`), so the cache never holds a raw token.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

ValueT = TypeVar("ValueT")


def token_key(token: str) -> bytes:
    """What the cache files `token` under: its SHA-256."""
    return hashlib.sha256(token.encode()).digest()


def token_fingerprint(token: str) -> str:
    """What a log line may say of `token`: the first 12 hex digits of its SHA-256 (enough to tell tokens apart)."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class _Entry(Generic[ValueT]):
    value: ValueT
    trusted_until: float
    """The token's expiry, or its validation's time plus `revalidate_after`, whichever comes first."""


class TokenCache(Generic[ValueT]):
    """Validated tokens, at most `max_entries` (the least recently used go first), each trusted for `revalidate_after`
    seconds after its validation and never beyond its token's expiry. Safe to share between threads."""

    def __init__(self, max_entries: int, revalidate_after: float) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        if revalidate_after <= 0:
            raise ValueError(f"revalidate_after must be positive, not {revalidate_after}")
        self._max_entries = max_entries
        self._revalidate_after = revalidate_after
        self._entries: OrderedDict[bytes, _Entry[ValueT]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes, now: float) -> ValueT | None:
        """The value stored under `key` while it is still trusted at `now`; None otherwise (then it is forgotten)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if now >= entry.trusted_until:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry.value

    def put(self, key: bytes, value: ValueT, expires_at: float, validated_at: float) -> None:
        """Store what a validation at `validated_at` found for a token that expires at `expires_at`.

        An expired token is not stored. `validated_at` should be taken before the validation was asked, so that the
        time a token is trusted counts from before the answer was made, never after.
        """
        trusted_until = min(expires_at, validated_at + self._revalidate_after)
        if trusted_until <= validated_at:
            return
        with self._lock:
            self._entries[key] = _Entry(value, trusted_until)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
