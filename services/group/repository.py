"""Storage of launch configs, groups, instances and activities, behind one small interface.

Writes run in `database.transaction()`. A change of a group's capacity locks the
group's row first (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the transaction
holds the write lock from BEGIN), so concurrent changes of one group are serialised
and each sees the one before. Decisions stay pure: the caller passes a function of
the locked group that returns what to change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from autoscale.database import Database, newest_first_page
from autoscale.errors import AlreadyExists, FailedPrecondition, NotFound
from autoscale.quotas.limits import Limits
from services.group import capacity, cooldown
from services.group.backoff import LaunchBackoff
from services.group.domain import (
    OPENSTACK_SERVER,
    PROCESS,
    Activity,
    ActivityStatus,
    AdjustOutcome,
    Group,
    GroupKey,
    GroupStatus,
    Instance,
    InstanceState,
    LaunchConfig,
    Refused,
    TerminationPolicy,
    activity_name,
    group_name,
    instance_name,
    launch_config_name,
)
from services.group.drivers.base import OpenStackServerSpec, ProcessSpec, ServerNic
from services.group.models import activities, adjust_requests, groups, instances, launch_configs

GroupChange = Callable[[Group], tuple[Group, Activity | None]]
"""Given the locked group, the group it becomes and the activity recording the change (if any)."""

CapacityDecision = Callable[[Group], Activity]
"""Given the locked group, the activity of its capacity change (to_capacity is the new desired capacity)."""

RefusalCheck = Callable[[Group, str | None], Refused | None]
"""Given the locked group and the id of its activity in progress (None if none), why it is left as it is, or None."""


@dataclass(frozen=True)
class ReconcileSnapshot:
    """What one reconcile pass of a group starts from."""

    group: Group
    launch_config: LaunchConfig
    instances: list[Instance]
    """Oldest first."""
    activity_in_progress: Activity | None


class GroupStatements:
    """The repository's statements prepared for one database, once: every project's repository runs them.

    NOTE: the statements of Adjust and of GetGroup (which shows an Adjust's new capacity) are prepared (see
    autoscale.database.Prepared): built and run through SQLAlchemy, an Adjust's transaction cost 2.5 ms on
    SQLite, most of it building statements and looking up their compiled forms; GetGroup 0.5 ms.
    So are those of a reconcile pass, which runs right after an Adjust in the same process as the GetGroup
    that shows it: built and run through SQLAlchemy, the pass that starts an instance held the interpreter lock
    4.5 ms, its snapshot alone 0.7 ms (bench/reaction.py: the GetGroup calls meanwhile waited for it).
    """

    def __init__(self, database: Database) -> None:
        self.status_of = database.prepare(_STATUS_OF)
        self.lock = database.prepare(_LOCK)
        self.answered = database.prepare(_ANSWERED_REQUEST)
        self.set_desired = database.prepare(_SET_DESIRED)
        self.insert_activity = database.prepare(_INSERT_ACTIVITY)
        self.insert_request = database.prepare(_INSERT_REQUEST)
        self.group_row_of = database.prepare(_GROUP_ROW)
        self.launch_config_of = database.prepare(_LAUNCH_CONFIG_ROW)
        self.activity_in_progress = database.prepare(_ACTIVITY_IN_PROGRESS)
        self.instances_of = database.prepare(_INSTANCES_OF)
        self.insert_instance = database.prepare(_INSERT_INSTANCE)
        self.update_instance = database.prepare(_UPDATE_INSTANCE)
        self.delete_instance = database.prepare(_DELETE_INSTANCE)
        self.end_activity = database.prepare(_END_ACTIVITY)
        self.extend_cooldown = database.prepare(_EXTEND_COOLDOWN)
        self.others_desired = database.prepare(_OTHERS_DESIRED)


class GroupRepositories:
    """The group service's storage, every project's: a repository per project, and the groups a reconcile pass covers."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._statements = GroupStatements(database)

    def of(self, project: str) -> GroupRepository:
        """The repository of `project`'s resources (cheap: it shares the statements prepared once)."""
        return GroupRepository(self._database, self._statements, project)

    def every_group(self) -> list[GroupKey]:
        """Every group of every project, by project then id: each needs a reconcile pass (its instances' health is read
        on every pass, and its servers are looked for on its first pass since start), in one query of the primary key."""
        with self._database.reader() as connection:
            rows = connection.execute(sa.select(groups.c.project, groups.c.id).order_by(groups.c.project, groups.c.id)).all()
        return [GroupKey(project, group_id) for project, group_id in rows]


