"""Octavia pools as load balancer pools of groups (services.group.load_balancers.PoolDriver), through openstacksdk.

Every project's servers live in the one cloud project the service uses, and so do the pools: a pool is open to an
autoscale project only when it carries the tag `autoscale_project=<project>` (an operator's, or the owner's, word),
so that no project sends its servers into another's pool. A group's members of a pool are named
`{project}:{group}:{instance}` (ids hold no colon): the pool may hold others' members too (another group's, or ones an
operator added), and only those of the group are ever created or deleted here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from services.group.drivers.base import DriverError
from services.group.drivers.openstack import translated
from services.group.load_balancers import PoolMember
from services.group.pools import LoadBalancerPool


def member_name(project: str, group_id: str, instance_id: str) -> str:
    """The name of an instance's member in a pool."""
    return f"{project}:{group_id}:{instance_id}"


def project_tag(project: str) -> str:
    """The tag that opens a pool to a project."""
    return f"autoscale_project={project}"


class OctaviaPools:
    """Sets a group's members of Octavia pools."""

    def __init__(self, connection: Callable[[], Any]) -> None:
        """`connection`: the openstacksdk connection (the OpenStack driver's, made on first use)."""
        self._connection = connection

    def set_members(self, project: str, group_id: str, pool: LoadBalancerPool, members: Sequence[PoolMember]) -> None:
        """Create the group's missing members and delete those it no longer has (or whose address changed)."""
        conn = self._connection()
        balancer = conn.load_balancer
        with translated(f"cannot find the Octavia pool {pool.name!r}"):
            found = balancer.find_pool(pool.name, ignore_missing=False)
        if project_tag(project) not in (found.tags or []):
            raise DriverError(
                f"the Octavia pool {pool.name!r} is not open to project {project}: it needs the tag {project_tag(project)}"
            )
        wanted = {member_name(project, group_id, m.instance_id): m for m in members}
        prefix = member_name(project, group_id, "")
        with translated(f"cannot list the members of the Octavia pool {pool.name!r}"):
            existing = [m for m in balancer.members(found.id) if (m.name or "").startswith(prefix)]
        for member in existing:
            want = wanted.get(member.name)
            if want is not None and (member.address, member.protocol_port) == (want.host, want.port):
                del wanted[member.name]
                continue
            with translated(f"cannot remove {member.name} from the Octavia pool {pool.name!r}"):
                balancer.delete_member(member.id, found.id, ignore_missing=True)
        for name, member in sorted(wanted.items()):
            with translated(f"cannot add {name} to the Octavia pool {pool.name!r}"):
                balancer.create_member(found.id, name=name, address=member.host, protocol_port=member.port)

    def remove_group(self, project: str, group_id: str, pool: LoadBalancerPool) -> None:
        """Delete every member of the group from the pool."""
        self.set_members(project, group_id, pool, [])
