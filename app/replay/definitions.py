"""What a replay reads of a running deployment: a group, its policies, the alarms that signal them, its scheduled actions,
and their alarms' statistics over the window; each turned into the services' own domain objects.

Only reads: nothing here changes the deployment.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.cli.client import Client
from autoscale.netguard import AddressGuard
from autoscale.series import STATISTIC_NUMBERS
from autoscale.timeutil import MAX_TIME, from_duration, from_timestamp, to_duration, to_timestamp
from autoscale.v1 import alarm_pb2, group_pb2, metrics_pb2, policy_pb2
from autoscale.validation import Violations
from services.alarm import composite
from services.alarm import rules as alarm_rules
from services.alarm.domain import Alarm, CompositeRule, ThresholdRule, is_policy_action
from services.alarm.evaluation import Datapoint, window_periods
from services.group import messages as group_messages
from services.group.domain import Group
from services.group.schedule import ScheduledAction
from services.policy import messages as policy_messages
from services.policy.domain import AdjustmentType, Policy, TrackedMetric, metrics_service_series
from services.policy.forecast import WindowSum
from services.policy.metrics_client import window_sum_of, window_sum_request


@dataclass(frozen=True)
class Definitions:
    """A group and what acts on it, as stored now."""

    group: Group
    policies: tuple[Policy, ...]
    alarms: tuple[Alarm, ...]
    scheduled_actions: tuple[ScheduledAction, ...]
    skipped: tuple[str, ...]
    """Alarms that signal the group's policies but are not replayed, and why (for people)."""


@dataclass(frozen=True)
class Clients:
    """A client of each service a replay reads."""

    group: Client
    policy: Client
    alarm: Client
    metrics: Client


def read_definitions(clients: Clients, group_id: str, now: float) -> Definitions:
    """The group `group_id` and what acts on it (NOT_FOUND and other failures as the CLI reports them)."""
    group_message = clients.group.call("GetGroup", group_pb2.GetGroupRequest(name=f"groups/{group_id}")).group
    group = group_messages.group_from_message(Violations(), group_message, group_id, now)
    listed = clients.policy.list_all("ListPolicies", policy_pb2.ListPoliciesRequest(), "policies").policies
    policies = tuple(policy_from_message(message) for message in listed if message.group == f"groups/{group_id}")
    names = {f"policies/{policy.id}" for policy in policies}
    every_alarm = {message.name.removeprefix("alarms/"): message for message in clients.alarm.list_all(
        "ListAlarms", alarm_pb2.ListAlarmsRequest(), "alarms"
    ).alarms}
    acting = [alarm_id for alarm_id, message in every_alarm.items() if names & set(_actions(message))]
    alarms, skipped = _with_named(acting, every_alarm)
    request = group_pb2.ListScheduledActionsRequest(parent=f"groups/{group_id}")
    scheduled = clients.group.list_all("ListScheduledActions", request, "scheduled_actions").scheduled_actions
    actions = tuple(
        group_messages.scheduled_action_from_message(Violations(), message, group_id, message.name.rsplit("/", 1)[-1], now)
        for message in scheduled
    )
    return Definitions(group, policies, alarms, actions, skipped)


def policy_from_message(message: policy_pb2.Policy) -> Policy:
    """The domain policy of a stored Policy message (as GetPolicy answers it)."""
    return Policy(
        id=message.name.removeprefix("policies/"),
        group_id=message.group.removeprefix("groups/"),
        adjustment_type=policy_messages.ADJUSTMENT_TYPES.get(message.adjustment_type, AdjustmentType.CHANGE_IN_CAPACITY),
        scaling_adjustment=message.scaling_adjustment,
        min_adjustment_step=message.min_adjustment_step,
        cooldown=policy_messages.cooldown_from_message(message),
        step_adjustments=tuple(policy_messages.step_from_message(step) for step in message.step_adjustments),
        metric_aggregation_type=policy_messages.METRIC_AGGREGATION_TYPES.get(message.metric_aggregation_type),
        estimated_instance_warmup=(
            from_duration(message.estimated_instance_warmup) if message.HasField("estimated_instance_warmup") else None
        ),
        target_tracking=(
            policy_messages.target_tracking_from_message(message.target_tracking) if message.HasField("target_tracking") else None
        ),
    )


