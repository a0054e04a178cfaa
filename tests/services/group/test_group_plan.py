"""The reconcile plan: what to launch and what to remove, in which order."""

from __future__ import annotations

import pytest

from services.group.domain import Instance, InstanceState
from services.group.plan import is_converged, plan_reconcile

P, R, T, F = InstanceState.PENDING, InstanceState.RUNNING, InstanceState.TERMINATING, InstanceState.FAILED


def _instances(*states: InstanceState) -> list[Instance]:
    """Instances i0, i1, ... created in that order (i0 oldest), listed newest first to prove the plan sorts them."""
    made = [
        Instance(id=f"i{n}", group_id="web", kind="process", launch_config_id="lc", state=state, create_time=100.0 + n)
        for n, state in enumerate(states)
    ]
    return list(reversed(made))


@pytest.mark.parametrize(
    ("states", "target", "launch_count", "removed"),
    [
        ((), 0, 0, []),
        ((), 3, 3, []),
        ((R, R), 2, 0, []),
        ((R, P), 3, 1, []),  # pending instances count as live
        ((R, R, R), 1, 0, ["i0", "i1"]),  # scale-in removes the oldest
        ((R, F), 2, 1, ["i1"]),  # a failed instance is removed and replaced
        ((R, R, F, R), 2, 0, ["i2", "i0"]),  # scale-in removes failed first, then the oldest
        ((F, R, R, R), 1, 0, ["i0", "i1", "i2"]),
        ((T, R), 1, 0, ["i0"]),  # a removal that did not finish is retried
        ((T, F, R), 2, 1, ["i0", "i1"]),
        ((R, R), 0, 0, ["i0", "i1"]),
    ],
)
def test_plan_brings_live_instances_to_the_target(states, target, launch_count, removed):
    plan = plan_reconcile(_instances(*states), target)
    assert plan.launch_count == launch_count
    assert [instance.id for instance in plan.remove] == removed


def test_scale_in_removes_failed_instances_first_then_the_oldest():
    plan = plan_reconcile(_instances(R, R, R, F), 1)
    assert [instance.id for instance in plan.remove] == ["i3", "i0", "i1"]


@pytest.mark.parametrize(
    ("states", "target", "converged"),
    [
        ((), 0, True),
        ((R, R), 2, True),
        ((R, P), 2, False),
        ((R, R, T), 2, False),
        ((R, F), 1, False),
        ((R,), 2, False),
        ((R, R, R), 2, False),
    ],
)
def test_converged_means_exactly_the_target_running_and_nothing_else(states, target, converged):
    assert is_converged(_instances(*states), target) is converged
