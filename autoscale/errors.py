"""Domain exceptions and the one place where they become gRPC statuses.

Domain code raises these; `ErrorInterceptor` turns them into a `google.rpc.Status`
with `ErrorInfo` (and `BadRequest` field violations for invalid arguments), so no
servicer builds a status by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

ERROR_DOMAIN = "autoscale.v1"

USERS_NAMED = 5
"""How many of the resources that still use one a FailedPrecondition names (the others are counted)."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldViolation:
    """One bad field: its path (e.g. `group.min_size`) and the rule it breaks."""

    field: str
    description: str

    def __str__(self) -> str:
        return f"{self.field}: {self.description}"


class DomainError(Exception):
    """Base of the errors a caller can cause; each maps to one gRPC code."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN
    reason: str = "ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(DomainError):
    """The request breaks one or more field rules."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "INVALID_ARGUMENT"

    def __init__(self, violations: Iterable[FieldViolation] | FieldViolation) -> None:
        if isinstance(violations, FieldViolation):
            violations = [violations]
        self.violations = list(violations)
        super().__init__("; ".join(str(v) for v in self.violations) or "invalid argument")

    @classmethod
    def field(cls, field: str, description: str) -> InvalidArgument:
        """Shorthand for one violation."""
        return cls([FieldViolation(field, description)])


class NotFound(DomainError):
    """The named resource does not exist (in the caller's project)."""

    code = grpc.StatusCode.NOT_FOUND
    reason = "NOT_FOUND"

    def __init__(self, name: str, message: str | None = None) -> None:
        super().__init__(message or f"{name} not found")
        self.name = name


class AlreadyExists(DomainError):
    """A resource of that name exists already."""

    code = grpc.StatusCode.ALREADY_EXISTS
    reason = "ALREADY_EXISTS"

    def __init__(self, name: str, message: str | None = None) -> None:
        super().__init__(message or f"{name} already exists")
        self.name = name


class FailedPrecondition(DomainError):
    """The system is not in a state where the request can run (e.g. still in use)."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "FAILED_PRECONDITION"

    @classmethod
    def in_use(cls, name: str, users: Sequence[str], kind: tuple[str, str], remedy: str) -> FailedPrecondition:
        """`name` cannot go while `users` (resource names, of `kind` as (singular, plural)) still use it: the first
        USERS_NAMED of them are named and the rest counted, then `remedy` says what to do."""
        shown = ", ".join(users[:USERS_NAMED])
        more = f" and {len(users) - USERS_NAMED} more" if len(users) > USERS_NAMED else ""
        noun = kind[0] if len(users) == 1 else kind[1]
        return cls(f"{name} is used by {len(users)} {noun} ({shown}{more}); {remedy}")


class Unavailable(DomainError):
    """A peer service or the cloud could not be reached; the caller may retry."""

    code = grpc.StatusCode.UNAVAILABLE
    reason = "UNAVAILABLE"


class PeerError(Exception):
    """A call to a peer service failed; carries the peer's code and message on."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details


def to_status(error: DomainError, service: str = "") -> status_pb2.Status:
    """Build the rich `google.rpc.Status` for a domain error."""
    details: list[any_pb2.Any] = []
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN)
    if service:
        info.metadata["service"] = service
    if isinstance(error, (NotFound, AlreadyExists)):
        info.metadata["resource"] = error.name
    packed = any_pb2.Any()
    packed.Pack(info)
    details.append(packed)
    if isinstance(error, InvalidArgument):
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                for v in error.violations
            ]
        )
        packed = any_pb2.Any()
        packed.Pack(bad_request)
        details.append(packed)
    return status_pb2.Status(code=getattr(code_pb2, error.code.name), message=error.message, details=details)


def field_violations(error: grpc.RpcError) -> list[FieldViolation]:
    """Read the BadRequest field violations of a failed call (empty if none)."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is None:
        return []
    found = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            found.extend(FieldViolation(v.field, v.description) for v in bad_request.field_violations)
    return found


def _wrap_unary(behaviour: Callable[..., Any], method: str) -> Callable[..., Any]:
    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return behaviour(request, context)
        except DomainError as error:
            context.abort_with_status(rpc_status.to_status(to_status(error, method.split("/")[1])))
        except PeerError as error:
            # A peer's status is passed on so that the caller sees the real cause.
            context.abort(error.code, error.details)

    return handle


class ErrorInterceptor(grpc.ServerInterceptor):
    """Turns domain errors raised by unary handlers into rich gRPC statuses."""

    def intercept_service(self, continuation, handler_call_details):  # type: ignore[no-untyped-def]
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        return grpc.unary_unary_rpc_method_handler(
            _wrap_unary(handler.unary_unary, handler_call_details.method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
