"""The runner of scheduled actions over real storage (SQLite, and PostgreSQL when reachable), its clock the test's:
runs at the time, once each across two processes on one database, catch-up after a restart, suspended processes and
end times."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from autoscale.database import Database
from autoscale.quotas.limits import Limits
from services.group.domain import ActivityStatus, CapacityCalculation, DecisionOutcome, DecisionSource, Group, LaunchConfig
from services.group.drivers.base import ProcessSpec
from services.group.processes import ScalingProcess
from services.group.repository import DueAction, GroupRepositories
from services.group.schedule import RunStatus, ScheduledAction, run_after
from services.group.scheduler import ScheduledActionRunner
from services.group.server import MIGRATIONS_DIR

PROJECT = "default"


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


class Clock:
    """Seconds since the epoch, as the test sets them."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Quotas:
    """Every project's limits: the defaults, or the instances limit a test sets."""

    def __init__(self, instances: int | None = None) -> None:
        self._set = {"instances": instances} if instances is not None else {}

    def limits(self, project: str) -> Limits:
        return Limits(project, self._set)


@pytest.fixture
def databases(database_url: str) -> Iterator[tuple[Database, Database]]:
    """Two connections to one database, as two group service processes have."""
    first, second = Database(database_url), Database(database_url)
    first.migrate(MIGRATIONS_DIR, "group")
    yield first, second
    first.dispose()
    second.dispose()


@pytest.fixture
def repositories(databases: tuple[Database, Database]) -> GroupRepositories:
    found = GroupRepositories(databases[0])
    repository = found.of(PROJECT)
    repository.create_launch_config(LaunchConfig("lc", process=ProcessSpec(("sleep", "60")), create_time=1.0))
    repository.create_group(Group(id="web", launch_config_id="lc", min_size=1, max_size=10, desired_capacity=2, create_time=1.0), None)
    return found


def schedule(repositories: GroupRepositories, action_id: str, now: float, **fields: object) -> ScheduledAction:
    """Create an action of `web` as the servicer does (its next run the first after `now`)."""
    action = ScheduledAction(id=action_id, group_id="web", create_time=now, **fields)  # type: ignore[arg-type]
    return repositories.of(PROJECT).create_scheduled_action(replace(action, next_run_time=run_after(action, now)))


def web(repositories: GroupRepositories) -> Group:
    return repositories.of(PROJECT).get_group("web").group


def runner(
    repositories: GroupRepositories, clock: Clock, wakes: list[str] | None = None, quotas: Quotas | None = None
) -> ScheduledActionRunner:
    return ScheduledActionRunner(repositories, clock, quotas or Quotas(), lambda: (wakes if wakes is not None else []).append("wake"))


def test_an_action_runs_at_its_time_not_before_and_its_activity_names_it(repositories: GroupRepositories) -> None:
    clock, wakes = Clock(at("2026-12-01T08:00:00+00:00")), []
    schedule(repositories, "morning", clock.now, recurrence="0 9 * * *", min_size=3, desired_capacity=5)
    scheduled = runner(repositories, clock, wakes)
    clock.now = at("2026-12-01T08:59:59+00:00")
    assert scheduled.run_due() == [] and web(repositories).desired_capacity == 2
    clock.now = at("2026-12-01T09:00:00.5+00:00")
    (done,) = scheduled.run_due()
    assert (web(repositories).min_size, web(repositories).desired_capacity) == (3, 5)
    assert wakes == ["wake"]
    (activity,) = repositories.of(PROJECT).list_activities("web", None, 10)
    assert activity.cause == "scheduled action morning" and activity.status is ActivityStatus.IN_PROGRESS
    stored = repositories.of(PROJECT).get_scheduled_action("web", "morning")
    assert stored.last_run_status is RunStatus.SUCCEEDED and stored.next_run_time == at("2026-12-02T09:00:00+00:00")
    assert scheduled.run_due() == []


