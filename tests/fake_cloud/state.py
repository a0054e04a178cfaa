"""The fake cloud's contents and what its APIs do with them, without HTTP: Keystone's users, Nova's flavors, servers,
key pairs, server groups and zones, Glance's images, Neutron's networks, subnets, ports and security groups, Octavia's
load balancers, pools and members.

Methods answer the JSON bodies the real services answer (as far as openstacksdk reads them) and raise ApiError with the
service's error body for what the real service refuses. One lock guards everything; time is `clock()` (monotonic), so a
server's status is computed when it is read: BUILD until `build_seconds` after its creation, then its outcome.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fake_cloud.faults import Faults

REGION = "RegionOne"
DOMAIN = "Default"
USER = "demo"
PASSWORD = "fake-cloud-password-7f3c9a"
"""Distinct, so that a test can tell it never appears in a log or a message."""
PROJECT = "demo"

NOVA_MIN_VERSION = "2.1"
NOVA_MAX_VERSION = "2.96"


class ApiError(Exception):
    """An answer other than success: the HTTP status and the service's JSON error body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


_NOVA_ERROR_KEYS = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound", 409: "conflictingRequest"}


def nova_error(status: int, message: str) -> ApiError:
    return ApiError(status, {_NOVA_ERROR_KEYS.get(status, "computeFault"): {"code": status, "message": message}})


def neutron_error(status: int, kind: str, message: str) -> ApiError:
    return ApiError(status, {"NeutronError": {"type": kind, "message": message, "detail": ""}})


def glance_error(status: int, message: str) -> ApiError:
    return ApiError(status, {"code": status, "title": "Not Found" if status == 404 else "Bad Request", "message": message})


def octavia_error(status: int, message: str) -> ApiError:
    return ApiError(status, {"faultcode": "Client", "faultstring": message, "debuginfo": None})


def _new_id() -> str:
    return str(uuid.uuid4())


def _timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _mac(number: int) -> str:
    return "fa:16:3e:" + ":".join(f"{(number >> shift) & 0xFF:02x}" for shift in (16, 8, 0))


@dataclass
class Subnet:
    id: str
    name: str
    network_id: str
    cidr: ipaddress.IPv4Network
    next_host: int = 10

    def body(self) -> dict[str, Any]:
        hosts = list(self.cidr.hosts())
        return {
            "id": self.id,
            "name": self.name,
            "network_id": self.network_id,
            "cidr": str(self.cidr),
            "ip_version": 4,
            "gateway_ip": str(hosts[0]),
            "enable_dhcp": True,
            "allocation_pools": [{"start": str(hosts[1]), "end": str(hosts[-1])}],
            "project_id": "",
        }


@dataclass
class Port:
    id: str
    name: str
    network_id: str
    fixed_ips: list[tuple[str, str]]
    """(subnet id, IP address) pairs."""
    mac_address: str
    device_id: str = ""
    device_owner: str = ""
    security_groups: list[str] = field(default_factory=list)
    made_by_nova: bool = False
    """Nova made it for a server's network and deletes it with the server; a port given to Nova is only unbound."""

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "network_id": self.network_id,
            "fixed_ips": [{"subnet_id": subnet, "ip_address": address} for subnet, address in self.fixed_ips],
            "mac_address": self.mac_address,
            "device_id": self.device_id,
            "device_owner": self.device_owner,
            "security_groups": list(self.security_groups),
            "status": "ACTIVE" if self.device_id else "DOWN",
            "admin_state_up": True,
            "project_id": "",
        }


@dataclass
class ServerVolume:
    id: str
    size: int
    image_id: str
    delete_on_termination: bool


@dataclass
class Server:
    id: str
    name: str
    flavor: dict[str, Any]
    image_id: str
    port_ids: list[str]
    security_groups: list[str]
    key_name: str | None
    user_data: str | None
    metadata: dict[str, str]
    availability_zone: str
    config_drive: bool
    server_group_id: str
    volumes: list[ServerVolume]
    created: float
    outcome: str
    fault: str
    deleting_until: float | None = None
    cpu_load: float = 0.0
    """The share of its vCPUs the server keeps busy from `cpu_load_since` on (0 to 1): what its diagnostics' CPU times grow by."""
    cpu_load_since: float = 0.0
    cpu_seconds_before: float = 0.0
    """Seconds of CPU (all vCPUs together) used before `cpu_load_since`."""


