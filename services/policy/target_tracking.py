"""Target tracking's maths: the capacity that brings a metric back to its target, stabilized and rate limited.

A target tracking policy (AWS's TargetTrackingScaling) keeps a metric aggregated over
its group at a target value. Each evaluation period its alarm hands it the metric's
value, and it decides the group's desired capacity the way Kubernetes' Horizontal Pod
Autoscaler does (kubernetes.io, "Horizontal Pod Autoscaling", algorithm details and
configurable scaling behavior):

1. The recommendation: desired = ceil(current × metric value / target value), the
   current capacity being the instances in service (those the metric is the average
   of). A ratio metric/target within the tolerance of 1 (0.1 by default) recommends the
   desired capacity as it is, so that the group does not flap around its target.
2. Stabilization: the recommendations of the last `stabilization_window` seconds are
   remembered (stored: a restart keeps them). Scaling up goes to the least of the
   scale-up window's recommendations (0 s by default: at once); scaling down to the
   greatest of the scale-down window's (300 s by default): a dip shorter than the
   window removes nothing.
3. Rate limits: each direction's policies say how much may change within a period
   (INSTANCES: a number, PERCENT: a share of the capacity at the period's start, known
   from the scale events of the period); select_policy MAX takes the policy allowing
   the most change, MIN the least, DISABLED forbids that direction. Defaults (HPA's):
   up, 100 % or 4 instances per 15 s, whichever is more; down, 100 % per 15 s.
4. disable_scale_in (AWS's DisableScaleIn) keeps the group from shrinking; the group's
   min_size and max_size bound the result.
5. Warm-up (AWS's EstimatedInstanceWarmup): on a scale-out, instances in service for less
   than the warm-up do not count as current capacity (`warmed_up`), so that while new
   instances start and their load does not show yet, a metric still high asks no more
   than it did; only a higher metric adds more. (The group holds a scale-in while they
   warm up: services.group.warmup.)
6. With several target tracking policies on one group, AWS scales out if any asks and in
   only if all agree: a scale-in goes no lower than the other policies' (with scale-in
   enabled) last recommendations (`agreed_scale_in`).

Pure functions; the caller passes `now` and the recorded history.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

DEFAULT_TOLERANCE = 0.1
"""HPA's default tolerance: a ratio metric/target within 10 % of 1 changes nothing."""

DEFAULT_SCALE_UP_WINDOW = 0.0
"""HPA's default stabilization window when scaling up: none."""

DEFAULT_SCALE_DOWN_WINDOW = 300.0
"""HPA's default stabilization window when scaling down: five minutes."""

MAX_RECOMMENDATION = 2**31 - 1
"""The most capacity recommended (an int32 of the API): a metric far beyond its target asks this, which max_size bounds."""


class RatePolicyType(StrEnum):
    """How a rate policy's value is read (HPA's HPAScalingPolicyType: Pods, Percent)."""

    INSTANCES = "instances"
    PERCENT = "percent"


class SelectPolicy(StrEnum):
    """Which of a direction's rate policies applies (HPA's selectPolicy)."""

    MAX = "max"
    """The one allowing the most change (HPA's default)."""
    MIN = "min"
    """The one allowing the least change."""
    DISABLED = "disabled"
    """No change in that direction."""


@dataclass(frozen=True)
class RatePolicy:
    """At most `value` instances (or percent of the capacity at the period's start) change within `period` seconds."""

    type: RatePolicyType
    value: int
    period: float


@dataclass(frozen=True)
class ScalingRules:
    """One direction's behavior (HPA's HPAScalingRules); None or empty fields take HPA's defaults for the direction."""

    stabilization_window: float | None = None
    select_policy: SelectPolicy | None = None
    policies: tuple[RatePolicy, ...] = ()


DEFAULT_SCALE_UP_POLICIES = (RatePolicy(RatePolicyType.PERCENT, 100, 15.0), RatePolicy(RatePolicyType.INSTANCES, 4, 15.0))
"""HPA's default scale-up policies: double, or add 4, every 15 s, whichever is more."""

