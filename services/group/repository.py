"""Storage of launch configs, groups, instances, activities and scaling decisions, behind one small interface.

Writes run in `database.transaction()`. A change of a group's capacity locks the
group's row first (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the transaction
holds the write lock from BEGIN), so concurrent changes of one group are serialised
and each sees the one before. Decisions stay pure: the caller passes a function of
the locked group that returns what to change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from autoscale.database import Database, newest_first_page
from autoscale.errors import AlreadyExists, FailedPrecondition, NotFound, ResourceExhausted
from autoscale.quotas.limits import Limits
from services.group import capacity, cooldown, decisions, schedule
from services.group.backoff import LaunchBackoff
from services.group.cpu_report import RunningInstance
from services.group.domain import (
    OPENSTACK_SERVER,
    PROCESS,
    Activity,
    ActivityStatus,
    AdjustmentType,
    AdjustOutcome,
    CapacityCalculation,
    DecisionOutcome,
    DecisionSource,
    Group,
    GroupKey,
    GroupStatus,
    Instance,
    InstancesChange,
    InstanceState,
    LaunchConfig,
    Refusal,
    Refused,
    ScalingDecision,
    TerminationPolicy,
    activity_name,
    group_name,
    instance_name,
    instance_refresh_name,
    launch_config_name,
    lifecycle_hook_name,
    new_instance_id,
    scheduled_action_name,
)
from services.group.drivers.base import OpenStackServerSpec, ProcessSpec, ServerNic
from services.group.health import HealthCheck, HealthStatus, ProbeKind, grace_period_over
from services.group.hooks import MAX_HOOKS_PER_GROUP, HookResult, LifecycleAction, LifecycleHook, Transition
from services.group.models import (
    activities,
    adjust_requests,
    detached_servers,
    groups,
    instance_refreshes,
    instances,
    launch_configs,
    lifecycle_actions,
    lifecycle_hooks,
    scaling_decisions,
    scheduled_actions,
    worker_claims,
)
from services.group.pools import LoadBalancerPool, PoolKind
from services.group.processes import ScalingProcess
from services.group.refresh import ACTIVE, InstanceRefresh, RefreshStatus
from services.group.schedule import MAX_ACTIONS_PER_GROUP, RunStatus, ScheduledAction, ScheduledRun

GroupChange = Callable[[Group], tuple[Group, Activity | None]]
"""Given the locked group, the group it becomes and the activity recording the change (if any)."""

CapacityDecision = Callable[[Group], Activity]
"""Given the locked group, the activity of its capacity change (to_capacity is the new desired capacity)."""

InstancesDecision = Callable[[Group, list[Instance]], Activity]
"""Given the locked group and its instances (read under the same lock), the activity of its capacity change."""

Explanation = Callable[[Group, Sequence[Instance] | None, AdjustOutcome], ScalingDecision]
"""Given the locked group as it was, its instances (when the decision read them) and the outcome, the decision to record."""

ChangeExplanation = Callable[[Group, Group, Activity | None], ScalingDecision | None]
"""Given the locked group as it was, as it becomes, and the activity of its change (if any), the decision to record
(None: the change is no scaling decision)."""

RunExplanation = Callable[[Group, ScheduledRun], ScalingDecision]
"""Given the locked group as it was and a scheduled action's run on it, the decision to record."""

RefusalCheck = Callable[[Group, str | None], Refused | None]
"""Given the locked group and the id of its activity in progress (None if none), why it is left as it is, or None."""

ScheduledRunDecision = Callable[[Group, ScheduledAction], ScheduledRun]
"""Given the locked group and its due action, what the run does (services.group.schedule.run)."""


@dataclass(frozen=True)
class DueAction:
    """A scheduled action of a project found due; it runs only if its next run time is still the one it was found with."""

    project: str
    action: ScheduledAction


@dataclass(frozen=True)
class ReconcileSnapshot:
    """What one reconcile pass of a group starts from."""

    group: Group
    launch_config: LaunchConfig
    instances: list[Instance]
    """Oldest first."""
    activity_in_progress: Activity | None
    health_checks: Mapping[str, HealthCheck] = field(default_factory=dict)
    """Launch config id -> its health check, for the launch configs of the group and its instances that have one."""
    hooks: Sequence[LifecycleHook] = ()
    """The group's lifecycle hooks."""
    actions: Mapping[str, Sequence[LifecycleAction]] = field(default_factory=dict)
    """Instance id -> its waits for lifecycle hooks (answered or not), of the instances that have any."""
    refresh: InstanceRefresh | None = None
    """The group's active instance refresh (in progress, paused or rolling back), if any."""

    def hooks_of(self, transition: Transition) -> list[LifecycleHook]:
        """The group's hooks of a transition."""
        return [hook for hook in self.hooks if hook.transition is transition]

    def actions_of(self, instance_id: str, transition: Transition) -> list[LifecycleAction]:
        """An instance's waits at a transition."""
        return [action for action in self.actions.get(instance_id, ()) if action.transition is transition]


MAX_DETACHED_PER_PROJECT = 1000
"""Servers a project's groups may have detached (they run outside every group and quota until attached again)."""


