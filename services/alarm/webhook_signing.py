"""How a webhook POST is signed, so that its receiver can tell it came from this alarm and is recent.

Each alarm has a secret of its own (256 random bits, written as 64 hex digits),
shown to its owner once, when it is made (CreateAlarm, or UpdateAlarm naming
`webhook_secret`). A POST carries the time it was sent and an HMAC-SHA256 of that
time and its body, keyed with the secret's text (Stripe's and Slack's pattern):

    X-Autoscale-Timestamp: 1767225600
    X-Autoscale-Signature: sha256=<hex of HMAC-SHA256(secret, "1767225600." + body)>

A receiver computes the same, compares in constant time, and refuses a timestamp
too far from its clock (a replay). README.md ("Webhook signatures") shows it in Python.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TIMESTAMP_HEADER = "X-Autoscale-Timestamp"
SIGNATURE_HEADER = "X-Autoscale-Signature"
SECRET_BYTES = 32
"""Random bytes of a secret: 256 bits, as HMAC-SHA256's block of output."""


def new_secret() -> str:
    """A fresh secret: 64 hex digits."""
    return secrets.token_hex(SECRET_BYTES)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Autoscale-Signature value of `body` sent at `timestamp` (unix seconds): `sha256=` and 64 hex digits."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The two headers that sign `body` sent at `timestamp`."""
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body)}
