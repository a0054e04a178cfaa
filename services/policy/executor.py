"""ExecutePolicy: ask the policy's group for the adjustment, honouring its cooldown, and record the execution.

The policy decides what to ask (the adjustment type and amount, its cooldown); the
group decides, under its own lock and in the transaction that would change it,
whether it is resizing or cooling down (services.group.cooldown). So an execution
is one Adjust call: this service keeps no cooldown state, takes no lock or claim,
and never asks the group how a resize went. Two signals of one group at once are
serialised by the group: the second finds the first's resize in progress.

A step policy first measures the breach (an operator's metric value and threshold, else
the alarm payload's datapoints) and picks the step that holds it (services.policy.steps);
its one Adjust then asks for AWS's warm-up rule instead of the cooldown, which the group
applies under its lock (services.group.warmup).

A target tracking policy reads its metric (the newest datapoint of its alarm's payload)
and the group's sizes (GetGroup; on a scale-out, also when its instances went in
service, ListInstances, to leave out those warming up: domain.tracking_count), decides
the desired capacity from them and from what it remembers
(services.policy.target_tracking), scales in only as far as the group's other target
tracking policies agree (AWS), and asks it as an exact capacity by the
same warm-up rule; the recommendation and the scale event are remembered with the
execution. The group may change between the two calls: the next period decides again.

A target tracking policy with a predictive floor also reads its metric's history (one
GetStatistics call per season, services.policy.metrics_client) and forecasts the load
at now + buffer (services.policy.forecast); with FORECAST_AND_SCALE the desired capacity
is at least the floor. The forecast is recorded with the execution either way; a
failure to read the history leaves the floor out and says so, never fails the execution.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from dataclasses import replace

from autoscale.errors import FailedPrecondition, NotFound, PeerError
from autoscale.timeutil import Clock, from_duration
from autoscale.v1 import alarm_pb2, group_pb2, policy_pb2
from autoscale.validation import within_cause_limit
from services.policy import forecast, steps, target_tracking
from services.policy.domain import (
    AdjustmentType,
    Breach,
    Execution,
    Policy,
    StepAdjustment,
    group_name,
    metrics_service_series,
    policy_name,
    scale_in_floors,
    tracking_count,
    tracking_forecast,
)
from services.policy.exposition import PolicyMetrics
from services.policy.group_client import GroupClient, GroupGone
from services.policy.messages import forecast_to_message, scaling_trigger, step_to_message
from services.policy.metrics_client import MetricsClient
from services.policy.repository import PolicyRepository

log = logging.getLogger(__name__)

SCALE_IN_COMPARISONS = frozenset({alarm_pb2.COMPARISON_OPERATOR_LESS_THAN, alarm_pb2.COMPARISON_OPERATOR_LESS_THAN_OR_EQUAL})
"""Comparisons of an alarm whose metric at the threshold is read below it (services.policy.steps)."""

MAX_POLICIES_READ = 1000
"""A group's policies read at most for the other target tracking policies' agreement (a project holds fewer)."""

DEFAULT_CAUSE = "executed by caller"
"""What the activity's cause says when the caller gave none."""


