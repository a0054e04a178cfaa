"""External metric stores an alarm's rule may read instead of the metrics service: one small interface, a plug-in each.

A store is asked, for a rule of its kind and the window of an evaluation
(services.alarm.evaluation.store_window: the instants start, start + period, ...,
end), the rule's value per period, as datapoints whose start is that of the period
each value stands for. It raises StoreError, with a reason people read, when it
cannot answer (down, slow, a query it refuses) or answers what cannot be judged
(several series, no number): the alarm then goes to INSUFFICIENT_DATA with that
reason (services.alarm.store_evaluator). Errors of the network and of the store's
protocol are translated into StoreError here, at the plug-in's boundary, and nowhere
else.

Each store's address and credentials are deployment settings (autoscale.config):
`open_stores` opens those the settings name. A plug-in for another store joins by
adding its rule to services.alarm.domain.StoreRule and its opener here.
"""

from __future__ import annotations

import re
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from autoscale.config import ConfigurationError, Settings
from services.alarm.domain import GNOCCHI, PROMETHEUS, StoreRule
from services.alarm.evaluation import Datapoint

MAX_REASON_LENGTH = 512
"""Characters of a store's reason kept (what a store answers may be long: a whole HTML page)."""
QUOTED_BODY = 200
"""Characters of an answer that is no JSON a reason quotes."""
_CONNECTION_PREFIX = re.compile(r"^(<[^>]*>|HTTPS?Connection\([^)]*\)): ")


class StoreError(Exception):
    """A store could not answer, or answered what cannot be judged; the message says why (it becomes the alarm's
    state_reason)."""

    def __init__(self, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(reason if len(reason) <= MAX_REASON_LENGTH else reason[: MAX_REASON_LENGTH - 1] + "…")
        self.timed_out = timed_out
        """Whether the store did not answer in time (many in a row: the store hangs, see StoreEvaluator)."""


class MetricStore(Protocol):
    """An external metric store as the evaluator sees it."""

    name: str
    """What people call it, for reasons and logs (e.g. "Prometheus")."""

    def datapoints(self, rule: StoreRule, start: float, end: float) -> list[Datapoint]:
        """The value of `rule` at each instant start, start + rule.period, ... up to `end`, each as the datapoint of the
        period ending at it (start = instant - period), oldest first; instants without a value are left out. StoreError
        when it cannot be had or judged. Safe to call from many threads at once, each call bounded by a timeout."""

    def close(self) -> None:
        """Release its connections."""


def open_stores(settings: Settings, *, connections: int) -> dict[str, MetricStore]:
    """The stores `settings` give an address of, by the name their rules are stored under (PrometheusRule.store), each
    with up to `connections` connections; ConfigurationError when one's credentials cannot be read."""
    stores: dict[str, MetricStore] = {}
    if settings.prometheus_url:
        # Imported here: a deployment without Prometheus never loads its client.
        from services.alarm.stores.prometheus import PrometheusStore

        stores[PROMETHEUS] = PrometheusStore(
            settings.prometheus_url,
            timeout=settings.prometheus_timeout,
            token=_read_token(settings.prometheus_token_file, "--prometheus-token-file"),
            ca_file=settings.prometheus_ca,
            connections=connections,
        )
    if settings.gnocchi_url or settings.gnocchi_cloud:
        from services.alarm.stores.gnocchi import open_gnocchi

        stores[GNOCCHI] = open_gnocchi(
            settings.gnocchi_url, settings.gnocchi_cloud, timeout=settings.gnocchi_timeout, ca_file=settings.gnocchi_ca,
            connections=connections,
        )
    return stores


def _read_token(path: str, flag: str) -> str:
    """The bearer token in the file at `path` (surrounding blanks stripped); "" when no file is named."""
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8") as token_file:
            token = token_file.read().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"{flag} {path} cannot be read: {error}") from None
    if not token:
        raise ConfigurationError(f"{flag} {path} is empty; it must hold the bearer token")
    return token


def network_reason(error: Exception) -> str:
    """What went wrong on the way, in a few words (urllib3's messages name the connection object)."""
    reason = getattr(error, "reason", None) or error
    # e.g. "HTTPConnection(host='127.0.0.1', port=1): Failed to establish a new connection: [Errno 111] Connection refused"
    return _CONNECTION_PREFIX.sub("", str(reason)) or type(error).__name__


def without_credentials(url: str) -> str:
    """`url` without its user information (what reasons and logs may show)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, parts.fragment))
