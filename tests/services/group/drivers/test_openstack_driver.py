"""The OpenStack driver against a small fake of openstacksdk's connection (no cloud is reachable in tests), alone and under the
reconcile loop."""

from __future__ import annotations

import base64
import re
from types import SimpleNamespace
from typing import Any

import pytest
from keystoneauth1 import exceptions as keystone_exceptions
from openstack import exceptions as sdk_exceptions

from autoscale.database import Database
from services.group import capacity
from services.group.backoff import BASE_DELAY
from services.group.domain import OPENSTACK_SERVER, Group, InstanceState, LaunchConfig
from services.group.drivers import openstack as openstack_driver_module
from services.group.drivers.base import DriverError, FoundServer, LaunchRequest, OpenStackServerSpec, ServerStatus
from services.group.drivers.openstack import OpenStackDriver
from services.group.reconciler import Reconciler
from services.group.repository import GroupRepositories
from services.group.server import MIGRATIONS_DIR


class FakeProxy:
    """One service proxy (compute, image, network): named resources, recorded calls, injectable errors."""

    def __init__(self, kind: str, resources: dict[str, str]) -> None:
        self.kind = kind
        self.resources = resources
        """Name -> id of what find_* resolves."""
        self.existing: dict[str, SimpleNamespace] = {}
        """Server id -> the servers that exist (what get_server and servers answer)."""
        self.calls: list[tuple[str, Any]] = []
        self.errors: dict[str, Exception] = {}
        """Method name -> the exception it raises."""
        self.lost_replies = 0
        """How many of the next create_server calls make their server and then fail, as if the reply was lost."""
        self._next_server = 1

    def _call(self, method: str, argument: Any) -> None:
        self.calls.append((method, argument))
        if method in self.errors:
            raise self.errors[method]

    def _find(self, method: str, name_or_id: str, ignore_missing: bool) -> SimpleNamespace:
        self._call(method, (name_or_id, ignore_missing))
        if name_or_id not in self.resources:
            raise sdk_exceptions.ResourceNotFound(f"No {self.kind} found for {name_or_id}")
        return SimpleNamespace(id=self.resources[name_or_id])

    def find_flavor(self, name_or_id: str, ignore_missing: bool = True) -> SimpleNamespace:
        return self._find("find_flavor", name_or_id, ignore_missing)

    def find_image(self, name_or_id: str, ignore_missing: bool = True) -> SimpleNamespace:
        return self._find("find_image", name_or_id, ignore_missing)

    def find_network(self, name_or_id: str, ignore_missing: bool = True) -> SimpleNamespace:
        return self._find("find_network", name_or_id, ignore_missing)

    def create_server(self, **attributes: Any) -> SimpleNamespace:
        self._call("create_server", attributes)
        server = SimpleNamespace(
            id=f"server-{self._next_server}", status="BUILD", name=attributes["name"], metadata=attributes["metadata"], fault=None
        )
        self._next_server += 1
        self.existing[server.id] = server
        if self.lost_replies:
            self.lost_replies -= 1
            raise sdk_exceptions.HttpException(message="Gateway Timeout")
        return server

    def servers(self, details: bool = True, **query: Any) -> list[SimpleNamespace]:
        self._call("servers", query)
        # NOTE: Nova reads the name filter as a regular expression.
        return [server for server in self.existing.values() if re.search(query.get("name", ""), server.name)]

    def get_server(self, server_id: str) -> SimpleNamespace:
        self._call("get_server", server_id)
        if server_id not in self.existing:
            raise sdk_exceptions.NotFoundException(f"No Server found for {server_id}")
        return self.existing[server_id]

    def delete_server(self, server_id: str, ignore_missing: bool = True) -> None:
        self._call("delete_server", (server_id, ignore_missing))
        self.existing.pop(server_id, None)


class FakeConnection:
    """What the driver uses of openstack.connection.Connection."""

    def __init__(self) -> None:
        self.compute = FakeProxy("Flavor", {"m1.small": "flavor-1", "flavor-1": "flavor-1"})
        self.image = FakeProxy("Image", {"ubuntu-24.04": "image-1"})
        self.network = FakeProxy("Network", {"private": "net-1", "public": "net-2"})


@pytest.fixture
def connection() -> FakeConnection:
    return FakeConnection()


@pytest.fixture
def driver(connection: FakeConnection) -> OpenStackDriver:
    return OpenStackDriver(cloud="test", connect=lambda: connection)


def launch_request(**spec_fields: Any) -> LaunchRequest:
    spec = OpenStackServerSpec(**{"image": "ubuntu-24.04", "flavor": "m1.small", **spec_fields})
    return LaunchRequest(project="p1", group_id="web", instance_id="i-7", metrics_addr="10.0.0.1:50051", openstack_server=spec)


def created_attributes(connection: FakeConnection) -> dict[str, Any]:
    (attributes,) = [argument for method, argument in connection.compute.calls if method == "create_server"]
    return attributes


