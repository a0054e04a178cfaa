"""Prometheus as a metric store: a PrometheusRule's query evaluated over /api/v1/query_range.

One POST per query: `query`, `start` and `end` (the evaluation's window), `step`
the rule's period; the answer must be a matrix of at most one series. Its values
become datapoints (`read_query_range`, pure), each standing for the period that
ends at its instant. What Prometheus answers otherwise becomes a StoreError whose
reason quotes it: its JSON `error` (a PromQL parse or execution error), an HTTP
status, no JSON; and so does the network (refused, timed out).

Credentials: a bearer token (--prometheus-token-file), or basic auth as the URL's
user information (`https://user:password@prometheus:9090`); never in a reason or a
log. HTTPS is checked against the system's CAs or --prometheus-ca.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, TimeoutError

from autoscale.config import ConfigurationError
from services.alarm.domain import PrometheusRule, StoreRule
from services.alarm.evaluation import Datapoint
from services.alarm.stores import QUOTED_BODY, StoreError, network_reason, without_credentials

QUERY_RANGE_PATH = "/api/v1/query_range"
SERIES_NAMED = 3
"""Series a reason names when a query returns several."""
MAX_ANSWER_BYTES = 4 * 2**20
"""Bytes of an answer read at most: one series of the most periods a rule has (1441) takes about 60 KB; a query that
selects thousands of series must not make every evaluation hold hundreds of megabytes."""


class PrometheusStore:
    """A Prometheus server's HTTP API, over a pool of keep-alive connections; each call bounded by `timeout` seconds."""

    name = "Prometheus"

    def __init__(self, url: str, *, timeout: float = 5.0, token: str = "", ca_file: str = "", connections: int = 16) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(f"--prometheus-url {without_credentials(url)!r} is not an http(s) URL such as http://prometheus:9090")
        self.url = without_credentials(url).rstrip("/")
        """Its address as reasons name it (without credentials)."""
        self._query_range = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path.rstrip("/") + QUERY_RANGE_PATH, "", ""))
        self._timeout = timeout
        self._headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        elif parts.username is not None:
            self._headers.update(urllib3.make_headers(basic_auth=f"{parts.username}:{parts.password or ''}"))
        # NOTE: block=True: more callers than connections wait for one (bounded by the timeout) rather than opening
        # and dropping extra connections, which Prometheus would see as a storm of short ones.
        self._pool = urllib3.PoolManager(
            num_pools=1, maxsize=connections, block=True, retries=False, ca_certs=ca_file or None,
            timeout=urllib3.Timeout(total=timeout),
        )

    def datapoints(self, rule: StoreRule, start: float, end: float) -> list[Datapoint]:
        """The query's value per period over [start, end] (see services.alarm.stores.MetricStore)."""
        # The evaluator asks each store only for rules of its own kind.
        assert isinstance(rule, PrometheusRule)
        body = urlencode({"query": rule.query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": repr(rule.period)})
        try:
            status, answer = self._post(body)
        except NewConnectionError as error:
            # NOTE: urllib3 2 makes NewConnectionError (refused, no such host) a ConnectTimeoutError: told apart first.
            raise StoreError(f"Prometheus at {self.url} cannot be reached: {network_reason(error)}") from None
        except TimeoutError:
            raise StoreError(f"Prometheus at {self.url} did not answer within {self._timeout:g}s", timed_out=True) from None
        except HTTPError as error:
            raise StoreError(f"Prometheus at {self.url} cannot be reached: {network_reason(error)}") from None
        return read_query_range(status, answer, rule.period)

    def _post(self, body: str) -> tuple[int, bytes]:
        """The status and the body of Prometheus's answer to a query_range of `body`; StoreError when the body passes
        MAX_ANSWER_BYTES (urllib3's errors pass through)."""
        response = self._pool.request(
            "POST", self._query_range, body=body, headers=self._headers, preload_content=False, redirect=False
        )
        try:
            answer = response.read(MAX_ANSWER_BYTES + 1)
            if len(answer) > MAX_ANSWER_BYTES:
                response.close()  # the rest is not read: the connection goes with it
                raise StoreError(
                    f"Prometheus answered more than {MAX_ANSWER_BYTES // 2**20} MiB: the query must aggregate to one series"
                )
            return response.status, answer
        finally:
            response.release_conn()

    def close(self) -> None:
        self._pool.clear()


def read_query_range(status: int, body: bytes, step: float) -> list[Datapoint]:
    """The datapoints of a query_range answer (HTTP `status`, JSON `body`) whose instants are `step` apart: one per instant
    with a number, starting a step before it, oldest first. StoreError when it is an error, no JSON, or not one series."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        quoted = body[:QUOTED_BODY].decode("utf-8", "replace").strip()
        raise StoreError(f"Prometheus answered HTTP {status} with no JSON: {quoted!r}") from None
    if not isinstance(document, dict):
        raise StoreError(f"Prometheus answered HTTP {status} with JSON that is no object")
    if document.get("status") != "success" or status >= 300:
        error_type, error = document.get("errorType", ""), document.get("error", "")
        if error:
            raise StoreError(f"Prometheus refused the query: {error_type + ': ' if error_type else ''}{error}")
        raise StoreError(f"Prometheus answered HTTP {status}, status {document.get('status')!r}")
    data = document.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("result"), list):
        raise StoreError("Prometheus answered no data.result list")
    if data.get("resultType") != "matrix":
        raise StoreError(f"Prometheus answered a {data.get('resultType')!r}, not a matrix: the query must be an instant vector")
    series = data["result"]
    if not series:
        return []  # nothing matched: no datapoints, as a metric without samples
    if len(series) > 1:
        named = ", ".join(_labels(one) for one in series[:SERIES_NAMED]) + (", ..." if len(series) > SERIES_NAMED else "")
        raise StoreError(
            f"the query returned {len(series)} series ({named}); it must aggregate to one series, e.g. wrap it in sum() or avg()"
        )
    values = series[0].get("values") if isinstance(series[0], dict) else None
    if not isinstance(values, list):
        raise StoreError("Prometheus answered a series without values")
    datapoints = []
    not_a_number = 0
    try:
        for instant, text in values:
            value = float(text)
            if math.isnan(value):
                not_a_number += 1
                continue
            datapoints.append(Datapoint(float(instant) - step, value, 1))
    except (TypeError, ValueError):
        raise StoreError("Prometheus answered values that are not [time, \"number\"] pairs") from None
    if not datapoints and not_a_number:
        # NaN is no value to compare: a division by zero, a ratio of nothing.
        raise StoreError(f"the query's value is NaN at each of its {not_a_number} instants (e.g. a division by zero)")
    return datapoints


def _labels(series: Any) -> str:
    metric = series.get("metric") if isinstance(series, dict) else None
    if not isinstance(metric, dict) or not metric:
        return "{}"
    return "{" + ", ".join(f'{name}="{value}"' for name, value in sorted(metric.items())) + "}"
