"""API keys authenticate from memory; revoked and new keys are noticed at the next read of the store."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from autoscale.database import Database
from autoscale.errors import Unauthenticated
from autoscale.identity.api_keys import new_key
from autoscale.identity.caller import Role
from autoscale.identity.key_authenticator import ApiKeyAuthenticator
from autoscale.identity.key_store import KeyStore
from tests.support import FakeClock


@pytest.fixture
def store(database_url: str) -> Iterator[KeyStore]:
    database = Database(database_url)
    try:
        yield KeyStore(database)
    finally:
        database.dispose()


def _made(store: KeyStore, clock: FakeClock, **kwargs: object) -> str:
    values: dict[str, object] = {"project": "p1", "role": Role.MEMBER, "service": False, "expire_time": None} | kwargs
    key, token = new_key(now=clock(), **values)  # type: ignore[arg-type]
    store.add(key)
    return token


def test_a_stored_key_authenticates_as_its_project_and_role(store: KeyStore) -> None:
    clock = FakeClock()
    token = _made(store, clock, role=Role.READER)
    caller = ApiKeyAuthenticator(store, clock).authenticate(token)
    assert (caller.project, caller.role, caller.service) == ("p1", Role.READER, False)


def test_no_token_a_foreign_token_and_a_wrong_secret_are_unauthenticated(store: KeyStore) -> None:
    clock = FakeClock()
    token = _made(store, clock)
    authenticator = ApiKeyAuthenticator(store, clock)
    with pytest.raises(Unauthenticated, match="needs credentials"):
        authenticator.authenticate(None)
    with pytest.raises(Unauthenticated, match="not an API key"):
        authenticator.authenticate("gAAAAAB-a-keystone-token")
    with pytest.raises(Unauthenticated, match="unknown, revoked or expired"):
        authenticator.authenticate(token[:-2] + "xx")


def test_an_expired_key_is_refused_at_once(store: KeyStore) -> None:
    clock = FakeClock()
    token = _made(store, clock, expire_time=clock() + 60)
    authenticator = ApiKeyAuthenticator(store, clock)
    authenticator.authenticate(token)
    clock.advance(60)
    with pytest.raises(Unauthenticated, match="unknown, revoked or expired"):
        authenticator.authenticate(token)


def test_a_revoked_key_is_refused_from_the_next_refresh(store: KeyStore) -> None:
    clock = FakeClock()
    token = _made(store, clock)
    authenticator = ApiKeyAuthenticator(store, clock)
    authenticator.authenticate(token)
    store.revoke(token.split("_")[1], clock())
    authenticator.refresh()
    with pytest.raises(Unauthenticated):
        authenticator.authenticate(token)


def test_a_key_made_after_the_last_refresh_works_at_once(store: KeyStore) -> None:
    clock = FakeClock()
    authenticator = ApiKeyAuthenticator(store, clock)
    clock.advance(1)
    token = _made(store, clock)
    assert authenticator.authenticate(token).project == "p1"


def test_tokens_naming_unknown_keys_read_the_store_at_most_once_a_miss_interval(store: KeyStore) -> None:
    clock = FakeClock()
    authenticator = ApiKeyAuthenticator(store, clock, miss_refresh_interval=0.25)
    reads = []
    original = store.usable
    store.usable = lambda now: reads.append(now) or original(now)  # type: ignore[method-assign]
    clock.advance(1)
    for _ in range(50):
        with pytest.raises(Unauthenticated):
            authenticator.authenticate("ask_0123456789ab_made-up")
    assert len(reads) == 1


def test_with_service_keys_only_a_projects_key_is_refused(store: KeyStore) -> None:
    clock = FakeClock()
    user_token = _made(store, clock)
    service_token = _made(store, clock, project="", role=Role.ADMIN, service=True)
    authenticator = ApiKeyAuthenticator(store, clock, service_keys_only=True)
    assert authenticator.authenticate(service_token).service
    with pytest.raises(Unauthenticated):
        authenticator.authenticate(user_token)


def test_a_trusted_key_works_without_being_stored(store: KeyStore) -> None:
    clock = FakeClock()
    key, token = new_key(project="", role=Role.ADMIN, service=True, now=clock(), expire_time=None)
    assert ApiKeyAuthenticator(store, clock, trusted=(key,)).authenticate(token).service


def test_a_known_keys_check_costs_well_under_50_microseconds(store: KeyStore) -> None:
    clock = FakeClock()
    token = _made(store, clock)
    authenticator = ApiKeyAuthenticator(store, clock)
    rounds = 20_000
    started = time.perf_counter()
    for _ in range(rounds):
        authenticator.authenticate(token)
    per_check = (time.perf_counter() - started) / rounds
    print(f"API key check: {per_check * 1e6:.1f} µs")
    assert per_check < 50e-6
