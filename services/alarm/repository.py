"""Storage of alarms and their history, behind one small interface.

An alarm's definition and its state are written separately: definitions by the
standard methods (each update moves the alarm's revision), states by transitions,
which compare-and-set on the state, revision and creation time they judged, so that an
evaluation racing an operator's SetAlarmState, an update, a delete and create of the
same id or another replica's evaluation never overwrites what was stored meanwhile.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import fields, replace
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import Connection

from autoscale.database import Database, newest_first_page
from autoscale.errors import AlreadyExists, NotFound
from autoscale.identity.caller import SERVICE_PRINCIPAL
from autoscale.series import Statistic
from services.alarm.domain import (
    NO_REASON_DATA,
    Alarm,
    AlarmKey,
    AlarmState,
    ComparisonOperator,
    CompositeRule,
    GnocchiRule,
    HistoryEntry,
    HistoryType,
    PendingAction,
    PrometheusRule,
    Rule,
    ThresholdRule,
    TreatMissingData,
    alarm_name,
)
from services.alarm.models import alarms, history, pending_actions

TRANSITION_ENTRY_COLUMNS = (
    "project", "alarm_id", "time", "type", "previous_state", "state", "reason", "action", "action_succeeded", "attempt", "caller",
)
"""The history columns of a state transition's entry, in the order change_states gives them."""

_ENTRY_DEFAULTS = {entry_field.name: entry_field.default for entry_field in fields(HistoryEntry)}
TRANSITION_ENTRY_TAIL = (_ENTRY_DEFAULTS["action"], _ENTRY_DEFAULTS["action_succeeded"], _ENTRY_DEFAULTS["attempt"])
"""A transition's action, action_succeeded and attempt: HistoryEntry's defaults (it runs no action)."""

DECODED_TEXTS = 16384
"""Distinct JSON texts of alarm columns (actions, dimensions) kept decoded."""



class StateChange(NamedTuple):
    """Move `judged` (the alarm as it was read and judged) into `state`: stored only if the alarm is still stored in the
    state and at the revision it was judged at (and is the alarm judged, not one made again under its id), so that a
    change made meanwhile (SetAlarmState, an update, another replica's evaluation) is never overwritten.

    A named tuple: a sweep may make one per alarm.
    """

    judged: Alarm
    state: AlarmState
    reason: str
    time: float
    reason_data: Mapping[str, Any] = NO_REASON_DATA
    caller: str = SERVICE_PRINCIPAL
    """Who moved it: the mesh's evaluation, or the principal of a SetAlarmState."""


class Repeat(NamedTuple):
    """Run again the actions of the state `alarm` (as judged) stays in, at `time`, for this reason."""

    alarm: Alarm
    reason: str
    reason_data: Mapping[str, Any]
    time: float


class Repeated(NamedTuple):
    """An alarm as stored after a repeat (its repeat time moved if it repeated), and the actions stored to run."""

    alarm: Alarm
    actions: list[PendingAction]


class Transition(NamedTuple):
    """A stored state change: the alarm after it, the state it left, and the actions it decided (stored as pending).

    A named tuple: a sweep may store thousands at once.
    """

    alarm: Alarm
    previous: AlarmState
    actions: list[PendingAction]


