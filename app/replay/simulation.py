"""What-if replay: a group's alarms and policies run over a window of stored metrics, without touching the group.

The replay steps through the window one tick at a time (by default the shortest period
of the alarms) and at each tick does what the services would have done, through their
own pure functions, so that it answers what they would answer:

- scheduled actions due since the last tick run (services.group.schedule.run);
- each alarm over metrics is judged on its datapoints up to the tick
  (services.alarm.decision.decide: Aodh's or CloudWatch's rule as the alarm says), then
  composite alarms on the states just judged (decide_composite); a transition runs the
  new state's actions, and policy actions run again once a period while the state stays;
- each `policies/{id}` action executes its policy as the policy service does: a simple
  policy asks an adjustment honouring the cooldown (services.group.cooldown), a step
  policy picks its step from the alarm's datapoints (services.policy.steps) and counts
  instances warming up (services.group.warmup), a target tracking policy decides a
  capacity from its alarm's newest datapoint over its remembered recommendations
  (services.policy.target_tracking), and with a predictive floor forecasts its load from
  the metric's history one season before (services.policy.forecast: the scenario's
  `history` of the policy, which may reach back before the window).

What the replay assumes, where the real group has facts it lacks: a scaling activity
ends at the tick it starts (the cooldown counts from then); a new instance goes in
service `launch_seconds` after it was asked for; a scale-in removes the newest
instances; webhooks are not called. Pure: the caller passes every input.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from services.alarm.decision import Decision, decide, decide_composite
from services.alarm.domain import Alarm, AlarmState, ComparisonOperator, CompositeRule, ThresholdRule, is_policy_action
from services.alarm.evaluation import Datapoint, window_periods
from services.group import cooldown, schedule, warmup
from services.group.domain import (
    PROCESS,
    Activity,
    ActivityStatus,
    AdjustCommand,
    AdjustmentType,
    Group,
    Instance,
    InstanceState,
)
from services.group.schedule import ScheduledAction
from services.policy import forecast, steps, target_tracking
from services.policy.domain import Policy, policy_name, scale_in_floors, tracking_count, tracking_forecast

MAX_TICKS = 100_000
"""Ticks one replay makes at most (a week of 10 s ticks is 60 480)."""

SCALE_IN_COMPARISONS = frozenset({ComparisonOperator.LESS_THAN, ComparisonOperator.LESS_THAN_OR_EQUAL})


@dataclass(frozen=True)
class Scenario:
    """Everything a replay reads: the group as it starts, what acts on it, and the metrics of the window."""

    group: Group
    alarms: tuple[Alarm, ...]
    """The alarms whose actions name the group's policies, and the alarms their composite rules name."""
    policies: tuple[Policy, ...]
    datapoints: Mapping[str, Sequence[Datapoint]]
    """By alarm id: its rule's statistic per period over the window (and the periods before it that its rule reads)."""
    start: float
    end: float
    tick: float
    scheduled_actions: tuple[ScheduledAction, ...] = ()
    launch_seconds: float = 0.0
    history: Mapping[str, forecast.WindowSum] = field(default_factory=dict)
    """By target tracking policy id with a predictive floor: the sum of its metric's samples over its group's series in a
    window (what the policy service reads of the Metrics service); a policy missing has no history, so no floor."""


@dataclass(frozen=True)
class Moment:
    """The replay at one tick: the desired capacity, each alarm's state and newest value, and what happened."""

    time: float
    desired_capacity: int
    min_size: int
    max_size: int
    states: Mapping[str, AlarmState]
    values: Mapping[str, float | None]
    """By alarm id over metrics: the newest datapoint at this tick (None: none yet)."""
    events: tuple[str, ...] = ()


@dataclass
class _Run:
    """What changes as the replay goes."""

    group: Group
    alarms: dict[str, Alarm]
    instances: list[Instance] = field(default_factory=list)
    activities: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    tracking: dict[str, target_tracking.TargetTrackingState] = field(default_factory=dict)
    """By target tracking policy: what it remembers between evaluations."""
    history: Mapping[str, forecast.WindowSum] = field(default_factory=dict)
    """The scenario's history of the policies with a predictive floor."""

    def activity_id(self) -> str:
        return f"r{next(self.activities)}"


