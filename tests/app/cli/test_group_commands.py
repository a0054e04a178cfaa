"""`autoscale launch-config ...` and `autoscale group ...` against a real in-process group service."""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.app.cli.cli_support import Invoke
from tests.fake_cloud import FakeCloud


def test_launch_config_create_list_show_delete_round_trip(invoke: Invoke) -> None:
    created = invoke("launch-config", "create", "worker", "--command", "python -m worker --fast", "--env", "MODE=fast")
    assert created.exit_code == 0, created.output
    assert "launchConfigs/worker" in created.stdout

    listed = invoke("launch-config", "list")
    assert listed.exit_code == 0
    assert "worker" in listed.stdout and "python -m worker --fast" in listed.stdout

    shown = json.loads(invoke("launch-config", "show", "worker", "--json").stdout)
    config = shown["launchConfig"]
    assert config["name"] == "launchConfigs/worker"
    assert config["process"] == {"command": ["python", "-m", "worker", "--fast"], "env": {"MODE": "fast"}}

    deleted = invoke("launch-config", "delete", "worker")
    assert deleted.exit_code == 0 and "deleted launchConfigs/worker" in deleted.stdout
    assert invoke("launch-config", "show", "worker").exit_code == 1


def test_launch_config_create_of_an_openstack_server_reads_user_data_from_a_file(cloud_invoke: Invoke, tmp_path) -> None:  # type: ignore[no-untyped-def]
    invoke = cloud_invoke
    user_data = tmp_path / "cloud-init.yaml"
    user_data.write_text("#cloud-config\nruncmd: [echo hi]\n")
    created = invoke(
        "launch-config", "create", "web", "--image", "ubuntu-24.04", "--flavor", "m1.small", "--network", "private",
        "--network", "public", "--security-group", "web", "--key-name", "deployer", "--metadata", "role=web",
        "--user-data-file", str(user_data), "--json",
    )
    assert created.exit_code == 0, created.output
    server = json.loads(created.stdout)["launchConfig"]["openstackServer"]
    assert server["networks"] == ["private", "public"]
    assert server["userData"] == "#cloud-config\nruncmd: [echo hi]\n"
    assert server["metadata"] == {"role": "web"}
    invoke("launch-config", "delete", "web")


def test_launch_config_create_of_an_openstack_server_with_nics_a_zone_a_server_group_and_a_boot_volume(
    cloud_invoke: Invoke, fake_cloud: FakeCloud
) -> None:
    invoke = cloud_invoke
    port = fake_cloud.state.add_port("public")
    created = invoke(
        "launch-config", "create", "db", "--image", "ubuntu-24.04", "--flavor", "m1.small", "--nic", "network=private,fixed-ip=10.0.0.5",
        "--nic", f"port={port}", "--availability-zone", "az-2", "--server-group", "web-anti", "--boot-volume-size", "40",
        "--config-drive", "--json",
    )
    assert created.exit_code == 0, created.output
    server = json.loads(created.stdout)["launchConfig"]["openstackServer"]
    assert server["nics"] == [{"network": "private", "fixedIp": "10.0.0.5", "port": ""}, {"network": "", "fixedIp": "", "port": port}]
    fields = ("availabilityZone", "serverGroup", "bootVolumeSizeGb", "configDrive")
    assert [server[field] for field in fields] == ["az-2", "web-anti", 40, True]
    shown = invoke("launch-config", "show", "db")
    assert f"network=private,fixed-ip=10.0.0.5, port={port}" in shown.stdout and "40 GiB, deleted with the server" in shown.stdout
    invoke("launch-config", "delete", "db")


def test_launch_config_create_of_what_the_cloud_lacks_is_refused_naming_it(cloud_invoke: Invoke) -> None:
    refused = cloud_invoke("launch-config", "create", "web", "--image", "ubuntu-99", "--flavor", "m1.small")

    assert refused.exit_code == 1
    assert "FAILED_PRECONDITION: launch_config.openstack_server.image: no image 'ubuntu-99' in the cloud" in refused.output


