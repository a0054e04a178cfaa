"""A replay drawn as a PNG: each alarm's metric with its threshold above, the desired capacity below, on one time axis."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from app.replay.simulation import Moment
from services.alarm.domain import Alarm, CompositeRule

MARKED_POINTS = 500
"""Values of a series drawn with a marker each, at most (more make a line)."""


def draw(moments: Sequence[Moment], alarms: Sequence[Alarm], title: str, path: Path) -> None:
    """Write the PNG of a replay to `path`: one panel of the alarms' newest values and thresholds, one of the capacity."""
    # NOTE: imported here, and with the Agg backend: the CLI starts without matplotlib's import time, and draws with
    # no display.
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.ticker import MaxNLocator

    times = [datetime.fromtimestamp(moment.time, UTC) for moment in moments]
    figure, (metrics, capacity) = pyplot.subplots(
        2, 1, sharex=True, figsize=(11, 6), height_ratios=(3, 2), layout="constrained"
    )
    try:
        colours: dict[str, str] = {}
        for alarm in alarms:
            if isinstance(alarm.rule, CompositeRule):
                continue
            series = alarm.rule.describe()
            if series not in colours:  # alarms over one series (a high and a low one) share its line
                values = [moment.values.get(alarm.id) for moment in moments]
                # Points marked while few (a value between two gaps draws no line), a line alone when dense.
                marker = "." if sum(value is not None for value in values) <= MARKED_POINTS else None
                line = metrics.plot(
                    times, [float("nan") if value is None else value for value in values], label=series, marker=marker
                )
                colours[series] = line[0].get_color()
            metrics.axhline(
                alarm.rule.threshold, color=colours[series], linestyle="--", linewidth=1,
                label=f"alarms/{alarm.id}: {alarm.rule.comparison.value} {alarm.rule.threshold:g}",
            )
        metrics.set_ylabel("metric")
        metrics.legend(loc="upper left", fontsize="small")
        metrics.set_title(title)
        capacity.step(times, [moment.desired_capacity for moment in moments], where="post", label="desired capacity")
        capacity.step(times, [moment.max_size for moment in moments], where="post", linestyle=":", label="max size")
        capacity.step(times, [moment.min_size for moment in moments], where="post", linestyle=":", label="min size")
        capacity.set_ylabel("instances")
        capacity.yaxis.set_major_locator(MaxNLocator(integer=True))
        capacity.set_xlabel("time (UTC)")
        capacity.legend(loc="upper left", fontsize="small")
        figure.savefig(path, format="png", dpi=100)
    finally:
        pyplot.close(figure)
