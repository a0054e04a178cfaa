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

Names of a launch config (image, flavor, networks, server group) are resolved to ids once per RESOLVE_TTL and launch
config, not once per server: a scale-out of hundreds of servers asks Glance and Neutron once. `validate` checks
everything a launch config names against the cloud when it is created.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import openstack
from keystoneauth1 import exceptions as keystone_exceptions
from openstack import exceptions as sdk_exceptions

from services.group.drivers.base import (
    CloudNotConfigured,
    CpuReading,
    DriverError,
    FoundServer,
    LaunchRequest,
    OpenStackServerSpec,
    ServerState,
    ServerStatus,
    SpecProblem,
)

log = logging.getLogger(__name__)

_CLOUD_ERRORS = (sdk_exceptions.SDKException, keystone_exceptions.ClientException)
_CONFIGURATION_ERRORS = (sdk_exceptions.ConfigException, keystone_exceptions.AuthPluginException)
"""No cloud of that name, or one lacking its auth_url, password...: never transient."""
_GONE_STATUSES = frozenset({"DELETED", "SOFT_DELETED"})

DEFAULT_TIMEOUT = 30.0
"""Seconds one request to the cloud may take (without one, a request whose answer never comes holds a reconcile pass
forever)."""

RESOLVE_TTL = 60.0
"""Seconds the ids a launch config's names resolved to are used before they are looked up again (an image replaced by
a new one of the same name is booted within a minute; a create that fails forgets them at once)."""


