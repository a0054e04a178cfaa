"""The OpenStack driver: each instance is a Nova server, through openstacksdk.

Every error of the SDK or of keystoneauth is translated into `DriverError` here, naming
the operation and carrying the cloud's message, so nothing above sees an SDK exception.
A VM has no process environment to receive the AUTOSCALE_* values, so they travel in
the server's metadata instead (`autoscale_project`, `autoscale_group`, `autoscale_instance`,
`autoscale_metrics_addr`), where the workload can read them from the metadata service.

The server is named `<group>-<instance>` and carries that metadata in the create request
itself, so a server Nova made whose reply never reached the service (a timeout, a
crash) is still found: `find_servers` lists the group's servers by name and metadata,
and keeps only those of the project asked (two projects may each have a group `web`,
whose servers share a name prefix in the one Nova project the service boots into).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import openstack
from keystoneauth1 import exceptions as keystone_exceptions
from openstack import exceptions as sdk_exceptions

from services.group.drivers.base import DriverError, FoundServer, LaunchRequest, ServerState, ServerStatus

_CLOUD_ERRORS = (sdk_exceptions.SDKException, keystone_exceptions.ClientException)
_GONE_STATUSES = frozenset({"DELETED", "SOFT_DELETED"})


@contextmanager
def _translated(operation: str) -> Iterator[None]:
    """Re-raise the cloud's errors inside the block as DriverError("<operation>: <cloud's message>")."""
    try:
        yield
    except _CLOUD_ERRORS as error:
        raise DriverError(f"{operation}: {_cloud_message(error)}") from error


def _cloud_message(error: Exception) -> str:
    """What the cloud said: an HTTP error's message from its body and its status (openstacksdk's own text of it starts
    with the class and the URL, e.g. "ForbiddenException: 403: Client Error for url: https://..., Quota exceeded..."),
    or the exception's text."""
    if isinstance(error, sdk_exceptions.HttpException) and error.details and error.status_code:
        return f"{error.details} (HTTP {error.status_code})"
    return str(error) or type(error).__name__


class OpenStackDriver:
    """Boots, inspects and deletes Nova servers in one cloud of clouds.yaml (or the OS_* environment)."""

    def __init__(self, cloud: str = "", connect: Callable[[], Any] | None = None) -> None:
        """`cloud`: the clouds.yaml entry ("" = openstacksdk's default); `connect`: builds the connection (tests)."""
        self._cloud = cloud
        self._connect = connect or (lambda: openstack.connect(cloud=cloud or None))
        self._lock = threading.Lock()
        self._connection: Any = None

    def launch(self, request: LaunchRequest) -> str:
        """Ask Nova for a server of the request's spec and return its id, without waiting for it to be ACTIVE."""
        spec = request.openstack_server
        if spec is None:
            raise DriverError(f"instance {request.instance_id} of group {request.group_id} has no OpenStack server to boot")
        name = f"{request.group_id}-{request.instance_id}"
        conn = self._conn()
        with _translated(f"cannot find the flavor {spec.flavor!r}"):
            flavor = conn.compute.find_flavor(spec.flavor, ignore_missing=False)
        with _translated(f"cannot find the image {spec.image!r}"):
            image = conn.image.find_image(spec.image, ignore_missing=False)
        networks: list[dict[str, str]] = []
        for network_name in spec.networks:
            with _translated(f"cannot find the network {network_name!r}"):
                networks.append({"uuid": conn.network.find_network(network_name, ignore_missing=False).id})
        attributes: dict[str, Any] = {
            "name": name,
            "image_id": image.id,
            "flavor_id": flavor.id,
            # NOTE: from compute API 2.37 on (every current cloud; openstacksdk negotiates the
            # newest) "networks" is required; "auto" lets Nova pick, as the SDK's cloud layer does.
            "networks": networks or "auto",
            "metadata": {
                **spec.metadata,
                "autoscale_project": request.project,
                "autoscale_group": request.group_id,
                "autoscale_instance": request.instance_id,
                "autoscale_metrics_addr": request.metrics_addr,
                # What Heat sets and Ceilometer/Aodh aggregate a group's samples by.
                "metering.server_group": request.group_id,
            },
        }
        if spec.key_name:
            attributes["key_name"] = spec.key_name
        if spec.security_groups:
            attributes["security_groups"] = [{"name": group} for group in spec.security_groups]
        if spec.user_data:
            # Nova takes user data base64-encoded; the SDK's proxy passes it through as given.
            attributes["user_data"] = base64.b64encode(spec.user_data.encode()).decode("ascii")
        with _translated(f"cannot create the server {name!r}"):
            server = conn.compute.create_server(**attributes)
        return str(server.id)

    def find_servers(self, project: str, group_id: str) -> list[FoundServer]:
        """The project's group's servers that exist: named `<group>-...` (Nova filters names by regular expression) and
        carrying the project, the group's id and an instance id in their metadata."""
        conn = self._conn()
        with _translated(f"cannot list the servers of the group {group_id!r}"):
            # NOTE: group ids are lower-case letters, digits and hyphens: nothing a regular expression reads specially.
            listed = list(conn.compute.servers(details=True, name=f"^{group_id}-"))
        found = []
        for server in listed:
            metadata = server.metadata or {}
            instance_id = metadata.get("autoscale_instance")
            ours = metadata.get("autoscale_project") == project and metadata.get("autoscale_group") == group_id
            if ours and instance_id and (server.status or "").upper() not in _GONE_STATUSES:
                found.append(FoundServer(str(instance_id), str(server.id)))
        return found

    def state(self, server_id: str) -> ServerState:
        """ACTIVE is RUNNING, ERROR is FAILED (with Nova's fault), deleted or unknown is GONE, anything else PENDING."""
        conn = self._conn()
        with _translated(f"cannot get the server {server_id!r}"):
            try:
                server = conn.compute.get_server(server_id)
            except sdk_exceptions.NotFoundException:
                return ServerState(ServerStatus.GONE, "no such server")
        status = (server.status or "").upper()
        if status == "ACTIVE":
            return ServerState(ServerStatus.RUNNING)
        if status == "ERROR":
            return ServerState(ServerStatus.FAILED, _fault_message(server) or "the server is in ERROR")
        if status in _GONE_STATUSES:
            return ServerState(ServerStatus.GONE, f"the server is {status}")
        return ServerState(ServerStatus.PENDING, f"the server is {status or 'without a status'}")

    def terminate(self, server_id: str) -> None:
        """Delete the server (a server that is gone already is fine); does not wait for it to disappear."""
        conn = self._conn()
        with _translated(f"cannot delete the server {server_id!r}"):
            conn.compute.delete_server(server_id, ignore_missing=True)

    def _conn(self) -> Any:
        """The connection, made on first use so that a service without a cloud configured still starts."""
        with self._lock:
            if self._connection is None:
                with _translated(f"cannot connect to the cloud {self._cloud or '(default)'!r}"):
                    self._connection = self._connect()
            return self._connection


def _fault_message(server: Any) -> str:
    """Nova's fault message of a server in ERROR, if it says one."""
    fault = getattr(server, "fault", None)
    if isinstance(fault, dict):
        return str(fault.get("message") or "")
    return ""
