"""Scheduled actions: when each runs, and what a run does to its group (AWS's PutScheduledUpdateGroupAction).

Pure functions; times are seconds since the epoch (UTC) and `now` is an argument.

When an action runs:

- one-time (no recurrence): once, at its start_time;
- recurring: at its start_time if it has one (AWS: "performs the action at this time, and then
  performs the action based on the specified recurrence"), then at each time its 5-field cron
  recurrence names in its time zone (UTC unless given) after the start time, before its end_time.

Daylight saving time: the recurrence is read on the zone's wall clock, and each wall-clock time it
names runs once. A time that a spring-forward change skips (02:30 in Europe/Berlin on the last
Sunday of March) runs at the change (03:00 CEST); a time that a fall-back change repeats (02:30 on
the last Sunday of October) runs the first time (02:30 CEST), not again an hour later.

Missed runs (the service was down, or could not keep up): when an action is found due, only its
most recent time not after now runs (its sizes are the ones that should hold now; older ones
would be undone at once), the older ones are skipped, and the next run is the first time after
now. An action whose end_time passed meanwhile runs no more: its schedule is over, and a late run
would set sizes its schedule no longer asks for.

What a run does (AWS's rules, as UpdateGroup): the sizes the action sets replace the group's; a
desired capacity it does not set is kept within the new [min_size, max_size]; sizes that do not fit
together (a desired capacity beyond the group's max_size) fail the run, and the group is left as it
was. While the group's SCHEDULED_ACTIONS process is suspended, a run due is skipped (as AWS), not
kept for ResumeProcesses: the next run is the action's next time.
"""

from __future__ import annotations

import enum
import functools
import math
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

from croniter import CroniterBadCronError, CroniterBadDateError, croniter

from autoscale.timeutil import format_time
from services.group import capacity
from services.group.domain import Activity, ActivityStatus, Group
from services.group.processes import ScalingProcess

MAX_ACTIONS_PER_GROUP = 125
"""As AWS's quota of scheduled actions per Auto Scaling group."""
MAX_RECURRENCE_LENGTH = 255
"""As AWS's Recurrence."""
MAX_TIME_ZONE_LENGTH = 64
CRON_FIELDS = 5
CRON_FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
_CRON_PART = re.compile(r"^(?:\*|(?P<low>[0-9]{1,2}|[A-Za-z]{3})(?:-(?P<high>[0-9]{1,2}|[A-Za-z]{3}))?)(?:/[0-9]{1,2})?$")
"""One comma-separated part of a field of Unix cron (AWS's Recurrence): *, a value or a range, maybe with a step."""
"""Minute, hour, day of month, month, day of week (as AWS's Recurrence: no seconds, no years)."""
LATE_AFTER = 60.0
"""Seconds after its time that a run is called late in its activity's cause (the service was down, or busy)."""
UTC_ZONE = "UTC"
UPDATABLE_FIELDS = ("recurrence", "time_zone", "start_time", "end_time", "min_size", "max_size", "desired_capacity")
"""Fields of ScheduledAction an update may name; an empty mask means all of them."""
OUTPUT_ONLY_FIELDS = frozenset({"name", "create_time", "next_run_time", "last_run_time", "last_run_status", "last_run_reason"})
"""Fields of ScheduledAction a mask may name to no effect."""

_DST_MARGIN = timedelta(hours=3)
"""More than any zone's clock change: a search on the wall clock starts this far before the instant it looks from."""