class AlarmRepository:
    """Alarms and their history, of every project: each call names the project it reads or writes, or hands alarms (and
    changes of them) that carry theirs; no alarm of another project is ever read or written in its place."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._insert_pending = database.prepare(_INSERT_PENDING)
        # NOTE: an action's attempt is recorded right after ExecutePolicy answers, while the group shows the new capacity
        # (in `autoscale up`, in the same process): built and run through SQLAlchemy, its statements cost 0.6 ms.
        self._lock_alarm = database.prepare(_LOCK_ALARM)
        self._insert_entry = database.prepare(_INSERT_ENTRY)
        self._forget_pending = database.prepare(_FORGET_PENDING)
        self._count_attempt = database.prepare(_COUNT_ATTEMPT)
        mark = database.placeholder
        self._set_judged_state = (
            f"UPDATE {alarms.name} SET state = {mark}, state_reason = {mark}, state_time = {mark}, evaluate_time = {mark} "
            f"WHERE project = {mark} AND id = {mark} AND state = {mark} AND revision = {mark} AND create_time = {mark}"
        )
        marks = ", ".join([mark] * len(TRANSITION_ENTRY_COLUMNS))
        self._insert_transition = f"INSERT INTO {history.name} ({', '.join(TRANSITION_ENTRY_COLUMNS)}) VALUES ({marks})"

    # Alarms

    def create_alarm(self, alarm: Alarm, entry: HistoryEntry, check: DefinitionsCheck | None = None) -> Alarm:
        """Store a new alarm and its creation entry; AlreadyExists if its id is taken in its project. `check` (see
        StoredDefinitions) runs before the write in the same transaction, and may refuse."""
        with self._database.transaction() as connection:
            if self._alarm_row(connection, alarm.project, alarm.id) is not None:
                raise AlreadyExists(alarm_name(alarm.id))
            if check is not None:
                check(self._definitions(connection, alarm.project))
            connection.execute(alarms.insert().values(**_alarm_values(alarm)))
            connection.execute(history.insert().values(project=alarm.project, **_entry_values(entry)))
        return alarm

    def get_alarm(self, project: str, alarm_id: str) -> Alarm:
        """One alarm of `project`; NotFound if it has none of this id (whatever other projects have)."""
        with self._database.reader() as connection:
            row = self._alarm_row(connection, project, alarm_id)
        if row is None:
            raise NotFound(alarm_name(alarm_id))
        return _alarm(row)

    def list_alarms(self, project: str, after: str | None = None, limit: int | None = None) -> list[Alarm]:
        """The alarms of `project` ordered by id, those after `after`, at most `limit` (all when None)."""
        query = sa.select(alarms).where(alarms.c.project == project)
        if after is not None:
            query = query.where(alarms.c.id > after)
        query = query.order_by(alarms.c.id)
        if limit is not None:
            query = query.limit(limit)
        with self._database.reader() as connection:
            rows = connection.execute(query).all()
        return [_alarm(row) for row in rows]

    def count_alarms(self, project: str) -> int:
        """How many alarms `project` holds."""
        with self._database.reader() as connection:
            return int(connection.scalar(sa.select(sa.func.count()).select_from(alarms).where(alarms.c.project == project)) or 0)

    def every_alarm(self) -> list[Alarm]:
        """The alarms of every project (the index holds them all), by project and id."""
        with self._database.reader() as connection:
            rows = connection.execute(sa.select(alarms).order_by(alarms.c.project, alarms.c.id)).all()
        return [_alarm(row) for row in rows]

    def update_alarm(
        self, alarm: Alarm, entry: HistoryEntry, *, new_webhook_secret: bool = False, check: DefinitionsCheck | None = None
    ) -> Alarm:
        """Store an existing alarm's new definition (not its state; its webhook secret only when `new_webhook_secret`) and a
        rule-change entry; NotFound if its project has none of its id. `check` as create_alarm's."""
        values = _alarm_values(alarm)
        for not_changed in (
            "project", "id", "create_time", "state", "state_reason", "state_time", "evaluate_time", "revision", "repeat_time",
        ):
            del values[not_changed]
        if not new_webhook_secret:
            # An update that read the alarm before a concurrent one made a new secret must not bring the old one back.
            del values["webhook_secret"]
        with self._database.transaction() as connection:
            if check is not None:
                check(self._definitions(connection, alarm.project))
            result = connection.execute(
                alarms.update().where(*_alarm_key(alarm.project, alarm.id)).values(**values, revision=alarms.c.revision + 1)
            )
            if result.rowcount == 0:
                raise NotFound(alarm_name(alarm.id))
            connection.execute(history.insert().values(project=alarm.project, **_entry_values(entry)))
            row = self._alarm_row(connection, alarm.project, alarm.id)
        return _alarm(row)

    def webhook_secret(self, project: str, alarm_id: str) -> str | None:
        """The key that signs an alarm's webhooks now (None when the alarm is gone)."""
        with self._database.reader() as connection:
            return connection.execute(
                sa.select(alarms.c.webhook_secret).where(*_alarm_key(project, alarm_id))
            ).scalar_one_or_none()

    def delete_alarm(self, project: str, alarm_id: str, check: DefinitionsCheck | None = None) -> None:
        """Delete an alarm of `project` and its history; NotFound if the project has none of this id. `check` as
        create_alarm's."""
        with self._database.transaction() as connection:
            if check is not None:
                check(self._definitions(connection, project))
            if self._alarm_row(connection, project, alarm_id) is None:
                raise NotFound(alarm_name(alarm_id))
            connection.execute(history.delete().where(history.c.project == project, history.c.alarm_id == alarm_id))
            connection.execute(
                pending_actions.delete().where(pending_actions.c.project == project, pending_actions.c.alarm_id == alarm_id)
            )
            connection.execute(alarms.delete().where(*_alarm_key(project, alarm_id)))

    def _definitions(self, connection: Connection, project: str) -> StoredDefinitions:
        """The project's composite rules as stored, read under the project's definitions lock (held until the transaction
        ends: two replicas checking and writing at once take turns)."""
        self._database.hold_lock(connection, f"alarm-definitions:{project}")
        rows = connection.execute(
            sa.select(alarms.c.id, alarms.c.query).where(alarms.c.project == project, alarms.c.rule_kind == COMPOSITE_KIND)
        ).all()
        return StoredDefinitions(connection, project, {row.id: row.query for row in rows})

    # State

    def change_states(self, changes: Sequence[StateChange]) -> list[Transition | None]:
        """Store each change with its history entry and the actions it decides (as pending), in one transaction (a sweep
        may move thousands); one answer per change, in order: None where the alarm is gone or no longer as judged. Each
        change is stored in its alarm's project."""
        if not changes:
            return []
        transition_type = HistoryType.STATE_TRANSITION.value
        updates = [
            (_VALUES[change.state], change.reason, change.time, change.time, change.judged.project, change.judged.id,
             _VALUES[change.judged.state], change.judged.revision, change.judged.create_time)
            for change in changes
        ]
        answers: list[Transition | None] = []
        with self._database.transaction() as connection:
            stored = self._database.execute_each(connection, self._set_judged_state, updates)
            entries = []
            for change, changed in zip(changes, stored, strict=True):
                if not changed:
                    answers.append(None)
                    continue
                before = change.judged
                alarm = replace(before, state=change.state, state_reason=change.reason, state_time=change.time, evaluate_time=change.time)
                entries.append((
                    alarm.project, alarm.id, change.time, transition_type, _VALUES[before.state], _VALUES[change.state], change.reason,
                    *TRANSITION_ENTRY_TAIL, change.caller,
                ))
                targets = alarm.actions_for(change.state)
                actions = self._store_pending(
                    connection, alarm, targets, before.state, change.reason, change.reason_data, change.time, repeat=False
                ) if targets else []
                answers.append(Transition(alarm, before.state, actions))
            self._database.executemany(connection, self._insert_transition, entries)
        return answers

    def change_reasons(self, changes: Sequence[StateChange]) -> list[Alarm | None]:
        """Store a new reason of alarms that stay in their state (StateChange.state is theirs) with a history entry each, in
        one transaction; no action is decided and state_time stays. One answer per change, in order: the alarm as stored,
        None where it is gone or no longer as judged."""
        if not changes:
            return []
        answers: list[Alarm | None] = []
        with self._database.transaction() as connection:
            for change in changes:
                judged = change.judged
                result = connection.execute(
                    alarms.update()
                    .where(*_alarm_key(judged.project, judged.id), alarms.c.state == _VALUES[judged.state],
                           alarms.c.revision == judged.revision, alarms.c.create_time == judged.create_time)
                    .values(state_reason=change.reason, evaluate_time=change.time)
                )
                if result.rowcount == 0:
                    answers.append(None)
                    continue
                entry = HistoryEntry(
                    judged.id, change.time, HistoryType.STATE_REASON_CHANGE, change.reason, previous_state=judged.state,
                    state=judged.state, caller=change.caller,
                )
                connection.execute(history.insert().values(project=judged.project, **_entry_values(entry)))
                answers.append(replace(judged, state_reason=change.reason, evaluate_time=change.time))
        return answers

    # Pending actions

    def add_repeated_actions(self, repeats: Sequence[Repeat]) -> list[Repeated]:
        """Store the repeats of the actions of alarms that stay in their state, in one transaction.

        An alarm repeats only if it is still stored in the state it was judged in and its
        repeat is due as stored (another replica may have repeated it meanwhile); it then
        gets the repeat's time, and its repeated actions are stored as pending, except those
        whose previous invocation is still pending (being tried or retried): a repeat never
        runs beside it. One answer per alarm still in its state, with the actions to run. Each repeat is stored in its
        alarm's project.
        """
        if not repeats:
            return []
        ids_by_project: dict[str, list[str]] = {}
        for repeat in repeats:
            ids_by_project.setdefault(repeat.alarm.project, []).append(repeat.alarm.id)
        with self._database.transaction() as connection:
            rows: dict[AlarmKey, Any] = {}
            outstanding: set[tuple[str, str, str]] = set()
            for project, ids in ids_by_project.items():
                query = sa.select(alarms).where(alarms.c.project == project, alarms.c.id.in_(ids)).with_for_update()
                rows.update(((project, row.id), row) for row in connection.execute(query))
                outstanding.update(
                    (project, row.alarm_id, row.target)
                    for row in connection.execute(
                        sa.select(pending_actions.c.alarm_id, pending_actions.c.target).where(
                            pending_actions.c.project == project, pending_actions.c.alarm_id.in_(ids)
                        )
                    )
                )
            answers = []
            for repeat in repeats:
                row = rows.get(repeat.alarm.key)
                if row is None or row.state != _VALUES[repeat.alarm.state]:
                    continue
                stored = _alarm(row)
                if not stored.repeat_due(repeat.time):
                    answers.append(Repeated(stored, []))
                    continue
                repeated = replace(stored, repeat_time=repeat.time)
                connection.execute(alarms.update().where(*_alarm_key(stored.project, stored.id)).values(repeat_time=repeat.time))
                targets = [target for target in stored.repeated_actions() if (stored.project, stored.id, target) not in outstanding]
                actions = self._store_pending(
                    connection, repeated, targets, stored.state, repeat.reason, repeat.reason_data, repeat.time, repeat=True
                )
                answers.append(Repeated(repeated, actions))
        return answers

    def pending_actions(self) -> list[PendingAction]:
        """Every stored pending action of every project, oldest first (run again on start)."""
        query = sa.select(pending_actions).order_by(pending_actions.c.id)
        with self._database.reader() as connection:
            return [_pending(row) for row in connection.execute(query)]

    def record_attempt(self, project: str, entry: HistoryEntry, pending_id: int | None, done: bool) -> bool:
        """Record an attempt of a pending action of an alarm of `project`; forget the action when `done`, else count the
        attempt.

        False (nothing stored) when the alarm is gone: its actions end with it.
        """
        with self._database.transaction() as connection:
            if not self._lock_alarm.rows(connection, project=project, alarm_id=entry.alarm_id):
                return False
            self._insert_entry.rowcount(connection, project=project, **_entry_values(entry))
            if pending_id is not None:
                if done:
                    self._forget_pending.rowcount(connection, pending_id=pending_id)
                else:
                    self._count_attempt.rowcount(connection, pending_id=pending_id, attempts=entry.attempt)
        return True

    def _store_pending(
        self, connection: Connection, alarm: Alarm, targets: Sequence[str], previous: AlarmState, reason: str,
        reason_data: Mapping[str, Any], time: float, *, repeat: bool,
    ) -> list[PendingAction]:
        stored = []
        for target in targets:
            data = dict(reason_data)
            ((pending_id,),) = self._insert_pending.rows(
                connection, project=alarm.project, alarm_id=alarm.id, target=target, previous_state=previous.value,
                state=alarm.state.value, reason=reason, reason_data=json.dumps(data), time=time, repeat=repeat,
            )
            stored.append(
                PendingAction(pending_id, alarm.id, target, previous, alarm.state, reason, data, time, repeat, project=alarm.project)
            )
        return stored

    # History

    def list_history(self, project: str, alarm_id: str, after: tuple[float, int] | None, limit: int) -> list[HistoryEntry]:
        """The history of an alarm of `project`, newest first, entries after `after` (time, sequence), at most `limit`;
        NotFound when the project has no such alarm."""
        query = sa.select(history).where(history.c.project == project, history.c.alarm_id == alarm_id)
        with self._database.reader() as connection:
            if self._alarm_row(connection, project, alarm_id) is None:
                raise NotFound(alarm_name(alarm_id))
            rows = connection.execute(newest_first_page(query, history.c.time, history.c.id, after, limit)).all()
        return [_entry(row) for row in rows]

    # Helpers

    def _alarm_row(self, connection: Connection, project: str, alarm_id: str) -> Any:
        return connection.execute(sa.select(alarms).where(*_alarm_key(project, alarm_id))).first()


