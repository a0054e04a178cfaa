"""The short words the command line accepts for protobuf enums, each mapped to its value."""

from __future__ import annotations

from app.cli.params import EnumChoice
from autoscale.v1 import alarm_pb2, common_pb2, group_pb2, policy_pb2

ADJUSTMENT_TYPE = EnumChoice(
    {
        "change": common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY,
        "exact": common_pb2.ADJUSTMENT_TYPE_EXACT_CAPACITY,
        "percent": common_pb2.ADJUSTMENT_TYPE_PERCENT_CHANGE_IN_CAPACITY,
    }
)
"""`--type`: add N instances, set N instances, or change by N percent."""

ADJUSTMENT_TYPE_HELP = "change: add N instances; exact: N instances; percent: change by N percent."
ADJUSTMENT_HELP = "N (may be negative for change and percent)."
MIN_STEP_HELP = "percent: the least change in instances."
"""Help of the adjustment options shared by `group adjust` and `policy create`/`update`."""

STATISTIC = EnumChoice(
    {
        "avg": common_pb2.STATISTIC_AVERAGE,
        "min": common_pb2.STATISTIC_MINIMUM,
        "max": common_pb2.STATISTIC_MAXIMUM,
        "sum": common_pb2.STATISTIC_SUM,
        "count": common_pb2.STATISTIC_SAMPLE_COUNT,
    }
)
"""`--statistic`: what is computed over the points of each period."""

COMPARISON = EnumChoice(
    {
        "gt": alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN,
        "ge": alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN_OR_EQUAL,
        "lt": alarm_pb2.COMPARISON_OPERATOR_LESS_THAN,
        "le": alarm_pb2.COMPARISON_OPERATOR_LESS_THAN_OR_EQUAL,
    }
)
"""`--comparison`: how the statistic is compared with the threshold."""

MISSING_DATA = EnumChoice(
    {
        "missing": alarm_pb2.TREAT_MISSING_DATA_MISSING,
        "not-breaching": alarm_pb2.TREAT_MISSING_DATA_NOT_BREACHING,
        "breaching": alarm_pb2.TREAT_MISSING_DATA_BREACHING,
        "ignore": alarm_pb2.TREAT_MISSING_DATA_IGNORE,
    }
)
"""`--treat-missing-data`: how periods without data count (CloudWatch's TreatMissingData)."""

COMPARISON_SYMBOLS = {
    alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN: ">",
    alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN_OR_EQUAL: ">=",
    alarm_pb2.COMPARISON_OPERATOR_LESS_THAN: "<",
    alarm_pb2.COMPARISON_OPERATOR_LESS_THAN_OR_EQUAL: "<=",
}
"""Comparison operators as people write them, for tables."""

ALARM_STATE = EnumChoice(
    {
        "ok": alarm_pb2.ALARM_STATE_OK,
        "alarm": alarm_pb2.ALARM_STATE_ALARM,
        "insufficient-data": alarm_pb2.ALARM_STATE_INSUFFICIENT_DATA,
    }
)
"""A state an alarm can be forced into."""


def word_for(choice: EnumChoice, value: int) -> str:
    """The word of `choice` that stands for `value`, e.g. `avg` for STATISTIC_AVERAGE; the number if none does."""
    return next((word for word, number in choice.values.items() if number == value), str(value))

RECEIVER_FORMAT = EnumChoice(
    {
        "plain": policy_pb2.RECEIVER_FORMAT_PLAIN,
        "alertmanager": policy_pb2.RECEIVER_FORMAT_ALERTMANAGER,
        "aodh": policy_pb2.RECEIVER_FORMAT_AODH,
    }
)
"""`--format`: how a receiver reads the signals POSTed to it."""

TERMINATION_POLICY = EnumChoice(
    {
        "oldest-instance": group_pb2.TERMINATION_POLICY_OLDEST_INSTANCE,
        "newest-instance": group_pb2.TERMINATION_POLICY_NEWEST_INSTANCE,
        "oldest-launch-config": group_pb2.TERMINATION_POLICY_OLDEST_LAUNCH_CONFIGURATION,
        "default": group_pb2.TERMINATION_POLICY_DEFAULT,
    }
)
"""`--termination-policy`: which instances a scale-in removes first."""

LIFECYCLE_TRANSITION = EnumChoice(
    {
        "launching": group_pb2.LIFECYCLE_TRANSITION_INSTANCE_LAUNCHING,
        "terminating": group_pb2.LIFECYCLE_TRANSITION_INSTANCE_TERMINATING,
    }
)
"""`--transition`: when a lifecycle hook holds an instance."""

LIFECYCLE_RESULT = EnumChoice(
    {
        "continue": group_pb2.LIFECYCLE_ACTION_RESULT_CONTINUE,
        "abandon": group_pb2.LIFECYCLE_ACTION_RESULT_ABANDON,
    }
)
"""How a lifecycle hook's wait ends."""

SCALING_PROCESS = EnumChoice(
    {
        "launch": group_pb2.SCALING_PROCESS_LAUNCH,
        "terminate": group_pb2.SCALING_PROCESS_TERMINATE,
        "health-check": group_pb2.SCALING_PROCESS_HEALTH_CHECK,
        "replace-unhealthy": group_pb2.SCALING_PROCESS_REPLACE_UNHEALTHY,
        "alarm-notification": group_pb2.SCALING_PROCESS_ALARM_NOTIFICATION,
        "scheduled-actions": group_pb2.SCALING_PROCESS_SCHEDULED_ACTIONS,
        "add-to-load-balancer": group_pb2.SCALING_PROCESS_ADD_TO_LOAD_BALANCER,
        "instance-refresh": group_pb2.SCALING_PROCESS_INSTANCE_REFRESH,
    }
)
"""A process of a group that `group suspend` holds."""
