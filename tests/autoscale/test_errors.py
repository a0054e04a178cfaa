"""The error choke point: domain errors become rich gRPC statuses that reach the caller."""

import math
import re
import sqlite3
import traceback
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager

import grpc
import psycopg
import pytest
import sqlalchemy as sa
from google.rpc import code_pb2, error_details_pb2

from autoscale import database
from autoscale.config import Settings
from autoscale.errors import (
    MAX_DESCRIPTION_BYTES,
    MAX_FIELD_BYTES,
    MAX_MESSAGE_BYTES,
    MAX_REPORTED_VIOLATIONS,
    AlreadyExists,
    ErrorInterceptor,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PeerError,
    field_violations,
    to_status,
)
from autoscale.v1 import policy_pb2, policy_pb2_grpc
from autoscale.validation import ID_RULE, Violations, check_id
from services.registry import builder
from tests.conftest import POSTGRES_URL
from tests.support import running_server


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidArgument.field("group.min_size", "must be >= 0"), code_pb2.INVALID_ARGUMENT),
        (NotFound("groups/web"), code_pb2.NOT_FOUND),
        (AlreadyExists("groups/web"), code_pb2.ALREADY_EXISTS),
        (FailedPrecondition("launchConfigs/lc is used by groups/web"), code_pb2.FAILED_PRECONDITION),
    ],
)
def test_each_domain_error_maps_to_its_grpc_code(error, code):
    assert to_status(error).code == code
    assert error.code.name == code_pb2.Code.Name(code)


def test_invalid_argument_carries_every_field_violation_in_bad_request():
    error = InvalidArgument([FieldViolation("group.min_size", "must be >= 0"), FieldViolation("group_id", "is required")])
    status = to_status(error, "autoscale.v1.GroupService")
    bad_request = error_details_pb2.BadRequest()
    assert any(detail.Unpack(bad_request) for detail in status.details)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("group.min_size", "must be >= 0"),
        ("group_id", "is required"),
    ]
    assert "group.min_size: must be >= 0" in status.message


def test_not_found_names_the_resource_in_error_info():
    status = to_status(NotFound("alarms/high-cpu"))
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert info.metadata["resource"] == "alarms/high-cpu"
    assert info.domain == "autoscale.v1"


def test_status_codes_are_grpc_status_codes():
    assert InvalidArgument.code is grpc.StatusCode.INVALID_ARGUMENT


def test_an_invalid_argument_reports_its_first_violations_and_counts_the_rest():
    error = InvalidArgument([FieldViolation(f"series[{n}].metric", "is required") for n in range(25)])
    assert [v.field for v in error.violations] == [f"series[{n}].metric" for n in range(MAX_REPORTED_VIOLATIONS)]
    assert error.unreported == 25 - MAX_REPORTED_VIOLATIONS
    assert error.message.endswith(f"series[9].metric: is required; and {25 - MAX_REPORTED_VIOLATIONS} more")


def test_a_huge_violation_is_shortened_at_a_character_boundary():
    (violation,) = InvalidArgument.field("dimensions." + "k" * 10_000, "é" * 100_000).violations
    assert len(violation.field.encode()) <= MAX_FIELD_BYTES and violation.field.endswith("k…")
    assert len(violation.description.encode()) <= MAX_DESCRIPTION_BYTES and violation.description.endswith("é…")


def test_a_violation_quotes_a_huge_value_shortened_and_still_states_the_rule():
    violations = Violations()
    check_id(violations, "group_id", "X" * 1_000_000)
    (violation,) = InvalidArgument(violations.items).violations
    assert violation.description.startswith("'XXX") and "…'" in violation.description
    assert violation.description.endswith(ID_RULE)


def test_other_errors_keep_their_message_short():
    assert len(to_status(FailedPrecondition("ü" * 100_000)).message.encode()) <= MAX_MESSAGE_BYTES


