"""The options of `autoscale policy create|update` that define a target tracking policy, and how `policy show` says it.

`--target-tracking METRIC=TARGET` makes the policy a target tracking one: METRIC is `cpu` (the predefined average CPU
utilization of the group), `promql` (the query of `--prometheus-query`), `gnocchi` (the measures of the `--gnocchi-*`
options), or a metric of the Metrics service (with `--metric-dimension` and `--metric-statistic`). The other options
shape it after HPA's behavior; `--predictive-floor MODE` (with `--forecast-season`, `--forecast-buffer`,
`--forecast-aggregation`) adds a floor forecast from the metric's history. An update replaces the whole configuration:
give `--target-tracking` again with the options that should stay.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

from app.cli.choices import STATISTIC, word_for
from app.cli.output import duration_text, time_text
from app.cli.params import DURATION, KEY_VALUE, EnumChoice, duration_or_none, format_duration
from autoscale.timeutil import from_duration, to_duration
from autoscale.v1 import policy_pb2

PREDEFINED_CPU = "cpu"
"""METRIC of `--target-tracking` for the predefined average CPU utilization of the group."""

PROMQL = "promql"
"""METRIC of `--target-tracking` for the query of `--prometheus-query`."""

GNOCCHI = "gnocchi"
"""METRIC of `--target-tracking` for the Gnocchi measures of the `--gnocchi-*` options."""

GNOCCHI_OPTIONS = {
    "gnocchi_metric": "metric", "gnocchi_resource_type": "resource_type", "gnocchi_resource_id": "resource_id",
    "gnocchi_query": "resource_query", "gnocchi_metric_ids": "metric_ids", "gnocchi_aggregation": "aggregation_method",
}
"""The `--gnocchi-*` options and the GnocchiMetric field each sets."""

SELECT_POLICY = EnumChoice(
    {"max": policy_pb2.SELECT_POLICY_MAX, "min": policy_pb2.SELECT_POLICY_MIN, "disabled": policy_pb2.SELECT_POLICY_DISABLED}
)
"""`--scale-up-select`, `--scale-down-select`: which rate policy applies (HPA's selectPolicy)."""

FLOOR_MODE = EnumChoice(
    {
        "forecast-only": policy_pb2.PREDICTIVE_FLOOR_MODE_FORECAST_ONLY,
        "forecast-and-scale": policy_pb2.PREDICTIVE_FLOOR_MODE_FORECAST_AND_SCALE,
    }
)
"""`--predictive-floor`: whether the forecast floor is applied or only shown (AWS's ForecastOnly, ForecastAndScale)."""

SEASON_AGGREGATION = EnumChoice({"max": policy_pb2.SEASON_AGGREGATION_MAXIMUM, "avg": policy_pb2.SEASON_AGGREGATION_AVERAGE})
"""`--forecast-aggregation`: how the seasons' loads make the forecast."""

FLOOR_OPTION_NAMES = ("predictive_floor", "forecast_seasons", "forecast_buffer", "forecast_aggregation", "forecast_sample_interval")
"""The options of the predictive floor: any of them adds one."""

RATE_POLICY_TYPE = EnumChoice(
    {"instances": policy_pb2.SCALING_RATE_POLICY_TYPE_INSTANCES, "percent": policy_pb2.SCALING_RATE_POLICY_TYPE_PERCENT}
)


class RatePolicyType(click.ParamType[policy_pb2.ScalingRatePolicy]):
    """A `TYPE:VALUE:PERIOD` option, e.g. `percent:100:15s` or `instances:4:1m` (HPA's scaling policies)."""

    name = "rate-policy"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> policy_pb2.ScalingRatePolicy:
        if isinstance(value, policy_pb2.ScalingRatePolicy):
            return value
        parts = str(value).split(":")
        if len(parts) != 3:
            self.fail(f"expected TYPE:VALUE:PERIOD (e.g. percent:100:15s), got {value!r}", param, ctx)
        kind: Any = RATE_POLICY_TYPE.convert(parts[0], param, ctx)  # an enum's number
        try:
            amount = int(parts[1])
        except ValueError:
            self.fail(f"VALUE must be an integer, got {parts[1]!r}", param, ctx)
        period: Any = DURATION.convert(parts[2], param, ctx)
        return policy_pb2.ScalingRatePolicy(type=kind, value=amount, period=duration_or_none(period))


class TargetType(click.ParamType[tuple[str, float]]):
    """`METRIC=TARGET`: the metric tracked and its target value."""

    name = "metric=target"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, float]:
        if isinstance(value, tuple):
            return value
        metric, target = KEY_VALUE.convert(value, param, ctx)
        try:
            return metric, float(target)
        except ValueError:
            self.fail(f"TARGET must be a number, got {target!r}", param, ctx)


