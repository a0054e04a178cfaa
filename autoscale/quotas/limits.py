"""A project's limits and the checks against them (pure: counts and time are inputs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from autoscale.errors import ResourceExhausted

RESOURCES = ("groups", "instances", "policies", "alarms", "series", "samples_per_second")
"""What a quota limits, by the name of its field in autoscale.v1.Quota."""

DEFAULTS: Mapping[str, int] = {
    "groups": 200,
    "instances": 1000,
    "policies": 1000,
    "alarms": 5000,
    # The deployment's --metrics-max-series replaces this one (see default_limits).
    "series": 500_000,
    "samples_per_second": 1_000_000,
}
"""The limits of a project no operator set a quota for."""

MAX_LIMIT = 2**40
"""The largest limit that can be set (beyond it a limit means nothing, and counts would overflow some databases)."""


def default_limits(max_series: int) -> dict[str, int]:
    """The deployment's defaults, with its series limit."""
    return {**DEFAULTS, "series": max_series}


@dataclass(frozen=True)
class Limits:
    """The limits of one project: the ones set for it, the deployment's defaults for the rest."""

    project: str
    set_limits: Mapping[str, int]
    defaults: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULTS))

    def of(self, resource: str) -> int:
        """The limit of `resource`."""
        return self.set_limits.get(resource, self.defaults[resource])

    def defaulted(self) -> list[str]:
        """The resources whose limit is the default."""
        return [resource for resource in RESOURCES if resource not in self.set_limits]

    def require_room(self, resource: str, held: int, adding: int = 1) -> None:
        """ResourceExhausted naming the quota when holding `held` and adding `adding` goes beyond the limit."""
        limit = self.of(resource)
        if adding > 0 and held + adding > limit:
            raise ResourceExhausted(
                f"quota {resource} of project {self.project} is {limit}: it holds {held} and this would add {adding}; "
                f"free some, or ask an operator to raise it (autoscale quota set {self.project} --{resource.replace('_', '-')} N)"
            )


class SampleRate:
    """Points a second per project, over one-second windows: the samples_per_second quota."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, int]] = {}

    def admit(self, limits: Limits, points: int, now: float) -> None:
        """Count `points` of `limits.project` at `now`; ResourceExhausted when its window is full (the points are refused,
        and not counted)."""
        second = int(now)
        window, used = self._windows.get(limits.project, (second, 0))
        if window != second:
            used = 0
        limit = limits.of("samples_per_second")
        if used + points > limit:
            raise ResourceExhausted(
                f"quota samples_per_second of project {limits.project} is {limit}: this second took {used} points "
                f"and this call has {points}; send later or in smaller batches, or ask an operator to raise it"
            )
        self._windows[limits.project] = (second, used + points)


class QuotaSource(Protocol):
    """Where a service reads a project's limits (autoscale.quotas.store.QuotaStore)."""

    def limits(self, project: str) -> Limits:
        """The limits of `project`."""
        ...
