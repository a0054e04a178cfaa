"""The fake cloud's HTTP side: one ThreadingHTTPServer on loopback serving Keystone v3 (/identity), Nova v2.1
(/compute), Glance v2 (/image), Neutron v2.0 (/network) and Octavia v2 (/load-balancer), with the version documents
openstacksdk's discovery reads, over a CloudState. Injected HTTP faults are answered before a request is served; a
lost create response is the server made and the connection closed (or a 504); a slow answer is held after the request
was applied."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fake_cloud.faults import CLOSE
from tests.fake_cloud.state import (
    DOMAIN,
    NOVA_MAX_VERSION,
    NOVA_MIN_VERSION,
    PROJECT,
    REGION,
    USER,
    ApiError,
    CloudState,
    glance_error,
    neutron_error,
    nova_error,
    octavia_error,
)


@dataclass(frozen=True)
class Request:
    """What a route is given: the path's captured parts, the query (one value per name) and the JSON body."""

    method: str
    path: str
    parts: tuple[str, ...]
    query: dict[str, str]
    body: Any


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RecordedRequest:
    """A request the cloud received, for tests that count or inspect them."""

    method: str
    path: str
    query: dict[str, str]
    body: Any


Route = Callable[[Request], Answer]


def _filtered(items: list[dict[str, Any]], query: dict[str, str], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """The items whose fields named in the query (among `fields`) equal the query's values, as Neutron and Glance filter."""
    wanted = {name: value for name, value in query.items() if name in fields}
    return [item for item in items if all(str(item.get(name)) == value for name, value in wanted.items())]


class Routes:
    """The five APIs' routes over one CloudState: (method, path pattern) -> route."""

    def __init__(self, state: CloudState, base_url: Callable[[], str]) -> None:
        self.state = state
        self.base_url = base_url
        self.table: list[tuple[str, re.Pattern[str], Route, bool]] = []
        """(method, pattern, route, needs a token)."""
        self._add_keystone()
        self._add_nova()
        self._add_glance()
        self._add_neutron()
        self._add_octavia()

    def add(self, method: str, pattern: str, route: Route, authenticated: bool = True) -> None:
        self.table.append((method, re.compile(f"^{pattern}/?$"), route, authenticated))

    # Keystone v3.

    def _add_keystone(self) -> None:
        self.add("GET", "/identity", lambda request: Answer(300, {"versions": {"values": [self._keystone_version()]}}), False)
        self.add("GET", "/identity/v3", lambda request: Answer(200, {"version": self._keystone_version()}), False)
        self.add("POST", "/identity/v3/auth/tokens", self._issue_token, False)

    def _keystone_version(self) -> dict[str, Any]:
        return {
            "id": "v3.14",
            "status": "stable",
            "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": f"{self.base_url()}/identity/v3/"}],
            "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
        }

    def _issue_token(self, request: Request) -> Answer:
        auth = (request.body or {}).get("auth", {})
        user = auth.get("identity", {}).get("password", {}).get("user", {})
        project = auth.get("scope", {}).get("project", {})
        token = self.state.issue_token(str(user.get("name")), str(user.get("password")), str(project.get("name")))
        base = self.base_url()
        services = [
            ("identity", "keystone", f"{base}/identity"),
            ("compute", "nova", f"{base}/compute/v2.1"),
            ("image", "glance", f"{base}/image"),
            ("network", "neutron", f"{base}/network"),
            ("load-balancer", "octavia", f"{base}/load-balancer"),
        ]
        domain = {"id": "default", "name": DOMAIN}
        body = {
            "token": {
                "methods": ["password"],
                "user": {"id": self.state.user_id, "name": USER, "domain": domain, "password_expires_at": None},
                "project": {"id": self.state.project_id, "name": PROJECT, "domain": domain},
                "roles": [{"id": "member-role", "name": "member"}],
                "is_domain": False,
                "audit_ids": [token[:22]],
                "issued_at": "2026-01-01T00:00:00.000000Z",
                "expires_at": "2099-01-01T00:00:00.000000Z",
                "catalog": [
                    {
                        "id": kind,
                        "type": kind,
                        "name": name,
                        "endpoints": [{"id": f"{kind}-public", "interface": "public", "region": REGION, "region_id": REGION, "url": url}],
                    }
                    for kind, name, url in services
                ],
            }
        }
        return Answer(201, body, (("X-Subject-Token", token),))

    # Nova v2.1.

    def _nova_version(self) -> dict[str, Any]:
        return {
            "id": "v2.1",
            "status": "CURRENT",
            "version": NOVA_MAX_VERSION,
            "min_version": NOVA_MIN_VERSION,
            "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": f"{self.base_url()}/compute/v2.1/"}],
            "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}],
        }

    def _add_nova(self) -> None:
        state, prefix = self.state, "/compute/v2.1"
        self.add("GET", "/compute", lambda request: Answer(200, {"versions": [self._nova_version()]}), False)
        self.add("GET", prefix, lambda request: Answer(200, {"version": self._nova_version()}), False)
        self.add("GET", f"{prefix}/flavors", lambda r: Answer(200, {"flavors": [self._flavor(f, False) for f in state.flavors.values()]}))
        self.add(
            "GET", f"{prefix}/flavors/detail", lambda r: Answer(200, {"flavors": [self._flavor(f, True) for f in state.flavors.values()]})
        )
        self.add("GET", f"{prefix}/flavors/([^/]+)", self._get_flavor)
        self.add("POST", f"{prefix}/servers", self._create_server)
        self.add("GET", f"{prefix}/servers", lambda request: self._list_servers(request, details=False))
        self.add("GET", f"{prefix}/servers/detail", lambda request: self._list_servers(request, details=True))
        self.add("GET", f"{prefix}/servers/([^/]+)", lambda r: Answer(200, {"server": state.server_body(state.get_server(r.parts[0]))}))
        self.add("GET", f"{prefix}/servers/([^/]+)/diagnostics", lambda r: Answer(200, state.server_diagnostics(r.parts[0])))
        self.add("DELETE", f"{prefix}/servers/([^/]+)", lambda request: self._deleted(state.delete_server, request.parts[0]))
        self.add("GET", f"{prefix}/os-keypairs", lambda r: Answer(200, {"keypairs": [{"keypair": k} for k in state.keypairs.values()]}))
        self.add("GET", f"{prefix}/os-keypairs/([^/]+)", self._get_keypair)
        self.add("GET", f"{prefix}/os-server-groups", lambda r: Answer(200, {"server_groups": list(state.server_groups.values())}))
        self.add("POST", f"{prefix}/os-server-groups", self._create_server_group)
        self.add("GET", f"{prefix}/os-server-groups/([^/]+)", self._get_server_group)
        self.add("GET", f"{prefix}/os-availability-zone", self._availability_zones)

    def _flavor(self, flavor: dict[str, Any], details: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"id": flavor["id"], "name": flavor["name"], "links": [], "description": None}
        if details:
            body.update(
                vcpus=flavor["vcpus"],
                ram=flavor["ram"],
                disk=flavor["disk"],
                swap=0,
                rxtx_factor=1.0,
                extra_specs={},
                **{"OS-FLV-EXT-DATA:ephemeral": 0, "OS-FLV-DISABLED:disabled": False, "os-flavor-access:is_public": True},
            )
        return body

    def _get_flavor(self, request: Request) -> Answer:
        flavor = self.state.flavors.get(request.parts[0])
        if flavor is None:
            raise nova_error(404, f"Flavor {request.parts[0]} could not be found.")
        return Answer(200, {"flavor": self._flavor(flavor, True)})

    def _create_server(self, request: Request) -> Answer:
        server = self.state.create_server(request.body or {})
        body = {
            "server": {
                "id": server.id,
                "links": [{"rel": "self", "href": f"{self.base_url()}/compute/v2.1/servers/{server.id}"}],
                "OS-DCF:diskConfig": "MANUAL",
                "security_groups": [{"name": name} for name in server.security_groups],
                "adminPass": "fake-admin-pass",
            }
        }
        return Answer(202, body, (("Location", f"{self.base_url()}/compute/v2.1/servers/{server.id}"),))

    def _list_servers(self, request: Request, details: bool) -> Answer:
        servers = self.state.servers_named(request.query.get("name", ""))
        bodies = [self.state.server_body(server) for server in servers]
        if "status" in request.query:
            bodies = [body for body in bodies if body["status"] == request.query["status"].upper()]
        if not details:
            bodies = [{"id": body["id"], "name": body["name"], "links": []} for body in bodies]
        return Answer(200, {"servers": bodies})

    def _get_keypair(self, request: Request) -> Answer:
        keypair = self.state.keypairs.get(request.parts[0])
        if keypair is None:
            raise nova_error(404, f"Keypair {request.parts[0]} not found for user {self.state.user_id}")
        return Answer(200, {"keypair": keypair})

    def _create_server_group(self, request: Request) -> Answer:
        group = (request.body or {}).get("server_group", {})
        policy = group.get("policy") or (group.get("policies") or ["anti-affinity"])[0]
        group_id = self.state.add_server_group(str(group.get("name", "")), str(policy))
        return Answer(200, {"server_group": self.state.server_groups[group_id]})

    def _get_server_group(self, request: Request) -> Answer:
        group = self.state.server_groups.get(request.parts[0])
        if group is None:
            raise nova_error(404, f"Instance group {request.parts[0]} could not be found.")
        return Answer(200, {"server_group": group})

    def _availability_zones(self, request: Request) -> Answer:
        zones = [{"zoneName": zone, "zoneState": {"available": True}, "hosts": None} for zone in self.state.availability_zones]
        return Answer(200, {"availabilityZoneInfo": zones})

    @staticmethod
    def _deleted(delete: Callable[..., None], *arguments: str) -> Answer:
        delete(*arguments)
        return Answer(204)

    # Glance v2.

    def _add_glance(self) -> None:
        state = self.state
        version = {"id": "v2.16", "status": "CURRENT", "links": [{"rel": "self", "href": f"{self.base_url()}/image/v2/"}]}
        self.add("GET", "/image", lambda request: Answer(300, {"versions": [version]}), False)
        self.add("GET", "/image/v2", lambda request: Answer(300, {"versions": [version]}), False)
        self.add(
            "GET",
            "/image/v2/images",
            lambda r: Answer(
                200,
                {
                    "images": _filtered(list(state.images.values()), r.query, ("name", "status", "visibility")),
                    "first": "/v2/images",
                    "schema": "/v2/schemas/images",
                },
            ),
        )
        self.add("GET", "/image/v2/images/([^/]+)", self._get_image)

    def _get_image(self, request: Request) -> Answer:
        image = self.state.images.get(request.parts[0])
        if image is None:
            raise glance_error(404, f"No image found with ID {request.parts[0]}")
        return Answer(200, image)

    # Neutron v2.0.

    def _add_neutron(self) -> None:
        state, prefix = self.state, "/network/v2.0"
        version = {"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": f"{self.base_url()}/network/v2.0/"}]}
        self.add("GET", "/network", lambda request: Answer(200, {"versions": [version]}), False)
        fields = ("id", "name", "network_id", "device_id", "device_owner", "status")
        collections: dict[str, tuple[str, Callable[[], list[dict[str, Any]]], str]] = {
            "networks": ("network", lambda: list(state.networks.values()), "NetworkNotFound"),
            "subnets": ("subnet", lambda: [subnet.body() for subnet in state.subnets.values()], "SubnetNotFound"),
            "ports": ("port", lambda: [port.body() for port in state.ports.values()], "PortNotFound"),
            "security-groups": ("security_group", lambda: list(state.security_groups.values()), "SecurityGroupNotFound"),
        }
        for collection, (kind, listed, missing) in collections.items():
            key = collection.replace("-", "_")

            def list_route(request: Request, listed: Callable[[], list[dict[str, Any]]] = listed, key: str = key) -> Answer:
                with state.lock:
                    return Answer(200, {key: _filtered(listed(), request.query, fields)})

            def get_route(
                request: Request, listed: Callable[[], list[dict[str, Any]]] = listed, kind: str = kind, missing: str = missing
            ) -> Answer:
                with state.lock:
                    found = [item for item in listed() if item["id"] == request.parts[0]]
                if not found:
                    label = kind.replace("_", " ").capitalize()
                    raise neutron_error(404, missing, f"{label} {request.parts[0]} could not be found.")
                return Answer(200, {kind: found[0]})

            self.add("GET", f"{prefix}/{collection}", list_route)
            self.add("GET", f"{prefix}/{collection}/([^/]+)", get_route)
        self.add("POST", f"{prefix}/ports", lambda request: Answer(201, {"port": state.create_port((request.body or {}).get("port", {}))}))
        self.add("DELETE", f"{prefix}/ports/([^/]+)", lambda request: self._deleted(state.delete_port, request.parts[0]))

    # Octavia v2.

    def _add_octavia(self) -> None:
        # NOTE: openstacksdk asks for /load-balancer/v2.0/... (what real Octavia serves beside /v2/...).
        state, prefix = self.state, "/load-balancer/v2(?:\\.0)?/lbaas"
        base = self.base_url
        self.add(
            "GET",
            "/load-balancer",
            lambda request: Answer(
                200, {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": f"{base()}/load-balancer/v2"}]}]}
            ),
            False,
        )
        for collection, kind, table in (("loadbalancers", "loadbalancer", state.load_balancers), ("pools", "pool", state.pools)):

            def get_route(request: Request, table: dict[str, dict[str, Any]] = table, kind: str = kind) -> Answer:
                if request.parts[0] not in table:
                    raise octavia_error(404, f"{kind.capitalize()} {request.parts[0]} not found.")
                return Answer(200, {kind: table[request.parts[0]]})

            def list_route(request: Request, table: dict[str, dict[str, Any]] = table, collection: str = collection) -> Answer:
                return Answer(200, {collection: _filtered(list(table.values()), request.query, ("id", "name"))})

            self.add("GET", f"{prefix}/{collection}", list_route)
            self.add("GET", f"{prefix}/{collection}/([^/]+)", get_route)
        members = f"{prefix}/pools/([^/]+)/members"
        self.add("GET", members, self._list_members)
        self.add(
            "POST", members, lambda r: Answer(201, {"member": state.create_member(r.parts[0], (r.body or {}).get("member", {})).body()})
        )
        self.add("GET", f"{members}/([^/]+)", lambda r: Answer(200, {"member": state.get_member(*r.parts).body()}))
        self.add("PUT", f"{members}/([^/]+)", self._update_member)
        self.add("DELETE", f"{members}/([^/]+)", lambda r: self._deleted(self._delete_member, *r.parts))

    def _list_members(self, request: Request) -> Answer:
        with self.state.lock:
            if request.parts[0] not in self.state.pools:
                raise octavia_error(404, f"Pool {request.parts[0]} not found.")
            found = [member.body() for member in self.state.members.values() if member.pool_id == request.parts[0]]
        return Answer(200, {"members": _filtered(found, request.query, ("name", "address", "protocol_port"))})

    def _update_member(self, request: Request) -> Answer:
        changes = (request.body or {}).get("member", {})
        with self.state.lock:
            member = self.state.get_member(*request.parts)
            for name in ("name", "weight", "admin_state_up"):
                if name in changes:
                    setattr(member, name, changes[name])
            return Answer(200, {"member": member.body()})

    def _delete_member(self, pool_id: str, member_id: str) -> None:
        with self.state.lock:
            self.state.get_member(pool_id, member_id)
            del self.state.members[member_id]


class _Handler(BaseHTTPRequestHandler):
    """One request: recorded, maybe answered by an injected fault, else routed."""

    protocol_version = "HTTP/1.1"
    # NOTE: unbuffered, the headers and the body leave in two segments, and Nagle's algorithm with the client's delayed
    # ACK holds the second ~40 ms: each answer is written whole, and without delay.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    server: FakeCloudHttpServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        """Quiet: the tests read `requests` instead."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = dict(urllib.parse.parse_qsl(url.query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._send(Answer(400, {"badRequest": {"code": 400, "message": "Malformed request body"}}))
            return
        cloud = self.server
        with cloud.requests_lock:
            cloud.requests.append(RecordedRequest(method, path, query, body))
        fault = cloud.state.faults.http_fault(method, path)
        if fault is not None:
            status, message = fault
            self._send(Answer(status, {"computeFault" if status >= 500 else "error": {"code": status, "message": message}}))
            return
        answer = self._route(method, path, query, body)
        delay = cloud.state.faults.answer_delay(method, path)
        if delay:
            time.sleep(delay)
        self._send(answer)

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> Answer:
        cloud = self.server
        for route_method, pattern, route, authenticated in cloud.routes.table:
            match = pattern.match(path)
            if route_method != method or match is None:
                continue
            if authenticated and self.headers.get("X-Auth-Token") not in cloud.state.tokens:
                return Answer(
                    401, {"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}
                )
            try:
                # One request at a time reads or changes the cloud: routes are quick (a slow answer waits outside).
                with cloud.state.lock:
                    answer = route(Request(method, path, match.groups(), query, body))
            except ApiError as error:
                return Answer(error.status, error.body)
            if method == "POST" and path == "/compute/v2.1/servers":
                how = cloud.state.faults.lost_response()
                if how == CLOSE:
                    return Answer(0)
                if how is not None:
                    return Answer(504, "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>")
            return answer
        return Answer(404, {"itemNotFound": {"code": 404, "message": f"The resource could not be found: {method} {path}"}})

    def _send(self, answer: Answer) -> None:
        if answer.status == 0:
            # A lost response: nothing is written, and the connection goes.
            self.close_connection = True
            return
        if isinstance(answer.body, str):
            payload, content_type = answer.body.encode(), "text/html"
        elif answer.body is None:
            payload, content_type = b"", "application/json"
        else:
            payload, content_type = json.dumps(answer.body).encode(), "application/json"
        self.send_response(answer.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Openstack-Request-Id", "req-fake")
        version = self.headers.get("OpenStack-API-Version")
        if version:
            self.send_header("OpenStack-API-Version", version)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.end_headers()
        if payload:
            self.wfile.write(payload)


class FakeCloudHttpServer(ThreadingHTTPServer):
    """The HTTP server of one fake cloud, on 127.0.0.1 at a free port."""

    daemon_threads = True

    def __init__(self, state: CloudState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state
        self.routes = Routes(state, lambda: self.url)
        self.requests: list[RecordedRequest] = []
        self.requests_lock = threading.Lock()
        self._open: set[socket.socket] = set()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.requests_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.requests_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End the connections clients keep open: a stopped cloud answers nothing more, even on them."""
        with self.requests_lock:
            open_now = list(self._open)
        for connection in open_now:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"
