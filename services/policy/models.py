"""The policy service's tables (SQLAlchemy Core), prefixed `policy_` as all services may share one database.

Every row belongs to a project. Times are floats (seconds since the epoch).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

ID_LENGTH = 63
PROJECT_LENGTH = 64
NAME_LENGTH = 255
REQUEST_ID_LENGTH = 255

policies = sa.Table(
    "policy_policies",
    metadata,
    sa.Column("project", sa.String(PROJECT_LENGTH), primary_key=True),
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("group_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("adjustment_type", sa.String(32), nullable=False),
    sa.Column("scaling_adjustment", sa.Integer, nullable=False),
    sa.Column("min_adjustment_step", sa.Integer, nullable=False),
    # Seconds; NULL is "unset" (the group's cooldown), apart from an explicit 0.
    sa.Column("cooldown", sa.Float, nullable=True),
    sa.Column("create_time", sa.Float, nullable=False),
    # A step policy's steps, a JSON list (services.policy.repository); NULL for a simple policy.
    sa.Column("step_adjustments", sa.Text, nullable=True),
    # A step policy's metric_aggregation_type; NULL: unset (the average).
    sa.Column("metric_aggregation_type", sa.String(16), nullable=True),
    # A step policy's warm-up in seconds; NULL: the group's cooldown.
    sa.Column("estimated_instance_warmup", sa.Float, nullable=True),
    # A target tracking policy's configuration (JSON, services.policy.repository); NULL for the other kinds.
    sa.Column("target_tracking", sa.Text, nullable=True),
    # What a target tracking policy remembers: its recent recommendations and scale events (JSON); NULL: nothing yet.
    sa.Column("target_tracking_state", sa.Text, nullable=True),
)

executions = sa.Table(
    "policy_executions",
    metadata,
    # Storage order: breaks ties between executions of the same time.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project", sa.String(PROJECT_LENGTH), nullable=False),
    sa.Column("policy_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("cause", sa.Text, nullable=False),
    sa.Column("request_id", sa.String(REQUEST_ID_LENGTH), nullable=False),
    sa.Column("adjusted", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("activity", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("failed", sa.Boolean, nullable=False),
    # The serialized ExecutePolicyResponse, answered again to a repeated request_id; NULL when failed.
    sa.Column("response", sa.LargeBinary, nullable=True),
    # The serialized AlarmPayload of the alarm whose action it was; NULL for an operator's or a receiver's.
    sa.Column("alarm_payload", sa.LargeBinary, nullable=True),
    # A step policy's: the metric value and threshold the breach was measured with, and the step that held it (JSON).
    sa.Column("metric_value", sa.Float, nullable=True),
    sa.Column("breach_threshold", sa.Float, nullable=True),
    sa.Column("step_adjustment", sa.Text, nullable=True),
    # A target tracking policy's: the capacity the metric asked and the desired capacity decided.
    sa.Column("recommended_capacity", sa.Integer, nullable=True),
    sa.Column("desired_capacity", sa.Integer, nullable=True),
    # A target tracking policy's with a predictive floor: the forecast made (JSON, services.policy.repository).
    sa.Column("forecast", sa.Text, nullable=True),
    sa.ForeignKeyConstraint(
        ["project", "policy_id"], ["policy_policies.project", "policy_policies.id"], name="fk_policy_executions_policy"
    ),
    sa.Index("ix_policy_executions_time", "project", "policy_id", "time"),
    sa.Index("ix_policy_executions_request", "project", "policy_id", "request_id"),
)

receivers = sa.Table(
    "policy_receivers",
    metadata,
    sa.Column("project", sa.String(PROJECT_LENGTH), primary_key=True),
    sa.Column("policy_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("format", sa.String(16), nullable=False),
    # Empty: resolved alerts do nothing.
    sa.Column("resolved_policy_id", sa.String(ID_LENGTH), nullable=False),
    # SHA-256 of the URL's token (hex): a signal finds its receiver by it; the token itself is never kept.
    sa.Column("token_hash", sa.String(64), nullable=False),
    # The HMAC key signals must be signed with (kept as given: it must be used, not only compared); NULL: none.
    sa.Column("hmac_secret", sa.String(256), nullable=True),
    sa.Column("create_time", sa.Float, nullable=False),
    sa.ForeignKeyConstraint(
        ["project", "policy_id"], ["policy_policies.project", "policy_policies.id"], name="fk_policy_receivers_policy"
    ),
    sa.UniqueConstraint("token_hash", name="uq_policy_receivers_token"),
)