@contextmanager
def translated(operation: str) -> Iterator[None]:
    """Re-raise the cloud's errors inside the block as DriverError("<operation>: <cloud's message>"), those of its
    configuration as CloudNotConfigured."""
    try:
        yield
    except _CONFIGURATION_ERRORS as error:
        raise CloudNotConfigured(f"{operation}: {_cloud_message(error)}") from error
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

    def __init__(
        self,
        cloud: str = "",
        connect: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """`cloud`: the clouds.yaml entry ("" = openstacksdk's default); `connect`: builds the connection (tests); `clock`:
        what RESOLVE_TTL is measured by; `timeout`: seconds one request may take (openstacksdk's api_timeout)."""
        self._cloud = cloud
        self._connect = connect or (lambda: openstack.connect(cloud=cloud or None, api_timeout=timeout))
        self._clock = clock
        self._lock = threading.Lock()
        self._connection: Any = None
        self._resolutions: dict[Hashable, tuple[float, _Resolved]] = {}
        """What `_resolution_key` of a spec resolved to, and until when it is used."""
        self._diagnostics_said = ""
        """The kind of problem with servers' diagnostics last logged ("": none since they were last read)."""

    def launch(self, request: LaunchRequest) -> str:
        """Ask Nova for a server of the request's spec and return its id, without waiting for it to be ACTIVE."""
        spec = request.openstack_server
        if spec is None:
            raise DriverError(f"instance {request.instance_id} of group {request.group_id} has no OpenStack server to boot")
        name = f"{request.group_id}-{request.instance_id}"
        conn = self.connection()
        key = _resolution_key(spec)
        resolved = self._resolved(conn, spec, key)
        attributes: dict[str, Any] = {
            "name": name,
            "flavor_id": resolved.flavor_id,
            # NOTE: from compute API 2.37 on (every current cloud; openstacksdk negotiates the
            # newest) "networks" is required; "auto" lets Nova pick, as the SDK's cloud layer does.
            "networks": [dict(nic) for nic in resolved.networks] or "auto",
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
        if spec.boot_volume_size_gb > 0:
            # No imageRef: Nova boots from the volume it makes of the image first.
            attributes["block_device_mapping"] = [
                {
                    "boot_index": 0,
                    "uuid": resolved.image_id,
                    "source_type": "image",
                    "destination_type": "volume",
                    "volume_size": spec.boot_volume_size_gb,
                    "delete_on_termination": True,
                }
            ]
        else:
            attributes["image_id"] = resolved.image_id
        if spec.availability_zone:
            attributes["availability_zone"] = spec.availability_zone
        if resolved.server_group_id:
            attributes["scheduler_hints"] = {"group": resolved.server_group_id}
        if spec.config_drive:
            attributes["config_drive"] = True
        try:
            with translated(f"cannot create the server {name!r}"):
                server = conn.compute.create_server(**attributes)
        except DriverError:
            # The names may resolve to other ids now (an image replaced, a network made again).
            self._forget(key)
            raise
        return str(server.id)

    def validate(self, spec: OpenStackServerSpec) -> list[SpecProblem]:
        """What of `spec` the cloud lacks: its image, flavor, networks, NICs' networks and ports, security groups, key pair,
        server group and availability zone, each looked up. DriverError when the cloud cannot tell."""
        conn = self.connection()
        problems: list[SpecProblem] = []

        def look_up(field: str, kind: str, value: str, find: Callable[[str], Any]) -> Any:
            # NOTE: the proxy (conn.image...) is made on first use, which authenticates and discovers the service's
            # versions: `find` reaches it inside the translation, where its errors become DriverError too.
            with translated(f"cannot look up the {kind} {value!r}"):
                try:
                    return find(value)
                except sdk_exceptions.NotFoundException:
                    problems.append(SpecProblem(field, f"no {kind} {value!r} in the cloud"))
                except sdk_exceptions.DuplicateResource:
                    problems.append(SpecProblem(field, f"more than one {kind} is named {value!r} in the cloud; give its id"))
            return None

        image = look_up("image", "image", spec.image, lambda name: conn.image.find_image(name, ignore_missing=False))
        look_up("flavor", "flavor", spec.flavor, lambda name: conn.compute.find_flavor(name, ignore_missing=False))
        if image is not None and spec.boot_volume_size_gb and (image.min_disk or 0) > spec.boot_volume_size_gb:
            problems.append(
                SpecProblem("boot_volume_size_gb", f"the image {spec.image!r} needs a disk of {image.min_disk} GiB at least")
            )
        find_network = lambda name: conn.network.find_network(name, ignore_missing=False)  # noqa: E731
        for position, network in enumerate(spec.networks):
            look_up(f"networks[{position}]", "network", network, find_network)
        for position, nic in enumerate(spec.nics):
            if nic.network:
                look_up(f"nics[{position}].network", "network", nic.network, find_network)
            elif nic.port:
                port = look_up(f"nics[{position}].port", "port", nic.port, lambda port_id: conn.network.get_port(port_id))
                if port is not None and port.device_id:
                    problems.append(SpecProblem(f"nics[{position}].port", f"the port {nic.port!r} is attached to {port.device_id!r}"))
        find_security_group = lambda name: conn.network.find_security_group(name, ignore_missing=False)  # noqa: E731
        for position, group in enumerate(spec.security_groups):
            look_up(f"security_groups[{position}]", "security group", group, find_security_group)
        if spec.key_name:
            look_up("key_name", "key pair", spec.key_name, lambda name: conn.compute.find_keypair(name, ignore_missing=False))
        if spec.server_group:
            find_server_group = lambda name: conn.compute.find_server_group(name, ignore_missing=False)  # noqa: E731
            look_up("server_group", "server group", spec.server_group, find_server_group)
        if spec.availability_zone:
            with translated("cannot list the availability zones"):
                zones = {zone.name for zone in conn.compute.availability_zones() if (zone.state or {}).get("available", True)}
            if spec.availability_zone not in zones:
                problems.append(SpecProblem("availability_zone", f"no available zone {spec.availability_zone!r} in the cloud"))
        return problems

    def find_servers(self, project: str, group_id: str) -> list[FoundServer]:
        """The project's group's servers that exist: named `<group>-...` (Nova filters names by regular expression) and
        carrying the project, the group's id and an instance id in their metadata."""
        conn = self.connection()
        with translated(f"cannot list the servers of the group {group_id!r}"):
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
        """ACTIVE is RUNNING, ERROR is FAILED (with Nova's fault), deleted or unknown is GONE, being deleted or anything else
        PENDING."""
        conn = self.connection()
        with translated(f"cannot get the server {server_id!r}"):
            try:
                server = conn.compute.get_server(server_id)
            except sdk_exceptions.NotFoundException:
                return ServerState(ServerStatus.GONE, "no such server")
        status = (server.status or "").upper()
        if (server.task_state or "") == "deleting" and status not in _GONE_STATUSES:
            # Still there (and still counted in the quota) until Nova is done: not stopped yet, even in ERROR.
            return ServerState(ServerStatus.PENDING, f"the server is being deleted ({status or 'without a status'})")
        if status == "ACTIVE":
            return ServerState(ServerStatus.RUNNING, address=_fixed_address(server))
        if status == "ERROR":
            return ServerState(ServerStatus.FAILED, _fault_message(server) or "the server is in ERROR")
        if status in _GONE_STATUSES:
            return ServerState(ServerStatus.GONE, f"the server is {status}")
        return ServerState(ServerStatus.PENDING, f"the server is {status or 'without a status'}")

    def cpu_readings(self, server_ids: Sequence[str]) -> dict[str, CpuReading]:
        """Seconds of CPU each server has used per vCPU it has, from Nova's server diagnostics (microversion 2.48: each
        vCPU's time in nanoseconds), so that the share of time is of the whole server, as CloudWatch's CPUUtilization is
        of an instance's vCPUs; each read at the middle of its own request (one at a time: a pass over many servers takes
        a while). Servers Nova cannot tell of (not running, gone, a hypervisor that gives no CPU times) are left out.

        Nova's default policy lets admins only read diagnostics: a refusal ends the pass (the rule is the same for every
        server), and so does a cloud that cannot be reached (each request would wait its timeout). What keeps the CPU
        from being read is logged when it starts, not every pass, and its end when a pass reads again."""
        if not server_ids:
            return {}
        try:
            conn = self.connection()
        except DriverError as error:
            self._diagnostics_problem("unreachable", f"cannot measure the CPU of Nova servers: {error}")
            return {}
        used: dict[str, CpuReading] = {}
        troubled = False
        for server_id in server_ids:
            asked = self._clock()
            try:
                diagnostics = conn.compute.get_server_diagnostics(server_id)
            except sdk_exceptions.ForbiddenException as error:
                self._diagnostics_problem("refused", (
                    f"Nova refuses this service the servers' diagnostics ({_cloud_message(error)}): the predefined CPU "
                    "metric of Nova groups is read there; grant its user the rule os_compute_api:os-server-diagnostics "
                    "(admin by default)"
                ))
                return used
            except (sdk_exceptions.NotFoundException, sdk_exceptions.ConflictException):
                continue  # gone, or not running (409): no CPU to tell of
            except sdk_exceptions.HttpException as error:
                troubled = True
                self._diagnostics_problem("failing", f"Nova fails to give servers' diagnostics: {_cloud_message(error)}")
                continue  # one server's failure: the others may answer
            except _CLOUD_ERRORS as error:
                self._diagnostics_problem("unreachable", f"cannot measure the CPU of Nova servers: {_cloud_message(error)}")
                return used
            per_cpu = _cpu_seconds_per_vcpu(diagnostics.cpu_details, diagnostics.num_cpus)
            if per_cpu is None:
                troubled = True
                self._diagnostics_problem("no times", (
                    f"Nova's diagnostics of the server {server_id!r} give no vCPU times (its hypervisor driver: "
                    f"{diagnostics.driver or 'unknown'}): its CPU is not measured"
                ))
                continue
            used[server_id] = CpuReading((asked + self._clock()) / 2, per_cpu)
        if not troubled and self._diagnostics_said:
            log.info("Nova's servers' diagnostics are read again")
            self._diagnostics_said = ""
        return used

    def _diagnostics_problem(self, kind: str, message: str) -> None:
        """Log what keeps servers' CPU from being read, once until another kind of problem comes or a pass reads again."""
        if kind != self._diagnostics_said:
            log.warning("%s", message)
            self._diagnostics_said = kind

    def terminate(self, server_id: str) -> None:
        """Delete the server (a server that is gone already is fine); does not wait for it to disappear."""
        conn = self.connection()
        with translated(f"cannot delete the server {server_id!r}"):
            conn.compute.delete_server(server_id, ignore_missing=True)

    def _resolved(self, conn: Any, spec: OpenStackServerSpec, key: Hashable) -> _Resolved:
        """The ids of the spec's names, looked up at most once per RESOLVE_TTL (DriverError naming what is missing)."""
        now = self._clock()
        with self._lock:
            cached = self._resolutions.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        with translated(f"cannot find the flavor {spec.flavor!r}"):
            flavor_id = str(conn.compute.find_flavor(spec.flavor, ignore_missing=False).id)
        with translated(f"cannot find the image {spec.image!r}"):
            image_id = str(conn.image.find_image(spec.image, ignore_missing=False).id)
        networks: list[tuple[tuple[str, str], ...]] = []
        for network_name in spec.networks:
            with translated(f"cannot find the network {network_name!r}"):
                networks.append((("uuid", str(conn.network.find_network(network_name, ignore_missing=False).id)),))
        for nic in spec.nics:
            if nic.port:
                networks.append((("port", nic.port),))
                continue
            with translated(f"cannot find the network {nic.network!r}"):
                network_id = str(conn.network.find_network(nic.network, ignore_missing=False).id)
            networks.append((("uuid", network_id), ("fixed_ip", nic.fixed_ip)) if nic.fixed_ip else (("uuid", network_id),))
        server_group_id = ""
        if spec.server_group:
            with translated(f"cannot find the server group {spec.server_group!r}"):
                server_group_id = str(conn.compute.find_server_group(spec.server_group, ignore_missing=False).id)
        resolved = _Resolved(image_id, flavor_id, tuple(networks), server_group_id)
        with self._lock:
            self._resolutions[key] = (now + RESOLVE_TTL, resolved)
        return resolved

    def _forget(self, key: Hashable) -> None:
        with self._lock:
            self._resolutions.pop(key, None)

    def connection(self) -> Any:
        """The connection, made on first use so that a service without a cloud configured still starts (the Octavia
        pools share it)."""
        with self._lock:
            if self._connection is None:
                with translated(f"cannot connect to the cloud {self._cloud or '(default)'!r}"):
                    self._connection = self._connect()
            return self._connection


def _fixed_address(server: Any) -> str:
    """The server's first fixed address, IPv4 before IPv6 (in brackets), where health checks connect; "" if it has none."""
    found = [
        str(entry["addr"]) if entry.get("version", 4) == 4 else f"[{entry['addr']}]"
        for entries in (getattr(server, "addresses", None) or {}).values()
        for entry in entries
        if isinstance(entry, dict) and entry.get("addr") and entry.get("OS-EXT-IPS:type", "fixed") == "fixed"
    ]
    return sorted(found, key=lambda address: address.startswith("["))[0] if found else ""


@dataclass(frozen=True)
class _Resolved:
    """A spec's names as ids: the create request's imageRef, flavorRef, networks and scheduler hint `group`."""

    image_id: str
    flavor_id: str
    networks: tuple[tuple[tuple[str, str], ...], ...]
    """Each NIC's items: ("uuid", id) and maybe ("fixed_ip", address), or ("port", id)."""
    server_group_id: str


def _resolution_key(spec: OpenStackServerSpec) -> Hashable:
    """What the ids of a spec's names depend on."""
    return (spec.image, spec.flavor, tuple(spec.networks), tuple(spec.nics), spec.server_group)


def _fault_message(server: Any) -> str:
    """Nova's fault message of a server in ERROR, if it says one."""
    fault = getattr(server, "fault", None)
    if isinstance(fault, dict):
        return str(fault.get("message") or "")
    return ""


def _cpu_seconds_per_vcpu(cpu_details: Any, num_cpus: Any) -> float | None:
    """The seconds of CPU the server's vCPUs have used, divided by their number; None when the diagnostics give no time
    for some vCPU (drivers other than libvirt may give none)."""
    if not isinstance(cpu_details, list) or not cpu_details:
        return None
    times: list[float] = []
    for detail in cpu_details:
        time_ns = detail.get("time") if isinstance(detail, dict) else None
        if not isinstance(time_ns, int | float) or isinstance(time_ns, bool) or time_ns < 0:
            return None
        times.append(float(time_ns))
    vcpus = num_cpus if isinstance(num_cpus, int) and not isinstance(num_cpus, bool) and num_cpus > 0 else len(times)
    return sum(times) / 1e9 / vcpus
