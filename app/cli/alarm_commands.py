"""`autoscale alarm ...`: threshold alarms (over our metrics, a PromQL query over Prometheus, or Gnocchi's measures), their
state, history and actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from app.cli.choices import ALARM_STATE, COMPARISON, COMPARISON_SYMBOLS, MISSING_DATA, STATISTIC, word_for
from app.cli.client import ALARM, Client, client_command
from app.cli.output import duration_text, enum_label, pairs_text, print_table, time_text, yes_no
from app.cli.params import DURATION, KEY_VALUE, apply_options, as_dict, duration_or_none, resource_id
from app.cli.resources import ResourceKind, add_standard_commands, update_mask
from autoscale.v1 import alarm_pb2


def state_text(state: int) -> str:
    """An alarm state for people, e.g. `insufficient-data`."""
    return enum_label(alarm_pb2.AlarmState.DESCRIPTOR, state)


def rule_text(rule: alarm_pb2.ThresholdRule) -> str:
    """A threshold rule on one line, e.g. `avg(cpu{group=web}) > 80 for 3 x 1m`."""
    dimensions = f"{{{pairs_text(rule.dimensions)}}}" if rule.dimensions else ""
    symbol = COMPARISON_SYMBOLS.get(rule.comparison_operator, "?")
    periods = max(rule.evaluation_periods, 1)  # 0 means 1
    return (
        f"{word_for(STATISTIC, rule.statistic)}({rule.metric}{dimensions}) {symbol} {rule.threshold:g}"
        f" for {periods} x {duration_text(rule, 'period')}"
    )


def prometheus_rule_text(rule: alarm_pb2.PrometheusRule) -> str:
    """A Prometheus rule on one line, e.g. `avg(rate(cpu[1m])) > 0.8 for 2 x 1m (Prometheus)`."""
    symbol = COMPARISON_SYMBOLS.get(rule.comparison_operator, "?")
    periods = max(rule.evaluation_periods, 1)  # 0 means 1
    query = " ".join(rule.query.split())
    return f"{query} {symbol} {rule.threshold:g} for {periods} x {duration_text(rule, 'period')} (Prometheus)"


def gnocchi_rule_text(rule: alarm_pb2.GnocchiRule) -> str:
    """A Gnocchi rule on one line, e.g. `mean(cpu_util of instance {"=": {"server_group": "web"}}) > 80 for 2 x 1m
    (Gnocchi)`."""
    symbol = COMPARISON_SYMBOLS.get(rule.comparison_operator, "?")
    periods = max(rule.evaluation_periods, 1)  # 0 means 1
    if rule.metric_ids:
        target = f"metrics {', '.join(rule.metric_ids)}"
    else:
        target = f"{rule.metric} of {rule.resource_type} {rule.resource_id or ' '.join(rule.resource_query.split())}"
    return (
        f"{rule.aggregation_method}({target}) {symbol} {rule.threshold:g} for {periods} x {duration_text(rule, 'period')}"
        " (Gnocchi)"
    )


def alarm_rule_text(alarm: alarm_pb2.Alarm) -> str:
    """The rule of an alarm, whatever its kind, on one line."""
    if alarm.HasField("composite_rule"):
        return f"{' '.join(alarm.composite_rule.expression.split())} (composite)"
    if alarm.HasField("prometheus_rule"):
        return prometheus_rule_text(alarm.prometheus_rule)
    if alarm.HasField("gnocchi_rule"):
        return gnocchi_rule_text(alarm.gnocchi_rule)
    return rule_text(alarm.threshold_rule)


def judgement_text(alarm: alarm_pb2.Alarm) -> str:
    """How an alarm's periods are judged, e.g. `2 of 3 breaching alarm; missing data: breaching` (CloudWatch's rule)."""
    if alarm.HasField("composite_rule"):
        return "alarm while the expression is true, ok while it is false, again whenever an alarm it names moves"
    rule = next((getattr(alarm, kind) for kind in ("prometheus_rule", "gnocchi_rule") if alarm.HasField(kind)), alarm.threshold_rule)
    periods = max(rule.evaluation_periods, 1)  # 0 means 1
    if not alarm.datapoints_to_alarm and not alarm.treat_missing_data:
        return f"all {periods} breaching alarm, none ok, otherwise the state stays (Aodh's rule)"
    treatment = word_for(MISSING_DATA, alarm.treat_missing_data) if alarm.treat_missing_data else "missing"
    return f"{alarm.datapoints_to_alarm or periods} of {periods} breaching alarm, fewer ok; missing data: {treatment}"


def _actions_text(actions: Any) -> str:
    return ", ".join(actions) or "-"


def _row(alarm: alarm_pb2.Alarm) -> list[str]:
    return [
        resource_id(alarm.name),
        state_text(alarm.state),
        alarm_rule_text(alarm),
        yes_no(not alarm.disabled),
        time_text(alarm, "state_time"),
    ]


def _details(alarm: alarm_pb2.Alarm) -> list[tuple[str, str]]:
    return [
        ("name", alarm.name),
        ("description", alarm.description or "-"),
        ("state", state_text(alarm.state)),
        ("state reason", alarm.state_reason or "-"),
        ("state since", time_text(alarm, "state_time")),
        ("rule", alarm_rule_text(alarm)),
        ("judged", judgement_text(alarm)),
        ("alarm actions", _actions_text(alarm.alarm_actions)),
        ("ok actions", _actions_text(alarm.ok_actions)),
        ("insufficient data actions", _actions_text(alarm.insufficient_data_actions)),
        ("repeat actions", yes_no(alarm.repeat_actions)),
        ("enabled", yes_no(not alarm.disabled)),
        ("created", time_text(alarm, "create_time")),
        ("evaluated", time_text(alarm, "evaluate_time")),
        # An alarm a policy made: changed and deleted with it.
        *([("owner", alarm.owner)] if alarm.owner else []),
        # Only the answer that made it holds it: shown this once.
        *([("webhook secret", alarm.webhook_secret)] if alarm.webhook_secret else []),
    ]


ALARM_KIND = ResourceKind(
    service=ALARM,
    singular="Alarm",
    plural="Alarms",
    collection="alarms",
    field="alarm",
    list_field="alarms",
    label="alarm",
    columns=("ID", "STATE", "RULE", "ENABLED", "STATE SINCE"),
    row=_row,
    details=_details,
)


def _alarm_options(required: bool) -> Callable[[Any], Any]:
    """The options that define an alarm: required on create (where they are), all optional on update (which may also make
    a new webhook secret)."""
    new_secret = [] if required else [
        click.option("--new-webhook-secret", "webhook_secret", is_flag=True, default=None,
                     help="Make a new secret to sign its webhooks, shown this once; the old one stops signing at once."),
    ]
    return apply_options([
        *new_secret,
        click.option("--metric", help="Metric the rule watches (with --statistic; or give --prometheus-query)."),
        click.option("--dimension", "dimensions", multiple=True, type=KEY_VALUE,
                     help="Only series with this dimension (repeatable)."),
        click.option("--statistic", type=STATISTIC, help="Statistic of each period."),
        click.option("--prometheus-query", metavar="QUERY",
                     help="A PromQL query of one series, evaluated once a period by the Prometheus of the alarm service's "
                          "--prometheus-url, instead of --metric and --statistic."),
        click.option("--gnocchi-metric", metavar="NAME",
                     help="Gnocchi metric on the resources (with --gnocchi-resource-type and --gnocchi-resource-id or "
                          "--gnocchi-query), read from the Gnocchi of the alarm service's --gnocchi-url."),
        click.option("--gnocchi-resource-type", metavar="TYPE", help="Gnocchi resource type, e.g. instance."),
        click.option("--gnocchi-resource-id", metavar="ID", help="One Gnocchi resource whose --gnocchi-metric is read."),
        click.option("--gnocchi-query", metavar="JSON",
                     help='A Gnocchi search, e.g. \'{"=": {"server_group": "web"}}\': the --gnocchi-metric of the resources '
                          "it matches, aggregated across them."),
        click.option("--gnocchi-metric-id", "gnocchi_metric_ids", multiple=True, metavar="UUID",
                     help="A Gnocchi metric by id, aggregated with the others named (repeatable; update: replaces the list)."),
        click.option("--gnocchi-aggregation", metavar="METHOD",
                     help="Gnocchi aggregation method: mean, min, max, sum, count, std, median, first, last, 95pct, ... "
                          "[default on create: mean]"),
        click.option("--composite-rule", metavar="EXPRESSION",
                     help="A composite alarm: ALARM(id), OK(id), INSUFFICIENT_DATA(id), TRUE and FALSE combined with NOT, AND, "
                          "OR and parentheses over other alarms' states, instead of a rule over metrics."),
        click.option("--comparison", "comparison_operator", type=COMPARISON,
                     help="gt, ge, lt or le: how the statistic breaches the threshold  [required but with --composite-rule]"),
        click.option("--threshold", type=float, help="The threshold  [required but with --composite-rule]"),
        click.option("--period", type=DURATION, help="Length of a period, e.g. 60s  [required but with --composite-rule]"),
        click.option("--evaluation-periods", type=int, help="Consecutive periods that must breach  [default: 1]"),
        click.option("--datapoints-to-alarm", type=int, metavar="M",
                     help="CloudWatch's M out of N: alarm when M of the newest --evaluation-periods datapoints breach, ok "
                          "when fewer; 0 means all  [default: Aodh's rule: alarm when all breach, ok when none does, "
                          "otherwise the state stays]"),
        click.option("--treat-missing-data", type=MISSING_DATA,
                     help="How periods without data count, by CloudWatch's rule: missing (too few datapoints: "
                          "insufficient-data), not-breaching, breaching, or ignore (the state stays)  [default: missing]"),
        click.option("--alarm-action", "alarm_actions", multiple=True, metavar="TARGET",
                     help="Run on entering alarm: policies/ID or an http(s) URL (repeatable; update: replaces the list)."),
        click.option("--ok-action", "ok_actions", multiple=True, metavar="TARGET", help="Run on entering ok (repeatable)."),
        click.option("--insufficient-data-action", "insufficient_data_actions", multiple=True, metavar="TARGET",
                     help="Run on entering insufficient-data (repeatable)."),
        click.option("--repeat-actions/--no-repeat-actions", default=None,
                     help="Run the state's actions on every evaluation, not only on a transition  [default: no]"),
        click.option("--description", help="Free text for people."),
        click.option("--disabled/--enabled", default=None, help="Whether it is evaluated and runs actions  [default: enabled]"),
    ])


THRESHOLD_OPTIONS = frozenset({"metric", "dimensions", "statistic"})
"""Options of a ThresholdRule only, named after its fields."""
SHARED_RULE_OPTIONS = frozenset({"comparison_operator", "threshold", "period", "evaluation_periods"})
"""Options of every rule kind, named after the field they set."""
PROMETHEUS_QUERY = "prometheus_query"
"""The option of a PrometheusRule only (its `query`)."""
COMPOSITE_RULE = "composite_rule"
"""The option of a CompositeRule only (its `expression`)."""
GNOCCHI_OPTIONS = {
    "gnocchi_metric": "metric", "gnocchi_resource_type": "resource_type", "gnocchi_resource_id": "resource_id",
    "gnocchi_query": "resource_query", "gnocchi_metric_ids": "metric_ids", "gnocchi_aggregation": "aggregation_method",
}
"""Options of a GnocchiRule only, and the field each sets."""


def _given(value: Any) -> bool:
    return value is not None and value != ()


def _rule_kind(values: dict[str, Any]) -> str | None:
    """The Alarm field of the rule kind the options name (`threshold_rule`, `prometheus_rule`, `gnocchi_rule`), None when
    they name none; a usage error when they name several."""
    named = {
        "threshold_rule": any(_given(values[option]) for option in THRESHOLD_OPTIONS),
        "prometheus_rule": _given(values[PROMETHEUS_QUERY]),
        "gnocchi_rule": any(_given(values[option]) for option in GNOCCHI_OPTIONS),
        "composite_rule": _given(values[COMPOSITE_RULE]),
    }
    kinds = [kind for kind, given in named.items() if given]
    if len(kinds) > 1:
        raise click.UsageError(
            "--metric, --dimension and --statistic (over the metrics service), --prometheus-query (over Prometheus), the "
            "--gnocchi-* options (over Gnocchi) and --composite-rule make rules of different kinds: give those of one"
        )
    if kinds == ["composite_rule"] and any(_given(values[option]) for option in SHARED_RULE_OPTIONS):
        raise click.UsageError("--comparison, --threshold, --period and --evaluation-periods make no sense with --composite-rule")
    return kinds[0] if kinds else None


def _alarm_from_options(name: str, values: dict[str, Any], kind: str) -> alarm_pb2.Alarm:
    """The Alarm the options describe, its rule of `kind`."""
    shared = {option: values[option] for option in SHARED_RULE_OPTIONS} | {"period": duration_or_none(values["period"])}
    rule: dict[str, Any]
    if kind == "composite_rule":
        rule = {"composite_rule": alarm_pb2.CompositeRule(expression=values[COMPOSITE_RULE])}
    elif kind == "prometheus_rule":
        rule = {"prometheus_rule": alarm_pb2.PrometheusRule(query=values[PROMETHEUS_QUERY], **shared)}
    elif kind == "gnocchi_rule":
        fields = {field: values[option] for option, field in GNOCCHI_OPTIONS.items()}
        rule = {"gnocchi_rule": alarm_pb2.GnocchiRule(**fields, **shared)}
    else:
        rule = {"threshold_rule": alarm_pb2.ThresholdRule(
            metric=values["metric"], dimensions=as_dict(values["dimensions"]), statistic=values["statistic"], **shared
        )}
    return alarm_pb2.Alarm(
        name=name,
        description=values["description"],
        **rule,
        alarm_actions=values["alarm_actions"],
        ok_actions=values["ok_actions"],
        insufficient_data_actions=values["insufficient_data_actions"],
        repeat_actions=values["repeat_actions"],
        disabled=values["disabled"],
        datapoints_to_alarm=values["datapoints_to_alarm"],
        treat_missing_data=values["treat_missing_data"],
    )


def _mask_paths(values: dict[str, Any], kind: str) -> dict[str, Any]:
    """Each update_mask path with the option value that sets it: `<kind>.<field>` for the rule's options."""
    paths = {}
    for option, value in values.items():
        if option in THRESHOLD_OPTIONS:
            paths[f"threshold_rule.{option}"] = value
        elif option == PROMETHEUS_QUERY:
            paths["prometheus_rule.query"] = value
        elif option == COMPOSITE_RULE:
            paths["composite_rule.expression"] = value
        elif option in GNOCCHI_OPTIONS:
            paths[f"gnocchi_rule.{GNOCCHI_OPTIONS[option]}"] = value
        elif option in SHARED_RULE_OPTIONS:
            paths[f"{kind}.{option}"] = value
        else:
            paths[option] = value
    return paths


