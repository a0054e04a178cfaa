"""Alembic environment of the policy service's tables."""
from alembic import context

from autoscale.database import run_alembic_env
from services.policy.models import metadata

run_alembic_env(context, metadata)
