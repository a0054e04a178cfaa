"""An API key is shown once, stored only as a salted hash, and read back from its token."""

from __future__ import annotations

import pytest

from autoscale.identity.api_keys import check_project, new_key, parse_token, secret_matches
from autoscale.identity.caller import Role

NOW = 1_700_000_000.0


def test_a_new_keys_token_names_its_id_and_the_stored_key_holds_no_secret() -> None:
    key, token = new_key(project="p1", role=Role.MEMBER, service=False, now=NOW, expire_time=None)
    parsed = parse_token(token)
    assert parsed is not None
    key_id, secret = parsed
    assert key_id == key.id and token.startswith("ask_")
    assert secret not in repr(key)
    assert secret_matches(key, secret)
    assert not secret_matches(key, secret[:-1] + ("A" if secret[-1] != "A" else "B"))


def test_two_keys_with_the_same_secret_would_be_stored_differently() -> None:
    first, _ = new_key(project="p1", role=Role.READER, service=False, now=NOW, expire_time=None)
    second, _ = new_key(project="p1", role=Role.READER, service=False, now=NOW, expire_time=None)
    assert first.salt != second.salt and first.secret_hash != second.secret_hash


@pytest.mark.parametrize("token", ["", "ask", "ask_", "ask_abc_secret", "gAAAAABkeystone-token", "xyz_0123456789ab_secret",
                                   "ask_0123456789ab_"])
def test_what_is_not_shaped_as_a_key_is_no_key(token: str) -> None:
    assert parse_token(token) is None


def test_a_key_is_refused_once_expired_or_revoked() -> None:
    key, _ = new_key(project="p1", role=Role.READER, service=False, now=NOW, expire_time=NOW + 60)
    assert key.refusal(NOW + 59) is None
    assert key.refusal(NOW + 60) == "the API key has expired"
    from dataclasses import replace

    assert replace(key, revoke_time=NOW + 1).refusal(NOW + 2) == "the API key was revoked"


def test_a_key_authenticates_as_its_project_and_role_and_a_service_key_as_a_peer() -> None:
    key, _ = new_key(project="p1", role=Role.READER, service=False, now=NOW, expire_time=None)
    caller = key.caller()
    assert (caller.project, caller.role, caller.service, caller.principal) == ("p1", Role.READER, False, f"key:{key.id}")
    service, _ = new_key(project="", role=Role.ADMIN, service=True, now=NOW, expire_time=None)
    assert service.caller().service


@pytest.mark.parametrize("project", ["", " p", "a/b", "p\n", "x" * 65, "-p"])
def test_a_project_name_is_letters_digits_and_a_few_marks(project: str) -> None:
    with pytest.raises(ValueError, match="is not a project"):
        check_project(project)


def test_keystone_project_ids_are_projects() -> None:
    check_project("8a9c2f0e4b6d4e0f9d1c2b3a4f5e6d7c")
