"""The alarm service's tables (SQLAlchemy Core), prefixed `alarm_` as all services may share one database.

Every row belongs to a project. Times are floats (seconds since the epoch); lists
and maps (dimensions, actions) are JSON text.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

ID_LENGTH = 63
PROJECT_LENGTH = 64
METRIC_LENGTH = 255
NAME_LENGTH = 255

alarms = sa.Table(
    "alarm_alarms",
    metadata,
    sa.Column("project", sa.String(PROJECT_LENGTH), primary_key=True),
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("metric", sa.String(METRIC_LENGTH), nullable=False),
    sa.Column("dimensions", sa.Text, nullable=False),
    sa.Column("statistic", sa.String(32), nullable=False),
    sa.Column("comparison", sa.String(8), nullable=False),
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("period", sa.Float, nullable=False),
    sa.Column("evaluation_periods", sa.Integer, nullable=False),
    sa.Column("alarm_actions", sa.Text, nullable=False),
    sa.Column("ok_actions", sa.Text, nullable=False),
    sa.Column("insufficient_data_actions", sa.Text, nullable=False),
    sa.Column("repeat_actions", sa.Boolean, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("state_reason", sa.Text, nullable=False),
    sa.Column("state_time", sa.Float, nullable=False),
    sa.Column("create_time", sa.Float, nullable=False),
    sa.Column("evaluate_time", sa.Float, nullable=True),
    # Moves with each update of the definition: a transition stores only if the alarm is still as judged.
    sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
    # When the actions of the state last ran again while the alarm stayed in it: repeats stay a period apart.
    sa.Column("repeat_time", sa.Float, nullable=True),
    # The key that signs the alarm's webhooks (64 hex digits); shown to its owner only when made.
    sa.Column("webhook_secret", sa.String(64), nullable=False, server_default=""),
    # The rule's kind: `threshold` (over the metrics service; metric, dimensions, statistic), `prometheus` (query),
    # `gnocchi` (metric and the columns below query) or `composite` (query); every kind but composite holds comparison,
    # threshold, period and evaluation_periods.
    sa.Column("rule_kind", sa.String(16), nullable=False, server_default="threshold"),
    # A Prometheus rule's PromQL query, or a composite rule's expression (NULL for other kinds; a composite rule stores
    # "" in comparison and 0 in threshold and evaluation_periods).
    sa.Column("query", sa.Text, nullable=True),
    # A Gnocchi rule's target and aggregation (NULL for other kinds; its metric name is in `metric`, "" with metric ids):
    # one resource (resource_type, resource_id), a search over resources (resource_type, resource_query: JSON text),
    # or metric ids (a JSON list).
    sa.Column("resource_type", sa.String(METRIC_LENGTH), nullable=True),
    sa.Column("resource_id", sa.String(METRIC_LENGTH), nullable=True),
    sa.Column("resource_query", sa.Text, nullable=True),
    sa.Column("metric_ids", sa.Text, nullable=True),
    sa.Column("aggregation_method", sa.String(32), nullable=True),
    # CloudWatch's settings of how the rule's periods are judged, any kind: M of N (0: unset) and how missing periods
    # count (TreatMissingData's value, "": unset); both unset: Aodh's rule.
    sa.Column("datapoints_to_alarm", sa.Integer, nullable=False, server_default="0"),
    sa.Column("treat_missing_data", sa.String(16), nullable=False, server_default=""),
    # The resource that made the alarm and alone changes and deletes it (`policies/{id}`); "": none.
    sa.Column("owner", sa.String(NAME_LENGTH), nullable=False, server_default=""),
)

history = sa.Table(
    "alarm_history",
    metadata,
    # Storage order: breaks ties between entries of the same time.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project", sa.String(PROJECT_LENGTH), nullable=False),
    sa.Column("alarm_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("previous_state", sa.String(32), nullable=True),
    sa.Column("state", sa.String(32), nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("action_succeeded", sa.Boolean, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    # Who made it happen: the principal of the call ("" before it was recorded).
    sa.Column("caller", sa.String(255), nullable=False, server_default=""),
    sa.ForeignKeyConstraint(["project", "alarm_id"], ["alarm_alarms.project", "alarm_alarms.id"], name="fk_alarm_history_alarm"),
    sa.Index("ix_alarm_history_time", "project", "alarm_id", "time"),
)

# Actions decided but not yet done (an outbox): written with the transition that decides them, deleted
# once they succeed or are given up, and run again after a restart, so that no decided action is lost.
pending_actions = sa.Table(
    "alarm_pending_actions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project", sa.String(PROJECT_LENGTH), nullable=False),
    sa.Column("alarm_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("previous_state", sa.String(32), nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("reason_data", sa.Text, nullable=False),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("repeat", sa.Boolean, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.ForeignKeyConstraint(
        ["project", "alarm_id"], ["alarm_alarms.project", "alarm_alarms.id"], name="fk_alarm_pending_actions_alarm"
    ),
    # A repeat looks up the actions of its alarms still pending (not repeated while being tried).
    sa.Index("ix_alarm_pending_actions_alarm", "project", "alarm_id"),
)
