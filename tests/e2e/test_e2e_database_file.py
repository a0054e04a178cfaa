"""A SQLite file deleted under a running `autoscale up`: noticed and refused, rather than answered and lost on restart."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.e2e.harness import GrpcurlError, autoscale, free_port, grpcurl

pytestmark = pytest.mark.e2e

METRICS = "autoscale.v1.MetricsService"
SAMPLE_FEED = "autoscale.internal.v1.SampleFeedService"
SAMPLE = {"series": [{"metric": "cpu_util", "dimensions": {"group": "web"}, "points": [{"value": 42}]}]}


def test_a_database_file_deleted_under_autoscale_up_turns_health_not_serving_and_put_samples_unavailable(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    database_file = tmp_path / "up.db"
    with autoscale(["up", "--listen", address, "--database-url", f"sqlite:///{database_file}"], tmp_path / "up.log", address) as process:
        assert grpcurl(address, f"{METRICS}/PutSamples", SAMPLE)["accepted_points"] == "1"
        with grpc.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            services = ("", METRICS, SAMPLE_FEED)
            watches = [health.Watch(health_pb2.HealthCheckRequest(service=service), timeout=20) for service in services]
            assert [next(updates).status for updates in watches] == [health_pb2.HealthCheckResponse.SERVING] * 3

            database_file.unlink()

            assert [next(updates).status for updates in watches] == [health_pb2.HealthCheckResponse.NOT_SERVING] * 3
            for updates in watches:
                updates.cancel()
        with pytest.raises(GrpcurlError) as raised:
            grpcurl(address, f"{METRICS}/PutSamples", SAMPLE)
        assert raised.value.code == "UNAVAILABLE"
        assert f"the database file {database_file} was deleted or replaced" in raised.value.message
    assert "was deleted or replaced" in process.log()
    assert not database_file.exists()
