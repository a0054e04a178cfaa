"""The server side of identity: every call is authenticated, checked against its method's role, and run as its caller."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any, Protocol

import grpc

from autoscale.audit.events import AuditEvent, request_of, resource_of
from autoscale.errors import DomainError, InvalidArgument, PermissionDenied, Unauthenticated
from autoscale.identity.api_keys import PROJECT_PATTERN, PROJECT_RULE
from autoscale.identity.authentication import Authenticator
from autoscale.identity.caller import Caller, Role, acting_as
from autoscale.identity.permissions import Access, is_audited, required_access
from autoscale.timeutil import Clock, system_clock

AUTHORIZATION_METADATA = "authorization"
PROJECT_METADATA = "x-autoscale-project"
"""The project a peer's call acts in (the resource's): honoured from peer services only."""
PRINCIPAL_METADATA = "x-autoscale-principal"
"""Who a peer's call acts for (the user whose call it serves, or the mesh itself): honoured from peer services only, and
only to name the caller in activities and histories."""
MAX_PRINCIPAL_CHARS = 255

BEARER = "bearer "

log = logging.getLogger(__name__)


def bearer_token(metadata: tuple[tuple[str, str | bytes], ...] | None) -> str | None:
    """The token of an `authorization: Bearer <token>` entry; None when there is none.

    Unauthenticated when the entry is there but is no bearer token (say, Basic), so that a mistake is named.
    """
    for key, value in metadata or ():
        if key == AUTHORIZATION_METADATA:
            text = value if isinstance(value, str) else value.decode("latin-1")
            if not text[: len(BEARER)].lower() == BEARER or not text[len(BEARER):].strip():
                raise Unauthenticated("the authorization metadata must be 'Bearer <token>' (a Keystone token or an API key)")
            return text[len(BEARER):].strip()
    return None


def named_project(metadata: tuple[tuple[str, str | bytes], ...] | None) -> str | None:
    """The project a call names in its metadata (peers do), if any."""
    return _metadata_value(metadata, PROJECT_METADATA)


def _metadata_value(metadata: tuple[tuple[str, str | bytes], ...] | None, name: str) -> str | None:
    for key, value in metadata or ():
        if key == name:
            return value if isinstance(value, str) else value.decode("latin-1")
    return None


def caller_of(authenticator: Authenticator, method: str, metadata: tuple[tuple[str, str | bytes], ...] | None) -> Caller | None:
    """The caller a call runs as (None for the open methods: health and reflection).

    UNAUTHENTICATED without valid credentials; PERMISSION_DENIED when the caller's role is too weak for `method`, or
    when it is no peer and calls what only peers may.
    """
    if required_access(method) == Access.OPEN:
        return None
    caller = authenticated_caller(authenticator, metadata)
    authorize(caller, method)
    return caller


def authenticated_caller(authenticator: Authenticator, metadata: tuple[tuple[str, str | bytes], ...] | None) -> Caller:
    """Who a call comes from, in the project it acts in. UNAUTHENTICATED without valid credentials; INVALID_ARGUMENT when
    a peer names a project that cannot be one."""
    caller = authenticator.authenticate(bearer_token(metadata))
    if caller.service:
        project = named_project(metadata)
        if project:
            if not PROJECT_PATTERN.fullmatch(project):
                raise InvalidArgument.field(PROJECT_METADATA, f"{project[:80]!r} is not a project: {PROJECT_RULE}")
            caller = dataclasses.replace(caller, project=project)
        principal = _metadata_value(metadata, PRINCIPAL_METADATA)
        if principal and len(principal) <= MAX_PRINCIPAL_CHARS and principal.isprintable():
            caller = dataclasses.replace(caller, principal=principal)
    return caller


def authorize(caller: Caller, method: str) -> None:
    """PERMISSION_DENIED when `caller`'s role is too weak for `method`, or when it is no peer and calls what only peers may."""
    access = required_access(method)
    if access == Access.SERVICE:
        if not caller.service:
            raise PermissionDenied(f"{method} is called only by autoscale's own services")
    elif isinstance(access, Role):
        caller.require(access, method.rsplit("/", 1)[-1])


class AuditRecorder(Protocol):
    """Where the interceptor records users' changes (autoscale.audit.store.AuditLog)."""

    def record(self, event: AuditEvent) -> None:
        """Store one event."""
        ...


class AuthInterceptor(grpc.ServerInterceptor):
    """Authenticates each call, runs its handler as its caller (autoscale.identity.caller), and records in the audit every
    call of a user that may change something, allowed or not.

    It sits inside the ErrorInterceptor, which turns its Unauthenticated and PermissionDenied into statuses.
    """

    def __init__(self, authenticator: Authenticator, audit: AuditRecorder | None = None, clock: Clock = system_clock) -> None:
        self._authenticator = authenticator
        self._audit = audit
        self._clock = clock
        self._wrapped: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        method = handler_call_details.method
        # NOTE: a method's handler is the same for the server's life: it is wrapped once, not on every call (the ingest
        # path pays every microsecond here).
        wrapped = self._wrapped.get(method)
        if wrapped is None:
            handler = continuation(handler_call_details)
            if handler is None or required_access(method) == Access.OPEN:
                return handler
            wrapped = self._wrapped[method] = self._wrap(method, handler)
        return wrapped

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
        """`handler` run as its caller, authorized, and audited where `method` is."""
        if handler.unary_unary is None:
            raise TypeError(f"{method}: only unary methods are served behind authentication")
        behaviour, authenticator = handler.unary_unary, self._authenticator
        audited = self._audit is not None and is_audited(method)

        def as_caller(request: Any, context: grpc.ServicerContext) -> Any:
            caller = authenticated_caller(authenticator, context.invocation_metadata())
            code = "INTERNAL"
            try:
                authorize(caller, method)
                with acting_as(caller):
                    response = behaviour(request, context)
                code = "OK"
                return response
            except DomainError as error:
                code = error.code.name
                raise
            finally:
                if audited and not caller.service:
                    self._record(caller, method, request, code)

        return grpc.unary_unary_rpc_method_handler(
            as_caller, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
        )

    def _record(self, caller: Caller, method: str, request: Any, code: str) -> None:
        assert self._audit is not None
        event = AuditEvent(
            project=caller.project, time=self._clock(), principal=caller.principal, method=method,
            resource=resource_of(request_of(method, request)), code=code,
        )
        try:
            self._audit.record(event)
        except Exception:
            # The change is made (or refused) whatever the audit's database says: the log keeps the event instead.
            log.exception("audit: cannot record %s", event)
