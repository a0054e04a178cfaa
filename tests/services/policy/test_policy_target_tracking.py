"""Target tracking's maths (services.policy.target_tracking), table-driven from the public documentation.

Kubernetes, "Horizontal Pod Autoscaling" (https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/):
- Algorithm details: desiredReplicas = ceil[currentReplicas × (currentMetricValue / desiredMetricValue)]; "if the
  current metric value is 200m, and the desired value is 100m, the number of replicas will be doubled ... if the
  current value is instead 50m, you'll halve the number of replicas"; a ratio "sufficiently close to 1.0 (within a
  globally-configurable tolerance, 0.1 by default)" skips scaling.
- Scaling policies: scale-down policies Pods 4 / 60 s and Percent 10 / 60 s: "when the number of replicas is more than
  40, the second policy is used ... if there are 80 replicas and the target has to be scaled down to 10 replicas then
  during the first step 8 replicas will be reduced. In the next iteration when the number of replicas is 72, 10% of
  the pods is 7.2 but the number is rounded up to 8"; selectPolicy Min picks the policy with the least change,
  Disabled turns scaling in that direction off.
- Stabilization window: "the highest recommendation within the last 5 minutes" scales down.
- Default behavior: scale up by 100 % or 4 pods every 15 s, whichever is higher, with no stabilization; scale down
  100 % every 15 s after a 300 s window.
- Example "limit scale down rate": Percent 10 / 60 s with Pods 5 / 60 s and selectPolicy Min removes at most 5 a
  minute.

AWS, "Target tracking scaling policies for Amazon EC2 Auto Scaling"
(https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-target-tracking.html): the policy adds capacity
when the metric is above the target and removes it when below; with DisableScaleIn it "doesn't remove instances";
the group's minimum and maximum bound what it asks; with multiple target tracking policies the group scales out if
any of them is ready to scale out, but scales in only if all of them (with scale-in enabled) are ready to scale in.
"""

from __future__ import annotations

import pytest

from services.policy.target_tracking import (
    Behavior,
    RatePolicy,
    RatePolicyType,
    Recommendation,
    ScaleEvent,
    ScalingRules,
    SelectPolicy,
    TargetTrackingState,
    agreed_scale_in,
    decide_capacity,
    recommend,
    remember,
    scale_down_limit,
    scale_in_floor,
    scale_up_limit,
    stabilize,
    warmed_up,
)

PODS = RatePolicyType.INSTANCES
PERCENT = RatePolicyType.PERCENT
HPA_SCALE_DOWN_EXAMPLE = (RatePolicy(PODS, 4, 60.0), RatePolicy(PERCENT, 10, 60.0))


@pytest.mark.parametrize(
    ("metric_value", "target_value", "in_service", "desired", "expected"),
    [
        (200.0, 100.0, 3, 3, 6),  # HPA: 200m against 100m doubles
        (50.0, 100.0, 4, 4, 2),  # HPA: 50m against 100m halves
        (75.0, 50.0, 4, 4, 6),  # AWS: above the target adds capacity, proportionally
        (25.0, 50.0, 4, 4, 2),  # AWS: below the target removes it
        (70.0, 50.0, 3, 3, 5),  # ceil(4.2)
        (60.0, 40.0, 3, 3, 5),  # ceil(4.5)
        (105.0, 100.0, 4, 4, 4),  # HPA: within the tolerance of 1, nothing
        (95.0, 100.0, 4, 4, 4),
        (112.0, 100.0, 4, 4, 5),  # beyond it: ceil(4.48)
        (0.0, 50.0, 4, 4, 0),  # nothing to do: nothing needed (min_size bounds it later)
        (90.0, 50.0, 0, 2, 2),  # nothing in service to measure: the desired capacity stays
        (300.0, 100.0, 2, 4, 6),  # the ratio scales the instances in service, not the desired capacity
        (1e308, 1e-10, 3, 3, 2**31 - 1),  # beyond any capacity: the most the API holds (max_size bounds it)
        (-50.0, 50.0, 3, 3, 0),  # a negative metric asks nothing
        (-1e308, 1e-300, 3, 3, 0),  # however far below: -infinity is no capacity either
        (2.1, 0.3, 1, 1, 7),  # 7.000000000000001 in floating point: still 7
    ],
)
def test_the_recommendation_follows_hpas_formula_with_its_tolerance(
    metric_value: float, target_value: float, in_service: int, desired: int, expected: int
) -> None:
    assert recommend(metric_value, target_value, in_service, desired, 0.1) == expected