@dataclass
class Member:
    id: str
    pool_id: str
    name: str
    address: str
    protocol_port: int
    subnet_id: str | None
    weight: int
    admin_state_up: bool

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "pool_id": self.pool_id,
            "name": self.name,
            "address": self.address,
            "protocol_port": self.protocol_port,
            "subnet_id": self.subnet_id,
            "weight": self.weight,
            "admin_state_up": self.admin_state_up,
            "provisioning_status": "ACTIVE",
            "operating_status": "NO_MONITOR",
            "backup": False,
            "monitor_address": None,
            "monitor_port": None,
            "tags": [],
            "project_id": "",
            "created_at": _timestamp(),
            "updated_at": None,
        }


class CloudState:
    """Everything the fake cloud holds, and the rules its APIs apply. `faults` decide what goes wrong."""

    def __init__(self, faults: Faults, clock: Callable[[], float] = time.monotonic) -> None:
        self.faults = faults
        self.clock = clock
        self.lock = threading.RLock()
        self.build_seconds = 0.05
        """How long a new server is in BUILD before its outcome (ACTIVE, or ERROR when a fault says so)."""
        self.instance_quota = 50
        """Nova's `instances` quota of the project: a create past it is refused with 403."""
        self.project_id = uuid.uuid4().hex
        self.user_id = uuid.uuid4().hex
        self.tokens: set[str] = set()
        self.server_creates = 0
        """Create requests Nova received (refused or not)."""
        self.diagnostics_allowed = True
        """Whether the user may read servers' diagnostics (Nova's default policy lets admins only)."""
        self.flavors: dict[str, dict[str, Any]] = {}
        self.images: dict[str, dict[str, Any]] = {}
        self.networks: dict[str, dict[str, Any]] = {}
        self.subnets: dict[str, Subnet] = {}
        self.ports: dict[str, Port] = {}
        self.security_groups: dict[str, dict[str, Any]] = {}
        self.keypairs: dict[str, dict[str, Any]] = {}
        self.server_groups: dict[str, dict[str, Any]] = {}
        self.availability_zones = ["nova", "az-2"]
        self.servers: dict[str, Server] = {}
        self.load_balancers: dict[str, dict[str, Any]] = {}
        self.pools: dict[str, dict[str, Any]] = {}
        self.members: dict[str, Member] = {}
        self._macs = 0
        self._populate()

    def _populate(self) -> None:
        for flavor_id, name, vcpus, ram, disk in (
            ("1", "m1.tiny", 1, 512, 1),
            ("2", "m1.small", 1, 2048, 20),
            ("3", "m1.medium", 2, 4096, 40),
        ):
            self.add_flavor(name, vcpus, ram, disk, flavor_id)
        for name in ("ubuntu-24.04", "cirros"):
            self.add_image(name)
        private = self.add_network("private", "10.0.0.0/22")
        self.add_network("public", "172.24.4.0/24")
        for name in ("default", "web"):
            self.add_security_group(name)
        self.keypairs["deployer"] = {
            "name": "deployer",
            "type": "ssh",
            "fingerprint": "1e:2c:9b:56:79:4b:45:77:f9:ca:7a:98:2c:b0:d5:3c",
            "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyOfTheFakeCloud deployer",
            "user_id": self.user_id,
        }
        self.add_server_group("web-anti", "anti-affinity")
        load_balancer_id = _new_id()
        self.load_balancers[load_balancer_id] = {
            "id": load_balancer_id,
            "name": "lb-web",
            "vip_address": "10.0.0.2",
            "vip_subnet_id": next(iter(self.subnets)),
            "vip_network_id": private,
            "provisioning_status": "ACTIVE",
            "operating_status": "ONLINE",
            "admin_state_up": True,
            "project_id": self.project_id,
            "provider": "amphora",
            "listeners": [],
            "pools": [],
            "tags": [],
        }
        pool_id = _new_id()
        self.pools[pool_id] = {
            "id": pool_id,
            "name": "pool-web",
            "protocol": "HTTP",
            "lb_algorithm": "ROUND_ROBIN",
            "loadbalancers": [{"id": load_balancer_id}],
            "listeners": [],
            "members": [],
            "provisioning_status": "ACTIVE",
            "operating_status": "ONLINE",
            "admin_state_up": True,
            "project_id": self.project_id,
            "tags": [],
        }
        self.load_balancers[load_balancer_id]["pools"].append({"id": pool_id})

    # Contents a test adds, and lookups by name.

    def add_flavor(self, name: str, vcpus: int = 1, ram: int = 2048, disk: int = 20, flavor_id: str = "") -> str:
        flavor_id = flavor_id or _new_id()
        with self.lock:
            self.flavors[flavor_id] = {"id": flavor_id, "name": name, "vcpus": vcpus, "ram": ram, "disk": disk}
        return flavor_id

    def add_image(self, name: str, min_disk: int = 0) -> str:
        image_id = _new_id()
        with self.lock:
            self.images[image_id] = {
                "id": image_id,
                "name": name,
                "status": "active",
                "visibility": "public",
                "disk_format": "qcow2",
                "container_format": "bare",
                "min_disk": min_disk,
                "min_ram": 0,
                "size": 16 * 1024 * 1024,
                "protected": False,
                "tags": [],
                "owner": self.project_id,
                "created_at": _timestamp(),
                "updated_at": _timestamp(),
                "self": f"/v2/images/{image_id}",
                "file": f"/v2/images/{image_id}/file",
                "schema": "/v2/schemas/image",
            }
        return image_id

    def add_network(self, name: str, cidr: str) -> str:
        network_id = _new_id()
        subnet = Subnet(_new_id(), f"{name}-subnet", network_id, ipaddress.IPv4Network(cidr))
        with self.lock:
            self.subnets[subnet.id] = subnet
            self.networks[network_id] = {
                "id": network_id,
                "name": name,
                "status": "ACTIVE",
                "admin_state_up": True,
                "shared": False,
                "router:external": False,
                "subnets": [subnet.id],
                "mtu": 1450,
                "project_id": self.project_id,
                "tags": [],
            }
        return network_id

    def add_security_group(self, name: str) -> str:
        group_id = _new_id()
        with self.lock:
            self.security_groups[group_id] = {
                "id": group_id,
                "name": name,
                "description": "",
                "security_group_rules": [],
                "project_id": self.project_id,
                "tags": [],
            }
        return group_id

    def add_server_group(self, name: str, policy: str) -> str:
        group_id = _new_id()
        with self.lock:
            self.server_groups[group_id] = {
                "id": group_id,
                "name": name,
                "policies": [policy],
                "policy": policy,
                "rules": {},
                "members": [],
                "metadata": {},
                "project_id": self.project_id,
                "user_id": self.user_id,
            }
        return group_id

    def add_port(self, network: str, fixed_ip: str = "", name: str = "") -> str:
        """A port made in Neutron (as a user would, to give it to a server)."""
        with self.lock:
            port = self._make_port(self.id_of("network", network), fixed_ip, name)
        return port.id

    def id_of(self, kind: str, name: str) -> str:
        """The id of the flavor, image, network, security_group, server_group or pool named `name`."""
        table: dict[str, Any] = {
            "flavor": self.flavors,
            "image": self.images,
            "network": self.networks,
            "security_group": self.security_groups,
            "server_group": self.server_groups,
            "pool": self.pools,
            "load_balancer": self.load_balancers,
        }[kind]
        with self.lock:
            (found,) = [identifier for identifier, body in table.items() if body["name"] == name]
        return str(found)

    # Keystone.

    def issue_token(self, user: str, password: str, project: str) -> str:
        if (user, password, project) != (USER, PASSWORD, PROJECT):
            raise ApiError(
                401, {"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}
            )
        token = uuid.uuid4().hex
        with self.lock:
            self.tokens.add(token)
        return token

    # Neutron.

    def _make_port(self, network_id: str, fixed_ip: str, name: str = "") -> Port:
        network = self.networks[network_id]
        subnet = self.subnets[network["subnets"][0]]
        used = {address for port in self.ports.values() for _, address in port.fixed_ips}
        if fixed_ip:
            try:
                inside = ipaddress.IPv4Address(fixed_ip) in subnet.cidr
            except ValueError:
                inside = False
            if not inside:
                raise neutron_error(
                    400, "InvalidIpForNetwork", f"IP address {fixed_ip} is not a valid IP for any of the subnets on the specified network."
                )
            if fixed_ip in used:
                raise neutron_error(409, "IpAddressAlreadyAllocated", f"IP address {fixed_ip} already allocated in subnet {subnet.id}")
            address = fixed_ip
        else:
            # Neutron hands out the next free address, wrapping round to those freed; a full subnet is its 409.
            hosts = list(subnet.cidr.hosts())
            free = [n for n in range(len(hosts)) if str(hosts[(subnet.next_host + n) % len(hosts)]) not in used]
            if not free:
                raise neutron_error(409, "IpAddressGenerationFailure", f"No more IP addresses available on network {network_id}.")
            chosen = (subnet.next_host + free[0]) % len(hosts)
            address = str(hosts[chosen])
            subnet.next_host = chosen + 1
        self._macs += 1
        port = Port(_new_id(), name, network_id, [(subnet.id, address)], _mac(self._macs))
        self.ports[port.id] = port
        return port

    def create_port(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            network_id = body.get("network_id", "")
            if network_id not in self.networks:
                raise neutron_error(404, "NetworkNotFound", f"Network {network_id} could not be found.")
            fixed_ips = body.get("fixed_ips") or [{}]
            port = self._make_port(network_id, str(fixed_ips[0].get("ip_address", "")), str(body.get("name", "")))
            port.security_groups = list(body.get("security_groups", []))
            return port.body()

    def delete_port(self, port_id: str) -> None:
        with self.lock:
            if self.ports.pop(port_id, None) is None:
                raise neutron_error(404, "PortNotFound", f"Port {port_id} could not be found.")

    # Nova.

    def _reap(self) -> None:
        """Servers whose (slow) delete is over are gone: their ports made by Nova and volumes deleted with them too."""
        now = self.clock()
        for server in [server for server in self.servers.values() if server.deleting_until is not None and server.deleting_until <= now]:
            del self.servers[server.id]
            for port_id in server.port_ids:
                port = self.ports.get(port_id)
                if port is None:
                    continue
                if port.made_by_nova:
                    del self.ports[port_id]
                else:
                    port.device_id = port.device_owner = ""
            for group in self.server_groups.values():
                if server.id in group["members"]:
                    group["members"].remove(server.id)

    def live_servers(self) -> list[Server]:
        """The servers that exist now (those being deleted slowly included), oldest first."""
        with self.lock:
            self._reap()
            return list(self.servers.values())

    def servers_named(self, pattern: str = "") -> list[Server]:
        """The servers that exist whose name matches the regular expression `pattern` (Nova's name filter)."""
        return [server for server in self.live_servers() if re.search(pattern, server.name)]

    def get_server(self, server_id: str) -> Server:
        with self.lock:
            self._reap()
            if server_id not in self.servers:
                raise nova_error(404, f"Instance {server_id} could not be found.")
            return self.servers[server_id]

    def _resolve_security_group(self, name_or_id: str) -> str:
        for group_id, group in self.security_groups.items():
            if name_or_id in (group_id, group["name"]):
                return group_id
        raise nova_error(400, f"Security group {name_or_id} not found.")

    def create_server(self, body: dict[str, Any]) -> Server:
        """Apply a create request (POST /servers's body) or raise Nova's refusal; the server starts in BUILD."""
        with self.lock:
            self.server_creates += 1
            self._reap()
            request = body.get("server")
            if not isinstance(request, dict) or not request.get("name"):
                raise nova_error(400, "Invalid input for field/attribute server. Value: None. 'name' is a required property")
            hints = body.get("os:scheduler_hints") or body.get("OS-SCH-HNT:scheduler_hints") or {}
            flavor = self.flavors.get(str(request.get("flavorRef", "")))
            if flavor is None:
                raise nova_error(400, f"Flavor {request.get('flavorRef')} could not be found.")
            image_id, volumes = self._boot_source(request)
            security_groups = [
                self._resolve_security_group(str(item.get("name", ""))) for item in request.get("security_groups") or [{"name": "default"}]
            ]
            key_name = request.get("key_name")
            if key_name is not None and key_name not in self.keypairs:
                raise nova_error(400, "Invalid key_name provided.")
            zone = str(request.get("availability_zone") or "nova")
            if zone not in self.availability_zones:
                raise nova_error(400, "The requested availability zone is not available")
            server_group_id = str(hints.get("group", ""))
            if server_group_id and server_group_id not in self.server_groups:
                raise nova_error(400, f"Instance group {server_group_id} could not be found.")
            user_data = request.get("user_data")
            if user_data is not None:
                try:
                    base64.b64decode(str(user_data), validate=True)
                except binascii.Error:
                    raise nova_error(400, "User data needs to be valid base 64.") from None
            metadata = request.get("metadata") or {}
            if not all(isinstance(value, str) for value in metadata.values()):
                raise nova_error(400, "Invalid input for field/attribute metadata. Value: not a string")
            network_requests = self._network_requests(request.get("networks"))
            if len(self.servers) >= self.instance_quota or self.faults.quota_refused():
                used = len(self.servers)
                raise nova_error(
                    403, f"Quota exceeded for instances: Requested 1, but already used {used} of {self.instance_quota} instances"
                )
            ports: list[Port] = []
            for network_id, port_id, fixed_ip in network_requests:
                if port_id:
                    port = self.ports[port_id]
                else:
                    try:
                        port = self._make_port(network_id, fixed_ip)
                    except ApiError as error:
                        for made in ports:
                            self.ports.pop(made.id, None)
                        raise nova_error(400, str(error.body["NeutronError"]["message"])) from None
                    port.made_by_nova = True
                ports.append(port)
            outcome = self.faults.boot_outcome()
            server = Server(
                id=_new_id(),
                name=str(request["name"]),
                flavor=flavor,
                image_id=image_id,
                port_ids=[port.id for port in ports],
                security_groups=[self.security_groups[group]["name"] for group in security_groups],
                key_name=key_name,
                user_data=user_data,
                metadata={str(key): str(value) for key, value in metadata.items()},
                availability_zone=zone,
                config_drive=bool(request.get("config_drive")),
                server_group_id=server_group_id,
                volumes=volumes,
                created=self.clock(),
                outcome=outcome.status,
                fault=outcome.fault,
            )
            for port in ports:
                port.device_id, port.device_owner = server.id, f"compute:{zone}"
            if server_group_id:
                self.server_groups[server_group_id]["members"].append(server.id)
            self.servers[server.id] = server
            return server

    def _boot_source(self, request: dict[str, Any]) -> tuple[str, list[ServerVolume]]:
        """The image booted from, or ("", [the boot volume]) for block_device_mapping_v2 from an image to a volume."""
        mappings = request.get("block_device_mapping_v2") or []
        if not mappings:
            image_id = str(request.get("imageRef") or "")
            if not image_id:
                raise nova_error(
                    400,
                    "Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination"
                    " is not valid.",
                )
            if image_id not in self.images:
                raise nova_error(400, f"Image {image_id} could not be found.")
            return image_id, []
        volumes = []
        for mapping in mappings:
            if mapping.get("source_type") != "image" or mapping.get("destination_type") != "volume":
                raise nova_error(400, "Block Device Mapping is Invalid: only image to volume mappings are known to this fake.")
            image_id = str(mapping.get("uuid", ""))
            if image_id not in self.images:
                raise nova_error(400, f"Block Device Mapping is Invalid: failed to get image {image_id}.")
            size = mapping.get("volume_size")
            if not isinstance(size, int) or size < 1:
                raise nova_error(400, f"Invalid input for field/attribute volume_size. Value: {size}.")
            volumes.append(ServerVolume(_new_id(), size, image_id, bool(mapping.get("delete_on_termination", False))))
        return "", volumes

    def _network_requests(self, networks: Any) -> list[tuple[str, str, str]]:
        """(network id, port id, fixed IP) per NIC asked; "auto" is the project's network `private`, "none" none."""
        if networks is None:
            raise nova_error(400, "Invalid input for field/attribute networks. Value: None. 'networks' is a required property")
        if networks == "none":
            return []
        if networks == "auto":
            return [(self.id_of("network", "private"), "", "")]
        if not isinstance(networks, list):
            raise nova_error(400, f"Invalid input for field/attribute networks. Value: {networks}.")
        requested = []
        for item in networks:
            port_id, network_id, fixed_ip = str(item.get("port", "")), str(item.get("uuid", "")), str(item.get("fixed_ip", ""))
            if port_id:
                port = self.ports.get(port_id)
                if port is None:
                    raise nova_error(400, f"Port id {port_id} could not be found.")
                if port.device_id:
                    raise nova_error(409, f"Port {port_id} is still in use.")
                requested.append((port.network_id, port_id, ""))
                continue
            if network_id not in self.networks:
                raise nova_error(400, f"Network {network_id} could not be found.")
            if fixed_ip:
                try:
                    ipaddress.ip_address(fixed_ip)
                except ValueError:
                    raise nova_error(
                        400, f"Invalid input for field/attribute fixed_ip. Value: {fixed_ip}. '{fixed_ip}' is not a 'ip-address'"
                    ) from None
            requested.append((network_id, "", fixed_ip))
        return requested

    def server_status(self, server: Server) -> str:
        if self.clock() - server.created < self.build_seconds or server.outcome == "BUILD":
            return "BUILD"
        return server.outcome

    def server_body(self, server: Server) -> dict[str, Any]:
        """The server as GET /servers/{id} shows it at microversion 2.47 and later (the flavor embedded)."""
        with self.lock:
            status = self.server_status(server)
            addresses: dict[str, list[dict[str, Any]]] = {}
            for port_id in server.port_ids:
                port = self.ports.get(port_id)
                if port is None:
                    continue
                network = self.networks[port.network_id]["name"]
                for _, address in port.fixed_ips:
                    addresses.setdefault(network, []).append(
                        {"version": 4, "addr": address, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": port.mac_address}
                    )
            task_state = "deleting" if server.deleting_until is not None else ("spawning" if status == "BUILD" else None)
            body: dict[str, Any] = {
                "id": server.id,
                "name": server.name,
                "status": status,
                "tenant_id": self.project_id,
                "user_id": self.user_id,
                "metadata": dict(server.metadata),
                "hostId": "" if status == "BUILD" else "fakehost",
                "image": {"id": server.image_id} if server.image_id else "",
                "flavor": {
                    "original_name": server.flavor["name"],
                    "vcpus": server.flavor["vcpus"],
                    "ram": server.flavor["ram"],
                    "disk": server.flavor["disk"],
                    "ephemeral": 0,
                    "swap": 0,
                    "extra_specs": {},
                },
                "created": _timestamp(),
                "updated": _timestamp(),
                "addresses": addresses,
                "accessIPv4": "",
                "accessIPv6": "",
                "links": [],
                "key_name": server.key_name,
                "config_drive": "True" if server.config_drive else "",
                "security_groups": [{"name": name} for name in server.security_groups],
                "OS-EXT-AZ:availability_zone": server.availability_zone,
                "OS-EXT-STS:task_state": task_state,
                "OS-EXT-STS:vm_state": {"BUILD": "building", "ACTIVE": "active", "ERROR": "error"}.get(status, status.lower()),
                "OS-EXT-STS:power_state": 1 if status == "ACTIVE" else 0,
                "OS-DCF:diskConfig": "MANUAL",
                "os-extended-volumes:volumes_attached": [
                    {"id": volume.id, "delete_on_termination": volume.delete_on_termination} for volume in server.volumes
                ],
                "locked": False,
                "tags": [],
                "description": None,
            }
            if status == "ERROR":
                body["fault"] = {"code": 500, "message": server.fault, "created": _timestamp()}
            return body

    def set_cpu_load(self, server_id: str, load: float) -> None:
        """Keep `load` of the server's vCPUs busy from now on (0 to 1; its CPU times so far are kept)."""
        with self.lock:
            server = self.get_server(server_id)
            now = self.clock()
            server.cpu_seconds_before = self._cpu_seconds(server, now)
            server.cpu_load, server.cpu_load_since = load, now

    def _cpu_seconds(self, server: Server, now: float) -> float:
        active_since = server.created + self.build_seconds
        busy_for = max(0.0, now - max(server.cpu_load_since, active_since))
        return server.cpu_seconds_before + server.cpu_load * server.flavor["vcpus"] * busy_for

    def server_diagnostics(self, server_id: str) -> dict[str, Any]:
        """GET /servers/{id}/diagnostics at microversion 2.48 (libvirt's: each vCPU's time in nanoseconds, no
        utilisation); 403 unless allowed, 409 unless the server is ACTIVE."""
        with self.lock:
            if not self.diagnostics_allowed:
                raise nova_error(403, "Policy doesn't allow os_compute_api:os-server-diagnostics to be performed.")
            server = self.get_server(server_id)
            status = self.server_status(server)
            if status != "ACTIVE" or server.deleting_until is not None:
                state = {"BUILD": "building", "ERROR": "error"}.get(status, status.lower())
                raise nova_error(409, f"Cannot 'get_diagnostics' instance {server.id} while it is in vm_state {state}")
            now = self.clock()
            vcpus = int(server.flavor["vcpus"])
            per_vcpu_ns = int(self._cpu_seconds(server, now) * 1e9 / vcpus)
            return {
                "config_drive": server.config_drive,
                "cpu_details": [{"id": number, "time": per_vcpu_ns, "utilisation": None} for number in range(vcpus)],
                "disk_details": [],
                "driver": "libvirt",
                "hypervisor": "kvm",
                "hypervisor_os": "debian",
                "memory_details": {"maximum": server.flavor["ram"] * 1024, "used": 0},
                "nic_details": [],
                "num_cpus": vcpus,
                "num_disks": 0,
                "num_nics": len(server.port_ids),
                "state": "running",
                "uptime": int(now - server.created - self.build_seconds),
            }

    def force_status(self, server_id: str, status: str, fault: str = "") -> None:
        """Show the server in `status` from now on (REBUILD, SOFT_DELETED...: what no fault plan leads to)."""
        with self.lock:
            server = self.get_server(server_id)
            server.created, server.outcome, server.fault = self.clock() - self.build_seconds, status, fault

    def delete_server(self, server_id: str) -> None:
        """Start deleting the server: gone at once, or after the slow deletes' seconds (listed meanwhile)."""
        with self.lock:
            server = self.get_server(server_id)
            if server.deleting_until is None:
                server.deleting_until = self.clock() + self.faults.delete_seconds
            self._reap()

    # Octavia.

    def create_member(self, pool_id: str, body: dict[str, Any]) -> Member:
        with self.lock:
            if pool_id not in self.pools:
                raise octavia_error(404, f"Pool {pool_id} not found.")
            address, port = body.get("address"), body.get("protocol_port")
            if not isinstance(address, str) or not isinstance(port, int):
                raise octavia_error(400, "Invalid input for field/attribute member. Value: address and protocol_port are mandatory")
            if any(m.pool_id == pool_id and (m.address, m.protocol_port) == (address, port) for m in self.members.values()):
                raise ApiError(
                    409, {"faultcode": "Client", "faultstring": f"Duplicate member {address}:{port} in pool {pool_id}.", "debuginfo": None}
                )
            member = Member(
                _new_id(),
                pool_id,
                str(body.get("name", "")),
                address,
                port,
                body.get("subnet_id"),
                int(body.get("weight", 1)),
                bool(body.get("admin_state_up", True)),
            )
            self.members[member.id] = member
            return member

    def get_member(self, pool_id: str, member_id: str) -> Member:
        with self.lock:
            member = self.members.get(member_id)
            if member is None or member.pool_id != pool_id:
                raise octavia_error(404, f"Member {member_id} not found.")
            return member
