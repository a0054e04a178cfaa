"""The demo's script: load phases, and the resources that make the group react."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from google.protobuf import duration_pb2

from autoscale.v1 import alarm_pb2, common_pb2, group_pb2, policy_pb2

GROUP_ID = "demo"
MIN_SIZE, MAX_SIZE = 1, 4
PERIOD_SECONDS = 2
HIGH_CPU, LOW_CPU = 70.0, 25.0


@dataclass(frozen=True)
class Phase:
    """From `start` seconds into the demo, the total demand is `demand` (% of one instance)."""

    start: float
    demand: float
    label: str


PHASES = (
    Phase(0, 50, "steady"),
    Phase(6, 260, "load rises"),
    Phase(28, 30, "load falls"),
)
MIN_RUNTIME = 50.0
"""The demo runs at least this long, then until the group is back at its minimum."""
MAX_RUNTIME = 75.0


def phase_at(elapsed: float) -> Phase:
    """The phase in force `elapsed` seconds into the demo."""
    current = PHASES[0]
    for phase in PHASES:
        if elapsed >= phase.start:
            current = phase
    return current


def launch_config(demo_dir: str) -> group_pb2.LaunchConfig:
    """Each instance runs the demo worker, which reports cpu_util."""
    return group_pb2.LaunchConfig(
        process=group_pb2.ProcessSpec(
            command=[sys.executable, "-m", "app.demo.worker"], env={"AUTOSCALE_DEMO_DIR": demo_dir}
        )
    )


def group() -> group_pb2.Group:
    """A group of 1 to 4 instances with a short cooldown, so the demo fits in a minute."""
    return group_pb2.Group(
        launch_config="launchConfigs/demo-worker",
        min_size=MIN_SIZE,
        max_size=MAX_SIZE,
        desired_capacity=MIN_SIZE,
        cooldown=duration_pb2.Duration(seconds=3),
    )


def policies() -> dict[str, policy_pb2.Policy]:
    """Scale out by 50 % (at least one instance), scale in by one."""
    return {
        "scale-out": policy_pb2.Policy(
            group=f"groups/{GROUP_ID}",
            adjustment_type=common_pb2.ADJUSTMENT_TYPE_PERCENT_CHANGE_IN_CAPACITY,
            scaling_adjustment=50,
            min_adjustment_step=1,
        ),
        "scale-in": policy_pb2.Policy(
            group=f"groups/{GROUP_ID}",
            adjustment_type=common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY,
            scaling_adjustment=-1,
        ),
    }


def alarms() -> dict[str, alarm_pb2.Alarm]:
    """High and low CPU alarms over the group's average, repeating while in ALARM (as AWS does)."""

    def rule(operator: int, threshold: float) -> alarm_pb2.ThresholdRule:
        return alarm_pb2.ThresholdRule(
            metric="cpu_util",
            dimensions={"group": GROUP_ID},
            statistic=common_pb2.STATISTIC_AVERAGE,
            comparison_operator=operator,
            threshold=threshold,
            period=duration_pb2.Duration(seconds=PERIOD_SECONDS),
            evaluation_periods=2,
        )

    return {
        "high-cpu": alarm_pb2.Alarm(
            description="average cpu_util of the demo group above 70 %",
            threshold_rule=rule(alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN, HIGH_CPU),
            alarm_actions=["policies/scale-out"],
            repeat_actions=True,
        ),
        "low-cpu": alarm_pb2.Alarm(
            description="average cpu_util of the demo group below 25 %",
            threshold_rule=rule(alarm_pb2.COMPARISON_OPERATOR_LESS_THAN, LOW_CPU),
            alarm_actions=["policies/scale-in"],
            repeat_actions=True,
        ),
    }
