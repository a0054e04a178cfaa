"""Field rules of an alarm, collected into `Violations`, and the domain values they yield.

Limits (listed for users in README.md, under bad input), in characters:
- `threshold_rule.period` and `prometheus_rule.period`: 1s to 86400s (a day); `evaluation_periods`: at most 1440.
- `threshold_rule.metric`: at most 255; `dimensions`: at most 30, keys 1-255, values at most 255.
- `prometheus_rule.query`: 1 to 4096, no control characters but tab and line feed.
- `gnocchi_rule`: exactly one target, `resource_id` (1 to 255, no "/" or control characters) or `resource_query` (JSON of
  an object, at most 4096), each with `metric` (at most 255) and `resource_type` (at most 255 of letters, digits, "_"
  and "-"), or `metric_ids` (1 to 10 UUIDs, then no metric or resource_type); `aggregation_method` one of
  GNOCCHI_AGGREGATION_METHODS (across resources or metrics: GNOCCHI_ACROSS_METHODS); `period` whole seconds.
- `composite_rule.expression`: see services.alarm.composite (at most 10240 characters, 100 alarms, 32 levels).
- exactly one rule kind: `threshold_rule`, `prometheus_rule`, `gnocchi_rule` or `composite_rule`.
- `datapoints_to_alarm`: 0 (all) to the rule's `evaluation_periods`; `treat_missing_data`: a known value or unset.
- `description` and SetAlarmState's `reason`: at most 1024.
- actions: at most 10 per state, each at most 2048.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass, replace

from google.protobuf.duration_pb2 import Duration

from autoscale.netguard import AddressGuard
from autoscale.series import MAX_DIMENSIONS, STATISTICS_BY_NUMBER, check_dimension, check_metric
from autoscale.timeutil import check_duration
from autoscale.v1 import alarm_pb2, common_pb2
from autoscale.validation import Violations, check_action_target, check_enum, check_finite, quoted, try_parse_name
from services.alarm import composite, messages
from services.alarm.domain import CompositeRule, GnocchiRule, PrometheusRule, Rule, ThresholdRule

"""Dimensions of a rule, as of a series (a rule with more would match no series)."""
MAX_DESCRIPTION_LENGTH = 1024
MAX_ACTIONS = 10
"""Actions per state (AWS allows 5; a few more cost nothing)."""
MAX_ACTION_LENGTH = 2048
"""Characters of an action (a policy name or a URL): what browsers and servers commonly take of a URL."""
MIN_PERIOD = 1.0
MAX_PERIOD = 86400.0
MAX_EVALUATION_PERIODS = 1440
MAX_REASON_LENGTH = 1024
MAX_QUERY_LENGTH = 4096
"""Characters of a PromQL query: far more than alerting rules take, far less than a URL or form may carry."""
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""What a query may not hold: control characters but tab and line feed (which PromQL reads as spaces)."""

_GNOCCHI_PER_METRIC = ("mean", "min", "max", "sum", "count", "std", "median", "first", "last")
_GNOCCHI_ACROSS = ("mean", "min", "max", "sum", "count", "std", "median")
GNOCCHI_AGGREGATION_METHODS = frozenset(
    (*_GNOCCHI_PER_METRIC, *(f"{rank}pct" for rank in range(1, 100)), *(f"rate:{method}" for method in _GNOCCHI_PER_METRIC))
)
"""What Gnocchi aggregates one metric's measures by (its archive_policy VALID_AGGREGATION_METHODS): its default methods,
the percentiles 1pct to 99pct and the rate (difference) of each default one. The archive policy must have it."""
GNOCCHI_ACROSS_METHODS = frozenset((*_GNOCCHI_ACROSS, *(f"rate:{method}" for method in _GNOCCHI_ACROSS)))
"""What Gnocchi's /v1/aggregates `aggregate` operation takes across metrics (resource_query, metric_ids): each metric is
read by the same method (less its `rate:`), then they are aggregated by it."""
MAX_GNOCCHI_NAME_LENGTH = 255
"""Characters of a Gnocchi metric name, resource type or resource id (its index's columns are 255 long)."""
MAX_GNOCCHI_METRIC_IDS = 10
_RESOURCE_TYPE = re.compile(r"^[A-Za-z0-9_-]+$")
_SLASH_OR_CONTROL = re.compile(r"[/\x00-\x1f\x7f-\x9f]")
"""What a Gnocchi name or resource id may not hold: it is a segment of a URL's path."""
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

