"""The action dispatcher without a server: a runner that the test holds, a recorder that keeps what it is told."""

from __future__ import annotations

import threading
import time

from autoscale.series import Statistic
from autoscale.validation import MAX_CAUSE_LENGTH
from services.alarm.action_runners import ActionOutcome, ActionRequest
from services.alarm.actions import ActionDispatcher
from services.alarm.domain import Alarm, AlarmState, ComparisonOperator, PendingAction, ThresholdRule

RULE = ThresholdRule("cpu", (), Statistic.AVERAGE, ComparisonOperator.GREATER_THAN, 80.0, 60.0, 1)


class HeldRunner:
    """Runs an action only once the test lets it go."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.go = threading.Event()

    def run(self, action: ActionRequest) -> ActionOutcome:
        self.entered.set()
        self.go.wait(10)
        return ActionOutcome(True, "done")


def _action(project: str = "p") -> ActionRequest:
    pending = PendingAction(1, "a", "policies/up", AlarmState.OK, AlarmState.ALARM, "high", {}, 1.0, False, project=project)
    return ActionRequest(Alarm("a", RULE, alarm_actions=("policies/up",), project=project), pending)


def test_the_dispatcher_is_busy_while_an_action_runs_and_idle_once_it_ended():
    runner, recorded = HeldRunner(), threading.Event()

    def record(project, entry, pending_id, done):  # type: ignore[no-untyped-def]
        recorded.set()
        return True

    dispatcher = ActionDispatcher(record, lambda target: runner, time.time, attempts=1, backoff=1.0, threads=1)
    assert not dispatcher.busy()
    dispatcher.dispatch(_action())
    assert dispatcher.busy()  # due now, before a thread took it
    dispatcher.start()
    try:
        assert runner.entered.wait(5)
        assert dispatcher.busy()
        runner.go.set()
        assert recorded.wait(5)
        deadline = time.monotonic() + 5
        while dispatcher.busy() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not dispatcher.busy()
    finally:
        runner.go.set()
        dispatcher.stop()


def test_the_cause_handed_to_a_policy_names_the_alarm_and_its_reason_cut_to_a_cause_s_limit():
    pending = PendingAction(
        1, "a", "policies/up", AlarmState.OK, AlarmState.ALARM, "average(cpu) > 80: " + "99, " * 5000, {}, 1.0, False, project="p"
    )
    cause = ActionRequest(Alarm("a", RULE, alarm_actions=("policies/up",), project="p"), pending).cause()
    assert cause.startswith("alarms/a entered ALARM: average(cpu) > 80: 99, ") and cause.endswith("…")
    assert len(cause) == MAX_CAUSE_LENGTH
    assert _action().cause() == "alarms/a entered ALARM: high"


class RecordingRunner:
    """Keeps every action it is asked to run."""

    def __init__(self, count: int) -> None:
        self.actions: list[ActionRequest] = []
        self._count = count
        self.all_ran = threading.Event()

    def run(self, action: ActionRequest) -> ActionOutcome:
        self.actions.append(action)
        if len(self.actions) == self._count:
            self.all_ran.set()
        return ActionOutcome(True, "done")


def test_the_same_firing_of_alarms_of_one_id_in_two_projects_gets_two_request_ids_and_two_records():
    runner, recorded = RecordingRunner(2), []

    def record(project, entry, pending_id, done):  # type: ignore[no-untyped-def]
        recorded.append((project, entry.alarm_id))
        return True

    dispatcher = ActionDispatcher(record, lambda target: runner, time.time, attempts=1, backoff=1.0, threads=1)
    dispatcher.dispatch(_action("p1"))
    dispatcher.dispatch(_action("p2"))
    dispatcher.start()
    try:
        assert runner.all_ran.wait(5)
    finally:
        dispatcher.stop()
    assert len({action.request_id for action in runner.actions}) == 2
    assert sorted(recorded) == [("p1", "a"), ("p2", "a")]
