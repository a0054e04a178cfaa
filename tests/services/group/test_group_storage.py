"""Storage of the group service on SQLite and PostgreSQL: migrations, rows, activities, request ids."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from autoscale.database import Database, alembic_config, schema_differences
from autoscale.errors import AlreadyExists, FailedPrecondition, NotFound
from services.group import capacity, cooldown, decisions
from services.group.backoff import LaunchBackoff
from services.group.domain import (
    ActivityStatus,
    AdjustCommand,
    AdjustmentType,
    DecisionOutcome,
    Group,
    GroupKey,
    Instance,
    InstanceState,
    LaunchConfig,
    Refusal,
    Refused,
    TerminationPolicy,
)
from services.group.drivers.base import OpenStackServerSpec, ProcessSpec, ServerNic
from services.group.models import launch_configs, metadata
from services.group.repository import GroupRepositories, GroupRepository
from services.group.rules import MAX_COOLDOWN
from services.group.server import MIGRATIONS_DIR

CHANGE = AdjustmentType.CHANGE_IN_CAPACITY


@pytest.fixture
def database(database_url):
    db = Database(database_url)
    db.migrate(MIGRATIONS_DIR, "group")
    yield db
    db.dispose()


@pytest.fixture
def repository(database):
    repository = GroupRepositories(database).of("default")
    repository.create_launch_config(LaunchConfig("lc", process=ProcessSpec(("sleep", "60"), {"A": "1"}), create_time=1.0))
    return repository


def _group(group_id: str = "web", desired: int = 0, max_size: int = 5, **fields) -> Group:  # type: ignore[no-untyped-def]
    return Group(id=group_id, launch_config_id="lc", min_size=0, max_size=max_size, desired_capacity=desired, create_time=1.0, **fields)


def _adjust(repository: GroupRepository, adjustment: int, *, request_id: str = "", activity_id: str = "a-1", now: float = 10.0):
    return repository.adjust(
        "web", request_id, lambda group: capacity.adjustment_activity(activity_id, group, CHANGE, adjustment, 0, "test", now)
    )


def test_migrations_create_exactly_the_tables_of_the_models(database):
    assert schema_differences(database, metadata) == []


def test_migrating_twice_changes_nothing(database):
    database.migrate(MIGRATIONS_DIR, "group")
    assert schema_differences(database, metadata) == []


def test_a_server_spec_stored_before_zones_nics_server_groups_and_boot_volumes_reads_without_them(database, repository):
    old_spec = {"image": "cirros", "flavor": "m1.tiny", "key_name": "", "networks": ["private"], "security_groups": [],
                "user_data": "", "metadata": {}}
    with database.engine.begin() as connection:
        connection.execute(launch_configs.insert().values(project="default", id="old", kind="openstack_server", spec=old_spec,
                                                          create_time=1.0))

    expected = OpenStackServerSpec(image="cirros", flavor="m1.tiny", networks=("private",))
    assert repository.get_launch_config("old").openstack_server == expected


def test_launch_configs_round_trip_and_are_listed_by_id(repository):
    server = OpenStackServerSpec(
        image="cirros", flavor="m1.tiny", networks=("private",), metadata={"k": "v"}, availability_zone="az-2",
        nics=(ServerNic(network="public", fixed_ip="172.24.4.9"), ServerNic(port="p-1")), server_group="web-anti",
        boot_volume_size_gb=20, config_drive=True,
    )
    repository.create_launch_config(LaunchConfig("b-server", openstack_server=server, create_time=2.0))
    assert repository.get_launch_config("b-server").openstack_server == server
    assert repository.get_launch_config("lc").process == ProcessSpec(("sleep", "60"), {"A": "1"})
    assert [c.id for c in repository.list_launch_configs(None, 10)] == ["b-server", "lc"]
    assert [c.id for c in repository.list_launch_configs("b-server", 10)] == ["lc"]
    with pytest.raises(AlreadyExists):
        repository.create_launch_config(LaunchConfig("lc", process=ProcessSpec(("x",))))
    repository.delete_launch_config("b-server")
    with pytest.raises(NotFound):
        repository.get_launch_config("b-server")


def test_a_launch_config_in_use_cannot_be_deleted_and_the_error_names_the_groups(repository):
    repository.create_group(_group("web"), None)
    repository.create_group(_group("api"), None)
    with pytest.raises(FailedPrecondition, match="groups/api, groups/web"):
        repository.delete_launch_config("lc")


def test_a_group_needs_an_existing_launch_config_and_a_free_id(repository):
    with pytest.raises(NotFound, match="group.launch_config: launchConfigs/nope not found"):
        repository.create_group(replace(_group(), launch_config_id="nope"), None)
    repository.create_group(_group(), None)
    with pytest.raises(AlreadyExists):
        repository.create_group(_group(), None)


def test_an_unset_cooldown_stays_apart_from_zero(repository):
    repository.create_group(_group("unset"), None)
    repository.create_group(_group("zero", cooldown=0.0), None)
    assert repository.get_group("unset").group.cooldown is None
    assert repository.get_group("zero").group.cooldown == 0.0


def test_group_status_counts_running_instances_and_activities_in_progress(repository):
    group = _group(desired=2, tags={"team": "a"})
    repository.create_group(group, capacity.creation_activity("a-0", group, 1.0))
    for n, state in enumerate((InstanceState.RUNNING, InstanceState.PENDING, InstanceState.RUNNING)):
        repository.add_instance(Instance(f"i-{n}", "web", "process", "lc", state, create_time=2.0 + n))
    status = repository.get_group("web")
    assert (status.current_capacity, status.scaling_in_progress, status.group.tags) == (2, True, {"team": "a"})
    assert [s.group.id for s in repository.list_groups(None, 10)] == ["web"]


def test_the_instances_in_service_of_every_project_are_those_the_cpu_report_of_their_kind_measures(database, repository):
    repository.create_group(_group(desired=5), None)
    states = (InstanceState.RUNNING, InstanceState.PENDING, InstanceState.STANDBY, InstanceState.TERMINATING)
    for n, state in enumerate(states):
        repository.add_instance(Instance(f"i-{n}", "web", "process", "lc", state, create_time=2.0 + n, server_id=f"{100 + n}-1"))
    repository.add_instance(Instance("i-9", "web", "openstack_server", "lc", InstanceState.RUNNING, create_time=9.0, server_id="uuid-9"))
    repositories = GroupRepositories(database)
    found = repositories.running_instances("process")
    # Only those in service: the group's average covers what target tracking multiplies it by (not standby).
    assert sorted((i.project, i.group_id, i.instance_id, i.server_id) for i in found) == [("default", "web", "i-0", "100-1")]
    assert [(i.instance_id, i.server_id) for i in repositories.running_instances("openstack_server")] == [("i-9", "uuid-9")]


def test_periodic_work_is_claimed_by_one_holder_until_its_claim_expires_unrenewed(database):
    repositories = GroupRepositories(database)
    assert repositories.claim_work("cpu-report-process", "a", now=100.0, until=145.0)
    assert not repositories.claim_work("cpu-report-process", "b", now=110.0, until=155.0)  # a's claim lasts
    assert repositories.claim_work("cpu-report-process", "a", now=115.0, until=160.0)  # a renews
    assert repositories.claim_work("cpu-report-openstack_server", "b", now=115.0, until=160.0)  # another work's claim
    assert not repositories.claim_work("cpu-report-process", "b", now=159.0, until=204.0)
    assert repositories.claim_work("cpu-report-process", "b", now=161.0, until=206.0)  # a stopped renewing: b takes over
    assert not repositories.claim_work("cpu-report-process", "a", now=170.0, until=215.0)


def test_adjust_changes_the_capacity_and_a_newer_change_cancels_the_older_activity(repository):
    repository.create_group(_group(desired=1), None)
    first = _adjust(repository, 2, activity_id="a-1", now=10.0)
    assert (first.previous_capacity, first.desired_capacity, first.activity.status) == (1, 3, ActivityStatus.IN_PROGRESS)
    second = _adjust(repository, -1, activity_id="a-2", now=11.0)
    assert (second.previous_capacity, second.desired_capacity) == (3, 2)
    older = repository.get_activity("web", "a-1")
    assert (older.status, older.end_time, older.status_message) == (
        ActivityStatus.CANCELLED, 11.0, "superseded by groups/web/activities/a-2"
    )
    assert repository.get_group("web").group.desired_capacity == 2


def test_concurrent_adjusts_of_one_group_are_serialised(repository):
    repository.create_group(_group(max_size=20), None)
    barrier = threading.Barrier(8)
    errors: list[Exception] = []

    def adjust_once(n: int) -> None:
        try:
            barrier.wait()
            _adjust(repository, 1, activity_id=f"a-{n}", now=10.0 + n)
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=adjust_once, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert repository.get_group("web").group.desired_capacity == 8
    found = repository.list_activities("web", None, 100)
    assert sorted((a.from_capacity, a.to_capacity) for a in found) == [(n, n + 1) for n in range(8)]
    assert [a.status for a in found].count(ActivityStatus.IN_PROGRESS) == 1


def test_an_adjust_that_changes_nothing_is_unchanged_and_cancels_nothing(repository):
    repository.create_group(_group(desired=5), None)
    _adjust(repository, -1, activity_id="a-1")
    unchanged = repository.adjust(
        "web", "", lambda group: capacity.adjustment_activity("a-2", group, AdjustmentType.EXACT_CAPACITY, 4, 0, "test", 12.0)
    )
    assert unchanged.activity.status is ActivityStatus.UNCHANGED
    assert repository.get_activity("web", "a-1").status is ActivityStatus.IN_PROGRESS


def test_a_repeated_request_id_returns_the_first_answer_and_changes_nothing(repository):
    repository.create_group(_group(desired=1), None)
    first = _adjust(repository, 1, request_id="req-1", activity_id="a-1")
    repository.finish_activity(capacity.finish(first.activity, ActivityStatus.SUCCEEDED, 20.0))
    again = _adjust(repository, 1, request_id="req-1", activity_id="a-2")
    assert again == replace(first, group=None)
    assert repository.get_group("web").group.desired_capacity == 2
    assert [a.id for a in repository.list_activities("web", None, 10)] == ["a-1"]
    other = _adjust(repository, 1, request_id="req-2", activity_id="a-3", now=30.0)
    assert other.desired_capacity == 3


def _honouring(activity_id: str, now: float, cooldown_seconds: float | None = None) -> dict[str, Any]:
    """repository.adjust's arguments of an Adjust by one, honouring the cooldown (`cooldown_seconds`: the caller's)."""
    command = AdjustCommand(CHANGE, 1, 0, "test", honor_cooldown=True, cooldown=cooldown_seconds)
    return {
        "decide": lambda group: cooldown.adjustment(command, group, activity_id, now),
        "refuse": lambda group, in_progress: cooldown.adjust_refusal(command, group, in_progress, now),
    }


def test_an_adjust_honouring_the_cooldown_changes_nothing_while_an_activity_is_in_progress(repository: GroupRepository) -> None:
    repository.create_group(_group(desired=1), None)
    first = _adjust(repository, 1, activity_id="a-1")
    assert first.group is not None and first.group.scaling_in_progress and first.group.group.desired_capacity == 2
    refused = repository.adjust("web", "req-1", **_honouring("a-2", 11.0))
    assert (refused.previous_capacity, refused.desired_capacity, refused.activity) == (2, 2, None)
    assert refused.refused == Refused(Refusal.SCALING_IN_PROGRESS, "group groups/web is resizing (activity groups/web/activities/a-1)")
    assert [a.id for a in repository.list_activities("web", None, 10)] == ["a-1"]
    repository.finish_activity(capacity.finish(first.activity, ActivityStatus.SUCCEEDED, 20.0))
    # Nothing was remembered under the request id, and an Adjust that did not honour the cooldown started none.
    allowed = repository.adjust("web", "req-1", **_honouring("a-3", 21.0))
    assert allowed.activity is not None and allowed.desired_capacity == 3 and allowed.refused is None


def test_the_end_of_an_honouring_activity_starts_the_groups_cooldown_from_that_end(repository: GroupRepository) -> None:
    repository.create_group(_group(desired=1, cooldown=60.0), None)
    first = repository.adjust("web", "", **_honouring("a-1", 10.0))
    assert first.activity is not None and first.activity.cooldown == 60.0
    assert repository.get_group("web").group.cooldown_end is None, "the cooldown starts when the resize ends"
    repository.finish_activity(capacity.finish(first.activity, ActivityStatus.SUCCEEDED, 25.0))
    assert repository.get_group("web").group.cooldown_end == 85.0
    refused = repository.adjust("web", "", **_honouring("a-2", 84.5))
    assert refused.refused is not None and (refused.refused.refusal, refused.refused.cooldown_end) == (Refusal.COOLDOWN, 85.0)
    # A caller's shorter cooldown ending later than a longer one's never shortens the cooldown running.
    second = repository.adjust("web", "", **_honouring("a-3", 85.0, cooldown_seconds=5.0))
    assert second.activity is not None and second.activity.cooldown == 5.0
    repository.finish_activity(capacity.finish(second.activity, ActivityStatus.FAILED, 86.0, "quota"))
    assert repository.get_group("web").group.cooldown_end == 91.0


def test_a_superseded_honouring_activity_starts_its_cooldown_when_it_is_cancelled(repository: GroupRepository) -> None:
    repository.create_group(_group(desired=1, cooldown=30.0), None)
    repository.adjust("web", "", **_honouring("a-1", 10.0))
    _adjust(repository, 1, activity_id="a-2", now=12.0)  # an operator's Adjust, which honours nothing
    assert repository.get_activity("web", "a-1").status is ActivityStatus.CANCELLED
    assert repository.get_group("web").group.cooldown_end == 42.0


def test_a_group_being_deleted_refuses_capacity_changes(repository):
    repository.create_group(_group(desired=1), None)
    repository.begin_delete("web", "deleting")
    with pytest.raises(FailedPrecondition, match="being deleted"):
        _adjust(repository, 1)
    with pytest.raises(FailedPrecondition):
        repository.change_group("web", lambda group: (group, None))


def test_finish_activity_ends_only_an_activity_still_in_progress(repository):
    repository.create_group(_group(desired=1), None)
    first = _adjust(repository, 1, activity_id="a-1", now=10.0)
    _adjust(repository, 1, activity_id="a-2", now=11.0)
    assert not repository.finish_activity(capacity.finish(first.activity, ActivityStatus.SUCCEEDED, 12.0))
    assert repository.get_activity("web", "a-1").status is ActivityStatus.CANCELLED


def test_activities_are_listed_newest_first_and_instances_oldest_first(repository):
    repository.create_group(_group(desired=0), None)
    for n in range(3):
        _adjust(repository, 1, activity_id=f"a-{n}", now=10.0 + n)
        repository.add_instance(Instance(f"i-{n}", "web", "process", "lc", InstanceState.PENDING, create_time=20.0 - n))
    assert [a.id for a in repository.list_activities("web", None, 10)] == ["a-2", "a-1", "a-0"]
    assert [a.id for a in repository.list_activities("web", (11.0, "a-1"), 10)] == ["a-0"]
    assert [i.id for i in repository.list_instances("web", None, 10)] == ["i-2", "i-1", "i-0"]
    assert [i.id for i in repository.list_instances("web", (18.0, "i-2"), 1)] == ["i-1"]
    with pytest.raises(NotFound):
        repository.list_instances("nope", None, 10)


def test_instances_are_tracked_and_forgotten(repository):
    repository.create_group(_group(), None)
    instance = Instance("i-1", "web", "process", "lc", InstanceState.PENDING, create_time=2.0)
    repository.add_instance(instance)
    running = replace(instance, server_id="s-1", state=InstanceState.RUNNING, state_reason="up")
    repository.update_instances([running])
    assert repository.list_instances("web", None, 10) == [running]
    repository.remove_instance(running)
    assert repository.list_instances("web", None, 10) == []


def test_delete_group_removes_its_instances_activities_and_requests(repository):
    repository.create_group(_group(desired=1), None)
    _adjust(repository, 1, request_id="r")
    repository.add_instance(Instance("i-1", "web", "process", "lc", InstanceState.RUNNING, create_time=2.0, server_id="s"))
    doomed = repository.begin_delete("web", "the group is being deleted")
    assert [(i.id, i.state) for i in doomed] == [("i-1", InstanceState.TERMINATING)]
    assert repository.get_group("web").group.deleting
    repository.delete_group("web")
    with pytest.raises(NotFound):
        repository.get_group("web")
    repository.create_group(_group(desired=1), None)
    assert repository.list_activities("web", None, 10) == []
    assert _adjust(repository, 1, request_id="r").previous_capacity == 1


def test_rows_of_another_project_are_invisible(database, repository):
    repository.create_group(_group(), None)
    other = GroupRepositories(database).of("other")
    with pytest.raises(NotFound):
        other.get_group("web")
    assert other.list_launch_configs(None, 10) == []
    assert other.list_groups(None, 10) == []


def test_two_projects_keep_groups_of_the_same_id_apart_and_a_pass_lists_both(database, repository):
    repositories = GroupRepositories(database)
    other = repositories.of("other")
    with pytest.raises(NotFound, match="group.launch_config: launchConfigs/lc not found"):
        other.create_group(_group(), None)
    other.create_launch_config(LaunchConfig("lc", process=ProcessSpec(("other",)), create_time=1.0))
    repository.create_group(_group(desired=1), None)
    other.create_group(_group(desired=3), None)
    _adjust(other, 1, request_id="r", activity_id="a-1")
    assert _adjust(repository, 1, request_id="r", activity_id="a-1").previous_capacity == 1, "a request id is the project's"
    other.add_instance(Instance("i-1", "web", "process", "lc", InstanceState.RUNNING, create_time=2.0, server_id="s"))
    assert (repository.get_group("web").group.desired_capacity, other.get_group("web").group.desired_capacity) == (2, 4)
    assert (repository.get_group("web").current_capacity, other.get_group("web").current_capacity) == (0, 1)
    assert repository.list_instances("web", None, 10) == [] and repository.get_launch_config("lc").process.command == ("sleep", "60")
    other.delete_group("web")
    assert [a.id for a in repository.list_activities("web", None, 10)] == ["a-1"]
    assert repositories.every_group() == [GroupKey("default", "web")]
    other.create_group(_group("api"), None)
    assert repositories.every_group() == [GroupKey("default", "web"), GroupKey("other", "api")]


def test_upgrading_cuts_a_cooldown_stored_beyond_a_day_to_a_day(database_url):
    database = Database(database_url)
    try:
        with database.engine.begin() as connection:
            command.upgrade(alembic_config(MIGRATIONS_DIR, "group", connection), "group_0001")
        repository = GroupRepositories(database).of("default")
        # Rows as revision 0001 stored them (the repository writes today's columns).
        launch_config = sa.text(
            "INSERT INTO group_launch_configs (project, id, kind, spec, create_time)"
            """ VALUES ('default', 'lc', 'process', '{"command": ["sleep", "60"], "env": {}}', 1.0)"""
        )
        insert = sa.text(
            "INSERT INTO group_groups (project, id, launch_config_id, min_size, max_size, desired_capacity, cooldown, tags,"
            " create_time, deleting) VALUES ('default', :id, 'lc', 0, 5, 0, :cooldown, '{}', 1.0, false)"
        )
        with database.engine.begin() as connection:
            connection.execute(launch_config)
            connection.execute(insert, [{"id": "huge", "cooldown": float(2**63 - 1)}, {"id": "hour", "cooldown": 3600.0}])
        database.migrate(MIGRATIONS_DIR, "group")
        assert repository.get_group("huge").group.cooldown == MAX_COOLDOWN
        assert repository.get_group("hour").group.cooldown == 3600.0
    finally:
        database.dispose()


def test_termination_policies_and_the_launch_backoff_round_trip_and_settings_changes_keep_the_backoff(repository):
    policies = (TerminationPolicy.OLDEST_LAUNCH_CONFIGURATION, TerminationPolicy.NEWEST_INSTANCE)
    group = Group(id="web", launch_config_id="lc", min_size=0, max_size=5, desired_capacity=0, termination_policies=policies)
    repository.create_group(group, None)
    assert repository.get_group("web").group.termination_policies == policies
    backoff = LaunchBackoff(3, 1234.5, "groups/web/instances/i-1 exited with status 1")
    repository.set_launch_backoff("web", backoff)
    repository.change_group("web", lambda current: (replace(current, max_size=7), None))
    stored = repository.get_group("web").group
    assert (stored.launch_backoff, stored.max_size, stored.termination_policies) == (backoff, 7, policies)


def test_a_group_keeps_its_newest_scaling_decisions_and_forgets_them_with_it(repository):
    repository.create_group(_group(max_size=5), None)
    command = AdjustCommand(adjustment_type=CHANGE, adjustment=0, min_adjustment_step=0, cause="test")
    total = decisions.MAX_DECISIONS_PER_GROUP + 2
    for number in range(total):
        now = 100.0 + number
        repository.adjust(
            "web", "", lambda group, now=now, number=number: capacity.adjustment_activity(f"a-{number}", group, CHANGE, 0, 0, "test", now),
            explain=lambda group, members, outcome, now=now, number=number: decisions.adjust_decision(
                f"d-{number:05}", command, "anonymous", group, members, outcome, now
            ),
        )
    kept = repository.list_scaling_decisions("web", None, total)
    assert len(kept) == decisions.MAX_DECISIONS_PER_GROUP
    assert (kept[0].id, kept[-1].id) == (f"d-{total - 1:05}", "d-00002")
    assert kept[0].calculation is not None and kept[0].outcome is DecisionOutcome.UNCHANGED

    repository.delete_group("web")
    with pytest.raises(NotFound):
        repository.list_scaling_decisions("web", None, 10)