DEFAULT_SCALE_DOWN_POLICIES = (RatePolicy(RatePolicyType.PERCENT, 100, 15.0),)
"""HPA's default scale-down policy: down to the target at once (100 % every 15 s)."""


@dataclass(frozen=True)
class Recommendation:
    """A capacity recommended at `time` (before stabilization)."""

    time: float
    capacity: int


@dataclass(frozen=True)
class ScaleEvent:
    """A change of the desired capacity the policy made at `time` (positive: out, negative: in)."""

    time: float
    change: int


@dataclass(frozen=True)
class TargetTrackingState:
    """What a policy remembers between evaluations: its recent recommendations and scale events, oldest first."""

    recommendations: tuple[Recommendation, ...] = ()
    scale_events: tuple[ScaleEvent, ...] = ()


@dataclass(frozen=True)
class CapacityDecision:
    """What one evaluation decides, and why."""

    desired_capacity: int
    recommendation: int
    """The capacity the metric alone asks (step 1)."""
    stabilized: int
    """The recommendation after the stabilization windows (step 2)."""
    reasons: tuple[str, ...] = field(default_factory=tuple)
    """What held the decision back, for people (tolerance, window, rate limit, disable_scale_in, min/max)."""


def within_tolerance(metric_value: float, target_value: float, tolerance: float) -> bool:
    """Whether metric/target is within `tolerance` of 1: no change is recommended (HPA's tolerance)."""
    return abs(1.0 - metric_value / target_value) <= tolerance


def asks_scale_out(metric_value: float, target_value: float, behavior: Behavior) -> bool:
    """Whether the metric is above the target beyond the tolerance: the recommendation may add instances, and counts only
    those warmed up (`warmed_up`)."""
    return metric_value > target_value and not within_tolerance(metric_value, target_value, behavior.effective_tolerance)


def warmed_up(in_service_times: Sequence[float], warmup: float, now: float) -> tuple[int, int]:
    """Of the instances in service since these times: how many have warmed up at `now` (in service `warmup` seconds or
    more), and how many still warm up."""
    warming = sum(1 for since in in_service_times if now < since + warmup)
    return len(in_service_times) - warming, warming


def recommend(metric_value: float, target_value: float, in_service: int, desired_capacity: int, tolerance: float) -> int:
    """HPA's desired = ceil(in_service × metric_value / target_value); `desired_capacity` when the ratio is within
    `tolerance` of 1 (or nothing is in service to measure). `target_value` > 0.

    Never against the ratio's direction (as HPA, which counts pods not ready as using nothing on a scale-up and keeps
    the count when that flips it): a metric above the target recommends no fewer than `desired_capacity`, one below it
    no more, so that places not in service (launching, failing to launch) never turn high load into a scale-in."""
    ratio = metric_value / target_value
    if in_service <= 0 or within_tolerance(metric_value, target_value, tolerance):
        return desired_capacity
    wanted = in_service * ratio
    if not wanted < MAX_RECOMMENDATION:  # also infinity: 1e308 against 1e-10 overflows
        return MAX_RECOMMENDATION
    if not wanted > 0:  # also minus infinity: -1e308 against 1e-300; a negative metric asks nothing
        return 0
    # NOTE: rounded to 9 digits first: float error must not ceil a whole product one higher (1 × 2.1 / 0.3 is 7.000000000000001).
    recommended = max(0, math.ceil(round(wanted, 9)))
    return max(recommended, desired_capacity) if ratio > 1.0 else min(recommended, desired_capacity)