def test_two_processes_on_one_database_run_each_time_once(databases: tuple[Database, Database], repositories: GroupRepositories) -> None:
    clock = Clock(at("2026-12-01T08:00:00+00:00"))
    schedule(repositories, "morning", clock.now, recurrence="0 9 * * *", desired_capacity=5)
    other = GroupRepositories(databases[1])
    clock.now = at("2026-12-01T09:00:00+00:00")
    # Both find it due before either runs it: the race two processes' passes can have.
    found = threading.Barrier(2)
    seen = {}
    for name, repos in (("first", repositories), ("second", other)):
        due_of = repos.due_scheduled_actions

        def due_then_wait(now: float, limit: int, after: DueAction | None = None, due_of=due_of, name=name) -> list[DueAction]:  # type: ignore[no-untyped-def]
            due = due_of(now, limit, after)
            seen[name] = len(due)
            found.wait(timeout=10)
            return due

        repos.due_scheduled_actions = due_then_wait  # type: ignore[method-assign]
    runs: dict[str, int] = {}
    threads = [
        threading.Thread(target=lambda name=name, repos=repos: runs.__setitem__(name, len(runner(repos, clock).run_due())))
        for name, repos in (("first", repositories), ("second", other))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert seen == {"first": 1, "second": 1}
    assert sorted(runs.values()) == [0, 1]
    assert len(repositories.of(PROJECT).list_activities("web", None, 10)) == 1


def test_after_a_restart_only_the_most_recent_missed_time_of_each_action_runs_in_time_order(repositories: GroupRepositories) -> None:
    clock = Clock(at("2026-12-01T08:00:00+00:00"))
    schedule(repositories, "scale-in", clock.now, recurrence="0 18 * * *", desired_capacity=1)
    schedule(repositories, "scale-out", clock.now, recurrence="0 9 * * *", desired_capacity=8)
    # Down from 08:00 on the 1st to 20:00 on the 3rd: three of each were missed; 18:00 is what should hold now.
    clock.now = at("2026-12-03T20:00:00+00:00")
    made = runner(repositories, clock).run_due()
    assert [run.action.id for run in made] == ["scale-out", "scale-in"]
    assert web(repositories).desired_capacity == 1
    causes = {a.cause for a in repositories.of(PROJECT).list_activities("web", None, 10)}
    assert causes == {
        "scheduled action scale-in, late: its run of 2026-12-03T18:00:00Z",
        "scheduled action scale-out, late: its run of 2026-12-03T09:00:00Z",
    }
    stored = repositories.of(PROJECT).get_scheduled_action("web", "scale-out")
    assert stored.next_run_time == at("2026-12-04T09:00:00+00:00")


def test_an_action_whose_end_time_passed_while_the_service_was_down_does_not_run(repositories: GroupRepositories) -> None:
    clock = Clock(at("2026-12-01T08:00:00+00:00"))
    schedule(repositories, "december", clock.now, recurrence="0 9 * * *", end_time=at("2026-12-02T12:00:00+00:00"), desired_capacity=8)
    clock.now = at("2026-12-03T10:00:00+00:00")
    (done,) = runner(repositories, clock).run_due()
    assert done.action.last_run_status is RunStatus.SKIPPED and done.action.next_run_time is None
    assert web(repositories).desired_capacity == 2
    assert repositories.of(PROJECT).list_activities("web", None, 10) == []


def test_a_run_due_while_scheduled_actions_are_suspended_is_skipped_and_the_next_runs_after_resume(
    repositories: GroupRepositories,
) -> None:
    clock = Clock(at("2026-12-01T08:00:00+00:00"))
    schedule(repositories, "morning", clock.now, recurrence="0 9 * * *", desired_capacity=8)
    suspend = frozenset({ScalingProcess.SCHEDULED_ACTIONS})
    repositories.of(PROJECT).change_group("web", lambda group: (replace(group, suspended_processes=suspend), None))
    scheduled = runner(repositories, clock)
    clock.now = at("2026-12-01T09:00:00+00:00")
    (skipped,) = scheduled.run_due()
    assert skipped.action.last_run_status is RunStatus.SKIPPED and web(repositories).desired_capacity == 2
    repositories.of(PROJECT).change_group("web", lambda group: (replace(group, suspended_processes=frozenset()), None))
    assert scheduled.run_due() == [] and web(repositories).desired_capacity == 2
    clock.now = at("2026-12-02T09:00:00+00:00")
    (ran,) = scheduled.run_due()
    assert ran.action.last_run_status is RunStatus.SUCCEEDED and web(repositories).desired_capacity == 8


def test_a_run_beyond_the_projects_instances_quota_fails_and_leaves_the_group_as_it_was(repositories: GroupRepositories) -> None:
    clock = Clock(at("2026-12-01T08:00:00+00:00"))
    schedule(repositories, "morning", clock.now, start_time=at("2026-12-01T09:00:00+00:00"), desired_capacity=8)
    clock.now = at("2026-12-01T09:00:00+00:00")
    (done,) = runner(repositories, clock, quotas=Quotas(instances=5)).run_due()
    assert done.action.last_run_status is RunStatus.FAILED and "quota instances" in done.action.last_run_reason
    assert web(repositories).desired_capacity == 2
    (activity,) = repositories.of(PROJECT).list_activities("web", None, 10)
    assert activity.status is ActivityStatus.FAILED and activity.cause == "scheduled action morning"


def test_an_action_changed_after_it_was_found_due_is_not_run_with_its_old_time(repositories: GroupRepositories) -> None:
    clock = Clock(at("2026-12-01T08:00:00+00:00"))
    schedule(repositories, "morning", clock.now, recurrence="0 9 * * *", desired_capacity=8)
    clock.now = at("2026-12-01T09:00:00+00:00")
    (found,) = repositories.due_scheduled_actions(clock.now, 10)
    repositories.of(PROJECT).change_scheduled_action("web", "morning", lambda action: replace(action, next_run_time=clock.now + 60))
    assert repositories.of(PROJECT).run_scheduled_action(found, lambda group, action: pytest.fail("it ran")) is None


def test_actions_that_cannot_run_never_hold_up_the_others_of_any_project(repositories: GroupRepositories) -> None:
    clock = Clock(at("2026-12-01T08:00:00+00:00"))
    repository = repositories.of(PROJECT)
    repository.create_group(Group(id="gone", launch_config_id="lc", min_size=0, max_size=10, desired_capacity=0, create_time=1.0), None)
    for number in range(3):
        gone = ScheduledAction(id=f"early-{number}", group_id="gone", create_time=clock.now, start_time=at("2026-12-01T08:30:00+00:00"))
        repository.create_scheduled_action(replace(gone, next_run_time=gone.start_time))
    repository.begin_delete("gone", "deleted by a test")
    late = schedule(repositories, "late", clock.now, start_time=at("2026-12-01T08:45:00+00:00"), desired_capacity=4)
    clock.now = at("2026-12-01T09:00:00+00:00")
    # A batch of 2: the actions of the group being deleted come first in the stored order, and are left out.
    (done,) = ScheduledActionRunner(repositories, clock, Quotas(), lambda: None, batch=2).run_due()
    assert done.action.id == late.id and web(repositories).desired_capacity == 4


@pytest.mark.parametrize(
    ("created", "restarted", "ran_for", "next_run"),
    [
        # Fall-back day: 02:30 happens twice (CEST, then CET); down over both, one run, for the first.
        ("2026-10-24T12:00:00+02:00", "2026-10-25T04:00:00+01:00", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"),
        # Spring-forward day: 02:30 does not exist; its run is at the change (03:00 CEST), made once after the restart.
        ("2026-03-28T12:00:00+01:00", "2026-03-29T05:00:00+02:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"),
    ],
)
def test_a_restart_across_a_dst_change_runs_the_missed_time_once(
    repositories: GroupRepositories, created: str, restarted: str, ran_for: str, next_run: str
) -> None:
    clock = Clock(at(created))
    schedule(repositories, "night", clock.now, recurrence="30 2 * * *", time_zone="Europe/Berlin", desired_capacity=3)
    clock.now = at(restarted)
    (done,) = runner(repositories, clock).run_due()
    assert done.activity is not None and web(repositories).desired_capacity == 3
    stored = repositories.of(PROJECT).get_scheduled_action("web", "night")
    assert stored.next_run_time == at(next_run)
    late = f"late: its run of {datetime.fromtimestamp(at(ran_for), UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"
    assert late in done.activity.cause
    assert runner(repositories, clock).run_due() == []


def test_each_run_is_a_scaling_decision_naming_its_action_skipped_and_failed_ones_too(repositories: GroupRepositories) -> None:
    clock = Clock(at("2026-12-01T08:00:00+00:00"))
    schedule(repositories, "floor", clock.now, start_time=at("2026-12-01T09:00:00+00:00"), min_size=3)
    schedule(repositories, "night", clock.now, start_time=at("2026-12-01T10:00:00+00:00"), desired_capacity=1)
    schedule(repositories, "burst", clock.now, start_time=at("2026-12-01T11:00:00+00:00"), desired_capacity=9)
    scheduled = runner(repositories, clock, quotas=Quotas(instances=5))
    clock.now = at("2026-12-01T09:00:00+00:00")
    scheduled.run_due()
    suspend = frozenset({ScalingProcess.SCHEDULED_ACTIONS})
    repositories.of(PROJECT).change_group("web", lambda group: (replace(group, suspended_processes=suspend), None))
    clock.now = at("2026-12-01T10:00:00+00:00")
    scheduled.run_due()
    repositories.of(PROJECT).change_group("web", lambda group: (replace(group, suspended_processes=frozenset()), None))
    clock.now = at("2026-12-01T11:00:00+00:00")
    scheduled.run_due()

    burst, night, floor = repositories.of(PROJECT).list_scaling_decisions("web", None, 10)
    assert {(d.source, d.caller) for d in (burst, night, floor)} == {(DecisionSource.SCHEDULED_ACTION, "autoscale-service")}
    # Only sizes asked: the desired capacity kept within them, which the maths show.
    assert (floor.scheduled_action_id, floor.outcome, floor.requested_capacity) == ("floor", DecisionOutcome.ADJUSTED, None)
    assert floor.calculation == CapacityCalculation(2, 2.0, 2, 3, 3, 10) and floor.activity_id
    assert (night.outcome, night.requested_capacity, night.activity_id) == (DecisionOutcome.SKIPPED, 1, "")
    assert "suspended" in night.reason and night.desired_capacity == 3
    assert (burst.outcome, burst.desired_capacity, burst.calculation) == (DecisionOutcome.FAILED, 3, None)
    assert "quota instances" in burst.reason