def _alarm_key(project: str, alarm_id: str) -> tuple[Any, ...]:
    return alarms.c.project == project, alarms.c.id == alarm_id


def _rule_values(rule: Rule) -> dict[str, Any]:
    """The columns of a rule: those of its kind, and those every kind has."""
    kind: dict[str, Any]
    if isinstance(rule, CompositeRule):
        # Its expression in `query`; the columns every periodic kind has hold nothing of it.
        return {
            "rule_kind": COMPOSITE_KIND, "metric": "", "dimensions": "{}", "statistic": "", **_NO_STORE_COLUMNS,
            "query": rule.expression, "comparison": "", "threshold": 0.0, "period": rule.period, "evaluation_periods": 0,
            "datapoints_to_alarm": 0, "treat_missing_data": "",
        }
    if isinstance(rule, ThresholdRule):
        kind = {
            "rule_kind": THRESHOLD_KIND, "metric": rule.metric, "dimensions": json.dumps(dict(rule.dimensions), sort_keys=True),
            "statistic": rule.statistic.value, **_NO_STORE_COLUMNS,
        }
    elif isinstance(rule, GnocchiRule):
        kind = {
            "rule_kind": rule.store, "metric": rule.metric, "dimensions": "{}", "statistic": "", **_NO_STORE_COLUMNS,
            "resource_type": rule.resource_type, "resource_id": rule.resource_id, "resource_query": rule.resource_query,
            "metric_ids": json.dumps(list(rule.metric_ids)), "aggregation_method": rule.aggregation_method,
        }
    else:
        kind = {"rule_kind": rule.store, "metric": "", "dimensions": "{}", "statistic": "", **_NO_STORE_COLUMNS, "query": rule.query}
    return {
        **kind, "comparison": rule.comparison.value, "threshold": rule.threshold, "period": rule.period,
        "evaluation_periods": rule.evaluation_periods, "datapoints_to_alarm": rule.datapoints_to_alarm,
        "treat_missing_data": rule.treat_missing_data.value if rule.treat_missing_data else "",
    }


