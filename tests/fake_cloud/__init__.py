"""A fake OpenStack cloud that the real openstacksdk talks HTTP to, on loopback: the parts of Keystone v3, Nova v2.1,
Glance v2, Neutron v2.0 and Octavia v2 the OpenStack driver uses, with injectable faults (tests/fake_cloud/faults.py).

    with FakeCloud() as cloud:
        conn = cloud.connection()           # openstack.connect(...) against the fake Keystone
        cloud.faults.boot_errors(count=1)   # the next server ends in ERROR: No valid host was found...

Servers' diagnostics (microversion 2.48) give vCPU times that grow by the load a test sets
(`cloud.state.set_cpu_load`). `cloud.state` holds the contents (a project `demo` with flavors m1.tiny/small/medium,
images ubuntu-24.04 and cirros, networks private and public, security groups default and web, key pair deployer,
server group web-anti, zones nova and az-2, load balancer lb-web with pool pool-web); `cloud.requests` what was asked.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

import openstack
from openstack.connection import Connection

from tests.fake_cloud.faults import CLOSE, GATEWAY_TIMEOUT, NO_VALID_HOST, Faults
from tests.fake_cloud.server import FakeCloudHttpServer, RecordedRequest
from tests.fake_cloud.state import DOMAIN, PASSWORD, PROJECT, REGION, USER, CloudState, Server

__all__ = ["CLOSE", "GATEWAY_TIMEOUT", "NO_VALID_HOST", "FakeCloud", "Faults", "RecordedRequest", "Server"]


class FakeCloud:
    """One fake cloud: its state, its fault plan and its HTTP server (started by `start` or `with`)."""

    def __init__(self, seed: int = 0) -> None:
        self.faults = Faults(seed)
        self.state = CloudState(self.faults)
        self._http = FakeCloudHttpServer(self.state)
        # A short poll: `stop` waits for the loop's next look at its flag.
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.01,), name="fake-cloud", daemon=True)

    def start(self) -> FakeCloud:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and end the clients' open connections (the cloud is unreachable from now on); idempotent."""
        if self._thread.is_alive():
            self._http.shutdown()
            self._thread.join()
        self._http.server_close()
        self._http.close_connections()

    def __enter__(self) -> FakeCloud:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self._http.url

    @property
    def auth_url(self) -> str:
        return f"{self.url}/identity/v3"

    def connect_options(self, password: str = PASSWORD) -> dict[str, Any]:
        """What `openstack.connect` takes to reach this cloud as its user."""
        return {
            "auth_url": self.auth_url,
            "username": USER,
            "password": password,
            "project_name": PROJECT,
            "user_domain_name": DOMAIN,
            "project_domain_name": DOMAIN,
            "region_name": REGION,
        }

    def connection(self, **options: Any) -> Connection:
        """A real openstacksdk connection to this cloud (`options` add to or override connect_options)."""
        return openstack.connect(**{**self.connect_options(), **options})

    def clouds_yaml(self, path: Path, cloud: str = "fake") -> Path:
        """Write a clouds.yaml whose cloud `cloud` is this one (JSON is YAML); returns its path."""
        options = self.connect_options()
        auth = {
            name: options[name] for name in ("auth_url", "username", "password", "project_name", "user_domain_name", "project_domain_name")
        }
        path.write_text(json.dumps({"clouds": {cloud: {"auth": auth, "region_name": REGION, "identity_api_version": 3}}}, indent=2))
        return path

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order."""
        with self._http.requests_lock:
            return list(self._http.requests)

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """The requests of `method` whose path matches the regular expression `path` from its start."""
        return [request for request in self.requests if request.method == method and re.match(f"{path}$", request.path)]

    def servers(self, name: str = "") -> list[Server]:
        """The servers that exist now (those being deleted slowly included), whose name matches `name` (a regex)."""
        return self.state.servers_named(name)
