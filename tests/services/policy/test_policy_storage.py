"""Storage of the policy service on SQLite and PostgreSQL: migrations, policies, executions."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa
from alembic import command

from autoscale.database import Database, alembic_config, schema_differences
from autoscale.errors import AlreadyExists, NotFound
from services.policy.domain import AdjustmentType, Execution, Policy
from services.policy.models import metadata
from services.policy.repository import PolicyRepository
from services.policy.rules import MAX_COOLDOWN
from services.policy.server import MIGRATIONS_DIR

POLICY = Policy("up", "web", AdjustmentType.CHANGE_IN_CAPACITY, 1, 0, cooldown=None, create_time=1.0)


@pytest.fixture
def database(database_url):
    db = Database(database_url)
    db.migrate(MIGRATIONS_DIR, "policy")
    yield db
    db.dispose()


@pytest.fixture
def repository(database):
    repository = PolicyRepository(database, "default")
    repository.create_policy(POLICY)
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
    repository.create_policy(zero)
    repository.create_policy(percent)
    assert repository.get_policy("up") == POLICY
    assert repository.get_policy("up").cooldown is None
    assert repository.get_policy("zero").cooldown == 0.0
    assert repository.get_policy("half") == percent
    assert [p.id for p in repository.list_policies(None, 10)] == ["half", "up", "zero"]
    assert [p.id for p in repository.list_policies("half", 1)] == ["up"]


def test_policies_are_unique_and_missing_ones_are_not_found(repository):
    with pytest.raises(AlreadyExists):
        repository.create_policy(POLICY)
    for call in (repository.get_policy, repository.delete_policy):
        with pytest.raises(NotFound):
            call("missing")
    with pytest.raises(NotFound):
        repository.update_policy(replace(POLICY, id="missing"))


def test_projects_see_only_their_own_policies(database, repository):
    other = PolicyRepository(database, "other")
    assert other.list_policies(None, 10) == []
    with pytest.raises(NotFound):
        other.get_policy("up")


def test_update_changes_the_fields_but_not_the_creation_time(repository):
    repository.update_policy(replace(POLICY, group_id="api", cooldown=0.0, create_time=99.0))
    assert repository.get_policy("up") == replace(POLICY, group_id="api", cooldown=0.0)


def test_executions_are_listed_newest_first_and_paged_on_time_then_order(repository):
    for time in (10.0, 30.0, 20.0, 30.0):
        repository.record(_execution(time, reason=f"at {time}"))
    first = repository.list_executions("up", None, 3)
    assert [e.time for e in first] == [30.0, 30.0, 20.0]
    assert first[0].sequence > first[1].sequence
    rest = repository.list_executions("up", (first[1].time, first[1].sequence), 10)
    assert [e.time for e in rest] == [20.0, 10.0]
    with pytest.raises(NotFound):
        repository.list_executions("missing", None, 10)


def test_a_repeated_request_id_finds_the_first_answer_but_never_a_failed_one(repository):
    repository.record(_execution(1.0, request_id="r1", failed=True))
    assert repository.execution_start("up", "r1") == (POLICY, None)
    repository.record(_execution(2.0, request_id="r1", response=b"first"))
    repository.record(_execution(3.0, request_id="r1", response=b"second"))
    assert repository.execution_start("up", "r1") == (POLICY, b"first")
    assert repository.execution_start("up", "r2") == (POLICY, None)
    assert repository.execution_start("up", "") == (POLICY, None)


def test_deleting_a_policy_deletes_its_executions(repository):
    repository.record(_execution(1.0))
    repository.delete_policy("up")
    repository.create_policy(POLICY)
    assert repository.list_executions("up", None, 10) == []


def test_an_execution_of_a_policy_deleted_meanwhile_is_dropped(repository):
    repository.delete_policy("up")
    repository.record(_execution(1.0))
    repository.create_policy(POLICY)
    assert repository.list_executions("up", None, 10) == []


def test_an_executions_first_read_is_of_its_own_project(database: Database, repository: PolicyRepository) -> None:
    repository.record(_execution(2.0, request_id="r1", response=b"first"))
    other = PolicyRepository(database, "other")
    other.create_policy(POLICY)
    assert other.execution_start("up", "r1") == (POLICY, None)
    with pytest.raises(NotFound):
        repository.execution_start("nope", "")


def test_upgrading_cuts_cooldowns_stored_beyond_a_day_to_a_day(database_url: str) -> None:
    database = Database(database_url)
    try:
        with database.engine.begin() as connection:
            command.upgrade(alembic_config(MIGRATIONS_DIR, "policy", connection), "policy_0001")
        repository = PolicyRepository(database, "default")
        repository.create_policy(replace(POLICY, cooldown=float(2**63 - 1)))
        repository.create_policy(replace(POLICY, id="down", cooldown=60.0))
        database.migrate(MIGRATIONS_DIR, "policy")
        assert (repository.get_policy("up").cooldown, repository.get_policy("down").cooldown) == (MAX_COOLDOWN, 60.0)
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
