"""Helpers of the reconcile-loop tests: passes over a group on a clock the test moves."""

from __future__ import annotations

from services.group.reconciler import Reconciler

PROJECT = "default"


def passes(reconciler: Reconciler, clock: list[float], *steps: float, group_id: str = "web") -> None:
    """A pass over the group of PROJECT after each step of the clock."""
    for step in steps:
        clock[0] += step
        reconciler.reconcile_group(PROJECT, group_id)
