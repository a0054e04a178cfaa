"""Alembic environment of the quota table."""
from alembic import context

from autoscale.database import run_alembic_env
from autoscale.quotas.models import metadata

run_alembic_env(context, metadata)
