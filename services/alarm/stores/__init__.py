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
`open_stores` opens those the settings name. A plug-in for another store (Gnocchi)
joins by adding its rule to services.alarm.domain.StoreRule and its opener here.
"""

from __future__ import annotations

from typing import Protocol

from autoscale.config import ConfigurationError, Settings
from services.alarm.domain import PROMETHEUS, StoreRule
from services.alarm.evaluation import Datapoint

MAX_REASON_LENGTH = 512
"""Characters of a store's reason kept (what a store answers may be long: a whole HTML page)."""


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
