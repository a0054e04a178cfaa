"""The calls this service makes to AlarmService: whether alarms name a policy in their actions, and the alarms a target
tracking policy makes and owns.

DeletePolicy asks before it deletes, so that no alarm is left with an action whose target
is gone (it would fail each time the alarm fires, and nothing would scale). The alarm
service cannot be asked whether it names one policy, so its alarms are read page by
page (a delete is rare; a ListAlarms filter would spare the reading). The alarm a
target tracking policy made and owns (Alarm.owner) is not counted: it goes with it.

A target tracking policy's alarm (`target_tracking_alarm`) reads its metric each period
with a rule whose threshold is the target and whose alarm and OK actions are both the
policy: as policy actions repeat once a period in either state, every period's
evaluation hands the policy the metric's value (the action's payload), above the target
or not. Insufficient data runs nothing: no value, no decision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import grpc

from autoscale.errors import FailedPrecondition, PeerError, Unavailable
from autoscale.peers import as_peer_error, every_page
from autoscale.timeutil import to_duration
from autoscale.v1 import alarm_pb2
from services.policy.domain import (
    Policy,
    metrics_service_series,
    policy_name,
    target_alarm_id,
    target_alarm_name,
    tracking_period,
)
from services.policy.messages import STATISTIC_MESSAGES

DEFAULT_GNOCCHI_AGGREGATION = "mean"
"""A Gnocchi metric's aggregation when unset."""

ALARMS_PAGE_SIZE = 1000
"""Alarms read per ListAlarms call (the most the alarm service answers)."""


class AlarmClient:
    """ListAlarms over the peer stub of the alarm service, to find the alarms that name a policy."""

    def __init__(self, stub: Callable[[], Any]) -> None:
        self._stub = stub

    def alarms_naming(self, policy_name: str, owned: Sequence[str] = ()) -> list[str]:
        """The alarms whose alarm, OK or insufficient-data actions include `policy_name`, in name order, but those of
        `owned` that it owns (Alarm.owner) and deletes with itself.

        Unavailable if the alarm service could not answer (no address, unreachable, or failing).
        """

        def read_page(page_token: str) -> tuple[list[str], str]:
            # NOTE: the stub is fetched per page: the peers raise PeerError at once when no address is configured.
            response = self._stub().ListAlarms(alarm_pb2.ListAlarmsRequest(page_size=ALARMS_PAGE_SIZE, page_token=page_token))
            named = [
                alarm.name for alarm in response.alarms
                if _names(alarm, policy_name) and not (alarm.owner == policy_name and alarm.name in owned)
            ]
            return named, response.next_page_token

        return every_page(read_page, lambda failure: Unavailable(
            f"cannot tell whether alarms name {policy_name}, so it is kept: the alarm service failed ({failure}); try again"
        ))

    def refuse_if_named(self, policy_name: str, owned: Sequence[str] = ()) -> None:
        """FailedPrecondition naming the alarms whose actions name `policy_name`, if any, but those of `owned` it owns and
        deletes with itself (Unavailable if unknown).

        No `force` is offered that would take the policy out of their actions. AWS does let a policy go
        from under its alarms, and Heat refuses; we refuse: the alarms belong to another service, which
        this one cannot change in the same transaction, and an alarm quietly left without its action
        stops scaling anything, the very failure this check is there to prevent. The caller edits or
        deletes the alarms (their owner's API), then deletes the policy.
        """
        alarms = self.alarms_naming(policy_name, owned)
        if alarms:
            raise FailedPrecondition.in_use(
                policy_name, alarms, ("alarm", "alarms"), "take it out of their actions, or delete them, first"
            )


    def create_target_alarm(self, policy: Policy) -> None:
        """Make a target tracking policy's alarm, owned by it. The alarm service's refusal passes on as a PeerError with
        its code (ALREADY_EXISTS: an alarm of that id exists, not this policy's; FAILED_PRECONDITION: a store it has no
        address of). An alarm of that id already owned by a policy of this name (left by an earlier policy whose making
        failed after its alarm was made) is taken over and updated."""
        alarm = target_tracking_alarm(policy)
        try:
            self._call(lambda stub: stub.CreateAlarm(alarm_pb2.CreateAlarmRequest(alarm_id=target_alarm_id(policy.id), alarm=alarm)))
        except PeerError as error:
            if error.code != grpc.StatusCode.ALREADY_EXISTS:
                raise
            request = alarm_pb2.GetAlarmRequest(name=target_alarm_name(policy.id))
            if self._call(lambda stub: stub.GetAlarm(request)).alarm.owner != policy_name(policy.id):
                raise
            self.update_target_alarm(policy)

    def update_target_alarm(self, policy: Policy) -> None:
        """Make a target tracking policy's alarm follow its metric, target and period (every updatable field); make it
        again if it is gone."""
        alarm = target_tracking_alarm(policy)
        alarm.name = target_alarm_name(policy.id)
        try:
            self._call(lambda stub: stub.UpdateAlarm(alarm_pb2.UpdateAlarmRequest(alarm=alarm, owner=policy_name(policy.id))))
        except _AlarmGone:
            self.create_target_alarm(policy)

    def delete_target_alarm(self, policy_id: str) -> None:
        """Delete a target tracking policy's alarm; one already gone is no failure."""
        request = alarm_pb2.DeleteAlarmRequest(name=target_alarm_name(policy_id), owner=policy_name(policy_id))
        try:
            self._call(lambda stub: stub.DeleteAlarm(request))
        except _AlarmGone:
            return

    def _call(self, call: Callable[[Any], Any]) -> Any:
        # NOTE: the stub is fetched per call: the peers raise PeerError at once when no address is configured.
        stub = self._stub()
        try:
            return call(stub)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise _AlarmGone() from None
            raise as_peer_error(error) from None