def stabilize(
    recommendation: int, desired_capacity: int, history: Sequence[Recommendation], now: float,
    scale_up_window: float, scale_down_window: float,
) -> int:
    """HPA's stabilization over the recommendations of the windows (`recommendation` being the newest): up to the least
    recommendation of the scale-up window, down to the greatest of the scale-down window, else `desired_capacity`."""
    up, down = recommendation, recommendation
    for recorded in history:
        if recorded.time > now - scale_up_window:
            up = min(up, recorded.capacity)
        if recorded.time > now - scale_down_window:
            down = max(down, recorded.capacity)
    if desired_capacity < up:
        return up
    if desired_capacity > down:
        return down
    return desired_capacity


def scale_up_limit(desired_capacity: int, events: Sequence[ScaleEvent], now: float, rules: ScalingRules) -> int:
    """The most capacity the scale-up policies allow now (never below `desired_capacity`): from the capacity at the
    start of each policy's period, the most (MAX) or the least (MIN) of the policies' allowances."""
    select = rules.select_policy or SelectPolicy.MAX
    if select is SelectPolicy.DISABLED:
        return desired_capacity
    limits = []
    for policy in rules.policies or DEFAULT_SCALE_UP_POLICIES:
        start = desired_capacity - _changes_within(events, now, policy.period)
        if policy.type is RatePolicyType.INSTANCES:
            limits.append(start + policy.value)
        else:
            limits.append(math.ceil(round(start * (1 + policy.value / 100), 9)))
    limit = max(limits) if select is SelectPolicy.MAX else min(limits)
    return max(limit, desired_capacity)


def scale_down_limit(desired_capacity: int, events: Sequence[ScaleEvent], now: float, rules: ScalingRules) -> int:
    """The least capacity the scale-down policies allow now (never above `desired_capacity`): MAX takes the policy that
    removes the most, MIN the one that removes the least. A percentage removes whole instances only (HPA: 10 % of 72
    leaves 64)."""
    select = rules.select_policy or SelectPolicy.MAX
    if select is SelectPolicy.DISABLED:
        return desired_capacity
    limits = []
    for policy in rules.policies or DEFAULT_SCALE_DOWN_POLICIES:
        start = desired_capacity - _changes_within(events, now, policy.period)
        if policy.type is RatePolicyType.INSTANCES:
            limits.append(start - policy.value)
        else:
            limits.append(math.floor(round(start * (1 - policy.value / 100), 9)))
    limit = min(limits) if select is SelectPolicy.MAX else max(limits)
    return min(limit, desired_capacity)


def _changes_within(events: Sequence[ScaleEvent], now: float, period: float) -> int:
    """The net change the events of the last `period` seconds made."""
    return sum(event.change for event in events if event.time > now - period)


@dataclass(frozen=True)
class Behavior:
    """Both directions' rules (HPA's behavior) and the tolerance; defaults as HPA's."""

    scale_up: ScalingRules = ScalingRules()
    scale_down: ScalingRules = ScalingRules()
    tolerance: float | None = None

    @property
    def effective_tolerance(self) -> float:
        """The tolerance, HPA's default when unset."""
        return DEFAULT_TOLERANCE if self.tolerance is None else self.tolerance