@dataclass(frozen=True)
class DetachedServer:
    """A server a group of the project gave away (DetachInstances), as it was when detached."""

    group_id: str
    server_id: str
    kind: str
    instance_id: str
    launch_config_id: str


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
        self.insert_decision = database.prepare(_INSERT_DECISION)
        self.prune_decisions = database.prepare(_PRUNE_DECISIONS)
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
        # A pass reads them for every group: prepared as the snapshot's own statements are.
        self.hooks_of = database.prepare(_HOOKS_OF)
        self.active_refresh_of = database.prepare(_ACTIVE_REFRESH_OF)


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

    def due_scheduled_actions(self, now: float, limit: int, after: DueAction | None = None) -> list[DueAction]:
        """Every project's scheduled actions whose next run time is not after `now`, earliest first, at most `limit`, from
        the one after `after` on (a pass pages so: actions that cannot run now never hide those after them); those of
        groups being deleted are left out (they run no more)."""
        table = scheduled_actions
        order = (table.c.next_run_time, table.c.project, table.c.group_id, table.c.id)
        query = (
            sa.select(table)
            .join(groups, sa.and_(groups.c.project == table.c.project, groups.c.id == table.c.group_id))
            .where(table.c.next_run_time <= now, sa.not_(groups.c.deleting))
        )
        if after is not None:
            last = after.action
            query = query.where(sa.tuple_(*order) > sa.tuple_(last.next_run_time, after.project, last.group_id, last.id))
        query = query.order_by(*order).limit(limit)
        with self._database.reader() as connection:
            rows = connection.execute(query).all()
        return [DueAction(row.project, _scheduled_action(row)) for row in rows]

    def claim_work(self, name: str, holder: str, now: float, until: float) -> bool:
        """Whether `holder` does the work `name` now: it holds it until `until` when no other holder's claim lasts past
        `now` (a holder that stops renewing loses it once its claim expires). Replicas so share out periodic work that one
        of them must do at a time."""
        try:
            with self._database.transaction() as connection:
                row = connection.execute(sa.select(worker_claims).where(worker_claims.c.name == name).with_for_update()).first()
                if row is None:
                    connection.execute(worker_claims.insert().values(name=name, holder=holder, expire_time=until))
                    return True
                if row.holder != holder and row.expire_time > now:
                    return False
                connection.execute(
                    worker_claims.update().where(worker_claims.c.name == name).values(holder=holder, expire_time=until)
                )
                return True
        except sa.exc.IntegrityError:
            return False  # another holder made the first claim at the same moment

    def running_instances(self, kind: str) -> list[RunningInstance]:
        """Every project's instances of `kind` (local processes, Nova servers) in service (RUNNING), for the CPU they use
        (services.group.cpu_report): the group's average covers the instances a target tracking policy multiplies it by,
        not those in standby or booting behind a launch hook."""
        query = sa.select(instances.c.project, instances.c.group_id, instances.c.id, instances.c.server_id).where(
            instances.c.kind == kind, instances.c.state == InstanceState.RUNNING.value, instances.c.server_id != ""
        )
        with self._database.reader() as connection:
            rows = connection.execute(query).all()
        return [RunningInstance(*row) for row in rows]


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
                    project=self.project, id=config.id, kind=config.kind, spec=_spec_to_json(config), create_time=config.create_time,
                    health_check=_health_check_to_json(config.health_check),
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
            # Instances still running it, or a refresh that may roll back to it, need it too.
            running = connection.scalars(
                sa.select(instances.c.group_id).distinct()
                .where(instances.c.project == self.project, instances.c.launch_config_id == config_id)
                .order_by(instances.c.group_id)
            ).all()
            refreshing = connection.scalars(
                sa.select(instance_refreshes.c.group_id).distinct().where(
                    instance_refreshes.c.project == self.project,
                    instance_refreshes.c.status.in_([status.value for status in ACTIVE]),
                    sa.or_(instance_refreshes.c.launch_config_id == config_id, instance_refreshes.c.rollback_launch_config_id == config_id),
                ).order_by(instance_refreshes.c.group_id)
            ).all()
            holders = sorted(set(running) | set(refreshing))
            if holders:
                raise FailedPrecondition.in_use(
                    launch_config_name(config_id), [group_name(g) for g in holders], ("group's instances", "groups' instances"),
                    "replace them first (an instance refresh), or wait until its refresh ends",
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

    def change_group(
        self, group_id: str, change: GroupChange, limits: Limits | None = None, *, explain: ChangeExplanation | None = None
    ) -> GroupStatus:
        """Apply `change` to the locked group and record its activity, and the scaling decision `explain` makes (if given).

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
                active = self._active_refresh(connection, group_id)
                if active is not None:
                    raise FailedPrecondition(
                        f"group.launch_config: {instance_refresh_name(group_id, active.id)} replaces the instances with "
                        f"{launch_config_name(active.target_launch_config_id)}; cancel it first, or give StartInstanceRefresh "
                        "the new launch config once it ends"
                    )
            values = _group_values(changed)
            connection.execute(groups.update().where(*self._group_key(group_id)).values(**values))
            if activity is not None:
                self._record_activity(connection, activity)
            decision = explain(group, changed, activity) if explain is not None else None
            if decision is not None:
                self._record_decision(connection, decision)
            return self._locked_status(connection, group_id)

    def adjust(
        self, group_id: str, request_id: str, decide: CapacityDecision, *, refuse: RefusalCheck | None = None, limits: Limits | None = None,
        decide_with_instances: InstancesDecision | None = None, explain: Explanation | None = None,
    ) -> AdjustOutcome:
        """Change the locked group's desired capacity as `decide` says and record the activity, unless `refuse` says why not.

        `decide_with_instances`, when given, decides instead, from the group's instances too (a step policy's
        adjustment counts those warming up). `explain`, when given, makes the scaling decision recorded with it, the
        refused ones too (services.group.decisions).

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
                left = AdjustOutcome(group.desired_capacity, group.desired_capacity, activity=None, group=status, refused=refused)
                if explain is not None:
                    self._record_decision(connection, explain(group, None, left))
                return left
            members = None
            if decide_with_instances is not None:
                members = self._instances(connection, group_id)
                activity = decide_with_instances(group, members)
            else:
                activity = decide(group)
            if limits is not None:
                self._require_instances_room(connection, group_id, group.desired_capacity, activity.to_capacity, limits)
            if activity.to_capacity != group.desired_capacity:
                statements.set_desired.rowcount(connection, project=project, group_id=group_id, desired_capacity=activity.to_capacity)
            if _in_progress(activity) and status.activity_in_progress is not None:
                self._supersede(connection, group_id, status.activity_in_progress, activity)
            statements.insert_activity.rowcount(connection, project=project, **_activity_values(activity))
            outcome = AdjustOutcome(previous_capacity=group.desired_capacity, desired_capacity=activity.to_capacity, activity=activity)
            if explain is not None:
                self._record_decision(connection, explain(group, members, outcome))
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
            if row.state == InstanceState.TERMINATING_WAIT.value:
                raise FailedPrecondition(f"{name} is terminating, waiting for its termination lifecycle hooks: complete them")
            if row.state == InstanceState.STANDBY.value and decrement:
                raise FailedPrecondition(
                    f"{name} is in standby, outside the desired capacity: terminate it without should_decrement_desired_capacity"
                )
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

    def enter_standby(
        self, group_id: str, instance_ids: Sequence[str], *, decrement: bool, activity_id: str, caller: str, now: float,
        limits: Limits | None = None,
    ) -> InstancesChange:
        """Move running instances of the locked group to STANDBY and record the activity; with `decrement` the desired
        capacity goes down by their number, else the loop launches replacements. NotFound for the group or an instance;
        FailedPrecondition for an instance not running, or decrementing below min_size (nothing is changed then)."""
        with self._database.transaction() as connection:
            group, found = self._locked_instances(connection, group_id, instance_ids)
            _require_states(found, {InstanceState.RUNNING}, "running")
            to_capacity = self._decremented(group, len(found), decrement, "moving them to standby")
            if limits is not None and not decrement:
                # Their replacements: the instances in standby go on running, and count.
                self._require_instances_room(connection, group_id, group.desired_capacity, group.desired_capacity + len(found), limits)
            changed = [replace(i, state=InstanceState.STANDBY, state_reason=f"in standby: set by {caller or 'a caller'}") for i in found]
            cause = f"EnterStandby {_names(found)}" + (", desired capacity decremented" if decrement else ", to be replaced")
            return self._store_change(connection, group, changed, to_capacity, cause, activity_id, caller, now)

    def exit_standby(
        self, group_id: str, instance_ids: Sequence[str], *, activity_id: str, caller: str, now: float, limits: Limits | None = None
    ) -> InstancesChange:
        """Return STANDBY instances of the locked group to service; the desired capacity goes up by their number.
        NotFound for the group or an instance; FailedPrecondition for one not in STANDBY, or beyond max_size."""
        with self._database.transaction() as connection:
            group, found = self._locked_instances(connection, group_id, instance_ids)
            _require_states(found, {InstanceState.STANDBY}, "in standby")
            to_capacity = self._incremented(group, len(found), "returning them to service")
            if limits is not None:
                # They leave standby (where they counted) for the capacity: only the rest of a rise needs room.
                self._require_instances_room(connection, group_id, group.desired_capacity + len(found), to_capacity, limits)
            changed = [replace(i, state=InstanceState.RUNNING, state_reason="") for i in found]
            return self._store_change(connection, group, changed, to_capacity, f"ExitStandby {_names(found)}", activity_id, caller, now)

    def detach_instances(
        self, group_id: str, instance_ids: Sequence[str], *, decrement: bool, activity_id: str, caller: str, now: float,
        limits: Limits | None = None,
    ) -> InstancesChange:
        """Forget running or STANDBY instances of the locked group without stopping their servers, which are recorded as
        detached (the group never stops them; AttachInstances may take them); with `decrement` the desired capacity goes
        down by their number, else the loop launches replacements. NotFound, FailedPrecondition as enter_standby."""
        with self._database.transaction() as connection:
            group, found = self._locked_instances(connection, group_id, instance_ids)
            _require_states(found, {InstanceState.RUNNING, InstanceState.STANDBY}, "running or in standby")
            to_capacity = self._decremented(group, len(found), decrement, "detaching them")
            detached = connection.scalar(
                sa.select(sa.func.count()).select_from(detached_servers).where(detached_servers.c.project == self.project)
            )
            if int(detached or 0) + len(found) > MAX_DETACHED_PER_PROJECT:
                raise ResourceExhausted(
                    f"project {self.project} has detached {detached} servers, the most it may ({MAX_DETACHED_PER_PROJECT}): "
                    "attach some again, or delete them and ask an operator to forget them"
                )
            for instance in found:
                connection.execute(detached_servers.delete().where(
                    detached_servers.c.project == self.project, detached_servers.c.group_id == group_id,
                    detached_servers.c.server_id == instance.server_id,
                ))
                connection.execute(detached_servers.insert().values(
                    project=self.project, group_id=group_id, server_id=instance.server_id, kind=instance.kind,
                    instance_id=instance.id, launch_config_id=instance.launch_config_id, detach_time=now,
                ))
                self._statements.delete_instance.rowcount(connection, project=self.project, group_id=group_id, id=instance.id)
                self._delete_actions(connection, group_id, instance.id)
            cause = f"DetachInstances {_names(found)}" + (", desired capacity decremented" if decrement else ", to be replaced")
            # The instances stay out of the group, so the status and activity count them out (the store of changed is empty).
            return replace(
                self._store_change(connection, group, [], to_capacity, cause, activity_id, caller, now), instances=found
            )

    def detached_servers(self, server_ids: Sequence[str]) -> list[DetachedServer]:
        """The servers among `server_ids` that a group of the project detached and that no group of it holds now, each
        once (its latest detach); NotFound naming the first the project never detached."""
        with self._database.reader() as connection:
            rows = connection.execute(
                sa.select(detached_servers).where(
                    detached_servers.c.project == self.project, detached_servers.c.server_id.in_(server_ids)
                ).order_by(detached_servers.c.detach_time)
            ).all()
            held = set(connection.scalars(
                sa.select(instances.c.server_id).where(instances.c.project == self.project, instances.c.server_id.in_(server_ids))
            ).all())
        latest = {row.server_id: row for row in rows}
        for server_id in server_ids:
            if server_id not in latest:
                raise NotFound(f"servers/{server_id}", f"server {server_id!r}: no group of this project detached it")
            if server_id in held:
                raise FailedPrecondition(f"server {server_id!r} is in a group already")
        return [
            DetachedServer(row.group_id, row.server_id, row.kind, row.instance_id, row.launch_config_id)
            for row in (latest[server_id] for server_id in dict.fromkeys(server_ids))
        ]

    def attach_instances(
        self, group_id: str, servers: Sequence[DetachedServer], *, activity_id: str, caller: str, now: float,
        limits: Limits | None = None,
    ) -> InstancesChange:
        """Add detached servers to the locked group as RUNNING instances (the ids they had, unless the group has such an
        id); the desired capacity goes up by their number. NotFound for the group; FailedPrecondition beyond max_size or
        for a server that a group holds (again) by now."""
        with self._database.transaction() as connection:
            group = self._lock_group(connection, group_id)
            to_capacity = self._incremented(group, len(servers), "attaching them")
            if limits is not None:
                self._require_instances_room(connection, group_id, group.desired_capacity, to_capacity, limits)
            taken = {i.id for i in self._instances(connection, group_id)}
            attached = []
            for server in servers:
                if connection.scalar(sa.select(instances.c.id).where(
                    instances.c.project == self.project, instances.c.server_id == server.server_id
                )) is not None:
                    raise FailedPrecondition(f"server {server.server_id!r} is in a group already")
                instance_id = server.instance_id if server.instance_id not in taken else new_instance_id()
                taken.add(instance_id)
                instance = Instance(
                    id=instance_id, group_id=group_id, kind=server.kind, launch_config_id=server.launch_config_id,
                    state=InstanceState.RUNNING, create_time=now, server_id=server.server_id,
                    state_reason=f"attached by {caller or 'a caller'}", in_service_time=now,
                )
                self._statements.insert_instance.rowcount(
                    connection, project=self.project, group_id=group_id, id=instance.id, kind=instance.kind,
                    launch_config_id=instance.launch_config_id, server_id=instance.server_id, state=instance.state.value,
                    state_reason=instance.state_reason, create_time=now, protected=False,
                )
                # Back in the group it left, it is that group's again; any other group that gave it away still leaves it be.
                connection.execute(detached_servers.delete().where(
                    detached_servers.c.project == self.project, detached_servers.c.group_id == group_id,
                    detached_servers.c.server_id == server.server_id,
                ))
                attached.append(instance)
            cause = f"AttachInstances {', '.join(s.server_id for s in servers)}"
            return self._store_change(connection, group, [], to_capacity, cause, activity_id, caller, now, instances_after=attached)

    def detached_server_ids(self, group_id: str) -> set[str]:
        """The servers the group gave away (DetachInstances): found by its marks, they are left running."""
        with self._database.reader() as connection:
            return set(connection.scalars(sa.select(detached_servers.c.server_id).where(
                detached_servers.c.project == self.project, detached_servers.c.group_id == group_id
            )).all())

    def set_instance_health(
        self, group_id: str, instance_id: str, healthy: bool, reason: str, *, respect_grace: bool, now: float
    ) -> Instance:
        """Mark a running instance healthy, or unhealthy (FAILED: the loop replaces it). NotFound for the group or the
        instance; FailedPrecondition for one not running, or in its grace period when `respect_grace`."""
        with self._database.transaction() as connection:
            group, (instance,) = self._locked_instances(connection, group_id, [instance_id])
            _require_states([instance], {InstanceState.RUNNING}, "running")
            if respect_grace and not grace_period_over(instance.in_service_time, group.grace_period, now):
                raise FailedPrecondition(
                    f"{instance_name(group_id, instance_id)} is in its health check grace period "
                    f"({group.grace_period:g}s from when it first ran)"
                )
            if healthy:
                changed = replace(instance, health_status=HealthStatus.HEALTHY, health_reason=reason)
            else:
                changed = replace(
                    instance, state=InstanceState.FAILED, state_reason=f"unhealthy: {reason}", health_status=HealthStatus.UNHEALTHY,
                    health_reason=reason,
                )
            self._update_instance(connection, changed)
            return changed

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
            for table in (
                adjust_requests, activities, scaling_decisions, lifecycle_actions, lifecycle_hooks, instance_refreshes, scheduled_actions,
                instances,
            ):
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

    def list_scaling_decisions(self, group_id: str, after: Sequence[Any] | None, limit: int) -> list[ScalingDecision]:
        """The group's scaling decisions newest first, those after the (decide_time, id) `after`; NotFound for the group."""
        table = scaling_decisions
        query = sa.select(table).where(table.c.project == self.project, table.c.group_id == group_id)
        query = newest_first_page(query, table.c.decide_time, table.c.id, after, limit)
        with self._database.reader() as connection:
            self._require_group(connection, group_id)
            return [_scaling_decision(row) for row in connection.execute(query).all()]

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
            config = _launch_config(config_row)
            configs = {config.id: config}
            # Instances launched from an earlier launch config are checked as that config says (what they run).
            for config_id in {row.launch_config_id for row in instance_rows} - configs.keys():
                earlier = self._launch_config_row(connection, config_id)
                if earlier is not None:
                    configs[config_id] = _launch_config(earlier)
            hooks = self._hooks(connection, group_id)
            refresh = self._active_refresh(connection, group_id)
            actions: dict[str, list[LifecycleAction]] = {}
            # NOTE: a group without hooks has no waits either (deleting a hook deletes them): no query.
            for action in self._actions(connection, group_id) if hooks else ():
                actions.setdefault(action.instance_id, []).append(action)
        return ReconcileSnapshot(
            group=group,
            launch_config=config,
            instances=[_instance(row) for row in instance_rows],
            activity_in_progress=_activity(activity_rows[0]) if activity_rows else None,
            health_checks={config_id: c.health_check for config_id, c in configs.items() if c.health_check is not None},
            hooks=hooks,
            actions=actions,
            refresh=refresh,
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
                self._update_instance(connection, instance)

    def remove_instance(self, instance: Instance) -> None:
        """Forget an instance whose server is gone (and its waits for lifecycle hooks)."""
        with self._database.transaction() as connection:
            self._statements.delete_instance.rowcount(connection, project=self.project, group_id=instance.group_id, id=instance.id)
            self._delete_actions(connection, instance.group_id, instance.id)

    # Instance refreshes

    def start_instance_refresh(
        self, group_id: str, launch_config_id: str | None, make: Callable[[Group, list[Instance]], InstanceRefresh]
    ) -> InstanceRefresh:
        """Start a refresh of the locked group, `make` given the group (its launch config switched to `launch_config_id`
        first, when given) and its instances. NotFound for the group or the launch config; FailedPrecondition while
        another refresh is active or the group is being deleted."""
        with self._database.transaction() as connection:
            group = self._lock_group(connection, group_id)
            active = self._active_refresh(connection, group_id)
            if active is not None:
                raise FailedPrecondition(
                    f"{instance_refresh_name(group_id, active.id)} is {active.status.value}: cancel it, or wait until it ends"
                )
            if launch_config_id is not None and launch_config_id != group.launch_config_id:
                self._require_launch_config(connection, launch_config_id)
                connection.execute(groups.update().where(*self._group_key(group_id)).values(launch_config_id=launch_config_id))
                group = replace(group, launch_config_id=launch_config_id)
            refresh = make(group, self._instances(connection, group_id))
            connection.execute(instance_refreshes.insert().values(project=self.project, **_refresh_values(refresh)))
            return refresh

    def get_instance_refresh(self, group_id: str, refresh_id: str) -> InstanceRefresh:
        """One refresh of the group; NotFound."""
        with self._database.reader() as connection:
            row = connection.execute(sa.select(instance_refreshes).where(*_refresh_key(self.project, group_id, refresh_id))).first()
            if row is None:
                self._require_group(connection, group_id)
                raise NotFound(instance_refresh_name(group_id, refresh_id))
        return _refresh(row)

    def list_instance_refreshes(self, group_id: str, after: Sequence[Any] | None, limit: int) -> list[InstanceRefresh]:
        """The group's refreshes newest first, those after the (start_time, id) `after`; NotFound for the group."""
        with self._database.reader() as connection:
            self._require_group(connection, group_id)
            query = sa.select(instance_refreshes).where(
                instance_refreshes.c.project == self.project, instance_refreshes.c.group_id == group_id
            )
            page = newest_first_page(query, instance_refreshes.c.start_time, instance_refreshes.c.id, after, limit)
            rows = connection.execute(page).all()
        return [_refresh(row) for row in rows]

    def change_instance_refresh(
        self, group_id: str, change: Callable[[InstanceRefresh, Group, list[Instance]], InstanceRefresh],
    ) -> InstanceRefresh:
        """Apply `change` to the locked group's active refresh (pause, resume, cancel, roll back); when it starts a roll back,
        the group's launch config goes back to the refresh's rollback config. NotFound for the group; FailedPrecondition
        when no refresh is active."""
        with self._database.transaction() as connection:
            group = self._lock_group(connection, group_id, allow_deleting=True)
            active = self._active_refresh(connection, group_id)
            if active is None:
                raise FailedPrecondition(f"{group_name(group_id)} has no instance refresh in progress")
            changed = change(active, group, self._instances(connection, group_id))
            self._store_refresh(connection, changed, rolled_back=active.status is not changed.status
                                and changed.status is RefreshStatus.ROLLBACK_IN_PROGRESS)
            return changed

    def store_instance_refresh(self, refresh: InstanceRefresh, *, rolled_back: bool = False) -> None:
        """Store a refresh a pass moved on; `rolled_back`: it starts to roll back (the group's launch config goes back)."""
        with self._database.transaction() as connection:
            self._store_refresh(connection, refresh, rolled_back=rolled_back)

    def _store_refresh(self, connection: Connection, refresh: InstanceRefresh, *, rolled_back: bool) -> None:
        values = _refresh_values(refresh)
        connection.execute(
            instance_refreshes.update().where(*_refresh_key(self.project, refresh.group_id, refresh.id)).values(values)
        )
        if rolled_back:
            connection.execute(
                groups.update().where(*self._group_key(refresh.group_id)).values(launch_config_id=refresh.rollback_launch_config_id)
            )

    def _active_refresh(self, connection: Connection, group_id: str) -> InstanceRefresh | None:
        found = self._statements.active_refresh_of.rows(connection, project=self.project, group_id=group_id)
        return _refresh(found[0]) if found else None

    # Lifecycle hooks

    def create_lifecycle_hook(self, hook: LifecycleHook) -> LifecycleHook:
        """Store a new hook of a group; NotFound for the group, AlreadyExists, ResourceExhausted beyond MAX_HOOKS_PER_GROUP."""
        with self._database.transaction() as connection:
            self._lock_group(connection, hook.group_id)
            existing = self._hooks(connection, hook.group_id)
            if any(known.id == hook.id for known in existing):
                raise AlreadyExists(lifecycle_hook_name(hook.group_id, hook.id))
            if len(existing) >= MAX_HOOKS_PER_GROUP:
                raise ResourceExhausted(f"{group_name(hook.group_id)} has {MAX_HOOKS_PER_GROUP} lifecycle hooks, the most a group has")
            connection.execute(lifecycle_hooks.insert().values(
                project=self.project, group_id=hook.group_id, id=hook.id, transition=hook.transition.value,
                heartbeat_timeout=hook.heartbeat_timeout, default_result=hook.default_result.value,
                notification_metadata=hook.notification_metadata, create_time=hook.create_time,
            ))
        return hook

    def list_lifecycle_hooks(self, group_id: str) -> list[LifecycleHook]:
        """A group's hooks by id; NotFound for the group."""
        with self._database.reader() as connection:
            self._require_group(connection, group_id)
            return self._hooks(connection, group_id)

    def delete_lifecycle_hook(self, group_id: str, hook_id: str) -> None:
        """Delete a hook; the instances waiting for it go on as if it answered CONTINUE. NotFound for the group or hook."""
        with self._database.transaction() as connection:
            self._lock_group(connection, group_id, allow_deleting=True)
            key = (lifecycle_hooks.c.project == self.project, lifecycle_hooks.c.group_id == group_id, lifecycle_hooks.c.id == hook_id)
            if connection.execute(lifecycle_hooks.delete().where(*key)).rowcount == 0:
                raise NotFound(lifecycle_hook_name(group_id, hook_id))
            connection.execute(lifecycle_actions.update().where(
                lifecycle_actions.c.project == self.project, lifecycle_actions.c.group_id == group_id,
                lifecycle_actions.c.hook_id == hook_id, lifecycle_actions.c.result.is_(None),
            ).values(result=HookResult.CONTINUE.value))

    def start_lifecycle_actions(self, actions: Sequence[LifecycleAction], group_id: str) -> None:
        """Store new waits of instances of the group (a pass starts them when an instance reaches a hooked transition)."""
        with self._database.transaction() as connection:
            for action in actions:
                connection.execute(lifecycle_actions.insert().values(
                    project=self.project, group_id=group_id, instance_id=action.instance_id, hook_id=action.hook_id,
                    transition=action.transition.value, start_time=action.start_time, timeout_time=action.timeout_time,
                    default_result=action.default_result.value, heartbeat_timeout=action.heartbeat_timeout, result=None,
                ))

    def answer_lifecycle_action(
        self, group_id: str, hook_id: str, instance_id: str, change: Callable[[LifecycleAction], LifecycleAction]
    ) -> LifecycleAction:
        """Apply `change` to the instance's unanswered wait for the hook (an answer, a heartbeat); NotFound when it has
        none (the group, the hook, the instance, or answered already)."""
        with self._database.transaction() as connection:
            self._lock_group(connection, group_id, allow_deleting=True)
            key = (
                lifecycle_actions.c.project == self.project, lifecycle_actions.c.group_id == group_id,
                lifecycle_actions.c.hook_id == hook_id, lifecycle_actions.c.instance_id == instance_id,
                lifecycle_actions.c.result.is_(None),
            )
            row = connection.execute(sa.select(lifecycle_actions).where(*key)).first()
            if row is None:
                raise NotFound(
                    f"{instance_name(group_id, instance_id)} waiting for {lifecycle_hook_name(group_id, hook_id)}",
                    f"{instance_name(group_id, instance_id)} is not waiting for {lifecycle_hook_name(group_id, hook_id)}",
                )
            changed = change(_action(row))
            connection.execute(lifecycle_actions.update().where(*key).values(
                result=changed.result.value if changed.result is not None else None, timeout_time=changed.timeout_time,
            ))
            return changed

    def _hooks(self, connection: Connection, group_id: str) -> list[LifecycleHook]:
        rows = self._statements.hooks_of.rows(connection, project=self.project, group_id=group_id)
        return [
            LifecycleHook(
                id=row.id, group_id=row.group_id, transition=Transition(row.transition), heartbeat_timeout=row.heartbeat_timeout,
                default_result=HookResult(row.default_result), notification_metadata=row.notification_metadata,
                create_time=row.create_time,
            )
            for row in rows
        ]

    def _actions(self, connection: Connection, group_id: str) -> list[LifecycleAction]:
        rows = connection.execute(sa.select(lifecycle_actions).where(
            lifecycle_actions.c.project == self.project, lifecycle_actions.c.group_id == group_id
        )).all()
        return [_action(row) for row in rows]

    def _delete_actions(self, connection: Connection, group_id: str, instance_id: str) -> None:
        connection.execute(lifecycle_actions.delete().where(
            lifecycle_actions.c.project == self.project, lifecycle_actions.c.group_id == group_id,
            lifecycle_actions.c.instance_id == instance_id,
        ))

    # Scheduled actions

    def create_scheduled_action(self, action: ScheduledAction) -> ScheduledAction:
        """Store a new scheduled action of a group; NotFound for the group, FailedPrecondition while it is being deleted,
        AlreadyExists, ResourceExhausted beyond MAX_ACTIONS_PER_GROUP."""
        with self._database.transaction() as connection:
            self._lock_group(connection, action.group_id)
            key = (scheduled_actions.c.project == self.project, scheduled_actions.c.group_id == action.group_id)
            if connection.execute(sa.select(scheduled_actions.c.id).where(*key, scheduled_actions.c.id == action.id)).first():
                raise AlreadyExists(scheduled_action_name(action.group_id, action.id))
            held = connection.scalar(sa.select(sa.func.count()).select_from(scheduled_actions).where(*key))
            if int(held or 0) >= MAX_ACTIONS_PER_GROUP:
                raise ResourceExhausted(
                    f"{group_name(action.group_id)} has {MAX_ACTIONS_PER_GROUP} scheduled actions, the most a group has"
                )
            connection.execute(scheduled_actions.insert().values(project=self.project, **_scheduled_action_values(action)))
        return action

    def get_scheduled_action(self, group_id: str, action_id: str) -> ScheduledAction:
        """One scheduled action; NotFound for the group or the action."""
        with self._database.reader() as connection:
            self._require_group(connection, group_id)
            return self._scheduled_action(connection, group_id, action_id)

    def list_scheduled_actions(self, group_id: str, after: str | None, limit: int) -> list[ScheduledAction]:
        """A group's scheduled actions by id, those after `after`, at most `limit`; NotFound for the group."""
        query = sa.select(scheduled_actions).where(scheduled_actions.c.project == self.project, scheduled_actions.c.group_id == group_id)
        if after is not None:
            query = query.where(scheduled_actions.c.id > after)
        with self._database.reader() as connection:
            self._require_group(connection, group_id)
            rows = connection.execute(query.order_by(scheduled_actions.c.id).limit(limit)).all()
        return [_scheduled_action(row) for row in rows]

    def change_scheduled_action(
        self, group_id: str, action_id: str, change: Callable[[ScheduledAction], ScheduledAction]
    ) -> ScheduledAction:
        """Apply `change` to the action, its group locked (so that no run of it happens meanwhile); NotFound for the group
        or the action, FailedPrecondition while the group is being deleted; whatever `change` raises aborts it."""
        with self._database.transaction() as connection:
            self._lock_group(connection, group_id)
            changed = change(self._scheduled_action(connection, group_id, action_id))
            connection.execute(
                scheduled_actions.update().where(*_scheduled_action_key(self.project, group_id, action_id))
                .values(**_scheduled_action_values(changed))
            )
            return changed

    def delete_scheduled_action(self, group_id: str, action_id: str) -> None:
        """Delete a scheduled action; NotFound for the group or the action."""
        with self._database.transaction() as connection:
            self._lock_group(connection, group_id, allow_deleting=True)
            deleted = connection.execute(scheduled_actions.delete().where(*_scheduled_action_key(self.project, group_id, action_id)))
            if deleted.rowcount == 0:
                raise NotFound(scheduled_action_name(group_id, action_id))

    def run_scheduled_action(
        self, due: DueAction, run: ScheduledRunDecision, limits: Limits | None = None, *, explain: RunExplanation | None = None
    ) -> ScheduledRun | None:
        """Run a due action on its locked group, as `run` decides, once: None when its next run time is no longer the one
        it was found due with (another process ran it, or it was changed or deleted meanwhile), or its group is gone.

        The group (its sizes), the activity, the scaling decision `explain` makes (if given) and the action's next run
        are stored in one transaction; a run that would raise the desired capacity beyond the project's instances quota
        (`limits`) fails instead.
        """
        with self._database.transaction() as connection:
            key = _scheduled_action_key(self.project, due.action.group_id, due.action.id)
            row = connection.execute(sa.select(groups).where(*self._group_key(due.action.group_id)).with_for_update()).first()
            if row is None:
                return None
            group = _group(row)
            found = connection.execute(sa.select(scheduled_actions).where(*key)).first()
            if group.deleting or found is None or found.next_run_time != due.action.next_run_time:
                return None
            action = _scheduled_action(found)
            outcome = run(group, action)
            if limits is not None:
                try:
                    self._require_instances_room(connection, group.id, group.desired_capacity, outcome.group.desired_capacity, limits)
                except ResourceExhausted as error:
                    outcome = schedule.failed_instead(outcome, group, str(error))
            if outcome.group != group:
                connection.execute(groups.update().where(*self._group_key(group.id)).values(**_group_values(outcome.group)))
            if outcome.activity is not None:
                self._record_activity(connection, outcome.activity)
            if explain is not None:
                self._record_decision(connection, explain(group, outcome))
            connection.execute(scheduled_actions.update().where(*key).values(**_scheduled_action_values(outcome.action)))
            return outcome

    def _scheduled_action(self, connection: Connection, group_id: str, action_id: str) -> ScheduledAction:
        row = connection.execute(sa.select(scheduled_actions).where(*_scheduled_action_key(self.project, group_id, action_id))).first()
        if row is None:
            raise NotFound(scheduled_action_name(group_id, action_id))
        return _scheduled_action(row)

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

    def _record_decision(self, connection: Connection, decision: ScalingDecision) -> None:
        """Insert a scaling decision, and forget the group's beyond its newest MAX_DECISIONS_PER_GROUP."""
        statements = self._statements
        statements.insert_decision.rowcount(connection, project=self.project, **_decision_values(decision))
        statements.prune_decisions.rowcount(connection, project=self.project, group_id=decision.group_id)

    def _locked_instances(self, connection: Connection, group_id: str, instance_ids: Sequence[str]) -> tuple[Group, list[Instance]]:
        """The locked group (not being deleted) and these instances of it, oldest first; NotFound for the group or the
        first instance it does not have."""
        group = self._lock_group(connection, group_id)
        rows = connection.execute(
            sa.select(instances).where(
                instances.c.project == self.project, instances.c.group_id == group_id, instances.c.id.in_(instance_ids)
            )
        ).all()
        missing = [i for i in instance_ids if i not in {row.id for row in rows}]
        if missing:
            raise NotFound(instance_name(group_id, missing[0]))
        return group, sorted((_instance(row) for row in rows), key=lambda i: (i.create_time, i.id))

    @staticmethod
    def _decremented(group: Group, count: int, decrement: bool, doing: str) -> int:
        """The desired capacity after taking `count` instances out, with or without decrementing; FailedPrecondition below
        min_size."""
        if not decrement:
            return group.desired_capacity
        to_capacity = group.desired_capacity - count
        if to_capacity < group.min_size:
            raise FailedPrecondition(
                f"{doing} and decrementing would take the desired capacity of {group_name(group.id)} to {to_capacity}, below its "
                f"min_size ({group.min_size}); do it without decrementing (they are replaced), or lower min_size first"
            )
        return to_capacity

    @staticmethod
    def _incremented(group: Group, count: int, doing: str) -> int:
        """The desired capacity after adding `count` instances; FailedPrecondition beyond max_size."""
        to_capacity = group.desired_capacity + count
        if to_capacity > group.max_size:
            raise FailedPrecondition(
                f"{doing} would take the desired capacity of {group_name(group.id)} to {to_capacity}, beyond its max_size "
                f"({group.max_size}); raise max_size first"
            )
        return to_capacity

    def _store_change(
        self, connection: Connection, group: Group, changed: Sequence[Instance], to_capacity: int, cause: str, activity_id: str,
        caller: str, now: float, *, instances_after: Sequence[Instance] = (),
    ) -> InstancesChange:
        """Store the changed instances and the new desired capacity, and record the activity (IN_PROGRESS: the loop settles
        it once the group is at its capacity)."""
        for instance in changed:
            self._update_instance(connection, instance)
        if to_capacity != group.desired_capacity:
            connection.execute(groups.update().where(*self._group_key(group.id)).values(desired_capacity=to_capacity))
        activity = Activity(
            id=activity_id, group_id=group.id, cause=cause, from_capacity=group.desired_capacity, to_capacity=to_capacity,
            start_time=now, status=ActivityStatus.IN_PROGRESS, caller=caller,
        )
        self._record_activity(connection, activity)
        return InstancesChange(self._locked_status(connection, group.id), activity, [*changed, *instances_after])

    def _update_instance(self, connection: Connection, instance: Instance) -> None:
        self._statements.update_instance.rowcount(
            connection, project=self.project, group_id=instance.group_id, id=instance.id, server_id=instance.server_id,
            state=instance.state.value, state_reason=instance.state_reason, address=instance.address,
            in_service_time=instance.in_service_time, health_status=instance.health_status.value, health_reason=instance.health_reason,
            drain_until=instance.drain_until,
        )

    def _require_instances_room(self, connection: Connection, group_id: str, before: int, after: int, limits: Limits) -> None:
        """ResourceExhausted when raising a group's desired capacity from `before` to `after` takes the project's groups
        beyond its instances quota (the desired capacities of its groups together, and their instances in standby, which
        run outside them); shrinking is always allowed, so the others are summed only for a rise."""
        if after <= before:
            return
        ((others, standby),) = self._statements.others_desired.rows(connection, project=self.project, group_id=group_id)
        limits.require_room("instances", held=int(others) + int(standby) + before, adding=after - before)

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

_STANDBY = (
    sa.select(sa.func.count()).select_from(instances)
    .where(instances.c.project == sa.bindparam("project"), instances.c.state == InstanceState.STANDBY.value)
    .scalar_subquery()
)
_OTHERS_DESIRED = sa.select(
    sa.func.coalesce(sa.func.sum(groups.c.desired_capacity), 0).label("others"), _STANDBY.label("standby")
).where(
    groups.c.project == sa.bindparam("project"), groups.c.id != sa.bindparam("group_id")
)
"""The desired capacities of a project's other groups together, and its instances in standby (both held in its quota)."""

_HOOKS_OF = (
    sa.select(lifecycle_hooks)
    .where(lifecycle_hooks.c.project == sa.bindparam("project"), lifecycle_hooks.c.group_id == sa.bindparam("group_id"))
    .order_by(lifecycle_hooks.c.id)
)

_ACTIVE_REFRESH_OF = (
    sa.select(instance_refreshes)
    .where(
        instance_refreshes.c.project == sa.bindparam("project"),
        instance_refreshes.c.group_id == sa.bindparam("group_id"),
        instance_refreshes.c.status.in_([sa.bindparam(f"active_{n}", status.value) for n, status in enumerate(sorted(ACTIVE, key=str))]),
    )
    .limit(1)
)
"""A group's active instance refresh (a group has one at most)."""

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


_DECISION_COLUMNS = tuple(column.name for column in scaling_decisions.columns if column.name != "project")
_INSERT_DECISION = scaling_decisions.insert().values(
    {"project": sa.bindparam("project"), **{name: sa.bindparam(name) for name in _DECISION_COLUMNS}}
)

_OLDEST_KEPT_DECISION = (
    sa.select(scaling_decisions.c.decide_time)
    .where(scaling_decisions.c.project == sa.bindparam("project"), scaling_decisions.c.group_id == sa.bindparam("group_id"))
    .order_by(scaling_decisions.c.decide_time.desc())
    .limit(1)
    .offset(decisions.MAX_DECISIONS_PER_GROUP - 1)
    .scalar_subquery()
)
_PRUNE_DECISIONS = scaling_decisions.delete().where(
    scaling_decisions.c.project == sa.bindparam("project"),
    scaling_decisions.c.group_id == sa.bindparam("group_id"),
    scaling_decisions.c.decide_time < _OLDEST_KEPT_DECISION,
)
"""Forget a group's decisions older than its newest MAX_DECISIONS_PER_GROUP (none while it has fewer: the subquery is NULL)."""

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
    .values({
        name: sa.bindparam(name)
        for name in (
            "server_id", "state", "state_reason", "address", "in_service_time", "health_status", "health_reason", "drain_until",
        )
    })
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


def _require_states(found: Sequence[Instance], states: set[InstanceState], wanted: str) -> None:
    """FailedPrecondition naming the first instance in none of `states`."""
    for instance in found:
        if instance.state not in states:
            raise FailedPrecondition(f"{instance_name(instance.group_id, instance.id)} is {instance.state.value}, not {wanted}")



def _scheduled_action_key(project: str, group_id: str, action_id: str) -> tuple[sa.ColumnElement[bool], ...]:
    table = scheduled_actions
    return table.c.project == project, table.c.group_id == group_id, table.c.id == action_id


def _scheduled_action_values(action: ScheduledAction) -> dict[str, Any]:
    return {
        "group_id": action.group_id, "id": action.id, "recurrence": action.recurrence, "time_zone": action.time_zone,
        "start_time": action.start_time, "end_time": action.end_time, "min_size": action.min_size, "max_size": action.max_size,
        "desired_capacity": action.desired_capacity, "create_time": action.create_time, "next_run_time": action.next_run_time,
        "last_run_time": action.last_run_time,
        "last_run_status": action.last_run_status.value if action.last_run_status is not None else None,
        "last_run_reason": action.last_run_reason,
    }


def _scheduled_action(row: Any) -> ScheduledAction:
    return ScheduledAction(
        id=row.id, group_id=row.group_id, recurrence=row.recurrence, time_zone=row.time_zone, start_time=row.start_time,
        end_time=row.end_time, min_size=row.min_size, max_size=row.max_size, desired_capacity=row.desired_capacity,
        create_time=row.create_time, next_run_time=row.next_run_time, last_run_time=row.last_run_time,
        last_run_status=RunStatus(row.last_run_status) if row.last_run_status is not None else None,
        last_run_reason=row.last_run_reason,
    )


def _refresh_key(project: str, group_id: str, refresh_id: str) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        instance_refreshes.c.project == project, instance_refreshes.c.group_id == group_id, instance_refreshes.c.id == refresh_id
    )


