"""The service builders by short name, imported only when a process serves them."""

from __future__ import annotations

import importlib

from autoscale.server import ServiceBuilder

SERVICE_NAMES = ("metrics", "alarm", "policy", "group")


def builder(name: str) -> ServiceBuilder:
    """The `build` function of services.<name>.server."""
    if name not in SERVICE_NAMES:
        raise ValueError(f"unknown service {name!r}; one of {', '.join(SERVICE_NAMES)}")
    build: ServiceBuilder = importlib.import_module(f"services.{name}.server").build
    return build


def builders(names: tuple[str, ...] = SERVICE_NAMES) -> list[tuple[str, ServiceBuilder]]:
    """(name, build) pairs for the named services, in the order given."""
    return [(name, builder(name)) for name in names]