class PolicyExecutor:
    """Runs the executions of policies, each in the project it is asked for."""

    def __init__(
        self, repository: PolicyRepository, group_client: GroupClient, metrics_client: MetricsClient, clock: Clock,
        metrics: PolicyMetrics,
    ) -> None:
        self._repository = repository
        self._groups = group_client
        self._history = metrics_client
        self._clock = clock
        self._metrics = metrics

    def execute(
        self, project: str, policy_id: str, cause: str, request_id: str, *, alarm_notification: bool = False,
        alarm_payload: policy_pb2.AlarmPayload | None = None, breach: Breach | None = None,
    ) -> policy_pb2.ExecutePolicyResponse:
        """Signal a policy of `project` (see _execute), counted and timed; `alarm_notification`: an alarm or a receiver
        signals it; `alarm_payload`: what the alarm's action carried, recorded with the execution; `breach`: the metric value
        and threshold an operator gave (step policies)."""
        started = time.perf_counter()
        outcome = "failed"
        try:
            response, outcome = self._execute(project, policy_id, cause, request_id, alarm_notification, alarm_payload, breach)
            return response
        except NotFound:
            outcome = ""  # no such policy: nothing to count it under
            raise
        finally:
            if outcome:
                self._metrics.executions.labels(project, policy_id, outcome).inc()
                self._metrics.execution_seconds.observe(time.perf_counter() - started)

    def _execute(
        self, project: str, policy_id: str, cause: str, request_id: str, alarm_notification: bool,
        alarm_payload: policy_pb2.AlarmPayload | None, breach: Breach | None,
    ) -> tuple[policy_pb2.ExecutePolicyResponse, str]:
        """Signal a policy of `project`; NotFound for the policy, FailedPrecondition when its group is gone or a step policy
        has no metric value, PeerError when unreachable.

        A request id answered before gets its first answer again, and nothing is done. The group is the one of that
        name in `project`: the Adjust call is made within the current call, whose project the peer call carries
        (autoscale.peers), and `project` is that call's.
        """
        policy, answered = self._repository.execution_start(project, policy_id, request_id)
        if answered is not None:
            first: policy_pb2.ExecutePolicyResponse = policy_pb2.ExecutePolicyResponse.FromString(answered)
            return first, "repeated"
        record = Execution(
            policy_id, self._clock(), cause, request_id, adjusted=False, reason="",
            alarm_payload=alarm_payload.SerializeToString() if alarm_payload is not None else None,
        )
        if policy.target_tracking is not None:
            return self._track(project, policy, record, cause, alarm_notification, alarm_payload, breach)
        adjustment_type, adjustment = policy.adjustment_type, policy.scaling_adjustment
        if policy.is_step:
            measured = self._measure(project, policy, record, breach, alarm_payload)
            step = steps.step_for(
                policy.step_adjustments, measured.metric_value, measured.breach_threshold, scale_in_alarm=measured.scale_in_alarm
            )
            record = replace(
                record, metric_value=measured.metric_value, breach_threshold=measured.breach_threshold, step_adjustment=step
            )
            if step is None or (step.scaling_adjustment == 0 and step.adjustment_type is not AdjustmentType.EXACT_CAPACITY):
                return self._unchanged(project, record, _no_change_reason(measured, step)), "unchanged"
            adjustment_type, adjustment = step.adjustment_type or policy.adjustment_type, step.scaling_adjustment
        elif breach is not None:
            reason = f"{policy_name(policy.id)} is a simple policy: metric_value and breach_threshold are read by step policies only"
            self._fail(project, record, reason)
            raise FailedPrecondition(reason)
        group_ref = group_name(policy.group_id)
        percent = adjustment_type is AdjustmentType.PERCENT_CHANGE_IN_CAPACITY
        try:
            adjusted = self._groups.adjust(
                group_ref,
                adjustment_type,
                adjustment,
                policy.min_adjustment_step if percent else 0,
                policy.cooldown,
                within_cause_limit(f"{policy_name(policy.id)} ({cause or DEFAULT_CAUSE})"),
                _adjust_request_id(policy, record),
                alarm_notification,
                step_scaling=policy.is_step,
                estimated_instance_warmup=policy.estimated_instance_warmup,
                trigger=scaling_trigger(record),
            )
        except GroupGone as gone:
            reason = f"its group {gone.name} no longer exists"
            self._fail(project, record, reason)
            raise FailedPrecondition(reason) from None
        except PeerError as error:
            self._fail(project, record, f"the group service failed: {error}")
            raise
        response = execution_response(adjusted)
        if record.step_adjustment is not None:
            response.step_adjustment.CopyFrom(step_to_message(record.step_adjustment))
            response.reason = f"{_breach_text(record)}: {response.reason}"
        if response.adjusted:
            log.info(
                "%s of project %s adjusted %s: %s (%s)", policy_name(policy.id), project, group_ref, response.reason, response.activity.name
            )
        self._repository.record(
            project,
            replace(
                record, adjusted=response.adjusted, reason=response.reason,
                activity=response.activity.name if response.adjusted else "", response=response.SerializeToString(),
            )
        )
        return response, "adjusted" if response.adjusted else "unchanged"

    def _track(
        self, project: str, policy: Policy, record: Execution, cause: str, alarm_notification: bool,
        alarm_payload: policy_pb2.AlarmPayload | None, breach: Breach | None,
    ) -> tuple[policy_pb2.ExecutePolicyResponse, str]:
        """A target tracking policy's execution: the metric against the target decides an exact capacity (see the module's
        docstring); FailedPrecondition (recorded) without a metric value or a group."""
        tracking = policy.target_tracking
        assert tracking is not None
        if breach is not None or alarm_payload is None or not alarm_payload.datapoints:
            given = "an operator's metric value" if breach is not None else "no datapoints of its alarm"
            reason = (
                f"{policy_name(policy.id)} is a target tracking policy and the signal carries {given}: it reads its metric "
                "from the datapoints of the alarm it owns, which signals it every period"
            )
            self._fail(project, record, reason)
            raise FailedPrecondition(reason)
        metric_value = alarm_payload.datapoints[-1]
        group_ref = group_name(policy.group_id)
        now = self._clock()
        try:
            group = self._groups.get_group(group_ref)
            in_service, warming = tracking_count(
                policy, metric_value, group.current_capacity, lambda: self._groups.in_service_times(group_ref),
                group_cooldown=from_duration(group.cooldown) if group.HasField("cooldown") else None, now=now,
            )
        except GroupGone as gone:
            reason = f"its group {gone.name} no longer exists"
            self._fail(project, replace(record, metric_value=metric_value), reason)
            raise FailedPrecondition(reason) from None
        except PeerError as error:
            self._fail(project, replace(record, metric_value=metric_value), f"the group service failed: {error}")
            raise
        state = self._repository.target_tracking_state(project, policy.id)
        decision = target_tracking.decide_capacity(
            metric_value, tracking.target_value, in_service=in_service, desired_capacity=group.desired_capacity,
            min_size=group.min_size, max_size=group.max_size, behavior=tracking.behavior,
            disable_scale_in=tracking.disable_scale_in, state=state, now=now, warming=warming,
        )
        reasons = list(decision.reasons)
        desired = decision.desired_capacity
        if desired < group.desired_capacity:  # only a scale-in needs the other policies' agreement
            desired, held_by = target_tracking.agreed_scale_in(
                group.desired_capacity, desired, self._other_floors(project, policy, now),
            )
            if held_by:
                reasons.append(held_by)
        forecast_made = None
        if tracking.predictive_floor is not None:
            forecast_made = self._forecast(policy, group, now)
            desired, forecast_made, held_up = forecast.floored(desired, forecast_made, tracking.predictive_floor)
            if held_up:
                reasons.append(held_up)
        counted = "in service and warmed up" if warming else "in service"
        said = (
            f"metric {metric_value:g} against target {tracking.target_value:g} with {in_service} {counted}: "
            f"{decision.recommendation} recommended"
        )
        if reasons:
            said += f" ({'; '.join(reasons)})"
        record = replace(
            record, metric_value=metric_value, recommended_capacity=decision.recommendation, desired_capacity=desired,
            forecast=forecast_made,
        )
        if desired == group.desired_capacity:
            reason = f"{said}: desired capacity stays at {group.desired_capacity}"
            response = policy_pb2.ExecutePolicyResponse(
                adjusted=False, reason=reason, recommended_capacity=decision.recommendation, desired_capacity=desired,
            )
            if forecast_made is not None:
                response.forecast.CopyFrom(forecast_to_message(forecast_made))
            remembered = target_tracking.remember(state, now, decision.recommendation, 0, tracking.behavior)
            self._repository.record(project, replace(record, reason=reason, response=response.SerializeToString()), remembered)
            return response, "unchanged"
        try:
            adjusted = self._groups.adjust(
                group_ref, AdjustmentType.EXACT_CAPACITY, desired, 0, None,
                within_cause_limit(f"{policy_name(policy.id)} ({cause or DEFAULT_CAUSE})"), _adjust_request_id(policy, record),
                alarm_notification, step_scaling=True, estimated_instance_warmup=policy.estimated_instance_warmup,
                trigger=_with_reasons(scaling_trigger(record), reasons), expected_desired_capacity=group.desired_capacity,
            )
        except GroupGone as gone:
            reason = f"its group {gone.name} no longer exists"
            self._fail(project, record, reason)
            raise FailedPrecondition(reason) from None
        except PeerError as error:
            self._fail(project, record, f"the group service failed: {error}")
            raise
        response = execution_response(adjusted)
        response.reason = f"{said}: {response.reason}"
        response.recommended_capacity, response.desired_capacity = decision.recommendation, desired
        if forecast_made is not None:
            response.forecast.CopyFrom(forecast_to_message(forecast_made))
        change = adjusted.desired_capacity - adjusted.previous_capacity if adjusted.adjusted else 0
        remembered = target_tracking.remember(state, now, decision.recommendation, change, tracking.behavior)
        self._repository.record(
            project,
            replace(
                record, adjusted=response.adjusted, reason=response.reason,
                activity=response.activity.name if response.adjusted else "", response=response.SerializeToString(),
            ),
            remembered,
        )
        return response, "adjusted" if response.adjusted else "unchanged"

    def _forecast(self, policy: Policy, group: group_pb2.Group, now: float) -> forecast.Forecast:
        """The predictive floor's forecast at `now`: each season's load read from the Metrics service (the total of the
        metric over the group's series around that moment), aggregated and turned into a capacity within the group's
        sizes. A failure to read leaves no floor and says why."""
        tracking = policy.target_tracking
        assert tracking is not None and tracking.predictive_floor is not None
        floor = tracking.predictive_floor
        metric_name, dimensions, _ = metrics_service_series(policy.group_id, tracking.metric)
        try:
            return tracking_forecast(
                tracking, lambda start, end: self._history.window_sum(metric_name, dimensions, start, end), now=now,
                min_size=group.min_size, max_size=group.max_size,
            )
        except PeerError as error:
            # NOTE: the first season that fails ends the reading: each call may take its whole deadline.
            log.warning("%s: no predictive floor, the metrics service failed: %s", policy_name(policy.id), error)
            seasons = tuple(forecast.SeasonLoad(season, None) for season in floor.effective_seasons)
            return forecast.Forecast(now + floor.effective_buffer, seasons, note=f"no floor: the metrics service failed: {error}")

    def _other_floors(self, project: str, policy: Policy, now: float) -> list[tuple[str, int]]:
        """How low each of the group's other target tracking policies that may scale in lets it go now."""
        group_policies = self._repository.list_policies(project, None, MAX_POLICIES_READ, policy.group_id)
        return scale_in_floors(
            policy.id, group_policies, lambda other_id: self._repository.target_tracking_state(project, other_id), now
        )

    def _measure(
        self, project: str, policy: Policy, record: Execution, breach: Breach | None, alarm_payload: policy_pb2.AlarmPayload | None
    ) -> Breach:
        """A step policy's metric value and threshold: the operator's, else the alarm payload's datapoints aggregated as the
        policy says and its threshold; else the execution fails (recorded) with FailedPrecondition saying what is missing."""
        if breach is not None:
            return breach
        if alarm_payload is not None and alarm_payload.HasField("threshold"):
            scale_in = alarm_payload.comparison_operator in SCALE_IN_COMPARISONS
            if alarm_payload.datapoints:
                metric_value = steps.aggregate(list(alarm_payload.datapoints), policy.metric_aggregation_type)
                return Breach(metric_value, alarm_payload.threshold, scale_in_alarm=scale_in)
            if alarm_payload.state == alarm_pb2.ALARM_STATE_ALARM:
                # In ALARM by missing periods counted as breaching (treat_missing_data): no value, but a breach on the
                # alarm's side; the step next to the threshold on that side applies.
                return Breach(alarm_payload.threshold, alarm_payload.threshold, scale_in_alarm=scale_in)
        if alarm_payload is not None:
            missing = f"the action of {alarm_payload.alarm} carries no datapoints (its state was not decided by them)"
        else:
            missing = "the signal carries no metric value"
        reason = (
            f"{policy_name(policy.id)} is a step policy and {missing}: its step is chosen by the breach; "
            "give metric_value and breach_threshold, or signal it from an alarm whose datapoints decided its state"
        )
        self._fail(project, record, reason)
        raise FailedPrecondition(reason)

    def _unchanged(self, project: str, record: Execution, reason: str) -> policy_pb2.ExecutePolicyResponse:
        """A step policy's execution that asks the group nothing (no step holds the breach, or the step adds 0), recorded."""
        response = policy_pb2.ExecutePolicyResponse(adjusted=False, reason=reason)
        if record.step_adjustment is not None:
            response.step_adjustment.CopyFrom(step_to_message(record.step_adjustment))
        self._repository.record(project, replace(record, reason=reason, response=response.SerializeToString()))
        return response

    def _fail(self, project: str, record: Execution, reason: str) -> None:
        self._repository.record(project, replace(record, adjusted=False, reason=reason, failed=True))


