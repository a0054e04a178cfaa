"""Evaluating alarms without a server (the evaluator, its scheduler and unit of work): statistics from a fake, alarms in a real
SQLite file."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc
import pytest

from autoscale.database import Database
from autoscale.errors import PeerError
from autoscale.series import Statistic
from services.alarm import evaluator as evaluator_module
from services.alarm import scheduler as scheduler_module
from services.alarm import unit_of_work as unit_of_work_module
from services.alarm.action_runners import ActionRequest
from services.alarm.domain import Alarm, AlarmKey, AlarmState, ComparisonOperator, HistoryEntry, HistoryType, PendingAction, ThresholdRule
from services.alarm.evaluation import Datapoint
from services.alarm.evaluator import AlarmEvaluator
from services.alarm.index import AlarmIndex
from services.alarm.repository import AlarmRepository, StateChange
from services.alarm.scheduler import EvaluationScheduler
from services.alarm.server import MIGRATIONS_DIR
from services.alarm.unit_of_work import AlarmWrites
from tests.support import FakeClock

NOW = 1_700_000_030.0
PROJECT = "p1"


def _key(alarm_id: str, project: str = PROJECT) -> AlarmKey:
    return project, alarm_id


class FakeStatistics:
    """Answers each rule's metric with the value the test set (per project, or for every project), in the current period."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        self.project_values: dict[tuple[str, str], float] = {}
        """(project, metric) -> the value of that project's series; before `values`."""
        self.batch_sizes: list[int] = []
        self.batches: list[tuple[str, list[str]]] = []
        """Each call's project and the metrics of its windows."""
        self.failing = False

    def batch_datapoints(self, project: str, windows: list[tuple[ThresholdRule, float, float]]) -> list[list[Datapoint]]:
        self.batch_sizes.append(len(windows))
        self.batches.append((project, [rule.metric for rule, _, _ in windows]))
        if self.failing:
            raise PeerError(grpc.StatusCode.UNAVAILABLE, "down")
        values = [self.project_values.get((project, rule.metric), self.values.get(rule.metric)) for rule, _, _ in windows]
        # The value in the newest period of each window (the current one).
        return [
            [] if value is None else [Datapoint(end - rule.period, value, 1)]
            for (rule, _, end), value in zip(windows, values, strict=True)
        ]


class RecordingDispatch:
    def __init__(self) -> None:
        self.actions: list[ActionRequest] = []

    def dispatch(self, action: ActionRequest) -> None:
        self.actions.append(action)

    def busy(self) -> bool:
        return False


@dataclass
class Evaluation:
    """The parts that evaluate alarms, wired as the alarm service wires them."""

    evaluator: AlarmEvaluator
    scheduler: EvaluationScheduler
    writes: AlarmWrites

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.stop()
        self.evaluator.stop()

    def sweep(self, keys: list[AlarmKey], busy: Callable[[], bool] = lambda: False) -> int:
        """Evaluate as the sweep does: yielding to urgent work before each chunk."""
        return self.evaluator.evaluate(keys, between_chunks=lambda: self.scheduler.yield_to_urgent(busy))


def _evaluation(index: AlarmIndex, repository: AlarmRepository, statistics: FakeStatistics, dispatch: RecordingDispatch,
                clock: Callable[[], float]) -> Evaluation:
    writes = AlarmWrites(repository, index, dispatch)
    evaluator = AlarmEvaluator(index, statistics, writes, clock)
    return Evaluation(evaluator, EvaluationScheduler(evaluator.evaluate), writes)


@pytest.fixture
def parts(sqlite_url):
    database = Database(sqlite_url)
    database.migrate(MIGRATIONS_DIR, "alarm")
    repository = AlarmRepository(database)
    index, statistics, dispatch = AlarmIndex(), FakeStatistics(), RecordingDispatch()
    yield _evaluation(index, repository, statistics, dispatch, lambda: NOW), repository, index, statistics, dispatch
    database.dispose()


def _add(
    repository: AlarmRepository, index: AlarmIndex, alarm_id: str, metric: str = "cpu", *,
    actions: tuple[str, ...] = ("policies/up",), repeat_actions: bool = False, project: str = PROJECT,
) -> None:
    rule = ThresholdRule(metric, (), Statistic.AVERAGE, ComparisonOperator.GREATER_THAN, 80.0, 60.0, 1)
    alarm = Alarm(
        id=alarm_id, rule=rule, alarm_actions=actions, repeat_actions=repeat_actions, create_time=1.0, state_time=1.0, project=project,
    )
    repository.create_alarm(alarm, HistoryEntry(alarm_id, 1.0, HistoryType.CREATION, "created"))
    index.put(alarm)