def _refresh_values(refresh: InstanceRefresh) -> dict[str, Any]:
    return {
        "group_id": refresh.group_id, "id": refresh.id, "status": refresh.status.value, "status_reason": refresh.status_reason,
        "launch_config_id": refresh.launch_config_id, "rollback_launch_config_id": refresh.rollback_launch_config_id,
        "min_healthy_percentage": refresh.min_healthy_percentage, "instance_warmup": refresh.instance_warmup,
        "auto_rollback": refresh.auto_rollback, "start_time": refresh.start_time, "end_time": refresh.end_time,
        "instances_to_update": refresh.instances_to_update, "instances_replaced": refresh.instances_replaced,
        "paused_before": refresh.paused_before.value if refresh.paused_before is not None else None,
        "launch_failures_before": refresh.launch_failures_before,
    }


def _refresh(row: Any) -> InstanceRefresh:
    return InstanceRefresh(
        id=row.id, group_id=row.group_id, status=RefreshStatus(row.status), launch_config_id=row.launch_config_id,
        rollback_launch_config_id=row.rollback_launch_config_id, min_healthy_percentage=row.min_healthy_percentage,
        instance_warmup=row.instance_warmup, auto_rollback=bool(row.auto_rollback), start_time=row.start_time,
        instances_to_update=row.instances_to_update, instances_replaced=row.instances_replaced, end_time=row.end_time,
        status_reason=row.status_reason, paused_before=RefreshStatus(row.paused_before) if row.paused_before else None,
        launch_failures_before=row.launch_failures_before,
    )



