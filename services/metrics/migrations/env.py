"""Alembic environment of the metrics service's tables."""
from alembic import context

from autoscale.database import run_alembic_env
from services.metrics.models import metadata

run_alembic_env(context, metadata)
