"""Field rules of launch configs, groups and adjustments.

Each check records every broken rule in a `Violations` under the request's field
path (e.g. `group.max_size`), so the caller learns all of them at once.

Limits (listed for users in README.md, under bad input), in characters unless said:
- `group.cooldown`: 0s to 86400s (a day); unset means 300 s.
- `group.max_size`: at most MAX_GROUP_SIZE.
- `group.tags`: at most 50, keys 1-128, values at most 256 (AWS's limits).
- `process.command`: 1 to 256 arguments, 32768 in all; `process.env`: at most 256 variables, names at most 255,
  values at most 32768, 32768 in all.
- `openstack_server`: `image`, `flavor`, `key_name` and each of at most 64 `networks` and `security_groups` at most
  255; `user_data` at most 49149 UTF-8 bytes (Nova's 65535 once base64-encoded); `metadata` at most 123 entries
  (Nova's 128 with the driver's four), keys and values at most 255; `availability_zone` and `server_group` at most 255;
  `nics` with `networks` at most 64, each a `network` or a `port` (at most 255), a `fixed_ip` an IP address and only on
  a network; `boot_volume_size_gb` 0 (no volume) to 16384.
- `health_check`: exactly one probe; a command of 1 to 64 arguments, 4096 in all; a port 0 to 65535 (required for a
  Nova server); an HTTP path "/..." of at most 1024 printable ASCII characters; interval 1s to 300s, timeout 1s to the
  interval, unhealthy_threshold 0 (3) to 10. `group.health_check_grace_period`: 0s to 86400s.
- Adjust `cause`: at most 1024 (MAX_CAUSE_LENGTH); `request_id`: at most 255; `trigger`: a policy name, an alarm name
  (or none), an `alarm_reason` of at most 4096, at most 1440 `datapoints`, every number finite.
- `scheduled_action`: a `recurrence` of 5 cron fields, at most 255; a `time_zone` of the IANA database, at most 64
  (only with a recurrence); `start_time` required without a recurrence; `start_time` and `end_time` in the future
  (when given), `end_time` after `start_time` and only with a recurrence; at least one of `min_size`, `max_size` and
  `desired_capacity`, each 0 to MAX_GROUP_SIZE, min_size <= desired_capacity <= max_size of those given; 125 a group.
"""

from __future__ import annotations

import ipaddress

from autoscale.timeutil import check_duration, format_time
from autoscale.v1 import alarm_pb2, group_pb2
from autoscale.validation import (
    ID_PATTERN,
    ID_RULE,
    MAX_CAUSE_LENGTH,
    Violations,
    check_enum,
    check_finite,
    check_text,
    check_text_list,
    check_text_map,
    quoted,
    try_parse_name,
)
from services.group import health, hooks, schedule
from services.group.domain import MAX_GROUP_SIZE, AdjustmentType, Group, LaunchConfig
from services.group.drivers.base import OpenStackServerSpec
from services.group.pools import MAX_DRAIN_DELAY, MAX_POOLS_PER_GROUP
from services.group.refresh import MAX_INSTANCE_WARMUP

MAX_TRIGGER_REASON_LENGTH = 4096
"""Characters of an Adjust trigger's alarm_reason at most (an alarm payload's reason: its state reason)."""
MAX_TRIGGER_DATAPOINTS = 1440
"""Datapoints of an Adjust trigger at most (an alarm payload's)."""

MAX_COOLDOWN = 86400.0
"""Seconds of a group's cooldown at most (a day): a longer one is a mistake, and must still fit the answer."""
MAX_TAGS = 50
MAX_TAG_KEY_LENGTH = 128
MAX_TAG_VALUE_LENGTH = 256
MAX_COMMAND_ARGUMENTS = 256
MAX_ENV_VARIABLES = 256
MAX_ENV_NAME_LENGTH = 255
MAX_PROCESS_TEXT = 32768
"""Characters of a process's command in all, and of its environment in all (names and values)."""
MAX_SERVER_NAME_LENGTH = 255
"""Characters of a Nova name or id: image, flavor, key_name, each network and security group, metadata keys and values."""
MAX_SERVER_LIST_ITEMS = 64
MAX_BOOT_VOLUME_GB = 16_384
"""GiB of a boot volume at most (16 TiB): a larger one is a mistake, and beyond what the volume services of clouds allow."""
MAX_USER_DATA_BYTES = 49_149
"""UTF-8 bytes of user_data at most: Nova takes 65535 bytes, and the driver sends it base64-encoded (4 bytes per 3)."""
MAX_METADATA_ENTRIES = 123
"""Nova's default quota is 128 metadata items, and the driver adds five (autoscale_project, _group, _instance, _metrics_addr,
and metering.server_group)."""