@contextmanager
def serving(behaviour: Callable[[bytes, grpc.ServicerContext], bytes]) -> Iterator[Callable[[bytes], bytes]]:
    """A real server whose one method (behind the ErrorInterceptor) runs `behaviour`; yields a caller of it."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), interceptors=[ErrorInterceptor()])
    handler = grpc.unary_unary_rpc_method_handler(behaviour)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Errors", {"Call": handler}),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        call = channel.unary_unary("/test.Errors/Call")
        yield lambda request: call(request, timeout=10)
    finally:
        channel.close()
        server.stop(None)


def _raise(error: Exception) -> Callable[[bytes, grpc.ServicerContext], bytes]:
    def behaviour(request: bytes, context: grpc.ServicerContext) -> bytes:
        raise error

    return behaviour


def test_an_error_with_many_huge_violations_reaches_the_caller_as_invalid_argument():
    # Percent-encoded, non-ASCII text takes three times its bytes in the trailers: the worst case for their size.
    error = InvalidArgument([FieldViolation("series[0].dimensions", f"key {'ключ' * 2000}{n} is too long") for n in range(20)])
    with serving(_raise(error)) as call:
        # NOTE: gRPC refuses trailers between its soft and hard limits at random: one call proves little.
        for _ in range(20):
            with pytest.raises(grpc.RpcError) as raised:
                call(b"")
            assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT, raised.value.details()
            assert field_violations(raised.value)[0].field == "series[0].dimensions"
            assert raised.value.details().endswith(f"and {20 - len(error.violations)} more")


def _error_id(details: str) -> str:
    found = re.search(r"\(error ([0-9a-f]{8})\b", details)
    assert found, details
    return found.group(1)


def test_an_unexpected_exception_is_internal_with_an_error_id_that_the_log_line_carries_with_the_traceback(caplog):
    with serving(_raise(OverflowError("int too large to convert to float"))) as call, pytest.raises(grpc.RpcError) as raised:
        call(b"")
    assert raised.value.code() is grpc.StatusCode.INTERNAL
    assert "too large" not in raised.value.details()
    error_id = _error_id(raised.value.details())
    (record,) = [r for r in caplog.records if error_id in r.getMessage()]
    assert record.levelname == "ERROR" and "/test.Errors/Call" in record.getMessage()
    assert record.exc_info is not None and "int too large" in "".join(traceback.format_exception(*record.exc_info))


@pytest.mark.parametrize(
    "error",
    [
        sa.exc.OperationalError("SELECT secret FROM group_groups", {}, Exception("server closed the connection unexpectedly")),
        sa.exc.InterfaceError("SELECT secret FROM group_groups", {}, Exception("connection already closed")),
        psycopg.OperationalError("consuming input failed: terminating connection due to administrator command"),
        sqlite3.OperationalError("database is locked"),
    ],
    ids=["sqlalchemy operational", "sqlalchemy interface", "psycopg through a driver cursor", "sqlite busy"],
)
def test_a_database_that_cannot_be_used_is_unavailable_without_its_internals(error, caplog):
    with serving(_raise(error)) as call, pytest.raises(grpc.RpcError) as raised:
        call(b"")
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE
    assert "secret" not in raised.value.details() and "connection" not in raised.value.details()
    assert any(_error_id(raised.value.details()) in record.getMessage() for record in caplog.records)


def test_a_status_the_handler_aborted_with_goes_out_as_it_is():
    def behaviour(request: bytes, context: grpc.ServicerContext) -> bytes:
        context.abort(grpc.StatusCode.PERMISSION_DENIED, "not yours")
        raise AssertionError("abort returned")

    with serving(behaviour) as call, pytest.raises(grpc.RpcError) as raised:
        call(b"")
    assert (raised.value.code(), raised.value.details()) == (grpc.StatusCode.PERMISSION_DENIED, "not yours")


@pytest.mark.parametrize("code", [grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED])
def test_a_peers_failure_reaches_the_caller_with_the_peers_code_and_words(code):
    with serving(_raise(PeerError(code, "groups/web not found"))) as call, pytest.raises(grpc.RpcError) as raised:
        call(b"")
    assert (raised.value.code(), raised.value.details()) == (code, "groups/web not found")


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED])
def test_a_peer_refusing_the_services_own_credentials_is_internal_not_a_refusal_of_the_callers(code, caplog):
    # Peer calls carry the process's --peer-token: the caller's token was accepted, and must not seem refused.
    with serving(_raise(PeerError(code, "the API key is unknown, revoked or expired"))) as call, pytest.raises(grpc.RpcError) as raised:
        call(b"")
    assert raised.value.code() is grpc.StatusCode.INTERNAL
    assert f"{code.name}: the API key is unknown, revoked or expired" in raised.value.details()
    assert "--peer-token" in raised.value.details()
    assert any(r.levelname == "ERROR" and "--peer-token" in r.getMessage() for r in caplog.records)


@pytest.mark.postgres
def test_a_postgresql_connection_cut_under_a_service_is_unavailable_and_the_next_call_reconnects(postgres_url, monkeypatch):
    # NOTE: pooled connections are checked on their way out once idle for PING_AFTER_IDLE, which would hide the cut.
    monkeypatch.setattr(database, "PING_AFTER_IDLE", math.inf)
    application = f"autoscale-test-{uuid.uuid4().hex[:8]}"
    url = f"{postgres_url}&application_name={application}"
    with running_server([("policy", builder("policy"))], Settings(database_url=url)) as (_, channel):
        stub = policy_pb2_grpc.PolicyServiceStub(channel)
        stub.ListPolicies(policy_pb2.ListPoliciesRequest(), timeout=10)
        admin = sa.create_engine(POSTGRES_URL)
        try:
            with admin.begin() as connection:
                cut = connection.execute(
                    sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": application},
                ).all()
        finally:
            admin.dispose()
        assert cut, "the service held no connection to cut"
        with pytest.raises(grpc.RpcError) as raised:
            stub.ListPolicies(policy_pb2.ListPoliciesRequest(), timeout=10)
        assert raised.value.code() is grpc.StatusCode.UNAVAILABLE, raised.value.details()
        assert "SELECT" not in raised.value.details() and "policy_policies" not in raised.value.details()
        assert stub.ListPolicies(policy_pb2.ListPoliciesRequest(), timeout=10).policies == []


@pytest.mark.parametrize(
    ("users", "named"),
    [
        (["policies/a"], "1 policy (policies/a)"),
        ([f"policies/p{n}" for n in range(5)], "5 policies (policies/p0, policies/p1, policies/p2, policies/p3, policies/p4)"),
        ([f"policies/p{n}" for n in range(8)], "8 policies (policies/p0, policies/p1, policies/p2, policies/p3, policies/p4 and 3 more)"),
    ],
)
def test_a_resource_in_use_names_its_first_users_and_counts_them_all(users, named):
    error = FailedPrecondition.in_use("groups/web", users, ("policy", "policies"), "delete them first")
    assert error.message == f"groups/web is used by {named}; delete them first"
