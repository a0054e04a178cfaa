"""Field rules of launch configs, groups and adjustments, and UpdateGroup's semantics."""

from __future__ import annotations

import pytest
from google.protobuf import duration_pb2

from autoscale.v1 import group_pb2
from autoscale.validation import Violations, check_update_mask
from services.group.domain import ActivityStatus, AdjustmentType, Group, LaunchConfig
from services.group.drivers.base import OpenStackServerSpec, ProcessSpec, ServerNic
from services.group.rules import MAX_COOLDOWN, check_adjustment, check_cooldown, check_group_sizes, check_launch_config
from services.group.update import OUTPUT_ONLY_FIELDS, UPDATABLE_FIELDS, apply_update


def _fields(check, *args) -> list[str]:  # type: ignore[no-untyped-def]
    violations = Violations()
    check(violations, *args)
    return [v.field for v in violations.items]


@pytest.mark.parametrize(
    ("config", "fields"),
    [
        (LaunchConfig("lc", process=ProcessSpec(["sleep", "60"], {"A": "1"})), []),
        (LaunchConfig("lc", openstack_server=OpenStackServerSpec(image="cirros", flavor="m1.tiny")), []),
        (LaunchConfig("lc"), ["launch_config"]),
        (
            LaunchConfig("lc", process=ProcessSpec(["x"]), openstack_server=OpenStackServerSpec(image="i", flavor="f")),
            ["launch_config"],
        ),
        (LaunchConfig("lc", process=ProcessSpec([])), ["launch_config.process.command"]),
        (LaunchConfig("lc", process=ProcessSpec(["", "arg"])), ["launch_config.process.command[0]"]),
        (LaunchConfig("lc", process=ProcessSpec(["x"], {"": "1", "A=B": "2"})), ["launch_config.process.env"] * 2),
        (
            LaunchConfig("lc", openstack_server=OpenStackServerSpec(image="", flavor="")),
            ["launch_config.openstack_server.image", "launch_config.openstack_server.flavor"],
        ),
        (
            LaunchConfig("lc", openstack_server=OpenStackServerSpec(image="i" * 256, flavor="f", networks=["n"] * 65)),
            ["launch_config.openstack_server.image", "launch_config.openstack_server.networks"],
        ),
        (
            LaunchConfig("lc", openstack_server=OpenStackServerSpec(image="i", flavor="f", security_groups=["default", "s" * 256])),
            ["launch_config.openstack_server.security_groups[1]"],
        ),
        (LaunchConfig("lc", process=ProcessSpec(["x"] * 257)), ["launch_config.process.command"]),
        (LaunchConfig("lc", process=ProcessSpec(["x"], {f"V{n}": "1" for n in range(257)})), ["launch_config.process.env"]),
    ],
)
def test_launch_config_rules(config, fields):
    assert _fields(check_launch_config, config) == fields


def _group(min_size=0, max_size=3, desired=1, cooldown=None, tags=None) -> Group:  # type: ignore[no-untyped-def]
    return Group(
        id="web", launch_config_id="lc", min_size=min_size, max_size=max_size, desired_capacity=desired,
        cooldown=cooldown, tags=tags or {},
    )


@pytest.mark.parametrize(
    ("group", "fields"),
    [
        (_group(), []),
        (_group(0, 0, 0), []),
        (_group(-1, 3, 0), ["group.min_size"]),
        (_group(3, 1, 3), ["group.max_size"]),
        (_group(0, 10_001, 0), ["group.max_size"]),
        (_group(0, 2, 5), ["group.desired_capacity"]),
        (_group(2, 4, 1), ["group.desired_capacity"]),
        (_group(tags={"": "x"}), ["group.tags"]),
        (_group(-1, -2, 0, None, {"": ""}), ["group.min_size", "group.max_size", "group.tags"]),
    ],
)
def test_group_rules_collect_every_violation(group, fields):
    assert _fields(check_group_sizes, group) == fields


@pytest.mark.parametrize(
    ("cooldown", "fields"),
    [
        (None, []),
        (duration_pb2.Duration(), []),
        (duration_pb2.Duration(seconds=int(MAX_COOLDOWN)), []),
        (duration_pb2.Duration(seconds=-1), ["group.cooldown"]),
        (duration_pb2.Duration(seconds=int(MAX_COOLDOWN) + 1), ["group.cooldown"]),
        (duration_pb2.Duration(seconds=2**63 - 1), ["group.cooldown"]),
    ],
)
def test_a_set_cooldown_lies_between_0s_and_a_day(cooldown, fields):
    assert _fields(check_cooldown, group_pb2.Group(cooldown=cooldown)) == fields


