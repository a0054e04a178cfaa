"""Who is calling, in which project, with which role: the request's identity, as every service reads it.

The server's AuthInterceptor sets the caller of each call before its handler runs;
background work (the reconcile loop, the alarm sweep, an action) acts for a project
inside `acting_for(project)`. Peer calls carry the current project on (autoscale.peers),
so a chain started by a caller, or by a resource of a project, runs in that project.
"""

from __future__ import annotations

import contextvars
import enum
from contextlib import AbstractContextManager
from dataclasses import dataclass

from autoscale.errors import PermissionDenied


class Role(enum.IntEnum):
    """A caller's role in its project; each includes the ones below it."""

    READER = 1
    """Reads the project's resources."""
    MEMBER = 2
    """Also creates, changes and deletes them."""
    ADMIN = 3
    """Also what runs commands on the service's host (process launch configs) and sets quotas."""

    @classmethod
    def named(cls, name: str) -> Role:
        """The role called `name` (reader, member or admin; ValueError otherwise)."""
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(f"unknown role {name!r}; one of {', '.join(role.name.lower() for role in cls)}") from None


@dataclass(frozen=True)
class Caller:
    """An authenticated caller."""

    principal: str
    """Who: a user (Keystone user id, or name) or an API key's id; recorded in audits."""
    project: str
    """The project it acts in: every resource it sees and touches is this project's."""
    role: Role
    """Its strongest role in that project."""
    service: bool = False
    """A peer service of the mesh: it may act in the project its call names (peer calls carry the resource's project)."""

    def is_operator(self, admin_project: str) -> bool:
        """Whether this caller administers the deployment: a service key, or an admin of the admin project (as Keystone's
        cloud admin is)."""
        return self.service or (self.role >= Role.ADMIN and self.project == admin_project)

    def require(self, role: Role, action: str) -> None:
        """PermissionDenied unless this caller holds `role` (or a stronger one); `action` says what was asked."""
        if self.role < role:
            raise PermissionDenied(
                f"{action} needs the {role.name.lower()} role in project {self.project}; {self.principal} has {self.role.name.lower()}"
            )


_current: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("autoscale_caller", default=None)


def current_caller() -> Caller:
    """The caller the current call (or background task) acts as.

    RuntimeError when none is set: code that serves a project must run in a call or inside `acting_as`/`acting_for`,
    never in a project picked by default.
    """
    caller = _current.get()
    if caller is None:
        raise RuntimeError("no caller: this code runs outside a call and outside acting_for(project)")
    return caller


def current_caller_or_none() -> Caller | None:
    """The current caller, or None outside any call and `acting_as`."""
    return _current.get()


def current_project() -> str:
    """The project of the current caller."""
    return current_caller().project


SERVICE_PRINCIPAL = "autoscale-service"
"""The principal of the mesh's own work (background loops, actions, peer calls)."""


def service_caller(project: str) -> Caller:
    """The mesh itself, acting for `project` (a loop, an alarm action, a peer call it makes)."""
    return Caller(principal=SERVICE_PRINCIPAL, project=project, role=Role.ADMIN, service=True)


class acting_as:  # noqa: N801 - used as a function: `with acting_as(caller):`
    """Run the block as `caller` (the interceptor, for each call).

    NOTE: a class rather than a @contextmanager generator: it runs around every call the services serve.
    """

    __slots__ = ("_caller", "_token")

    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    def __enter__(self) -> Caller:
        self._token = _current.set(self._caller)
        return self._caller

    def __exit__(self, *exc_info: object) -> None:
        _current.reset(self._token)


def acting_for(project: str) -> AbstractContextManager[Caller]:
    """Run the block as the mesh itself in `project`: background work on one project's resources."""
    return acting_as(service_caller(project))