_NO_STORE_COLUMNS = {
    "query": None, "resource_type": None, "resource_id": None, "resource_query": None, "metric_ids": None,
    "aggregation_method": None,
}
"""The columns of the rules over external stores, as a rule of another kind leaves them."""


def _alarm_values(alarm: Alarm) -> dict[str, Any]:
    return {
        "project": alarm.project,
        "id": alarm.id,
        "description": alarm.description,
        **_rule_values(alarm.rule),
        "alarm_actions": json.dumps(list(alarm.alarm_actions)),
        "ok_actions": json.dumps(list(alarm.ok_actions)),
        "insufficient_data_actions": json.dumps(list(alarm.insufficient_data_actions)),
        "repeat_actions": alarm.repeat_actions,
        "disabled": alarm.disabled,
        "state": alarm.state.value,
        "state_reason": alarm.state_reason,
        "state_time": alarm.state_time,
        "create_time": alarm.create_time,
        "evaluate_time": alarm.evaluate_time,
        "revision": alarm.revision,
        "repeat_time": alarm.repeat_time,
        "webhook_secret": alarm.webhook_secret,
        "owner": alarm.owner,
    }


def _alarm(row: Any, **changes: Any) -> Alarm:
    """The alarm a row holds, with `changes` to its fields (one construction: a sweep builds thousands)."""
    fields = {
        "project": row.project,
        "id": row.id,
        "rule": _rule(row),
        "description": row.description,
        "alarm_actions": _decoded_strings(row.alarm_actions),
        "ok_actions": _decoded_strings(row.ok_actions),
        "insufficient_data_actions": _decoded_strings(row.insufficient_data_actions),
        "repeat_actions": bool(row.repeat_actions),
        "disabled": bool(row.disabled),
        "state": _STATES[row.state],
        "state_reason": row.state_reason,
        "state_time": row.state_time,
        "create_time": row.create_time,
        "evaluate_time": row.evaluate_time,
        "revision": row.revision,
        "repeat_time": row.repeat_time,
        "webhook_secret": row.webhook_secret,
        "owner": row.owner,
    }
    fields.update(changes)
    return Alarm(**fields)


