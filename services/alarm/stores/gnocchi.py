"""Gnocchi as a metric store: a GnocchiRule's aggregate read per period, as Aodh's three Gnocchi rule types read it.

- `resource_id`: GET /v1/resource/{type}/{id}/metric/{metric}/measures (one metric's measures, aggregated by its
  archive policy with the rule's method);
- `resource_query`: POST /v1/aggregates with the search and the operations
  `(aggregate <method> (metric <metric> <method>))`: the metric of every resource the search matches, aggregated
  across them;
- `metric_ids`: POST /v1/aggregates with `(aggregate <method> (metric (<id> <method>) ...))`.

The operations are sent in their JSON list form (any metric name fits in it). Across metrics each is read by the method
less its `rate:` (as Aodh does), and `needed_overlap=0`: a resource whose newest measure is not in yet (or that is gone)
does not hide the others'. Every request asks `granularity` = the rule's period from `gnocchi_window`'s start (the
evaluation's window and the period before it, aligned to the period) to its end. A measure's time is the start of its
period: it is the datapoint's start (`read_measures`, pure).

Nothing matching (no such resource, no resource matching the search, no such metric on it: 404 "... does not exist", or
no measures) is no datapoints, as a metric without samples; what Gnocchi refuses otherwise (a granularity or method the
archive policy lacks, a bad search, unknown metric ids, credentials) becomes a StoreError quoting its description, and
so do the network (refused, timed out), answers that are no JSON and answers over MAX_ANSWER_BYTES.

Credentials: basic auth as the URL's user information (Gnocchi's `basic` mode: the user name is the user), or a Keystone
token of a clouds.yaml cloud (--gnocchi-cloud) asked of `auth_headers` on every request; never in a reason or a log.
HTTPS is checked against the system's CAs or --gnocchi-ca.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, TimeoutError

from autoscale.config import ConfigurationError
from services.alarm.domain import GnocchiRule, StoreRule
from services.alarm.evaluation import Datapoint
from services.alarm.stores import QUOTED_BODY, StoreError, network_reason, without_credentials

MAX_ANSWER_BYTES = 4 * 2**20
"""Bytes of an answer read at most: the most periods a rule has (1442) take about 70 KB."""
_NOTHING_MATCHES = re.compile(r"^(Metric .+|Resource (?!type )\S+) does not exist$")
"""Gnocchi's 404 descriptions that mean nothing matches: "Metric ['cpu_util'] does not exist" (a search matching no
resource), "Metric cpu_util does not exist" (a resource without it), "Resource <id> does not exist". Others ("Resource
type x does not exist", "Aggregation method 'mean' at granularity '60.0' ... does not exist") are the rule's mistakes."""

AuthHeaders = Callable[[], dict[str, str]]
"""Headers that authenticate one request (a fresh Keystone token when the last one expires); StoreError when none can
be had."""


class GnocchiStore:
    """A Gnocchi's REST API (v1), over a pool of keep-alive connections; each call bounded by `timeout` seconds."""

    name = "Gnocchi"

    def __init__(
        self, url: str, *, timeout: float = 5.0, ca_file: str = "", connections: int = 16, auth_headers: AuthHeaders | None = None
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(f"--gnocchi-url {without_credentials(url)!r} is not an http(s) URL such as http://gnocchi:8041")
        self.url = without_credentials(url).rstrip("/")
        """Its address as reasons name it (without credentials)."""
        # Both http://gnocchi:8041 (the catalog's form) and http://gnocchi:8041/v1 name the API.
        path = parts.path.rstrip("/")
        path = path[: -len("/v1")] if path.endswith("/v1") else path
        self._api = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], path + "/v1", "", ""))
        self._timeout = timeout
        # NOTE: without Accept, Gnocchi answers errors with an HTML page.
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if parts.username is not None:
            self._headers.update(urllib3.make_headers(basic_auth=f"{parts.username}:{parts.password or ''}"))
        self._auth_headers = auth_headers
        # NOTE: block=True, as for Prometheus: more callers than connections wait for one rather than open extra ones.
        self._pool = urllib3.PoolManager(
            num_pools=1, maxsize=connections, block=True, retries=False, ca_certs=ca_file or None,
            timeout=urllib3.Timeout(total=timeout),
        )

    def datapoints(self, rule: StoreRule, start: float, end: float) -> list[Datapoint]:
        """The rule's aggregate per period over [start - period, end] (see services.alarm.stores.MetricStore)."""
        # The evaluator asks each store only for rules of its own kind.
        assert isinstance(rule, GnocchiRule)
        method, path, body = gnocchi_request(rule, *gnocchi_window(rule, start, end))
        headers = self._headers if self._auth_headers is None else {**self._headers, **self._auth_headers()}
        try:
            status, answer = self._send(method, self._api + path, body, headers)
        except NewConnectionError as error:
            # NOTE: urllib3 2 makes NewConnectionError (refused, no such host) a ConnectTimeoutError: told apart first.
            raise StoreError(f"Gnocchi at {self.url} cannot be reached: {network_reason(error)}") from None
        except TimeoutError:
            raise StoreError(f"Gnocchi at {self.url} did not answer within {self._timeout:g}s", timed_out=True) from None
        except HTTPError as error:
            raise StoreError(f"Gnocchi at {self.url} cannot be reached: {network_reason(error)}") from None
        return read_measures(status, answer, rule)

    def _send(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        """The status and the body of Gnocchi's answer; StoreError when the body passes MAX_ANSWER_BYTES (urllib3's errors
        pass through)."""
        response = self._pool.request(method, url, body=body, headers=headers, preload_content=False, redirect=False)
        try:
            answer = response.read(MAX_ANSWER_BYTES + 1)
            if len(answer) > MAX_ANSWER_BYTES:
                response.close()  # the rest is not read: the connection goes with it
                raise StoreError(f"Gnocchi answered more than {MAX_ANSWER_BYTES // 2**20} MiB")
            return response.status, answer
        finally:
            response.release_conn()

    def close(self) -> None:
        self._pool.clear()


def gnocchi_window(rule: GnocchiRule, start: float, end: float) -> tuple[float, float]:
    """[start, stop] of the measures asked for an evaluation whose instants run from `start` to `end` (services.alarm.
    evaluation.store_window): from the period before `start`, aligned to the period (Gnocchi's periods are multiples of
    the granularity since the epoch), to `end`: the last evaluation_periods + 1 periods, the newest under way."""
    period = rule.period
    return math.floor((start - period) / period) * period, end


def gnocchi_request(rule: GnocchiRule, start: float, stop: float) -> tuple[str, str, bytes | None]:
    """The method, the path below /v1 (with its query) and the JSON body of the request that reads `rule`'s measures of
    [start, stop] at its period's granularity."""
    window = {"start": _time(start), "stop": _time(stop), "granularity": f"{rule.period:g}"}
    method = rule.aggregation_method
    if rule.resource_id:
        path = "/".join(
            ("/resource", quote(rule.resource_type, safe=""), quote(rule.resource_id, safe=""), "metric",
             quote(rule.metric, safe=""), "measures")
        )
        return "GET", f"{path}?{urlencode({**window, 'aggregation': method})}", None
    each = method.removeprefix("rate:")
    document: dict[str, Any]
    if rule.metric_ids:
        document = {"operations": ["aggregate", method, ["metric", *([metric_id, each] for metric_id in rule.metric_ids)]]}
    else:
        document = {
            "operations": ["aggregate", method, ["metric", rule.metric, each]],
            "search": json.loads(rule.resource_query),
            "resource_type": rule.resource_type,
        }
    query = urlencode({"details": "false", "needed_overlap": "0", **window})
    return "POST", f"/aggregates?{query}", json.dumps(document).encode()


def read_measures(status: int, body: bytes, rule: GnocchiRule) -> list[Datapoint]:
    """The datapoints of Gnocchi's answer (HTTP `status`, JSON `body`) to `rule`'s request: one per measure of the rule's
    granularity with a number, starting at its time, oldest first. [] when nothing matches; StoreError when Gnocchi
    refused the request or answered what cannot be read."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        quoted = body[:QUOTED_BODY].decode("utf-8", "replace").strip()
        raise StoreError(f"Gnocchi answered HTTP {status} with no JSON: {quoted!r}") from None
    if status >= 300:
        description = document.get("description", document) if isinstance(document, dict) else document
        if status == 404 and isinstance(description, str) and _NOTHING_MATCHES.match(description):
            return []  # nothing matched: no datapoints, as a metric without samples
        if status in (401, 403):
            raise StoreError(f"Gnocchi refused the credentials (HTTP {status}): {_description(description)}")
        if status >= 500:
            raise StoreError(f"Gnocchi answered HTTP {status}: {_description(description)}")
        raise StoreError(f"Gnocchi refused the request (HTTP {status}): {_description(description)}")
    measures = document
    if not rule.resource_id:
        aggregated = document.get("measures") if isinstance(document, dict) else None
        measures = aggregated.get("aggregated") if isinstance(aggregated, dict) else None
    if not isinstance(measures, list):
        raise StoreError("Gnocchi answered no list of measures")
    datapoints = []
    try:
        for timestamp, granularity, value in measures:
            if float(granularity) != rule.period or value is None or not math.isfinite(float(value)):
                continue
            datapoints.append(Datapoint(datetime.fromisoformat(timestamp).timestamp(), float(value), 1))
    except (TypeError, ValueError):
        raise StoreError("Gnocchi answered measures that are not [time, granularity, number] triples") from None
    datapoints.sort(key=lambda datapoint: datapoint.start)
    return datapoints


def _description(description: Any) -> str:
    """Gnocchi's description of an error for people: a sentence, or {cause, reason, detail}."""
    if isinstance(description, dict) and "cause" in description:
        text = str(description["cause"])
        if description.get("reason"):
            text += f": {description['reason']}"
        if description.get("detail"):
            text += f" ({json.dumps(description['detail'])})"
        return text
    return description if isinstance(description, str) else json.dumps(description)


def _time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def open_gnocchi(url: str, cloud: str, *, timeout: float, ca_file: str, connections: int) -> GnocchiStore:
    """The Gnocchi of the settings: at `url` (basic auth from its user information), or with `cloud` (a clouds.yaml entry)
    its requests carry the cloud's Keystone tokens and, without `url`, go to the `metric` service of its catalog.
    ConfigurationError, naming the flag, when the cloud cannot be loaded or its catalog has no Gnocchi."""
    if not cloud:
        return GnocchiStore(url, timeout=timeout, ca_file=ca_file, connections=connections)
    # Imported here: a deployment without clouds.yaml never loads openstacksdk.
    import openstack.config
    from keystoneauth1.exceptions import ClientException
    from openstack.exceptions import OpenStackCloudException

    try:
        region = openstack.config.OpenStackConfig().get_one(cloud=cloud)
        session = region.get_session()
    except (OpenStackCloudException, ClientException, OSError, KeyError) as error:
        raise ConfigurationError(f"--gnocchi-cloud {cloud}: cannot be loaded from clouds.yaml: {error}") from None
    if not url:
        try:
            url = session.get_endpoint(
                service_type="metric", interface=region.get_interface(), region_name=region.get_region_name()
            ) or ""
        except ClientException as error:
            raise ConfigurationError(f"--gnocchi-cloud {cloud}: the metric service's endpoint cannot be read: {error}") from None
        if not url:
            raise ConfigurationError(f"--gnocchi-cloud {cloud}: its catalog has no metric service (Gnocchi); name it with --gnocchi-url")

    def auth_headers() -> dict[str, str]:
        try:
            headers = session.get_auth_headers()
        except ClientException as error:
            raise StoreError(f"no Keystone token for Gnocchi (cloud {cloud}): {error}") from None
        if not headers:
            raise StoreError(f"no Keystone token for Gnocchi (cloud {cloud}): its clouds.yaml entry authenticates nobody")
        return dict(headers)

    return GnocchiStore(url, timeout=timeout, ca_file=ca_file, connections=connections, auth_headers=auth_headers)
