"""The server side of identity: every call is authenticated, checked against its method's role, and run as its caller."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from autoscale.errors import InvalidArgument, PermissionDenied, Unauthenticated
from autoscale.identity.api_keys import PROJECT_PATTERN, PROJECT_RULE
from autoscale.identity.authentication import Authenticator
from autoscale.identity.caller import Caller, acting_as
from autoscale.identity.permissions import Access, required_access

AUTHORIZATION_METADATA = "authorization"
PROJECT_METADATA = "x-autoscale-project"
"""The project a peer's call acts in (the resource's): honoured from peer services only."""

BEARER = "bearer "

RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")


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
    for key, value in metadata or ():
        if key == PROJECT_METADATA:
            return value if isinstance(value, str) else value.decode("latin-1")
    return None


def caller_of(authenticator: Authenticator, method: str, metadata: tuple[tuple[str, str | bytes], ...] | None) -> Caller | None:
    """The caller a call runs as (None for the open methods: health and reflection).

    UNAUTHENTICATED without valid credentials; PERMISSION_DENIED when the caller's role is too weak for `method`, or
    when it is no peer and calls what only peers may.
    """
    access = required_access(method)
    if access == Access.OPEN:
        return None
    caller = authenticator.authenticate(bearer_token(metadata))
    if caller.service:
        project = named_project(metadata)
        if project:
            if not PROJECT_PATTERN.fullmatch(project):
                raise InvalidArgument.field(PROJECT_METADATA, f"{project[:80]!r} is not a project: {PROJECT_RULE}")
            caller = dataclasses.replace(caller, project=project)
    if access == Access.SERVICE:
        if not caller.service:
            raise PermissionDenied(f"{method} is called only by autoscale's own services")
        return caller
    assert not isinstance(access, str)
    caller.require(access, method.rsplit("/", 1)[-1])
    return caller


class AuthInterceptor(grpc.ServerInterceptor):
    """Authenticates each call and runs its handler as its caller (autoscale.identity.caller).

    It sits inside the ErrorInterceptor, which turns its Unauthenticated and PermissionDenied into statuses.
    """

    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or required_access(method) == Access.OPEN:
            return handler
        if handler.unary_unary is None:
            raise TypeError(f"{method}: only unary methods are served behind authentication")
        behaviour, authenticator = handler.unary_unary, self._authenticator

        def as_caller(request: Any, context: grpc.ServicerContext) -> Any:
            caller = caller_of(authenticator, method, context.invocation_metadata())
            assert caller is not None
            with acting_as(caller):
                return behaviour(request, context)

        return grpc.unary_unary_rpc_method_handler(
            as_caller, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
        )