@click.group("alarm")
def alarm() -> None:
    """Threshold alarms over metrics, and the actions they run on each state."""


CREATE_HELP = """Create alarm ID; it starts in insufficient-data and is evaluated at once.

\b
autoscale alarm create web-busy --metric cpu --dimension group=web --statistic avg \\
    --comparison gt --threshold 80 --period 60s --evaluation-periods 2 --alarm-action policies/web-out
autoscale alarm create web-load --prometheus-query 'avg(rate(http_requests_total{job="web"}[1m]))' \\
    --comparison gt --threshold 100 --period 60s --evaluation-periods 2 --alarm-action policies/web-out
autoscale alarm create web-cpu --gnocchi-metric cpu_util --gnocchi-resource-type instance \\
    --gnocchi-query '{"=": {"server_group": "web"}}' --gnocchi-aggregation mean \\
    --comparison gt --threshold 80 --period 60s --evaluation-periods 2 --alarm-action policies/web-out
autoscale alarm create web-scale --composite-rule 'ALARM(web-busy) AND NOT ALARM(deploying)' \
    --alarm-action policies/web-out
"""


@alarm.command("create", help=CREATE_HELP)
@click.argument("alarm_id", metavar="ID")
@_alarm_options(True)
@client_command(ALARM)
def create(client: Client, alarm_id: str, **values: Any) -> None:
    kind = _rule_kind(values)
    if kind is None:
        raise click.UsageError(
            "give --metric and --statistic (a rule over the metrics service), --prometheus-query, --gnocchi-metric with "
            "--gnocchi-resource-type and --gnocchi-resource-id or --gnocchi-query, --gnocchi-metric-id, or --composite-rule"
        )
    if kind == "gnocchi_rule" and values["gnocchi_aggregation"] is None:
        values["gnocchi_aggregation"] = "mean"
    required = {"comparison_operator": "--comparison", "threshold": "--threshold", "period": "--period"}
    missing = [flag for option, flag in required.items() if values[option] is None]
    if kind != "composite_rule" and missing:
        raise click.UsageError(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} required with a rule over metrics")
    request = alarm_pb2.CreateAlarmRequest(alarm_id=alarm_id, alarm=_alarm_from_options("", values, kind))
    ALARM_KIND.emit_one(client, client.call("CreateAlarm", request))