def _action(row: Any) -> LifecycleAction:
    return LifecycleAction(
        instance_id=row.instance_id, hook_id=row.hook_id, transition=Transition(row.transition), start_time=row.start_time,
        timeout_time=row.timeout_time, default_result=HookResult(row.default_result), heartbeat_timeout=row.heartbeat_timeout,
        result=HookResult(row.result) if row.result is not None else None,
    )


def _names(found: Sequence[Instance]) -> str:
    return ", ".join(instance_name(i.group_id, i.id) for i in found)


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
    health_check = _health_check(row.health_check)
    if row.kind == PROCESS:
        return LaunchConfig(
            id=row.id, process=ProcessSpec(command=tuple(spec["command"]), env=spec["env"]), create_time=row.create_time,
            health_check=health_check,
        )
    assert row.kind == OPENSTACK_SERVER, row.kind
    return LaunchConfig(
        id=row.id,
        openstack_server=_server_spec_from_json(spec),
        create_time=row.create_time,
        health_check=health_check,
    )


def _health_check_to_json(check: HealthCheck | None) -> dict[str, Any] | None:
    if check is None:
        return None
    return {
        "kind": check.kind.value, "command": list(check.command), "port": check.port, "path": check.path,
        "interval": check.interval, "timeout": check.timeout, "unhealthy_threshold": check.unhealthy_threshold,
    }


