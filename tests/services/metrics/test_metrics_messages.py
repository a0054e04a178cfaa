"""The metrics service's internal messages: columns of one row per series or per datapoint."""

from __future__ import annotations

from services.metrics import messages
from services.metrics.domain import SeriesKey


def test_a_notify_samples_request_has_one_row_per_series_with_its_id_names_and_extremes_in_the_catalogue_named():
    web, memory = SeriesKey("cpu", (("group", "web"), ("instance", "i-1"))), SeriesKey("memory", ())
    api = SeriesKey("cpu", (("group", "api"),))
    request = messages.notify_samples_request(
        "c-1",
        {7: (1.0, 7.0, web), 3: (3.0, 3.0, memory), 9: (-2.5, 0.0, api)},
        [(key.metric, key.dimensions_key) for key in (web, memory, api)],
    )
    assert request.catalogue == "c-1"
    assert list(request.series_ids) == [7, 3, 9]
    assert list(request.metrics) == ["cpu", "memory", "cpu"]
    assert list(request.dimensions) == ['{"group":"web","instance":"i-1"}', "{}", '{"group":"api"}']
    assert list(request.minimums) == [1.0, 3.0, -2.5]
    assert list(request.maximums) == [7.0, 3.0, 0.0]


def test_a_batch_statistics_response_has_each_querys_count_then_its_datapoints_in_order():
    response = messages.batch_statistics_response([[(60.0, 1.5, 2), (120.0, 3.0, 1)], [], [(0.0, -1.0, 7)]])
    assert list(response.datapoint_counts) == [2, 0, 1]
    assert list(response.start_times) == [60.0, 120.0, 0.0]
    assert list(response.values) == [1.5, 3.0, -1.0]
    assert list(response.sample_counts) == [2, 1, 7]


def test_an_empty_batch_statistics_response_answers_no_query():
    response = messages.batch_statistics_response([])
    assert not response.datapoint_counts and not response.start_times
