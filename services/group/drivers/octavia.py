"""Octavia pools as load balancer pools of groups (services.group.load_balancers.PoolDriver), through openstacksdk.

A group's members of a pool are named `{project}:{group}-{instance}`: the pool may hold others' members too (another
group's, or ones an operator added), and only those of the group are ever created or deleted here. The pool is the
cloud's, named by name or id, in the cloud the OpenStack driver uses (the same connection).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from services.group.drivers.openstack import translated
from services.group.load_balancers import PoolMember
from services.group.pools import LoadBalancerPool


def member_name(project: str, group_id: str, instance_id: str) -> str:
    """The name of an instance's member in a pool."""
    return f"{project}:{group_id}-{instance_id}"


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