def ticks(start: float, end: float, tick: float) -> list[float]:
    """The times a replay judges at: start, start + tick, ... up to end (ValueError past MAX_TICKS)."""
    count = int((end - start) // tick) + 1
    if count > MAX_TICKS:
        raise ValueError(f"{count} ticks of {tick:g}s from start to end; at most {MAX_TICKS}: give a longer tick or a shorter window")
    return [start + number * tick for number in range(count)]


def replay(scenario: Scenario) -> list[Moment]:
    """The capacity the group's policies would have given at each tick of the scenario's window."""
    run = _Run(scenario.group, {alarm.id: alarm for alarm in scenario.alarms}, history=scenario.history)
    # The group's instances at the start have been in service long before it (warmed up).
    run.instances = [_instance(run, 0.0) for _ in range(scenario.group.desired_capacity)]
    policies = {policy.id: policy for policy in scenario.policies}
    actions = list(scenario.scheduled_actions)
    series = {alarm_id: _Series(points) for alarm_id, points in scenario.datapoints.items()}
    moments: list[Moment] = []
    previous = scenario.start - scenario.tick
    for now in ticks(scenario.start, scenario.end, scenario.tick):
        events: list[str] = []
        actions = _run_schedules(run, actions, previous, now, scenario.launch_seconds, events)
        for decision in _judge_alarms(run, series, now, events):
            for target in decision.actions:
                if is_policy_action(target) and (policy := policies.get(target.removeprefix("policies/"))) is not None:
                    _execute(run, policy, decision, now, scenario.launch_seconds, events, policies)
        moments.append(Moment(
            now, run.group.desired_capacity, run.group.min_size, run.group.max_size,
            {alarm_id: alarm.state for alarm_id, alarm in run.alarms.items()},
            {alarm_id: points.newest(now) for alarm_id, points in series.items()},
            tuple(events),
        ))
        previous = now
    return moments


class _Series:
    """An alarm's datapoints in time order, read a window at a time (a replay of a week must not read all at each tick)."""

    def __init__(self, points: Sequence[Datapoint]) -> None:
        self._points = sorted((point for point in points if point.sample_count > 0), key=lambda point: point.start)
        self._starts = [point.start for point in self._points]

    def around(self, rule: ThresholdRule, now: float) -> list[Datapoint]:
        """The datapoints an evaluation of `rule` at `now` may read (its window, and a period either side)."""
        reach = (window_periods(rule) + 1) * rule.period
        low, high = bisect.bisect_left(self._starts, now - reach), bisect.bisect_right(self._starts, now + rule.period)
        return self._points[low:high]

    def newest(self, now: float) -> float | None:
        """The value of the newest datapoint whose period has begun by `now`."""
        index = bisect.bisect_right(self._starts, now)
        return self._points[index - 1].value if index else None


def _judge_alarms(run: _Run, series: Mapping[str, _Series], now: float, events: list[str]) -> list[Decision]:
    """Judge the alarms over metrics, then the composite ones on those states (composites of composites in as many
    rounds as they nest); store what moved; the decisions whose actions are due."""
    due: list[Decision] = []
    for alarm in list(run.alarms.values()):
        rule = alarm.rule
        if alarm.disabled or not isinstance(rule, ThresholdRule):
            continue
        points = series[alarm.id].around(rule, now) if alarm.id in series else []
        due.append(_apply(run, decide(alarm, points, now), now, events))
    composites = [alarm.id for alarm in run.alarms.values() if isinstance(alarm.rule, CompositeRule) and not alarm.disabled]
    judged: dict[str, Decision] = {}
    for _ in range(len(composites)):
        moved = False
        for alarm_id in composites:
            states = {key: alarm.state for key, alarm in run.alarms.items()}
            decision = _apply(run, decide_composite(run.alarms[alarm_id], states, now), now, events)
            judged[alarm_id] = decision if decision.moves or alarm_id not in judged else judged[alarm_id]
            moved = moved or decision.moves
        if not moved:
            break
    return [decision for decision in (*due, *judged.values()) if decision.actions]


def _apply(run: _Run, decision: Decision, now: float, events: list[str]) -> Decision:
    """Hold what a decision changes of its alarm (state and its time, or the time its actions repeated)."""
    alarm = decision.alarm
    if decision.moves:
        run.alarms[alarm.id] = replace(
            alarm, state=decision.evaluation.state, state_reason=decision.evaluation.reason, state_time=now
        )
        events.append(f"alarms/{alarm.id} {alarm.state.value} -> {decision.evaluation.state.value}: {decision.evaluation.reason}")
    elif decision.repeats:
        run.alarms[alarm.id] = replace(alarm, repeat_time=now)
    return decision


def _execute(
    run: _Run, policy: Policy, decision: Decision, now: float, launch_seconds: float, events: list[str],
    policies: Mapping[str, Policy],
) -> None:
    """Execute `policy` from `decision`'s action as the policy service would, and adjust the group as its service would."""
    name = policy_name(policy.id)
    cause = f"{name} (alarms/{decision.alarm.id} in {decision.evaluation.state.value})"
    if policy.target_tracking is not None:
        _track(run, policy, decision, cause, now, launch_seconds, events, policies)
        return
    adjustment_type, adjustment = AdjustmentType(policy.adjustment_type.value), policy.scaling_adjustment
    if policy.is_step:
        values = decision.evaluation.reason_data.get("datapoints") or []
        rule = decision.alarm.rule
        if not values or isinstance(rule, CompositeRule):
            events.append(f"{name}: not adjusted: the alarm's state was not decided by datapoints")
            return
        metric_value = steps.aggregate(values, policy.metric_aggregation_type)
        step = steps.step_for(
            policy.step_adjustments, metric_value, rule.threshold, scale_in_alarm=rule.comparison in SCALE_IN_COMPARISONS
        )
        if step is None:
            events.append(f"{name}: not adjusted: no step holds the breach {metric_value - rule.threshold:g}")
            return
        adjustment_type = AdjustmentType((step.adjustment_type or policy.adjustment_type).value)
        adjustment = step.scaling_adjustment
    percent = adjustment_type is AdjustmentType.PERCENT_CHANGE_IN_CAPACITY
    command = AdjustCommand(
        adjustment_type=adjustment_type, adjustment=adjustment, min_adjustment_step=policy.min_adjustment_step if percent else 0,
        cause=cause, honor_cooldown=not policy.is_step, cooldown=policy.cooldown, alarm_notification=True,
        step_scaling=policy.is_step, estimated_instance_warmup=policy.estimated_instance_warmup,
    )
    refused = cooldown.adjust_refusal(command, run.group, None, now)
    if refused is not None:
        events.append(f"{name}: not adjusted: {refused.reason}")
        return
    activity_id = run.activity_id()
    if command.step_scaling:
        activity = warmup.step_activity(command, run.group, run.instances, activity_id, now)
    else:
        activity = cooldown.adjustment(command, run.group, activity_id, now)
    _resize(run, activity, now, launch_seconds)
    if activity.status is ActivityStatus.UNCHANGED:
        events.append(f"{name}: not adjusted: {activity.status_message or 'no change'}")
    else:
        events.append(f"{name}: desired capacity {activity.from_capacity} -> {activity.to_capacity}")


def _track(
    run: _Run, policy: Policy, decision: Decision, cause: str, now: float, launch_seconds: float, events: list[str],
    policies: Mapping[str, Policy],
) -> None:
    """A target tracking policy's execution (services.policy.executor): its alarm's newest datapoint against the target
    decides an exact capacity, which the group applies with the warm-up rule."""
    tracking = policy.target_tracking
    assert tracking is not None
    name = policy_name(policy.id)
    values = decision.evaluation.reason_data.get("datapoints") or []
    if not values:
        events.append(f"{name}: not adjusted: its alarm's state was not decided by datapoints")
        return
    group = run.group
    state = run.tracking.get(policy.id, target_tracking.TargetTrackingState())
    in_service_times = [
        instance.in_service_time for instance in run.instances if instance.in_service_time is not None and instance.in_service_time <= now
    ]
    in_service, warming = tracking_count(
        policy, values[-1], len(in_service_times), lambda: in_service_times, group_cooldown=group.cooldown, now=now,
    )
    decided = target_tracking.decide_capacity(
        values[-1], tracking.target_value, in_service=in_service, desired_capacity=group.desired_capacity,
        min_size=group.min_size, max_size=group.max_size, behavior=tracking.behavior,
        disable_scale_in=tracking.disable_scale_in, state=state, now=now, warming=warming,
    )
    desired, change = decided.desired_capacity, 0
    reasons = list(decided.reasons)
    if desired < group.desired_capacity:  # as the executor: no lower than every other policy's floor
        floors = scale_in_floors(
            policy.id, policies.values(), lambda other_id: run.tracking.get(other_id, target_tracking.TargetTrackingState()), now
        )
        desired, held_by = target_tracking.agreed_scale_in(group.desired_capacity, desired, floors)
        if held_by:
            reasons.append(held_by)
    if tracking.predictive_floor is not None:
        predicted = tracking_forecast(
            tracking, run.history.get(policy.id, _no_history), now=now, min_size=run.group.min_size, max_size=run.group.max_size,
        )
        reasons.append(_forecast_text(predicted))
        desired, predicted, held_up = forecast.floored(desired, predicted, tracking.predictive_floor)
        if held_up:
            reasons.append(held_up)
    if desired != group.desired_capacity:
        command = AdjustCommand(
            adjustment_type=AdjustmentType.EXACT_CAPACITY, adjustment=desired, min_adjustment_step=0, cause=cause,
            alarm_notification=True, step_scaling=True, estimated_instance_warmup=policy.estimated_instance_warmup,
        )
        activity = warmup.step_activity(command, group, run.instances, run.activity_id(), now)
        _resize(run, activity, now, launch_seconds)
        change = run.group.desired_capacity - group.desired_capacity
    counted = f" with {in_service} in service and warmed up" if warming else ""
    said = f"metric {values[-1]:g} against target {tracking.target_value:g}{counted}: {decided.recommendation} recommended"
    if reasons:
        said += f" ({'; '.join(reasons)})"
    outcome = f"desired capacity {group.desired_capacity} -> {run.group.desired_capacity}" if change else "not adjusted"
    events.append(f"{name}: {said}: {outcome}")
    run.tracking[policy.id] = target_tracking.remember(state, now, decided.recommendation, change, tracking.behavior)


def _no_history(start: float, end: float) -> float | None:
    return None


def _forecast_text(predicted: forecast.Forecast) -> str:
    if predicted.load is None:
        return f"forecast: {predicted.note}"
    return f"forecast load {predicted.load:g}: floor {predicted.floor_capacity}"


def _run_schedules(
    run: _Run, actions: list[ScheduledAction], after: float, now: float, launch_seconds: float, events: list[str]
) -> list[ScheduledAction]:
    """Run the scheduled actions due in (after, now]; the actions after their runs."""
    ran = []
    for action in actions:
        due = schedule.run_after(action, after)
        if due is not None and due <= now:
            done = schedule.run(replace(action, next_run_time=due), run.group, run.activity_id(), now)
            run.group = done.group
            if done.activity is not None:
                _resize(run, done.activity, now, launch_seconds)
            events.append(f"scheduled action {action.id}: {done.action.last_run_reason}")
            action = done.action
        ran.append(action)
    return ran


def _resize(run: _Run, activity: Activity, now: float, launch_seconds: float) -> None:
    """The group at the activity's capacity, ended at once (its cooldown counted from now); instances started or stopped."""
    if activity.status is ActivityStatus.UNCHANGED or activity.status is ActivityStatus.FAILED:
        return
    ended = replace(activity, status=ActivityStatus.SUCCEEDED, end_time=now)
    run.group = replace(
        run.group, desired_capacity=activity.to_capacity, cooldown_end=cooldown.cooldown_end_after(run.group.cooldown_end, ended)
    )
    while len(run.instances) < activity.to_capacity:
        run.instances.append(_instance(run, now + launch_seconds))
    del run.instances[activity.to_capacity:]


def _instance(run: _Run, in_service_time: float) -> Instance:
    return Instance(
        id=run.activity_id(), group_id=run.group.id, kind=PROCESS, launch_config_id=run.group.launch_config_id,
        state=InstanceState.RUNNING, create_time=in_service_time, in_service_time=in_service_time,
    )


