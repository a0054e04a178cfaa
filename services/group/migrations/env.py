"""Alembic environment of the group service's tables."""
from alembic import context

from autoscale.database import run_alembic_env
from services.group.models import metadata

run_alembic_env(context, metadata)