class GroupRepository:
    """Launch configs, groups, instances and activities of one project (`GroupRepositories.of`)."""

    def __init__(self, database: Database, statements: GroupStatements, project: str) -> None:
        self._database = database
        self._statements = statements
        self.project = project
        """The project whose resources it reads and writes, and no other's."""

    # Launch configs

    def create_launch_config(self, config: LaunchConfig) -> LaunchConfig:
        """Store a new launch config; AlreadyExists if its id is taken."""
        with self._database.transaction() as connection:
            if self._launch_config_row(connection, config.id) is not None:
                raise AlreadyExists(launch_config_name(config.id))
            connection.execute(
                launch_configs.insert().values(
                    project=self.project, id=config.id, kind=config.kind, spec=_spec_to_json(config), create_time=config.create_time
                )
            )
        return config

    def get_launch_config(self, config_id: str) -> LaunchConfig:
        """One launch config; NotFound if there is none."""
        with self._database.reader() as connection:
            row = self._launch_config_row(connection, config_id)
        if row is None:
            raise NotFound(launch_config_name(config_id))
        return _launch_config(row)

    def list_launch_configs(self, after: str | None, limit: int) -> list[LaunchConfig]:
        """Launch configs ordered by id, those after `after`, at most `limit`."""
        query = sa.select(launch_configs).where(launch_configs.c.project == self.project)
        if after is not None:
            query = query.where(launch_configs.c.id > after)
        with self._database.reader() as connection:
            rows = connection.execute(query.order_by(launch_configs.c.id).limit(limit)).all()
        return [_launch_config(row) for row in rows]

    def delete_launch_config(self, config_id: str) -> None:
        """Delete a launch config; NotFound if none, FailedPrecondition naming the groups that use it."""
        with self._database.transaction() as connection:
            if self._launch_config_row(connection, config_id) is None:
                raise NotFound(launch_config_name(config_id))
            users = connection.scalars(
                sa.select(groups.c.id)
                .where(groups.c.project == self.project, groups.c.launch_config_id == config_id)
                .order_by(groups.c.id)
            ).all()
            if users:
                raise FailedPrecondition.in_use(
                    launch_config_name(config_id), [group_name(g) for g in users], ("group", "groups"),
                    "delete those groups or give them another launch config first",
                )
            connection.execute(launch_configs.delete().where(launch_configs.c.project == self.project, launch_configs.c.id == config_id))

    # Groups

    def create_group(self, group: Group, activity: Activity | None, limits: Limits | None = None) -> GroupStatus:
        """Store a new group and the activity of its first capacity; AlreadyExists, NotFound for its launch config, or
        ResourceExhausted beyond the project's groups or instances quota (`limits`; None: storage alone, with no quota)."""
        with self._database.transaction() as connection:
            if self._group_row(connection, group.id) is not None:
                raise AlreadyExists(group_name(group.id))
            self._require_launch_config(connection, group.launch_config_id)
            if limits is not None:
                held = connection.scalar(sa.select(sa.func.count()).select_from(groups).where(groups.c.project == self.project))
                limits.require_room("groups", held=int(held or 0))
                self._require_instances_room(connection, group.id, 0, group.desired_capacity, limits)
            connection.execute(groups.insert().values(project=self.project, **_group_values(group)))
            if activity is not None:
                self._record_activity(connection, activity)
        in_progress = activity.id if activity is not None and _in_progress(activity) else None
        return GroupStatus(group, current_capacity=0, activity_in_progress=in_progress)

    def get_group(self, group_id: str) -> GroupStatus:
        """One group with its observed status; NotFound if there is none."""
        with self._database.reader() as connection:
            found = self._statements.status_of.rows(connection, project=self.project, group_id=group_id)
        if not found:
            raise NotFound(group_name(group_id))
        return _driver_status(found[0])

    def list_groups(self, after: str | None, limit: int) -> list[GroupStatus]:
        """Groups ordered by id, those after `after`, at most `limit`."""
        query = _STATUSES
        if after is not None:
            query = query.where(groups.c.id > after)
        with self._database.reader() as connection:
            rows = connection.execute(query.order_by(groups.c.id).limit(limit), {"project": self.project}).all()
        return [_status(row) for row in rows]

    def change_group(self, group_id: str, change: GroupChange, limits: Limits | None = None) -> GroupStatus:
        """Apply `change` to the locked group and record its activity.

        NotFound for the group or its new launch config; FailedPrecondition while the
        group is being deleted; ResourceExhausted when it raises the desired capacity beyond the
        project's instances quota. Whatever `change` raises aborts the transaction.
        """
        with self._database.transaction() as connection:
            group = self._lock_group(connection, group_id)
            changed, activity = change(group)
            if limits is not None:
                self._require_instances_room(connection, group_id, group.desired_capacity, changed.desired_capacity, limits)
            if changed.launch_config_id != group.launch_config_id:
                self._require_launch_config(connection, changed.launch_config_id)
            values = _group_values(changed)
            connection.execute(groups.update().where(*self._group_key(group_id)).values(**values))
            if activity is not None:
                self._record_activity(connection, activity)
            return self._locked_status(connection, group_id)

    def adjust(
        self, group_id: str, request_id: str, decide: CapacityDecision, *, refuse: RefusalCheck | None = None, limits: Limits | None = None
    ) -> AdjustOutcome:
        """Change the locked group's desired capacity as `decide` says and record the activity, unless `refuse` says why not.

        A `request_id` seen before for this group returns the first answer and changes
        nothing. When `refuse` refuses (the group resizes or cools down), nothing is
        changed and nothing remembered under the request_id, so a retry asks again.
        The outcome carries the group as it stands after the call, except the first
        answer given again. NotFound for the group; FailedPrecondition while it is being deleted;
        ResourceExhausted when it would raise the desired capacity beyond the project's instances quota.
        """
        statements, project = self._statements, self.project
        with self._database.transaction() as connection:
            # NOTE: the group's row is locked (on SQLite the transaction holds the write lock from BEGIN) before its
            # status is read, in a statement of its own: on PostgreSQL a statement that waited for the lock still
            # reads its subqueries (the activity in progress) as they were when it began.
            if not statements.lock.rows(connection, project=project, group_id=group_id):
                raise NotFound(group_name(group_id))
            status = self._locked_status(connection, group_id)
            group = status.group
            if request_id:
                answered = self._answered_request(connection, group_id, request_id)
                if answered is not None:
                    return answered
            _require_not_deleting(group)
            refused = refuse(group, status.activity_in_progress) if refuse is not None else None
            if refused is not None:
                return AdjustOutcome(group.desired_capacity, group.desired_capacity, activity=None, group=status, refused=refused)
            activity = decide(group)
            if limits is not None:
                self._require_instances_room(connection, group_id, group.desired_capacity, activity.to_capacity, limits)
            if activity.to_capacity != group.desired_capacity:
                statements.set_desired.rowcount(connection, project=project, group_id=group_id, desired_capacity=activity.to_capacity)
            if _in_progress(activity) and status.activity_in_progress is not None:
                self._supersede(connection, group_id, status.activity_in_progress, activity)
            statements.insert_activity.rowcount(connection, project=project, **_activity_values(activity))
            outcome = AdjustOutcome(previous_capacity=group.desired_capacity, desired_capacity=activity.to_capacity, activity=activity)
            if request_id:
                statements.insert_request.rowcount(
                    connection, project=project, group_id=group_id, request_id=request_id,
                    previous_capacity=outcome.previous_capacity, desired_capacity=outcome.desired_capacity,
                    activity_id=activity.id, activity_status=activity.status.value, activity_end_time=activity.end_time,
                    activity_status_message=activity.status_message,
                )
            # The status after the call, derived rather than read again: Adjust changes no instance, and a
            # new activity in progress makes the group resize (one that ended at once leaves it as it was).
            after = GroupStatus(
                replace(group, desired_capacity=activity.to_capacity),
                current_capacity=status.current_capacity,
                activity_in_progress=activity.id if _in_progress(activity) else status.activity_in_progress,
            )
            return replace(outcome, group=after)

    def begin_delete(self, group_id: str, reason: str) -> list[Instance]:
        """Mark the group as being deleted and all its instances TERMINATING; returns them. NotFound if none."""
        with self._database.transaction() as connection:
            self._lock_group(connection, group_id, allow_deleting=True)
            connection.execute(groups.update().where(*self._group_key(group_id)).values(deleting=True))
            connection.execute(
                instances.update()
                .where(instances.c.project == self.project, instances.c.group_id == group_id)
                .values(state=InstanceState.TERMINATING.value, state_reason=reason)
            )
            return self._instances(connection, group_id)

    def terminate_instance(
        self, group_id: str, instance_id: str, *, decrement: bool, activity_id: str, caller: str, now: float
    ) -> tuple[GroupStatus, Activity]:
        """Mark an instance of the locked group TERMINATING (the reconcile loop stops it) and record the activity; with
        `decrement` the desired capacity goes down by one, else the loop launches a replacement.

        NotFound for the group or the instance; FailedPrecondition while the group is being deleted, when the instance
        is terminating already, or when decrementing would take the desired capacity below min_size.
        """
        name = instance_name(group_id, instance_id)
        with self._database.transaction() as connection:
            group = self._lock_group(connection, group_id)
            row = connection.execute(
                sa.select(instances).where(instances.c.project == self.project, *_instance_key(group_id, instance_id))
            ).first()
            if row is None:
                raise NotFound(name)
            if row.state == InstanceState.TERMINATING.value:
                raise FailedPrecondition(f"{name} is terminating already")
            to_capacity = group.desired_capacity - 1 if decrement else group.desired_capacity
            if to_capacity < group.min_size:
                raise FailedPrecondition(
                    f"terminating {name} and decrementing would take the desired capacity of {group_name(group_id)} below its "
                    f"min_size ({group.min_size}); terminate it without decrementing (it is replaced), or lower min_size first"
                )
            connection.execute(
                instances.update().where(instances.c.project == self.project, *_instance_key(group_id, instance_id))
                .values(state=InstanceState.TERMINATING.value, state_reason=f"terminated by {caller or 'a caller'}")
            )
            if decrement:
                connection.execute(groups.update().where(*self._group_key(group_id)).values(desired_capacity=to_capacity))
            activity = Activity(
                id=activity_id, group_id=group_id, cause=f"TerminateInstance {name}" + (", desired capacity decremented" if decrement
                                                                                       else ", to be replaced"),
                from_capacity=group.desired_capacity, to_capacity=to_capacity, start_time=now, status=ActivityStatus.IN_PROGRESS,
                caller=caller,
            )
            self._record_activity(connection, activity)
            return self._locked_status(connection, group_id), activity

    def record_activity(self, activity: Activity) -> None:
        """Record an activity the reconcile loop starts (a replacement); a group deleted meanwhile records nothing."""
        with self._database.transaction() as connection:
            if self._group_row(connection, activity.group_id) is not None:
                self._record_activity(connection, activity)

    def set_launch_backoff(self, group_id: str, backoff: LaunchBackoff) -> None:
        """Store the group's launch backoff (a group deleted meanwhile is left alone)."""
        with self._database.transaction() as connection:
            connection.execute(groups.update().where(*self._group_key(group_id)).values(**_backoff_values(backoff)))

    def delete_group(self, group_id: str) -> None:
        """Delete the group with its instances, activities and remembered requests."""
        with self._database.transaction() as connection:
            for table in (adjust_requests, activities, instances):
                connection.execute(table.delete().where(table.c.project == self.project, table.c.group_id == group_id))
            connection.execute(groups.delete().where(*self._group_key(group_id)))

    # Activities

    def list_activities(self, group_id: str, after: Sequence[Any] | None, limit: int) -> list[Activity]:
        """The group's activities newest first, those after the (start_time, id) `after`; NotFound for the group."""
        query = sa.select(activities).where(activities.c.project == self.project, activities.c.group_id == group_id)
        query = newest_first_page(query, activities.c.start_time, activities.c.id, after, limit)
        with self._database.reader() as connection:
            self._require_group(connection, group_id)
            return [_activity(row) for row in connection.execute(query).all()]

    def get_activity(self, group_id: str, activity_id: str) -> Activity:
        """One activity; NotFound if there is none."""
        with self._database.reader() as connection:
            row = connection.execute(
                sa.select(activities).where(
                    activities.c.project == self.project, activities.c.group_id == group_id, activities.c.id == activity_id
                )
            ).first()
        if row is None:
            raise NotFound(activity_name(group_id, activity_id))
        return _activity(row)

    def finish_activity(self, activity: Activity) -> bool:
        """End an activity as `activity` says, if it is still IN_PROGRESS; whether it was."""
        with self._database.transaction() as connection:
            return self._store_activity_end(connection, activity)

    # Instances

    def list_instances(self, group_id: str, after: Sequence[Any] | None, limit: int) -> list[Instance]:
        """The group's instances oldest first, those after the (create_time, id) `after`; NotFound for the group."""
        with self._database.reader() as connection:
            self._require_group(connection, group_id)
            return self._instances(connection, group_id, after, limit)

    def snapshot(self, group_id: str) -> ReconcileSnapshot | None:
        """The group, its launch config, instances and IN_PROGRESS activity; None if the group is gone."""
        project = self.project
        with self._database.reader() as connection:
            group_row = self._group_row(connection, group_id)
            if group_row is None:
                return None
            group = _driver_group(group_row)
            config_row = self._launch_config_row(connection, group.launch_config_id)
            activity_rows = self._statements.activity_in_progress.rows(
                connection, project=project, group_id=group_id, status=ActivityStatus.IN_PROGRESS.value
            )
            instance_rows = self._statements.instances_of.rows(connection, project=project, group_id=group_id)
        return ReconcileSnapshot(
            group=group,
            launch_config=_launch_config(config_row),
            instances=[_instance(row) for row in instance_rows],
            activity_in_progress=_activity(activity_rows[0]) if activity_rows else None,
        )

    def add_instance(self, instance: Instance) -> None:
        """Track a new instance (before it is launched, so that no server is ever untracked)."""
        with self._database.transaction() as connection:
            self._statements.insert_instance.rowcount(
                connection, project=self.project, group_id=instance.group_id, id=instance.id, kind=instance.kind,
                launch_config_id=instance.launch_config_id, server_id=instance.server_id, state=instance.state.value,
                state_reason=instance.state_reason, create_time=instance.create_time, protected=instance.protected_from_scale_in,
            )

    def set_instance_protection(self, group_id: str, instance_ids: Sequence[str], protected: bool) -> list[Instance]:
        """Protect (or not) these instances of the group from scale-in; NotFound for the group or the first instance it
        does not have (nothing is changed then)."""
        with self._database.transaction() as connection:
            self._require_group(connection, group_id)
            rows = connection.execute(
                sa.select(instances).where(
                    instances.c.project == self.project, instances.c.group_id == group_id, instances.c.id.in_(instance_ids)
                )
            ).all()
            missing = sorted(set(instance_ids) - {row.id for row in rows})
            if missing:
                raise NotFound(instance_name(group_id, missing[0]))
            connection.execute(
                instances.update()
                .where(instances.c.project == self.project, instances.c.group_id == group_id, instances.c.id.in_(instance_ids))
                .values(protected=protected)
            )
        return sorted((replace(_instance(row), protected_from_scale_in=protected) for row in rows), key=lambda i: i.create_time)

    def update_instances(self, changed: Iterable[Instance]) -> None:
        """Store the server id, state and reason of each instance."""
        with self._database.transaction() as connection:
            for instance in changed:
                self._statements.update_instance.rowcount(
                    connection, project=self.project, group_id=instance.group_id, id=instance.id, server_id=instance.server_id,
                    state=instance.state.value, state_reason=instance.state_reason,
                )

    def remove_instance(self, instance: Instance) -> None:
        """Forget an instance whose server is gone."""
        with self._database.transaction() as connection:
            self._statements.delete_instance.rowcount(connection, project=self.project, group_id=instance.group_id, id=instance.id)

    # Helpers

    def _group_key(self, group_id: str) -> tuple[sa.ColumnElement[bool], ...]:
        return groups.c.project == self.project, groups.c.id == group_id

    def _group_row(self, connection: Connection, group_id: str) -> Any:
        """The group's row as the driver gives it (see _driver_group), or None."""
        found = self._statements.group_row_of.rows(connection, project=self.project, group_id=group_id)
        return found[0] if found else None

    def _launch_config_row(self, connection: Connection, config_id: str) -> Any:
        """The launch config's row as the driver gives it (see _launch_config), or None."""
        found = self._statements.launch_config_of.rows(connection, project=self.project, launch_config_id=config_id)
        return found[0] if found else None

    def _require_group(self, connection: Connection, group_id: str) -> None:
        if self._group_row(connection, group_id) is None:
            raise NotFound(group_name(group_id))

    def _require_launch_config(self, connection: Connection, config_id: str) -> None:
        if self._launch_config_row(connection, config_id) is None:
            name = launch_config_name(config_id)
            raise NotFound(name, f"group.launch_config: {name} not found")

    def _locked_status(self, connection: Connection, group_id: str) -> GroupStatus:
        """The status of a group this transaction holds locked (it exists)."""
        return _driver_status(self._statements.status_of.rows(connection, project=self.project, group_id=group_id)[0])

    def _lock_group(self, connection: Connection, group_id: str, *, allow_deleting: bool = False) -> Group:
        row = connection.execute(sa.select(groups).where(*self._group_key(group_id)).with_for_update()).first()
        if row is None:
            raise NotFound(group_name(group_id))
        group = _group(row)
        if not allow_deleting:
            _require_not_deleting(group)
        return group

    def _record_activity(self, connection: Connection, activity: Activity) -> None:
        """Insert an activity; a new IN_PROGRESS one cancels the one it supersedes."""
        if _in_progress(activity):
            superseded = connection.scalars(
                sa.select(activities.c.id).where(
                    activities.c.project == self.project,
                    activities.c.group_id == activity.group_id,
                    activities.c.status == ActivityStatus.IN_PROGRESS.value,
                )
            ).all()
            for activity_id in superseded:
                self._supersede(connection, activity.group_id, activity_id, activity)
        self._statements.insert_activity.rowcount(connection, project=self.project, **_activity_values(activity))

    def _require_instances_room(self, connection: Connection, group_id: str, before: int, after: int, limits: Limits) -> None:
        """ResourceExhausted when raising a group's desired capacity from `before` to `after` takes the project's groups
        beyond its instances quota (the desired capacities of its groups together); shrinking is always allowed, so the
        other groups are summed only for a rise."""
        if after <= before:
            return
        ((others,),) = self._statements.others_desired.rows(connection, project=self.project, group_id=group_id)
        limits.require_room("instances", held=int(others) + before, adding=after - before)

    def _supersede(self, connection: Connection, group_id: str, activity_id: str, by: Activity) -> None:
        """End the IN_PROGRESS activity `activity_id`, superseded by the new activity `by` (starting its cooldown, if any)."""
        row = connection.execute(
            sa.select(activities).where(
                activities.c.project == self.project, activities.c.group_id == group_id, activities.c.id == activity_id
            )
        ).one()
        self._store_activity_end(connection, capacity.supersede(_activity(row), activity_name(group_id, by.id), by.start_time))

    def _store_activity_end(self, connection: Connection, activity: Activity) -> bool:
        """Store how an IN_PROGRESS activity ended, and the group's cooldown it starts; whether it was still in progress."""
        ended = self._statements.end_activity.rowcount(
            connection, project=self.project, group_id=activity.group_id, id=activity.id, in_progress=ActivityStatus.IN_PROGRESS.value,
            status=activity.status.value, end_time=activity.end_time, status_message=activity.status_message,
        )
        if ended == 0:
            return False
        end = cooldown.cooldown_end_after(None, activity)
        if end is not None:
            self._statements.extend_cooldown.rowcount(connection, project=self.project, group_id=activity.group_id, cooldown_end=end)
        return True

    def _answered_request(self, connection: Connection, group_id: str, request_id: str) -> AdjustOutcome | None:
        found = self._statements.answered.rows(connection, project=self.project, group_id=group_id, request_id=request_id)
        if not found:
            return None
        row = found[0]
        activity = capacity.finish(
            _activity(row), ActivityStatus(row.activity_status), row.activity_end_time, row.activity_status_message
        )
        return AdjustOutcome(previous_capacity=row.previous_capacity, desired_capacity=row.desired_capacity, activity=activity)

    def _instances(
        self, connection: Connection, group_id: str, after: Sequence[Any] | None = None, limit: int | None = None
    ) -> list[Instance]:
        query = sa.select(instances).where(instances.c.project == self.project, instances.c.group_id == group_id)
        if after is not None:
            query = query.where(sa.tuple_(instances.c.create_time, instances.c.id) > sa.tuple_(*after))
        query = query.order_by(instances.c.create_time, instances.c.id).limit(limit)
        return [_instance(row) for row in connection.execute(query).all()]


