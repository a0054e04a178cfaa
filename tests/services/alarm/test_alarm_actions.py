"""The action dispatcher without a server: runners that the test holds, a recorder that keeps what it is told, the webhook
pool."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from autoscale.series import Statistic
from autoscale.validation import MAX_CAUSE_LENGTH
from services.alarm.action_runners import ActionOutcome, ActionRequest
from services.alarm.actions import POOL_FULL, ActionDispatcher
from services.alarm.domain import Alarm, AlarmState, ComparisonOperator, HistoryEntry, PendingAction, ThresholdRule, is_policy_action
from services.alarm.webhook_pool import WebhookPool

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


def _webhook(number: int) -> ActionRequest:
    target = "https://slow.example/hook"
    pending = PendingAction(100 + number, "a", target, AlarmState.OK, AlarmState.ALARM, "high", {}, float(number), False, project="p")
    return ActionRequest(Alarm("a", RULE, alarm_actions=(target,), project="p"), pending)


class Recorder:
    """Keeps each history entry the dispatcher records; `wait_for` waits until one matches."""

    def __init__(self) -> None:
        self.entries: list[HistoryEntry] = []
        self.changed = threading.Condition()

    def __call__(self, project: str, entry: HistoryEntry, pending_id: int | None, done: bool) -> bool:
        with self.changed:
            self.entries.append(entry)
            self.changed.notify_all()
        return True

    def wait_for(self, match: Callable[[HistoryEntry], bool], count: int = 1) -> list[HistoryEntry]:
        with self.changed:
            assert self.changed.wait_for(lambda: len([e for e in self.entries if match(e)]) >= count, 5)
            return [e for e in self.entries if match(e)]


class Answering:
    """A runner that answers at once."""

    def run(self, action: ActionRequest) -> ActionOutcome:
        return ActionOutcome(True, "adjusted")


def test_a_policy_action_runs_at_once_while_slow_webhooks_hold_every_webhook_thread():
    held, record = HeldRunner(), Recorder()
    pool = WebhookPool(threads=2, per_host=2)
    dispatcher = ActionDispatcher(
        record, lambda target: Answering() if is_policy_action(target) else held, time.time, attempts=1, backoff=1.0, threads=1,
        pool_for=lambda target: None if is_policy_action(target) else pool,
    )
    dispatcher.start()
    pool.start()
    try:
        for number in range(6):
            dispatcher.dispatch(_webhook(number))
        assert held.entered.wait(5)
        dispatcher.dispatch(_action())
        [entry] = record.wait_for(lambda e: e.action == "policies/up")  # while every webhook thread is held
        assert entry.action_succeeded
        deadline = time.monotonic() + 5
        while dispatcher.busy() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not dispatcher.busy()  # the webhooks wait for the network, not for the dispatcher's threads
        assert dispatcher.outstanding() == 6
    finally:
        held.go.set()
        dispatcher.stop()
        pool.stop()


def test_a_webhook_its_pool_cannot_take_is_recorded_and_retried_not_dropped():
    record = Recorder()
    full = WebhookPool(threads=0, queue_limit=0)
    dispatcher = ActionDispatcher(
        record, lambda target: Answering(), time.time, attempts=2, backoff=0.01, threads=1, pool_for=lambda target: full,
    )
    dispatcher.start()
    try:
        dispatcher.dispatch(_webhook(1))
        first, second = record.wait_for(lambda e: e.action == "https://slow.example/hook", count=2)
        assert (first.attempt, first.action_succeeded) == (1, False)
        assert first.reason == f"{POOL_FULL}; retrying in 0.01s (attempt 2 of 2)"
        assert second.reason == f"{POOL_FULL}; giving up"
        deadline = time.monotonic() + 5
        while dispatcher.outstanding() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert dispatcher.outstanding() == 0
    finally:
        dispatcher.stop()