RULE_KINDS = ("threshold_rule", "prometheus_rule", "gnocchi_rule", "composite_rule")
"""The Alarm fields of the rule kinds, of which exactly one is set."""


def check_threshold_rule(violations: Violations, message: alarm_pb2.ThresholdRule, prefix: str) -> ThresholdRule | None:
    """The rule a ThresholdRule message describes; None (with the violations recorded) when it breaks a rule."""
    before = len(violations.items)
    check_metric(violations, f"{prefix}.metric", message.metric)
    for key, value in message.dimensions.items():
        check_dimension(violations, f"{prefix}.dimensions", key, value)
    violations.check(
        len(message.dimensions) <= MAX_DIMENSIONS, f"{prefix}.dimensions",
        f"must hold at most {MAX_DIMENSIONS} dimensions, got {len(message.dimensions)}",
    )
    check_enum(violations, f"{prefix}.statistic", message.statistic, common_pb2.Statistic)
    check_enum(violations, f"{prefix}.comparison_operator", message.comparison_operator, alarm_pb2.ComparisonOperator)
    check_finite(violations, f"{prefix}.threshold", message.threshold)
    period, evaluation_periods = _check_periods(
        violations, prefix, message.period if message.HasField("period") else None, message.evaluation_periods
    )
    if len(violations.items) > before or not math.isfinite(message.threshold):
        return None
    return ThresholdRule(
        metric=message.metric,
        dimensions=tuple(sorted(message.dimensions.items())),
        statistic=STATISTICS_BY_NUMBER[message.statistic],
        comparison=messages.COMPARISONS[message.comparison_operator],
        threshold=message.threshold,
        period=period,
        evaluation_periods=evaluation_periods,
    )


def check_prometheus_rule(violations: Violations, message: alarm_pb2.PrometheusRule, prefix: str) -> PrometheusRule | None:
    """The rule a PrometheusRule message describes; None (with the violations recorded) when it breaks a rule."""
    before = len(violations.items)
    check_query(violations, f"{prefix}.query", message.query)
    check_enum(violations, f"{prefix}.comparison_operator", message.comparison_operator, alarm_pb2.ComparisonOperator)
    check_finite(violations, f"{prefix}.threshold", message.threshold)
    period, evaluation_periods = _check_periods(
        violations, prefix, message.period if message.HasField("period") else None, message.evaluation_periods
    )
    if len(violations.items) > before or not math.isfinite(message.threshold):
        return None
    return PrometheusRule(
        query=message.query,
        comparison=messages.COMPARISONS[message.comparison_operator],
        threshold=message.threshold,
        period=period,
        evaluation_periods=evaluation_periods,
    )


def check_gnocchi_rule(violations: Violations, message: alarm_pb2.GnocchiRule, prefix: str) -> GnocchiRule | None:
    """The rule a GnocchiRule message describes; None (with the violations recorded) when it breaks a rule."""
    before = len(violations.items)
    targets = [
        name for name, given in (
            ("resource_id", bool(message.resource_id)), ("resource_query", bool(message.resource_query)),
            ("metric_ids", bool(message.metric_ids)),
        ) if given
    ]
    metric_ids: tuple[str, ...] = ()
    if not targets:
        violations.add(
            f"{prefix}.resource_id",
            f"is required unless {prefix}.resource_query or {prefix}.metric_ids is set: a gnocchi_rule reads one resource's "
            "metric, the metric of the resources a search matches, or metrics by id",
        )
    for extra in targets[1:]:
        violations.add(f"{prefix}.{extra}", f"must not be set with {prefix}.{targets[0]}: a gnocchi_rule has exactly one target")
    across = targets[:1] != ["resource_id"]
    if targets[:1] == ["metric_ids"]:
        metric_ids = _check_metric_ids(violations, f"{prefix}.metric_ids", list(message.metric_ids))
        for name in ("metric", "resource_type"):
            violations.check(
                not getattr(message, name), f"{prefix}.{name}",
                f"must be empty with {prefix}.metric_ids (the metrics are named by id)",
            )
    elif targets:
        _check_gnocchi_name(violations, f"{prefix}.metric", message.metric, "a metric name such as cpu_util")
        if _check_gnocchi_name(violations, f"{prefix}.resource_type", message.resource_type, "a resource type such as instance"):
            violations.check(
                _RESOURCE_TYPE.match(message.resource_type) is not None, f"{prefix}.resource_type",
                f"must hold only letters, digits, \"_\" and \"-\", got {quoted(message.resource_type)}",
            )
        if targets[0] == "resource_id":
            _check_resource_id(violations, f"{prefix}.resource_id", message.resource_id)
        else:
            _check_resource_query(violations, f"{prefix}.resource_query", message.resource_query)
    _check_aggregation_method(violations, f"{prefix}.aggregation_method", message.aggregation_method, across=across)
    check_enum(violations, f"{prefix}.comparison_operator", message.comparison_operator, alarm_pb2.ComparisonOperator)
    check_finite(violations, f"{prefix}.threshold", message.threshold)
    period, evaluation_periods = _check_periods(
        violations, prefix, message.period if message.HasField("period") else None, message.evaluation_periods
    )
    violations.check(
        period == int(period), f"{prefix}.period", f"must be whole seconds (a granularity of Gnocchi), got {period:g}s"
    )
    if len(violations.items) > before or not math.isfinite(message.threshold):
        return None
    return GnocchiRule(
        metric=message.metric,
        resource_type=message.resource_type,
        resource_id=message.resource_id,
        resource_query=message.resource_query,
        metric_ids=metric_ids,
        aggregation_method=message.aggregation_method,
        comparison=messages.COMPARISONS[message.comparison_operator],
        threshold=message.threshold,
        period=period,
        evaluation_periods=evaluation_periods,
    )


