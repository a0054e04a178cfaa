"""The runner of scheduled actions: finds the actions due by their stored next run time and runs each once.

A pass reads the actions of every project whose next run time is not after now, and runs
each on its locked group (services.group.schedule.run) in the transaction that also moves
its next run time on (GroupRepository.run_scheduled_action). A run happens only if the
action's next run time is still the one the pass found: of two group service processes on
one database, or a pass and a change of the action, one runs it and the other finds it
moved on. As the next run time is stored, a restarted service finds the runs it missed on
its first pass, and runs the most recent of each action (services.group.schedule).

The runs due in one pass are made in the order of the times they are for, so that of two
actions of a group missed during a restart (09:00 scale out, 18:00 scale in), the later one
is what holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from autoscale.quotas.limits import QuotaSource
from autoscale.timeutil import Clock
from services.group import decisions, schedule
from services.group.domain import ActivityStatus, Group, new_activity_id, new_decision_id, scheduled_action_name
from services.group.repository import DueAction, GroupRepositories
from services.group.schedule import ScheduledAction, ScheduledRun

log = logging.getLogger(__name__)

POLL_INTERVAL = 1.0
"""Seconds between passes: how late after its time an action runs at most (a new or changed action wakes the runner)."""
BATCH = 200
"""Due actions a pass reads at once (it reads again while a batch comes back full)."""


class ScheduledActionRunner:
    """Runs every project's due scheduled actions, once each."""

    def __init__(
        self, repositories: GroupRepositories, clock: Clock, quotas: QuotaSource | None, wake_reconciler: Callable[[], None],
        *, batch: int = BATCH,
    ) -> None:
        """`quotas`: the projects' limits a run that raises a desired capacity must stay within (None: no quota)."""
        self._repositories = repositories
        self._clock = clock
        self._quotas = quotas
        self._wake_reconciler = wake_reconciler
        self._batch = batch

    def run_pass(self) -> None:
        """One pass of the worker (run_due, its runs logged)."""
        self.run_due()

    def run_due(self) -> list[ScheduledRun]:
        """One pass: run every action due now; the runs this process made."""
        now = self._clock()
        made: list[ScheduledRun] = []
        last: DueAction | None = None
        while True:
            due = self._repositories.due_scheduled_actions(now, self._batch, after=last)
            for found in sorted(due, key=lambda d: (self._due_time(d, now), d.project, d.action.group_id, d.action.id)):
                try:
                    outcome = self._run(found, now)
                except Exception:
                    # One action's failure (its group's row locked too long, the database gone a moment) holds no other.
                    name = scheduled_action_name(found.action.group_id, found.action.id)
                    log.exception("running %s of project %s failed", name, found.project)
                    continue
                if outcome is not None:
                    made.append(outcome)
            # A full batch may hide more due actions: the next page starts after this one's last (in the stored order).
            if len(due) < self._batch:
                break
            last = due[-1]
        if any(run.activity is not None and run.activity.status is ActivityStatus.IN_PROGRESS for run in made):
            self._wake_reconciler()
        return made

    @staticmethod
    def _due_time(found: DueAction, now: float) -> float:
        """The time the action's run is for (the order runs of one pass are made in), its stored next run time if that
        cannot be worked out (the run then says why)."""
        try:
            return schedule.latest_due(found.action, now) or now
        except Exception:
            return found.action.next_run_time or now

    def _run(self, found: DueAction, now: float) -> ScheduledRun | None:
        """Run one due action on its group, unless another process ran it first (None); its scaling decision is recorded."""
        activity_id, decision_id = new_activity_id(), new_decision_id()

        def decide(group: Group, action: ScheduledAction) -> ScheduledRun:
            return schedule.run(action, group, activity_id, now)

        limits = self._quotas.limits(found.project) if self._quotas is not None else None
        outcome = self._repositories.of(found.project).run_scheduled_action(
            found, decide, limits, explain=lambda group, run: decisions.scheduled_decision(decision_id, group, run, now)
        )
        if outcome is not None:
            action = outcome.action
            log.info(
                "%s of project %s: %s (%s)", scheduled_action_name(action.group_id, action.id), found.project,
                action.last_run_status.value if action.last_run_status else "-", action.last_run_reason,
            )
        return outcome
