"""`autoscale policy ...`: scaling policies, signalling them, and their executions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from app.cli.choices import ADJUSTMENT_HELP, ADJUSTMENT_TYPE, ADJUSTMENT_TYPE_HELP, MIN_STEP_HELP, word_for
from app.cli.client import POLICY, Client, client_command
from app.cli.group_commands import activity_details
from app.cli.output import duration_text, print_details, print_table, time_text, yes_no
from app.cli.params import DURATION, apply_options, duration_or_none, resource_id, resource_name
from app.cli.resources import ResourceKind, add_create_and_update, add_standard_commands
from autoscale.v1 import policy_pb2

GROUP_COOLDOWN_TEXT = "group's"
"""How an unset policy cooldown is shown: the group's cooldown applies."""


def _adjustment_text(policy: policy_pb2.Policy) -> str:
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
    return [
        ("name", policy.name),
        ("group", policy.group),
        ("adjustment type", word_for(ADJUSTMENT_TYPE, policy.adjustment_type)),
        ("scaling adjustment", str(policy.scaling_adjustment)),
        ("min adjustment step", str(policy.min_adjustment_step)),
        ("cooldown", duration_text(policy, "cooldown", GROUP_COOLDOWN_TEXT)),
        ("created", time_text(policy, "create_time")),
    ]


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
    """The options that define a policy: group, type and adjustment required on create, all optional on update."""
    return apply_options(
        [
            click.option("--group", required=creating, metavar="ID", help="The group it adjusts."),
            click.option("--type", "adjustment_type", type=ADJUSTMENT_TYPE, required=creating,
                         help=ADJUSTMENT_TYPE_HELP),
            click.option("--adjustment", "scaling_adjustment", type=int, required=creating,
                         help=ADJUSTMENT_HELP),
            click.option("--min-step", "min_adjustment_step", type=int, help=MIN_STEP_HELP),
            click.option("--cooldown", type=DURATION,
                         help="Quiet time after a resize, e.g. 60s" + ("  [default: the group's]" if creating else ".")),
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
    )


add_create_and_update(
    policy, POLICY_KIND, _policy_options, _policy_from_options, create_help="Create policy ID, which adjusts a group when signalled."
)


@policy.command("execute")
@click.argument("policy_id", metavar="ID")
@click.option("--cause", default="autoscale policy execute", show_default=True, help="Why, recorded in the activity.")
@click.option("--request-id", default="", help="Makes a retried command a no-op that answers as the first did.")
@client_command(POLICY)
def execute(client: Client, policy_id: str, cause: str, request_id: str) -> None:
    """Signal policy ID: adjust its group unless it is cooling down or resizing."""
    request = policy_pb2.ExecutePolicyRequest(name=POLICY_KIND.name(policy_id), cause=cause, request_id=request_id)
    response = client.call("ExecutePolicy", request)
    outcome = [("adjusted", yes_no(response.adjusted)), ("reason", response.reason or "-")]
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


add_standard_commands(policy, POLICY_KIND)
