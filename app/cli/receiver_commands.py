"""`autoscale receiver ...`: secret URLs by which Alertmanager, Aodh or a script signals a policy over HTTP."""

from __future__ import annotations

from typing import TextIO

import click

from app.cli.choices import RECEIVER_FORMAT, word_for
from app.cli.client import POLICY, Client, client_command
from app.cli.output import print_details, print_table, time_text, yes_no
from app.cli.params import resource_id, resource_name
from autoscale.v1 import policy_pb2


def _receiver_name(policy_id: str, receiver_id: str) -> str:
    return f"{resource_name('policies', policy_id)}/receivers/{receiver_id}"


def _details(receiver: policy_pb2.Receiver) -> list[tuple[str, str]]:
    return [
        ("name", receiver.name),
        ("format", word_for(RECEIVER_FORMAT, receiver.format)),
        ("resolved policy", receiver.resolved_policy or "-"),
        ("signed", yes_no(receiver.hmac_secret_set)),
        ("created", time_text(receiver, "create_time")),
    ]


@click.group("receiver")
def receiver() -> None:
    """Receivers: secret URLs that signal a policy when Alertmanager, Aodh or a script POSTs to them."""


@receiver.command("create")
@click.argument("policy_id", metavar="POLICY")
@click.argument("receiver_id", metavar="ID")
@click.option("--format", "receiver_format", type=RECEIVER_FORMAT, required=True,
              help="plain: any POST executes the policy; alertmanager: Alertmanager's webhook (firing alerts execute); "
                   "aodh: Aodh's alarm notification (a transition into alarm executes).")
@click.option("--resolved-policy", default="", metavar="POLICY",
              help="alertmanager: the policy resolved alerts execute (e.g. a scale-in); default: they do nothing.")
@click.option("--hmac-secret-file", type=click.File("r"), default=None, metavar="FILE",
              help="Require signals signed with the secret in FILE ('-': stdin), 32 to 256 characters: X-Autoscale-Signature "
                   "as alarm webhooks send it.")
@client_command(POLICY)
def create(
    client: Client,
    policy_id: str,
    receiver_id: str,
    receiver_format: int,
    resolved_policy: str,
    hmac_secret_file: TextIO | None,
) -> None:
    """Make receiver ID of POLICY and print its URL (shown only now: keep it secret, as a password)."""
    secret = hmac_secret_file.read().strip() if hmac_secret_file is not None else ""
    request = policy_pb2.CreateReceiverRequest(
        parent=resource_name("policies", policy_id),
        receiver_id=receiver_id,
        receiver=policy_pb2.Receiver(
            format=receiver_format,  # type: ignore[arg-type]  # a value of the enum: RECEIVER_FORMAT made it
            resolved_policy=resource_name("policies", resolved_policy) if resolved_policy else "",
            hmac_secret=secret,
        ),
    )
    response = client.call("CreateReceiver", request)
    client.emit(response, lambda: print_details([*_details(response.receiver), ("url", response.url)]))
    if not client.json_output:
        click.echo("The URL holds the receiver's secret and is shown only now: keep it as a password.", err=True)


@receiver.command("list")
@click.argument("policy_id", metavar="POLICY")
@client_command(POLICY)
def list_receivers(client: Client, policy_id: str) -> None:
    """List the receivers of POLICY."""
    response = client.list_all("ListReceivers", policy_pb2.ListReceiversRequest(parent=resource_name("policies", policy_id)), "receivers")
    rows = (
        [
            resource_id(item.name),
            word_for(RECEIVER_FORMAT, item.format),
            resource_id(item.resolved_policy) if item.resolved_policy else "-",
            yes_no(item.hmac_secret_set),
            time_text(item, "create_time"),
        ]
        for item in response.receivers
    )
    client.emit(response, lambda: print_table(("ID", "FORMAT", "RESOLVED POLICY", "SIGNED", "CREATED"), rows, empty="no receivers"))


@receiver.command("show")
@click.argument("policy_id", metavar="POLICY")
@click.argument("receiver_id", metavar="ID")
@client_command(POLICY)
def show(client: Client, policy_id: str, receiver_id: str) -> None:
    """Show receiver ID of POLICY (its URL is not shown again)."""
    response = client.call("GetReceiver", policy_pb2.GetReceiverRequest(name=_receiver_name(policy_id, receiver_id)))
    client.emit(response, lambda: print_details(_details(response.receiver)))


@receiver.command("delete")
@click.argument("policy_id", metavar="POLICY")
@click.argument("receiver_id", metavar="ID")
@client_command(POLICY)
def delete(client: Client, policy_id: str, receiver_id: str) -> None:
    """Delete receiver ID of POLICY: its URL is refused from now on."""
    response = client.call("DeleteReceiver", policy_pb2.DeleteReceiverRequest(name=_receiver_name(policy_id, receiver_id)))
    client.emit(response, lambda: click.echo(f"deleted {_receiver_name(policy_id, receiver_id)}"))
