"""Alembic environment of the identity tables."""
from alembic import context

from autoscale.database import run_alembic_env
from autoscale.identity.models import metadata

run_alembic_env(context, metadata)
