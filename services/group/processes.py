"""The processes of a group that SuspendProcesses holds (AWS's names), and what each holds.

- LAUNCH: no instance is launched (a scale-out, a replacement); the activity waits.
- TERMINATE: no instance is stopped for a scale-in, nor a failed or unhealthy one; an instance a caller names
  (TerminateInstance) still stops.
- HEALTH_CHECK: the launch config's health checks do not run (health statuses stay as they were).
- REPLACE_UNHEALTHY: an instance whose check fails stays, UNHEALTHY, instead of being replaced.
- ALARM_NOTIFICATION: an Adjust that an alarm or a receiver caused is refused (SUSPENDED); an operator's is made.
- SCHEDULED_ACTIONS: the group's scheduled actions do not run.
- ADD_TO_LOAD_BALANCER: the members of its pools stay as they are.
- INSTANCE_REFRESH: its instance refresh does not move on (as if paused).
"""

from __future__ import annotations

import enum


class ScalingProcess(enum.Enum):
    """A process of a group."""

    LAUNCH = "launch"
    TERMINATE = "terminate"
    HEALTH_CHECK = "health_check"
    REPLACE_UNHEALTHY = "replace_unhealthy"
    ALARM_NOTIFICATION = "alarm_notification"
    SCHEDULED_ACTIONS = "scheduled_actions"
    ADD_TO_LOAD_BALANCER = "add_to_load_balancer"
    INSTANCE_REFRESH = "instance_refresh"


ALL_PROCESSES = frozenset(ScalingProcess)
