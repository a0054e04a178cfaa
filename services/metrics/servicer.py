"""MetricsService, and OTLP's metrics MetricsService, over gRPC: validates requests, turns them into calls of the caller's
project's repository, and answers.

Each call reads its project once (autoscale.identity.current_project) and works in that
project's repository only, so a project never sees another's series. PutSamples and
OTLP's Export store through the same SampleIngest (services.metrics.ingest).
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc

from autoscale.errors import InvalidArgument
from autoscale.handlers import add_servicer
from autoscale.identity import current_project
from autoscale.internal.v1 import batch_statistics_pb2, batch_statistics_pb2_grpc
from autoscale.pagination import bad_page_token, page_request, paginate
from autoscale.timeutil import Clock
from autoscale.v1 import metrics_pb2, metrics_pb2_grpc
from autoscale.validation import Violations
from services.metrics import messages, otlp, rules
from services.metrics.decoding import decode_put_samples
from services.metrics.domain import StatisticsQuery
from services.metrics.ingest import SampleIngest
from services.metrics.projects import ProjectRepositories
from services.metrics.repository import Bucket

OTLP_SERVICE_NAME = metrics_service_pb2.DESCRIPTOR.services_by_name["MetricsService"].full_name
"""opentelemetry.proto.collector.metrics.v1.MetricsService"""


class MetricsServicer(metrics_pb2_grpc.MetricsServiceServicer):
    """The MetricsService RPCs."""

    def __init__(self, repositories: ProjectRepositories, ingest: SampleIngest, clock: Clock) -> None:
        self._repositories = repositories
        self._ingest = ingest
        self._clock = clock

    def PutSamples(self, request: bytes, context: grpc.ServicerContext) -> metrics_pb2.PutSamplesResponse:
        """Takes the request's bytes (see `add_to_server` and services.metrics.decoding)."""
        project = current_project()
        violations = Violations()
        now = self._clock()
        batch = decode_put_samples(violations, request, now, self._ingest.known_series(project))
        violations.raise_if_any()
        return metrics_pb2.PutSamplesResponse(accepted_points=self._ingest.store(project, batch, now))

    def GetStatistics(self, request: metrics_pb2.GetStatisticsRequest, context: grpc.ServicerContext) -> metrics_pb2.GetStatisticsResponse:
        violations = Violations()
        query = rules.check_get_statistics(violations, request, self._clock())
        violations.raise_if_any()
        assert query is not None
        return _statistics_response(query, self._repositories.of(current_project()).statistics(query))

    def ListMetrics(self, request: metrics_pb2.ListMetricsRequest, context: grpc.ServicerContext) -> metrics_pb2.ListMetricsResponse:
        violations = Violations()
        metric = rules.check_metric_filter(violations, request.metric)
        violations.raise_if_any()
        page = page_request(request.page_size, request.page_token)
        found = self._repositories.of(current_project()).list_series(metric, _after_series(page.after), page.size + 1)
        descriptors, token = paginate(found, page.size, lambda d: [d.key.metric, d.key.dimensions_key])
        return metrics_pb2.ListMetricsResponse(metrics=[messages.descriptor_to_message(d) for d in descriptors], next_page_token=token)


class OtlpMetricsServicer(metrics_service_pb2_grpc.MetricsServiceServicer):
    """OTLP's metrics Export: the samples services.metrics.otlp maps the data points to, stored as PutSamples stores them;
    the points that break a rule are counted in the answer's partial_success, as OTLP says, and the rest stored."""

    def __init__(self, ingest: SampleIngest, clock: Clock) -> None:
        self._ingest = ingest
        self._clock = clock

    def Export(self, request: bytes, context: grpc.ServicerContext) -> metrics_service_pb2.ExportMetricsServiceResponse:
        """Takes the request's bytes (see `add_to_server`)."""
        try:
            message = metrics_service_pb2.ExportMetricsServiceRequest.FromString(request)
        except DecodeError as error:
            raise InvalidArgument.field("request", f"must be a serialized ExportMetricsServiceRequest: {error}") from None
        project = current_project()
        violations = Violations()
        now = self._clock()
        mapped = otlp.map_export_request(violations, message, now)
        violations.raise_if_any()
        if mapped.batch:
            self._ingest.store(project, mapped.batch, now)
        response = metrics_service_pb2.ExportMetricsServiceResponse()
        if mapped.rejected_points:
            response.partial_success.rejected_data_points = mapped.rejected_points
            response.partial_success.error_message = mapped.error_message()
        return response


class BatchStatisticsServicer(batch_statistics_pb2_grpc.BatchStatisticsServiceServicer):
    """The internal BatchStatisticsService: the alarm service's sweep asks 500 queries a call, in the project the call names."""

    def __init__(self, repositories: ProjectRepositories, clock: Clock) -> None:
        self._repositories = repositories
        self._clock = clock

    def BatchGetStatistics(
        self, request: batch_statistics_pb2.BatchGetStatisticsRequest, context: grpc.ServicerContext
    ) -> batch_statistics_pb2.BatchGetStatisticsResponse:
        violations = Violations()
        queries = rules.check_batch_get_statistics(violations, request, self._clock())
        violations.raise_if_any()
        answers = self._repositories.of(current_project()).batch_statistics(queries)
        return messages.batch_statistics_response([_datapoints(query, buckets) for query, buckets in zip(queries, answers, strict=True)])


def add_to_server(
    servicer: MetricsServicer, otlp_servicer: OtlpMetricsServicer, batch_servicer: BatchStatisticsServicer, server: grpc.Server
) -> None:
    """Register the three servicers; PutSamples and Export are handed the request's bytes (see services.metrics.decoding)."""
    add_servicer(metrics_pb2_grpc.add_MetricsServiceServicer_to_server, servicer, server, taking_bytes=["PutSamples"])
    add_servicer(batch_statistics_pb2_grpc.add_BatchStatisticsServiceServicer_to_server, batch_servicer, server)
    # NOTE: opentelemetry-proto's generated registration (grpcio-tools 1.63) adds a generic handler only, which
    # autoscale.handlers cannot take apart, and reads the request before any handler runs (INTERNAL on bad bytes):
    # Export is registered here as it would register it, handed the bytes.
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
        "Export": grpc.unary_unary_rpc_method_handler(
            otlp_servicer.Export, response_serializer=metrics_service_pb2.ExportMetricsServiceResponse.SerializeToString
        )
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(OTLP_SERVICE_NAME, handlers),))
    server.add_registered_method_handlers(OTLP_SERVICE_NAME, handlers)


def _after_series(after: Any) -> tuple[str, str] | None:
    """The (metric, dimensions key) a page of ListMetrics starts after (None on the first page)."""
    if after is None:
        return None
    if not (isinstance(after, list) and len(after) == 2 and all(isinstance(part, str) for part in after)):
        raise bad_page_token()
    return after[0], after[1]


def _statistics_response(query: StatisticsQuery | None, buckets: list[Bucket]) -> metrics_pb2.GetStatisticsResponse:
    assert query is not None
    return metrics_pb2.GetStatisticsResponse(
        datapoints=[messages.datapoint_to_message(*datapoint) for datapoint in _datapoints(query, buckets)]
    )


def _datapoints(query: StatisticsQuery, buckets: list[Bucket]) -> list[tuple[float, float, int]]:
    """The query's datapoints, (period start, value of its statistic, sample count), from the summary of each period."""
    return [(start, summary.value(query.statistic), summary.count) for start, summary in buckets]