RATE_POLICY = RatePolicyType()
TARGET = TargetType()

OPTION_NAMES = (
    "target_tracking", "prometheus_query", "metric_dimensions", "metric_statistic", "disable_scale_in", "period", "tolerance",
    "scale_up_window", "scale_down_window", "scale_up_select", "scale_down_select", "scale_up_policies", "scale_down_policies",
    *GNOCCHI_OPTIONS, *FLOOR_OPTION_NAMES,
)
"""The options below, which all set the one field Policy.target_tracking."""


def target_tracking_options() -> list[Callable[[Any], Any]]:
    """The options that define a target tracking policy."""
    return [
        click.option("--target-tracking", type=TARGET, metavar="METRIC=TARGET",
                     help="A target tracking policy keeping METRIC at TARGET: cpu (the group's average CPU utilization, %), "
                          "promql (--prometheus-query), gnocchi (--gnocchi-*), or a metric of the Metrics service."),
        click.option("--prometheus-query", help="Target tracking of promql: the PromQL query (one series)."),
        click.option("--gnocchi-metric", metavar="NAME", help="Target tracking of gnocchi: the metric on the resources, e.g. cpu."),
        click.option("--gnocchi-resource-type", metavar="TYPE", help="Target tracking of gnocchi: the resources' type, e.g. instance."),
        click.option("--gnocchi-resource-id", metavar="ID", help="Target tracking of gnocchi: one resource."),
        click.option("--gnocchi-query", metavar="JSON", help="Target tracking of gnocchi: a search over resources, e.g. "
                                                             '\'{"=": {"server_group": "web"}}\'.'),
        click.option("--gnocchi-metric-id", "gnocchi_metric_ids", multiple=True, metavar="UUID",
                     help="Target tracking of gnocchi: a metric by id (repeat it)."),
        click.option("--gnocchi-aggregation", metavar="METHOD", help="Target tracking of gnocchi: the aggregation  [default: mean]"),
        click.option("--metric-dimension", "metric_dimensions", type=KEY_VALUE, multiple=True,
                     help="Target tracking of a metric: a dimension its series must have (repeat it)."),
        click.option("--metric-statistic", type=STATISTIC, help="Target tracking of a metric: its statistic  [default: avg]"),
        click.option("--disable-scale-in", is_flag=True, default=None, help="Target tracking: never remove instances."),
        click.option("--period", type=DURATION, help="Target tracking: how often the metric is read, e.g. 1m  [default: 60s]"),
        click.option("--tolerance", type=float, help="Target tracking: metric/target within this of 1 changes nothing  [default: 0.1]"),
        click.option("--scale-up-window", type=DURATION, help="Target tracking: scale-up stabilization window  [default: 0s]"),
        click.option("--scale-down-window", type=DURATION, help="Target tracking: scale-down stabilization window  [default: 5m]"),
        click.option("--scale-up-select", type=SELECT_POLICY, help="Target tracking: which scale-up rate policy applies  [default: max]"),
        click.option("--scale-down-select", type=SELECT_POLICY,
                     help="Target tracking: which scale-down rate policy applies  [default: max]"),
        click.option("--scale-up-policy", "scale_up_policies", type=RATE_POLICY, multiple=True, metavar="TYPE:VALUE:PERIOD",
                     help="Target tracking: a scale-up rate limit (repeat it), e.g. instances:4:15s  [default: percent:100:15s "
                          "and instances:4:15s]"),
        click.option("--scale-down-policy", "scale_down_policies", type=RATE_POLICY, multiple=True, metavar="TYPE:VALUE:PERIOD",
                     help="Target tracking: a scale-down rate limit (repeat it), e.g. percent:10:1m  [default: percent:100:15s]"),
        click.option("--predictive-floor", type=FLOOR_MODE,
                     help="Target tracking: a floor forecast from the metric's history (the same time yesterday and last "
                          "week), only shown (forecast-only) or holding the capacity up (forecast-and-scale)."),
        click.option("--forecast-season", "forecast_seasons", type=DURATION, multiple=True, metavar="DURATION",
                     help="Predictive floor: how far back the same moment is read (repeat it), e.g. 24h  [default: 24h and 168h]"),
        click.option("--forecast-buffer", type=DURATION, help="Predictive floor: how far ahead it looks, e.g. 10m  [default: 5m]"),
        click.option("--forecast-aggregation", type=SEASON_AGGREGATION,
                     help="Predictive floor: how the seasons' loads are combined (max, avg)  [default: max]"),
        click.option("--forecast-sample-interval", type=DURATION,
                     help="Predictive floor: how often each series of the metric gets a sample, e.g. 10s  [default: 15s for "
                          "cpu, else --period]"),
    ]


