"""The reconcile plan: given a group's instances and its target capacity, what to change.

Pure: the reconcile loop observes the instances, asks for a plan, and carries it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.group.domain import LIVE_STATES, Instance, InstanceState


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


def plan_reconcile(instances: Sequence[Instance], target_capacity: int) -> ReconcilePlan:
    """Bring the live (PENDING or RUNNING) instances to `target_capacity`.

    FAILED instances are always removed, and so are TERMINATING ones (whose removal
    is retried). Missing live instances are launched; surplus ones are removed oldest
    first, as Heat does, after the failed ones.
    """
    ordered = oldest_first(instances)
    broken = [i for i in ordered if i.state in (InstanceState.TERMINATING, InstanceState.FAILED)]
    live = [i for i in ordered if i.state in LIVE_STATES]
    surplus = live[: max(0, len(live) - target_capacity)]
    return ReconcilePlan(launch_count=max(0, target_capacity - len(live)), remove=(*broken, *surplus))


def is_converged(instances: Sequence[Instance], target_capacity: int) -> bool:
    """Whether exactly `target_capacity` instances run and nothing starts, stops or has failed."""
    return len(instances) == target_capacity and all(i.state is InstanceState.RUNNING for i in instances)
