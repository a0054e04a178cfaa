"""The reconcile plan: given a group's instances and its target capacity, what to change.

Pure: the reconcile loop observes the instances, asks for a plan, and carries it out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from services.group.domain import LIVE_STATES, Instance, InstanceState, TerminationPolicy


@dataclass(frozen=True)
class ReconcilePlan:
    """What one reconcile pass does to a group."""

    launch_count: int
    """Instances to start."""
    remove: tuple[Instance, ...]
    """Instances to terminate and forget, in this order."""


def oldest_first(instances: Sequence[Instance]) -> list[Instance]:
    """The instances by creation time, oldest first (stable, so ties keep their order)."""
    return sorted(instances, key=lambda instance: instance.create_time)


NOT_IN_SERVICE = frozenset({InstanceState.PENDING, InstanceState.PENDING_WAIT})
"""Live instances not in service yet: a scale-in removes them first."""

DEFAULT_POLICIES = (TerminationPolicy.OLDEST_LAUNCH_CONFIGURATION, TerminationPolicy.OLDEST_INSTANCE)
"""What DEFAULT (and an empty list) means: instances of an older launch config first, then the oldest, as Heat does."""


def removal_order(
    instances: Sequence[Instance], policies: Sequence[TerminationPolicy], launch_config_id: str
) -> list[Instance]:
    """Live instances in the order a scale-in removes them: those not in service yet first, then as `policies`
    say, each breaking the ties of the ones before it; the oldest first when they all tie. `launch_config_id`: the
    group's current launch config."""
    expanded: list[TerminationPolicy] = []
    for policy in policies or (TerminationPolicy.DEFAULT,):
        expanded.extend(DEFAULT_POLICIES if policy is TerminationPolicy.DEFAULT else (policy,))
    keys: dict[TerminationPolicy, Callable[[Instance], float]] = {
        TerminationPolicy.OLDEST_INSTANCE: lambda i: i.create_time,
        TerminationPolicy.NEWEST_INSTANCE: lambda i: -i.create_time,
        TerminationPolicy.OLDEST_LAUNCH_CONFIGURATION: lambda i: 0.0 if i.launch_config_id != launch_config_id else 1.0,
    }
    return sorted(
        instances,
        key=lambda i: (i.state not in NOT_IN_SERVICE, *(keys[policy](i) for policy in expanded), i.create_time, i.id),
    )


def plan_reconcile(
    instances: Sequence[Instance],
    target_capacity: int,
    policies: Sequence[TerminationPolicy] = (),
    launch_config_id: str = "",
) -> ReconcilePlan:
    """Bring the live (PENDING or RUNNING) instances to `target_capacity`.

    FAILED instances are always removed, and so are TERMINATING ones (whose removal
    is retried); those in STANDBY, and those waiting for their termination lifecycle
    hooks (TERMINATING_WAIT), are left alone. Missing live instances are launched; surplus ones are removed after the
    failed ones, in the order of the group's termination policies (`removal_order`), those
    protected from scale-in never: while only protected ones are left, the group keeps more
    instances than it wants (as AWS does), until they are unprotected.
    """
    ordered = oldest_first(instances)
    broken = [i for i in ordered if i.state in (InstanceState.TERMINATING, InstanceState.FAILED)]
    live = [i for i in ordered if i.state in LIVE_STATES]
    candidates = [i for i in removal_order(live, policies, launch_config_id) if not i.protected_from_scale_in]
    surplus = candidates[: max(0, len(live) - target_capacity)]
    return ReconcilePlan(launch_count=max(0, target_capacity - len(live)), remove=(*broken, *surplus))


def is_converged(instances: Sequence[Instance], target_capacity: int) -> bool:
    """Whether exactly `target_capacity` instances run (or more, every one of them protected from scale-in: nothing more
    can be done) and nothing starts, stops or has failed; instances in STANDBY do not count."""
    counted = [i for i in instances if i.state is not InstanceState.STANDBY]
    if not all(i.state is InstanceState.RUNNING for i in counted):
        return False
    return len(counted) == target_capacity or (
        len(counted) > target_capacity and all(i.protected_from_scale_in for i in counted)
    )
