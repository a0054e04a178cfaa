"""Tells the alarm service which series each stored batch touched, from a background thread.

PutSamples must neither wait for nor fail because of the alarm service, so `notify`
only folds the stored batch into what is pending for its project (the lowest and the
highest value each series received) and returns. A worker thread sends everything
pending, one SampleFeedService.NotifySamples call per project made inside
`acting_for(project)` (so the call carries the project, and the alarm service looks
for that project's alarms), each in the trace context of the oldest PutSamples it
covers, so one trace runs from the sample to the scaling activity. While calls are
out, new batches fold into the next ones: memory is bounded by the number of series,
not of batches, however slow the alarm service is.

Every series is sent: which alarms watch what, and whether values may move them,
is the alarm service's to decide (it holds the alarms). So an alarm hears of the
samples that arrive right after it is created, and nothing here can go stale.
Each series goes by its id as well as by its metric and dimensions: the alarm
service remembers what watches a series by its id (ids are never reused, and name one
series across every project), which costs it far less per series than reading its names.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import cast

from opentelemetry.context import Context

from autoscale import telemetry
from autoscale.identity import acting_for
from autoscale.internal.v1 import sample_feed_pb2
from services.metrics import messages
from services.metrics.domain import SeriesKey, SeriesPoints

log = logging.getLogger(__name__)

WARNING_INTERVAL = 60.0
"""Seconds between two warnings that the alarm service could not be notified (one per outage, not one per call)."""

Pending = dict[int, tuple[float, float, SeriesKey]]
"""By series id: the lowest and the highest value the series received, and its key."""

ProjectPending = tuple[Pending, Context | None]
"""What is pending for one project, and the trace context of the oldest PutSamples it covers."""


class AlarmNotifier:
    """A Worker that calls SampleFeedService.NotifySamples with the series `notify` is handed.

    `notify_samples` returns the call (over a long-lived channel with deadlines and
    retries); `alarm_address` empty means no alarm service is configured, and the
    notifier does nothing.
    """

    def __init__(
        self,
        notify_samples: Callable[[], Callable[[sample_feed_pb2.NotifySamplesRequest], object]],
        alarm_address: str,
        *,
        remembered_keys: int = 500_000,
    ) -> None:
        self._notify_samples = notify_samples
        self._remembered_keys = remembered_keys
        """Series whose canonical dimensions key is remembered at most (then the memory starts afresh)."""
        self._enabled = bool(alarm_address)
        self._condition = threading.Condition()
        self._pending: dict[str, ProjectPending] = {}
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._last_warning = float("-inf")
        self._suppressed_failures = 0
        self._names: dict[int, tuple[str, str]] = {}
        """Each series' metric and canonical dimensions key by id, once worked out (a JSON dump per series of every call cost
        more than the call)."""
        self.catalogue = uuid.uuid4().hex
        """Names this process's series ids to the alarm service (see NotifySamplesRequest.catalogue)."""

    def start(self) -> None:
        """Start the thread (or, with no alarm service configured, say once that alarms will not hear of samples)."""
        if not self._enabled:
            log.info("no alarm service configured: alarms will not be told of new samples")
            return
        self._thread = threading.Thread(target=self._run, name="metrics-notifier", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Send what is pending (one last call), then stop the thread."""
        with self._condition:
            self._stopping = True
            self._condition.notify()
        if self._thread is not None:
            self._thread.join()

    def notify(self, project: str, batch: Sequence[SeriesPoints], series_ids: Sequence[int], trace_context: Context | None = None) -> None:
        """Fold a batch stored in `project` (with the id of each of its series) into the project's next call; returns at once
        (the call is the thread's)."""
        if not self._enabled or not batch:
            return
        with self._condition:
            known_project = self._pending.get(project)
            if known_project is None:
                known_project = self._pending[project] = ({}, trace_context)
            pending = known_project[0]
            for series_id, (key, _, values) in zip(series_ids, batch, strict=True):
                low, high = min(values), max(values)
                known = pending.get(series_id)
                if known is not None:
                    low, high = min(low, known[0]), max(high, known[1])
                pending[series_id] = (low, high, key)
            self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: bool(self._pending) or self._stopping)
                by_project, stopping = self._pending, self._stopping
                self._pending = {}
            for project, (pending, trace_context) in by_project.items():
                with acting_for(project):
                    self._send(pending, trace_context)
            if stopping:
                return

    def _send(self, pending: Pending, trace_context: Context | None) -> None:
        """One NotifySamples call, in the project acted for; a failure is logged (at most one warning per WARNING_INTERVAL)
        and the series dropped: PutSamples already succeeded, and the alarms' periodic sweep still evaluates them."""
        request = messages.notify_samples_request(self.catalogue, pending, self._names_of(pending))
        try:
            with telemetry.attached(trace_context):
                self._notify_samples()(request)
        except Exception as error:  # any failure: see the docstring
            self._warn(error)

    def _names_of(self, pending: Pending) -> list[tuple[str, str]]:
        """The metric and the canonical dimensions key of each pending series, in order."""
        names = list(map(self._names.get, pending))
        if None in names:
            if len(self._names) + len(pending) > self._remembered_keys:
                self._names = {}
            for position, (series_id, (_, _, key)) in enumerate(pending.items()):
                if names[position] is None:
                    names[position] = self._names[series_id] = (key.metric, key.dimensions_key)
        return cast("list[tuple[str, str]]", names)

    def _warn(self, error: Exception) -> None:
        now = time.monotonic()
        if now - self._last_warning < WARNING_INTERVAL:
            self._suppressed_failures += 1
            return
        suppressed = f" ({self._suppressed_failures} more failures since the last warning)" if self._suppressed_failures else ""
        log.warning("cannot notify the alarm service of new samples: %s%s", error, suppressed)
        self._last_warning = now
        self._suppressed_failures = 0
