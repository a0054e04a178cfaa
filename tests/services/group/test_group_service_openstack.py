"""GroupService with the real OpenStack driver, through openstacksdk, against the fake cloud of tests/fake_cloud: launch
configs checked against the cloud when they are made."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from autoscale.config import Settings
from autoscale.v1 import group_pb2, group_pb2_grpc
from services.group.drivers.openstack import OpenStackDriver
from services.group.server import make_build
from tests.fake_cloud import FakeCloud
from tests.services.group.fake_policy import FakePolicyService
from tests.support import running_server


@pytest.fixture
def stub(sqlite_url: str, fake_cloud: FakeCloud) -> Iterator[Any]:
    driver = OpenStackDriver(cloud="fake", connect=fake_cloud.connection)
    build = make_build(lambda settings: {"openstack_server": driver})
    settings = Settings(database_url=sqlite_url, reconcile_interval=0.05, metrics_addr="metrics.example:50051")
    with running_server([("group", build), ("policy", FakePolicyService().registration)], settings) as (_, channel):
        yield group_pb2_grpc.GroupServiceStub(channel)


def create_launch_config(stub: Any, launch_config_id: str = "vm", **server: Any) -> group_pb2.LaunchConfig:
    spec = group_pb2.OpenStackServerSpec(**{"image": "ubuntu-24.04", "flavor": "m1.small", **server})
    request = group_pb2.CreateLaunchConfigRequest(
        launch_config_id=launch_config_id, launch_config=group_pb2.LaunchConfig(openstack_server=spec)
    )
    return stub.CreateLaunchConfig(request, timeout=10).launch_config


def refusal(stub: Any, **server: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        create_launch_config(stub, **server)
    return raised.value


def test_a_launch_config_of_what_the_cloud_has_is_created(stub: Any, fake_cloud: FakeCloud) -> None:
    port = fake_cloud.state.add_port("public")

    created = create_launch_config(
        stub,
        key_name="deployer",
        networks=["private"],
        nics=[group_pb2.ServerNic(port=port)],
        security_groups=["web"],
        availability_zone="az-2",
        server_group="web-anti",
        boot_volume_size_gb=10,
        config_drive=True,
    )

    assert created.name == "launchConfigs/vm" and created.openstack_server.nics[0].port == port


def test_a_launch_config_naming_what_the_cloud_lacks_is_refused_naming_each_missing_thing(stub: Any, fake_cloud: FakeCloud) -> None:
    error = refusal(
        stub,
        image="ubuntu-99",
        flavor="m9.huge",
        key_name="nobody",
        networks=["private", "dmz"],
        nics=[group_pb2.ServerNic(port="no-such-port")],
        security_groups=["default", "db"],
        availability_zone="mars",
        server_group="db-anti",
    )

    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert error.details().split("; ") == [
        "launch_config.openstack_server.image: no image 'ubuntu-99' in the cloud",
        "launch_config.openstack_server.flavor: no flavor 'm9.huge' in the cloud",
        "launch_config.openstack_server.networks[1]: no network 'dmz' in the cloud",
        "launch_config.openstack_server.nics[0].port: no port 'no-such-port' in the cloud",
        "launch_config.openstack_server.security_groups[1]: no security group 'db' in the cloud",
        "launch_config.openstack_server.key_name: no key pair 'nobody' in the cloud",
        "launch_config.openstack_server.server_group: no server group 'db-anti' in the cloud",
        "launch_config.openstack_server.availability_zone: no available zone 'mars' in the cloud",
    ]
    assert list(stub.ListLaunchConfigs(group_pb2.ListLaunchConfigsRequest(), timeout=5).launch_configs) == []


def test_a_launch_config_whose_names_are_ambiguous_or_whose_port_or_volume_cannot_serve_is_refused(
    stub: Any, fake_cloud: FakeCloud
) -> None:
    fake_cloud.state.add_image("cirros")
    fake_cloud.state.add_image("windows", min_disk=40)
    port = fake_cloud.state.add_port("private")
    create_launch_config(stub, "taken", networks=[], nics=[group_pb2.ServerNic(port=port)])
    conn = fake_cloud.connection()
    server = conn.compute.create_server(
        name="other", image_id=fake_cloud.state.id_of("image", "windows"), flavor_id="1", networks=[{"port": port}]
    )

    errors = [
        refusal(stub, image="cirros").details(),
        refusal(stub, image="windows", boot_volume_size_gb=20).details(),
        refusal(stub, nics=[group_pb2.ServerNic(port=port)]).details(),
    ]

    assert errors == [
        "launch_config.openstack_server.image: more than one image is named 'cirros' in the cloud; give its id",
        "launch_config.openstack_server.boot_volume_size_gb: the image 'windows' needs a disk of 40 GiB at least",
        f"launch_config.openstack_server.nics[0].port: the port {port!r} is attached to {server.id!r}",
    ]


def test_a_launch_config_is_unavailable_while_the_cloud_cannot_be_reached(stub: Any, fake_cloud: FakeCloud) -> None:
    fake_cloud.stop()

    error = refusal(stub)

    assert error.code() is grpc.StatusCode.UNAVAILABLE
    assert re.match(
        r"launch_config\.openstack_server cannot be checked against the cloud: "
        r"cannot look up the image 'ubuntu-24\.04': .*Connection refused",
        error.details(),
    )


def test_a_launch_config_is_unavailable_while_the_cloud_fails(stub: Any, fake_cloud: FakeCloud) -> None:
    fake_cloud.faults.fail_requests(500, method="GET", path="/flavors", message="Unexpected API Error.")

    error = refusal(stub)

    assert error.code() is grpc.StatusCode.UNAVAILABLE
    assert error.details() == (
        "launch_config.openstack_server cannot be checked against the cloud: "
        "cannot look up the flavor 'm1.small': Unexpected API Error. (HTTP 500)"
    )


def test_a_launch_config_of_a_process_is_not_checked_against_the_cloud(sqlite_url: str, fake_cloud: FakeCloud) -> None:
    fake_cloud.stop()
    driver = OpenStackDriver(cloud="fake", connect=fake_cloud.connection)
    build = make_build(lambda settings: {"process": driver, "openstack_server": driver})
    with running_server([("group", build)], Settings(database_url=sqlite_url)) as (_, channel):
        stub = group_pb2_grpc.GroupServiceStub(channel)
        request = group_pb2.CreateLaunchConfigRequest(
            launch_config_id="worker", launch_config=group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=["sleep", "60"]))
        )

        assert stub.CreateLaunchConfig(request, timeout=5).launch_config.name == "launchConfigs/worker"
