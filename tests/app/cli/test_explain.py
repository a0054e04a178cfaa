"""`autoscale group explain`: each scaling decision read as one block, whatever asked and whatever came of it."""

from __future__ import annotations

import json

import pytest

from app.cli.explain import decision_text
from autoscale.timeutil import to_timestamp
from autoscale.v1 import alarm_pb2, common_pb2, group_pb2
from tests.app.cli.cli_support import Invoke

PERCENT = common_pb2.ADJUSTMENT_TYPE_PERCENT_CHANGE_IN_CAPACITY
CHANGE = common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY
NOW = 1_796_565_730.0  # 2026-12-06T14:02:10Z
ALARM_TRIGGER = group_pb2.ScalingTrigger(
    policy="policies/web-out", alarm="alarms/web-busy", alarm_state=alarm_pb2.ALARM_STATE_ALARM, datapoints=[91, 95],
    threshold=80, comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN,
)


def _decision(**fields) -> group_pb2.ScalingDecision:  # type: ignore[no-untyped-def]
    values = {
        "decide_time": to_timestamp(NOW), "source": group_pb2.SCALING_DECISION_SOURCE_ALARM, "caller": "autoscale-service",
        "trigger": ALARM_TRIGGER, "adjustment_type": PERCENT, "adjustment": 30, "previous_capacity": 4, "desired_capacity": 5,
        "outcome": group_pb2.SCALING_DECISION_OUTCOME_ADJUSTED, "reason": "desired capacity 4 → 5",
        "activity": "groups/web/activities/a-1",
        "calculation": group_pb2.CapacityCalculation(
            base_capacity=4, raw_capacity=5.2, rounded_capacity=5, clamped_capacity=5, min_size=1, max_size=5
        ),
        **fields,
    }
    return group_pb2.ScalingDecision(**values)


COOLDOWN_REASON = "group groups/web is in cooldown until 2026-12-06T14:03:10Z (30s left)"


TRACKING_TRIGGER = group_pb2.ScalingTrigger(
    policy="policies/web-cpu", alarm="alarms/web-cpu-target", alarm_state=alarm_pb2.ALARM_STATE_OK, datapoints=[31.0],
    threshold=50.0, comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN, recommended_capacity=12,
    policy_reason="scale-up rate limited to 6",
)