_INSERT_PENDING = (
    pending_actions.insert()
    .values(
        project=sa.bindparam("project"), alarm_id=sa.bindparam("alarm_id"), target=sa.bindparam("target"),
        previous_state=sa.bindparam("previous_state"), state=sa.bindparam("state"), reason=sa.bindparam("reason"),
        reason_data=sa.bindparam("reason_data"), time=sa.bindparam("time"), repeat=sa.bindparam("repeat"), attempts=0,
    )
    .returning(pending_actions.c.id)
)
"""A pending action, answering its id."""

_LOCK_ALARM = (
    sa.select(alarms.c.id).where(alarms.c.project == sa.bindparam("project"), alarms.c.id == sa.bindparam("alarm_id")).with_for_update()
)
"""Locks an alarm's row (PostgreSQL; SQLite's transaction holds the database's write lock already), answering its id if it exists."""

_ENTRY_COLUMNS = (
    "alarm_id", "time", "type", "previous_state", "state", "reason", "action", "action_succeeded", "attempt", "caller",
)
_INSERT_ENTRY = history.insert().values({"project": sa.bindparam("project"), **{name: sa.bindparam(name) for name in _ENTRY_COLUMNS}})

_FORGET_PENDING = pending_actions.delete().where(pending_actions.c.id == sa.bindparam("pending_id"))