def check_composite_rule(violations: Violations, message: alarm_pb2.CompositeRule, prefix: str) -> CompositeRule | None:
    """The rule a CompositeRule message describes (its expression readable: services.alarm.composite); None (with the
    violation recorded) when it is not. Whether the alarms it names exist, and make no cycle, is the servicer's to check."""
    try:
        composite.parse(message.expression)
    except composite.ExpressionError as error:
        violations.add(f"{prefix}.expression", str(error))
        return None
    return CompositeRule(message.expression)


def _check_gnocchi_name(violations: Violations, field_path: str, name: str, example: str) -> bool:
    """A metric name or resource type: required, at most MAX_GNOCCHI_NAME_LENGTH, no "/" or control characters."""
    if not name:
        violations.add(field_path, f"is required with a resource_id or a resource_query; {example}")
    elif len(name) > MAX_GNOCCHI_NAME_LENGTH:
        violations.add(field_path, f"must be at most {MAX_GNOCCHI_NAME_LENGTH} characters long, got {len(name)}")
    elif _SLASH_OR_CONTROL.search(name):
        violations.add(field_path, f"must hold no \"/\" or control characters, got {quoted(name)}")
    else:
        return True
    return False


def _check_resource_id(violations: Violations, field_path: str, resource_id: str) -> None:
    """One resource's id (Gnocchi takes any text, mapping what is no UUID to one): at most MAX_GNOCCHI_NAME_LENGTH, no "/"
    or control characters (it is a segment of the URL)."""
    if len(resource_id) > MAX_GNOCCHI_NAME_LENGTH:
        violations.add(field_path, f"must be at most {MAX_GNOCCHI_NAME_LENGTH} characters long, got {len(resource_id)}")
    elif _SLASH_OR_CONTROL.search(resource_id):
        violations.add(field_path, f"must hold no \"/\" or control characters, got {quoted(resource_id)}")
    elif resource_id != resource_id.strip():
        violations.add(field_path, f"must have no surrounding spaces, got {quoted(resource_id)}")


def _check_resource_query(violations: Violations, field_path: str, resource_query: str) -> None:
    """A Gnocchi search: JSON text of a non-empty object, at most MAX_QUERY_LENGTH characters (Gnocchi judges the rest)."""
    if len(resource_query) > MAX_QUERY_LENGTH:
        violations.add(field_path, f"must be at most {MAX_QUERY_LENGTH} characters long, got {len(resource_query)}")
        return
    try:
        search = json.loads(resource_query)
    except ValueError as error:
        violations.add(field_path, f'must be JSON of a Gnocchi search such as {{"=": {{"server_group": "web"}}}}: {error}')
        return
    violations.check(
        isinstance(search, dict) and bool(search), field_path,
        'must be a JSON object, a Gnocchi search such as {"=": {"server_group": "web"}}',
    )


