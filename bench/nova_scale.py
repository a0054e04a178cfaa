"""Nova scale: one group from 0 to 500 Nova servers and back, against the fake cloud of the tests (tests/fake_cloud:
Keystone, Nova, Glance and Neutron on loopback, which the real openstacksdk talks HTTP to), with 5 % of boots ending
in ERROR and 1 % of create answers lost after the server was made.

`autoscale up --openstack-cloud fake --reconcile-interval 0.2`. Scale out: Adjust EXACT_CAPACITY 500, then
ListInstances until 500 are RUNNING; scale in: Adjust to 0, then until none is listed. At each end the cloud's
servers of the group are counted: the right capacity, and zero leaked (a server no instance records, or one left
after the scale-in). Raw limit: the same number of servers created with openstacksdk in a bare loop, without faults,
until all are ACTIVE (and deleted until gone, for the way back).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from autoscale.v1 import group_pb2, group_pb2_grpc
from bench import harness
from bench.group_scale import list_instances, scale
from bench.harness import BenchResult, Figure
from tests.fake_cloud import FakeCloud

BOOT_ERROR_RATE = 0.05
LOST_ANSWER_RATE = 0.01
SEED = 17


@dataclass(frozen=True)
class Sizes:
    servers: int
    timeout: float


FULL = Sizes(servers=500, timeout=600.0)
QUICK = Sizes(servers=20, timeout=120.0)


def raw_servers(cloud: FakeCloud, count: int, timeout: float) -> tuple[float, float]:
    """Seconds to create `count` servers in a bare openstacksdk loop until all are ACTIVE, and to delete them until gone."""
    conn = cloud.connection()
    image = conn.image.find_image("ubuntu-24.04", ignore_missing=False).id
    flavor = conn.compute.find_flavor("m1.small", ignore_missing=False).id
    begin = time.perf_counter()
    ids = [conn.compute.create_server(name=f"raw-{n}", image_id=image, flavor_id=flavor, networks="auto").id for n in range(count)]
    harness.wait_until(
        lambda: sum(1 for s in conn.compute.servers(details=True, name="^raw-") if s.status == "ACTIVE") == count,
        timeout, "the raw servers to be ACTIVE", interval=0.1,
    )
    up = time.perf_counter() - begin
    begin = time.perf_counter()
    for server_id in ids:
        conn.compute.delete_server(server_id)
    harness.wait_until(lambda: not list(conn.compute.servers(name="^raw-")), timeout, "the raw servers to be gone", interval=0.1)
    return up, time.perf_counter() - begin


def run(quick: bool = False) -> BenchResult:
    sizes = QUICK if quick else FULL
    n = sizes.servers
    result = BenchResult("nova_scale")
    sampler = harness.RssSampler()
    with FakeCloud(seed=SEED) as cloud, harness.workspace("nova-scale") as workdir:
        cloud.state.instance_quota = 2 * n  # room for the servers, those in ERROR and those being deleted
        raw_up, raw_down = raw_servers(cloud, n, sizes.timeout)
        cloud.faults.boot_errors(count=None, rate=BOOT_ERROR_RATE)
        cloud.faults.lose_responses(count=None, rate=LOST_ANSWER_RATE)
        creates_before = len(cloud.requests_to("POST", "/compute/v2.1/servers"))
        clouds_yaml = cloud.clouds_yaml(workdir / "clouds.yaml", cloud="fake")
        try:
            with harness.mesh(
                "up", f"sqlite:///{workdir / 'autoscale.db'}", workdir, sampler, environment={"OS_CLIENT_CONFIG_FILE": str(clouds_yaml)},
                reconcile_interval=0.2, openstack_cloud="fake",
            ) as services, harness.channel(services.group) as chan:
                stub = group_pb2_grpc.GroupServiceStub(chan)
                spec = group_pb2.OpenStackServerSpec(image="ubuntu-24.04", flavor="m1.small", networks=["private"])
                stub.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
                    launch_config_id="vm", launch_config=group_pb2.LaunchConfig(openstack_server=spec)
                ), timeout=60)
                group = group_pb2.Group(launch_config="launchConfigs/vm", min_size=0, max_size=n, desired_capacity=0)
                group.cooldown.FromSeconds(0)
                stub.CreateGroup(group_pb2.CreateGroupRequest(group_id="bench", group=group), timeout=60)
                up = scale(stub, "groups/bench", n, sizes.timeout)
                recorded = {i.server_id for i in list_instances(stub, "groups/bench")}
                in_cloud = {s.id for s in cloud.servers("^bench-") if s.deleting_until is None}
                leaked_up = len(in_cloud - recorded)
                creates = len(cloud.requests_to("POST", "/compute/v2.1/servers")) - creates_before
                down = scale(stub, "groups/bench", 0, sizes.timeout)
                leaked_down = len(cloud.servers("^bench-"))
                stub.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/bench"), timeout=120)
        finally:
            sampler.stop()
    result.peak_rss_mb = sampler.peak_mb()
    faults = f"{BOOT_ERROR_RATE:.0%} of boots in ERROR, {LOST_ANSWER_RATE:.0%} of create answers lost"
    result.add(Figure(
        name=f"scale out 0 -> {n} Nova servers ({faults})", value=round(up, 2), unit="s", raw=round(raw_up, 2), raw_unit="s",
        raw_what=f"{n} creates in a bare openstacksdk loop until ACTIVE, no faults", ratio=round(up / raw_up, 1),
        target="the right capacity, 0 leaked", met=leaked_up == 0,
        details={"servers_per_s": round(n / up, 1), "create_requests": creates, "leaked": leaked_up, "reconcile_interval_s": 0.2},
    ))
    result.add(Figure(
        name=f"scale in {n} -> 0 Nova servers", value=round(down, 2), unit="s", raw=round(raw_down, 2), raw_unit="s",
        raw_what=f"{n} deletes in a bare loop until gone", ratio=round(down / raw_down, 1) if raw_down else None,
        target="0 servers left", met=leaked_down == 0, details={"servers_left": leaked_down},
    ))
    return result

