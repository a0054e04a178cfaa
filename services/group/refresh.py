"""Instance refresh: replace a group's instances that run another launch config than its own, in batches that keep a
minimum of healthy capacity (AWS's StartInstanceRefresh), with pause, resume, cancel and roll back.

Pure: each reconcile pass asks `refresh_step` what the refresh does now, given the group's instances and the time.

- An instance is *outdated* while it runs a launch config other than the refresh's target; those in standby, and
  those protected from scale-in, are left as they are (the status reason counts them).
- An instance counts as *healthy* once it runs, its health status is HEALTHY (no check, or one that passes after the
  grace period), and it has been in service for the warm-up.
- It succeeds once no instance is outdated and the group runs its desired capacity.
- A batch starts only when the one before is over (no instance of the target config still starting or warming up,
  nothing of the refresh still terminating). Its size keeps at least `min_healthy_percentage` of the desired
  capacity healthy (rounded up), and is at least one: the oldest outdated instances are replaced first, the group
  launching their replacements from its launch config.
- The refresh fails when a launch of the group fails after it started (its launches back off); with `auto_rollback` it then
  rolls back: the group's launch config goes back to the one the outdated instances ran, and the instances already
  replaced are replaced again, the same way.
"""

from __future__ import annotations

import enum
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace

from autoscale.errors import FailedPrecondition
from autoscale.timeutil import format_time
from services.group.backoff import LaunchBackoff
from services.group.domain import LIVE_STATES, Group, Instance, InstanceState
from services.group.health import HealthStatus

DEFAULT_MIN_HEALTHY_PERCENTAGE = 90
MAX_INSTANCE_WARMUP = 86400.0


class RefreshStatus(enum.Enum):
    """Where a refresh is (AWS's InstanceRefreshStatus, and PAUSED)."""

    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    SUCCESSFUL = "successful"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ROLLBACK_IN_PROGRESS = "rollback_in_progress"
    ROLLBACK_SUCCESSFUL = "rollback_successful"
    ROLLBACK_FAILED = "rollback_failed"


ACTIVE = frozenset({RefreshStatus.IN_PROGRESS, RefreshStatus.PAUSED, RefreshStatus.ROLLBACK_IN_PROGRESS})
"""A group has at most one refresh in these."""


@dataclass(frozen=True)
class InstanceRefresh:
    """One refresh of a group."""

    id: str
    group_id: str
    status: RefreshStatus
    launch_config_id: str
    """What it replaces instances with: the group's launch config when it started."""
    rollback_launch_config_id: str
    """What a roll back returns to: the launch config most outdated instances ran when it started."""
    min_healthy_percentage: int
    instance_warmup: float
    auto_rollback: bool
    start_time: float
    instances_to_update: int = 0
    """Outdated instances when it started (or when its roll back started)."""
    instances_replaced: int = 0
    end_time: float | None = None
    status_reason: str = ""
    paused_before: RefreshStatus | None = None
    """While PAUSED: the status it resumes (IN_PROGRESS or ROLLBACK_IN_PROGRESS)."""
    launch_failures_before: int = 0
    """The group's failed launches in a row when it (or its roll back) started: one more fails it."""

    @property
    def target_launch_config_id(self) -> str:
        """The launch config instances are replaced with now (the old one while rolling back)."""
        rolling_back = RefreshStatus.ROLLBACK_IN_PROGRESS in (self.status, self.paused_before)
        return self.rollback_launch_config_id if rolling_back else self.launch_config_id

    @property
    def percentage_complete(self) -> int:
        """How much of it is done, 0 to 100."""
        if self.status in (RefreshStatus.SUCCESSFUL, RefreshStatus.ROLLBACK_SUCCESSFUL):
            return 100
        if not self.instances_to_update:
            return 0
        return min(100, math.floor(100 * self.instances_replaced / self.instances_to_update))