def _check_metric_ids(violations: Violations, field_path: str, metric_ids: list[str]) -> tuple[str, ...]:
    """1 to MAX_GNOCCHI_METRIC_IDS distinct metric ids in UUID form; their canonical (lower case) form."""
    violations.check(
        len(metric_ids) <= MAX_GNOCCHI_METRIC_IDS, field_path,
        f"must hold 1 to {MAX_GNOCCHI_METRIC_IDS} metric ids, got {len(metric_ids)}",
    )
    canonical: list[str] = []
    for position, metric_id in enumerate(metric_ids):
        if _UUID.match(metric_id) is None:
            violations.add(f"{field_path}[{position}]", f"must be a metric id (a UUID), got {quoted(metric_id)}")
            continue
        identifier = str(uuid.UUID(metric_id))
        if identifier in canonical:
            violations.add(f"{field_path}[{position}]", f"repeats {quoted(metric_id)}; each metric is named once")
        canonical.append(identifier)
    return tuple(canonical)


def _check_aggregation_method(violations: Violations, field_path: str, method: str, *, across: bool) -> None:
    """One of GNOCCHI_AGGREGATION_METHODS, and of GNOCCHI_ACROSS_METHODS when the rule aggregates across metrics."""
    if not method:
        violations.add(field_path, "is required; e.g. mean, max, sum or 95pct")
    elif method not in GNOCCHI_AGGREGATION_METHODS:
        violations.add(
            field_path,
            f"must be one of {', '.join(_GNOCCHI_PER_METRIC)}, a percentile 1pct to 99pct, or rate: and one of them; "
            f"got {quoted(method)}",
        )
    elif across and method not in GNOCCHI_ACROSS_METHODS:
        violations.add(
            field_path,
            f"must be one of {', '.join(_GNOCCHI_ACROSS)} (or rate: and one of them) with a resource_query or metric_ids, "
            f"which Gnocchi aggregates across metrics; got {quoted(method)}",
        )


def check_query(violations: Violations, field_path: str, query: str) -> None:
    """A PromQL query: 1 to MAX_QUERY_LENGTH characters, no control characters but tab and line feed (Prometheus judges the
    rest when it evaluates it)."""
    if not query.strip():
        violations.add(field_path, "is required; a PromQL expression that evaluates to one series, e.g. avg(rate(cpu_seconds_total[1m]))")
    elif len(query) > MAX_QUERY_LENGTH:
        violations.add(field_path, f"must be at most {MAX_QUERY_LENGTH} characters long, got {len(query)}")
    elif (control := _CONTROL_CHARACTERS.search(query)) is not None:
        violations.add(
            field_path, f"must hold no control characters but tab and line feed, got U+{ord(control.group()):04X} at {control.start()}"
        )


def _check_periods(violations: Violations, prefix: str, period_message: Duration | None, evaluation_periods: int) -> tuple[float, int]:
    """A rule's period (required, MIN_PERIOD to MAX_PERIOD) and evaluation_periods (0 meaning 1, at most
    MAX_EVALUATION_PERIODS), the same for every rule kind; meaningful only without new violations."""
    period = 0.0
    if period_message is None:
        violations.add(f"{prefix}.period", "is required; a duration such as 60s")
    else:
        period = check_duration(violations, f"{prefix}.period", period_message, allow_zero=False, maximum=MAX_PERIOD)
        if 0 < period < MIN_PERIOD:
            violations.add(f"{prefix}.period", f"must be between {MIN_PERIOD:g}s and {MAX_PERIOD:g}s, got {period:g}s")
    periods = evaluation_periods or 1
    violations.check(
        1 <= periods <= MAX_EVALUATION_PERIODS,
        f"{prefix}.evaluation_periods",
        f"must be between 0 (meaning 1) and {MAX_EVALUATION_PERIODS}, got {evaluation_periods}",
    )
    return period, periods


def _with_missing_data_settings(violations: Violations, message: alarm_pb2.Alarm, prefix: str, rule: Rule) -> Rule:
    """`rule` with the alarm's CloudWatch settings (datapoints_to_alarm, treat_missing_data), which judge its periods (a
    composite rule has none)."""
    if isinstance(rule, CompositeRule):
        for name in ("datapoints_to_alarm", "treat_missing_data"):
            violations.check(
                not getattr(message, name), f"{prefix}.{name}", "must be unset with a composite_rule, which has no periods"
            )
        return rule
    to_alarm = message.datapoints_to_alarm
    violations.check(
        0 <= to_alarm <= rule.evaluation_periods, f"{prefix}.datapoints_to_alarm",
        f"must be between 0 (meaning all) and the rule's evaluation_periods ({rule.evaluation_periods}): M breaching datapoints "
        f"out of the newest N alarm; got {to_alarm}",
    )
    treatment = None
    if message.treat_missing_data:
        check_enum(violations, f"{prefix}.treat_missing_data", message.treat_missing_data, alarm_pb2.TreatMissingData)
        treatment = messages.MISSING_DATA_TREATMENTS.get(message.treat_missing_data)
    return replace(rule, datapoints_to_alarm=max(to_alarm, 0), treat_missing_data=treatment)


