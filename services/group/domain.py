"""The group service's domain objects: launch configs, groups, instances, activities, scaling decisions.

Plain frozen dataclasses with no I/O; times are seconds since the epoch. The
instance specs are the compute-driver interface's own (`drivers.base`), so what a
launch config holds is exactly what a driver is asked to start.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from services.group.backoff import RESET, LaunchBackoff
from services.group.drivers.base import OpenStackServerSpec, ProcessSpec
from services.group.health import DEFAULT_GRACE_PERIOD, HealthCheck, HealthStatus
from services.group.pools import LoadBalancerPool
from services.group.processes import ScalingProcess

MAX_GROUP_SIZE = 10_000
"""The largest max_size a group may have."""

PROCESS = "process"
"""Kind of a launch config (and driver) whose instances are local processes."""

OPENSTACK_SERVER = "openstack_server"
"""Kind of a launch config (and driver) whose instances are Nova servers."""


class InstanceState(enum.Enum):
    """Where an instance is in its life."""

    PENDING = "pending"
    RUNNING = "running"
    TERMINATING = "terminating"
    FAILED = "failed"
    STANDBY = "standby"
    """Running, but out of the group's capacity, health checks and scale-in (EnterStandby)."""
    PENDING_WAIT = "pending_wait"
    """Running, waiting for its launch lifecycle hooks before it is in service (services.group.hooks)."""
    TERMINATING_WAIT = "terminating_wait"
    """Chosen for removal, still running, waiting for its termination lifecycle hooks."""


LIVE_STATES = frozenset({InstanceState.PENDING, InstanceState.PENDING_WAIT, InstanceState.RUNNING})
"""States of the instances that count towards the desired capacity."""


class ActivityStatus(enum.Enum):
    """Where a scaling activity is in its life."""

    IN_PROGRESS = "in_progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNCHANGED = "unchanged"


class TerminationPolicy(enum.Enum):
    """Which live instances a scale-in removes first (AWS's names); a group's list is applied in order."""

    OLDEST_INSTANCE = "oldest_instance"
    NEWEST_INSTANCE = "newest_instance"
    OLDEST_LAUNCH_CONFIGURATION = "oldest_launch_configuration"
    """Instances of a launch config other than the group's current one first."""
    DEFAULT = "default"
    """OLDEST_LAUNCH_CONFIGURATION, then OLDEST_INSTANCE (Heat removes the oldest)."""


class AdjustmentType(enum.Enum):
    """How an adjustment is read (as AWS and Heat define them)."""

    CHANGE_IN_CAPACITY = "change_in_capacity"
    EXACT_CAPACITY = "exact_capacity"
    PERCENT_CHANGE_IN_CAPACITY = "percent_change_in_capacity"


@dataclass(frozen=True)
class LaunchConfig:
    """What each instance of a group is made from: exactly one of the two specs."""

    id: str
    process: ProcessSpec | None = None
    openstack_server: OpenStackServerSpec | None = None
    create_time: float = 0.0
    health_check: HealthCheck | None = None
    """What its instances must answer beyond running (services.group.health); None: running is enough."""

    @property
    def kind(self) -> str:
        """PROCESS or OPENSTACK_SERVER: which driver starts its instances."""
        return PROCESS if self.process is not None else OPENSTACK_SERVER