def _health_check(stored: Any) -> HealthCheck | None:
    """A stored health check (JSON text where the driver gives it so, as the spec)."""
    fields = json.loads(stored) if isinstance(stored, str) else stored
    if not fields:
        return None
    return HealthCheck(
        kind=ProbeKind(fields["kind"]), command=tuple(fields["command"]), port=fields["port"], path=fields["path"],
        interval=fields["interval"], timeout=fields["timeout"], unhealthy_threshold=fields["unhealthy_threshold"],
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
        "health_check_grace_period": group.health_check_grace_period,
        "load_balancer_pools": [
            {"kind": pool.kind.value, "name": pool.name, "port": pool.port, "drain_delay": pool.drain_delay}
            for pool in group.load_balancer_pools
        ],
        "suspended_processes": sorted(process.value for process in group.suspended_processes),
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
        health_check_grace_period=row.health_check_grace_period,
        load_balancer_pools=_pools(row.load_balancer_pools),
        suspended_processes=frozenset(
            ScalingProcess(value)
            for value in (json.loads(row.suspended_processes) if isinstance(row.suspended_processes, str) else row.suspended_processes)
        ),
    )


def _pools(stored: Any) -> tuple[LoadBalancerPool, ...]:
    """The stored pools (JSON text where the driver gives it so, as for tags)."""
    fields = json.loads(stored) if isinstance(stored, str) else stored
    return tuple(
        LoadBalancerPool(PoolKind(pool["kind"]), pool["name"], port=pool["port"], drain_delay=pool["drain_delay"])
        for pool in fields or ()
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
        protected_from_scale_in=bool(row.protected), address=row.address, in_service_time=row.in_service_time,
        health_status=HealthStatus(row.health_status), health_reason=row.health_reason, drain_until=row.drain_until,
    )