@alarm.command("update", help="Change the fields of alarm ID that the options name; the others stay as they are.")
@click.argument("alarm_id", metavar="ID")
@_alarm_options(False)
@client_command(ALARM)
def update(client: Client, alarm_id: str, **values: Any) -> None:
    name = ALARM_KIND.name(alarm_id)
    kind = _rule_kind(values)
    if kind is None and any(_given(values[option]) for option in SHARED_RULE_OPTIONS):
        # Options every kind has: they change the rule the alarm has.
        current = client.call("GetAlarm", alarm_pb2.GetAlarmRequest(name=name)).alarm
        kind = next((rule for rule in ("prometheus_rule", "gnocchi_rule") if current.HasField(rule)), "threshold_rule")
    kind = kind or "threshold_rule"
    request = alarm_pb2.UpdateAlarmRequest(
        alarm=_alarm_from_options(name, values, kind), update_mask=update_mask(_mask_paths(values, kind))
    )
    ALARM_KIND.emit_one(client, client.call("UpdateAlarm", request))


@alarm.command("history")
@click.argument("alarm_id", metavar="ID")
@client_command(ALARM)
def history(client: Client, alarm_id: str) -> None:
    """List the history of alarm ID, newest first: transitions and action outcomes."""
    request = alarm_pb2.ListAlarmHistoryRequest(name=ALARM_KIND.name(alarm_id))
    response = client.list_all("ListAlarmHistory", request, "entries")
    rows = (
        [
            time_text(entry, "time"),
            enum_label(alarm_pb2.AlarmHistoryType.DESCRIPTOR, entry.type),
            _transition_text(entry),
            _action_text(entry),
            entry.reason or "-",
            entry.caller or "-",
        ]
        for entry in response.entries
    )
    client.emit(response, lambda: print_table(("TIME", "TYPE", "STATE", "ACTION", "REASON", "BY"), rows, empty="no history"))


def _transition_text(entry: alarm_pb2.AlarmHistoryEntry) -> str:
    if entry.type == alarm_pb2.ALARM_HISTORY_TYPE_STATE_TRANSITION:
        return f"{state_text(entry.previous_state)} -> {state_text(entry.state)}"
    return state_text(entry.state) if entry.state else "-"


def _action_text(entry: alarm_pb2.AlarmHistoryEntry) -> str:
    if not entry.action:
        return "-"
    outcome = "succeeded" if entry.action_succeeded else "failed"
    return f"{entry.action} ({outcome}, attempt {entry.attempt})"


@alarm.command("set-state")
@click.argument("alarm_id", metavar="ID")
@click.argument("state", type=ALARM_STATE)
@click.option("--reason", default="", help="Why, recorded in the history.")
@client_command(ALARM)
def set_state(client: Client, alarm_id: str, state: alarm_pb2.AlarmState, reason: str) -> None:
    """Force alarm ID into STATE (to try its actions); the next evaluation may move it again."""
    request = alarm_pb2.SetAlarmStateRequest(name=ALARM_KIND.name(alarm_id), state=state, reason=reason)
    ALARM_KIND.emit_one(client, client.call("SetAlarmState", request))


add_standard_commands(alarm, ALARM_KIND)