def check_launch_config(violations: Violations, config: LaunchConfig, path: str = "launch_config") -> None:
    """Exactly one spec; a process needs a command with a program and clean env keys; a server an image and a flavor."""
    if (config.process is None) == (config.openstack_server is None):
        violations.add(path, "exactly one of process and openstack_server must be set")
    if config.process is not None:
        command = config.process.command
        if not command:
            violations.add(f"{path}.process.command", "is required: the program and its arguments")
        elif not command[0]:
            violations.add(f"{path}.process.command[0]", "must not be empty: it is the program to run")
        check_text_list(
            violations, f"{path}.process.command", command,
            max_items=MAX_COMMAND_ARGUMENTS, max_item_length=MAX_PROCESS_TEXT, max_total_length=MAX_PROCESS_TEXT,
        )
        for key in config.process.env:
            if not key or "=" in key:
                violations.add(f"{path}.process.env", f"key {quoted(key)} must be non-empty and must not contain '='")
        check_text_map(
            violations, f"{path}.process.env", config.process.env, max_entries=MAX_ENV_VARIABLES,
            max_key_length=MAX_ENV_NAME_LENGTH, max_value_length=MAX_PROCESS_TEXT, max_total_length=MAX_PROCESS_TEXT,
        )
    if config.openstack_server is not None:
        _check_openstack_server(violations, config.openstack_server, f"{path}.openstack_server")


def _check_openstack_server(violations: Violations, spec: OpenStackServerSpec, path: str) -> None:
    """An image and a flavor; every field within what Nova takes."""
    violations.check(bool(spec.image), f"{path}.image", "is required")
    violations.check(bool(spec.flavor), f"{path}.flavor", "is required")
    texts = (
        ("image", spec.image), ("flavor", spec.flavor), ("key_name", spec.key_name),
        ("availability_zone", spec.availability_zone), ("server_group", spec.server_group),
    )
    for name, value in texts:
        check_text(violations, f"{path}.{name}", value, MAX_SERVER_NAME_LENGTH)
    for name, values in (("networks", spec.networks), ("security_groups", spec.security_groups)):
        check_text_list(violations, f"{path}.{name}", values, max_items=MAX_SERVER_LIST_ITEMS, max_item_length=MAX_SERVER_NAME_LENGTH)
    _check_nics(violations, spec, path)
    violations.check(
        0 <= spec.boot_volume_size_gb <= MAX_BOOT_VOLUME_GB, f"{path}.boot_volume_size_gb",
        f"must be 0 (no volume) to {MAX_BOOT_VOLUME_GB}, got {spec.boot_volume_size_gb}",
    )
    user_data_bytes = len(spec.user_data.encode())
    violations.check(
        user_data_bytes <= MAX_USER_DATA_BYTES, f"{path}.user_data",
        f"must take at most {MAX_USER_DATA_BYTES} bytes as UTF-8, got {user_data_bytes}",
    )
    check_text_map(
        violations, f"{path}.metadata", spec.metadata, max_entries=MAX_METADATA_ENTRIES,
        max_key_length=MAX_SERVER_NAME_LENGTH, max_value_length=MAX_SERVER_NAME_LENGTH,
    )


MAX_CHECK_ARGUMENTS = 64
MAX_CHECK_COMMAND_TEXT = 4096
MAX_CHECK_PATH = 1024
MAX_PORT = 65535


