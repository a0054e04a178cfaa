"""Alembic environment of the alarm service's tables."""
from alembic import context

from autoscale.database import run_alembic_env
from services.alarm.models import metadata

run_alembic_env(context, metadata)
