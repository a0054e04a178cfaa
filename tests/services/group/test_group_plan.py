"""The reconcile plan: what to launch and what to remove, in which order."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.group.domain import Instance, InstanceState, TerminationPolicy
from services.group.plan import is_converged, plan_reconcile, removal_order

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


OLDEST, NEWEST, OLD_CONFIG, DEFAULT = (
    TerminationPolicy.OLDEST_INSTANCE, TerminationPolicy.NEWEST_INSTANCE, TerminationPolicy.OLDEST_LAUNCH_CONFIGURATION,
    TerminationPolicy.DEFAULT,
)


def _mixed() -> list[Instance]:
    """i0..i3 running, oldest first; i1 and i3 run the group's old launch config `lc-old` (the current one is `lc`)."""
    return [replace(i, launch_config_id="lc-old") if i.id in ("i1", "i3") else i for i in _instances(R, R, R, R)]


@pytest.mark.parametrize(
    ("policies", "order"),
    [
        ((), ["i1", "i3", "i0", "i2"]),  # the default: the old launch config first, then the oldest
        ((DEFAULT,), ["i1", "i3", "i0", "i2"]),
        ((OLDEST,), ["i0", "i1", "i2", "i3"]),
        ((NEWEST,), ["i3", "i2", "i1", "i0"]),
        ((OLD_CONFIG,), ["i1", "i3", "i0", "i2"]),  # ties broken oldest first
        ((OLD_CONFIG, NEWEST), ["i3", "i1", "i2", "i0"]),
        ((NEWEST, OLD_CONFIG), ["i3", "i2", "i1", "i0"]),  # no ties left for the second
    ],
)
def test_termination_policies_order_the_scale_in_each_breaking_the_ties_of_the_ones_before(policies, order):
    assert [i.id for i in removal_order(_mixed(), policies, "lc")] == order


def test_instances_not_yet_running_are_removed_before_any_policy_applies():
    instances = [replace(i, state=P) if i.id == "i0" else i for i in _instances(R, R, R)]
    assert [i.id for i in plan_reconcile(instances, 1, (NEWEST,), "lc").remove] == ["i0", "i2"]


def test_failed_instances_go_first_whatever_the_policies():
    plan = plan_reconcile(_instances(R, R, F), 1, (NEWEST,), "lc")
    assert [i.id for i in plan.remove] == ["i2", "i1"]


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


def _protect(instances: list[Instance], *ids: str) -> list[Instance]:
    return [replace(i, protected_from_scale_in=True) if i.id in ids else i for i in instances]


def test_a_scale_in_never_chooses_a_protected_instance():
    plan = plan_reconcile(_protect(_instances(R, R, R), "i0"), 1)
    assert [i.id for i in plan.remove] == ["i1", "i2"]


def test_while_only_protected_instances_are_left_the_group_keeps_more_than_it_wants():
    instances = _protect(_instances(R, R, R), "i0", "i1")
    assert [i.id for i in plan_reconcile(instances, 0).remove] == ["i2"]
    kept = _protect(_instances(R, R), "i0", "i1")
    assert plan_reconcile(kept, 0).remove == () and is_converged(kept, 0)
    assert not is_converged(_protect(_instances(R, R), "i0"), 1)  # the unprotected one is still to go


def test_a_failed_protected_instance_is_still_replaced():
    plan = plan_reconcile(_protect(_instances(R, F), "i1"), 2)
    assert ([i.id for i in plan.remove], plan.launch_count) == (["i1"], 1)