def check_health_check(violations: Violations, message: group_pb2.LaunchConfig, path: str = "launch_config") -> None:
    """A set health check asks exactly one thing, within the limits above; a Nova server's names its port."""
    if not message.HasField("health_check"):
        return
    check = message.health_check
    path = f"{path}.health_check"
    probe = check.WhichOneof("probe")
    violations.check(probe is not None, path, "exactly one of command, tcp and http must be set")
    if probe == "command":
        command = check.command.command
        violations.check(bool(command) and bool(command[0]), f"{path}.command.command", "is required: the program and its arguments")
        check_text_list(
            violations, f"{path}.command.command", command,
            max_items=MAX_CHECK_ARGUMENTS, max_item_length=MAX_CHECK_COMMAND_TEXT, max_total_length=MAX_CHECK_COMMAND_TEXT,
        )
    if probe in ("tcp", "http"):
        port = check.tcp.port if probe == "tcp" else check.http.port
        violations.check(0 <= port <= MAX_PORT, f"{path}.{probe}.port", f"must be between 0 and {MAX_PORT}, got {port}")
        violations.check(
            port != 0 or not message.HasField("openstack_server"), f"{path}.{probe}.port",
            "is required for an openstack_server launch config: a Nova server has no port of its own",
        )
    if probe == "http":
        checked_path = check.http.path
        violations.check(
            not checked_path or (
                checked_path.startswith("/") and len(checked_path) <= MAX_CHECK_PATH and all("!" <= c <= "~" for c in checked_path)
            ),
            f"{path}.http.path",
            f"must start with '/' and hold at most {MAX_CHECK_PATH} printable ASCII characters, no spaces, got {quoted(checked_path[:64])}",
        )
    interval = health.DEFAULT_INTERVAL
    if check.HasField("interval"):
        interval = check_duration(violations, f"{path}.interval", check.interval, allow_zero=False, maximum=health.MAX_INTERVAL)
        violations.check(
            interval >= health.MIN_INTERVAL, f"{path}.interval", f"must be at least {health.MIN_INTERVAL:g}s, got {interval:g}s"
        )
    if check.HasField("timeout"):
        timeout = check_duration(violations, f"{path}.timeout", check.timeout, allow_zero=False, maximum=health.MAX_INTERVAL)
        violations.check(
            health.MIN_INTERVAL <= timeout <= interval, f"{path}.timeout",
            f"must be at least {health.MIN_INTERVAL:g}s and at most the interval ({interval:g}s), got {timeout:g}s",
        )
    threshold = check.unhealthy_threshold
    violations.check(
        0 <= threshold <= health.MAX_UNHEALTHY_THRESHOLD, f"{path}.unhealthy_threshold",
        f"must be between 0 (meaning {health.DEFAULT_UNHEALTHY_THRESHOLD}) and {health.MAX_UNHEALTHY_THRESHOLD}, got {threshold}",
    )


def check_grace_period(violations: Violations, message: group_pb2.Group, path: str = "group") -> None:
    """A set grace period lies within [0s, MAX_GRACE_PERIOD] (unset: the default of 300 s)."""
    if message.HasField("health_check_grace_period"):
        check_duration(
            violations, f"{path}.health_check_grace_period", message.health_check_grace_period, allow_zero=True,
            maximum=health.MAX_GRACE_PERIOD,
        )


def check_lifecycle_hook(violations: Violations, message: group_pb2.LifecycleHook, path: str = "lifecycle_hook") -> None:
    """A transition; a heartbeat timeout of 30s to 7200s when set; a known default result when set; bounded metadata."""
    violations.check(
        message.transition in (group_pb2.LIFECYCLE_TRANSITION_INSTANCE_LAUNCHING, group_pb2.LIFECYCLE_TRANSITION_INSTANCE_TERMINATING),
        f"{path}.transition",
        f"is required: LIFECYCLE_TRANSITION_INSTANCE_LAUNCHING or LIFECYCLE_TRANSITION_INSTANCE_TERMINATING, got {message.transition}",
    )
    if message.HasField("heartbeat_timeout"):
        timeout = check_duration(
            violations, f"{path}.heartbeat_timeout", message.heartbeat_timeout, allow_zero=False, maximum=hooks.MAX_HEARTBEAT_TIMEOUT
        )
        violations.check(
            timeout >= hooks.MIN_HEARTBEAT_TIMEOUT, f"{path}.heartbeat_timeout",
            f"must be at least {hooks.MIN_HEARTBEAT_TIMEOUT:g}s, got {timeout:g}s",
        )
    violations.check(
        message.default_result in group_pb2.LifecycleActionResult.values(), f"{path}.default_result",
        f"must be LIFECYCLE_ACTION_RESULT_CONTINUE or LIFECYCLE_ACTION_RESULT_ABANDON, got {message.default_result}",
    )
    check_text(violations, f"{path}.notification_metadata", message.notification_metadata, hooks.MAX_METADATA_LENGTH)