@pytest.mark.parametrize(
    ("decision", "text"),
    [
        (
            _decision(trigger=TRACKING_TRIGGER, adjustment_type=common_pb2.ADJUSTMENT_TYPE_EXACT_CAPACITY, adjustment=6),
            "2026-12-06T14:02:10Z  alarms/web-cpu-target OK (31 vs 50) -> policies/web-cpu (recommends 12: scale-up rate "
            "limited to 6) exactly 6 : 4 -> raw 5.2 -> 5 : adjusted 4 -> 5\n    by autoscale-service; activity "
            "groups/web/activities/a-1",
        ),
        (
            _decision(),
            "2026-12-06T14:02:10Z  alarms/web-busy ALARM (91, 95 > 80) -> policies/web-out +30% : 4 -> raw 5.2 -> 5 : "
            "adjusted 4 -> 5\n    by autoscale-service; activity groups/web/activities/a-1",
        ),
        (
            _decision(
                calculation=group_pb2.CapacityCalculation(
                    base_capacity=4, raw_capacity=6, rounded_capacity=6, clamped_capacity=5, min_size=1, max_size=5
                ),
                adjustment=50,
            ),
            "2026-12-06T14:02:10Z  alarms/web-busy ALARM (91, 95 > 80) -> policies/web-out +50% : 4 -> raw 6 -> 6 -> clamped 5 "
            "(max 5) : adjusted 4 -> 5\n    by autoscale-service; activity groups/web/activities/a-1",
        ),
        (
            _decision(
                calculation=None, outcome=group_pb2.SCALING_DECISION_OUTCOME_REFUSED, refusal=group_pb2.ADJUST_REFUSAL_COOLDOWN,
                cooldown_end_time=to_timestamp(NOW + 60), previous_capacity=5, reason=COOLDOWN_REASON, activity="",
            ),
            "2026-12-06T14:02:10Z  alarms/web-busy ALARM (91, 95 > 80) -> policies/web-out +30% : not adjusted: cooldown until "
            f"2026-12-06T14:03:10Z\n    by autoscale-service; {COOLDOWN_REASON}",
        ),
        (
            _decision(
                source=group_pb2.SCALING_DECISION_SOURCE_POLICY, trigger=group_pb2.ScalingTrigger(policy="policies/web-out"),
                caller="policies/web-out/receivers/am", calculation=None, outcome=group_pb2.SCALING_DECISION_OUTCOME_REFUSED,
                refusal=group_pb2.ADJUST_REFUSAL_SUSPENDED, reason="suspended", activity="",
            ),
            "2026-12-06T14:02:10Z  policies/web-out +30% : not adjusted: alarm notifications suspended\n"
            "    by policies/web-out/receivers/am; suspended",
        ),
        (
            _decision(
                trigger=group_pb2.ScalingTrigger(
                    policy="policies/steps", alarm="alarms/web-busy", alarm_state=alarm_pb2.ALARM_STATE_ALARM,
                    datapoints=[1, 2, 3, 4, 5, 63], threshold=50, comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN,
                    metric_value=63, breach_threshold=50, step_lower_bound=10,
                ),
                step_scaling=True, adjustment=10, desired_capacity=4, outcome=group_pb2.SCALING_DECISION_OUTCOME_UNCHANGED,
                calculation=group_pb2.CapacityCalculation(
                    base_capacity=3, raw_capacity=3.3, rounded_capacity=4, clamped_capacity=4, min_size=1, max_size=5
                ),
                reason="capacity stays at 4 (from 3 instances ..., desired capacity 4 already covers it)",
            ),
            "2026-12-06T14:02:10Z  alarms/web-busy ALARM (..., 2, 3, 4, 5, 63 > 50) -> policies/steps (breach 13: step 10 .. +inf) "
            "+10% : 3 warmed up -> raw 3.3 -> 4 : unchanged at 4\n    by autoscale-service; capacity stays at 4 (from 3 instances "
            "..., desired capacity 4 already covers it); activity groups/web/activities/a-1",
        ),
        (
            group_pb2.ScalingDecision(
                decide_time=to_timestamp(NOW), source=group_pb2.SCALING_DECISION_SOURCE_SET_DESIRED_CAPACITY, caller="user:ann",
                requested_capacity=3, previous_capacity=4, desired_capacity=3, outcome=group_pb2.SCALING_DECISION_OUTCOME_ADJUSTED,
                activity="groups/web/activities/a-2",
            ),
            "2026-12-06T14:02:10Z  SetDesiredCapacity to 3 : adjusted 4 -> 3\n    by user:ann; activity groups/web/activities/a-2",
        ),
        (
            _decision(
                source=group_pb2.SCALING_DECISION_SOURCE_ADJUST, trigger=None, caller="", adjustment_type=CHANGE, adjustment=-2,
                calculation=group_pb2.CapacityCalculation(
                    base_capacity=1, raw_capacity=-1, rounded_capacity=-1, clamped_capacity=1, min_size=1, max_size=5
                ),
                previous_capacity=1, desired_capacity=1, outcome=group_pb2.SCALING_DECISION_OUTCOME_UNCHANGED,
                reason="capacity stays at 1 (already at min_size 1)",
            ),
            "2026-12-06T14:02:10Z  Adjust -2 : 1 -> raw -1 -> -1 -> clamped 1 (min 1) : unchanged at 1\n"
            "    by anonymous; capacity stays at 1 (already at min_size 1); activity groups/web/activities/a-1",
        ),
        (
            group_pb2.ScalingDecision(
                decide_time=to_timestamp(NOW), source=group_pb2.SCALING_DECISION_SOURCE_SCHEDULED_ACTION, caller="autoscale-service",
                scheduled_action="groups/web/scheduledActions/night", requested_capacity=1, previous_capacity=3,
                desired_capacity=3, outcome=group_pb2.SCALING_DECISION_OUTCOME_SKIPPED,
                reason="its run of 2026-12-06T14:00:00Z was skipped: the group's scheduled actions are suspended",
            ),
            "2026-12-06T14:02:10Z  groups/web/scheduledActions/night to 1 : skipped\n    by autoscale-service; its run of "
            "2026-12-06T14:00:00Z was skipped: the group's scheduled actions are suspended",
        ),
        (
            group_pb2.ScalingDecision(
                decide_time=to_timestamp(NOW), source=group_pb2.SCALING_DECISION_SOURCE_UPDATE_GROUP, caller="user:ann",
                previous_capacity=4, desired_capacity=3, outcome=group_pb2.SCALING_DECISION_OUTCOME_ADJUSTED,
                calculation=group_pb2.CapacityCalculation(
                    base_capacity=4, raw_capacity=4, rounded_capacity=4, clamped_capacity=3, min_size=0, max_size=3
                ),
                activity="groups/web/activities/a-3",
            ),
            "2026-12-06T14:02:10Z  UpdateGroup sizes : 4 -> raw 4 -> 4 -> clamped 3 (max 3) : adjusted 4 -> 3\n"
            "    by user:ann; activity groups/web/activities/a-3",
        ),
    ],
)
def test_a_decision_reads_as_its_chain_its_maths_and_its_outcome(decision: group_pb2.ScalingDecision, text: str) -> None:
    assert decision_text(decision) == text


