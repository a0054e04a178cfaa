"""The alarm service's own metrics (autoscale.exposition): each alarm's state, read from the database when Prometheus
scrapes, and, as they happen, action outcomes and how long evaluations take and wait."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from autoscale.exposition import LATENCY_BUCKETS, DatabaseCollector
from services.alarm.models import alarms


class AlarmMetrics:
    """Counted and timed as actions run and alarms are evaluated."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.actions = Counter(
            "autoscale_alarm_actions", "Attempts of alarm actions, by kind (policy, webhook) and outcome: succeeded, "
            "retrying (failed, tried again later), failed (given up, or not worth retrying).",
            ["project", "kind", "outcome"], registry=registry,
        )
        self.action_seconds = Histogram(
            "autoscale_alarm_action_seconds", "Time an action's attempt takes (a policy's execution with its Adjust, or a "
            "webhook's POST).", ["kind"], buckets=LATENCY_BUCKETS, registry=registry,
        )
        self.reaction_seconds = Histogram(
            "autoscale_alarm_reaction_seconds", "From the metrics service telling of new samples until the alarms they may "
            "move are evaluated and their actions handed on (a batch's longest-waiting alarm).",
            buckets=LATENCY_BUCKETS, registry=registry,
        )
        self.evaluation_seconds = Histogram(
            "autoscale_alarm_evaluation_seconds", "Time a batch of alarms takes to evaluate, by trigger: samples (alarms their "
            "new samples may move), due (repeated actions), sweep (every alarm over the metrics service, periodically), "
            "store_sweep (every alarm over an external store such as Prometheus, periodically).",
            ["trigger"], buckets=LATENCY_BUCKETS, registry=registry,
        )

    def batch_evaluated(self, urgent: bool, since_queued: float, evaluating: float) -> None:
        """A batch of the scheduler (services.alarm.scheduler.BatchObserver)."""
        if urgent:
            self.reaction_seconds.observe(since_queued)
        self.evaluation_seconds.labels("samples" if urgent else "due").observe(evaluating)


class AlarmStateCollector(DatabaseCollector):
    """Each alarm's state, read at each scrape (one query of the alarms' table)."""

    what = "alarm states"

    def read(self, connection: sa.Connection) -> Sequence[Metric]:
        """`autoscale_alarm_state` (1 for each alarm's current state) and `autoscale_alarms` (counts by project and state)."""
        rows = connection.execute(sa.select(alarms.c.project, alarms.c.id, alarms.c.state)).all()
        each = GaugeMetricFamily(
            "autoscale_alarm_state", "1 for each alarm's current state (ok, alarm, insufficient_data).",
            labels=["project", "alarm", "state"],
        )
        counts: dict[tuple[str, str], int] = {}
        for project, alarm_id, stored_state in rows:
            state = stored_state.replace(" ", "_")  # "insufficient data": a label value without a space
            each.add_metric([project, alarm_id, state], 1)
            counts[(project, state)] = counts.get((project, state), 0) + 1
        total = GaugeMetricFamily("autoscale_alarms", "Alarms by project and state.", labels=["project", "state"])
        for (project, state), count in sorted(counts.items()):
            total.add_metric([project, state], count)
        return [each, total]
