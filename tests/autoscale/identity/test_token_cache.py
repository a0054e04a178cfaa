"""The token cache answers a validation until its token expires or it is `revalidate_after` old, and holds a bounded number."""

from __future__ import annotations

import pytest

from autoscale.identity.token_cache import TokenCache, token_fingerprint, token_key

NOW = 1_700_000_000.0
HOUR = 3600.0


def test_a_validation_is_answered_until_it_is_revalidate_after_old() -> None:
    cache: TokenCache[str] = TokenCache(max_entries=10, revalidate_after=60)
    cache.put(b"k", "alice", expires_at=NOW + HOUR, validated_at=NOW)
    assert cache.get(b"k", NOW + 59.999) == "alice"
    assert cache.get(b"k", NOW + 60) is None


def test_a_validation_is_not_answered_once_its_token_has_expired() -> None:
    cache: TokenCache[str] = TokenCache(max_entries=10, revalidate_after=60)
    cache.put(b"k", "alice", expires_at=NOW + 10, validated_at=NOW)
    assert cache.get(b"k", NOW + 9.999) == "alice"
    assert cache.get(b"k", NOW + 10) is None


def test_an_entry_no_longer_trusted_is_forgotten_even_if_the_clock_goes_back() -> None:
    cache: TokenCache[str] = TokenCache(max_entries=10, revalidate_after=60)
    cache.put(b"k", "alice", expires_at=NOW + HOUR, validated_at=NOW)
    assert cache.get(b"k", NOW + 61) is None
    assert cache.get(b"k", NOW) is None
    assert len(cache) == 0


def test_a_token_already_expired_is_not_stored() -> None:
    cache: TokenCache[str] = TokenCache(max_entries=10, revalidate_after=60)
    cache.put(b"k", "alice", expires_at=NOW, validated_at=NOW)
    assert len(cache) == 0


def test_a_new_validation_replaces_the_old_one_and_is_trusted_from_its_own_time() -> None:
    cache: TokenCache[str] = TokenCache(max_entries=10, revalidate_after=60)
    cache.put(b"k", "alice", expires_at=NOW + HOUR, validated_at=NOW)
    cache.put(b"k", "alice again", expires_at=NOW + HOUR, validated_at=NOW + 50)
    assert cache.get(b"k", NOW + 100) == "alice again"
    assert len(cache) == 1


def test_the_least_recently_used_entry_goes_first_when_the_cache_is_full() -> None:
    cache: TokenCache[str] = TokenCache(max_entries=2, revalidate_after=60)
    cache.put(b"a", "alice", expires_at=NOW + HOUR, validated_at=NOW)
    cache.put(b"b", "bob", expires_at=NOW + HOUR, validated_at=NOW)
    assert cache.get(b"a", NOW) == "alice"  # now bob is the least recently used
    cache.put(b"c", "carol", expires_at=NOW + HOUR, validated_at=NOW)
    assert [cache.get(key, NOW) for key in (b"a", b"b", b"c")] == ["alice", None, "carol"]


@pytest.mark.parametrize(("max_entries", "revalidate_after"), [(0, 60.0), (10, 0.0)])
def test_a_cache_that_could_hold_nothing_is_refused(max_entries: int, revalidate_after: float) -> None:
    with pytest.raises(ValueError):
        TokenCache[str](max_entries, revalidate_after)


def test_tokens_are_filed_and_logged_by_digests_that_do_not_contain_them() -> None:
    token = "gAAAAABn-secret-token"
    assert token_key(token) == token_key(token) != token_key(token + "x")
    assert len(token_fingerprint(token)) == 12 and "secret" not in token_fingerprint(token)