def _activity(row: Any) -> Activity:
    return Activity(
        id=row.id, group_id=row.group_id, cause=row.cause, from_capacity=row.from_capacity, to_capacity=row.to_capacity,
        start_time=row.start_time, status=ActivityStatus(row.status), end_time=row.end_time, status_message=row.status_message,
        cooldown=row.cooldown, caller=row.caller,
    )


def _decision_values(decision: ScalingDecision) -> dict[str, Any]:
    """The columns of a scaling decision's row but its project."""
    worked_out = decision.calculation
    return {
        "group_id": decision.group_id, "id": decision.id, "decide_time": decision.decide_time, "source": decision.source.value,
        "caller": decision.caller, "cause": decision.cause, "trigger": decision.trigger,
        "adjustment_type": decision.adjustment_type.value if decision.adjustment_type is not None else None,
        "adjustment": decision.adjustment, "min_adjustment_step": decision.min_adjustment_step,
        "step_scaling": decision.step_scaling,
        "base_capacity": worked_out.base_capacity if worked_out is not None else None,
        "raw_capacity": worked_out.raw_capacity if worked_out is not None else None,
        "rounded_capacity": worked_out.rounded_capacity if worked_out is not None else None,
        "clamped_capacity": worked_out.clamped_capacity if worked_out is not None else None,
        "min_size": worked_out.min_size if worked_out is not None else None,
        "max_size": worked_out.max_size if worked_out is not None else None,
        "previous_capacity": decision.previous_capacity, "desired_capacity": decision.desired_capacity,
        "outcome": decision.outcome.value, "refusal": decision.refusal.value if decision.refusal is not None else None,
        "cooldown_end": decision.cooldown_end, "reason": decision.reason, "activity_id": decision.activity_id,
        "scheduled_action_id": decision.scheduled_action_id, "requested_capacity": decision.requested_capacity,
    }


def _scaling_decision(row: Any) -> ScalingDecision:
    worked_out = None
    if row.base_capacity is not None:
        worked_out = CapacityCalculation(
            base_capacity=row.base_capacity, raw_capacity=row.raw_capacity, rounded_capacity=row.rounded_capacity,
            clamped_capacity=row.clamped_capacity, min_size=row.min_size, max_size=row.max_size,
        )
    return ScalingDecision(
        id=row.id, group_id=row.group_id, decide_time=row.decide_time, source=DecisionSource(row.source), caller=row.caller,
        cause=row.cause, trigger=bytes(row.trigger),
        adjustment_type=AdjustmentType(row.adjustment_type) if row.adjustment_type is not None else None,
        adjustment=row.adjustment, min_adjustment_step=row.min_adjustment_step, step_scaling=bool(row.step_scaling),
        calculation=worked_out, previous_capacity=row.previous_capacity, desired_capacity=row.desired_capacity,
        outcome=DecisionOutcome(row.outcome), refusal=Refusal(row.refusal) if row.refusal is not None else None,
        cooldown_end=row.cooldown_end, reason=row.reason, activity_id=row.activity_id,
        scheduled_action_id=row.scheduled_action_id, requested_capacity=row.requested_capacity,
    )