def _run_until_drained(evaluation: Evaluation) -> None:
    """Start the scheduler's threads, let them evaluate everything queued, and stop them."""
    evaluation.start()
    try:
        deadline = time.monotonic() + 5
        while evaluation.scheduler.queued() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not evaluation.scheduler.queued(), f"{evaluation.scheduler.queued()} alarms still queued or evaluated after 5 s"
    finally:
        evaluation.stop()


def _five_alarms_to_fire_in_chunks_of_two(parts, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _, repository, index, statistics, _ = parts
    monkeypatch.setattr(evaluator_module, "CHUNK", 2)
    for number in range(5):
        _add(repository, index, f"a{number}")
    statistics.values["cpu"] = 95.0


def test_the_sweep_asks_statistics_in_chunks_and_evaluates_every_alarm(parts, monkeypatch):
    evaluator, repository, index, statistics, dispatch = parts
    _five_alarms_to_fire_in_chunks_of_two(parts, monkeypatch)
    assert evaluator.evaluator.evaluate(index.keys()) == 5
    # The next chunk is asked while one is stored: the calls may end in any order.
    assert sorted(statistics.batch_sizes) == [1, 2, 2]
    assert {repository.get_alarm(PROJECT, f"a{n}").state for n in range(5)} == {AlarmState.ALARM}
    assert sorted(a.alarm.id for a in dispatch.actions) == [f"a{n}" for n in range(5)]


def test_alarms_of_several_projects_are_asked_one_call_per_project_and_judged_over_its_series(parts, monkeypatch):
    evaluator, repository, index, statistics, dispatch = parts
    monkeypatch.setattr(evaluator_module, "CHUNK", 2)
    for project in ("p1", "p2"):
        for number in range(3):
            _add(repository, index, f"a{number}", project=project)
    statistics.project_values = {("p1", "cpu"): 95.0, ("p2", "cpu"): 10.0}
    assert evaluator.evaluator.evaluate(index.keys()) == 6
    assert sorted((project, len(metrics)) for project, metrics in statistics.batches) == [("p1", 1), ("p1", 2), ("p2", 1), ("p2", 2)]
    assert {repository.get_alarm("p1", f"a{n}").state for n in range(3)} == {AlarmState.ALARM}
    assert {repository.get_alarm("p2", f"a{n}").state for n in range(3)} == {AlarmState.OK}
    assert sorted(a.alarm.key for a in dispatch.actions) == [("p1", f"a{n}") for n in range(3)]


def test_an_unreachable_metrics_service_leaves_states_and_dispatches_nothing(parts):
    evaluator, repository, index, statistics, dispatch = parts
    _add(repository, index, "a")
    statistics.failing = True
    assert evaluator.evaluator.evaluate([_key("a")]) == 0
    assert repository.get_alarm(PROJECT, "a").state is AlarmState.INSUFFICIENT_DATA and dispatch.actions == []


def test_a_state_changed_meanwhile_wins_over_a_stale_evaluation(parts):
    evaluator, repository, index, statistics, dispatch = parts
    _add(repository, index, "a")
    # Another replica (or an operator) moved the alarm; this index still holds INSUFFICIENT_DATA.
    repository.change_states([StateChange(repository.get_alarm(PROJECT, "a"), AlarmState.OK, "elsewhere", NOW - 1)])
    statistics.values["cpu"] = 95.0
    evaluator.evaluator.evaluate([_key("a")])
    assert repository.get_alarm(PROJECT, "a").state is AlarmState.OK
    assert dispatch.actions == []
    assert index.get(_key("a")).state is AlarmState.OK


def test_alarms_queued_together_are_evaluated_with_one_statistics_call(parts):
    evaluator, repository, index, statistics, dispatch = parts
    for n in range(5):
        _add(repository, index, f"a{n}")
        evaluator.scheduler.submit(_key(f"a{n}"))
    statistics.values["cpu"] = 95.0
    _run_until_drained(evaluator)
    assert statistics.batch_sizes == [5]
    assert len(dispatch.actions) == 5


def test_an_urgent_alarm_is_not_held_up_by_a_long_batch_of_others(parts):
    evaluator, repository, index, statistics, dispatch = parts
    for n in range(3):
        _add(repository, index, f"idle{n}", metric="idle")
        evaluator.scheduler.submit(_key(f"idle{n}"))
    _add(repository, index, "hot")
    statistics.values["cpu"] = 95.0
    batch_started, release = threading.Event(), threading.Event()
    answer_batch = statistics.batch_datapoints

    def slow_batch(project, windows):  # type: ignore[no-untyped-def]
        if any(rule.metric == "idle" for rule, _, _ in windows):
            batch_started.set()
            release.wait(5)
        return answer_batch(project, windows)

    statistics.batch_datapoints = slow_batch  # type: ignore[method-assign]
    evaluator.start()
    try:
        assert batch_started.wait(5)
        evaluator.scheduler.submit(_key("hot"), urgent=True)
        deadline = time.monotonic() + 5
        while repository.get_alarm(PROJECT, "hot").state is not AlarmState.ALARM and time.monotonic() < deadline:
            time.sleep(0.01)
        assert repository.get_alarm(PROJECT, "hot").state is AlarmState.ALARM, "the urgent alarm waited for the batch"
    finally:
        release.set()
        evaluator.stop()


def test_a_queued_alarm_moves_to_the_urgent_lane_when_samples_could_move_it(parts):
    evaluator, repository, index, statistics, dispatch = parts
    _add(repository, index, "a")
    evaluator.scheduler.submit(_key("a"))
    evaluator.scheduler.submit(_key("a"), urgent=True)
    assert evaluator.scheduler.queued() == 1
    statistics.values["cpu"] = 95.0
    _run_until_drained(evaluator)
    assert repository.get_alarm(PROJECT, "a").state is AlarmState.ALARM


def test_a_few_transitions_are_logged_one_by_one_and_a_mass_of_them_in_one_line(parts, caplog, monkeypatch):
    evaluator, repository, index, statistics, _ = parts
    monkeypatch.setattr(unit_of_work_module, "TRANSITIONS_LOGGED_ONE_BY_ONE", 2)
    for number in range(5):
        _add(repository, index, f"a{number}")
    statistics.values["cpu"] = 90.0
    with caplog.at_level("INFO", logger=unit_of_work_module.__name__):
        evaluator.evaluator.evaluate([_key("a0"), _key("a1")])
        evaluator.evaluator.evaluate([_key("a2"), _key("a3"), _key("a4")])
    lines = [record.getMessage() for record in caplog.records if record.levelname == "INFO"]
    assert len(lines) == 3
    assert lines[0].startswith("alarms/a0 of project p1: insufficient data -> alarm: ")
    assert lines[1].startswith("alarms/a1 of project p1: insufficient data -> alarm: ")
    assert lines[2] == "3 alarms changed state (3 insufficient data -> alarm); ListAlarmHistory has each one's reason"
    assert {repository.get_alarm(PROJECT, f"a{number}").state for number in range(5)} == {AlarmState.ALARM}


def test_a_batch_of_several_chunks_is_still_evaluated_after_the_evaluator_stopped(parts, monkeypatch):
    evaluator, _, index, statistics, _ = parts
    _five_alarms_to_fire_in_chunks_of_two(parts, monkeypatch)
    evaluator.start()
    evaluator.stop()
    assert evaluator.evaluator.evaluate(index.keys()) == 5
    assert sorted(statistics.batch_sizes) == [1, 2, 2]


def test_a_sweep_waits_for_urgent_alarms_before_each_chunk_and_goes_on_once_they_are_evaluated(parts, monkeypatch):
    evaluator, repository, index, statistics, dispatch = parts
    monkeypatch.setattr(scheduler_module, "YIELD_LIMIT", 30.0)
    _five_alarms_to_fire_in_chunks_of_two(parts, monkeypatch)
    _add(repository, index, "hot", metric="hot")
    statistics.values["hot"] = 95.0
    evaluator.scheduler.submit(_key("hot"), urgent=True)  # queued; no thread evaluates it yet
    waiting = threading.Event()
    hot_judged_before_chunk: list[bool] = []

    def between_chunks() -> None:
        waiting.set()
        evaluator.scheduler.yield_to_urgent(lambda: False)
        hot_judged_before_chunk.append(any(action.alarm.id == "hot" for action in dispatch.actions))

    swept: list[int] = []
    sweep = threading.Thread(
        target=lambda: swept.append(evaluator.evaluator.evaluate([_key(f"a{n}") for n in range(5)], between_chunks=between_chunks))
    )
    sweep.start()
    try:
        assert waiting.wait(5)
        # The first chunk's statistics may be asked ahead; none is judged while the urgent alarm waits.
        assert swept == [] and {repository.get_alarm(PROJECT, f"a{n}").state for n in range(5)} == {AlarmState.INSUFFICIENT_DATA}
        evaluator.start()
        sweep.join(10)
        assert swept == [5]
        # Every chunk went on only once the urgent alarm was judged, and its action went out first.
        assert hot_judged_before_chunk == [True, True, True]
        assert [action.alarm.id for action in dispatch.actions][0] == "hot"
    finally:
        evaluator.stop()
        sweep.join(10)


def test_a_sweep_waits_for_urgent_work_only_so_long(parts, monkeypatch):
    evaluator, repository, index, statistics, _ = parts
    monkeypatch.setattr(scheduler_module, "YIELD_LIMIT", 0.05)
    _five_alarms_to_fire_in_chunks_of_two(parts, monkeypatch)
    _add(repository, index, "hot", metric="hot")
    evaluator.scheduler.submit(_key("hot"), urgent=True)  # never evaluated: no thread runs
    assert evaluator.sweep(index.keys()) == 6


@pytest.fixture
def clocked(sqlite_url):  # type: ignore[no-untyped-def]
    """The evaluator's parts on a clock the test moves, and a way to build the evaluator again (a restart)."""
    database = Database(sqlite_url)
    database.migrate(MIGRATIONS_DIR, "alarm")
    repository = AlarmRepository(database)
    clock, statistics, dispatch = FakeClock(NOW), FakeStatistics(), RecordingDispatch()

    def started() -> tuple[Evaluation, AlarmIndex]:
        index = AlarmIndex()
        index.replace_all(repository.every_alarm())
        return _evaluation(index, repository, statistics, dispatch, clock), index

    yield started, repository, clock, statistics, dispatch
    database.dispose()


def _ran(repository: AlarmRepository, action: PendingAction) -> None:
    """The dispatcher's account of an action that ran and is done (its pending row goes)."""
    entry = HistoryEntry(action.alarm_id, action.time, HistoryType.ACTION, "ran", state=action.state, action=action.target, attempt=1)
    assert repository.record_attempt(action.project, entry, action.id, done=True)


def test_a_policy_action_runs_again_once_per_period_while_the_alarm_stays_in_the_state_without_repeat_actions(clocked):
    started, repository, clock, statistics, dispatch = clocked
    evaluator, index = started()
    _add(repository, index, "a")
    statistics.values["cpu"] = 95.0
    evaluator.evaluator.evaluate([_key("a")])
    _ran(repository, dispatch.actions[0].pending)
    clock.advance(59)
    evaluator.evaluator.evaluate([_key("a")])
    assert len(dispatch.actions) == 1, "repeated within the period"
    clock.advance(1)
    evaluator.evaluator.evaluate([_key("a")])  # the sweep's path
    assert [(a.pending.target, a.pending.repeat, a.pending.time) for a in dispatch.actions] == [
        ("policies/up", False, NOW), ("policies/up", True, NOW + 60),
    ]
    _ran(repository, dispatch.actions[1].pending)
    clock.advance(60)
    evaluator.evaluator.evaluate([_key("a")])  # an arrival's path
    assert [a.pending.time for a in dispatch.actions] == [NOW, NOW + 60, NOW + 120]
    assert repository.get_alarm(PROJECT, "a").repeat_time == NOW + 120


def test_a_webhook_runs_again_only_with_repeat_actions(clocked):
    started, repository, clock, statistics, dispatch = clocked
    evaluator, index = started()
    _add(repository, index, "once", actions=("https://hooks.example/x",))
    _add(repository, index, "repeats", actions=("https://hooks.example/x",), repeat_actions=True)
    statistics.values["cpu"] = 95.0
    evaluator.evaluator.evaluate([_key("once"), _key("repeats")])
    for action in dispatch.actions:
        _ran(repository, action.pending)
    clock.advance(60)
    evaluator.evaluator.evaluate([_key("once"), _key("repeats")])
    assert sorted((a.alarm.id, a.pending.repeat) for a in dispatch.actions) == [("once", False), ("repeats", False), ("repeats", True)]


def test_an_action_is_not_run_again_while_its_previous_invocation_is_still_being_tried(clocked):
    started, repository, clock, statistics, dispatch = clocked
    evaluator, index = started()
    _add(repository, index, "a")
    statistics.values["cpu"] = 95.0
    evaluator.evaluator.evaluate([_key("a")])
    clock.advance(60)
    evaluator.evaluator.evaluate([_key("a")])  # the first invocation is still pending (being retried)
    assert len(dispatch.actions) == 1
    _ran(repository, dispatch.actions[0].pending)
    clock.advance(30)
    evaluator.evaluator.evaluate([_key("a")])
    assert len(dispatch.actions) == 1, "the skipped repeat still counts: a period from it"
    clock.advance(30)
    evaluator.evaluator.evaluate([_key("a")])
    assert [a.pending.repeat for a in dispatch.actions] == [False, True]


def test_a_restarted_evaluator_keeps_the_repeats_a_period_apart(clocked):
    started, repository, clock, statistics, dispatch = clocked
    evaluator, index = started()
    _add(repository, index, "a")
    statistics.values["cpu"] = 95.0
    evaluator.evaluator.evaluate([_key("a")])
    _ran(repository, dispatch.actions[0].pending)
    clock.advance(60)
    evaluator.evaluator.evaluate([_key("a")])
    _ran(repository, dispatch.actions[1].pending)
    restarted, _ = started()
    clock.advance(30)
    restarted.evaluator.evaluate([_key("a")])
    assert len(dispatch.actions) == 2
    clock.advance(30)
    restarted.evaluator.evaluate([_key("a")])
    assert len(dispatch.actions) == 3