_ANSWERED_REQUEST = (
    sa.select(
        activities,
        adjust_requests.c.previous_capacity,
        adjust_requests.c.desired_capacity,
        adjust_requests.c.activity_status,
        adjust_requests.c.activity_end_time,
        adjust_requests.c.activity_status_message,
    )
    .select_from(adjust_requests)
    .join(
        activities,
        sa.and_(
            activities.c.project == adjust_requests.c.project,
            activities.c.group_id == adjust_requests.c.group_id,
            activities.c.id == adjust_requests.c.activity_id,
        ),
    )
    .where(
        adjust_requests.c.project == sa.bindparam("project"),
        adjust_requests.c.group_id == sa.bindparam("group_id"),
        adjust_requests.c.request_id == sa.bindparam("request_id"),
    )
)
"""The first answer of an Adjust with a request_id: its activity and what was answered of it."""

_LOCK = (
    sa.select(groups.c.id)
    .where(groups.c.project == sa.bindparam("project"), groups.c.id == sa.bindparam("group_id"))
    .with_for_update()
)
"""Locks a group's row (PostgreSQL; SQLite's transaction holds the database's write lock already)."""

_OTHERS_DESIRED = sa.select(sa.func.coalesce(sa.func.sum(groups.c.desired_capacity), 0)).where(
    groups.c.project == sa.bindparam("project"), groups.c.id != sa.bindparam("group_id")
)

