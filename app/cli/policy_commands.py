"""`autoscale policy ...`: scaling policies, signalling them, and their executions."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import click
from google.protobuf import json_format

from app.cli.choices import ADJUSTMENT_HELP, ADJUSTMENT_TYPE, ADJUSTMENT_TYPE_HELP, MIN_STEP_HELP, word_for
from app.cli.client import GROUP, METRICS, POLICY, Client, client_command
from app.cli.group_commands import activity_details
from app.cli.output import duration_text, print_details, print_table, time_text, yes_no
from app.cli.params import DURATION, EnumChoice, FiniteRange, apply_options, duration_or_none, resource_id, resource_name
from app.cli.resources import ResourceKind, add_create_and_update, add_standard_commands
from app.cli.target_tracking_options import (
    OPTION_NAMES,
    forecast_text,
    metric_text,
    seasons_text,
    target_tracking_details,
    target_tracking_from_options,
    target_tracking_options,
)
from app.replay.definitions import stored_window_sums
from autoscale.timeutil import from_timestamp
from autoscale.v1 import policy_pb2
from services.policy.domain import tracking_forecast
from services.policy.messages import forecast_to_message, target_tracking_from_message

GROUP_COOLDOWN_TEXT = "group's"
"""How an unset policy cooldown (or step policy warm-up) is shown: the group's cooldown applies."""

METRIC_AGGREGATION_TYPE = EnumChoice(
    {
        "avg": policy_pb2.METRIC_AGGREGATION_TYPE_AVERAGE,
        "min": policy_pb2.METRIC_AGGREGATION_TYPE_MINIMUM,
        "max": policy_pb2.METRIC_AGGREGATION_TYPE_MAXIMUM,
    }
)
"""`--aggregation`: how a step policy makes one metric value of the alarm's datapoints."""


class StepAdjustmentType(click.ParamType[policy_pb2.StepAdjustment]):
    """A `--step LOWER:UPPER:ADJUSTMENT[:TYPE]` option: bounds of the breach (empty: open), the adjustment, its type
    (change, exact, percent; empty: the policy's)."""

    name = "step"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> policy_pb2.StepAdjustment:
        if isinstance(value, policy_pb2.StepAdjustment):
            return value
        parts = str(value).split(":")
        if len(parts) not in (3, 4):
            self.fail(f"expected LOWER:UPPER:ADJUSTMENT[:TYPE] (e.g. 10:20:2 or 20::30:percent), got {value!r}", param, ctx)
        lower, upper, adjustment = parts[:3]
        step = policy_pb2.StepAdjustment()
        try:
            if lower:
                step.metric_interval_lower_bound = float(lower)
            if upper:
                step.metric_interval_upper_bound = float(upper)
            step.scaling_adjustment = int(adjustment)
        except ValueError:
            self.fail(f"bounds must be numbers (or empty for an open end) and the adjustment an integer, got {value!r}", param, ctx)
        if len(parts) == 4 and parts[3]:
            adjustment_type: Any = ADJUSTMENT_TYPE.convert(parts[3], param, ctx)  # an enum's number
            step.adjustment_type = adjustment_type
        return step


STEP = StepAdjustmentType()


def _step_text(step: policy_pb2.StepAdjustment) -> str:
    lower = f"{step.metric_interval_lower_bound:g}" if step.HasField("metric_interval_lower_bound") else "-inf"
    upper = f"{step.metric_interval_upper_bound:g}" if step.HasField("metric_interval_upper_bound") else "+inf"
    kind = f" {word_for(ADJUSTMENT_TYPE, step.adjustment_type)}" if step.adjustment_type else ""
    return f"{lower} .. {upper}: {step.scaling_adjustment:+d}{kind}"


def _adjustment_text(policy: policy_pb2.Policy) -> str:
    if policy.HasField("target_tracking"):
        return f"target {metric_text(policy.target_tracking)} at {policy.target_tracking.target_value:g}"
    if policy.step_adjustments:
        text = f"{word_for(ADJUSTMENT_TYPE, policy.adjustment_type)} steps: " + ", ".join(map(_step_text, policy.step_adjustments))
    else:
        text = f"{word_for(ADJUSTMENT_TYPE, policy.adjustment_type)} {policy.scaling_adjustment:+d}"
    if policy.min_adjustment_step:
        text += f" (at least {policy.min_adjustment_step})"
    return text