def test_group_explain_shows_an_operators_adjustments_newest_first(invoke: Invoke, web_group: str) -> None:
    assert invoke("group", "adjust", web_group, "--type", "change", "--adjustment", "2").exit_code == 0
    assert invoke("group", "adjust", web_group, "--type", "change", "--adjustment", "9").exit_code == 0
    explained = invoke("group", "explain", web_group)
    assert explained.exit_code == 0, explained.output
    newest, oldest = explained.stdout.split("\n    ")[0], explained.stdout.split("\n")[2]
    assert newest.endswith("Adjust +9 : 2 -> raw 11 -> 11 -> clamped 5 (max 5) : adjusted 2 -> 5")
    assert oldest.endswith("Adjust +2 : 0 -> raw 2 -> 2 : adjusted 0 -> 2")

    limited = json.loads(invoke("group", "explain", web_group, "--limit", "1", "--json").stdout)
    assert [d["desiredCapacity"] for d in limited["scalingDecisions"]] == [5]
    assert invoke("group", "explain", web_group, "--limit", "0").exit_code == 2


def test_group_explain_of_a_group_without_decisions_says_so(invoke: Invoke, web_group: str) -> None:
    explained = invoke("group", "explain", web_group)
    assert explained.exit_code == 0 and explained.stderr.strip() == "no scaling decisions"


def test_group_explain_shows_among_the_decisions_what_a_policy_found_nothing_to_ask(invoke: Invoke, web_group: str) -> None:
    created = invoke("policy", "create", "steps", "--group", web_group, "--type", "change", "--step", "0:10:1", "--step", "10::2")
    assert created.exit_code == 0, created.output
    assert invoke("policy", "execute", "steps", "--metric-value", "40", "--breach-threshold", "50").exit_code == 0
    assert invoke("policy", "execute", "steps", "--metric-value", "65", "--breach-threshold", "50").exit_code == 0
    explained = invoke("group", "explain", web_group)
    assert explained.exit_code == 0, explained.output
    newest, older = explained.stdout.split("\n")[0], explained.stdout.split("\n")[2]
    assert newest.endswith(": 0 warmed up -> raw 2 -> 2 : adjusted 0 -> 2") and "policies/steps (breach 15: step 10 .. +inf)" in newest
    assert older.endswith("policies/steps : not asked: no step holds the breach -10 (metric value 40, threshold 50): nothing to do")
    answer = json.loads(invoke("group", "explain", web_group, "--json").stdout)
    assert [e["policy"] for e in answer["policyExecutions"]] == ["policies/steps"]
    assert len(answer["scalingDecisions"]) == 1