@pytest.mark.parametrize(
    ("in_service_times", "warmup", "expected"),
    [
        ([], 300.0, (0, 0)),
        ([0.0, 701.0, 999.0], 300.0, (1, 2)),  # in service 1000, 299 and 1 s: one has warmed up
        ([700.0], 300.0, (1, 0)),  # exactly the warm-up: warmed up
        ([1000.0, 1000.0], 0.0, (2, 0)),  # no warm-up: in service is warmed up
    ],
)
def test_instances_in_service_for_less_than_the_warm_up_still_warm_up(in_service_times, warmup, expected):
    assert warmed_up(in_service_times, warmup, now=1000.0) == expected


@pytest.mark.parametrize(
    ("recommendation", "desired", "history", "up_window", "down_window", "expected"),
    [
        # HPA's default: scale down to the highest recommendation of the last 300 s.
        (2, 6, [Recommendation(710.0, 6), Recommendation(900.0, 4)], 0.0, 300.0, 6),
        # A recommendation exactly the window old is out of it (HPA: after the cutoff).
        (2, 6, [Recommendation(700.0, 6), Recommendation(900.0, 4)], 0.0, 300.0, 4),
        (2, 6, [Recommendation(600.0, 6), Recommendation(900.0, 4)], 0.0, 300.0, 4),
        (2, 6, [Recommendation(500.0, 6), Recommendation(600.0, 5)], 0.0, 300.0, 2),
        # Scale up at once by default; with a window, to the lowest recommendation in it.
        (8, 4, [Recommendation(990.0, 5)], 0.0, 300.0, 8),
        (8, 4, [Recommendation(990.0, 5)], 60.0, 300.0, 5),
        (8, 4, [Recommendation(990.0, 3)], 60.0, 300.0, 4),
        # A recommendation of the current capacity leaves it.
        (4, 4, [Recommendation(990.0, 9)], 0.0, 300.0, 4),
    ],
)
def test_stabilization_reads_the_recommendations_of_its_windows(
    recommendation: int, desired: int, history: list[Recommendation], up_window: float, down_window: float, expected: int
) -> None:
    assert stabilize(recommendation, desired, history, 1000.0, up_window, down_window) == expected


@pytest.mark.parametrize(
    ("desired", "events", "rules", "expected"),
    [
        # HPA's example: 80 replicas, Pods 4 and Percent 10 per 60 s, Max: 8 go in the first step.
        (80, [], ScalingRules(policies=HPA_SCALE_DOWN_EXAMPLE), 72),
        # The next iteration, a period later: 10 % of 72 is 7.2, rounded up to 8 removed.
        (72, [ScaleEvent(900.0, -8)], ScalingRules(policies=HPA_SCALE_DOWN_EXAMPLE), 64),
        # Within the same period, the 8 already removed count: nothing more.
        (72, [ScaleEvent(990.0, -8)], ScalingRules(policies=HPA_SCALE_DOWN_EXAMPLE), 72),
        # At 40 replicas or fewer the Pods policy removes more (4 against 10 % = 4; 30: 4 against 3).
        (30, [], ScalingRules(policies=HPA_SCALE_DOWN_EXAMPLE), 26),
        # selectPolicy Min: the least change.
        (80, [], ScalingRules(select_policy=SelectPolicy.MIN, policies=HPA_SCALE_DOWN_EXAMPLE), 76),
        # HPA's "limit scale down rate" example: 10 % with at most 5 a minute.
        (
            80, [],
            ScalingRules(select_policy=SelectPolicy.MIN, policies=(RatePolicy(PERCENT, 10, 60.0), RatePolicy(PODS, 5, 60.0))),
            75,
        ),
        # Disabled: no scale-down at all.
        (80, [], ScalingRules(select_policy=SelectPolicy.DISABLED), 80),
        # The default: 100 % every 15 s, down to 0.
        (80, [], ScalingRules(), 0),
    ],
)
def test_scale_down_rate_policies_limit_as_hpa_documents(
    desired: int, events: list[ScaleEvent], rules: ScalingRules, expected: int
) -> None:
    assert scale_down_limit(desired, events, 1000.0, rules) == expected