def check_refresh_preferences(violations: Violations, message: group_pb2.RefreshPreferences, path: str = "preferences") -> None:
    """min_healthy_percentage within [0, 100]; instance_warmup within [0s, MAX_INSTANCE_WARMUP]."""
    if message.HasField("min_healthy_percentage"):
        value = message.min_healthy_percentage
        violations.check(0 <= value <= 100, f"{path}.min_healthy_percentage", f"must be between 0 and 100, got {value}")
    if message.HasField("instance_warmup"):
        check_duration(violations, f"{path}.instance_warmup", message.instance_warmup, allow_zero=True, maximum=MAX_INSTANCE_WARMUP)


def check_load_balancer_pools(violations: Violations, message: group_pb2.Group, path: str = "group") -> None:
    """At most MAX_POOLS_PER_GROUP pools, each one pool named once: a pool file's name an id (it names files), an Octavia
    pool's a name or id with a port; ports 0 to 65535; drain delays 0s to MAX_DRAIN_DELAY."""
    field_path = f"{path}.load_balancer_pools"
    pools = list(message.load_balancer_pools)
    violations.check(len(pools) <= MAX_POOLS_PER_GROUP, field_path, f"must hold at most {MAX_POOLS_PER_GROUP}, got {len(pools)}")
    seen: set[tuple[str | None, str]] = set()
    for index, pool in enumerate(pools[:MAX_POOLS_PER_GROUP]):
        at = f"{field_path}[{index}]"
        kind = pool.WhichOneof("pool")
        violations.check(kind is not None, at, "exactly one of octavia_pool and pool_file must be set")
        if kind == "pool_file":
            violations.check(bool(ID_PATTERN.match(pool.pool_file)), f"{at}.pool_file", f"{quoted(pool.pool_file[:64])} {ID_RULE}")
        if kind == "octavia_pool":
            check_text(violations, f"{at}.octavia_pool", pool.octavia_pool, MAX_SERVER_NAME_LENGTH)
            violations.check(bool(pool.octavia_pool), f"{at}.octavia_pool", "must not be empty")
            violations.check(pool.port != 0, f"{at}.port", "is required for an Octavia pool: a Nova server has no port of its own")
        violations.check(0 <= pool.port <= MAX_PORT, f"{at}.port", f"must be between 0 and {MAX_PORT}, got {pool.port}")
        if pool.HasField("drain_delay"):
            check_duration(violations, f"{at}.drain_delay", pool.drain_delay, allow_zero=True, maximum=MAX_DRAIN_DELAY)
        name = pool.octavia_pool if kind == "octavia_pool" else pool.pool_file
        violations.check((kind, name) not in seen, at, f"names the pool {quoted(name)} twice")
        seen.add((kind, name))


def _check_nics(violations: Violations, spec: OpenStackServerSpec, path: str) -> None:
    """With `networks`, at most MAX_SERVER_LIST_ITEMS NICs; each a network (maybe with a fixed IP on it) or a port."""
    total = len(spec.networks) + len(spec.nics)
    violations.check(
        total <= MAX_SERVER_LIST_ITEMS or not spec.nics, f"{path}.nics",
        f"with networks, must hold at most {MAX_SERVER_LIST_ITEMS} items, got {total}",
    )
    for position, nic in enumerate(spec.nics):
        nic_path = f"{path}.nics[{position}]"
        violations.check(bool(nic.network) != bool(nic.port), nic_path, "exactly one of network and port must be set")
        for name, value in (("network", nic.network), ("port", nic.port), ("fixed_ip", nic.fixed_ip)):
            check_text(violations, f"{nic_path}.{name}", value, MAX_SERVER_NAME_LENGTH)
        if nic.fixed_ip and violations.check(bool(nic.network), f"{nic_path}.fixed_ip", "is set only with network (a port has its own)"):
            try:
                ipaddress.ip_address(nic.fixed_ip)
            except ValueError:
                violations.add(f"{nic_path}.fixed_ip", f"{quoted(nic.fixed_ip)} is not an IPv4 or IPv6 address")