_SET_DESIRED = (
    groups.update()
    .where(groups.c.project == sa.bindparam("project"), groups.c.id == sa.bindparam("group_id"))
    .values(desired_capacity=sa.bindparam("desired_capacity"))
)

_ACTIVITY_COLUMNS = (
    "group_id", "id", "cause", "from_capacity", "to_capacity", "start_time", "end_time", "status", "status_message", "cooldown",
    "caller",
)
_INSERT_ACTIVITY = activities.insert().values(
    {"project": sa.bindparam("project"), **{name: sa.bindparam(name) for name in _ACTIVITY_COLUMNS}}
)

_REQUEST_COLUMNS = (
    "project", "group_id", "request_id", "previous_capacity", "desired_capacity", "activity_id", "activity_status",
    "activity_end_time", "activity_status_message",
)
_INSERT_REQUEST = adjust_requests.insert().values({name: sa.bindparam(name) for name in _REQUEST_COLUMNS})


_GROUP_ROW = sa.select(groups).where(groups.c.project == sa.bindparam("project"), groups.c.id == sa.bindparam("group_id"))

_LAUNCH_CONFIG_ROW = sa.select(launch_configs).where(
    launch_configs.c.project == sa.bindparam("project"), launch_configs.c.id == sa.bindparam("launch_config_id")
)