def _row(policy: policy_pb2.Policy) -> list[str]:
    return [
        resource_id(policy.name),
        resource_id(policy.group),
        _adjustment_text(policy),
        duration_text(policy, "cooldown", GROUP_COOLDOWN_TEXT),
        time_text(policy, "create_time"),
    ]


def _details(policy: policy_pb2.Policy) -> list[tuple[str, str]]:
    details = [
        ("name", policy.name),
        ("group", policy.group),
        ("adjustment type", word_for(ADJUSTMENT_TYPE, policy.adjustment_type)),
    ]
    if policy.HasField("target_tracking"):
        details += target_tracking_details(policy)
        details.append(("instance warmup", duration_text(policy, "estimated_instance_warmup", GROUP_COOLDOWN_TEXT)))
    elif policy.step_adjustments:
        details += [(f"step {index}", _step_text(step)) for index, step in enumerate(policy.step_adjustments)]
        details += [
            ("metric aggregation", word_for(METRIC_AGGREGATION_TYPE, policy.metric_aggregation_type or METRIC_AGGREGATION_AVERAGE)),
            ("min adjustment step", str(policy.min_adjustment_step)),
            ("instance warmup", duration_text(policy, "estimated_instance_warmup", GROUP_COOLDOWN_TEXT)),
        ]
    else:
        details += [
            ("scaling adjustment", str(policy.scaling_adjustment)),
            ("min adjustment step", str(policy.min_adjustment_step)),
            ("cooldown", duration_text(policy, "cooldown", GROUP_COOLDOWN_TEXT)),
        ]
    return [*details, ("created", time_text(policy, "create_time"))]


METRIC_AGGREGATION_AVERAGE = policy_pb2.METRIC_AGGREGATION_TYPE_AVERAGE
"""What an unset metric_aggregation_type means."""


POLICY_KIND = ResourceKind(
    service=POLICY,
    singular="Policy",
    plural="Policies",
    collection="policies",
    field="policy",
    list_field="policies",
    label="policy",
    columns=("ID", "GROUP", "ADJUSTMENT", "COOLDOWN", "CREATED"),
    row=_row,
    details=_details,
)


@click.group("policy")
def policy() -> None:
    """Scaling policies: how a group is adjusted when an alarm (or you) signals."""


def _policy_options(creating: bool) -> Callable[[Any], Any]:
    """The options that define a policy: group required on create (and a type, but for target tracking), all optional on
    update."""
    return apply_options(
        [
            click.option("--group", required=creating, metavar="ID", help="The group it adjusts."),
            click.option("--type", "adjustment_type", type=ADJUSTMENT_TYPE,
                         help=ADJUSTMENT_TYPE_HELP + (" Required but for target tracking." if creating else "")),
            click.option("--adjustment", "scaling_adjustment", type=int,
                         help=ADJUSTMENT_HELP + " Simple policies (a step policy's steps give theirs)."),
            click.option("--min-step", "min_adjustment_step", type=int, help=MIN_STEP_HELP),
            click.option("--cooldown", type=DURATION,
                         help="Simple policies: quiet time after a resize, e.g. 60s" + ("  [default: the group's]" if creating else ".")),
            click.option("--step", "step_adjustments", type=STEP, multiple=True, metavar="LOWER:UPPER:ADJUSTMENT[:TYPE]",
                         help="A step policy's step (repeat it): the breach (metric minus the alarm's threshold) from LOWER to"
                              " UPPER (empty: open) adjusts by ADJUSTMENT, read as TYPE (default: --type)."),
            click.option("--aggregation", "metric_aggregation_type", type=METRIC_AGGREGATION_TYPE,
                         help="Step policies: the metric value of the alarm's datapoints (avg, min, max)  [default: avg]"),
            click.option("--warmup", "estimated_instance_warmup", type=DURATION,
                         help="Step and target tracking policies: how long a new instance warms up, e.g. 2m  "
                              "[default: the group's cooldown]"),
            *target_tracking_options(),
        ]
    )