def test_launch_config_create_of_an_openstack_server_without_a_cloud_configured_is_refused_saying_so(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path  # type: ignore[no-untyped-def]
) -> None:
    for name in [name for name in os.environ if name.startswith("OS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "no-clouds.yaml"))

    refused = invoke("launch-config", "create", "web", "--image", "ubuntu-24.04", "--flavor", "m1.small")

    assert refused.exit_code == 1
    assert (
        "FAILED_PRECONDITION: launch_config.openstack_server: this deployment has no usable OpenStack cloud (--openstack-cloud, "
        "OS_CLOUD or the OS_* variables): cannot connect to the cloud '(default)': Auth plugin requires parameters which were not "
        "given: auth_url"
    ) in " ".join(refused.output.split())


def test_a_nic_that_is_neither_a_network_nor_a_port_is_a_usage_error(invoke: Invoke) -> None:
    refused = invoke("launch-config", "create", "db", "--image", "i", "--flavor", "f", "--nic", "net-id=private")

    assert refused.exit_code == 2 and "expected network=NAME_OR_ID[,fixed-ip=IP] or port=ID, got 'net-id=private'" in refused.output


def test_group_create_list_show_delete_round_trip(invoke: Invoke, launch_config: str) -> None:
    created = invoke("group", "create", "api", "--launch-config", launch_config, "--min", "0", "--max", "4",
                     "--cooldown", "90s", "--tag", "team=core")
    assert created.exit_code == 0, created.output
    assert "groups/api" in created.stdout and "1m30s" in created.stdout and "team=core" in created.stdout

    listed = invoke("group", "list")
    assert listed.exit_code == 0
    row = next(line for line in listed.stdout.splitlines() if line.startswith("api"))
    assert row.split()[:6] == ["api", launch_config, "0", "0", "4", "0"]

    shown = invoke("group", "show", "groups/api")
    assert shown.exit_code == 0 and "launchConfigs/sleeper" in shown.stdout

    assert invoke("group", "delete", "api").exit_code == 0
    assert "api" not in invoke("group", "list").stdout


def test_group_list_json_parses_and_holds_every_group_of_every_page(invoke: Invoke, launch_config: str) -> None:
    # More groups than one default page would hold is slow to make; a page size the server honours is not
    # a flag, so this proves the merged shape: one response, all items, no next page token.
    for group_id in ("a", "b", "c"):
        assert invoke("group", "create", group_id, "--launch-config", launch_config, "--min", "0", "--max", "1").exit_code == 0
    listed = json.loads(invoke("group", "list", "--json").stdout)
    assert [group["name"] for group in listed["groups"]] == ["groups/a", "groups/b", "groups/c"]
    assert listed["nextPageToken"] == ""
    assert listed["groups"][0]["minSize"] == 0  # zero values are printed, so scripts need no defaults
    for group_id in ("a", "b", "c"):
        invoke("group", "delete", group_id)


def test_group_update_changes_only_the_fields_given(invoke: Invoke, web_group: str) -> None:
    updated = invoke("group", "update", web_group, "--max", "7", "--cooldown", "0s", "--json")
    assert updated.exit_code == 0, updated.output
    group = json.loads(updated.stdout)["group"]
    assert group["maxSize"] == 7 and group["minSize"] == 0 and group["cooldown"] == "0s"
    assert group["launchConfig"] == "launchConfigs/sleeper"


def test_group_adjust_records_an_activity_listed_by_activities(invoke: Invoke, web_group: str) -> None:
    adjusted = invoke("group", "adjust", web_group, "--type", "exact", "--adjustment", "0", "--cause", "test", "--json")
    assert adjusted.exit_code == 0, adjusted.output
    response = json.loads(adjusted.stdout)
    assert response["previousCapacity"] == 0 and response["desiredCapacity"] == 0

    activities = invoke("group", "activities", web_group)
    assert activities.exit_code == 0
    assert "test" in activities.stdout

    instances = invoke("group", "instances", web_group)
    assert instances.exit_code == 0
    assert "no instances" in instances.stderr


def test_group_adjust_accepts_a_negative_change(invoke: Invoke, web_group: str) -> None:
    result = invoke("group", "adjust", web_group, "--type", "change", "--adjustment", "-1")
    assert result.exit_code == 0, result.output
    assert "previous capacity" in result.stdout


def test_invalid_argument_prints_the_code_and_each_field_violation_and_exits_1(invoke: Invoke, launch_config: str) -> None:
    result = invoke("group", "create", "Bad_Id", "--launch-config", launch_config, "--min", "3", "--max", "1")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: INVALID_ARGUMENT: ")
    assert any(line.startswith("  group_id: ") for line in lines[1:])
    assert "Traceback" not in result.output and result.stdout == ""


def test_not_found_exits_1(invoke: Invoke) -> None:
    result = invoke("group", "show", "nope")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: NOT_FOUND: ")


def test_deleting_a_launch_config_in_use_is_a_failed_precondition(invoke: Invoke, web_group: str, launch_config: str) -> None:
    result = invoke("launch-config", "delete", launch_config)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: FAILED_PRECONDITION: ")


def test_group_delete_refuses_a_group_that_policies_name_and_force_deletes_them_with_it(invoke: Invoke, launch_config: str) -> None:
    assert invoke("group", "create", "api", "--launch-config", launch_config, "--min", "0", "--max", "2").exit_code == 0
    assert invoke("policy", "create", "api-out", "--group", "api", "--type", "change", "--adjustment", "1").exit_code == 0

    refused = invoke("group", "delete", "api")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: FAILED_PRECONDITION: groups/api is used by 1 policy (policies/api-out); ")
    assert invoke("group", "show", "api").exit_code == 0

    forced = invoke("group", "delete", "api", "--force")
    assert forced.exit_code == 0, forced.output
    assert "deleted groups/api" in forced.stdout
    assert invoke("group", "show", "api").exit_code == 1
    assert invoke("policy", "show", "api-out").exit_code == 1


def test_launch_config_create_with_a_health_check_shows_it_spelled_out(cloud_invoke: Invoke) -> None:
    invoke = cloud_invoke
    created = invoke("launch-config", "create", "api", "--command", "python -m api", "--health-check-http", "/healthz",
                     "--health-check-interval", "20s", "--unhealthy-threshold", "2")
    assert created.exit_code == 0, created.output
    assert "HTTP GET /healthz on the instance's own port, every 20s, timeout 5s, unhealthy after 2 failures in a row" in created.stdout
    tcp = invoke("launch-config", "create", "vm", "--image", "ubuntu-24.04", "--flavor", "m1.small", "--health-check-tcp",
                 "--health-check-port", "22", "--json")
    assert json.loads(tcp.stdout)["launchConfig"]["healthCheck"]["tcp"] == {"port": 22}
    both = invoke("launch-config", "create", "x", "--command", "true", "--health-check-tcp", "--health-check-http", "/")
    assert both.exit_code == 2 and "give one health check" in both.output
    orphan = invoke("launch-config", "create", "x", "--command", "true", "--health-check-port", "80")
    assert orphan.exit_code == 2 and "need a check" in orphan.output
    no_port = invoke("launch-config", "create", "x", "--image", "cirros", "--flavor", "m1.tiny", "--health-check-tcp")
    assert no_port.exit_code == 1 and "launch_config.health_check.tcp.port" in no_port.output


def test_group_grace_period_is_set_shown_and_instances_list_their_health(invoke: Invoke, launch_config: str) -> None:
    created = invoke("group", "create", "api", "--launch-config", launch_config, "--min", "0", "--max", "2",
                     "--health-check-grace-period", "90s")
    assert created.exit_code == 0, created.output
    assert "health check grace period" in created.stdout and "1m30s" in created.stdout
    updated = invoke("group", "update", "api", "--health-check-grace-period", "0s", "--desired", "1", "--json")
    assert json.loads(updated.stdout)["group"]["healthCheckGracePeriod"] == "0s"
    deadline = time.monotonic() + 10
    while "healthy" not in (listed := invoke("group", "instances", "api")).stdout and time.monotonic() < deadline:
        time.sleep(0.1)
    header, row = listed.stdout.splitlines()[:2]
    assert header.split()[:5] == ["ID", "SERVER", "STATE", "HEALTH", "ADDRESS"]
    assert row.split()[2:4] == ["running", "healthy"] and row.split()[4].startswith("127.0.0.1:")
    invoke("group", "delete", "api")


def _wait_for_running(invoke: Invoke, group_id: str, count: int) -> list[str]:
    """The ids of the group's running instances once there are `count`."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = json.loads(invoke("group", "instances", group_id, "--json").stdout).get("instances", [])
        running = [row["name"].rsplit("/", 1)[1] for row in rows if row["state"] == "INSTANCE_STATE_RUNNING"]
        if len(running) == count:
            return running
        time.sleep(0.1)
    raise AssertionError(f"{group_id} never had {count} running instances")


def test_set_desired_standby_detach_and_attach_from_the_command_line(invoke: Invoke, launch_config: str) -> None:
    assert invoke("group", "create", "api", "--launch-config", launch_config, "--min", "0", "--max", "3").exit_code == 0
    set_desired = invoke("group", "set-desired", "api", "2")
    assert set_desired.exit_code == 0 and "SetDesiredCapacity" in set_desired.stdout, set_desired.output
    first, second = _wait_for_running(invoke, "api", 2)
    standby = invoke("group", "enter-standby", "api", first, "--decrement")
    assert standby.exit_code == 0 and f"EnterStandby groups/api/instances/{first}, desired capacity decremented" in standby.stdout
    assert invoke("group", "exit-standby", "api", first).exit_code == 0
    detached = invoke("group", "detach", "api", second, "--decrement", "--json")
    server_id = json.loads(detached.stdout)["instances"][0]["serverId"]
    attached = invoke("group", "attach", "api", server_id)
    assert attached.exit_code == 0 and f"AttachInstances {server_id}" in attached.stdout, attached.output
    unhealthy = invoke("group", "set-health", "api", first, "unhealthy", "--reason", "stuck")
    assert unhealthy.exit_code == 0 and "unhealthy (stuck)" in unhealthy.stdout
    out_of_range = invoke("group", "set-desired", "api", "9")
    assert out_of_range.exit_code == 1 and "outside the size range" in out_of_range.output
    invoke("group", "delete", "api")


def test_lifecycle_hooks_are_created_listed_and_deleted_from_the_command_line(invoke: Invoke, web_group: str) -> None:
    created = invoke("lifecycle-hook", "create", web_group, "drain", "--transition", "terminating", "--heartbeat-timeout", "2m",
                     "--default-result", "continue", "--metadata", "queue=jobs")
    assert created.exit_code == 0, created.output
    assert "groups/web/lifecycleHooks/drain" in created.stdout and "2m" in created.stdout and "continue" in created.stdout
    listed = invoke("lifecycle-hook", "list", web_group)
    assert listed.stdout.splitlines()[1].split() == ["drain", "terminating", "2m", "continue", "queue=jobs"]
    not_waiting = invoke("lifecycle-hook", "heartbeat", web_group, "drain", "i-000000000000")
    assert not_waiting.exit_code == 1 and "NOT_FOUND" in not_waiting.output
    assert invoke("lifecycle-hook", "delete", web_group, "drain").exit_code == 0
    assert "no lifecycle hooks" in invoke("lifecycle-hook", "list", web_group).output


def test_group_pools_are_set_replaced_and_cleared_from_the_command_line(invoke: Invoke, web_group: str) -> None:
    added = invoke("group", "update", web_group, "--pool-file", "front", "--pool-port", "8080", "--json")
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["group"]["loadBalancerPools"] == [{"poolFile": "front", "port": 8080, "drainDelay": "30s"}]
    orphan = invoke("group", "update", web_group, "--drain-delay", "5s")
    assert orphan.exit_code == 2 and "apply to the pools given with them" in orphan.output
    cleared = invoke("group", "update", web_group, "--no-pools", "--json")
    assert json.loads(cleared.stdout)["group"].get("loadBalancerPools", []) == []


def test_group_processes_are_suspended_and_resumed_from_the_command_line(invoke: Invoke, web_group: str) -> None:
    suspended = invoke("group", "suspend", web_group, "launch", "alarm-notification")
    assert suspended.exit_code == 0, suspended.output
    assert "suspended processes" in suspended.stdout and "launch, alarm-notification" in suspended.stdout
    everything = invoke("group", "suspend", web_group, "--json")
    assert len(json.loads(everything.stdout)["group"]["suspendedProcesses"]) == 8
    resumed = invoke("group", "resume", web_group, "--json")
    assert json.loads(resumed.stdout)["group"].get("suspendedProcesses", []) == []
    unknown = invoke("group", "suspend", web_group, "az-rebalance")
    assert unknown.exit_code == 2
