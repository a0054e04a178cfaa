"""A plaintext port that serves only health checks (`--health-listen`), for orchestrators and load balancers.

Kubernetes' gRPC probes and many load balancers speak plaintext and present no client certificate, so they cannot
check a port that serves TLS, let alone mutual TLS. This port answers them with the main port's statuses: it serves
the same HealthServicer, so a drain or a deleted database file turns it NOT_SERVING as well. It serves nothing else
but reflection of the health service (grpcurl then needs no .proto file), so it needs no authentication.
"""

from __future__ import annotations

from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from autoscale.config import ConfigurationError

HEALTH_LISTEN_FLAG = "--health-listen"

HEALTH_WORKERS = 4
"""Threads answering health checks: probes are few and a Check is quick (each Watch holds one while it lasts)."""


class HealthPort:
    """A bound, plaintext gRPC port for the health service; `serve` it a HealthServicer, then start it."""

    def __init__(self, listen: str) -> None:
        """Bind `listen` (HOST:PORT; port 0 picks one); ConfigurationError naming --health-listen when it cannot."""
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=HEALTH_WORKERS, thread_name_prefix="health"),
            options=[("grpc.so_reuseport", 0)],
        )
        try:
            port = self._server.add_insecure_port(listen)
        except RuntimeError:
            port = 0
        if port == 0:
            raise ConfigurationError(f"{HEALTH_LISTEN_FLAG} {listen}: cannot listen there; choose another address")
        self.port = port
        """The port bound."""

    def serve(self, health_servicer: health.HealthServicer) -> None:
        """Serve `health_servicer` (the main port's) and reflection of it."""
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, self._server)
        reflection.enable_server_reflection((health.SERVICE_NAME, reflection.SERVICE_NAME), self._server)

    def start(self) -> None:
        """Start answering."""
        self._server.start()

    def stop(self) -> None:
        """Stop at once (the watches open end): it is stopped after the main port has drained."""
        self._server.stop(None).wait()