# NOTE: a group has one IN_PROGRESS activity at most (a new one supersedes it); the newest, should another linger.
_ACTIVITY_IN_PROGRESS = (
    sa.select(activities)
    .where(
        activities.c.project == sa.bindparam("project"),
        activities.c.group_id == sa.bindparam("group_id"),
        activities.c.status == sa.bindparam("status"),
    )
    .order_by(activities.c.start_time.desc())
    .limit(1)
)

_INSTANCE_KEY = (
    instances.c.project == sa.bindparam("project"), instances.c.group_id == sa.bindparam("group_id"), instances.c.id == sa.bindparam("id")
)


def _instance_key(group_id: str, instance_id: str) -> tuple[sa.ColumnElement[bool], ...]:
    """An instance of a group (with the project's condition beside it)."""
    return instances.c.group_id == group_id, instances.c.id == instance_id

_INSTANCES_OF = (
    sa.select(instances)
    .where(instances.c.project == sa.bindparam("project"), instances.c.group_id == sa.bindparam("group_id"))
    .order_by(instances.c.create_time, instances.c.id)
)
"""A group's instances, oldest first."""

_INSERT_INSTANCE = instances.insert().values(
    {name: sa.bindparam(name) for name in (
        "project", "group_id", "id", "kind", "launch_config_id", "server_id", "state", "state_reason", "create_time", "protected",
    )}
)