def _policy_from_options(name: str, values: dict[str, Any]) -> policy_pb2.Policy:
    """The Policy the options describe (the option names are the Policy's field names, hence its update_mask paths)."""
    group = values["group"]
    return policy_pb2.Policy(
        name=name,
        group=resource_name("groups", group) if group else None,
        adjustment_type=values["adjustment_type"],
        scaling_adjustment=values["scaling_adjustment"],
        min_adjustment_step=values["min_adjustment_step"],
        cooldown=duration_or_none(values["cooldown"]),
        step_adjustments=values["step_adjustments"],
        metric_aggregation_type=values["metric_aggregation_type"],
        estimated_instance_warmup=duration_or_none(values["estimated_instance_warmup"]),
        target_tracking=target_tracking_from_options(values),
    )


def _mask_paths(values: dict[str, Any]) -> dict[str, Any]:
    """The update_mask paths of the options given: their own names, but the target tracking options all set
    target_tracking."""
    paths = {name: value for name, value in values.items() if name not in OPTION_NAMES}
    paths["target_tracking"] = target_tracking_from_options(values)
    return paths


add_create_and_update(
    policy, POLICY_KIND, _policy_options, _policy_from_options,
    create_help="Create policy ID, which adjusts a group when signalled (a target tracking policy: every period, from its "
                "metric).",
    mask_paths=_mask_paths,
)


@policy.command("execute")
@click.argument("policy_id", metavar="ID")
@click.option("--cause", default="autoscale policy execute", show_default=True, help="Why, recorded in the activity.")
@click.option("--request-id", default="", help="Makes a retried command a no-op that answers as the first did.")
@click.option("--metric-value", type=float, help="Step policies: the metric value whose breach picks the step.")
@click.option("--breach-threshold", type=float, help="Step policies: the threshold the metric value is measured from.")
@client_command(POLICY)
def execute(
    client: Client, policy_id: str, cause: str, request_id: str, metric_value: float | None, breach_threshold: float | None
) -> None:
    """Signal policy ID: adjust its group unless it is cooling down or resizing (a step policy: by the step that holds the
    breach, counting instances warming up)."""
    request = policy_pb2.ExecutePolicyRequest(
        name=POLICY_KIND.name(policy_id), cause=cause, request_id=request_id, metric_value=metric_value,
        breach_threshold=breach_threshold,
    )
    response = client.call("ExecutePolicy", request)
    outcome = [("adjusted", yes_no(response.adjusted)), ("reason", response.reason or "-")]
    if response.HasField("step_adjustment"):
        outcome.append(("step", _step_text(response.step_adjustment)))
    client.emit(response, lambda: print_details(outcome + activity_details(response.activity)))


@policy.command("executions")
@click.argument("policy_id", metavar="ID")
@client_command(POLICY)
def executions(client: Client, policy_id: str) -> None:
    """List the executions of policy ID, newest first."""
    request = policy_pb2.ListPolicyExecutionsRequest(name=POLICY_KIND.name(policy_id))
    response = client.list_all("ListPolicyExecutions", request, "executions")
    rows = (
        [
            time_text(execution, "time"),
            yes_no(execution.adjusted),
            yes_no(execution.failed),
            execution.cause or "-",
            execution.reason or "-",
            resource_id(execution.activity) if execution.activity else "-",
            execution.request_id or "-",
        ]
        for execution in response.executions
    )
    columns = ("TIME", "ADJUSTED", "FAILED", "CAUSE", "REASON", "ACTIVITY", "REQUEST ID")
    client.emit(response, lambda: print_table(columns, rows, empty="no executions"))


FORECAST_PAGE_SIZE = 100
"""Executions read per page by `policy forecast`, which stops at the first older than its hours."""


MAX_HOURS = 24 * 366
"""Hours `policy forecast` looks back or ahead at most: a year (its seasons are at most 35 days)."""

MAX_AHEAD_ROWS = 1000
"""Moments `policy forecast --ahead` forecasts at most (each reads the Metrics service once a season)."""


@policy.command("forecast")
@click.argument("policy_id", metavar="ID")
@click.option("--hours", type=FiniteRange(min=0, min_open=True, max=MAX_HOURS), default=24.0, show_default=True,
              help="How far back, from the newest execution.")
@click.option("--ahead", type=FiniteRange(min=0, max=MAX_HOURS), default=0.0, show_default=True,
              help="Hours ahead: the floor the metric's history forecasts for each --step from now (the group's sizes as "
                   "they are now).")
