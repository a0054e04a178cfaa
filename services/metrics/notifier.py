"""Tells the Alarm service which series just received points, from a background thread.

PutSamples must neither wait for nor fail because of the Alarm service, so
`notify` only queues the stored batch and returns; a worker thread calls
AlarmService.NotifySamples, inside the trace context of the PutSamples that
queued it so that one trace runs from the sample to the scaling activity; what
is queued while a call is out goes in the next call, in the oldest one's trace.
Each series is sent with two points: the lowest and the highest value it
received, from which the Alarm service tells which alarms the samples may move
(and evaluates those first). Each answer lists what the alarms watch; series
none of them watches are left out of the next calls (most series have no alarm).
With each watched place comes its quiet band, the values that cannot move any
alarm filed there out of its state: a series whose new values all lie inside the
bands it falls under is held back, not sent (a steady metric under a steady alarm
costs no call). A call goes out at least every WATCH_REFRESH_INTERVAL while
samples flow or values are held, so that a new alarm and a band that moved are
heard of within that interval; held values that the bands then given no longer
hold are sent at once (a follow-up call), the rest dropped: they cannot move an
alarm. Values are thus judged against bands at most that interval old. A series
that just sent values outside its band may have moved its alarm, so its band is
not trusted (everything it gets is sent) for WATCH_REFRESH_INTERVAL after. The
queue is bounded: when it is full, the newest queued notification absorbs the
new series (kept as those two values per series, so memory is bounded by the
number of series, not of calls).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.context import Context

from autoscale import telemetry
from services.metrics import messages
from services.metrics.chunks import NATIVE_BOUNDS
from services.metrics.domain import SeriesKey, SeriesPoints

log = logging.getLogger(__name__)

MAX_QUEUED_BATCHES = 64
"""Notifications waiting for the thread before new series merge into the newest one."""

WATCH_REFRESH_INTERVAL = 1.0
"""Seconds after which a call goes out even when nothing in it must be sent, to learn of new alarms and bands and send what was held."""

QuietBand = tuple[float, float]
"""Values [low, high] (both included) that cannot move the alarms watching a series."""

NOTHING_QUIET: QuietBand = (math.inf, -math.inf)
"""The band no value lies in."""

MAX_WATCH_ANSWERS = 1_000_000
"""Series whose watched-or-not answer is remembered at most (then the memory starts afresh)."""

WARNING_INTERVAL = 60.0
"""Seconds between two warnings that the Alarm service could not be notified (one per outage, not one per call)."""


Extremes = dict[int, tuple[SeriesKey, float, float]]
"""The lowest and the highest value each series received, by series id (with the series' key)."""

Wanted = Callable[[int, SeriesKey], object]
"""Whether a series (its id and its key) is to be sent (any true value)."""


def _every_series(series_id: int, key: SeriesKey) -> bool:
    return True

StoredBatch = tuple[Sequence[SeriesPoints], Sequence[int]]
"""A stored batch and the id of each of its series, in order."""


@dataclass
class _Notification:
    """Stored batches to notify in one call, and the trace context of the request that stored the first."""

    batches: list[StoredBatch]
    trace_context: Context | None = None
    merged: Extremes | None = None
    """Once the queue overflowed: the batches folded into extremes (bounded by the number of series)."""

    def extremes(self, wanted: Wanted = _every_series) -> Extremes:
        """The lowest and the highest value of each `wanted` series, over every batch held."""
        extremes = {}
        if self.merged is not None:
            extremes = {series_id: held for series_id, held in self.merged.items() if wanted(series_id, held[0])}
        for batch, series_ids in self.batches:
            _fold(extremes, batch, series_ids, wanted)
        return extremes

    def absorb(self, batch: Sequence[SeriesPoints], series_ids: Sequence[int]) -> None:
        """Take `batch` in, folding everything into extremes so that memory stays bounded."""
        if self.merged is None:
            self.merged = self.extremes()
            self.batches = []
        # NOTE: only the new batch is folded: the queue stays full while the Alarm service is slow,
        # and folding everything again on each call would cost every PutSamples the whole merge.
        _fold(self.merged, batch, series_ids, _every_series)

    def join(self, later: _Notification) -> None:
        """Take in what a later notification holds (one call then carries both, in this one's trace)."""
        self.batches.extend(later.batches)
        if later.merged is not None:
            if self.merged is None:
                self.merged = {}
            for series_id, (key, low, high) in later.merged.items():
                _widen(self.merged, series_id, key, low, high)


def _fold(extremes: Extremes, batch: Sequence[SeriesPoints], series_ids: Sequence[int], wanted: Wanted) -> None:
    """Widen `extremes` by the values of the `wanted` series of `batch`."""
    # NOTE: inline, with the native bounds: this runs for every series of every batch, and the calls
    # of a helper per series cost as much as the minimum and the maximum themselves.
    native = NATIVE_BOUNDS
    for series_id, (key, _, values) in zip(series_ids, batch, strict=True):
        if wanted(series_id, key):
            low, high = native(values) if native is not None and type(values) is list else (min(values), max(values))
            known = extremes.get(series_id)
            extremes[series_id] = (key, low, high) if known is None else (key, min(low, known[1]), max(high, known[2]))


def _widen(extremes: Extremes, series_id: int, key: SeriesKey, low: float, high: float) -> None:
    known = extremes.get(series_id)
    extremes[series_id] = (key, low, high) if known is None else (key, min(low, known[1]), max(high, known[2]))


def _watched_place(watched: Any) -> tuple[tuple[str, tuple[str, str] | None], QuietBand]:
    """A WatchedSeries as (metric, dimension pair or None) and its quiet band."""
    place = (watched.metric, (watched.dimension_key, watched.dimension_value) if watched.dimension_key else None)
    return place, (watched.quiet_band.low, watched.quiet_band.high) if watched.HasField("quiet_band") else NOTHING_QUIET


class AlarmNotifier:
    """A Worker that calls AlarmService.NotifySamples for the series `notify` is handed.

    `notify_samples` returns the call (over a long-lived channel with deadlines and
    retries) taking a serialized NotifySamplesRequest; `alarm_address` empty means
    no Alarm service is configured, and the notifier does nothing.
    """

    def __init__(
        self, notify_samples: Callable[[], Callable[[bytes], Any]], alarm_address: str, *, max_batches: int = MAX_QUEUED_BATCHES
    ) -> None:
        self._notify_samples = notify_samples
        self._enabled = bool(alarm_address)
        self._max_batches = max_batches
        self._queue: deque[_Notification] = deque()
        self._condition = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._last_warning = float("-inf")
        self._watched: dict[tuple[str, tuple[str, str] | None], QuietBand] | None = None
        """What the alarms watch and each place's quiet band, as the last answer said; None: not known (every series is sent)."""
        self._watch_version = 0
        self._watch_answers: dict[int, QuietBand | None] = {}
        """Each series seen (by id): its quiet band under the current watch list, None if no alarm watches it."""
        self._held: Extremes = {}
        """Values of watched series held back (inside their bands) until the next refresh call."""
        self._untrusted: dict[int, float] = {}
        """Series that sent values outside their band, with when their band may be trusted again."""
        self._headers: dict[int, bytes] = {}
        """Each watched series (by id) as a TimeSeries without points, serialized: NotifySamples adds the points."""
        self._last_call = float("-inf")
        self._suppressed_failures = 0

    def start(self) -> None:
        """Start the thread (or, with no Alarm service configured, say once that alarms will not hear of samples)."""
        if not self._enabled:
            log.info("no alarm service configured: alarms will not be told of new samples")
            return
        self._thread = threading.Thread(target=self._run, name="metrics-notifier", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Send what is queued (until a call fails), then stop the thread."""
        with self._condition:
            self._stopping = True
            self._condition.notify()
        if self._thread is not None:
            self._thread.join()

    def notify(self, batch: Sequence[SeriesPoints], series_ids: Sequence[int], trace_context: Context | None = None) -> None:
        """Queue a stored batch (with the id of each of its series) for NotifySamples; returns at once (the work is the thread's)."""
        if not self._enabled or not batch:
            return
        with self._condition:
            if len(self._queue) >= self._max_batches:
                # The Alarm service is slow or down: merge rather than grow (the call goes in the older trace).
                self._queue[-1].absorb(batch, series_ids)
            else:
                self._queue.append(_Notification([(batch, series_ids)], trace_context))
            self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._queue and not self._stopping:
                    refresh_in = self._last_call + WATCH_REFRESH_INTERVAL - time.monotonic()
                    if self._held and refresh_in <= 0:
                        break  # values were held back and no sample came since: their refresh call is due
                    self._condition.wait(refresh_in if self._held else None)
                stopping = self._stopping
                notification = self._queue.popleft() if self._queue else None
                # NOTE: everything queued goes in one call: under load, one call per stored batch
                # kept this thread behind PutSamples (and the queue full) for the cost of the calls alone.
                while self._queue and notification is not None:
                    notification.join(self._queue.popleft())
            if notification is None:
                if self._held:
                    self._send(_Notification([]), refresh=True)
                if stopping:
                    return
                continue
            # Stopping: what was held goes in this last call.
            if not self._send(notification, refresh=stopping and bool(self._held)) and stopping:
                dropped = self._drop_queued()
                if dropped:
                    log.warning("stopping: %d queued alarm notifications dropped as the alarm service fails", dropped)
                return

    def _send(self, notification: _Notification, *, refresh: bool = False) -> bool:
        """Call NotifySamples with the watched series whose values may move an alarm; once a refresh is due, learn what
        changed and send what was held that the bands as they are now no longer hold.

        Failures are logged, at most one warning per WARNING_INTERVAL.
        """
        now = time.monotonic()
        refresh = refresh or now - self._last_call >= WATCH_REFRESH_INTERVAL
        sending = self._not_quiet(notification.extremes(self._quiet_band), now)
        if not sending and not refresh:
            return True
        called = self._call(sending, notification.trace_context)
        if refresh and self._held:
            held, self._held = self._held, {}
            if called:
                # NOTE: judged again against the bands just learnt, not sent: values still inside cannot move an
                # alarm (NotifySamples would do nothing with them), and the alarm service need not read them.
                loud = self._not_quiet(held, now)
                self._held = {}
                if loud:
                    called = self._call(loud, notification.trace_context)
        return called

    def _call(self, sending: Extremes, trace_context: Context | None) -> bool:
        """One NotifySamples call with these series (maybe none); whether it succeeded."""
        request = messages.notify_samples_request(
            [(self._header(series_id, key), low, high) for series_id, (key, low, high) in sorted(sending.items())],
            self._watch_version,
            changes_accepted=True,
        )
        try:
            with telemetry.attached(trace_context):
                response = self._notify_samples()(request)
        except Exception as error:  # any failure: PutSamples already succeeded, alarms still evaluate periodically
            self._warn(error)
            return False
        self._last_call = time.monotonic()
        self._take_watch_list(response)
        return True

    def _take_watch_list(self, response: Any) -> None:
        """Hold the watch list an answer gives whole, or apply the changes it gives (a list is only ever changed here)."""
        if response.watch_list_complete:
            self._watched = dict(_watched_place(watched) for watched in response.watched)
        elif response.watch_version != self._watch_version and self._watched is not None:
            for watched in response.watch_list_removed:
                self._watched.pop(_watched_place(watched)[0], None)
            self._watched.update(_watched_place(watched) for watched in response.watch_list_changed)
        else:
            return
        self._watch_version = response.watch_version
        self._watch_answers = {}

    def _not_quiet(self, extremes: Extremes, now: float) -> Extremes:
        """What of `extremes` is to be sent now; the rest (inside its series' band) joins what is held."""
        sending: Extremes = {}
        held = self._held
        untrusted = self._untrusted
        for series_id, extreme in extremes.items():
            key, low, high = extreme
            band = self._quiet_band(series_id, key) or NOTHING_QUIET
            if band[0] <= low and high <= band[1] and untrusted.get(series_id, 0.0) <= now:
                _widen(held, series_id, key, low, high)
                continue
            sending[series_id] = extreme
            before = held.pop(series_id, None)
            if before is not None:  # what it held goes with it
                _widen(sending, series_id, key, before[1], before[2])
            if band[0] <= band[1]:
                # It may have moved an alarm: until a later answer can tell, its band is not to be trusted.
                untrusted[series_id] = now + WATCH_REFRESH_INTERVAL
        if len(untrusted) > 2 * len(sending) + 1000:
            self._untrusted = {series_id: until for series_id, until in untrusted.items() if until > now}
        return sending

    def forget_series(self) -> None:
        """Forget what was known of each series id: called once series were deleted, as SQLite may give a new series a deleted one's id."""
        self._watch_answers = {}
        self._headers = {}
        self._held = {}
        self._untrusted = {}

    def _header(self, series_id: int, key: SeriesKey) -> bytes:
        header = self._headers.get(series_id)
        if header is None:
            if len(self._headers) >= MAX_WATCH_ANSWERS:
                self._headers.clear()
            header = self._headers[series_id] = messages.series_header(key)
        return header

    def _quiet_band(self, series_id: int, key: SeriesKey) -> QuietBand | None:
        """The series' quiet band; None when no alarm watches it."""
        # NOTE: asked for every series of every batch, so the answer is kept (by id: a key costs far
        # more to hash and compare) until the watch list changes.
        answers = self._watch_answers
        band = answers.get(series_id, answers)
        if band is answers:
            if len(answers) >= MAX_WATCH_ANSWERS:
                answers.clear()
            band = answers[series_id] = self._band_of(key)
        return band  # type: ignore[return-value]

    def _band_of(self, key: SeriesKey) -> QuietBand | None:
        """The values no alarm watching `key` can be moved by: where the bands of every place it falls under meet."""
        watched = self._watched
        if watched is None:
            return NOTHING_QUIET
        places = [(key.metric, None), *((key.metric, pair) for pair in key.dimensions)]
        bands = [band for place in places if (band := watched.get(place)) is not None]
        if not bands:
            return None
        low, high = max(band[0] for band in bands), min(band[1] for band in bands)
        return (low, high) if low <= high else NOTHING_QUIET

    def _warn(self, error: Exception) -> None:
        now = time.monotonic()
        if now - self._last_warning < WARNING_INTERVAL:
            self._suppressed_failures += 1
            return
        suppressed = f" ({self._suppressed_failures} more failures since the last warning)" if self._suppressed_failures else ""
        log.warning("cannot notify the alarm service of new samples: %s%s", error, suppressed)
        self._last_warning = now
        self._suppressed_failures = 0

    def _drop_queued(self) -> int:
        with self._condition:
            dropped = len(self._queue)
            self._queue.clear()
        return dropped
