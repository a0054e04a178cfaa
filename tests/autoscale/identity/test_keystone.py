"""Keystone tokens become callers: validated by a real Keystone (the `keystone` fixture), cached, refused once revoked or
expired, and never accepted when Keystone cannot be asked."""

from __future__ import annotations

import http.server
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from autoscale.errors import PermissionDenied, Unauthenticated, Unavailable
from autoscale.identity.caller import Caller, Role
from autoscale.identity.interceptor import caller_of
from autoscale.identity.keystone import NEEDS_PROJECT_SCOPE, KeystoneAuthenticator, strongest_role
from tests.keystone_server import INSTALL_TIMEOUT, START_TIMEOUT, KeystoneServer
from tests.support import FakeClock

# The first test to take the `keystone` fixture installs Keystone (once per machine) and starts it.
pytestmark = pytest.mark.timeout(INSTALL_TIMEOUT + 2 * START_TIMEOUT)

GET_GROUP = "/autoscale.v1.GroupService/GetGroup"
CREATE_GROUP = "/autoscale.v1.GroupService/CreateGroup"


def _authenticator(keystone: KeystoneServer, clock: FakeClock, revalidate_after: float = 60.0) -> KeystoneAuthenticator:
    return KeystoneAuthenticator(keystone.url, clock=clock, revalidate_after=revalidate_after)


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves, starting at the real time (Keystone's tokens expire in real time)."""
    return FakeClock(time.time())


@pytest.mark.parametrize(
    ("user", "project", "role"),
    [("p1-reader", "p1", Role.READER), ("p1-member", "p1", Role.MEMBER), ("p1-admin", "p1", Role.ADMIN), ("p2-member", "p2", Role.MEMBER)],
)
def test_a_project_scoped_token_is_its_user_in_its_project_with_its_strongest_role(
    keystone: KeystoneServer, clock: FakeClock, user: str, project: str, role: Role
) -> None:
    caller = _authenticator(keystone, clock).authenticate(keystone.project_token(user))
    assert caller == Caller(principal=f"user:{keystone.users[user].id}", project=keystone.projects[project], role=role)


def test_a_keystone_reader_may_read_but_not_write(keystone: KeystoneServer, clock: FakeClock) -> None:
    authenticator, token = _authenticator(keystone, clock), keystone.project_token("p1-reader")
    bearer = (("authorization", f"Bearer {token}"),)
    assert caller_of(authenticator, GET_GROUP, bearer) is not None
    with pytest.raises(PermissionDenied, match="member role"):
        caller_of(authenticator, CREATE_GROUP, bearer)


def test_a_token_with_none_of_the_default_roles_is_permission_denied(keystone: KeystoneServer, clock: FakeClock) -> None:
    with pytest.raises(PermissionDenied, match="p1-observer .* has none of the roles reader, member, admin"):
        _authenticator(keystone, clock).authenticate(keystone.project_token("p1-observer"))


def test_a_garbage_token_is_unauthenticated(keystone: KeystoneServer, clock: FakeClock) -> None:
    with pytest.raises(Unauthenticated, match="not valid"):
        _authenticator(keystone, clock).authenticate("gAAAAABnot-a-token-at-all")


def test_a_call_without_a_token_is_unauthenticated(keystone: KeystoneServer, clock: FakeClock) -> None:
    with pytest.raises(Unauthenticated, match="Keystone token is needed"):
        _authenticator(keystone, clock).authenticate(None)


@pytest.mark.parametrize("scope", ["unscoped", "domain", "system"])
def test_a_token_not_scoped_to_a_project_is_refused_saying_a_project_scoped_one_is_needed(
    keystone: KeystoneServer, clock: FakeClock, scope: str
) -> None:
    token = {
        "unscoped": lambda: keystone.unscoped_token("p1-member"),
        "domain": lambda: keystone.domain_token("domain-reader"),
        "system": keystone.system_token,
    }[scope]()
    with pytest.raises(Unauthenticated) as refused:
        _authenticator(keystone, clock).authenticate(token)
    assert refused.value.message == NEEDS_PROJECT_SCOPE


def test_a_revoked_token_is_refused_once_its_validation_is_revalidate_after_old(keystone: KeystoneServer, clock: FakeClock) -> None:
    authenticator, token = _authenticator(keystone, clock, revalidate_after=30), keystone.project_token("p1-member")
    authenticator.authenticate(token)
    keystone.revoke(token)
    clock.advance(29.9)
    assert authenticator.authenticate(token).role == Role.MEMBER  # the documented window: still the cached answer
    clock.advance(0.1)
    with pytest.raises(Unauthenticated, match="not valid"):
        authenticator.authenticate(token)


def test_a_token_is_refused_from_its_expiry_on(keystone: KeystoneServer, clock: FakeClock) -> None:
    authenticator, token = _authenticator(keystone, clock, revalidate_after=10 * 24 * 3600), keystone.project_token("p1-member")
    expires_at = authenticator.validate(token).expires_at
    clock.now = expires_at - 1
    assert authenticator.authenticate(token).role == Role.MEMBER
    clock.now = expires_at
    with pytest.raises(Unauthenticated, match="expired"):
        authenticator.authenticate(token)


def test_an_uncached_token_is_unavailable_while_keystone_is_stopped(keystone: KeystoneServer, clock: FakeClock) -> None:
    with keystone.another_process() as url:
        authenticator = KeystoneAuthenticator(url, clock=clock)
        assert authenticator.authenticate(keystone.project_token("p1-member")).role == Role.MEMBER
    with pytest.raises(Unavailable, match="gave no answer"):
        authenticator.authenticate(keystone.project_token("p1-member"))


def test_a_cached_token_is_answered_while_keystone_is_stopped_until_it_must_be_validated_again(
    keystone: KeystoneServer, clock: FakeClock
) -> None:
    token = keystone.project_token("p1-reader")
    with keystone.another_process() as url:
        authenticator = KeystoneAuthenticator(url, clock=clock, revalidate_after=30)
        authenticator.authenticate(token)
    clock.advance(29)
    assert authenticator.authenticate(token).role == Role.READER
    clock.advance(1)
    with pytest.raises(Unavailable):
        authenticator.authenticate(token)


def test_a_cached_check_costs_under_50_microseconds(keystone: KeystoneServer) -> None:
    authenticator, token = KeystoneAuthenticator(keystone.url), keystone.project_token("p1-member")
    authenticator.authenticate(token)
    costs = []
    for _ in range(20_000):
        started = time.perf_counter_ns()
        authenticator.authenticate(token)
        costs.append(time.perf_counter_ns() - started)
    median_us = statistics.median(costs) / 1000
    print(f"a cached Keystone token check: median {median_us:.2f} µs over {len(costs)} calls")
    assert median_us < 50


def test_a_keystone_that_does_not_answer_in_time_is_unavailable() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections are accepted by the kernel, and never answered
        authenticator = KeystoneAuthenticator(f"http://127.0.0.1:{silent.getsockname()[1]}/v3", timeout=0.2)
        with pytest.raises(Unavailable, match="gave no answer"):
            authenticator.authenticate("gAAAAABsome-token")


@contextmanager
def _answering(status: int, body: bytes) -> Iterator[str]:
    """An HTTP server on loopback answering every request with `status` and `body`; yields its URL."""

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the test's output is no place for a request log

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v3"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (503, b"{}", "answered 503"),
        (403, b'{"error": {"code": 403}}', "refused to validate the token"),
        (200, b"<html>a proxy's page</html>", "could not be read"),
        (200, b'{"token": {"methods": ["password"]}}', NEEDS_PROJECT_SCOPE),
    ],
)
def test_an_answer_that_is_no_validation_is_never_an_acceptance(status: int, body: bytes, said: str) -> None:
    with _answering(status, body) as url, pytest.raises((Unavailable, Unauthenticated), match=said):
        KeystoneAuthenticator(url).authenticate("gAAAAABsome-token")