def check_actions(violations: Violations, field_path: str, targets: list[str], guard: AddressGuard) -> tuple[str, ...]:
    """A state's actions: at most MAX_ACTIONS, each `policies/{id}` or an http(s) URL of at most MAX_ACTION_LENGTH that
    `guard` does not refuse (see autoscale.validation.check_action_target)."""
    violations.check(len(targets) <= MAX_ACTIONS, field_path, f"must hold at most {MAX_ACTIONS} actions, got {len(targets)}")
    for position, target in enumerate(targets):
        if len(target) > MAX_ACTION_LENGTH:
            violations.add(f"{field_path}[{position}]", f"must be at most {MAX_ACTION_LENGTH} characters long, got {len(target)}")
        else:
            check_action_target(violations, f"{field_path}[{position}]", target, guard)
    return tuple(targets)


def check_description(violations: Violations, field_path: str, description: str) -> str:
    """Free text, bounded."""
    violations.check(
        len(description) <= MAX_DESCRIPTION_LENGTH, field_path, f"must be at most {MAX_DESCRIPTION_LENGTH} characters long"
    )
    return description


def check_reason(violations: Violations, field_path: str, reason: str) -> str:
    """An operator's reason for forcing a state, bounded."""
    violations.check(len(reason) <= MAX_REASON_LENGTH, field_path, f"must be at most {MAX_REASON_LENGTH} characters long")
    return reason


@dataclass(frozen=True)
class AlarmDefinition:
    """What a caller defines of an alarm (everything but its state)."""

    rule: Rule
    description: str
    alarm_actions: tuple[str, ...]
    ok_actions: tuple[str, ...]
    insufficient_data_actions: tuple[str, ...]
    repeat_actions: bool
    disabled: bool


def check_owner(violations: Violations, field_path: str, owner: str) -> None:
    """An alarm's owner: empty, or the resource that made it, `policies/{id}` (a target tracking policy)."""
    if owner:
        try_parse_name(violations, field_path, owner, "policies")


def check_alarm(
    violations: Violations, message: alarm_pb2.Alarm, guard: AddressGuard, prefix: str = "alarm"
) -> AlarmDefinition | None:
    """The definition an Alarm message gives, its webhooks held to `guard`; None (with the violations recorded) when it
    breaks a rule."""
    before = len(violations.items)
    rule: Rule | None = None
    kinds = [kind for kind in RULE_KINDS if message.HasField(kind)]
    if not kinds:
        violations.add(
            f"{prefix}.threshold_rule",
            f"is required unless {prefix}.prometheus_rule, {prefix}.gnocchi_rule or {prefix}.composite_rule is set: an alarm "
            "has exactly one rule kind",
        )
    elif len(kinds) > 1:
        for extra in kinds[1:]:
            violations.add(f"{prefix}.{extra}", f"must not be set with {prefix}.{kinds[0]}: an alarm has exactly one rule kind")
    elif kinds[0] == "threshold_rule":
        rule = check_threshold_rule(violations, message.threshold_rule, f"{prefix}.threshold_rule")
    elif kinds[0] == "prometheus_rule":
        rule = check_prometheus_rule(violations, message.prometheus_rule, f"{prefix}.prometheus_rule")
    elif kinds[0] == "gnocchi_rule":
        rule = check_gnocchi_rule(violations, message.gnocchi_rule, f"{prefix}.gnocchi_rule")
    else:
        rule = check_composite_rule(violations, message.composite_rule, f"{prefix}.composite_rule")
    if rule is not None:
        rule = _with_missing_data_settings(violations, message, prefix, rule)
    description = check_description(violations, f"{prefix}.description", message.description)
    alarm_actions = check_actions(violations, f"{prefix}.alarm_actions", list(message.alarm_actions), guard)
    ok_actions = check_actions(violations, f"{prefix}.ok_actions", list(message.ok_actions), guard)
    insufficient_data_actions = check_actions(
        violations, f"{prefix}.insufficient_data_actions", list(message.insufficient_data_actions), guard
    )
    if rule is None or len(violations.items) > before:
        return None
    return AlarmDefinition(
        rule=rule,
        description=description,
        alarm_actions=alarm_actions,
        ok_actions=ok_actions,
        insufficient_data_actions=insufficient_data_actions,
        repeat_actions=message.repeat_actions,
        disabled=message.disabled,
    )