def check_group_sizes(violations: Violations, group: Group, path: str = "group") -> None:
    """0 <= min_size <= desired_capacity <= max_size <= MAX_GROUP_SIZE; tags non-empty and bounded."""
    violations.check(group.min_size >= 0, f"{path}.min_size", f"must be >= 0, got {group.min_size}")
    violations.check(
        group.max_size >= group.min_size, f"{path}.max_size", f"must be >= min_size ({group.min_size}), got {group.max_size}"
    )
    violations.check(group.max_size <= MAX_GROUP_SIZE, f"{path}.max_size", f"must be <= {MAX_GROUP_SIZE}, got {group.max_size}")
    # With an impossible range, the sizes' own violations say it all.
    if group.min_size <= group.max_size:
        violations.check(
            group.min_size <= group.desired_capacity <= group.max_size,
            f"{path}.desired_capacity",
            f"must be within [min_size, max_size] = [{group.min_size}, {group.max_size}], got {group.desired_capacity}",
        )
    violations.check(all(group.tags), f"{path}.tags", "keys must be non-empty")
    check_text_map(
        violations, f"{path}.tags", group.tags,
        max_entries=MAX_TAGS, max_key_length=MAX_TAG_KEY_LENGTH, max_value_length=MAX_TAG_VALUE_LENGTH,
    )


MAX_TERMINATION_POLICIES = 4
"""As many as there are policies: a repeat would change nothing."""


def check_termination_policies(violations: Violations, message: group_pb2.Group, path: str = "group") -> None:
    """Known policies, none twice, at most MAX_TERMINATION_POLICIES, DEFAULT (which orders every instance) only last."""
    field_path = f"{path}.termination_policies"
    numbers = list(message.termination_policies)
    known = set(group_pb2.TerminationPolicy.values()) - {group_pb2.TERMINATION_POLICY_UNSPECIFIED}
    for index, number in enumerate(numbers):
        violations.check(
            number in known, f"{field_path}[{index}]",
            f"must be one of {', '.join(group_pb2.TerminationPolicy.keys()[1:])}, got {number}",
        )
    violations.check(
        len(numbers) <= MAX_TERMINATION_POLICIES, field_path, f"must hold at most {MAX_TERMINATION_POLICIES}, got {len(numbers)}"
    )
    violations.check(len(set(numbers)) == len(numbers), field_path, "must not name a policy twice")
    default = group_pb2.TERMINATION_POLICY_DEFAULT
    violations.check(
        default not in numbers[:-1], field_path, "TERMINATION_POLICY_DEFAULT must come last: it already orders every instance"
    )


def check_cooldown(violations: Violations, message: group_pb2.Group, path: str = "group") -> None:
    """A set cooldown lies within [0s, MAX_COOLDOWN] (unset: the default of 300 s)."""
    if message.HasField("cooldown"):
        check_duration(violations, f"{path}.cooldown", message.cooldown, allow_zero=True, maximum=MAX_COOLDOWN)


def check_adjustment(
    violations: Violations, adjustment_type: AdjustmentType | None, adjustment: int, min_adjustment_step: int
) -> None:
    """An exact capacity is >= 0; min_adjustment_step is >= 0 (the type itself is checked where it is parsed)."""
    if adjustment_type is AdjustmentType.EXACT_CAPACITY:
        violations.check(adjustment >= 0, "adjustment", f"an exact capacity must be >= 0, got {adjustment}")
    violations.check(min_adjustment_step >= 0, "min_adjustment_step", f"must be >= 0, got {min_adjustment_step}")


def check_trigger(violations: Violations, trigger: group_pb2.ScalingTrigger, prefix: str = "trigger") -> None:
    """What set a policy's Adjust off, recorded with its decision: each field within its rule."""
    try_parse_name(violations, f"{prefix}.policy", trigger.policy, "policies")
    if trigger.alarm:
        try_parse_name(violations, f"{prefix}.alarm", trigger.alarm, "alarms")
        check_enum(violations, f"{prefix}.alarm_state", trigger.alarm_state, alarm_pb2.AlarmState)
    else:
        violations.check(trigger.alarm_state == 0, f"{prefix}.alarm_state", "is read only with alarm: set both, or neither")
    check_text(violations, f"{prefix}.alarm_reason", trigger.alarm_reason, MAX_TRIGGER_REASON_LENGTH)
    if violations.check(
        len(trigger.datapoints) <= MAX_TRIGGER_DATAPOINTS, f"{prefix}.datapoints",
        f"must hold at most {MAX_TRIGGER_DATAPOINTS} values, got {len(trigger.datapoints)}",
    ):
        for index, value in enumerate(trigger.datapoints):
            check_finite(violations, f"{prefix}.datapoints[{index}]", value)
    if trigger.comparison_operator:
        check_enum(violations, f"{prefix}.comparison_operator", trigger.comparison_operator, alarm_pb2.ComparisonOperator)
    for number in ("threshold", "metric_value", "breach_threshold", "step_lower_bound", "step_upper_bound"):
        if trigger.HasField(number):
            check_finite(violations, f"{prefix}.{number}", getattr(trigger, number))
    if trigger.HasField("recommended_capacity"):
        violations.check(
            trigger.recommended_capacity >= 0, f"{prefix}.recommended_capacity", f"must be >= 0, got {trigger.recommended_capacity}"
        )
    check_text(violations, f"{prefix}.policy_reason", trigger.policy_reason, MAX_TRIGGER_REASON_LENGTH)


