"""Signed POSTs: what `signature` makes, `verify` accepts; what is missing, stale, malformed or forged, it refuses."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from autoscale import signing

SECRET = "k" * 64
NOW = 1_767_225_600.0


def test_signature_is_hmac_sha256_of_the_timestamp_a_dot_and_the_body():
    expected = hmac.new(SECRET.encode(), b"1767225600.{\"a\": 1}", hashlib.sha256).hexdigest()
    assert signing.signature(SECRET, 1767225600, b'{"a": 1}') == f"sha256={expected}"


def test_verify_accepts_what_signature_headers_make_within_the_clock_skew():
    for sent in (NOW, NOW - signing.MAX_CLOCK_SKEW, NOW + signing.MAX_CLOCK_SKEW):
        headers = signing.signature_headers(SECRET, int(sent), b"body")
        signing.verify(SECRET, headers[signing.TIMESTAMP_HEADER], headers[signing.SIGNATURE_HEADER], b"body", NOW)


@pytest.mark.parametrize(
    ("timestamp", "signature", "complaint"),
    [
        (None, "sha256=00", "requires a signature"),
        ("1767225600", None, "requires a signature"),
        ("-5", "sha256=00", "whole seconds"),
        ("1e9", "sha256=00", "whole seconds"),
        ("9" * 40, "sha256=00", "whole seconds"),
        (str(int(NOW - signing.MAX_CLOCK_SKEW - 1)), None, "requires a signature"),
        (str(int(NOW - signing.MAX_CLOCK_SKEW - 1)), "sha256=00", "from the receiver's clock"),
        ("1767225600", "sha256=" + "0" * 64, "does not match"),
        ("1767225600", "sha256=é", "does not match"),
    ],
)
def test_verify_refuses_missing_malformed_stale_and_wrong_signatures(timestamp, signature, complaint):
    with pytest.raises(signing.BadSignature) as raised:
        signing.verify(SECRET, timestamp, signature, b"body", NOW)
    assert complaint in str(raised.value)


def test_verify_refuses_a_signature_of_another_secret_or_body():
    headers = signing.signature_headers(SECRET, int(NOW), b"body")
    for secret, body in (("x" * 64, b"body"), (SECRET, b"other")):
        with pytest.raises(signing.BadSignature):
            signing.verify(secret, headers[signing.TIMESTAMP_HEADER], headers[signing.SIGNATURE_HEADER], body, NOW)
