"""The compute-driver interface the group reconcile loop talks to.

A driver knows how to start, inspect and stop one kind of instance. Errors of the
cloud or the OS are translated into `DriverError` here, at the boundary, so the
reconcile loop never sees an SDK exception.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit


class DriverError(Exception):
    """The driver could not do what was asked; the message says why, for people."""


class CloudNotConfigured(DriverError):
    """The driver has no usable cloud configuration (no clouds.yaml entry or OS_* variables, or one lacking what it
    needs): nothing it is asked will work until an operator fixes it."""


class ServerStatus(enum.Enum):
    """What a driver reports of one server."""

    PENDING = "pending"
    """Being created; not yet in service."""
    RUNNING = "running"
    """In service."""
    FAILED = "failed"
    """Died or failed to start; it should be removed and replaced."""
    GONE = "gone"
    """No longer exists (terminated, or never found)."""


@dataclass(frozen=True)
class CpuReading:
    """A server's CPU seconds used (per vCPU of a VM), read at `time`: seconds on the reading driver's monotonic clock,
    of which only the difference between two readings of one server counts."""

    time: float
    cpu_seconds: float


@dataclass(frozen=True)
class ServerState:
    """A server's status and, for people, why it is in it (e.g. an exit code)."""

    status: ServerStatus
    reason: str = ""
    address: str = ""
    """Where it serves, once known: "host:port" where the driver gives it a port (a local process's AUTOSCALE_PORT), else
    its IP address (a Nova server's fixed address). Health checks connect there."""


def split_address(address: str) -> tuple[str, int] | None:
    """The host and port of a ServerState address ("host:port", "host", "[v6]:port"; port 0 when it names none); None when
    it names no host or a port that is not one."""
    parsed = urlsplit(f"//{address}")
    try:
        port = parsed.port or 0
    except ValueError:
        return None
    return (parsed.hostname, port) if parsed.hostname else None


@dataclass(frozen=True)
class ProcessSpec:
    """A local process: the program and arguments, and extra environment."""

    command: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServerNic:
    """One NIC of a Nova server: a network (name or id, optionally with a fixed IP on it) or an existing port's id."""

    network: str = ""
    port: str = ""
    fixed_ip: str = ""


@dataclass(frozen=True)
class OpenStackServerSpec:
    """A Nova server to boot."""

    image: str
    """Image name or id (with boot_volume_size_gb, the image the boot volume is made from)."""
    flavor: str
    """Flavor name or id."""
    key_name: str = ""
    networks: Sequence[str] = ()
    """Network names or ids, a NIC each with an address Nova picks; with no NIC at all Nova picks the network ("auto")."""
    security_groups: Sequence[str] = ()
    user_data: str = ""
    """Plain text; sent base64-encoded."""
    metadata: Mapping[str, str] = field(default_factory=dict)
    availability_zone: str = ""
    """Empty: the cloud's default."""
    nics: Sequence[ServerNic] = ()
    """NICs with a fixed IP or an existing port, after those of `networks`."""
    server_group: str = ""
    """Server group name or id the servers join (Nova's scheduler hint `group`), e.g. for anti-affinity."""
    boot_volume_size_gb: int = 0
    """Above 0: boot from a new volume of that size made from the image, deleted with the server."""
    config_drive: bool = False


@dataclass(frozen=True)
class SpecProblem:
    """Something a launch config's spec names that the cloud lacks: the spec's field (e.g. "image", "nics[0].port") and
    what is wrong, for people."""

    field: str
    description: str


@dataclass(frozen=True)
class LaunchRequest:
    """Everything a driver needs to start one instance of a group."""

    project: str
    """The project the group belongs to, passed to the instance as AUTOSCALE_PROJECT (group ids are unique within a
    project only)."""
    group_id: str
    """The group's id (e.g. "web"), passed to the instance as AUTOSCALE_GROUP."""
    instance_id: str
    """The instance's id (unique in the group), passed as AUTOSCALE_INSTANCE."""
    metrics_addr: str
    """Where the instance's workload reports samples, passed as AUTOSCALE_METRICS_ADDR."""
    process: ProcessSpec | None = None
    """Set for the local driver."""
    openstack_server: OpenStackServerSpec | None = None
    """Set for the OpenStack driver."""


@dataclass(frozen=True)
class FoundServer:
    """A server a driver found by the marks `launch` gave it: the instance it was launched for, and its server id."""

    instance_id: str
    server_id: str


class ComputeDriver(Protocol):
    """Starts, inspects and stops instances of one kind. Implementations are thread-safe."""

    def launch(self, request: LaunchRequest) -> str:
        """Start one instance and return its server id (opaque to the caller).

        The server carries the request's project, group and instance ids from the moment it exists,
        so that `find_servers` finds it even if this call never returns (a crash, a lost reply).
        Raises DriverError when it cannot be started.
        """

    def find_servers(self, project: str, group_id: str) -> list[FoundServer]:
        """The servers of the project's group that this driver (of this deployment) launched and that still exist.

        Found by the marks `launch` gives them, not by what was recorded: the reconcile loop
        adopts those of recorded instances and stops the others, so a server marked with
        another project (which may have a group of the same id) is never among them. Raises DriverError.
        """

    def state(self, server_id: str) -> ServerState:
        """The current state of a server started by `launch` (GONE when it no longer exists)."""

    def terminate(self, server_id: str) -> None:
        """Stop and remove a server; idempotent (a GONE server is fine). Raises DriverError."""


@runtime_checkable
class ServerSpecValidator(Protocol):
    """A driver that can check a Nova server's spec against its cloud before any server is booted."""

    def validate(self, spec: OpenStackServerSpec) -> list[SpecProblem]:
        """What of `spec` the cloud lacks (none: it can be booted as far as can be told). Raises DriverError when the
        cloud cannot tell."""