def check_cause(violations: Violations, cause: str, field_path: str = "cause") -> None:
    """An Adjust's cause (or a reason given with a change), kept with its activity, is bounded."""
    check_text(violations, field_path, cause, MAX_CAUSE_LENGTH)




def check_scheduled_action(
    violations: Violations, action: schedule.ScheduledAction, now: float, changed: frozenset[str], path: str = "scheduled_action"
) -> None:
    """A usable recurrence and zone, or a single start_time; times that are in the future where `changed` names them (AWS
    refuses a start time in the past) and in order; at least one size, each within the group limits and all in order;
    and at least one run to come."""
    problems = len(violations.items)
    if action.recurrence:
        if len(action.recurrence) > schedule.MAX_RECURRENCE_LENGTH:
            violations.add(f"{path}.recurrence", f"must be at most {schedule.MAX_RECURRENCE_LENGTH} characters long")
        else:
            problem = schedule.recurrence_problem(action.recurrence)
            violations.check(problem is None, f"{path}.recurrence", f"{problem}, got {quoted(action.recurrence)}")
    else:
        violations.check(
            action.start_time is not None, f"{path}.start_time", "is required without a recurrence: the time a one-time action runs"
        )
        violations.check(not action.time_zone, f"{path}.time_zone", "is read only with a recurrence: give one, or no time zone")
        violations.check(action.end_time is None, f"{path}.end_time", "is read only with a recurrence: give one, or no end time")
    if len(action.time_zone) > schedule.MAX_TIME_ZONE_LENGTH:
        violations.add(f"{path}.time_zone", f"must be at most {schedule.MAX_TIME_ZONE_LENGTH} characters long")
    elif action.time_zone:
        violations.check(
            schedule.parse_zone(action.time_zone) is not None, f"{path}.time_zone",
            f"must be a time zone of the IANA database (e.g. Europe/Berlin), got {quoted(action.time_zone)}",
        )
    for field, value in (("start_time", action.start_time), ("end_time", action.end_time)):
        if value is not None and field in changed:
            violations.check(value > now, f"{path}.{field}", f"must be in the future, got {format_time(value)} (now {format_time(now)})")
    if action.start_time is not None and action.end_time is not None:
        violations.check(
            action.end_time > action.start_time, f"{path}.end_time", f"must be after start_time ({format_time(action.start_time)})"
        )
    _check_scheduled_sizes(violations, action, path)
    if len(violations.items) == problems:
        violations.check(
            schedule.run_after(action, now) is not None, f"{path}.end_time" if action.end_time is not None else f"{path}.start_time",
            "leaves the action no run to come: give a later end_time or start_time",
        )


def _check_scheduled_sizes(violations: Violations, action: schedule.ScheduledAction, path: str) -> None:
    """At least one size; each 0 to MAX_GROUP_SIZE; min_size <= desired_capacity <= max_size of those given."""
    sizes = {"min_size": action.min_size, "max_size": action.max_size, "desired_capacity": action.desired_capacity}
    if all(value is None for value in sizes.values()):
        violations.add(path, "must set at least one of min_size, max_size and desired_capacity")
        return
    for field, value in sizes.items():
        if value is not None:
            violations.check(0 <= value <= MAX_GROUP_SIZE, f"{path}.{field}", f"must be 0 to {MAX_GROUP_SIZE}, got {value}")
    if action.min_size is not None and action.max_size is not None:
        violations.check(
            action.max_size >= action.min_size, f"{path}.max_size", f"must be >= min_size ({action.min_size}), got {action.max_size}"
        )
    desired = action.desired_capacity
    if desired is not None:
        if action.min_size is not None:
            violations.check(
                desired >= action.min_size, f"{path}.desired_capacity", f"must be >= min_size ({action.min_size}), got {desired}"
            )
        if action.max_size is not None:
            violations.check(
                desired <= action.max_size, f"{path}.desired_capacity", f"must be <= max_size ({action.max_size}), got {desired}"
            )