def _actions(message: alarm_pb2.Alarm) -> list[str]:
    return [*message.alarm_actions, *message.ok_actions, *message.insufficient_data_actions]


def _with_named(acting: list[str], every_alarm: dict[str, alarm_pb2.Alarm]) -> tuple[tuple[Alarm, ...], tuple[str, ...]]:
    """The alarms that act, and those their composite rules name (in turn); those that cannot be replayed apart."""
    alarms: dict[str, Alarm] = {}
    skipped: list[str] = []
    waiting = list(acting)
    while waiting:
        alarm_id = waiting.pop()
        if alarm_id in alarms or alarm_id not in every_alarm:
            continue
        message = alarm_pb2.Alarm()
        message.CopyFrom(every_alarm[alarm_id])
        # Webhooks are not called by a replay: only the policy actions are kept (and judged as the service judges them).
        for field in ("alarm_actions", "ok_actions", "insufficient_data_actions"):
            kept = [target for target in getattr(message, field) if is_policy_action(target)]
            message.ClearField(field)
            getattr(message, field).extend(kept)
        definition = alarm_rules.check_alarm(Violations(), message, AddressGuard())
        if definition is None:
            skipped.append(f"alarms/{alarm_id}: its definition cannot be read here")
            continue
        rule = definition.rule
        if not isinstance(rule, ThresholdRule | CompositeRule):
            skipped.append(f"alarms/{alarm_id}: it reads {rule.store.capitalize()}, which a replay does not ask")
            continue
        alarms[alarm_id] = Alarm(
            id=alarm_id, rule=rule, alarm_actions=definition.alarm_actions, ok_actions=definition.ok_actions,
            insufficient_data_actions=definition.insufficient_data_actions, disabled=definition.disabled, project="",
        )
        if isinstance(rule, CompositeRule):
            waiting.extend(composite.references(composite.parse(rule.expression)))
    return tuple(alarms[key] for key in sorted(alarms)), tuple(skipped)


def read_datapoints(metrics: Client, alarm: Alarm, start: float, end: float) -> list[Datapoint]:
    """The statistics of an alarm over metrics from the periods before `start` its rule reads to `end`."""
    rule = alarm.rule
    assert isinstance(rule, ThresholdRule)
    request = metrics_pb2.GetStatisticsRequest(
        metric=rule.metric, dimensions=dict(rule.dimensions), statistic=STATISTIC_NUMBERS[rule.statistic],
        # The periods before `start` its rule reads, and one after `end`, within the times the Metrics service takes.
        period=to_duration(rule.period), start_time=to_timestamp(max(0.0, start - window_periods(rule) * rule.period)),
        end_time=to_timestamp(min(float(MAX_TIME), end + rule.period)),
    )
    answer = metrics.call("GetStatistics", request)
    return [Datapoint(from_timestamp(point.start_time), point.value, point.sample_count) for point in answer.datapoints]


def stored_window_sums(metrics: Client, group_id: str, metric: TrackedMetric) -> WindowSum:
    """The history a target tracking policy's predictive floor reads (`autoscale replay`, `autoscale policy forecast`): its
    metric's sum over its group's series in a window, asked of the Metrics service as the policy service asks it (one
    GetStatistics a season and moment)."""
    metric_name, dimensions, _ = metrics_service_series(group_id, metric)

    def window_sum(start: float, end: float) -> float | None:
        if end <= 0:
            return None  # a season before the epoch: nothing was stored then
        return window_sum_of(metrics.call("GetStatistics", window_sum_request(metric_name, dimensions, max(0.0, start), end)))

    return window_sum
