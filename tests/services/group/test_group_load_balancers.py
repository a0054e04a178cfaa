"""Load balancer pools: who is a member, pool files as a proxy or Prometheus reads them, and applying members only when
they change (real files in a temporary directory)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autoscale.v1 import group_pb2
from autoscale.validation import Violations
from services.group.domain import Instance, InstanceState
from services.group.drivers.base import DriverError
from services.group.health import HealthStatus
from services.group.load_balancers import PoolFiles, PoolMember, PoolSync, drain_delay, members_of
from services.group.pools import LoadBalancerPool, PoolKind
from services.group.rules import check_load_balancer_pools

POOL = LoadBalancerPool(PoolKind.FILE, "web")


def _instance(n: int, address: str = "", state: InstanceState = InstanceState.RUNNING,
              health: HealthStatus = HealthStatus.HEALTHY) -> Instance:
    return Instance(id=f"i-{n}", group_id="web", kind="process", launch_config_id="lc", state=state, create_time=float(n),
                    address=address or f"127.0.0.1:{4000 + n}", health_status=health)


def test_members_are_the_instances_in_service_and_healthy_on_their_own_port_or_the_pools():
    instances = [
        _instance(2), _instance(1), _instance(3, health=HealthStatus.UNKNOWN), _instance(4, state=InstanceState.TERMINATING),
        _instance(5, state=InstanceState.STANDBY), _instance(6, state=InstanceState.PENDING_WAIT), _instance(7, address="10.0.0.7"),
        _instance(8, address="[fd00::8]"),
    ]
    assert members_of(instances, POOL) == [PoolMember("i-1", "127.0.0.1", 4001), PoolMember("i-2", "127.0.0.1", 4002)]
    with_port = LoadBalancerPool(PoolKind.OCTAVIA, "pool-1", port=8080)
    assert [m.address for m in members_of(instances, with_port)] == [
        "127.0.0.1:8080", "127.0.0.1:8080", "10.0.0.7:8080", "[fd00::8]:8080"
    ]


def test_a_removed_instance_drains_for_the_longest_delay_of_its_groups_pools():
    assert drain_delay([]) == 0.0
    assert drain_delay([POOL, LoadBalancerPool(PoolKind.OCTAVIA, "p", port=80, drain_delay=120.0)]) == 120.0


def test_a_pool_file_is_prometheus_file_sd_json_and_haproxy_server_lines(tmp_path: Path):
    files = PoolFiles(tmp_path)
    members = [PoolMember("i-1", "127.0.0.1", 4001), PoolMember("i-2", "127.0.0.1", 4002)]
    files.set_members("p1", "web", POOL, members)
    assert json.loads((tmp_path / "p1" / "web" / "web.json").read_text()) == [
        {"targets": ["127.0.0.1:4001", "127.0.0.1:4002"], "labels": {"autoscale_project": "p1", "autoscale_group": "web",
                                                                     "autoscale_pool": "web"}}
    ]
    assert (tmp_path / "p1" / "web" / "web.haproxy").read_text() == (
        "server i-1 127.0.0.1:4001 check\nserver i-2 127.0.0.1:4002 check\n"
    )
    files.set_members("p1", "web", POOL, [])
    assert json.loads((tmp_path / "p1" / "web" / "web.json").read_text()) == []
    files.remove_group("p1", "web", POOL)
    assert list((tmp_path / "p1" / "web").iterdir()) == []


class RecordingDriver:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.failing = False

    def set_members(self, project, group_id, pool, members) -> None:  # type: ignore[no-untyped-def]
        if self.failing:
            raise DriverError("Octavia answered 503")
        self.calls.append([m.instance_id for m in members])

    def remove_group(self, project, group_id, pool) -> None:  # type: ignore[no-untyped-def]
        self.calls.append([])


def test_members_are_applied_only_when_they_change_and_again_after_a_failure():
    driver = RecordingDriver()
    sync = PoolSync({PoolKind.FILE: driver})
    assert sync.apply("p1", "web", [POOL], [_instance(1)]) == []
    assert sync.apply("p1", "web", [POOL], [_instance(1)]) == []
    driver.failing = True
    assert sync.apply("p1", "web", [POOL], [_instance(1), _instance(2)]) == [
        "cannot set the members of the pool file web: Octavia answered 503"
    ]
    driver.failing = False
    sync.apply("p1", "web", [POOL], [_instance(1), _instance(2)])
    assert driver.calls == [["i-1"], ["i-1", "i-2"]]


def test_a_pool_of_a_kind_this_process_cannot_reach_is_a_failure_naming_it():
    sync = PoolSync({})
    failures = sync.apply("p1", "web", [LoadBalancerPool(PoolKind.OCTAVIA, "pool-1", port=80)], [_instance(1)])
    assert failures == ["cannot set the members of the octavia pool pool-1: no octavia pool driver in this process"]


@pytest.mark.parametrize("name", ["../etc", "a/b"])
def test_pool_file_names_are_refused_unless_ids(name):
    violations = Violations()
    check_load_balancer_pools(violations, group_pb2.Group(load_balancer_pools=[group_pb2.LoadBalancerPool(pool_file=name)]))
    assert [v.field for v in violations.items] == ["group.load_balancer_pools[0].pool_file"]


def test_a_pool_the_group_no_longer_names_is_emptied_of_its_members():
    driver = RecordingDriver()
    sync = PoolSync({PoolKind.FILE: driver})
    sync.apply("p1", "web", [POOL], [_instance(1)])
    other = LoadBalancerPool(PoolKind.FILE, "back")
    sync.apply("p1", "web", [other], [_instance(1)])
    assert driver.calls == [["i-1"], [], ["i-1"]]  # set, then emptied (remove_group), then the new pool set
