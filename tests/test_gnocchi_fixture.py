"""The `gnocchi` fixture serves a working Gnocchi: measures posted to a server group's instances are aggregated by
metricd and read back across the group, by the two endpoints Aodh's Gnocchi rules use, and metric by metric."""

from __future__ import annotations

import urllib.parse
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.gnocchi_server import INSTALL_TIMEOUT, START_TIMEOUT, GnocchiRequestFailed, GnocchiServer

# The first test to take the `gnocchi` fixture installs Gnocchi (once per machine) and starts it.
pytestmark = [pytest.mark.postgres, pytest.mark.timeout(INSTALL_TIMEOUT + 2 * START_TIMEOUT)]

MEAN_CPU_UTIL = "(aggregate mean (metric cpu_util mean))"


def _query(**parameters: str) -> str:
    return urllib.parse.urlencode(parameters)


def test_measures_of_a_server_groups_instances_are_aggregated_across_them(gnocchi: GnocchiServer) -> None:
    group = str(uuid.uuid4())
    first = gnocchi.create_resource({"server_group": group}, metrics=["cpu_util"])
    second = gnocchi.create_resource({"server_group": group}, metrics=["cpu_util"])
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=10)
    seconds = [start + timedelta(seconds=offset) for offset in range(3)]
    gnocchi.post_measures(first["metrics"]["cpu_util"], list(zip(seconds, [10.0, 20.0, 30.0], strict=True)))
    gnocchi.post_measures(second["metrics"]["cpu_util"], list(zip(seconds, [50.0, 60.0, 70.0], strict=True)))
    gnocchi.await_processed()
    window = _query(start=start.isoformat(), stop=(start + timedelta(seconds=3)).isoformat(), granularity="1")

    aggregates = gnocchi.request(
        "POST",
        f"/aggregates?details=false&{window}",
        {"operations": MEAN_CPU_UTIL, "search": {"=": {"server_group": group}}, "resource_type": "instance"},
    )
    by_resources = gnocchi.request(
        "POST", f"/aggregation/resource/instance/metric/cpu_util?aggregation=mean&{window}", {"=": {"server_group": group}}
    )
    single = gnocchi.measures(first["metrics"]["cpu_util"], start=start.isoformat(), granularity="1")

    means = [[second.isoformat(), 1.0, mean] for second, mean in zip(seconds, [30.0, 40.0, 50.0], strict=True)]
    assert aggregates == {"measures": {"aggregated": means}}
    assert by_resources == means
    assert single == [[second.isoformat(), 1.0, value] for second, value in zip(seconds, [10.0, 20.0, 30.0], strict=True)]


def test_a_server_group_without_instances_is_not_found_by_aggregates_and_empty_by_aggregation(gnocchi: GnocchiServer) -> None:
    nobody = {"=": {"server_group": str(uuid.uuid4())}}

    with pytest.raises(GnocchiRequestFailed) as failed:
        gnocchi.request("POST", "/aggregates?details=false", {"operations": MEAN_CPU_UTIL, "search": nobody, "resource_type": "instance"})

    assert (failed.value.status, failed.value.body) == (
        404,
        {"code": 404, "title": "Not Found", "description": "Metric ['cpu_util'] does not exist"},
    )
    assert gnocchi.request("POST", "/aggregation/resource/instance/metric/cpu_util?aggregation=mean", nobody) == []