def decide_capacity(
    metric_value: float, target_value: float, *, in_service: int, desired_capacity: int, min_size: int, max_size: int,
    behavior: Behavior, disable_scale_in: bool, state: TargetTrackingState, now: float, warming: int = 0,
) -> CapacityDecision:
    """The desired capacity for `metric_value`: recommended, stabilized over `state`'s recommendations, rate limited by
    `state`'s scale events, kept from shrinking when `disable_scale_in`, within [min_size, max_size]. `in_service`: the
    instances counted; `warming`: those in service left out because they still warm up (said in the reasons)."""
    tolerance = behavior.effective_tolerance
    recommendation = recommend(metric_value, target_value, in_service, desired_capacity, tolerance)
    reasons: list[str] = []
    if warming:
        counted = f"{warming} warming up, not counted"
        reasons.append(f"every instance in service still warms up ({counted})" if in_service <= 0 else counted)
    elif in_service <= 0:
        reasons.append("no instance in service to measure")
    elif within_tolerance(metric_value, target_value, tolerance):
        reasons.append(f"metric/target {metric_value / target_value:.3g} within tolerance {tolerance:g} of 1")
    up_window = _window(behavior.scale_up, DEFAULT_SCALE_UP_WINDOW)
    down_window = _window(behavior.scale_down, DEFAULT_SCALE_DOWN_WINDOW)
    stabilized = stabilize(recommendation, desired_capacity, state.recommendations, now, up_window, down_window)
    if stabilized != recommendation:
        window = up_window if recommendation > desired_capacity else down_window
        reasons.append(f"stabilized at {stabilized} by the recommendations of the last {window:g}s")
    desired = stabilized
    if desired > desired_capacity:
        limit = scale_up_limit(desired_capacity, state.scale_events, now, behavior.scale_up)
        if desired > limit:
            reasons.append(f"scale-up rate limited to {limit}")
            desired = limit
    elif desired < desired_capacity:
        if disable_scale_in:
            reasons.append("scale-in disabled")
            desired = desired_capacity
        else:
            limit = scale_down_limit(desired_capacity, state.scale_events, now, behavior.scale_down)
            if desired < limit:
                reasons.append(f"scale-down rate limited to {limit}")
                desired = limit
    bounded = min(max(desired, min_size), max_size)
    if bounded != desired:
        reasons.append(f"kept within min_size {min_size} and max_size {max_size}")
    return CapacityDecision(bounded, recommendation, stabilized, tuple(reasons))


def scale_in_floor(state: TargetTrackingState, behavior: Behavior, now: float) -> int | None:
    """The least capacity a policy lets the group go down to at `now`: the greatest of its recommendations within its
    scale-down window (what its own stabilization holds), None when it has made none there."""
    window = _window(behavior.scale_down, DEFAULT_SCALE_DOWN_WINDOW)
    recent = [recommendation.capacity for recommendation in state.recommendations if recommendation.time > now - window]
    if not recent and state.recommendations:
        recent = [state.recommendations[-1].capacity]  # a window of 0: its last recommendation holds
    return max(recent, default=None)


def agreed_scale_in(desired_capacity: int, decided: int, others: Sequence[tuple[str, int]]) -> tuple[int, str]:
    """AWS's rule for several target tracking policies of one group: a scale-in goes only as low as every other policy
    (with scale-in enabled) agrees, that is to the greatest of `decided` and their floors (name, capacity: each one's
    `scale_in_floor`, so that none slips past another's stabilization window), never above `desired_capacity`. What
    held it back, for people ("" when nothing did)."""
    holding = max(others, key=lambda other: other[1], default=None)
    if decided >= desired_capacity or holding is None or holding[1] <= decided:
        return decided, ""
    held = min(desired_capacity, holding[1])
    return held, f"{holding[0]} still recommends {holding[1]}"


def _window(rules: ScalingRules, default: float) -> float:
    return default if rules.stabilization_window is None else rules.stabilization_window


def remember(
    state: TargetTrackingState, now: float, recommendation: int, change: int, behavior: Behavior,
) -> TargetTrackingState:
    """`state` with the new recommendation and (when the capacity changed) scale event, less what no window or rate
    policy of `behavior` can read any more."""
    keep_recommendations = max(
        _window(behavior.scale_up, DEFAULT_SCALE_UP_WINDOW), _window(behavior.scale_down, DEFAULT_SCALE_DOWN_WINDOW)
    )
    periods = [
        policy.period
        for policies in (
            behavior.scale_up.policies or DEFAULT_SCALE_UP_POLICIES, behavior.scale_down.policies or DEFAULT_SCALE_DOWN_POLICIES
        )
        for policy in policies
    ]
    keep_events = max(periods)
    recommendations = tuple(r for r in state.recommendations if r.time > now - keep_recommendations)
    events = tuple(e for e in state.scale_events if e.time > now - keep_events)
    if change:
        events += (ScaleEvent(now, change),)
    return TargetTrackingState(recommendations + (Recommendation(now, recommendation),), events)