_UPDATE_INSTANCE = (
    instances.update()
    .where(*_INSTANCE_KEY)
    .values(server_id=sa.bindparam("server_id"), state=sa.bindparam("state"), state_reason=sa.bindparam("state_reason"))
)

_DELETE_INSTANCE = instances.delete().where(*_INSTANCE_KEY)

_END_ACTIVITY = (
    activities.update()
    .where(
        activities.c.project == sa.bindparam("project"),
        activities.c.group_id == sa.bindparam("group_id"),
        activities.c.id == sa.bindparam("id"),
        activities.c.status == sa.bindparam("in_progress"),
    )
    .values(status=sa.bindparam("status"), end_time=sa.bindparam("end_time"), status_message=sa.bindparam("status_message"))
)
"""Ends an activity, if it is still in progress."""

_CURRENT_COOLDOWN_END = groups.c.cooldown_end
_EXTEND_COOLDOWN = (
    groups.update()
    .where(groups.c.project == sa.bindparam("project"), groups.c.id == sa.bindparam("group_id"))
    .values(
        cooldown_end=sa.case(
            (sa.or_(_CURRENT_COOLDOWN_END.is_(None), _CURRENT_COOLDOWN_END < sa.bindparam("cooldown_end")), sa.bindparam("cooldown_end")),
            else_=_CURRENT_COOLDOWN_END,
        )
    )
)
"""The later of the group's cooldown running and the one an ended activity starts, in one statement (no read of the group)."""


