"""The OpenStack driver through the real openstacksdk against the fake cloud of tests/fake_cloud (Keystone, Nova, Glance
and Neutron over HTTP on loopback), alone and under the reconcile loop."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openstack
import pytest
from openstack.connection import Connection

from autoscale.database import Database
from autoscale.errors import Unavailable
from services.group import capacity
from services.group.backoff import BASE_DELAY
from services.group.domain import OPENSTACK_SERVER, ActivityStatus, AdjustmentType, Group, InstanceState, LaunchConfig
from services.group.drivers import openstack as openstack_driver_module
from services.group.drivers.base import (
    CloudNotConfigured,
    DriverError,
    FoundServer,
    LaunchRequest,
    OpenStackServerSpec,
    ServerNic,
    ServerState,
    ServerStatus,
)
from services.group.drivers.openstack import RESOLVE_TTL, OpenStackDriver
from services.group.reconciler import Reconciler
from services.group.repository import GroupRepositories
from services.group.server import MIGRATIONS_DIR
from tests.fake_cloud import NO_VALID_HOST, FakeCloud
from tests.fake_cloud.state import PASSWORD


@pytest.fixture
def driver(fake_cloud: FakeCloud) -> OpenStackDriver:
    return OpenStackDriver(cloud="test", connect=fake_cloud.connection)


def launch_request(instance_id: str = "i-7", **spec_fields: Any) -> LaunchRequest:
    spec = OpenStackServerSpec(**{"image": "ubuntu-24.04", "flavor": "m1.small", **spec_fields})
    return LaunchRequest(project="p1", group_id="web", instance_id=instance_id, metrics_addr="10.0.0.1:50051", openstack_server=spec)


def created_body(fake_cloud: FakeCloud) -> dict[str, Any]:
    """The `server` object of the one create request Nova received."""
    (request,) = fake_cloud.requests_to("POST", "/compute/v2.1/servers")
    body: dict[str, Any] = request.body["server"]
    return body


def boot_by_hand(fake_cloud: FakeCloud, name: str, **metadata: str) -> str:
    """A server made in the cloud by someone else than the driver; its id."""
    conn = fake_cloud.connection()
    image = fake_cloud.state.id_of("image", "cirros")
    return str(conn.compute.create_server(name=name, image_id=image, flavor_id="1", networks="none", metadata=metadata).id)


def test_launch_boots_a_server_with_names_resolved_to_ids_and_the_autoscale_metadata(
    driver: OpenStackDriver, fake_cloud: FakeCloud
) -> None:
    server_id = driver.launch(
        launch_request(
            key_name="deployer",
            networks=["private", "public"],
            security_groups=["default", "web"],
            metadata={"role": "frontend", "autoscale_group": "forged", "autoscale_project": "forged"},
        )
    )

    (server,) = fake_cloud.servers()
    assert server.id == server_id
    body = created_body(fake_cloud)
    body.pop("user_data", None)
    state = fake_cloud.state
    assert body == {
        "name": "web-i-7",
        "imageRef": state.id_of("image", "ubuntu-24.04"),
        "flavorRef": "2",
        "networks": [{"uuid": state.id_of("network", "private")}, {"uuid": state.id_of("network", "public")}],
        "key_name": "deployer",
        "security_groups": [{"name": "default"}, {"name": "web"}],
        "metadata": {
            "role": "frontend",
            "autoscale_project": "p1",
            "autoscale_group": "web",
            "autoscale_instance": "i-7",
            "autoscale_metrics_addr": "10.0.0.1:50051",
            "metering.server_group": "web",
        },
    }
    assert (server.name, server.security_groups, server.key_name) == ("web-i-7", ["default", "web"], "deployer")
    assert len(server.port_ids) == 2


def test_launch_sends_user_data_base64_encoded(driver: OpenStackDriver, fake_cloud: FakeCloud) -> None:
    user_data = "#cloud-config\nruncmd:\n  - echo héllo\n"

    driver.launch(launch_request(user_data=user_data))

    (server,) = fake_cloud.servers()
    assert base64.b64decode(server.user_data or "").decode() == user_data


def test_launch_leaves_out_what_the_spec_leaves_empty_and_lets_nova_pick_the_network(
    driver: OpenStackDriver, fake_cloud: FakeCloud
) -> None:
    driver.launch(launch_request())

    body = created_body(fake_cloud)
    assert body["networks"] == "auto"
    assert not {"key_name", "security_groups", "user_data"} & body.keys()


@pytest.mark.parametrize(
    ("spec_fields", "message"),
    [
        ({"flavor": "m9.huge"}, "cannot find the flavor 'm9.huge': No Flavor found for m9.huge"),
        ({"image": "windows"}, "cannot find the image 'windows': No Image found for windows"),
        ({"networks": ["dmz"]}, "cannot find the network 'dmz': No Network found for dmz"),
    ],
)
def test_launch_with_an_unknown_name_is_a_driver_error_naming_it(
    driver: OpenStackDriver, fake_cloud: FakeCloud, spec_fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(DriverError, match=f"^{message}$"):
        driver.launch(launch_request(**spec_fields))

    assert fake_cloud.requests_to("POST", "/compute/v2.1/servers") == []


def test_a_quota_refusal_is_a_driver_error_with_novas_message(driver: OpenStackDriver, fake_cloud: FakeCloud) -> None:
    fake_cloud.state.instance_quota = 0
    quota = "Quota exceeded for instances: Requested 1, but already used 0 of 0 instances"

    with pytest.raises(DriverError, match=rf"^cannot create the server 'web-i-7': {quota} \(HTTP 403\)$"):
        driver.launch(launch_request())


def test_a_server_error_on_create_is_a_driver_error_with_the_clouds_message(driver: OpenStackDriver, fake_cloud: FakeCloud) -> None:
    fake_cloud.faults.fail_requests(500, method="POST", path="/servers$", message="Unexpected API Error.")

    with pytest.raises(DriverError, match=r"^cannot create the server 'web-i-7': Unexpected API Error. \(HTTP 500\)$"):
        driver.launch(launch_request())


def test_launch_without_an_openstack_server_is_a_driver_error(driver: OpenStackDriver) -> None:
    with pytest.raises(DriverError, match="has no OpenStack server to boot"):
        driver.launch(LaunchRequest(project="p1", group_id="web", instance_id="i-7", metrics_addr="", openstack_server=None))


@pytest.mark.parametrize(
    ("nova_status", "status"),
    [
        ("ACTIVE", ServerStatus.RUNNING),
        ("BUILD", ServerStatus.PENDING),
        ("REBUILD", ServerStatus.PENDING),
        ("HARD_REBOOT", ServerStatus.PENDING),
        ("ERROR", ServerStatus.FAILED),
        ("DELETED", ServerStatus.GONE),
        ("SOFT_DELETED", ServerStatus.GONE),
    ],
)
def test_state_maps_the_nova_status(driver: OpenStackDriver, fake_cloud: FakeCloud, nova_status: str, status: ServerStatus) -> None:
    server_id = driver.launch(launch_request())
    fake_cloud.state.force_status(server_id, nova_status)

    assert driver.state(server_id).status is status


def test_an_active_server_gives_its_fixed_address_where_health_checks_and_pools_reach_it(
    driver: OpenStackDriver, fake_cloud: FakeCloud
) -> None:
    fake_cloud.state.build_seconds = 0
    server_id = driver.launch(launch_request(networks=["private"]))
    (fixed,) = [entry["addr"] for entry in fake_cloud.connection().compute.get_server(server_id).addresses["private"]]

    assert driver.state(server_id) == ServerState(ServerStatus.RUNNING, address=fixed)


def test_a_new_server_is_pending_until_nova_has_built_it(driver: OpenStackDriver, fake_cloud: FakeCloud) -> None:
    fake_cloud.state.build_seconds = 60

    assert driver.state(driver.launch(launch_request())).status is ServerStatus.PENDING


@pytest.mark.parametrize("fault", [False, True])
def test_a_server_being_deleted_is_pending_until_it_is_gone_even_in_error(
    driver: OpenStackDriver, fake_cloud: FakeCloud, fault: bool
) -> None:
    fake_cloud.state.build_seconds = 0
    if fault:
        fake_cloud.faults.boot_errors(count=1)
    server_id = driver.launch(launch_request())
    fake_cloud.faults.slow_deletes(60)

    driver.terminate(server_id)

    assert driver.state(server_id) == ServerState(ServerStatus.PENDING, f"the server is being deleted ({'ERROR' if fault else 'ACTIVE'})")


def test_a_server_in_error_reports_its_fault_message(driver: OpenStackDriver, fake_cloud: FakeCloud) -> None:
    fake_cloud.state.build_seconds = 0
    fake_cloud.faults.boot_errors(count=1)

    state = driver.state(driver.launch(launch_request()))

    assert (state.status, state.reason) == (ServerStatus.FAILED, NO_VALID_HOST)


def test_a_server_the_cloud_does_not_know_is_gone(driver: OpenStackDriver) -> None:
    assert driver.state("server-404").status is ServerStatus.GONE


@pytest.mark.parametrize(("status", "message"), [(503, "Service Unavailable"), (500, "Unexpected API Error.")])
def test_other_cloud_errors_of_state_are_driver_errors(driver: OpenStackDriver, fake_cloud: FakeCloud, status: int, message: str) -> None:
    fake_cloud.faults.fail_requests(status, method="GET", path="/servers/server-1$", message=message)

    with pytest.raises(DriverError, match=rf"^cannot get the server 'server-1': {message} \(HTTP {status}\)$"):
        driver.state("server-1")


def test_an_unreachable_cloud_is_a_driver_error(driver: OpenStackDriver, fake_cloud: FakeCloud) -> None:
    driver.state("server-1")  # connected
    fake_cloud.stop()

    with pytest.raises(DriverError, match=r"^cannot get the server 'server-1': Unable to establish connection to http://127\.0\.0\.1:"):
        driver.state("server-1")


def test_terminate_deletes_the_server_ignoring_one_that_is_gone(driver: OpenStackDriver, fake_cloud: FakeCloud) -> None:
    server_id = driver.launch(launch_request())

    driver.terminate(server_id)
    driver.terminate(server_id)

    assert fake_cloud.servers() == []
    assert len(fake_cloud.requests_to("DELETE", f"/compute/v2.1/servers/{server_id}")) == 2


def test_a_cloud_error_on_terminate_is_a_driver_error(driver: OpenStackDriver, fake_cloud: FakeCloud) -> None:
    fake_cloud.faults.fail_requests(403, method="DELETE", message="Policy doesn't allow os_compute_api:servers:delete to be performed.")

    with pytest.raises(DriverError, match="^cannot delete the server 'server-1': Policy doesn't allow os_compute_api:servers:delete"):
        driver.terminate("server-1")


def test_the_connection_is_made_once_on_first_use(fake_cloud: FakeCloud) -> None:
    connects: list[Connection] = []

    def connect() -> Connection:
        connects.append(fake_cloud.connection())
        return connects[-1]

    driver = OpenStackDriver(cloud="test", connect=connect)
    assert connects == []

    driver.terminate("server-1")
    driver.terminate("server-2")

    assert len(connects) == 1
    assert len(fake_cloud.requests_to("POST", "/identity/v3/auth/tokens")) == 1


def test_a_failed_connection_is_a_driver_error_and_is_tried_again_on_the_next_call(
    fake_cloud: FakeCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(fake_cloud.clouds_yaml(tmp_path / "clouds.yaml", cloud="fake")))
    clouds = iter(["nowhere", "fake"])
    driver = OpenStackDriver(cloud="nowhere", connect=lambda: openstack.connect(cloud=next(clouds)))

    with pytest.raises(CloudNotConfigured, match="^cannot connect to the cloud 'nowhere': Cloud nowhere was not found.$"):
        driver.terminate("server-1")
    driver.terminate("server-1")

    assert len(fake_cloud.requests_to("DELETE", "/compute/v2.1/servers/server-1")) == 1


def test_the_driver_connects_with_the_os_variables_as_every_openstack_tool(
    fake_cloud: FakeCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "no-clouds.yaml"))
    for option, value in fake_cloud.connect_options().items():
        monkeypatch.setenv(f"OS_{option.upper()}", value)

    assert OpenStackDriver().state("server-1").status is ServerStatus.GONE
    assert len(fake_cloud.requests_to("GET", "/compute/v2.1/servers/server-1")) == 1


def test_building_the_driver_with_no_cloud_configured_does_not_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    connects: list[object] = []
    monkeypatch.setattr(openstack_driver_module.openstack, "connect", lambda **options: connects.append(options))
    OpenStackDriver()
    assert connects == []


def test_find_servers_lists_the_groups_servers_by_name_and_keeps_those_whose_metadata_names_the_project_and_group(
    driver: OpenStackDriver, fake_cloud: FakeCloud
) -> None:
    ours = boot_by_hand(fake_cloud, "web-i-1", autoscale_project="p1", autoscale_group="web", autoscale_instance="i-1")
    boot_by_hand(fake_cloud, "web-i-i-2", autoscale_project="p1", autoscale_group="web-i", autoscale_instance="i-2")  # another group's
    boot_by_hand(fake_cloud, "web-manual")  # made by hand
    deleted = boot_by_hand(fake_cloud, "web-i-4", autoscale_project="p1", autoscale_group="web", autoscale_instance="i-4")
    fake_cloud.state.force_status(deleted, "DELETED")
    boot_by_hand(fake_cloud, "api-i-5", autoscale_project="p1", autoscale_group="api", autoscale_instance="i-5")
    theirs = boot_by_hand(
        fake_cloud, "web-i-6", autoscale_project="p2", autoscale_group="web", autoscale_instance="i-6"
    )  # another project's
    boot_by_hand(fake_cloud, "web-i-7", autoscale_group="web", autoscale_instance="i-7")  # no project

    assert driver.find_servers("p1", "web") == [FoundServer("i-1", ours)]
    assert driver.find_servers("p2", "web") == [FoundServer("i-6", theirs)]
    assert {request.query.get("name") for request in fake_cloud.requests_to("GET", "/compute/v2.1/servers/detail")} == {"^web-"}


def test_a_cloud_error_listing_servers_is_a_driver_error(driver: OpenStackDriver, fake_cloud: FakeCloud) -> None:
    fake_cloud.faults.fail_requests(503, method="GET", path="/servers/detail$", message="Service Unavailable")

    with pytest.raises(DriverError, match=r"^cannot list the servers of the group 'web': Service Unavailable \(HTTP 503\)$"):
        driver.find_servers("p1", "web")


def test_after_a_lost_create_reply_the_reconcile_loop_adopts_the_server_and_leaves_exactly_the_desired_servers(
    sqlite_url: str, driver: OpenStackDriver, fake_cloud: FakeCloud
) -> None:
    fake_cloud.state.build_seconds = 0
    database = Database(sqlite_url)
    database.migrate(MIGRATIONS_DIR, "group")
    try:
        repositories = GroupRepositories(database)
        repository = repositories.of("default")
        repository.create_launch_config(LaunchConfig("vm", openstack_server=OpenStackServerSpec(image="ubuntu-24.04", flavor="m1.small")))
        group = Group(id="web", launch_config_id="vm", min_size=0, max_size=5, desired_capacity=2)
        repository.create_group(group, capacity.creation_activity("a-0", group, 1.0))
        # Leaked before (Nova made it, the reply was lost, and the instance was forgotten): nobody records it.
        leaked = boot_by_hand(fake_cloud, "web-i-old", autoscale_project="default", autoscale_group="web", autoscale_instance="i-old")
        now = [1000.0]
        reconciler = Reconciler(repositories, {OPENSTACK_SERVER: driver}, lambda: now[0], "10.0.0.1:50051")

        fake_cloud.faults.lose_responses(count=1)
        reconciler.reconcile_group("default", "web")  # the first create's reply is lost: this pass launches no more
        (lost,) = repository.list_instances("web", None, 10)
        assert (lost.state, lost.server_id) == (InstanceState.FAILED, "")
        (made,) = fake_cloud.servers()
        assert made.id != leaked and made.metadata["autoscale_instance"] == lost.id, "the leaked server is deleted on the first pass"
        now[0] += BASE_DELAY  # the failed launch's backoff
        reconciler.reconcile_group("default", "web")  # adopts the server made and launches the second
        reconciler.reconcile_group("default", "web")

        instances = repository.list_instances("web", None, 10)
        assert sorted(i.server_id for i in instances) == sorted(server.id for server in fake_cloud.servers())
        assert len(instances) == 2 and made.id in {i.server_id for i in instances}
        assert [i.state for i in instances] == [InstanceState.RUNNING] * 2 and lost.id in {i.id for i in instances}
        assert fake_cloud.state.server_creates == 3
    finally:
        database.dispose()


def test_launch_attaches_the_nics_of_a_fixed_ip_and_of_a_port_after_the_networks(driver: OpenStackDriver, fake_cloud: FakeCloud) -> None:
    state = fake_cloud.state
    port = state.add_port("private", fixed_ip="10.0.0.40")

    driver.launch(launch_request(networks=["private"], nics=[ServerNic(network="public", fixed_ip="172.24.4.20"), ServerNic(port=port)]))

    assert created_body(fake_cloud)["networks"] == [
        {"uuid": state.id_of("network", "private")},
        {"uuid": state.id_of("network", "public"), "fixed_ip": "172.24.4.20"},
        {"port": port},
    ]
    (server,) = fake_cloud.servers()
    addresses = fake_cloud.connection().compute.get_server(server.id).addresses
    assert {network: [a["addr"] for a in listed] for network, listed in addresses.items()} == {
        "private": [addresses["private"][0]["addr"], "10.0.0.40"],
        "public": ["172.24.4.20"],
    }


def test_launch_boots_from_a_new_volume_of_the_image_deleted_with_the_server(driver: OpenStackDriver, fake_cloud: FakeCloud) -> None:
    driver.launch(launch_request(boot_volume_size_gb=20))

    body = created_body(fake_cloud)
    assert "imageRef" not in body
    assert body["block_device_mapping_v2"] == [
        {
            "boot_index": 0,
            "uuid": fake_cloud.state.id_of("image", "ubuntu-24.04"),
            "source_type": "image",
            "destination_type": "volume",
            "volume_size": 20,
            "delete_on_termination": True,
        }
    ]
    (server,) = fake_cloud.servers()
    assert [(volume.size, volume.delete_on_termination) for volume in server.volumes] == [(20, True)]


@pytest.mark.parametrize("server_group", ["web-anti", "id"])
def test_launch_places_the_server_in_its_zone_and_server_group_with_a_config_drive(
    driver: OpenStackDriver, fake_cloud: FakeCloud, server_group: str
) -> None:
    group_id = fake_cloud.state.id_of("server_group", "web-anti")
    named = group_id if server_group == "id" else server_group

    driver.launch(launch_request(availability_zone="az-2", server_group=named, config_drive=True))

    (request,) = fake_cloud.requests_to("POST", "/compute/v2.1/servers")
    assert request.body["OS-SCH-HNT:scheduler_hints"] == {"group": group_id}
    assert (request.body["server"]["availability_zone"], request.body["server"]["config_drive"]) == ("az-2", True)
    (server,) = fake_cloud.servers()
    assert (server.availability_zone, server.server_group_id, server.config_drive) == ("az-2", group_id, True)


def test_launch_with_an_unknown_server_group_is_a_driver_error_naming_it(driver: OpenStackDriver, fake_cloud: FakeCloud) -> None:
    with pytest.raises(DriverError, match="^cannot find the server group 'db-anti': No ServerGroup found for db-anti$"):
        driver.launch(launch_request(server_group="db-anti"))

    assert fake_cloud.requests_to("POST", "/compute/v2.1/servers") == []


def _lookups(fake_cloud: FakeCloud) -> int:
    """Requests that resolve names: every GET but those of servers and of discovery."""
    return len([r for r in fake_cloud.requests if r.method == "GET" and "/servers" not in r.path and r.path.count("/") > 2])


def test_the_names_of_a_launch_config_are_looked_up_once_for_many_servers_until_they_are_a_minute_old(fake_cloud: FakeCloud) -> None:
    now = [0.0]
    driver = OpenStackDriver(cloud="test", connect=fake_cloud.connection, clock=lambda: now[0])
    spec = {"networks": ["private"], "nics": [ServerNic(network="public")], "server_group": "web-anti"}

    driver.launch(launch_request("i-1", **spec))
    lookups = _lookups(fake_cloud)
    for number in range(2, 7):
        driver.launch(launch_request(f"i-{number}", **spec))

    assert _lookups(fake_cloud) == lookups and len(fake_cloud.servers()) == 6
    now[0] += RESOLVE_TTL
    driver.launch(launch_request("i-7", **spec))
    assert _lookups(fake_cloud) == 2 * lookups


def test_a_refused_create_looks_the_names_up_again_on_the_next_launch(driver: OpenStackDriver, fake_cloud: FakeCloud) -> None:
    state = fake_cloud.state
    driver.launch(launch_request("i-1"))
    # The image is replaced by a new one of the same name (a nightly build, say).
    del state.images[state.id_of("image", "ubuntu-24.04")]
    new_image = state.add_image("ubuntu-24.04")

    with pytest.raises(DriverError, match=r"^cannot create the server 'web-i-2': Image [-0-9a-f]+ could not be found. \(HTTP 400\)$"):
        driver.launch(launch_request("i-2"))
    driver.launch(launch_request("i-3"))

    assert [server.image_id for server in fake_cloud.servers("web-i-3")] == [new_image]


def test_a_request_longer_than_the_timeout_is_a_driver_error(
    fake_cloud: FakeCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(fake_cloud.clouds_yaml(tmp_path / "clouds.yaml", cloud="fake")))
    driver = OpenStackDriver(cloud="fake", timeout=0.2)
    driver.state("server-1")  # connected
    fake_cloud.faults.slow_answers(1.0, method="GET", path="/servers/server-1$")

    with pytest.raises(DriverError, match="^cannot get the server 'server-1': .*[Tt]imed out"):
        driver.state("server-1")


@contextmanager
def group_of(sqlite_url: str, desired_capacity: int, spec: OpenStackServerSpec | None = None) -> Iterator[GroupRepositories]:
    """A migrated database holding launch config `vm` (an OpenStack server of the fake cloud) and group `web` of project
    `default` wanting `desired_capacity` instances."""
    database = Database(sqlite_url)
    database.migrate(MIGRATIONS_DIR, "group")
    try:
        repositories = GroupRepositories(database)
        repository = repositories.of("default")
        config = spec or OpenStackServerSpec(image="ubuntu-24.04", flavor="m1.small", networks=("private",))
        repository.create_launch_config(LaunchConfig("vm", openstack_server=config))
        group = Group(id="web", launch_config_id="vm", min_size=0, max_size=20, desired_capacity=desired_capacity)
        repository.create_group(group, capacity.creation_activity("a-0", group, 1.0))
        yield repositories
    finally:
        database.dispose()


def converge(reconciler: Reconciler, now: list[float], passes: int = 30) -> None:
    """Reconcile passes until the group runs what it wants (each pass past any launch backoff), at most `passes`."""
    repository = reconciler_repository(reconciler)
    for _ in range(passes):
        reconciler.reconcile_group("default", "web")
        snapshot = repository.snapshot("web")
        assert snapshot is not None
        instances = snapshot.instances
        if len(instances) == snapshot.group.desired_capacity and all(i.state is InstanceState.RUNNING for i in instances):
            return
        now[0] += 301.0  # past the longest launch backoff, within the launch timeout
    raise AssertionError(f"not converged after {passes} passes: {repository.list_instances('web', None, 100)}")


def reconciler_repository(reconciler: Reconciler) -> Any:
    return reconciler._repositories.of("default")  # noqa: SLF001 (the test reads what the reconciler stored)


def assert_exactly_the_recorded_servers(repositories: GroupRepositories, fake_cloud: FakeCloud, count: int) -> None:
    """The group records `count` running instances, each with its own server, and the cloud has no other server of it."""
    instances = repositories.of("default").list_instances("web", None, 100)
    servers = fake_cloud.servers("^web-")
    assert len(instances) == count and all(i.state is InstanceState.RUNNING for i in instances)
    assert sorted(i.server_id for i in instances) == sorted(server.id for server in servers)
    assert sorted(i.id for i in instances) == sorted(server.metadata["autoscale_instance"] for server in servers)


def test_a_create_answered_after_the_timeout_is_adopted_and_not_made_twice(sqlite_url: str, fake_cloud: FakeCloud) -> None:
    fake_cloud.state.build_seconds = 0
    driver = OpenStackDriver(cloud="test", connect=lambda: fake_cloud.connection(api_timeout=0.3))
    fake_cloud.faults.slow_answers(1.0, method="POST", path="/servers$", count=1)
    with group_of(sqlite_url, 2) as repositories:
        now = [1000.0]
        reconciler = Reconciler(repositories, {OPENSTACK_SERVER: driver}, lambda: now[0], "10.0.0.1:50051")

        reconciler.reconcile_group("default", "web")
        (timed_out,) = repositories.of("default").list_instances("web", None, 10)
        assert timed_out.state is InstanceState.FAILED and "timed out" in timed_out.state_reason.lower()
        converge(reconciler, now)

        assert_exactly_the_recorded_servers(repositories, fake_cloud, 2)
        assert timed_out.id in {i.id for i in repositories.of("default").list_instances("web", None, 10)}
        assert fake_cloud.state.server_creates == 2


class Crash(Exception):
    """The service dies: raised by CrashingDriver after Nova made the server, before the reconciler records its id."""


class CrashingDriver:
    """The OpenStack driver, whose `crash_after`-th launch dies once Nova made its server."""

    def __init__(self, driver: OpenStackDriver, crash_after: int) -> None:
        self._driver = driver
        self._launches_left = crash_after

    def launch(self, request: LaunchRequest) -> str:
        server_id = self._driver.launch(request)
        self._launches_left -= 1
        if self._launches_left == 0:
            raise Crash(f"killed after Nova made {server_id}")
        return server_id

    def find_servers(self, project: str, group_id: str) -> list[FoundServer]:
        return self._driver.find_servers(project, group_id)

    def state(self, server_id: str) -> ServerState:
        return self._driver.state(server_id)

    def terminate(self, server_id: str) -> None:
        self._driver.terminate(server_id)


def test_a_service_restarted_in_the_middle_of_a_scale_out_with_lost_answers_ends_with_exactly_the_desired_servers(
    sqlite_url: str, fake_cloud: FakeCloud
) -> None:
    fake_cloud.state.build_seconds = 0
    fake_cloud.faults.seed(17)
    # Every third create's answer is lost (drawn from the seed), and some boots fail: the cloud of a bad day.
    fake_cloud.faults.lose_responses(count=None, rate=0.3)
    fake_cloud.faults.boot_errors(count=2, rate=0.2)
    with group_of(sqlite_url, 8) as repositories:
        now = [1000.0]
        before = Reconciler(
            repositories,
            {OPENSTACK_SERVER: CrashingDriver(OpenStackDriver(connect=fake_cloud.connection), crash_after=3)},
            lambda: now[0],
            "10.0.0.1:50051",
        )
        with pytest.raises(Crash):
            for _ in range(10):
                before.reconcile_group("default", "web")
                now[0] += 301.0
        recorded = repositories.of("default").list_instances("web", None, 100)
        assert [i for i in recorded if i.state is InstanceState.PENDING and not i.server_id], "the crash left a launch unrecorded"

        # The service starts again over the same database, with a driver (and connection) of its own.
        after = Reconciler(
            repositories, {OPENSTACK_SERVER: OpenStackDriver(connect=fake_cloud.connection)}, lambda: now[0], "10.0.0.1:50051"
        )
        converge(after, now)

        assert_exactly_the_recorded_servers(repositories, fake_cloud, 8)
        assert fake_cloud.state.server_creates > 8, "answers were lost on the way"


def test_deleting_a_group_waits_until_its_slowly_deleted_servers_are_gone(
    sqlite_url: str, fake_cloud: FakeCloud, driver: OpenStackDriver
) -> None:
    fake_cloud.state.build_seconds = 0
    with group_of(sqlite_url, 3) as repositories:
        now = [1000.0]
        reconciler = Reconciler(repositories, {OPENSTACK_SERVER: driver}, lambda: now[0], "10.0.0.1:50051", poll_interval=0.05)
        converge(reconciler, now)
        fake_cloud.faults.slow_deletes(0.4)
        started = time.monotonic()

        reconciler.delete_group("default", "web")

        assert time.monotonic() - started >= 0.4
        assert fake_cloud.servers() == []
        assert repositories.of("default").snapshot("web") is None


def test_deleting_a_group_whose_servers_outlive_the_bound_is_unavailable_and_succeeds_when_called_again(
    sqlite_url: str, fake_cloud: FakeCloud, driver: OpenStackDriver
) -> None:
    fake_cloud.state.build_seconds = 0
    with group_of(sqlite_url, 2) as repositories:
        now = [1000.0]
        reconciler = Reconciler(
            repositories, {OPENSTACK_SERVER: driver}, lambda: now[0], "10.0.0.1:50051", delete_timeout=0.2, poll_interval=0.05
        )
        converge(reconciler, now)
        fake_cloud.faults.slow_deletes(0.6)

        with pytest.raises(Unavailable, match=r"instances still terminating after 0\.2s: .*call DeleteGroup again"):
            reconciler.delete_group("default", "web")
        assert len(fake_cloud.servers()) == 2 and repositories.of("default").snapshot("web") is not None
        time.sleep(0.5)
        reconciler.delete_group("default", "web")

        assert fake_cloud.servers() == [] and repositories.of("default").snapshot("web") is None


def test_deleting_a_group_stops_the_servers_it_never_recorded(sqlite_url: str, fake_cloud: FakeCloud, driver: OpenStackDriver) -> None:
    with group_of(sqlite_url, 0) as repositories:
        reconciler = Reconciler(repositories, {OPENSTACK_SERVER: driver}, lambda: 1000.0, "10.0.0.1:50051", poll_interval=0.05)
        boot_by_hand(fake_cloud, "web-i-old", autoscale_project="default", autoscale_group="web", autoscale_instance="i-old")
        fake_cloud.faults.slow_deletes(0.2)

        reconciler.delete_group("default", "web")

        assert fake_cloud.servers() == []


def test_deleting_a_group_waits_until_the_server_of_a_failed_instance_being_deleted_is_gone(
    sqlite_url: str, fake_cloud: FakeCloud, driver: OpenStackDriver
) -> None:
    fake_cloud.state.build_seconds = 0
    fake_cloud.faults.boot_errors(count=1)
    with group_of(sqlite_url, 1) as repositories:
        now = [1000.0]
        reconciler = Reconciler(repositories, {OPENSTACK_SERVER: driver}, lambda: now[0], "10.0.0.1:50051", poll_interval=0.05)
        reconciler.reconcile_group("default", "web")  # its server goes to ERROR
        repositories.of("default").adjust(
            "web", "", lambda group: capacity.adjustment_activity("a-1", group, AdjustmentType.EXACT_CAPACITY, 0, 0, "test", now[0])
        )
        fake_cloud.faults.slow_deletes(0.3)
        (failed,) = fake_cloud.servers()

        reconciler.delete_group("default", "web")

        assert fake_cloud.servers() == [], f"the failed server {failed.id} is gone"


@pytest.mark.parametrize(
    ("plan_fault", "reason"),
    [
        (
            lambda cloud: setattr(cloud.state, "instance_quota", 1),
            "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances (HTTP 403)",
        ),
        (lambda cloud: cloud.faults.boot_errors(count=1), NO_VALID_HOST),
        (
            lambda cloud: cloud.faults.fail_requests(500, method="POST", path="/servers$", message="Unexpected API Error."),
            "Unexpected API Error. (HTTP 500)",
        ),
    ],
    ids=["quota", "no-valid-host", "server-error"],
)
def test_a_launch_the_cloud_refuses_or_fails_ends_the_activity_failed_with_the_clouds_message_and_backs_off(
    sqlite_url: str, fake_cloud: FakeCloud, driver: OpenStackDriver, plan_fault: Any, reason: str
) -> None:
    fake_cloud.state.build_seconds = 0
    with group_of(sqlite_url, 2) as repositories:
        repository = repositories.of("default")
        now = [1000.0]
        reconciler = Reconciler(repositories, {OPENSTACK_SERVER: driver}, lambda: now[0], "10.0.0.1:50051")
        plan_fault(fake_cloud)

        for _ in range(3):
            reconciler.reconcile_group("default", "web")
            now[0] += 0.5  # within the backoff (BASE_DELAY): the failed launch is not tried again at once

        snapshot = repository.snapshot("web")
        assert snapshot is not None
        backoff = snapshot.group.launch_backoff
        assert backoff.failures == 1 and reason in backoff.last_failure and backoff.retry_time is not None
        (activity,) = repository.list_activities("web", None, 1)
        assert activity.status is ActivityStatus.FAILED and reason in activity.status_message
        fake_cloud.faults.clear()
        fake_cloud.state.instance_quota = 50
        now[0] += 301.0
        converge(reconciler, now)
        assert_exactly_the_recorded_servers(repositories, fake_cloud, 2)


def test_the_clouds_password_is_never_logged_nor_in_an_error(
    sqlite_url: str, fake_cloud: FakeCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(fake_cloud.clouds_yaml(tmp_path / "clouds.yaml", cloud="fake")))
    caplog.set_level(logging.DEBUG)
    fake_cloud.state.build_seconds = 0
    fake_cloud.faults.lose_responses(count=1)
    fake_cloud.faults.fail_requests(500, method="GET", path="/servers/detail$", count=1)
    with group_of(sqlite_url, 2) as repositories:
        now = [1000.0]
        reconciler = Reconciler(repositories, {OPENSTACK_SERVER: OpenStackDriver(cloud="fake")}, lambda: now[0], "10.0.0.1:50051")
        converge(reconciler, now)
        reconciler.delete_group("default", "web")
    # NOTE: openstacksdk takes the only cloud of a clouds.yaml as the default, whose password would win over this one.
    monkeypatch.delenv("OS_CLIENT_CONFIG_FILE")
    with pytest.raises(DriverError) as refused:
        OpenStackDriver(cloud="fake", connect=lambda: fake_cloud.connection(password="wrong-password-3b1d")).state("server-1")

    assert "requires authentication" in str(refused.value) and "wrong-password-3b1d" not in str(refused.value)
    assert "WARNING" in caplog.text and "REQ: curl" in caplog.text, "the requests were logged, with their headers"
    assert PASSWORD not in caplog.text and "wrong-password-3b1d" not in caplog.text


# The predefined CPU metric of Nova servers: their diagnostics' CPU times.


@pytest.fixture
def cloud_clock(fake_cloud: FakeCloud) -> list[float]:
    """The fake cloud's clock, moved by hand: what its servers' CPU times grow with."""
    now = [1000.0]
    fake_cloud.state.clock = lambda: now[0]
    fake_cloud.state.build_seconds = 0
    return now


def _cpu_seconds(driver: OpenStackDriver, server_ids: list[str]) -> dict[str, float]:
    return {server_id: reading.cpu_seconds for server_id, reading in driver.cpu_readings(server_ids).items()}


def _diagnostics_asked(fake_cloud: FakeCloud) -> int:
    return len(fake_cloud.requests_to("GET", "/compute/v2.1/servers/[^/]+/diagnostics"))


def test_cpu_seconds_are_each_servers_vcpu_times_from_its_diagnostics_per_vcpu(
    driver: OpenStackDriver, fake_cloud: FakeCloud, cloud_clock: list[float]
) -> None:
    one_vcpu = driver.launch(launch_request("i-1"))
    two_vcpus = driver.launch(launch_request("i-2", flavor="m1.medium"))
    fake_cloud.state.set_cpu_load(one_vcpu, 0.25)
    fake_cloud.state.set_cpu_load(two_vcpus, 0.5)
    cloud_clock[0] += 10

    # 0.25 of one vCPU for 10 s; half of two vCPUs for 10 s is 10 s of CPU, 5 per vCPU.
    assert _cpu_seconds(driver, [one_vcpu, two_vcpus]) == pytest.approx({one_vcpu: 2.5, two_vcpus: 5.0})
    assert _diagnostics_asked(fake_cloud) == 2


def test_each_server_is_read_at_the_time_of_its_own_request(fake_cloud: FakeCloud, cloud_clock: list[float]) -> None:
    ticks = iter(range(100))
    driver = OpenStackDriver(cloud="test", connect=fake_cloud.connection, clock=lambda: float(next(ticks)))
    servers = [driver.launch(launch_request(f"i-{number}")) for number in range(2)]
    readings = driver.cpu_readings(servers)
    # Each reading's time is the middle of its own request: a pass over many servers takes long.
    assert readings[servers[1]].time - readings[servers[0]].time == 2.0


def test_servers_nova_cannot_tell_the_cpu_of_are_left_out(driver: OpenStackDriver, fake_cloud: FakeCloud, cloud_clock: list[float]) -> None:
    running = driver.launch(launch_request("i-1"))
    building = driver.launch(launch_request("i-2"))
    fake_cloud.state.force_status(building, "BUILD")
    fake_cloud.state.set_cpu_load(running, 1.0)
    cloud_clock[0] += 4

    assert _cpu_seconds(driver, [building, "server-gone", running]) == pytest.approx({running: 4.0})


def test_no_server_to_measure_asks_the_cloud_nothing(fake_cloud: FakeCloud) -> None:
    def connect() -> Connection:
        raise AssertionError("connected with nothing to measure")

    assert OpenStackDriver(cloud="test", connect=connect).cpu_readings([]) == {}


def test_a_refused_diagnostics_ends_the_pass_and_is_logged_once_naming_the_policy_rule(
    driver: OpenStackDriver, fake_cloud: FakeCloud, cloud_clock: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    servers = [driver.launch(launch_request(f"i-{number}")) for number in range(3)]
    fake_cloud.state.diagnostics_allowed = False

    with caplog.at_level(logging.INFO, logger=openstack_driver_module.__name__):
        assert driver.cpu_readings(servers) == {}
        assert driver.cpu_readings(servers) == {}
        assert _diagnostics_asked(fake_cloud) == 2  # one a pass
        (warning,) = caplog.messages
        assert "os_compute_api:os-server-diagnostics" in warning and "(HTTP 403)" in warning
        fake_cloud.state.diagnostics_allowed = True
        assert set(driver.cpu_readings(servers)) == set(servers)

    assert caplog.messages[-1] == "Nova's servers' diagnostics are read again"


def test_a_cloud_that_stops_answering_ends_the_pass_and_is_logged_once(
    driver: OpenStackDriver, fake_cloud: FakeCloud, cloud_clock: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    servers = [driver.launch(launch_request(f"i-{number}")) for number in range(3)]
    asked = _diagnostics_asked(fake_cloud)
    fake_cloud.stop()

    with caplog.at_level(logging.WARNING, logger=openstack_driver_module.__name__):
        assert driver.cpu_readings(servers) == {}
        assert driver.cpu_readings(servers) == {}

    (warning,) = caplog.messages
    assert warning.startswith("cannot measure the CPU of Nova servers: ") and _diagnostics_asked(fake_cloud) == asked


def test_a_server_whose_diagnostics_fail_is_left_out_and_the_others_read(
    driver: OpenStackDriver, fake_cloud: FakeCloud, cloud_clock: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    servers = [driver.launch(launch_request(f"i-{number}")) for number in range(2)]
    fake_cloud.faults.fail_requests(500, method="GET", path=f"/servers/{servers[0]}/diagnostics$", count=None,
                                   message="Unexpected API Error.")

    with caplog.at_level(logging.WARNING, logger=openstack_driver_module.__name__):
        assert set(driver.cpu_readings(servers)) == {servers[1]}
        assert set(driver.cpu_readings(servers)) == {servers[1]}

    assert caplog.messages == ["Nova fails to give servers' diagnostics: Unexpected API Error. (HTTP 500)"]


def test_a_cloud_that_cannot_be_reached_measures_nothing_without_failing_the_pass(
    fake_cloud: FakeCloud, caplog: pytest.LogCaptureFixture
) -> None:
    def connect() -> Connection:
        raise openstack.exceptions.ConfigException("Cloud test was not found.")

    with caplog.at_level(logging.WARNING, logger=openstack_driver_module.__name__):
        assert OpenStackDriver(cloud="test", connect=connect).cpu_readings(["server-1"]) == {}

    assert "cannot measure the CPU of Nova servers" in caplog.text and "Cloud test was not found" in caplog.text


@pytest.mark.parametrize(
    ("cpu_details", "num_cpus", "expected"),
    [
        ([{"id": 0, "time": 3_000_000_000}, {"id": 1, "time": 1_000_000_000}], 2, 2.0),
        ([{"id": 0, "time": 4_000_000_000}], None, 4.0),  # no num_cpus: the vCPUs listed
        ([], 1, None),  # a hypervisor that gives no CPU details
        ([{"id": 0, "time": None, "utilisation": 12}], 1, None),  # utilisation only: no time to measure from
        ([{"id": 0, "time": -5}], 1, None),
        (None, 1, None),
    ],
)
def test_a_servers_cpu_seconds_per_vcpu_come_from_every_vcpus_time_or_not_at_all(
    cpu_details: Any, num_cpus: Any, expected: float | None
) -> None:
    assert openstack_driver_module._cpu_seconds_per_vcpu(cpu_details, num_cpus) == expected
