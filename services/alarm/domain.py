"""The alarm service's domain objects: alarms, their rules (over our metrics, or over an external store), states and
history entries.

Times are floats (seconds since the epoch); nothing here does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from autoscale.identity.caller import SERVICE_PRINCIPAL
from autoscale.series import Statistic


class AlarmState(enum.Enum):
    """The three states of an alarm (as Aodh and CloudWatch name them)."""

    OK = "ok"
    ALARM = "alarm"
    INSUFFICIENT_DATA = "insufficient data"


class ComparisonOperator(enum.Enum):
    """How a statistic is compared with the threshold; the value is the symbol people read."""

    GREATER_THAN = ">"
    GREATER_THAN_OR_EQUAL = ">="
    LESS_THAN = "<"
    LESS_THAN_OR_EQUAL = "<="

    def breaches(self, value: float, threshold: float) -> bool:
        """Whether `value` is on the alarming side of `threshold`."""
        if self is ComparisonOperator.GREATER_THAN:
            return value > threshold
        if self is ComparisonOperator.GREATER_THAN_OR_EQUAL:
            return value >= threshold
        if self is ComparisonOperator.LESS_THAN:
            return value < threshold
        return value <= threshold


class TreatMissingData(enum.Enum):
    """How an alarm that follows CloudWatch's rule treats periods without data (CloudWatch's names)."""

    MISSING = "missing"
    """The datapoints there are decide; too few of them: INSUFFICIENT_DATA."""
    NOT_BREACHING = "notBreaching"
    BREACHING = "breaching"
    IGNORE = "ignore"
    """As MISSING, but the state stays where MISSING would give INSUFFICIENT_DATA."""


AlarmKey = tuple[str, str]
"""What names an alarm across projects: (project, alarm id). An alarm id names one alarm only within its project.

A plain tuple, not a named one: a sweep makes one per alarm."""


class HistoryType(enum.Enum):
    """Kinds of events in an alarm's history."""

    CREATION = "creation"
    RULE_CHANGE = "rule change"
    STATE_TRANSITION = "state transition"
    ACTION = "action"
    STATE_REASON_CHANGE = "state reason change"
    """It stayed in its state for another reason (an external store's error); no action runs."""


@dataclass(frozen=True)
class ThresholdRule:
    """Compare `statistic` of `metric` (series whose dimensions include `dimensions`) with `threshold`."""

    metric: str
    dimensions: tuple[tuple[str, str], ...]
    """Sorted (key, value) pairs."""
    statistic: Statistic
    comparison: ComparisonOperator
    threshold: float
    period: float
    """Seconds, > 0."""
    evaluation_periods: int
    """>= 1 (the API's 0 is stored as 1)."""
    datapoints_to_alarm: int = 0
    """CloudWatch's M of N: breaching datapoints among the newest evaluation_periods that give ALARM, 1 to
    evaluation_periods; 0: not set (see follows_cloudwatch)."""
    treat_missing_data: TreatMissingData | None = None
    """How periods without data count; None: not set (see follows_cloudwatch)."""

    def describe(self) -> str:
        """The rule's left-hand side for people, e.g. `average(cpu_util{group=web})`."""
        dims = ",".join(f"{key}={value}" for key, value in self.dimensions)
        return f"{self.statistic.value}({self.metric}{{{dims}}})" if dims else f"{self.statistic.value}({self.metric})"

    def matches_series(self, metric: str, dimensions: dict[str, str]) -> bool:
        """Whether points of this series count towards the rule (its dimensions include the rule's)."""
        return metric == self.metric and all(dimensions.get(key) == value for key, value in self.dimensions)


PROMETHEUS = "prometheus"
"""The store of a PrometheusRule (the name its alarms' store is known by: services.alarm.stores)."""


@dataclass(frozen=True)
class PrometheusRule:
    """Compare the value of a PromQL `query` with `threshold`, period by period, as a ThresholdRule compares a statistic."""

    query: str
    comparison: ComparisonOperator
    threshold: float
    period: float
    """Seconds, > 0: the step of the query_range."""
    evaluation_periods: int
    """>= 1 (the API's 0 is stored as 1)."""
    datapoints_to_alarm: int = 0
    """CloudWatch's M of N: breaching datapoints among the newest evaluation_periods that give ALARM, 1 to
    evaluation_periods; 0: not set (see follows_cloudwatch)."""
    treat_missing_data: TreatMissingData | None = None
    """How periods without data count; None: not set (see follows_cloudwatch)."""

    store = PROMETHEUS
    """Where its datapoints come from."""

    def describe(self) -> str:
        """The rule's left-hand side for people: its query, on one line."""
        return " ".join(self.query.split())