@pytest.mark.parametrize("token", ["two words", "line\nbreak", "x" * 8193])
def test_a_token_that_could_not_be_sent_is_refused_without_asking_keystone(token: str) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # a port nobody listens on: asking Keystone would be UNAVAILABLE
        authenticator = KeystoneAuthenticator(f"http://127.0.0.1:{closed.getsockname()[1]}/v3")
        with pytest.raises(Unauthenticated, match="cannot be a Keystone token"):
            authenticator.authenticate(token)


@pytest.mark.parametrize(
    ("role_names", "strongest"),
    [
        (["reader"], Role.READER),
        (["member", "reader"], Role.MEMBER),
        (["reader", "admin", "manager", "member"], Role.ADMIN),
        (["Member"], Role.MEMBER),
        (["observer", "heat_stack_owner"], None),
        ([], None),
    ],
)
def test_the_role_is_the_strongest_of_keystones_default_roles(role_names: list[str], strongest: Role | None) -> None:
    assert strongest_role(role_names) == strongest


def test_an_unversioned_keystone_url_is_taken_as_its_v3_endpoint(keystone: KeystoneServer, clock: FakeClock) -> None:
    unversioned = keystone.url.removesuffix("/v3") + "/"
    caller = KeystoneAuthenticator(unversioned, clock=clock).authenticate(keystone.project_token("p1-member"))
    assert caller.role == Role.MEMBER
