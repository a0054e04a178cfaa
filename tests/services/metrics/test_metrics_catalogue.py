"""The in-memory catalogue of series: which series a metric and dimensions name."""

from __future__ import annotations

from services.metrics.catalogue import SeriesCatalogue
from services.metrics.domain import SeriesKey


def _catalogue() -> SeriesCatalogue:
    catalogue = SeriesCatalogue()
    catalogue.add([
        (1, SeriesKey.of("cpu", {"group": "web", "instance": "i-1"})),
        (2, SeriesKey.of("cpu", {"group": "web", "instance": "i-2"})),
        (3, SeriesKey.of("cpu", {"group": "api"})),
        (4, SeriesKey.of("memory", {"group": "web"})),
    ])
    return catalogue


def test_a_query_names_the_series_of_its_metric_whose_dimensions_include_its_own():
    catalogue = _catalogue()
    assert sorted(catalogue.matching("cpu", ())) == [1, 2, 3]
    assert sorted(catalogue.matching("cpu", [("group", "web")])) == [1, 2]
    assert catalogue.matching("cpu", [("group", "web"), ("instance", "i-2")]) == [2]
    assert catalogue.matching("cpu", [("group", "api"), ("instance", "i-2")]) == []
    assert catalogue.matching("disk", ()) == []


def test_removed_series_are_named_no_more():
    catalogue = _catalogue()
    catalogue.remove([1, 3, 99])
    assert catalogue.matching("cpu", ()) == [2]
    assert catalogue.matching("cpu", [("group", "api")]) == []