def target_tracking_from_options(values: Mapping[str, Any]) -> policy_pb2.TargetTrackingConfiguration | None:
    """The configuration the options give; None when none of them was given."""
    if not any(values[name] not in (None, ()) for name in OPTION_NAMES):
        return None
    message = policy_pb2.TargetTrackingConfiguration(
        disable_scale_in=bool(values["disable_scale_in"]), period=duration_or_none(values["period"]), tolerance=values["tolerance"],
    )
    if values["target_tracking"] is not None:
        metric, message.target_value = values["target_tracking"]
        if metric == PREDEFINED_CPU:
            message.predefined_metric_specification.predefined_metric_type = (
                policy_pb2.PREDEFINED_METRIC_TYPE_ASG_AVERAGE_CPU_UTILIZATION
            )
        elif metric == PROMQL:
            message.customized_metric_specification.prometheus_query = values["prometheus_query"] or ""
        elif metric == GNOCCHI:
            message.customized_metric_specification.gnocchi_metric.CopyFrom(
                policy_pb2.GnocchiMetric(**{field: values[option] for option, field in GNOCCHI_OPTIONS.items() if values[option]})
            )
        else:
            customized = message.customized_metric_specification
            customized.metric_name = metric
            customized.dimensions.update(dict(values["metric_dimensions"]))
            if values["metric_statistic"] is not None:
                customized.statistic = values["metric_statistic"]
    for direction in ("scale_up", "scale_down"):
        rules = getattr(message.behavior, direction)
        if values[f"{direction}_window"] is not None:
            rules.stabilization_window.CopyFrom(duration_or_none(values[f"{direction}_window"]))
        rules.select_policy = values[f"{direction}_select"] or 0
        rules.policies.extend(values[f"{direction}_policies"])
    if any(values[name] not in (None, ()) for name in FLOOR_OPTION_NAMES):
        floor = message.predictive_floor
        floor.SetInParent()  # set, even with every option at its default
        if values["predictive_floor"] is not None:
            floor.mode = values["predictive_floor"]
        if values["forecast_aggregation"] is not None:
            floor.aggregation = values["forecast_aggregation"]
        floor.seasons.extend(to_duration(season) for season in values["forecast_seasons"])
        if values["forecast_buffer"] is not None:
            floor.buffer.CopyFrom(to_duration(values["forecast_buffer"]))
        if values["forecast_sample_interval"] is not None:
            floor.sample_interval.CopyFrom(to_duration(values["forecast_sample_interval"]))
    return message


def floor_text(floor: policy_pb2.PredictiveFloor) -> str:
    """A predictive floor's configuration, for people: `forecast-and-scale, seasons 24h, 168h, buffer 5m, max`."""
    seasons = ", ".join(format_duration(from_duration(season)) for season in floor.seasons)
    mode = word_for(FLOOR_MODE, floor.mode or policy_pb2.PREDICTIVE_FLOOR_MODE_FORECAST_ONLY)
    aggregation = word_for(SEASON_AGGREGATION, floor.aggregation or policy_pb2.SEASON_AGGREGATION_MAXIMUM)
    text = f"{mode}, seasons {seasons or '24h, 168h'}, buffer {duration_text(floor, 'buffer', '5m')}, {aggregation}"
    if floor.HasField("sample_interval"):
        text += f", a sample every {duration_text(floor, 'sample_interval')}"
    return text


