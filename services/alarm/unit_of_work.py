"""Every write of alarms goes through here: stored first, then the in-memory index updated, then the actions dispatched.

It is the one writer of the index (see services.alarm.index), so that what the index
holds is always what was last stored by this process, whoever asked for the write:
the servicer's standard methods and SetAlarmState, the evaluations' decisions, the
periodic reload that brings in other replicas' writes.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from opentelemetry.context import Context

from autoscale import telemetry
from autoscale.errors import NotFound, Unavailable
from services.alarm.action_runners import ActionRequest
from services.alarm.decision import Decision
from services.alarm.domain import Alarm, AlarmKey, AlarmState, HistoryEntry, PendingAction, alarm_name, describe_alarm
from services.alarm.index import AlarmIndex
from services.alarm.repository import AlarmRepository, DefinitionsCheck, Repeat, StateChange

log = logging.getLogger(__name__)

FORCE_STATE_ATTEMPTS = 5
"""Reads of an alarm SetAlarmState makes at most while evaluations keep moving it between the read and the change."""

TRANSITIONS_LOGGED_ONE_BY_ONE = 10
"""Transitions stored together that are logged one line each at INFO; more are summed up in one line (each at DEBUG)."""

NO_CONTEXTS: Mapping[AlarmKey, Context | None] = {}


class Dispatch(Protocol):
    """Where the actions decided are handed to run."""

    def dispatch(self, action: ActionRequest) -> None:
        """Queue an action (returns at once)."""


class AlarmWrites:
    """The alarms' unit of work: repository, then index, then actions."""

    def __init__(self, repository: AlarmRepository, index: AlarmIndex, actions: Dispatch) -> None:
        self._repository = repository
        self._index = index
        self._actions = actions
        self._on_transitions: Callable[[Sequence[Alarm]], None] | None = None

    def tell_transitions_to(self, listener: Callable[[Sequence[Alarm]], None]) -> None:
        """Call `listener` with the alarms of every batch of transitions stored, once the index holds them and their
        actions are dispatched (the composite alarms that name them are judged again: services.alarm.composite_evaluator)."""
        self._on_transitions = listener

    # Definitions

    def create(self, alarm: Alarm, entry: HistoryEntry, check: DefinitionsCheck | None = None) -> Alarm:
        """Store a new alarm (AlreadyExists if its id is taken; `check` may refuse it: AlarmRepository.create_alarm) and
        hold it."""
        created = self._repository.create_alarm(alarm, entry, check)
        self._index.put(created)
        return created

    def update(
        self, alarm: Alarm, entry: HistoryEntry, *, new_webhook_secret: bool = False, check: DefinitionsCheck | None = None
    ) -> Alarm:
        """Store a changed definition, its webhook secret too when `new_webhook_secret` (NotFound if the alarm is gone;
        `check` may refuse it), and hold what was stored."""
        stored = self._repository.update_alarm(alarm, entry, new_webhook_secret=new_webhook_secret, check=check)
        self._index.put(stored)
        return stored

    def delete(self, project: str, alarm_id: str, check: DefinitionsCheck | None = None) -> None:
        """Delete an alarm of `project` and its history (NotFound if the project has none of this id; `check` may refuse
        it) and forget it."""
        self._repository.delete_alarm(project, alarm_id, check)
        self._index.remove((project, alarm_id))

    def reload_all(self) -> None:
        """Hold every alarm of every project as stored now (another replica's writes arrive so)."""
        self._index.replace_all(self._repository.every_alarm())

    # States

    def apply(self, decisions: Sequence[Decision], now: float, contexts: Mapping[AlarmKey, Context | None] = NO_CONTEXTS) -> None:
        """Store what the decisions of one evaluation at `now` change (each chunk's transitions in one transaction, its repeats
        in another), hold the alarms as stored, and dispatch their actions, each in its alarm's trace context."""
        for decision in decisions:
            self._index.note_evaluated(decision.alarm.key, now)
        moving = [decision for decision in decisions if decision.moves]
        if moving:
            self._transition(moving, now, contexts)
        repeating = [decision for decision in decisions if decision.repeats]
        if repeating:
            self._repeat(repeating, now, contexts)
        restating = [decision for decision in decisions if decision.restates]
        if restating:
            self._restate(restating, now)

    def force_state(self, project: str, alarm_id: str, state: AlarmState, reason: str, now: float, caller: str) -> Alarm:
        """An operator's SetAlarmState: move an alarm of `project` into `state` and run that state's actions; NotFound if the
        project has none of this id. `caller` is who set it (its history names them)."""
        # The alarm as stored now, then the change from it; an evaluation that stored a transition in between makes the
        # compare-and-set miss, and the operator's state is set from the newer one.
        for _ in range(FORCE_STATE_ATTEMPTS):
            try:
                alarm = self._repository.get_alarm(project, alarm_id)
            except NotFound:
                self._index.remove((project, alarm_id))
                raise
            [transition] = self._repository.change_states(
                [StateChange(alarm, state, reason, now, {"type": "set by operator"}, caller)]
            )
            if transition is not None:
                self._index.put(transition.alarm)
                self._dispatch(transition.alarm, transition.actions)
                self._tell([transition.alarm])
                return transition.alarm
        raise Unavailable(f"{alarm_name(alarm_id)} kept changing while its state was set; try again")

    def _transition(self, moving: list[Decision], now: float, contexts: Mapping[AlarmKey, Context | None]) -> None:
        """Store the transitions (each only from the state and revision it was judged at) with their actions, then dispatch."""
        changes = [StateChange(d.alarm, d.evaluation.state, d.evaluation.reason, now, d.evaluation.reason_data) for d in moving]
        transitions = self._repository.change_states(changes)
        self._index.put_many([transition.alarm for transition in transitions if transition is not None])
        # NOTE: a first sweep or the end of a metrics outage moves thousands of alarms at once: one line each
        # would flood the log (and cost a fifth of the sweep); their history keeps every transition.
        one_by_one = logging.INFO if len(moving) <= TRANSITIONS_LOGGED_ONE_BY_ONE else logging.DEBUG
        logged = log.isEnabledFor(one_by_one)
        moved: Counter[tuple[AlarmState, AlarmState]] = Counter()
        for decision, transition in zip(moving, transitions, strict=True):
            alarm, evaluation = decision.alarm, decision.evaluation
            if transition is None:
                # The state moved meanwhile (SetAlarmState, another replica), the definition changed, or the alarm is gone:
                # read it again; the next evaluation starts from what is stored.
                self._reload(alarm.key)
                continue
            moved[(transition.previous, evaluation.state)] += 1
            if logged:
                log.log(one_by_one, "%s: %s -> %s: %s", describe_alarm(alarm.key), transition.previous.value, evaluation.state.value,
                        evaluation.reason)
            if transition.actions:
                with telemetry.attached(contexts.get(alarm.key)):
                    self._dispatch(transition.alarm, transition.actions)
        if one_by_one != logging.INFO and moved:
            counted = sorted((previous.value, state.value, count) for (previous, state), count in moved.items())
            summary = ", ".join(f"{count} {previous} -> {state}" for previous, state, count in counted)
            log.info("%d alarms changed state (%s); ListAlarmHistory has each one's reason", sum(moved.values()), summary)
        self._tell([transition.alarm for transition in transitions if transition is not None])

    def _repeat(self, staying: list[Decision], now: float, contexts: Mapping[AlarmKey, Context | None]) -> None:
        """Run again the repeated actions of alarms that stay in their state and are due (see AlarmRepository.add_repeated_actions).

        NOTE: samples arrive far more often than periods pass; repeating on every arrival would flood
        the targets, so a state's actions repeat at most once per period of the rule.
        """
        repeats = [Repeat(d.alarm, d.evaluation.reason, d.evaluation.reason_data, now) for d in staying]
        repeated = self._repository.add_repeated_actions(repeats)
        self._index.put_many([alarm for alarm, _ in repeated])
        for alarm, actions in repeated:
            if actions:
                with telemetry.attached(contexts.get(alarm.key)):
                    self._dispatch(alarm, actions)

    def _restate(self, staying: list[Decision], now: float) -> None:
        """Store the new reason of alarms that stay in their state (no action runs; see decision.Decision.restates)."""
        changes = [StateChange(d.alarm, d.alarm.state, d.evaluation.reason, now, d.evaluation.reason_data) for d in staying]
        stored = self._repository.change_reasons(changes)
        self._index.put_many([alarm for alarm in stored if alarm is not None])
        for decision, alarm in zip(staying, stored, strict=True):
            if alarm is None:
                self._reload(decision.alarm.key)

    def _tell(self, moved: list[Alarm]) -> None:
        if not moved or self._on_transitions is None:
            return
        try:
            self._on_transitions(moved)
        except Exception:
            # What the listener does (judging composite alarms) must not fail the write it follows, which is stored and
            # whose actions run; the sweep judges them again.
            log.exception("after %d transitions, telling of them failed", len(moved))

    def _dispatch(self, alarm: Alarm, actions: list[PendingAction]) -> None:
        for pending in actions:
            self._actions.dispatch(ActionRequest(alarm, pending))

    def _reload(self, key: AlarmKey) -> None:
        try:
            self._index.put(self._repository.get_alarm(*key))
        except NotFound:
            self._index.remove(key)
