"""Domain exceptions and the one place where they become gRPC statuses.

Domain code raises these; `ErrorInterceptor` turns them into a `google.rpc.Status`
with `ErrorInfo` (and `BadRequest` field violations for invalid arguments), so no
servicer builds a status by hand. Anything else a handler raises never reaches the
caller as it is: a database that cannot be used is UNAVAILABLE, the rest INTERNAL,
each with an error id that the server's log line (with the traceback) carries too.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from autoscale.database_errors import is_unavailable

ERROR_DOMAIN = "autoscale.v1"

MAX_REPORTED_VIOLATIONS = 10
"""Field violations one error reports at most; the message counts the others ("and N more")."""
MAX_FIELD_BYTES = 128
"""UTF-8 bytes of a reported field path (longer ones are shortened, ending in "…")."""
MAX_DESCRIPTION_BYTES = 256
"""UTF-8 bytes of a reported violation's description (longer ones are shortened, ending in "…")."""
MAX_REPORT_BYTES = 4096
"""Bytes the reported violations may take in the call's trailers, in the message and in the details together.

NOTE: gRPC refuses trailers beyond 8 KiB now and then, and beyond 16 KiB always: the
caller then got RESOURCE_EXHAUSTED instead of the error (20 long dimension keys made
7-70 KB). The message goes percent-encoded (three bytes for each byte outside printable
ASCII) and the details in base64, so 4 KiB measured so stays well inside.
"""

MAX_MESSAGE_BYTES = 1024
"""UTF-8 bytes of the message of any other error (a peer's passed on, say); longer ones are shortened."""

USERS_NAMED = 5
"""How many of the resources that still use one a FailedPrecondition names (the others are counted)."""

log = logging.getLogger(__name__)

RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")


def shortened(text: str, max_bytes: int) -> str:
    """`text` cut to at most `max_bytes` UTF-8 bytes, ending in "…" when it was cut (never inside a character)."""
    encoded = text.encode()
    if len(encoded) <= max_bytes:
        return text
    ellipsis = "…"
    return encoded[: max(max_bytes - len(ellipsis.encode()), 0)].decode(errors="ignore") + ellipsis


@dataclass(frozen=True)
class FieldViolation:
    """One bad field: its path (e.g. `group.min_size`) and the rule it breaks."""

    field: str
    description: str

    def __str__(self) -> str:
        return f"{self.field}: {self.description}"


class DomainError(Exception):
    """Base of the errors that reach the caller as they are; each maps to one gRPC code."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN
    reason: str = "ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(DomainError):
    """The request breaks one or more field rules.

    It reports the first violations only, each shortened (see MAX_REPORT_BYTES), so
    that the caller receives the error however much was wrong; `unreported` counts the rest.
    """

    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "INVALID_ARGUMENT"

    def __init__(self, violations: Iterable[FieldViolation] | FieldViolation) -> None:
        if isinstance(violations, FieldViolation):
            violations = [violations]
        every = list(violations)
        self.violations = _reported(every)
        self.unreported = len(every) - len(self.violations)
        message = "; ".join(str(v) for v in self.violations) or "invalid argument"
        if self.unreported:
            message += f"; and {self.unreported} more"
        super().__init__(message)

    @classmethod
    def field(cls, field: str, description: str) -> InvalidArgument:
        """Shorthand for one violation."""
        return cls([FieldViolation(field, description)])


def _reported(violations: list[FieldViolation]) -> list[FieldViolation]:
    """The violations an error reports: the first ones, shortened, while they fit MAX_REPORT_BYTES (one at least)."""
    reported: list[FieldViolation] = []
    size = 0
    for violation in violations[:MAX_REPORTED_VIOLATIONS]:
        short = FieldViolation(shortened(violation.field, MAX_FIELD_BYTES), shortened(violation.description, MAX_DESCRIPTION_BYTES))
        size += _trailer_size(short)
        if reported and size > MAX_REPORT_BYTES:
            break
        reported.append(short)
    return reported


def _trailer_size(violation: FieldViolation) -> int:
    """Bytes a violation takes in the trailers: in the message (percent-encoded) and in the BadRequest details (base64)."""
    in_message = f"{violation}; ".encode()
    percent_encoded = len(in_message) + 2 * sum(1 for byte in in_message if not 0x20 <= byte <= 0x7E or byte == 0x25)
    in_details = len(violation.field.encode()) + len(violation.description.encode()) + 8  # with the tags and lengths
    return percent_encoded + math.ceil(in_details * 4 / 3)


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


class Unauthenticated(DomainError):
    """The call carries no credentials, or ones that are not (or no longer) valid."""

    code = grpc.StatusCode.UNAUTHENTICATED
    reason = "UNAUTHENTICATED"


class PermissionDenied(DomainError):
    """The caller is known, but its role does not allow what it asked."""

    code = grpc.StatusCode.PERMISSION_DENIED
    reason = "PERMISSION_DENIED"


class ResourceExhausted(DomainError):
    """A limit of the deployment is reached (the message names the setting that sets it)."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = "RESOURCE_EXHAUSTED"


