"""Load balancer pools a group's instances are members of while they are in service.

An instance is a member of each of its group's pools while it runs in service and its health is HEALTHY (no health
check, or one that passes); it leaves them as soon as it is chosen for removal, or fails, or goes to standby, and a
removed instance is stopped only once the pools' drain delay has passed (AWS's deregistration delay), so that
connections it serves can finish.

Two kinds of pool, each behind a `PoolDriver`:
- an Octavia pool (the OpenStack driver's cloud): members named `{group}-{instance}` on the instance's fixed address;
- a pool file of the deployment (`--pool-dir`), for local instances or any proxy: `<dir>/<project>/<group>/<pool>.json`
  in Prometheus's file_sd format, and `<pool>.haproxy` with one HAProxy `server` line a member, both rewritten whole
  (written aside, then renamed) when the members change.

`PoolSync` applies the members a pass computes, and asks a driver only when they changed since it last succeeded.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

from services.group.domain import Instance, InstanceState
from services.group.drivers.base import DriverError, split_address
from services.group.health import HealthStatus
from services.group.pools import LoadBalancerPool, PoolKind

log = logging.getLogger(__name__)

class PoolMember(NamedTuple):
    """One member of a pool: the instance, where the pool sends to."""

    instance_id: str
    host: str
    port: int

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def members_of(instances: Sequence[Instance], pool: LoadBalancerPool) -> list[PoolMember]:
    """The pool's members among the group's instances: those running in service, HEALTHY, with an address (and a port,
    the pool's or their own), by instance id."""
    members = []
    for instance in instances:
        if instance.state is not InstanceState.RUNNING or instance.health_status is not HealthStatus.HEALTHY or not instance.address:
            continue
        split = split_address(instance.address)
        if split is None:
            continue
        host, own_port = split
        port = pool.port or own_port
        if port:
            members.append(PoolMember(instance.id, host, port))
    return sorted(members)


def drain_delay(pools: Sequence[LoadBalancerPool]) -> float:
    """How long a removed instance drains before it stops: the longest of its group's pools' delays (0 without pools)."""
    return max((pool.drain_delay for pool in pools), default=0.0)


class PoolDriver(Protocol):
    """Sets the members of one kind of pool. Raises DriverError."""

    def set_members(self, project: str, group_id: str, pool: LoadBalancerPool, members: Sequence[PoolMember]) -> None:
        """Make the pool's members exactly `members` (those of this group: others' members are left alone)."""

    def remove_group(self, project: str, group_id: str, pool: LoadBalancerPool) -> None:
        """Take every member of the group out of the pool (the group is deleted)."""


class PoolFiles:
    """Pool files under one directory: `<dir>/<project>/<group>/<pool>.json` (file_sd) and `.haproxy` (server lines)."""

    def __init__(self, directory: Path) -> None:
        self._directory = Path(directory)

    def path(self, project: str, group_id: str, pool: str, suffix: str) -> Path:
        """Where a pool's file is (names are ids: no path separators, checked where they are given)."""
        return self._directory / project / group_id / f"{pool}{suffix}"

    def set_members(self, project: str, group_id: str, pool: LoadBalancerPool, members: Sequence[PoolMember]) -> None:
        labels = {"autoscale_project": project, "autoscale_group": group_id, "autoscale_pool": pool.name}
        file_sd = [{"targets": [member.address for member in members], "labels": labels}] if members else []
        haproxy = "".join(f"server {member.instance_id} {member.address} check\n" for member in members)
        self._write(self.path(project, group_id, pool.name, ".json"), json.dumps(file_sd, indent=2) + "\n")
        self._write(self.path(project, group_id, pool.name, ".haproxy"), haproxy)

    def remove_group(self, project: str, group_id: str, pool: LoadBalancerPool) -> None:
        for suffix in (".json", ".haproxy"):
            try:
                self.path(project, group_id, pool.name, suffix).unlink(missing_ok=True)
            except OSError as error:
                raise DriverError(f"cannot remove the pool file {pool.name}{suffix}: {error.strerror or error}") from error

    @staticmethod
    def _write(path: Path, text: str) -> None:
        """Replace the file whole: a proxy or Prometheus reading it never sees half of it."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            aside = path.with_name(f".{path.name}.tmp")
            aside.write_text(text)
            os.replace(aside, path)
        except OSError as error:
            raise DriverError(f"cannot write the pool file {path}: {error.strerror or error}") from error


class PoolSync:
    """Applies each pass's members to its group's pools through their drivers, only when they changed."""

    def __init__(self, drivers: Mapping[PoolKind, PoolDriver]) -> None:
        self._drivers = drivers
        self._lock = threading.Lock()
        self._applied: dict[tuple[str, str, PoolKind, str], tuple[LoadBalancerPool, tuple[PoolMember, ...]]] = {}
        """(project, group, pool kind, pool name) -> the pool and what it was last set to, successfully (forgotten on a
        restart: the first pass sets all)."""

    def apply(self, project: str, group_id: str, pools: Sequence[LoadBalancerPool], instances: Sequence[Instance]) -> list[str]:
        """Set each pool's members from the group's instances, and take the group out of the pools it was set in that
        it no longer names; the failures, for people (the next pass tries again)."""
        named = {(pool.kind, pool.name) for pool in pools}
        with self._lock:
            dropped = [pool for key, (pool, _) in self._applied.items() if key[:2] == (project, group_id) and key[2:] not in named]
        if dropped:
            self.remove_group(project, group_id, dropped)
        failures = []
        for pool in pools:
            members = tuple(members_of(instances, pool))
            key = (project, group_id, pool.kind, pool.name)
            with self._lock:
                if self._applied.get(key) == (pool, members):
                    continue
            try:
                self._driver(pool).set_members(project, group_id, pool, members)
            except DriverError as error:
                log.warning("cannot set the members of the %s %s of groups/%s of project %s: %s",
                            pool.kind.value, pool.name, group_id, project, error)
                failures.append(f"cannot set the members of the {pool.kind.value.replace('_', ' ')} {pool.name}: {error}")
                continue
            with self._lock:
                self._applied[key] = (pool, members)
        return failures

    def remove_group(self, project: str, group_id: str, pools: Sequence[LoadBalancerPool]) -> None:
        """Take a deleted group's members out of its pools (best effort: a failure is logged)."""
        for pool in pools:
            try:
                self._driver(pool).remove_group(project, group_id, pool)
            except DriverError as error:
                log.warning("cannot take groups/%s of project %s out of the %s %s: %s",
                            group_id, project, pool.kind.value, pool.name, error)
            with self._lock:
                self._applied.pop((project, group_id, pool.kind, pool.name), None)

    def _driver(self, pool: LoadBalancerPool) -> PoolDriver:
        driver = self._drivers.get(pool.kind)
        if driver is None:
            raise DriverError(f"no {pool.kind.value.replace('_', ' ')} driver in this process")
        return driver
