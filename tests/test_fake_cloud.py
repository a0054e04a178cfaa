"""The `fake_cloud` fixture serves what the real openstacksdk asks of Keystone, Nova, Glance, Neutron and Octavia, and
its injected faults reach the SDK as a real cloud's would."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import openstack
import pytest
from keystoneauth1 import exceptions as keystone_exceptions
from openstack import exceptions as sdk_exceptions
from openstack.connection import Connection

from tests.fake_cloud import GATEWAY_TIMEOUT, NO_VALID_HOST, FakeCloud


@pytest.fixture
def conn(fake_cloud: FakeCloud) -> Connection:
    return fake_cloud.connection()


def _boot(conn: Connection, fake_cloud: FakeCloud, name: str = "web-i-1", **attributes: Any) -> Any:
    image = fake_cloud.state.id_of("image", "ubuntu-24.04")
    return conn.compute.create_server(**{"name": name, "image_id": image, "flavor_id": "2", "networks": "auto", **attributes})


def _await_status(conn: Connection, server_id: str, status: str, timeout: float = 2.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        server = conn.compute.get_server(server_id)
        if server.status == status or time.monotonic() > deadline:
            return server
        time.sleep(0.02)


def test_the_sdk_finds_flavors_images_and_networks_by_name_and_by_id(conn: Connection, fake_cloud: FakeCloud) -> None:
    image_id, network_id = fake_cloud.state.id_of("image", "ubuntu-24.04"), fake_cloud.state.id_of("network", "private")

    assert conn.compute.find_flavor("m1.small", ignore_missing=False).id == "2"
    assert conn.compute.find_flavor("2", ignore_missing=False).name == "m1.small"
    assert conn.image.find_image("ubuntu-24.04", ignore_missing=False).id == image_id
    assert conn.image.find_image(image_id, ignore_missing=False).name == "ubuntu-24.04"
    assert conn.network.find_network("private", ignore_missing=False).id == network_id
    assert conn.network.find_network(network_id, ignore_missing=False).name == "private"
    assert conn.network.find_security_group("web", ignore_missing=False).name == "web"
    assert conn.compute.find_keypair("deployer", ignore_missing=False).name == "deployer"
    assert conn.compute.find_server_group("web-anti", ignore_missing=False).policy == "anti-affinity"
    assert [zone.name for zone in conn.compute.availability_zones()] == ["nova", "az-2"]
    with pytest.raises(sdk_exceptions.NotFoundException):
        conn.compute.find_flavor("m9.huge", ignore_missing=False)
    with pytest.raises(sdk_exceptions.NotFoundException):
        conn.image.find_image("windows", ignore_missing=False)


def test_a_clouds_yaml_entry_reaches_the_cloud(fake_cloud: FakeCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(fake_cloud.clouds_yaml(tmp_path / "clouds.yaml", cloud="fake")))

    assert openstack.connect(cloud="fake").compute.find_flavor("m1.tiny", ignore_missing=False).id == "1"


def test_a_wrong_password_is_refused_by_keystone(fake_cloud: FakeCloud) -> None:
    with pytest.raises(keystone_exceptions.Unauthorized, match="requires authentication"):
        fake_cloud.connection(password="wrong").compute.find_flavor("m1.small")


def test_a_server_is_in_build_then_active_with_an_address_on_its_network_and_its_metadata(conn: Connection, fake_cloud: FakeCloud) -> None:
    fake_cloud.state.build_seconds = 0.2
    created = _boot(conn, fake_cloud, networks=[{"uuid": fake_cloud.state.id_of("network", "public")}], metadata={"role": "web"})

    assert conn.compute.get_server(created.id).status == "BUILD"
    server = _await_status(conn, created.id, "ACTIVE")
    assert server.status == "ACTIVE" and server.metadata == {"role": "web"}
    assert [address["addr"].rsplit(".", 1)[0] for address in server.addresses["public"]] == ["172.24.4"]
    assert server.flavor.name == "m1.small"


def test_servers_are_listed_by_a_name_regular_expression(conn: Connection, fake_cloud: FakeCloud) -> None:
    for name in ("web-i-1", "web-i-2", "api-i-1"):
        _boot(conn, fake_cloud, name)

    assert sorted(server.name for server in conn.compute.servers(details=True, name="^web-")) == ["web-i-1", "web-i-2"]
    assert len(list(conn.compute.servers())) == 3


def test_a_deleted_server_is_gone_with_the_port_nova_made_and_a_given_port_is_unbound(conn: Connection, fake_cloud: FakeCloud) -> None:
    given = fake_cloud.state.add_port("private", fixed_ip="10.0.0.50")
    server = _boot(conn, fake_cloud, networks=[{"port": given}, {"uuid": fake_cloud.state.id_of("network", "public")}])
    assert {port.device_id for port in conn.network.ports()} == {server.id}

    conn.compute.delete_server(server.id)

    with pytest.raises(sdk_exceptions.NotFoundException, match=f"Instance {server.id} could not be found"):
        conn.compute.get_server(server.id)
    assert [(port.id, port.device_id) for port in conn.network.ports()] == [(given, "")]
    conn.compute.delete_server(server.id, ignore_missing=True)


def test_a_slow_delete_keeps_the_server_listed_as_deleting_until_it_is_gone(conn: Connection, fake_cloud: FakeCloud) -> None:
    server = _await_status(conn, _boot(conn, fake_cloud).id, "ACTIVE")
    fake_cloud.faults.slow_deletes(0.3)

    conn.compute.delete_server(server.id)

    deleting = conn.compute.get_server(server.id)
    assert (deleting.status, deleting.task_state) == ("ACTIVE", "deleting")
    assert [listed.id for listed in conn.compute.servers(name="^web-")] == [server.id]
    time.sleep(0.35)
    assert list(conn.compute.servers(name="^web-")) == []


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"image_id": "no-such-image"}, "Image no-such-image could not be found."),
        ({"flavor_id": "42"}, "Flavor 42 could not be found."),
        ({"networks": [{"uuid": "no-such-net"}]}, "Network no-such-net could not be found."),
        ({"networks": [{"port": "no-such-port"}]}, "Port id no-such-port could not be found."),
        ({"security_groups": [{"name": "dmz"}]}, "Security group dmz not found."),
        ({"key_name": "nobody"}, "Invalid key_name provided."),
        ({"availability_zone": "mars"}, "The requested availability zone is not available"),
        ({"scheduler_hints": {"group": "no-such-group"}}, "Instance group no-such-group could not be found."),
        ({"user_data": "not base64!"}, "User data needs to be valid base 64."),
    ],
)
def test_a_create_nova_would_refuse_is_a_bad_request_with_novas_message(
    conn: Connection, fake_cloud: FakeCloud, attributes: dict[str, Any], message: str
) -> None:
    with pytest.raises(sdk_exceptions.BadRequestException) as refused:
        _boot(conn, fake_cloud, **attributes)

    assert refused.value.details == message
    assert fake_cloud.servers() == []


def test_every_option_of_a_boot_reaches_nova(conn: Connection, fake_cloud: FakeCloud) -> None:
    state = fake_cloud.state
    server_group = state.id_of("server_group", "web-anti")
    created = _boot(
        conn,
        fake_cloud,
        image_id=None,
        block_device_mapping=[
            {
                "boot_index": 0,
                "uuid": state.id_of("image", "cirros"),
                "source_type": "image",
                "destination_type": "volume",
                "volume_size": 10,
                "delete_on_termination": True,
            }
        ],
        networks=[{"uuid": state.id_of("network", "private"), "fixed_ip": "10.0.0.77"}],
        security_groups=[{"name": "web"}],
        key_name="deployer",
        user_data=base64.b64encode(b"#cloud-config\n").decode(),
        availability_zone="az-2",
        config_drive=True,
        scheduler_hints={"group": server_group},
    )

    server = conn.compute.get_server(created.id)
    assert server.addresses["private"][0]["addr"] == "10.0.0.77"
    assert (server.availability_zone, server.key_name, server.has_config_drive, server.image) == ("az-2", "deployer", "True", {})
    assert [volume["delete_on_termination"] for volume in server.attached_volumes] == [True]
    assert conn.compute.get_server_group(server_group).member_ids == [created.id]
    (stored,) = fake_cloud.servers()
    assert (stored.volumes[0].size, stored.security_groups) == (10, ["web"])


def test_past_the_instance_quota_a_create_is_forbidden_with_novas_message(conn: Connection, fake_cloud: FakeCloud) -> None:
    fake_cloud.state.instance_quota = 1
    _boot(conn, fake_cloud)

    with pytest.raises(sdk_exceptions.ForbiddenException) as refused:
        _boot(conn, fake_cloud, "web-i-2")

    assert refused.value.details == "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances"
    assert len(fake_cloud.servers()) == 1 and fake_cloud.state.server_creates == 2


def test_a_quota_fault_refuses_the_next_create_only(conn: Connection, fake_cloud: FakeCloud) -> None:
    fake_cloud.faults.quota_exceeded(count=1)

    with pytest.raises(sdk_exceptions.ForbiddenException, match="Quota exceeded for instances"):
        _boot(conn, fake_cloud)
    _boot(conn, fake_cloud)


def test_a_boot_error_ends_the_server_in_error_with_no_valid_host_as_its_fault(conn: Connection, fake_cloud: FakeCloud) -> None:
    fake_cloud.faults.boot_errors(count=1)

    failed = _await_status(conn, _boot(conn, fake_cloud).id, "ERROR")
    active = _await_status(conn, _boot(conn, fake_cloud, "web-i-2").id, "ACTIVE")

    assert (failed.status, failed.fault["message"]) == ("ERROR", NO_VALID_HOST)
    assert active.status == "ACTIVE"


def test_a_server_planned_to_build_forever_stays_in_build(conn: Connection, fake_cloud: FakeCloud) -> None:
    fake_cloud.faults.build_forever(count=1)

    assert _await_status(conn, _boot(conn, fake_cloud).id, "ACTIVE", timeout=0.2).status == "BUILD"


def test_an_injected_500_answers_the_requests_it_names_as_many_times_as_planned(conn: Connection, fake_cloud: FakeCloud) -> None:
    fake_cloud.faults.fail_requests(500, method="GET", path="/servers/detail$", count=2, message="Unexpected API Error.")

    for _ in range(2):
        with pytest.raises(sdk_exceptions.HttpException, match="Unexpected API Error.") as failed:
            list(conn.compute.servers(details=True))
        assert failed.value.status_code == 500
    assert list(conn.compute.servers(details=True)) == []


def test_rates_of_faults_draw_the_same_requests_for_the_same_seed(fake_cloud: FakeCloud) -> None:
    def failures() -> list[bool]:
        fake_cloud.faults.clear()
        fake_cloud.faults.seed(7)
        fake_cloud.faults.fail_requests(503, count=None, rate=0.5)
        return [fake_cloud.faults.http_fault("GET", "/compute/v2.1/servers") is not None for _ in range(20)]

    first = failures()
    assert first == failures() and 0 < sum(first) < 20


def test_a_create_whose_connection_is_closed_fails_in_the_sdk_after_the_server_was_made(conn: Connection, fake_cloud: FakeCloud) -> None:
    fake_cloud.faults.lose_responses(count=1)

    with pytest.raises(keystone_exceptions.ConnectFailure, match="Remote end closed connection without response"):
        _boot(conn, fake_cloud)

    assert [server.name for server in fake_cloud.servers()] == ["web-i-1"]
    assert fake_cloud.state.server_creates == 1, "the SDK does not send the create again"


def test_a_create_answered_504_by_a_proxy_fails_in_the_sdk_after_the_server_was_made(conn: Connection, fake_cloud: FakeCloud) -> None:
    fake_cloud.faults.lose_responses(count=1, how=GATEWAY_TIMEOUT)

    with pytest.raises(sdk_exceptions.HttpException, match="504 Gateway Time-out") as failed:
        _boot(conn, fake_cloud)

    assert failed.value.status_code == 504
    assert [server.name for server in fake_cloud.servers()] == ["web-i-1"]


def test_members_of_a_load_balancers_pool_are_created_listed_updated_and_deleted(conn: Connection, fake_cloud: FakeCloud) -> None:
    load_balancer = conn.load_balancer.find_load_balancer("lb-web", ignore_missing=False)
    pool = conn.load_balancer.find_pool("pool-web", ignore_missing=False)
    assert conn.load_balancer.get_pool(pool.id).loadbalancers == [{"id": load_balancer.id}]

    member = conn.load_balancer.create_member(pool, address="10.0.0.11", protocol_port=8080, name="web-i-1")
    conn.load_balancer.update_member(member, pool, weight=5)

    (listed,) = conn.load_balancer.members(pool)
    assert (listed.name, listed.address, listed.protocol_port, listed.weight) == ("web-i-1", "10.0.0.11", 8080, 5)
    assert (listed.provisioning_status, listed.operating_status) == ("ACTIVE", "NO_MONITOR")
    conn.load_balancer.delete_member(member, pool)
    assert list(conn.load_balancer.members(pool)) == []
    with pytest.raises(sdk_exceptions.NotFoundException):
        conn.load_balancer.get_member(member.id, pool)


def test_a_create_answered_after_the_sdks_timeout_times_out_after_the_server_was_made(fake_cloud: FakeCloud) -> None:
    conn = fake_cloud.connection(api_timeout=0.2)
    conn.compute.find_flavor("m1.small")  # authenticated and discovered first
    fake_cloud.faults.slow_answers(0.5, method="POST", path="/servers$")

    with pytest.raises(keystone_exceptions.ConnectTimeout):
        _boot(conn, fake_cloud)

    assert [server.name for server in fake_cloud.servers()] == ["web-i-1"]
