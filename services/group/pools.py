"""A group's load balancer pools, as it names them (services.group.load_balancers keeps their members)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

DEFAULT_DRAIN_DELAY = 30.0
MAX_DRAIN_DELAY = 3600.0
MAX_POOLS_PER_GROUP = 5


class PoolKind(enum.Enum):
    """Where a pool lives."""

    OCTAVIA = "octavia_pool"
    FILE = "pool_file"


@dataclass(frozen=True)
class LoadBalancerPool:
    """A pool of a group: its kind and name (an Octavia pool's name or id, or a pool file's name)."""

    kind: PoolKind
    name: str
    port: int = 0
    """The members' port; 0 means each instance's own (a local process's AUTOSCALE_PORT)."""
    drain_delay: float = DEFAULT_DRAIN_DELAY
