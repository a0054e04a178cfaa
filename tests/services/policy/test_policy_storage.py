"""Storage of the policy service on SQLite and PostgreSQL: migrations, policies, executions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
import sqlalchemy as sa
from alembic import command

from autoscale.database import Database, alembic_config, schema_differences
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
)
from services.policy.forecast import FloorMode, Forecast, PredictiveFloor, SeasonAggregation, SeasonLoad
from services.policy.models import metadata
from services.policy.repository import PolicyRepository
from services.policy.rules import MAX_COOLDOWN
from services.policy.server import MIGRATIONS_DIR
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

POLICY = Policy("up", "web", AdjustmentType.CHANGE_IN_CAPACITY, 1, 0, cooldown=None, create_time=1.0)
PROJECT = "p1"
OTHER = "p2"


@pytest.fixture
def database(database_url):
    db = Database(database_url)
    db.migrate(MIGRATIONS_DIR, "policy")
    yield db
    db.dispose()


@pytest.fixture
def repository(database):
    repository = PolicyRepository(database)
    repository.create_policy(PROJECT, POLICY)
    return repository


def _execution(time: float, **fields) -> Execution:  # type: ignore[no-untyped-def]
    values = {"policy_id": "up", "cause": "alarms/high", "request_id": "", "adjusted": False, "reason": "r", **fields}
    return Execution(time=time, **values)


def test_migrations_create_exactly_the_tables_of_the_models(database):
    assert schema_differences(database, metadata) == []


def test_migrating_twice_changes_nothing(database):
    database.migrate(MIGRATIONS_DIR, "policy")
    assert schema_differences(database, metadata) == []


def test_policies_round_trip_keeping_an_unset_cooldown_apart_from_zero(repository):
    zero = Policy("zero", "web", AdjustmentType.EXACT_CAPACITY, 0, 0, cooldown=0.0, create_time=2.0)
    percent = Policy("half", "api", AdjustmentType.PERCENT_CHANGE_IN_CAPACITY, -50, 2, cooldown=90.5, create_time=3.0)
    repository.create_policy(PROJECT, zero)
    repository.create_policy(PROJECT, percent)
    assert repository.get_policy(PROJECT, "up") == POLICY
    assert repository.get_policy(PROJECT, "up").cooldown is None
    assert repository.get_policy(PROJECT, "zero").cooldown == 0.0
    assert repository.get_policy(PROJECT, "half") == percent
    assert [p.id for p in repository.list_policies(PROJECT, None, 10)] == ["half", "up", "zero"]
    assert [p.id for p in repository.list_policies(PROJECT, "half", 1)] == ["up"]


def test_policies_are_unique_and_missing_ones_are_not_found(repository):
    with pytest.raises(AlreadyExists):
        repository.create_policy(PROJECT, POLICY)
    for call in (repository.get_policy, repository.delete_policy):
        with pytest.raises(NotFound):
            call(PROJECT, "missing")
    with pytest.raises(NotFound):
        repository.update_policy(PROJECT, replace(POLICY, id="missing"))


@pytest.mark.parametrize("policy_id", ["up", "missing"])
def test_another_projects_policy_is_not_found_exactly_as_a_missing_one(repository: PolicyRepository, policy_id: str) -> None:
    def not_found(call: Callable[..., object], *arguments: object) -> str:
        with pytest.raises(NotFound) as raised:
            call(OTHER, *arguments)
        return str(raised.value)

    assert repository.list_policies(OTHER, None, 10) == []
    expected = f"policies/{policy_id} not found"
    assert not_found(repository.get_policy, policy_id) == expected
    assert not_found(repository.update_policy, replace(POLICY, id=policy_id)) == expected
    assert not_found(repository.list_executions, policy_id, None, 10) == expected
    assert not_found(repository.execution_start, policy_id, "") == expected
    assert not_found(repository.delete_policy, policy_id) == expected
    # An execution recorded for another project's policy of that id is dropped, as one of a deleted policy.
    repository.record(OTHER, _execution(1.0))
    assert repository.get_policy(PROJECT, "up") == POLICY
    assert repository.list_executions(PROJECT, "up", None, 10) == []


def test_one_policy_id_names_two_policies_in_two_projects_each_changed_and_deleted_alone(repository: PolicyRepository) -> None:
    theirs = replace(POLICY, group_id="api", scaling_adjustment=4)
    repository.create_policy(OTHER, theirs)
    repository.record(PROJECT, _execution(1.0, reason="mine"))
    repository.record(OTHER, _execution(2.0, reason="theirs"))
    assert [e.reason for e in repository.list_executions(PROJECT, "up", None, 10)] == ["mine"]
    assert [e.reason for e in repository.list_executions(OTHER, "up", None, 10)] == ["theirs"]

    repository.update_policy(PROJECT, replace(POLICY, scaling_adjustment=2))
    assert repository.get_policy(OTHER, "up") == theirs
    repository.delete_policy(PROJECT, "up")
    assert repository.list_policies(PROJECT, None, 10) == []
    assert repository.list_policies(OTHER, None, 10) == [theirs]
    assert [e.reason for e in repository.list_executions(OTHER, "up", None, 10)] == ["theirs"]


def test_update_changes_the_fields_but_not_the_creation_time(repository):
    repository.update_policy(PROJECT, replace(POLICY, group_id="api", cooldown=0.0, create_time=99.0))
    assert repository.get_policy(PROJECT, "up") == replace(POLICY, group_id="api", cooldown=0.0)


def test_executions_are_listed_newest_first_and_paged_on_time_then_order(repository):
    for time in (10.0, 30.0, 20.0, 30.0):
        repository.record(PROJECT, _execution(time, reason=f"at {time}"))
    first = repository.list_executions(PROJECT, "up", None, 3)
    assert [e.time for e in first] == [30.0, 30.0, 20.0]
    assert first[0].sequence > first[1].sequence
    rest = repository.list_executions(PROJECT, "up", (first[1].time, first[1].sequence), 10)
    assert [e.time for e in rest] == [20.0, 10.0]
    with pytest.raises(NotFound):
        repository.list_executions(PROJECT, "missing", None, 10)


def test_a_repeated_request_id_finds_the_first_answer_but_never_a_failed_one(repository):
    repository.record(PROJECT, _execution(1.0, request_id="r1", failed=True))
    assert repository.execution_start(PROJECT, "up", "r1") == (POLICY, None)
    repository.record(PROJECT, _execution(2.0, request_id="r1", response=b"first"))
    repository.record(PROJECT, _execution(3.0, request_id="r1", response=b"second"))
    assert repository.execution_start(PROJECT, "up", "r1") == (POLICY, b"first")
    assert repository.execution_start(PROJECT, "up", "r2") == (POLICY, None)
    assert repository.execution_start(PROJECT, "up", "") == (POLICY, None)


def test_deleting_a_policy_deletes_its_executions(repository):
    repository.record(PROJECT, _execution(1.0))
    repository.delete_policy(PROJECT, "up")
    repository.create_policy(PROJECT, POLICY)
    assert repository.list_executions(PROJECT, "up", None, 10) == []


def test_an_execution_of_a_policy_deleted_meanwhile_is_dropped(repository):
    repository.delete_policy(PROJECT, "up")
    repository.record(PROJECT, _execution(1.0))
    repository.create_policy(PROJECT, POLICY)
    assert repository.list_executions(PROJECT, "up", None, 10) == []


def test_an_executions_first_read_is_of_its_own_project(repository: PolicyRepository) -> None:
    repository.record(PROJECT, _execution(2.0, request_id="r1", response=b"first"))
    repository.create_policy(OTHER, POLICY)
    assert repository.execution_start(OTHER, "up", "r1") == (POLICY, None)
    with pytest.raises(NotFound):
        repository.execution_start(PROJECT, "nope", "")


def test_upgrading_cuts_cooldowns_stored_beyond_a_day_to_a_day(database_url: str) -> None:
    database = Database(database_url)
    try:
        with database.engine.begin() as connection:
            command.upgrade(alembic_config(MIGRATIONS_DIR, "policy", connection), "policy_0001")
            # Rows as policy_0001 stored them (the repository writes the columns of the newest revision).
            for policy_id, cooldown in (("up", float(2**63 - 1)), ("down", 60.0)):
                connection.execute(
                    sa.text(
                        "INSERT INTO policy_policies (project, id, group_id, adjustment_type, scaling_adjustment,"
                        " min_adjustment_step, cooldown, create_time) VALUES (:project, :id, 'web', 'change_in_capacity', 1, 0,"
                        " :cooldown, 0)"
                    ),
                    {"project": PROJECT, "id": policy_id, "cooldown": cooldown},
                )
        repository = PolicyRepository(database)
        database.migrate(MIGRATIONS_DIR, "policy")
        assert (repository.get_policy(PROJECT, "up").cooldown, repository.get_policy(PROJECT, "down").cooldown) == (MAX_COOLDOWN, 60.0)
    finally:
        database.dispose()


def test_upgrading_drops_the_group_cooldowns_this_service_kept(database_url: str) -> None:
    database = Database(database_url)
    try:
        with database.engine.begin() as connection:
            command.upgrade(alembic_config(MIGRATIONS_DIR, "policy", connection), "policy_0002")
            connection.execute(sa.text(
                "INSERT INTO policy_group_cooldowns (project, group_id, cooldown_end, version) VALUES ('default', 'web', 9.0, 1)"
            ))
        database.migrate(MIGRATIONS_DIR, "policy")
        assert "policy_group_cooldowns" not in sa.inspect(database.engine).get_table_names()
        assert schema_differences(database, metadata) == []
    finally:
        database.dispose()


STEP_POLICY = Policy(
    "steps", "web", AdjustmentType.PERCENT_CHANGE_IN_CAPACITY, 0, 1, create_time=2.0,
    step_adjustments=(
        StepAdjustment(None, 0, -1, AdjustmentType.CHANGE_IN_CAPACITY), StepAdjustment(0, 10.5, 10), StepAdjustment(10.5, None, 30),
    ),
    metric_aggregation_type=MetricAggregationType.MAXIMUM, estimated_instance_warmup=90.0,
)


def test_step_policies_and_what_their_executions_measured_round_trip(repository: PolicyRepository) -> None:
    repository.create_policy(PROJECT, STEP_POLICY)
    assert repository.get_policy(PROJECT, "steps") == STEP_POLICY
    assert repository.execution_start(PROJECT, "steps", "")[0] == STEP_POLICY
    measured = _execution(
        5.0, policy_id="steps", alarm_payload=b"\\n\\x0falarms/high-cpu", metric_value=63.0, breach_threshold=50.0,
        step_adjustment=STEP_POLICY.step_adjustments[2],
    )
    repository.record(PROJECT, measured)
    (stored,) = repository.list_executions(PROJECT, "steps", None, 10)
    assert replace(stored, sequence=0) == measured


def test_downgrading_drops_the_step_policies_the_older_code_cannot_read_and_keeps_the_others(
    database: Database, repository: PolicyRepository
) -> None:
    repository.create_policy(PROJECT, STEP_POLICY)
    repository.record(PROJECT, _execution(5.0, policy_id="steps", metric_value=63.0, breach_threshold=50.0))
    repository.record(PROJECT, _execution(6.0))
    with database.engine.begin() as connection:
        command.downgrade(alembic_config(MIGRATIONS_DIR, "policy", connection), "policy_0004")
    with database.reader() as connection:
        assert [row.id for row in connection.execute(sa.text("SELECT id FROM policy_policies"))] == ["up"]
        assert [row.policy_id for row in connection.execute(sa.text("SELECT policy_id FROM policy_executions"))] == ["up"]
    database.migrate(MIGRATIONS_DIR, "policy")
    assert repository.get_policy(PROJECT, "up") == POLICY
    assert schema_differences(database, metadata) == []


TRACKING_POLICY = Policy(
    "web-cpu", "web", AdjustmentType.EXACT_CAPACITY, 0, create_time=2.0, estimated_instance_warmup=30.0,
    target_tracking=TargetTracking(
        50.0, TrackedMetric(metric_name="queue", dimensions=(("group", "web"), ("zone", "a")), statistic=Statistic.MAXIMUM),
        disable_scale_in=True, period=15.0,
        behavior=Behavior(
            scale_up=ScalingRules(0.0, SelectPolicy.MIN, (RatePolicy(RatePolicyType.PERCENT, 50, 60.0),)),
            scale_down=ScalingRules(stabilization_window=120.0), tolerance=0.05,
        ),
    ),
)
CPU_POLICY = replace(
    TRACKING_POLICY, id="cpu",
    target_tracking=TargetTracking(60.0, TrackedMetric(predefined=PredefinedMetricType.ASG_AVERAGE_CPU_UTILIZATION)),
)


GNOCCHI_POLICY = replace(
    TRACKING_POLICY, id="gnocchi",
    target_tracking=TargetTracking(70.0, TrackedMetric(gnocchi=GnocchiMetric(metric_ids=("a", "b"), aggregation_method="max"))),
)


def test_target_tracking_policies_what_they_remember_and_what_they_decided_round_trip(repository: PolicyRepository) -> None:
    for policy in (TRACKING_POLICY, CPU_POLICY, GNOCCHI_POLICY):
        repository.create_policy(PROJECT, policy)
        assert repository.get_policy(PROJECT, policy.id) == policy
        assert repository.execution_start(PROJECT, policy.id, "")[0] == policy
    assert repository.target_tracking_state(PROJECT, "web-cpu") == TargetTrackingState()
    state = TargetTrackingState((Recommendation(5.0, 4),), (ScaleEvent(5.0, 2),))
    decided = _execution(5.0, policy_id="web-cpu", metric_value=100.0, recommended_capacity=4, desired_capacity=4)
    repository.record(PROJECT, decided, state)
    assert repository.target_tracking_state(PROJECT, "web-cpu") == state
    assert repository.get_policy(PROJECT, "web-cpu") == replace(TRACKING_POLICY, last_recommendation=Recommendation(5.0, 4))
    (stored,) = repository.list_executions(PROJECT, "web-cpu", None, 10)
    assert replace(stored, sequence=0) == decided


def test_downgrading_drops_the_target_tracking_policies_the_older_code_cannot_read_and_keeps_the_others(
    database: Database, repository: PolicyRepository
) -> None:
    repository.create_policy(PROJECT, TRACKING_POLICY)
    repository.record(PROJECT, _execution(5.0, policy_id="web-cpu", recommended_capacity=4), TargetTrackingState())
    repository.record(PROJECT, _execution(6.0))
    with database.engine.begin() as connection:
        command.downgrade(alembic_config(MIGRATIONS_DIR, "policy", connection), "policy_0005")
    with database.reader() as connection:
        assert [row.id for row in connection.execute(sa.text("SELECT id FROM policy_policies"))] == ["up"]
        assert [row.policy_id for row in connection.execute(sa.text("SELECT policy_id FROM policy_executions"))] == ["up"]
    database.migrate(MIGRATIONS_DIR, "policy")
    assert repository.get_policy(PROJECT, "up") == POLICY
    assert schema_differences(database, metadata) == []


FLOOR_POLICY = replace(
    CPU_POLICY, id="web-floor",
    target_tracking=replace(
        CPU_POLICY.target_tracking,
        predictive_floor=PredictiveFloor(seasons=(86400.0,), mode=FloorMode.FORECAST_AND_SCALE, buffer=0.0,
                                         aggregation=SeasonAggregation.AVERAGE, sample_interval=10.0),
    ),
)


def test_a_predictive_floor_its_forecasts_and_the_last_one_round_trip(repository: PolicyRepository) -> None:
    repository.create_policy(PROJECT, FLOOR_POLICY)
    assert repository.get_policy(PROJECT, "web-floor") == FLOOR_POLICY
    made = Forecast(105.0, (SeasonLoad(86400.0, 360.0), SeasonLoad(604800.0, None)), 360.0, 8, applied=True)
    decided = _execution(5.0, policy_id="web-floor", metric_value=10.0, recommended_capacity=1, desired_capacity=8, forecast=made)
    repository.record(PROJECT, decided, TargetTrackingState((Recommendation(5.0, 1),)))
    (stored,) = repository.list_executions(PROJECT, "web-floor", None, 10)
    assert replace(stored, sequence=0) == decided
    assert repository.get_policy(PROJECT, "web-floor").last_forecast == made
    assert repository.execution_start(PROJECT, "web-floor", "")[0].last_forecast == made


def test_downgrading_below_the_predictive_floor_keeps_the_policy_without_its_forecasts(
    database: Database, repository: PolicyRepository
) -> None:
    repository.create_policy(PROJECT, FLOOR_POLICY)
    repository.record(PROJECT, _execution(5.0, policy_id="web-floor", forecast=Forecast(5.0, ())), TargetTrackingState())
    with database.engine.begin() as connection:
        command.downgrade(alembic_config(MIGRATIONS_DIR, "policy", connection), "policy_0006")
    with database.reader() as connection:
        assert [row.policy_id for row in connection.execute(sa.text("SELECT policy_id FROM policy_executions"))] == ["web-floor"]
    database.migrate(MIGRATIONS_DIR, "policy")
    (stored,) = repository.list_executions(PROJECT, "web-floor", None, 10)
    assert stored.forecast is None
    assert schema_differences(database, metadata) == []