GNOCCHI = "gnocchi"
"""The store of a GnocchiRule (the name its alarms' store is known by: services.alarm.stores)."""


@dataclass(frozen=True)
class GnocchiRule:
    """Compare an aggregate of Gnocchi's measures with `threshold`, period by period, as a ThresholdRule compares a statistic.

    Its target is exactly one of (Aodh's three Gnocchi rule types): `resource_id` (the `metric` of one resource,
    gnocchi_resources_threshold), `resource_query` (the `metric` of every resource of `resource_type` a search matches,
    aggregated across them: gnocchi_aggregation_by_resources_threshold), or `metric_ids` (those metrics aggregated
    across them: gnocchi_aggregation_by_metrics_threshold)."""

    metric: str
    """The metric's name on its resources ("" with metric_ids)."""
    resource_type: str
    """The resources' type, e.g. `instance` ("" with metric_ids)."""
    resource_id: str
    """The one resource whose metric is read, or ""."""
    resource_query: str
    """A Gnocchi search (JSON text of an object, e.g. {"=": {"server_group": "web"}}), or ""."""
    metric_ids: tuple[str, ...]
    """Metric ids (UUIDs) aggregated across, or ()."""
    aggregation_method: str
    """Gnocchi's aggregation method of each metric's measures (and across metrics), e.g. `mean`."""
    comparison: ComparisonOperator
    threshold: float
    period: float
    """Seconds, > 0: the granularity asked, one the metrics' archive policy must have."""
    evaluation_periods: int
    """>= 1 (the API's 0 is stored as 1)."""
    datapoints_to_alarm: int = 0
    """CloudWatch's M of N: breaching datapoints among the newest evaluation_periods that give ALARM, 1 to
    evaluation_periods; 0: not set (see follows_cloudwatch)."""
    treat_missing_data: TreatMissingData | None = None
    """How periods without data count; None: not set (see follows_cloudwatch)."""

    store = GNOCCHI
    """Where its datapoints come from."""

    def describe(self) -> str:
        """The rule's left-hand side for people, e.g. `mean(cpu_util of instance {"=": {"server_group": "web"}})`."""
        if self.metric_ids:
            return f"{self.aggregation_method}(metrics {', '.join(self.metric_ids)})"
        target = self.resource_id or " ".join(self.resource_query.split())
        return f"{self.aggregation_method}({self.metric} of {self.resource_type} {target})"


class MissingDataSettings(Protocol):
    """CloudWatch's settings of how periods are judged, which every periodic rule kind has."""

    @property
    def datapoints_to_alarm(self) -> int: ...
    @property
    def treat_missing_data(self) -> TreatMissingData | None: ...


def follows_cloudwatch(rule: MissingDataSettings) -> bool:
    """Whether a rule's periods are judged by CloudWatch's rule (M of N, missing data treated as told) rather than Aodh's
    (all breaching: ALARM; none: OK; mixed: the state stays): CloudWatch's as soon as either of its settings is set."""
    return rule.datapoints_to_alarm > 0 or rule.treat_missing_data is not None


StoreRule = PrometheusRule | GnocchiRule
"""A rule over an external metric store (services.alarm.stores): evaluated by the sweep, never by arriving samples."""

COMPOSITE_REPEAT_PERIOD = 60.0
"""Seconds between two runs of a composite alarm's repeated actions while it stays in its state (it has no period of
its own; CloudWatch invokes Auto Scaling actions once a minute)."""


@dataclass(frozen=True)
class CompositeRule:
    """ALARM while `expression` (CloudWatch's AlarmRule syntax, services.alarm.composite) over other alarms' states of the
    same project is true, OK while it is false; judged again whenever one of them changes state."""

    expression: str

    period = COMPOSITE_REPEAT_PERIOD
    """How often its repeated actions run while it stays in its state."""

    def describe(self) -> str:
        """The expression on one line."""
        return " ".join(self.expression.split())


PeriodicRule = ThresholdRule | StoreRule
"""A rule judged period by period over datapoints."""

Rule = PeriodicRule | CompositeRule
"""Any rule kind; an alarm has exactly one."""


