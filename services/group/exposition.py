"""The group service's own metrics (autoscale.exposition), read from its database when Prometheus scrapes: each group's
capacities and bounds, its instances by state, and its activities by status.

Three grouped queries per scrape, over the primary key and the (project, group, status) index of activities: a scrape
costs the same whatever happened since the last.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from autoscale.exposition import DatabaseCollector
from services.group.models import activities, groups, instances

GROUP_LABELS = ["project", "group"]


class GroupCollector(DatabaseCollector):
    """The group families, read at each scrape."""

    what = "group metrics"

    def read(self, connection: sa.Connection) -> Sequence[Metric]:
        """Each group's capacities and bounds, its instances by state, its activities by status."""
        group_rows = connection.execute(
            sa.select(
                groups.c.project, groups.c.id, groups.c.desired_capacity, groups.c.min_size, groups.c.max_size, groups.c.launch_failures
            )
        ).all()
        instance_rows = connection.execute(
            sa.select(instances.c.project, instances.c.group_id, instances.c.state, sa.func.count())
            .group_by(instances.c.project, instances.c.group_id, instances.c.state)
        ).all()
        activity_rows = connection.execute(
            sa.select(activities.c.project, activities.c.group_id, activities.c.status, sa.func.count())
            .group_by(activities.c.project, activities.c.group_id, activities.c.status)
        ).all()
        desired = GaugeMetricFamily("autoscale_group_desired_capacity", "Instances the group wants.", labels=GROUP_LABELS)
        current = GaugeMetricFamily(
            "autoscale_group_current_capacity", "Instances of the group in service (running).", labels=GROUP_LABELS
        )
        minimum = GaugeMetricFamily("autoscale_group_min_size", "The group's least size.", labels=GROUP_LABELS)
        maximum = GaugeMetricFamily("autoscale_group_max_size", "The group's largest size.", labels=GROUP_LABELS)
        failing = GaugeMetricFamily(
            "autoscale_group_launch_failures", "The group's launches failed in a row (above 0: degraded, waiting to retry).",
            labels=GROUP_LABELS,
        )
        by_state = GaugeMetricFamily(
            "autoscale_group_instances",
            "The group's instances by state (pending, pending_wait, running, standby, terminating_wait, terminating, failed).",
            labels=[*GROUP_LABELS, "state"],
        )
        by_status = CounterMetricFamily(
            "autoscale_group_activities", "The group's scaling activities recorded, by status (in_progress, succeeded, failed, "
            "cancelled, unchanged).", labels=[*GROUP_LABELS, "status"],
        )
        running = {(row[0], row[1]): int(row[3]) for row in instance_rows if row[2] == "running"}
        for project, group_id, desired_capacity, min_size, max_size, launch_failures in group_rows:
            labels = [project, group_id]
            failing.add_metric(labels, launch_failures)
            desired.add_metric(labels, desired_capacity)
            current.add_metric(labels, running.get((project, group_id), 0))
            minimum.add_metric(labels, min_size)
            maximum.add_metric(labels, max_size)
        for project, group_id, state, count in instance_rows:
            by_state.add_metric([project, group_id, state], count)
        for project, group_id, status, count in activity_rows:
            by_status.add_metric([project, group_id, status], count)
        return [desired, current, minimum, maximum, failing, by_state, by_status]