@pytest.mark.parametrize(
    ("desired", "events", "rules", "expected"),
    [
        # HPA's default: double or add 4 every 15 s, whichever is higher.
        (2, [], ScalingRules(), 6),
        (10, [], ScalingRules(), 20),
        # Within the 15 s, from the capacity at the period's start: 2 → 6 already, so 6 is the limit.
        (6, [ScaleEvent(995.0, 4)], ScalingRules(), 6),
        # Min of 100 % and 4: the least.
        (10, [], ScalingRules(select_policy=SelectPolicy.MIN), 14),
        (10, [], ScalingRules(policies=(RatePolicy(PODS, 1, 60.0),)), 11),
        (10, [], ScalingRules(select_policy=SelectPolicy.DISABLED), 10),
        # Percent rounds up: 50 % of 3 allows 5.
        (3, [], ScalingRules(policies=(RatePolicy(PERCENT, 50, 60.0),)), 5),
    ],
)
def test_scale_up_rate_policies_limit_as_hpa_documents(
    desired: int, events: list[ScaleEvent], rules: ScalingRules, expected: int
) -> None:
    assert scale_up_limit(desired, events, 1000.0, rules) == expected


@pytest.mark.parametrize(
    ("metric_value", "in_service", "desired", "behavior", "disable_scale_in", "state", "expected"),
    [
        # Above the target: out at once, as far as the rate allows (2 → 6 wants 8: double or +4 allows 6).
        (200.0, 2, 2, Behavior(), False, TargetTrackingState(), 4),
        (400.0, 2, 2, Behavior(), False, TargetTrackingState(), 6),
        # Below it, the default 300 s window remembers 6 a minute ago: stays.
        (50.0, 6, 6, Behavior(), False, TargetTrackingState((Recommendation(940.0, 6),)), 6),
        # Once the window has passed: halves.
        (50.0, 6, 6, Behavior(), False, TargetTrackingState((Recommendation(600.0, 6),)), 3),
        # AWS's DisableScaleIn: never in.
        (50.0, 6, 6, Behavior(scale_down=ScalingRules(stabilization_window=0)), True, TargetTrackingState(), 6),
        # Bounded by the group's min_size (1) and max_size (10).
        (10.0, 6, 6, Behavior(scale_down=ScalingRules(stabilization_window=0)), False, TargetTrackingState(), 1),
        (1000.0, 8, 8, Behavior(), False, TargetTrackingState(), 10),
        # A custom tolerance: 20 % leaves a ratio of 1.15 alone.
        (115.0, 4, 4, Behavior(tolerance=0.2), False, TargetTrackingState(), 4),
    ],
)
def test_a_decision_recommends_stabilizes_limits_and_bounds(
    metric_value: float, in_service: int, desired: int, behavior: Behavior, disable_scale_in: bool,
    state: TargetTrackingState, expected: int,
) -> None:
    decision = decide_capacity(
        metric_value, 100.0, in_service=in_service, desired_capacity=desired, min_size=1, max_size=10, behavior=behavior,
        disable_scale_in=disable_scale_in, state=state, now=1000.0,
    )
    assert decision.desired_capacity == expected