@pytest.mark.parametrize(
    ("adjustment_type", "adjustment", "min_step", "fields"),
    [
        (AdjustmentType.EXACT_CAPACITY, 0, 0, []),
        (AdjustmentType.EXACT_CAPACITY, -1, 0, ["adjustment"]),
        (AdjustmentType.CHANGE_IN_CAPACITY, -1, 0, []),
        (AdjustmentType.PERCENT_CHANGE_IN_CAPACITY, -50, -1, ["min_adjustment_step"]),
    ],
)
def test_adjustment_rules(adjustment_type, adjustment, min_step, fields):
    assert _fields(check_adjustment, adjustment_type, adjustment, min_step) == fields


def test_an_empty_mask_names_every_updatable_field_and_unknown_paths_are_violations():
    violations = Violations()
    assert check_update_mask(violations, [], UPDATABLE_FIELDS, OUTPUT_ONLY_FIELDS) == {
        "launch_config", "min_size", "max_size", "desired_capacity", "cooldown", "tags", "termination_policies",
        "new_instances_protected_from_scale_in", "health_check_grace_period", "load_balancer_pools",
    }
    assert check_update_mask(violations, ["max_size", "current_capacity", "bogus"], UPDATABLE_FIELDS, OUTPUT_ONLY_FIELDS) == {"max_size"}
    assert [(v.field, "'bogus'" in v.description) for v in violations.items] == [("update_mask", True)]


@pytest.mark.parametrize(
    ("fields", "proposed", "desired_given", "expected_desired", "activity"),
    [
        ({"max_size"}, _group(max_size=1, desired=0), False, 1, None),  # 1 stays within [0, 1]
        ({"max_size"}, _group(max_size=0, desired=0), False, 0, (1, 0)),  # clamped down
        ({"min_size"}, _group(min_size=2, desired=0), False, 2, (1, 2)),  # clamped up
        ({"desired_capacity"}, _group(desired=3), True, 3, (1, 3)),
        ({"desired_capacity"}, _group(desired=3), False, 1, None),  # named but unset: kept
        ({"tags", "cooldown"}, _group(desired=3, cooldown=0.0, tags={"a": "b"}), True, 1, None),
    ],
)
def test_apply_update_clamps_desired_into_a_new_range_and_records_its_change(fields, proposed, desired_given, expected_desired, activity):
    current = _group()
    changed, recorded = apply_update(current, proposed, frozenset(fields), desired_given=desired_given, activity_id="a-1", now=5.0)
    assert changed.desired_capacity == expected_desired
    if activity is None:
        assert recorded is None
    else:
        assert recorded is not None
        assert (recorded.from_capacity, recorded.to_capacity, recorded.cause) == (*activity, "UpdateGroup")
        assert recorded.status is ActivityStatus.IN_PROGRESS
    if "cooldown" in fields:
        assert (changed.cooldown, changed.tags) == (0.0, {"a": "b"})


@pytest.mark.parametrize(
    ("spec_fields", "fields"),
    [
        (
            {
                "availability_zone": "az-2",
                "server_group": "web-anti",
                "nics": [ServerNic(network="private", fixed_ip="10.0.0.5"), ServerNic(port="p-1"), ServerNic("n", fixed_ip="fd00::5")],
                "boot_volume_size_gb": 20,
                "config_drive": True,
            },
            [],
        ),
        ({"availability_zone": "z" * 256, "server_group": "g" * 256}, ["availability_zone", "server_group"]),
        ({"networks": ["n"] * 60, "nics": [ServerNic(network="n")] * 5}, ["nics"]),
        ({"nics": [ServerNic(), ServerNic(network="n", port="p")]}, ["nics[0]", "nics[1]"]),
        ({"nics": [ServerNic(port="p", fixed_ip="10.0.0.5")]}, ["nics[0].fixed_ip"]),
        ({"nics": [ServerNic(network="n", fixed_ip="10.0.0.300")]}, ["nics[0].fixed_ip"]),
        ({"nics": [ServerNic(network="n" * 256)]}, ["nics[0].network"]),
        ({"boot_volume_size_gb": -1}, ["boot_volume_size_gb"]),
        ({"boot_volume_size_gb": 16_385}, ["boot_volume_size_gb"]),
    ],
)
def test_the_rules_of_a_servers_zone_nics_server_group_and_boot_volume(spec_fields, fields):  # type: ignore[no-untyped-def]
    config = LaunchConfig("lc", openstack_server=OpenStackServerSpec(image="i", flavor="f", **spec_fields))

    assert _fields(check_launch_config, config) == [f"launch_config.openstack_server.{field}" for field in fields]