_COUNT_ATTEMPT = (
    pending_actions.update().where(pending_actions.c.id == sa.bindparam("pending_id")).values(attempts=sa.bindparam("attempts"))
)

# NOTE: a sweep converts thousands of rows: a dict lookup is a tenth of an Enum call.
_STATES = {state.value: state for state in AlarmState}
_VALUES = {state: state.value for state in AlarmState}
"""Each state's stored value (an enum's .value is a property: a sweep reads thousands)."""

_COMPARISONS = {comparison.value: comparison for comparison in ComparisonOperator}


class StoredDefinitions:
    """What a check of a definition reads, as stored, in the transaction that writes it, under the project's definitions
    lock: its composite alarms' expressions, and which alarms exist. So that a composite rule checked on one replica
    cannot close a cycle or leave a name dangling with a change another replica makes at the same time."""

    def __init__(self, connection: Connection, project: str, composite_expressions: Mapping[str, str]) -> None:
        self._connection = connection
        self._project = project
        self.composite_expressions = composite_expressions
        """By composite alarm id: its expression."""

    def existing(self, alarm_ids: Collection[str]) -> set[str]:
        """Those of `alarm_ids` the project holds."""
        if not alarm_ids:
            return set()
        query = sa.select(alarms.c.id).where(alarms.c.project == self._project, alarms.c.id.in_(sorted(alarm_ids)))
        return set(self._connection.execute(query).scalars())


