"""Registering a servicer whose hot methods take their request's bytes (a native decoder reads them faster than protobuf's objects)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import grpc


def add_servicer_taking_bytes(
    add_generated: Callable[[Any, Any], None],
    servicer: Any,
    server: grpc.Server,
    methods_taking_bytes: Collection[str],
) -> None:
    """Register `servicer` as `add_generated` (a generated add_XServicer_to_server) would; `methods_taking_bytes` take
    bytes."""
    capture = _HandlerCapture()
    add_generated(servicer, capture)
    handlers = dict(capture.handlers)
    for method in methods_taking_bytes:
        handlers[method] = handlers[method]._replace(request_deserializer=None)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(capture.service, handlers),))
    server.add_registered_method_handlers(capture.service, handlers)


class _HandlerCapture:
    """Stands for a server to the generated registration, to keep its method handlers (built from the protos)."""

    def __init__(self) -> None:
        self.service = ""
        self.handlers: dict[str, grpc.RpcMethodHandler] = {}

    def add_generic_rpc_handlers(self, generic_handlers: Any) -> None:
        pass

    def add_registered_method_handlers(self, service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        self.service, self.handlers = service, handlers
