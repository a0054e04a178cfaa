"""The group service's tables (SQLAlchemy Core), prefixed `group_` as all services may share one database.

Every row belongs to a project. Times are floats (seconds since the epoch).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

ID_LENGTH = 63
PROJECT_LENGTH = 64

launch_configs = sa.Table(
    "group_launch_configs",
    metadata,
    sa.Column("project", sa.String(PROJECT_LENGTH), primary_key=True),
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    # process or openstack_server, and the fields of that kind's spec.
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("create_time", sa.Float, nullable=False),
    # Its health check (services.group.health.HealthCheck as JSON); NULL: none.
    sa.Column("health_check", sa.JSON, nullable=True),
)

groups = sa.Table(
    "group_groups",
    metadata,
    sa.Column("project", sa.String(PROJECT_LENGTH), primary_key=True),
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("launch_config_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("min_size", sa.Integer, nullable=False),
    sa.Column("max_size", sa.Integer, nullable=False),
    sa.Column("desired_capacity", sa.Integer, nullable=False),
    # Seconds; NULL is "unset" (the default), apart from an explicit 0.
    sa.Column("cooldown", sa.Float, nullable=True),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("create_time", sa.Float, nullable=False),
    sa.Column("deleting", sa.Boolean, nullable=False),
    # When the cooldown of its last scaling activities ends; NULL: none started (services.group.cooldown).
    sa.Column("cooldown_end", sa.Float, nullable=True),
    # Launches failing in a row, when the group may launch next (NULL: whenever), and why the last failed.
    sa.Column("launch_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("launch_retry_time", sa.Float, nullable=True),
    sa.Column("last_launch_failure", sa.Text, nullable=False, server_default=""),
    # Its termination policies, in order (JSON list of their names; [] means the default).
    sa.Column("termination_policies", sa.JSON, nullable=False, server_default="[]"),
    # Whether the instances it launches are protected from scale-in.
    sa.Column("new_instances_protected", sa.Boolean, nullable=False, server_default=sa.false()),
    # Seconds its instances run before their health checks count; NULL is "unset" (the default), apart from 0.
    sa.Column("health_check_grace_period", sa.Float, nullable=True),
    # Its load balancer pools (JSON list of services.group.load_balancers.LoadBalancerPool fields).
    sa.Column("load_balancer_pools", sa.JSON, nullable=False, server_default="[]"),
    # Its suspended processes (JSON list of services.group.processes.ScalingProcess values).
    sa.Column("suspended_processes", sa.JSON, nullable=False, server_default="[]"),
    sa.ForeignKeyConstraint(
        ["project", "launch_config_id"], ["group_launch_configs.project", "group_launch_configs.id"],
        name="fk_group_groups_launch_config",
    ),
    sa.Index("ix_group_groups_launch_config", "project", "launch_config_id"),
)

instances = sa.Table(
    "group_instances",
    metadata,
    sa.Column("project", sa.String(PROJECT_LENGTH), primary_key=True),
    sa.Column("group_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("launch_config_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("server_id", sa.String(255), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("state_reason", sa.Text, nullable=False),
    sa.Column("create_time", sa.Float, nullable=False),
    # A scale-in never chooses it.
    sa.Column("protected", sa.Boolean, nullable=False, server_default=sa.false()),
    # Where it serves ("host:port", or a server's IP), as its driver last said; "" until known.
    sa.Column("address", sa.String(255), nullable=False, server_default=""),
    # When it was first seen running: its health check grace period starts then. NULL: not yet.
    sa.Column("in_service_time", sa.Float, nullable=True),
    # What its health check says (services.group.health.HealthStatus), and why.
    sa.Column("health_status", sa.String(16), nullable=False, server_default="unknown"),
    sa.Column("health_reason", sa.Text, nullable=False, server_default=""),
    # Chosen for removal while a pool member: when it has drained and may stop. NULL: not draining.
    sa.Column("drain_until", sa.Float, nullable=True),
    sa.ForeignKeyConstraint(["project", "group_id"], ["group_groups.project", "group_groups.id"], name="fk_group_instances_group"),
    sa.Index("ix_group_instances_created", "project", "group_id", "create_time"),
    # A server is one instance at most (two AttachInstances of it into two groups at once cannot both succeed).
    sa.Index(
        "ux_group_instances_server", "project", "server_id", unique=True,
        sqlite_where=sa.text("server_id <> ''"), postgresql_where=sa.text("server_id <> ''"),
    ),
)

lifecycle_hooks = sa.Table(
    "group_lifecycle_hooks",
    metadata,
    sa.Column("project", sa.String(PROJECT_LENGTH), primary_key=True),
    sa.Column("group_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("transition", sa.String(16), nullable=False),
    sa.Column("heartbeat_timeout", sa.Float, nullable=False),
    sa.Column("default_result", sa.String(16), nullable=False),
    sa.Column("notification_metadata", sa.Text, nullable=False),
    sa.Column("create_time", sa.Float, nullable=False),
    sa.ForeignKeyConstraint(["project", "group_id"], ["group_groups.project", "group_groups.id"], name="fk_group_lifecycle_hooks_group"),
)

# An instance's wait for a hook (services.group.hooks.LifecycleAction), kept until the instance is forgotten, so that a
# restart resumes it and a termination waited for once is not waited for again.
lifecycle_actions = sa.Table(
    "group_lifecycle_actions",
    metadata,
    sa.Column("project", sa.String(PROJECT_LENGTH), primary_key=True),
    sa.Column("group_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("instance_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("hook_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("transition", sa.String(16), primary_key=True),
    sa.Column("start_time", sa.Float, nullable=False),
    sa.Column("timeout_time", sa.Float, nullable=False),
    sa.Column("default_result", sa.String(16), nullable=False),
    sa.Column("heartbeat_timeout", sa.Float, nullable=False),
    # The caller's answer; NULL while it waits.
    sa.Column("result", sa.String(16), nullable=True),
    sa.ForeignKeyConstraint(["project", "group_id"], ["group_groups.project", "group_groups.id"], name="fk_group_lifecycle_actions_group"),
)

# A group's instance refreshes (services.group.refresh.InstanceRefresh); at most one active.
instance_refreshes = sa.Table(
    "group_instance_refreshes",
    metadata,
    sa.Column("project", sa.String(PROJECT_LENGTH), primary_key=True),
    sa.Column("group_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("status_reason", sa.Text, nullable=False),
    sa.Column("launch_config_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("rollback_launch_config_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("min_healthy_percentage", sa.Integer, nullable=False),
    sa.Column("instance_warmup", sa.Float, nullable=False),
    sa.Column("auto_rollback", sa.Boolean, nullable=False),
    sa.Column("start_time", sa.Float, nullable=False),
    sa.Column("end_time", sa.Float, nullable=True),
    sa.Column("instances_to_update", sa.Integer, nullable=False),
    sa.Column("instances_replaced", sa.Integer, nullable=False),
    # While paused: the status it resumes.
    sa.Column("paused_before", sa.String(32), nullable=True),
    # The group's failed launches in a row when it (or its roll back) started.
    sa.Column("launch_failures_before", sa.Integer, nullable=False),
    sa.ForeignKeyConstraint(["project", "group_id"], ["group_groups.project", "group_groups.id"], name="fk_group_instance_refreshes_group"),
    sa.Index("ix_group_instance_refreshes_started", "project", "group_id", "start_time"),
)

# Servers a group gave away (DetachInstances): the group never stops them, though they carry its marks, and
# AttachInstances takes them into a group of the same project. Kept after the group is deleted, so that a new
# group of the same id leaves them alone too.
detached_servers = sa.Table(
    "group_detached_servers",
    metadata,
    sa.Column("project", sa.String(PROJECT_LENGTH), primary_key=True),
    sa.Column("group_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("server_id", sa.String(255), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("instance_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("launch_config_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("detach_time", sa.Float, nullable=False),
    sa.Index("ix_group_detached_servers_server", "project", "server_id"),
)

# A group's scheduled actions (services.group.schedule.ScheduledAction). The runner looks for those due by
# next_run_time, and moves it on in the transaction that runs the action: that move is what makes each run happen once.
scheduled_actions = sa.Table(
    "group_scheduled_actions",
    metadata,
    sa.Column("project", sa.String(PROJECT_LENGTH), primary_key=True),
    sa.Column("group_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    # A 5-field cron expression; "" for a one-time action.
    sa.Column("recurrence", sa.String(255), nullable=False),
    # The IANA zone of the recurrence; "" means UTC.
    sa.Column("time_zone", sa.String(64), nullable=False),
    sa.Column("start_time", sa.Float, nullable=True),
    sa.Column("end_time", sa.Float, nullable=True),
    # The sizes it sets; NULL: the group's stays.
    sa.Column("min_size", sa.Integer, nullable=True),
    sa.Column("max_size", sa.Integer, nullable=True),
    sa.Column("desired_capacity", sa.Integer, nullable=True),
    sa.Column("create_time", sa.Float, nullable=False),
    # When it runs next; NULL: never again.
    sa.Column("next_run_time", sa.Float, nullable=True),
    # Its last run: when, how (services.group.schedule.RunStatus; NULL: never ran) and what it did, for people.
    sa.Column("last_run_time", sa.Float, nullable=True),
    sa.Column("last_run_status", sa.String(16), nullable=True),
    sa.Column("last_run_reason", sa.Text, nullable=False),
    sa.ForeignKeyConstraint(["project", "group_id"], ["group_groups.project", "group_groups.id"], name="fk_group_scheduled_actions_group"),
    sa.Index("ix_group_scheduled_actions_next_run", "next_run_time"),
)

activities = sa.Table(
    "group_activities",
    metadata,
    sa.Column("project", sa.String(PROJECT_LENGTH), primary_key=True),
    sa.Column("group_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("cause", sa.Text, nullable=False),
    sa.Column("from_capacity", sa.Integer, nullable=False),
    sa.Column("to_capacity", sa.Integer, nullable=False),
    sa.Column("start_time", sa.Float, nullable=False),
    sa.Column("end_time", sa.Float, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_message", sa.Text, nullable=False),
    # Seconds of cooldown the activity starts when it ends; NULL: none (an Adjust that did not honour the cooldown).
    sa.Column("cooldown", sa.Float, nullable=True),
    # Who asked for it: the principal of the call that made it ("" before it was recorded).
    sa.Column("caller", sa.String(255), nullable=False, server_default=""),
    sa.ForeignKeyConstraint(["project", "group_id"], ["group_groups.project", "group_groups.id"], name="fk_group_activities_group"),
    sa.Index("ix_group_activities_started", "project", "group_id", "start_time"),
    sa.Index("ix_group_activities_status", "project", "group_id", "status"),
)

# The first answer of each Adjust with a request_id. The activity's own fields never
# change except its status, so the status at answer time is kept here.
adjust_requests = sa.Table(
    "group_adjust_requests",
    metadata,
    sa.Column("project", sa.String(PROJECT_LENGTH), primary_key=True),
    sa.Column("group_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("request_id", sa.String(255), primary_key=True),
    sa.Column("previous_capacity", sa.Integer, nullable=False),
    sa.Column("desired_capacity", sa.Integer, nullable=False),
    sa.Column("activity_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("activity_status", sa.String(16), nullable=False),
    sa.Column("activity_end_time", sa.Float, nullable=True),
    sa.Column("activity_status_message", sa.Text, nullable=False),
    sa.ForeignKeyConstraint(["project", "group_id"], ["group_groups.project", "group_groups.id"], name="fk_group_adjust_requests_group"),
)

# Every request to change a group's capacity and what came of it (services.group.decisions), the newest
# MAX_DECISIONS_PER_GROUP of each group.
scaling_decisions = sa.Table(
    "group_scaling_decisions",
    metadata,
    sa.Column("project", sa.String(PROJECT_LENGTH), primary_key=True),
    sa.Column("group_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("decide_time", sa.Float, nullable=False),
    # services.group.domain.DecisionSource, and who called.
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("caller", sa.String(255), nullable=False),
    sa.Column("cause", sa.Text, nullable=False),
    # What set a policy off, a serialized autoscale.v1.ScalingTrigger as the policy service sent it; empty: none.
    sa.Column("trigger", sa.LargeBinary, nullable=False),
    # What was asked: services.group.domain.AdjustmentType (NULL: a SetDesiredCapacity, its capacity in adjustment).
    sa.Column("adjustment_type", sa.String(32), nullable=True),
    sa.Column("adjustment", sa.Integer, nullable=False),
    # The desired capacity asked by a SetDesiredCapacity, UpdateGroup or scheduled action; NULL: none.
    sa.Column("requested_capacity", sa.Integer, nullable=True),
    sa.Column("min_adjustment_step", sa.Integer, nullable=False),
    sa.Column("step_scaling", sa.Boolean, nullable=False),
    # The capacity maths (services.group.domain.CapacityCalculation); all NULL when there are none.
    sa.Column("base_capacity", sa.Integer, nullable=True),
    sa.Column("raw_capacity", sa.Float, nullable=True),
    sa.Column("rounded_capacity", sa.Integer, nullable=True),
    sa.Column("clamped_capacity", sa.Integer, nullable=True),
    sa.Column("min_size", sa.Integer, nullable=True),
    sa.Column("max_size", sa.Integer, nullable=True),
    sa.Column("previous_capacity", sa.Integer, nullable=False),
    sa.Column("desired_capacity", sa.Integer, nullable=False),
    # services.group.domain.DecisionOutcome; with REFUSED, the Refusal and (a cooldown) when it ends.
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("refusal", sa.String(32), nullable=True),
    sa.Column("cooldown_end", sa.Float, nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    # The activity recorded; "" when none was.
    sa.Column("activity_id", sa.String(ID_LENGTH), nullable=False),
    # The scheduled action that ran; "" for other sources.
    sa.Column("scheduled_action_id", sa.String(ID_LENGTH), nullable=False),
    sa.ForeignKeyConstraint(
        ["project", "group_id"], ["group_groups.project", "group_groups.id"], name="fk_group_scaling_decisions_group"
    ),
    sa.Index("ix_group_scaling_decisions_decided", "project", "group_id", "decide_time"),
)

worker_claims = sa.Table(
    "group_worker_claims",
    metadata,
    # The work claimed, e.g. `cpu-report-openstack_server`.
    sa.Column("name", sa.String(64), primary_key=True),
    # The process that does it (a random id of the process), until expire_time unless it renews.
    sa.Column("holder", sa.String(64), nullable=False),
    sa.Column("expire_time", sa.Float, nullable=False),
)
