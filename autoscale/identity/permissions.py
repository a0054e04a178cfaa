"""What role each RPC needs: one rule for every method of every service, so none is left open by omission."""

from __future__ import annotations

from autoscale.identity.caller import Role

OPEN_SERVICES = ("grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection")
"""Served to anyone: orchestrators' health checks, and the schema (public anyway) for grpcurl."""

INTERNAL_PACKAGE = "autoscale.internal.v1."
"""Services only the mesh's own peers may call."""

READING_VERBS = ("Get", "List", "BatchGet")
"""Methods named so only read (AIP standard methods); every other method of autoscale.v1 changes something."""


class Access:
    """What a method needs."""

    OPEN = "open"
    SERVICE = "service"


def required_access(method: str) -> Role | str:
    """`Access.OPEN`, `Access.SERVICE` (peers only), or the least role a caller needs for `method` (/package.Service/Method)."""
    _, service, name = method.split("/", 2) if method.count("/") == 2 else ("", "", method)
    if service in OPEN_SERVICES:
        return Access.OPEN
    if service.startswith(INTERNAL_PACKAGE):
        return Access.SERVICE
    return Role.READER if name.startswith(READING_VERBS) else Role.MEMBER


NOT_AUDITED = frozenset({"/autoscale.v1.MetricsService/PutSamples", "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"})
"""Methods that change data but are no change to audit: a stream of samples (as CloudTrail leaves data events out)."""


def is_audited(method: str) -> bool:
    """Whether a user's call of `method` is recorded in the audit: every method that may change something, but data."""
    return required_access(method) == Role.MEMBER and method not in NOT_AUDITED
