"""Conversions between receivers' protobuf messages and their domain objects, and the rules of their fields."""

from __future__ import annotations

from autoscale.errors import InvalidArgument
from autoscale.timeutil import to_timestamp
from autoscale.v1 import policy_pb2
from autoscale.validation import ID_PATTERN, ID_RULE, Violations, quoted
from services.policy.domain import policy_name
from services.policy.receivers.domain import Receiver, ReceiverFormat

FORMATS = {
    policy_pb2.RECEIVER_FORMAT_PLAIN: ReceiverFormat.PLAIN,
    policy_pb2.RECEIVER_FORMAT_ALERTMANAGER: ReceiverFormat.ALERTMANAGER,
    policy_pb2.RECEIVER_FORMAT_AODH: ReceiverFormat.AODH,
}
FORMAT_MESSAGES = {domain: message for message, domain in FORMATS.items()}

MIN_HMAC_SECRET = 32
MAX_HMAC_SECRET = 256
"""Characters of an HMAC secret: at least 32 (a shorter one is guessable offline from one signed request), at most 256."""


def receiver_to_message(receiver: Receiver) -> policy_pb2.Receiver:
    """A Receiver message of a stored receiver (never its token or secret)."""
    return policy_pb2.Receiver(
        name=receiver.name,
        format=FORMAT_MESSAGES[receiver.format],
        resolved_policy=policy_name(receiver.resolved_policy_id) if receiver.resolved_policy_id else "",
        hmac_secret_set=receiver.hmac_secret is not None,
        create_time=to_timestamp(receiver.create_time),
    )


def parse_receiver_name(field_path: str, name: str) -> tuple[str, str]:
    """(policy id, receiver id) of `policies/{policy}/receivers/{id}`, or InvalidArgument naming the field."""
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != "policies" or parts[2] != "receivers" or not all(ID_PATTERN.match(part) for part in parts[1::2]):
        raise InvalidArgument.field(
            field_path, f"{quoted(name)} is not a valid name; expected policies/{{policy}}/receivers/{{id}}, each id {ID_RULE}"
        )
    return parts[1], parts[3]


def check_hmac_secret(violations: Violations, secret: str) -> None:
    """An HMAC secret: MIN_HMAC_SECRET to MAX_HMAC_SECRET printable ASCII characters."""
    if not MIN_HMAC_SECRET <= len(secret) <= MAX_HMAC_SECRET:
        violations.add("receiver.hmac_secret", f"must be {MIN_HMAC_SECRET} to {MAX_HMAC_SECRET} characters, got {len(secret)}")
    elif not (secret.isascii() and secret.isprintable()):
        violations.add("receiver.hmac_secret", "must be printable ASCII characters")
