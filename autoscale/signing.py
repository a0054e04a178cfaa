"""How an HTTP POST is signed, so that its receiver can tell who sent it and that it is recent.

Both ways use it: alarm webhooks sent (services.alarm.webhook_delivery) and signals received
(services.policy.receivers, when a receiver has an HMAC secret). Each alarm has a secret of its own (256 random bits,
written as 64 hex digits), shown to its owner once, when it is made (CreateAlarm, or UpdateAlarm naming
`webhook_secret`). A POST carries the time it was sent and an HMAC-SHA256 of that
time and its body, keyed with the secret's text (Stripe's and Slack's pattern):

    X-Autoscale-Timestamp: 1767225600
    X-Autoscale-Signature: sha256=<hex of HMAC-SHA256(secret, "1767225600." + body)>

A receiver computes the same, compares in constant time, and refuses a timestamp
too far from its clock (a replay): `verify` does so. README.md ("Webhook signatures") shows it in Python.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TIMESTAMP_HEADER = "X-Autoscale-Timestamp"
SIGNATURE_HEADER = "X-Autoscale-Signature"
MAX_CLOCK_SKEW = 300.0
"""Seconds a signed timestamp may be from the verifier's clock, either way (a replay window of five minutes, as Stripe's)."""
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


class BadSignature(Exception):
    """A POST's signature is missing, malformed, stale or wrong; the message says which, for the sender."""


def verify(secret: str, timestamp_header: str | None, signature_header: str | None, body: bytes, now: float) -> None:
    """BadSignature unless `signature_header` signs `body` with `secret` at `timestamp_header`, within MAX_CLOCK_SKEW of
    `now`; compared in constant time."""
    if not timestamp_header or not signature_header:
        raise BadSignature(f"the receiver requires a signature: send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}")
    if not (timestamp_header.isascii() and timestamp_header.isdigit() and len(timestamp_header) <= 12):
        raise BadSignature(f"{TIMESTAMP_HEADER} must be the time of sending in whole seconds since the epoch")
    if abs(now - int(timestamp_header)) > MAX_CLOCK_SKEW:
        raise BadSignature(f"{TIMESTAMP_HEADER} is more than {MAX_CLOCK_SKEW:.0f} s from the receiver's clock")
    expected = signature(secret, int(timestamp_header), body)
    if not hmac.compare_digest(expected.encode(), signature_header.strip().encode("utf-8", "replace")):
        raise BadSignature(f"{SIGNATURE_HEADER} does not match the body (expected sha256=<hex of HMAC-SHA256(secret, "
                           "timestamp + \".\" + body)>)")