@dataclass(frozen=True)
class Group:
    """A group of identical instances kept at `desired_capacity`."""

    id: str
    launch_config_id: str
    min_size: int
    max_size: int
    desired_capacity: int
    cooldown: float | None = None
    """Seconds; None means unset, i.e. the documented default of 300 s (kept apart from an explicit 0)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    create_time: float = 0.0
    deleting: bool = False
    """Set by DeleteGroup while it terminates the instances; the group then wants none."""
    cooldown_end: float | None = None
    """When the cooldown started by its scaling activities ends; None: none started (see services.group.cooldown)."""
    launch_backoff: LaunchBackoff = RESET
    """Its launches failing in a row, and when it may launch next (services.group.backoff)."""
    termination_policies: tuple[TerminationPolicy, ...] = ()
    """Which instances a scale-in removes first, in order (services.group.plan); empty means DEFAULT."""
    new_instances_protected_from_scale_in: bool = False
    """Whether the instances it launches from now on are protected from scale-in."""
    health_check_grace_period: float | None = None
    """Seconds its instances run before their health checks count; None means unset, i.e. DEFAULT_GRACE_PERIOD."""
    load_balancer_pools: tuple[LoadBalancerPool, ...] = ()
    """The pools its in-service instances are members of (services.group.load_balancers)."""
    suspended_processes: frozenset[ScalingProcess] = frozenset()
    """Its processes that SuspendProcesses holds (services.group.processes)."""

    def suspended(self, process: ScalingProcess) -> bool:
        """Whether `process` is suspended."""
        return process in self.suspended_processes

    @property
    def grace_period(self) -> float:
        """The health check grace period in force (the default when unset)."""
        return DEFAULT_GRACE_PERIOD if self.health_check_grace_period is None else self.health_check_grace_period

    @property
    def target_capacity(self) -> int:
        """How many live instances the reconcile loop keeps: none while the group is deleted."""
        return 0 if self.deleting else self.desired_capacity


class GroupKey(NamedTuple):
    """Which group of which project: group ids are unique within a project only (two projects may each have a `web`)."""

    project: str
    group_id: str


@dataclass(frozen=True)
class GroupStatus:
    """A group with what is observed of it."""

    group: Group
    current_capacity: int
    """Instances RUNNING."""
    activity_in_progress: str | None = None
    """The id of the group's IN_PROGRESS activity; None when it is not resizing."""

    @property
    def scaling_in_progress(self) -> bool:
        """Whether an activity is IN_PROGRESS."""
        return self.activity_in_progress is not None


@dataclass(frozen=True)
class Instance:
    """One member of a group, as the service tracks it."""

    id: str
    group_id: str
    kind: str
    """The driver that launched it (PROCESS or OPENSTACK_SERVER), kept if the group's launch config changes."""
    launch_config_id: str
    state: InstanceState
    create_time: float
    server_id: str = ""
    """The driver's id; empty until the launch returned."""
    state_reason: str = ""
    protected_from_scale_in: bool = False
    """A scale-in never chooses it (a failed one is still replaced)."""
    address: str = ""
    """Where it serves, as its driver says: "host:port" (a local process) or an IP (a Nova server); "" until known."""
    in_service_time: float | None = None
    """When it was first seen running (its health check grace period starts then); None: not yet."""
    health_status: HealthStatus = HealthStatus.UNKNOWN
    health_reason: str = ""
    """Why it has its health status, for people: the last check's answer, or how many failed in a row."""
    drain_until: float | None = None
    """Chosen for removal while a member of its group's pools: when it has drained and may stop; None: not draining."""


@dataclass(frozen=True)
class Activity:
    """One change of a group's desired capacity and how it went."""

    id: str
    group_id: str
    cause: str
    from_capacity: int
    to_capacity: int
    start_time: float
    status: ActivityStatus
    end_time: float | None = None
    status_message: str = ""
    cooldown: float | None = None
    """Seconds of cooldown that start when it ends (an Adjust honouring the cooldown); None: it starts none."""
    caller: str = ""
    """Who asked for it (the principal of the call that made it: autoscale.identity)."""


@dataclass(frozen=True)
class InstancesChange:
    """What a change of some instances of a group did (EnterStandby, DetachInstances, ...): the group after it, its
    activity, and the instances."""

    status: GroupStatus
    activity: Activity
    instances: list[Instance]


