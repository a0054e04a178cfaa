"""Calls are authenticated from their bearer token, held to their method's role, and run as their caller."""

from __future__ import annotations

import pytest

from autoscale.errors import PermissionDenied, Unauthenticated
from autoscale.identity.authentication import NoAuthentication
from autoscale.identity.caller import Caller, Role, acting_for, current_caller, current_caller_or_none, current_project
from autoscale.identity.interceptor import bearer_token, caller_of

GET_GROUP = "/autoscale.v1.GroupService/GetGroup"
CREATE_GROUP = "/autoscale.v1.GroupService/CreateGroup"
NOTIFY = "/autoscale.internal.v1.SampleFeedService/NotifySamples"


class _Tokens:
    """Knows a fixed table of tokens."""

    def __init__(self, callers: dict[str, Caller]) -> None:
        self._callers = callers

    def authenticate(self, token: str | None) -> Caller:
        if token is None or token not in self._callers:
            raise Unauthenticated("no such token")
        return self._callers[token]


READER = Caller("alice", "p1", Role.READER)
MEMBER = Caller("bob", "p1", Role.MEMBER)
PEER = Caller("autoscale-service", "p0", Role.ADMIN, service=True)
TOKENS = _Tokens({"r": READER, "m": MEMBER, "s": PEER})


def _bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def test_a_call_without_a_token_is_unauthenticated() -> None:
    with pytest.raises(Unauthenticated):
        caller_of(TOKENS, GET_GROUP, ())


def test_a_token_that_is_not_a_bearer_token_is_named_as_such() -> None:
    with pytest.raises(Unauthenticated, match="Bearer <token>"):
        bearer_token((("authorization", "Basic dXNlcjpwYXNz"),))


def test_the_bearer_scheme_is_read_without_regard_to_case() -> None:
    assert bearer_token((("authorization", "bearer abc"),)) == "abc"


def test_a_reader_may_read_but_not_write() -> None:
    assert caller_of(TOKENS, GET_GROUP, _bearer("r")) == READER
    with pytest.raises(PermissionDenied, match="member role in project p1"):
        caller_of(TOKENS, CREATE_GROUP, _bearer("r"))


def test_a_member_may_write() -> None:
    assert caller_of(TOKENS, CREATE_GROUP, _bearer("m")) == MEMBER


def test_a_user_cannot_call_the_internal_services() -> None:
    with pytest.raises(PermissionDenied, match="own services"):
        caller_of(TOKENS, NOTIFY, _bearer("m"))


def test_a_user_cannot_name_another_project_in_its_metadata() -> None:
    caller = caller_of(TOKENS, GET_GROUP, (*_bearer("m"), ("x-autoscale-project", "p2")))
    assert caller is not None and caller.project == "p1"


def test_a_peer_acts_in_the_project_its_call_names() -> None:
    caller = caller_of(TOKENS, NOTIFY, (*_bearer("s"), ("x-autoscale-project", "p2")))
    assert caller is not None and caller.project == "p2" and caller.service


def test_with_authentication_off_every_caller_acts_in_the_default_project_unless_a_peer_names_one() -> None:
    off = NoAuthentication("default")
    caller = caller_of(off, CREATE_GROUP, ())
    assert caller is not None and caller.project == "default"
    named = caller_of(off, CREATE_GROUP, (("x-autoscale-project", "p2"),))
    assert named is not None and named.project == "p2"


def test_health_checks_need_no_caller() -> None:
    assert caller_of(TOKENS, "/grpc.health.v1.Health/Check", ()) is None


def test_background_work_acts_for_its_project_and_only_inside_the_block() -> None:
    assert current_caller_or_none() is None
    with acting_for("p3"):
        assert current_project() == "p3"
        assert current_caller().service
    assert current_caller_or_none() is None
    with pytest.raises(RuntimeError, match="no caller"):
        current_caller()


@pytest.mark.parametrize("project", ["x" * 65, "a b", "../p", "p\n"])
def test_a_peer_naming_a_project_that_cannot_be_one_is_an_invalid_argument(project: str) -> None:
    from autoscale.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="x-autoscale-project"):
        caller_of(TOKENS, NOTIFY, (*_bearer("s"), ("x-autoscale-project", project)))
