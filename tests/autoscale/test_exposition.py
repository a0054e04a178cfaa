"""The process's registry and the collectors that read a database at scrape time."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from autoscale.database import Database
from autoscale.exposition import DatabaseCollector, metrics_route, new_registry
from autoscale.http_listener import HttpRequest


class _Tables(DatabaseCollector):
    what = "table counts"

    def read(self, connection: sa.Connection) -> Sequence[Metric]:
        family = GaugeMetricFamily("test_rows", "Rows of a table that may not exist.")
        family.add_metric([], connection.execute(sa.text("SELECT count(*) FROM maybe_missing")).scalar_one())
        return [family]


def test_a_database_that_cannot_be_read_leaves_its_families_out_and_the_rest_is_served(sqlite_url, caplog):
    database = Database(sqlite_url)
    try:
        registry = new_registry()
        registry.register(_Tables(database))
        text = generate_latest(registry).decode()
        assert "test_rows" not in text and "process_cpu_seconds_total" in text
        assert "the table counts were left out of a scrape" in caplog.text
        with database.transaction() as connection:
            connection.execute(sa.text("CREATE TABLE maybe_missing (x INTEGER)"))
            connection.execute(sa.text("INSERT INTO maybe_missing VALUES (1), (2)"))
        assert "test_rows 2.0" in generate_latest(registry).decode()
    finally:
        database.dispose()


def test_registering_a_database_collector_reads_nothing_before_a_scrape(sqlite_url):
    database = Database(sqlite_url)
    try:
        reads = []

        class Counting(_Tables):
            def read(self, connection: sa.Connection) -> Sequence[Metric]:
                reads.append(1)
                return []

        new_registry().register(Counting(database))
        assert reads == []
    finally:
        database.dispose()


def test_the_route_answers_prometheus_text_format():
    response = metrics_route(new_registry()).handle(HttpRequest("GET", "/metrics", {}, b""))
    assert response.status == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    assert b"# TYPE process_cpu_seconds_total counter" in response.body