def begin(
    group: Group, instances: Sequence[Instance], min_healthy_percentage: int | None, instance_warmup: float | None,
    auto_rollback: bool, now: float,
) -> InstanceRefresh:
    """A refresh of the group to its launch config, starting now: unset preferences are DEFAULT_MIN_HEALTHY_PERCENTAGE and
    the group's grace period (AWS's defaults); it rolls back to what most outdated instances run."""
    return InstanceRefresh(
        id="r-" + secrets.token_hex(6), group_id=group.id, status=RefreshStatus.IN_PROGRESS, launch_config_id=group.launch_config_id,
        rollback_launch_config_id=rollback_target(instances, group.launch_config_id),
        min_healthy_percentage=DEFAULT_MIN_HEALTHY_PERCENTAGE if min_healthy_percentage is None else min_healthy_percentage,
        instance_warmup=group.grace_period if instance_warmup is None else instance_warmup, auto_rollback=auto_rollback,
        start_time=now, instances_to_update=len(outdated(instances, group.launch_config_id)), status_reason="starting",
        launch_failures_before=group.launch_backoff.failures,
    )


@dataclass(frozen=True)
class RefreshStep:
    """What a pass does for a refresh: the refresh after it, and the instances to replace now."""

    refresh: InstanceRefresh
    replace: tuple[Instance, ...] = ()
    rollback: bool = False
    """Whether the refresh starts to roll back now (the group's launch config must go back first)."""


def outdated(instances: Sequence[Instance], launch_config_id: str) -> list[Instance]:
    """Live instances of another launch config, not protected from scale-in, oldest first."""
    return sorted(
        (i for i in instances if i.state in LIVE_STATES and i.launch_config_id != launch_config_id and not i.protected_from_scale_in),
        key=lambda i: (i.create_time, i.id),
    )


def rollback_target(instances: Sequence[Instance], launch_config_id: str) -> str:
    """The launch config most live instances of another config than `launch_config_id` run (the oldest such on a tie); the
    config itself when there are none."""
    others = [i for i in instances if i.state in LIVE_STATES and i.launch_config_id != launch_config_id]
    if not others:
        return launch_config_id
    counts: dict[str, int] = {}
    for instance in sorted(others, key=lambda i: i.create_time):
        counts[instance.launch_config_id] = counts.get(instance.launch_config_id, 0) + 1
    return max(counts, key=lambda config_id: counts[config_id])


def is_healthy(instance: Instance, warmup: float, now: float) -> bool:
    """In service, HEALTHY, and warmed up."""
    return (
        instance.state is InstanceState.RUNNING and instance.health_status is HealthStatus.HEALTHY
        and instance.in_service_time is not None and now - instance.in_service_time >= warmup
    )


def refresh_step(
    refresh: InstanceRefresh, instances: Sequence[Instance], desired_capacity: int, backoff: LaunchBackoff, now: float
) -> RefreshStep:
    """What the refresh does in this pass, given the group's launch backoff (its failed launches in a row)."""
    if refresh.status not in ACTIVE:
        return RefreshStep(refresh)
    target = refresh.target_launch_config_id
    rolling_back = refresh.status is RefreshStatus.ROLLBACK_IN_PROGRESS
    remaining = outdated(instances, target)
    refresh = replace(refresh, instances_replaced=max(refresh.instances_replaced, refresh.instances_to_update - len(remaining)))
    degraded = backoff.last_failure if backoff.failures > refresh.launch_failures_before else ""
    if degraded and refresh.status is not RefreshStatus.PAUSED:
        if rolling_back:
            return RefreshStep(_ended(refresh, RefreshStatus.ROLLBACK_FAILED, f"the group cannot launch: {degraded}", now))
        failed = _ended(refresh, RefreshStatus.FAILED, f"the group cannot launch: {degraded}", now)
        if refresh.auto_rollback and refresh.rollback_launch_config_id != refresh.launch_config_id:
            rolled_back = start_rollback(failed, instances, backoff, f"rolling back: the group could not launch ({degraded})")
            return RefreshStep(rolled_back, rollback=True)
        return RefreshStep(failed)
    in_flight = [
        i for i in instances
        if i.state in (InstanceState.TERMINATING, InstanceState.TERMINATING_WAIT)
        or (i.state in LIVE_STATES and i.launch_config_id == target and not is_healthy(i, refresh.instance_warmup, now))
    ]
    left_alone = _left_alone(instances, target)
    short = desired_capacity - sum(1 for i in instances if i.state is InstanceState.RUNNING)
    if not remaining and not in_flight and short <= 0:
        status = RefreshStatus.ROLLBACK_SUCCESSFUL if rolling_back else RefreshStatus.SUCCESSFUL
        return RefreshStep(_ended(refresh, status, f"every instance runs {target}{left_alone}", now))
    if refresh.status is RefreshStatus.PAUSED or in_flight or not remaining:
        waiting = "paused"
        if in_flight:
            waiting = f"{len(in_flight)} instances starting, warming up or stopping"
        elif not remaining:
            waiting = f"waiting for {short} more instances to run"
        return RefreshStep(replace(refresh, status_reason=f"{len(remaining)} to replace; {waiting}{left_alone}"))
    healthy = sum(1 for i in instances if is_healthy(i, refresh.instance_warmup, now))
    minimum = math.ceil(desired_capacity * refresh.min_healthy_percentage / 100)
    batch = remaining[: max(1, healthy - minimum)]
    reason = f"replacing {len(batch)} of {len(remaining)} (keeping {minimum} of {desired_capacity} healthy){left_alone}"
    return RefreshStep(replace(refresh, status_reason=reason), replace=tuple(batch))


