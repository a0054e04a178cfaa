"""Storage of policies and their executions, behind one small interface.

Writes run in `database.transaction()`. No transaction is held open while the
group service is called (on SQLite a transaction holds the database's write lock,
which the group service sharing the file needs to answer). A group's cooldown is
the group service's (services.group.cooldown); nothing of it is stored here.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from autoscale.database import Database, newest_first_page
from autoscale.errors import AlreadyExists, NotFound
from services.policy.domain import (
    AdjustmentType,
    Execution,
    GnocchiMetric,
    MetricAggregationType,
    Policy,
    PredefinedMetricType,
    Statistic,
    StepAdjustment,
    TargetTracking,
    TrackedMetric,
    policy_name,
)
from services.policy.forecast import FloorMode, Forecast, PredictiveFloor, SeasonAggregation, SeasonLoad
from services.policy.models import executions, policies
from services.policy.receivers.repository import delete_policy_receivers
from services.policy.target_tracking import (
    Behavior,
    RatePolicy,
    RatePolicyType,
    Recommendation,
    ScaleEvent,
    ScalingRules,
    SelectPolicy,
    TargetTrackingState,
)


class PolicyRepository:
    """Policies and executions of every project; each call names the project it reads or writes, and sees nothing of
    another (another project's policy is NotFound exactly as a missing one)."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._execution_start = database.prepare(_EXECUTION_START)
        self._lock_policy = database.prepare(_LOCK_POLICY)
        self._insert_execution = database.prepare(_INSERT_EXECUTION)

    # Policies

    def create_policy(self, project: str, policy: Policy) -> Policy:
        """Store a new policy; AlreadyExists if its id is taken in the project."""
        with self._database.transaction() as connection:
            if _policy_row(connection, project, policy.id) is not None:
                raise AlreadyExists(policy_name(policy.id))
            connection.execute(policies.insert().values(project=project, **_policy_values(policy)))
        return policy

    def count_policies(self, project: str) -> int:
        """How many policies `project` holds."""
        with self._database.reader() as connection:
            return int(connection.scalar(sa.select(sa.func.count()).select_from(policies).where(policies.c.project == project)) or 0)

    def get_policy(self, project: str, policy_id: str) -> Policy:
        """One policy; NotFound if there is none."""
        with self._database.reader() as connection:
            row = _policy_row(connection, project, policy_id)
        if row is None:
            raise NotFound(policy_name(policy_id))
        return _policy(row)

    def list_policies(self, project: str, after: str | None, limit: int, group_id: str | None = None) -> list[Policy]:
        """Policies ordered by id, those after `after`, at most `limit`; only those of `group_id` when given."""
        query = sa.select(policies).where(policies.c.project == project)
        if group_id is not None:
            query = query.where(policies.c.group_id == group_id)
        if after is not None:
            query = query.where(policies.c.id > after)
        with self._database.reader() as connection:
            rows = connection.execute(query.order_by(policies.c.id).limit(limit)).all()
        return [_policy(row) for row in rows]

    def update_policy(self, project: str, policy: Policy) -> Policy:
        """Store the new fields of an existing policy; NotFound if there is none."""
        values = _policy_values(policy)
        del values["id"], values["create_time"]
        with self._database.transaction() as connection:
            result = connection.execute(policies.update().where(*_policy_key(project, policy.id)).values(**values))
            if result.rowcount == 0:
                raise NotFound(policy_name(policy.id))
        return policy

    def delete_policy(self, project: str, policy_id: str) -> None:
        """Delete a policy, its executions and its receivers; NotFound if there is none."""
        with self._database.transaction() as connection:
            if _policy_row(connection, project, policy_id, lock=True) is None:
                raise NotFound(policy_name(policy_id))
            connection.execute(executions.delete().where(executions.c.project == project, executions.c.policy_id == policy_id))
            delete_policy_receivers(connection, project, policy_id)
            connection.execute(policies.delete().where(*_policy_key(project, policy_id)))

    # Executions

    def record(self, project: str, execution: Execution, state: TargetTrackingState | None = None) -> None:
        """Store an execution, and a target tracking policy's new `state` with it (when given, with the execution's
        forecast as the policy's last); one of a policy deleted meanwhile is dropped with it."""
        with self._database.transaction() as connection:
            if self._lock_policy.rows(connection, project=project, policy_id=execution.policy_id):
                self._insert_execution.rowcount(connection, project=project, **_execution_values(execution))
                if state is not None:
                    connection.execute(
                        policies.update().where(*_policy_key(project, execution.policy_id))
                        .values(target_tracking_state=json.dumps(_state_values(state, execution.forecast)))
                    )

    def target_tracking_state(self, project: str, policy_id: str) -> TargetTrackingState:
        """What a target tracking policy remembers (nothing when it has not run yet, or is gone)."""
        with self._database.reader() as connection:
            stored = connection.scalar(sa.select(policies.c.target_tracking_state).where(*_policy_key(project, policy_id)))
        return _state(json.loads(stored)) if stored else TargetTrackingState()

    def list_executions(self, project: str, policy_id: str, after: tuple[float, int] | None, limit: int) -> list[Execution]:
        """A policy's executions, newest first, those after `after` (time, sequence), at most `limit`; NotFound for the policy."""
        query = sa.select(executions).where(executions.c.project == project, executions.c.policy_id == policy_id)
        with self._database.reader() as connection:
            if _policy_row(connection, project, policy_id) is None:
                raise NotFound(policy_name(policy_id))
            rows = connection.execute(newest_first_page(query, executions.c.time, executions.c.id, after, limit)).all()
        return [_execution(row) for row in rows]

    def execution_start(self, project: str, policy_id: str, request_id: str) -> tuple[Policy, bytes | None]:
        """An execution's first read, in one statement: the policy and the response it first answered to `request_id`.

        The response is None without a request id, or when only failed executions
        (which answered none) carried it. NotFound for the policy.
        """
        with self._database.reader() as connection:
            found = self._execution_start.rows(connection, project=project, policy_id=policy_id, request_id=request_id)
        if not found:
            raise NotFound(policy_name(policy_id))
        row = found[0]
        answered = bytes(row.answered) if row.answered is not None and request_id else None
        return _policy(row), answered


# NOTE: the statements of an execution are prepared (see autoscale.database.Prepared): built and run
# through SQLAlchemy, an execution's first read cost 263 µs, as prepared 15 µs.
_EXECUTION_START = (
    sa.select(
        policies.c.id, policies.c.group_id, policies.c.adjustment_type, policies.c.scaling_adjustment,
        policies.c.min_adjustment_step, policies.c.cooldown, policies.c.create_time, policies.c.step_adjustments,
        policies.c.metric_aggregation_type, policies.c.estimated_instance_warmup, policies.c.target_tracking,
        policies.c.target_tracking_state,
        # The response first answered to the request id (one statement: no transaction is needed for a consistent read).
        sa.select(executions.c.response)
        .where(
            executions.c.project == policies.c.project,
            executions.c.policy_id == policies.c.id,
            executions.c.request_id == sa.bindparam("request_id"),
            executions.c.response.is_not(None),
        )
        .order_by(executions.c.id)
        .limit(1)
        .scalar_subquery()
        .label("answered"),
    )
    .where(policies.c.project == sa.bindparam("project"), policies.c.id == sa.bindparam("policy_id"))
)
"""A policy and the response answered to a request id."""

_LOCK_POLICY = (
    sa.select(policies.c.id)
    .where(policies.c.project == sa.bindparam("project"), policies.c.id == sa.bindparam("policy_id"))
    .with_for_update()
)
"""Locks a policy's row, so that it is not deleted while an execution of it is stored."""

_EXECUTION_COLUMNS = (
    "policy_id", "time", "cause", "request_id", "adjusted", "reason", "activity", "failed", "response", "alarm_payload",
    "metric_value", "breach_threshold", "step_adjustment", "recommended_capacity", "desired_capacity", "forecast",
)
_INSERT_EXECUTION = executions.insert().values(
    {"project": sa.bindparam("project"), **{name: sa.bindparam(name) for name in _EXECUTION_COLUMNS}}
)

def _policy_key(project: str, policy_id: str) -> tuple[Any, ...]:
    return policies.c.project == project, policies.c.id == policy_id


def _policy_row(connection: Connection, project: str, policy_id: str, *, lock: bool = False) -> Any:
    query = sa.select(policies).where(*_policy_key(project, policy_id))
    return connection.execute(query.with_for_update() if lock else query).first()


def _policy_values(policy: Policy) -> dict[str, Any]:
    return {
        "id": policy.id,
        "group_id": policy.group_id,
        "adjustment_type": policy.adjustment_type.value,
        "scaling_adjustment": policy.scaling_adjustment,
        "min_adjustment_step": policy.min_adjustment_step,
        "cooldown": policy.cooldown,
        "create_time": policy.create_time,
        "step_adjustments": json.dumps([_step_values(step) for step in policy.step_adjustments]) if policy.is_step else None,
        "metric_aggregation_type": policy.metric_aggregation_type.value if policy.metric_aggregation_type is not None else None,
        "estimated_instance_warmup": policy.estimated_instance_warmup,
        "target_tracking": json.dumps(_target_tracking_values(policy.target_tracking)) if policy.target_tracking else None,
    }


def _policy(row: Any) -> Policy:
    return Policy(
        id=row.id,
        group_id=row.group_id,
        adjustment_type=AdjustmentType(row.adjustment_type),
        scaling_adjustment=row.scaling_adjustment,
        min_adjustment_step=row.min_adjustment_step,
        cooldown=row.cooldown,
        create_time=row.create_time,
        step_adjustments=tuple(_step(values) for values in json.loads(row.step_adjustments)) if row.step_adjustments else (),
        metric_aggregation_type=MetricAggregationType(row.metric_aggregation_type) if row.metric_aggregation_type else None,
        estimated_instance_warmup=row.estimated_instance_warmup,
        target_tracking=_target_tracking(json.loads(row.target_tracking)) if row.target_tracking else None,
        last_recommendation=_last_recommendation(row.target_tracking_state),
        last_forecast=_last_forecast(row.target_tracking_state),
    )


def _last_recommendation(stored_state: str | None) -> Recommendation | None:
    recommendations = _state(json.loads(stored_state)).recommendations if stored_state else ()
    return recommendations[-1] if recommendations else None


def _last_forecast(stored_state: str | None) -> Forecast | None:
    stored = json.loads(stored_state).get("last_forecast") if stored_state else None
    return _forecast(stored) if stored else None


def _floor_values(floor: PredictiveFloor) -> dict[str, Any]:
    return {
        "seasons": list(floor.seasons),
        "mode": floor.mode.value if floor.mode is not None else None,
        "buffer": floor.buffer,
        "aggregation": floor.aggregation.value if floor.aggregation is not None else None,
        "sample_interval": floor.sample_interval,
    }


def _floor(values: dict[str, Any]) -> PredictiveFloor:
    return PredictiveFloor(
        seasons=tuple(values["seasons"]),
        mode=FloorMode(values["mode"]) if values["mode"] is not None else None,
        buffer=values["buffer"],
        aggregation=SeasonAggregation(values["aggregation"]) if values["aggregation"] is not None else None,
        sample_interval=values["sample_interval"],
    )


def _forecast_values(forecast: Forecast) -> dict[str, Any]:
    return {
        "time": forecast.time, "seasons": [[season.season, season.load] for season in forecast.seasons], "load": forecast.load,
        "floor_capacity": forecast.floor_capacity, "applied": forecast.applied, "note": forecast.note,
    }


def _forecast(values: dict[str, Any]) -> Forecast:
    return Forecast(
        time=values["time"], seasons=tuple(SeasonLoad(season, load) for season, load in values["seasons"]), load=values["load"],
        floor_capacity=values["floor_capacity"], applied=values["applied"], note=values["note"],
    )


def _target_tracking_values(target_tracking: TargetTracking) -> dict[str, Any]:
    metric, behavior = target_tracking.metric, target_tracking.behavior
    return {
        "target_value": target_tracking.target_value,
        "metric": {
            "predefined": metric.predefined.value if metric.predefined is not None else None,
            "metric_name": metric.metric_name,
            "dimensions": dict(metric.dimensions),
            "statistic": metric.statistic.value if metric.statistic is not None else None,
            "prometheus_query": metric.prometheus_query,
            "gnocchi": dataclasses.asdict(metric.gnocchi) if metric.gnocchi is not None else None,
        },
        "disable_scale_in": target_tracking.disable_scale_in,
        "period": target_tracking.period,
        "scale_up": _rules_values(behavior.scale_up),
        "scale_down": _rules_values(behavior.scale_down),
        "tolerance": behavior.tolerance,
        "predictive_floor": _floor_values(target_tracking.predictive_floor) if target_tracking.predictive_floor else None,
    }


def _target_tracking(values: dict[str, Any]) -> TargetTracking:
    metric = values["metric"]
    return TargetTracking(
        target_value=values["target_value"],
        metric=TrackedMetric(
            predefined=PredefinedMetricType(metric["predefined"]) if metric["predefined"] is not None else None,
            metric_name=metric["metric_name"],
            dimensions=tuple(sorted(metric["dimensions"].items())),
            statistic=Statistic(metric["statistic"]) if metric["statistic"] is not None else None,
            prometheus_query=metric["prometheus_query"],
            gnocchi=_gnocchi(metric["gnocchi"]) if metric.get("gnocchi") else None,
        ),
        disable_scale_in=values["disable_scale_in"],
        period=values["period"],
        behavior=Behavior(
            scale_up=_scaling_rules(values["scale_up"]), scale_down=_scaling_rules(values["scale_down"]),
            tolerance=values["tolerance"],
        ),
        predictive_floor=_floor(values["predictive_floor"]) if values.get("predictive_floor") else None,
    )


def _gnocchi(values: dict[str, Any]) -> GnocchiMetric:
    return GnocchiMetric(**{**values, "metric_ids": tuple(values["metric_ids"])})


def _rules_values(rules: ScalingRules) -> dict[str, Any]:
    return {
        "stabilization_window": rules.stabilization_window,
        "select_policy": rules.select_policy.value if rules.select_policy is not None else None,
        "policies": [[policy.type.value, policy.value, policy.period] for policy in rules.policies],
    }


def _scaling_rules(values: dict[str, Any]) -> ScalingRules:
    return ScalingRules(
        stabilization_window=values["stabilization_window"],
        select_policy=SelectPolicy(values["select_policy"]) if values["select_policy"] is not None else None,
        policies=tuple(RatePolicy(RatePolicyType(kind), value, period) for kind, value, period in values["policies"]),
    )


def _state_values(state: TargetTrackingState, last_forecast: Forecast | None) -> dict[str, Any]:
    return {
        "recommendations": [[recommendation.time, recommendation.capacity] for recommendation in state.recommendations],
        "scale_events": [[event.time, event.change] for event in state.scale_events],
        "last_forecast": _forecast_values(last_forecast) if last_forecast is not None else None,
    }


def _state(values: dict[str, Any]) -> TargetTrackingState:
    return TargetTrackingState(
        tuple(Recommendation(time, capacity) for time, capacity in values["recommendations"]),
        tuple(ScaleEvent(time, change) for time, change in values["scale_events"]),
    )


def _step_values(step: StepAdjustment) -> dict[str, Any]:
    return {
        "lower_bound": step.lower_bound, "upper_bound": step.upper_bound, "scaling_adjustment": step.scaling_adjustment,
        "adjustment_type": step.adjustment_type.value if step.adjustment_type is not None else None,
    }


def _step(values: dict[str, Any]) -> StepAdjustment:
    adjustment_type = values["adjustment_type"]
    return StepAdjustment(
        lower_bound=values["lower_bound"], upper_bound=values["upper_bound"], scaling_adjustment=values["scaling_adjustment"],
        adjustment_type=AdjustmentType(adjustment_type) if adjustment_type is not None else None,
    )


def _execution_values(execution: Execution) -> dict[str, Any]:
    return {
        "policy_id": execution.policy_id,
        "time": execution.time,
        "cause": execution.cause,
        "request_id": execution.request_id,
        "adjusted": execution.adjusted,
        "reason": execution.reason,
        "activity": execution.activity,
        "failed": execution.failed,
        "response": execution.response,
        "alarm_payload": execution.alarm_payload,
        "metric_value": execution.metric_value,
        "breach_threshold": execution.breach_threshold,
        "step_adjustment": json.dumps(_step_values(execution.step_adjustment)) if execution.step_adjustment is not None else None,
        "recommended_capacity": execution.recommended_capacity,
        "desired_capacity": execution.desired_capacity,
        "forecast": json.dumps(_forecast_values(execution.forecast)) if execution.forecast is not None else None,
    }


def _execution(row: Any) -> Execution:
    return Execution(
        policy_id=row.policy_id, time=row.time, cause=row.cause, request_id=row.request_id, adjusted=row.adjusted,
        reason=row.reason, activity=row.activity, failed=row.failed, response=row.response,
        alarm_payload=bytes(row.alarm_payload) if row.alarm_payload is not None else None, sequence=row.id,
        metric_value=row.metric_value, breach_threshold=row.breach_threshold,
        step_adjustment=_step(json.loads(row.step_adjustment)) if row.step_adjustment is not None else None,
        recommended_capacity=row.recommended_capacity, desired_capacity=row.desired_capacity,
        forecast=_forecast(json.loads(row.forecast)) if row.forecast is not None else None,
    )