def _activity_values(activity: Activity) -> dict[str, Any]:
    """The columns of an activity's row but its project."""
    return {
        "group_id": activity.group_id, "id": activity.id, "cause": activity.cause, "from_capacity": activity.from_capacity,
        "to_capacity": activity.to_capacity, "start_time": activity.start_time, "end_time": activity.end_time,
        "status": activity.status.value, "status_message": activity.status_message, "cooldown": activity.cooldown,
        "caller": activity.caller,
    }


def _require_not_deleting(group: Group) -> None:
    if group.deleting:
        raise FailedPrecondition(f"{group_name(group.id)} is being deleted")


def _in_progress(activity: Activity) -> bool:
    return activity.status is ActivityStatus.IN_PROGRESS


def _spec_to_json(config: LaunchConfig) -> dict[str, Any]:
    if config.process is not None:
        return {"command": list(config.process.command), "env": dict(config.process.env)}
    assert config.openstack_server is not None
    return _server_spec_to_json(config.openstack_server)


def _launch_config(row: Any) -> LaunchConfig:
    """A launch config's row (its spec as JSON text where the driver gives it so: SQLite through Prepared)."""
    spec = json.loads(row.spec) if isinstance(row.spec, str) else row.spec
    if row.kind == PROCESS:
        return LaunchConfig(id=row.id, process=ProcessSpec(command=tuple(spec["command"]), env=spec["env"]), create_time=row.create_time)
    assert row.kind == OPENSTACK_SERVER, row.kind
    return LaunchConfig(
        id=row.id,
        openstack_server=_server_spec_from_json(spec),
        create_time=row.create_time,
    )


def _server_spec_to_json(server: OpenStackServerSpec) -> dict[str, Any]:
    return {
        "image": server.image, "flavor": server.flavor, "key_name": server.key_name, "networks": list(server.networks),
        "security_groups": list(server.security_groups), "user_data": server.user_data, "metadata": dict(server.metadata),
        "availability_zone": server.availability_zone,
        "nics": [{"network": nic.network, "port": nic.port, "fixed_ip": nic.fixed_ip} for nic in server.nics],
        "server_group": server.server_group, "boot_volume_size_gb": server.boot_volume_size_gb, "config_drive": server.config_drive,
    }


def _server_spec_from_json(spec: dict[str, Any]) -> OpenStackServerSpec:
    """A stored server spec; the fields added after the first release are absent from the rows stored before them."""
    return OpenStackServerSpec(
        image=spec["image"], flavor=spec["flavor"], key_name=spec["key_name"], networks=tuple(spec["networks"]),
        security_groups=tuple(spec["security_groups"]), user_data=spec["user_data"], metadata=spec["metadata"],
        availability_zone=spec.get("availability_zone", ""),
        nics=tuple(ServerNic(**nic) for nic in spec.get("nics", [])),
        server_group=spec.get("server_group", ""), boot_volume_size_gb=spec.get("boot_volume_size_gb", 0),
        config_drive=spec.get("config_drive", False),
    )