def test_a_decision_says_what_held_it_back() -> None:
    decision = decide_capacity(
        50.0, 100.0, in_service=6, desired_capacity=6, min_size=1, max_size=10, behavior=Behavior(),
        disable_scale_in=False, state=TargetTrackingState((Recommendation(940.0, 6),)), now=1000.0,
    )
    assert (decision.recommendation, decision.stabilized, decision.desired_capacity) == (3, 6, 6)
    assert decision.reasons == ("stabilized at 6 by the recommendations of the last 300s",)


def test_remembering_keeps_only_what_the_windows_and_periods_can_read() -> None:
    behavior = Behavior(scale_down=ScalingRules(stabilization_window=60.0, policies=(RatePolicy(PODS, 1, 30.0),)))
    state = TargetTrackingState(
        (Recommendation(900.0, 5), Recommendation(950.0, 4)), (ScaleEvent(900.0, 1), ScaleEvent(980.0, -1))
    )
    assert remember(state, 1000.0, 3, -1, behavior) == TargetTrackingState(
        (Recommendation(950.0, 4), Recommendation(1000.0, 3)), (ScaleEvent(980.0, -1), ScaleEvent(1000.0, -1))
    )


@pytest.mark.parametrize(
    ("desired", "decided", "others", "expected"),
    [
        (6, 2, [], (2, "")),  # alone: as decided
        (6, 2, [("policies/rps", 4)], (4, "policies/rps still recommends 4")),  # AWS: in only as far as all agree
        (6, 2, [("policies/rps", 9), ("policies/q", 1)], (6, "policies/rps still recommends 9")),  # never up by it
        (6, 2, [("policies/rps", 1)], (2, "")),
        (6, 8, [("policies/rps", 1)], (8, "")),  # out if any asks
    ],
)
def test_a_scale_in_goes_only_as_far_as_every_other_target_tracking_policy_agrees(
    desired: int, decided: int, others: list[tuple[str, int]], expected: tuple[int, str]
) -> None:
    assert agreed_scale_in(desired, decided, others) == expected


def test_a_recommendation_never_goes_against_the_metrics_direction() -> None:
    # 2 in service of 10 desired (8 places failing to launch) at twice the target: ceil(2 × 2) = 4, but high load must
    # not shrink the group; at a fifth of it, 1 is fine (as HPA, which never moves against the usage ratio).
    assert recommend(100.0, 50.0, 2, 10, 0.1) == 10
    assert recommend(10.0, 50.0, 2, 10, 0.1) == 1
    assert recommend(100.0, 50.0, 12, 10, 0.1) == 24


def test_a_ceiling_that_equals_the_desired_capacity_is_not_called_within_tolerance() -> None:
    decided = decide_capacity(
        62.0, 50.0, in_service=4, desired_capacity=5, min_size=1, max_size=20, behavior=Behavior(), disable_scale_in=False,
        state=TargetTrackingState(), now=1000.0,
    )
    assert decided.desired_capacity == 5 and not any("tolerance" in reason for reason in decided.reasons)


def test_another_policys_floor_is_what_its_scale_down_window_holds_not_its_last_dip() -> None:
    # B recommended 10 twice, then 3 for one period: its window holds the group at 10, so A's 4 goes no lower.
    state = TargetTrackingState(recommendations=(Recommendation(700.0, 10), Recommendation(760.0, 10), Recommendation(820.0, 3)))
    floor = scale_in_floor(state, Behavior(), now=830.0)
    assert floor == 10
    assert agreed_scale_in(10, 4, [("policies/b", floor)]) == (10, "policies/b still recommends 10")
    assert scale_in_floor(state, Behavior(), now=830.0 + 400.0) == 3  # beyond the window only the last one holds
    assert scale_in_floor(TargetTrackingState(), Behavior(), now=0.0) is None
