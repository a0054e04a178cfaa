"""Registering a servicer so that a request whose bytes are no such message is INVALID_ARGUMENT, as any other bad input.

NOTE: gRPC reads a request with its method's deserializer before any interceptor
runs, and answers INTERNAL ("Exception deserializing request!") when that fails, for
anything a caller sent. Here each method takes the request's bytes and reads them
itself, inside the handler, where the error choke point (autoscale.errors) sees a
DecodeError as InvalidArgument naming `request`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from autoscale.errors import InvalidArgument


def add_servicer(
    add_generated: Callable[[Any, Any], None], servicer: Any, server: grpc.Server, *, taking_bytes: Collection[str] = ()
) -> None:
    """Register `servicer` as `add_generated` (a generated add_XServicer_to_server) would, each unary method reading its
    request's bytes itself; the methods `taking_bytes` are handed the bytes (they read them themselves, and say what is wrong)."""
    capture = _HandlerCapture()
    add_generated(servicer, capture)
    handlers = {
        method: handler._replace(request_deserializer=None) if method in taking_bytes else _reading_its_request(handler)  # type: ignore[attr-defined]
        for method, handler in capture.handlers.items()
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(capture.service, handlers),))
    server.add_registered_method_handlers(capture.service, handlers)


def _reading_its_request(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    if handler.unary_unary is None or handler.request_deserializer is None:
        return handler
    read, behavior = handler.request_deserializer, handler.unary_unary

    def read_then_answer(payload: bytes, context: grpc.ServicerContext) -> Any:
        try:
            request = read(payload)
        except DecodeError as error:
            raise InvalidArgument.field("request", f"must be a serialized request of this method: {error}") from None
        return behavior(request, context)

    return handler._replace(request_deserializer=None, unary_unary=read_then_answer)  # type: ignore[attr-defined]


class _HandlerCapture:
    """Stands for a server to the generated registration, to keep its method handlers (built from the protos)."""

    def __init__(self) -> None:
        self.service = ""
        self.handlers: dict[str, grpc.RpcMethodHandler] = {}

    def add_generic_rpc_handlers(self, generic_handlers: Any) -> None:
        pass

    def add_registered_method_handlers(self, service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        self.service, self.handlers = service, handlers