@dataclass(frozen=True)
class Alarm:
    """A threshold alarm, its actions per state, and where its state machine stands."""

    id: str
    rule: Rule
    description: str = ""
    alarm_actions: tuple[str, ...] = ()
    ok_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()
    repeat_actions: bool = False
    disabled: bool = False
    state: AlarmState = AlarmState.INSUFFICIENT_DATA
    state_reason: str = "Not evaluated yet"
    state_time: float = 0.0
    create_time: float = 0.0
    evaluate_time: float | None = None
    revision: int = 0
    """Updates of the definition stored before this one (not part of the API: it tells stored definitions apart)."""
    repeat_time: float | None = None
    """When the actions of its state last ran again while it stayed in it (None: never; older than state_time: not in
    this stay). Not part of the API: it spaces the repeats a period apart, across restarts too."""
    project: str = field(kw_only=True)
    """The project it belongs to: it watches that project's series and its actions act in that project."""
    owner: str = field(default="", kw_only=True)
    """The resource that made it and changes and deletes it (`policies/{id}`: a target tracking policy's); "" for none."""

    @property
    def key(self) -> AlarmKey:
        """(project, id): what names it among every project's alarms."""
        return self.project, self.id

    webhook_secret: str = field(default="", repr=False)
    """The key that signs its webhooks (autoscale.signing), as stored when this copy was read (a webhook is
    signed with the one stored when it is sent); its owner sees it only in the answer that made it."""

    def actions_for(self, state: AlarmState) -> tuple[str, ...]:
        """The actions run when the alarm enters (or, repeating, stays in) `state`."""
        if state is AlarmState.ALARM:
            return self.alarm_actions
        if state is AlarmState.OK:
            return self.ok_actions
        return self.insufficient_data_actions

    def repeated_actions(self) -> tuple[str, ...]:
        """The actions of its state that run again, once per period, while it stays in that state.

        Policy actions always repeat, as CloudWatch invokes an Auto Scaling action once a minute for as
        long as its alarm stays in the state: a signal the policy refused (the group was resizing or
        cooling down) is then tried again, and a group under sustained load keeps scaling after each
        cooldown. Webhooks repeat only with `repeat_actions`, as in Aodh.
        """
        actions = self.actions_for(self.state)
        if self.repeat_actions or not actions:
            return actions
        return tuple(target for target in actions if is_policy_action(target))

    def repeat_due(self, now: float) -> bool:
        """Whether actions repeat in its state and a period has passed since they last ran (on entering it, or repeating)."""
        last = self.state_time if self.repeat_time is None else max(self.state_time, self.repeat_time)
        return now - last >= self.rule.period and bool(self.repeated_actions())


@dataclass(frozen=True)
class HistoryEntry:
    """One event of an alarm's life."""

    alarm_id: str
    time: float
    type: HistoryType
    reason: str
    previous_state: AlarmState | None = None
    state: AlarmState | None = None
    action: str = ""
    action_succeeded: bool = False
    attempt: int = 0
    caller: str = SERVICE_PRINCIPAL
    """Who made it happen: the principal of the call (autoscale.identity), the mesh itself for evaluations and actions."""
    sequence: int = field(default=0, compare=False)
    """Storage order, which breaks ties between entries of the same time."""


@dataclass(frozen=True)
class PendingAction:
    """An action decided and stored, not yet done: it survives a restart until it succeeds or is given up."""

    id: int
    alarm_id: str
    target: str
    previous_state: AlarmState
    state: AlarmState
    reason: str
    reason_data: dict[str, Any]
    time: float
    repeat: bool
    """True when the alarm stayed in `state` and repeats its actions, False on a transition."""
    attempts: int = 0
    """Attempts made so far."""
    project: str = field(kw_only=True)
    """The project of its alarm."""


NO_REASON_DATA: Mapping[str, Any] = MappingProxyType({})
"""The reason data of a change that gives none (shared, so read-only)."""


POLICY_ACTION_PREFIX = "policies/"
"""How an action that executes a scaling policy starts (any other action is a webhook URL)."""


def is_policy_action(target: str) -> bool:
    """Whether an action target is a scaling policy (`policies/{id}`), run through ExecutePolicy."""
    return target.startswith(POLICY_ACTION_PREFIX)


def alarm_name(alarm_id: str) -> str:
    """The resource name of an alarm."""
    return f"alarms/{alarm_id}"


def describe_alarm(key: AlarmKey) -> str:
    """An alarm as the log names it: its name and project (the same name may be taken in several projects)."""
    project, alarm_id = key
    return f"{alarm_name(alarm_id)} of project {project}"