DefinitionsCheck = Callable[[StoredDefinitions], None]
"""Runs before a definition is written, in its transaction; raises to refuse it."""


THRESHOLD_KIND = "threshold"
"""rule_kind of a ThresholdRule; a rule over an external store is stored under its store's name (PrometheusRule.store)."""
COMPOSITE_KIND = "composite"
"""rule_kind of a CompositeRule."""


def _rule(row: Any) -> Rule:
    if row.rule_kind == COMPOSITE_KIND:
        return CompositeRule(row.query)
    judged = {
        "datapoints_to_alarm": row.datapoints_to_alarm,
        "treat_missing_data": TreatMissingData(row.treat_missing_data) if row.treat_missing_data else None,
    }
    if row.rule_kind == THRESHOLD_KIND:
        return ThresholdRule(
            metric=row.metric,
            dimensions=_decoded_pairs(row.dimensions),
            statistic=Statistic(row.statistic),
            comparison=_COMPARISONS[row.comparison],
            threshold=row.threshold,
            period=row.period,
            evaluation_periods=row.evaluation_periods,
            **judged,
        )
    if row.rule_kind == PrometheusRule.store:
        return PrometheusRule(
            query=row.query, comparison=_COMPARISONS[row.comparison], threshold=row.threshold, period=row.period,
            evaluation_periods=row.evaluation_periods, **judged,
        )
    if row.rule_kind == GnocchiRule.store:
        return GnocchiRule(
            metric=row.metric, resource_type=row.resource_type, resource_id=row.resource_id,
            resource_query=row.resource_query, metric_ids=tuple(json.loads(row.metric_ids)),
            aggregation_method=row.aggregation_method, comparison=_COMPARISONS[row.comparison], threshold=row.threshold,
            period=row.period, evaluation_periods=row.evaluation_periods, **judged,
        )
    raise ValueError(f"{alarm_name(row.id)} of project {row.project} has a rule of an unknown kind {row.rule_kind!r}")


# NOTE: many alarms share their actions and dimensions: decoded once per distinct text (immutable results).
@functools.lru_cache(maxsize=DECODED_TEXTS)
def _decoded_strings(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text))


@functools.lru_cache(maxsize=DECODED_TEXTS)
def _decoded_pairs(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(json.loads(text).items()))


def _entry_values(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "alarm_id": entry.alarm_id,
        "time": entry.time,
        "type": entry.type.value,
        "previous_state": entry.previous_state.value if entry.previous_state else None,
        "state": entry.state.value if entry.state else None,
        "reason": entry.reason,
        "action": entry.action,
        "action_succeeded": entry.action_succeeded,
        "attempt": entry.attempt,
        "caller": entry.caller,
    }


def _entry(row: Any) -> HistoryEntry:
    return HistoryEntry(
        alarm_id=row.alarm_id,
        time=row.time,
        type=HistoryType(row.type),
        reason=row.reason,
        previous_state=AlarmState(row.previous_state) if row.previous_state else None,
        state=AlarmState(row.state) if row.state else None,
        action=row.action,
        action_succeeded=row.action_succeeded,
        attempt=row.attempt,
        caller=row.caller,
        sequence=row.id,
    )


def _pending(row: Any) -> PendingAction:
    return PendingAction(
        id=row.id, alarm_id=row.alarm_id, target=row.target, previous_state=AlarmState(row.previous_state), state=AlarmState(row.state),
        reason=row.reason, reason_data=json.loads(row.reason_data), time=row.time, repeat=row.repeat, attempts=row.attempts,
        project=row.project,
    )