class Refusal(enum.Enum):
    """Why an Adjust honouring the cooldown left the group as it was."""

    SCALING_IN_PROGRESS = "scaling_in_progress"
    COOLDOWN = "cooldown"
    SUSPENDED = "suspended"
    """Its alarm notifications are suspended (SuspendProcesses)."""
    CAPACITY_CHANGED = "capacity_changed"
    """Its desired capacity is not the one the request was decided from (AdjustCommand.expected_desired_capacity)."""


@dataclass(frozen=True)
class Refused:
    """An Adjust left undone, why (for programs and for people) and, in a cooldown, until when."""

    refusal: Refusal
    reason: str
    cooldown_end: float | None = None


@dataclass(frozen=True)
class AdjustCommand:
    """What an Adjust asks (validated)."""

    adjustment_type: AdjustmentType
    adjustment: int
    min_adjustment_step: int
    cause: str
    honor_cooldown: bool = False
    """Leave a group that is resizing or cooling down as it is, and start a cooldown when adjusting."""
    refuse_while_scaling: bool = False
    """Leave a group that is resizing as it is (the cooldown not looked at)."""
    cooldown: float | None = None
    """With honor_cooldown, the cooldown the adjustment starts; None: the group's."""
    alarm_notification: bool = False
    """An alarm or a receiver caused it: refused while the group's ALARM_NOTIFICATION process is suspended."""
    step_scaling: bool = False
    """A step policy's: AWS's warm-up rule instead of a cooldown (services.group.warmup)."""
    estimated_instance_warmup: float | None = None
    """With step_scaling, seconds an instance warms up once in service; None: the group's cooldown."""
    expected_desired_capacity: int | None = None
    """The desired capacity the caller decided from: refused (CAPACITY_CHANGED) when the group's is another by then."""
    trigger: bytes = b""
    """What set a policy's adjustment off (a serialized autoscale.v1.ScalingTrigger, kept as the policy service sent it
    for the decision record); empty: an operator's Adjust."""
    trigger_alarm: str = ""
    """The alarm the trigger names (`alarms/{id}`), if any."""


@dataclass(frozen=True)
class AdjustOutcome:
    """The answer of an Adjust; its capacities and activity are stored so that a repeated request_id gets them again."""

    previous_capacity: int
    desired_capacity: int
    activity: Activity | None
    """None when the group was left as it was (`refused` says why)."""
    group: GroupStatus | None = None
    """The group after the call; None in the first answer given again to a repeated request_id."""
    refused: Refused | None = None
    """Why the group was left as it was, when the cooldown or a resize under way kept it."""

    @property
    def adjusted(self) -> bool:
        """Whether the desired capacity changed."""
        return self.desired_capacity != self.previous_capacity


class DecisionSource(enum.Enum):
    """What asked a group for a scaling decision."""

    ALARM = "alarm"
    """A policy executed by an alarm's action."""
    POLICY = "policy"
    """A policy executed otherwise (a receiver's signal, an operator's ExecutePolicy)."""
    ADJUST = "adjust"
    """An operator's Adjust."""
    SET_DESIRED_CAPACITY = "set_desired_capacity"
    """An operator's SetDesiredCapacity."""
    UPDATE_GROUP = "update_group"
    """An operator's UpdateGroup naming desired_capacity, min_size or max_size."""
    SCHEDULED_ACTION = "scheduled_action"
    """A run of a scheduled action."""


class DecisionOutcome(enum.Enum):
    """What a scaling decision did."""

    ADJUSTED = "adjusted"
    UNCHANGED = "unchanged"
    """The adjustment was made and the capacity stays (at a size limit, already there, waiting for a warm-up)."""
    REFUSED = "refused"
    """The group refused (its cooldown, a resize in progress, its alarm notifications suspended)."""
    SKIPPED = "skipped"
    """A scheduled action's run skipped (its group's scheduled actions suspended, its end time passed)."""
    FAILED = "failed"
    """A scheduled action's run that failed (sizes that do not fit together, the instances quota)."""