def _group_values(group: Group) -> dict[str, Any]:
    return {
        "id": group.id, "launch_config_id": group.launch_config_id, "min_size": group.min_size, "max_size": group.max_size,
        "desired_capacity": group.desired_capacity, "cooldown": group.cooldown, "tags": dict(group.tags),
        "create_time": group.create_time, "deleting": group.deleting, "cooldown_end": group.cooldown_end,
        "termination_policies": [policy.value for policy in group.termination_policies],
        "new_instances_protected": group.new_instances_protected_from_scale_in,
    }
    # NOTE: the launch backoff is the reconcile loop's alone (set_launch_backoff): a change of the group's settings,
    # written back whole, must not undo what a pass stored meanwhile.


def _backoff_values(backoff: LaunchBackoff) -> dict[str, Any]:
    return {
        "launch_failures": backoff.failures, "launch_retry_time": backoff.retry_time, "last_launch_failure": backoff.last_failure,
    }


def _group(row: Any) -> Group:
    return Group(
        id=row.id, launch_config_id=row.launch_config_id, min_size=row.min_size, max_size=row.max_size,
        desired_capacity=row.desired_capacity, cooldown=row.cooldown, tags=row.tags, create_time=row.create_time,
        deleting=row.deleting, cooldown_end=row.cooldown_end,
        launch_backoff=LaunchBackoff(row.launch_failures, row.launch_retry_time, row.last_launch_failure),
        termination_policies=_termination_policies(row.termination_policies),
        new_instances_protected_from_scale_in=bool(row.new_instances_protected),
    )


def _termination_policies(stored: Any) -> tuple[TerminationPolicy, ...]:
    """The stored list (JSON text where the driver gives it so, as for tags)."""
    names = json.loads(stored) if isinstance(stored, str) else stored
    return tuple(TerminationPolicy(name) for name in names or ())


def _status_query() -> sa.Select[Any]:
    """The groups of the project bound as `project`, each with its running-instance count and its activity in progress, if
    any (one statement)."""
    running = (
        sa.select(sa.func.count())
        .where(
            instances.c.project == groups.c.project,
            instances.c.group_id == groups.c.id,
            instances.c.state == InstanceState.RUNNING.value,
        )
        .scalar_subquery()
    )
    # NOTE: a group has one IN_PROGRESS activity at most (a new one supersedes it); the limit keeps the subquery scalar.
    resizing = (
        sa.select(activities.c.id)
        .where(
            activities.c.project == groups.c.project,
            activities.c.group_id == groups.c.id,
            activities.c.status == ActivityStatus.IN_PROGRESS.value,
        )
        .limit(1)
        .scalar_subquery()
    )
    return sa.select(groups, running.label("running_instances"), resizing.label("resizing")).where(
        groups.c.project == sa.bindparam("project")
    )


def _status(row: Any) -> GroupStatus:
    """A row of `_status_query`."""
    return GroupStatus(_group(row), current_capacity=row.running_instances, activity_in_progress=row.resizing)


_STATUSES = _status_query()
"""A project's groups with their status (built once: building its subqueries cost more than running it)."""

_STATUS_OF = _STATUSES.where(groups.c.id == sa.bindparam("group_id"))
"""One group with its status (`_status_query`)."""


def _driver_status(row: Any) -> GroupStatus:
    """A row of `_STATUS_OF` as the driver gives it (see _driver_group)."""
    return GroupStatus(_driver_group(row), current_capacity=row.running_instances, activity_in_progress=row.resizing)


def _driver_group(row: Any) -> Group:
    """A group's row as the driver gives it (tags as JSON text on SQLite, `deleting` as 0 or 1)."""
    tags = json.loads(row.tags) if isinstance(row.tags, str) else row.tags
    return replace(_group(row), tags=tags, deleting=bool(row.deleting))


def _instance(row: Any) -> Instance:
    return Instance(
        id=row.id, group_id=row.group_id, kind=row.kind, launch_config_id=row.launch_config_id, state=InstanceState(row.state),
        create_time=row.create_time, server_id=row.server_id, state_reason=row.state_reason,
        protected_from_scale_in=bool(row.protected),
    )


def _activity(row: Any) -> Activity:
    return Activity(
        id=row.id, group_id=row.group_id, cause=row.cause, from_capacity=row.from_capacity, to_capacity=row.to_capacity,
        start_time=row.start_time, status=ActivityStatus(row.status), end_time=row.end_time, status_message=row.status_message,
        cooldown=row.cooldown, caller=row.caller,
    )
