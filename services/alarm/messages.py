"""Conversions between the alarm service's protobuf messages and its domain objects."""

from __future__ import annotations

from typing import Any

from autoscale.series import STATISTIC_NUMBERS
from autoscale.timeutil import to_duration, to_timestamp
from autoscale.v1 import alarm_pb2
from services.alarm.domain import (
    Alarm,
    AlarmState,
    ComparisonOperator,
    CompositeRule,
    GnocchiRule,
    HistoryEntry,
    HistoryType,
    Rule,
    ThresholdRule,
    TreatMissingData,
    alarm_name,
)

COMPARISONS = {
    alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN: ComparisonOperator.GREATER_THAN,
    alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN_OR_EQUAL: ComparisonOperator.GREATER_THAN_OR_EQUAL,
    alarm_pb2.COMPARISON_OPERATOR_LESS_THAN: ComparisonOperator.LESS_THAN,
    alarm_pb2.COMPARISON_OPERATOR_LESS_THAN_OR_EQUAL: ComparisonOperator.LESS_THAN_OR_EQUAL,
}
STATES = {
    alarm_pb2.ALARM_STATE_OK: AlarmState.OK,
    alarm_pb2.ALARM_STATE_ALARM: AlarmState.ALARM,
    alarm_pb2.ALARM_STATE_INSUFFICIENT_DATA: AlarmState.INSUFFICIENT_DATA,
}
HISTORY_TYPES = {
    HistoryType.CREATION: alarm_pb2.ALARM_HISTORY_TYPE_CREATION,
    HistoryType.RULE_CHANGE: alarm_pb2.ALARM_HISTORY_TYPE_RULE_CHANGE,
    HistoryType.STATE_TRANSITION: alarm_pb2.ALARM_HISTORY_TYPE_STATE_TRANSITION,
    HistoryType.ACTION: alarm_pb2.ALARM_HISTORY_TYPE_ACTION,
    HistoryType.STATE_REASON_CHANGE: alarm_pb2.ALARM_HISTORY_TYPE_STATE_REASON_CHANGE,
}
MISSING_DATA_TREATMENTS = {
    alarm_pb2.TREAT_MISSING_DATA_MISSING: TreatMissingData.MISSING,
    alarm_pb2.TREAT_MISSING_DATA_NOT_BREACHING: TreatMissingData.NOT_BREACHING,
    alarm_pb2.TREAT_MISSING_DATA_BREACHING: TreatMissingData.BREACHING,
    alarm_pb2.TREAT_MISSING_DATA_IGNORE: TreatMissingData.IGNORE,
}
MISSING_DATA_MESSAGES = {domain: message for message, domain in MISSING_DATA_TREATMENTS.items()}
COMPARISON_MESSAGES = {domain: message for message, domain in COMPARISONS.items()}
STATE_MESSAGES = {domain: message for message, domain in STATES.items()}


def rule_fields(rule: Rule) -> dict[str, Any]:
    """The Alarm field of a rule, by its kind: {"threshold_rule": ...}, {"prometheus_rule": ...}, {"gnocchi_rule": ...} or
    {"composite_rule": ...}."""
    if isinstance(rule, CompositeRule):
        return {"composite_rule": alarm_pb2.CompositeRule(expression=rule.expression)}
    if isinstance(rule, ThresholdRule):
        return {"threshold_rule": alarm_pb2.ThresholdRule(
            metric=rule.metric,
            dimensions=dict(rule.dimensions),
            statistic=STATISTIC_NUMBERS[rule.statistic],
            comparison_operator=COMPARISON_MESSAGES[rule.comparison],
            threshold=rule.threshold,
            period=to_duration(rule.period),
            evaluation_periods=rule.evaluation_periods,
        )}
    if isinstance(rule, GnocchiRule):
        return {"gnocchi_rule": alarm_pb2.GnocchiRule(
            metric=rule.metric,
            resource_type=rule.resource_type,
            resource_id=rule.resource_id,
            resource_query=rule.resource_query,
            metric_ids=rule.metric_ids,
            aggregation_method=rule.aggregation_method,
            comparison_operator=COMPARISON_MESSAGES[rule.comparison],
            threshold=rule.threshold,
            period=to_duration(rule.period),
            evaluation_periods=rule.evaluation_periods,
        )}
    return {"prometheus_rule": alarm_pb2.PrometheusRule(
        query=rule.query,
        comparison_operator=COMPARISON_MESSAGES[rule.comparison],
        threshold=rule.threshold,
        period=to_duration(rule.period),
        evaluation_periods=rule.evaluation_periods,
    )}


def alarm_to_message(alarm: Alarm, *, with_webhook_secret: bool = False) -> alarm_pb2.Alarm:
    """An Alarm message of a stored alarm; its webhook secret only `with_webhook_secret` (in the answer that made it)."""
    return alarm_pb2.Alarm(
        name=alarm_name(alarm.id),
        description=alarm.description,
        **rule_fields(alarm.rule),
        alarm_actions=alarm.alarm_actions,
        ok_actions=alarm.ok_actions,
        insufficient_data_actions=alarm.insufficient_data_actions,
        repeat_actions=alarm.repeat_actions,
        state=STATE_MESSAGES[alarm.state],
        state_reason=alarm.state_reason,
        state_time=to_timestamp(alarm.state_time),
        disabled=alarm.disabled,
        create_time=to_timestamp(alarm.create_time),
        evaluate_time=to_timestamp(alarm.evaluate_time),
        webhook_secret=alarm.webhook_secret if with_webhook_secret else "",
        owner=alarm.owner,
        **_missing_data_fields(alarm.rule),
    )


def _missing_data_fields(rule: Rule) -> dict[str, Any]:
    """The Alarm fields of a periodic rule's CloudWatch settings (a composite rule has none)."""
    if isinstance(rule, CompositeRule):
        return {}
    treatment = MISSING_DATA_MESSAGES[rule.treat_missing_data] if rule.treat_missing_data else 0
    return {"datapoints_to_alarm": rule.datapoints_to_alarm, "treat_missing_data": treatment}


def history_to_message(entry: HistoryEntry) -> alarm_pb2.AlarmHistoryEntry:
    """An AlarmHistoryEntry message of a stored entry."""
    return alarm_pb2.AlarmHistoryEntry(
        time=to_timestamp(entry.time),
        type=HISTORY_TYPES[entry.type],
        previous_state=STATE_MESSAGES[entry.previous_state] if entry.previous_state else alarm_pb2.ALARM_STATE_UNSPECIFIED,
        state=STATE_MESSAGES[entry.state] if entry.state else alarm_pb2.ALARM_STATE_UNSPECIFIED,
        reason=entry.reason,
        action=entry.action,
        action_succeeded=entry.action_succeeded,
        attempt=entry.attempt,
        caller=entry.caller,
    )