class _AlarmGone(Exception):
    """The alarm service has no such alarm."""


def target_tracking_alarm(policy: Policy) -> alarm_pb2.Alarm:
    """The alarm a target tracking policy makes: its metric each period against its target, executing it in ALARM and
    in OK (so every period), owned by it."""
    tracking = policy.target_tracking
    assert tracking is not None
    name = policy_name(policy.id)
    period = to_duration(tracking_period(tracking))
    alarm = alarm_pb2.Alarm(
        description=f"Made by {name} (target tracking, target {tracking.target_value:g}): changed and deleted with it",
        alarm_actions=[name], ok_actions=[name], owner=name,
    )
    above = alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN
    metric = tracking.metric
    if metric.prometheus_query:
        alarm.prometheus_rule.CopyFrom(alarm_pb2.PrometheusRule(
            query=metric.prometheus_query, comparison_operator=above, threshold=tracking.target_value, period=period,
            evaluation_periods=1,
        ))
        return alarm
    if metric.gnocchi is not None:
        gnocchi = metric.gnocchi
        alarm.gnocchi_rule.CopyFrom(alarm_pb2.GnocchiRule(
            metric=gnocchi.metric, resource_type=gnocchi.resource_type, resource_id=gnocchi.resource_id,
            resource_query=gnocchi.resource_query, metric_ids=gnocchi.metric_ids,
            aggregation_method=gnocchi.aggregation_method or DEFAULT_GNOCCHI_AGGREGATION, comparison_operator=above,
            threshold=tracking.target_value, period=period, evaluation_periods=1,
        ))
        return alarm
    metric_name, dimensions, statistic = metrics_service_series(policy.group_id, metric)
    alarm.threshold_rule.CopyFrom(alarm_pb2.ThresholdRule(
        metric=metric_name, dimensions=dict(dimensions), statistic=STATISTIC_MESSAGES[statistic], comparison_operator=above,
        threshold=tracking.target_value, period=period, evaluation_periods=1,
    ))
    return alarm


def _names(alarm: alarm_pb2.Alarm, policy_name: str) -> bool:
    """Whether one of the alarm's actions (of any state) is `policy_name`."""
    return policy_name in alarm.alarm_actions or policy_name in alarm.ok_actions or policy_name in alarm.insufficient_data_actions