@click.option("--step", type=DURATION, default="1h", show_default=True, help="Between two moments ahead.")
@client_command(POLICY)
def forecast(client: Client, policy_id: str, hours: float, ahead: float, step: float) -> None:
    """The predictive floor of target tracking policy ID beside what happened: each execution of the last hours, newest
    first, with the metric, the desired capacity decided, and the floor forecast then (its load and seasons); with
    --ahead, first the floor of the moments to come, read from the Metrics and Group services at AUTOSCALE_METRICS_ADDR
    and AUTOSCALE_GROUP_ADDR (default: --addr)."""
    upcoming = _forecasts_ahead(client, policy_id, ahead, step) if ahead else []
    request = policy_pb2.ListPolicyExecutionsRequest(name=POLICY_KIND.name(policy_id), page_size=FORECAST_PAGE_SIZE)
    kept = policy_pb2.ListPolicyExecutionsResponse()
    cutoff: float | None = None
    while True:
        page = client.call("ListPolicyExecutions", request)
        for execution in page.executions:
            cutoff = from_timestamp(execution.time) - hours * 3600 if cutoff is None else cutoff
            if from_timestamp(execution.time) < cutoff:
                break
            kept.executions.append(execution)
        else:
            if page.next_page_token:
                request.page_token = page.next_page_token
                continue
        break
    rows = [
        [f"{time_text(made, 'time')} (ahead)", "-", "-", forecast_text(made), seasons_text(made)] for made in reversed(upcoming)
    ] + [
        [
            time_text(execution, "time"),
            f"{execution.metric_value:g}" if execution.HasField("metric_value") else "-",
            str(execution.desired_capacity) if execution.HasField("desired_capacity") else "-",
            forecast_text(execution.forecast) if execution.HasField("forecast") else "no predictive floor",
            seasons_text(execution.forecast) if execution.HasField("forecast") else "-",
        ]
        for execution in kept.executions
    ]
    columns = ("TIME", "METRIC", "DESIRED", "FORECAST", "SEASONS")
    if client.json_output and upcoming:
        executions = json_format.MessageToDict(kept, always_print_fields_with_no_presence=True)["executions"]
        ahead_json = [json_format.MessageToDict(made, always_print_fields_with_no_presence=True) for made in upcoming]
        click.echo(json.dumps({"ahead": ahead_json, "executions": executions}, indent=2))
        return
    client.emit(kept, lambda: print_table(columns, rows, empty="no executions"))


def _forecasts_ahead(client: Client, policy_id: str, ahead: float, step: float) -> list[policy_pb2.Forecast]:
    """The floor policy ID's history forecasts for each `step` of the next `ahead` hours, as its executions would make
    it (services.policy.forecast), oldest first."""
    if step <= 0:
        raise click.BadParameter("must be more than 0s", param_hint="--step")
    moments = int(ahead * 3600 // step) + 1
    if moments > MAX_AHEAD_ROWS:
        raise click.BadParameter(f"--ahead / --step makes {moments} moments, at most {MAX_AHEAD_ROWS}", param_hint="--step")
    policy = client.call("GetPolicy", policy_pb2.GetPolicyRequest(name=POLICY_KIND.name(policy_id))).policy
    if not policy.target_tracking.HasField("predictive_floor"):
        raise click.ClickException(f"{policy.name} has no predictive floor: nothing to forecast ahead")
    tracking = target_tracking_from_message(policy.target_tracking)
    assert tracking.predictive_floor is not None
    groups = client.sibling(GROUP)
    group = groups.call("GetGroup", GROUP.messages.GetGroupRequest(name=policy.group)).group
    metrics = client.sibling(METRICS)
    read_window_sum = stored_window_sums(metrics, resource_id(policy.group), tracking.metric)
    # The moment forecast is an execution's time plus the buffer: the executions that forecast now, and each step on.
    first = time.time() - tracking.predictive_floor.effective_buffer
    try:
        return [
            forecast_to_message(tracking_forecast(
                tracking, read_window_sum, now=first + index * step, min_size=group.min_size, max_size=group.max_size,
            ))
            for index in range(moments)
        ]
    finally:
        groups.close()
        metrics.close()


add_standard_commands(policy, POLICY_KIND)