class RunStatus(enum.Enum):
    """How an action's last run went."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    """Its sizes did not fit the group (or the project's quota): the group was left as it was."""
    SKIPPED = "skipped"
    """Not run: the group's SCHEDULED_ACTIONS process was suspended, or its end time passed while it waited."""


@dataclass(frozen=True)
class ScheduledAction:
    """A scheduled action of a group."""

    id: str
    group_id: str
    recurrence: str = ""
    """A 5-field cron expression; "" for a one-time action (it runs at start_time)."""
    time_zone: str = ""
    """The IANA zone the recurrence is read in; "" means UTC."""
    start_time: float | None = None
    end_time: float | None = None
    """Recurring only: no run at or after it."""
    min_size: int | None = None
    max_size: int | None = None
    desired_capacity: int | None = None
    create_time: float = 0.0
    next_run_time: float | None = None
    """When it runs next; None: never again (a one-time action that ran, or its end time passed)."""
    last_run_time: float | None = None
    """When it last ran (or was skipped); None: never."""
    last_run_status: RunStatus | None = None
    last_run_reason: str = ""
    """What its last run did, for people."""

    @property
    def zone(self) -> ZoneInfo:
        """Its time zone (valid: checked when it was made)."""
        return ZoneInfo(self.time_zone or UTC_ZONE)


@dataclass(frozen=True)
class ScheduledRun:
    """What one run of an action does: the group after it, the activity recording it (None if none), the action after it."""

    group: Group
    activity: Activity | None
    action: ScheduledAction


def updated(current: ScheduledAction, proposed: ScheduledAction, fields: frozenset[str]) -> ScheduledAction:
    """`current` with the `fields` of `proposed` (UPDATABLE_FIELDS); its next run is computed again once it is valid."""
    return replace(current, **{field: getattr(proposed, field) for field in fields})


def parse_zone(name: str) -> ZoneInfo | None:
    """The IANA zone of that name ("" is UTC), or None when there is none."""
    # NOTE: ZoneInfo reads whatever file the key names under the zone directories: "Europe" raises IsADirectoryError,
    # "../x" ValueError. Only the database's own zone names are taken.
    if (name or UTC_ZONE) not in _zone_names():
        return None
    return ZoneInfo(name or UTC_ZONE)


@functools.cache
def _zone_names() -> frozenset[str]:
    """The zones of the IANA database this host has (the system's, else the tzdata package's), without the host's own
    aliases: `localtime` is whatever zone the host is set to, `posixrules` and `Factory` are no place's."""
    return frozenset(available_timezones()) - HOST_ZONE_ALIASES


HOST_ZONE_ALIASES = frozenset({"localtime", "posixrules", "Factory"})
"""Files of the zone directory that name no zone of the IANA database a scheduled action may read."""


def recurrence_problem(recurrence: str) -> str | None:
    """Why a recurrence is not a usable 5-field cron expression (for people), or None when it is."""
    fields = recurrence.split()
    if len(fields) != CRON_FIELDS:
        return f"must have {CRON_FIELDS} fields (minute hour day-of-month month day-of-week), got {len(fields)}"
    for name, field in zip(CRON_FIELD_NAMES, fields, strict=True):
        for part in field.split(","):
            match = _CRON_PART.match(part)
            if match is None:
                return (
                    f"{name} {part!r} is not Unix cron: a number, a 3-letter name, * or a range low-high, each maybe /step "
                    "(no L, W, # or ?, as AWS's scheduled actions)"
                )
            low, high = match["low"], match["high"]
            if high is not None and low.isdigit() and high.isdigit() and int(low) > int(high):
                return f"{name} range {part!r} runs backwards"
    if not croniter.is_valid(recurrence):
        return "is not a valid cron expression"
    try:
        croniter(recurrence, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        return "names no time that exists (e.g. the 31st of a month that has 30 days)"
    except CroniterBadCronError:
        return "is not a valid cron expression"
    return None


def wall_clock_to_instant(wall: datetime, zone: ZoneInfo) -> float:
    """The instant (seconds since the epoch) at which `zone`'s clock shows `wall` (naive), by the DST rule above: a
    repeated time is its first, a skipped one the instant of the change."""
    first = wall.replace(tzinfo=zone, fold=0)
    instant = first.timestamp()
    if datetime.fromtimestamp(instant, zone).replace(tzinfo=None) == wall:
        return instant
    # Skipped by a change of the clock: fold=0 reads it with the offset before the change (an instant after the
    # change), fold=1 with the one after (an instant before it); the change lies between, found to the second.
    before, after = int(wall.replace(tzinfo=zone, fold=1).timestamp()), int(instant)
    offset = first.utcoffset()
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset:
            before = middle
        else:
            after = middle
    return float(after)


def _margin(zone: ZoneInfo, instant: float) -> timedelta:
    """How far from `instant`'s wall clock a search of the recurrence starts: _DST_MARGIN when the zone's offset changes
    within it either way (a time in a repeated hour is not missed), none otherwise (stepping croniter through three
    hours of a minutely recurrence cost each run milliseconds)."""
    seconds = _DST_MARGIN.total_seconds()
    before = datetime.fromtimestamp(instant - seconds, zone).utcoffset()
    after = datetime.fromtimestamp(instant + seconds, zone).utcoffset()
    return _DST_MARGIN if before != after else timedelta(0)


def cron_after(recurrence: str, zone: ZoneInfo, after: float) -> float | None:
    """The first instant strictly after `after` that the recurrence names in `zone`; None when there is none before the end
    of year 9999 (a Timestamp's last)."""
    try:
        wall = datetime.fromtimestamp(after, zone).replace(tzinfo=None) - _margin(zone, after)
        times = croniter(recurrence, wall)
        while True:
            instant = wall_clock_to_instant(times.get_next(datetime), zone)
            if instant > after:
                return instant
    except (ValueError, OverflowError):
        # NOTE: datetime's year 10000 is a ValueError (CroniterBadDateError is one too), its offset past it an OverflowError.
        return None


def cron_at_or_before(recurrence: str, zone: ZoneInfo, at: float) -> float:
    """The last instant not after `at` that the recurrence names in `zone`."""
    wall = datetime.fromtimestamp(at, zone).replace(tzinfo=None) + _margin(zone, at)
    times = croniter(recurrence, wall)
    while True:
        instant = wall_clock_to_instant(times.get_prev(datetime), zone)
        if instant <= at:
            return instant


def run_after(action: ScheduledAction, after: float) -> float | None:
    """When the action runs first strictly after `after`; None when it runs no more."""
    first: float | None
    if action.start_time is not None and action.start_time > after:
        first = action.start_time
    elif action.recurrence:
        first = cron_after(action.recurrence, action.zone, after)
    else:
        return None
    if first is None or (action.end_time is not None and first >= action.end_time):
        return None
    return first


def latest_due(action: ScheduledAction, now: float) -> float | None:
    """The time of the run due at `now` (the most recent of its times not after now, from its next run on); None when
    none is due."""
    due = action.next_run_time
    if due is None or due > now:
        return None
    if action.recurrence:
        # The last time before the end, when the end came first: no run is at or after it.
        bound = now if action.end_time is None or action.end_time > now else math.nextafter(action.end_time, -math.inf)
        return max(due, cron_at_or_before(action.recurrence, action.zone, bound))
    return due


def run(action: ScheduledAction, group: Group, activity_id: str, now: float) -> ScheduledRun:
    """The run of the action due at `now` (latest_due is not None) on `group`, locked: the group and action after it."""
    due = latest_due(action, now)
    assert due is not None, "run() is called for a due action"
    after = replace(action, next_run_time=run_after(action, now), last_run_time=now)
    late = f", late: its run of {format_time(due)}" if now - due > LATE_AFTER else ""
    if action.end_time is not None and now >= action.end_time:
        reason = f"its end time {format_time(action.end_time)} passed before its run of {format_time(due)}: it runs no more"
        return ScheduledRun(group, None, replace(after, last_run_status=RunStatus.SKIPPED, last_run_reason=reason))
    if group.suspended(ScalingProcess.SCHEDULED_ACTIONS):
        reason = f"its run of {format_time(due)} was skipped: the group's scheduled actions are suspended"
        return ScheduledRun(group, None, replace(after, last_run_status=RunStatus.SKIPPED, last_run_reason=reason))
    cause = f"scheduled action {action.id}{late}"
    min_size = group.min_size if action.min_size is None else action.min_size
    max_size = group.max_size if action.max_size is None else action.max_size
    problem = sizes_problem(min_size, max_size, action.desired_capacity)
    if problem is not None:
        return failed(after, group, problem, activity_id, cause, now)
    desired = capacity.clamp(group.desired_capacity, min_size, max_size) if action.desired_capacity is None else action.desired_capacity
    changed = replace(group, min_size=min_size, max_size=max_size, desired_capacity=desired)
    activity = capacity.capacity_change(
        activity_id, group, desired, cause, now,
        unchanged_message=f"desired capacity stays {desired}; min_size {min_size}, max_size {max_size}",
    )
    reason = f"min_size {min_size}, max_size {max_size}, desired capacity {group.desired_capacity} -> {desired}"
    return ScheduledRun(changed, activity, replace(after, last_run_status=RunStatus.SUCCEEDED, last_run_reason=reason))


def failed(action: ScheduledAction, group: Group, reason: str, activity_id: str, cause: str, now: float) -> ScheduledRun:
    """A run that left the group as it was, with a FAILED activity saying why."""
    activity = Activity(
        id=activity_id, group_id=group.id, cause=cause, from_capacity=group.desired_capacity, to_capacity=group.desired_capacity,
        start_time=now, status=ActivityStatus.FAILED, end_time=now, status_message=reason,
    )
    return ScheduledRun(group, activity, replace(action, last_run_status=RunStatus.FAILED, last_run_reason=reason))


def failed_instead(planned: ScheduledRun, group: Group, reason: str) -> ScheduledRun:
    """The run `planned` would have made on `group`, failed instead for `reason` (the project's instances quota)."""
    assert planned.activity is not None, "a run that changes the group has an activity"
    activity = planned.activity
    return failed(planned.action, group, reason, activity.id, activity.cause, activity.start_time)


def sizes_problem(min_size: int, max_size: int, desired_capacity: int | None) -> str | None:
    """Why sizes a run would give a group do not fit together (for people), or None when they do."""
    if min_size > max_size:
        return f"min_size {min_size} would be above max_size {max_size}"
    if desired_capacity is not None and not min_size <= desired_capacity <= max_size:
        return f"desired capacity {desired_capacity} would be outside [min_size, max_size] = [{min_size}, {max_size}]"
    return None
