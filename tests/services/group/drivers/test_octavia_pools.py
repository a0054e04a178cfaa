"""Octavia pools as a group's load balancer pools: the real openstacksdk against the fake cloud's Octavia, alone and
under the reconcile loop with Nova servers (their fixed addresses become members, a removed one leaves before its
server is deleted)."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from services.group import capacity
from services.group.domain import OPENSTACK_SERVER, Group, LaunchConfig
from services.group.drivers.base import DriverError, OpenStackServerSpec
from services.group.drivers.octavia import OctaviaPools, member_name, project_tag
from services.group.drivers.openstack import OpenStackDriver
from services.group.load_balancers import PoolMember, PoolSync
from services.group.pools import LoadBalancerPool, PoolKind
from services.group.reconciler import Reconciler
from tests.fake_cloud import FakeCloud

POOL = LoadBalancerPool(PoolKind.OCTAVIA, "pool-web", port=8080, drain_delay=0.0)


def open_pool(fake_cloud: FakeCloud, project: str = "p1", name: str = "pool-web") -> str:
    """Tag the pool for `project`, as an operator does; its id."""
    with fake_cloud.state.lock:
        (pool,) = [pool for pool in fake_cloud.state.pools.values() if pool["name"] == name]
        pool["tags"] = [*pool["tags"], project_tag(project)]
        return str(pool["id"])


def _members(fake_cloud: FakeCloud) -> list[tuple[str, str, int]]:
    with fake_cloud.state.lock:
        return sorted((m.name, m.address, m.protocol_port) for m in fake_cloud.state.members.values())


def test_a_groups_members_are_created_and_deleted_leaving_anyone_elses_alone(fake_cloud: FakeCloud) -> None:
    pools = OctaviaPools(fake_cloud.connection)
    conn = fake_cloud.connection()
    pool_id = open_pool(fake_cloud)
    conn.load_balancer.create_member(pool_id, name="by-hand", address="10.0.9.9", protocol_port=80)
    pools.set_members("p1", "web", POOL, [PoolMember("i-1", "10.0.0.5", 8080), PoolMember("i-2", "10.0.0.6", 8080)])
    assert _members(fake_cloud) == [
        ("by-hand", "10.0.9.9", 80), ("p1:web:i-1", "10.0.0.5", 8080), ("p1:web:i-2", "10.0.0.6", 8080)
    ]
    pools.set_members("p1", "web", POOL, [PoolMember("i-2", "10.0.0.6", 8080), PoolMember("i-3", "10.0.0.7", 8080)])
    assert [name for name, _, _ in _members(fake_cloud)] == ["by-hand", "p1:web:i-2", "p1:web:i-3"]
    # A group whose id begins like this one's keeps its members.
    pools.set_members("p1", "web-2", POOL, [PoolMember("i-9", "10.0.0.9", 8080)])
    pools.remove_group("p1", "web", POOL)
    assert _members(fake_cloud) == [("by-hand", "10.0.9.9", 80), ("p1:web-2:i-9", "10.0.0.9", 8080)]
    assert member_name("p1", "web", "i-1") == "p1:web:i-1"


def test_a_pool_not_tagged_for_the_project_is_refused(fake_cloud: FakeCloud) -> None:
    open_pool(fake_cloud, project="p2")
    with pytest.raises(DriverError, match="^the Octavia pool 'pool-web' is not open to project p1: it needs the tag autoscale_project=p1$"):
        OctaviaPools(fake_cloud.connection).set_members("p1", "web", POOL, [PoolMember("i-1", "10.0.0.5", 8080)])
    assert _members(fake_cloud) == []


def test_an_unknown_pool_is_a_driver_error_naming_it(fake_cloud: FakeCloud) -> None:
    with pytest.raises(DriverError, match="^cannot find the Octavia pool 'nope': "):
        OctaviaPools(fake_cloud.connection).set_members("p1", "web", replace(POOL, name="nope"), [])


def test_nova_servers_join_the_pool_when_active_and_leave_it_before_they_are_deleted(repositories, fake_cloud: FakeCloud) -> None:
    open_pool(fake_cloud)
    driver = OpenStackDriver(cloud="test", connect=fake_cloud.connection)
    pools = PoolSync({PoolKind.OCTAVIA: OctaviaPools(driver.connection)})
    reconciler = Reconciler(repositories, {OPENSTACK_SERVER: driver}, time.time, "10.0.0.1:50051", pools=pools)
    repository = repositories.of("p1")
    repository.create_launch_config(LaunchConfig("vm", openstack_server=OpenStackServerSpec(image="ubuntu-24.04", flavor="m1.small")))
    group = Group(id="web", launch_config_id="vm", min_size=0, max_size=3, desired_capacity=2,
                  load_balancer_pools=(replace(POOL, drain_delay=0.5),))
    repository.create_group(group, capacity.creation_activity("a-0", group, time.time()))

    def pass_until(condition, what: str):  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + 10
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            reconciler.reconcile_group("p1", "web")
            time.sleep(0.05)

    pass_until(lambda: len(_members(fake_cloud)) == 2, "two members")
    addresses = {i.address for i in repository.list_instances("web", None, 10)}
    assert {address for _, address, _ in _members(fake_cloud)} == addresses
    repository.change_group("web", lambda current: (replace(current, desired_capacity=1), None))
    reconciler.reconcile_group("p1", "web")
    assert len(_members(fake_cloud)) == 1
    assert len(fake_cloud.state.servers) == 2  # the removed one drains first
    pass_until(lambda: len(repository.list_instances("web", None, 10)) == 1, "the drained server deleted")
    reconciler.delete_group("p1", "web")
    assert _members(fake_cloud) == []