def test_launch_boots_a_server_with_names_resolved_to_ids_and_the_autoscale_metadata(
    driver: OpenStackDriver, connection: FakeConnection
) -> None:
    server_id = driver.launch(
        launch_request(
            key_name="deployer",
            networks=["private", "public"],
            security_groups=["default", "web"],
            metadata={"role": "frontend", "autoscale_group": "forged", "autoscale_project": "forged"},
        )
    )

    assert server_id == "server-1"
    attributes = created_attributes(connection)
    attributes.pop("user_data", None)
    assert attributes == {
        "name": "web-i-7",
        "image_id": "image-1",
        "flavor_id": "flavor-1",
        "networks": [{"uuid": "net-1"}, {"uuid": "net-2"}],
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
    assert ("find_flavor", ("m1.small", False)) in connection.compute.calls
    assert ("find_image", ("ubuntu-24.04", False)) in connection.image.calls


def test_launch_sends_user_data_base64_encoded(driver: OpenStackDriver, connection: FakeConnection) -> None:
    user_data = "#cloud-config\nruncmd:\n  - echo héllo\n"

    driver.launch(launch_request(user_data=user_data))

    assert base64.b64decode(created_attributes(connection)["user_data"]).decode() == user_data


def test_launch_leaves_out_what_the_spec_leaves_empty_and_lets_nova_pick_the_network(
    driver: OpenStackDriver, connection: FakeConnection
) -> None:
    driver.launch(launch_request())

    attributes = created_attributes(connection)
    assert attributes["networks"] == "auto"
    assert not {"key_name", "security_groups", "user_data"} & attributes.keys()


@pytest.mark.parametrize(
    ("spec_fields", "message"),
    [
        ({"flavor": "m9.huge"}, "cannot find the flavor 'm9.huge': No Flavor found for m9.huge"),
        ({"image": "windows"}, "cannot find the image 'windows': No Image found for windows"),
        ({"networks": ["dmz"]}, "cannot find the network 'dmz': No Network found for dmz"),
    ],
)
def test_launch_with_an_unknown_name_is_a_driver_error_naming_it(
    driver: OpenStackDriver, connection: FakeConnection, spec_fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(DriverError, match=f"^{message}$"):
        driver.launch(launch_request(**spec_fields))

    assert not [call for call in connection.compute.calls if call[0] == "create_server"]


def test_a_cloud_error_on_create_is_a_driver_error_with_the_clouds_message(driver: OpenStackDriver, connection: FakeConnection) -> None:
    connection.compute.errors["create_server"] = sdk_exceptions.HttpException(message="Quota exceeded for instances")

    with pytest.raises(DriverError, match="^cannot create the server 'web-i-7': Quota exceeded for instances$"):
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
def test_state_maps_the_nova_status(driver: OpenStackDriver, connection: FakeConnection, nova_status: str, status: ServerStatus) -> None:
    connection.compute.existing["server-1"] = SimpleNamespace(id="server-1", status=nova_status, fault=None)

    assert driver.state("server-1").status is status


def test_a_server_in_error_reports_its_fault_message(driver: OpenStackDriver, connection: FakeConnection) -> None:
    fault = {"code": 500, "message": "No valid host was found. There are not enough hosts available."}
    connection.compute.existing["server-1"] = SimpleNamespace(id="server-1", status="ERROR", fault=fault)

    state = driver.state("server-1")

    assert state.status is ServerStatus.FAILED
    assert state.reason == "No valid host was found. There are not enough hosts available."


def test_a_server_the_cloud_does_not_know_is_gone(driver: OpenStackDriver) -> None:
    assert driver.state("server-404").status is ServerStatus.GONE


@pytest.mark.parametrize(
    "error",
    [
        sdk_exceptions.HttpException(message="Service Unavailable"),
        sdk_exceptions.SDKException("Service Unavailable"),
        keystone_exceptions.ConnectFailure("Service Unavailable"),
    ],
)
def test_other_cloud_errors_of_state_are_driver_errors(driver: OpenStackDriver, connection: FakeConnection, error: Exception) -> None:
    connection.compute.errors["get_server"] = error

    with pytest.raises(DriverError, match="^cannot get the server 'server-1': Service Unavailable$"):
        driver.state("server-1")


def test_terminate_deletes_the_server_ignoring_one_that_is_gone(driver: OpenStackDriver, connection: FakeConnection) -> None:
    driver.terminate("server-1")

    assert connection.compute.calls == [("delete_server", ("server-1", True))]


def test_a_cloud_error_on_terminate_is_a_driver_error(driver: OpenStackDriver, connection: FakeConnection) -> None:
    connection.compute.errors["delete_server"] = keystone_exceptions.Unauthorized("The request you have made requires authentication.")

    with pytest.raises(DriverError, match="^cannot delete the server 'server-1': The request you have made requires authentication"):
        driver.terminate("server-1")


def test_the_connection_is_made_once_on_first_use() -> None:
    connects: list[FakeConnection] = []

    def connect() -> FakeConnection:
        connects.append(FakeConnection())
        return connects[-1]

    driver = OpenStackDriver(cloud="test", connect=connect)
    assert connects == []

    driver.terminate("server-1")
    driver.terminate("server-2")

    assert len(connects) == 1


def test_a_failed_connection_is_a_driver_error_and_is_tried_again_on_the_next_call(connection: FakeConnection) -> None:
    attempts: list[int] = []

    def connect() -> FakeConnection:
        attempts.append(1)
        if len(attempts) == 1:
            raise sdk_exceptions.ConfigException("Cloud nowhere was not found.")
        return connection

    driver = OpenStackDriver(cloud="nowhere", connect=connect)

    with pytest.raises(DriverError, match="^cannot connect to the cloud 'nowhere': Cloud nowhere was not found.$"):
        driver.terminate("server-1")
    driver.terminate("server-1")

    assert len(attempts) == 2


def test_building_the_driver_with_no_cloud_configured_does_not_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    connects: list[object] = []
    monkeypatch.setattr(openstack_driver_module.openstack, "connect", lambda **options: connects.append(options))
    OpenStackDriver()
    assert connects == []


def _nova_server(server_id: str, name: str, status: str = "ACTIVE", **metadata: str) -> SimpleNamespace:
    return SimpleNamespace(id=server_id, name=name, status=status, metadata=metadata, fault=None)


def test_find_servers_lists_the_groups_servers_by_name_and_keeps_those_whose_metadata_names_the_project_and_group(
    driver: OpenStackDriver, connection: FakeConnection
) -> None:
    for server in (
        _nova_server("s-1", "web-i-1", autoscale_project="p1", autoscale_group="web", autoscale_instance="i-1"),
        _nova_server("s-2", "web-i-i-2", autoscale_project="p1", autoscale_group="web-i", autoscale_instance="i-2"),  # another group's
        _nova_server("s-3", "web-manual"),  # made by hand
        _nova_server("s-4", "web-i-4", "DELETED", autoscale_project="p1", autoscale_group="web", autoscale_instance="i-4"),
        _nova_server("s-5", "api-i-5", autoscale_project="p1", autoscale_group="api", autoscale_instance="i-5"),
        _nova_server("s-6", "web-i-6", autoscale_project="p2", autoscale_group="web", autoscale_instance="i-6"),  # another project's
        _nova_server("s-7", "web-i-7", autoscale_group="web", autoscale_instance="i-7"),  # no project
    ):
        connection.compute.existing[server.id] = server

    assert driver.find_servers("p1", "web") == [FoundServer("i-1", "s-1")]
    assert driver.find_servers("p2", "web") == [FoundServer("i-6", "s-6")]
    assert ("servers", {"name": "^web-"}) in connection.compute.calls


def test_a_cloud_error_listing_servers_is_a_driver_error(driver: OpenStackDriver, connection: FakeConnection) -> None:
    connection.compute.errors["servers"] = sdk_exceptions.HttpException(message="Service Unavailable")

    with pytest.raises(DriverError, match="^cannot list the servers of the group 'web': Service Unavailable$"):
        driver.find_servers("p1", "web")


def test_after_a_lost_create_reply_the_reconcile_loop_adopts_the_server_and_leaves_exactly_the_desired_servers(
    sqlite_url: str, driver: OpenStackDriver, connection: FakeConnection
) -> None:
    database = Database(sqlite_url)
    database.migrate(MIGRATIONS_DIR, "group")
    try:
        repositories = GroupRepositories(database)
        repository = repositories.of("default")
        repository.create_launch_config(LaunchConfig("vm", openstack_server=OpenStackServerSpec(image="ubuntu-24.04", flavor="m1.small")))
        group = Group(id="web", launch_config_id="vm", min_size=0, max_size=5, desired_capacity=2)
        repository.create_group(group, capacity.creation_activity("a-0", group, 1.0))
        # Leaked before (Nova made it, the reply was lost, and the instance was forgotten): nobody records it.
        connection.compute.existing["leaked"] = _nova_server(
            "leaked", "web-i-old", autoscale_project="default", autoscale_group="web", autoscale_instance="i-old"
        )
        now = [1000.0]
        reconciler = Reconciler(repositories, {OPENSTACK_SERVER: driver}, lambda: now[0], "10.0.0.1:50051")

        connection.compute.lost_replies = 1
        reconciler.reconcile_group("default", "web")  # the first create's reply is lost: this pass launches no more
        (lost,) = repository.list_instances("web", None, 10)
        assert (lost.state, lost.server_id) == (InstanceState.FAILED, "")
        assert set(connection.compute.existing) == {"server-1"}, "the leaked server is deleted on the first pass"
        now[0] += BASE_DELAY  # the failed launch's backoff
        reconciler.reconcile_group("default", "web")  # adopts server-1 and launches the second
        for server in connection.compute.existing.values():
            server.status = "ACTIVE"
        reconciler.reconcile_group("default", "web")

        instances = repository.list_instances("web", None, 10)
        assert sorted(i.server_id for i in instances) == sorted(connection.compute.existing) == ["server-1", "server-2"]
        assert [i.state for i in instances] == [InstanceState.RUNNING] * 2 and lost.id in {i.id for i in instances}
    finally:
        database.dispose()