def forecast_text(forecast: policy_pb2.Forecast) -> str:
    """A forecast made, for people: `floor 8 (load 360), applied` or its note."""
    if not forecast.HasField("floor_capacity"):
        return forecast.note or "no floor"
    return f"floor {forecast.floor_capacity} (load {forecast.load:g}), {'applied' if forecast.applied else 'not applied'}"


def seasons_text(forecast: policy_pb2.Forecast) -> str:
    """Each season's load of a forecast: `24h: 360, 168h: -`."""
    return ", ".join(
        f"{format_duration(from_duration(season.season))}: {f'{season.load:g}' if season.HasField('load') else '-'}"
        for season in forecast.seasons
    ) or "-"


def metric_text(tracking: policy_pb2.TargetTrackingConfiguration) -> str:
    """The metric tracked, for people: `cpu`, `promql: <query>`, or `avg(queue{group=web})`."""
    if tracking.HasField("predefined_metric_specification"):
        return "cpu (the group's average CPU utilization)"
    customized = tracking.customized_metric_specification
    if customized.prometheus_query:
        return f"promql: {customized.prometheus_query}"
    if customized.HasField("gnocchi_metric"):
        gnocchi = customized.gnocchi_metric
        target = gnocchi.resource_id or gnocchi.resource_query or ",".join(gnocchi.metric_ids)
        return f"gnocchi: {gnocchi.aggregation_method or 'mean'}({gnocchi.metric} of {gnocchi.resource_type} {target})"
    dimensions = ",".join(f"{key}={value}" for key, value in sorted(customized.dimensions.items()))
    statistic = word_for(STATISTIC, customized.statistic) if customized.statistic else "avg"
    return f"{statistic}({customized.metric_name}{{{dimensions}}})"


def target_tracking_details(policy: policy_pb2.Policy) -> list[tuple[str, str]]:
    """The lines of `policy show` of a target tracking policy."""
    tracking = policy.target_tracking
    details = [
        ("target", f"{metric_text(tracking)} at {tracking.target_value:g}"),
        ("disable scale-in", "yes" if tracking.disable_scale_in else "no"),
        ("period", duration_text(tracking, "period", "60s")),
        ("tolerance", f"{tracking.tolerance:g}" if tracking.HasField("tolerance") else "0.1"),
    ]
    defaults = (("scale up", "0s", "100 percent per 15s, 4 instances per 15s"), ("scale down", "5m", "100 percent per 15s"))
    for direction, window, policies in defaults:
        rules = getattr(tracking.behavior, direction.replace(" ", "_"))
        # NOTE: not TYPE:VALUE:PERIOD as the option is written: the table's renderer reads `:100:` as an emoji's name.
        chosen = ", ".join(
            f"{rate.value} {word_for(RATE_POLICY_TYPE, rate.type)} per {duration_text(rate, 'period', '-')}" for rate in rules.policies
        )
        select = word_for(SELECT_POLICY, rules.select_policy) if rules.select_policy else "max"
        details.append((
            direction, f"window {duration_text(rules, 'stabilization_window', window)}, {select} of {chosen or policies}"
        ))
    details.append(("alarms", ", ".join(policy.alarms) or "-"))
    if policy.HasField("last_recommendation"):
        last = policy.last_recommendation
        details.append(("last recommendation", f"{last.recommended_capacity} at {time_text(last, 'time')}"))
    if tracking.HasField("predictive_floor"):
        details.append(("predictive floor", floor_text(tracking.predictive_floor)))
    if policy.HasField("last_forecast"):
        forecast = policy.last_forecast
        details.append(("last forecast", f"{forecast_text(forecast)} for {time_text(forecast, 'time')}"))
        details.append(("forecast seasons", seasons_text(forecast)))
    return details