def pause(refresh: InstanceRefresh, now: float) -> InstanceRefresh:
    """The refresh held (no new batch starts); FailedPrecondition unless it replaces instances now."""
    if refresh.status not in (RefreshStatus.IN_PROGRESS, RefreshStatus.ROLLBACK_IN_PROGRESS):
        raise FailedPrecondition(f"the instance refresh {refresh.id} is {refresh.status.value}, not in progress")
    return replace(refresh, status=RefreshStatus.PAUSED, paused_before=refresh.status, status_reason=f"paused at {format_time(now)}")


def resume(refresh: InstanceRefresh) -> InstanceRefresh:
    """A paused refresh going on as it was; FailedPrecondition unless paused."""
    if refresh.status is not RefreshStatus.PAUSED or refresh.paused_before is None:
        raise FailedPrecondition(f"the instance refresh {refresh.id} is {refresh.status.value}, not paused")
    return replace(refresh, status=refresh.paused_before, paused_before=None, status_reason="resumed")


def cancel(refresh: InstanceRefresh, now: float) -> InstanceRefresh:
    """The refresh stopped: the instances it replaced stay so, the others as they are."""
    done = f"cancelled with {refresh.instances_replaced} of {refresh.instances_to_update} replaced"
    return _ended(refresh, RefreshStatus.CANCELLED, done, now)


def roll_back(refresh: InstanceRefresh, instances: Sequence[Instance], backoff: LaunchBackoff) -> InstanceRefresh:
    """The refresh rolling back at a caller's word; FailedPrecondition when it rolls back already, or has nothing to return
    to (no instance ran another launch config when it started)."""
    if RefreshStatus.ROLLBACK_IN_PROGRESS in (refresh.status, refresh.paused_before):
        raise FailedPrecondition(f"the instance refresh {refresh.id} is rolling back already")
    if refresh.rollback_launch_config_id == refresh.launch_config_id:
        raise FailedPrecondition(
            f"the instance refresh {refresh.id} has nothing to roll back to: its instances ran {refresh.launch_config_id} already"
        )
    return start_rollback(refresh, instances, backoff, "rolling back at a caller's word")


def start_rollback(refresh: InstanceRefresh, instances: Sequence[Instance], backoff: LaunchBackoff, reason: str) -> InstanceRefresh:
    """The refresh rolling back to its rollback launch config: the instances already replaced are outdated now."""
    target = refresh.rollback_launch_config_id
    return replace(
        refresh, status=RefreshStatus.ROLLBACK_IN_PROGRESS, status_reason=reason, end_time=None, paused_before=None,
        instances_to_update=len(outdated(instances, target)), instances_replaced=0, launch_failures_before=backoff.failures,
    )


def _left_alone(instances: Sequence[Instance], target: str) -> str:
    kept = [
        i for i in instances
        if i.launch_config_id != target and (i.state is InstanceState.STANDBY or (i.state in LIVE_STATES and i.protected_from_scale_in))
    ]
    return f"; {len(kept)} in standby or protected from scale-in left as they are" if kept else ""


def _ended(refresh: InstanceRefresh, status: RefreshStatus, reason: str, now: float) -> InstanceRefresh:
    return replace(refresh, status=status, status_reason=reason, end_time=now, paused_before=None)
