"""An in-memory ComputeDriver for the group service's tests.

Servers exist from `launch` until `terminate`; a test can kill one (it then reports
FAILED), make launches fail, or make new servers report PENDING first.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass

from services.group.drivers.base import DriverError, FoundServer, LaunchRequest, ServerState, ServerStatus


@dataclass
class FakeServer:
    """One server of the fake cloud."""

    request: LaunchRequest
    status: ServerStatus
    reason: str = ""


class FakeComputeDriver:
    """A thread-safe in-memory cloud that records every call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.servers: dict[str, FakeServer] = {}
        self.calls: list[tuple[str, str]] = []
        """("launch", instance id), ("state", server id), ("terminate", server id), ("servers", group id), in order."""
        self.launch_error = ""
        """When set, launches raise DriverError with this message."""
        self.start_pending = False
        """When set, new servers report PENDING until `start_all`."""

    def launch(self, request: LaunchRequest) -> str:
        with self._lock:
            self.calls.append(("launch", request.instance_id))
            if self.launch_error:
                raise DriverError(self.launch_error)
            server_id = f"fake-{next(self._ids)}"
            self.servers[server_id] = FakeServer(request, ServerStatus.PENDING if self.start_pending else ServerStatus.RUNNING)
            return server_id

    def state(self, server_id: str) -> ServerState:
        with self._lock:
            self.calls.append(("state", server_id))
            server = self.servers.get(server_id)
            if server is None:
                return ServerState(ServerStatus.GONE, "no such server")
            address = f"10.0.0.{server_id.removeprefix('fake-')}:8000" if server.status is ServerStatus.RUNNING else ""
            return ServerState(server.status, server.reason, address)

    def find_servers(self, project: str, group_id: str) -> list[FoundServer]:
        with self._lock:
            self.calls.append(("servers", group_id))
            return [
                FoundServer(s.request.instance_id, sid) for sid, s in self.servers.items()
                if (s.request.project, s.request.group_id) == (project, group_id)
            ]

    def terminate(self, server_id: str) -> None:
        with self._lock:
            self.calls.append(("terminate", server_id))
            self.servers.pop(server_id, None)

    def kill(self, server_id: str, reason: str = "exited with status 1") -> None:
        """The server dies on its own."""
        with self._lock:
            self.servers[server_id].status = ServerStatus.FAILED
            self.servers[server_id].reason = reason

    def start_all(self) -> None:
        """Every PENDING server is RUNNING now."""
        with self._lock:
            for server in self.servers.values():
                if server.status is ServerStatus.PENDING:
                    server.status = ServerStatus.RUNNING

    def running(self) -> dict[str, str]:
        """Instance id -> server id of every RUNNING server."""
        with self._lock:
            return {s.request.instance_id: sid for sid, s in self.servers.items() if s.status is ServerStatus.RUNNING}