class Unavailable(DomainError):
    """A peer service or the cloud could not be reached; the caller may retry."""

    code = grpc.StatusCode.UNAVAILABLE
    reason = "UNAVAILABLE"


class Internal(DomainError):
    """A fault of the server itself: the caller learns its error id, the server's log the rest."""

    code = grpc.StatusCode.INTERNAL
    reason = "INTERNAL"


class PeerError(Exception):
    """A call to a peer service failed; carries the peer's code and message on."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details


PEER_CREDENTIALS_REFUSED = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED})
"""What a peer answers when it refuses the credentials this process calls it with (its --peer-token), never a caller's:
peer calls carry the process's service key, not the caller's token."""


def peer_failure_status(error: PeerError) -> tuple[grpc.StatusCode, str]:
    """The status a caller gets when a peer call made for it failed: the peer's, so that it sees the real cause; but a
    peer that refused this process's own credentials says nothing of the caller's, and passed on as it is would tell the
    caller that its token was refused. That is the deployment's fault (a revoked or wrong --peer-token): INTERNAL."""
    if error.code in PEER_CREDENTIALS_REFUSED:
        return grpc.StatusCode.INTERNAL, (
            f"a peer service refused this service's own credentials ({error.code.name}: {error.details}); the operator "
            "must give this service a usable service key (--peer-token)"
        )
    return error.code, error.details


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
    # An InvalidArgument's message is bounded by its reported violations already.
    message = error.message if isinstance(error, InvalidArgument) else shortened(error.message, MAX_MESSAGE_BYTES)
    return status_pb2.Status(code=getattr(code_pb2, error.code.name), message=message, details=details)


def field_violations(error: grpc.RpcError) -> list[FieldViolation]:
    """Read the BadRequest field violations of a failed call (empty if none)."""
    status = rpc_status.from_call(error)
    if status is None:
        return []
    found: list[FieldViolation] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            found.extend(FieldViolation(v.field, v.description) for v in bad_request.field_violations)
    return found


def _wrap_unary(
    behaviour: Callable[[RequestT, grpc.ServicerContext], ResponseT], method: str
) -> Callable[[RequestT, grpc.ServicerContext], ResponseT]:
    service = method.split("/")[1]

    def handle(request: RequestT, context: grpc.ServicerContext) -> ResponseT:
        try:
            return behaviour(request, context)
        except DomainError as error:
            context.abort_with_status(rpc_status.to_status(to_status(error, service)))
        except PeerError as error:
            code, details = peer_failure_status(error)
            if code is not error.code:
                log.error("%s: %s", method, details)
            context.abort(code, shortened(details, MAX_MESSAGE_BYTES))
        except Exception as error:
            # The stubs leave out ServicerContext.code() (grpcio has it since 1.38).
            if context.code() is not None:  # type: ignore[attr-defined]
                raise  # the handler set its status itself (context.abort): that one goes out
            context.abort_with_status(rpc_status.to_status(to_status(unexpected(error, method), service)))

    return handle


def unexpected(error: Exception, method: str) -> DomainError:
    """What the caller is told of an exception no domain error stands for (logged here, with its traceback, under an id).

    Its text (SQL, a driver's words, a Python message) is for the server's log only.
    """
    error_id = secrets.token_hex(4)
    if is_unavailable(error):
        log.warning("%s: the database is unavailable (error %s)", method, error_id, exc_info=error)
        return Unavailable(f"the database is unavailable, try again (error {error_id})")
    log.error("%s: internal error (error %s)", method, error_id, exc_info=error)
    return Internal(f"internal error (error {error_id}): the server's log has the details")


class ErrorInterceptor(grpc.ServerInterceptor):
    """Turns what unary handlers raise into rich gRPC statuses: domain errors as they say, anything else via `unexpected`."""

    def __init__(self) -> None:
        self._wrapped: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        method = handler_call_details.method
        # NOTE: a method's handler is the same for the server's life: it is wrapped once, not on every call.
        wrapped = self._wrapped.get(method)
        if wrapped is None:
            handler = continuation(handler_call_details)
            if handler is None or handler.unary_unary is None:
                return handler
            wrapped = self._wrapped[method] = grpc.unary_unary_rpc_method_handler(
                _wrap_unary(handler.unary_unary, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return wrapped
