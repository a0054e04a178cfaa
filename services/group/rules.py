"""Field rules of launch configs, groups and adjustments.

Each check records every broken rule in a `Violations` under the request's field
path (e.g. `group.max_size`), so the caller learns all of them at once.

Limits (listed for users in README.md, under bad input):
- `group.cooldown`: 0s to 86400s (a day); unset means 300 s.
- `group.max_size`: at most MAX_GROUP_SIZE; `request_id`: at most 255 characters.
"""

from __future__ import annotations

from autoscale.timeutil import check_duration
from autoscale.v1 import group_pb2
from autoscale.validation import Violations, quoted
from services.group.domain import MAX_GROUP_SIZE, AdjustmentType, Group, LaunchConfig

MAX_REQUEST_ID_LENGTH = 255
MAX_COOLDOWN = 86400.0
"""Seconds of a group's cooldown at most (a day): a longer one is a mistake, and must still fit the answer."""


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
        for key in config.process.env:
            if not key or "=" in key:
                violations.add(f"{path}.process.env", f"key {quoted(key)} must be non-empty and must not contain '='")
    if config.openstack_server is not None:
        violations.check(bool(config.openstack_server.image), f"{path}.openstack_server.image", "is required")
        violations.check(bool(config.openstack_server.flavor), f"{path}.openstack_server.flavor", "is required")


def check_group_sizes(violations: Violations, group: Group, path: str = "group") -> None:
    """0 <= min_size <= desired_capacity <= max_size <= MAX_GROUP_SIZE, tag keys non-empty."""
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


def check_request_id(violations: Violations, request_id: str) -> None:
    """A request_id fits its column."""
    violations.check(
        len(request_id) <= MAX_REQUEST_ID_LENGTH, "request_id", f"must be at most {MAX_REQUEST_ID_LENGTH} characters long"
    )