@dataclass(frozen=True)
class CapacityCalculation:
    """How an adjustment's new capacity was worked out (services.group.capacity.calculation)."""

    base_capacity: int
    """What the adjustment starts from: the desired capacity, or the instances a step policy counts."""
    raw_capacity: float
    """Asked before rounding."""
    rounded_capacity: int
    """After rounding and min_adjustment_step."""
    clamped_capacity: int
    """Within [min_size, max_size]."""
    min_size: int
    max_size: int


@dataclass(frozen=True)
class ScalingDecision:
    """One decision of a group on a request to change its capacity, whatever came of it, with its whole chain."""

    id: str
    group_id: str
    decide_time: float
    source: DecisionSource
    caller: str
    """The principal of the call (as Activity.caller)."""
    cause: str
    trigger: bytes
    """What set a policy off, as the policy service passed it (a serialized autoscale.v1.ScalingTrigger); empty: none."""
    adjustment_type: AdjustmentType | None
    """An Adjust's; None for the other sources (they ask `requested_capacity`, or only sizes)."""
    adjustment: int
    min_adjustment_step: int
    step_scaling: bool
    calculation: CapacityCalculation | None
    """None when refused, skipped or failed, when a desired capacity was given, and for a step scale-in that waits or a
    step of no change."""
    previous_capacity: int
    desired_capacity: int
    outcome: DecisionOutcome
    refusal: Refusal | None
    cooldown_end: float | None
    """With refusal COOLDOWN: when the cooldown ends."""
    reason: str
    """What was done, or why not, for people."""
    activity_id: str
    """The activity recorded; empty when refused or skipped, or when an UpdateGroup kept the capacity."""
    scheduled_action_id: str = ""
    """With source SCHEDULED_ACTION: the action that ran."""
    requested_capacity: int | None = None
    """The desired capacity a SetDesiredCapacity, UpdateGroup or scheduled action asked; None: none (an Adjust's, or only
    sizes)."""


def group_name(group_id: str) -> str:
    """`groups/{id}`."""
    return f"groups/{group_id}"


def launch_config_name(launch_config_id: str) -> str:
    """`launchConfigs/{id}`."""
    return f"launchConfigs/{launch_config_id}"


def instance_name(group_id: str, instance_id: str) -> str:
    """`groups/{g}/instances/{i}`."""
    return f"groups/{group_id}/instances/{instance_id}"


def lifecycle_hook_name(group_id: str, hook_id: str) -> str:
    """`groups/{g}/lifecycleHooks/{h}`."""
    return f"groups/{group_id}/lifecycleHooks/{hook_id}"


def instance_refresh_name(group_id: str, refresh_id: str) -> str:
    """`groups/{g}/instanceRefreshes/{r}`."""
    return f"groups/{group_id}/instanceRefreshes/{refresh_id}"


def scheduled_action_name(group_id: str, action_id: str) -> str:
    """`groups/{g}/scheduledActions/{s}`."""
    return f"groups/{group_id}/scheduledActions/{action_id}"


def activity_name(group_id: str, activity_id: str) -> str:
    """`groups/{g}/activities/{a}`."""
    return f"groups/{group_id}/activities/{activity_id}"


def scaling_decision_name(group_id: str, decision_id: str) -> str:
    """`groups/{g}/scalingDecisions/{d}`."""
    return f"groups/{group_id}/scalingDecisions/{decision_id}"


def new_decision_id() -> str:
    """A server-made scaling decision id, URL-safe: "d-" and 12 random hex digits."""
    return "d-" + secrets.token_hex(6)


def new_instance_id() -> str:
    """A server-made instance id, URL-safe: "i-" and 12 random hex digits."""
    return "i-" + secrets.token_hex(6)


def new_activity_id() -> str:
    """A server-made activity id, URL-safe: "a-" and 12 random hex digits."""
    return "a-" + secrets.token_hex(6)
