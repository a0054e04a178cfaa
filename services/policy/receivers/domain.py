"""A receiver and its capability token: plain values with no I/O.

A receiver's URL carries a token of 256 random bits: whoever holds the URL may signal the policy, as
with Heat's signed URLs and Senlin's receivers. Only the token's SHA-256 is stored (a random 256-bit token needs no
salt or slow hash: it cannot be guessed, only stolen), so the URL is shown once, when the receiver is made.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from services.policy.domain import policy_name

TOKEN_PREFIX = "rcv_"
"""Marks a receiver token, so secret scanners and people can tell what leaked."""
TOKEN_BYTES = 32
SIGNALS_PATH = "/v1/signals/"
"""The path of the HTTP listener that receives signals: SIGNALS_PATH + token."""


class ReceiverFormat(StrEnum):
    """How a receiver reads the body of a signal."""

    PLAIN = "plain"
    ALERTMANAGER = "alertmanager"
    AODH = "aodh"


@dataclass(frozen=True)
class Receiver:
    """A secret URL that signals one policy of a project."""

    policy_id: str
    id: str
    format: ReceiverFormat
    resolved_policy_id: str = ""
    """Alertmanager format: the policy resolved alerts execute; empty: they do nothing."""
    hmac_secret: str | None = None
    """The key signals must be signed with (autoscale.signing); None: signals need no signature."""
    create_time: float = 0.0

    @property
    def name(self) -> str:
        """`policies/{policy}/receivers/{id}`."""
        return receiver_name(self.policy_id, self.id)


def receiver_name(policy_id: str, receiver_id: str) -> str:
    """`policies/{policy}/receivers/{id}`."""
    return f"{policy_name(policy_id)}/receivers/{receiver_id}"


def new_token() -> str:
    """A fresh token: `rcv_` and 43 URL-safe characters (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What is stored of a token, and looked up when a signal arrives: its SHA-256 in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(text: str) -> bool:
    """Whether `text` has a token's shape (anything else is refused before a lookup)."""
    body = text[len(TOKEN_PREFIX):]
    return (
        text.startswith(TOKEN_PREFIX)
        and len(body) == 43
        and all(character.isascii() and (character.isalnum() or character in "-_") for character in body)
    )
