"""An alarm's webhook secret: the key that signs its webhook POSTs.

Every alarm there is gets a secret of its own. Its owner never saw it: to verify
signatures, they make a new one with UpdateAlarm (update_mask `webhook_secret`),
whose answer shows it.

Revision ID: alarm_0005
Revises: alarm_0004
Create Date: 2027-01-10
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarm_0005"
down_revision: str | Sequence[str] | None = "alarm_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SECRET_BYTES = 32
"""As autoscale.signing makes them (a migration keeps its own copy: it must not change with the code)."""


def upgrade() -> None:
    """Add alarm_alarms.webhook_secret and give each alarm a fresh one."""
    op.add_column("alarm_alarms", sa.Column("webhook_secret", sa.String(64), nullable=False, server_default=""))
    alarms = sa.table("alarm_alarms", sa.column("project", sa.String), sa.column("id", sa.String), sa.column("webhook_secret", sa.String))
    connection = op.get_bind()
    for project, alarm_id in connection.execute(sa.select(alarms.c.project, alarms.c.id)).all():
        connection.execute(
            alarms.update()
            .where(alarms.c.project == project, alarms.c.id == alarm_id)
            .values(webhook_secret=secrets.token_hex(SECRET_BYTES))
        )


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("alarm_alarms") as batch:
        batch.drop_column("webhook_secret")
