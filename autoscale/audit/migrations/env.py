"""Alembic environment of the audit table."""
from alembic import context

from autoscale.audit.models import metadata
from autoscale.database import run_alembic_env

run_alembic_env(context, metadata)