def _breach_text(record: Execution) -> str:
    """The breach of a step policy's execution and its step, for people."""
    assert record.metric_value is not None and record.breach_threshold is not None
    text = (
        f"breach {record.metric_value - record.breach_threshold:g} "
        f"(metric value {record.metric_value:g}, threshold {record.breach_threshold:g})"
    )
    if record.step_adjustment is not None:
        text += f" in step {steps.describe_bounds(record.step_adjustment)}"
    return text


def _no_change_reason(measured: Breach, step: StepAdjustment | None) -> str:
    breach = measured.metric_value - measured.breach_threshold
    said = f"breach {breach:g} (metric value {measured.metric_value:g}, threshold {measured.breach_threshold:g})"
    if step is None:
        return f"no step holds the {said}: nothing to do"
    return f"the step {steps.describe_bounds(step)} that holds the {said} adjusts by 0: nothing to do"


def _with_reasons(trigger: group_pb2.ScalingTrigger, reasons: list[str]) -> group_pb2.ScalingTrigger:
    """A target tracking policy's trigger with what held its recommendation back (bounded as the group reads it)."""
    trigger.policy_reason = "; ".join(reasons)[:MAX_POLICY_REASON_CHARACTERS]
    return trigger


MAX_POLICY_REASON_CHARACTERS = 4096
"""Characters of a trigger's policy_reason the group takes."""


def execution_response(adjusted: group_pb2.AdjustResponse) -> policy_pb2.ExecutePolicyResponse:
    """ExecutePolicy's answer: the group's, relayed (whether it adjusted, why, the activity, the cooldown's end)."""
    response = policy_pb2.ExecutePolicyResponse(
        adjusted=adjusted.adjusted, reason=adjusted.reason, refusal=adjusted.refusal, group_asked=True
    )
    if adjusted.adjusted:
        response.activity.CopyFrom(adjusted.activity)
    if adjusted.HasField("cooldown_end_time"):
        response.cooldown_end_time.CopyFrom(adjusted.cooldown_end_time)
    return response


def _adjust_request_id(policy: Policy, record: Execution) -> str:
    """Adjust's request_id: derived from the caller's, so a retried execution adjusts at most once; else fresh."""
    if not record.request_id:
        return f"policy-{uuid.uuid4().hex}"
    return "policy-" + hashlib.sha256(f"{policy_name(policy.id)}\n{record.request_id}".encode()).hexdigest()
